//! The instance aggregate: one WhatsApp number bound to one agent backend.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{AgentKind, AgentOptions, AgentTimeout, DomainError, HttpUrl, InstanceName, PathName, Secret};

/// A stored instance, as read from the database.
///
/// Serializing it never reveals a key: both secrets serialize as their mask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceConfig {
    /// Database id.
    pub id: i64,
    /// Unique instance name.
    pub name: InstanceName,
    /// Base URL of the Evolution API server; `None` until configured.
    pub evolution_url: Option<HttpUrl>,
    /// Evolution API key (`apikey` header); `None` until configured.
    pub evolution_key: Option<Secret>,
    /// The instance name on the Evolution server.
    pub whatsapp_instance: PathName,
    /// Prefix of agent session names; `None` means `{name}_`.
    pub session_id_prefix: Option<String>,
    /// The protocol the agent backend speaks.
    pub agent_kind: AgentKind,
    /// Kind-specific settings (secrets masked when serialized).
    pub agent_options: AgentOptions,
    /// Base URL of the agent API.
    pub agent_api_url: HttpUrl,
    /// Agent API key; `None` for a backend that needs none (see [`AgentKind::needs_key`]).
    pub agent_api_key: Option<Secret>,
    /// The agent that answers this instance's messages.
    pub default_agent: PathName,
    /// How long to wait for the agent.
    pub agent_timeout: AgentTimeout,
    /// Whether the legacy `/webhook/evolution` route means this instance.
    pub is_default: bool,
    /// Token Evolution must present on this instance's webhooks; `None` accepts any caller
    /// that knows the instance name.
    pub webhook_secret: Option<Secret>,
    /// When the instance was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the instance was last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// Who is answered and when (shared, not copied, by every webhook of the instance).
    #[serde(skip)]
    pub rules: std::sync::Arc<crate::ConversationRules>,
}

/// Refuses a missing key for a kind that cannot work without one.
pub(crate) fn require_key(kind: AgentKind, key: Option<&Secret>) -> Result<(), DomainError> {
    if key.is_none() && kind.needs_key() {
        return Err(DomainError::missing(
            "agent_api_key",
            format!("agent_kind {kind} needs the backend's API key"),
        ));
    }
    Ok(())
}

/// A validated instance to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// Unique instance name.
    pub name: InstanceName,
    /// Base URL of the Evolution API server, if known yet.
    pub evolution_url: Option<HttpUrl>,
    /// Evolution API key, if known yet.
    pub evolution_key: Option<Secret>,
    /// The instance name on the Evolution server.
    pub whatsapp_instance: PathName,
    /// Prefix of agent session names.
    pub session_id_prefix: Option<String>,
    /// The protocol the agent backend speaks.
    pub agent_kind: AgentKind,
    /// Kind-specific settings, validated for `agent_kind`.
    pub agent_options: AgentOptions,
    /// Base URL of the agent API.
    pub agent_api_url: HttpUrl,
    /// Agent API key, when the backend takes one.
    pub agent_api_key: Option<Secret>,
    /// The agent that answers.
    pub default_agent: PathName,
    /// How long to wait for the agent.
    pub agent_timeout: AgentTimeout,
    /// Make this the default instance (the previous default stops being one).
    pub is_default: bool,
    /// Token required on webhooks, if any.
    pub webhook_secret: Option<Secret>,
}

/// A validated partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceChanges {
    /// New Evolution URL; `Some(None)` clears it.
    pub evolution_url: Option<Option<HttpUrl>>,
    /// New Evolution key; `Some(None)` clears it.
    pub evolution_key: Option<Option<Secret>>,
    /// New Evolution instance name.
    pub whatsapp_instance: Option<PathName>,
    /// New session prefix; `Some(None)` clears it.
    pub session_id_prefix: Option<Option<String>>,
    /// New agent kind; its options start empty unless `agent_options` gives them.
    pub agent_kind: Option<AgentKind>,
    /// Options to set (a `null` value removes one), validated against the resulting kind by
    /// [`InstanceChanges::agent_settings`] once the stored instance is known.
    pub agent_options: Option<Map<String, Value>>,
    /// New agent API URL.
    pub agent_api_url: Option<HttpUrl>,
    /// New agent API key; `Some(None)` removes it (kinds that need none).
    pub agent_api_key: Option<Option<Secret>>,
    /// New agent name.
    pub default_agent: Option<PathName>,
    /// New agent timeout.
    pub agent_timeout: Option<AgentTimeout>,
    /// New webhook token; `Some(None)` removes it.
    pub webhook_secret: Option<Option<Secret>>,
    /// Make this instance the default.
    pub make_default: bool,
}

impl InstanceChanges {
    /// True when the update would change nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The agent kind and options `current` has after this update, validated; `None` when
    /// the update touches neither. A new kind starts from the given options; the same kind
    /// merges them into the stored ones (a `null` removes one).
    pub fn agent_settings(
        &self,
        current: &InstanceConfig,
    ) -> Result<Option<(AgentKind, AgentOptions)>, DomainError> {
        let Some(kind) = self.agent_kind else {
            return Ok(None);
        };
        let given = self.agent_options.clone().unwrap_or_default();
        AgentOptions::check_given(kind, &given)?;
        let options = if kind == current.agent_kind {
            current.agent_options.merged(kind, &given)?
        } else {
            let given: Map<String, Value> = given.into_iter().filter(|(_, v)| !v.is_null()).collect();
            AgentOptions::parse(kind, &given)?
        };
        Ok(Some((kind, options)))
    }

    /// Refuses an update that would leave a kind needing a key without one. This depends on
    /// what is stored, so the store reports it as a conflict rather than bad input.
    pub fn check_key(&self, current: &InstanceConfig) -> Result<(), DomainError> {
        let kind = self.agent_kind.unwrap_or(current.agent_kind);
        let key = self.agent_api_key.as_ref().unwrap_or(&current.agent_api_key);
        require_key(kind, key.as_ref())
    }
}

mod input;

pub use input::{webhook_secret, InstanceChangesInput, NewInstanceInput, WEBHOOK_SECRET_MIN_LEN};

#[cfg(test)]
mod tests;
