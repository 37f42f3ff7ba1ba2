//! Chats of an instance as admins see and steer them: list, look up by any address of the
//! person, pause and resume; the rules, and counts for the metrics.

use std::time::Duration;

use diesel::prelude::*;
use omnihub_domain::{chat_address, Chat, ConversationRules, InstanceName, PauseCause, SkipReason};

use crate::chat_rows::{self, ChatRow};
use crate::conn::{write_tx, DbConn};
use crate::database::with_conn;
use crate::messages::later;
use crate::schema::chat_aliases::dsl as a;
use crate::schema::chats::dsl as c;
use crate::schema::instance_configs::dsl as ic;
use crate::schema::messages::dsl as m;
use crate::{Database, DbError};

/// Chats and rules. Obtained from [`Database::chats`].
#[derive(Debug, Clone, Copy)]
pub struct ChatStore<'a> {
    db: &'a Database,
}

impl<'a> ChatStore<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// The instance's chats, most recently changed first (paused ones only with `paused_only`).
    pub fn list(&self, instance: &str, paused_only: bool, limit: i64) -> Result<Vec<Chat>, DbError> {
        with_conn(self.db, |conn| {
            let mut query = c::chats.filter(c::instance_name.eq(instance)).into_boxed();
            if paused_only {
                query = query.filter(c::paused_by.is_not_null());
            }
            let rows: Vec<ChatRow> = query
                .order((c::updated_at.desc(), c::chat_key.asc()))
                .limit(limit.max(0))
                .select(ChatRow::as_select())
                .load(conn)?;
            let now = self.db.now();
            Ok(rows
                .into_iter()
                .map(ChatRow::into_chat)
                .filter(|chat| !paused_only || chat.state.is_paused(now))
                .collect())
        })
    }

    /// The chat `chat` names (its key, any address of the person, or a phone number).
    pub fn get(&self, instance: &str, chat: &str) -> Result<Chat, DbError> {
        with_conn(self.db, |conn| {
            let key = resolve(conn, instance, chat)?;
            find(conn, instance, &key)?
                .map(ChatRow::into_chat)
                .ok_or_else(|| not_found(chat))
        })
    }

    /// Pauses the chat (for `minutes`, or until resumed); a chat nobody wrote in yet is
    /// created paused, so an operator can take a person over before they write.
    pub fn pause(&self, instance: &str, chat: &str, minutes: Option<u32>) -> Result<Chat, DbError> {
        let at = self.db.now_naive();
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                let key = resolve(conn, instance, chat)?;
                let locked = chat_rows::lock_or_create(conn, instance, std::slice::from_ref(&key), at)?;
                let mut row = locked.into_iter().next().ok_or_else(|| not_found(chat))?;
                row.paused_by = Some(PauseCause::Api.as_str().to_owned());
                row.paused_until = minutes.map(|n| later(at, Duration::from_secs(u64::from(n) * 60)));
                row.updated_at = at;
                chat_rows::save(conn, &row)?;
                Ok(row.into_chat())
            })
        })
    }

    /// Resumes the chat at once. A chat that never wrote is not found.
    pub fn resume(&self, instance: &str, chat: &str) -> Result<Chat, DbError> {
        let at = self.db.now_naive();
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                let key = resolve(conn, instance, chat)?;
                let mut row = find(conn, instance, &key)?.ok_or_else(|| not_found(chat))?;
                row.paused_by = None;
                row.paused_until = None;
                row.updated_at = at;
                chat_rows::save(conn, &row)?;
                Ok(row.into_chat())
            })
        })
    }

    /// Paused chats per instance (a timed pause that ran out no longer counts).
    pub fn paused_counts(&self) -> Result<Vec<(String, i64)>, DbError> {
        let now = self.db.now_naive();
        with_conn(self.db, |conn| {
            Ok(c::chats
                .filter(c::paused_by.is_not_null())
                .filter(c::paused_until.is_null().or(c::paused_until.gt(now)))
                .group_by(c::instance_name)
                .select((c::instance_name, diesel::dsl::count_star()))
                .load(conn)?)
        })
    }

    /// Skipped messages per instance and reason, as the log holds them.
    pub fn skipped_counts(&self) -> Result<Vec<(String, SkipReason, i64)>, DbError> {
        with_conn(self.db, |conn| {
            let rows: Vec<(String, Option<String>, i64)> = m::messages
                .filter(m::status.eq("skipped"))
                .group_by((m::instance_name, m::skip_reason))
                .select((m::instance_name, m::skip_reason, diesel::dsl::count_star()))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .filter_map(|(i, r, n)| Some((i, r?.parse().ok()?, n)))
                .collect())
        })
    }

    /// Replaces the instance's rules; they apply to messages received from now on.
    pub fn set_rules(&self, instance: &InstanceName, rules: &ConversationRules) -> Result<(), DbError> {
        let at = self.db.now_naive();
        with_conn(self.db, |conn| {
            let updated = diesel::update(ic::instance_configs.filter(ic::name.eq(instance.as_str())))
                .set((ic::rules.eq(rules.to_stored()), ic::updated_at.eq(at)))
                .execute(conn)?;
            if updated == 0 {
                return Err(DbError::NotFound {
                    entity: "instance",
                    key: instance.to_string(),
                });
            }
            Ok(())
        })
    }
}

pub(crate) fn not_found(chat: &str) -> DbError {
    DbError::NotFound {
        entity: "chat",
        key: chat.to_owned(),
    }
}

pub(crate) fn find(conn: &mut DbConn, instance: &str, key: &str) -> Result<Option<ChatRow>, DbError> {
    Ok(c::chats
        .find((instance, key))
        .select(ChatRow::as_select())
        .first(conn)
        .optional()?)
}

/// The chat key `chat` names: a key itself, or the chat of a known address; else the address.
pub(crate) fn resolve(conn: &mut DbConn, instance: &str, chat: &str) -> Result<String, DbError> {
    let address = chat_address(chat);
    if find(conn, instance, &address)?.is_some() {
        return Ok(address);
    }
    Ok(a::chat_aliases
        .filter(a::instance_name.eq(instance))
        .filter(a::address.eq(&address))
        .select(a::chat_key)
        .first::<String>(conn)
        .optional()?
        .unwrap_or(address))
}
