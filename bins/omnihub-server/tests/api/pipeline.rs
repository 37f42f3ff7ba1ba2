//! End to end: the real server binary, a real database, fake agent and Evolution servers.

use std::time::Duration;

use omnihub_test_support::{FakeHttp, Reply, TestDb};
use serde_json::json;

use crate::flow::{
    content, create_instance, echo_agent, finished, log, ok_evolution, post_webhook, start, text_webhook,
    texts, wait_until, AGENT_KEY, EVO_KEY,
};
use crate::support::Api;

on_both_engines!(
    a_text_message_makes_one_agent_call_and_one_send_with_the_documented_shapes,
    two_instances_never_cross,
    five_deliveries_of_one_message_make_one_agent_call,
    one_chat_is_answered_strictly_in_order,
    a_forged_server_url_receives_nothing,
);

fn a_text_message_makes_one_agent_call_and_one_send_with_the_documented_shapes(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../../tests/fixtures/evolution/v2_text.json")).unwrap();
    let resp = post_webhook(&server, "/webhook/evolution/shop", &fixture).expect(200, None);
    assert_eq!(resp["status"], "accepted");
    wait_until(20, "the reply", || texts(&evolution).len() == 1);

    let calls = agent.requests();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/api/v1/agent/agent-shop/run")
    );
    assert_eq!(call.header("x-api-key"), Some(AGENT_KEY));
    assert_eq!(
        call.json,
        json!({
            "message_content": "Oii",
            "message_limit": 100,
            "message_type": "text",
            "session_name": "shop_5511900006666",
            "user": {"phone_number": "+5511900006666", "email": null,
                     "user_data": {"name": "Test User 5", "whatsapp_id": "5511900006666@s.whatsapp.net", "source": "whatsapp"}},
        })
    );
    let send = &texts(&evolution)[0];
    assert_eq!(send.path, "/message/sendText/caldasIA");
    assert_eq!(send.header("apikey"), Some(EVO_KEY));
    assert_eq!(
        send.json,
        json!({"number": "5511900006666@s.whatsapp.net", "text": "echo: Oii"})
    );
    wait_until(10, "the log to say done", || finished(&server) == 1);
    let entry = &log(&server)[0];
    assert_eq!(
        (entry["status"].as_str(), entry["parts_sent"].as_u64()),
        (Some("done"), Some(1))
    );
    wait_until(10, "the typing indicator", || {
        !evolution.requests_to("/chat/sendPresence/").is_empty()
    });
    let typing = &evolution.requests_to("/chat/sendPresence/")[0];
    assert_eq!(typing.path, "/chat/sendPresence/caldasIA");
    assert_eq!(
        (typing.json["number"].as_str(), typing.json["presence"].as_str()),
        (Some("5511900006666@s.whatsapp.net"), Some("composing"))
    );
    let metrics = server.send(crate::support::Req::new("GET", "/metrics")).text();
    for line in [
        r#"omnihub_webhooks_total{outcome="accepted"} 1"#,
        r#"omnihub_messages_finished_total{status="done"} 1"#,
        "omnihub_agent_request_duration_seconds_count",
        "omnihub_evolution_request_duration_seconds_count",
        r#"omnihub_message_queue{status="queued"} 0"#,
        r#"omnihub_instance_backlog{instance="shop"} 0"#,
        r#"omnihub_instance_oldest_unfinished_seconds{instance="shop"} 0"#,
    ] {
        assert!(metrics.contains(line), "{line} missing in {metrics}");
    }
    for request in agent.requests().iter().chain(evolution.requests().iter()) {
        assert!(
            !request.json.to_string().contains("body-apikey-never-used")
                && !request.json.to_string().contains("REDACTED")
        );
    }
}

