//! Group commit for the webhook path: concurrent requests hand their messages to a few
//! writer threads, which commit whatever has queued up in one transaction and then answer
//! every request. Each request is still answered only after its rows are committed.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use omnihub_db::{Database, DbError, PoolOptions};
use omnihub_domain::{InboundMessage, InstanceName};
use tokio::sync::oneshot;

type Batch = Vec<(InstanceName, InboundMessage)>;
type Job = (Batch, oneshot::Sender<Result<Vec<bool>, DbError>>);

/// Writes messages to the log in shared transactions. Cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    jobs: Sender<Job>,
}

impl LogWriter {
    /// Starts `writers` threads (one suits SQLite, which has one writer anyway; a few suit
    /// PostgreSQL), each committing up to `max_rows` messages per transaction.
    pub fn start(db: Database, writers: usize, max_rows: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..writers.max(1) {
            // Each writer keeps one connection of its own: a connection that wrote last keeps
            // its page cache, where a pool would hand out connections whose caches are stale.
            let options = PoolOptions {
                max_connections: 1,
                ..PoolOptions::for_engine(db.engine())
            };
            let db = Database::connect_with(db.url(), options).map_err(std::io::Error::other)?;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("omnihub-log-writer-{i}"))
                .spawn(move || write_loop(&db, &queue, max_rows.max(1)))?;
        }
        Ok(Self { jobs })
    }

    /// Commits `batch` (with whatever other requests queued meanwhile) and says, for each
    /// message in order, whether it was new (true) or a repeat delivery (false).
    pub async fn write(&self, batch: Batch) -> Result<Vec<bool>, DbError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || DbError::Unavailable {
            url: "message log".into(),
            reason: "the log writer stopped".into(),
        };
        self.jobs.send((batch, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn write_loop(db: &Database, queue: &Mutex<Receiver<Job>>, max_rows: usize) {
    loop {
        // Hold the queue only while collecting, so another writer can collect the next batch
        // while this one commits.
        let jobs = {
            let queue = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Ok(first) = queue.recv() else { return };
            let mut rows = first.0.len();
            let mut jobs = vec![first];
            while rows < max_rows {
                match queue.try_recv() {
                    Ok(job) => {
                        rows += job.0.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        let (batches, replies): (Vec<Batch>, Vec<_>) = jobs.into_iter().unzip();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        let all: Batch = batches.into_iter().flatten().collect();
        match db.messages().insert_batch(&all) {
            Ok(flags) => {
                let mut flags = flags.into_iter();
                for (reply, size) in replies.into_iter().zip(sizes) {
                    let _ = reply.send(Ok(flags.by_ref().take(size).collect()));
                }
            }
            Err(err) => {
                let reason = err.to_string();
                tracing::warn!(error = %reason, messages = all.len(), "cannot commit webhooks; answering 503");
                for reply in replies {
                    let _ = reply.send(Err(DbError::Unavailable {
                        url: db.url().to_string(),
                        reason: reason.clone(),
                    }));
                }
            }
        }
    }
}
