//! The agent settings through the admin API: per-kind options validated with 422s that name
//! the option, updates, the key rule, secrets masked, test calls and conversation resets.

use omnihub_test_support::agents::{every_protocol_agent, prefix};
use omnihub_test_support::{FakeHttp, InstanceBuilder, Reply, TestDb};
use serde_json::{json, Value};

use crate::agent_kinds::create_kind;
use crate::flow::{ok_evolution, post_webhook, start, text_webhook, texts, wait_until};
use crate::support::{Api, Req};

on_both_engines!(
    bad_agent_options_are_refused_naming_the_option,
    updates_merge_options_and_keep_the_key_rule,
    test_agent_calls_once_and_stores_nothing,
    a_conversation_reset_starts_the_chat_anew,
);

fn create(kind: &str, options: Value) -> Req {
    Req::admin("POST", "/api/v1/instances").json(&InstanceBuilder::new("bot").kind(kind, options).json())
}

fn bad_agent_options_are_refused_naming_the_option(db: &TestDb) {
    let server = start(db);
    for (kind, options, named) in [
        ("openai", json!({"history_turns": -1}), "history_turns"),
        ("openai", json!({"temperature": "hot"}), "temperature"),
        ("openai", json!({"app_type": "chat"}), "unknown option `app_type`"),
        ("dify", json!({"app_type": "completion"}), "app_type"),
        ("n8n", json!({"basic_auth_user": "bot"}), "basic_auth_password"),
        ("typebot", json!({"expire_minutes": 0}), "expire_minutes"),
        ("flowise", json!({"anything": 1}), "takes no options"),
        ("openai", json!("not an object"), "must be a JSON object"),
    ] {
        let body = server
            .send(create(kind, options.clone()))
            .expect(422, Some("validation_failed"));
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{kind} {options}: {message}");
        assert_eq!(body["field"], "agent_options", "{message}");
    }
    let unknown = server
        .send(create("gemini", json!({})))
        .expect(422, Some("validation_failed"));
    assert_eq!(unknown["field"], "agent_kind");
    // Dify cannot be called without the app's key; openai (a local Ollama) can.
    let keyless = InstanceBuilder::new("bot")
        .kind("dify", json!({}))
        .no_key()
        .json();
    let body = server
        .send(Req::admin("POST", "/api/v1/instances").json(&keyless))
        .expect(422, Some("validation_failed"));
    assert_eq!(body["field"], "agent_api_key");
    let ollama = InstanceBuilder::new("ollama")
        .kind("openai", json!({"history_turns": 6.0}))
        .no_key()
        .json();
    let created = server
        .send(Req::admin("POST", "/api/v1/instances").json(&ollama))
        .expect(201, None);
    assert_eq!(
        (created["agent_api_key"].clone(), created["agent_options"].clone()),
        (Value::Null, json!({"history_turns": 6}))
    );
}

fn updates_merge_options_and_keep_the_key_rule(db: &TestDb) {
    let server = start(db);
    let n8n = InstanceBuilder::new("bot")
        .kind(
            "n8n",
            json!({"basic_auth_user": "bot", "basic_auth_password": "n8n-secret-password"}),
        )
        .no_key()
        .json();
    let created = server
        .send(Req::admin("POST", "/api/v1/instances").json(&n8n))
        .expect(201, None);
    assert_eq!(
        created["agent_options"],
        json!({"basic_auth_user": "bot", "basic_auth_password": "****word"})
    );
    let shown = server.send(Req::admin("GET", "/api/v1/instances/bot")).text();
    assert!(!shown.contains("n8n-secret-password"), "{shown}");
    let put = |body: Value| server.send(Req::admin("PUT", "/api/v1/instances/bot").json(&body));
    put(json!({"agent_options": {"basic_auth_user": null}})).expect(422, Some("validation_failed"));
    put(json!({"agent_kind": "n8n", "agent_options": {"basic_auth_user": null}}))
        .expect(422, Some("validation_failed"));
    let cleared = put(
        json!({"agent_kind": "n8n", "agent_options": {"basic_auth_user": null, "basic_auth_password": null}}),
    )
    .expect(200, None);
    assert_eq!(cleared["agent_options"], json!({}));
    let openai = put(json!({"agent_kind": "openai", "agent_options": {"system_prompt": "Be brief."}}))
        .expect(200, None);
    assert_eq!(
        (openai["agent_kind"].clone(), openai["agent_options"].clone()),
        (json!("openai"), json!({"system_prompt": "Be brief."}))
    );
    let merged =
        put(json!({"agent_kind": "openai", "agent_options": {"history_turns": 3}})).expect(200, None);
    assert_eq!(
        merged["agent_options"],
        json!({"system_prompt": "Be brief.", "history_turns": 3})
    );
    // Dify needs a key this instance does not have: a conflict with what is stored.
    let conflict = put(json!({"agent_kind": "dify"})).expect(409, Some("conflict"));
    assert!(
        conflict["message"]
            .as_str()
            .unwrap_or_default()
            .contains("agent_api_key"),
        "{conflict}"
    );
    put(json!({"agent_kind": "dify", "agent_api_key": "app-0123456789abcdef"})).expect(200, None);
    put(json!({"agent_api_key": ""})).expect(409, Some("conflict"));
}

