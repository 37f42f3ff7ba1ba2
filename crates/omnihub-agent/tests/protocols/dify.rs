//! Dify chat, agent (streaming) and workflow apps.

use omnihub_test_support::InstanceBuilder;
use omnihub_test_support::{FakeHttp, Reply};
use serde_json::json;

use crate::{call, message, noon, text};

#[tokio::test]
async fn chat_apps_send_query_inputs_and_user_and_keep_the_conversation_id() {
    let fake = FakeHttp::start(|_, _| {
        Reply::json(
            200,
            json!({"event": "message", "conversation_id": "conv-1", "mode": "chat", "answer": "Olá!"}),
        )
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&format!("{}/v1", fake.url))
        .kind("dify", json!({"inputs": {"lang": "pt"}}))
        .config();
    let first = call(&instance, &message("Oi"), None, noon()).await.unwrap();
    assert_eq!(text(&first), "Olá!");
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/v1/chat-messages");
    assert_eq!(
        request.header("authorization"),
        Some("Bearer agent-key-for-tests-0123")
    );
    assert_eq!(
        request.json,
        json!({"inputs": {"lang": "pt"}, "query": "Oi", "user": "s1", "response_mode": "blocking"})
    );
    let state = first.state.unwrap();
    assert_eq!(state, json!({"conversation_id": "conv-1"}));
    call(&instance, &message("E aí?"), Some(&state), noon())
        .await
        .unwrap();
    assert_eq!(fake.requests()[1].json["conversation_id"], "conv-1");
}

#[tokio::test]
async fn a_conversation_dify_no_longer_knows_is_forgotten_and_retried_once() {
    let fake = FakeHttp::start(|r, _| match r.json.get("conversation_id") {
        Some(_) => Reply::json(
            404,
            json!({"status": 404, "code": "not_found", "message": "Conversation Not Exists."}),
        ),
        None => Reply::json(200, json!({"conversation_id": "conv-2", "answer": "fresh start"})),
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("dify", json!({}))
        .config();
    let reply = call(
        &instance,
        &message("Oi"),
        Some(&json!({"conversation_id": "gone"})),
        noon(),
    )
    .await
    .unwrap();
    assert_eq!(
        (text(&reply), reply.state.clone()),
        ("fresh start", Some(json!({"conversation_id": "conv-2"})))
    );
    assert_eq!(fake.requests().len(), 2, "one retry, without the id");
    let completed = FakeHttp::start(|_, _| {
        Reply::json(
            400,
            json!({"status": 400, "code": "conversation_completed", "message": "The conversation has ended. Please start a new conversation."}),
        )
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&completed.url)
        .kind("dify", json!({}))
        .config();
    let err = call(
        &instance,
        &message("Oi"),
        Some(&json!({"conversation_id": "old"})),
        noon(),
    )
    .await
    .unwrap_err();
    assert!(!err.is_transient(), "a second refusal is permanent");
    assert_eq!(completed.requests().len(), 2, "retried once, then given up");
}

#[tokio::test]
async fn agent_apps_stream_and_the_chunks_are_reassembled() {
    let stream = concat!(
        "data: {\"event\": \"agent_thought\", \"conversation_id\": \"c9\"}\n\n",
        "data: {\"event\": \"agent_message\", \"answer\": \"Hel\", \"conversation_id\": \"c9\"}\n\n",
        "event: ping\n\n",
        "data: {\"event\": \"agent_message\", \"answer\": \"lo\", \"conversation_id\": \"c9\"}\n\n",
        "data: {\"event\": \"message_end\", \"conversation_id\": \"c9\"}\n\n",
    );
    let fake = FakeHttp::start(move |_, _| Reply::raw(200, "text/event-stream", stream));
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("dify", json!({"app_type": "agent"}))
        .config();
    let reply = call(&instance, &message("Oi"), None, noon()).await.unwrap();
    assert_eq!(
        (text(&reply), reply.state.clone()),
        ("Hello", Some(json!({"conversation_id": "c9"})))
    );
    assert_eq!(fake.requests()[0].json["response_mode"], "streaming");
    let failing = FakeHttp::start(|_, _| {
        Reply::raw(200, "text/event-stream", "data: {\"event\": \"error\", \"status\": 400, \"code\": \"provider_quota_exceeded\", \"message\": \"quota\"}\n\n")
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&failing.url)
        .kind("dify", json!({"app_type": "agent"}))
        .config();
    let err = call(&instance, &message("Oi"), None, noon()).await.unwrap_err();
    assert_eq!(err.to_string(), "the dify agent API answered 400: quota");
}

#[tokio::test]
async fn workflows_put_the_text_in_inputs_and_read_the_configured_output() {
    let fake = FakeHttp::start(|r, _| match r.json["inputs"]["query"].as_str() {
        Some("fail") => Reply::json(
            200,
            json!({"data": {"status": "failed", "error": "node crashed", "outputs": null}}),
        ),
        _ => Reply::json(
            200,
            json!({"workflow_run_id": "w1", "data": {"status": "succeeded", "outputs": {"result": "Done"}}}),
        ),
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind(
            "dify",
            json!({"app_type": "workflow", "workflow_output": "result", "inputs": {"lang": "pt"}}),
        )
        .config();
    let reply = call(&instance, &message("Oi"), None, noon()).await.unwrap();
    assert_eq!((text(&reply), reply.state.clone()), ("Done", None));
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/workflows/run");
    assert_eq!(
        request.json,
        json!({"inputs": {"lang": "pt", "query": "Oi"}, "response_mode": "blocking", "user": "s1"})
    );
    let err = call(&instance, &message("fail"), None, noon()).await.unwrap_err();
    assert!(!err.is_transient());
    assert!(err.to_string().contains("node crashed"), "{err}");
}
