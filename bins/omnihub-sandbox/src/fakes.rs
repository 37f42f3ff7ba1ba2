//! The fake Evolution API and fake agent: real response shapes, recorded deliveries, and
//! failures on demand (status, delay, rate) to rehearse outages.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How a fake misbehaves: `rate` of requests (0.0–1.0) answer `status` after `delay_ms`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Failure {
    /// Status of failed answers (e.g. 500, 429, 400).
    pub status: u16,
    /// Share of requests that fail, 0.0–1.0.
    pub rate: f64,
    /// Extra delay on every answer, in milliseconds.
    pub delay_ms: u64,
}

/// What the fake agent answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum AgentMode {
    /// `echo: <message_content>`.
    Echo,
    /// A fixed text.
    Fixed(String),
    /// A long multi-paragraph text (several WhatsApp messages).
    Long,
}

/// One text the fake Evolution received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Times received.
    pub count: u32,
    /// First arrival, microseconds since the Unix epoch.
    pub first_at_us: u64,
    /// The chat it went to.
    pub number: String,
}

/// Shared state of both fakes.
#[derive(Default)]
pub struct FakeState {
    failure: Mutex<Failure>,
    agent_failure: Mutex<Failure>,
    agent_mode: Mutex<Option<AgentMode>>,
    agent_delay_ms: AtomicU64,
    deliveries: Mutex<HashMap<String, Delivery>>,
    texts: AtomicU64,
    presences: AtomicU64,
    agent_calls: AtomicU64,
    counter: AtomicU64,
}

/// Microseconds since the Unix epoch (the load generator compares with its own clock).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl FakeState {
    /// A state with the agent in `mode` after `delay`.
    pub fn new(mode: AgentMode, delay: Duration) -> Arc<Self> {
        let state = Self::default();
        *state
            .agent_mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(mode);
        state.agent_delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Arc::new(state)
    }

    fn fails(&self, failure: Failure) -> bool {
        // A deterministic spread: every 1/rate-th request fails.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        failure.rate > 0.0 && ((n as f64 * failure.rate).floor() != ((n + 1) as f64 * failure.rate).floor())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn evolution_error(status: u16) -> HttpResponse {
    let (error, message) = match status {
        401 => ("Unauthorized", json!("Unauthorized")),
        404 => ("Not Found", json!(["The \"instance\" instance does not exist"])),
        400 => ("Bad Request", json!([{"exists": false}])),
        429 => ("Too Many Requests", json!("rate limited")),
        _ => ("Internal Server Error", json!("sandbox failure")),
    };
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(code)
        .json(json!({"status": status, "error": error, "response": {"message": message}}))
}

async fn send_text(
    state: web::Data<Arc<FakeState>>,
    world: web::Data<crate::fake_lifecycle::World>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    // An instance connected through the fake's lifecycle sends only while open (like
    // Evolution); instances it never heard of (the benchmark's) always send.
    let instance = req.match_info().get("instance").unwrap_or_default();
    if world.state(instance).is_some_and(|s| s != "open") {
        return HttpResponse::BadRequest().json(
            json!({"status": 400, "error": "Bad Request", "response": {"message": ["Connection Closed"]}}),
        );
    }
    let failure = *lock(&state.failure);
    if failure.delay_ms > 0 {
        actix_web::rt::time::sleep(Duration::from_millis(failure.delay_ms)).await;
    }
    if req.headers().get("apikey").is_none() {
        return evolution_error(401);
    }
    let (Some(number), Some(text)) = (body["number"].as_str(), body["text"].as_str()) else {
        return HttpResponse::BadRequest()
            .json(json!({"status": 400, "error": "Bad Request", "response": {"message": ["instance requires property \"text\""]}}));
    };
    if state.fails(failure) {
        return evolution_error(failure.status);
    }
    state.texts.fetch_add(1, Ordering::Relaxed);
    let at = now_us();
    lock(&state.deliveries)
        .entry(text.to_owned())
        .and_modify(|d| d.count += 1)
        .or_insert(Delivery {
            count: 1,
            first_at_us: at,
            number: number.to_owned(),
        });
    let instance = req.match_info().get("instance").unwrap_or_default().to_owned();
    HttpResponse::Created().json(json!({
        "key": {"remoteJid": number, "fromMe": true, "id": format!("SANDBOX{at}")},
        "pushName": "", "status": "PENDING", "message": {"conversation": text},
        "messageType": "conversation", "messageTimestamp": at / 1_000_000, "instanceId": instance, "source": "web"
    }))
}

