//! OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, LiteLLM, OpenRouter):
//! `POST {agent_api_url}/chat/completions`, `Authorization: Bearer` when a key is set, the
//! system prompt, the stored history and the new message; the reply is
//! `choices[0].message.content`. The server keeps no conversation, so omnihub stores the
//! last `history_turns` turns as the conversation's state (`{"turns": [...]}`).

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};
use serde_json::{json, Value};

use crate::content::{image_url, prompt_text};
use crate::http::{endpoint, exchange, timeout_of, with_bearer};
use crate::AgentError;

const KIND: AgentKind = AgentKind::Openai;

/// Asks the model for the next turn of the conversation.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let body = request_body(instance, turn);
    let request = with_bearer(
        http.post(endpoint(
            instance.agent_api_url.as_str(),
            &["chat", "completions"],
        )?)
        .json(&body),
        instance,
    );
    let answered = exchange(KIND, request, timeout_of(instance)).await?;
    let json = answered.json(KIND)?;
    let text = reply_of(&json)?;
    let keep = instance.agent_options.history_turns() as usize * 2;
    if keep == 0 {
        return Ok(AgentReply::text(text));
    }
    let mut turns = stored_turns(turn.state);
    turns.push(json!({"role": "user", "content": prompt_text(turn.message, true)}));
    turns.push(json!({"role": "assistant", "content": text}));
    let start = turns.len().saturating_sub(keep);
    let state = json!({ "turns": turns.split_off(start) });
    Ok(AgentReply::text(text).with_state(state))
}

/// The request body: model, messages (system prompt, history, the new message), and the
/// sampling options that are set.
pub fn request_body(instance: &InstanceConfig, turn: &AgentTurn<'_>) -> Value {
    let options = &instance.agent_options;
    let mut messages = Vec::new();
    if let Some(prompt) = &options.system_prompt {
        messages.push(json!({"role": "system", "content": prompt}));
    }
    if options.history_turns() > 0 {
        messages.extend(stored_turns(turn.state));
    }
    let text = prompt_text(turn.message, true);
    let content = match image_url(turn.message) {
        Some(url) => json!([
            {"type": "text", "text": text},
            {"type": "image_url", "image_url": {"url": url}},
        ]),
        None => Value::String(text),
    };
    messages.push(json!({"role": "user", "content": content}));
    let mut body = json!({"model": instance.default_agent.as_str(), "messages": messages});
    if let Some(temperature) = &options.temperature {
        body["temperature"] = Value::Number(temperature.clone());
    }
    if let Some(max_tokens) = options.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    body
}

/// The stored turns (user and assistant messages, oldest first); nothing for a new chat or
/// a state that is not this protocol's.
fn stored_turns(state: Option<&Value>) -> Vec<Value> {
    state
        .and_then(|s| s.get("turns"))
        .and_then(Value::as_array)
        .map(|turns| {
            turns
                .iter()
                .filter(|t| t.get("role").and_then(Value::as_str).is_some() && t.get("content").is_some())
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// `choices[0].message.content`, which must be non-empty text.
fn reply_of(json: &Value) -> Result<String, AgentError> {
    match json.pointer("/choices/0/message/content") {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(Value::String(_)) | Some(Value::Null) => Err(AgentError::Decode(
            "the openai answer's choices[0].message.content is empty".into(),
        )),
        _ => Err(AgentError::Decode(
            "the openai answer has no choices[0].message.content".into(),
        )),
    }
}
