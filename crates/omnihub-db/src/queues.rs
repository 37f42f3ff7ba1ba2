//! The per-chat queue index: one `chat_queues` row per chat (its `chat_id` column holds the
//! chat key, one per person) with unfinished messages, naming
//! the chat's head (its oldest unfinished message) and when the head is next due. Claims read
//! it, so finding work costs O(ready chats) however long one chat's queue is. Every function
//! here runs inside the transaction that changes the messages it describes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use omnihub_domain::{MessageRecord, MessageStatus};

use crate::conn::DbConn;
use crate::error::write_error;
use crate::messages::{later, load, ClaimRequest};
use crate::schema::chat_queues::dsl as q;
use crate::schema::messages::dsl as m;
use crate::DbError;

/// Statuses of unfinished messages, as stored.
const ACTIVE: [&str; 2] = ["queued", "processing"];

/// After a new message was inserted: its chat gets a queue row with it as head, unless the
/// chat already has one (then an older message is the head). On PostgreSQL the conflict case
/// takes the row's lock, so it waits for a concurrent [`advance`] of the same chat and never
/// slips in between that one's "no more messages" and its delete.
pub(crate) fn enqueue(conn: &mut DbConn, instance: &str, message_id: &str) -> QueryResult<()> {
    let select = "SELECT instance_name, chat_key, id, next_attempt_at FROM messages";
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(format!(
            "INSERT OR IGNORE INTO chat_queues (instance_name, chat_id, head_id, due_at) \
             {select} WHERE instance_name = ?1 AND message_id = ?2"
        ))
        .bind::<Text, _>(instance)
        .bind::<Text, _>(message_id)
        .execute(c)?,
        DbConn::Postgres(c) => diesel::sql_query(format!(
            "INSERT INTO chat_queues (instance_name, chat_id, head_id, due_at) \
             {select} WHERE instance_name = $1 AND message_id = $2 \
             ON CONFLICT (instance_name, chat_id) DO UPDATE SET head_id = chat_queues.head_id"
        ))
        .bind::<Text, _>(instance)
        .bind::<Text, _>(message_id)
        .execute(c)?,
    };
    Ok(())
}

