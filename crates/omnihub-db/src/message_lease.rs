//! The lease-fenced steps of a claimed message, as statements inside a caller's transaction:
//! every write applies only while the writer still holds the lease, so a dispatcher whose
//! lease expired cannot overwrite the work of the one that took over. [`crate::Change`]
//! names them; `MessageStore::apply` runs many of them in one transaction.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use omnihub_domain::{MessageStatus, Stage};

use crate::conn::DbConn;
use crate::conversations::{upsert, StateUpdate};
use crate::messages::{later, to_i32};
use crate::queues;
use crate::schema::messages::dsl as m;
use crate::DbError;

type Released = (
    diesel::dsl::Eq<m::status, &'static str>,
    diesel::dsl::Eq<m::lease_owner, Option<String>>,
    diesel::dsl::Eq<m::lease_expires_at, Option<NaiveDateTime>>,
);

/// Back to the queue without a lease.
pub(crate) fn released() -> Released {
    (
        m::status.eq(MessageStatus::Queued.as_str()),
        m::lease_owner.eq(None),
        m::lease_expires_at.eq(None),
    )
}

/// An UPDATE of message `id` that only matches while `owner` holds its lease: checking and
/// writing in one statement, so there is no window between them. Zero rows: the lease is lost.
macro_rules! held {
    ($id:expr, $owner:expr) => {
        diesel::update(
            m::messages
                .filter(m::id.eq($id))
                .filter(m::status.eq(MessageStatus::Processing.as_str()))
                .filter(m::lease_owner.eq($owner)),
        )
    };
}

/// What the agent answered, with the number of parts and the conversation's new state.
pub(crate) struct Reply<'a> {
    pub text: &'a str,
    pub parts_total: u32,
    pub state: Option<&'a StateUpdate>,
    pub note: Option<&'a str>,
}

/// Stores the agent's answer (and the conversation state with it) and holds the lease.
pub(crate) fn save_reply(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    reply: &Reply<'_>,
    lease: Duration,
) -> Result<bool, DbError> {
    let held = held!(id, owner)
        .set((
            m::reply.eq(reply.text),
            m::parts_total.eq(to_i32(reply.parts_total)),
            m::outcome.eq(reply.note),
            m::agent_finished_at.eq(at),
            m::lease_expires_at.eq(later(at, lease)),
        ))
        .execute(conn)?
        == 1;
    if let (true, Some(state)) = (held, reply.state) {
        upsert(conn, state, at)?;
    }
    Ok(held)
}

/// Parts up to `parts_sent` reached Evolution; the lease is held for `lease` more.
pub(crate) fn part_sent(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    parts_sent: u32,
    lease: Duration,
) -> QueryResult<bool> {
    Ok(held!(id, owner)
        .set((
            m::parts_sent.eq(to_i32(parts_sent)),
            m::sent_at.eq(at),
            m::lease_expires_at.eq(later(at, lease)),
        ))
        .execute(conn)?
        == 1)
}

/// Finishes a message as `done`, with an optional note; its chat moves to the next message.
pub(crate) fn complete(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    outcome: Option<&str>,
    parts_sent: Option<u32>,
) -> QueryResult<bool> {
    // A note stored with the reply (a cut) stays unless the completion brings its own.
    let done = (
        m::status.eq(MessageStatus::Done.as_str()),
        m::finished_at.eq(at),
        m::lease_owner.eq(None::<String>),
        m::lease_expires_at.eq(None::<NaiveDateTime>),
    );
    let applied = match (parts_sent, outcome) {
        (Some(parts), Some(note)) => held!(id, owner)
            .set((
                done,
                m::outcome.eq(note),
                m::parts_sent.eq(to_i32(parts)),
                m::sent_at.eq(at),
            ))
            .execute(conn)?,
        (Some(parts), None) => held!(id, owner)
            .set((done, m::parts_sent.eq(to_i32(parts)), m::sent_at.eq(at)))
            .execute(conn)?,
        (None, Some(note)) => held!(id, owner).set((done, m::outcome.eq(note))).execute(conn)?,
        (None, None) => held!(id, owner).set(done).execute(conn)?,
    } == 1;
    if applied {
        queues::advance(conn, id)?;
    }
    Ok(applied)
}

