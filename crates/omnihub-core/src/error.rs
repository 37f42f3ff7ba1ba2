//! The one error type of the core crate.

use omnihub_db::DbError;

/// What can stop the pipeline from starting, or its background work from going on.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Another dispatcher took the message over after this one's lease expired.
    #[error("the lease on message {0} was lost to another dispatcher")]
    LeaseLost(i64),
    /// A blocking database task panicked or was cancelled.
    #[error("a database task did not complete: {0}")]
    Join(String),
    /// Managing a number on Evolution failed; `message` says what to do.
    #[error("{message}")]
    Lifecycle {
        /// The class of the failure.
        problem: crate::LifecycleProblem,
        /// What happened and what to do.
        message: String,
    },
    /// A thread or runtime of the pipeline could not be started.
    #[error("cannot start the pipeline's {what}: {reason}")]
    Start {
        /// Which part.
        what: &'static str,
        /// The operating system's reason.
        reason: String,
    },
}

/// Runs synchronous database work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(db: &omnihub_db::Database, work: F) -> Result<T, CoreError>
where
    F: FnOnce(&omnihub_db::Database) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    let db = db.clone();
    tokio::task::spawn_blocking(move || work(&db))
        .await
        .map_err(|e| CoreError::Join(e.to_string()))?
        .map_err(CoreError::Db)
}
