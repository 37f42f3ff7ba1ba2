//! Held replies: a reply whose number is not connected waits instead of failing or being
//! retried in a tight loop. It is looked at again every [`HOLD_RECHECK`] (sooner: a report
//! that the number is `open` releases it at once) and fails with the stored reason once it
//! has waited `hold_max`. Waiting gives the claim's attempt back.

use std::time::Duration;

use omnihub_db::Change;
use omnihub_domain::{ConnectionReport, ConnectionState, InstanceConfig, MessageRecord, Stage};
use omnihub_evolution::EvolutionError;

use crate::error::CoreError;
use crate::ports::{AgentApi, MessengerApi};
use crate::process::{Processor, Stop};

/// How long a held reply waits before it is looked at again without a report.
pub(crate) const HOLD_RECHECK: Duration = Duration::from_secs(60);

impl<A: AgentApi, M: MessengerApi> Processor<A, M> {
    /// A hold when the instance's stored connection says its number is not connected. The
    /// cache may be a refresh behind, so a hold is confirmed from the database first.
    /// `not_activated` is not held here: the send itself is the probe that learns whether
    /// the server was activated meanwhile.
    pub(crate) async fn hold_check(&self, instance: &InstanceConfig) -> Result<Option<Stop>, Stop> {
        let holds = |state: ConnectionState| state.holds_replies() && state != ConnectionState::NotActivated;
        let name = instance.name.to_string();
        if !self.cache.connection(&name).is_some_and(|c| holds(c.state)) {
            return Ok(None);
        }
        let key = name.clone();
        let fresh = self.write(move |db| db.connections().get(&key)).await?;
        let Some(connection) = fresh else {
            return Ok(None);
        };
        self.cache.put_connection(&name, connection.clone());
        if !holds(connection.state) {
            return Ok(None);
        }
        let why = connection
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        Ok(Some(Stop::Hold {
            reason: format!(
                "held: the WhatsApp number is not connected (state {}{why})",
                connection.state
            ),
        }))
    }

    /// A send refused with `LICENSE_REQUIRED`: stores the state and holds the reply.
    pub(crate) async fn not_activated(&self, instance: &InstanceConfig, err: &EvolutionError) -> Stop {
        let name = instance.name.to_string();
        let report = ConnectionReport {
            state: Some(ConnectionState::NotActivated),
            reason: Some(err.to_string()),
            ..ConnectionReport::default()
        };
        let key = name.clone();
        match self.write(move |db| db.connections().report(&key, &report)).await {
            Ok(reported) => {
                if reported.before != Some(ConnectionState::NotActivated) {
                    tracing::warn!(instance = %name, error = %err, "Evolution is not activated; replies are held until it is");
                }
                self.cache.put_connection(&name, reported.now);
            }
            Err(store_err) => tracing::warn!(error = %store_err, "cannot store the not-activated state"),
        }
        Stop::Hold {
            reason: format!("held: {err}"),
        }
    }

    /// Puts `record` back to wait, or fails it when it has waited `hold_max`.
    pub(crate) async fn hold(&self, record: &MessageRecord, reason: String) -> Result<(), CoreError> {
        let now = self.db.now();
        let waited = record
            .held_since
            .and_then(|since| (now - since).to_std().ok())
            .unwrap_or_default();
        if waited >= self.hold_max {
            let hours = self.hold_max.as_secs_f64() / 3600.0;
            let error = format!(
                "not sent: waited {hours:.1} h (OMNIHUB_HOLD_MAX) for the number to be connected; {}",
                reason.trim_start_matches("held: ")
            );
            return self.fail(record, Stage::Evolution, error).await;
        }
        tracing::info!(reason = %reason, recheck_in_s = HOLD_RECHECK.as_secs(), "reply held until the number is connected");
        self.events.held();
        let change = Change::Hold {
            id: record.id,
            owner: self.owner.clone(),
            delay: HOLD_RECHECK.min(self.hold_max.saturating_sub(waited).max(Duration::from_secs(1))),
            reason,
        };
        self.step(change).await.map(drop)
    }
}
