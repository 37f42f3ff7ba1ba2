//! Evolution's answers to the management calls, read leniently into small typed values, and
//! the classification of its error statuses.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::EvolutionError;

/// What `connect` (or `create` with `qrcode: true`, or `restart`) answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectAnswer {
    /// A QR to scan (and a pairing code when a number was given).
    Qr {
        /// The raw QR string (render it yourself).
        code: Option<String>,
        /// The PNG, base64, without the `data:` prefix.
        png_base64: Option<String>,
        /// 8 characters, shown as `XXXX-XXXX`.
        pairing_code: Option<String>,
    },
    /// No QR: the instance is in this state (`open`, `connecting`, `close`).
    State(String),
}

impl ConnectAnswer {
    pub(crate) fn parse(body: &Value) -> Self {
        if let Some(state) = body.pointer("/instance/state").and_then(Value::as_str) {
            return Self::State(state.to_owned());
        }
        let text = |field: &str| {
            body.get(field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let png_base64 = text("base64").map(|b| match b.split_once(";base64,") {
            Some((_, data)) => data.to_owned(),
            None => b,
        });
        let (code, pairing_code) = (text("code"), text("pairingCode"));
        if code.is_none() && png_base64.is_none() && pairing_code.is_none() {
            return Self::State("connecting".into());
        }
        Self::Qr {
            code,
            png_base64,
            pairing_code,
        }
    }
}

/// One row of `fetchInstances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteInstance {
    /// The instance name.
    pub name: String,
    /// `connectionStatus`: `open`, `connecting` or `close`.
    pub state: Option<String>,
    /// The connected number's digits (from `ownerJid`, else `number`).
    pub number: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
    /// `disconnectionReasonCode`, when the last close recorded one.
    pub disconnection_code: Option<i64>,
}

impl RemoteInstance {
    pub(crate) fn parse(row: &Value) -> Self {
        let text = |field: &str| {
            row.get(field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let number = text("ownerJid")
            .and_then(|jid| omnihub_domain::phone_from_jid(&jid))
            .or_else(|| text("number"));
        Self {
            name: text("name").or_else(|| text("instanceName")).unwrap_or_default(),
            state: text("connectionStatus"),
            number,
            profile_name: text("profileName"),
            disconnection_code: row.get("disconnectionReasonCode").and_then(Value::as_i64),
        }
    }
}

/// An instance's webhook as Evolution stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteWebhook {
    /// Whether it delivers.
    pub enabled: bool,
    /// Where it posts.
    pub url: String,
    /// The events it sends (Evolution spelling, e.g. `MESSAGES_UPSERT`).
    pub events: Vec<String>,
    /// Headers it adds to each delivery.
    pub headers: BTreeMap<String, String>,
    /// One URL per event (`/…/{event}`) instead of one URL.
    pub by_events: bool,
}

impl RemoteWebhook {
    pub(crate) fn parse(row: &Value) -> Self {
        // `webhook/find` answers the row; some versions wrap it as `{"webhook": row}`.
        let row = row.get("webhook").filter(|w| w.is_object()).unwrap_or(row);
        let headers = row
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            enabled: row.get("enabled").and_then(Value::as_bool).unwrap_or(false),
            url: row
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            events: row
                .get("events")
                .and_then(Value::as_array)
                .map(|e| e.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            headers,
            by_events: row
                .get("webhookByEvents")
                .or_else(|| row.get("byEvents"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// The error for a non-2xx answer: 503 `LICENSE_REQUIRED` is "not activated", 429 is rate
/// limiting, 3xx a redirect omnihub does not follow, anything else the status and
/// Evolution's message.
pub(crate) fn status_error(status: u16, body: &str, location: Option<&str>) -> EvolutionError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    if let Some(v) = &parsed {
        if v.get("code").and_then(Value::as_str) == Some("LICENSE_REQUIRED") {
            let register_url = v
                .get("register_url")
                .and_then(Value::as_str)
                .map(|u| u.chars().take(200).collect());
            return EvolutionError::NotActivated { register_url };
        }
    }
    if status == 429 {
        return EvolutionError::RateLimited;
    }
    if (300..400).contains(&status) {
        return EvolutionError::Redirected {
            status,
            host: omnihub_domain::hygiene::redirect_host(location),
        };
    }
    EvolutionError::Status {
        status,
        message: error_message(parsed.as_ref(), body),
    }
}

/// Evolution errors look like `{"status":400,"error":"Bad Request","response":{"message":…}}`
/// where `message` is a string or an array; anything else is shown truncated.
fn error_message(parsed: Option<&Value>, body: &str) -> String {
    let message = parsed
        .and_then(|v| v.get("response"))
        .and_then(|r| r.get("message"));
    let text = match message {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("; "),
        _ => body.to_owned(),
    };
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evolution_error_bodies_become_one_line() {
        let body = r#"{"status":400,"error":"Bad Request","response":{"message":["Text is required"]}}"#;
        assert_eq!(
            status_error(400, body, None),
            EvolutionError::Status {
                status: 400,
                message: "Text is required".into()
            }
        );
        let body = r#"{"status":404,"error":"Not Found","response":{"message":"The \"x\" instance does not exist"}}"#;
        assert!(status_error(404, body, None)
            .to_string()
            .contains("does not exist"));
        assert!(status_error(500, "<html>oops</html>", None)
            .to_string()
            .contains("<html>oops</html>"));
    }

    #[test]
    fn connect_answers_are_a_qr_or_a_state() {
        let qr = json!({"pairingCode": null, "code": "2@abc", "base64": "data:image/png;base64,iVBOR", "count": 3});
        assert_eq!(
            ConnectAnswer::parse(&qr),
            ConnectAnswer::Qr {
                code: Some("2@abc".into()),
                png_base64: Some("iVBOR".into()),
                pairing_code: None
            }
        );
        let open = json!({"instance": {"instanceName": "a", "state": "open"}});
        assert_eq!(ConnectAnswer::parse(&open), ConnectAnswer::State("open".into()));
        // `connecting` before the first QR: every value undefined.
        assert_eq!(
            ConnectAnswer::parse(&json!({"count": 0})),
            ConnectAnswer::State("connecting".into())
        );
    }

    #[test]
    fn license_required_is_not_activated_whatever_the_status() {
        let body = r#"{"error":"service not activated","code":"LICENSE_REQUIRED","register_url":"https://evo/manager/login"}"#;
        let err = status_error(503, body, None);
        assert_eq!(
            err,
            EvolutionError::NotActivated {
                register_url: Some("https://evo/manager/login".into())
            }
        );
        assert!(!err.is_transient());
    }

    #[test]
    fn fetch_rows_and_webhook_rows_are_read_leniently() {
        let row = json!({"name": "inst-a", "connectionStatus": "open", "ownerJid": "5511988887777@s.whatsapp.net",
                         "profileName": "ACME", "number": null, "disconnectionReasonCode": null});
        let inst = RemoteInstance::parse(&row);
        assert_eq!(inst.number.as_deref(), Some("5511988887777"));
        assert_eq!(inst.state.as_deref(), Some("open"));
        let hook = RemoteWebhook::parse(
            &json!({"url": "u", "enabled": true, "events": ["MESSAGES_UPSERT"],
            "headers": {"X-Omnihub-Token": "t"}, "webhookByEvents": false}),
        );
        assert_eq!(hook.headers.get("x-omnihub-token").map(String::as_str), Some("t"));
        assert_eq!(hook.events, ["MESSAGES_UPSERT"]);
    }
}
