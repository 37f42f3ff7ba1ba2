//! The console's message log: filters (instance, chat, status, since), one message's
//! timeline (received, claimed, agent started and finished, parts sent, the error and its
//! stage) and retry for a failed one.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::console::page::{render, see_other, Chrome, ConsoleError};
use crate::console::session::Signed;
use crate::dto_messages::{MessageQuery, MessageResponse};
use crate::handlers::messages::{filter_of, parse_id};
use crate::state::AppState;

/// The log's filters as typed.
#[derive(Debug, Default)]
pub struct Filters {
    instance: String,
    chat: String,
    status: String,
    since: String,
}

#[derive(Template)]
#[template(path = "console/messages.html")]
struct LogPage {
    chrome: Chrome,
    filters: Filters,
    statuses: [&'static str; 5],
    rows: Vec<(String, MessageResponse)>,
    error: Option<String>,
}

fn nonblank(query: &HashMap<String, String>, key: &str) -> Option<String> {
    query
        .get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `GET /admin/messages?instance=&chat=&status=&since=`.
pub async fn log(
    state: web::Data<AppState>,
    signed: Signed,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    let filters = Filters {
        instance: nonblank(&query, "instance").unwrap_or_default(),
        chat: nonblank(&query, "chat").unwrap_or_default(),
        status: nonblank(&query, "status").unwrap_or_default(),
        since: nonblank(&query, "since").unwrap_or_default(),
    };
    let asked = MessageQuery {
        instance: nonblank(&query, "instance"),
        chat: nonblank(&query, "chat").map(|c| omnihub_domain::chat_address(&c)),
        status: nonblank(&query, "status"),
        since: nonblank(&query, "since"),
        limit: Some(200),
    };
    let (rows, error) = match filter_of(asked) {
        Ok(filter) => {
            let records = state.db(move |db| db.messages().list(&filter)).await?;
            let rows = records
                .into_iter()
                .map(|r| MessageResponse::from_record(r, false))
                .map(|m| (shown(&m.received_at).chars().take(19).collect(), m))
                .collect();
            (rows, None)
        }
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    let page = LogPage {
        chrome: Chrome::of(&state, &signed.csrf).await,
        filters,
        statuses: ["queued", "processing", "done", "failed", "skipped"],
        rows,
        error,
    };
    render(if page.error.is_some() { 422 } else { 200 }, &page)
}

/// One step of a message's timeline.
pub struct Step {
    what: &'static str,
    at: String,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    chrome: Chrome,
    m: MessageResponse,
    text: String,
    reply: String,
    steps: Vec<Step>,
}

fn shown(t: &str) -> String {
    t.chars().take(23).collect::<String>().replace('T', " ")
}

/// `GET /admin/messages/{id}`.
pub async fn detail(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id(&id)?;
    let record = state.db(move |db| db.messages().get(id)).await?;
    let m = MessageResponse::from_record(record, true);
    let mut steps = vec![Step {
        what: if m.direction == "outbound" {
            "queued to send"
        } else {
            "received"
        },
        at: shown(&m.received_at),
    }];
    let mut step = |what: &'static str, at: &Option<String>| {
        if let Some(at) = at {
            steps.push(Step { what, at: shown(at) });
        }
    };
    step("claimed (last attempt started)", &m.agent_started_at);
    step("agent answered", &m.agent_finished_at);
    step("parts sent", &m.sent_at);
    step("finished", &m.finished_at);
    let detail = m.detail.as_ref();
    let page = MessagePage {
        chrome: Chrome::of(&state, &signed.csrf).await,
        text: detail.map(|d| d.text.clone()).unwrap_or_default(),
        reply: detail.and_then(|d| d.reply.clone()).unwrap_or_default(),
        steps,
        m,
    };
    render(200, &page)
}

/// `POST /admin/messages/{id}/retry`: a failed message queued again; back to `back` (a
/// console page) or the message.
pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    let id = parse_id(&id)?;
    state.db_once(move |db| db.messages().requeue(id)).await?;
    state.pipeline().wake();
    let back = form
        .get("back")
        .filter(|b| b.starts_with("/admin/") && !b.contains("//") && !b.contains('\\'))
        .cloned()
        .unwrap_or_else(|| format!("/admin/messages/{id}"));
    Ok(see_other(&back))
}
