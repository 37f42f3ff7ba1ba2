//! The message log's JSON shapes: a preview and the timings, never media bytes or keys.

use chrono::{DateTime, SecondsFormat, Utc};
use omnihub_domain::MessageRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Characters of the message text shown in lists.
const PREVIEW_CHARS: usize = 120;

/// One logged message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// Log id (arrival order).
    pub id: i64,
    /// The omnihub instance.
    pub instance: String,
    /// Evolution's message id; `out:…` for messages sent through omnihub.
    pub message_id: String,
    /// `inbound` (written to the number; the agent answers) or `outbound` (sent from the
    /// number by a person through omnihub; `sender_name` says how: `api`, `console`, `cli`).
    pub direction: String,
    /// The JID the reply goes to: where the chat's latest message came from.
    pub chat_id: String,
    /// The chat (one per person, whatever address they wrote from; see `/chats`).
    pub chat: String,
    /// Group author JID.
    pub author: Option<String>,
    /// Sender's display name.
    pub sender_name: Option<String>,
    /// Sender's phone digits, when stated by the payload.
    pub phone: Option<String>,
    /// `text`, `image`, `audio`, …
    pub kind: String,
    /// The first 120 characters of the text.
    pub preview: String,
    /// Whether media (bytes or URL) came with it.
    pub has_media: bool,
    /// `queued`, `processing`, `done`, `failed` or `skipped`.
    pub status: String,
    /// Why a conversation rule left it unanswered (`skipped`): `blocked`, `not_allowed`,
    /// `group_policy`, `no_trigger`, `paused`, `rate_limited` or `ignored_type`.
    pub skip_reason: Option<String>,
    /// Processing attempts so far.
    pub attempts: u32,
    /// Parts the reply was split into.
    pub parts_total: u32,
    /// Parts sent.
    pub parts_sent: u32,
    /// Why nothing was sent, for `done` messages that sent nothing.
    pub outcome: Option<String>,
    /// `config`, `agent` or `evolution`: where it last failed.
    pub error_stage: Option<String>,
    /// The last error.
    pub error: Option<String>,
    /// When the webhook was accepted.
    pub received_at: String,
    /// When it is (was) due next.
    pub next_attempt_at: String,
    /// When the last attempt started (the agent is called at once unless its answer was stored).
    pub agent_started_at: Option<String>,
    /// When the agent answered.
    pub agent_finished_at: Option<String>,
    /// When the last part was sent.
    pub sent_at: Option<String>,
    /// When it was finished.
    pub finished_at: Option<String>,
    /// Full text and reply; only on `GET /api/v1/messages/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<MessageDetail>,
}

/// The full text of a message and of its reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDetail {
    /// The message text (caption for media).
    pub text: String,
    /// The quoted message's text.
    pub quoted: Option<String>,
    /// The agent's reply, once there is one.
    pub reply: Option<String>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl MessageResponse {
    /// The list shape, or with `detail` the single-message shape.
    pub fn from_record(r: MessageRecord, detail: bool) -> Self {
        let content = &r.inbound.content;
        Self {
            id: r.id,
            instance: r.instance.clone(),
            message_id: r.inbound.message_id.clone(),
            direction: r.direction.as_str().to_owned(),
            chat_id: r.inbound.chat_id.clone(),
            chat: r.chat_key.clone(),
            author: r.inbound.author.clone(),
            sender_name: r.inbound.sender_name.clone(),
            phone: r.inbound.phone.clone(),
            kind: content.kind.as_str().to_owned(),
            preview: content.text.chars().take(PREVIEW_CHARS).collect(),
            has_media: content.media.is_some(),
            status: r.status.as_str().to_owned(),
            skip_reason: r.skip_reason.map(|reason| reason.as_str().to_owned()),
            attempts: r.attempts,
            parts_total: r.parts_total,
            parts_sent: r.parts_sent,
            outcome: r.outcome.clone(),
            error_stage: r.error_stage.map(|s| s.as_str().to_owned()),
            error: r.error.clone(),
            received_at: time(r.received_at),
            next_attempt_at: time(r.next_attempt_at),
            agent_started_at: r.agent_started_at.map(time),
            agent_finished_at: r.agent_finished_at.map(time),
            sent_at: r.sent_at.map(time),
            finished_at: r.finished_at.map(time),
            detail: detail.then(|| MessageDetail {
                text: content.text.clone(),
                quoted: content.quoted.clone(),
                reply: r.reply.clone(),
            }),
        }
    }
}

/// Filters of `GET /api/v1/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Only this instance.
    pub instance: Option<String>,
    /// Only this chat JID.
    pub chat: Option<String>,
    /// Only this status: queued, processing, done, failed or skipped.
    pub status: Option<String>,
    /// Only messages received at or after this ISO-8601 time.
    pub since: Option<String>,
    /// Most messages (newest first), 1-1000, default 100.
    pub limit: Option<i64>,
}
