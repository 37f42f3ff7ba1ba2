//! `/api/v1/instances/{name}/connect|status|webhook/sync|restart|logout|whatsapp` and
//! `/api/v1/evolution/instances`: managing an instance's WhatsApp number on its Evolution
//! server. The work is `omnihub_core::Lifecycle`'s; these map it to HTTP.

use actix_web::{web, HttpRequest, HttpResponse};
use omnihub_domain::{HttpUrl, InstanceConfig, Secret};
use omnihub_evolution::EvolutionServer;

use crate::dto_lifecycle::{
    ConnectRequest, ConnectResponse, DiscoverQuery, DiscoveredResponse, StatusResponse, WebhookSyncResponse,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonObject;
use crate::handlers::instances::path_name;
use crate::state::AppState;

async fn instance(state: &AppState, name: &str) -> Result<InstanceConfig, ApiError> {
    let name = path_name(name)?;
    state.db(move |db| db.instances().get(&name)).await
}

/// Connect the number: creates the Evolution instance (integration `WHATSAPP-BAILEYS`, QR
/// code, omnihub's webhook) when Evolution does not know it, else asks Evolution to connect.
/// Answers the QR to scan, or the pairing code when a number is given.
#[utoipa::path(post, path = "/api/v1/instances/{name}/connect", operation_id = "connect_instance", tag = "numbers", request_body = ConnectRequest,
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The state, and the QR or pairing code when there is one", body = ConnectResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has no Evolution URL or key, OMNIHUB_PUBLIC_URL is unset, or Evolution has another instance of that name", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
        (status = 502, description = "Evolution is unreachable, refused the key, or failed", body = ErrorBody),
        (status = 503, description = "Evolution is not activated (LICENSE_REQUIRED)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn connect(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: JsonObject<ConnectRequest>,
) -> Result<HttpResponse, ApiError> {
    let number = body.0.number().map_err(|message| ApiError::Validation {
        field: Some("number".into()),
        message,
    })?;
    let instance = instance(&state, &name).await?;
    let connected = state.lifecycle()?.connect(&instance, number.as_deref()).await?;
    // A created instance may have been given a webhook secret: webhooks must see it.
    state.admin_write(|_| Ok(())).await?;
    Ok(HttpResponse::Ok().json(ConnectResponse::from(connected)))
}

/// The number's connection state, profile and webhook status, from Evolution (cached a few
/// seconds). An Evolution that cannot be reached or refuses the key is a state, not an error.
#[utoipa::path(get, path = "/api/v1/instances/{name}/status", operation_id = "instance_status", tag = "numbers",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "What Evolution says", body = StatusResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has no Evolution URL or key", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn status(state: web::Data<AppState>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let instance = instance(&state, &name).await?;
    let report = state.lifecycle()?.status(&instance).await?;
    Ok(HttpResponse::Ok().json(StatusResponse::from(report)))
}

/// Set Evolution's webhook for the instance to omnihub's: `{OMNIHUB_PUBLIC_URL}/webhook/
/// evolution/{name}`, the events omnihub needs, and the `x-omnihub-token` header (a secret is
/// generated and stored when the instance has none). Idempotent.
#[utoipa::path(post, path = "/api/v1/instances/{name}/webhook/sync", operation_id = "sync_webhook", tag = "numbers",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The webhook status after the sync", body = WebhookSyncResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance (here or on Evolution)", body = ErrorBody),
        (status = 409, description = "The instance has no Evolution URL or key, or OMNIHUB_PUBLIC_URL is unset", body = ErrorBody),
        (status = 502, description = "Evolution is unreachable, refused the key, or failed", body = ErrorBody),
        (status = 503, description = "Evolution is not activated (LICENSE_REQUIRED)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn sync_webhook(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let instance = instance(&state, &name).await?;
    let lifecycle = state.lifecycle()?;
    let status = lifecycle.sync_webhook(&instance).await?;
    state.admin_write(|_| Ok(())).await?;
    let url = lifecycle.webhook_url(&instance).unwrap_or_default();
    Ok(HttpResponse::Ok().json(WebhookSyncResponse::new(status, url)))
}

