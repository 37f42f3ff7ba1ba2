//! The admin API's JSON shapes (request and response bodies), documented for OpenAPI.

use omnihub_domain::{InstanceChangesInput, InstanceConfig, NewInstanceInput};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An instance as the API returns it: every column, keys masked, timestamps in UTC.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceResponse {
    /// Database id.
    pub id: i64,
    /// Unique instance name.
    #[schema(example = "support")]
    pub name: String,
    /// Evolution API base URL; null until configured.
    pub evolution_url: Option<String>,
    /// Evolution API key, masked (`****abcd`); null until configured.
    #[schema(example = "****abcd")]
    pub evolution_key: Option<String>,
    /// Instance name on the Evolution server.
    pub whatsapp_instance: String,
    /// Prefix of agent session names; null means `{name}_`.
    pub session_id_prefix: Option<String>,
    /// The protocol the agent backend speaks.
    #[schema(example = "openai")]
    pub agent_kind: String,
    /// Kind-specific settings (secrets masked); `{}` when none are set.
    #[schema(value_type = Object)]
    pub agent_options: serde_json::Value,
    /// Agent API base URL.
    pub agent_api_url: String,
    /// Agent API key, masked; null when the backend takes none.
    #[schema(example = "****wxyz")]
    pub agent_api_key: Option<String>,
    /// The agent that answers.
    pub default_agent: String,
    /// Seconds to wait for the agent (1-3600).
    pub agent_timeout: u32,
    /// Whether the legacy `/webhook/evolution` route means this instance.
    pub is_default: bool,
    /// Webhook token, masked; null when webhooks need no token.
    pub webhook_secret: Option<String>,
    /// Creation time, ISO-8601 UTC.
    #[schema(example = "2026-11-28T19:40:00.123456Z")]
    pub created_at: String,
    /// Last change, ISO-8601 UTC.
    pub updated_at: String,
    /// The number's connection as Evolution last reported it; null when never reported.
    pub connection: Option<crate::dto_lifecycle::ConnectionResponse>,
}

impl InstanceResponse {
    /// Adds the stored connection state.
    pub fn with_connection(mut self, connection: Option<omnihub_domain::Connection>) -> Self {
        self.connection = connection.map(Into::into);
        self
    }
}

impl From<InstanceConfig> for InstanceResponse {
    fn from(i: InstanceConfig) -> Self {
        let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        Self {
            id: i.id,
            name: i.name.to_string(),
            evolution_url: i.evolution_url.map(|u| u.to_string()),
            evolution_key: i.evolution_key.map(|k| k.masked()),
            whatsapp_instance: i.whatsapp_instance.to_string(),
            session_id_prefix: i.session_id_prefix,
            agent_api_url: i.agent_api_url.to_string(),
            agent_kind: i.agent_kind.to_string(),
            agent_options: serde_json::to_value(&i.agent_options).unwrap_or_default(),
            agent_api_key: i.agent_api_key.map(|k| k.masked()),
            default_agent: i.default_agent.to_string(),
            agent_timeout: i.agent_timeout.secs(),
            is_default: i.is_default,
            webhook_secret: i.webhook_secret.map(|s| s.masked()),
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
            connection: None,
        }
    }
}

