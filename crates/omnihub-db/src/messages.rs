//! The message log: accepting messages exactly once and moving them through their life
//! under leases. Every write that follows a claim is fenced by the lease owner, so a
//! dispatcher whose lease expired cannot overwrite the work of the one that took over.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use omnihub_domain::{InboundMessage, InstanceName, MessageRecord, MessageStatus};

use crate::arrivals::{Arrived, Arriving};
use crate::changes::{Change, Changed};
use crate::conn::{write_tx, DbConn};
use crate::database::with_conn;
use crate::message_rows::MessageRow;
use crate::schema::messages::dsl as m;
use crate::{queues, Database, DbError};

/// What accepting a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new row with this log id; it is committed.
    Accepted(i64),
    /// The instance already has this message id: nothing was written.
    Duplicate,
}

/// What a claim may take.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Who claims (unique per process).
    pub owner: String,
    /// How long the lease lasts before another dispatcher may take the message over.
    pub lease: Duration,
    /// Most messages to claim.
    pub limit: usize,
    /// Per instance, how many more messages may be claimed; instances not listed take none.
    /// `None` means no per-instance limit.
    pub capacity: Option<Vec<(String, usize)>>,
    /// Per instance, a longer lease (its agent timeout plus `lease`), so the agent call needs
    /// no separate lease extension; instances not listed get `lease`.
    pub leases: Vec<(String, Duration)>,
}

/// Filters for listing the log; all optional.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only this instance.
    pub instance: Option<String>,
    /// Only this chat (the JID a message came from, or its chat key).
    pub chat: Option<String>,
    /// Only this status.
    pub status: Option<MessageStatus>,
    /// Only messages received at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Most rows (newest first).
    pub limit: i64,
}

/// The message log. Obtained from [`Database::messages`].
#[derive(Debug, Clone, Copy)]
pub struct MessageStore<'a> {
    db: &'a Database,
}

pub(crate) fn later(base: NaiveDateTime, by: Duration) -> NaiveDateTime {
    base + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
}

