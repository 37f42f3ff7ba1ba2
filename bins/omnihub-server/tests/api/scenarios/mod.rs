//! The admin API scenarios, written once against [`Api`].

use serde_json::{json, Value};

use crate::support::{Api, Req, ADMIN_KEY};

pub const AGENT_KEY: &str = "agent-secret-0123456789-WXYZ";
pub const EVOLUTION_KEY: &str = "evolution-secret-0123456789-ABCD";

pub fn instance_body(name: &str) -> Value {
    json!({
        "name": name,
        "whatsapp_instance": format!("wa_{name}"),
        "agent_api_url": "http://agents.local:8000",
        "agent_api_key": AGENT_KEY,
        "default_agent": "sofia",
        "evolution_url": "https://evo.example.com",
        "evolution_key": EVOLUTION_KEY,
    })
}

pub fn create(api: &dyn Api, name: &str) -> Value {
    api.send(Req::admin("POST", "/api/v1/instances").json(&instance_body(name)))
        .expect(201, None)
}

mod contract;
mod errors;
mod messages;

pub use contract::{
    json_bodies_must_be_objects, the_openapi_document_is_complete, whole_number_floats_are_whole_numbers,
};

pub use errors::{caller_mistakes_get_the_documented_json_errors, paging_is_validated};
pub use messages::message_log_lists_filters_and_guards_retries;

