//! The Automagik `run` call: a timeout per call, classified errors, the reply read leniently.

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};
use serde_json::Value;

use super::AgentRequest;
use crate::http::{endpoint, exchange, timeout_of};
use crate::AgentError;

/// `POST {agent_api_url}/api/v1/agent/{default_agent}/run` with `x-api-key`, waiting at most
/// the instance's `agent_timeout`. The answer is the JSON `message` (a string, or an object
/// with `content`); a 200 body that is not JSON is the text itself; a reply that starts with
/// `AUTOMAGIK:` is not sent.
pub async fn run(
    http: &reqwest::Client,
    instance: &InstanceConfig,
    turn: &AgentTurn<'_>,
) -> Result<AgentReply, AgentError> {
    let url = endpoint(
        instance.agent_api_url.as_str(),
        &["api", "v1", "agent", instance.default_agent.as_str(), "run"],
    )?;
    let request = AgentRequest::from_message(turn.message, turn.session.to_owned());
    let key = instance
        .agent_api_key
        .as_ref()
        .ok_or_else(|| AgentError::Request("agent_kind automagik needs agent_api_key".into()))?;
    let request = http.post(url).header("x-api-key", key.expose()).json(&request);
    let answered = exchange(AgentKind::Automagik, request, timeout_of(instance)).await?;
    // Markup and control characters are refused by the pipeline, for every backend.
    let text = reply_text(&answered.body, answered.declared_json)?;
    if text.trim_start().starts_with("AUTOMAGIK:") {
        return Ok(AgentReply::no_reply(
            "not sent: the agent's reply starts with AUTOMAGIK:",
        ));
    }
    Ok(AgentReply::text(text))
}

/// The reply text of a successful answer. A body that is not JSON is the text itself,
/// unless the agent declared it JSON (`declared_json`): then it is a broken answer.
pub fn reply_text(body: &str, declared_json: bool) -> Result<String, AgentError> {
    let value = match serde_json::from_str::<Value>(body) {
        Ok(value) => value,
        Err(err) if declared_json => {
            return Err(AgentError::Unreadable(format!(
                "the answer is declared JSON but does not parse ({err})"
            )))
        }
        Err(_) => return Ok(body.to_owned()),
    };
    match value.get("message") {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Object(o)) => match o.get("content") {
            Some(Value::String(text)) => Ok(text.clone()),
            _ => Err(AgentError::Decode("`message` has no string `content`".into())),
        },
        Some(Value::Null) | None => match value {
            Value::String(text) => Ok(text),
            _ => Err(AgentError::Decode("the JSON answer has no `message`".into())),
        },
        Some(_) => Err(AgentError::Decode(
            "`message` is neither a string nor an object".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_from_message_or_message_content_or_plain_text() {
        assert_eq!(
            reply_text(r#"{"message":"hi","session_id":"s"}"#, true).unwrap(),
            "hi"
        );
        assert_eq!(
            reply_text(r#"{"message":{"content":"hello"}}"#, true).unwrap(),
            "hello"
        );
        assert_eq!(reply_text("plain answer", false).unwrap(), "plain answer");
        assert_eq!(
            reply_text(r#""quoted json string""#, true).unwrap(),
            "quoted json string"
        );
        assert!(matches!(
            reply_text(r#"{"answer":"x"}"#, true),
            Err(AgentError::Decode(_))
        ));
        assert!(matches!(
            reply_text(r#"{"message":5}"#, true),
            Err(AgentError::Decode(_))
        ));
    }

    #[test]
    fn truncated_json_declared_as_json_is_unreadable() {
        assert!(matches!(
            reply_text(r#"{"message":"hal"#, true),
            Err(AgentError::Unreadable(_))
        ));
        // Undeclared, it is plain text, as the protocol allows.
        assert!(reply_text(r#"{"message":"hal"#, false).is_ok());
    }
}
