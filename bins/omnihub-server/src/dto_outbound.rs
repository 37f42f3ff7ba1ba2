//! JSON shapes of sending through a number and of one chat's conversation.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto_chats::ChatResponse;
use crate::dto_messages::MessageResponse;

/// Media of a send: exactly one of `url` and `base64`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMediaDoc {
    /// An http(s) URL Evolution fetches the media from.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// The bytes as standard base64 (no `data:` prefix); the request body is limited to 1 MiB.
    pub base64: Option<String>,
    /// MIME type, e.g. `image/jpeg`; `image/*`, `video/*`, `audio/*` or a document otherwise.
    #[schema(pattern = r"^[A-Za-z0-9!#$&^_.+-]{1,100}/[A-Za-z0-9!#$&^_.+-]{1,100}$")]
    pub mimetype: String,
    /// File name shown for documents.
    #[schema(max_length = 255)]
    pub filename: Option<String>,
    /// Caption (wins over `text`).
    #[schema(max_length = 4096)]
    pub caption: Option<String>,
}

/// Body of `POST /api/v1/instances/{name}/messages/send`: `text`, or `media`, or both.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendRequestDoc {
    /// A phone number (country code first) or a JID (`…@s.whatsapp.net`, `…@lid`, `…@g.us`).
    #[schema(pattern = r"^(?:\+?[0-9]{5,20}|[A-Za-z0-9._:-]{1,100}@(?:s\.whatsapp\.net|c\.us|lid|g\.us))$")]
    pub to: String,
    /// The text, 1-4096 characters (the caption when there is media).
    #[schema(max_length = 4096)]
    pub text: Option<String>,
    /// Media to send instead of a plain text.
    pub media: Option<SendMediaDoc>,
    /// The WhatsApp id of a message to quote.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,100}$")]
    pub quoted_message_id: Option<String>,
    /// Sending the same key again returns the first message's id and sends nothing new.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,100}$")]
    pub idempotency_key: Option<String>,
    /// Keep the bot answering this chat (by default a person's send pauses it for the rule
    /// `takeover_minutes`).
    pub keep_bot: Option<bool>,
}

/// A queued send.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentResponse {
    /// The outbound message's log id (see `/api/v1/messages/{id}`).
    pub id: i64,
    /// True when the idempotency key was used before: this is the first send's id.
    pub duplicate: bool,
    /// The chat, as the send left it (paused unless `keep_bot`).
    pub chat: ChatResponse,
}

/// One chat's conversation, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatMessagesResponse {
    /// The chat.
    pub chat: ChatResponse,
    /// Its messages, both directions, with texts and replies (`detail`).
    pub messages: Vec<MessageResponse>,
}

/// Options of `GET /api/v1/instances/{name}/chats/{chat}/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    /// Most messages (the newest), 1-1000, default 200; shown oldest first.
    pub limit: Option<i64>,
}
