//! Prometheus metrics: requests by route and status, latency, database pool state.

use omnihub_core::PipelineEvents;
use omnihub_db::PoolState;
use omnihub_domain::{MessageStatus, Stage};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::metrics_safety::SafetyMetrics;

/// Labels of a finished request. `route` is the matched pattern (`/api/v1/instances/{name}`)
/// or `unmatched`, so instance names never multiply the series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Route pattern.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// Route pattern.
    pub route: String,
}

/// A single `outcome` label (webhooks; upstream calls: `ok`/`error`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The outcome.
    pub outcome: String,
}

/// A single `status` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The message status.
    pub status: String,
}

/// A single `instance` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    /// The instance name.
    pub instance: String,
}

/// A single `stage` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// The pipeline stage.
    pub stage: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;
type UpstreamFamily = Family<OutcomeLabels, Histogram, fn() -> Histogram>;

fn upstream_histogram() -> Histogram {
    // 1 ms .. ~65 s
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    webhooks: Family<OutcomeLabels, Counter>,
    finished: Family<StatusLabels, Counter>,
    retries: Family<StageLabels, Counter>,
    agent_latency: UpstreamFamily,
    evolution_latency: UpstreamFamily,
    queue: Family<StatusLabels, Gauge>,
    backlog: Family<InstanceLabels, Gauge>,
    oldest_age: Family<InstanceLabels, Gauge>,
    /// The safety limits' metrics.
    pub safety: SafetyMetrics,
    /// The numbers' connections.
    pub connections: crate::metrics_connections::ConnectionMetrics,
    /// Skipped messages and paused chats.
    pub chats: crate::metrics_chats::ChatMetrics,
    /// Send pacing and outbound messages.
    pub outbound: crate::metrics_outbound::OutboundMetrics,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("omnihub");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let (pool_connections, pool_idle, pool_max) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Configured maximum of database connections",
            pool_max.clone(),
        );
        let webhooks = Family::<OutcomeLabels, Counter>::default();
        let finished = Family::<StatusLabels, Counter>::default();
        let retries = Family::<StageLabels, Counter>::default();
        let agent_latency: UpstreamFamily = Family::new_with_constructor(upstream_histogram);
        let evolution_latency: UpstreamFamily = Family::new_with_constructor(upstream_histogram);
        let queue = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "webhooks",
            "Webhooks by outcome (accepted, duplicate, ignored, rejected, busy, unavailable)",
            webhooks.clone(),
        );
        registry.register(
            "messages_finished",
            "Messages that reached a final status",
            finished.clone(),
        );
        registry.register(
            "message_retries",
            "Transient failures scheduled for retry, by stage",
            retries.clone(),
        );
        registry.register(
            "agent_request_duration_seconds",
            "Agent call latency",
            agent_latency.clone(),
        );
        registry.register(
            "evolution_request_duration_seconds",
            "Evolution sendText latency",
            evolution_latency.clone(),
        );
        registry.register(
            "message_queue",
            "Unfinished messages by status (queue depth)",
            queue.clone(),
        );
        let backlog = Family::<InstanceLabels, Gauge>::default();
        let oldest_age = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "instance_backlog",
            "Unfinished (queued or processing) messages per instance",
            backlog.clone(),
        );
        registry.register(
            "instance_oldest_unfinished_seconds",
            "Age of the oldest unfinished message per instance (0 without a backlog)",
            oldest_age.clone(),
        );
        let safety = SafetyMetrics::register(&mut registry);
        let connections = crate::metrics_connections::ConnectionMetrics::register(&mut registry);
        let chats = crate::metrics_chats::ChatMetrics::register(&mut registry);
        let outbound = crate::metrics_outbound::OutboundMetrics::register(&mut registry);
        Self {
            outbound,
            safety,
            connections,
            chats,
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
            webhooks,
            finished,
            retries,
            agent_latency,
            evolution_latency,
            queue,
            backlog,
            oldest_age,
        }
    }

    /// Records one finished request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.latency
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// Counts one webhook by outcome.
    pub fn webhook(&self, outcome: &str) {
        self.webhooks
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Sets the queue depth gauges from a status count.
    pub fn set_queue(&self, counts: &[(MessageStatus, i64)]) {
        for status in [MessageStatus::Queued, MessageStatus::Processing] {
            let n = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            self.queue
                .get_or_create(&StatusLabels {
                    status: status.as_str().to_owned(),
                })
                .set(n);
        }
    }

    /// Sets the per-instance backlog gauges; instances without a backlog read 0.
    pub fn set_backlog(
        &self,
        instances: &[String],
        backlog: &[omnihub_db::Backlog],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for instance in instances {
            let found = backlog.iter().find(|b| &b.instance == instance);
            let labels = InstanceLabels {
                instance: instance.clone(),
            };
            self.backlog
                .get_or_create(&labels)
                .set(found.map_or(0, |b| b.unfinished));
            let age = found
                .and_then(|b| b.oldest_received_at)
                .map_or(0, |t| (now - t).num_seconds().max(0));
            self.oldest_age.get_or_create(&labels).set(age);
        }
    }

    /// Renders every metric in the Prometheus/OpenMetrics text format, with the pool state
    /// read at scrape time.
    pub fn render(&self, pool: PoolState) -> Result<String, std::fmt::Error> {
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max_connections));
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn outcome(ok: bool) -> OutcomeLabels {
    OutcomeLabels {
        outcome: if ok { "ok" } else { "error" }.to_owned(),
    }
}

impl PipelineEvents for Metrics {
    fn finished(&self, status: MessageStatus) {
        self.finished
            .get_or_create(&StatusLabels {
                status: status.as_str().to_owned(),
            })
            .inc();
    }

    fn retried(&self, stage: Stage) {
        self.retries
            .get_or_create(&StageLabels {
                stage: stage.as_str().to_owned(),
            })
            .inc();
    }

    fn agent_call(&self, seconds: f64, ok: bool) {
        self.agent_latency.get_or_create(&outcome(ok)).observe(seconds);
    }

    fn evolution_call(&self, seconds: f64, ok: bool) {
        self.evolution_latency
            .get_or_create(&outcome(ok))
            .observe(seconds);
    }

    fn reply_cut(&self) {
        self.safety.reply_cut();
    }

    fn held(&self) {
        self.connections.held();
    }
}
