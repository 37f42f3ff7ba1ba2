//! Changes to the message log as values, so a writer can commit many of them (webhooks'
//! inserts, dispatchers' claims and steps) in one transaction: [`MessageStore::apply`].
//! The single-change methods (`claim`, `complete`, …) are the same code, one at a time.

use std::time::Duration;

use omnihub_domain::{MessageRecord, Stage};

use crate::arrivals::{arrive_in, Arrived, Arriving};
use crate::conn::{write_tx, DbConn};
use crate::database::with_conn;
use crate::error::write_error;
use crate::message_lease::{self as step, Reply};
use crate::messages::{ClaimRequest, MessageStore};
use crate::queues::claim_in;
use crate::{DbError, StateUpdate};

/// One change of the message log.
#[derive(Debug, Clone)]
pub enum Change {
    /// Take in arriving messages under their rules (a duplicate message id is skipped).
    Insert(Vec<Arriving>),
    /// Claim ready chat heads under a lease.
    Claim(ClaimRequest),
    /// Store the agent's answer of `id` in `parts_total` parts, with the conversation state.
    SaveReply {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// The answer.
        reply: String,
        /// Parts it will be sent in.
        parts_total: u32,
        /// Lease from now.
        lease: Duration,
        /// The conversation's new state, if it changed.
        state: Option<StateUpdate>,
        /// A note kept on the message (e.g. that the reply was cut to the limits).
        note: Option<String>,
    },
    /// Parts up to `parts_sent` of `id` were sent.
    PartSent {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// Parts sent so far.
        parts_sent: u32,
        /// Lease from now.
        lease: Duration,
    },
    /// `id` is done, with an optional note.
    Complete {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// Why nothing was sent, when nothing was.
        outcome: Option<String>,
        /// When the last part was just sent: all parts (recorded with the completion, one
        /// write instead of two).
        parts_sent: Option<u32>,
    },
    /// `id` goes back to the queue for `delay` after a transient failure.
    RetryLater {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// Backoff.
        delay: Duration,
        /// Where it failed.
        stage: Stage,
        /// Why.
        error: String,
    },
    /// `id` waits `delay` for its instance's number to be connected (the claim's attempt is
    /// given back; `held_since` is set on the first hold).
    Hold {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// When to look again (a report that the number is `open` releases it sooner).
        delay: Duration,
        /// Why it waits.
        reason: String,
    },
    /// `id` waits `delay` for its number's next send slot (pacing); the claim's attempt is
    /// given back.
    Pace {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// Until the slot.
        delay: Duration,
    },
    /// `id` failed for good.
    Fail {
        /// Log id.
        id: i64,
        /// Lease owner.
        owner: String,
        /// Where it failed.
        stage: Stage,
        /// Why.
        error: String,
    },
}

/// What a [`Change`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// For each message of an insert, in order, what became of it.
    Inserted(Vec<Arrived>),
    /// The claimed messages.
    Claimed(Vec<MessageRecord>),
    /// Whether a fenced step applied (false: the lease was lost).
    Applied(bool),
}

impl MessageStore<'_> {
    /// Applies `changes` in one transaction, in order; for each, what it did. When the
    /// database refuses one for its content the whole transaction is rolled back and the
    /// error is [`DbError::Refused`], so the caller can apply them one by one to find it.
    pub fn apply(&self, changes: &[Change]) -> Result<Vec<Changed>, DbError> {
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| {
                changes.iter().map(|change| apply_one(conn, at, change)).collect()
            })
        })
    }

    /// Applies one fenced step; whether it applied.
    pub(crate) fn step(&self, change: Change) -> Result<bool, DbError> {
        match self.apply(std::slice::from_ref(&change))?.pop() {
            Some(Changed::Applied(applied)) => Ok(applied),
            _ => Ok(false),
        }
    }
}

