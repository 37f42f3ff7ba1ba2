//! Managing an instance on an Evolution server: create, connect (QR or pairing code), state,
//! fetch, webhook set/find, restart, logout, delete. Every call is classified: a 200 whose
//! body says `"error": true` is an error, 503 `LICENSE_REQUIRED` is "not activated".

use serde_json::{json, Value};

use crate::answers::{status_error, ConnectAnswer, RemoteInstance, RemoteWebhook};
use crate::client::without_url;
use crate::{EvolutionClient, EvolutionError};
use omnihub_domain::{HttpUrl, Secret};

/// An Evolution server and its global key.
#[derive(Debug, Clone, Copy)]
pub struct EvolutionServer<'a> {
    /// The server, e.g. `https://evo.example.com`.
    pub base_url: &'a HttpUrl,
    /// The global `apikey`.
    pub api_key: &'a Secret,
}

/// The events omnihub needs from an instance.
pub const WEBHOOK_EVENTS: [&str; 5] = [
    "MESSAGES_UPSERT",
    "CONNECTION_UPDATE",
    "QRCODE_UPDATED",
    "LOGOUT_INSTANCE",
    "REMOVE_INSTANCE",
];

/// The webhook omnihub wants on an instance (`enabled: true`, `byEvents: false`,
/// `base64: true`, [`WEBHOOK_EVENTS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Where Evolution posts.
    pub url: String,
    /// The `x-omnihub-token` header value.
    pub token: String,
}

impl WebhookSettings {
    fn body(&self) -> Value {
        json!({
            "enabled": true,
            "url": self.url,
            "headers": {"x-omnihub-token": self.token},
            "byEvents": false,
            "base64": true,
            "events": WEBHOOK_EVENTS,
        })
    }
}

impl EvolutionClient {
    /// `POST /instance/create` (Baileys, `qrcode: true`, our webhook): the first QR, or the
    /// state when Evolution gave none.
    pub async fn create_instance(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
        number: Option<&str>,
        webhook: &WebhookSettings,
    ) -> Result<ConnectAnswer, EvolutionError> {
        let mut body = json!({
            "instanceName": instance,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": true,
            "webhook": webhook.body(),
        });
        if let Some(number) = number {
            body["number"] = json!(number);
        }
        let answer = self
            .call(
                server,
                reqwest::Method::POST,
                &["instance", "create"],
                None,
                Some(&body),
            )
            .await?;
        match answer.get("qrcode") {
            Some(qr) if qr.is_object() => Ok(ConnectAnswer::parse(qr)),
            _ => Ok(ConnectAnswer::State(
                answer
                    .pointer("/instance/status")
                    .and_then(Value::as_str)
                    .unwrap_or("connecting")
                    .to_owned(),
            )),
        }
    }

    /// `GET /instance/connect/{instance}[?number=]`.
    pub async fn connect(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
        number: Option<&str>,
    ) -> Result<ConnectAnswer, EvolutionError> {
        let query = number.map(|n| ("number", n));
        let answer = self
            .call(
                server,
                reqwest::Method::GET,
                &["instance", "connect", instance],
                query,
                None,
            )
            .await?;
        Ok(ConnectAnswer::parse(&answer))
    }

