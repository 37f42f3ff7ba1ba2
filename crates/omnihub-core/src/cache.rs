//! The in-memory copy of the instances, so webhooks and the dispatcher never read the
//! database to find one. Refreshed every `ttl` and at once after local admin writes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use omnihub_db::{Database, DbError};
use omnihub_domain::{Connection, InstanceConfig};

use crate::error::{blocking, CoreError};

#[derive(Default)]
struct Snapshot {
    by_name: HashMap<String, Arc<InstanceConfig>>,
    default: Option<Arc<InstanceConfig>>,
    /// Each instance's stored connection (absent: never reported).
    connections: HashMap<String, Connection>,
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
        let connections = self.db.connections().list()?;
        let count = all.len();
        let mut fresh = Snapshot {
            connections: connections.into_iter().collect(),
            ..Snapshot::default()
        };
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

    /// The stored connection of `name` as of the last refresh (or a local report since).
    pub fn connection(&self, name: &str) -> Option<Connection> {
        self.read().connections.get(name).cloned()
    }

    /// Every known connection, by instance name.
    pub fn connections(&self) -> Vec<(String, Connection)> {
        self.read()
            .connections
            .iter()
            .map(|(name, c)| (name.clone(), c.clone()))
            .collect()
    }

    /// Records a connection just stored, so this process acts on it before the next refresh.
    pub fn put_connection(&self, name: &str, connection: Connection) {
        let mut snapshot = self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        snapshot.connections.insert(name.to_owned(), connection);
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
