//! The API contract: the OpenAPI document is valid and complete, and the server keeps to
//! what it says (bodies are objects, whole-number floats are whole numbers).

use std::collections::HashSet;

use omnihub_domain::rules;
use serde_json::{json, Value};

use super::{create, instance_body};
use crate::support::{Api, Req};

fn document(api: &dyn Api) -> Value {
    api.send(Req::admin("GET", "/api/v1/openapi.json"))
        .expect(200, None)
}

fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((format!("{} {path}", method.to_uppercase()), operation));
        }
    }
    all
}

pub fn the_openapi_document_is_complete(api: &dyn Api) {
    let doc = document(api);
    let mut ids = HashSet::new();
    for (route, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{route}: operationId {id:?} is not unique"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{route}: no tag"
        );
        assert!(
            operation["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{route}: no description"
        );
        let responses = operation["responses"].as_object().unwrap();
        let mut expected = vec!["401", "500", "503"];
        if operation.get("requestBody").is_some() {
            expected.extend(["400", "413", "415", "422"]);
        }
        let has_query = operation["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
        if has_query {
            expected.push("400");
        }
        for status in expected {
            assert!(
                responses.contains_key(status),
                "{route}: {status} is not documented"
            );
        }
        for (status, response) in responses {
            assert!(
                response["headers"].get("x-request-id").is_some(),
                "{route} {status}: no x-request-id"
            );
        }
        assert!(
            responses["401"]["headers"].get("www-authenticate").is_some(),
            "{route}"
        );
    }
    let create = &doc["paths"]["/api/v1/instances"]["post"]["responses"]["201"];
    assert!(create["headers"].get("location").is_some());
    assert_eq!(create["links"]["GetInstance"]["operationId"], "get_instance");
    let delete = &doc["paths"]["/api/v1/instances/{name}"]["delete"]["responses"]["204"];
    assert!(delete["headers"].get("x-omnihub-promoted-default").is_some());
    // The rules are the domain's own definitions.
    let body = &doc["components"]["schemas"]["CreateInstanceRequest"]["properties"];
    assert_eq!(body["name"]["pattern"], rules::INSTANCE_NAME.pattern);
    assert_eq!(body["name"]["maxLength"], rules::INSTANCE_NAME.max_chars);
    assert_eq!(body["agent_api_url"]["pattern"], rules::HTTP_URL.pattern);
    assert_eq!(
        body["webhook_secret"]["pattern"],
        json!(rules::WEBHOOK_SECRET.pattern_or_empty())
    );
    assert_eq!(
        (
            body["agent_timeout"]["minimum"].as_i64(),
            body["agent_timeout"]["maximum"].as_i64()
        ),
        (Some(1), Some(3600))
    );
    let params = doc["paths"]["/api/v1/messages"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let param = |name: &str| params.iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!(
        param("status")["enum"],
        json!(["queued", "processing", "done", "failed", "skipped"])
    );
    assert_eq!(param("since")["format"], "date-time");
    assert_eq!(
        (
            param("limit")["minimum"].as_i64(),
            param("limit")["maximum"].as_i64()
        ),
        (Some(1), Some(1000))
    );
}

pub fn json_bodies_must_be_objects(api: &dyn Api) {
    create(api, "kept");
    let positional = json!(["https://evo.example.com", "evo-key-0123456789abcd"]);
    let long_array = Value::Array((0..11).map(|i| json!(format!("v{i}"))).collect());
    for body in [
        positional.clone(),
        long_array,
        json!("text"),
        json!(42),
        json!(null),
    ] {
        let put = api.send(Req::admin("PUT", "/api/v1/instances/kept").json(&body));
        assert_eq!(
            put.expect(422, Some("validation_failed"))["message"],
            "the body must be a JSON object",
            "{body}"
        );
        let post = api.send(Req::admin("POST", "/api/v1/instances").json(&body));
        post.expect(422, Some("validation_failed"));
    }
    let kept = api
        .send(Req::admin("GET", "/api/v1/instances/kept"))
        .expect(200, None);
    assert_eq!(
        kept["evolution_url"], "https://evo.example.com",
        "nothing was bound by position"
    );
    let list = api.send(Req::admin("GET", "/api/v1/instances")).expect(200, None);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "no instance was created from an array"
    );
}

pub fn whole_number_floats_are_whole_numbers(api: &dyn Api) {
    let mut body = instance_body("floaty");
    body["agent_timeout"] = json!(60.0);
    let created = api
        .send(Req::admin("POST", "/api/v1/instances").json(&body))
        .expect(201, None);
    assert_eq!(created["agent_timeout"], 60);
    for bad in [json!(60.5), json!("60"), json!(1e300)] {
        let resp =
            api.send(Req::admin("PUT", "/api/v1/instances/floaty").json(&json!({"agent_timeout": bad})));
        resp.expect(422, Some("validation_failed"));
    }
    let updated =
        api.send(Req::admin("PUT", "/api/v1/instances/floaty").json(&json!({"agent_timeout": 120.0})));
    assert_eq!(updated.expect(200, None)["agent_timeout"], 120);
}