    /// `GET /instance/connectionState/{instance}`: `open`, `connecting`, `close`, or `None`
    /// when Evolution has not loaded the instance.
    pub async fn connection_state(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
    ) -> Result<Option<String>, EvolutionError> {
        let path = ["instance", "connectionState", instance];
        let answer = self.call(server, reqwest::Method::GET, &path, None, None).await?;
        Ok(answer
            .pointer("/instance/state")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// `GET /instance/fetchInstances[?instanceName=]`.
    pub async fn fetch_instances(
        &self,
        server: EvolutionServer<'_>,
        name: Option<&str>,
    ) -> Result<Vec<RemoteInstance>, EvolutionError> {
        let query = name.map(|n| ("instanceName", n));
        let path = ["instance", "fetchInstances"];
        let answer = self
            .call(server, reqwest::Method::GET, &path, query, None)
            .await?;
        match answer {
            Value::Array(rows) => Ok(rows.iter().map(RemoteInstance::parse).collect()),
            other => Err(EvolutionError::Unexpected(format!(
                "fetchInstances answered {}, not a list",
                kind_of(&other)
            ))),
        }
    }

    /// `POST /webhook/set/{instance}` with our settings; the stored row.
    pub async fn set_webhook(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
        webhook: &WebhookSettings,
    ) -> Result<RemoteWebhook, EvolutionError> {
        let body = json!({ "webhook": webhook.body() });
        let path = ["webhook", "set", instance];
        let answer = self
            .call(server, reqwest::Method::POST, &path, None, Some(&body))
            .await?;
        Ok(RemoteWebhook::parse(&answer))
    }

    /// `GET /webhook/find/{instance}`; `None` when the instance has no webhook.
    pub async fn find_webhook(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
    ) -> Result<Option<RemoteWebhook>, EvolutionError> {
        let path = ["webhook", "find", instance];
        let answer = self.call(server, reqwest::Method::GET, &path, None, None).await?;
        Ok((!answer.is_null()).then(|| RemoteWebhook::parse(&answer)))
    }

    /// `POST /instance/restart/{instance}` (not `PUT`, whatever the docs say).
    pub async fn restart(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
    ) -> Result<ConnectAnswer, EvolutionError> {
        let path = ["instance", "restart", instance];
        let answer = self
            .call(server, reqwest::Method::POST, &path, None, None)
            .await?;
        Ok(ConnectAnswer::parse(&answer))
    }

    /// `DELETE /instance/logout/{instance}`.
    pub async fn logout(&self, server: EvolutionServer<'_>, instance: &str) -> Result<(), EvolutionError> {
        let path = ["instance", "logout", instance];
        self.call(server, reqwest::Method::DELETE, &path, None, None)
            .await
            .map(drop)
    }

    /// `DELETE /instance/delete/{instance}`.
    pub async fn delete_instance(
        &self,
        server: EvolutionServer<'_>,
        instance: &str,
    ) -> Result<(), EvolutionError> {
        let path = ["instance", "delete", instance];
        self.call(server, reqwest::Method::DELETE, &path, None, None)
            .await
            .map(drop)
    }

    /// One call: the JSON answer of a 2xx without `"error": true`, else the classified error.
    async fn call(
        &self,
        server: EvolutionServer<'_>,
        method: reqwest::Method,
        path: &[&str],
        query: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> Result<Value, EvolutionError> {
        let mut url =
            url::Url::parse(server.base_url.as_str()).map_err(|e| EvolutionError::Request(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| EvolutionError::Request("the Evolution URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(path);
        if let Some((name, value)) = query {
            url.query_pairs_mut().append_pair(name, value);
        }
        let mut request = self
            .http()
            .request(method, url)
            .header("apikey", server.api_key.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .text()
            .await
            .map_err(|e| EvolutionError::Connect(without_url(&e)))?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &text, location.as_deref()));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|_| EvolutionError::Unexpected(format!("a {status} answer that is not JSON")))?;
        if value.get("error").and_then(Value::as_bool) == Some(true) {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(EvolutionError::ErrorBody(message.chars().take(300).collect()));
        }
        Ok(value)
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_body_has_every_event_and_the_token_header() {
        let settings = WebhookSettings {
            url: "https://hub.example.com/webhook/evolution/shop".into(),
            token: "t0k3n".into(),
        };
        let body = settings.body();
        assert_eq!(body["enabled"], true);
        assert_eq!(body["byEvents"], false);
        assert_eq!(body["base64"], true);
        assert_eq!(body["headers"]["x-omnihub-token"], "t0k3n");
        assert_eq!(body["events"].as_array().map(Vec::len), Some(5));
    }
}
