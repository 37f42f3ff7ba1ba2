//! Dify apps. `chat` (chatbot/chatflow): `POST {url}/chat-messages`, blocking, reply `answer`;
//! `agent`: the same route streaming (agent apps refuse blocking), the `message` /
//! `agent_message` chunks reassembled; `workflow`: `POST {url}/workflows/run`, reply
//! `data.outputs.<workflow_output>`, stateless. Chat apps keep the conversation in Dify:
//! omnihub stores its `conversation_id` (`{"conversation_id": "..."}`), and forgets it and
//! retries once when Dify says the conversation no longer exists or has ended.

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, DifyAppType, InstanceConfig};
use serde_json::{json, Map, Value};

use crate::content::prompt_text;
use crate::http::{endpoint, exchange, timeout_of};
use crate::AgentError;

const KIND: AgentKind = AgentKind::Dify;

/// Runs the app once for the turn.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let app_type = instance.agent_options.app_type();
    if app_type == DifyAppType::Workflow {
        return run_workflow(http, instance, turn).await;
    }
    let stored = turn
        .state
        .and_then(|s| s.get("conversation_id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty());
    match chat(http, instance, turn, app_type, stored).await {
        Err(err) if stored.is_some() && conversation_gone(&err) => {
            tracing::info!(error = %err, "the Dify conversation is gone; starting a new one");
            chat(http, instance, turn, app_type, None).await
        }
        other => other,
    }
}

/// Dify's answers for a conversation id it no longer accepts: 404 "Conversation Not
/// Exists." and 400 `conversation_completed`.
fn conversation_gone(err: &AgentError) -> bool {
    match err {
        AgentError::Status { status: 404, .. } => true,
        AgentError::Status {
            status: 400, message, ..
        } => message.to_ascii_lowercase().contains("conversation"),
        _ => false,
    }
}

/// The `/chat-messages` body.
pub fn chat_body(
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
    app_type: DifyAppType,
    conversation: Option<&str>,
) -> Value {
    let mode = match app_type {
        DifyAppType::Agent => "streaming",
        DifyAppType::Chat | DifyAppType::Workflow => "blocking",
    };
    let mut body = json!({
        "inputs": inputs(instance),
        "query": prompt_text(turn.message, true),
        "user": turn.session,
        "response_mode": mode,
    });
    if let Some(id) = conversation {
        body["conversation_id"] = json!(id);
    }
    body
}

fn inputs(instance: &InstanceConfig) -> Map<String, Value> {
    instance.agent_options.inputs.clone().unwrap_or_default()
}

fn request(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    route: &[&str],
    body: &Value,
) -> Result<reqwest::RequestBuilder, AgentError> {
    let key = instance.agent_api_key.as_ref().ok_or_else(|| {
        AgentError::Request("agent_kind dify needs agent_api_key (the app's API key)".into())
    })?;
    Ok(http
        .post(endpoint(instance.agent_api_url.as_str(), route)?)
        .bearer_auth(key.expose())
        .json(body))
}

async fn chat(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
    app_type: DifyAppType,
    conversation: Option<&str>,
) -> Result<AgentReply, AgentError> {
    let body = chat_body(instance, turn, app_type, conversation);
    let answered = exchange(
        KIND,
        request(http, instance, &["chat-messages"], &body)?,
        timeout_of(instance),
    )
    .await?;
    let (answer, conversation_id) = match app_type {
        DifyAppType::Agent => reassemble(&answered.body)?,
        DifyAppType::Chat | DifyAppType::Workflow => {
            let json = answered.json(KIND)?;
            (
                json.get("answer")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                json.get("conversation_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        }
    };
    if answer.trim().is_empty() {
        return Err(AgentError::Decode("the dify answer is empty".into()));
    }
    let reply = AgentReply::text(answer);
    Ok(match conversation_id.filter(|id| !id.is_empty()) {
        Some(id) => reply.with_state(json!({ "conversation_id": id })),
        None => reply,
    })
}

/// The answer and conversation id of a streamed (SSE) reply: `answer` of every `message` and
/// `agent_message` event in order, replaced by a `message_replace`; an `error` event fails.
pub fn reassemble(body: &str) -> Result<(String, Option<String>), AgentError> {
    let mut answer = String::new();
    let mut conversation = None;
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
            continue;
        };
        if let Some(id) = event.get("conversation_id").and_then(Value::as_str) {
            conversation = Some(id.to_owned());
        }
        let text = event.get("answer").and_then(Value::as_str).unwrap_or_default();
        match event.get("event").and_then(Value::as_str) {
            Some("message" | "agent_message") => answer.push_str(text),
            Some("message_replace") => answer = text.to_owned(),
            Some("error") => {
                let status = event.get("status").and_then(Value::as_u64).unwrap_or(500);
                let message = event
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("stream error")
                    .to_owned();
                return Err(AgentError::Status {
                    backend: KIND,
                    status: u16::try_from(status).unwrap_or(500),
                    message,
                    retry_after: None,
                });
            }
            _ => {}
        }
    }
    Ok((answer, conversation))
}

/// The `/workflows/run` body: the app's inputs plus the message as `query`.
pub fn workflow_body(instance: &InstanceConfig, turn: &AgentTurn<'_>) -> Value {
    let mut inputs = inputs(instance);
    inputs.insert("query".into(), json!(prompt_text(turn.message, true)));
    json!({"inputs": inputs, "response_mode": "blocking", "user": turn.session})
}

async fn run_workflow(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let body = workflow_body(instance, turn);
    let answered = exchange(
        KIND,
        request(http, instance, &["workflows", "run"], &body)?,
        timeout_of(instance),
    )
    .await?;
    let json = answered.json(KIND)?;
    let status = json
        .pointer("/data/status")
        .and_then(Value::as_str)
        .unwrap_or("succeeded");
    if status != "succeeded" {
        let error = json
            .pointer("/data/error")
            .and_then(Value::as_str)
            .unwrap_or("no error given");
        return Err(AgentError::Refused {
            backend: KIND,
            message: format!("the workflow run ended {status}: {error}"),
        });
    }
    let output = instance.agent_options.workflow_output();
    match json.pointer("/data/outputs").and_then(|o| o.get(output)) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(AgentReply::text(text.clone())),
        _ => Err(AgentError::Decode(format!(
            "the dify workflow's outputs have no text `{output}` (set agent_options.workflow_output)"
        ))),
    }
}
