//! The Evolution REST client: `sendText` and `sendPresence` with one pooled HTTP client.

use std::time::Duration;

use omnihub_domain::{HttpUrl, PathName, Secret};
use serde_json::{json, Value};

use crate::answers::status_error;
use crate::EvolutionError;

/// Where and as whom to call Evolution: always the instance's own configuration, never
/// anything from a webhook body.
#[derive(Debug, Clone, Copy)]
pub struct EvolutionTarget<'a> {
    /// The Evolution server, e.g. `https://evo.example.com`.
    pub base_url: &'a HttpUrl,
    /// The `apikey` header.
    pub api_key: &'a Secret,
    /// The instance name on that server.
    pub instance: &'a PathName,
}

/// A typing indicator state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// "typing…".
    Composing,
    /// Stop typing.
    Paused,
}

/// Calls the Evolution API. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct EvolutionClient {
    http: reqwest::Client,
    timeout: Duration,
}

impl EvolutionClient {
    /// A client whose every call gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, EvolutionError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            // A redirect would carry the `apikey` header to whatever host it names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EvolutionError::Request(e.to_string()))?;
        Ok(Self { http, timeout })
    }

    /// `POST {base}/message/sendText/{instance}` with `{number, text}`; `number` is the chat
    /// JID exactly as received (`@lid` and `@g.us` included).
    pub async fn send_text(
        &self,
        target: EvolutionTarget<'_>,
        number: &str,
        text: &str,
    ) -> Result<(), EvolutionError> {
        self.post(
            target,
            &["message", "sendText"],
            &json!({ "number": number, "text": text }),
        )
        .await
    }

    /// `POST {base}/chat/sendPresence/{instance}`. Evolution holds the call for `delay`,
    /// so callers run it alongside the work it announces.
    pub async fn send_presence(
        &self,
        target: EvolutionTarget<'_>,
        number: &str,
        presence: Presence,
        delay: Duration,
    ) -> Result<(), EvolutionError> {
        let presence = match presence {
            Presence::Composing => "composing",
            Presence::Paused => "paused",
        };
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let body = json!({ "number": number, "presence": presence, "delay": delay_ms });
        self.post(target, &["chat", "sendPresence"], &body).await
    }

    pub(crate) async fn post(
        &self,
        target: EvolutionTarget<'_>,
        path: &[&str],
        body: &Value,
    ) -> Result<(), EvolutionError> {
        let url = endpoint(target.base_url, path, target.instance)?;
        let response = self
            .http
            .post(url)
            .header("apikey", target.api_key.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap_or_default();
        Err(status_error(status, &text, location.as_deref()))
    }

    /// The pooled HTTP client (no redirects, the configured timeouts).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn transport(&self, err: &reqwest::Error) -> EvolutionError {
        // Only a request that could not be built is permanent: a connection refused, reset
        // or closed before the answer was complete may succeed on the next attempt.
        if err.is_timeout() {
            EvolutionError::Timeout(self.timeout.as_secs().max(1))
        } else if err.is_builder() {
            EvolutionError::Request(without_url(err))
        } else {
            EvolutionError::Connect(without_url(err))
        }
    }
}

/// `{base}/{path…}/{instance}`, with the instance name percent-encoded as one segment.
fn endpoint(base: &HttpUrl, path: &[&str], instance: &PathName) -> Result<url::Url, EvolutionError> {
    let mut url = url::Url::parse(base.as_str()).map_err(|e| EvolutionError::Request(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| EvolutionError::Request("the Evolution URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(path)
        .push(instance.as_str());
    Ok(url)
}

/// reqwest's messages include the URL; ours must not carry query strings or hosts twice.
pub(crate) fn without_url(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut text = String::new();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    if text.is_empty() {
        "request failed".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_encode_the_instance_as_one_segment() {
        let base = HttpUrl::parse("evolution_url", "https://evo.example.com/base").unwrap();
        let instance = PathName::parse("whatsapp_instance", "Minha Loja").unwrap();
        let url = endpoint(&base, &["message", "sendText"], &instance).unwrap();
        assert_eq!(
            url.as_str(),
            "https://evo.example.com/base/message/sendText/Minha%20Loja"
        );
    }

    #[test]
    fn transient_errors_are_timeouts_connections_429_and_5xx() {
        assert!(EvolutionError::Timeout(5).is_transient());
        assert!(EvolutionError::RateLimited.is_transient());
        assert!(EvolutionError::Status {
            status: 502,
            message: String::new()
        }
        .is_transient());
        assert!(!EvolutionError::Status {
            status: 400,
            message: String::new()
        }
        .is_transient());
        assert!(!EvolutionError::Status {
            status: 401,
            message: String::new()
        }
        .is_transient());
    }
}
