//! `omnihub-server`: loads the configuration, migrates and seeds the database, then serves
//! webhooks, the admin API, health and metrics while the pipeline answers messages, until
//! SIGTERM/SIGINT. `omnihub-server migrate` only applies pending migrations and exits.

mod single_process;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use omnihub_config::Env;
use omnihub_db::{bootstrap, BootstrapOutcome, Database, DatabaseUrl, PoolOptions};
use omnihub_server::{
    app, log_limits, start_pipeline, AppState, LogFormat, Metrics, ServerConfig, WebhookLimits,
};

const USAGE: &str = "usage: omnihub-server [serve | migrate]\n\n  serve    run the server (the default)\n  migrate  apply pending database migrations, then exit\n\nConfiguration comes from the environment and .env; see docs/configuration.md.";

/// What the command line asks for.
enum Mode {
    Serve,
    Migrate,
}

fn main() -> ExitCode {
    let mode = match std::env::args().nth(1).as_deref() {
        None | Some("serve") => Mode::Serve,
        Some("migrate") => Mode::Migrate,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("error: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Env::load().and_then(|env| ServerConfig::from_env(&env).map(|c| (c, env))) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config.0);
    let outcome = match mode {
        Mode::Serve => run(config.0, &config.1),
        Mode::Migrate => migrate(&config.0),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "omnihub-server stopped");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &ServerConfig) {
    let mut filter = tracing_subscriber::EnvFilter::new(&config.log_filter);
    // actix-http logs every request it cannot parse (a NUL byte in a header, a broken chunk)
    // at ERROR, though the client is at fault and was answered 400. Unless the operator asks
    // for actix-http's lines, they stay out of the log.
    if !config.log_filter.contains("actix_http") {
        if let Ok(quiet) = "actix_http::h1::dispatcher=off".parse() {
            filter = filter.add_directive(quiet);
        }
    }
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stdout);
    let layer = match config.log_format {
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
        LogFormat::Human => layer.with_ansi(std::io::stdout().is_terminal()).boxed(),
    };
    tracing_subscriber::registry()
        .with(
            layer
                .with_filter(filter)
                .with_filter(log_limits::accept_error_filter(log_limits::unix_seconds)),
        )
        .init();
}

/// Raises the soft open-file limit to the hard one and returns the connections each HTTP
/// worker may hold: all workers together stay below the limit, leaving room for the
/// database, the upstream clients and the log.
fn connection_cap(workers: usize) -> usize {
    const RESERVED: u64 = 256;
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read or raise the open-file limit; assuming 1024");
            1024
        }
    };
    let usable = limit.saturating_sub(RESERVED).max(64) * 9 / 10;
    let per_worker = usize::try_from(usable).unwrap_or(usize::MAX) / workers.max(1);
    tracing::info!(
        open_file_limit = limit,
        connections_per_worker = per_worker,
        "connection cap set"
    );
    per_worker.clamp(16, 25_000)
}

/// One warning per instance whose webhook anyone may post to.
fn warn_open_webhooks(db: &Database) {
    match db.instances().list(0, i64::MAX) {
        Ok(instances) => {
            for instance in instances.iter().filter(|i| i.webhook_secret.is_none()) {
                tracing::warn!(
                    instance = %instance.name,
                    "instance has no webhook_secret: anyone who knows its URL can post messages to it and have its agent answer them; set one with omnihub-instance update {} --webhook-secret-file PATH",
                    instance.name
                );
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot list the instances to check their webhook secrets"),
    }
}

fn connect(config: &ServerConfig) -> anyhow::Result<Database> {
    let mut pool = PoolOptions::for_engine(config.database_url.engine());
    if let Some(size) = config.pool_size {
        pool.max_connections = size;
    }
    Ok(Database::connect_with(&config.database_url, pool)?)
}

/// `omnihub-server migrate`: for operators who deploy schema changes separately.
fn migrate(config: &ServerConfig) -> anyhow::Result<()> {
    let db = connect(config)?;
    let applied = db.migrate()?;
    if applied.is_empty() {
        println!("{}: already up to date", db.url());
    } else {
        println!("{}: applied {}", db.url(), applied.join(", "));
    }
    Ok(())
}

fn run(config: ServerConfig, env: &Env) -> anyhow::Result<()> {
    // Before touching the database: a second server on one SQLite file must not start.
    let _sqlite_lock = match &config.database_url {
        DatabaseUrl::Sqlite(path) => {
            let lock = single_process::SqliteServerLock::acquire(path)?;
            tracing::debug!(lock = %lock.path().display(), "holding the SQLite server lock");
            Some(lock)
        }
        DatabaseUrl::Postgres(_) => None,
    };
    let db = connect(&config)?;
    let applied = db.migrate()?;
    tracing::info!(engine = %db.engine(), database = %db.url(), migrations_applied = applied.len(), "database ready");
    match bootstrap(&db, |name| env.raw(name))
        .context("cannot seed the default instance from the environment")?
    {
        BootstrapOutcome::Created(name) => {
            tracing::info!(instance = %name, "created the default instance from the environment")
        }
        BootstrapOutcome::Promoted(name) => {
            tracing::info!(instance = %name, "no default instance was set; promoted the oldest")
        }
        BootstrapOutcome::AlreadyConfigured | BootstrapOutcome::NothingToSeed => {}
    }
    warn_open_webhooks(&db);
    if config.api_key.is_none() {
        tracing::warn!("OMNIHUB_API_KEY is not set: the admin API under /api/v1 refuses every request");
    }
    let metrics = Arc::new(Metrics::new());
    let pipeline =
        start_pipeline(db, &config.pipeline, metrics.clone()).context("cannot start the pipeline")?;
    let state = AppState::new(
        pipeline.clone(),
        metrics,
        config.api_key.clone(),
        config.trusted_proxies.clone(),
    )
    .with_webhook_limits(WebhookLimits::from_settings(&config.pipeline))
    .with_lifecycle(
        config.pipeline.public_url.clone(),
        config.pipeline.evolution_timeout,
    )
    .with_agent(
        omnihub_agent::AgentBackends::new().context("cannot build the agent HTTP client")?,
        (
            config.pipeline.core.reply_max_chars,
            config.pipeline.core.reply_max_parts,
        ),
    );

    let served = actix_web::rt::System::new().block_on(async move {
        let mut server = actix_web::HttpServer::new(move || app(state.clone()))
            .shutdown_timeout(config.shutdown_grace.as_secs())
            // Blocking work on HTTP workers is admin database calls only; a few threads each
            // keep the process's thread count bounded whatever the load.
            .worker_max_blocking_threads(4);
        let workers = config
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        server = server.workers(workers).max_connections(connection_cap(workers));
        let server = server
            .bind((config.host.as_str(), config.port))
            .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
        for addr in server.addrs() {
            tracing::info!("listening on http://{addr}");
        }
        server.run().await.context("the HTTP server failed")
    });
    // The HTTP server has stopped taking webhooks; now let the dispatcher finish.
    pipeline.shutdown(config.shutdown_grace);
    served?;
    tracing::info!("omnihub-server stopped");
    Ok(())
}
