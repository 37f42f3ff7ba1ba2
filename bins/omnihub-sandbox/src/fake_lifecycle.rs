//! The fake Evolution's instance management (create, connect with rotating QR codes,
//! connectionState, fetchInstances, webhook set/find, restart, logout, delete, and 503
//! `LICENSE_REQUIRED` on demand): the test kit's [`EvolutionWorld`] served by actix, with its
//! lifecycle webhooks delivered to the configured URL and headers. `/_sandbox/scan/{instance}`
//! plays the phone scanning the QR; `/_sandbox/drop/{instance}` drops the connection.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use omnihub_test_support::{Delivery, EvolutionWorld};
use serde_json::{json, Value};

/// The global key of the sandbox's fake Evolution (the demo's instances use it).
pub const SANDBOX_EVOLUTION_KEY: &str = "demo-evolution-key-0001";

/// The fake's instances, shared by its workers.
pub type World = Arc<EvolutionWorld>;

/// A world with no instance.
pub fn world() -> World {
    Arc::new(EvolutionWorld::new(SANDBOX_EVOLUTION_KEY))
}

fn status(code: u16) -> actix_web::http::StatusCode {
    actix_web::http::StatusCode::from_u16(code).unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// Delivers `deliveries` in order; a failed one is logged, as Evolution does.
async fn deliver(deliveries: Vec<Delivery>) {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return;
    };
    for delivery in deliveries {
        let mut request = client.post(&delivery.url).json(&delivery.body);
        for (name, value) in &delivery.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => {}
            Ok(answer) => eprintln!(
                "fake Evolution: webhook to {} answered {}",
                delivery.url,
                answer.status()
            ),
            Err(err) => eprintln!("fake Evolution: webhook to {} failed: {err}", delivery.url),
        }
    }
}

async fn manage(world: web::Data<World>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let apikey = req.headers().get("apikey").and_then(|v| v.to_str().ok());
    let path = req.uri().path_and_query().map_or(req.path(), |p| p.as_str());
    match world.handle(req.method().as_str(), path, apikey, &json) {
        Some(answer) => {
            deliver(answer.deliveries).await;
            HttpResponse::build(status(answer.status)).json(answer.body)
        }
        None => HttpResponse::NotFound().json(
            json!({"status": 404, "error": "Not Found", "response": {"message": ["Cannot find the route"]}}),
        ),
    }
}

async fn scan(
    world: web::Data<World>,
    instance: web::Path<String>,
    body: Option<web::Json<Value>>,
) -> HttpResponse {
    let number = body
        .as_ref()
        .and_then(|b| b["number"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "5511900000000".to_owned());
    match world.scan(&instance, &number) {
        Some(deliveries) => {
            deliver(deliveries).await;
            HttpResponse::Ok().json(json!({"instance": *instance, "state": "open", "number": number}))
        }
        None => HttpResponse::Conflict()
            .json(json!({"error": format!("{instance} is not waiting for a scan (connect it first)")})),
    }
}

async fn drop_connection(
    world: web::Data<World>,
    instance: web::Path<String>,
    body: Option<web::Json<Value>>,
) -> HttpResponse {
    let code = body
        .as_ref()
        .and_then(|b| b["code"].as_u64())
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(401);
    match world.drop_connection(&instance, code) {
        Some(deliveries) => {
            deliver(deliveries).await;
            HttpResponse::Ok().json(json!({"instance": *instance, "state": "close", "code": code}))
        }
        None => HttpResponse::NotFound().json(json!({"error": format!("{instance} does not exist")})),
    }
}

async fn activate(world: web::Data<World>, body: web::Json<Value>) -> HttpResponse {
    let activated = body["activated"].as_bool().unwrap_or(true);
    world.set_activated(activated);
    HttpResponse::Ok().json(json!({"activated": activated}))
}

/// The management routes and the sandbox's scan/drop/activate controls.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/instance/{tail:.*}", web::route().to(manage))
        .route("/webhook/{tail:.*}", web::route().to(manage))
        .route("/_sandbox/scan/{instance}", web::post().to(scan))
        .route("/_sandbox/drop/{instance}", web::post().to(drop_connection))
        .route("/_sandbox/activate", web::post().to(activate));
}
