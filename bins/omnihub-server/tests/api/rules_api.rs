//! Conversation rules through the real server binary: the rules API with every kind of bad
//! input, chats paused and resumed, skipped messages in the log and /metrics, and a
//! debounce window that survives a SIGKILL.

use omnihub_test_support::TestDb;
use serde_json::json;

use crate::flow::{
    create_instance, echo_agent, ok_evolution, post_webhook, start, text_webhook, texts, wait_until,
};
use crate::support::{Api, Req, ServerProcess};

on_both_engines!(
    rules_are_read_written_and_refused_by_rule,
    chats_pause_resume_and_skipped_messages_show_everywhere,
    a_debounce_window_survives_a_sigkill,
);

const CHAT: &str = "5511999990000@s.whatsapp.net";

fn rules_are_read_written_and_refused_by_rule(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    let defaults = server
        .send(Req::admin("GET", "/api/v1/instances/shop/rules"))
        .expect(200, None);
    assert_eq!(defaults["groups"], "mention");
    assert_eq!(defaults["takeover_minutes"], 30);
    assert_eq!(defaults["trigger"], json!({"type": "all"}));
    let put =
        |body: serde_json::Value| server.send(Req::admin("PUT", "/api/v1/instances/shop/rules").json(&body));
    let set = put(json!({"debounce_ms": 1500, "allow": ["5511*"], "trigger": {"type": "keyword", "operator": "regex", "value": "^#\\d+$"}}))
        .expect(200, None);
    assert_eq!(
        (set["debounce_ms"].as_u64(), set["groups"].as_str()),
        (Some(1500), Some("mention"))
    );
    let read = server
        .send(Req::admin("GET", "/api/v1/instances/shop/rules"))
        .expect(200, None);
    assert_eq!(read, set);
    for (body, field) in [
        (json!({"debounce_ms": "fast"}), "debounce_ms"),
        (json!({"groups": "some"}), "groups"),
        (json!({"allow": ["55 11"]}), "allow"),
        (
            json!({"trigger": {"type": "keyword", "operator": "regex", "value": "("}}),
            "trigger.value",
        ),
        (
            json!({"trigger": {"type": "keyword", "value": "x"}}),
            "trigger.operator",
        ),
        (json!({"unknown_rule": 1}), "rules"),
        (json!({"ignore_types": ["gif"]}), "ignore_types"),
    ] {
        let refused = put(body.clone()).expect(422, Some("validation_failed"));
        assert_eq!(refused["field"], field, "{body} → {refused}");
    }
    assert_eq!(
        server
            .send(Req::admin("GET", "/api/v1/instances/shop/rules"))
            .expect(200, None),
        set,
        "a refused put changes nothing"
    );
    server
        .send(
            Req::admin("PUT", "/api/v1/instances/shop/rules")
                .raw("application/json", b"{\"debounce_ms\": ".to_vec()),
        )
        .expect(400, None);
    put(json!([1, 2])).expect(422, None);
    server
        .send(Req::admin("PUT", "/api/v1/instances/ghost/rules").json(&json!({})))
        .expect(404, Some("not_found"));
    server
        .send(Req::new("GET", "/api/v1/instances/shop/rules"))
        .expect(401, None);
}

fn webhook(server: &ServerProcess, id: &str, text: &str, from_me: bool) -> serde_json::Value {
    let mut body = text_webhook("wa_shop", id, CHAT, text);
    body["data"]["key"]["fromMe"] = json!(from_me);
    post_webhook(server, "/webhook/evolution/shop", &body).expect(200, None)
}

