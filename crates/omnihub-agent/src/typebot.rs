//! Published Typebots: `POST {url}/api/v1/typebots/{default_agent}/startChat` on a chat's
//! first message (or after `expire_minutes` idle), `POST {url}/api/v1/sessions/{id}/continueChat`
//! after. The reply is the returned bubbles in order, each its own WhatsApp message (choices
//! as `▶️` lines). omnihub keeps `{"session_id", "last_used"}`; when Typebot says the session
//! expired or is not found, it starts again once.

use chrono::{DateTime, Utc};
use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};
use serde_json::{json, Value};

use crate::content::{body_text, join_bubbles};
use crate::http::{endpoint, exchange, timeout_of, with_bearer};
use crate::AgentError;

const KIND: AgentKind = AgentKind::Typebot;

/// Sends the turn to the bot, starting a session when there is no live one.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let expire_secs = i64::from(instance.agent_options.expire_minutes()) * 60;
    match live_session(turn.state, turn.now, expire_secs) {
        Some(session) => match call(http, instance, turn, Some(session)).await {
            Err(err) if session_gone(&err) => {
                tracing::info!(error = %err, "the Typebot session is gone; starting a new one");
                call(http, instance, turn, None).await
            }
            other => other,
        },
        None => call(http, instance, turn, None).await,
    }
}

/// The stored session id, unless it has been idle `expire_secs` or longer at `now`.
pub fn live_session(state: Option<&Value>, now: DateTime<Utc>, expire_secs: i64) -> Option<&str> {
    let state = state?;
    let id = state
        .get("session_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())?;
    let last_used = state.get("last_used").and_then(Value::as_i64)?;
    (now.timestamp() - last_used < expire_secs).then_some(id)
}

/// Typebot's 404 "Session not found." / "Session expired. You need to start a new session."
fn session_gone(err: &AgentError) -> bool {
    matches!(err, AgentError::Status { status: 404, message, .. } if message.to_ascii_lowercase().contains("session"))
}

async fn call(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
    session: Option<&str>,
) -> Result<AgentReply, AgentError> {
    let base = instance.agent_api_url.as_str();
    let (url, body) = match session {
        Some(id) => (
            endpoint(base, &["api", "v1", "sessions", id, "continueChat"])?,
            continue_body(turn),
        ),
        None => (
            endpoint(
                base,
                &[
                    "api",
                    "v1",
                    "typebots",
                    instance.default_agent.as_str(),
                    "startChat",
                ],
            )?,
            start_body(turn),
        ),
    };
    let request = with_bearer(http.post(url).json(&body), instance);
    let answered = exchange(KIND, request, timeout_of(instance))
        .await
        .map_err(|err| match (session, err) {
            // A fresh start answered "session expired": starting again cannot help.
            (None, err) if session_gone(&err) => AgentError::Refused {
                backend: KIND,
                message: err.to_string(),
            },
            (_, err) => err,
        })?;
    let json = answered.json(KIND)?;
    let id = match session {
        Some(id) => id.to_owned(),
        None => json
            .get("sessionId")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| AgentError::Decode("the typebot startChat answer has no sessionId".into()))?
            .to_owned(),
    };
    let state = json!({"session_id": id, "last_used": turn.now.timestamp()});
    let text = join_bubbles(&bubbles(&json));
    let reply = if text.is_empty() {
        AgentReply::no_reply("the typebot answered no messages")
    } else {
        AgentReply::text(text)
    };
    Ok(reply.with_state(state))
}

/// The `startChat` body: the first message, the chat's facts as prefilled variables, and
/// markdown bubbles (WhatsApp-like formatting, not Slate trees).
pub fn start_body(turn: &AgentTurn<'_>) -> Value {
    let message = turn.message;
    json!({
        "message": {"type": "text", "text": body_text(message)},
        "prefilledVariables": {
            "remoteJid": message.chat_id,
            "pushName": message.sender_name,
            "instanceName": turn.instance,
        },
        "isStreamEnabled": false,
        "textBubbleContentFormat": "markdown",
    })
}

/// The `continueChat` body.
pub fn continue_body(turn: &AgentTurn<'_>) -> Value {
    json!({"message": {"type": "text", "text": body_text(turn.message)}, "textBubbleContentFormat": "markdown"})
}

/// The text of each bubble in order (media bubbles as their URL), then the choices offered.
pub fn bubbles(json: &Value) -> Vec<String> {
    let mut texts: Vec<String> = json
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|bubble| {
            let content = bubble.get("content")?;
            match bubble.get("type").and_then(Value::as_str)? {
                "text" => content
                    .get("markdown")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| content.get("richText").map(rich_text)),
                _ => content.get("url").and_then(Value::as_str).map(str::to_owned),
            }
        })
        .collect();
    let choices: Vec<String> = json
        .pointer("/input/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("content").and_then(Value::as_str))
        .map(|choice| format!("▶️ {choice}"))
        .collect();
    if !choices.is_empty() {
        texts.push(choices.join("\n"));
    }
    texts
}

/// The plain text of a Slate rich-text tree: leaves' `text`, one line per top-level block.
fn rich_text(tree: &Value) -> String {
    fn leaves(node: &Value, out: &mut String) {
        if let Some(text) = node.get("text").and_then(Value::as_str) {
            out.push_str(text);
        }
        for child in node
            .get("children")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            leaves(child, out);
        }
    }
    let blocks = tree.as_array().cloned().unwrap_or_default();
    blocks
        .iter()
        .map(|block| {
            let mut line = String::new();
            leaves(block, &mut line);
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}