/// Recomputes the queue row of one chat from its messages: the oldest unfinished message
/// becomes the head, due when it is; no unfinished message, no row.
pub(crate) fn refresh(conn: &mut DbConn, instance: &str, chat: &str) -> QueryResult<()> {
    let next = oldest_unfinished(conn, instance, chat)?;
    let row = q::chat_queues
        .filter(q::instance_name.eq(instance))
        .filter(q::chat_id.eq(chat));
    let Some((head, due)) = next else {
        diesel::delete(row).execute(conn)?;
        return Ok(());
    };
    let updated = diesel::update(row)
        .set((q::head_id.eq(head), q::due_at.eq(due)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(q::chat_queues)
            .values((
                q::instance_name.eq(instance),
                q::chat_id.eq(chat),
                q::head_id.eq(head),
                q::due_at.eq(due),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Unfinished {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    next_attempt_at: NaiveDateTime,
}

/// The chat's oldest unfinished message and when it is due. The statuses are literals, not
/// parameters: only then can SQLite (and a generic PostgreSQL plan) use the partial index on
/// unfinished messages instead of scanning the whole log.
fn oldest_unfinished(
    conn: &mut DbConn,
    instance: &str,
    chat: &str,
) -> QueryResult<Option<(i64, NaiveDateTime)>> {
    let sql = |p: &dyn Fn(usize) -> String| {
        format!(
            "SELECT id, next_attempt_at FROM messages WHERE instance_name = {} AND chat_key = {} \
             AND status IN ('queued', 'processing') ORDER BY id LIMIT 1",
            p(1),
            p(2)
        )
    };
    let rows: Vec<Unfinished> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql(&|n| format!("?{n}")))
            .bind::<Text, _>(instance)
            .bind::<Text, _>(chat)
            .load(c)?,
        DbConn::Postgres(c) => diesel::sql_query(sql(&|n| format!("${n}")))
            .bind::<Text, _>(instance)
            .bind::<Text, _>(chat)
            .load(c)?,
    };
    Ok(rows.into_iter().next().map(|r| (r.id, r.next_attempt_at)))
}

/// After message `head` finished (done or failed): the next message of its chat becomes the
/// head, or the chat leaves the queue. Locks the row first on PostgreSQL (see [`enqueue`]).
pub(crate) fn advance(conn: &mut DbConn, head: i64) -> QueryResult<()> {
    let key = q::chat_queues
        .filter(q::head_id.eq(head))
        .select((q::instance_name, q::chat_id));
    let key: Option<(String, String)> = match conn {
        DbConn::Postgres(c) => key.for_update().first(c).optional()?,
        DbConn::Sqlite(c) => key.first(c).optional()?,
    };
    match key {
        Some((instance, chat)) => refresh(conn, &instance, &chat),
        None => Ok(()),
    }
}

/// The chat whose head is `head` is next due at `due` (a retry's backoff, a claim's lease).
pub(crate) fn reschedule(conn: &mut DbConn, heads: &[i64], due: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(q::chat_queues.filter(q::head_id.eq_any(heads)))
        .set(q::due_at.eq(due))
        .execute(conn)
}

/// A head that may be claimable, with what the claim needs to decide.
#[derive(QueryableByName)]
pub(crate) struct Candidate {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub instance_name: String,
    #[diesel(sql_type = Text)]
    pub chat_id: String,
    #[diesel(sql_type = Text)]
    pub status: String,
}

/// The due chats, soonest first, skipping `excluded` instances: their heads when ready
/// (queued and due, or processing with an expired lease), and heads that finished without
/// the queue noticing (to be repaired). On PostgreSQL the rows are locked `SKIP LOCKED`, so
/// replicas claiming at once take different chats.
pub(crate) fn candidates(
    conn: &mut DbConn,
    now: NaiveDateTime,
    excluded: &[String],
    limit: i64,
) -> QueryResult<Vec<Candidate>> {
    let sql = |p: &dyn Fn(usize) -> String, lock: &str| {
        let mut sql = format!(
            "SELECT q.head_id AS id, q.instance_name AS instance_name, q.chat_id AS chat_id, \
             m.status AS status FROM chat_queues q JOIN messages m ON m.id = q.head_id \
             WHERE q.due_at <= {now} AND ((m.status = 'queued' AND m.next_attempt_at <= {now}) \
             OR (m.status = 'processing' AND m.lease_expires_at <= {now}) \
             OR m.status NOT IN ('queued', 'processing'))",
            now = p(1)
        );
        if !excluded.is_empty() {
            let list: Vec<String> = (0..excluded.len()).map(|i| p(i + 2)).collect();
            sql.push_str(&format!(" AND q.instance_name NOT IN ({})", list.join(", ")));
        }
        sql.push_str(&format!(
            " ORDER BY q.due_at LIMIT {}{lock}",
            p(excluded.len() + 2)
        ));
        sql
    };
    match conn {
        DbConn::Sqlite(c) => {
            let mut query = diesel::sql_query(sql(&|n| format!("?{n}"), ""))
                .into_boxed::<diesel::sqlite::Sqlite>()
                .bind::<Timestamp, _>(now);
            for name in excluded {
                query = query.bind::<Text, _>(name.clone());
            }
            query.bind::<BigInt, _>(limit).load(c)
        }
        DbConn::Postgres(c) => {
            let mut query = diesel::sql_query(sql(&|n| format!("${n}"), " FOR UPDATE OF q SKIP LOCKED"))
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Timestamp, _>(now);
            for name in excluded {
                query = query.bind::<Text, _>(name.clone());
            }
            query.bind::<BigInt, _>(limit).load(c)
        }
    }
}

/// Rebuilds every queue row from the messages (after copying a database).
pub(crate) fn rebuild(conn: &mut DbConn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(
        "DELETE FROM chat_queues; \
         INSERT INTO chat_queues (instance_name, chat_id, head_id, due_at) \
         SELECT m.instance_name, m.chat_key, m.id, m.next_attempt_at FROM messages m \
         WHERE m.status IN ('queued', 'processing') AND NOT EXISTS (SELECT 1 FROM messages p \
         WHERE p.instance_name = m.instance_name AND p.chat_key = m.chat_key \
         AND p.status IN ('queued', 'processing') AND p.id < m.id);",
    )
}

/// Claims inside the caller's transaction (see [`MessageStore::claim`]).
pub(crate) fn claim_in(
    conn: &mut DbConn,
    at: NaiveDateTime,
    request: &ClaimRequest,
) -> Result<Vec<MessageRecord>, DbError> {
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let mut capacity = request.capacity.clone();
    let excluded: Vec<String> = capacity
        .as_ref()
        .map(|caps| {
            caps.iter()
                .filter(|(_, n)| *n == 0)
                .map(|(i, _)| i.clone())
                .collect()
        })
        .unwrap_or_default();
    let fetch = i64::try_from(request.limit.saturating_mul(4)).unwrap_or(i64::MAX);
    let mut chosen = Vec::new();
    for candidate in candidates(conn, at, &excluded, fetch).map_err(write_error)? {
        if !ACTIVE.contains(&candidate.status.as_str()) {
            // The head finished without its chat advancing: repair the queue.
            refresh(conn, &candidate.instance_name, &candidate.chat_id).map_err(write_error)?;
            continue;
        }
        if chosen.len() == request.limit {
            break;
        }
        if let Some(caps) = capacity.as_mut() {
            match caps.iter_mut().find(|(i, _)| *i == candidate.instance_name) {
                Some((_, left)) if *left > 0 => *left -= 1,
                _ => continue,
            }
        }
        chosen.push((candidate.id, candidate.instance_name));
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    // The claim also records the agent call's start: the dispatcher calls the agent at once,
    // and the lease already covers the call (no separate round trip to extend it).
    let lease_of = |instance: &str| {
        request
            .leases
            .iter()
            .find(|(name, _)| name == instance)
            .map_or(request.lease, |(_, lease)| *lease)
    };
    let mut by_lease: Vec<(std::time::Duration, Vec<i64>)> = Vec::new();
    for (id, instance) in &chosen {
        let lease = lease_of(instance);
        match by_lease.iter_mut().find(|(l, _)| *l == lease) {
            Some((_, ids)) => ids.push(*id),
            None => by_lease.push((lease, vec![*id])),
        }
    }
    for (lease, ids) in &by_lease {
        let until = later(at, *lease);
        diesel::update(m::messages.filter(m::id.eq_any(ids)))
            .set((
                m::status.eq(MessageStatus::Processing.as_str()),
                m::lease_owner.eq(&request.owner),
                m::lease_expires_at.eq(until),
                m::attempts.eq(m::attempts + 1),
                m::agent_started_at.eq(at),
            ))
            .execute(conn)
            .map_err(write_error)?;
        // Out of the claim's way until the lease could expire.
        reschedule(conn, ids, until).map_err(write_error)?;
    }
    let chosen: Vec<i64> = chosen.into_iter().map(|(id, _)| id).collect();
    load(
        conn,
        m::messages
            .filter(m::id.eq_any(&chosen))
            .order(m::id.asc())
            .into_boxed(),
    )
}
