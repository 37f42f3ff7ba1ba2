//! Deleting finished messages older than the retention period.

use std::time::Duration;

use omnihub_db::Database;

use crate::error::blocking;

/// Every hour (and once at start), deletes `done` and `failed` messages received more than
/// `days` ago, until `shutdown` turns true. Unfinished messages are never deleted.
pub async fn purge_every_hour(db: Database, days: u32, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let cutoff = std::time::SystemTime::now() - Duration::from_secs(u64::from(days) * 86_400);
        let cutoff: omnihub_db::Timestamp = cutoff.into();
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
