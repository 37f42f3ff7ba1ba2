//! The lease-fenced steps of a claimed message: every write applies only while the writer
//! still holds the lease, so a dispatcher whose lease expired cannot overwrite the work of
//! the one that took over.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use omnihub_domain::{MessageStatus, Stage};

use crate::conn::{write_tx, DbConn};
use crate::conversations::{upsert, StateUpdate};
use crate::database::with_conn;
use crate::messages::{later, to_i32, MessageStore};
use crate::queues;
use crate::schema::messages::dsl as m;
use crate::DbError;

type Released = (
    diesel::dsl::Eq<m::status, &'static str>,
    diesel::dsl::Eq<m::lease_owner, Option<String>>,
    diesel::dsl::Eq<m::lease_expires_at, Option<NaiveDateTime>>,
);

/// Back to the queue without a lease.
fn released() -> Released {
    (
        m::status.eq(MessageStatus::Queued.as_str()),
        m::lease_owner.eq(None),
        m::lease_expires_at.eq(None),
    )
}

/// An UPDATE of message `id` that only matches while `owner` holds its lease: checking and
/// writing in one statement, so there is no window between them.
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

impl MessageStore<'_> {
    /// Records that the agent call starts now and holds the lease for `lease` more.
    pub fn agent_started(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, DbError> {
        self.fenced(|conn, at| {
            held!(id, owner)
                .set((
                    m::agent_started_at.eq(at),
                    m::lease_expires_at.eq(later(at, lease)),
                ))
                .execute(conn)
        })
    }

    /// Stores the agent's answer and how many parts it will be sent in, and holds the lease
    /// for `lease` more. The conversation's new state, when there is one, is written in the
    /// same transaction: a retry never sees the reply without its state or the other way.
    pub fn save_reply(
        &self,
        id: i64,
        owner: &str,
        reply: &str,
        parts_total: u32,
        lease: Duration,
        state: Option<&StateUpdate>,
    ) -> Result<bool, DbError> {
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| {
                let held = held!(id, owner)
                    .set((
                        m::reply.eq(reply),
                        m::parts_total.eq(to_i32(parts_total)),
                        m::agent_finished_at.eq(at),
                        m::lease_expires_at.eq(later(at, lease)),
                    ))
                    .execute(conn)?
                    == 1;
                if let (true, Some(state)) = (held, state) {
                    upsert(conn, state, at)?;
                }
                Ok(held)
            })
        })
    }

    /// Records that parts up to `parts_sent` reached Evolution and holds the lease for
    /// `lease` more.
    pub fn part_sent(&self, id: i64, owner: &str, parts_sent: u32, lease: Duration) -> Result<bool, DbError> {
        self.fenced(|conn, at| {
            held!(id, owner)
                .set((
                    m::parts_sent.eq(to_i32(parts_sent)),
                    m::sent_at.eq(at),
                    m::lease_expires_at.eq(later(at, lease)),
                ))
                .execute(conn)
        })
    }

    /// Finishes a message as `done`, with an optional note (e.g. why nothing was sent).
    pub fn complete(&self, id: i64, owner: &str, outcome: Option<&str>) -> Result<bool, DbError> {
        self.finishing(id, |conn, at| {
            held!(id, owner)
                .set((
                    m::status.eq(MessageStatus::Done.as_str()),
                    m::outcome.eq(outcome),
                    m::finished_at.eq(at),
                    m::lease_owner.eq(None::<String>),
                    m::lease_expires_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
        })
    }

    /// Puts a message back in the queue until `delay` has passed, keeping the error.
    pub fn retry_later(
        &self,
        id: i64,
        owner: &str,
        delay: Duration,
        stage: Stage,
        error: &str,
    ) -> Result<bool, DbError> {
        let at = self.db().now_naive();
        let due = later(at, delay);
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| {
                let held = held!(id, owner)
                    .set((
                        m::status.eq(MessageStatus::Queued.as_str()),
                        m::next_attempt_at.eq(due),
                        m::error_stage.eq(stage.as_str()),
                        m::error.eq(error),
                        m::lease_owner.eq(None::<String>),
                        m::lease_expires_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?
                    == 1;
                if held {
                    queues::reschedule(conn, &[id], due)?;
                }
                Ok(held)
            })
        })
    }

    /// Finishes a message as `failed` at `stage` with `error`.
    pub fn fail(&self, id: i64, owner: &str, stage: Stage, error: &str) -> Result<bool, DbError> {
        self.finishing(id, |conn, at| {
            held!(id, owner)
                .set((
                    m::status.eq(MessageStatus::Failed.as_str()),
                    m::error_stage.eq(stage.as_str()),
                    m::error.eq(error),
                    m::finished_at.eq(at),
                    m::lease_owner.eq(None::<String>),
                    m::lease_expires_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
        })
    }

    /// Hands back every message `owner` holds (on shutdown): they become ready at once.
    pub fn release(&self, owner: &str) -> Result<usize, DbError> {
        self.release_where(Some(owner))
    }

    /// Hands back every leased message, whoever holds it. Only safe when no other process
    /// uses the database (SQLite at start-up).
    pub fn release_all(&self) -> Result<usize, DbError> {
        self.release_where(None)
    }

    /// Hands back the messages `owner` holds (every holder's with `None`); their chats are
    /// due at once.
    fn release_where(&self, owner: Option<&str>) -> Result<usize, DbError> {
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| {
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
                Ok(diesel::update(m::messages.filter(m::id.eq_any(&ids)))
                    .set(released())
                    .execute(conn)?)
            })
        })
    }

    /// A fenced write that finishes message `id` (done or failed): when it applies, the next
    /// message of the chat becomes its head in the same transaction.
    fn finishing(
        &self,
        id: i64,
        write: impl FnOnce(&mut DbConn, NaiveDateTime) -> QueryResult<usize>,
    ) -> Result<bool, DbError> {
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| {
                let applied = write(conn, at)? == 1;
                if applied {
                    queues::advance(conn, id)?;
                }
                Ok(applied)
            })
        })
    }

    /// Runs a write that only applies while `owner` still holds the message's lease.
    fn fenced(
        &self,
        write: impl FnOnce(&mut DbConn, NaiveDateTime) -> QueryResult<usize>,
    ) -> Result<bool, DbError> {
        // The statement itself checks the lease (see `held!`): zero rows means it was lost.
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| Ok(write(conn, at)? == 1))
    }
}
