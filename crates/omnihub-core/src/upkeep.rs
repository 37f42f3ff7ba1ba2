//! Background upkeep: deleting finished messages older than the retention period, and
//! keeping SQLite's write-ahead log short.

use std::time::Duration;

use omnihub_db::Database;

use crate::error::blocking;

/// Every hour (and once at start), deletes `done` and `failed` messages received more than
/// `days` ago, until `shutdown` turns true. Unfinished messages are never deleted.
pub(crate) async fn purge_every_hour(
    db: Database,
    days: u32,
    mut shutdown: tokio::sync::watch::Receiver<Option<Duration>>,
) {
    loop {
        let cutoff = db.now() - chrono_days(days);
        match blocking(&db, move |db| db.messages().delete_finished_before(cutoff)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "deleted finished messages past retention"),
            Err(err) => tracing::warn!(error = %err, "retention cleanup failed; will try again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn chrono_days(days: u32) -> chrono::Duration {
    chrono::Duration::days(i64::from(days))
}

/// Keeps SQLite's write-ahead log short in the background (every 250 ms), so commits on the
/// webhook path never stop to copy it into the database file.
pub(crate) async fn checkpoint_wal(db: Database, mut stop: tokio::sync::watch::Receiver<Option<Duration>>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
        if let Err(err) = blocking(&db, |db| db.checkpoint()).await {
            tracing::warn!(error = %err, "WAL checkpoint failed; will try again");
        }
    }
}
