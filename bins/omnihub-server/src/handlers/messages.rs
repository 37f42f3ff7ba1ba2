//! `/api/v1/messages…`: the message log and retrying failed messages.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use omnihub_db::MessageFilter;
use omnihub_domain::MessageStatus;

use crate::dto_messages::{MessageQuery, MessageResponse};
use crate::error::{ApiError, ErrorBody};
use crate::handlers::instances::MAX_LIMIT;
use crate::state::AppState;

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::Validation {
        field: Some(field.to_owned()),
        message,
    }
}

/// List logged messages, newest first.
#[utoipa::path(get, path = "/api/v1/messages", operation_id = "list_messages", tag = "messages", params(MessageQuery),
    responses(
        (status = 200, description = "Messages (previews, no media)", body = [MessageResponse]),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 422, description = "A filter is invalid", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_of(query.into_inner())?;
    let records = state.db(move |db| db.messages().list(&filter)).await?;
    let body: Vec<MessageResponse> = records
        .into_iter()
        .map(|r| MessageResponse::from_record(r, false))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// One logged message with its full text and reply.
#[utoipa::path(get, path = "/api/v1/messages/{id}", operation_id = "get_message", tag = "messages",
    params(("id" = i64, Path, description = "Log id")),
    responses(
        (status = 200, description = "The message", body = MessageResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such message", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let record = state.db(move |db| db.messages().get(id)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::from_record(record, true)))
}

/// Queue a failed message again; it resumes where it stopped (no second agent call when
/// the reply is already known, no part sent twice).
#[utoipa::path(post, path = "/api/v1/messages/{id}/retry", operation_id = "retry_message", tag = "messages",
    params(("id" = i64, Path, description = "Log id")),
    responses(
        (status = 200, description = "Queued again", body = MessageResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such message", body = ErrorBody),
        (status = 409, description = "The message has not failed", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn retry(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let record = state.db(move |db| db.messages().requeue(id)).await?;
    state.pipeline().wake();
    Ok(HttpResponse::Ok().json(MessageResponse::from_record(record, false)))
}

/// The log filter a query asks for, each bad value refused with its field.
pub(crate) fn filter_of(query: MessageQuery) -> Result<MessageFilter, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("invalid limit: must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<MessageStatus>().map_err(|_| {
            invalid(
                "status",
                "invalid status: must be queued, processing, done, failed or skipped".into(),
            )
        })?),
    };
    let since = match query.since.as_deref() {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    invalid(
                        "since",
                        "invalid since: must be an ISO-8601 time such as 2026-11-28T00:00:00Z".into(),
                    )
                })?
                .with_timezone(&Utc),
        ),
    };
    let filter = MessageFilter {
        instance: query.instance,
        chat: query.chat,
        status,
        since,
        limit,
    };
    Ok(filter)
}

pub(crate) fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("message '{text}' not found")))
}
