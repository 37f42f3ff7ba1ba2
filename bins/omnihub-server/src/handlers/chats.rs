//! `/api/v1/instances/{name}/rules` and `/chats…`: an instance's conversation rules, and
//! its chats as the rules see them, with pause and resume.

use actix_web::{web, HttpResponse};
use omnihub_db::{ChatStore, DbError};
use omnihub_domain::{parse_chat, Chat, ConversationRules};
use serde_json::{Map, Value};

use crate::dto_chats::{ChatResponse, ChatsQuery, PauseRequest};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonObject;
use crate::handlers::instances::path_name;
use crate::openapi_rules::RulesDoc;
use crate::state::AppState;

/// Most chats one list returns.
const MAX_CHATS: i64 = 1000;

/// The instance's conversation rules, every rule with its value (defaults included).
#[utoipa::path(get, path = "/api/v1/instances/{name}/rules", operation_id = "get_rules", tag = "chats",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The rules in force", body = RulesDoc),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_rules(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let instance = state.db(move |db| db.instances().get(&name)).await?;
    Ok(HttpResponse::Ok().json(instance.rules.to_json()))
}

/// Replace the instance's conversation rules (rules left out take their defaults); they
/// apply to messages received from now on.
#[utoipa::path(put, path = "/api/v1/instances/{name}/rules", operation_id = "put_rules", tag = "chats", request_body = RulesDoc,
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The rules now in force", body = RulesDoc),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A rule is invalid; `field` names it", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn put_rules(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: JsonObject<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let rules = ConversationRules::from_json(&Value::Object(body.0))?;
    let answer = rules.to_json();
    state
        .admin_write(move |db| db.chats().set_rules(&name, &rules))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The instance's chats, most recently active first (paused ones only with `paused=true`).
#[utoipa::path(get, path = "/api/v1/instances/{name}/chats", operation_id = "list_chats", tag = "chats",
    params(("name" = String, Path, description = "Instance name"), ChatsQuery),
    responses(
        (status = 200, description = "Chats", body = [ChatResponse]),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 422, description = "limit out of range", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<ChatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_CHATS).contains(&limit) {
        return Err(ApiError::Validation {
            field: Some("limit".into()),
            message: format!("invalid limit: must be from 1 to {MAX_CHATS}"),
        });
    }
    let paused = query.paused.unwrap_or(false);
    let (chats, now) = state
        .db(move |db| {
            db.instances().get(&name)?;
            Ok((db.chats().list(name.as_str(), paused, limit)?, db.now()))
        })
        .await?;
    let body: Vec<ChatResponse> = chats.into_iter().map(|c| ChatResponse::at(c, now)).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// One chat, named by its key, any address of the person (phone JID or LID) or a phone number.
#[utoipa::path(get, path = "/api/v1/instances/{name}/chats/{chat}", operation_id = "get_chat", tag = "chats",
    params(("name" = String, Path, description = "Instance name"), ("chat" = String, Path, description = "Chat key, JID or phone number")),
    responses(
        (status = 200, description = "The chat", body = ChatResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance, or no such chat", body = ErrorBody),
        (status = 422, description = "chat is not a phone number or JID", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    on_chat(&state, path.into_inner(), |chats, name, chat| {
        chats.get(name, chat)
    })
    .await
}

/// Runs `work` on the chat `path` names, once the instance exists, on the blocking pool;
/// answers the chat as it is afterwards.
async fn on_chat<F>(
    state: &AppState,
    (name, chat): (String, String),
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(ChatStore<'_>, &str, &str) -> Result<Chat, DbError> + Send + 'static,
{
    let name = path_name(&name)?;
    let chat = parse_chat(&chat)?;
    let (found, now) = state
        .db_once(move |db| {
            db.instances().get(&name)?;
            Ok((work(db.chats(), name.as_str(), &chat)?, db.now()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ChatResponse::at(found, now)))
}

/// Pause the bot for a chat (for `minutes`, or until resumed); its messages are stored as
/// `skipped` (`paused`). A chat nobody wrote in yet is created paused.
#[utoipa::path(post, path = "/api/v1/instances/{name}/chats/{chat}/pause", operation_id = "pause_chat", tag = "chats", request_body = PauseRequest,
    params(("name" = String, Path, description = "Instance name"), ("chat" = String, Path, description = "Chat key, JID or phone number")),
    responses(
        (status = 200, description = "The chat, paused", body = ChatResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "minutes out of range, an unknown field, or chat not a phone number or JID", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn pause(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: JsonObject<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let minutes = PauseRequest::minutes_of(&body.0).map_err(|message| ApiError::Validation {
        field: Some("minutes".into()),
        message,
    })?;
    on_chat(&state, path.into_inner(), move |chats, name, chat| {
        chats.pause(name, chat, minutes)
    })
    .await
}

/// Resume the bot for a chat at once.
#[utoipa::path(post, path = "/api/v1/instances/{name}/chats/{chat}/resume", operation_id = "resume_chat", tag = "chats",
    params(("name" = String, Path, description = "Instance name"), ("chat" = String, Path, description = "Chat key, JID or phone number")),
    responses(
        (status = 200, description = "The chat, answered again", body = ChatResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance, or no such chat", body = ErrorBody),
        (status = 422, description = "chat is not a phone number or JID", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn resume(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    on_chat(&state, path.into_inner(), |chats, name, chat| {
        chats.resume(name, chat)
    })
    .await
}
