//! `POST /webhook/evolution/{instance}` (and the legacy `/webhook/evolution`): admits the
//! request by its path and token before reading a byte of the body, reads the body under the
//! limits of [`crate::body`], hands it to the pipeline and maps the outcome to HTTP.
//! Parsing, classification and the durable write are the pipeline's.

use actix_web::http::header;
use actix_web::http::ConnectionType;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use omnihub_core::{IngestOutcome, Rejection};
use omnihub_db::DbError;
use serde::Deserialize;
use serde_json::json;

use crate::body::{read_body, BodyError};
use crate::error::ApiError;
use crate::state::AppState;

/// `?token=` for Evolution setups that cannot send headers.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// A webhook for the instance named in the path.
pub async fn for_instance(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    handle(&state, Some(&name), query.token.as_deref(), &req, body).await
}

/// The legacy route: the default instance.
pub async fn for_default(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    handle(&state, None, query.token.as_deref(), &req, body).await
}

/// Evolution's "webhook by events" form, `/webhook/evolution/{instance}/{event}`: the
/// event in the path is only a hint; the envelope's `event` decides.
pub async fn for_instance_by_event(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (name, _event) = path.into_inner();
    handle(&state, Some(&name), query.token.as_deref(), &req, body).await
}

async fn handle(
    state: &AppState,
    name: Option<&str>,
    query_token: Option<&str>,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let token = presented_token(req).or(query_token);
    // From memory, before the body: a refused request costs no more than its headers.
    let admission = match state.pipeline().admit(name, token) {
        Ok(admission) => admission,
        Err(rejection) => {
            state.metrics().webhook("rejected");
            return Ok(closing(&rejected(rejection)));
        }
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let limits = state.webhook_limits();
    let (body, _held) = match read_body(payload, declared, limits.body, &limits.budget).await {
        Ok(read) => read,
        Err(err) => {
            let label = if err == BodyError::Busy {
                "busy"
            } else {
                "rejected"
            };
            state.metrics().webhook(label);
            return Ok(closing(&body_error(err)));
        }
    };
    let outcome = state.pipeline().ingest_admitted(&admission, &body).await;
    let (label, answer) = match outcome {
        IngestOutcome::Accepted {
            messages,
            sanitised,
            refused,
        } => {
            let mut body = json!({"status": "accepted", "messages": messages});
            if !sanitised.is_empty() {
                body["sanitised"] = json!(sanitised);
            }
            if !refused.is_empty() {
                body["refused"] = refused
                    .iter()
                    .map(|r| json!({"message_id": r.message_id, "reason": r.reason}))
                    .collect();
            }
            ("accepted", Ok(body))
        }
        IngestOutcome::Duplicate => ("duplicate", Ok(json!({"status": "duplicate"}))),
        IngestOutcome::Skipped(reason) => ("skipped", Ok(json!({"status": "skipped", "reason": reason}))),
        IngestOutcome::Ignored(reason) => ("ignored", Ok(json!({"status": "ignored", "reason": reason}))),
        IngestOutcome::Recorded(state) => {
            ("recorded", Ok(json!({"status": "recorded", "connection": state})))
        }
        IngestOutcome::Rejected(rejection) => ("rejected", Err(rejected(rejection))),
        // Whatever stops the commit, Evolution must retry: a 503, never a 4xx.
        IngestOutcome::Unavailable(reason) => (
            "unavailable",
            Err(ApiError::Unavailable(DbError::Unavailable {
                url: "message log".into(),
                reason,
            })),
        ),
    };
    state.metrics().webhook(label);
    answer.map(|body| HttpResponse::Ok().json(body))
}

/// The token as `x-omnihub-token` or `Authorization: Bearer …`.
fn presented_token(req: &HttpRequest) -> Option<&str> {
    let headers = req.headers();
    headers
        .get("x-omnihub-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            let value = headers.get("authorization")?.to_str().ok()?;
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
}

fn rejected(rejection: Rejection) -> ApiError {
    let (code, message) = (rejection.code(), rejection.to_string());
    match rejection {
        Rejection::UnknownInstance(_) | Rejection::NoDefaultInstance => ApiError::NotFound(message),
        Rejection::MissingToken | Rejection::InvalidToken => ApiError::Unauthorized { code, message },
        Rejection::WrongInstance { .. } => ApiError::Forbidden(message),
        Rejection::MalformedJson(_) | Rejection::NotAWebhook(_) => ApiError::BadRequest { code, message },
        Rejection::Unstorable(_) => ApiError::Unprocessable { code, message },
        Rejection::TooManyMessages { .. } => ApiError::PayloadTooLarge(message),
    }
}

fn body_error(err: BodyError) -> ApiError {
    match err {
        BodyError::TooLarge(max) => ApiError::PayloadTooLarge(format!(
            "the body is larger than {} MiB (OMNIHUB_WEBHOOK_BODY_LIMIT_MB)",
            max / (1024 * 1024)
        )),
        BodyError::Busy => ApiError::Busy(
            "too many webhook bodies are being received at once (OMNIHUB_WEBHOOK_INFLIGHT_MB); nothing was stored, send it again shortly".into(),
        ),
        BodyError::TimedOut(gap) => ApiError::RequestTimeout(if gap {
            "the body stopped arriving (OMNIHUB_WEBHOOK_BODY_IDLE_SECS); nothing was stored".into()
        } else {
            "the body did not arrive in time (OMNIHUB_WEBHOOK_BODY_TIMEOUT_SECS); nothing was stored".into()
        }),
        BodyError::Broken(reason) => ApiError::BadRequest {
            code: "invalid_body",
            message: format!("the body could not be read ({reason}); nothing was stored"),
        },
    }
}

/// The error's response, closing the connection: the rest of an unread body must not be
/// read as the next request, nor be waited for.
fn closing(err: &ApiError) -> HttpResponse {
    let mut response = err.error_response();
    response.head_mut().set_connection_type(ConnectionType::Close);
    response
}
