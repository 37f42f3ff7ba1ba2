//! Rows of `chats` (the conversation rules' memory of each chat) and `chat_aliases` (every
//! address a person was seen with), read and written inside the caller's transaction.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use omnihub_domain::{Chat, ChatState, PauseCause};

use crate::conn::DbConn;
use crate::schema::chat_aliases::dsl as a;
use crate::schema::chats::{self, dsl as c};

/// A `chats` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = chats)]
#[diesel(treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ChatRow {
    pub instance_name: String,
    pub chat_key: String,
    pub last_address: Option<String>,
    pub paused_by: Option<String>,
    pub paused_until: Option<NaiveDateTime>,
    pub session_open: bool,
    pub session_at: Option<NaiveDateTime>,
    pub rate_window_at: Option<NaiveDateTime>,
    pub rate_count: i32,
    pub last_inbound_at: Option<NaiveDateTime>,
    pub last_outbound_at: Option<NaiveDateTime>,
    pub inbound_count: i64,
    pub answered_count: i64,
    pub skipped_count: i64,
    pub updated_at: NaiveDateTime,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&t)
}

fn naive(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ChatRow {
    /// A chat never seen before.
    pub(crate) fn new(instance: &str, key: &str, at: NaiveDateTime) -> Self {
        Self::with_state(instance, key, None, &ChatState::default(), at)
    }

    /// The row for `state`.
    pub(crate) fn with_state(
        instance: &str,
        key: &str,
        last_address: Option<String>,
        state: &ChatState,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            instance_name: instance.to_owned(),
            chat_key: key.to_owned(),
            last_address,
            paused_by: state.paused_by.map(|p| p.as_str().to_owned()),
            paused_until: naive(state.paused_until),
            session_open: state.session_open,
            session_at: naive(state.session_at),
            rate_window_at: naive(state.rate_window_at),
            rate_count: i32::try_from(state.rate_count).unwrap_or(i32::MAX),
            last_inbound_at: naive(state.last_inbound_at),
            last_outbound_at: naive(state.last_outbound_at),
            inbound_count: count(state.inbound_count),
            answered_count: count(state.answered_count),
            skipped_count: count(state.skipped_count),
            updated_at: at,
        }
    }

    /// The rules' state in this row.
    pub(crate) fn state(&self) -> ChatState {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        ChatState {
            paused_by: self.paused_by.as_deref().and_then(PauseCause::parse),
            paused_until: self.paused_until.map(utc),
            session_open: self.session_open,
            session_at: self.session_at.map(utc),
            rate_window_at: self.rate_window_at.map(utc),
            rate_count: u32::try_from(self.rate_count).unwrap_or(0),
            last_inbound_at: self.last_inbound_at.map(utc),
            last_outbound_at: self.last_outbound_at.map(utc),
            inbound_count: n(self.inbound_count),
            answered_count: n(self.answered_count),
            skipped_count: n(self.skipped_count),
        }
    }

    /// The chat as the API shows it.
    pub(crate) fn into_chat(self) -> Chat {
        Chat {
            state: self.state(),
            instance: self.instance_name,
            key: self.chat_key,
            last_address: self.last_address,
            updated_at: utc(self.updated_at),
        }
    }
}

