//! Shared application state and the one door to the database from async code.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use omnihub_core::{InstanceCache, LogWriter};
use omnihub_db::{Database, DbError};
use omnihub_domain::Secret;
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::proxy::IpNet;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    db: Database,
    api_key: Option<Arc<Secret>>,
    metrics: Arc<Metrics>,
    trusted_proxies: Arc<[IpNet]>,
    cache: InstanceCache,
    wake: Arc<Notify>,
    webhook_body_limit: usize,
    log_writer: LogWriter,
}

/// The instance cache's refresh interval unless configured otherwise.
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(2);

impl AppState {
    /// Builds the state: the database, the admin key (None closes the admin API) and the
    /// proxies whose `X-Forwarded-For` is believed.
    ///
    /// The instance cache is loaded here (blocking); a failure leaves it empty until the
    /// next refresh and is logged.
    pub fn new(db: Database, api_key: Option<Secret>, trusted_proxies: Vec<IpNet>) -> Self {
        let cache = InstanceCache::new(db.clone(), DEFAULT_CACHE_TTL);
        if let Err(err) = cache.reload() {
            tracing::warn!(error = %err, "cannot load instances yet");
        }
        // SQLite has one writer at a time; PostgreSQL takes a few in parallel.
        let writers = match db.engine() {
            omnihub_db::Engine::Sqlite => 1,
            omnihub_db::Engine::Postgres => 4,
        };
        let log_writer = LogWriter::start(db.clone(), writers, 512)
            .unwrap_or_else(|e| panic!("cannot start the log writer threads: {e}"));
        Self {
            log_writer,
            db,
            api_key: api_key.map(Arc::new),
            metrics: Arc::new(Metrics::new()),
            trusted_proxies: trusted_proxies.into(),
            cache,
            wake: Arc::new(Notify::new()),
            webhook_body_limit: 32 * 1024 * 1024,
        }
    }

    /// Uses `cache` (shared with the dispatcher) instead of the state's own.
    pub fn with_cache(mut self, cache: InstanceCache) -> Self {
        self.cache = cache;
        self
    }

    /// Notifies `wake` whenever a webhook is accepted (the dispatcher's waker).
    pub fn with_waker(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// Sets the largest webhook body accepted.
    pub fn with_webhook_body_limit(mut self, bytes: usize) -> Self {
        self.webhook_body_limit = bytes;
        self
    }

    /// Runs an admin write on the blocking pool, then reloads the instance cache so the
    /// webhook routes see the change at once.
    pub async fn admin_write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let cache = self.cache.clone();
        self.db(move |db| {
            let value = work(db)?;
            cache.reload()?;
            Ok(value)
        })
        .await
    }

    /// The group-commit writer of the message log.
    pub fn log_writer(&self) -> &LogWriter {
        &self.log_writer
    }

    /// The instance cache.
    pub fn cache(&self) -> &InstanceCache {
        &self.cache
    }

    /// Wakes the dispatcher.
    pub fn wake_dispatcher(&self) {
        self.wake.notify_one();
    }

    /// Largest webhook body accepted, in bytes.
    pub fn webhook_body_limit(&self) -> usize {
        self.webhook_body_limit
    }

    /// The metrics, shared (the dispatcher reports into them).
    pub fn shared_metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Runs synchronous database work on actix's blocking pool, never on a worker thread.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        web::block(move || work(&db))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// The database, for code that is already on a blocking thread.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The configured admin API key.
    pub fn api_key(&self) -> Option<&Secret> {
        self.api_key.as_deref()
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Trusted reverse proxies.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }
}