fn chats_pause_resume_and_skipped_messages_show_everywhere(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    server
        .send(Req::admin("PUT", "/api/v1/instances/shop/rules").json(&json!({"block": ["5511888*"]})))
        .expect(200, None);
    let paused = server
        .send(
            Req::admin("POST", "/api/v1/instances/shop/chats/+5511999990000/pause")
                .json(&json!({"minutes": 30})),
        )
        .expect(200, None);
    assert_eq!(
        (
            paused["chat"].as_str(),
            paused["paused"].as_bool(),
            paused["paused_by"].as_str()
        ),
        (Some(CHAT), Some(true), Some("api"))
    );
    assert_eq!(webhook(&server, "P1", "hello?", false)["status"], "skipped");
    let mut blocked = text_webhook("wa_shop", "B1", "5511888880000@s.whatsapp.net", "spam");
    blocked["data"]["key"]["fromMe"] = json!(false);
    post_webhook(&server, "/webhook/evolution/shop", &blocked).expect(200, None);
    let listed = server
        .send(Req::admin("GET", "/api/v1/instances/shop/chats?paused=true"))
        .expect(200, None);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let skipped = server
        .send(Req::admin("GET", "/api/v1/messages?status=skipped"))
        .expect(200, None);
    let mut reasons: Vec<&str> = skipped
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["skip_reason"].as_str())
        .collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["blocked", "paused"]);
    let metrics = server.send(Req::new("GET", "/metrics")).text();
    assert!(
        metrics.contains(r#"omnihub_messages_skipped{instance="shop",reason="paused"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"omnihub_chats_paused{instance="shop"} 1"#),
        "{metrics}"
    );
    server
        .send(Req::admin(
            "POST",
            format!("/api/v1/instances/shop/chats/{CHAT}/resume"),
        ))
        .expect(200, None);
    assert_eq!(webhook(&server, "P2", "now?", false)["status"], "accepted");
    wait_until(20, "the answer after resume", || texts(&evolution).len() == 1);
    assert_eq!(
        texts(&evolution)[0].json["text"]
            .as_str()
            .map(|t| t.contains("now?")),
        Some(true)
    );
    // Bad chat names, bad bodies, unknown chats and instances.
    server
        .send(Req::admin("POST", "/api/v1/instances/shop/chats/not-a-chat/pause").json(&json!({})))
        .expect(422, Some("validation_failed"));
    server
        .send(
            Req::admin("POST", format!("/api/v1/instances/shop/chats/{CHAT}/pause"))
                .json(&json!({"minutes": 0})),
        )
        .expect(422, Some("validation_failed"));
    server
        .send(
            Req::admin("POST", format!("/api/v1/instances/shop/chats/{CHAT}/pause"))
                .json(&json!({"minutes": "ten"})),
        )
        .expect(422, Some("validation_failed"));
    server
        .send(Req::admin(
            "POST",
            "/api/v1/instances/shop/chats/5511000000000/resume",
        ))
        .expect(404, Some("not_found"));
    server
        .send(Req::admin("GET", "/api/v1/instances/ghost/chats"))
        .expect(404, Some("not_found"));
    server
        .send(Req::admin("GET", "/api/v1/instances/shop/chats?limit=0"))
        .expect(422, None);
    // A phone-typed message pauses (a human took over); the chat shows it.
    assert_eq!(webhook(&server, "F1", "I'll answer", true)["status"], "skipped");
    let chat = server
        .send(Req::admin("GET", format!("/api/v1/instances/shop/chats/{CHAT}")))
        .expect(200, None);
    assert_eq!(
        (chat["paused"].as_bool(), chat["paused_by"].as_str()),
        (Some(true), Some("human"))
    );
}

fn a_debounce_window_survives_a_sigkill(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let mut server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    server
        .send(
            Req::admin("PUT", "/api/v1/instances/shop/rules")
                .json(&json!({"debounce_ms": 8000, "debounce_max_ms": 8000})),
        )
        .expect(200, None);
    for (id, text) in [("K1", "first"), ("K2", "second"), ("K3", "third")] {
        assert_eq!(webhook(&server, id, text, false)["status"], "accepted");
    }
    // Killed inside the window: nothing was answered yet, the burst is in the database.
    server.kill_hard();
    assert!(agent.requests().is_empty());
    let _server = start(db);
    wait_until(30, "the burst's one answer after the restart", || {
        texts(&evolution).len() == 1
    });
    let calls = agent.requests();
    assert_eq!(calls.len(), 1, "one agent call for the three messages");
    let content = calls[0].json["message_content"].as_str().unwrap_or_default();
    assert!(content.ends_with("first\nsecond\nthird"), "{content}");
}
