//! Group commit for every write of the message log: webhooks hand their messages, the
//! dispatcher its claims and steps, to a few writer threads, which commit whatever has
//! queued up in one transaction and then answer every waiter. On SQLite one writer thread
//! means one writer: ingest and processing share commits instead of fighting for the lock.
//! Each waiter is answered only after its changes are committed.
//!
//! A row the database refuses for its content (a limit, a constraint) must not fail its
//! neighbours: when a shared transaction is refused, the writer applies each job alone (and
//! an insert's rows one by one), so only the offending change fails.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::write_health::WriteHealth;
use omnihub_db::{Change, Changed, Database, DbError, Engine};
use omnihub_domain::{InboundMessage, InstanceName};
use tokio::sync::oneshot;

/// Messages of one request, with the instance each belongs to.
pub(crate) type Batch = Vec<(InstanceName, InboundMessage)>;

/// What a job gets back: per message for an insert, per change otherwise.
enum JobResult {
    Rows(Vec<Written>),
    Changes(Vec<Changed>),
}

type Job = (Vec<Change>, oneshot::Sender<Result<JobResult, DbError>>);

/// What became of one message handed to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Written {
    /// A new row, committed.
    New,
    /// The instance already had this message id; nothing was written.
    Duplicate,
    /// The database refused this row for its content (the reason); the others were written.
    Refused(String),
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

fn stopped() -> DbError {
    DbError::Unavailable {
        url: "message log".into(),
        reason: "the log writer stopped".into(),
    }
}

/// How much a change weighs in a shared transaction.
fn weight(change: &Change) -> usize {
    match change {
        Change::Insert(batch) => batch.len().max(1),
        _ => 1,
    }
}

