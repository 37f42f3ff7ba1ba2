//! The OpenAPI document of the admin API, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{CreateInstanceRequest, InstanceResponse, UpdateInstanceRequest};
use crate::dto_messages::{MessageDetail, MessageResponse};
use crate::error::ErrorBody;
use crate::handlers::{instances, messages, ops};

/// The admin API under `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(title = "omnihub admin API", description = "Manage omnihub instances. Every route needs the admin key."),
    paths(
        instances::list,
        instances::create,
        instances::get,
        instances::update,
        instances::delete,
        instances::set_default,
        instances::default_instance,
        messages::list,
        messages::get,
        messages::retry,
        ops::openapi,
    ),
    components(schemas(InstanceResponse, CreateInstanceRequest, UpdateInstanceRequest, ErrorBody, MessageResponse, MessageDetail)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "instances", description = "WhatsApp numbers bound to agents"),
        (name = "messages", description = "The message log"),
        (name = "meta", description = "This document")
    )
)]
pub struct AdminApiDoc;

/// Declares the two ways of presenting the admin key.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
