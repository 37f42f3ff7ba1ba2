//! The processor's writes: lease-fenced steps through the log writer, the bounded retry of
//! a write that records a part already sent, and plain reads and writes on the pool.

use std::time::Duration;

use omnihub_db::{Change, Changed, Database, DbError};

use crate::error::{blocking, CoreError};
use crate::ports::{AgentApi, MessengerApi};
use crate::process::{Processor, Stop};

impl<A: AgentApi, M: MessengerApi> Processor<A, M> {
    /// A lease-fenced step of message `id`; losing the lease abandons the message to its
    /// new holder.
    pub(crate) async fn fenced(&self, id: i64, change: Change) -> Result<(), Stop> {
        if self.step(change).await? {
            Ok(())
        } else {
            Err(Stop::Abandon(CoreError::LeaseLost(id)))
        }
    }

    /// A fenced step recording that a part went out. If the write fails (a connection cut,
    /// a failover), the part is sent and only the record is missing: leaving it to lease
    /// recovery would send the part again. So the write is retried a few times, each on a
    /// fresh connection (a broken one is dropped by the pool) and each renewing the lease,
    /// before the message is left to recovery.
    pub(crate) async fn fenced_after_send(&self, id: i64, change: Change) -> Result<(), Stop> {
        const DELAYS_MS: [u64; 4] = [50, 200, 1000, 3000];
        let mut delays = DELAYS_MS.iter();
        loop {
            match self.step(change.clone()).await {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(Stop::Abandon(CoreError::LeaseLost(id))),
                Err(CoreError::Db(err)) if !err.is_refused() => {
                    let Some(delay) = delays.next() else {
                        return Err(Stop::Abandon(CoreError::Db(err)));
                    };
                    tracing::warn!(error = %err, retry_in_ms = delay, "recording a sent part failed; retrying the write");
                    tokio::time::sleep(Duration::from_millis(*delay)).await;
                }
                Err(err) => return Err(Stop::Abandon(err)),
            }
        }
    }

    /// A step through the writer (group commit); whether it applied.
    pub(crate) async fn step(&self, change: Change) -> Result<bool, CoreError> {
        match self.writes.change(change).await? {
            Changed::Applied(applied) => Ok(applied),
            _ => Ok(false),
        }
    }

    pub(crate) async fn write<T, F>(&self, write: F) -> Result<T, CoreError>
    where
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        blocking(&self.db, write).await
    }
}
