//! Completes the generated OpenAPI document with what the code enforces outside the
//! handlers' annotations: the status codes every admin route can answer (authentication,
//! extractors, the database), response headers, the validation rules as schema keywords
//! (from `omnihub_domain::rules`, the same definitions the validators use) and the links
//! between operations.

use omnihub_domain::rules::{self, TextRule};
use omnihub_domain::AgentTimeout;
use utoipa::openapi::header::Header;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, Object, Schema, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::Modify;

/// The completing step, registered in `AdminApiDoc`.
pub struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                if operation.description.is_none() {
                    operation.description = operation.summary.clone();
                }
                complete_responses(operation);
                constrain_parameters(operation);
                if operation.tags.iter().flatten().any(|t| t == "chats") {
                    constrain_chat(operation);
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            for name in ["CreateInstanceRequest", "UpdateInstanceRequest"] {
                if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(name) {
                    constrain_instance_body(body, name == "UpdateInstanceRequest");
                }
            }
            if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ConnectRequest") {
                if let Some(RefOr::T(Schema::Object(number))) = body.properties.get_mut("number") {
                    text(number, &rules::PHONE_NUMBER, false);
                }
            }
        }
        add_links(openapi);
    }
}

fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

fn text_header(description: &str) -> Header {
    let mut header = Header::new(Object::with_type(Type::String));
    header.description = Some(description.to_owned());
    header
}

/// Every status the middleware, the extractors and the database can add to a route.
fn complete_responses(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description));
    };
    add("401", "Missing or wrong admin key (`missing_api_key`, `invalid_api_key`), or the admin API is closed (`admin_api_disabled`)");
    add(
        "500",
        "A fault on the server's side (`internal_error`); the cause is logged, never returned",
    );
    add(
        "503",
        "The database does not answer (`database_unavailable`); retry",
    );
    if has_query {
        add("400", "The query string cannot be read (`invalid_query`)");
    }
    if has_body {
        add(
            "400",
            "The body is not JSON (`invalid_json`) or cannot be read (`invalid_body`)",
        );
        add("413", "The body is larger than 1 MiB (`payload_too_large`)");
        add(
            "415",
            "The body is not sent as `application/json` (`unsupported_media_type`)",
        );
        add(
            "422",
            "The body is not a JSON object, or a field breaks a rule (`validation_failed`, naming the field)",
        );
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        response.headers.insert(
            "x-request-id".to_owned(),
            text_header("The request's id, as logged (echoes a valid incoming `x-request-id`)"),
        );
        match status.as_str() {
            "401" => {
                response.headers.insert(
                    "www-authenticate".to_owned(),
                    text_header("`Bearer realm=\"omnihub\"`"),
                );
            }
            "201" => {
                response.headers.insert(
                    "location".to_owned(),
                    text_header("The path of the created resource"),
                );
            }
            "204" => {
                response.headers.insert(
                    "x-omnihub-promoted-default".to_owned(),
                    text_header(
                        "When the deleted instance was the default: the instance that became the default",
                    ),
                );
            }
            _ => {}
        }
    }
}

/// The rules of query and path parameters.
fn constrain_parameters(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else {
            continue;
        };
        match parameter.name.as_str() {
            "skip" => schema.minimum = Some(0.into()),
            "limit" => {
                schema.minimum = Some(1.into());
                schema.maximum = Some(1000.into());
            }
            "status" => {
                schema.enum_values = Some(
                    omnihub_domain::MessageStatus::ALL
                        .iter()
                        .map(|s| s.as_str().into())
                        .collect(),
                );
            }
            "since" => schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)),
            "name" if matches!(parameter.parameter_in, ParameterIn::Path) => {
                text(schema, &rules::INSTANCE_NAME, false)
            }
            "evolution_url" => text(schema, &rules::HTTP_URL, false),
            "x-evolution-key" => text(schema, &rules::SECRET, false),
            _ => {}
        }
    }
}

/// The chat routes name a chat by phone number or JID (the conversation routes' `chat` may
/// also be a session name, so it stays free text there).
fn constrain_chat(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if let (Some(RefOr::T(Schema::Object(schema))), "chat") =
            (parameter.schema.as_mut(), parameter.name.as_str())
        {
            text(schema, &rules::CHAT, false);
        }
    }
}

fn text(schema: &mut Object, rule: &TextRule, empty_clears: bool) {
    if empty_clears {
        schema.pattern = Some(rule.pattern_or_empty());
        schema.min_length = None;
    } else {
        schema.pattern = Some(rule.pattern.to_owned());
        schema.min_length = Some(rule.min_chars);
    }
    schema.max_length = Some(rule.max_chars);
}

/// The instance bodies: each field's rule, from the domain's definitions.
fn constrain_instance_body(body: &mut Object, update: bool) {
    for (field, property) in body.properties.iter_mut() {
        let RefOr::T(Schema::Object(schema)) = property else {
            continue;
        };
        match field.as_str() {
            "name" => text(schema, &rules::INSTANCE_NAME, false),
            "whatsapp_instance" | "default_agent" => text(schema, &rules::PATH_NAME, false),
            "agent_api_url" => text(schema, &rules::HTTP_URL, false),
            // Empty means none (kinds that take no key); the per-kind branches require one
            // for automagik and dify.
            "agent_api_key" => text(schema, &rules::SECRET, true),
            "evolution_url" => text(schema, &rules::HTTP_URL, true),
            "evolution_key" => text(schema, &rules::SECRET, true),
            "session_id_prefix" => text(schema, &rules::SESSION_PREFIX, true),
            "webhook_secret" => text(schema, &rules::WEBHOOK_SECRET, true),
            "agent_timeout" => {
                schema.minimum = Some(1.into());
                schema.maximum = Some(AgentTimeout::MAX_SECONDS.into());
            }
            // Only `true` changes anything: the default moves by making another instance it.
            "is_default" if update => {
                schema.enum_values = Some(vec![true.into(), serde_json::Value::Null]);
            }
            _ => {}
        }
    }
}

/// Links for the stateful fuzzing phase: a created instance can be read, changed, made the
/// default and deleted; a listed message can be read and retried.
fn add_links(openapi: &mut OpenApi) {
    let mut link =
        |path: &str, status: &str, name: &str, operation: &str, parameter: &str, expression: &str| {
            let Some(item) = openapi.paths.paths.get_mut(path) else {
                return;
            };
            let op = if path == "/api/v1/instances" {
                item.post.as_mut()
            } else {
                item.get.as_mut()
            };
            let Some(RefOr::T(response)) = op.and_then(|o| o.responses.responses.get_mut(status)) else {
                return;
            };
            response.links.insert(
                name.to_owned(),
                LinkBuilder::new()
                    .operation_id(operation)
                    .parameter(parameter, expression)
                    .build()
                    .into(),
            );
        };
    for (name, operation) in [
        ("GetInstance", "get_instance"),
        ("UpdateInstance", "update_instance"),
        ("SetDefaultInstance", "set_default_instance"),
        ("DeleteInstance", "delete_instance"),
        ("ListConversations", "list_conversations"),
        ("TestAgent", "test_agent"),
        ("InstanceStatus", "instance_status"),
        ("ConnectInstance", "connect_instance"),
        ("SyncWebhook", "sync_webhook"),
    ] {
        link(
            "/api/v1/instances",
            "201",
            name,
            operation,
            "name",
            "$response.body#/name",
        );
    }
    for (name, operation) in [("GetMessage", "get_message"), ("RetryMessage", "retry_message")] {
        link(
            "/api/v1/messages",
            "200",
            name,
            operation,
            "id",
            "$response.body#/0/id",
        );
    }
}
