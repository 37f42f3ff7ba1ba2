//! Conversation state: what an agent backend asked the pipeline to keep between the turns of
//! one conversation (memory, the backend's own session id), stored as JSON per
//! (instance, session).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::conn::DbConn;
use crate::database::with_conn;
use crate::schema::conversations;
use crate::schema::conversations::dsl as c;
use crate::{Database, DbError};

/// A stored conversation state.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ConversationRow {
    pub instance_name: String,
    pub session: String,
    pub state: String,
    pub updated_at: NaiveDateTime,
}

/// The new state of one conversation, written together with the reply it came with.
#[derive(Debug, Clone, PartialEq)]
pub struct StateUpdate {
    /// The instance the conversation belongs to.
    pub instance: String,
    /// The conversation (session) key.
    pub session: String,
    /// The state to keep.
    pub state: Value,
}

/// One stored conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The conversation (session) key.
    pub session: String,
    /// What the backend keeps between turns (history, its own conversation or session id).
    pub state: Value,
    /// When the state last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// Conversation states. Obtained from [`Database::conversations`].
#[derive(Debug, Clone, Copy)]
pub struct ConversationStore<'a> {
    db: &'a Database,
}

impl<'a> ConversationStore<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// The stored state of `session` of `instance`, if any.
    pub fn get(&self, instance: &str, session: &str) -> Result<Option<Value>, DbError> {
        let text: Option<String> = with_conn(self.db, |conn| {
            Ok(c::conversations
                .filter(c::instance_name.eq(instance))
                .filter(c::session.eq(session))
                .select(c::state)
                .first(conn)
                .optional()?)
        })?;
        text.map(|text| {
            serde_json::from_str(&text).map_err(|e| DbError::Corrupt {
                entity: "conversation",
                key: format!("{instance}/{session}"),
                reason: format!("state is not JSON: {e}"),
            })
        })
        .transpose()
    }

    /// The stored states of several conversations at once (one query for a claimed batch),
    /// keyed by (instance, session); a conversation with no state is absent.
    pub fn get_many(&self, keys: &[(String, String)]) -> Result<HashMap<(String, String), Value>, DbError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let instances: HashSet<&str> = keys.iter().map(|(i, _)| i.as_str()).collect();
        let sessions: HashSet<&str> = keys.iter().map(|(_, s)| s.as_str()).collect();
        let wanted: HashSet<(&str, &str)> = keys.iter().map(|(i, s)| (i.as_str(), s.as_str())).collect();
        let rows: Vec<(String, String, String)> = with_conn(self.db, |conn| {
            Ok(c::conversations
                .filter(c::instance_name.eq_any(&instances))
                .filter(c::session.eq_any(&sessions))
                .select((c::instance_name, c::session, c::state))
                .load(conn)?)
        })?;
        let mut states = HashMap::new();
        for (instance, session, text) in rows {
            // The two IN lists match a superset of the pairs asked for.
            if !wanted.contains(&(instance.as_str(), session.as_str())) {
                continue;
            }
            let state = serde_json::from_str(&text).map_err(|e| DbError::Corrupt {
                entity: "conversation",
                key: format!("{instance}/{session}"),
                reason: format!("state is not JSON: {e}"),
            })?;
            states.insert((instance, session), state);
        }
        Ok(states)
    }

    /// The conversations of `instance`, most recently used first.
    pub fn list(&self, instance: &str, offset: i64, limit: i64) -> Result<Vec<Conversation>, DbError> {
        let rows: Vec<ConversationRow> = with_conn(self.db, |conn| {
            Ok(c::conversations
                .filter(c::instance_name.eq(instance))
                .order((c::updated_at.desc(), c::session.asc()))
                .offset(offset)
                .limit(limit)
                .select(ConversationRow::as_select())
                .load(conn)?)
        })?;
        rows.into_iter()
            .map(|row| {
                let state = serde_json::from_str(&row.state).map_err(|e| DbError::Corrupt {
                    entity: "conversation",
                    key: format!("{instance}/{}", row.session),
                    reason: format!("state is not JSON: {e}"),
                })?;
                Ok(Conversation {
                    session: row.session,
                    state,
                    updated_at: Utc.from_utc_datetime(&row.updated_at),
                })
            })
            .collect()
    }

    /// Forgets the state of `session` of `instance`: its next message starts a new
    /// conversation. False when nothing was stored.
    pub fn delete(&self, instance: &str, session: &str) -> Result<bool, DbError> {
        let deleted = with_conn(self.db, |conn| {
            Ok(diesel::delete(
                c::conversations
                    .filter(c::instance_name.eq(instance))
                    .filter(c::session.eq(session)),
            )
            .execute(conn)?)
        })?;
        Ok(deleted > 0)
    }

    /// Stores `update` (replacing any earlier state of the conversation).
    pub fn put(&self, update: &StateUpdate) -> Result<(), DbError> {
        let at = self.db.now_naive();
        with_conn(self.db, |conn| upsert(conn, update, at))
    }
}

/// Replaces or inserts one state. One dispatcher handles a chat at a time, so the update
/// and the insert never race for the same key.
pub(crate) fn upsert(conn: &mut DbConn, update: &StateUpdate, at: NaiveDateTime) -> Result<(), DbError> {
    let text = update.state.to_string();
    let updated = diesel::update(
        c::conversations
            .filter(c::instance_name.eq(&update.instance))
            .filter(c::session.eq(&update.session)),
    )
    .set((c::state.eq(&text), c::updated_at.eq(at)))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(c::conversations)
            .values(ConversationRow {
                instance_name: update.instance.clone(),
                session: update.session.clone(),
                state: text,
                updated_at: at,
            })
            .execute(conn)?;
    }
    Ok(())
}