pub fn operations_endpoints_answer(api: &dyn Api) {
    let health = api.send(Req::new("GET", "/health").header("x-request-id", "trace-abc-123"));
    assert_eq!(health.expect(200, None), json!({"status": "ok"}));
    assert_eq!(
        health.header("x-request-id"),
        Some("trace-abc-123"),
        "a client's request id is kept"
    );
    let ready = api.send(Req::new("GET", "/ready"));
    assert_eq!(ready.expect(200, None)["status"], "ready");
    assert!(
        ready.header("x-request-id").is_some_and(|id| id.len() >= 16),
        "an id is generated"
    );
    let bogus_id = api.send(Req::new("GET", "/health").header("x-request-id", &"x".repeat(200)));
    assert_ne!(bogus_id.header("x-request-id"), Some("x".repeat(200).as_str()));

    api.send(Req::admin("GET", "/api/v1/instances")).expect(200, None);
    let metrics = api.send(Req::new("GET", "/metrics"));
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(
        text.contains(r#"omnihub_http_requests_total{method="GET",route="/health",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/v1/instances""#), "{text}");
    assert!(
        text.contains("omnihub_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("omnihub_db_pool_max_connections"), "{text}");
}

pub fn authentication_accepts_both_header_styles_only_with_the_right_key(api: &dyn Api) {
    let none = api.send(Req::new("GET", "/api/v1/instances"));
    none.expect(401, Some("missing_api_key"));
    assert_eq!(none.header("www-authenticate"), Some("Bearer realm=\"omnihub\""));
    for req in [
        Req::new("GET", "/api/v1/instances").header("x-api-key", "wrong-key-0123456789"),
        Req::new("GET", "/api/v1/instances").header("authorization", "Bearer wrong-key-0123456789"),
        Req::new("GET", "/api/v1/instances").header("x-api-key", &ADMIN_KEY[..ADMIN_KEY.len() - 1]),
        Req::new("POST", "/api/v1/instances")
            .header("x-api-key", "nope")
            .json(&instance_body("x")),
    ] {
        let resp = api.send(req);
        resp.expect(401, Some("invalid_api_key"));
        assert!(resp.header("www-authenticate").is_some());
    }
    api.send(Req::new("GET", "/api/v1/instances").header("x-api-key", ADMIN_KEY))
        .expect(200, None);
    api.send(Req::new("GET", "/api/v1/instances").header("authorization", &format!("Bearer {ADMIN_KEY}")))
        .expect(200, None);
    api.send(Req::new("GET", "/api/v1/openapi.json"))
        .expect(401, Some("missing_api_key"));
    api.send(Req::new("GET", "/health")).expect(200, None);
}

pub fn instance_lifecycle_through_every_route(api: &dyn Api) {
    api.send(Req::admin("GET", "/api/v1/default-instance"))
        .expect(404, Some("not_found"));
    let created = api.send(Req::admin("POST", "/api/v1/instances").json(&instance_body("support")));
    let body = created.expect(201, None);
    assert_eq!(created.header("location"), Some("/api/v1/instances/support"));
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agent_api_key",
            "agent_api_url",
            "agent_kind",
            "agent_options",
            "agent_timeout",
            "connection",
            "created_at",
            "default_agent",
            "evolution_key",
            "evolution_url",
            "id",
            "is_default",
            "name",
            "session_id_prefix",
            "updated_at",
            "webhook_secret",
            "whatsapp_instance"
        ]
    );
    assert_eq!(body["agent_api_key"], "****WXYZ");
    assert_eq!(body["evolution_key"], "****ABCD");
    assert_eq!(body["is_default"], true, "the first instance is the default");
    assert_eq!(body["agent_timeout"], 60);
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    create(api, "sales");
    let got = api
        .send(Req::admin("GET", "/api/v1/instances/sales"))
        .expect(200, None);
    assert_eq!(got["whatsapp_instance"], "wa_sales");
    let list = api.send(Req::admin("GET", "/api/v1/instances")).expect(200, None);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sales", "support"]);
    let seed_style = api
        .send(Req::admin("GET", "/api/v1/instances/"))
        .expect(200, None);
    assert_eq!(seed_style, list, "the seed's trailing-slash route still works");

    let updated = api
        .send(
            Req::admin("PUT", "/api/v1/instances/sales")
                .json(&json!({"agent_timeout": 120, "session_id_prefix": "wa-"})),
        )
        .expect(200, None);
    assert_eq!(
        (
            updated["agent_timeout"].clone(),
            updated["session_id_prefix"].clone()
        ),
        (json!(120), json!("wa-"))
    );
    assert_eq!(
        updated["agent_api_url"], got["agent_api_url"],
        "other fields untouched"
    );
    assert!(updated["updated_at"].as_str() > got["updated_at"].as_str());

    let default = api
        .send(Req::admin("POST", "/api/v1/instances/sales/set-default"))
        .expect(200, None);
    assert_eq!(default["is_default"], true);
    assert_eq!(
        api.send(Req::admin("GET", "/api/v1/default-instance"))
            .expect(200, None)["name"],
        "sales"
    );
    assert_eq!(
        api.send(Req::admin("GET", "/api/v1/instances/support"))
            .expect(200, None)["is_default"],
        false
    );

    let deleted = api.send(Req::admin("DELETE", "/api/v1/instances/sales"));
    deleted.expect(204, None);
    assert_eq!(deleted.header("x-omnihub-promoted-default"), Some("support"));
    api.send(Req::admin("GET", "/api/v1/instances/sales"))
        .expect(404, Some("not_found"));
    let last = api
        .send(Req::admin("DELETE", "/api/v1/instances/support"))
        .expect(409, Some("conflict"));
    assert!(last["message"].as_str().unwrap().contains("force"), "{last}");
    api.send(Req::admin("DELETE", "/api/v1/instances/support?force=true"))
        .expect(204, None);
    assert_eq!(
        api.send(Req::admin("GET", "/api/v1/instances")).expect(200, None),
        json!([])
    );
}

pub fn openapi_lists_every_admin_route_and_parses(api: &dyn Api) {
    let resp = api.send(Req::admin("GET", "/api/v1/openapi.json"));
    let doc = resp.expect(200, None);
    // utoipa writes OpenAPI 3.1; oas3 parses (and so checks) that version.
    let parsed = oas3::from_json(resp.text()).unwrap();
    assert!(parsed.openapi.starts_with("3.1"), "{}", parsed.openapi);
    let mut routes: Vec<String> = Vec::new();
    for (path, item) in parsed.paths.as_ref().unwrap() {
        for (method, operation) in item.methods() {
            assert!(
                !operation.responses.as_ref().unwrap().is_empty(),
                "{method} {path}"
            );
            routes.push(format!("{} {path}", method.as_str()));
        }
    }
    routes.sort();
    assert_eq!(
        routes,
        [
            "DELETE /api/v1/instances/{name}",
            "DELETE /api/v1/instances/{name}/conversations/{chat}",
            "DELETE /api/v1/instances/{name}/whatsapp",
            "GET /api/v1/default-instance",
            "GET /api/v1/evolution/instances",
            "GET /api/v1/instances",
            "GET /api/v1/instances/{name}",
            "GET /api/v1/instances/{name}/chats",
            "GET /api/v1/instances/{name}/chats/{chat}",
            "GET /api/v1/instances/{name}/chats/{chat}/messages",
            "GET /api/v1/instances/{name}/conversations",
            "GET /api/v1/instances/{name}/rules",
            "GET /api/v1/instances/{name}/status",
            "GET /api/v1/messages",
            "GET /api/v1/messages/{id}",
            "GET /api/v1/openapi.json",
            "POST /api/v1/instances",
            "POST /api/v1/instances/{name}/chats/{chat}/pause",
            "POST /api/v1/instances/{name}/chats/{chat}/resume",
            "POST /api/v1/instances/{name}/connect",
            "POST /api/v1/instances/{name}/logout",
            "POST /api/v1/instances/{name}/messages/send",
            "POST /api/v1/instances/{name}/restart",
            "POST /api/v1/instances/{name}/set-default",
            "POST /api/v1/instances/{name}/test-agent",
            "POST /api/v1/instances/{name}/webhook/sync",
            "POST /api/v1/messages/{id}/retry",
            "PUT /api/v1/instances/{name}",
            "PUT /api/v1/instances/{name}/rules",
        ]
    );
    // Every documented route is served (never the unknown-route 404).
    for route in &routes {
        let (method, path) = route.split_once(' ').unwrap();
        let method: &'static str = match method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            _ => "DELETE",
        };
        let resp = api.send(
            Req::admin(method, path.replace("{name}", "ghost").replace("{id}", "999")).json(&json!({})),
        );
        assert_ne!(resp.json()["error"], "route_not_found", "{route}");
        assert_ne!(resp.status, 405, "{route}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
}

pub fn secrets_never_appear_in_full(api: &dyn Api) {
    create(api, "one");
    create(api, "two");
    api.send(
        Req::admin("PUT", "/api/v1/instances/two")
            .json(&json!({"agent_api_key": AGENT_KEY, "default_agent": "x"})),
    );
    api.send(Req::admin("GET", "/api/v1/instances"));
    api.send(Req::admin("GET", "/api/v1/instances/one"));
    api.send(Req::admin("GET", "/api/v1/default-instance"));
    api.send(Req::admin("POST", "/api/v1/instances/two/set-default"));
    api.send(Req::admin("POST", "/api/v1/instances").json(&instance_body("one")));
    let mut bad = instance_body("three");
    bad["agent_api_url"] = json!("nope");
    api.send(Req::admin("POST", "/api/v1/instances").json(&bad));
    let seen = api.seen();
    assert!(seen.len() >= 8);
    for body in seen {
        for secret in [AGENT_KEY, EVOLUTION_KEY, ADMIN_KEY] {
            assert!(!body.contains(secret), "a secret leaked: {body}");
        }
    }
}
