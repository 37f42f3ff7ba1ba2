//! The metrics of the conversation rules: messages left unanswered by a rule, per instance
//! and reason, and chats paused (a human took over, or an admin paused them).

use omnihub_domain::SkipReason;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metrics::InstanceLabels;

/// An `instance` and a `reason` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabels {
    /// The instance name.
    pub instance: String,
    /// Why the messages were not answered (`blocked`, `paused`, …).
    pub reason: String,
}

/// Skipped-message and paused-chat gauges, set at scrape time from the database.
#[derive(Debug, Default)]
pub struct ChatMetrics {
    skipped: Family<SkipLabels, Gauge>,
    paused: Family<InstanceLabels, Gauge>,
}

impl ChatMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "messages_skipped",
            "Messages stored but not answered because of a conversation rule, by reason (as the log holds them)",
            metrics.skipped.clone(),
        );
        registry.register(
            "chats_paused",
            "Chats whose bot is paused (a human took over, or an admin paused them)",
            metrics.paused.clone(),
        );
        metrics
    }

    /// Sets the gauges: skipped messages per (instance, reason) and paused chats per
    /// instance. Every listed instance shows, 0 when it has none.
    pub fn set(&self, instances: &[String], skipped: &[(String, SkipReason, i64)], paused: &[(String, i64)]) {
        self.skipped.clear();
        self.paused.clear();
        for (instance, reason, count) in skipped {
            let labels = SkipLabels {
                instance: instance.clone(),
                reason: reason.as_str().to_owned(),
            };
            self.skipped.get_or_create(&labels).set(*count);
        }
        for instance in instances {
            let count = paused.iter().find(|(i, _)| i == instance).map_or(0, |(_, n)| *n);
            let labels = InstanceLabels {
                instance: instance.clone(),
            };
            self.paused.get_or_create(&labels).set(count);
        }
    }
}
