//! `/api/v1/instances…` and `/api/v1/default-instance`: instance administration.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use omnihub_domain::{InstanceChangesInput, InstanceName, NewInstanceInput};

use crate::dto::{CreateInstanceRequest, DeleteQuery, InstanceResponse, ListQuery, UpdateInstanceRequest};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonObject;
use crate::state::AppState;

/// The most instances one list call returns.
pub const MAX_LIMIT: i64 = 1000;

/// A path name that cannot be an instance name cannot exist either: 404, not 422.
pub(crate) fn path_name(name: &str) -> Result<InstanceName, ApiError> {
    InstanceName::parse(name).map_err(|_| ApiError::NotFound(format!("instance '{name}' not found")))
}

/// `skip` (default 0) and `limit` (default 100, at most [`MAX_LIMIT`]) of a list route,
/// checked.
pub(crate) fn paging(query: &ListQuery) -> Result<(i64, i64), ApiError> {
    let skip = query.skip.unwrap_or(0);
    let limit = query.limit.unwrap_or(100);
    if skip < 0 {
        return Err(ApiError::Validation {
            field: Some("skip".into()),
            message: "invalid skip: must be 0 or more".into(),
        });
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Validation {
            field: Some("limit".into()),
            message: format!("invalid limit: must be from 1 to {MAX_LIMIT}"),
        });
    }
    Ok((skip, limit))
}

/// List instances ordered by name.
#[utoipa::path(get, path = "/api/v1/instances", operation_id = "list_instances", tag = "instances", params(ListQuery),
    responses(
        (status = 200, description = "Instances, keys masked", body = [InstanceResponse]),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 422, description = "skip or limit out of range", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (skip, limit) = paging(&query)?;
    let instances = state.db(move |db| db.instances().list(skip, limit)).await?;
    let cache = state.pipeline().instances();
    let body: Vec<InstanceResponse> = instances
        .into_iter()
        .map(|i| {
            let connection = cache.connection(i.name.as_str());
            InstanceResponse::from(i).with_connection(connection)
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Create an instance.
#[utoipa::path(post, path = "/api/v1/instances", operation_id = "create_instance", tag = "instances", request_body = CreateInstanceRequest,
    responses(
        (status = 201, description = "Created", body = InstanceResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    body: JsonObject<CreateInstanceRequest>,
) -> Result<HttpResponse, ApiError> {
    let new = NewInstanceInput::from(body.0).validate()?;
    let created = state.admin_write(move |db| db.instances().create(&new)).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/instances/{}", created.name)))
        .json(InstanceResponse::from(created)))
}

/// Get one instance.
#[utoipa::path(get, path = "/api/v1/instances/{name}", operation_id = "get_instance", tag = "instances",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The instance, keys masked", body = InstanceResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let instance = state.db(move |db| db.instances().get(&name)).await?;
    let connection = state.pipeline().instances().connection(instance.name.as_str());
    Ok(HttpResponse::Ok().json(InstanceResponse::from(instance).with_connection(connection)))
}

/// Change some fields of an instance; absent fields stay as they are.
#[utoipa::path(put, path = "/api/v1/instances/{name}", operation_id = "update_instance", tag = "instances", request_body = UpdateInstanceRequest,
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The updated instance", body = InstanceResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "Conflicts with another instance", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: JsonObject<UpdateInstanceRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let changes = InstanceChangesInput::from(body.0).validate()?;
    let updated = state
        .admin_write(move |db| db.instances().update(&name, &changes))
        .await?;
    Ok(HttpResponse::Ok().json(InstanceResponse::from(updated)))
}

/// Delete an instance. The last one needs `?force=true`. When the default is deleted the
/// oldest remaining instance becomes the default and is named in `x-omnihub-promoted-default`.
#[utoipa::path(delete, path = "/api/v1/instances/{name}", operation_id = "delete_instance", tag = "instances",
    params(("name" = String, Path, description = "Instance name"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The last instance, without force", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<DeleteQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let force = query.force.unwrap_or(false);
    let outcome = state
        .admin_write(move |db| db.instances().delete(&name, force))
        .await?;
    let mut response = HttpResponse::NoContent();
    if let Some(promoted) = outcome.promoted {
        response.insert_header(("x-omnihub-promoted-default", promoted.to_string()));
    }
    Ok(response.finish())
}

/// Make an instance the default (used by the legacy `/webhook/evolution` route).
#[utoipa::path(post, path = "/api/v1/instances/{name}/set-default", operation_id = "set_default_instance", tag = "instances",
    params(("name" = String, Path, description = "Instance name")),
    responses(
        (status = 200, description = "The new default instance", body = InstanceResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn set_default(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = path_name(&name)?;
    let instance = state
        .admin_write(move |db| db.instances().set_default(&name))
        .await?;
    Ok(HttpResponse::Ok().json(InstanceResponse::from(instance)))
}

/// The default instance.
#[utoipa::path(get, path = "/api/v1/default-instance", operation_id = "get_default_instance", tag = "instances",
    responses(
        (status = 200, description = "The default instance", body = InstanceResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No instance is the default (there are none)", body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn default_instance(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let instance = state.db(|db| db.instances().get_default()).await?;
    let instance = instance.ok_or_else(|| ApiError::NotFound("no default instance is set".into()))?;
    Ok(HttpResponse::Ok().json(InstanceResponse::from(instance)))
}
