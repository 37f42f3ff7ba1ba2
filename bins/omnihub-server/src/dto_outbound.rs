//! JSON shapes of sending through a number and of one chat's conversation.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto_chats::ChatResponse;
use crate::dto_messages::MessageResponse;

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
