//! The pipeline as a library, in process: webhooks handed to [`Pipeline::ingest`], the real
//! agent and Evolution clients against fake HTTP servers (or trait fakes), on SQLite and
//! PostgreSQL, with a clock the tests move instead of sleeping.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

mod held;
mod ingest;
mod lifecycle;
mod lifecycle_errors;
mod pacing;
mod poison;
mod rules;
mod timing;

use std::sync::Arc;
use std::time::Duration;

use omnihub_agent::AgentBackends;
use omnihub_core::{IngestOutcome, Pipeline, PipelineConfig, RetryPolicy};
use omnihub_db::{Database, DatabaseUrl};
use omnihub_domain::{Clock, MessageRecord, MessageStatus};
use omnihub_evolution::EvolutionClient;
use omnihub_test_support::{InstanceBuilder, TestDb};

/// A migrated database on `test_db`, telling time by `clock` when given.
pub fn database(test_db: &TestDb, clock: Option<Arc<dyn Clock>>) -> Database {
    let mut db = Database::connect(&DatabaseUrl::parse(test_db.url()).unwrap()).unwrap();
    if let Some(clock) = clock {
        db = db.with_clock(clock);
    }
    db.migrate().unwrap();
    db
}

/// Creates `instance` in `db`.
pub fn create(db: &Database, instance: InstanceBuilder) {
    db.instances()
        .create(&instance.input().validate().unwrap())
        .unwrap();
}

/// Settings that make polling and retries quick; `retry_base` sets the first backoff.
pub fn fast_config(retry_base: Duration) -> PipelineConfig {
    PipelineConfig {
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: retry_base,
            max_delay: retry_base * 4,
        },
        instance_cache_ttl: Duration::from_secs(60),
        ..PipelineConfig::default()
    }
}

/// A pipeline with the real HTTP clients.
pub fn start_http(db: &Database, config: PipelineConfig) -> Pipeline {
    Pipeline::builder(
        db.clone(),
        config,
        AgentBackends::new().unwrap(),
        EvolutionClient::new(Duration::from_secs(5)).unwrap(),
    )
    .start()
    .unwrap()
}

/// Hands `body` to the pipeline for instance `name` without a token.
pub async fn ingest(pipeline: &Pipeline, name: &str, body: &serde_json::Value) -> IngestOutcome {
    pipeline
        .ingest(Some(name), None, body.to_string().as_bytes())
        .await
}

/// Hands `body` to the pipeline for instance `name` with the webhook `token`.
pub async fn ingest_with(
    pipeline: &Pipeline,
    name: &str,
    token: &str,
    body: &serde_json::Value,
) -> IngestOutcome {
    pipeline
        .ingest(Some(name), Some(token), body.to_string().as_bytes())
        .await
}

/// Every message of the log, oldest first.
pub fn records(db: &Database) -> Vec<MessageRecord> {
    let filter = omnihub_db::MessageFilter {
        limit: 10_000,
        ..Default::default()
    };
    let mut all = db.messages().list(&filter).unwrap();
    all.reverse();
    all
}

/// How many messages reached `done` or `failed`.
pub fn finished(db: &Database) -> usize {
    records(db).iter().filter(|r| r.status.is_final()).count()
}

/// True once every message is done.
pub fn all_done(db: &Database, expected: usize) -> bool {
    let all = records(db);
    all.len() == expected && all.iter().all(|r| r.status == MessageStatus::Done)
}
