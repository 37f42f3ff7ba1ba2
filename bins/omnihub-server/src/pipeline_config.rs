//! The pipeline's settings read from `OMNIHUB_*`: webhook limits, dispatcher concurrency,
//! retries, timeouts, apology, caching and retention.

use std::time::Duration;

use omnihub_config::{ConfigError, Env};
use omnihub_core::{PipelineConfig, RetryPolicy, DEFAULT_APOLOGY};

/// Everything the pipeline needs, read from `OMNIHUB_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineSettings {
    /// Largest webhook body (`OMNIHUB_WEBHOOK_BODY_LIMIT_MB`, default 32 MiB; base64 media).
    pub webhook_body_limit: usize,
    /// Memory shared by webhook bodies being read at once (`OMNIHUB_WEBHOOK_INFLIGHT_MB`, 128).
    pub webhook_inflight_bytes: usize,
    /// A webhook body must arrive within this (`OMNIHUB_WEBHOOK_BODY_TIMEOUT_SECS`, 60).
    pub webhook_body_timeout: Duration,
    /// Longest gap between two reads of a body (`OMNIHUB_WEBHOOK_BODY_IDLE_SECS`, 10).
    pub webhook_body_idle: Duration,
    /// The base URL at which Evolution reaches omnihub (`OMNIHUB_PUBLIC_URL`); needed to set
    /// instances' webhooks.
    pub public_url: Option<omnihub_domain::HttpUrl>,
    /// Timeout of each Evolution call (`OMNIHUB_EVOLUTION_TIMEOUT_SECS`, 15).
    pub evolution_timeout: Duration,
    /// The pipeline's behaviour: `OMNIHUB_DISPATCH_CONCURRENCY` (64),
    /// `OMNIHUB_INSTANCE_CONCURRENCY` (16), `OMNIHUB_RETRY_MAX_ATTEMPTS` (5),
    /// `OMNIHUB_RETRY_BASE_MS` (2000), `OMNIHUB_RETRY_MAX_MS` (300000), `OMNIHUB_LEASE_SECS`
    /// (60), `OMNIHUB_DISPATCH_POLL_MS` (500), `OMNIHUB_APOLOGY_TEXT` (empty sends nothing),
    /// `OMNIHUB_RETENTION_DAYS` (30; 0 keeps forever), `OMNIHUB_INSTANCE_CACHE_TTL_MS` (2000),
    /// `OMNIHUB_WEBHOOK_MAX_MESSAGES` (50), `OMNIHUB_REPLY_MAX_CHARS` (12000),
    /// `OMNIHUB_REPLY_MAX_PARTS` (10).
    pub core: PipelineConfig,
}

