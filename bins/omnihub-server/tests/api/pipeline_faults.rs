//! End to end, when things go wrong: upstream failures, bad webhooks, tokens, a hard kill.

use std::collections::HashMap;
use std::time::Duration;

use omnihub_test_support::{FakeHttp, Reply, TestDb};
use serde_json::json;

use crate::flow::{
    content, create_instance, echo_agent, fast_env, finished, log, ok_evolution, post_webhook, start,
    text_webhook, texts, wait_until,
};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

on_both_engines!(
    agent_timeouts_and_500s_are_retried_until_success,
    an_agent_400_fails_the_message_with_an_apology,
    an_evolution_500_on_the_second_part_resends_only_the_missing_parts,
    bad_webhooks_get_their_status_store_nothing_and_leave_the_server_healthy,
    webhook_tokens_are_required_when_configured,
    a_hard_kill_with_messages_in_flight_loses_none,
    sigterm_lets_in_flight_messages_finish_and_keeps_the_rest,
);

fn agent_timeouts_and_500s_are_retried_until_success(db: &TestDb) {
    let agent = FakeHttp::start(|r, n| match n {
        0 => Reply::json(200, json!({"message": "too late"})).after(Duration::from_millis(1500)),
        1 => Reply::json(500, json!({"detail": "boom"})),
        _ => Reply::json(200, json!({"message": format!("ok: {}", content(r))})),
    });
    let evolution = ok_evolution();
    let server = start(db);
    create_instance(
        &server,
        "shop",
        "caldasIA",
        &agent,
        &evolution,
        json!({"agent_timeout": 1}),
    );
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("caldasIA", "R1", "1@s.whatsapp.net", "hi"),
    )
    .expect(200, None);
    wait_until(30, "the reply", || texts(&evolution).len() == 1);
    assert_eq!(texts(&evolution)[0].json["text"], "ok: hi");
    wait_until(10, "done", || finished(&server) == 1);
    let entry = &log(&server)[0];
    assert_eq!(
        (entry["status"].as_str(), entry["attempts"].as_u64()),
        (Some("done"), Some(3))
    );
    // The fake records a call when it answers; the timed-out one answers last.
    wait_until(10, "three agent calls", || agent.requests().len() == 3);
}

fn an_agent_400_fails_the_message_with_an_apology(db: &TestDb) {
    let agent = FakeHttp::start(|_, _| Reply::json(400, json!({"detail": "bad agent request"})));
    let evolution = ok_evolution();
    let server = ServerProcess::start(
        db.url(),
        Some(ADMIN_KEY),
        &[fast_env(), vec![("OMNIHUB_APOLOGY_TEXT", "Sorry!")]].concat(),
    );
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("caldasIA", "P1", "1@s.whatsapp.net", "hi"),
    )
    .expect(200, None);
    wait_until(20, "the apology", || texts(&evolution).len() == 1);
    assert_eq!(
        texts(&evolution)[0].json,
        json!({"number": "1@s.whatsapp.net", "text": "Sorry!"})
    );
    wait_until(10, "failed", || finished(&server) == 1);
    let entry = &log(&server)[0];
    assert_eq!(
        (entry["status"].as_str(), entry["error_stage"].as_str()),
        (Some("failed"), Some("agent"))
    );
    assert!(entry["error"].as_str().unwrap().contains("400"));
    assert_eq!(agent.requests().len(), 1, "a 400 is not retried");
}

fn an_evolution_500_on_the_second_part_resends_only_the_missing_parts(db: &TestDb) {
    let agent = FakeHttp::start(|_, _| Reply::json(200, json!({"message": "one\n\ntwo\n\nthree"})));
    let evolution = FakeHttp::start(|r, n| {
        let is_text = r.path.starts_with("/message/sendText/");
        if is_text
            && r.json["text"] == "two"
            && n < 6
            && !SEEN_TWO.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Reply::json(
                500,
                json!({"status": 500, "error": "Internal Server Error", "response": {"message": "down"}}),
            );
        }
        Reply::json(201, json!({"key": {"id": "X"}}))
    });
    static SEEN_TWO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    SEEN_TWO.store(false, std::sync::atomic::Ordering::SeqCst);
    let server = start(db);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("caldasIA", "S1", "1@s.whatsapp.net", "hi"),
    )
    .expect(200, None);
    wait_until(20, "done", || finished(&server) == 1);
    let delivered: Vec<String> = evolution
        .requests_to("/message/sendText/")
        .iter()
        .map(|r| r.json["text"].as_str().unwrap().to_owned())
        .collect();
    // The failed attempt at "two" is recorded by the fake too; "one" is never sent twice.
    assert_eq!(delivered, ["one", "two", "two", "three"]);
    assert_eq!(
        agent.requests().len(),
        1,
        "the stored reply is reused, the agent is not asked again"
    );
    assert_eq!(log(&server)[0]["parts_sent"], 3);
}