/// Restart the number's connection (a closed one is connected instead).
#[utoipa::path(post, path = "/api/v1/instances/{name}/restart", operation_id = "restart_instance", tag = "numbers",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The state after the restart", body = ConnectResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance (here or on Evolution)", body = ErrorBody),
        (status = 409, description = "The instance has no Evolution URL or key", body = ErrorBody),
        (status = 502, description = "Evolution is unreachable, refused the key, or failed", body = ErrorBody),
        (status = 503, description = "Evolution is not activated (LICENSE_REQUIRED)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn restart(state: web::Data<AppState>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let instance = instance(&state, &name).await?;
    let connected = state.lifecycle()?.restart(&instance).await?;
    Ok(HttpResponse::Ok().json(ConnectResponse::from(connected)))
}

/// Log the number out: WhatsApp forgets this device; connecting again needs a new scan.
#[utoipa::path(post, path = "/api/v1/instances/{name}/logout", operation_id = "logout_instance", tag = "numbers",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 204, description = "Logged out (or already)"),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance (here or on Evolution)", body = ErrorBody),
        (status = 409, description = "The instance has no Evolution URL or key", body = ErrorBody),
        (status = 502, description = "Evolution is unreachable, refused the key, or failed", body = ErrorBody),
        (status = 503, description = "Evolution is not activated (LICENSE_REQUIRED)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn logout(state: web::Data<AppState>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let instance = instance(&state, &name).await?;
    state.lifecycle()?.logout(&instance).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Log out and delete the instance on Evolution. The omnihub instance stays
/// (`DELETE /api/v1/instances/{name}` deletes it and leaves Evolution untouched).
#[utoipa::path(delete, path = "/api/v1/instances/{name}/whatsapp", operation_id = "delete_whatsapp", tag = "numbers",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 204, description = "Deleted on Evolution (or already gone)"),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has no Evolution URL or key", body = ErrorBody),
        (status = 502, description = "Evolution is unreachable, refused the key, or failed", body = ErrorBody),
        (status = 503, description = "Evolution is not activated (LICENSE_REQUIRED)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_whatsapp(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let instance = instance(&state, &name).await?;
    state.lifecycle()?.delete_whatsapp(&instance).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List the instances an Evolution server has, and which omnihub instance uses each. The
/// server's global key goes in the `x-evolution-key` header (never in the URL); it is used
/// for this one call and neither stored nor logged.
#[utoipa::path(get, path = "/api/v1/evolution/instances", operation_id = "discover_evolution_instances", tag = "numbers",
    params(DiscoverQuery, ("x-evolution-key" = String, Header, description = "The Evolution server's global API key")),
    responses(
        (status = 200, description = "The server's instances", body = [DiscoveredResponse]),
        (status = 400, description = "Missing evolution_url", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 422, description = "evolution_url is not an http(s) URL, or x-evolution-key is missing", body = ErrorBody),
        (status = 502, description = "Evolution is unreachable, refused the key, or failed", body = ErrorBody),
        (status = 503, description = "Evolution is not activated (LICENSE_REQUIRED)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn discover(
    state: web::Data<AppState>,
    query: web::Query<DiscoverQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let base_url = HttpUrl::parse("evolution_url", query.evolution_url.clone())?;
    let key = req
        .headers()
        .get("x-evolution-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let api_key = Secret::parse("x-evolution-key", key)?;
    let known = state.db(|db| db.instances().list(0, i64::MAX)).await?;
    let server = EvolutionServer {
        base_url: &base_url,
        api_key: &api_key,
    };
    let found = state.lifecycle()?.discover(server, &known).await?;
    let body: Vec<DiscoveredResponse> = found.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}
