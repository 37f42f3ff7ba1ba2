//! Sending through a number with the real server binary: texts and media reach Evolution as
//! the exact calls, an idempotency key sends once, a person's send takes the chat over
//! (unless `keep_bot`), the conversation shows both directions, and bad input is refused.

use omnihub_test_support::{FakeHttp, Reply, TestDb};
use serde_json::json;

use crate::flow::{
    create_instance, echo_agent, ok_evolution, post_webhook, start, text_webhook, texts, wait_until,
};
use crate::support::{Api, Req, ServerProcess};

on_both_engines!(
    a_text_and_a_document_reach_evolution_once_each,
    a_send_takes_the_chat_over_and_the_conversation_shows_both_ways,
    bad_sends_are_refused_with_the_field,
    a_failed_send_is_retried_and_never_apologised_for,
    a_paced_number_shows_its_waiting_sends_in_the_metrics,
);

const CHAT: &str = "5511999990000@s.whatsapp.net";

fn send(server: &ServerProcess, body: serde_json::Value) -> crate::support::Resp {
    server.send(Req::admin("POST", "/api/v1/instances/shop/messages/send").json(&body))
}

fn a_text_and_a_document_reach_evolution_once_each(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    let first = send(&server, json!({"to": "+5511999990000", "text": "Your order shipped", "idempotency_key": "order-17", "quoted_message_id": "3EB0AA"}))
        .expect(202, None);
    let again = send(
        &server,
        json!({"to": "5511999990000", "text": "Your order shipped", "idempotency_key": "order-17"}),
    )
    .expect(202, None);
    assert_eq!(first["id"], again["id"], "the same key gives the first id");
    assert_eq!(
        (first["duplicate"].as_bool(), again["duplicate"].as_bool()),
        (Some(false), Some(true))
    );
    wait_until(20, "the text sent", || texts(&evolution).len() == 1);
    let sent = &texts(&evolution)[0];
    assert_eq!(sent.path, "/message/sendText/wa_shop");
    assert_eq!(
        sent.header("apikey"),
        Some(omnihub_test_support::evolution_key("shop").as_str())
    );
    assert_eq!(
        sent.json,
        json!({"number": CHAT, "text": "Your order shipped", "quoted": {"key": {"id": "3EB0AA"}}})
    );
    send(&server, json!({"to": CHAT, "keep_bot": true, "media": {"url": "https://cdn.example.com/i.pdf", "mimetype": "application/pdf", "filename": "i.pdf", "caption": "Invoice"}}))
        .expect(202, None);
    wait_until(20, "the document sent", || {
        !evolution.requests_to("/message/sendMedia/").is_empty()
    });
    let media = evolution.requests_to("/message/sendMedia/");
    assert_eq!(media.len(), 1);
    assert_eq!(
        media[0].json,
        json!({"number": CHAT, "mediatype": "document", "mimetype": "application/pdf",
               "media": "https://cdn.example.com/i.pdf", "caption": "Invoice", "fileName": "i.pdf"})
    );
    wait_until(20, "both logged done", || {
        let id = first["id"].as_i64().unwrap_or_default();
        server
            .send(Req::admin("GET", format!("/api/v1/messages/{id}")))
            .expect(200, None)["status"]
            == "done"
    });
    let logged = server
        .send(Req::admin("GET", format!("/api/v1/messages/{}", first["id"])))
        .expect(200, None);
    assert_eq!(
        (
            logged["direction"].as_str(),
            logged["sender_name"].as_str(),
            logged["message_id"].as_str()
        ),
        (Some("outbound"), Some("api"), Some("out:order-17"))
    );
    assert_eq!(texts(&evolution).len(), 1, "the repeated key sent nothing");
    assert!(
        agent.requests().is_empty(),
        "no agent is asked for a person's message"
    );
}

