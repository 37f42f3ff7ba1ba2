//! Typebot sessions: start, continue, expiry and a session Typebot lost.

use chrono::Duration;
use omnihub_test_support::InstanceBuilder;
use omnihub_test_support::{FakeHttp, Reply};
use serde_json::json;

use crate::{call, message, noon, text, CHAT};

fn typebot() -> FakeHttp {
    FakeHttp::start(|r, _| {
        if r.path.ends_with("/startChat") {
            Reply::json(
                200,
                json!({"sessionId": "sess1", "messages": [
                {"id": "b1", "type": "text", "content": {"type": "markdown", "markdown": "Welcome!"}},
                {"id": "b2", "type": "text", "content": {"type": "markdown", "markdown": "Pick one:\n\nreally"}},
                {"id": "b3", "type": "image", "content": {"url": "https://cdn.example/menu.png"}},
            ], "input": {"type": "choice input", "items": [{"id": "i1", "content": "Pizza"}, {"id": "i2", "content": "Pasta"}]}}),
            )
        } else if r.path.contains("/sessions/expired/") {
            Reply::json(
                404,
                json!({"message": "Session expired. You need to start a new session.", "code": "NOT_FOUND"}),
            )
        } else {
            Reply::json(
                200,
                json!({"messages": [{"id": "b4", "type": "text", "content": {"type": "richText", "richText": [
                {"type": "p", "children": [{"text": "Great "}, {"text": "choice", "bold": true}]}]}}]}),
            )
        }
    })
}

#[tokio::test]
async fn the_first_message_starts_a_session_and_the_next_continues_it() {
    let fake = typebot();
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("typebot", json!({}))
        .no_key()
        .config();
    let first = call(&instance, &message("oi"), None, noon()).await.unwrap();
    // Each bubble is one paragraph, so one WhatsApp message; choices come last.
    assert_eq!(
        text(&first),
        "Welcome!\n\nPick one:\nreally\n\nhttps://cdn.example/menu.png\n\n▶️ Pizza\n▶️ Pasta"
    );
    let start = &fake.requests()[0];
    assert_eq!(start.path, "/api/v1/typebots/agent-shop/startChat");
    assert_eq!(start.header("authorization"), None);
    assert_eq!(
        start.json,
        json!({"message": {"type": "text", "text": "oi"},
               "prefilledVariables": {"remoteJid": CHAT, "pushName": "Ana", "instanceName": "shop"},
               "isStreamEnabled": false, "textBubbleContentFormat": "markdown"})
    );
    let state = first.state.unwrap();
    assert_eq!(
        state,
        json!({"session_id": "sess1", "last_used": noon().timestamp()})
    );
    let later = noon() + Duration::minutes(59);
    let second = call(&instance, &message("Pizza"), Some(&state), later)
        .await
        .unwrap();
    assert_eq!(text(&second), "Great choice");
    let next = &fake.requests()[1];
    assert_eq!(next.path, "/api/v1/sessions/sess1/continueChat");
    assert_eq!(next.json["message"], json!({"type": "text", "text": "Pizza"}));
    assert_eq!(second.state.unwrap()["last_used"], later.timestamp());
}

#[tokio::test]
async fn an_idle_session_expires_and_a_lost_one_is_started_again_once() {
    let fake = typebot();
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("typebot", json!({"expire_minutes": 30}))
        .config();
    let stale = json!({"session_id": "sess1", "last_used": noon().timestamp()});
    call(
        &instance,
        &message("back"),
        Some(&stale),
        noon() + Duration::minutes(30),
    )
    .await
    .unwrap();
    assert!(
        fake.requests()[0].path.ends_with("/startChat"),
        "30 idle minutes end the session"
    );
    let lost = json!({"session_id": "expired", "last_used": noon().timestamp()});
    let reply = call(&instance, &message("hi"), Some(&lost), noon())
        .await
        .unwrap();
    assert_eq!(reply.state.unwrap()["session_id"], "sess1");
    let paths: Vec<String> = fake.requests().iter().skip(1).map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/sessions/expired/continueChat",
            "/api/v1/typebots/agent-shop/startChat"
        ]
    );
    assert_eq!(
        fake.requests()[1].header("authorization"),
        Some("Bearer agent-key-for-tests-0123")
    );
}
