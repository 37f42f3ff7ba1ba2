//! Debounce in the database: a message arriving while an earlier message of its chat waits
//! unclaimed in its debounce window joins it (texts on new lines, every media item kept,
//! the latest quote), and the window restarts, never past the burst's longest wait. The
//! burst is one row, so one replica claims it as one unit.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use omnihub_domain::{InboundMessage, MessageContent, MessageStatus};

use crate::conn::DbConn;
use crate::error::write_error;
use crate::messages::later;
use crate::schema::messages::dsl as m;
use crate::{queues, DbError};

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    head_id: i64,
}

/// Joins `message` (just stored) to the burst waiting in its chat `(instance, key)`, if one
/// waits and its longest wait has not passed; the burst's log id, or `None` when the message
/// starts its own.
pub(crate) fn join_burst(
    conn: &mut DbConn,
    (instance, key): (&str, &str),
    message: &InboundMessage,
    at: NaiveDateTime,
    max_wait: Duration,
    due: NaiveDateTime,
) -> Result<Option<i64>, DbError> {
    if let DbConn::Postgres(pg) = conn {
        // A claim locks the chat's queue row before it takes the head: holding it here means
        // a burst is never extended while a replica claims it.
        let _: Vec<Locked> = diesel::sql_query(
            "SELECT head_id FROM chat_queues WHERE instance_name = $1 AND chat_id = $2 FOR UPDATE",
        )
        .bind::<Text, _>(instance)
        .bind::<Text, _>(key)
        .load(pg)
        .map_err(write_error)?;
    }
    let leader: Option<(i64, String, NaiveDateTime)> = m::messages
        .filter(m::instance_name.eq(instance))
        .filter(m::chat_key.eq(key))
        .filter(m::status.eq(MessageStatus::Queued.as_str()))
        .filter(m::attempts.eq(0))
        .filter(m::reply.is_null())
        .filter(m::message_id.ne(&message.message_id))
        .order(m::id.desc())
        .select((m::id, m::content, m::received_at))
        .first(conn)
        .optional()
        .map_err(write_error)?;
    let Some((leader, content, first_at)) = leader else {
        return Ok(None);
    };
    let cap = later(first_at, max_wait);
    if at >= cap {
        return Ok(None);
    }
    let mut merged: MessageContent = serde_json::from_str(&content).map_err(|e| DbError::Corrupt {
        entity: "message",
        key: leader.to_string(),
        reason: format!("content is not valid: {e}"),
    })?;
    merged.absorb(message.content.clone());
    let merged_json = serde_json::to_string(&merged).map_err(|e| DbError::Query(Box::new(e)))?;
    diesel::update(m::messages.find(leader))
        .set((
            m::content.eq(merged_json),
            m::kind.eq(merged.kind.as_str()),
            m::next_attempt_at.eq(due.min(cap)),
            m::chat_id.eq(&message.chat_id),
        ))
        .execute(conn)
        .map_err(write_error)?;
    diesel::update(
        m::messages
            .filter(m::instance_name.eq(instance))
            .filter(m::message_id.eq(&message.message_id)),
    )
    .set((
        m::status.eq(MessageStatus::Done.as_str()),
        m::outcome.eq(format!("debounced: answered with message #{leader}")),
        m::finished_at.eq(at),
    ))
    .execute(conn)
    .map_err(write_error)?;
    queues::refresh(conn, instance, key).map_err(write_error)?;
    Ok(Some(leader))
}
