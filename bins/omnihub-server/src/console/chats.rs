//! The console's conversations: an instance's chats (paused first, searchable), one chat's
//! whole conversation with times and statuses, pause and resume, and a reply box that sends
//! through the number like `POST …/messages/send`.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use omnihub_domain::{parse_chat, Outbound};
use serde_json::json;

use crate::console::page::{render, see_other, segment, Chrome, ConsoleError};
use crate::console::session::Signed;
use crate::dto_chats::{ChatResponse, PauseRequest};
use crate::error::ApiError;
use crate::handlers::instances::path_name;
use crate::handlers::outbound::{conversation_of, send_as};
use crate::state::AppState;

/// One chat in the list.
pub struct ChatLine {
    key: String,
    link: String,
    paused: bool,
    paused_by: String,
    last: String,
    counts: String,
}

#[derive(Template)]
#[template(path = "console/chats.html")]
struct ChatsPage {
    chrome: Chrome,
    name: String,
    query: String,
    chats: Vec<ChatLine>,
}

/// `GET /admin/instances/{name}/chats?q=`.
pub async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    name: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    let name = path_name(&name)?;
    let shown = name.to_string();
    let search = query.get("q").map(|q| q.trim().to_owned()).unwrap_or_default();
    let (chats, now) = state
        .db(move |db| {
            db.instances().get(&name)?;
            Ok((db.chats().list(name.as_str(), false, 1000)?, db.now()))
        })
        .await?;
    let needle: String = search
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '+')
        .collect();
    let mut lines: Vec<(bool, ChatLine)> = chats
        .into_iter()
        .map(|chat| ChatResponse::at(chat, now))
        .filter(|chat| needle.is_empty() || chat.chat.contains(&needle))
        .map(|chat| {
            let line = ChatLine {
                link: format!("/admin/instances/{shown}/chats/{}", segment(&chat.chat)),
                paused: chat.paused,
                paused_by: chat.paused_by.clone().unwrap_or_default(),
                last: chat
                    .last_inbound_at
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(19)
                    .collect::<String>()
                    .replace('T', " "),
                counts: format!(
                    "{} in · {} answered · {} skipped",
                    chat.inbound_count, chat.answered_count, chat.skipped_count
                ),
                key: chat.chat,
            };
            (line.paused, line)
        })
        .collect();
    // Paused first; the store's order (most recent first) within each group.
    lines.sort_by_key(|(paused, _)| !paused);
    let page = ChatsPage {
        chrome: Chrome::of(&state, &signed.csrf).await,
        name: shown,
        query: search,
        chats: lines.into_iter().map(|(_, line)| line).collect(),
    };
    render(200, &page)
}

/// One message of the conversation as shown.
pub struct Bubble {
    id: i64,
    outbound: bool,
    who: String,
    text: String,
    reply: String,
    status: String,
    note: String,
    at: String,
    failed: bool,
}

#[derive(Template)]
#[template(path = "console/conversation.html")]
struct ConversationPage {
    chrome: Chrome,
    name: String,
    chat: String,
    base: String,
    paused: bool,
    paused_note: String,
    bubbles: Vec<Bubble>,
}

/// `GET /admin/instances/{name}/chats/{chat}`.
pub async fn conversation(
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (name, chat) = path.into_inner();
    let name = path_name(&name)?;
    let chat = parse_chat(&chat).map_err(ApiError::from)?;
    let found = conversation_of(&state, name.clone(), chat, 500).await?;
    let bubbles = found
        .messages
        .into_iter()
        .map(|m| {
            let detail = m.detail.as_ref();
            let note = match (&m.skip_reason, &m.error, &m.outcome) {
                (Some(reason), _, _) => format!("skipped: {reason}"),
                // A message answered after a retry keeps its last error in the log; the
                // conversation shows errors only while they matter.
                (_, Some(error), _) if m.status != "done" => {
                    format!("{}: {error}", m.error_stage.clone().unwrap_or_default())
                }
                (_, _, Some(outcome)) => outcome.clone(),
                _ if m.parts_total > 1 => format!("{} of {} parts sent", m.parts_sent, m.parts_total),
                _ => String::new(),
            };
            Bubble {
                id: m.id,
                outbound: m.direction == "outbound",
                who: m.sender_name.clone().unwrap_or_default(),
                text: detail.map(|d| d.text.clone()).unwrap_or_default(),
                reply: detail.and_then(|d| d.reply.clone()).unwrap_or_default(),
                failed: m.status == "failed",
                at: m
                    .received_at
                    .chars()
                    .take(19)
                    .collect::<String>()
                    .replace('T', " "),
                status: m.status,
                note,
            }
        })
        .collect();
    let chat = found.chat;
    let paused_note = match (&chat.paused_by, &chat.paused_until) {
        (Some(by), Some(until)) => format!(
            "paused by {by} until {}",
            until.chars().take(19).collect::<String>().replace('T', " ")
        ),
        (Some(by), None) => format!("paused by {by} until resumed"),
        _ => String::new(),
    };
    let page = ConversationPage {
        chrome: Chrome::of(&state, &signed.csrf).await,
        base: format!("/admin/instances/{name}/chats/{}", segment(&chat.chat)),
        name: name.to_string(),
        paused: chat.paused,
        paused_note,
        chat: chat.chat,
        bubbles,
    };
    render(200, &page)
}

/// `POST /admin/instances/{name}/chats/{chat}/{pause|resume|send}`.
pub async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    let (name, chat, action) = path.into_inner();
    let name = path_name(&name)?;
    let chat = parse_chat(&chat).map_err(ApiError::from)?;
    let back = format!("/admin/instances/{name}/chats/{}", segment(&chat));
    match action.as_str() {
        "pause" => {
            // The API's own reading of `minutes` (and its message), from the form's text.
            let mut body = serde_json::Map::new();
            if let Some(text) = form.get("minutes").map(|m| m.trim()).filter(|m| !m.is_empty()) {
                let value = serde_json::from_str::<serde_json::Value>(text).unwrap_or_else(|_| text.into());
                body.insert("minutes".into(), value);
            }
            let minutes = PauseRequest::minutes_of(&body).map_err(|message| ApiError::Validation {
                field: Some("minutes".into()),
                message,
            })?;
            let (n, c) = (name.clone(), chat.clone());
            state
                .db_once(move |db| {
                    db.instances().get(&n)?;
                    db.chats().pause(n.as_str(), &c, minutes)
                })
                .await?;
        }
        "resume" => {
            let (n, c) = (name.clone(), chat.clone());
            state
                .db_once(move |db| {
                    db.instances().get(&n)?;
                    db.chats().resume(n.as_str(), &c)
                })
                .await?;
        }
        "send" => {
            let text = form.get("text").cloned().unwrap_or_default();
            let keep_bot = form.contains_key("keep_bot");
            let outbound = Outbound::from_json(&json!({"to": chat, "text": text, "keep_bot": keep_bot}))
                .map_err(ApiError::from)?;
            send_as(&state, &name, outbound, "console").await?;
        }
        other => {
            return Err(ApiError::NotFound(format!("no chat action {other:?} (pause, resume, send)")).into())
        }
    }
    Ok(see_other(&back))
}
