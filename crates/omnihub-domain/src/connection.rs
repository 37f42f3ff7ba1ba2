//! What omnihub knows about an instance's WhatsApp connection: the state Evolution last
//! reported, since when, and why. Replies wait while the number is not connected.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A stored connection state, as Evolution reported it (or as a send learned it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Connected: messages flow.
    Open,
    /// Pairing or reconnecting.
    Connecting,
    /// Closed for good (logged out, banned, timed out): a new QR scan is needed.
    Close,
    /// Evolution gave up generating QR codes (the QR limit).
    Refused,
    /// The Evolution server answers `LICENSE_REQUIRED`: it must be activated.
    NotActivated,
}

impl ConnectionState {
    /// Every state.
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::Connecting,
        Self::Close,
        Self::Refused,
        Self::NotActivated,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Connecting => "connecting",
            Self::Close => "close",
            Self::Refused => "refused",
            Self::NotActivated => "not_activated",
        }
    }

    /// Whether replies wait instead of being sent: every state but `open`.
    pub fn holds_replies(self) -> bool {
        self != Self::Open
    }
}

impl FromStr for ConnectionState {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            DomainError::invalid(
                "state",
                "must be open, connecting, close, refused or not_activated",
            )
        })
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instance's stored connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// The state.
    pub state: ConnectionState,
    /// Since when it is in this state.
    pub since: DateTime<Utc>,
    /// The disconnect code Evolution gave (Baileys' `statusReason`), when not 200.
    pub reason_code: Option<i64>,
    /// Why, in words.
    pub reason: Option<String>,
    /// When Evolution last sent a QR code.
    pub last_qr_at: Option<DateTime<Utc>>,
    /// The connected number's digits.
    pub number: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
    /// When anything of this was last reported.
    pub updated_at: DateTime<Utc>,
}

/// What one report says; fields left `None` keep their stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The new state, if the report has one.
    pub state: Option<ConnectionState>,
    /// The disconnect code.
    pub reason_code: Option<i64>,
    /// Why, in words (stored with a state change; a change without one clears it).
    pub reason: Option<String>,
    /// A QR code was just generated.
    pub qr: bool,
    /// The connected number.
    pub number: Option<String>,
    /// The profile name.
    pub profile_name: Option<String>,
}

/// Baileys' disconnect codes in words, so a warning says what happened and what to do.
pub fn disconnect_reason(code: i64) -> &'static str {
    match code {
        401 => "logged out from the phone; scan a new QR code (omnihub-instance connect)",
        403 => "WhatsApp refused the session (403, the number may be banned)",
        402 | 406 => "WhatsApp closed the session for good; connect again",
        408 => "the QR code expired or the connection was lost; connect again",
        411 => "multi-device mismatch; connect again",
        428 => "the QR code limit was reached without a scan; connect again",
        440 => "another session replaced this one (WhatsApp Web opened elsewhere)",
        500 => "the session is corrupt; log out and connect again",
        515 => "WhatsApp asked for a restart",
        _ => "the connection closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_only_open_sends() {
        for state in ConnectionState::ALL {
            assert_eq!(state.as_str().parse::<ConnectionState>().unwrap(), state);
            assert_eq!(state.holds_replies(), state != ConnectionState::Open);
        }
        assert!("opened".parse::<ConnectionState>().is_err());
    }

    #[test]
    fn reasons_name_what_to_do() {
        assert!(disconnect_reason(401).contains("scan a new QR"));
        assert!(disconnect_reason(428).contains("limit"));
        assert_eq!(disconnect_reason(999), "the connection closed");
    }
}
