//! The OpenAPI document of the admin API, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{CreateInstanceRequest, InstanceResponse, UpdateInstanceRequest};
use crate::dto_agents::{ConversationResponse, TestAgentRequest, TestAgentResponse};
use crate::dto_chats::{ChatResponse, PauseRequest};
use crate::dto_lifecycle::{
    ConnectRequest, ConnectResponse, ConnectionResponse, DiscoveredResponse, QrCode, StatusResponse,
    WebhookSyncResponse,
};
use crate::dto_messages::{MessageDetail, MessageResponse};
use crate::dto_outbound::{ChatMessagesResponse, SentResponse};
use crate::error::ErrorBody;
use crate::handlers::{agents, chats, instances, lifecycle, messages, ops, outbound};
use crate::openapi_contract::Contract;
use crate::openapi_outbound::SendRequestDoc;
use crate::openapi_rules::RulesDoc;

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
        agents::list,
        agents::reset,
        agents::test_agent,
        chats::get_rules,
        chats::put_rules,
        chats::list,
        chats::get,
        chats::pause,
        chats::resume,
        outbound::conversation,
        outbound::send,
        lifecycle::connect,
        lifecycle::status,
        lifecycle::sync_webhook,
        lifecycle::restart,
        lifecycle::logout,
        lifecycle::delete_whatsapp,
        lifecycle::discover,
        messages::list,
        messages::get,
        messages::retry,
        ops::openapi,
    ),
    components(schemas(InstanceResponse, CreateInstanceRequest, UpdateInstanceRequest, ErrorBody, MessageResponse, MessageDetail, ConversationResponse, TestAgentRequest, TestAgentResponse, ConnectRequest, ConnectResponse, QrCode, StatusResponse, WebhookSyncResponse, DiscoveredResponse, ConnectionResponse, RulesDoc, ChatResponse, PauseRequest, SendRequestDoc, SentResponse, ChatMessagesResponse)),
    modifiers(&SecuritySchemes, &Contract),
    tags(
        (name = "instances", description = "WhatsApp numbers bound to agents"),
        (name = "conversations", description = "Agent memory per chat, and trying an agent"),
        (name = "chats", description = "Conversation rules, and each chat's pause and trigger state"),
        (name = "numbers", description = "Connecting WhatsApp numbers on Evolution: QR, status, webhook, logout"),
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

/// The document as served: [`AdminApiDoc`] as JSON, with the link objects' keys spelled as
/// OpenAPI requires (utoipa 5 writes `operation_id` for `operationId`).
pub fn admin_api_document() -> Result<serde_json::Value, serde_json::Error> {
    let mut document = serde_json::to_value(AdminApiDoc::openapi())?;
    crate::openapi_agents::constrain(&mut document);
    let paths = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut);
    for item in paths.into_iter().flat_map(|p| p.values_mut()) {
        let operations = item.as_object_mut().into_iter().flat_map(|o| o.values_mut());
        for operation in operations {
            let responses = operation
                .get_mut("responses")
                .and_then(serde_json::Value::as_object_mut);
            for response in responses.into_iter().flat_map(|r| r.values_mut()) {
                let links = response
                    .get_mut("links")
                    .and_then(serde_json::Value::as_object_mut);
                for link in links.into_iter().flat_map(|l| l.values_mut()) {
                    let Some(link) = link.as_object_mut() else {
                        continue;
                    };
                    for (wrong, right) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(value) = link.remove(wrong) {
                            link.insert(right.to_owned(), value);
                        }
                    }
                }
            }
        }
    }
    Ok(document)
}
