//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use actix_web::{web, HttpResponse};

use crate::dto::StatusResponse;
use crate::error::ApiError;
use crate::openapi::admin_api_document;
use crate::state::AppState;

/// Liveness: 200 while the process runs.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(StatusResponse {
        status: "ok",
        database: None,
        reason: None,
    })
}

/// Readiness: 200 when the database answers with omnihub's schema at this build's version,
/// its file (SQLite) is still there, and the message log's last commit did not fail; 503
/// with the reason otherwise.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let engine = state.database().engine().to_string();
    let checked = state.db_once(|db| db.readiness()).await;
    // After a failed commit, one small write tells whether the database takes writes again;
    // waiting for a webhook would wait forever behind a balancer that trusts this answer.
    let mut write_failure = state.pipeline().write_failure();
    if checked.is_ok() && write_failure.is_some() {
        match state.db_once(|db| db.probe_write()).await {
            Ok(()) => {
                state.pipeline().clear_write_failure();
                write_failure = None;
            }
            Err(err) => write_failure = Some(crate::error::error_chain(&err)),
        }
    }
    let (reason, detail) = match (checked, write_failure) {
        (Ok(()), None) => {
            return HttpResponse::Ok().json(StatusResponse {
                status: "ready",
                database: Some(engine),
                reason: None,
            })
        }
        (Err(err), _) => (
            "database: unreachable, file missing, or schema missing or outdated (see the server log)",
            crate::error::error_chain(&err),
        ),
        (Ok(()), Some(failure)) => (
            "writes: the message log's last commit failed (see the server log)",
            failure,
        ),
    };
    tracing::warn!(reason = %detail, "readiness check failed");
    HttpResponse::ServiceUnavailable().json(StatusResponse {
        status: "unavailable",
        database: Some(engine),
        reason: Some(reason),
    })
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Queue depth is read at scrape time; without a database the other metrics still serve.
    match state.db(|db| db.messages().count_by_status()).await {
        Ok(counts) => state.metrics().set_queue(&counts),
        Err(err) => tracing::warn!(error = %err, "queue depth unavailable for this scrape"),
    }
    let all = state.pipeline().instances().all();
    let open_webhooks = all.iter().filter(|i| i.webhook_secret.is_none()).count();
    state
        .metrics()
        .safety
        .set(state.webhook_limits().budget.used(), open_webhooks);
    let instances: Vec<String> = all.iter().map(|i| i.name.to_string()).collect();
    state
        .metrics()
        .connections
        .set(&state.pipeline().instances().connections());
    match state
        .db(|db| Ok((db.chats().skipped_counts()?, db.chats().paused_counts()?)))
        .await
    {
        Ok((skipped, paused)) => state.metrics().chats.set(&instances, &skipped, &paused),
        Err(err) => tracing::warn!(error = %err, "skipped and paused counts unavailable for this scrape"),
    }
    let unsent = state.db(|db| db.messages().outbound_backlog()).await;
    if let Err(err) = &unsent {
        tracing::warn!(error = %err, "outbound counts unavailable for this scrape");
    }
    state
        .metrics()
        .outbound
        .set(&instances, &state.pipeline().pacing(), unsent.as_deref().ok());
    match state.db(|db| Ok((db.messages().backlog()?, db.now()))).await {
        Ok((backlog, now)) => state.metrics().set_backlog(&instances, &backlog, now),
        Err(err) => tracing::warn!(error = %err, "backlog unavailable for this scrape"),
    }
    let text = state
        .metrics()
        .render(state.database().pool_state())
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}

/// The OpenAPI 3 description of the admin API, generated from the handlers.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "get_openapi_document", tag = "meta",
    responses((status = 200, description = "OpenAPI 3 document")),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn openapi() -> Result<HttpResponse, ApiError> {
    let document = admin_api_document().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(document))
}
