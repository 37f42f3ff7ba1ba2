//! Managing an instance's WhatsApp number on its Evolution server: connect (create it when
//! Evolution does not know it), status, webhook sync, restart, logout, delete. Shared by the
//! server's API and the CLI (which reaches Evolution itself, with the server stopped).
//! What each call learns about the connection is stored, so held replies resume.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use omnihub_db::Database;
use omnihub_domain::{ConnectionReport, ConnectionState, HttpUrl, InstanceConfig, Secret};
use omnihub_evolution::{ConnectAnswer, EvolutionClient, EvolutionError, EvolutionServer, WebhookSettings};

use crate::error::{blocking, CoreError};
use crate::lifecycle_errors::{classify, LifecycleProblem};
use crate::lifecycle_status::{NumberState, WebhookStatus};
use crate::InstanceCache;

/// What `connect` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The state after the call (`connecting` while a QR waits to be scanned).
    pub state: NumberState,
    /// The raw QR string to render, when there is one.
    pub qr_code: Option<String>,
    /// The QR as a PNG (base64), when Evolution gave one.
    pub qr_png_base64: Option<String>,
    /// The pairing code, `XXXX-XXXX`, when a number was given.
    pub pairing_code: Option<String>,
    /// True when the Evolution instance was created by this call.
    pub created: bool,
}

/// What a status check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// Evolution's connection state, or why it is not known.
    pub state: NumberState,
    /// The connected number's digits.
    pub number: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
    /// Whether Evolution's webhook is omnihub's.
    pub webhook: WebhookStatus,
    /// When Evolution was asked.
    pub checked_at: DateTime<Utc>,
    /// A sentence when something needs doing.
    pub detail: Option<String>,
}

/// Manages numbers on Evolution. Cheap to clone.
#[derive(Clone)]
pub struct Lifecycle {
    pub(crate) db: Database,
    pub(crate) client: EvolutionClient,
    public_url: Option<HttpUrl>,
    cache: Option<InstanceCache>,
    pub(crate) status_ttl: Duration,
    pub(crate) statuses: Arc<Mutex<HashMap<String, StatusReport>>>,
}

impl Lifecycle {
    /// Manages numbers with `client`, storing what it learns in `db`. `public_url` is
    /// `OMNIHUB_PUBLIC_URL`, the base Evolution posts webhooks to.
    pub fn new(db: Database, client: EvolutionClient, public_url: Option<HttpUrl>) -> Self {
        Self {
            db,
            client,
            public_url,
            cache: None,
            // Without a server's cache (the CLI), every status check asks Evolution.
            status_ttl: Duration::ZERO,
            statuses: Arc::default(),
        }
    }

    /// Also keeps `cache` up to date (a server's instance cache), and answers repeated status
    /// checks of one instance within `status_ttl` from memory.
    pub fn with_cache(mut self, cache: InstanceCache, status_ttl: Duration) -> Self {
        self.cache = Some(cache);
        self.status_ttl = status_ttl;
        self
    }

    /// `{OMNIHUB_PUBLIC_URL}/webhook/evolution/{name}`, or `None` when the variable is unset.
    pub fn webhook_url(&self, instance: &InstanceConfig) -> Option<String> {
        let base = self.public_url.as_ref()?.as_str().trim_end_matches('/');
        Some(format!("{base}/webhook/evolution/{}", instance.name))
    }

    /// Connects the number: creates the Evolution instance (with omnihub's webhook) when
    /// Evolution does not know it, else asks Evolution to connect.
    pub async fn connect(
        &self,
        instance: &InstanceConfig,
        number: Option<&str>,
    ) -> Result<Connected, CoreError> {
        let server = server_of(instance)?;
        let remote = instance.whatsapp_instance.as_str();
        let known = match self.client.connection_state(server, remote).await {
            Ok(_) => true,
            Err(EvolutionError::Status { status: 404, .. }) => false,
            Err(err) => return Err(self.failed(instance, &err).await),
        };
        let created = !known;
        let answer = if known {
            self.client.connect(server, remote, number).await
        } else {
            let webhook = self.webhook_settings(instance).await?;
            self.client
                .create_instance(server, remote, number, &webhook)
                .await
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => return Err(self.failed(instance, &err).await),
        };
        let connected = match answer {
            ConnectAnswer::State(state) => Connected {
                state: NumberState::from_evolution(Some(&state)),
                qr_code: None,
                qr_png_base64: None,
                pairing_code: None,
                created,
            },
            ConnectAnswer::Qr {
                code,
                png_base64,
                pairing_code,
            } => Connected {
                state: NumberState::Connecting,
                qr_code: code,
                qr_png_base64: png_base64,
                pairing_code: pairing_code.map(|c| pretty_pairing(&c)),
                created,
            },
        };
        let report = ConnectionReport {
            state: connected.state.stored(),
            qr: connected.qr_code.is_some(),
            ..ConnectionReport::default()
        };
        self.store(instance, report).await?;
        Ok(connected)
    }

