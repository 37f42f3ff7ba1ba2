//! Unvalidated instance input, as an admin types it (CLI flags or API JSON), and its
//! validation into [`NewInstance`] and [`InstanceChanges`].

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{InstanceChanges, NewInstance};
use crate::{
    parse_session_prefix, AgentKind, AgentOptions, AgentTimeout, DomainError, HttpUrl, InstanceName,
    PathName, Secret,
};

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
    /// Absent means `automagik`.
    #[serde(default)]
    pub agent_kind: Option<String>,
    /// A JSON object of the kind's options; absent means none.
    #[serde(default)]
    pub agent_options: Option<Value>,
    /// Required.
    pub agent_api_url: String,
    /// Required for `automagik` and `dify`; empty or absent means none for the other kinds.
    #[serde(default)]
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
        let agent_kind = match self.agent_kind {
            Some(kind) => kind.parse()?,
            None => AgentKind::default(),
        };
        let agent_options = match options_object(self.agent_options)? {
            Some(options) => AgentOptions::parse(agent_kind, &options)?,
            None => AgentOptions::default(),
        };
        let new = NewInstance {
            agent_kind,
            agent_options,
            name: InstanceName::parse(self.name)?,
            evolution_url: HttpUrl::parse_optional("evolution_url", self.evolution_url)?,
            evolution_key: optional_secret("evolution_key", self.evolution_key)?,
            whatsapp_instance: PathName::parse("whatsapp_instance", self.whatsapp_instance)?,
            session_id_prefix: parse_session_prefix(self.session_id_prefix)?,
            agent_api_url: HttpUrl::parse("agent_api_url", self.agent_api_url)?,
            agent_api_key: optional_secret("agent_api_key", Some(self.agent_api_key))?,
            default_agent: PathName::parse("default_agent", self.default_agent)?,
            agent_timeout: self
                .agent_timeout
                .map(AgentTimeout::from_secs)
                .transpose()?
                .unwrap_or_default(),
            is_default: self.is_default.unwrap_or(false),
            webhook_secret: webhook_secret(self.webhook_secret)?,
        };
        super::require_key(new.agent_kind, new.agent_api_key.as_ref())?;
        Ok(new)
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
    /// New agent kind.
    #[serde(default)]
    pub agent_kind: Option<String>,
    /// Options to set; a `null` value removes one. Needs `agent_kind` in the same update: the
    /// same kind merges them into the stored options, another kind starts from them.
    #[serde(default)]
    pub agent_options: Option<Value>,
    /// New agent API URL.
    #[serde(default)]
    pub agent_api_url: Option<String>,
    /// New agent API key; empty string removes it (kinds that need none).
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
        let agent_kind = self.agent_kind.map(|k| k.parse()).transpose()?;
        let agent_options = options_object(self.agent_options)?;
        if agent_options.is_some() && agent_kind.is_none() {
            return Err(DomainError::invalid(
                "agent_options",
                "an update of agent_options needs agent_kind too (the kind the options are for)",
            ));
        }
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
            agent_kind,
            agent_options,
            agent_api_url: self
                .agent_api_url
                .map(|v| HttpUrl::parse("agent_api_url", v))
                .transpose()?,
            agent_api_key: self
                .agent_api_key
                .map(|v| optional_secret("agent_api_key", Some(v)))
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

/// `agent_options` as given: a JSON object, or absent (`null` counts as absent).
fn options_object(value: Option<Value>) -> Result<Option<Map<String, Value>>, DomainError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(DomainError::invalid("agent_options", "must be a JSON object")),
    }
}

fn optional_secret(field: &'static str, value: Option<String>) -> Result<Option<Secret>, DomainError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => Secret::parse(field, v).map(Some),
    }
}