fn apply_one(conn: &mut DbConn, at: chrono::NaiveDateTime, change: &Change) -> Result<Changed, DbError> {
    let applied = |result: diesel::QueryResult<bool>| result.map(Changed::Applied).map_err(write_error);
    match change {
        Change::Insert(batch) => arrive_in(conn, at, batch).map(Changed::Inserted),
        Change::Claim(request) => claim_in(conn, at, request).map(Changed::Claimed),
        Change::SaveReply {
            id,
            owner,
            reply,
            parts_total,
            lease,
            state,
            note,
        } => {
            let reply = Reply {
                text: reply,
                parts_total: *parts_total,
                state: state.as_ref(),
                note: note.as_deref(),
            };
            step::save_reply(conn, at, *id, owner, &reply, *lease).map(Changed::Applied)
        }
        Change::PartSent {
            id,
            owner,
            parts_sent,
            lease,
        } => applied(step::part_sent(conn, at, *id, owner, *parts_sent, *lease)),
        Change::Complete {
            id,
            owner,
            outcome,
            parts_sent,
        } => applied(step::complete(
            conn,
            at,
            *id,
            owner,
            outcome.as_deref(),
            *parts_sent,
        )),
        Change::RetryLater {
            id,
            owner,
            delay,
            stage,
            error,
        } => applied(step::retry_later(conn, at, *id, owner, *delay, (*stage, error))),
        Change::Hold {
            id,
            owner,
            delay,
            reason,
        } => applied(step::hold(conn, at, *id, owner, *delay, reason)),
        Change::Pace { id, owner, delay } => applied(step::pace(conn, at, *id, owner, *delay)),
        Change::Fail {
            id,
            owner,
            stage,
            error,
        } => applied(step::fail(conn, at, *id, owner, (*stage, error))),
    }
}

/// The single-change conveniences, for tests, tools and callers without a writer.
impl MessageStore<'_> {
    /// Stores the agent's answer and how many parts it will be sent in (with the
    /// conversation's new state, in the same transaction), and holds the lease.
    pub fn save_reply(
        &self,
        id: i64,
        owner: &str,
        reply: &str,
        parts_total: u32,
        lease: Duration,
        state: Option<&StateUpdate>,
    ) -> Result<bool, DbError> {
        self.step(Change::SaveReply {
            id,
            owner: owner.to_owned(),
            reply: reply.to_owned(),
            parts_total,
            lease,
            state: state.cloned(),
            note: None,
        })
    }

    /// Records that parts up to `parts_sent` reached Evolution and holds the lease.
    pub fn part_sent(&self, id: i64, owner: &str, parts_sent: u32, lease: Duration) -> Result<bool, DbError> {
        let owner = owner.to_owned();
        self.step(Change::PartSent {
            id,
            owner,
            parts_sent,
            lease,
        })
    }

    /// Finishes a message as `done`, with an optional note (e.g. why nothing was sent).
    pub fn complete(&self, id: i64, owner: &str, outcome: Option<&str>) -> Result<bool, DbError> {
        let (owner, outcome) = (owner.to_owned(), outcome.map(str::to_owned));
        self.step(Change::Complete {
            id,
            owner,
            outcome,
            parts_sent: None,
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
        let (owner, error) = (owner.to_owned(), error.to_owned());
        self.step(Change::RetryLater {
            id,
            owner,
            delay,
            stage,
            error,
        })
    }

    /// Finishes a message as `failed` at `stage` with `error`.
    pub fn fail(&self, id: i64, owner: &str, stage: Stage, error: &str) -> Result<bool, DbError> {
        let (owner, error) = (owner.to_owned(), error.to_owned());
        self.step(Change::Fail {
            id,
            owner,
            stage,
            error,
        })
    }

    /// Hands back every message `owner` holds (on shutdown): they become ready at once.
    pub fn release(&self, owner: &str) -> Result<usize, DbError> {
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| Ok(step::release(conn, at, Some(owner))?))
        })
    }

    /// Hands back every leased message, whoever holds it. Only safe when no other process
    /// uses the database (SQLite at start-up).
    pub fn release_all(&self) -> Result<usize, DbError> {
        let at = self.db().now_naive();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| Ok(step::release(conn, at, None)?))
        })
    }
}
