//! How far behind each instance is: unfinished messages and the age of the oldest, for
//! `/metrics` and operators.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;

use crate::database::with_conn;
use crate::messages::MessageStore;
use crate::schema::messages::dsl as m;
use crate::DbError;

/// The unfinished messages of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// The instance.
    pub instance: String,
    /// Messages queued or processing.
    pub unfinished: i64,
    /// When the oldest of them was accepted.
    pub oldest_received_at: Option<DateTime<Utc>>,
}

impl MessageStore<'_> {
    /// The backlog of every instance that has one.
    pub fn backlog(&self) -> Result<Vec<Backlog>, DbError> {
        with_conn(self.db(), |conn| {
            let rows: Vec<(String, i64, Option<NaiveDateTime>)> = m::messages
                // Literal statuses, so the partial index on unfinished messages is used.
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "status IN ('queued', 'processing')",
                ))
                .group_by(m::instance_name)
                .select((
                    m::instance_name,
                    diesel::dsl::count_star(),
                    diesel::dsl::min(m::received_at),
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(instance, unfinished, oldest)| Backlog {
                    instance,
                    unfinished,
                    oldest_received_at: oldest.map(|t| Utc.from_utc_datetime(&t)),
                })
                .collect())
        })
    }
}

/// One instance's message counts, as the console's cards show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The instance.
    pub instance: String,
    /// Messages queued or processing.
    pub unfinished: i64,
    /// Messages that failed.
    pub failed: i64,
    /// When the latest message (either direction) was stored.
    pub last_at: Option<DateTime<Utc>>,
}

impl MessageStore<'_> {
    /// Every instance's unfinished and failed counts and latest message (one scan of the log).
    pub fn activity(&self) -> Result<Vec<Activity>, DbError> {
        use diesel::dsl::{max, sql};
        use diesel::sql_types::BigInt;
        with_conn(self.db(), |conn| {
            let count_of = |statuses: &str| {
                sql::<BigInt>(&format!(
                    "COALESCE(SUM(CASE WHEN status IN ({statuses}) THEN 1 ELSE 0 END), 0)"
                ))
            };
            let rows: Vec<(String, i64, i64, Option<NaiveDateTime>)> = m::messages
                .group_by(m::instance_name)
                .select((
                    m::instance_name,
                    count_of("'queued', 'processing'"),
                    count_of("'failed'"),
                    max(m::received_at),
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(instance, unfinished, failed, last)| Activity {
                    instance,
                    unfinished,
                    failed,
                    last_at: last.map(|t| Utc.from_utc_datetime(&t)),
                })
                .collect())
        })
    }
}
