//! `POST /webhook/evolution/{instance}` (and the legacy `/webhook/evolution`): hands the
//! body to the pipeline with the token the request presents, and maps the outcome to HTTP.
//! Authentication, parsing, classification and the durable write are the pipeline's.

use actix_web::{web, HttpRequest, HttpResponse};
use omnihub_core::{IngestOutcome, Rejection};
use omnihub_db::DbError;
use serde::Deserialize;
use serde_json::json;

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
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    handle(&state, Some(&name), query.token.as_deref(), &req, &body).await
}

/// The legacy route: the default instance.
pub async fn for_default(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    handle(&state, None, query.token.as_deref(), &req, &body).await
}

/// Evolution's "webhook by events" form, `/webhook/evolution/{instance}/{event}`: the
/// event in the path is only a hint; the envelope's `event` decides.
pub async fn for_instance_by_event(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (name, _event) = path.into_inner();
    handle(&state, Some(&name), query.token.as_deref(), &req, &body).await
}

async fn handle(
    state: &AppState,
    name: Option<&str>,
    query_token: Option<&str>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let token = presented_token(req).or(query_token);
    let outcome = state.pipeline().ingest(name, token, body).await;
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
        IngestOutcome::Ignored(reason) => ("ignored", Ok(json!({"status": "ignored", "reason": reason}))),
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
    }
}
