//! The load generator: realistic `messages.upsert` webhooks over keep-alive HTTP/1.1
//! connections, then (unless acknowledgement only) a bounded wait for every reply at the fake
//! Evolution, and a report.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;

use crate::fakes::now_us;
use crate::report::{percentile, LoadReport};

/// What to send, where, how hard and for how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server, e.g. `http://127.0.0.1:8000`.
    pub target: String,
    /// The webhook path, e.g. `/webhook/evolution/shop`.
    pub path: String,
    /// The Evolution instance name the envelopes carry.
    pub evolution_instance: String,
    /// Webhook token, if the instance has one.
    pub token: Option<String>,
    /// Parallel connections.
    pub concurrency: usize,
    /// Total webhooks per second (None: as fast as the connections allow).
    pub rate: Option<u64>,
    /// How long to send.
    pub duration: Duration,
    /// Stop after this many distinct messages (None: only the duration counts).
    pub max_messages: Option<u64>,
    /// How many chats the messages are spread over.
    pub chats: u64,
    /// The number of the first chat (runs with different offsets use different chats).
    pub first_chat: u64,
    /// Every n-th message is delivered twice (0: never).
    pub duplicate_every: u64,
    /// Every 10th message carries a small base64 image.
    pub media: bool,
    /// The fake Evolution to read replies from (None or `ack_only`: no reply check).
    pub evolution_url: Option<String>,
    /// Longest wait for the replies after sending stops.
    pub wait: Duration,
    /// Do not wait for replies at all.
    pub ack_only: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

const TINY_JPEG: &str = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=";

