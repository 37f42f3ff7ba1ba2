//! How the pipeline behaves: concurrency, leases, retries, the apology, caching and
//! retention. Plain data with sensible defaults; the server fills it from `OMNIHUB_*`.

use std::time::Duration;

use crate::RetryPolicy;

/// The apology sent when a message cannot be answered.
pub const DEFAULT_APOLOGY: &str =
    "Sorry, I could not process your message right now. Please try again later.";

/// Everything the pipeline's behaviour depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Lease owner name, unique per process; `None` uses `{hostname}-{pid}`.
    pub owner: Option<String>,
    /// Most messages processed at once, over all instances.
    pub global_limit: usize,
    /// Most messages of one instance processed at once.
    pub per_instance_limit: usize,
    /// Lease taken at claim time and renewed before each stage.
    pub lease: Duration,
    /// How often to look for due retries and expired leases when nothing wakes the
    /// dispatcher.
    pub poll_interval: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Sent to the user when a message fails for good; `None` sends nothing.
    pub apology: Option<String>,
    /// Longest time a change made by another process takes to reach the instance cache.
    pub instance_cache_ttl: Duration,
    /// Days finished messages are kept; 0 keeps them forever.
    pub retention_days: u32,
    /// Threads committing to the message log; `None`: 1 on SQLite, 4 on PostgreSQL.
    pub log_writers: Option<usize>,
    /// Most messages committed in one shared transaction.
    pub log_batch_rows: usize,
    /// Most characters of one agent reply sent; the rest is cut and the cut recorded.
    pub reply_max_chars: usize,
    /// Most WhatsApp messages one agent reply is sent in.
    pub reply_max_parts: usize,
    /// Longest a reply waits for its number to be connected (`OMNIHUB_HOLD_MAX`) before it
    /// fails with the stored reason.
    pub hold_max: Duration,
    /// Most messages one webhook may carry; a larger batch is refused whole.
    pub webhook_max_messages: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            owner: None,
            global_limit: 64,
            per_instance_limit: 16,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            apology: Some(DEFAULT_APOLOGY.to_owned()),
            instance_cache_ttl: Duration::from_secs(2),
            retention_days: 30,
            log_writers: None,
            log_batch_rows: 512,
            reply_max_chars: 12_000,
            reply_max_parts: 10,
            hold_max: Duration::from_secs(24 * 3600),
            webhook_max_messages: 50,
        }
    }
}

/// `{hostname}-{pid}`: unique per process on one host, readable in the message log.
pub(crate) fn default_owner() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "omnihub".to_owned());
    format!("{host}-{}", std::process::id())
}
