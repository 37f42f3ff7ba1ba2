//! The sandbox's fake agent in every protocol omnihub speaks besides Automagik, with the real
//! request and reply shapes, so `make demo` and manual trials can point any agent kind at it:
//!
//! | kind | `agent_api_url` | route |
//! |---|---|---|
//! | openai | `{agent}/v1` | `POST /v1/chat/completions` |
//! | dify | `{agent}/dify/v1` | `POST /dify/v1/chat-messages`, `/dify/v1/workflows/run` |
//! | n8n | `{agent}/n8n/webhook` | `POST /n8n/webhook` |
//! | flowise | `{agent}/flowise` | `POST /flowise/api/v1/prediction/{id}` |
//! | typebot | `{agent}/typebot` | `POST /typebot/api/v1/typebots/{id}/startChat`, `/sessions/{id}/continueChat` |
//! | webhook | `{agent}/webhook/bot` | `POST /webhook/bot` |
//!
//! Every answer echoes the text in the fake's mode (`echo: <text>`), so the load generator
//! scores any kind the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::fakes::{answer_text, misbehave, FakeState};

/// A counter for the ids the fake hands out (Dify conversations, Typebot sessions).
static IDS: AtomicU64 = AtomicU64::new(1);

fn text_at(body: &Value, pointer: &str) -> String {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn openai(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let Some(last) = messages.last() else {
        return HttpResponse::BadRequest()
            .json(json!({"error": {"message": "messages is empty", "type": "invalid_request_error"}}));
    };
    let said = match &last["content"] {
        Value::String(text) => text.clone(),
        parts => text_at(parts, "/0/text"),
    };
    let reply = answer_text(&state, &said);
    HttpResponse::Ok().json(json!({"id": "chatcmpl-sandbox", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]}))
}

async fn dify_chat(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    let conversation = match text_at(&body, "/conversation_id") {
        id if id.is_empty() => format!("sandbox-conv-{}", IDS.fetch_add(1, Ordering::Relaxed)),
        id => id,
    };
    HttpResponse::Ok().json(
        json!({"event": "message", "conversation_id": conversation, "mode": "chat",
        "answer": answer_text(&state, &text_at(&body, "/query"))}),
    )
}

async fn dify_workflow(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    HttpResponse::Ok().json(
        json!({"workflow_run_id": "sandbox-run", "data": {"status": "succeeded",
        "outputs": {"text": answer_text(&state, &text_at(&body, "/inputs/query"))}}}),
    )
}

async fn n8n(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    HttpResponse::Ok().json(json!({"output": answer_text(&state, &text_at(&body, "/chatInput"))}))
}

async fn flowise(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    HttpResponse::Ok().json(json!({"text": answer_text(&state, &text_at(&body, "/question")),
        "chatId": body["chatId"], "sessionId": body.pointer("/overrideConfig/sessionId")}))
}

async fn typebot(
    state: web::Data<Arc<FakeState>>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    let text = answer_text(&state, &text_at(&body, "/message/text"));
    let bubbles = json!([{"id": "b1", "type": "text", "content": {"type": "markdown", "markdown": text}}]);
    match path.1.as_str() {
        "startChat" => HttpResponse::Ok().json(json!({"sessionId": format!("sandbox{}", IDS.fetch_add(1, Ordering::Relaxed)), "messages": bubbles})),
        "continueChat" => HttpResponse::Ok().json(json!({"messages": bubbles})),
        other => HttpResponse::NotFound().json(json!({"message": format!("no route {other}")})),
    }
}

async fn webhook(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    HttpResponse::Ok().json(json!({"message": answer_text(&state, &text_at(&body, "/query"))}))
}

/// The routes, added to the fake agent's app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/chat/completions", web::post().to(openai))
        .route("/dify/v1/chat-messages", web::post().to(dify_chat))
        .route("/dify/v1/workflows/run", web::post().to(dify_workflow))
        .route("/n8n/webhook", web::post().to(n8n))
        .route("/flowise/api/v1/prediction/{id}", web::post().to(flowise))
        .route("/typebot/api/v1/typebots/{id}/{action}", web::post().to(typebot))
        .route("/typebot/api/v1/sessions/{id}/{action}", web::post().to(typebot))
        .route("/webhook/bot", web::post().to(webhook));
}