/// The rows of the instance's chats `keys` (sorted, no repeats), created when missing and
/// locked for the rest of the transaction on PostgreSQL (in key order, so writers never wait
/// on each other in a circle), so every replica decides on a chat one message at a time.
pub(crate) fn lock_or_create(
    conn: &mut DbConn,
    instance: &str,
    keys: &[String],
    at: NaiveDateTime,
) -> QueryResult<Vec<ChatRow>> {
    let rows = || {
        c::chats
            .filter(c::instance_name.eq(instance))
            .filter(c::chat_key.eq_any(keys))
            .order(c::chat_key.asc())
    };
    match conn {
        // One writer at a time on SQLite: a read, and an insert only for new chats.
        DbConn::Sqlite(conn) => {
            let mut found: Vec<ChatRow> = rows().select(ChatRow::as_select()).load(conn)?;
            for key in keys {
                if !found.iter().any(|row| &row.chat_key == key) {
                    let fresh = ChatRow::new(instance, key, at);
                    diesel::insert_into(c::chats).values(&fresh).execute(conn)?;
                    found.push(fresh);
                }
            }
            Ok(found)
        }
        // Known chats are locked by one read; only a new chat costs an insert (which a
        // concurrent insert of the same chat waits for) and a second locked read.
        DbConn::Postgres(conn) => {
            let found: Vec<ChatRow> = rows().select(ChatRow::as_select()).for_update().load(conn)?;
            let fresh: Vec<ChatRow> = keys
                .iter()
                .filter(|key| !found.iter().any(|row| &row.chat_key == *key))
                .map(|key| ChatRow::new(instance, key, at))
                .collect();
            if fresh.is_empty() {
                return Ok(found);
            }
            diesel::insert_into(c::chats)
                .values(&fresh)
                .on_conflict_do_nothing()
                .execute(conn)?;
            rows().select(ChatRow::as_select()).for_update().load(conn)
        }
    }
}

/// Writes the chat's row back.
pub(crate) fn save(conn: &mut DbConn, row: &ChatRow) -> QueryResult<()> {
    diesel::update(c::chats.find((&row.instance_name, &row.chat_key)))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Writes the rows back (they exist: they were locked by [`lock_or_create`]): on PostgreSQL
/// in one statement, a round trip per commit instead of one per chat.
pub(crate) fn save_all(conn: &mut DbConn, rows: &[ChatRow]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    match conn {
        DbConn::Postgres(pg) if rows.len() > 1 => {
            diesel::insert_into(c::chats)
                .values(rows)
                .on_conflict((c::instance_name, c::chat_key))
                .do_update()
                .set((
                    c::last_address.eq(excluded(c::last_address)),
                    c::paused_by.eq(excluded(c::paused_by)),
                    c::paused_until.eq(excluded(c::paused_until)),
                    c::session_open.eq(excluded(c::session_open)),
                    c::session_at.eq(excluded(c::session_at)),
                    c::rate_window_at.eq(excluded(c::rate_window_at)),
                    c::rate_count.eq(excluded(c::rate_count)),
                    c::last_inbound_at.eq(excluded(c::last_inbound_at)),
                    c::last_outbound_at.eq(excluded(c::last_outbound_at)),
                    c::inbound_count.eq(excluded(c::inbound_count)),
                    c::answered_count.eq(excluded(c::answered_count)),
                    c::skipped_count.eq(excluded(c::skipped_count)),
                    c::updated_at.eq(excluded(c::updated_at)),
                ))
                .execute(pg)?;
            Ok(())
        }
        _ => rows.iter().try_for_each(|row| save(conn, row)),
    }
}

/// The chat key each of `addresses` already belongs to, in the order given.
pub(crate) fn keys_of(
    conn: &mut DbConn,
    instance: &str,
    addresses: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let found: Vec<(String, String)> = a::chat_aliases
        .filter(a::instance_name.eq(instance))
        .filter(a::address.eq_any(addresses))
        .select((a::address, a::chat_key))
        .load(conn)?;
    let mut ordered = Vec::new();
    for address in addresses {
        if let Some(pair) = found.iter().find(|(known, _)| known == address) {
            ordered.push(pair.clone());
        }
    }
    Ok(ordered)
}

/// Records (instance, address, chat key) triples (addresses already known keep theirs).
pub(crate) fn remember(conn: &mut DbConn, triples: &[(String, String, String)]) -> QueryResult<()> {
    let rows: Vec<_> = triples
        .iter()
        .map(|(instance, address, key)| {
            (
                a::instance_name.eq(instance.as_str()),
                a::address.eq(address.as_str()),
                a::chat_key.eq(key.as_str()),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Sqlite(conn) => diesel::insert_or_ignore_into(a::chat_aliases)
            .values(&rows)
            .execute(conn)?,
        DbConn::Postgres(conn) => diesel::insert_into(a::chat_aliases)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(conn)?,
    };
    Ok(())
}
