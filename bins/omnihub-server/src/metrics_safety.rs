//! The metrics of the limits that protect the server and the people it writes to: replies
//! cut, webhook body memory in use, instances whose webhook anyone may post to.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Counters and gauges of the safety limits.
#[derive(Debug, Default)]
pub struct SafetyMetrics {
    replies_cut: Counter,
    inflight_bytes: Gauge,
    open_webhooks: Gauge,
}

impl SafetyMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "replies_cut",
            "Agent replies cut to OMNIHUB_REPLY_MAX_CHARS / OMNIHUB_REPLY_MAX_PARTS",
            metrics.replies_cut.clone(),
        );
        registry.register(
            "webhook_inflight_bytes",
            "Bytes of webhook bodies being received right now (budget: OMNIHUB_WEBHOOK_INFLIGHT_MB)",
            metrics.inflight_bytes.clone(),
        );
        registry.register(
            "instances_without_webhook_secret",
            "Instances whose webhook accepts posts from anyone (no webhook_secret)",
            metrics.open_webhooks.clone(),
        );
        metrics
    }

    /// Counts one cut reply.
    pub fn reply_cut(&self) {
        self.replies_cut.inc();
    }

    /// Sets the scrape-time gauges.
    pub fn set(&self, inflight_bytes: usize, open_webhooks: usize) {
        self.inflight_bytes
            .set(i64::try_from(inflight_bytes).unwrap_or(i64::MAX));
        self.open_webhooks
            .set(i64::try_from(open_webhooks).unwrap_or(i64::MAX));
    }
}
