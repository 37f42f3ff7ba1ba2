//! The writer threads' side of the group commit: collect queued jobs up to a weight, commit
//! them in one transaction (inserts merged and sorted so concurrent writers lock rows in one
//! order), and when the database refuses the shared transaction, apply each job alone.

use std::sync::mpsc::Receiver;
use std::sync::Mutex;

use omnihub_db::{Change, Changed, Database, DbError, Engine};

use super::{Job, JobResult, Written};

/// How much a change weighs in a shared transaction.
fn weight(change: &Change) -> usize {
    match change {
        Change::Insert(batch) => batch.len().max(1),
        _ => 1,
    }
}

pub(super) fn write_loop(db: &Database, queue: &Mutex<Receiver<Job>>, max_changes: usize) {
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
            let Some(Changed::Inserted(outcomes)) = changed.pop() else {
                return;
            };
            let mut outcomes = outcomes.into_iter();
            for (size, waiter) in waiters {
                let written = outcomes.by_ref().take(size).map(Written::from).collect();
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
        ([Change::Insert(_)], [Changed::Inserted(outcomes)]) => {
            JobResult::Rows(outcomes.iter().copied().map(Written::from).collect())
        }
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
            .map(|row| match db.messages().arrive(vec![row.clone()]) {
                Ok(outcomes) => Ok(outcomes.first().copied().map_or(Written::Duplicate, Written::from)),
                Err(DbError::Refused(reason)) => {
                    tracing::warn!(instance = %row.instance, message_id = %row.message.message_id, reason = %reason, "the database refused a message");
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