/// Body of `POST /api/v1/instances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInstanceRequest {
    /// 1-64 characters of letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    #[schema(example = "support")]
    pub name: String,
    /// Evolution API base URL (http/https); empty or absent: not configured yet.
    #[serde(default)]
    pub evolution_url: Option<String>,
    /// Evolution API key; empty or absent: not configured yet.
    #[serde(default)]
    pub evolution_key: Option<String>,
    /// Instance name on the Evolution server.
    pub whatsapp_instance: String,
    /// Prefix of agent session names.
    #[serde(default)]
    pub session_id_prefix: Option<String>,
    /// `automagik` (default), `openai`, `dify`, `n8n`, `flowise`, `typebot` or `webhook`.
    #[serde(default)]
    pub agent_kind: Option<String>,
    /// The kind's options (see `docs/agents.md`); unknown options are refused.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub agent_options: Option<serde_json::Value>,
    /// Agent API base URL (http/https).
    #[schema(example = "http://localhost:8001")]
    pub agent_api_url: String,
    /// Agent API key: required for `automagik` and `dify`; empty or absent means none.
    #[serde(default)]
    pub agent_api_key: Option<String>,
    /// The agent that answers.
    pub default_agent: String,
    /// Seconds to wait for the agent, 1-3600 (default 60); `60.0` is read as 60.
    #[serde(default, deserialize_with = "whole_seconds")]
    pub agent_timeout: Option<i64>,
    /// Make it the default instance (the first instance always is).
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Token Evolution must send on webhooks (16+ characters); absent or empty: none.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl From<CreateInstanceRequest> for NewInstanceInput {
    fn from(r: CreateInstanceRequest) -> Self {
        Self {
            name: r.name,
            evolution_url: r.evolution_url,
            evolution_key: r.evolution_key,
            whatsapp_instance: r.whatsapp_instance,
            session_id_prefix: r.session_id_prefix,
            agent_kind: r.agent_kind,
            agent_options: r.agent_options,
            agent_api_url: r.agent_api_url,
            agent_api_key: r.agent_api_key.unwrap_or_default(),
            default_agent: r.default_agent,
            agent_timeout: r.agent_timeout,
            is_default: r.is_default,
            webhook_secret: r.webhook_secret,
        }
    }
}

/// Body of `PUT /api/v1/instances/{name}`: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInstanceRequest {
    /// New Evolution URL; empty string clears it.
    #[serde(default)]
    pub evolution_url: Option<String>,
    /// New Evolution key; empty string clears it.
    #[serde(default)]
    pub evolution_key: Option<String>,
    /// New Evolution instance name.
    #[serde(default)]
    pub whatsapp_instance: Option<String>,
    /// New session prefix; empty string clears it.
    #[serde(default)]
    pub session_id_prefix: Option<String>,
    /// New agent kind; its options start from `agent_options` (none when absent).
    #[serde(default)]
    pub agent_kind: Option<String>,
    /// Options to set, together with `agent_kind`: the same kind merges them into the
    /// stored options (`null` removes one), another kind starts from them.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub agent_options: Option<serde_json::Value>,
    /// New agent API URL.
    #[serde(default)]
    pub agent_api_url: Option<String>,
    /// New agent API key; empty string removes it (refused while the kind needs one).
    #[serde(default)]
    pub agent_api_key: Option<String>,
    /// New agent name.
    #[serde(default)]
    pub default_agent: Option<String>,
    /// New timeout in seconds (1-3600); `60.0` is read as 60.
    #[serde(default, deserialize_with = "whole_seconds")]
    pub agent_timeout: Option<i64>,
    /// `true` makes it the default; `false` is refused (make another instance the default).
    #[serde(default)]
    pub is_default: Option<bool>,
    /// New webhook token (16+ characters); empty string removes it.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl From<UpdateInstanceRequest> for InstanceChangesInput {
    fn from(r: UpdateInstanceRequest) -> Self {
        Self {
            evolution_url: r.evolution_url,
            evolution_key: r.evolution_key,
            whatsapp_instance: r.whatsapp_instance,
            session_id_prefix: r.session_id_prefix,
            agent_kind: r.agent_kind,
            agent_options: r.agent_options,
            agent_api_url: r.agent_api_url,
            agent_api_key: r.agent_api_key,
            default_agent: r.default_agent,
            agent_timeout: r.agent_timeout,
            is_default: r.is_default,
            webhook_secret: r.webhook_secret,
        }
    }
}

/// Paging of `GET /api/v1/instances`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Instances to skip (default 0).
    pub skip: Option<i64>,
    /// Most instances to return, 1-1000 (default 100).
    pub limit: Option<i64>,
}

/// Options of `DELETE /api/v1/instances/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Required to delete the last instance.
    pub force: Option<bool>,
}

/// Body of `/health` and `/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `ok`, `ready` or `unavailable`.
    pub status: &'static str,
    /// Database engine, for `/ready`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Why `/ready` is `unavailable` (the details are in the server log, not here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// A whole number of seconds, written as an integer or as a float without a fraction
/// (`60.0`, as JSON Schema counts integers); anything else is refused.
fn whole_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    number
        .as_i64()
        .or_else(|| {
            // Beyond 2^53 a float is no longer exact; such a value is out of range anyway.
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("agent_timeout must be a whole number of seconds"))
}