    /// Sets Evolution's webhook for the instance to omnihub's (generating and storing a
    /// webhook secret when the instance has none); the resulting webhook status.
    pub async fn sync_webhook(&self, instance: &InstanceConfig) -> Result<WebhookStatus, CoreError> {
        let server = server_of(instance)?;
        let settings = self.webhook_settings(instance).await?;
        let remote = instance.whatsapp_instance.as_str();
        let stored = match self.client.set_webhook(server, remote, &settings).await {
            Ok(row) => row,
            Err(err) => return Err(self.failed(instance, &err).await),
        };
        self.forget(instance.name.as_str());
        let secret = Secret::parse("webhook_secret", settings.token.clone()).ok();
        Ok(WebhookStatus::of(
            Some(&stored),
            Some(&settings.url),
            secret.as_ref(),
        ))
    }

    /// The webhook omnihub wants, with the instance's secret (created now when it has none).
    async fn webhook_settings(&self, instance: &InstanceConfig) -> Result<WebhookSettings, CoreError> {
        let url = self.webhook_url(instance).ok_or_else(|| {
            lifecycle_error(
                LifecycleProblem::NotConfigured,
                "OMNIHUB_PUBLIC_URL is not set: it is the base URL at which Evolution reaches omnihub (e.g. https://hub.example.com); set it and restart omnihub-server".into(),
            )
        })?;
        let token = match &instance.webhook_secret {
            Some(secret) => secret.expose().to_owned(),
            None => self.new_secret(instance).await?,
        };
        Ok(WebhookSettings { url, token })
    }

    pub(crate) async fn store(
        &self,
        instance: &InstanceConfig,
        report: ConnectionReport,
    ) -> Result<(), CoreError> {
        let name = instance.name.to_string();
        let key = name.clone();
        let reported = blocking(&self.db, move |db| db.connections().report(&key, &report)).await?;
        if let Some(cache) = &self.cache {
            cache.put_connection(&name, reported.now);
        }
        self.forget(&name);
        Ok(())
    }

    /// The error for `err`; a `LICENSE_REQUIRED` is also stored as the connection state.
    pub(crate) async fn failed(&self, instance: &InstanceConfig, err: &EvolutionError) -> CoreError {
        let (problem, message) = classify(err, instance.name.as_str(), instance.whatsapp_instance.as_str());
        // Evolution's error bodies are quoted; one that echoes a key must not pass it on.
        let secrets = [instance.evolution_key.as_ref(), instance.webhook_secret.as_ref()];
        let secrets: Vec<&str> = secrets.into_iter().flatten().map(|s| s.expose()).collect();
        let message = omnihub_domain::hygiene::redact(&message, &secrets).into_owned();
        if problem == LifecycleProblem::NotActivated {
            let report = ConnectionReport {
                state: Some(ConnectionState::NotActivated),
                reason: Some(message.clone()),
                ..ConnectionReport::default()
            };
            if let Err(store_err) = self.store(instance, report).await {
                tracing::warn!(error = %store_err, "cannot store the not-activated state");
            }
        }
        lifecycle_error(problem, message)
    }

    pub(crate) fn forget(&self, name: &str) {
        self.statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }
}

/// The instance's Evolution server, or why it has none.
pub(crate) fn server_of(instance: &InstanceConfig) -> Result<EvolutionServer<'_>, CoreError> {
    match (&instance.evolution_url, &instance.evolution_key) {
        (Some(base_url), Some(api_key)) => Ok(EvolutionServer { base_url, api_key }),
        _ => Err(lifecycle_error(
            LifecycleProblem::NotConfigured,
            format!(
                "instance '{0}' has no Evolution URL or key; set them with: omnihub-instance update {0} --evolution-url URL --evolution-key KEY",
                instance.name
            ),
        )),
    }
}

pub(crate) fn lifecycle_error(problem: LifecycleProblem, message: String) -> CoreError {
    CoreError::Lifecycle { problem, message }
}

/// `WZYEH1YY` → `WZYE-H1YY`, as WhatsApp shows it.
fn pretty_pairing(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}
