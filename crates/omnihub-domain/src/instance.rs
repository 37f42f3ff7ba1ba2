//! The instance aggregate: one WhatsApp number bound to one agent backend.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    parse_session_prefix, AgentKind, AgentTimeout, DomainError, HttpUrl, InstanceName, PathName, Secret,
};

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
    /// The protocol the agent backend speaks. Not serialized while Automagik is the only
    /// kind, so the API and CLI output stay as they were.
    #[serde(skip_serializing)]
    pub agent_kind: AgentKind,
    /// Base URL of the agent API.
    pub agent_api_url: HttpUrl,
    /// Agent API key (`x-api-key` header).
    pub agent_api_key: Secret,
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
    /// Base URL of the agent API.
    pub agent_api_url: HttpUrl,
    /// Agent API key.
    pub agent_api_key: Secret,
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
    /// New agent API URL.
    pub agent_api_url: Option<HttpUrl>,
    /// New agent API key.
    pub agent_api_key: Option<Secret>,
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
}

/// Unvalidated fields of a new instance, as an admin types them (CLI flags or API JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstanceInput {
    /// See [`NewInstance::name`].
    pub name: String,
    /// Empty or absent: not configured yet.
    #[serde(default)]
    pub evolution_url: Option<String>,
    /// Empty or absent: not configured yet.
    #[serde(default)]
    pub evolution_key: Option<String>,
    /// Required.
    pub whatsapp_instance: String,
    /// Empty or absent: no prefix.
    #[serde(default)]
    pub session_id_prefix: Option<String>,
    /// Required.
    pub agent_api_url: String,
    /// Required.
    pub agent_api_key: String,
    /// Required.
    pub default_agent: String,
    /// Seconds; absent means 60.
    #[serde(default)]
    pub agent_timeout: Option<i64>,
    /// Absent means false.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Empty or absent: webhooks need no token.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl NewInstanceInput {
    /// Checks every rule and returns the first broken one.
    pub fn validate(self) -> Result<NewInstance, DomainError> {
        Ok(NewInstance {
            name: InstanceName::parse(self.name)?,
            evolution_url: HttpUrl::parse_optional("evolution_url", self.evolution_url)?,
            evolution_key: optional_secret("evolution_key", self.evolution_key)?,
            whatsapp_instance: PathName::parse("whatsapp_instance", self.whatsapp_instance)?,
            session_id_prefix: parse_session_prefix(self.session_id_prefix)?,
            agent_api_url: HttpUrl::parse("agent_api_url", self.agent_api_url)?,
            agent_api_key: Secret::parse("agent_api_key", self.agent_api_key)?,
            default_agent: PathName::parse("default_agent", self.default_agent)?,
            agent_timeout: self
                .agent_timeout
                .map(AgentTimeout::from_secs)
                .transpose()?
                .unwrap_or_default(),
            is_default: self.is_default.unwrap_or(false),
            webhook_secret: webhook_secret(self.webhook_secret)?,
        })
    }
}

/// Unvalidated fields of a partial update; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceChangesInput {
    /// Empty string clears it.
    #[serde(default)]
    pub evolution_url: Option<String>,
    /// Empty string clears it.
    #[serde(default)]
    pub evolution_key: Option<String>,
    /// New Evolution instance name.
    #[serde(default)]
    pub whatsapp_instance: Option<String>,
    /// Empty string clears it.
    #[serde(default)]
    pub session_id_prefix: Option<String>,
    /// New agent API URL.
    #[serde(default)]
    pub agent_api_url: Option<String>,
    /// New agent API key.
    #[serde(default)]
    pub agent_api_key: Option<String>,
    /// New agent name.
    #[serde(default)]
    pub default_agent: Option<String>,
    /// New timeout in seconds.
    #[serde(default)]
    pub agent_timeout: Option<i64>,
    /// `true` makes the instance the default; `false` is refused (make another one the
    /// default instead), because the legacy webhook route needs a default.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// New webhook token; empty string removes it.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl InstanceChangesInput {
    /// Checks every given field and returns the first broken rule.
    pub fn validate(self) -> Result<InstanceChanges, DomainError> {
        if self.is_default == Some(false) {
            return Err(DomainError::invalid(
                "is_default",
                "can only be set to true; make another instance the default instead",
            ));
        }
        Ok(InstanceChanges {
            evolution_url: self
                .evolution_url
                .map(|v| HttpUrl::parse_optional("evolution_url", Some(v)))
                .transpose()?,
            evolution_key: self
                .evolution_key
                .map(|v| optional_secret("evolution_key", Some(v)))
                .transpose()?,
            whatsapp_instance: self
                .whatsapp_instance
                .map(|v| PathName::parse("whatsapp_instance", v))
                .transpose()?,
            session_id_prefix: self
                .session_id_prefix
                .map(|v| parse_session_prefix(Some(v)))
                .transpose()?,
            agent_api_url: self
                .agent_api_url
                .map(|v| HttpUrl::parse("agent_api_url", v))
                .transpose()?,
            agent_api_key: self
                .agent_api_key
                .map(|v| Secret::parse("agent_api_key", v))
                .transpose()?,
            default_agent: self
                .default_agent
                .map(|v| PathName::parse("default_agent", v))
                .transpose()?,
            agent_timeout: self.agent_timeout.map(AgentTimeout::from_secs).transpose()?,
            webhook_secret: self.webhook_secret.map(|v| webhook_secret(Some(v))).transpose()?,
            make_default: self.is_default == Some(true),
        })
    }
}

/// The shortest webhook token accepted: it is the only thing between the internet and a
/// paid agent call.
pub const WEBHOOK_SECRET_MIN_LEN: usize = 16;

/// Validates an optional webhook token: empty means none; otherwise 16+ characters.
pub fn webhook_secret(value: Option<String>) -> Result<Option<Secret>, DomainError> {
    let secret = optional_secret("webhook_secret", value)?;
    if secret
        .as_ref()
        .is_some_and(|s| !crate::rules::WEBHOOK_SECRET.allows(s.expose()))
    {
        return Err(DomainError::invalid(
            "webhook_secret",
            "must be at least 16 characters",
        ));
    }
    Ok(secret)
}

fn optional_secret(field: &'static str, value: Option<String>) -> Result<Option<Secret>, DomainError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => Secret::parse(field, v).map(Some),
    }
}

#[cfg(test)]
mod tests;