pub(crate) fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl<'a> MessageStore<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    pub(crate) fn db(&self) -> &'a Database {
        self.db
    }

    /// Accepts `message` for `instance`: one committed row, or `Duplicate` when the
    /// instance already logged that message id.
    pub fn insert(
        &self,
        instance: &InstanceName,
        message: &InboundMessage,
    ) -> Result<InsertOutcome, DbError> {
        // The same path as a batch (the address book, the queue), with the log id read back.
        let arriving = Arriving::unruled(instance.clone(), message.clone());
        let at = self.db.now_naive();
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                match crate::arrivals::arrive_in(conn, at, std::slice::from_ref(&arriving))?.first() {
                    Some(Arrived::Duplicate) | None => Ok(InsertOutcome::Duplicate),
                    Some(_) => Ok(InsertOutcome::Accepted(id_of(
                        conn,
                        instance.as_str(),
                        &message.message_id,
                    )?)),
                }
            })
        })
    }

    /// Accepts several messages in one transaction (one commit for all, however many
    /// requests they came from). For each, in order: true when it is new, false when the
    /// instance already had that message id.
    ///
    /// When the database refuses a row for its content the whole batch is rolled back and
    /// the error is [`DbError::Refused`]; the caller can then write the rows one by one to
    /// find it, knowing the database itself is working.
    pub fn insert_batch(&self, batch: &[(InstanceName, InboundMessage)]) -> Result<Vec<bool>, DbError> {
        let arriving = batch
            .iter()
            .map(|(instance, message)| Arriving::unruled(instance.clone(), message.clone()))
            .collect();
        Ok(self
            .arrive(arriving)?
            .into_iter()
            .map(|arrived| arrived != Arrived::Duplicate)
            .collect())
    }

    /// Takes in arriving messages in one transaction under their instances' conversation
    /// rules; for each, in order, what became of it. Errors as [`MessageStore::insert_batch`].
    pub fn arrive(&self, batch: Vec<Arriving>) -> Result<Vec<Arrived>, DbError> {
        match self.apply(&[Change::Insert(batch)])?.pop() {
            Some(Changed::Inserted(outcomes)) => Ok(outcomes),
            _ => Ok(Vec::new()),
        }
    }

    /// Claims ready chat heads under a lease (soonest due first), honouring per-instance
    /// capacity.
    pub fn claim(&self, request: &ClaimRequest) -> Result<Vec<MessageRecord>, DbError> {
        match self.apply(&[Change::Claim(request.clone())])?.pop() {
            Some(Changed::Claimed(records)) => Ok(records),
            _ => Ok(Vec::new()),
        }
    }

    /// Queues a failed message again (agent or send resumes where it stopped).
    pub fn requeue(&self, id: i64) -> Result<MessageRecord, DbError> {
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                let record = get(conn, id)?;
                if record.status != MessageStatus::Failed {
                    return Err(DbError::Conflict(format!(
                        "message {id} is {}; only failed messages can be retried",
                        record.status.as_str()
                    )));
                }
                diesel::update(m::messages.find(id))
                    .set(requeued(self.db.now_naive()))
                    .execute(conn)?;
                queues::refresh(conn, &record.instance, &record.chat_key)?;
                get(conn, id)
            })
        })
    }

    /// Queues every failed message again (of one instance, or all); returns how many.
    pub fn requeue_failed(&self, instance: Option<&InstanceName>) -> Result<usize, DbError> {
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                let mut chats = m::messages
                    .filter(m::status.eq(MessageStatus::Failed.as_str()))
                    .select((m::instance_name, m::chat_key))
                    .distinct()
                    .into_boxed();
                let mut query = diesel::update(m::messages)
                    .filter(m::status.eq(MessageStatus::Failed.as_str()))
                    .into_boxed();
                if let Some(instance) = instance {
                    chats = chats.filter(m::instance_name.eq(instance.as_str()));
                    query = query.filter(m::instance_name.eq(instance.as_str()));
                }
                let chats: Vec<(String, String)> = chats.load(conn)?;
                let requeued = query.set(requeued(self.db.now_naive())).execute(conn)?;
                for (instance, chat) in chats {
                    queues::refresh(conn, &instance, &chat)?;
                }
                Ok(requeued)
            })
        })
    }

    /// One message by log id.
    pub fn get(&self, id: i64) -> Result<MessageRecord, DbError> {
        with_conn(self.db, |conn| get(conn, id))
    }

    /// Messages matching `filter`, newest first.
    pub fn list(&self, filter: &MessageFilter) -> Result<Vec<MessageRecord>, DbError> {
        with_conn(self.db, |conn| {
            let mut query = m::messages.into_boxed();
            if let Some(instance) = &filter.instance {
                query = query.filter(m::instance_name.eq(instance.clone()));
            }
            if let Some(chat) = &filter.chat {
                query = query.filter(m::chat_id.eq(chat.clone()).or(m::chat_key.eq(chat.clone())));
            }
            if let Some(status) = filter.status {
                query = query.filter(m::status.eq(status.as_str()));
            }
            if let Some(since) = filter.since {
                query = query.filter(m::received_at.ge(since.naive_utc()));
            }
            load(conn, query.order(m::id.desc()).limit(filter.limit.max(0)))
        })
    }

    /// How many messages are in each status.
    pub fn count_by_status(&self) -> Result<Vec<(MessageStatus, i64)>, DbError> {
        with_conn(self.db, |conn| {
            let rows: Vec<(String, i64)> = m::messages
                .group_by(m::status)
                .select((m::status, diesel::dsl::count_star()))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .filter_map(|(s, n)| s.parse().ok().map(|s| (s, n)))
                .collect())
        })
    }

    /// Deletes finished (`done`/`failed`/`skipped`) messages received before `cutoff`; returns how many.
    pub fn delete_finished_before(&self, cutoff: DateTime<Utc>) -> Result<usize, DbError> {
        with_conn(self.db, |conn| {
            Ok(diesel::delete(
                m::messages
                    .filter(m::status.eq_any([
                        MessageStatus::Done.as_str(),
                        MessageStatus::Failed.as_str(),
                        MessageStatus::Skipped.as_str(),
                    ]))
                    .filter(m::received_at.lt(cutoff.naive_utc())),
            )
            .execute(conn)?)
        })
    }
}

/// The log id of a row just inserted (RETURNING does not compile through MultiConnection).
/// The log id of message `message_id` of `instance`.
pub(crate) fn id_of(conn: &mut DbConn, instance: &str, message_id: &str) -> QueryResult<i64> {
    m::messages
        .filter(m::instance_name.eq(instance))
        .filter(m::message_id.eq(message_id))
        .select(m::id)
        .first(conn)
}

type Requeued = (
    diesel::dsl::Eq<m::status, &'static str>,
    diesel::dsl::Eq<m::attempts, i32>,
    diesel::dsl::Eq<m::next_attempt_at, NaiveDateTime>,
    diesel::dsl::Eq<m::finished_at, Option<NaiveDateTime>>,
);

/// Back to the queue, due now, with a fresh attempt budget.
fn requeued(at: NaiveDateTime) -> Requeued {
    (
        m::status.eq(MessageStatus::Queued.as_str()),
        m::attempts.eq(0),
        m::next_attempt_at.eq(at),
        m::finished_at.eq(None),
    )
}

fn get(conn: &mut DbConn, id: i64) -> Result<MessageRecord, DbError> {
    load(conn, m::messages.filter(m::id.eq(id)).into_boxed())?
        .pop()
        .ok_or_else(|| DbError::NotFound {
            entity: "message",
            key: id.to_string(),
        })
}

pub(crate) fn load(
    conn: &mut DbConn,
    query: crate::schema::messages::BoxedQuery<'_, <DbConn as diesel::Connection>::Backend>,
) -> Result<Vec<MessageRecord>, DbError> {
    query
        .select(MessageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(MessageRecord::try_from)
        .collect()
}
