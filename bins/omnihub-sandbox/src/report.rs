//! The load report: a table for people, JSON for scripts.

use std::collections::BTreeMap;

use comfy_table::Table;
use serde::Serialize;

/// Everything a load run measured.
#[derive(Debug, Default, Serialize)]
pub struct LoadReport {
    /// The run's id (message ids and texts carry it).
    pub run_id: String,
    /// Connections used.
    pub concurrency: usize,
    /// How long webhooks were sent.
    pub send_seconds: f64,
    /// Webhooks answered `accepted`.
    pub accepted: u64,
    /// Accepted webhooks per second.
    pub webhooks_per_second: f64,
    /// Acknowledgement latency.
    pub ack_p50_ms: f64,
    /// Acknowledgement latency, 99th percentile.
    pub ack_p99_ms: f64,
    /// Slowest acknowledgement.
    pub ack_max_ms: f64,
    /// Repeat deliveries answered `duplicate`.
    pub duplicates_acknowledged: u64,
    /// Webhooks answered `ignored`.
    pub ignored: u64,
    /// Distinct replies received by the fake Evolution.
    pub delivered: u64,
    /// Replies per second, from the start of the run to the last reply.
    pub replies_per_second: f64,
    /// Replies per second while webhooks were being sent.
    pub replies_during_load_per_second: f64,
    /// Replies per second after sending stopped, until the last reply (the backlog draining).
    pub drain_per_second: f64,
    /// delivered / accepted.
    pub delivered_ratio: f64,
    /// End-to-end latency (webhook sent → reply received).
    pub e2e_p50_ms: f64,
    /// End-to-end latency, 99th percentile.
    pub e2e_p99_ms: f64,
    /// Accepted messages whose reply never came within the wait.
    pub lost: u64,
    /// Replies received more than once.
    pub duplicate_replies: u64,
    /// Replies for messages this run does not know.
    pub unexpected_replies: u64,
    /// Failed requests by kind (`http_503`, `connection`, …).
    pub errors: BTreeMap<String, u64>,
}

/// The `q` quantile of sorted microseconds, in milliseconds.
pub fn percentile(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let index = ((sorted_us.len() as f64 - 1.0) * q).round() as usize;
    sorted_us[index.min(sorted_us.len() - 1)] as f64 / 1000.0
}

impl LoadReport {
    /// The report as a two-column table.
    pub fn table(&self, replies_checked: bool) -> Table {
        let mut table = Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(["Measure", "Value"]);
        let mut rows = vec![
            ("run", self.run_id.clone()),
            ("connections", self.concurrency.to_string()),
            ("sending time", format!("{:.1} s", self.send_seconds)),
            ("webhooks accepted", self.accepted.to_string()),
            ("webhooks/s accepted", format!("{:.0}", self.webhooks_per_second)),
            (
                "ack latency p50 / p99 / max",
                format!(
                    "{:.2} / {:.2} / {:.2} ms",
                    self.ack_p50_ms, self.ack_p99_ms, self.ack_max_ms
                ),
            ),
            (
                "duplicate deliveries acknowledged",
                self.duplicates_acknowledged.to_string(),
            ),
        ];
        if replies_checked {
            rows.extend([
                ("replies delivered", self.delivered.to_string()),
                ("replies/s", format!("{:.0}", self.replies_per_second)),
                ("delivered / accepted", format!("{:.4}", self.delivered_ratio)),
                (
                    "end-to-end p50 / p99",
                    format!("{:.1} / {:.1} ms", self.e2e_p50_ms, self.e2e_p99_ms),
                ),
                ("lost", self.lost.to_string()),
                ("duplicate replies", self.duplicate_replies.to_string()),
            ]);
        }
        let errors = if self.errors.is_empty() {
            "none".to_owned()
        } else {
            self.errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        rows.push(("errors", errors));
        for (k, v) in rows {
            table.add_row([k.to_owned(), v]);
        }
        table
    }
}
