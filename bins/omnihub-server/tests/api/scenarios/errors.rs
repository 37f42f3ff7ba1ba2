//! Caller mistakes: every one gets the documented status and JSON error code.

use serde_json::{json, Value};

use super::{create, instance_body};
use crate::support::{Api, Req};

pub fn caller_mistakes_get_the_documented_json_errors(api: &dyn Api) {
    create(api, "taken");
    let post = |body: Value| api.send(Req::admin("POST", "/api/v1/instances").json(&body));
    post(instance_body("taken")).expect(409, Some("conflict"));
    let mut bad_url = instance_body("new");
    bad_url["agent_api_url"] = json!("ftp://agents");
    assert_eq!(
        post(bad_url).expect(422, Some("validation_failed"))["field"],
        "agent_api_url"
    );
    let mut empty_name = instance_body("");
    empty_name["name"] = json!("");
    assert_eq!(
        post(empty_name).expect(422, Some("validation_failed"))["field"],
        "name"
    );
    let mut wrong_type = instance_body("new");
    wrong_type["agent_timeout"] = json!("sixty");
    post(wrong_type).expect(422, Some("validation_failed"));
    let mut unknown = instance_body("new");
    unknown["agent_timout"] = json!(5);
    let msg = post(unknown).expect(422, Some("validation_failed"));
    assert!(msg["message"].as_str().unwrap().contains("agent_timout"), "{msg}");
    post(json!({"name": "new"})).expect(422, Some("validation_failed"));
    post(json!([1, 2])).expect(422, Some("validation_failed"));

    let raw = |content_type: &str, body: &[u8]| {
        api.send(Req::admin("POST", "/api/v1/instances").raw(content_type, body.to_vec()))
    };
    raw("application/json", b"{\"name\": ").expect(400, Some("invalid_json"));
    raw("application/json", b"").expect(400, Some("invalid_json"));
    raw("text/plain", instance_body("x").to_string().as_bytes()).expect(415, Some("unsupported_media_type"));
    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    raw("application/json", huge.as_bytes()).expect(413, Some("payload_too_large"));

    let put = |path: &str, body: Value| api.send(Req::admin("PUT", path).json(&body));
    put("/api/v1/instances/ghost", json!({"agent_timeout": 5})).expect(404, Some("not_found"));
    put("/api/v1/instances/taken", json!({"agent_timeout": 0})).expect(422, Some("validation_failed"));
    put("/api/v1/instances/taken", json!({"is_default": false})).expect(422, Some("validation_failed"));
    put("/api/v1/instances/taken", json!({"name": "renamed"})).expect(422, Some("validation_failed"));
    api.send(Req::admin("GET", "/api/v1/instances/bad%20name"))
        .expect(404, Some("not_found"));
    api.send(Req::admin("POST", "/api/v1/instances/ghost/set-default"))
        .expect(404, Some("not_found"));
    api.send(Req::admin("DELETE", "/api/v1/instances/ghost"))
        .expect(404, Some("not_found"));
    api.send(Req::admin("GET", "/no/such/route"))
        .expect(404, Some("route_not_found"));
    api.send(Req::admin("GET", "/api/v1/nothing"))
        .expect(404, Some("route_not_found"));
    api.send(Req::admin("PATCH", "/api/v1/instances/taken"))
        .expect(405, Some("method_not_allowed"));
    api.send(Req::admin("POST", "/health"))
        .expect(405, Some("method_not_allowed"));
    assert_eq!(
        api.send(Req::admin("GET", "/api/v1/instances"))
            .expect(200, None)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

pub fn paging_is_validated(api: &dyn Api) {
    for name in ["a", "b", "c"] {
        create(api, name);
    }
    let page = api
        .send(Req::admin("GET", "/api/v1/instances?skip=1&limit=1"))
        .expect(200, None);
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["name"], "b");
    let limit = api
        .send(Req::admin("GET", "/api/v1/instances?limit=1001"))
        .expect(422, Some("validation_failed"));
    assert_eq!(limit["field"], "limit");
    api.send(Req::admin("GET", "/api/v1/instances?limit=0"))
        .expect(422, Some("validation_failed"));
    api.send(Req::admin("GET", "/api/v1/instances?skip=-1"))
        .expect(422, Some("validation_failed"));
    api.send(Req::admin("GET", "/api/v1/instances?limit=ten"))
        .expect(400, Some("invalid_query"));
    api.send(Req::admin("GET", "/api/v1/instances?limit=1000"))
        .expect(200, None);
}
