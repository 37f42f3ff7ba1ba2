//! `omnihub-sandbox`: watch omnihub work without WhatsApp or an agent, and measure it.
//! Fake upstreams, a load generator, a trivial "floor" server and a demo. Not for production.

mod bench;
mod bench_overload;
mod bench_report;
mod demo;
mod demo_connect;
mod demo_takeover;
mod fake_lifecycle;
mod fake_protocols;
mod fakes;
mod load;
mod procs;
mod replies;
mod report;
mod upstreams;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::fakes::AgentMode;
use crate::upstreams::AgentSpec;

/// Fake Evolution and agent servers, a load generator and a demo for omnihub.
#[derive(Debug, Parser)]
#[command(name = "omnihub-sandbox", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What the fake agent answers.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// `echo: <message>`.
    Echo,
    /// The text of --agent-text.
    Fixed,
    /// A long multi-paragraph answer.
    Long,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a fake Evolution API and a fake agent on loopback until Ctrl-C.
    Upstreams {
        /// Port of the fake Evolution API (0: any free port).
        #[arg(long, default_value_t = 8081)]
        evolution_port: u16,
        /// Port of the fake agent (0: any free port).
        #[arg(long, default_value_t = 8082)]
        agent_port: u16,
        /// What the agent answers.
        #[arg(long, value_enum, default_value_t = Mode::Echo)]
        agent_mode: Mode,
        /// The answer in fixed mode.
        #[arg(long, default_value = "Hello from the sandbox agent!")]
        agent_text: String,
        /// How long the agent thinks, in milliseconds.
        #[arg(long, default_value_t = 0)]
        agent_delay_ms: u64,
        /// Worker threads per fake server.
        #[arg(long, default_value_t = 1)]
        workers: usize,
    },
    /// Post `messages.upsert` webhooks to a server and measure acknowledgements and replies.
    Load {
        /// The server.
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        target: String,
        /// The omnihub instance to post to (its webhook route).
        #[arg(long, default_value = "sandbox")]
        instance: String,
        /// The Evolution instance name the envelopes carry (the instance's whatsapp_instance).
        #[arg(long, default_value = "sandbox")]
        evolution_instance: String,
        /// Webhook token, when the instance has a webhook secret.
        #[arg(long)]
        token: Option<String>,
        /// Parallel connections.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Webhooks per second in all (default: as fast as possible).
        #[arg(long)]
        rate: Option<u64>,
        /// Seconds of sending.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Stop after this many messages.
        #[arg(long)]
        messages: Option<u64>,
        /// Chats the messages are spread over.
        #[arg(long, default_value_t = 1000)]
        chats: u64,
        /// Deliver every n-th message twice (0: never).
        #[arg(long, default_value_t = 0)]
        duplicate_every: u64,
        /// Attach a small image to every 10th message.
        #[arg(long)]
        media: bool,
        /// The fake Evolution that receives the replies.
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        evolution: String,
        /// Only measure acknowledgements; do not wait for replies.
        #[arg(long)]
        ack_only: bool,
        /// Longest wait for the replies, in seconds.
        #[arg(long, default_value_t = 120)]
        wait: u64,
        /// Print the report as JSON (no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// Serve a trivial handler that answers 200 without parsing or storing (the HTTP floor).
    Floor {
        /// Port.
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// Worker threads.
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run the benchmark scenarios against the release server and write the figures
    /// (medians of --runs runs) as Markdown.
    Bench {
        /// Seconds of sending per run.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Runs per scenario.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// A PostgreSQL database the bench may wipe (omitted: SQLite only).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Where to write the figures.
        #[arg(long, default_value = "target/bench-results.md")]
        out: std::path::PathBuf,
        /// Which scenarios: `standard` (fixed rates, acknowledgement only), `overload` (closed
        /// loops, slow agent, hot chat; one run each) or `all`.
        #[arg(long, default_value = "all", value_parser = ["standard", "overload", "all"])]
        suite: String,
        /// The bench instance's agent kind: `automagik`, or `openai` (each turn loads and
        /// stores the chat's history in the database).
        #[arg(long, default_value = "automagik", value_parser = ["automagik", "openai"])]
        agent_kind: String,
    },
    /// Start the server and fake upstreams, play a conversation on two instances, show the
    /// replies and the message log, then keep running until Ctrl-C.
    Demo {
        /// Port of the server.
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Exit after the conversation instead of waiting for Ctrl-C (exit code 1 when a
        /// message got no reply).
        #[arg(long)]
        exit: bool,
    },
}

fn mode(mode: Mode, text: String) -> AgentMode {
    match mode {
        Mode::Echo => AgentMode::Echo,
        Mode::Fixed => AgentMode::Fixed(text),
        Mode::Long => AgentMode::Long,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Upstreams {
            evolution_port,
            agent_port,
            agent_mode,
            agent_text,
            agent_delay_ms,
            workers,
        } => {
            let spec = AgentSpec {
                port: agent_port,
                mode: mode(agent_mode, agent_text),
                delay: Duration::from_millis(agent_delay_ms),
            };
            actix_web::rt::System::new().block_on(async move {
                let running = upstreams::start(evolution_port, &[spec], workers)?;
                println!("fake Evolution API: {}", running.evolution_url);
                println!("fake agent:         {}", running.agent_urls[0]);
                println!("(Ctrl-C stops them)");
                tokio::signal::ctrl_c().await?;
                running.stop().await;
                Ok::<(), anyhow::Error>(())
            })
        }
        Command::Load {
            target,
            instance,
            evolution_instance,
            token,
            concurrency,
            rate,
            duration,
            messages,
            chats,
            duplicate_every,
            media,
            evolution,
            ack_only,
            wait,
            json,
        } => {
            let config = load::LoadConfig {
                target,
                path: format!("/webhook/evolution/{instance}"),
                evolution_instance,
                token,
                concurrency,
                rate,
                duration: Duration::from_secs(duration),
                max_messages: messages,
                chats,
                first_chat: 0,
                duplicate_every,
                media,
                evolution_url: Some(evolution),
                wait: Duration::from_secs(wait),
                ack_only,
                progress: !json,
            };
            run_load(config, json)
        }
        Command::Floor { port, workers } => actix_web::rt::System::new()
            .block_on(upstreams::serve_floor(port, workers.unwrap_or(2)))
            .map_err(anyhow::Error::from),
        Command::Demo { port, exit } => demo::run(port, exit),
        Command::Bench {
            seconds,
            runs,
            postgres,
            out,
            suite,
            agent_kind,
        } => bench::run(&bench::BenchConfig {
            seconds,
            runs,
            postgres,
            out,
            standard: suite != "overload",
            overload: suite != "standard",
            agent_kind,
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_load(config: load::LoadConfig, json: bool) -> anyhow::Result<()> {
    let ack_only = config.ack_only;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(load::run(config))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.table(!ack_only));
    }
    if !ack_only && (report.lost > 0 || report.duplicate_replies > 0) {
        anyhow::bail!(
            "{} replies lost and {} duplicated",
            report.lost,
            report.duplicate_replies
        );
    }
    Ok(())
}
