//! Configuration of the message pipeline: webhook limits, dispatcher concurrency, retries,
//! timeouts, apology and retention.

use std::str::FromStr;
use std::time::Duration;

use omnihub_core::{RetryPolicy, DEFAULT_APOLOGY};

use crate::config::ConfigError;

/// Everything the pipeline needs, read from `OMNIHUB_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Largest webhook body (`OMNIHUB_WEBHOOK_BODY_LIMIT_MB`, default 32 MiB; base64 media).
    pub webhook_body_limit: usize,
    /// Messages processed at once over all instances (`OMNIHUB_DISPATCH_CONCURRENCY`, 64).
    pub global_limit: usize,
    /// Messages of one instance processed at once (`OMNIHUB_INSTANCE_CONCURRENCY`, 16).
    pub per_instance_limit: usize,
    /// Retries (`OMNIHUB_RETRY_MAX_ATTEMPTS` 5, `OMNIHUB_RETRY_BASE_MS` 2000, `OMNIHUB_RETRY_MAX_MS` 300000).
    pub retry: RetryPolicy,
    /// Timeout of each Evolution call (`OMNIHUB_EVOLUTION_TIMEOUT_SECS`, 15).
    pub evolution_timeout: Duration,
    /// Lease of a claimed message (`OMNIHUB_LEASE_SECS`, 60); renewed before each stage.
    pub lease: Duration,
    /// How often the dispatcher looks for due retries and expired leases (`OMNIHUB_DISPATCH_POLL_MS`, 500).
    pub poll_interval: Duration,
    /// Sent when a message fails for good (`OMNIHUB_APOLOGY_TEXT`; set it empty to send nothing).
    pub apology: Option<String>,
    /// Days finished messages are kept (`OMNIHUB_RETENTION_DAYS`, 30; 0 keeps them forever).
    pub retention_days: u32,
    /// Longest time a change made elsewhere takes to reach the instance cache
    /// (`OMNIHUB_INSTANCE_CACHE_TTL_MS`, 2000).
    pub instance_cache_ttl: Duration,
}

fn number<T: FromStr + PartialOrd + Copy + std::fmt::Display>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(text) = lookup(variable)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(ConfigError {
            variable,
            rule: format!("must be a whole number from {min} to {max}"),
        }),
    }
}

impl PipelineConfig {
    /// Reads the pipeline variables through `lookup`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mb: usize = number(lookup, "OMNIHUB_WEBHOOK_BODY_LIMIT_MB", 32, 1, 512)?;
        let base_ms: u64 = number(lookup, "OMNIHUB_RETRY_BASE_MS", 2000, 1, 3_600_000)?;
        let max_ms: u64 = number(lookup, "OMNIHUB_RETRY_MAX_MS", 300_000, 1, 86_400_000)?;
        if max_ms < base_ms {
            return Err(ConfigError {
                variable: "OMNIHUB_RETRY_MAX_MS",
                rule: "must not be smaller than OMNIHUB_RETRY_BASE_MS".into(),
            });
        }
        let evolution_secs: u64 = number(lookup, "OMNIHUB_EVOLUTION_TIMEOUT_SECS", 15, 1, 600)?;
        let lease_secs: u64 = number(lookup, "OMNIHUB_LEASE_SECS", 60, 5, 3600)?;
        if lease_secs <= evolution_secs {
            return Err(ConfigError {
                variable: "OMNIHUB_LEASE_SECS",
                rule: "must be longer than OMNIHUB_EVOLUTION_TIMEOUT_SECS".into(),
            });
        }
        // Unlike the numbers, an empty apology is meaningful: it turns the apology off.
        let apology = match lookup("OMNIHUB_APOLOGY_TEXT") {
            None => Some(DEFAULT_APOLOGY.to_owned()),
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(text),
        };
        Ok(Self {
            webhook_body_limit: mb * 1024 * 1024,
            global_limit: number(lookup, "OMNIHUB_DISPATCH_CONCURRENCY", 64, 1, 10_000)?,
            per_instance_limit: number(lookup, "OMNIHUB_INSTANCE_CONCURRENCY", 16, 1, 10_000)?,
            retry: RetryPolicy {
                max_attempts: number(lookup, "OMNIHUB_RETRY_MAX_ATTEMPTS", 5, 1, 100)?,
                base_delay: Duration::from_millis(base_ms),
                max_delay: Duration::from_millis(max_ms),
            },
            evolution_timeout: Duration::from_secs(evolution_secs),
            lease: Duration::from_secs(lease_secs),
            poll_interval: Duration::from_millis(number(
                lookup,
                "OMNIHUB_DISPATCH_POLL_MS",
                500,
                10,
                60_000,
            )?),
            apology,
            retention_days: number(lookup, "OMNIHUB_RETENTION_DAYS", 30, 0, 36_500)?,
            instance_cache_ttl: Duration::from_millis(number(
                lookup,
                "OMNIHUB_INSTANCE_CACHE_TTL_MS",
                2000,
                50,
                600_000,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<PipelineConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PipelineConfig::from_lookup(&|k: &str| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let config = load(&[]).unwrap();
        assert_eq!(config.webhook_body_limit, 32 * 1024 * 1024);
        assert_eq!((config.global_limit, config.per_instance_limit), (64, 16));
        assert_eq!(config.apology.as_deref(), Some(DEFAULT_APOLOGY));
        let config = load(&[("OMNIHUB_APOLOGY_TEXT", ""), ("OMNIHUB_RETRY_MAX_ATTEMPTS", "2")]).unwrap();
        assert_eq!((config.apology, config.retry.max_attempts), (None, 2));
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
