//! After sending: waiting (bounded) for every reply at the fake Evolution, and scoring them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::fakes::{now_us, Delivery};
use crate::load::{progress_line, LoadConfig};
use crate::report::{percentile, LoadReport};

/// Waits until the fake Evolution has a reply for every accepted message (or `config.wait`
/// passes), then fills in the delivery figures of `report`.
pub async fn wait_for_replies(
    config: &LoadConfig,
    evolution: &str,
    run_id: &str,
    sent: &HashMap<u64, u64>,
    started: Instant,
    report: &mut LoadReport,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let wait_start = Instant::now();
    let prefix = format!("echo: load {run_id} ");
    let mut deliveries: HashMap<String, Delivery>;
    loop {
        deliveries = client
            .get(format!("{evolution}/_sandbox/deliveries"))
            .send()
            .await?
            .json()
            .await?;
        let got = deliveries.keys().filter(|k| k.starts_with(&prefix)).count() as u64;
        if config.progress {
            let done = if report.accepted == 0 {
                1.0
            } else {
                got as f64 / report.accepted as f64
            };
            progress_line(
                "replies",
                done,
                report.accepted,
                report.errors.values().sum(),
                &format!("delivered {got}"),
            );
        }
        if got >= report.accepted || wait_start.elapsed() >= config.wait {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if config.progress {
        eprintln!();
    }
    let mut e2e = Vec::new();
    let mut last_at = 0;
    for (text, delivery) in &deliveries {
        let Some(seq) = text.strip_prefix(&prefix).and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        report.delivered += 1;
        report.duplicate_replies += u64::from(delivery.count.saturating_sub(1));
        last_at = last_at.max(delivery.first_at_us);
        if let Some(&sent_us) = sent.get(&seq) {
            e2e.push(delivery.first_at_us.saturating_sub(sent_us));
        } else {
            report.unexpected_replies += 1;
        }
    }
    e2e.sort_unstable();
    report.lost = report.accepted.saturating_sub(report.delivered);
    report.delivered_ratio = if report.accepted == 0 {
        1.0
    } else {
        report.delivered as f64 / report.accepted as f64
    };
    let start_us = now_us().saturating_sub(u64::try_from(started.elapsed().as_micros()).unwrap_or(0));
    let span = (last_at.saturating_sub(start_us)) as f64 / 1e6;
    report.replies_per_second = if span > 0.0 {
        report.delivered as f64 / span
    } else {
        0.0
    };
    // Replies while sending, and the drain of the backlog after it.
    let send_end_us = start_us + (report.send_seconds * 1e6) as u64;
    let during = deliveries
        .iter()
        .filter(|(text, d)| text.starts_with(&prefix) && d.first_at_us <= send_end_us)
        .count() as f64;
    report.replies_during_load_per_second = during / report.send_seconds.max(1e-3);
    let drained = report.delivered as f64 - during;
    let drain_span = last_at.saturating_sub(send_end_us) as f64 / 1e6;
    report.drain_per_second = if drained > 0.0 && drain_span > 0.0 {
        drained / drain_span
    } else {
        0.0
    };
    report.e2e_p50_ms = percentile(&e2e, 0.50);
    report.e2e_p99_ms = percentile(&e2e, 0.99);
    Ok(())
}
