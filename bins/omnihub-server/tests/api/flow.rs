//! Helpers for the end-to-end pipeline tests: fake upstreams, instances, webhooks, waiting.

use std::time::{Duration, Instant};

use omnihub_test_support::{FakeHttp, Recorded, Reply};
use serde_json::{json, Value};

use crate::support::{Api, Req, ServerProcess};

/// Agent key every test instance uses.
pub const AGENT_KEY: &str = "agent-key-for-tests-0123";
/// Evolution key of instance `shop` (other instances derive theirs from their name).
pub const EVO_KEY: &str = "evolution-key-shop-0123";

/// The real server on `db` with [`fast_env`] and the admin key.
pub fn start(db: &omnihub_test_support::TestDb) -> ServerProcess {
    ServerProcess::start(db.url(), Some(crate::support::ADMIN_KEY), &fast_env())
}

/// Server settings that make retries and polling fast enough for tests.
pub fn fast_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OMNIHUB_RETRY_BASE_MS", "50"),
        ("OMNIHUB_RETRY_MAX_MS", "200"),
        ("OMNIHUB_RETRY_MAX_ATTEMPTS", "4"),
        ("OMNIHUB_DISPATCH_POLL_MS", "50"),
        ("OMNIHUB_INSTANCE_CACHE_TTL_MS", "200"),
        ("OMNIHUB_EVOLUTION_TIMEOUT_SECS", "2"),
        ("OMNIHUB_LEASE_SECS", "5"),
        ("OMNIHUB_SHUTDOWN_GRACE_SECS", "5"),
    ]
}

/// An agent that answers `echo: <message_content>`.
pub fn echo_agent() -> FakeHttp {
    FakeHttp::start(|r, _| {
        Reply::json(
            200,
            json!({"message": format!("echo: {}", content(r)), "session_id": "s"}),
        )
    })
}

/// An Evolution server that accepts every call with Evolution's 201 shape.
pub fn ok_evolution() -> FakeHttp {
    FakeHttp::start(|_, _| {
        Reply::json(
            201,
            json!({"key": {"id": "OUT1", "fromMe": true}, "status": "PENDING"}),
        )
    })
}

/// `message_content` of an agent request.
pub fn content(r: &Recorded) -> String {
    r.json["message_content"].as_str().unwrap_or_default().to_owned()
}

/// Creates an instance bound to `evolution_instance`, the agent and Evolution fakes.
pub fn create_instance(
    server: &ServerProcess,
    name: &str,
    evolution_instance: &str,
    agent: &FakeHttp,
    evolution: &FakeHttp,
    extra: Value,
) {
    let mut body = json!({
        "name": name,
        "whatsapp_instance": evolution_instance,
        "agent_api_url": agent.url,
        "agent_api_key": AGENT_KEY,
        "default_agent": format!("agent-{name}"),
        "evolution_url": evolution.url,
        "evolution_key": if name == "shop" { EVO_KEY.to_owned() } else { format!("evolution-key-{name}-0123") },
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&body))
        .expect(201, None);
}

/// A v2 `messages.upsert` text webhook.
pub fn text_webhook(evolution_instance: &str, id: &str, chat: &str, text: &str) -> Value {
    json!({
        "event": "messages.upsert",
        "instance": evolution_instance,
        "data": {
            "key": {"remoteJid": chat, "fromMe": false, "id": id},
            "pushName": "Ana",
            "message": {"conversation": text},
            "messageType": "conversation",
            "messageTimestamp": 1_750_876_007,
        },
        "server_url": "http://evolution.example.com",
        "apikey": "body-apikey-never-used",
    })
}

/// POSTs a webhook body to `path`.
pub fn post_webhook(server: &ServerProcess, path: &str, body: &Value) -> crate::support::Resp {
    server.send(Req::new("POST", path).json(body))
}

/// Polls `done` every 50 ms for up to `secs` seconds.
pub fn wait_until(secs: u64, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `sendText` calls an Evolution fake received.
pub fn texts(evolution: &FakeHttp) -> Vec<Recorded> {
    evolution.requests_to("/message/sendText/")
}

/// The message log as the admin API shows it.
pub fn log(server: &ServerProcess) -> Vec<Value> {
    let body = server
        .send(Req::admin("GET", "/api/v1/messages?limit=1000"))
        .expect(200, None);
    body.as_array().cloned().unwrap_or_default()
}

/// Messages in the log that reached a final status.
pub fn finished(server: &ServerProcess) -> usize {
    log(server)
        .iter()
        .filter(|m| m["status"] == "done" || m["status"] == "failed")
        .count()
}