async fn send_presence(state: web::Data<Arc<FakeState>>, body: web::Json<Value>) -> HttpResponse {
    state.presences.fetch_add(1, Ordering::Relaxed);
    // Real Evolution holds the call for `delay`; the sandbox answers at once.
    HttpResponse::Created().json(json!({"presence": body["presence"]}))
}

/// The fake agent's common behaviour before any protocol answers: counts the call, waits the
/// configured delay, and fails as configured (`Some` is the failed answer).
pub(crate) async fn misbehave(state: &FakeState) -> Option<HttpResponse> {
    state.agent_calls.fetch_add(1, Ordering::Relaxed);
    let delay = Duration::from_millis(state.agent_delay_ms.load(Ordering::Relaxed));
    let failure = *lock(&state.agent_failure);
    let wait = delay + Duration::from_millis(failure.delay_ms);
    if !wait.is_zero() {
        actix_web::rt::time::sleep(wait).await;
    }
    if state.fails(failure) {
        let code = actix_web::http::StatusCode::from_u16(failure.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        return Some(
            HttpResponse::build(code).json(json!({"detail": "sandbox agent failure",
            "error": {"message": "sandbox agent failure"}})),
        );
    }
    None
}

/// The answer text for `content` in the fake agent's mode.
pub(crate) fn answer_text(state: &FakeState, content: &str) -> String {
    match lock(&state.agent_mode).clone().unwrap_or(AgentMode::Echo) {
        AgentMode::Echo => format!("echo: {content}"),
        AgentMode::Fixed(text) => text,
        AgentMode::Long => (1..=4)
            .map(|i| {
                format!(
                    "Part {i} of the answer to \"{content}\". {}",
                    "Lorem ipsum dolor sit amet. ".repeat(8)
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

async fn agent_run(
    state: web::Data<Arc<FakeState>>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    if req.headers().get("x-api-key").is_none() {
        state.agent_calls.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Unauthorized().json(json!({"detail": "missing x-api-key"}));
    }
    if let Some(failed) = misbehave(&state).await {
        return failed;
    }
    let content = body["message_content"].as_str().unwrap_or_default();
    let message = answer_text(&state, content);
    let session = body["session_name"].clone();
    HttpResponse::Ok().json(json!({"message": message, "session_id": session, "success": true,
        "usage": {"request_tokens": 0, "response_tokens": 0}}))
}

/// Stats for the load generator and tests.
async fn stats(state: web::Data<Arc<FakeState>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "texts": state.texts.load(Ordering::Relaxed),
        "distinct_texts": lock(&state.deliveries).len(),
        "presences": state.presences.load(Ordering::Relaxed),
        "agent_calls": state.agent_calls.load(Ordering::Relaxed),
        "failure": *lock(&state.failure),
        "agent_failure": *lock(&state.agent_failure),
    }))
}

async fn deliveries(state: web::Data<Arc<FakeState>>) -> HttpResponse {
    HttpResponse::Ok().json(&*lock(&state.deliveries))
}

/// `POST /_sandbox/fail` on either fake sets its failure mode (all zero: healthy again).
async fn set_failure(
    state: web::Data<Arc<FakeState>>,
    req: HttpRequest,
    body: web::Json<Failure>,
) -> HttpResponse {
    let agent = req.app_data::<web::Data<IsAgent>>().is_some();
    let target = if agent {
        &state.agent_failure
    } else {
        &state.failure
    };
    *lock(target) = body.into_inner();
    HttpResponse::Ok().json(json!({"failure": *lock(target)}))
}

async fn reset(state: web::Data<Arc<FakeState>>) -> HttpResponse {
    lock(&state.deliveries).clear();
    state.texts.store(0, Ordering::Relaxed);
    state.presences.store(0, Ordering::Relaxed);
    state.agent_calls.store(0, Ordering::Relaxed);
    HttpResponse::Ok().json(json!({"reset": true}))
}

/// Marks the agent app, so `/_sandbox/fail` knows which fake it is on.
struct IsAgent;

/// Routes of the fake Evolution API.
pub fn evolution_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/message/sendText/{instance}", web::post().to(send_text))
        .route("/chat/sendPresence/{instance}", web::post().to(send_presence))
        .route("/_sandbox/stats", web::get().to(stats))
        .route("/_sandbox/deliveries", web::get().to(deliveries))
        .route("/_sandbox/fail", web::post().to(set_failure))
        .route("/_sandbox/reset", web::post().to(reset))
        .configure(crate::fake_lifecycle::routes);
}

/// Routes of the fake agent.
pub fn agent_routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(IsAgent))
        .route("/api/v1/agent/{agent}/run", web::post().to(agent_run))
        .configure(crate::fake_protocols::routes)
        .route("/_sandbox/stats", web::get().to(stats))
        .route("/_sandbox/fail", web::post().to(set_failure));
}
