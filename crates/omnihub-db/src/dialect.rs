//! The one query that Diesel's common DSL cannot express portably: claiming chat heads.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::conn::DbConn;
use crate::message_rows::NewMessageRow;
use crate::schema::messages;
use crate::DbError;

/// Inserts a message unless the instance already has its id; true when it was new. One
/// statement either way (`INSERT OR IGNORE` / `ON CONFLICT DO NOTHING`), so a duplicate
/// neither aborts a PostgreSQL transaction nor costs a savepoint.
pub(crate) fn insert_message_if_new(conn: &mut DbConn, row: &NewMessageRow<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(messages::table)
            .values(row)
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(messages::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

#[derive(QueryableByName)]
pub(crate) struct Candidate {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub instance_name: String,
}

/// The ready heads of chats, oldest first: a message is a head when no earlier message of
/// its (instance, chat) is still queued or processing, so each chat advances one message at
/// a time in arrival order. Ready means queued and due, or processing with an expired lease.
///
/// On PostgreSQL the candidates are locked with `FOR UPDATE SKIP LOCKED`, so replicas claiming
/// at the same moment take different messages instead of waiting for each other. Order per chat
/// still holds: a head locked by another replica is skipped, and the message behind it is not a
/// head while that one is unfinished.
fn claim_sql(placeholder: impl Fn(usize) -> String, excluded: usize, lock: &str) -> String {
    let now = placeholder(1);
    let mut sql = format!(
        "SELECT m.id AS id, m.instance_name AS instance_name FROM messages m \
         WHERE m.status IN ('queued', 'processing') \
         AND ((m.status = 'queued' AND m.next_attempt_at <= {now}) \
              OR (m.status = 'processing' AND m.lease_expires_at <= {now})) \
         AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.instance_name = m.instance_name \
              AND p.chat_id = m.chat_id AND p.status IN ('queued', 'processing') AND p.id < m.id)"
    );
    if excluded > 0 {
        let list: Vec<String> = (0..excluded).map(|i| placeholder(i + 2)).collect();
        sql.push_str(&format!(" AND m.instance_name NOT IN ({})", list.join(", ")));
    }
    sql.push_str(&format!(
        " ORDER BY m.id LIMIT {}{lock}",
        placeholder(excluded + 2)
    ));
    sql
}

/// Ready chat heads, skipping `excluded` instances, at most `limit`.
pub(crate) fn claim_candidates(
    conn: &mut DbConn,
    now: NaiveDateTime,
    excluded: &[String],
    limit: i64,
) -> Result<Vec<Candidate>, DbError> {
    Ok(match conn {
        DbConn::Sqlite(c) => {
            // SQLite has one writer at a time and the claim runs under BEGIN IMMEDIATE.
            let sql = claim_sql(|n| format!("?{n}"), excluded.len(), "");
            let mut query = diesel::sql_query(sql)
                .into_boxed::<diesel::sqlite::Sqlite>()
                .bind::<Timestamp, _>(now);
            for name in excluded {
                query = query.bind::<Text, _>(name.clone());
            }
            query.bind::<BigInt, _>(limit).load(c)?
        }
        DbConn::Postgres(c) => {
            let sql = claim_sql(
                |n| format!("${n}"),
                excluded.len(),
                " FOR UPDATE OF m SKIP LOCKED",
            );
            let mut query = diesel::sql_query(sql)
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Timestamp, _>(now);
            for name in excluded {
                query = query.bind::<Text, _>(name.clone());
            }
            query.bind::<BigInt, _>(limit).load(c)?
        }
    })
}
