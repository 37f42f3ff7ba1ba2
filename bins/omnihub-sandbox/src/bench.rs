//! `omnihub-sandbox bench`: the benchmark scenarios against the release server on SQLite (and
//! PostgreSQL when given), three runs each, medians written to a Markdown report.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::bench_report::{preamble, BEGIN, END};
use crate::fakes::AgentMode;
use crate::load::{self, LoadConfig};
use crate::procs::{sibling, wait_for, Background};
use crate::report::LoadReport;
use crate::upstreams::AgentSpec;

/// What to measure.
pub struct BenchConfig {
    /// Seconds of sending per run.
    pub seconds: u64,
    /// Runs per scenario (the median is reported).
    pub runs: usize,
    /// A PostgreSQL database the bench may wipe, if any.
    pub postgres: Option<String>,
    /// Where to write the Markdown.
    pub out: std::path::PathBuf,
    /// Run the standard scenarios.
    pub standard: bool,
    /// Run the overload scenarios.
    pub overload: bool,
    /// The bench instance's agent kind: `automagik` or `openai` (history kept by omnihub).
    pub agent_kind: String,
}

/// The agent kind of the bench instance, set once by [`run`].
static AGENT_KIND: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The bench instance as created through the API, speaking the configured agent kind to the
/// fake agent at `agent`.
fn bench_instance(agent: &str, evolution: &str) -> serde_json::Value {
    let mut instance = json!({"name": "sandbox", "whatsapp_instance": "sandbox", "agent_api_url": agent, "agent_api_key": "bench-agent-key-01",
        "default_agent": "bot", "agent_timeout": 3600, "evolution_url": evolution, "evolution_key": "bench-evolution-key-01"});
    if AGENT_KIND.get().is_some_and(|k| k == "openai") {
        // The fake's OpenAI route; every turn loads and stores the chat's history.
        instance["agent_api_url"] = json!(format!("{agent}/v1"));
        instance["agent_kind"] = json!("openai");
        instance["agent_options"] = json!({"history_turns": 10});
    }
    instance
}

/// Dispatcher concurrency used by the bench (documented in the report).
pub const BENCH_CONCURRENCY: &str = "256";
/// Database pool size used by the bench on PostgreSQL (ignored by SQLite's single writer).
pub const BENCH_PG_POOL: &str = "48";

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The settings of the standard scenarios: raised concurrency, a larger pool on PostgreSQL.
pub(crate) fn bench_env() -> Vec<(&'static str, String)> {
    vec![
        // One instance carries the whole load here, so its cap is the global one: 1,000
        // replies/s with a 200 ms agent needs 200 agent calls in flight.
        ("OMNIHUB_DISPATCH_CONCURRENCY", BENCH_CONCURRENCY.to_owned()),
        ("OMNIHUB_INSTANCE_CONCURRENCY", BENCH_CONCURRENCY.to_owned()),
        // Each PostgreSQL commit waits for its WAL flush; more connections share flushes.
        ("OMNIHUB_DB_POOL_SIZE", BENCH_PG_POOL.to_owned()),
    ]
}