/// The claim's attempt given back: waiting (for the number's connection or its pace) is not
/// an attempt that failed.
fn attempt_given_back() -> diesel::expression::SqlLiteral<diesel::sql_types::Integer> {
    diesel::dsl::sql::<diesel::sql_types::Integer>("CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END")
}

/// Back to the queue until the number may send again (`delay`): the claim's attempt is given
/// back and nothing is recorded as an error, since nothing failed.
pub(crate) fn pace(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    delay: Duration,
) -> QueryResult<bool> {
    let due = later(at, delay);
    let paced = held!(id, owner)
        .set((
            released(),
            m::next_attempt_at.eq(due),
            m::attempts.eq(attempt_given_back()),
        ))
        .execute(conn)?
        == 1;
    if paced {
        queues::reschedule(conn, &[id], due)?;
    }
    Ok(paced)
}

/// Back to the queue until `delay` has passed, keeping the error; the chat is due then.
pub(crate) fn retry_later(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    delay: Duration,
    failure: (Stage, &str),
) -> QueryResult<bool> {
    let due = later(at, delay);
    let held = held!(id, owner)
        .set((
            m::status.eq(MessageStatus::Queued.as_str()),
            m::next_attempt_at.eq(due),
            m::error_stage.eq(failure.0.as_str()),
            m::error.eq(failure.1),
            m::lease_owner.eq(None::<String>),
            m::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?
        == 1;
    if held {
        queues::reschedule(conn, &[id], due)?;
    }
    Ok(held)
}

/// Puts a message back to wait `delay` for its number to be connected: like
/// [`retry_later`], but the attempt it was claimed with is given back (waiting is not
/// failing) and `held_since` records when the wait began.
pub(crate) fn hold(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    delay: Duration,
    reason: &str,
) -> QueryResult<bool> {
    let due = later(at, delay);
    let held = held!(id, owner)
        .set((
            released(),
            m::next_attempt_at.eq(due),
            m::attempts.eq(attempt_given_back()),
            m::held_since.eq(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamp>>(
                    "COALESCE(held_since, ",
                )
                .bind::<diesel::sql_types::Timestamp, _>(at)
                .sql(")"),
            ),
            m::error_stage.eq(Stage::Evolution.as_str()),
            m::error.eq(reason),
        ))
        .execute(conn)?
        == 1;
    if held {
        queues::reschedule(conn, &[id], due)?;
    }
    Ok(held)
}

/// Finishes a message as `failed` at `stage` with `error`; its chat moves on.
pub(crate) fn fail(
    conn: &mut DbConn,
    at: NaiveDateTime,
    id: i64,
    owner: &str,
    failure: (Stage, &str),
) -> QueryResult<bool> {
    let applied = held!(id, owner)
        .set((
            m::status.eq(MessageStatus::Failed.as_str()),
            m::error_stage.eq(failure.0.as_str()),
            m::error.eq(failure.1),
            m::finished_at.eq(at),
            m::lease_owner.eq(None::<String>),
            m::lease_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?
        == 1;
    if applied {
        queues::advance(conn, id)?;
    }
    Ok(applied)
}

/// Hands back the messages `owner` holds (every holder's with `None`); their chats are due
/// at once. Returns how many.
pub(crate) fn release(conn: &mut DbConn, at: NaiveDateTime, owner: Option<&str>) -> QueryResult<usize> {
    let mut held = m::messages
        .filter(m::status.eq(MessageStatus::Processing.as_str()))
        .select(m::id)
        .into_boxed();
    if let Some(owner) = owner {
        held = held.filter(m::lease_owner.eq(owner));
    }
    let ids: Vec<i64> = held.load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    queues::reschedule(conn, &ids, at)?;
    diesel::update(m::messages.filter(m::id.eq_any(&ids)))
        .set(released())
        .execute(conn)
}
