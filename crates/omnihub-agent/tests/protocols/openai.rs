//! OpenAI-compatible Chat Completions.

use omnihub_agent::AgentError;
use omnihub_test_support::InstanceBuilder;
use omnihub_test_support::{FakeHttp, Reply};
use serde_json::json;

use crate::{call, message, noon, text};

fn completion(content: &str) -> Reply {
    Reply::json(
        200,
        json!({"id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}),
    )
}

#[tokio::test]
async fn the_request_carries_system_prompt_history_and_options_and_the_reply_extends_the_history() {
    let fake = FakeHttp::start(|_, n| {
        completion(if n == 0 {
            "Hello Ana"
        } else {
            "9 to 1 on Saturdays"
        })
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&format!("{}/v1", fake.url))
        .kind(
            "openai",
            json!({"system_prompt": "Be brief.", "temperature": 0.2, "max_tokens": 300, "history_turns": 1}),
        )
        .config();
    let first = call(&instance, &message("Hi"), None, noon()).await.unwrap();
    assert_eq!(text(&first), "Hello Ana");
    let request = &fake.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer agent-key-for-tests-0123")
    );
    assert_eq!(
        request.json,
        json!({"model": "agent-shop", "temperature": 0.2, "max_tokens": 300, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ]})
    );
    let state = first.state.expect("the history is kept");
    let second = call(&instance, &message("And Saturday?"), Some(&state), noon())
        .await
        .unwrap();
    assert_eq!(text(&second), "9 to 1 on Saturdays");
    assert_eq!(
        fake.requests()[1].json["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello Ana"},
            {"role": "user", "content": "And Saturday?"},
        ])
    );
    // history_turns 1: only the last turn is kept.
    assert_eq!(
        second.state.unwrap()["turns"],
        json!([{"role": "user", "content": "And Saturday?"}, {"role": "assistant", "content": "9 to 1 on Saturdays"}])
    );
}

#[tokio::test]
async fn images_are_content_parts_groups_name_the_author_and_no_key_means_no_header() {
    let fake = FakeHttp::start(|_, _| completion("A cat"));
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("openai", json!({"history_turns": 0}))
        .no_key()
        .config();
    let mut image = message("what is this?");
    image.chat_id = "120363000000000000@g.us".into();
    image.content.kind = omnihub_domain::MessageKind::Image;
    image.content.media = Some(omnihub_domain::Media {
        mime_type: Some("image/png".into()),
        base64: Some("iVBORw0K".into()),
        ..Default::default()
    });
    let reply = call(&instance, &image, None, noon()).await.unwrap();
    assert_eq!(reply.state, None, "history_turns 0 keeps nothing");
    let request = &fake.requests()[0];
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.json["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "Ana: [image]\nwhat is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
        ]}])
    );
}

#[tokio::test]
async fn errors_are_classified_by_status_with_the_providers_message_and_retry_after() {
    let fake = FakeHttp::start(|r, _| {
        match r.json["messages"][0]["content"].as_str().unwrap_or_default() {
        "busy" => Reply::json(429, json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))
            .header("retry-after", "7"),
        "down" => Reply::json(503, json!({"error": {"message": "overloaded"}})),
        "conflict" => Reply::json(409, json!({"error": {"message": "try again"}})),
        "empty" => completion(""),
        "html" => Reply::raw(200, "text/html", "<html>oops</html>"),
        _ => Reply::json(401, json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})),
    }
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("openai", json!({}))
        .config();
    let busy = call(&instance, &message("busy"), None, noon()).await.unwrap_err();
    assert!(busy.is_transient());
    assert_eq!(busy.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert_eq!(
        busy.to_string(),
        "the openai agent API answered 429: Rate limit reached"
    );
    for transient in ["down", "conflict"] {
        assert!(call(&instance, &message(transient), None, noon())
            .await
            .unwrap_err()
            .is_transient());
    }
    let denied = call(&instance, &message("hi"), None, noon()).await.unwrap_err();
    assert!(!denied.is_transient());
    assert_eq!(
        denied.to_string(),
        "the openai agent API answered 401: Incorrect API key provided"
    );
    assert!(matches!(
        call(&instance, &message("empty"), None, noon()).await,
        Err(AgentError::Decode(_))
    ));
    assert!(matches!(
        call(&instance, &message("html"), None, noon()).await,
        Err(AgentError::Unreadable(_))
    ));
}
