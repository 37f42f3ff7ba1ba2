//! What every console page shares: rendering a template, the error pages, the health header
//! and small formatting helpers.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::state::AppState;

/// Why a console request did not get its page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session: to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// The server has no admin key: the console is closed like the API.
    #[error("the console is closed because the server has no OMNIHUB_API_KEY; set it (16 characters or more) and restart")]
    Closed,
    /// A form without its CSRF token, or from another site.
    #[error("{0}")]
    Forbidden(String),
    /// What the API would have answered.
    #[error("{0}")]
    Api(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::Closed => StatusCode::SERVICE_UNAVAILABLE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Api(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, Self::SignIn) {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/admin/login"))
                .finish();
        }
        let status = self.status_code();
        let message = self.to_string();
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        };
        html(status, page.render().unwrap_or(message))
    }
}

/// An HTML answer that is never cached or framed.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body)
}

/// Renders `page` with `status`.
pub fn render(status: u16, page: &impl Template) -> Result<HttpResponse, ConsoleError> {
    let body = page
        .render()
        .map_err(|e| ConsoleError::Api(ApiError::internal(e)))?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Ok(html(status, body))
}

/// After a form: back to `to` (a console path).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// The health header of every page.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// The database answered.
    pub db_ready: bool,
    /// Messages queued or processing, all instances.
    pub backlog: i64,
    /// Age of the oldest of them, e.g. `3 s`.
    pub oldest: String,
    /// Instances whose number is not `open`.
    pub not_open: Vec<String>,
}

/// What the layout needs: the session's CSRF token (for sign-out) and the health.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The session's form token.
    pub csrf: String,
    /// The health header.
    pub health: Health,
}

impl Chrome {
    /// The chrome of a signed-in page, the health read now.
    pub async fn of(state: &AppState, csrf: &str) -> Self {
        let backlog = state.db(|db| Ok((db.messages().backlog()?, db.now()))).await;
        let mut health = Health {
            db_ready: backlog.is_ok(),
            ..Health::default()
        };
        if let Ok((backlog, now)) = backlog {
            health.backlog = backlog.iter().map(|b| b.unfinished).sum();
            let oldest = backlog.iter().filter_map(|b| b.oldest_received_at).min();
            health.oldest = oldest.map_or_else(|| "none".into(), |t| age(now, t));
        }
        let connections = state.pipeline().instances().connections();
        health.not_open = state
            .pipeline()
            .instances()
            .all()
            .iter()
            .map(|i| i.name.to_string())
            .filter(|name| {
                !connections
                    .iter()
                    .any(|(n, c)| n == name && c.state == omnihub_domain::ConnectionState::Open)
            })
            .collect();
        health.not_open.sort();
        Self {
            csrf: csrf.to_owned(),
            health,
        }
    }
}

/// `t` as the page shows it: `2026-12-07 18:03:12`.
pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// How long ago `then` was, at `now`: `42 s`, `5 min`, `3 h`, `2 d`.
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// A path segment as a URL path part (chat JIDs carry `@`, phone numbers `+`).
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b':' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}
