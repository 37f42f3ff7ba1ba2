//! The metrics of sending: messages waiting for their number's pace (`send_per_minute`),
//! sends put off for it, and outbound messages not sent yet.

use std::collections::HashMap;
use std::sync::Mutex;

use omnihub_core::PaceState;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metrics::InstanceLabels;

/// Pacing and outbound gauges, set at scrape time.
#[derive(Debug, Default)]
pub struct OutboundMetrics {
    waiting: Family<InstanceLabels, Gauge>,
    paced: Family<InstanceLabels, Counter>,
    paced_seen: Mutex<HashMap<String, u64>>,
    outbound: Family<InstanceLabels, Gauge>,
}

impl OutboundMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "sends_waiting_for_pace",
            "Messages (replies and outbound) put back in the queue to wait for their number's next send slot (rule send_per_minute), in this process",
            metrics.waiting.clone(),
        );
        registry.register(
            "sends_paced",
            "Sends put off to keep to the number's send_per_minute, in this process",
            metrics.paced.clone(),
        );
        registry.register(
            "outbound_unsent",
            "Messages sent through omnihub (API, console, CLI) that are queued or being sent",
            metrics.outbound.clone(),
        );
        metrics
    }

    /// Sets the gauges from the pacer's `states` and the log's unsent outbound counts; every
    /// listed instance shows, 0 when it has none.
    pub fn set(&self, instances: &[String], states: &[PaceState], unsent: Option<&[(String, i64)]>) {
        self.waiting.clear();
        let mut seen = self
            .paced_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for instance in instances {
            let labels = InstanceLabels {
                instance: instance.clone(),
            };
            let state = states.iter().find(|s| &s.instance == instance);
            let waiting = state.map_or(0, |s| s.waiting);
            self.waiting
                .get_or_create(&labels)
                .set(i64::try_from(waiting).unwrap_or(i64::MAX));
            let total = state.map_or(0, |s| s.paced_total);
            let before = seen.insert(instance.clone(), total).unwrap_or(0);
            self.paced
                .get_or_create(&labels)
                .inc_by(total.saturating_sub(before));
            if let Some(unsent) = unsent {
                let count = unsent.iter().find(|(i, _)| i == instance).map_or(0, |(_, n)| *n);
                self.outbound.get_or_create(&labels).set(count);
            }
        }
    }
}
