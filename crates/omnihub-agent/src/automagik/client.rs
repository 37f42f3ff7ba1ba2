//! The Automagik `run` call: a timeout per call, classified errors, the reply read leniently.

use std::time::Duration;

use omnihub_domain::{AgentReply, AgentTurn, HttpUrl, InstanceConfig, PathName};
use serde_json::Value;

use super::AgentRequest;
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
    let url = endpoint(&instance.agent_api_url, &instance.default_agent)?;
    let timeout = Duration::from_secs(u64::from(instance.agent_timeout.secs()));
    let request = AgentRequest::from_message(turn.message, turn.session.to_owned());
    let response = http
        .post(url)
        .timeout(timeout)
        .header("x-api-key", instance.agent_api_key.expose())
        .json(&request)
        .send()
        .await
        .map_err(|e| transport(&e, timeout.as_secs()))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| transport(&e, timeout.as_secs()))?;
    match status {
        200..=299 => {
            let text = reply_text(&body)?;
            if text.trim_start().starts_with("AUTOMAGIK:") {
                return Ok(AgentReply::no_reply(
                    "not sent: the agent's reply starts with AUTOMAGIK:",
                ));
            }
            Ok(AgentReply::text(text))
        }
        429 => Err(AgentError::RateLimited),
        _ => Err(AgentError::Status {
            status,
            body: body.chars().take(300).collect(),
        }),
    }
}

fn endpoint(base: &HttpUrl, agent: &PathName) -> Result<url::Url, AgentError> {
    let mut url = url::Url::parse(base.as_str()).map_err(|e| AgentError::Request(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| AgentError::Request("the agent URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(["api", "v1", "agent", agent.as_str(), "run"]);
    Ok(url)
}

/// The reply text of a successful answer.
pub fn reply_text(body: &str) -> Result<String, AgentError> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Ok(body.to_owned());
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

fn transport(err: &reqwest::Error, timeout_secs: u64) -> AgentError {
    if err.is_timeout() {
        return AgentError::Timeout(timeout_secs);
    }
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut text = String::from("request failed");
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    if err.is_builder() {
        AgentError::Request(text)
    } else {
        AgentError::Connect(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_from_message_or_message_content_or_plain_text() {
        assert_eq!(reply_text(r#"{"message":"hi","session_id":"s"}"#).unwrap(), "hi");
        assert_eq!(reply_text(r#"{"message":{"content":"hello"}}"#).unwrap(), "hello");
        assert_eq!(reply_text("plain answer").unwrap(), "plain answer");
        assert_eq!(
            reply_text(r#""quoted json string""#).unwrap(),
            "quoted json string"
        );
        assert!(matches!(
            reply_text(r#"{"answer":"x"}"#),
            Err(AgentError::Decode(_))
        ));
        assert!(matches!(
            reply_text(r#"{"message":5}"#),
            Err(AgentError::Decode(_))
        ));
    }

    #[test]
    fn the_run_endpoint_encodes_the_agent_name() {
        let base = HttpUrl::parse("agent_api_url", "http://agents:8000/prefix").unwrap();
        let agent = PathName::parse("default_agent", "sofia v2").unwrap();
        assert_eq!(
            endpoint(&base, &agent).unwrap().as_str(),
            "http://agents:8000/prefix/api/v1/agent/sofia%20v2/run"
        );
    }
}
