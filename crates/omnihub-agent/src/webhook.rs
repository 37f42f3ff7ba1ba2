//! A generic webhook in Evolution Bot's contract: `POST {agent_api_url}` with `query`, `user`
//! and `inputs` (`sessionId`, `remoteJid`, `pushName`, `instanceName`, `messageId`), a Bearer
//! key when one is set. The reply is `message`: a string, or an array of strings sent as
//! separate WhatsApp messages; a missing or empty `message` means no reply.

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};
use serde_json::{json, Value};

use crate::content::{join_bubbles, prompt_text};
use crate::http::{exchange, timeout_of, with_bearer};
use crate::AgentError;

const KIND: AgentKind = AgentKind::Webhook;

/// Calls the endpoint once.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let request = with_bearer(
        http.post(instance.agent_api_url.as_str())
            .json(&request_body(turn)),
        instance,
    );
    let answered = exchange(KIND, request, timeout_of(instance)).await?;
    let json = answered.json(KIND)?;
    match json.get("message") {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(AgentReply::text(strip_quotes(text))),
        Some(Value::Array(items)) => {
            let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            let texts = texts.ok_or_else(|| {
                AgentError::Decode("the webhook's `message` array holds something other than strings".into())
            })?;
            match join_bubbles(&texts) {
                joined if joined.is_empty() => {
                    Ok(AgentReply::no_reply("the webhook answered an empty `message`"))
                }
                joined => Ok(AgentReply::text(joined)),
            }
        }
        Some(Value::String(_)) | Some(Value::Null) | None => {
            Ok(AgentReply::no_reply("the webhook answered without a `message`"))
        }
        Some(_) => Err(AgentError::Decode(
            "the webhook's `message` is neither a string nor a list of strings".into(),
        )),
    }
}

/// The request body.
pub fn request_body(turn: &AgentTurn<'_>) -> Value {
    let message = turn.message;
    json!({
        "query": prompt_text(message, false),
        "user": message.author.as_deref().unwrap_or(&message.chat_id),
        "inputs": {
            "sessionId": turn.session,
            "remoteJid": message.chat_id,
            "pushName": message.sender_name,
            "instanceName": turn.instance,
            "messageId": message.message_id,
        },
    })
}

/// Evolution strips one pair of single quotes around a reply that has no other quote.
fn strip_quotes(text: &str) -> String {
    match text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Some(inner) if !inner.contains('\'') => inner.to_owned(),
        _ => text.to_owned(),
    }
}