/// A fresh server on `database` with `env`, bound to fresh fakes; returns it with its idle
/// RSS (KiB).
pub(crate) fn start_server(
    database: &str,
    up: &Background,
    env: &[(&'static str, String)],
) -> anyhow::Result<(Server, u64)> {
    if database.starts_with("postgres") {
        let db = omnihub_db::Database::connect(&omnihub_db::DatabaseUrl::parse(database)?)?;
        db.migrate()?;
        db.revert_all_migrations()?;
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{database}{suffix}"));
        }
    }
    let port = free_port()?;
    let child = Command::new(sibling("omnihub-server")?)
        .env("OMNIHUB_DATABASE_URL", database)
        .env("OMNIHUB_HOST", "127.0.0.1")
        .env("OMNIHUB_PORT", port.to_string())
        .env("OMNIHUB_API_KEY", "bench-admin-key-0123456789")
        .env("OMNIHUB_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("AGENT_API_URL")
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start omnihub-server")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::blocking::Client::new();
    wait_for("the server", 30, || {
        http.get(format!("{}/ready", server.base))
            .send()
            .is_ok_and(|r| r.status().is_success())
    })?;
    let instance = bench_instance(&up.agents[0], &up.evolution);
    let resp = http
        .post(format!("{}/api/v1/instances", server.base))
        .header("x-api-key", "bench-admin-key-0123456789")
        .json(&instance)
        .send()?;
    anyhow::ensure!(
        resp.status().is_success(),
        "cannot create the bench instance: {}",
        resp.text()?
    );
    // The benchmark measures the pipeline's capacity, not a number's safe sending pace: its
    // one instance sends unpaced (the default, 60 a minute, would cap every run at one reply
    // a second).
    let resp = http
        .put(format!("{}/api/v1/instances/sandbox/rules", server.base))
        .header("x-api-key", "bench-admin-key-0123456789")
        .json(&json!({"send_per_minute": 0}))
        .send()?;
    anyhow::ensure!(
        resp.status().is_success(),
        "cannot set the bench instance's rules: {}",
        resp.text()?
    );
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kib(server.child.id(), "VmRSS:");
    Ok((server, idle))
}

struct Outcome {
    report: LoadReport,
    peak_rss_kib: u64,
    idle_rss_kib: u64,
}

fn one_run(
    database: &str,
    agent_delay_ms: u64,
    concurrency: usize,
    rate: Option<u64>,
    ack_only: bool,
    seconds: u64,
) -> anyhow::Result<Outcome> {
    let up = Background::start(&[AgentSpec {
        port: 0,
        mode: AgentMode::Echo,
        delay: Duration::from_millis(agent_delay_ms),
    }])?;
    let (server, idle) = start_server(database, &up, &bench_env())?;
    let config = LoadConfig {
        target: server.base.clone(),
        path: "/webhook/evolution/sandbox".into(),
        evolution_instance: "sandbox".into(),
        token: None,
        concurrency,
        rate,
        duration: Duration::from_secs(seconds),
        max_messages: None,
        chats: 1000,
        first_chat: 0,
        duplicate_every: 0,
        media: false,
        evolution_url: Some(up.evolution.clone()),
        wait: Duration::from_secs(120),
        ack_only,
        progress: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(load::run(config))?;
    let peak = rss_kib(server.child.id(), "VmHWM:");
    drop(server);
    up.stop();
    Ok(Outcome {
        report,
        peak_rss_kib: peak,
        idle_rss_kib: idle,
    })
}

fn floor_run(concurrency: usize, seconds: u64) -> anyhow::Result<LoadReport> {
    let port = free_port()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["floor", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(500));
    let config = LoadConfig {
        target: format!("http://127.0.0.1:{port}"),
        path: "/webhook/evolution/sandbox".into(),
        evolution_instance: "sandbox".into(),
        token: None,
        concurrency,
        rate: None,
        duration: Duration::from_secs(seconds),
        max_messages: None,
        chats: 1000,
        first_chat: 0,
        duplicate_every: 0,
        media: false,
        evolution_url: None,
        wait: Duration::ZERO,
        ack_only: true,
        progress: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(load::run(config));
    let _ = child.kill();
    let _ = child.wait();
    report
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// One row of a results table.
struct Row {
    scenario: String,
    outcomes: Vec<Outcome>,
}

fn row_markdown(row: &Row, e2e: bool) -> String {
    let m = |f: &dyn Fn(&Outcome) -> f64| median(row.outcomes.iter().map(f).collect());
    let lost: u64 = row.outcomes.iter().map(|o| o.report.lost).sum();
    let dups: u64 = row.outcomes.iter().map(|o| o.report.duplicate_replies).sum();
    let errors: u64 = row
        .outcomes
        .iter()
        .map(|o| o.report.errors.values().sum::<u64>())
        .sum();
    let base = format!(
        "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} |",
        row.scenario,
        m(&|o| o.report.webhooks_per_second),
        m(&|o| o.report.ack_p50_ms),
        m(&|o| o.report.ack_p99_ms),
        m(&|o| o.idle_rss_kib as f64 / 1024.0),
        m(&|o| o.peak_rss_kib as f64 / 1024.0),
    );
    if e2e {
        format!(
            "{base} {:.0} | {:.1} | {:.1} | {lost} | {dups} | {errors} |",
            m(&|o| o.report.replies_per_second),
            m(&|o| o.report.e2e_p50_ms),
            m(&|o| o.report.e2e_p99_ms)
        )
    } else {
        format!("{base} {errors} |")
    }
}

/// Runs every scenario and writes the report.
pub fn run(config: &BenchConfig) -> anyhow::Result<()> {
    let _ = AGENT_KIND.set(config.agent_kind.clone());
    let sqlite = std::env::temp_dir()
        .join(format!("omnihub-bench-{}.db", std::process::id()))
        .display()
        .to_string();
    if config.standard {
        run_standard(config, &sqlite)?;
    }
    if config.overload {
        let section = crate::bench_overload::run(&sqlite, config.postgres.as_deref(), config.seconds)?;
        let old = std::fs::read_to_string(&config.out).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
        std::fs::write(&config.out, crate::bench_overload::splice(&old, &section))
            .with_context(|| format!("cannot write {}", config.out.display()))?;
        println!("{section}");
    }
    Ok(())
}

/// The standard scenarios: floor, acknowledgement only, end to end at fixed rates.
fn run_standard(config: &BenchConfig, sqlite: &str) -> anyhow::Result<()> {
    let sqlite = sqlite.to_owned();
    let mut engines = vec![("SQLite", sqlite)];
    if let Some(pg) = &config.postgres {
        engines.push(("PostgreSQL", pg.clone()));
    }
    let (secs, runs) = (config.seconds, config.runs.max(1));
    let mut md = String::new();
    let mut floor = Vec::new();
    for run in 0..runs {
        eprintln!("floor run {}/{runs}", run + 1);
        floor.push(floor_run(64, secs)?.webhooks_per_second);
    }
    let floor = median(floor);
    let _ = writeln!(
        md,
        "Floor (trivial actix-web handler, 64 connections): **{floor:.0} requests/s** (median of {runs}).\n"
    );
    for (engine, database) in &engines {
        let mut ack_rows = Vec::new();
        for concurrency in [16, 64] {
            let mut outcomes = Vec::new();
            for run in 0..runs {
                eprintln!(
                    "{engine}: acknowledgement only, {concurrency} connections, run {}/{runs}",
                    run + 1
                );
                outcomes.push(one_run(database, 3_600_000, concurrency, None, true, secs)?);
            }
            ack_rows.push(Row {
                scenario: format!("{engine}, ack only, {concurrency} conn."),
                outcomes,
            });
        }
        let _ = writeln!(md, "### {engine}: acknowledgement only\n\n| scenario | webhooks/s | ack p50 ms | ack p99 ms | idle RSS MiB | peak RSS MiB | errors | % of floor |\n|---|---|---|---|---|---|---|---|");
        for row in &ack_rows {
            let share = median(
                row.outcomes
                    .iter()
                    .map(|o| o.report.webhooks_per_second)
                    .collect(),
            ) / floor
                * 100.0;
            let _ = writeln!(md, "{} {share:.0} % |", row_markdown(row, false));
        }
        let mut e2e_rows = Vec::new();
        for (delay, rate) in [(0u64, 3300u64), (200, 1100)] {
            let mut outcomes = Vec::new();
            for run in 0..runs {
                eprintln!(
                    "{engine}: end to end, agent {delay} ms, {rate}/s offered, run {}/{runs}",
                    run + 1
                );
                outcomes.push(one_run(database, delay, 64, Some(rate), false, secs)?);
            }
            e2e_rows.push(Row {
                scenario: format!("{engine}, agent {delay} ms, {rate}/s offered"),
                outcomes,
            });
        }
        let _ = writeln!(md, "\n### {engine}: end to end (1,000 chats, 64 connections)\n\n| scenario | webhooks/s | ack p50 ms | ack p99 ms | idle RSS MiB | peak RSS MiB | replies/s | e2e p50 ms | e2e p99 ms | lost | duplicated | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
        for row in &e2e_rows {
            let _ = writeln!(md, "{}", row_markdown(row, true));
        }
        let _ = writeln!(md);
    }
    let generated = format!("{BEGIN}\n{}\n{md}{END}", preamble(config));
    let document = match std::fs::read_to_string(&config.out) {
        Ok(old) if old.contains(BEGIN) && old.contains(END) => {
            let (head, rest) = old.split_once(BEGIN).unwrap_or((&old, ""));
            let tail = rest.split_once(END).map_or("", |(_, t)| t);
            format!("{head}{generated}{tail}")
        }
        _ => format!("# Benchmarks\n\n{generated}\n"),
    };
    std::fs::write(&config.out, document)
        .with_context(|| format!("cannot write {}", config.out.display()))?;
    println!("{md}");
    Ok(())
}
