//! `POST /api/v1/instances/{name}/messages/send` and
//! `GET /api/v1/instances/{name}/chats/{chat}/messages`: a person sends through the number,
//! and reads one chat's whole conversation.

use actix_web::{web, HttpResponse};
use omnihub_domain::{parse_chat, Outbound};
use serde_json::{Map, Value};

use crate::dto_chats::ChatResponse;
use crate::dto_messages::MessageResponse;
use crate::dto_outbound::{ChatMessagesResponse, ConversationQuery, SentResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonObject;
use crate::handlers::instances::path_name;
use crate::openapi_outbound::SendRequestDoc;
use crate::state::AppState;

/// Most messages one conversation page returns.
const MAX_CONVERSATION: i64 = 1000;

/// Send a text or media from the instance's number. It is stored, then sent in its chat's
/// order (after any reply in flight), paced by the rule `send_per_minute` and retried like
/// a reply. Unless `keep_bot`, the chat is paused like a takeover from the phone.
#[utoipa::path(post, path = "/api/v1/instances/{name}/messages/send", operation_id = "send_message", tag = "messages",
    request_body = SendRequestDoc,
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 202, description = "Queued (or, for a repeated idempotency key, queued before)", body = SentResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The same idempotency key is being sent by another request", body = ErrorBody),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn send(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: JsonObject<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let outbound = Outbound::from_json(&Value::Object(body.0))?;
    let sent = send_as(&state, &name, outbound, "api").await?;
    Ok(HttpResponse::Accepted().json(sent))
}

/// Queues `outbound` for instance `name` as sent by `sender`; the chat as it is afterwards.
pub(crate) async fn send_as(
    state: &AppState,
    name: &omnihub_domain::InstanceName,
    outbound: Outbound,
    sender: &'static str,
) -> Result<SentResponse, ApiError> {
    let sent = state.pipeline().send(name, outbound, sender).await?;
    let now = state.pipeline().database().now();
    Ok(SentResponse {
        id: sent.id,
        duplicate: sent.duplicate,
        chat: ChatResponse::at(sent.chat, now),
    })
}

/// One chat's conversation, oldest first: messages from the person with the agent's replies
/// and their parts, messages sent through omnihub, skipped ones with their reason.
#[utoipa::path(get, path = "/api/v1/instances/{name}/chats/{chat}/messages", operation_id = "chat_messages", tag = "chats",
    params(("name" = String, Path, description = "Instance name"), ("chat" = String, Path, description = "Chat key, JID or phone number"), ConversationQuery),
    responses(
        (status = 200, description = "The conversation", body = ChatMessagesResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance, or no such chat", body = ErrorBody),
        (status = 422, description = "chat is not a phone number or JID, or limit out of range", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn conversation(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<ConversationQuery>,
) -> Result<HttpResponse, ApiError> {
    let (name, chat) = path.into_inner();
    let name = path_name(&name)?;
    let chat = parse_chat(&chat)?;
    let limit = query.limit.unwrap_or(200);
    if !(1..=MAX_CONVERSATION).contains(&limit) {
        return Err(ApiError::Validation {
            field: Some("limit".into()),
            message: format!("invalid limit: must be from 1 to {MAX_CONVERSATION}"),
        });
    }
    let body = conversation_of(&state, name, chat, limit).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The conversation of `chat` (already parsed) of instance `name`.
pub(crate) async fn conversation_of(
    state: &AppState,
    name: omnihub_domain::InstanceName,
    chat: String,
    limit: i64,
) -> Result<ChatMessagesResponse, ApiError> {
    let ((found, records), now) = state
        .db(move |db| {
            db.instances().get(&name)?;
            Ok((db.messages().conversation(name.as_str(), &chat, limit)?, db.now()))
        })
        .await?;
    Ok(ChatMessagesResponse {
        chat: ChatResponse::at(found, now),
        messages: records
            .into_iter()
            .map(|r| MessageResponse::from_record(r, true))
            .collect(),
    })
}
