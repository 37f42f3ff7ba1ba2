//! JSON shapes of the routes that manage numbers: connect, status, webhook sync, restart,
//! logout, discovery.

use chrono::SecondsFormat;
use omnihub_core::{Connected, Discovered, StatusReport, WebhookStatus};
use omnihub_domain::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /api/v1/instances/{name}/connect` (may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// The phone number (digits, country code first) to get a pairing code for, instead of
    /// scanning the QR.
    #[schema(example = "5511999999999")]
    pub number: Option<String>,
}

impl ConnectRequest {
    /// The number as digits, or a sentence saying why not.
    pub fn number(&self) -> Result<Option<String>, String> {
        self.number.as_deref().map(pairing_number).transpose()
    }
}

/// A phone number for a pairing code ([`omnihub_domain::rules::PHONE_NUMBER`]) as digits.
pub fn pairing_number(number: &str) -> Result<String, String> {
    if omnihub_domain::rules::PHONE_NUMBER.allows(number) {
        Ok(number.trim_start_matches('+').to_owned())
    } else {
        Err("invalid number: must be a phone number, 5 to 20 digits with the country code, an optional leading +".into())
    }
}

/// A QR code to scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct QrCode {
    /// The raw QR string; render it as a QR code.
    pub code: String,
    /// The same QR as a PNG image, base64 (no `data:` prefix), when Evolution gave one.
    pub png_base64: Option<String>,
}

/// What connect, restart and friends answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectResponse {
    /// `open`, `connecting`, `close`, … (`connecting` while a QR waits to be scanned).
    #[schema(example = "connecting")]
    pub state: &'static str,
    /// The QR to scan, when there is one.
    pub qr: Option<QrCode>,
    /// The pairing code (`XXXX-XXXX`) when a number was given.
    pub pairing_code: Option<String>,
    /// True when the Evolution instance was created by this call.
    pub created: bool,
}

impl From<Connected> for ConnectResponse {
    fn from(c: Connected) -> Self {
        Self {
            state: c.state.as_str(),
            qr: c.qr_code.map(|code| QrCode {
                code,
                png_base64: c.qr_png_base64,
            }),
            pairing_code: c.pairing_code,
            created: c.created,
        }
    }
}

/// What a status check found.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `open`, `connecting`, `close`, `refused`, `not_activated`, `unreachable`,
    /// `unauthorized` or `unknown`.
    #[schema(example = "open")]
    pub state: &'static str,
    /// The connected number's digits.
    pub number: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
    /// `ok`, `missing`, `elsewhere`, `wrong_events`, `wrong_token` or `unknown`.
    #[schema(example = "ok")]
    pub webhook: &'static str,
    /// When Evolution was asked, ISO-8601 UTC (answers are cached for a few seconds).
    pub checked_at: String,
    /// What to do, when something needs doing.
    pub detail: Option<String>,
}

impl From<StatusReport> for StatusResponse {
    fn from(r: StatusReport) -> Self {
        Self {
            state: r.state.as_str(),
            number: r.number,
            profile_name: r.profile_name,
            webhook: r.webhook.as_str(),
            checked_at: r.checked_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            detail: r.detail,
        }
    }
}

/// What a webhook sync left on Evolution.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSyncResponse {
    /// The webhook's status after the sync (`ok` when Evolution stored what was sent).
    #[schema(example = "ok")]
    pub webhook: &'static str,
    /// Where Evolution now posts.
    pub url: String,
}

impl WebhookSyncResponse {
    /// The answer for `status`, posting to `url`.
    pub fn new(status: WebhookStatus, url: String) -> Self {
        Self {
            webhook: status.as_str(),
            url,
        }
    }
}

/// `?evolution_url=` of the discovery route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    /// The Evolution server to list, e.g. `https://evo.example.com`.
    pub evolution_url: String,
}

/// One instance an Evolution server has.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveredResponse {
    /// Its name on Evolution.
    pub name: String,
    /// `open`, `connecting`, `close` or `unknown`.
    pub state: &'static str,
    /// The connected number's digits.
    pub number: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
    /// The omnihub instance bound to it, if any.
    pub used_by: Option<String>,
}

impl From<Discovered> for DiscoveredResponse {
    fn from(d: Discovered) -> Self {
        Self {
            name: d.name,
            state: d.state.as_str(),
            number: d.number,
            profile_name: d.profile_name,
            used_by: d.used_by,
        }
    }
}

/// The stored connection of an instance, as lifecycle webhooks reported it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionResponse {
    /// `open`, `connecting`, `close`, `refused` or `not_activated`.
    pub state: &'static str,
    /// Since when, ISO-8601 UTC.
    pub since: String,
    /// Evolution's disconnect code, when not 200.
    pub reason_code: Option<i64>,
    /// Why, in words.
    pub reason: Option<String>,
    /// When Evolution last sent a QR code.
    pub last_qr_at: Option<String>,
    /// The connected number's digits.
    pub number: Option<String>,
}

impl From<Connection> for ConnectionResponse {
    fn from(c: Connection) -> Self {
        Self {
            state: c.state.as_str(),
            since: c.since.to_rfc3339_opts(SecondsFormat::Secs, true),
            reason_code: c.reason_code,
            reason: c.reason,
            last_qr_at: c.last_qr_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            number: c.number,
        }
    }
}
