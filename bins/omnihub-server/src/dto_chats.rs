//! JSON shapes of the conversation-rules and chat routes.

use chrono::{DateTime, SecondsFormat, Utc};
use omnihub_domain::Chat;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// One chat of an instance (a person, whatever address they wrote from, or a group).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponse {
    /// The chat's key: the person's phone JID when known, else their LID, or the group JID.
    pub chat: String,
    /// The address the latest message came from; replies go there.
    pub last_address: Option<String>,
    /// Whether the bot is paused for this chat now.
    pub paused: bool,
    /// `human` (typed on the phone) or `api`, while paused.
    pub paused_by: Option<String>,
    /// Until when, ISO-8601 UTC; `null` while paused means until resumed.
    pub paused_until: Option<String>,
    /// Whether a keyword trigger's session is open.
    pub session_open: bool,
    /// Last message from the person or group.
    pub last_inbound_at: Option<String>,
    /// Last message typed on the instance's phone.
    pub last_outbound_at: Option<String>,
    /// Messages received.
    pub inbound_count: u64,
    /// Messages passed to the agent.
    pub answered_count: u64,
    /// Messages not answered because of a rule.
    pub skipped_count: u64,
    /// Last change.
    pub updated_at: String,
}

impl ChatResponse {
    /// The chat as seen at `now` (a timed pause that ran out shows as not paused).
    pub fn at(chat: Chat, now: DateTime<Utc>) -> Self {
        let state = chat.state;
        let paused = state.is_paused(now);
        Self {
            chat: chat.key,
            last_address: chat.last_address,
            paused,
            paused_by: paused
                .then(|| state.paused_by.map(|p| p.as_str().to_owned()))
                .flatten(),
            paused_until: if paused { time(state.paused_until) } else { None },
            session_open: state.session_open,
            last_inbound_at: time(state.last_inbound_at),
            last_outbound_at: time(state.last_outbound_at),
            inbound_count: state.inbound_count,
            answered_count: state.answered_count,
            skipped_count: state.skipped_count,
            updated_at: chat.updated_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

/// Options of `GET /api/v1/instances/{name}/chats`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatsQuery {
    /// Only paused chats.
    pub paused: Option<bool>,
    /// Most chats to return, 1-1000 (default 100), most recently changed first.
    pub limit: Option<i64>,
}

/// Body of `POST /api/v1/instances/{name}/chats/{chat}/pause` (may be empty: `{}`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// Minutes to pause, 1-525600; left out or `null`: until resumed.
    #[schema(minimum = 1, maximum = 525_600)]
    pub minutes: Option<u32>,
}

impl PauseRequest {
    /// Most minutes of one pause (a year).
    pub const MAX_MINUTES: u32 = 525_600;

    /// The minutes a body asks for: `None` until resumed. A whole number written as a float
    /// (`30.0`) counts, as JSON Schema's `integer` says; anything else is the message of a 422.
    pub fn minutes_of(body: &serde_json::Map<String, serde_json::Value>) -> Result<Option<u32>, String> {
        if let Some(other) = body.keys().find(|k| *k != "minutes") {
            return Err(format!("{other:?} is not a field of a pause (only minutes)"));
        }
        let rule = || {
            format!(
                "invalid minutes: must be a whole number from 1 to {}, or left out to pause until resumed",
                Self::MAX_MINUTES
            )
        };
        match body.get("minutes") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && (1.0..=f64::from(Self::MAX_MINUTES)).contains(f))
                .map(|f| Some(f as u32))
                .ok_or_else(rule),
            Some(_) => Err(rule()),
        }
    }
}
