//! Kind-specific agent settings (`agent_options`): which options each [`AgentKind`] accepts,
//! their rules and defaults. One flat, validated struct; a kind only ever has its own options
//! set, so a protocol reads the ones it knows and nothing else.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::{AgentKind, DomainError, Secret};

/// How many earlier turns an `openai` instance resends when `history_turns` is not set.
pub const DEFAULT_HISTORY_TURNS: u32 = 10;
/// How long an idle Typebot session lasts when `expire_minutes` is not set.
pub const DEFAULT_TYPEBOT_EXPIRE_MINUTES: u32 = 60;
/// Dify's output variable read from a workflow run when `workflow_output` is not set.
pub const DEFAULT_WORKFLOW_OUTPUT: &str = "text";

/// The most Dify input variables an instance sends.
pub const MAX_INPUTS: usize = 100;

/// Which Dify API an instance calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifyAppType {
    /// Chatbot or chatflow: `/chat-messages`, blocking.
    #[default]
    Chat,
    /// Agent apps: `/chat-messages`, streaming only (reassembled).
    Agent,
    /// Workflow apps: `/workflows/run`, stateless.
    Workflow,
}

/// Validated `agent_options`. Serializing masks the secret; [`AgentOptions::to_stored`]
/// is the one place its value is written out (to the database).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentOptions {
    /// `openai`: the system message sent first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// `openai`: earlier turns resent (default 10; 0 = stateless).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_turns: Option<u32>,
    /// `openai`: sampling temperature, 0 to 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Number>,
    /// `openai`: the reply's token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// `dify`: which API the app is called through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_type: Option<DifyAppType>,
    /// `dify`: the app's input variables, sent with every call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Map<String, Value>>,
    /// `dify`: the workflow output variable holding the reply (default `text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_output: Option<String>,
    /// `n8n`: Basic auth user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_user: Option<String>,
    /// `n8n`: Basic auth password (masked when shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_password: Option<Secret>,
    /// `typebot`: idle minutes after which a new session is started (default 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_minutes: Option<u32>,
}

/// The options each kind accepts, in the order documentation lists them.
pub fn options_of(kind: AgentKind) -> &'static [&'static str] {
    match kind {
        AgentKind::Openai => &["system_prompt", "history_turns", "temperature", "max_tokens"],
        AgentKind::Dify => &["app_type", "inputs", "workflow_output"],
        AgentKind::N8n => &["basic_auth_user", "basic_auth_password"],
        AgentKind::Typebot => &["expire_minutes"],
        AgentKind::Automagik | AgentKind::Flowise | AgentKind::Webhook => &[],
    }
}

const FIELD: &str = "agent_options";

fn invalid(rule: String) -> DomainError {
    DomainError::invalid(FIELD, rule)
}

impl AgentOptions {
    /// Validates `options` (a JSON object) for `kind`. Every rejection names the option;
    /// an option `kind` does not have is refused, as is a `null` value.
    pub fn parse(kind: AgentKind, options: &Map<String, Value>) -> Result<Self, DomainError> {
        let known = options_of(kind);
        let mut parsed = Self::default();
        for (name, value) in options {
            if !known.contains(&name.as_str()) {
                return Err(unknown(kind, name));
            }
            parsed.set(name, value)?;
        }
        if parsed.basic_auth_user.is_some() != parsed.basic_auth_password.is_some() {
            return Err(invalid(
                "`basic_auth_user` and `basic_auth_password` go together: set both or neither".into(),
            ));
        }
        Ok(parsed)
    }

