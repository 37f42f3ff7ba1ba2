//! The default instance described by the seed's environment variables (`AGENT_API_URL`, …).

use crate::{DomainError, NewInstance, NewInstanceInput};

/// The name of the instance created from the environment.
pub const SEED_INSTANCE_NAME: &str = "default";

/// The environment variables the seed (the Python omni-hub) used for its single instance,
/// with the instance field each one fills.
pub const SEED_VARIABLES: [(&str, &str); 9] = [
    ("AGENT_API_URL", "agent_api_url"),
    ("AGENT_API_KEY", "agent_api_key"),
    ("DEFAULT_AGENT_NAME", "default_agent"),
    ("AGENT_API_TIMEOUT", "agent_timeout"),
    ("WHATSAPP_INSTANCE", "whatsapp_instance"),
    ("SESSION_ID_PREFIX", "session_id_prefix"),
    ("EVOLUTION_API_URL", "evolution_url"),
    ("EVOLUTION_API_KEY", "evolution_key"),
    ("OMNIHUB_WEBHOOK_SECRET", "webhook_secret"),
];

/// Builds the default instance from the seed's variables, read through `lookup`
/// (`|name| std::env::var(name).ok()` in the binaries; a map in tests).
///
/// Returns `Ok(None)` when `AGENT_API_URL` is unset or empty: there is nothing to seed.
/// Unset optional variables take the seed's defaults (`DEFAULT_AGENT_NAME=simple_agent`,
/// `AGENT_API_TIMEOUT=60`, `WHATSAPP_INSTANCE=dev_wpp`). Errors name the variable.
pub fn seed_instance_from_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<NewInstance>, DomainError> {
    let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let Some(agent_api_url) = var("AGENT_API_URL") else {
        return Ok(None);
    };
    let agent_timeout = match var("AGENT_API_TIMEOUT") {
        None => None,
        Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
            DomainError::invalid(
                "AGENT_API_TIMEOUT",
                "must be a whole number of seconds from 1 to 3600",
            )
        })?),
    };
    let input = NewInstanceInput {
        name: SEED_INSTANCE_NAME.to_owned(),
        evolution_url: var("EVOLUTION_API_URL"),
        evolution_key: var("EVOLUTION_API_KEY"),
        whatsapp_instance: var("WHATSAPP_INSTANCE").unwrap_or_else(|| "dev_wpp".to_owned()),
        session_id_prefix: var("SESSION_ID_PREFIX"),
        // The seed's instance is an Automagik one, as it always was.
        agent_kind: None,
        agent_options: None,
        agent_api_url,
        agent_api_key: var("AGENT_API_KEY").unwrap_or_default(),
        default_agent: var("DEFAULT_AGENT_NAME").unwrap_or_else(|| "simple_agent".to_owned()),
        agent_timeout,
        is_default: Some(true),
        webhook_secret: var("OMNIHUB_WEBHOOK_SECRET"),
    };
    input.validate().map(Some).map_err(rename_to_variable)
}

/// Reports a field error under the environment variable the admin actually set.
fn rename_to_variable(err: DomainError) -> DomainError {
    let variable = SEED_VARIABLES
        .iter()
        .find(|(_, field)| *field == err.field())
        .map_or(err.field(), |(variable, _)| *variable);
    match err {
        DomainError::Invalid { rule, .. } => DomainError::Invalid {
            field: variable,
            rule,
        },
        DomainError::Missing { rule, .. } => DomainError::Missing {
            field: variable,
            rule,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn nothing_is_seeded_without_agent_api_url() {
        assert_eq!(seed_instance_from_env(lookup(&[])), Ok(None));
        assert_eq!(seed_instance_from_env(lookup(&[("AGENT_API_URL", "")])), Ok(None));
    }

    #[test]
    fn seed_variables_fill_the_default_instance() {
        let env = lookup(&[
            ("AGENT_API_URL", "http://agents:8000"),
            ("AGENT_API_KEY", "agent-key-0123456789"),
            ("DEFAULT_AGENT_NAME", "sofia"),
            ("AGENT_API_TIMEOUT", "90"),
            ("WHATSAPP_INSTANCE", "loja"),
            ("SESSION_ID_PREFIX", "wa-"),
            ("EVOLUTION_API_URL", "https://evo.example.com"),
            ("EVOLUTION_API_KEY", "evo-key-0123456789"),
        ]);
        let new = seed_instance_from_env(env).unwrap().unwrap();
        assert_eq!(new.name.as_str(), "default");
        assert_eq!(new.default_agent.as_str(), "sofia");
        assert_eq!(new.agent_timeout.secs(), 90);
        assert_eq!(new.whatsapp_instance.as_str(), "loja");
        assert_eq!(new.session_id_prefix.as_deref(), Some("wa-"));
        assert_eq!(new.evolution_url.unwrap().as_str(), "https://evo.example.com");
        assert!(new.is_default);
    }

    #[test]
    fn seed_defaults_apply_and_errors_name_the_variable() {
        let new = seed_instance_from_env(lookup(&[
            ("AGENT_API_URL", "http://agents:8000"),
            ("AGENT_API_KEY", "k"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(new.default_agent.as_str(), "simple_agent");
        assert_eq!(new.whatsapp_instance.as_str(), "dev_wpp");
        assert_eq!(new.evolution_url, None);

        let missing_key = seed_instance_from_env(lookup(&[("AGENT_API_URL", "http://a")]));
        assert_eq!(missing_key.unwrap_err().field(), "AGENT_API_KEY");
        let bad_timeout = seed_instance_from_env(lookup(&[
            ("AGENT_API_URL", "http://a"),
            ("AGENT_API_KEY", "k"),
            ("AGENT_API_TIMEOUT", "soon"),
        ]));
        assert_eq!(bad_timeout.unwrap_err().field(), "AGENT_API_TIMEOUT");
        let bad_url = seed_instance_from_env(lookup(&[("AGENT_API_URL", "agents:8000")]));
        assert_eq!(bad_url.unwrap_err().field(), "AGENT_API_URL");
    }
}
