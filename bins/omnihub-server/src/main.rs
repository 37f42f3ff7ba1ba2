//! `omnihub-server`: loads the configuration, migrates and seeds the database, then serves
//! webhooks, the admin API, health and metrics while the dispatcher answers messages, until
//! SIGTERM/SIGINT.

mod pipeline;
mod single_process;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use omnihub_db::{bootstrap_from_env, BootstrapOutcome, Database, DatabaseUrl, PoolOptions};
use omnihub_server::{app, AppState, LogFormat, ServerConfig};

fn main() -> ExitCode {
    // Before anything reads the environment, and while single-threaded: .env fills in
    // variables the environment does not set.
    let _ = dotenvy::dotenv();
    let config = match ServerConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "omnihub-server stopped");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &ServerConfig) {
    let filter = tracing_subscriber::EnvFilter::new(&config.log_filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Human => builder.with_ansi(std::io::stdout().is_terminal()).init(),
    }
}

fn run(config: ServerConfig) -> anyhow::Result<()> {
    // Before touching the database: a second server on one SQLite file must not start.
    let _sqlite_lock = match &config.database_url {
        DatabaseUrl::Sqlite(path) => {
            let lock = single_process::SqliteServerLock::acquire(path)?;
            tracing::debug!(lock = %lock.path().display(), "holding the SQLite server lock");
            Some(lock)
        }
        DatabaseUrl::Postgres(_) => None,
    };
    let mut pool = PoolOptions::for_engine(config.database_url.engine());
    if let Some(size) = config.pool_size {
        pool.max_connections = size;
    }
    let db = Database::connect_with(&config.database_url, pool)?;
    let applied = db.migrate()?;
    tracing::info!(engine = %db.engine(), database = %db.url(), migrations_applied = applied.len(), "database ready");
    match bootstrap_from_env(&db).context("cannot seed the default instance from the environment")? {
        BootstrapOutcome::Created(name) => {
            tracing::info!(instance = %name, "created the default instance from the environment")
        }
        BootstrapOutcome::Promoted(name) => {
            tracing::info!(instance = %name, "no default instance was set; promoted the oldest")
        }
        BootstrapOutcome::AlreadyConfigured | BootstrapOutcome::NothingToSeed => {}
    }
    if config.api_key.is_none() {
        tracing::warn!("OMNIHUB_API_KEY is not set: the admin API under /api/v1 refuses every request");
    }
    let state = AppState::new(db.clone(), config.api_key.clone(), config.trusted_proxies.clone())
        .with_webhook_body_limit(config.pipeline.webhook_body_limit);
    let pipeline = pipeline::Pipeline::start(
        &db,
        &config.pipeline,
        config.shutdown_grace,
        state.shared_metrics(),
    )?;
    let state = state.with_cache(pipeline.cache()).with_waker(pipeline.waker());

    let served = actix_web::rt::System::new().block_on(async move {
        let mut server = actix_web::HttpServer::new(move || app(state.clone()))
            .shutdown_timeout(config.shutdown_grace.as_secs());
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server
            .bind((config.host.as_str(), config.port))
            .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
        for addr in server.addrs() {
            tracing::info!("listening on http://{addr}");
        }
        server.run().await.context("the HTTP server failed")
    });
    // The HTTP server has stopped taking webhooks; now let the dispatcher finish.
    pipeline.stop();
    served?;
    tracing::info!("omnihub-server stopped");
    Ok(())
}
