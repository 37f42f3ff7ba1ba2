//! Shared application state and the one door to the database from async code.

use std::sync::Arc;

use actix_web::web;
use omnihub_db::{Database, DbError};
use omnihub_domain::Secret;

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
}

impl AppState {
    /// Builds the state: the database, the admin key (None closes the admin API) and the
    /// proxies whose `X-Forwarded-For` is believed.
    pub fn new(db: Database, api_key: Option<Secret>, trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            db,
            api_key: api_key.map(Arc::new),
            metrics: Arc::new(Metrics::new()),
            trusted_proxies: trusted_proxies.into(),
        }
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
