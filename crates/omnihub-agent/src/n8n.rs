//! n8n workflows behind a Webhook node, in the body Evolution's n8n integration sends:
//! `POST {agent_api_url}` (the production webhook URL) with `chatInput`, `sessionId`,
//! `remoteJid`, `pushName`, `messageId`, `fromMe`, `instanceName` and the quoted text;
//! optional Basic auth (`agent_options.basic_auth_user`/`basic_auth_password`), else a Bearer
//! key when one is set. The reply is `output`, else `answer`; never `message`, which is
//! n8n's "Workflow was started" when the node responds immediately. n8n keeps its own memory
//! keyed by `sessionId`.

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};
use serde_json::{json, Value};

use crate::content::{body_text, quote};
use crate::http::{exchange, timeout_of, with_bearer};
use crate::AgentError;

const KIND: AgentKind = AgentKind::N8n;

/// Calls the workflow once.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let request = http
        .post(instance.agent_api_url.as_str())
        .json(&request_body(turn));
    let options = &instance.agent_options;
    let request = match (&options.basic_auth_user, &options.basic_auth_password) {
        (Some(user), Some(password)) => request.basic_auth(user, Some(password.expose())),
        _ => with_bearer(request, instance),
    };
    let answered = exchange(KIND, request, timeout_of(instance)).await?;
    let json = answered.json(KIND)?;
    let reply = ["output", "answer"].into_iter().find_map(|field| {
        json.get(field)
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
    });
    match reply {
        Some(text) => Ok(AgentReply::text(text)),
        None if json.is_array() => Err(AgentError::Decode(
            "the n8n answer is a list; set the Webhook node's Response Data to \"First Entry JSON\"".into(),
        )),
        None => Err(AgentError::Decode(
            "the n8n answer has no `output` (is the Webhook node set to respond when the last node finishes?)".into(),
        )),
    }
}

/// The request body.
pub fn request_body(turn: &AgentTurn<'_>) -> Value {
    let message = turn.message;
    let mut body = json!({
        "chatInput": body_text(message),
        "sessionId": turn.session,
        "remoteJid": message.chat_id,
        "pushName": message.sender_name,
        "messageId": message.message_id,
        "fromMe": false,
        "instanceName": turn.instance,
    });
    if let Some(author) = &message.author {
        body["participant"] = json!(author);
    }
    if let Some(quoted) = quote(message) {
        body["quotedMessage"] = json!({ "conversation": quoted });
    }
    body
}