fn test_agent_calls_once_and_stores_nothing(db: &TestDb) {
    let (agent, evolution) = (every_protocol_agent(), ok_evolution());
    let server = start(db);
    create_kind(
        &server,
        "bot",
        "webhook",
        &format!("{}{}", agent.url, prefix("webhook")),
        &evolution,
        json!({}),
    );
    let trial = |text: Value| {
        server.send(Req::admin("POST", "/api/v1/instances/bot/test-agent").json(&json!({"text": text})))
    };
    let answered = trial(json!("hi")).expect(200, None);
    assert_eq!(
        (answered["outcome"].clone(), answered["parts"].clone()),
        (json!("replied"), json!(["webhook: hi"]))
    );
    assert!(answered["latency_ms"].is_u64());
    let request = &agent.requests()[0];
    assert!(
        request.json["inputs"]["sessionId"]
            .as_str()
            .unwrap_or_default()
            .starts_with("bot_trial-"),
        "{}",
        request.json
    );
    trial(json!("")).expect(422, Some("validation_failed"));
    trial(json!(5)).expect(422, Some("validation_failed"));
    server
        .send(Req::admin("POST", "/api/v1/instances/ghost/test-agent").json(&json!({"text": "hi"})))
        .expect(404, Some("not_found"));
    // A failing backend is reported, classified, with its message (for the admin only).
    let failing = FakeHttp::start(|_, _| Reply::json(503, json!({"error": {"message": "model loading"}})));
    create_kind(&server, "down", "openai", &failing.url, &evolution, json!({}));
    let failed = server
        .send(Req::admin("POST", "/api/v1/instances/down/test-agent").json(&json!({"text": "hi"})))
        .expect(200, None);
    assert_eq!(
        (failed["outcome"].clone(), failed["transient"].clone()),
        (json!("failed"), json!(true))
    );
    assert_eq!(
        failed["detail"],
        "the openai agent API answered 503: model loading"
    );
    assert!(texts(&evolution).is_empty(), "nothing reached WhatsApp");
    let log = server
        .send(Req::admin("GET", "/api/v1/messages"))
        .expect(200, None);
    assert_eq!(log, json!([]), "nothing was stored");
    let conversations = server
        .send(Req::admin("GET", "/api/v1/instances/down/conversations"))
        .expect(200, None);
    assert_eq!(conversations, json!([]));
}

fn a_conversation_reset_starts_the_chat_anew(db: &TestDb) {
    let (agent, evolution) = (every_protocol_agent(), ok_evolution());
    let server = start(db);
    create_kind(
        &server,
        "bot",
        "typebot",
        &format!("{}{}", agent.url, prefix("typebot")),
        &evolution,
        json!({}),
    );
    let chat = "5511977776666@s.whatsapp.net";
    post_webhook(
        &server,
        "/webhook/evolution/bot",
        &text_webhook("wa_bot", "T1", chat, "one"),
    )
    .expect(200, None);
    wait_until(20, "the first reply", || texts(&evolution).len() == 1);
    let listed = server
        .send(Req::admin("GET", "/api/v1/instances/bot/conversations"))
        .expect(200, None);
    assert_eq!(listed[0]["session"], "bot_5511977776666");
    // By phone number, as an operator would type it.
    server
        .send(Req::admin(
            "DELETE",
            "/api/v1/instances/bot/conversations/+55%2011%2097777-6666",
        ))
        .expect(204, None);
    server
        .send(Req::admin(
            "DELETE",
            "/api/v1/instances/bot/conversations/bot_5511977776666",
        ))
        .expect(404, Some("not_found"));
    post_webhook(
        &server,
        "/webhook/evolution/bot",
        &text_webhook("wa_bot", "T2", chat, "two"),
    )
    .expect(200, None);
    wait_until(20, "the second reply", || texts(&evolution).len() == 2);
    let paths: Vec<String> = agent.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p.ends_with("/startChat")),
        "a reset chat starts a new session: {paths:?}"
    );
}
