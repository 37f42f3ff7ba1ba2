//! The rest of managing a number: restart, logout, delete on Evolution, discovering an
//! Evolution server's instances, and the webhook secret generated for a sync.

use omnihub_domain::{ConnectionReport, ConnectionState, InstanceChangesInput, InstanceConfig};
use omnihub_evolution::{EvolutionError, EvolutionServer};

use crate::error::{blocking, CoreError};
use crate::lifecycle::{server_of, Connected, Lifecycle};
use crate::lifecycle_errors::classify;
use crate::lifecycle_status::NumberState;

/// One instance an Evolution server has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Its name on Evolution.
    pub name: String,
    /// Its connection state.
    pub state: NumberState,
    /// The connected number's digits.
    pub number: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
    /// The omnihub instance bound to it, if one is.
    pub used_by: Option<String>,
}

impl Lifecycle {
    /// Only the connection state (one call), for polling while a QR waits to be scanned; a
    /// change is stored. An unreachable or refusing Evolution is an error here.
    pub async fn state(&self, instance: &InstanceConfig) -> Result<NumberState, CoreError> {
        let server = server_of(instance)?;
        let state = match self
            .client
            .connection_state(server, instance.whatsapp_instance.as_str())
            .await
        {
            Ok(state) => NumberState::from_evolution(state.as_deref()),
            Err(err) => return Err(self.failed(instance, &err).await),
        };
        if let Some(stored) = state.stored() {
            let name = instance.name.to_string();
            let before = blocking(&self.db, move |db| db.connections().get(&name)).await?;
            if before.is_none_or(|b| b.state != stored) {
                let report = ConnectionReport {
                    state: Some(stored),
                    ..ConnectionReport::default()
                };
                self.store(instance, report).await?;
            }
        }
        Ok(state)
    }

    /// Restarts the connection. A closed instance cannot be restarted (Evolution hides that
    /// error in a 200), so it is connected instead.
    pub async fn restart(&self, instance: &InstanceConfig) -> Result<Connected, CoreError> {
        let server = server_of(instance)?;
        let remote = instance.whatsapp_instance.as_str();
        match self.client.connection_state(server, remote).await {
            Ok(Some(state)) if state == "open" || state == "connecting" => {}
            Ok(_) => return self.connect(instance, None).await,
            Err(err) => return Err(self.failed(instance, &err).await),
        }
        if let Err(err) = self.client.restart(server, remote).await {
            return Err(self.failed(instance, &err).await);
        }
        let report = ConnectionReport {
            state: Some(ConnectionState::Connecting),
            reason: Some("restarted through omnihub".into()),
            ..ConnectionReport::default()
        };
        self.store(instance, report).await?;
        Ok(Connected {
            state: NumberState::Connecting,
            qr_code: None,
            qr_png_base64: None,
            pairing_code: None,
            created: false,
        })
    }

    /// Logs the number out (the session is gone: connecting again needs a new scan). An
    /// instance already closed is left as it is (older Evolution answers 400 to that).
    pub async fn logout(&self, instance: &InstanceConfig) -> Result<(), CoreError> {
        let server = server_of(instance)?;
        let remote = instance.whatsapp_instance.as_str();
        match self.client.connection_state(server, remote).await {
            Ok(Some(state)) if state == "close" => {}
            Ok(_) => {
                if let Err(err) = self.client.logout(server, remote).await {
                    return Err(self.failed(instance, &err).await);
                }
            }
            Err(err) => return Err(self.failed(instance, &err).await),
        }
        self.closed(instance, "logged out through omnihub").await
    }

    /// Logs out and deletes the instance on Evolution; the omnihub instance stays. An
    /// instance Evolution no longer has counts as deleted.
    pub async fn delete_whatsapp(&self, instance: &InstanceConfig) -> Result<(), CoreError> {
        let server = server_of(instance)?;
        let remote = instance.whatsapp_instance.as_str();
        // As Evolution's manager does: logout first; a failing logout does not stop the delete.
        if let Err(err) = self.client.logout(server, remote).await {
            tracing::info!(instance = %instance.name, error = %err, "logout before delete failed; deleting anyway");
        }
        match self.client.delete_instance(server, remote).await {
            Ok(()) | Err(EvolutionError::Status { status: 404, .. }) => {}
            Err(err) => return Err(self.failed(instance, &err).await),
        }
        self.closed(instance, "deleted on Evolution through omnihub")
            .await
    }

    /// The instances `server` has, each with the omnihub instance bound to it (same
    /// Evolution URL and `whatsapp_instance`) among `known`.
    pub async fn discover(
        &self,
        server: EvolutionServer<'_>,
        known: &[InstanceConfig],
    ) -> Result<Vec<Discovered>, CoreError> {
        let rows = match self.client.fetch_instances(server, None).await {
            Ok(rows) => rows,
            Err(err) => {
                let (mut problem, _) = classify(&err, "", "");
                if problem == crate::LifecycleProblem::NotFound {
                    // No fetchInstances route: whatever answers there is not Evolution.
                    problem = crate::LifecycleProblem::Rejected;
                }
                let message = match problem {
                    crate::LifecycleProblem::Unauthorized => {
                        "Evolution refused the key given in x-evolution-key (401): give its global API key"
                            .to_owned()
                    }
                    crate::LifecycleProblem::Unreachable => {
                        format!("{err}; check the Evolution URL and that the server is running")
                    }
                    crate::LifecycleProblem::Rejected if matches!(err, EvolutionError::Status { status: 404, .. }) => {
                        "that URL does not answer like an Evolution API server (404 on /instance/fetchInstances); check --evolution-url".to_owned()
                    }
                    _ => err.to_string(),
                };
                let message =
                    omnihub_domain::hygiene::redact(&message, &[server.api_key.expose()]).into_owned();
                return Err(crate::lifecycle::lifecycle_error(problem, message));
            }
        };
        let base = server.base_url.as_str().trim_end_matches('/');
        Ok(rows
            .into_iter()
            .map(|row| {
                let used_by = known
                    .iter()
                    .find(|i| {
                        i.whatsapp_instance.as_str() == row.name
                            && i.evolution_url
                                .as_ref()
                                .is_some_and(|u| u.as_str().trim_end_matches('/') == base)
                    })
                    .map(|i| i.name.to_string());
                Discovered {
                    state: NumberState::from_evolution(row.state.as_deref()),
                    name: row.name,
                    number: row.number,
                    profile_name: row.profile_name,
                    used_by,
                }
            })
            .collect())
    }

    /// Generates, stores and returns a webhook secret for `instance` (64 random hex digits).
    pub(crate) async fn new_secret(&self, instance: &InstanceConfig) -> Result<String, CoreError> {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let changes = InstanceChangesInput {
            webhook_secret: Some(secret.clone()),
            ..InstanceChangesInput::default()
        }
        .validate()
        .map_err(|e| CoreError::Lifecycle {
            problem: crate::LifecycleProblem::Rejected,
            message: e.to_string(),
        })?;
        let name = instance.name.clone();
        blocking(&self.db, move |db| db.instances().update(&name, &changes)).await?;
        tracing::info!(instance = %instance.name, "generated a webhook secret for the instance");
        Ok(secret)
    }

    async fn closed(&self, instance: &InstanceConfig, why: &str) -> Result<(), CoreError> {
        let report = ConnectionReport {
            state: Some(ConnectionState::Close),
            reason: Some(why.to_owned()),
            ..ConnectionReport::default()
        };
        self.store(instance, report).await
    }
}