fn a_send_takes_the_chat_over_and_the_conversation_shows_both_ways(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("wa_shop", "IN1", CHAT, "where is my order?"),
    )
    .expect(200, None);
    wait_until(20, "the agent's answer", || texts(&evolution).len() == 1);
    let sent = send(
        &server,
        json!({"to": "5511999990000", "text": "Checking it for you, Ana"}),
    )
    .expect(202, None);
    assert_eq!(
        (
            sent["chat"]["paused"].as_bool(),
            sent["chat"]["paused_by"].as_str()
        ),
        (Some(true), Some("human")),
        "{sent}"
    );
    let answer = post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("wa_shop", "IN2", CHAT, "thanks!"),
    )
    .expect(200, None);
    assert_eq!(answer["status"], "skipped");
    wait_until(20, "the person's message sent", || texts(&evolution).len() == 2);
    // The send reaches Evolution before its completion is written: wait for the log to say so.
    let read = || {
        server
            .send(Req::admin(
                "GET",
                "/api/v1/instances/shop/chats/+5511999990000/messages",
            ))
            .expect(200, None)
    };
    wait_until(20, "the person's message logged done", || {
        read()["messages"].as_array().is_some_and(|all| {
            all.iter()
                .all(|m| m["status"] != "processing" && m["status"] != "queued")
        })
    });
    let conversation = read();
    let messages = conversation["messages"].as_array().cloned().unwrap_or_default();
    let summary: Vec<(String, String, String)> = messages
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (
                s("direction"),
                s("status"),
                m["detail"]["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("inbound", "done", "where is my order?"),
        ("outbound", "done", "Checking it for you, Ana"),
        ("inbound", "skipped", "thanks!"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect();
    assert_eq!(summary, expected, "{conversation}");
    assert_eq!(messages[0]["detail"]["reply"], "echo: where is my order?");
    assert_eq!(messages[0]["parts_sent"], 1);
    assert_eq!(messages[2]["skip_reason"], "paused");
    assert_eq!(conversation["chat"]["paused"], true);
    // keep_bot leaves a resumed chat answered.
    server
        .send(Req::admin(
            "POST",
            format!("/api/v1/instances/shop/chats/{CHAT}/resume"),
        ))
        .expect(200, None);
    let kept = send(
        &server,
        json!({"to": CHAT, "text": "bot stays", "keep_bot": true}),
    )
    .expect(202, None);
    assert_eq!(kept["chat"]["paused"], false);
    let metrics = server.send(Req::new("GET", "/metrics")).text();
    assert!(
        metrics.contains(r#"omnihub_sends_waiting_for_pace{instance="shop"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"omnihub_outbound_unsent{instance="shop"}"#),
        "{metrics}"
    );
    server
        .send(Req::admin(
            "GET",
            "/api/v1/instances/shop/chats/5521000000000/messages",
        ))
        .expect(404, Some("not_found"));
    server
        .send(Req::admin(
            "GET",
            format!("/api/v1/instances/shop/chats/{CHAT}/messages?limit=0"),
        ))
        .expect(422, None);
}

fn bad_sends_are_refused_with_the_field(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    for (body, field) in [
        (json!({"text": "hi"}), "to"),
        (json!({"to": "nobody", "text": "hi"}), "to"),
        (json!({"to": CHAT}), "text"),
        (json!({"to": CHAT, "text": 12}), "text"),
        (json!({"to": CHAT, "text": "x".repeat(4097)}), "text"),
        (
            json!({"to": CHAT, "media": {"url": "ftp://x.example/a.png", "mimetype": "image/png"}}),
            "media.url",
        ),
        (
            json!({"to": CHAT, "media": {"base64": "aGk=", "mimetype": "image"}}),
            "media.mimetype",
        ),
        (
            json!({"to": CHAT, "text": "hi", "idempotency_key": "has space"}),
            "idempotency_key",
        ),
        (json!({"to": CHAT, "text": "hi", "keep_bot": "no"}), "keep_bot"),
        (
            json!({"to": CHAT, "text": "hi", "server_url": "http://evil.example"}),
            "body",
        ),
    ] {
        let refused = send(&server, body.clone()).expect(422, Some("validation_failed"));
        assert_eq!(refused["field"], field, "{body} → {refused}");
    }
    server
        .send(
            Req::admin("POST", "/api/v1/instances/shop/messages/send")
                .raw("application/json", b"{\"to\": ".to_vec()),
        )
        .expect(400, None);
    server
        .send(Req::admin("POST", "/api/v1/instances/shop/messages/send").raw("text/plain", b"hi".to_vec()))
        .expect(415, None);
    let huge = json!({"to": CHAT, "media": {"base64": "A".repeat(2 * 1024 * 1024), "mimetype": "image/png"}});
    send(&server, huge).expect(413, None);
    server
        .send(
            Req::admin("POST", "/api/v1/instances/ghost/messages/send")
                .json(&json!({"to": CHAT, "text": "hi"})),
        )
        .expect(404, Some("not_found"));
    server
        .send(
            Req::new("POST", "/api/v1/instances/shop/messages/send").json(&json!({"to": CHAT, "text": "hi"})),
        )
        .expect(401, None);
    let log = server
        .send(Req::admin("GET", "/api/v1/messages"))
        .expect(200, None);
    assert_eq!(
        log.as_array().map(Vec::len),
        Some(0),
        "nothing refused was stored: {log}"
    );
    assert!(evolution.requests().is_empty());
}

fn a_failed_send_is_retried_and_never_apologised_for(db: &TestDb) {
    let agent = echo_agent();
    // Evolution fails the first two calls with a 503, then accepts.
    let evolution = FakeHttp::start(|_, n| match n {
        0 | 1 => Reply::json(503, json!({"error": "busy"})),
        _ => Reply::json(201, json!({"key": {"id": "OUT1"}})),
    });
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    let sent = send(&server, json!({"to": CHAT, "text": "third time lucky"})).expect(202, None);
    wait_until(30, "the send after two 503s", || texts(&evolution).len() == 3);
    let id = sent["id"].as_i64().unwrap_or_default();
    wait_until(20, "done", || {
        server
            .send(Req::admin("GET", format!("/api/v1/messages/{id}")))
            .expect(200, None)["status"]
            == "done"
    });
    let calls = texts(&evolution);
    let bodies: Vec<&str> = calls
        .iter()
        .map(|r| r.json["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(bodies, ["third time lucky"; 3], "retries only, no apology");
}

fn a_paced_number_shows_its_waiting_sends_in_the_metrics(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "wa_shop", &agent, &evolution, json!({}));
    server
        .send(Req::admin("PUT", "/api/v1/instances/shop/rules").json(&json!({"send_per_minute": 1})))
        .expect(200, None);
    for i in 0..3 {
        send(
            &server,
            json!({"to": format!("551199999000{i}"), "text": format!("note {i}"), "keep_bot": true}),
        )
        .expect(202, None);
    }
    wait_until(20, "the first send", || texts(&evolution).len() == 1);
    let line = r#"omnihub_sends_waiting_for_pace{instance="shop"} 2"#;
    wait_until(20, "two sends waiting for the pace", || {
        server.send(Req::new("GET", "/metrics")).text().contains(line)
    });
    let metrics = server.send(Req::new("GET", "/metrics")).text();
    assert!(
        metrics.contains(r#"omnihub_outbound_unsent{instance="shop"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"omnihub_sends_paced_total{instance="shop"} 2"#),
        "{metrics}"
    );
    // They wait in the queue for their slots, a minute apart, with nothing counted against them.
    // (The pacer counts a message as waiting as it puts it off; its row is back in the queue
    // once that write commits.)
    let queued_now = || {
        server
            .send(Req::admin("GET", "/api/v1/messages?status=queued"))
            .expect(200, None)
    };
    wait_until(20, "both back in the queue", || {
        queued_now().as_array().is_some_and(|q| q.len() == 2)
    });
    let queued = queued_now();
    let mut waits: Vec<i64> = queued
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let at = |k: &str| chrono::DateTime::parse_from_rfc3339(m[k].as_str().unwrap()).unwrap();
            assert_eq!(m["attempts"], 0, "{m}");
            (at("next_attempt_at") - at("received_at")).num_seconds()
        })
        .collect();
    waits.sort_unstable();
    assert!(
        (59..=62).contains(&waits[0]) && (119..=122).contains(&waits[1]),
        "{waits:?}"
    );
}
