//! Flowise chatflows: `POST {agent_api_url}/api/v1/prediction/{default_agent}` with
//! `question` and `overrideConfig.sessionId` (and `chatId`), a Bearer key when one is set;
//! the reply is `text`. Flowise keeps the memory keyed by the session. It answers most
//! failures with 500, so the message decides: a wrong key or an unknown chatflow is
//! permanent whatever the status says.

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};
use serde_json::{json, Value};

use crate::content::{image_url, prompt_text};
use crate::http::{endpoint, exchange, timeout_of, with_bearer};
use crate::AgentError;

const KIND: AgentKind = AgentKind::Flowise;

/// Runs the chatflow once.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let url = endpoint(
        instance.agent_api_url.as_str(),
        &["api", "v1", "prediction", instance.default_agent.as_str()],
    )?;
    let request = with_bearer(http.post(url).json(&request_body(turn)), instance);
    let answered = exchange(KIND, request, timeout_of(instance))
        .await
        .map_err(classify)?;
    let json = answered.json(KIND)?;
    match json.get("text") {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(AgentReply::text(text.clone())),
        _ => Err(AgentError::Decode("the flowise answer has no text".into())),
    }
}

/// The request body; an image goes as an upload (a data URI from base64, else its URL).
pub fn request_body(turn: &AgentTurn<'_>) -> Value {
    let message = turn.message;
    let mut body = json!({
        "question": prompt_text(message, true),
        "streaming": false,
        "chatId": turn.session,
        "overrideConfig": {"sessionId": turn.session, "vars": {"remoteJid": message.chat_id}},
    });
    if let Some(url) = image_url(message) {
        let mime = message
            .content
            .media
            .as_ref()
            .and_then(|m| m.mime_type.clone())
            .unwrap_or_else(|| "image/jpeg".into());
        let kind = if url.starts_with("data:") { "file" } else { "url" };
        body["uploads"] = json!([{"type": kind, "name": "image", "mime": mime, "data": url}]);
    }
    body
}

/// Flowise's 500s for a wrong key ("Unauthorized") or a missing chatflow ("not found") are
/// permanent; other 500s (a failing model) stay transient.
pub fn classify(err: AgentError) -> AgentError {
    match err {
        AgentError::Status {
            status: 500, message, ..
        } if ["unauthorized", "not found", "invalid"]
            .iter()
            .any(|word| message.to_ascii_lowercase().contains(word)) =>
        {
            AgentError::Refused {
                backend: KIND,
                message,
            }
        }
        other => other,
    }
}
