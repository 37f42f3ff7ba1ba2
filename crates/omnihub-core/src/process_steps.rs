//! The processor's writes: lease-fenced steps through the log writer, each retried (bounded)
//! when the database drops it, and plain reads and writes on the pool.

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

    /// A step through the writer (group commit); whether it applied.
    ///
    /// Every step records something already done outside: the agent answered, a part went
    /// out, a failure happened. If the write fails (a connection cut, a failover), leaving
    /// the message to lease recovery would ask the agent again or send the part again. So
    /// the write is retried a few times, each on a fresh connection (the pool drops a broken
    /// one) and each renewing the lease, before the message is left to recovery. Applying a
    /// step twice is harmless: it sets the same values under the same lease.
    pub(crate) async fn step(&self, change: Change) -> Result<bool, CoreError> {
        const DELAYS_MS: [u64; 4] = [50, 200, 1000, 3000];
        let mut delays = DELAYS_MS.iter();
        loop {
            match self.writes.change(change.clone()).await {
                Ok(Changed::Applied(applied)) => return Ok(applied),
                Ok(_) => return Ok(false),
                Err(err) if !err.is_refused() => {
                    let Some(delay) = delays.next() else {
                        return Err(CoreError::Db(err));
                    };
                    tracing::warn!(error = %err, retry_in_ms = delay, "recording a step failed; retrying the write");
                    tokio::time::sleep(Duration::from_millis(*delay)).await;
                }
                Err(err) => return Err(CoreError::Db(err)),
            }
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