impl PipelineSettings {
    /// Reads the pipeline variables from `env`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mb: usize = env.number("OMNIHUB_WEBHOOK_BODY_LIMIT_MB", 32, 1, 512)?;
        let inflight_mb: usize = env.number("OMNIHUB_WEBHOOK_INFLIGHT_MB", 128, 1, 65_536)?;
        if inflight_mb < mb {
            return Err(ConfigError::new(
                "OMNIHUB_WEBHOOK_INFLIGHT_MB",
                "must not be smaller than OMNIHUB_WEBHOOK_BODY_LIMIT_MB (one largest body must fit)",
            ));
        }
        let body_secs: u64 = env.number("OMNIHUB_WEBHOOK_BODY_TIMEOUT_SECS", 60, 1, 3600)?;
        let idle_secs: u64 = env.number("OMNIHUB_WEBHOOK_BODY_IDLE_SECS", 10, 1, 3600)?;
        let base_ms: u64 = env.number("OMNIHUB_RETRY_BASE_MS", 2000, 1, 3_600_000)?;
        let max_ms: u64 = env.number("OMNIHUB_RETRY_MAX_MS", 300_000, 1, 86_400_000)?;
        if max_ms < base_ms {
            return Err(ConfigError::new(
                "OMNIHUB_RETRY_MAX_MS",
                "must not be smaller than OMNIHUB_RETRY_BASE_MS",
            ));
        }
        let evolution_secs: u64 = env.number("OMNIHUB_EVOLUTION_TIMEOUT_SECS", 15, 1, 600)?;
        let lease_secs: u64 = env.number("OMNIHUB_LEASE_SECS", 60, 5, 3600)?;
        if lease_secs <= evolution_secs {
            return Err(ConfigError::new(
                "OMNIHUB_LEASE_SECS",
                "must be longer than OMNIHUB_EVOLUTION_TIMEOUT_SECS",
            ));
        }
        // Unlike the numbers, an empty apology is meaningful: it turns the apology off.
        let apology = match env.raw("OMNIHUB_APOLOGY_TEXT") {
            None => Some(DEFAULT_APOLOGY.to_owned()),
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(text),
        };
        let core = PipelineConfig {
            global_limit: env.number("OMNIHUB_DISPATCH_CONCURRENCY", 64, 1, 10_000)?,
            per_instance_limit: env.number("OMNIHUB_INSTANCE_CONCURRENCY", 16, 1, 10_000)?,
            retry: RetryPolicy {
                max_attempts: env.number("OMNIHUB_RETRY_MAX_ATTEMPTS", 5, 1, 100)?,
                base_delay: Duration::from_millis(base_ms),
                max_delay: Duration::from_millis(max_ms),
            },
            lease: Duration::from_secs(lease_secs),
            poll_interval: Duration::from_millis(env.number("OMNIHUB_DISPATCH_POLL_MS", 500, 10, 60_000)?),
            apology,
            retention_days: env.number("OMNIHUB_RETENTION_DAYS", 30, 0, 36_500)?,
            instance_cache_ttl: Duration::from_millis(env.number(
                "OMNIHUB_INSTANCE_CACHE_TTL_MS",
                2000,
                50,
                600_000,
            )?),
            webhook_max_messages: env.number("OMNIHUB_WEBHOOK_MAX_MESSAGES", 50, 1, 10_000)?,
            reply_max_chars: env.number("OMNIHUB_REPLY_MAX_CHARS", 12_000, 1, 1_000_000)?,
            reply_max_parts: env.number("OMNIHUB_REPLY_MAX_PARTS", 10, 1, 1000)?,
            hold_max: env.duration(
                "OMNIHUB_HOLD_MAX",
                Duration::from_secs(24 * 3600),
                Duration::from_secs(60),
                Duration::from_secs(30 * 86_400),
            )?,
            ..PipelineConfig::default()
        };
        Ok(Self {
            webhook_body_limit: mb * 1024 * 1024,
            webhook_inflight_bytes: inflight_mb * 1024 * 1024,
            webhook_body_timeout: Duration::from_secs(body_secs),
            webhook_body_idle: Duration::from_secs(idle_secs),
            evolution_timeout: Duration::from_secs(evolution_secs),
            public_url: omnihub_config::public_url(env)?,
            core,
        })
    }
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self::from_env(&Env::from_pairs(std::iter::empty::<(String, String)>()))
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<PipelineSettings, ConfigError> {
        PipelineSettings::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_and_overrides() {
        let settings = load(&[]).unwrap();
        assert_eq!(settings.webhook_body_limit, 32 * 1024 * 1024);
        assert_eq!(
            (settings.core.global_limit, settings.core.per_instance_limit),
            (64, 16)
        );
        assert_eq!(settings.core.apology.as_deref(), Some(DEFAULT_APOLOGY));
        let settings = load(&[("OMNIHUB_APOLOGY_TEXT", ""), ("OMNIHUB_RETRY_MAX_ATTEMPTS", "2")]).unwrap();
        assert_eq!(
            (settings.core.apology, settings.core.retry.max_attempts),
            (None, 2)
        );
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (variable, value) in [
            ("OMNIHUB_WEBHOOK_BODY_LIMIT_MB", "0"),
            ("OMNIHUB_DISPATCH_CONCURRENCY", "many"),
            ("OMNIHUB_RETRY_MAX_MS", "1"),
            ("OMNIHUB_LEASE_SECS", "10"),
            ("OMNIHUB_RETENTION_DAYS", "-3"),
        ] {
            let err = load(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
        }
    }
}