fn body(config: &LoadConfig, run: &str, seq: u64) -> String {
    let chat = format!(
        "5511{:09}@s.whatsapp.net",
        config.first_chat + seq % config.chats.max(1)
    );
    let text = format!("load {run} {seq}");
    let message = if config.media && seq.is_multiple_of(10) {
        format!(
            r#"{{"imageMessage":{{"caption":"{text}","mimetype":"image/jpeg","width":1,"height":1}},"base64":"{TINY_JPEG}"}}"#
        )
    } else {
        format!(r#"{{"conversation":"{text}"}}"#)
    };
    format!(
        r#"{{"event":"messages.upsert","instance":"{}","data":{{"key":{{"remoteJid":"{chat}","fromMe":false,"id":"{run}-{seq}"}},"pushName":"Load {seq}","message":{message},"messageType":"conversation","messageTimestamp":1750000000}},"server_url":"http://sandbox.invalid","apikey":null}}"#,
        config.evolution_instance
    )
}

/// One worker's observations.
#[derive(Default)]
struct Tally {
    sent: Vec<(u64, u64)>,
    ack_us: Vec<u64>,
    accepted: u64,
    duplicates_acked: u64,
    ignored: u64,
    errors: HashMap<String, u64>,
}

struct Shared {
    next: AtomicU64,
    accepted: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
}

async fn connect(addr: &str) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn post(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    config: &LoadConfig,
    host: &str,
    payload: String,
) -> Result<(u16, Bytes), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let mut request = Request::post(config.path.as_str())
        .header("host", host)
        .header("content-type", "application/json")
        .header("user-agent", "omnihub-sandbox");
    if let Some(token) = &config.token {
        request = request.header("x-omnihub-token", token);
    }
    let request = request
        .body(Full::new(Bytes::from(payload)))
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

async fn worker(
    config: Arc<LoadConfig>,
    shared: Arc<Shared>,
    run: Arc<str>,
    host: String,
    pace: Option<Duration>,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    let mut next_at = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let seq = shared.next.fetch_add(1, Ordering::Relaxed);
        if config.max_messages.is_some_and(|max| seq >= max) {
            break;
        }
        if let Some(pace) = pace {
            tokio::time::sleep_until(next_at.into()).await;
            next_at += pace;
        }
        let deliveries = if config.duplicate_every > 0 && seq.is_multiple_of(config.duplicate_every) {
            2
        } else {
            1
        };
        for copy in 0..deliveries {
            if sender.is_none() {
                match connect(&host).await {
                    Ok(s) => sender = Some(s),
                    Err(_) => {
                        *tally.errors.entry("connect".into()).or_default() += 1;
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
            let Some(s) = sender.as_mut() else { continue };
            let started = Instant::now();
            let sent_us = now_us();
            match post(s, &config, &host, body(&config, &run, seq)).await {
                Ok((200, reply)) => {
                    tally
                        .ack_us
                        .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                    let text = String::from_utf8_lossy(&reply);
                    if text.contains("\"accepted\"") {
                        tally.accepted += 1;
                        shared.accepted.fetch_add(1, Ordering::Relaxed);
                        tally.sent.push((seq, sent_us));
                    } else if text.contains("\"duplicate\"") {
                        tally.duplicates_acked += 1;
                    } else {
                        tally.ignored += 1;
                    }
                }
                Ok((status, _)) => {
                    *tally.errors.entry(format!("http_{status}")).or_default() += 1;
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    *tally
                        .errors
                        .entry(
                            if copy == 0 {
                                "connection"
                            } else {
                                "connection_duplicate"
                            }
                            .into(),
                        )
                        .or_default() += 1;
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    sender = None;
                }
            }
        }
    }
    tally
}

/// Redraws the progress bar on stderr.
pub fn progress_line(label: &str, done: f64, accepted: u64, errors: u64, extra: &str) {
    let width = 30;
    let filled = ((done.clamp(0.0, 1.0)) * width as f64) as usize;
    eprint!(
        "\r{label} [{}{}] {:>3.0}%  accepted {accepted:>8}  errors {errors:>5} {extra}   ",
        "=".repeat(filled),
        " ".repeat(width - filled),
        done * 100.0
    );
}

/// Runs the load and returns the report.
pub async fn run(config: LoadConfig) -> anyhow::Result<LoadReport> {
    let url = url_host(&config.target)?;
    let run_id: Arc<str> = Arc::from(format!("r{}", now_us() % 1_000_000_000));
    let config = Arc::new(config);
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let pace = config
        .rate
        .map(|rate| Duration::from_secs_f64(config.concurrency as f64 / rate.max(1) as f64));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..config.concurrency.max(1) {
        handles.push(tokio::spawn(worker(
            config.clone(),
            shared.clone(),
            run_id.clone(),
            url.clone(),
            pace,
        )));
    }
    while started.elapsed() < config.duration && !handles.iter().all(tokio::task::JoinHandle::is_finished) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if config.progress {
            let done = started.elapsed().as_secs_f64() / config.duration.as_secs_f64();
            progress_line(
                "sending",
                done,
                shared.accepted.load(Ordering::Relaxed),
                shared.errors.load(Ordering::Relaxed),
                "",
            );
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut tallies = Vec::new();
    for handle in handles {
        tallies.push(handle.await?);
    }
    let send_secs = started.elapsed().as_secs_f64();
    let mut sent: HashMap<u64, u64> = HashMap::new();
    let mut ack: Vec<u64> = Vec::new();
    let mut report = LoadReport {
        run_id: run_id.to_string(),
        send_seconds: send_secs,
        concurrency: config.concurrency,
        ..LoadReport::default()
    };
    for t in tallies {
        sent.extend(t.sent);
        ack.extend(t.ack_us);
        report.accepted += t.accepted;
        report.duplicates_acknowledged += t.duplicates_acked;
        report.ignored += t.ignored;
        for (kind, n) in t.errors {
            *report.errors.entry(kind).or_default() += n;
        }
    }
    ack.sort_unstable();
    report.webhooks_per_second = report.accepted as f64 / send_secs;
    report.ack_p50_ms = percentile(&ack, 0.50);
    report.ack_p99_ms = percentile(&ack, 0.99);
    report.ack_max_ms = ack.last().map_or(0.0, |&us| us as f64 / 1000.0);
    if config.ack_only {
        return Ok(report);
    }
    let Some(evolution) = config.evolution_url.clone() else {
        return Ok(report);
    };
    crate::replies::wait_for_replies(&config, &evolution, &run_id, &sent, started, &mut report).await?;
    Ok(report)
}

fn url_host(target: &str) -> anyhow::Result<String> {
    let rest = target
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--target must be an http:// URL"))?;
    Ok(rest.trim_end_matches('/').to_owned())
}
