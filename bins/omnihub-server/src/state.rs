//! Shared application state and the one door to the database from async code.

use std::sync::Arc;

use actix_web::web;
use omnihub_agent::AgentBackends;
use omnihub_core::{CoreError, Lifecycle, Pipeline, PipelineConfig};
use omnihub_db::{Database, DbError};
use omnihub_domain::Secret;

use crate::body::{BodyLimits, InflightBudget};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::pipeline_config::PipelineSettings;
use crate::proxy::IpNet;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pipeline: Pipeline,
    api_key: Option<Arc<Secret>>,
    metrics: Arc<Metrics>,
    trusted_proxies: Arc<[IpNet]>,
    webhook_limits: WebhookLimits,
    agent: Option<AgentBackends>,
    reply_limits: (usize, usize),
    lifecycle: Option<Lifecycle>,
    public_https: bool,
}

/// How webhook bodies are read: the per-body limits and the budget they share.
#[derive(Debug, Clone)]
pub struct WebhookLimits {
    /// Size and deadlines of one body.
    pub body: BodyLimits,
    /// Memory shared by the bodies being read at once.
    pub budget: InflightBudget,
}

impl WebhookLimits {
    /// The limits of `settings`.
    pub fn from_settings(settings: &PipelineSettings) -> Self {
        Self {
            body: BodyLimits {
                max_bytes: settings.webhook_body_limit,
                total: settings.webhook_body_timeout,
                idle: settings.webhook_body_idle,
            },
            budget: InflightBudget::new(settings.webhook_inflight_bytes),
        }
    }
}

/// Starts the message pipeline on a migrated `db` with the real agent and Evolution clients,
/// reporting into `metrics`.
pub fn start_pipeline(
    db: Database,
    settings: &PipelineSettings,
    metrics: Arc<Metrics>,
) -> Result<Pipeline, CoreError> {
    let start_error = |what: &'static str| {
        move |e: &dyn std::fmt::Display| CoreError::Start {
            what,
            reason: e.to_string(),
        }
    };
    let agent = omnihub_agent::AgentBackends::new().map_err(|e| start_error("agent HTTP client")(&e))?;
    let evolution = omnihub_evolution::EvolutionClient::new(settings.evolution_timeout)
        .map_err(|e| start_error("Evolution HTTP client")(&e))?;
    Pipeline::builder(db, settings.core.clone(), agent, evolution)
        .events(metrics)
        .start()
}

impl AppState {
    /// The state over a started `pipeline` (whose database the admin API uses), with its
    /// `metrics`, the admin key (None closes the admin API) and the proxies whose
    /// `X-Forwarded-For` is believed.
    pub fn new(
        pipeline: Pipeline,
        metrics: Arc<Metrics>,
        api_key: Option<Secret>,
        trusted_proxies: Vec<IpNet>,
    ) -> Self {
        Self {
            pipeline,
            api_key: api_key.map(Arc::new),
            metrics,
            trusted_proxies: trusted_proxies.into(),
            webhook_limits: WebhookLimits::from_settings(&PipelineSettings::default()),
            // Replaced by `with_agent` with the server's configuration.
            agent: AgentBackends::new().ok(),
            reply_limits: (
                PipelineConfig::default().reply_max_chars,
                PipelineConfig::default().reply_max_parts,
            ),
            lifecycle: None,
            public_https: false,
        }
        .with_lifecycle(None, std::time::Duration::from_secs(15))
    }

    /// Manages numbers on Evolution with calls that give up after `timeout`, setting webhooks
    /// to `public_url` (`OMNIHUB_PUBLIC_URL`).
    pub fn with_lifecycle(
        mut self,
        public_url: Option<omnihub_domain::HttpUrl>,
        timeout: std::time::Duration,
    ) -> Self {
        self.public_https = public_url
            .as_ref()
            .is_some_and(|u| u.as_str().starts_with("https://"));
        self.lifecycle = omnihub_evolution::EvolutionClient::new(timeout)
            .ok()
            .map(|client| {
                Lifecycle::new(self.pipeline.database().clone(), client, public_url).with_cache(
                    self.pipeline.instances().clone(),
                    std::time::Duration::from_secs(5),
                )
            });
        self
    }

    /// Whether omnihub is reached over https (`OMNIHUB_PUBLIC_URL`): console cookies are
    /// then `Secure`.
    pub fn public_url_is_https(&self) -> bool {
        self.public_https
    }

    /// Manages numbers on Evolution.
    pub fn lifecycle(&self) -> Result<&Lifecycle, ApiError> {
        self.lifecycle.as_ref().ok_or_else(|| {
            ApiError::internal(std::io::Error::other(
                "the Evolution HTTP client could not be built",
            ))
        })
    }

    /// The agent clients test calls use, and the reply limits they apply.
    pub fn with_agent(mut self, agent: AgentBackends, reply_limits: (usize, usize)) -> Self {
        self.agent = Some(agent);
        self.reply_limits = reply_limits;
        self
    }

    /// The agent clients (for test calls; the pipeline has its own).
    pub fn agent(&self) -> Result<&AgentBackends, ApiError> {
        self.agent.as_ref().ok_or_else(|| {
            ApiError::internal(std::io::Error::other("the agent HTTP client could not be built"))
        })
    }

    /// Most characters and parts of one agent reply.
    pub fn reply_limits(&self) -> (usize, usize) {
        self.reply_limits
    }

    /// Sets how webhook bodies are read.
    pub fn with_webhook_limits(mut self, limits: WebhookLimits) -> Self {
        self.webhook_limits = limits;
        self
    }

    /// Runs an admin write on the blocking pool, then reloads the instance cache so the
    /// webhook routes see the change at once.
    pub async fn admin_write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let cache = self.pipeline.instances().clone();
        self.db_once(move |db| {
            let value = work(db)?;
            cache.reload()?;
            Ok(value)
        })
        .await
    }

    /// The message pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// How webhook bodies are read.
    pub fn webhook_limits(&self) -> &WebhookLimits {
        &self.webhook_limits
    }

    /// Runs synchronous database work on actix's blocking pool, never on a worker thread.
    /// Work that found its connection lost (a failover, a terminated backend) runs again on
    /// another: the pool drops a broken connection.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: Fn(&Database) -> Result<T, DbError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        // Each pooled connection the server cut is found dead by one call and dropped, so
        // one try more than the pool holds gets past a pool full of them. A lost connection
        // fails at once, so the tries cost no waiting.
        let db = self.pipeline.database().clone();
        let tries_allowed = db.pool_state().max_connections as usize + 1;
        let work = Arc::new(work);
        let mut tries = 1;
        loop {
            let (db, job) = (db.clone(), work.clone());
            let outcome = web::block(move || job(&db)).await.map_err(ApiError::internal)?;
            match outcome {
                Err(DbError::ConnectionLost(reason)) if tries < tries_allowed => {
                    tracing::warn!(reason = %reason, "a database call lost its connection; trying again");
                    tries += 1;
                }
                other => return other.map_err(ApiError::from),
            }
        }
    }

    /// Runs synchronous database work once on actix's blocking pool (writes that must not
    /// be repeated blindly).
    pub async fn db_once<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.pipeline.database().clone();
        web::block(move || work(&db))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// The database, for code that is already on a blocking thread.
    pub fn database(&self) -> &Database {
        self.pipeline.database()
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