    fn set(&mut self, name: &str, value: &Value) -> Result<(), DomainError> {
        match name {
            "system_prompt" => self.system_prompt = Some(text(name, value, 20_000)?),
            "history_turns" => self.history_turns = Some(whole(name, value, 0, 100)?),
            "temperature" => match value {
                Value::Number(n) if n.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t)) => {
                    self.temperature = Some(n.clone());
                }
                _ => return Err(invalid(format!("`{name}` must be a number from 0 to 2"))),
            },
            "max_tokens" => self.max_tokens = Some(whole(name, value, 1, 1_000_000)?),
            "app_type" => {
                self.app_type = Some(match value.as_str() {
                    Some("chat") => DifyAppType::Chat,
                    Some("agent") => DifyAppType::Agent,
                    Some("workflow") => DifyAppType::Workflow,
                    _ => return Err(invalid(format!("`{name}` must be chat, agent or workflow"))),
                });
            }
            "inputs" => match value {
                Value::Object(map) if map.len() <= MAX_INPUTS => self.inputs = Some(map.clone()),
                _ => {
                    return Err(invalid(format!(
                        "`{name}` must be a JSON object of at most {MAX_INPUTS} variables"
                    )))
                }
            },
            "workflow_output" => self.workflow_output = Some(text(name, value, 200)?),
            "basic_auth_user" => {
                let user = text(name, value, 200)?;
                if user.contains(':') {
                    return Err(invalid(format!("`{name}` cannot contain `:`")));
                }
                self.basic_auth_user = Some(user);
            }
            "basic_auth_password" => {
                let password = value
                    .as_str()
                    .ok_or_else(|| invalid(format!("`{name}` must be a string")))?;
                self.basic_auth_password =
                    Some(Secret::parse(FIELD, password).map_err(|_| {
                        invalid(format!("`{name}` must be 1 to 4096 characters without spaces"))
                    })?);
            }
            "expire_minutes" => self.expire_minutes = Some(whole(name, value, 1, 43_200)?),
            _ => return Err(invalid(format!("unknown option `{name}`"))),
        }
        Ok(())
    }

    /// The options as JSON with the secret's real value, for storage only.
    pub fn to_stored(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()));
        if let (Some(secret), Value::Object(map)) = (&self.basic_auth_password, &mut value) {
            map.insert(
                "basic_auth_password".into(),
                Value::String(secret.expose().to_owned()),
            );
        }
        value
    }

    /// `history_turns`, or its default.
    pub fn history_turns(&self) -> u32 {
        self.history_turns.unwrap_or(DEFAULT_HISTORY_TURNS)
    }

    /// `expire_minutes`, or its default.
    pub fn expire_minutes(&self) -> u32 {
        self.expire_minutes.unwrap_or(DEFAULT_TYPEBOT_EXPIRE_MINUTES)
    }

    /// `workflow_output`, or its default.
    pub fn workflow_output(&self) -> &str {
        self.workflow_output.as_deref().unwrap_or(DEFAULT_WORKFLOW_OUTPUT)
    }

    /// `app_type`, or its default.
    pub fn app_type(&self) -> DifyAppType {
        self.app_type.unwrap_or_default()
    }

    /// Checks options given in an update before they are merged: each names an option of
    /// `kind`, and the n8n Basic auth pair is given together (both set, both removed with
    /// `null`, or neither).
    pub fn check_given(kind: AgentKind, given: &Map<String, Value>) -> Result<(), DomainError> {
        // Even a `null` (remove) must name an option of the kind.
        let known = options_of(kind);
        if let Some(name) = given.keys().find(|name| !known.contains(&name.as_str())) {
            return Err(unknown(kind, name));
        }
        let state = |name: &str| match given.get(name) {
            None => 0,
            Some(Value::Null) => 1,
            Some(_) => 2,
        };
        if kind == AgentKind::N8n && state("basic_auth_user") != state("basic_auth_password") {
            return Err(invalid(
                "`basic_auth_user` and `basic_auth_password` go together: set both, remove both, or give neither".into(),
            ));
        }
        Ok(())
    }

    /// Applies a partial update to the options of an instance whose kind stays `kind`:
    /// given keys replace stored ones, a `null` removes one.
    pub fn merged(&self, kind: AgentKind, changes: &Map<String, Value>) -> Result<Self, DomainError> {
        let mut map = match self.to_stored() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        for (name, value) in changes {
            if value.is_null() {
                map.remove(name);
            } else {
                map.insert(name.clone(), value.clone());
            }
        }
        Self::parse(kind, &map)
    }
}

/// The error for an option `kind` does not have, listing the ones it has.
fn unknown(kind: AgentKind, name: &str) -> DomainError {
    let accepted = match options_of(kind) {
        [] => format!("agent_kind {kind} takes no options"),
        known => format!("agent_kind {kind} takes {}", known.join(", ")),
    };
    invalid(format!("unknown option `{name}`: {accepted}"))
}

fn text(name: &str, value: &Value, max: usize) -> Result<String, DomainError> {
    match value.as_str() {
        Some(s) if !s.is_empty() && s.chars().count() <= max => Ok(s.to_owned()),
        _ => Err(invalid(format!(
            "`{name}` must be a non-empty string of at most {max} characters"
        ))),
    }
}

/// A whole number in `min..=max`; `6.0` counts (JSON Schema's integers include it).
fn whole(name: &str, value: &Value, min: u64, max: u64) -> Result<u32, DomainError> {
    let number = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= max as f64)
            .map(|f| f as u64)
    });
    number
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(format!("`{name}` must be a whole number from {min} to {max}")))
}

#[cfg(test)]
mod tests;
