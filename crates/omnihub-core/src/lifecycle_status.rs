//! The vocabulary of managing a number: the state a status check reports, the webhook's
//! status, and why a management call failed (a class and a sentence that says what to do).

use std::fmt;

use omnihub_domain::{ConnectionState, Secret};
use omnihub_evolution::{RemoteWebhook, WEBHOOK_EVENTS};

/// The state a status check reports: Evolution's connection state, or why it is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberState {
    /// Connected.
    Open,
    /// Pairing or reconnecting.
    Connecting,
    /// Closed: connect again.
    Close,
    /// Evolution gave up generating QR codes.
    Refused,
    /// The Evolution server must be activated (`LICENSE_REQUIRED`).
    NotActivated,
    /// Evolution could not be reached.
    Unreachable,
    /// Evolution refused the stored key.
    Unauthorized,
    /// Evolution does not know the instance, or did not say.
    Unknown,
}

impl NumberState {
    /// The JSON spelling (a stored state's own spelling for those).
    pub fn as_str(self) -> &'static str {
        match (self, self.stored()) {
            (_, Some(stored)) => stored.as_str(),
            (Self::Unreachable, _) => "unreachable",
            (Self::Unauthorized, _) => "unauthorized",
            _ => "unknown",
        }
    }

    /// Evolution's `open` / `connecting` / `close` (anything else is unknown).
    pub fn from_evolution(state: Option<&str>) -> Self {
        match state.map(str::parse::<ConnectionState>) {
            Some(Ok(ConnectionState::NotActivated)) | Some(Err(_)) | None => Self::Unknown,
            Some(Ok(stored)) => stored.into(),
        }
    }

    /// The stored state this is, when it is one omnihub keeps.
    pub fn stored(self) -> Option<ConnectionState> {
        match self {
            Self::Open => Some(ConnectionState::Open),
            Self::Connecting => Some(ConnectionState::Connecting),
            Self::Close => Some(ConnectionState::Close),
            Self::Refused => Some(ConnectionState::Refused),
            Self::NotActivated => Some(ConnectionState::NotActivated),
            Self::Unreachable | Self::Unauthorized | Self::Unknown => None,
        }
    }
}

impl From<ConnectionState> for NumberState {
    fn from(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Open => Self::Open,
            ConnectionState::Connecting => Self::Connecting,
            ConnectionState::Close => Self::Close,
            ConnectionState::Refused => Self::Refused,
            ConnectionState::NotActivated => Self::NotActivated,
        }
    }
}

impl fmt::Display for NumberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether Evolution's webhook for the instance is the one omnihub needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Enabled, our URL, every event we need, our token.
    Ok,
    /// None, or disabled.
    Missing,
    /// It posts somewhere else.
    Elsewhere,
    /// Some event omnihub needs is not sent (or it posts one URL per event).
    WrongEvents,
    /// The `x-omnihub-token` header is missing or not the instance's secret.
    WrongToken,
    /// Not known (Evolution not reached, or `OMNIHUB_PUBLIC_URL` unset).
    Unknown,
}

impl WebhookStatus {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Elsewhere => "elsewhere",
            Self::WrongEvents => "wrong_events",
            Self::WrongToken => "wrong_token",
            Self::Unknown => "unknown",
        }
    }

    /// Compares what Evolution has with what omnihub needs: `expected_url` (from
    /// `OMNIHUB_PUBLIC_URL`; `None`: unknown) and the instance's webhook secret.
    pub fn of(found: Option<&RemoteWebhook>, expected_url: Option<&str>, secret: Option<&Secret>) -> Self {
        let Some(found) = found.filter(|w| w.enabled && !w.url.is_empty()) else {
            return Self::Missing;
        };
        let Some(expected_url) = expected_url else {
            return Self::Unknown;
        };
        if found.url.trim_end_matches('/') != expected_url.trim_end_matches('/') {
            return Self::Elsewhere;
        }
        // `[]` means every event on Evolution's side.
        let has_all = found.events.is_empty()
            || WEBHOOK_EVENTS
                .iter()
                .all(|needed| found.events.iter().any(|e| e.eq_ignore_ascii_case(needed)));
        if !has_all || found.by_events {
            return Self::WrongEvents;
        }
        match (secret, found.headers.get("x-omnihub-token")) {
            (None, _) => Self::Ok,
            (Some(secret), Some(token)) if token == secret.expose() => Self::Ok,
            (Some(_), _) => Self::WrongToken,
        }
    }
}

impl fmt::Display for WebhookStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn number_states_spell_as_the_api_documents() {
        let all = [
            (NumberState::Open, "open"),
            (NumberState::Connecting, "connecting"),
            (NumberState::Close, "close"),
            (NumberState::Refused, "refused"),
            (NumberState::NotActivated, "not_activated"),
            (NumberState::Unreachable, "unreachable"),
            (NumberState::Unauthorized, "unauthorized"),
            (NumberState::Unknown, "unknown"),
        ];
        for (state, text) in all {
            assert_eq!(state.as_str(), text);
        }
        for (evolution, state) in [
            (Some("open"), NumberState::Open),
            (Some("connecting"), NumberState::Connecting),
            (Some("close"), NumberState::Close),
            (Some("not_activated"), NumberState::Unknown),
            (Some("weird"), NumberState::Unknown),
            (None, NumberState::Unknown),
        ] {
            assert_eq!(NumberState::from_evolution(evolution), state);
        }
    }

    fn hook(url: &str, events: &[&str], token: Option<&str>) -> RemoteWebhook {
        let mut headers = BTreeMap::new();
        if let Some(token) = token {
            headers.insert("x-omnihub-token".to_owned(), token.to_owned());
        }
        RemoteWebhook {
            enabled: true,
            url: url.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            headers,
            by_events: false,
        }
    }

    #[test]
    fn webhook_status_names_the_first_difference() {
        let url = "https://hub/webhook/evolution/a";
        let secret = Secret::parse("webhook_secret", "s3cr3t-s3cr3t-s3cr3t").unwrap();
        let good = hook(url, &WEBHOOK_EVENTS, Some(secret.expose()));
        assert_eq!(
            WebhookStatus::of(Some(&good), Some(url), Some(&secret)),
            WebhookStatus::Ok
        );
        assert_eq!(
            WebhookStatus::of(None, Some(url), Some(&secret)),
            WebhookStatus::Missing
        );
        let disabled = RemoteWebhook {
            enabled: false,
            ..good.clone()
        };
        assert_eq!(
            WebhookStatus::of(Some(&disabled), Some(url), None),
            WebhookStatus::Missing
        );
        let elsewhere = hook("https://old/webhook", &WEBHOOK_EVENTS, None);
        assert_eq!(
            WebhookStatus::of(Some(&elsewhere), Some(url), None),
            WebhookStatus::Elsewhere
        );
        let few = hook(url, &["MESSAGES_UPSERT"], Some(secret.expose()));
        assert_eq!(
            WebhookStatus::of(Some(&few), Some(url), Some(&secret)),
            WebhookStatus::WrongEvents
        );
        let all = hook(url, &[], Some(secret.expose()));
        assert_eq!(
            WebhookStatus::of(Some(&all), Some(url), Some(&secret)),
            WebhookStatus::Ok,
            "[] is every event"
        );
        let token = hook(url, &WEBHOOK_EVENTS, Some("other"));
        assert_eq!(
            WebhookStatus::of(Some(&token), Some(url), Some(&secret)),
            WebhookStatus::WrongToken
        );
        assert_eq!(
            WebhookStatus::of(Some(&good), None, Some(&secret)),
            WebhookStatus::Unknown
        );
    }
}
