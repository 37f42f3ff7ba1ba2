//! One fake agent backend that speaks every protocol omnihub does, each under its own path
//! prefix (`/openai`, `/dify`, `/n8n`, `/flowise`, `/typebot`, `/webhook`), answering
//! `<kind>: <the text it received>` so a test can see which turn an answer belongs to.

use serde_json::{json, Value};

use crate::{FakeHttp, Recorded, Reply};

/// The path prefix under which the fake speaks `kind`: the instance's `agent_api_url` is
/// `{fake.url}{prefix}` (for `n8n` and `webhook` it is the whole endpoint).
pub fn prefix(kind: &str) -> String {
    format!("/{kind}")
}

/// Starts the fake.
pub fn every_protocol_agent() -> FakeHttp {
    FakeHttp::start(|r, _| answer(r))
}

/// How the fake answers `r`, by path.
pub fn answer(r: &Recorded) -> Reply {
    let path = r.path.as_str();
    let body = &r.json;
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if path.starts_with("/openai/chat/completions") {
        let last = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .unwrap_or_default();
        let said = last["content"].as_str().map(str::to_owned).unwrap_or_else(|| {
            last.pointer("/content/0/text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        });
        let reply = format!("openai: {said}");
        return Reply::json(
            200,
            json!({"id": "chatcmpl-fake", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]}),
        );
    }
    if path.starts_with("/dify/chat-messages") {
        let conversation = body
            .get("conversation_id")
            .and_then(Value::as_str)
            .unwrap_or("conv-1")
            .to_owned();
        let reply = format!("dify: {}", text("/query"));
        return Reply::json(
            200,
            json!({"event": "message", "conversation_id": conversation, "answer": reply}),
        );
    }
    if path.starts_with("/n8n") {
        return Reply::json(200, json!({"output": format!("n8n: {}", text("/chatInput"))}));
    }
    if path.starts_with("/flowise/api/v1/prediction/") {
        return Reply::json(
            200,
            json!({"text": format!("flowise: {}", text("/question")), "chatId": text("/chatId")}),
        );
    }
    if path.starts_with("/typebot/api/v1/typebots/") && path.ends_with("/startChat") {
        let bubble = format!("typebot: {}", text("/message/text"));
        return Reply::json(
            200,
            json!({"sessionId": "sess-1", "messages": [
            {"id": "b1", "type": "text", "content": {"type": "markdown", "markdown": bubble}}]}),
        );
    }
    if path.starts_with("/typebot/api/v1/sessions/") {
        let bubble = format!("typebot: {}", text("/message/text"));
        return Reply::json(
            200,
            json!({"messages": [{"id": "b2", "type": "text", "content": {"type": "markdown", "markdown": bubble}}]}),
        );
    }
    if path.starts_with("/webhook") {
        return Reply::json(200, json!({"message": [format!("webhook: {}", text("/query"))]}));
    }
    Reply::json(
        404,
        json!({"error": {"message": format!("no fake protocol at {path}")}}),
    )
}