fn bad_webhooks_get_their_status_store_nothing_and_leave_the_server_healthy(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    let raw = |body: &[u8]| {
        server.send(Req::new("POST", "/webhook/evolution/shop").raw("application/json", body.to_vec()))
    };
    let mut wrong_data = text_webhook("caldasIA", "B1", "1@s.whatsapp.net", "x");
    wrong_data["data"] = json!("not an object");
    let mut no_key = text_webhook("caldasIA", "B2", "1@s.whatsapp.net", "x");
    no_key["data"].as_object_mut().unwrap().remove("key");
    let huge = text_webhook("caldasIA", "B3", "1@s.whatsapp.net", &"a".repeat(70_000));
    let mut unknown_event = text_webhook("caldasIA", "B4", "1@s.whatsapp.net", "x");
    unknown_event["event"] = json!("presence.update");
    let mut from_me = text_webhook("caldasIA", "B5", "2@s.whatsapp.net", "mine");
    from_me["data"]["key"]["fromMe"] = json!(true);
    let wrong_instance = text_webhook("someone-else", "B6", "1@s.whatsapp.net", "x");

    raw(b"{\"event\": ").expect(400, Some("invalid_json"));
    raw(b"[]").expect(400, Some("not_an_evolution_webhook"));
    post_webhook(&server, "/webhook/evolution/shop", &wrong_data)
        .expect(400, Some("not_an_evolution_webhook"));
    post_webhook(&server, "/webhook/evolution/shop", &no_key).expect(400, Some("not_an_evolution_webhook"));
    post_webhook(&server, "/webhook/evolution/shop", &huge).expect(400, Some("not_an_evolution_webhook"));
    let ignored = post_webhook(&server, "/webhook/evolution/shop", &unknown_event).expect(200, None);
    assert_eq!(ignored["status"], "ignored");
    // Typed on the instance's phone: not stored, it pauses its chat (a human took over).
    let steered = post_webhook(&server, "/webhook/evolution/shop", &from_me).expect(200, None);
    assert_eq!(steered["status"], "skipped");
    post_webhook(&server, "/webhook/evolution/shop", &wrong_instance).expect(403, Some("forbidden"));
    post_webhook(
        &server,
        "/webhook/evolution/nobody",
        &text_webhook("caldasIA", "B7", "1@s.whatsapp.net", "x"),
    )
    .expect(404, Some("not_found"));
    let oversized = format!(
        "{{\"event\":\"messages.upsert\",\"pad\":\"{}\"}}",
        "a".repeat(33 * 1024 * 1024)
    );
    raw(oversized.as_bytes()).expect(413, Some("payload_too_large"));

    assert!(log(&server).is_empty(), "nothing was stored");
    server.send(Req::new("GET", "/ready")).expect(200, None);
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("caldasIA", "OK1", "1@s.whatsapp.net", "fine"),
    )
    .expect(200, None);
    wait_until(20, "the reply", || texts(&evolution).len() == 1);
    assert!(agent.requests().iter().all(|r| content(r) == "fine"));
}

