//! The lifecycle webhooks of an instance: `connection.update`, `qrcode.updated`,
//! `logout.instance` and `remove.instance`, read into [`LifecycleEvent`].

use serde_json::Value;

use crate::webhook::{normalise_event, Envelope};

/// A change of an instance's connection that Evolution reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// `connection.update`.
    Connection {
        /// `open`, `connecting`, `close` or `refused`.
        state: String,
        /// `statusReason` (Baileys' disconnect code, 200 when none).
        reason_code: Option<i64>,
        /// The connected number's digits (`wuid`), on `open`.
        number: Option<String>,
        /// The WhatsApp profile name, on `open`.
        profile_name: Option<String>,
    },
    /// `qrcode.updated`: a new QR to scan, or the QR limit was reached.
    Qr {
        /// The raw QR string.
        code: Option<String>,
        /// The pairing code, when a number was given.
        pairing_code: Option<String>,
        /// True when Evolution gave up generating QRs ("QR code limit reached").
        limit_reached: bool,
    },
    /// `logout.instance`: the number was logged out (the session is gone).
    LoggedOut,
    /// `remove.instance`: the instance was deleted on Evolution.
    Removed,
}

/// The lifecycle event an envelope carries, or `None` for other events (and for a
/// `connection.update` without a state).
pub fn parse_lifecycle(envelope: &Envelope) -> Option<LifecycleEvent> {
    let data = &envelope.data;
    let text = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>())
    };
    match normalise_event(&envelope.event).as_str() {
        "CONNECTION_UPDATE" => {
            let state = text(data, "state")?.to_ascii_lowercase();
            Some(LifecycleEvent::Connection {
                state,
                reason_code: data.get("statusReason").and_then(Value::as_i64),
                number: text(data, "wuid").and_then(|jid| omnihub_domain::phone_from_jid(&jid)),
                profile_name: text(data, "profileName"),
            })
        }
        "QRCODE_UPDATED" => {
            let qr = data.get("qrcode").filter(|q| q.is_object());
            Some(LifecycleEvent::Qr {
                code: qr.and_then(|q| text(q, "code")),
                pairing_code: qr.and_then(|q| text(q, "pairingCode")),
                limit_reached: qr.is_none() && data.get("message").is_some(),
            })
        }
        "LOGOUT_INSTANCE" => Some(LifecycleEvent::LoggedOut),
        "REMOVE_INSTANCE" => Some(LifecycleEvent::Removed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_envelope;

    fn event(body: &str) -> Option<LifecycleEvent> {
        parse_lifecycle(&parse_envelope(body.as_bytes()).unwrap())
    }

    #[test]
    fn connection_updates_carry_state_reason_and_number() {
        let open = r#"{"event":"connection.update","instance":"a","data":{"instance":"a","wuid":"5511988887777@s.whatsapp.net","profileName":"ACME","state":"open","statusReason":200}}"#;
        assert_eq!(
            event(open),
            Some(LifecycleEvent::Connection {
                state: "open".into(),
                reason_code: Some(200),
                number: Some("5511988887777".into()),
                profile_name: Some("ACME".into())
            })
        );
        let refused = r#"{"event":"CONNECTION_UPDATE","instance":"a","data":{"state":"refused","statusReason":428,"wuid":null}}"#;
        assert!(
            matches!(event(refused), Some(LifecycleEvent::Connection { state, reason_code: Some(428), number: None, .. }) if state == "refused")
        );
        assert_eq!(
            event(r#"{"event":"connection.update","instance":"a","data":{}}"#),
            None
        );
    }

    #[test]
    fn qr_updates_and_the_limit() {
        let qr = r#"{"event":"qrcode.updated","instance":"a","data":{"qrcode":{"instance":"a","pairingCode":null,"code":"2@x","base64":"…"}}}"#;
        assert!(
            matches!(event(qr), Some(LifecycleEvent::Qr { code: Some(c), limit_reached: false, .. }) if c == "2@x")
        );
        let limit = r#"{"event":"qrcode.updated","instance":"a","data":{"message":"QR code limit reached, please login again","statusCode":500}}"#;
        assert!(matches!(
            event(limit),
            Some(LifecycleEvent::Qr {
                limit_reached: true,
                ..
            })
        ));
    }

    #[test]
    fn logout_and_remove_have_no_data() {
        assert_eq!(
            event(r#"{"event":"logout.instance","instance":"a","data":null}"#),
            Some(LifecycleEvent::LoggedOut)
        );
        assert_eq!(
            event(r#"{"event":"remove.instance","instance":"a","data":null}"#),
            Some(LifecycleEvent::Removed)
        );
        assert_eq!(
            event(r#"{"event":"messages.update","instance":"a","data":{}}"#),
            None
        );
    }
}
