//! Signed-in sessions of the admin console, by the hash of their token: opened at sign-in,
//! found on each page, closed at sign-out; expired ones are never found and are swept when a
//! new one opens.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;

use crate::database::with_conn;
use crate::messages::later;
use crate::schema::console_sessions::dsl as s;
use crate::{Database, DbError};

/// A session as a page needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The token every form of the session must carry.
    pub csrf: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// The console's sessions. Obtained from [`Database::console_sessions`].
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSessionStore<'a> {
    db: &'a Database,
}

impl<'a> ConsoleSessionStore<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Opens a session for `ttl` under `token_hash` (the caller hashes the cookie's token),
    /// with its CSRF token; sweeps the expired ones. When it ends.
    pub fn open(&self, token_hash: &str, csrf: &str, ttl: Duration) -> Result<DateTime<Utc>, DbError> {
        let at = self.db.now_naive();
        let until = later(at, ttl);
        with_conn(self.db, |conn| {
            diesel::delete(s::console_sessions.filter(s::expires_at.le(at))).execute(conn)?;
            diesel::insert_into(s::console_sessions)
                .values((
                    s::token_hash.eq(token_hash),
                    s::csrf.eq(csrf),
                    s::created_at.eq(at),
                    s::expires_at.eq(until),
                ))
                .execute(conn)?;
            Ok(Utc.from_utc_datetime(&until))
        })
    }

    /// The session under `token_hash`, unless it expired or was closed.
    pub fn find(&self, token_hash: &str) -> Result<Option<ConsoleSession>, DbError> {
        let at = self.db.now_naive();
        with_conn(self.db, |conn| {
            let found: Option<(String, chrono::NaiveDateTime)> = s::console_sessions
                .filter(s::token_hash.eq(token_hash))
                .filter(s::expires_at.gt(at))
                .select((s::csrf, s::expires_at))
                .first(conn)
                .optional()?;
            Ok(found.map(|(csrf, until)| ConsoleSession {
                csrf,
                expires_at: Utc.from_utc_datetime(&until),
            }))
        })
    }

    /// Ends the session under `token_hash` (nothing when there is none).
    pub fn close(&self, token_hash: &str) -> Result<(), DbError> {
        with_conn(self.db, |conn| {
            diesel::delete(s::console_sessions.filter(s::token_hash.eq(token_hash))).execute(conn)?;
            Ok(())
        })
    }
}
