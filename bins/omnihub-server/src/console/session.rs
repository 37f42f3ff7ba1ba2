//! Signing in to the console with the admin key: a random session token in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` when the public URL is https), its SHA-256 kept in the
//! database with a CSRF token that every form of the session carries. The key itself never
//! reaches the browser again.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::console::page::{render, ConsoleError};
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "omnihub_console";
/// How long a session lasts from sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// A signed-in request: its session's CSRF token.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The token the session's forms carry.
    pub csrf: String,
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 256 random bits as hex (two v4 UUIDs: the operating system's random source).
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let state = state.ok_or(ConsoleError::Closed)?;
            if state.api_key().is_none() {
                return Err(ConsoleError::Closed);
            }
            let token = token.ok_or(ConsoleError::SignIn)?;
            let key = hash(&token);
            let found = state
                .db(move |db| db.console_sessions().find(&key))
                .await
                .map_err(ConsoleError::Api)?;
            let session = found.ok_or(ConsoleError::SignIn)?;
            Ok(Signed { csrf: session.csrf })
        })
    }
}

impl Signed {
    /// Refuses a form without this session's CSRF token, or posted from another origin.
    pub fn check(&self, req: &HttpRequest, form: &HashMap<String, String>) -> Result<(), ConsoleError> {
        check_origin(req)?;
        let presented = form.get("csrf").map(String::as_bytes).unwrap_or_default();
        if !bool::from(presented.ct_eq(self.csrf.as_bytes())) {
            return Err(ConsoleError::Forbidden(
                "the form's security token is missing or stale; reload the page and try again".into(),
            ));
        }
        Ok(())
    }
}

/// A form posted by a page of another site is refused whatever it carries.
fn check_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = req.connection_info().host().to_owned();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if origin == "null" || origin_host != host {
        return Err(ConsoleError::Forbidden(format!(
            "a form from {origin} cannot act on this console"
        )));
    }
    Ok(())
}

/// The session cookie with `value`: only for the console's paths, never readable by scripts,
/// never sent by another site's request, and only over https when omnihub is reached so.
fn session_cookie(state: &AppState, value: String) -> actix_web::cookie::CookieBuilder<'static> {
    Cookie::build(COOKIE, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.public_url_is_https())
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    error: Option<String>,
}

/// `GET /admin/login`.
pub async fn login_page(state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    if state.api_key().is_none() {
        return Err(ConsoleError::Closed);
    }
    render(200, &LoginPage { error: None })
}

/// `POST /admin/login` with `key`: opens a session, or answers 401 with the form again.
pub async fn sign_in(
    state: web::Data<AppState>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    let Some(expected) = state.api_key() else {
        return Err(ConsoleError::Closed);
    };
    let presented = form.get("key").map(String::as_str).unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
        tracing::warn!("console sign-in refused: wrong admin key");
        let error = Some("That is not the admin key (OMNIHUB_API_KEY).".to_owned());
        return render(401, &LoginPage { error });
    }
    let (token, csrf) = (random_token(), random_token());
    let key = hash(&token);
    state
        .db_once(move |db| db.console_sessions().open(&key, &csrf, SESSION_TTL))
        .await
        .map_err(ConsoleError::Api)?;
    let cookie = session_cookie(&state, token)
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(SESSION_TTL.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, "/admin"))
        .finish())
}

/// `POST /admin/logout`: ends the session everywhere and clears the cookie.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    if let Some(token) = req.cookie(COOKIE) {
        let key = hash(token.value());
        state
            .db_once(move |db| db.console_sessions().close(&key))
            .await
            .map_err(ConsoleError::Api)?;
    }
    let mut gone = session_cookie(&state, String::new()).finish();
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((header::LOCATION, "/admin/login"))
        .finish())
}