fn two_instances_never_cross(db: &TestDb) {
    let (agent_a, agent_b) = (
        echo_agent(),
        FakeHttp::start(|_, _| Reply::json(200, json!({"message": "from b"}))),
    );
    let (evo_a, evo_b) = (ok_evolution(), ok_evolution());
    let server = start(db);
    create_instance(&server, "alpha", "evo-alpha", &agent_a, &evo_a, json!({}));
    create_instance(&server, "beta", "evo-beta", &agent_b, &evo_b, json!({}));
    for i in 0..5 {
        post_webhook(
            &server,
            "/webhook/evolution/alpha",
            &text_webhook("evo-alpha", &format!("A{i}"), "111@s.whatsapp.net", "hi a"),
        )
        .expect(200, None);
        post_webhook(
            &server,
            "/webhook/evolution/beta",
            &text_webhook("evo-beta", &format!("B{i}"), "222@s.whatsapp.net", "hi b"),
        )
        .expect(200, None);
    }
    wait_until(30, "ten replies", || {
        texts(&evo_a).len() == 5 && texts(&evo_b).len() == 5
    });
    assert!(agent_a
        .requests()
        .iter()
        .all(|r| r.path == "/api/v1/agent/agent-alpha/run" && content(r) == "hi a"));
    assert!(agent_b
        .requests()
        .iter()
        .all(|r| r.path == "/api/v1/agent/agent-beta/run" && content(r) == "hi b"));
    assert!(texts(&evo_a)
        .iter()
        .all(|r| r.path == "/message/sendText/evo-alpha"
            && r.header("apikey") == Some("evolution-key-alpha-0123")
            && r.json["text"] == "echo: hi a"));
    assert!(texts(&evo_b)
        .iter()
        .all(|r| r.path == "/message/sendText/evo-beta"
            && r.header("apikey") == Some("evolution-key-beta-0123")
            && r.json["text"] == "from b"));
}

fn five_deliveries_of_one_message_make_one_agent_call(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    let body = text_webhook("caldasIA", "SAME-ID", "5511900006666@s.whatsapp.net", "once");
    let statuses: Vec<String> = (0..5)
        .map(|_| {
            post_webhook(&server, "/webhook/evolution/shop", &body).expect(200, None)["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        statuses,
        ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]
    );
    wait_until(20, "the reply", || texts(&evolution).len() == 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(agent.requests().len(), 1);
    assert_eq!(texts(&evolution).len(), 1);
    assert_eq!(log(&server).len(), 1);
}

fn one_chat_is_answered_strictly_in_order(db: &TestDb) {
    let agent = FakeHttp::start(|r, _| {
        Reply::json(200, json!({"message": format!("re {}", content(r))})).after(Duration::from_millis(30))
    });
    let evolution = ok_evolution();
    let server = start(db);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    for i in 0..20 {
        post_webhook(
            &server,
            "/webhook/evolution/shop",
            &text_webhook(
                "caldasIA",
                &format!("M{i:02}"),
                "5511900006666@s.whatsapp.net",
                &format!("m{i:02}"),
            ),
        )
        .expect(200, None);
    }
    wait_until(60, "twenty replies", || texts(&evolution).len() == 20);
    let mut calls = agent.requests();
    calls.sort_by_key(|r| r.started);
    let order: Vec<String> = calls.iter().map(content).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    assert_eq!(order, expected);
    for pair in calls.windows(2) {
        assert!(
            pair[1].started >= pair[0].finished,
            "two calls of one chat overlapped"
        );
    }
    let sent: Vec<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sent,
        expected.iter().map(|m| format!("re {m}")).collect::<Vec<_>>()
    );
}

fn a_forged_server_url_receives_nothing(db: &TestDb) {
    let (agent, evolution, attacker) = (echo_agent(), ok_evolution(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    let mut body = text_webhook("caldasIA", "F1", "5511900006666@s.whatsapp.net", "hello");
    body["server_url"] = json!(attacker.url);
    body["apikey"] = json!("attacker-key");
    post_webhook(&server, "/webhook/evolution/shop", &body).expect(200, None);
    wait_until(20, "the reply", || texts(&evolution).len() == 1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        attacker.requests().is_empty(),
        "a request went to the server_url of the body"
    );
    assert_eq!(texts(&evolution)[0].header("apikey"), Some(EVO_KEY));
}
