//! Checking a number: its connection state, number and webhook from Evolution, answered from
//! memory when asked again within the status TTL (a dashboard polls it).

use std::sync::PoisonError;
use std::time::Duration;

use omnihub_domain::{ConnectionReport, ConnectionState, InstanceConfig};

use crate::error::{blocking, CoreError};
use crate::lifecycle::{server_of, Lifecycle, StatusReport};
use crate::lifecycle_errors::{classify, LifecycleProblem};
use crate::lifecycle_status::{NumberState, WebhookStatus};

impl Lifecycle {
    /// Asks Evolution for the connection state, number and webhook (from memory when asked
    /// again within the status TTL). Never fails for Evolution's sake: an unreachable or
    /// refusing Evolution is a state.
    pub async fn status(&self, instance: &InstanceConfig) -> Result<StatusReport, CoreError> {
        let now = self.db.now();
        if let Some(cached) = self.cached(instance.name.as_str()) {
            let age = (now - cached.checked_at).to_std().unwrap_or(Duration::MAX);
            if age < self.status_ttl {
                return Ok(cached);
            }
        }
        let server = server_of(instance)?;
        let remote = instance.whatsapp_instance.as_str();
        let mut report = StatusReport {
            state: NumberState::Unknown,
            number: None,
            profile_name: None,
            webhook: WebhookStatus::Unknown,
            checked_at: now,
            detail: None,
        };
        match self.client.connection_state(server, remote).await {
            Ok(state) => report.state = NumberState::from_evolution(state.as_deref()),
            Err(err) => {
                let (problem, message) = classify(&err, instance.name.as_str(), remote);
                report.state = match problem {
                    LifecycleProblem::Unreachable => NumberState::Unreachable,
                    LifecycleProblem::Unauthorized => NumberState::Unauthorized,
                    LifecycleProblem::NotActivated => NumberState::NotActivated,
                    _ => NumberState::Unknown,
                };
                report.detail = Some(message);
            }
        }
        if !matches!(
            report.state,
            NumberState::Unreachable | NumberState::Unauthorized | NumberState::NotActivated
        ) && report.detail.is_none()
        {
            if let Ok(rows) = self.client.fetch_instances(server, Some(remote)).await {
                if let Some(row) = rows.into_iter().find(|r| r.name == remote) {
                    report.number = row.number;
                    report.profile_name = row.profile_name;
                }
            }
            report.webhook = match self.client.find_webhook(server, remote).await {
                Ok(found) => WebhookStatus::of(
                    found.as_ref(),
                    self.webhook_url(instance).as_deref(),
                    instance.webhook_secret.as_ref(),
                ),
                Err(_) => WebhookStatus::Unknown,
            };
            if report.webhook != WebhookStatus::Ok && report.webhook != WebhookStatus::Unknown {
                report.detail = Some(format!(
                    "Evolution's webhook for this instance is {}: repair it with omnihub-instance webhook-sync {}",
                    report.webhook, instance.name
                ));
            }
        }
        if let Some(state) = report.state.stored() {
            let stored = ConnectionReport {
                state: Some(state),
                number: report.number.clone(),
                profile_name: report.profile_name.clone(),
                ..ConnectionReport::default()
            };
            self.store_if_changed(instance, state, stored).await?;
        }
        self.remember(instance.name.as_str(), &report);
        Ok(report)
    }

    async fn store_if_changed(
        &self,
        instance: &InstanceConfig,
        state: ConnectionState,
        report: ConnectionReport,
    ) -> Result<(), CoreError> {
        let name = instance.name.to_string();
        let stored = blocking(&self.db, move |db| db.connections().get(&name)).await?;
        if stored.is_some_and(|s| s.state == state) {
            return Ok(());
        }
        self.store(instance, report).await
    }

    pub(crate) fn cached(&self, name: &str) -> Option<StatusReport> {
        self.statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    pub(crate) fn remember(&self, name: &str, report: &StatusReport) {
        let mut statuses = self.statuses.lock().unwrap_or_else(PoisonError::into_inner);
        statuses.insert(name.to_owned(), report.clone());
    }
}
