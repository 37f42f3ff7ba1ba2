//! Group commit for every write of the message log: webhooks hand their messages, the
//! dispatcher its claims and steps, to a few writer threads, which commit whatever has
//! queued up in one transaction and then answer every waiter. On SQLite one writer thread
//! means one writer: ingest and processing share commits instead of fighting for the lock.
//! Each waiter is answered only after its changes are committed.
//!
//! A row the database refuses for its content (a limit, a constraint) must not fail its
//! neighbours: when a shared transaction is refused, the writer applies each job alone (and
//! an insert's rows one by one), so only the offending change fails.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

use omnihub_db::{Arrived, Arriving, Change, Changed, Database, DbError};
use omnihub_domain::SkipReason;
use tokio::sync::oneshot;

use crate::write_health::WriteHealth;
use commits::write_loop;

mod commits;

/// Messages of one request, with the instance and rules each arrives under.
pub(crate) type Batch = Vec<Arriving>;

/// What a job gets back: per message for an insert, per change otherwise.
pub(crate) enum JobResult {
    Rows(Vec<Written>),
    Changes(Vec<Changed>),
}

pub(crate) type Job = (Vec<Change>, oneshot::Sender<Result<JobResult, DbError>>);

/// What became of one message handed to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Written {
    /// A new row, committed and queued for the agent.
    New,
    /// A new row, committed and joined to the burst waiting as this log id.
    Joined(i64),
    /// A new row, committed and not answered because of a rule.
    Skipped(SkipReason),
    /// A message typed on the instance's phone paused (`true`) or resumed its chat.
    Steered(bool),
    /// The instance already had this message id; nothing was written.
    Duplicate,
    /// The database refused this row for its content (the reason); the others were written.
    Refused(String),
}

impl From<Arrived> for Written {
    fn from(arrived: Arrived) -> Self {
        match arrived {
            Arrived::Queued => Self::New,
            Arrived::Joined(id) => Self::Joined(id),
            Arrived::Skipped(reason) => Self::Skipped(reason),
            Arrived::Paused => Self::Steered(true),
            Arrived::Resumed => Self::Steered(false),
            Arrived::Duplicate => Self::Duplicate,
        }
    }
}

/// Writes to the message log in shared transactions. Cheap to clone.
#[derive(Clone)]
pub(crate) struct LogWriter {
    jobs: Sender<Job>,
    health: Arc<WriteHealth>,
}

impl LogWriter {
    /// Starts `writers` threads, each with a connection of its own, committing up to
    /// `max_changes` changes (an insert counts its messages) per transaction.
    pub(crate) fn start(db: &Database, writers: usize, max_changes: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..writers.max(1) {
            // A connection that wrote last keeps its page cache, where a pool would hand out
            // connections whose caches are stale.
            let db = db.dedicated(1).map_err(std::io::Error::other)?;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("omnihub-log-writer-{i}"))
                .spawn(move || write_loop(&db, &queue, max_changes.max(1)))?;
        }
        Ok(Self {
            jobs,
            health: Arc::default(),
        })
    }

    /// The last commit failure, while no commit has succeeded since (and for at most
    /// [`crate::write_health::FAILURE_MEMORY`]).
    pub(crate) fn failing(&self) -> Option<String> {
        self.health.failing()
    }

    /// Forgets the last failure.
    pub(crate) fn cleared(&self) {
        self.health.record(None, true);
    }

    /// Commits `batch` and says what became of each message, in order. An error means
    /// nothing of `batch` was written and the database is not answering.
    pub(crate) async fn write(&self, batch: Batch) -> Result<Vec<Written>, DbError> {
        match self.submit(vec![Change::Insert(batch)]).await? {
            JobResult::Rows(written) => Ok(written),
            JobResult::Changes(_) => Ok(Vec::new()),
        }
    }

    /// Commits one change (a claim, a step of a claimed message) and says what it did.
    pub(crate) async fn change(&self, change: Change) -> Result<Changed, DbError> {
        match self.submit(vec![change]).await? {
            JobResult::Changes(mut changed) => changed.pop().ok_or_else(stopped),
            JobResult::Rows(_) => Err(stopped()),
        }
    }

    async fn submit(&self, changes: Vec<Change>) -> Result<JobResult, DbError> {
        let takes_messages = changes.iter().any(|c| matches!(c, Change::Insert(_)));
        let (reply, answer) = oneshot::channel();
        self.jobs.send((changes, reply)).map_err(|_| stopped())?;
        let result = answer.await.map_err(|_| stopped())?;
        self.health.record(result.as_ref().err(), takes_messages);
        result
    }
}

/// Where the dispatcher's changes go: the shared writer (the pipeline), or straight to the
/// database on the blocking pool (a [`crate::Dispatcher`] built on its own).
#[derive(Clone)]
pub(crate) enum Writes {
    /// Group commit with the webhooks.
    Shared(LogWriter),
    /// One transaction per change.
    Direct(Database),
}

impl Writes {
    /// Commits `change` and says what it did.
    pub(crate) async fn change(&self, change: Change) -> Result<Changed, DbError> {
        match self {
            Self::Shared(writer) => writer.change(change).await,
            Self::Direct(db) => {
                let worker = db.clone();
                tokio::task::spawn_blocking(move || worker.messages().apply(std::slice::from_ref(&change)))
                    .await
                    .map_err(|e| DbError::Unavailable {
                        url: db.url().to_string(),
                        reason: e.to_string(),
                    })?
                    .and_then(|mut changed| changed.pop().ok_or_else(stopped))
            }
        }
    }
}

pub(crate) fn stopped() -> DbError {
    DbError::Unavailable {
        url: "message log".into(),
        reason: "the log writer stopped".into(),
    }
}

#[cfg(test)]
mod tests {
    use omnihub_db::DatabaseUrl;
    use omnihub_test_support::{InstanceBuilder, TestDb};

    use omnihub_domain::{InboundMessage, InstanceName};

    use super::*;

    omnihub_test_support::on_both_engines!(async: a_refused_row_is_refused_alone_and_its_batch_committed);

    fn message(id: &str, author: Option<String>) -> InboundMessage {
        InboundMessage {
            author,
            ..omnihub_test_support::text_message(id, "120363000000@g.us", "hi")
        }
    }

    async fn a_refused_row_is_refused_alone_and_its_batch_committed(test_db: &TestDb) {
        let db = Database::connect(&DatabaseUrl::parse(test_db.url()).unwrap()).unwrap();
        db.migrate().unwrap();
        db.instances()
            .create(&InstanceBuilder::new("shop").input().validate().unwrap())
            .unwrap();
        let writer = LogWriter::start(&db, 1, 512).unwrap();
        let shop = InstanceName::parse("shop").unwrap();
        let too_long = Some(format!("{}@lid", "7".repeat(300)));
        let batch = [
            message("A", None),
            message("B", too_long),
            message("A", None),
            message("C", Some("1@lid".into())),
        ]
        .into_iter()
        .map(|m| Arriving::unruled(shop.clone(), m))
        .collect();
        let written = writer.write(batch).await.unwrap();
        assert_eq!(written[0], Written::New);
        assert!(
            matches!(&written[1], Written::Refused(reason) if !reason.is_empty()),
            "{written:?}"
        );
        assert_eq!(written[2..], [Written::Duplicate, Written::New]);
        let stored = db.messages().count_by_status().unwrap();
        assert_eq!(stored, [(omnihub_domain::MessageStatus::Queued, 2)]);
    }
}
