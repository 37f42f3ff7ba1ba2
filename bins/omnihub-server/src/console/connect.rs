//! Connecting a number from the console: the QR drawn from Evolution's code (or the pairing
//! code), fetched again as Baileys rotates it, until the stored state is `open`; restart,
//! log out and webhook sync behind confirmations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use omnihub_domain::{ConnectionState, InstanceConfig};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::console::page::{render, see_other, Chrome, ConsoleError};
use crate::console::session::Signed;
use crate::error::ApiError;
use crate::handlers::instances::path_name;
use crate::state::AppState;

/// Baileys rotates the QR about every 20 s: a shown code older than this is fetched again.
const QR_REFRESH: Duration = Duration::from_secs(15);

/// The codes last fetched per instance, so pages polling the state do not each call
/// Evolution.
#[derive(Debug, Default, Clone)]
pub struct QrMemo {
    codes: Arc<Mutex<HashMap<String, Shown>>>,
}

#[derive(Debug, Clone)]
struct Shown {
    at: Instant,
    qr: Option<String>,
    pairing: Option<String>,
}

impl QrMemo {
    fn get(&self, name: &str) -> Option<Shown> {
        self.codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn put(&self, name: &str, qr: Option<String>, pairing: Option<String>) {
        let shown = Shown {
            at: Instant::now(),
            qr,
            pairing,
        };
        self.codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned(), shown);
    }

    fn forget(&self, name: &str) {
        self.codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
    }
}

/// `code` as an SVG QR (black on white, with the quiet zone a phone needs).
fn qr_svg(code: &str) -> Option<String> {
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::L).ok()?;
    Some(
        qr.render::<svg::Color<'_>>()
            .min_dimensions(264, 264)
            .quiet_zone(true)
            .build(),
    )
}

#[derive(Template)]
#[template(path = "console/connect.html")]
struct ConnectPage {
    chrome: Chrome,
    name: String,
    done: Option<String>,
    live: LiveState,
}

/// The part of the page that refreshes by itself.
#[derive(Template)]
#[template(path = "console/connect_state.html")]
struct LiveState {
    state: String,
    number: String,
    profile: String,
    qr_code: String,
    qr_svg: String,
    pairing: String,
}

async fn instance(state: &AppState, name: &str) -> Result<InstanceConfig, ApiError> {
    let name = path_name(name)?;
    state.db(move |db| db.instances().get(&name)).await
}

/// The stored state, and the code to show while it is not `open` (fetched again when old).
async fn live(state: &AppState, memo: &QrMemo, instance: &InstanceConfig) -> Result<LiveState, ConsoleError> {
    let name = instance.name.to_string();
    let key = name.clone();
    let stored = state.db(move |db| db.connections().get(&key)).await?;
    let current = stored.as_ref().map(|c| c.state);
    let mut shown = memo.get(&name);
    if current == Some(ConnectionState::Open) {
        memo.forget(&name);
        shown = None;
    } else if shown
        .as_ref()
        .is_some_and(|s| s.at.elapsed() >= QR_REFRESH && s.pairing.is_none())
    {
        if let Ok(fresh) = state.lifecycle()?.connect(instance, None).await {
            memo.put(&name, fresh.qr_code, fresh.pairing_code);
            shown = memo.get(&name);
        }
    }
    let qr_code = shown.as_ref().and_then(|s| s.qr.clone()).unwrap_or_default();
    Ok(LiveState {
        qr_svg: qr_svg(&qr_code)
            .filter(|_| !qr_code.is_empty())
            .unwrap_or_default(),
        qr_code,
        pairing: shown.and_then(|s| s.pairing).unwrap_or_default(),
        state: current.map_or("unknown", ConnectionState::as_str).to_owned(),
        number: stored.as_ref().and_then(|c| c.number.clone()).unwrap_or_default(),
        profile: stored.and_then(|c| c.profile_name).unwrap_or_default(),
    })
}

/// `GET /admin/instances/{name}/connect`.
pub async fn page(
    state: web::Data<AppState>,
    memo: web::Data<QrMemo>,
    signed: Signed,
    name: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    let instance = instance(&state, &name).await?;
    let page = ConnectPage {
        chrome: Chrome::of(&state, &signed.csrf).await,
        name: instance.name.to_string(),
        done: query.get("done").cloned(),
        live: live(&state, &memo, &instance).await?,
    };
    render(200, &page)
}

/// `GET /admin/instances/{name}/connect/state`: the live part alone.
pub async fn state(
    state: web::Data<AppState>,
    memo: web::Data<QrMemo>,
    _signed: Signed,
    name: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let instance = instance(&state, &name).await?;
    render(200, &live(&state, &memo, &instance).await?)
}

/// `POST /admin/instances/{name}/connect` (optional `number` for a pairing code).
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    memo: web::Data<QrMemo>,
    signed: Signed,
    name: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    let instance = instance(&state, &name).await?;
    let number = form.get("number").map(|n| n.trim()).filter(|n| !n.is_empty());
    let number = number
        .map(crate::dto_lifecycle::pairing_number)
        .transpose()
        .map_err(|message| ApiError::Validation {
            field: Some("number".into()),
            message,
        })?;
    let connected = state
        .lifecycle()?
        .connect(&instance, number.as_deref())
        .await
        .map_err(ApiError::from)?;
    state.admin_write(|_| Ok(())).await?;
    memo.put(instance.name.as_str(), connected.qr_code, connected.pairing_code);
    Ok(see_other(&format!("/admin/instances/{}/connect", instance.name)))
}

/// `POST /admin/instances/{name}/actions/{restart|logout|sync}`.
pub async fn action(
    req: HttpRequest,
    state: web::Data<AppState>,
    memo: web::Data<QrMemo>,
    signed: Signed,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    let (name, action) = path.into_inner();
    let instance = instance(&state, &name).await?;
    let lifecycle = state.lifecycle()?;
    let done = match action.as_str() {
        "restart" => {
            let connected = lifecycle.restart(&instance).await.map_err(ApiError::from)?;
            format!("Restarted: {}", connected.state.as_str())
        }
        "logout" => {
            lifecycle.logout(&instance).await.map_err(ApiError::from)?;
            memo.forget(instance.name.as_str());
            "Logged out: connecting again needs a new scan".to_owned()
        }
        "sync" => {
            let webhook = lifecycle.sync_webhook(&instance).await.map_err(ApiError::from)?;
            format!("Webhook synced: {}", webhook.as_str())
        }
        other => {
            return Err(ApiError::NotFound(format!("no action {other:?} (restart, logout, sync)")).into())
        }
    };
    state.admin_write(|_| Ok(())).await?;
    let done: String = done
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '+' })
        .collect();
    Ok(see_other(&format!(
        "/admin/instances/{}/connect?done={done}",
        instance.name
    )))
}
