//! Middleware: request ids, access log and metrics (`observe`), admin authentication.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use subtle::ConstantTimeEq;
use tracing::Instrument;

use crate::error::ApiError;
use crate::proxy::client_ip;
use crate::state::AppState;

/// The header carrying the request id in both directions.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Keeps a client's `x-request-id` when it is sane (1–128 visible ASCII characters),
/// otherwise generates one; echoes it in the response; logs and counts the request.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let peer = req.peer_addr().map(|a| a.ip());

    // Everything logged while handling the request (e.g. an internal error) carries its id.
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut res = next.call(req).instrument(span).await?;

    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let client = state
        .as_ref()
        .and_then(|s| client_ip(peer, forwarded.as_deref(), s.trusted_proxies()))
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    if let Some(state) = &state {
        state
            .metrics()
            .observe_request(&method, &route, status, elapsed.as_secs_f64());
    }
    // Accepted webhooks are the bulk of the traffic: logged at debug, everything else at info.
    if route.starts_with("/webhook/") && status < 400 {
        tracing::debug!(target: "omnihub::http", request_id = %request_id, method = %method, route = %route, path = %path, status, latency_ms = elapsed.as_secs_f64() * 1000.0, client = %client, "request");
    } else {
        tracing::info!(target: "omnihub::http", request_id = %request_id, method = %method, route = %route, path = %path, status, latency_ms = elapsed.as_secs_f64() * 1000.0, client = %client, "request");
    }
    Ok(res)
}

/// Lets a request through only with the configured admin key, given as `x-api-key: KEY`
/// or `Authorization: Bearer KEY`. Without a configured key every request is refused.
pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let expected = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.api_key().cloned());
    match authenticate(&req, expected.as_ref().map(|k| k.expose())) {
        Ok(()) => next.call(req).await.map(ServiceResponse::map_into_left_body),
        Err(err) => Ok(req.into_response(err.error_response()).map_into_right_body()),
    }
}

fn authenticate(req: &ServiceRequest, expected: Option<&str>) -> Result<(), ApiError> {
    let unauthorized = |code, message: &str| ApiError::Unauthorized {
        code,
        message: message.to_owned(),
    };
    let Some(expected) = expected else {
        return Err(unauthorized(
            "admin_api_disabled",
            "the admin API is closed because the server has no OMNIHUB_API_KEY; set it (16 characters or more) and restart",
        ));
    };
    let headers = req.headers();
    let presented = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        None => Err(unauthorized(
            "missing_api_key",
            "this endpoint needs the admin API key in the x-api-key header or as Authorization: Bearer <key>",
        )),
        Some(key) if bool::from(key.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        Some(_) => Err(unauthorized("invalid_api_key", "the admin API key is not valid")),
    }
}
