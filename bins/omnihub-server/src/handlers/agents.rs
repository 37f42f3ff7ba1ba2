//! `/api/v1/instances/{name}/conversations…` and `/test-agent`: the agent memory omnihub
//! keeps per chat, and trying an instance's agent before going live.

use actix_web::{web, HttpResponse};
use omnihub_domain::sessions_for_chat;

use crate::dto::ListQuery;
use crate::dto_agents::{ConversationResponse, TestAgentRequest, TestAgentResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonObject;
use crate::handlers::instances::{paging, path_name};
use crate::state::AppState;

/// List the conversations whose memory omnihub keeps for an instance (OpenAI history, Dify
/// conversation ids, Typebot sessions), most recently used first.
#[utoipa::path(get, path = "/api/v1/instances/{name}/conversations", operation_id = "list_conversations", tag = "conversations",
    params(("name" = String, Path, description = "Instance name"), ListQuery),
    responses(
        (status = 200, description = "Stored conversations", body = [ConversationResponse]),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 422, description = "skip or limit out of range", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let (skip, limit) = paging(&query)?;
    let conversations = state
        .db(move |db| {
            db.instances().get(&name)?;
            db.conversations().list(name.as_str(), skip, limit)
        })
        .await?;
    let body: Vec<ConversationResponse> = conversations.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Forget one conversation's memory: its next message starts a new conversation. `chat` is
/// the session as listed, a chat JID or a phone number.
#[utoipa::path(delete, path = "/api/v1/instances/{name}/conversations/{chat}", operation_id = "reset_conversation", tag = "conversations",
    params(("name" = String, Path, description = "Instance name"), ("chat" = String, Path, description = "Session, chat JID or phone number")),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance, or nothing stored for the chat", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn reset(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, chat) = path.into_inner();
    let name = path_name(&name)?;
    // A reset changes no instance, so the instance cache is left alone (no `admin_write`).
    let forgotten = state
        .db_once(move |db| {
            let instance = db.instances().get(&name)?;
            let store = db.conversations();
            for session in sessions_for_chat(
                instance.name.as_str(),
                instance.session_id_prefix.as_deref(),
                &chat,
            ) {
                if store.delete(name.as_str(), &session)? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await?;
    if forgotten {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("no stored conversation for that chat".into()))
    }
}

/// Call the instance's agent once with a throwaway conversation and store nothing: the reply
/// as the WhatsApp messages it would be sent in, or the classified error, with the latency.
#[utoipa::path(post, path = "/api/v1/instances/{name}/test-agent", operation_id = "test_agent", tag = "conversations", request_body = TestAgentRequest,
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "What the agent did (`outcome` says whether it answered)", body = TestAgentResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "text is missing, empty or too long", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn test_agent(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: JsonObject<TestAgentRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let text = body.0.text;
    if text.is_empty() || text.chars().count() > TestAgentRequest::MAX_CHARS {
        return Err(ApiError::Validation {
            field: Some("text".into()),
            message: format!(
                "invalid text: must be 1 to {} characters",
                TestAgentRequest::MAX_CHARS
            ),
        });
    }
    let instance = state.db(move |db| db.instances().get(&name)).await?;
    let now = state.pipeline().database().now();
    let trial = omnihub_core::try_agent(state.agent()?, &instance, &text, now, state.reply_limits()).await;
    Ok(HttpResponse::Ok().json(TestAgentResponse::from(trial)))
}
