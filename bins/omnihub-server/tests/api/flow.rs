//! Helpers for the end-to-end pipeline tests: fake upstreams, instances, webhooks, waiting.

use omnihub_test_support::{FakeHttp, InstanceBuilder};
use serde_json::Value;

use crate::support::{Api, Req, ServerProcess};

pub use omnihub_test_support::{
    content, echo_agent, ok_evolution, text_webhook, texts, wait_until, AGENT_KEY,
};

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

/// Creates an instance bound to `evolution_instance`, the agent and Evolution fakes.
pub fn create_instance(
    server: &ServerProcess,
    name: &str,
    evolution_instance: &str,
    agent: &FakeHttp,
    evolution: &FakeHttp,
    extra: Value,
) {
    let mut body = InstanceBuilder::new(name)
        .whatsapp_instance(evolution_instance)
        .agent(&agent.url)
        .evolution(&evolution.url)
        .json();
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&body))
        .expect(201, None);
    // Most scenarios push many replies through one number at once; pacing (60 a minute by
    // default) is tested on its own (outbound_api.rs), so these numbers send unpaced.
    server
        .send(
            Req::admin("PUT", format!("/api/v1/instances/{name}/rules"))
                .json(&serde_json::json!({"send_per_minute": 0})),
        )
        .expect(200, None);
}

/// POSTs a webhook body to `path`.
pub fn post_webhook(server: &ServerProcess, path: &str, body: &Value) -> crate::support::Resp {
    server.send(Req::new("POST", path).json(body))
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
