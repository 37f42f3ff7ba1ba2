//! Group commit for the webhook path: concurrent requests hand their messages to a few
//! writer threads, which commit whatever has queued up in one transaction and then answer
//! every request. Each request is still answered only after its rows are committed.
//!
//! A row the database refuses for its content (a limit, a constraint) must not fail its
//! neighbours: when a shared transaction is refused, the writer commits the rows one by one,
//! so only the offending row is refused and every other request is answered as usual.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use omnihub_db::{Database, DbError};
use omnihub_domain::{InboundMessage, InstanceName};
use tokio::sync::oneshot;

/// Messages of one request, with the instance each belongs to.
pub(crate) type Batch = Vec<(InstanceName, InboundMessage)>;
type Job = (Batch, oneshot::Sender<Result<Vec<Written>, DbError>>);

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

/// Writes messages to the log in shared transactions. Cheap to clone.
#[derive(Clone)]
pub(crate) struct LogWriter {
    jobs: Sender<Job>,
}

impl LogWriter {
    /// Starts `writers` threads, each with a connection of its own, committing up to
    /// `max_rows` messages per transaction.
    pub(crate) fn start(db: &Database, writers: usize, max_rows: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..writers.max(1) {
            // A connection that wrote last keeps its page cache, where a pool would hand out
            // connections whose caches are stale.
            let db = db.dedicated(1).map_err(std::io::Error::other)?;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("omnihub-log-writer-{i}"))
                .spawn(move || write_loop(&db, &queue, max_rows.max(1)))?;
        }
        Ok(Self { jobs })
    }

    /// Commits `batch` (with whatever other requests queued meanwhile) and says what became
    /// of each message, in order. An error means nothing of `batch` was written and the
    /// database is not answering.
    pub(crate) async fn write(&self, batch: Batch) -> Result<Vec<Written>, DbError> {
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
        // Moved, not cloned: bodies with base64 media can be large.
        let all: Batch = batches.into_iter().flatten().collect();
        match db.messages().insert_batch(&all) {
            Ok(flags) => {
                let mut flags = flags.into_iter();
                for (reply, size) in replies.into_iter().zip(sizes) {
                    let written = flags
                        .by_ref()
                        .take(size)
                        .map(|new| if new { Written::New } else { Written::Duplicate })
                        .collect();
                    let _ = reply.send(Ok(written));
                }
            }
            Err(err) if err.is_refused() => {
                tracing::warn!(error = %err, messages = all.len(), "a row was refused; committing the batch row by row");
                let mut rest = all.as_slice();
                for (reply, size) in replies.into_iter().zip(sizes) {
                    let (rows, after) = rest.split_at(size);
                    rest = after;
                    let _ = reply.send(write_one_by_one(db, rows));
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

/// Each row in its own transaction: the refused ones are reported, the others committed.
/// Stops at the first failure that is not a refusal (the database went away).
fn write_one_by_one(db: &Database, rows: &[(InstanceName, InboundMessage)]) -> Result<Vec<Written>, DbError> {
    rows
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
        .collect()
}

#[cfg(test)]
mod tests {
    use omnihub_db::DatabaseUrl;
    use omnihub_domain::{MessageContent, MessageKind};
    use omnihub_test_support::{InstanceBuilder, TestDb};

    use super::*;

    omnihub_test_support::on_both_engines!(async: a_refused_row_is_refused_alone_and_its_batch_committed);

    fn message(id: &str, author: Option<String>) -> InboundMessage {
        InboundMessage {
            message_id: id.into(),
            chat_id: "120363000000@g.us".into(),
            author,
            sender_name: None,
            phone: None,
            timestamp: None,
            content: MessageContent {
                kind: MessageKind::Text,
                text: "hi".into(),
                quoted: None,
                media: None,
            },
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
