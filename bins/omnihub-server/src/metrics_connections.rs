//! The metrics of the numbers' connections: which instances are connected, and how many
//! replies were held because theirs was not.

use omnihub_domain::{Connection, ConnectionState};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metrics::InstanceLabels;

/// Connection gauges and the held-replies counter.
#[derive(Debug, Default)]
pub struct ConnectionMetrics {
    connected: Family<InstanceLabels, Gauge>,
    held: Counter,
}

impl ConnectionMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "instance_connected",
            "1 when the instance's WhatsApp number is open, 0 when Evolution reported another state (instances never reported are absent)",
            metrics.connected.clone(),
        );
        registry.register(
            "replies_held",
            "Replies put back to wait because their number was not connected",
            metrics.held.clone(),
        );
        metrics
    }

    /// Counts one held reply.
    pub fn held(&self) {
        self.held.inc();
    }

    /// Sets the per-instance gauges from the stored connections, at scrape time.
    pub fn set(&self, connections: &[(String, Connection)]) {
        self.connected.clear();
        for (instance, connection) in connections {
            let labels = InstanceLabels {
                instance: instance.clone(),
            };
            let open = i64::from(connection.state == ConnectionState::Open);
            self.connected.get_or_create(&labels).set(open);
        }
    }
}
