//! The server's typed configuration, read once from the environment (and `.env`).

use std::time::Duration;

pub use omnihub_config::ConfigError;
use omnihub_config::{database_url, Env};
use omnihub_db::DatabaseUrl;
use omnihub_domain::Secret;

use crate::pipeline_config::PipelineSettings;
use crate::proxy::IpNet;

/// The shortest admin API key accepted: a short key is guessable.
pub const MIN_API_KEY_LEN: usize = 16;

/// The fewest different characters an admin API key must have: `aaaaaaaaaaaaaaaa` is long
/// but guessable.
pub const MIN_API_KEY_DISTINCT: usize = 6;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (`OMNIHUB_HOST`, then `API_HOST`; default `0.0.0.0`).
    pub host: String,
    /// Port to bind (`OMNIHUB_PORT`, then `API_PORT`; default 8000; 0 picks a free port).
    pub port: u16,
    /// Database (`OMNIHUB_DATABASE_URL`, then `DATABASE_URL`, then `./data/omnihub.db`).
    pub database_url: DatabaseUrl,
    /// Largest number of pooled database connections (`OMNIHUB_DB_POOL_SIZE`).
    pub pool_size: Option<u32>,
    /// Admin API key (`OMNIHUB_API_KEY`); without one the admin API is closed.
    pub api_key: Option<Secret>,
    /// tracing filter (`OMNIHUB_LOG`, then the seed's `LOG_LEVEL`; default `info`).
    pub log_filter: String,
    /// Log format (`OMNIHUB_LOG_FORMAT`: `human` or `json`).
    pub log_format: LogFormat,
    /// Peers whose `X-Forwarded-For` is believed (`OMNIHUB_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpNet>,
    /// How long in-flight requests may take to finish on shutdown (`OMNIHUB_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// HTTP worker threads (`OMNIHUB_WORKERS`; default: one per core).
    pub workers: Option<usize>,
    /// The message pipeline.
    pub pipeline: PipelineSettings,
}

impl ServerConfig {
    /// Reads the configuration from `env` (the environment over `.env`, or fixed values in
    /// tests). Empty values count as unset.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let var = |name: &str| env.get(name);
        let host = env
            .first(&["OMNIHUB_HOST", "API_HOST"])
            .map_or_else(|| "0.0.0.0".to_owned(), |(_, v)| v);
        let port = match env.first(&["OMNIHUB_PORT", "API_PORT"]) {
            None => 8000,
            Some((name, text)) => text
                .parse::<u16>()
                .map_err(|_| invalid(name, "must be a port number from 0 to 65535"))?,
        };
        let database_url = database_url(env, None)?;
        let pool_size = var("OMNIHUB_DB_POOL_SIZE")
            .map(|text| match text.parse::<u32>() {
                Ok(n) if (1..=512).contains(&n) => Ok(n),
                _ => Err(invalid(
                    "OMNIHUB_DB_POOL_SIZE",
                    "must be a whole number from 1 to 512",
                )),
            })
            .transpose()?;
        // Untrimmed: a key of spaces is a mistake to report, not an unset key.
        let api_key = env
            .raw("OMNIHUB_API_KEY")
            .filter(|text| !text.is_empty())
            .map(|text| {
                api_key_rule(&text).map_err(|rule| invalid("OMNIHUB_API_KEY", rule))?;
                Secret::parse("OMNIHUB_API_KEY", text).map_err(|e| invalid("OMNIHUB_API_KEY", &e.to_string()))
            })
            .transpose()?;
        let log_filter = var("OMNIHUB_LOG")
            .or_else(|| var("LOG_LEVEL").map(|level| level.to_ascii_lowercase()))
            .unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::try_new(&log_filter).map_err(|e| {
            invalid(
                "OMNIHUB_LOG",
                &format!("not a log filter ({e}); try info, debug or warn"),
            )
        })?;
        let log_format = match var("OMNIHUB_LOG_FORMAT").as_deref() {
            None | Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("OMNIHUB_LOG_FORMAT", "must be human or json")),
        };
        let trusted_proxies = match var("OMNIHUB_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    IpNet::parse(item).ok_or_else(|| {
                        invalid(
                            "OMNIHUB_TRUSTED_PROXIES",
                            "must be a comma-separated list of IP addresses or CIDR ranges",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let shutdown_grace = match var("OMNIHUB_SHUTDOWN_GRACE_SECS") {
            None => Duration::from_secs(30),
            Some(text) => match text.parse::<u64>() {
                Ok(secs) if secs <= 3600 => Duration::from_secs(secs),
                _ => {
                    return Err(invalid(
                        "OMNIHUB_SHUTDOWN_GRACE_SECS",
                        "must be a whole number of seconds from 0 to 3600",
                    ))
                }
            },
        };
        let workers = var("OMNIHUB_WORKERS")
            .map(|text| match text.parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => Ok(n),
                _ => Err(invalid("OMNIHUB_WORKERS", "must be a whole number from 1 to 256")),
            })
            .transpose()?;
        let pipeline = PipelineSettings::from_env(env)?;
        Ok(Self {
            pipeline,
            host,
            port,
            database_url,
            pool_size,
            api_key,
            log_filter,
            log_format,
            trusted_proxies,
            shutdown_grace,
            workers,
        })
    }
}

/// Why `key` cannot be the admin API key, if it cannot.
fn api_key_rule(key: &str) -> Result<(), &'static str> {
    let rule = "must be at least 16 characters, at least 6 of them different, without spaces (e.g. `openssl rand -hex 32`)";
    let mut distinct: Vec<char> = key.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if key.chars().count() < MIN_API_KEY_LEN
        || key.chars().any(char::is_whitespace)
        || distinct.len() < MIN_API_KEY_DISTINCT
    {
        return Err(rule);
    }
    Ok(())
}

fn invalid(variable: &'static str, rule: &str) -> ConfigError {
    ConfigError::new(variable, rule)
}

#[cfg(test)]
mod tests;
