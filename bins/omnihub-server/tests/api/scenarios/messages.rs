//! The message log API: listing with filters, one message, retry rules.

use serde_json::json;

use super::instance_body;
use crate::support::{Api, Req};

fn webhook(id: &str, chat: &str) -> serde_json::Value {
    json!({"event": "messages.upsert", "instance": "wa_shop",
           "data": {"key": {"remoteJid": chat, "fromMe": false, "id": id}, "pushName": "Ana",
                    "message": {"conversation": format!("hello {id}")}}})
}

pub fn message_log_lists_filters_and_guards_retries(api: &dyn Api) {
    api.send(Req::admin("POST", "/api/v1/instances").json(&instance_body("shop")))
        .expect(201, None);
    for (id, chat) in [("M1", "1@s.whatsapp.net"), ("M2", "2@s.whatsapp.net")] {
        let resp = api.send(Req::new("POST", "/webhook/evolution/shop").json(&webhook(id, chat)));
        resp.expect(200, None);
    }
    let all = api.send(Req::admin("GET", "/api/v1/messages")).expect(200, None);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["message_id"], "M2", "newest first");
    assert_eq!(all[0]["preview"], "hello M2");
    assert!(all[0].get("detail").is_none());
    let one_chat = api
        .send(Req::admin(
            "GET",
            "/api/v1/messages?chat=1@s.whatsapp.net&instance=shop",
        ))
        .expect(200, None);
    assert_eq!(one_chat.as_array().unwrap().len(), 1);
    let since = api
        .send(Req::admin("GET", "/api/v1/messages?since=2999-01-01T00:00:00Z"))
        .expect(200, None);
    assert_eq!(since, json!([]));
    let id = all[1]["id"].as_i64().unwrap();
    let detail = api
        .send(Req::admin("GET", format!("/api/v1/messages/{id}")))
        .expect(200, None);
    assert_eq!(detail["detail"]["text"], "hello M1");
    let retry = api
        .send(Req::admin("POST", format!("/api/v1/messages/{id}/retry")))
        .expect(409, Some("conflict"));
    assert!(retry["message"]
        .as_str()
        .unwrap()
        .contains("only failed messages"));
    api.send(Req::admin("GET", "/api/v1/messages/99999"))
        .expect(404, Some("not_found"));
    api.send(Req::admin("POST", "/api/v1/messages/abc/retry"))
        .expect(404, Some("not_found"));
    api.send(Req::admin("GET", "/api/v1/messages?status=lost"))
        .expect(422, Some("validation_failed"));
    api.send(Req::admin("GET", "/api/v1/messages?since=yesterday"))
        .expect(422, Some("validation_failed"));
    api.send(Req::admin("GET", "/api/v1/messages?limit=0"))
        .expect(422, Some("validation_failed"));
    api.send(Req::new("GET", "/api/v1/messages"))
        .expect(401, Some("missing_api_key"));
}