fn write_loop(db: &Database, queue: &Mutex<Receiver<Job>>, max_changes: usize) {
    loop {
        // Hold the queue only while collecting, so another writer can collect the next batch
        // while this one commits.
        let jobs = {
            let queue = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Ok(first) = queue.recv() else { return };
            let mut weight_so_far: usize = first.0.iter().map(weight).sum();
            let mut jobs = vec![first];
            while weight_so_far < max_changes {
                match queue.try_recv() {
                    Ok(job) => {
                        weight_so_far += job.0.iter().map(weight).sum::<usize>();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        // The dispatcher's changes first, in a small transaction of their own: a message in
        // flight waits for one short commit, not for a batch of webhooks' inserts.
        let (dispatch, inserts): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|(changes, _)| !changes.iter().any(|c| matches!(c, Change::Insert(_))));
        if db.engine() == Engine::Postgres {
            // One change per transaction: a dispatcher change locks at most one chat's queue
            // row while it waits, so it can never close a deadlock cycle with the inserts.
            for job in dispatch {
                commit(db, vec![job]);
            }
        } else if !dispatch.is_empty() {
            commit(db, dispatch);
        }
        if !inserts.is_empty() {
            commit_inserts(db, inserts);
        }
    }
}

/// Several webhooks' inserts in one transaction as one insert (so all their rows are written
/// in one sorted order), each webhook answered with its slice; when that fails, as separate
/// jobs (refused rows found row by row).
fn commit_inserts(db: &Database, jobs: Vec<Job>) {
    let mut rows = Vec::new();
    let mut waiters = Vec::new();
    for (changes, reply) in jobs {
        let before = rows.len();
        for change in changes {
            if let Change::Insert(batch) = change {
                rows.extend(batch);
            }
        }
        waiters.push((rows.len() - before, reply));
    }
    let merged = [Change::Insert(rows)];
    match db.messages().apply(&merged) {
        Ok(mut changed) => {
            let Some(Changed::Inserted(flags)) = changed.pop() else {
                return;
            };
            let mut flags = flags.into_iter();
            for (size, waiter) in waiters {
                let written = flags
                    .by_ref()
                    .take(size)
                    .map(|new| if new { Written::New } else { Written::Duplicate })
                    .collect();
                let _ = waiter.send(Ok(JobResult::Rows(written)));
            }
        }
        Err(err) if err.is_refused() || err.is_contention() => {
            tracing::warn!(error = %err, "a shared commit failed; applying the webhooks one by one");
            let [Change::Insert(rows)] = &merged else { return };
            let mut rest = rows.as_slice();
            for (size, waiter) in waiters {
                let (mine, after) = rest.split_at(size);
                rest = after;
                let _ = waiter.send(apply_alone(db, &[Change::Insert(mine.to_vec())]));
            }
        }
        Err(err) => {
            let reason = err.to_string();
            tracing::warn!(error = %reason, "cannot commit to the message log; every waiter is told");
            for (_, waiter) in waiters {
                let _ = waiter.send(Err(DbError::Unavailable {
                    url: db.url().to_string(),
                    reason: reason.clone(),
                }));
            }
        }
    }
}

/// Commits `jobs` in one transaction and answers each (job by job when that fails).
fn commit(db: &Database, jobs: Vec<Job>) {
    let (changes, replies): (Vec<Vec<Change>>, Vec<_>) = jobs.into_iter().unzip();
    let sizes: Vec<usize> = changes.iter().map(Vec::len).collect();
    // Moved, not cloned: bodies with base64 media can be large.
    let all: Vec<Change> = changes.into_iter().flatten().collect();
    match db.messages().apply(&all) {
        Ok(results) => {
            let mut results = results.into_iter();
            let mut rest = all.as_slice();
            for (reply, size) in replies.into_iter().zip(sizes) {
                let (mine, after) = rest.split_at(size);
                rest = after;
                let changed: Vec<Changed> = results.by_ref().take(size).collect();
                let _ = reply.send(Ok(shape(mine, changed)));
            }
        }
        Err(err) if err.is_refused() || err.is_contention() => {
            tracing::warn!(error = %err, changes = all.len(), "a shared commit failed; applying the batch job by job");
            let mut rest = all.as_slice();
            for (reply, size) in replies.into_iter().zip(sizes) {
                let (mine, after) = rest.split_at(size);
                rest = after;
                let _ = reply.send(apply_alone(db, mine));
            }
        }
        Err(err) => {
            let reason = err.to_string();
            tracing::warn!(error = %reason, changes = all.len(), "cannot commit to the message log; every waiter is told");
            for reply in replies {
                let _ = reply.send(Err(DbError::Unavailable {
                    url: db.url().to_string(),
                    reason: reason.clone(),
                }));
            }
        }
    }
}

/// An insert's flags as per-message outcomes; other changes as they are.
fn shape(changes: &[Change], changed: Vec<Changed>) -> JobResult {
    match (changes, changed.as_slice()) {
        ([Change::Insert(_)], [Changed::Inserted(flags)]) => JobResult::Rows(
            flags
                .iter()
                .map(|new| if *new { Written::New } else { Written::Duplicate })
                .collect(),
        ),
        _ => JobResult::Changes(changed),
    }
}

/// One job in its own transaction (twice if it only collided with another transaction); an
/// insert that is refused is retried row by row, so only the refused rows are refused.
fn apply_alone(db: &Database, changes: &[Change]) -> Result<JobResult, DbError> {
    let mut outcome = db.messages().apply(changes);
    if outcome.as_ref().is_err_and(DbError::is_contention) {
        outcome = db.messages().apply(changes);
    }
    match (outcome, changes) {
        (Ok(changed), _) => Ok(shape(changes, changed)),
        (Err(DbError::Refused(_)), [Change::Insert(rows)]) => rows
            .iter()
            .map(|row| match db.messages().insert_batch(std::slice::from_ref(row)) {
                Ok(flags) if flags.first() == Some(&true) => Ok(Written::New),
                Ok(_) => Ok(Written::Duplicate),
                Err(DbError::Refused(reason)) => {
                    tracing::warn!(instance = %row.0, message_id = %row.1.message_id, reason = %reason, "the database refused a message");
                    Ok(Written::Refused(reason))
                }
                Err(err) => Err(err),
            })
            .collect::<Result<_, _>>()
            .map(JobResult::Rows),
        // Still colliding: the sender retries (a webhook gets 503), nothing is refused.
        (Err(DbError::Contention(reason)), _) => Err(DbError::Unavailable {
            url: db.url().to_string(),
            reason,
        }),
        (Err(err), _) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use omnihub_db::DatabaseUrl;
    use omnihub_test_support::{InstanceBuilder, TestDb};

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
        let batch = vec![
            (shop.clone(), message("A", None)),
            (shop.clone(), message("B", too_long)),
            (shop.clone(), message("A", None)),
            (shop.clone(), message("C", Some("1@lid".into()))),
        ];
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
