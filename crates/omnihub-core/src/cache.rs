//! The in-memory copy of the instances, so webhooks and the dispatcher never read the
//! database to find one. Refreshed every `ttl` and at once after local admin writes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use omnihub_db::{Database, DbError};
use omnihub_domain::InstanceConfig;

use crate::error::{blocking, CoreError};

#[derive(Default)]
struct Snapshot {
    by_name: HashMap<String, Arc<InstanceConfig>>,
    default: Option<Arc<InstanceConfig>>,
}

/// Instances by name, plus the default one. Cheap to clone (shared).
#[derive(Clone)]
pub struct InstanceCache {
    db: Database,
    snapshot: Arc<RwLock<Snapshot>>,
    ttl: Duration,
}

impl InstanceCache {
    /// An empty cache over `db`; call [`InstanceCache::reload`] before use.
    pub fn new(db: Database, ttl: Duration) -> Self {
        Self {
            db,
            snapshot: Arc::default(),
            ttl,
        }
    }

    /// Reloads every instance from the database (blocking).
    pub fn reload(&self) -> Result<usize, DbError> {
        let all = self.db.instances().list(0, i64::MAX)?;
        let count = all.len();
        let mut fresh = Snapshot::default();
        for instance in all {
            let instance = Arc::new(instance);
            if instance.is_default {
                fresh.default = Some(instance.clone());
            }
            fresh.by_name.insert(instance.name.to_string(), instance);
        }
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(count)
    }

    /// The instance called `name`, if known.
    pub fn get(&self, name: &str) -> Option<Arc<InstanceConfig>> {
        self.read().by_name.get(name).cloned()
    }

    /// The default instance, if any.
    pub fn default_instance(&self) -> Option<Arc<InstanceConfig>> {
        self.read().default.clone()
    }

    /// Every known instance name.
    pub fn names(&self) -> Vec<String> {
        self.read().by_name.keys().cloned().collect()
    }

    /// Every known instance.
    pub fn all(&self) -> Vec<Arc<InstanceConfig>> {
        self.read().by_name.values().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reloads every `ttl` until `shutdown` turns true. A failed reload keeps the last good
    /// copy and is logged.
    pub(crate) async fn refresh_every_ttl(
        self,
        mut shutdown: tokio::sync::watch::Receiver<Option<Duration>>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.ttl) => {}
                _ = shutdown.changed() => return,
            }
            let cache = self.clone();
            let outcome: Result<usize, CoreError> = blocking(&self.db, move |_| cache.reload()).await;
            if let Err(err) = outcome {
                tracing::warn!(error = %err, "cannot refresh the instance cache; keeping the last copy");
            }
        }
    }
}