fn webhook_tokens_are_required_when_configured(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    let token = "webhook-token-0123456789";
    create_instance(
        &server,
        "shop",
        "caldasIA",
        &agent,
        &evolution,
        json!({"webhook_secret": token}),
    );
    let body = |id: &str| text_webhook("caldasIA", id, "1@s.whatsapp.net", "x");
    let path = "/webhook/evolution/shop";
    server
        .send(Req::new("POST", path).json(&body("T0")))
        .expect(401, Some("missing_webhook_token"));
    server
        .send(
            Req::new("POST", path)
                .header("x-omnihub-token", "wrong-token-0123456789")
                .json(&body("T0")),
        )
        .expect(401, Some("invalid_webhook_token"));
    for (i, req) in [
        Req::new("POST", path).header("x-omnihub-token", token),
        Req::new("POST", path).header("authorization", &format!("Bearer {token}")),
        Req::new("POST", format!("{path}?token={token}")),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            server
                .send(req.json(&body(&format!("T{}", i + 1))))
                .expect(200, None)["status"],
            "accepted"
        );
    }
    let shown = server
        .send(Req::admin("GET", "/api/v1/instances/shop"))
        .expect(200, None);
    assert_eq!(shown["webhook_secret"], "****6789");
    assert!(
        !server.log_text().contains(token),
        "the token never reaches the log"
    );
    wait_until(20, "three replies", || texts(&evolution).len() == 3);
}

fn a_hard_kill_with_messages_in_flight_loses_none(db: &TestDb) {
    let agent = FakeHttp::start(|r, _| {
        Reply::json(200, json!({"message": format!("echo: {}", content(r))}))
            .after(Duration::from_millis(150))
    });
    let evolution = ok_evolution();
    let mut first = start(db);
    // A short agent timeout keeps the leases of calls cut by the kill short.
    create_instance(
        &first,
        "shop",
        "caldasIA",
        &agent,
        &evolution,
        json!({"agent_timeout": 2}),
    );
    for i in 0..200 {
        let chat = format!("55119000{:05}@s.whatsapp.net", i % 20);
        post_webhook(
            &first,
            "/webhook/evolution/shop",
            &text_webhook("caldasIA", &format!("K{i:03}"), &chat, &format!("msg {i:03}")),
        )
        .expect(200, None);
    }
    wait_until(30, "some replies before the kill", || {
        texts(&evolution).len() >= 20
    });
    first.kill_hard();
    let sent_before_kill = texts(&evolution).len();
    let second = start(db);
    wait_until(90, "every message to finish after the restart", || {
        finished(&second) == 200
    });
    let entries = log(&second);
    assert_eq!(entries.len(), 200);
    assert!(
        entries.iter().all(|m| m["status"] == "done"),
        "every message answered"
    );
    let mut replies: HashMap<String, usize> = HashMap::new();
    for r in texts(&evolution) {
        *replies
            .entry(r.json["text"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for i in 0..200 {
        assert!(
            replies.contains_key(&format!("echo: msg {i:03}")),
            "message {i} was never answered"
        );
    }
    let duplicates: usize = replies.values().map(|n| n - 1).sum();
    println!("hard kill after {sent_before_kill} replies: 200 answered, {duplicates} duplicate replies");
    // Only a kill between a send and its record can duplicate: at most one per chat in flight.
    assert!(duplicates <= 20, "{duplicates} duplicate replies");
}

fn sigterm_lets_in_flight_messages_finish_and_keeps_the_rest(db: &TestDb) {
    let agent = FakeHttp::start(|r, _| {
        Reply::json(200, json!({"message": format!("echo: {}", content(r))}))
            .after(Duration::from_millis(1500))
    });
    let evolution = ok_evolution();
    let mut first = start(db);
    create_instance(&first, "shop", "caldasIA", &agent, &evolution, json!({}));
    // Two messages of one chat: the first is in flight at SIGTERM, the second waits behind it.
    for (id, text) in [("G1", "first"), ("G2", "second")] {
        post_webhook(
            &first,
            "/webhook/evolution/shop",
            &text_webhook("caldasIA", id, "1@s.whatsapp.net", text),
        )
        .expect(200, None);
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = first.terminate();
    assert!(status.success(), "{status:?}");
    let sent: Vec<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sent,
        ["echo: first"],
        "the in-flight message finished before exit; the next one was not started"
    );
    let second = start(db);
    wait_until(20, "the second message after the restart", || {
        texts(&evolution).len() == 2
    });
    assert_eq!(texts(&evolution)[1].json["text"], "echo: second");
    // The send is seen by the fake before the server records it: wait for the record.
    wait_until(10, "both messages to be recorded as finished", || {
        finished(&second) == 2
    });
}
