//! `POST /webhook/evolution/{instance}` (and the legacy `/webhook/evolution`): authenticate,
//! parse, classify, log — and answer only once the row is committed. No upstream call here.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use omnihub_core::{classify, Decision};
use omnihub_domain::InstanceConfig;
use omnihub_evolution::{parse_envelope, parse_upserts, EvolutionError};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

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
    let Some(instance) = state.cache().get(&name) else {
        state.metrics().webhook("rejected");
        return Err(ApiError::NotFound(format!("instance '{name}' not found")));
    };
    handle(&state, instance, query.token.as_deref(), &req, &body).await
}

/// The legacy route: the default instance.
pub async fn for_default(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(instance) = state.cache().default_instance() else {
        state.metrics().webhook("rejected");
        return Err(ApiError::NotFound(
            "no default instance is set for /webhook/evolution".into(),
        ));
    };
    handle(&state, instance, query.token.as_deref(), &req, &body).await
}

async fn handle(
    state: &AppState,
    instance: Arc<InstanceConfig>,
    query_token: Option<&str>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let outcome = accept(state, instance, query_token, req, body).await;
    let label = match &outcome {
        Ok((label, _)) => *label,
        Err(ApiError::Unavailable(_) | ApiError::Internal(_)) => "unavailable",
        Err(_) => "rejected",
    };
    state.metrics().webhook(label);
    outcome.map(|(_, body)| HttpResponse::Ok().json(body))
}

async fn accept(
    state: &AppState,
    instance: Arc<InstanceConfig>,
    query_token: Option<&str>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(&'static str, Value), ApiError> {
    check_token(&instance, query_token, req)?;
    let envelope = parse_envelope(body).map_err(bad_webhook)?;
    if envelope.instance.as_deref() != Some(instance.whatsapp_instance.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "the webhook names Evolution instance {:?}, but '{}' is bound to '{}'",
            envelope.instance.as_deref().unwrap_or(""),
            instance.name,
            instance.whatsapp_instance
        )));
    }
    if !envelope.is_message_upsert() {
        let reason = format!("event {} is not handled", envelope.event);
        return Ok(("ignored", json!({"status": "ignored", "reason": reason})));
    }
    let mut accepted = Vec::new();
    let mut ignored = Vec::new();
    for upsert in parse_upserts(&envelope.data).map_err(bad_webhook)? {
        match classify(upsert) {
            Decision::Accept(message) => accepted.push((instance.name.clone(), *message)),
            Decision::Ignore(reason) => ignored.push(reason),
        }
    }
    if accepted.is_empty() {
        return Ok((
            "ignored",
            json!({"status": "ignored", "reason": ignored.join("; ")}),
        ));
    }
    // Whatever stops the commit, Evolution must retry: a 503, never a 4xx.
    let new = state
        .log_writer()
        .write(accepted)
        .await
        .map_err(ApiError::Unavailable)?;
    let fresh = new.iter().filter(|n| **n).count();
    if fresh == 0 {
        return Ok(("duplicate", json!({"status": "duplicate"})));
    }
    state.wake_dispatcher();
    Ok(("accepted", json!({"status": "accepted", "messages": fresh})))
}

/// When the instance has a webhook secret, the request must carry it as `x-omnihub-token`,
/// `Authorization: Bearer …` or `?token=`.
fn check_token(
    instance: &InstanceConfig,
    query_token: Option<&str>,
    req: &HttpRequest,
) -> Result<(), ApiError> {
    let Some(secret) = &instance.webhook_secret else {
        return Ok(());
    };
    let headers = req.headers();
    let presented = headers
        .get("x-omnihub-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            let value = headers.get("authorization")?.to_str().ok()?;
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .or(query_token);
    match presented {
        Some(token) if bool::from(token.as_bytes().ct_eq(secret.expose().as_bytes())) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized {
            code: "invalid_webhook_token",
            message: "the webhook token is not valid for this instance".into(),
        }),
        None => Err(ApiError::Unauthorized {
            code: "missing_webhook_token",
            message:
                "this instance needs its webhook token as x-omnihub-token, Authorization: Bearer or ?token="
                    .into(),
        }),
    }
}

fn bad_webhook(err: EvolutionError) -> ApiError {
    let code = match err {
        EvolutionError::MalformedJson(_) => "invalid_json",
        _ => "not_an_evolution_webhook",
    };
    ApiError::BadRequest {
        code,
        message: err.to_string(),
    }
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
    for_instance(state, web::Path::from(name), query, req, body).await
}
