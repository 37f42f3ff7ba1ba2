//! The HTTP exchange every protocol shares: a timeout per call, no redirects followed, a
//! bounded body, `Retry-After` read, and a failed status turned into an [`AgentError`]
//! carrying the backend's own message.

use std::time::Duration;

use omnihub_domain::hygiene::redirect_host;
use omnihub_domain::{AgentKind, InstanceConfig};
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use serde_json::Value;

use crate::AgentError;

/// The largest agent answer read; a reply is cut to far less before it is sent, and a body
/// this large is not a chat answer.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The longest `Retry-After` honoured; a backend asking for more is retried after this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A successful (2xx) answer.
pub(crate) struct Answered {
    /// The body, as UTF-8 text.
    pub body: String,
    /// Whether the answer declared itself JSON.
    pub declared_json: bool,
}

impl Answered {
    /// The body as JSON, or a clear error naming the backend.
    pub fn json(&self, backend: AgentKind) -> Result<Value, AgentError> {
        serde_json::from_str(&self.body)
            .map_err(|e| AgentError::Unreadable(format!("the {backend} answer is not JSON ({e})")))
    }
}

/// The instance's `agent_timeout`.
pub(crate) fn timeout_of(instance: &InstanceConfig) -> Duration {
    Duration::from_secs(u64::from(instance.agent_timeout.secs()))
}

/// `request` with the instance's key as `Authorization: Bearer`, when it has one.
pub(crate) fn with_bearer(
    request: reqwest::RequestBuilder,
    instance: &InstanceConfig,
) -> reqwest::RequestBuilder {
    match &instance.agent_api_key {
        Some(key) => request.bearer_auth(key.expose()),
        None => request,
    }
}

/// Sends `request` and reads its answer: 2xx → [`Answered`], anything else → the error.
pub(crate) async fn exchange(
    backend: AgentKind,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Answered, AgentError> {
    let secs = timeout.as_secs();
    let response = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport(&e, secs))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if (300..400).contains(&status) {
        return Err(AgentError::Redirected {
            status,
            host: redirect_host(headers.get(LOCATION).and_then(|v| v.to_str().ok())),
        });
    }
    let body = read_bounded(response, secs).await?;
    if !(200..300).contains(&status) {
        return Err(AgentError::Status {
            backend,
            status,
            message: error_message(&body),
            retry_after: retry_after(&headers),
        });
    }
    let body =
        String::from_utf8(body).map_err(|_| AgentError::Unreadable("the answer is not UTF-8 text".into()))?;
    let declared_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    Ok(Answered { body, declared_json })
}

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

/// What a failed answer says: the JSON error message of any protocol (`error.message`,
/// `message`, `error`), else the start of the body.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let from_json = serde_json::from_str::<Value>(&text).ok().and_then(|json| {
        [
            json.pointer("/error/message"),
            json.get("message"),
            json.get("error"),
        ]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_owned))
    });
    let message = from_json.unwrap_or_else(|| text.trim().to_owned());
    let mut short: String = message.chars().take(300).collect();
    if message.chars().count() > 300 {
        short.push('…');
    }
    short
}

/// `Retry-After` (seconds) or `retry-after-ms`, capped.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let wait = if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        Duration::try_from_secs_f64(ms / 1000.0).ok()
    } else {
        header(RETRY_AFTER.as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
    };
    wait.map(|w| w.min(MAX_RETRY_AFTER))
}

/// A transport failure: a timeout, a connection error, or a request that cannot be built.
pub(crate) fn transport(err: &reqwest::Error, timeout_secs: u64) -> AgentError {
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

/// `base` with `segments` appended as path segments (each percent-encoded).
pub(crate) fn endpoint(base: &str, segments: &[&str]) -> Result<url::Url, AgentError> {
    let mut url = url::Url::parse(base).map_err(|e| AgentError::Request(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| AgentError::Request("the agent URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_from_every_protocols_shape() {
        let openai = br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}"#;
        assert_eq!(error_message(openai), "Incorrect API key");
        let dify = br#"{"status":404,"code":"not_found","message":"Conversation Not Exists."}"#;
        assert_eq!(error_message(dify), "Conversation Not Exists.");
        assert_eq!(error_message(b"Forbidden"), "Forbidden");
        assert_eq!(error_message(&[b'x'; 400]).chars().count(), 301);
    }

    #[test]
    fn retry_after_reads_seconds_or_milliseconds_and_is_capped() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut far = HeaderMap::new();
        far.insert("retry-after", "99999".parse().unwrap());
        assert_eq!(retry_after(&far), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn endpoints_append_encoded_segments() {
        let url = endpoint("http://agents:8000/v1/", &["chat", "a b"]).unwrap();
        assert_eq!(url.as_str(), "http://agents:8000/v1/chat/a%20b");
    }
}
