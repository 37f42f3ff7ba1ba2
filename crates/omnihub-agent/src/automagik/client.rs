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
    if (300..400).contains(&status) {
        return Err(AgentError::Redirected {
            status,
            host: omnihub_domain::hygiene::redirect_host(
                response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok()),
            ),
        });
    }
    let declared_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let body = read_bounded(response, timeout.as_secs()).await?;
    match status {
        200..=299 => {
            let body = String::from_utf8(body)
                .map_err(|_| AgentError::Unreadable("the answer is not UTF-8 text".into()))?;
            // Markup and control characters are refused by the pipeline, for every backend.
            let text = reply_text(&body, declared_json)?;
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
            body: String::from_utf8_lossy(&body).chars().take(300).collect(),
        }),
    }
}

/// The largest agent answer read; a reply is cut to far less before it is sent, and a body
/// this large is not a chat answer.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The body, refusing one larger than [`MAX_ANSWER_BYTES`] without holding more of it.
async fn read_bounded(mut response: reqwest::Response, timeout_secs: u64) -> Result<Vec<u8>, AgentError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e, timeout_secs))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(AgentError::Unreadable(format!(
                "the answer is larger than {} MiB",
                MAX_ANSWER_BYTES / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn endpoint(base: &HttpUrl, agent: &PathName) -> Result<url::Url, AgentError> {
    let mut url = url::Url::parse(base.as_str()).map_err(|e| AgentError::Request(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| AgentError::Request("the agent URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(["api", "v1", "agent", agent.as_str(), "run"]);
    Ok(url)
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
