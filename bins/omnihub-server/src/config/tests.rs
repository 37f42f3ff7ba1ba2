//! Tests of configuration loading.

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
    ServerConfig::from_env(&Env::from_pairs(pairs.iter().copied()))
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let config = load(&[]).unwrap();
    assert_eq!((config.host.as_str(), config.port), ("0.0.0.0", 8000));
    assert_eq!(config.database_url, DatabaseUrl::default_sqlite());
    assert!(config.api_key.is_none());
    assert_eq!(config.log_filter, "info");
    assert_eq!(config.log_format, LogFormat::Human);
    assert_eq!(config.shutdown_grace, Duration::from_secs(30));
}

#[test]
fn omnihub_names_win_over_the_seed_names() {
    let config = load(&[
        ("API_HOST", "10.0.0.1"),
        ("API_PORT", "8882"),
        ("OMNIHUB_PORT", "9000"),
        ("DATABASE_URL", "postgres://db/omni"),
        ("OMNIHUB_DATABASE_URL", "sqlite://x.db"),
        ("LOG_LEVEL", "DEBUG"),
    ])
    .unwrap();
    assert_eq!((config.host.as_str(), config.port), ("10.0.0.1", 9000));
    assert_eq!(config.database_url.to_string(), "sqlite://x.db");
    assert_eq!(config.log_filter, "debug");
}

#[test]
fn each_invalid_variable_is_named() {
    let cases = [
        ("OMNIHUB_PORT", "eighty"),
        ("API_PORT", "70000"),
        ("OMNIHUB_DATABASE_URL", "mysql://h/db"),
        ("OMNIHUB_API_KEY", "short"),
        ("OMNIHUB_LOG_FORMAT", "xml"),
        ("OMNIHUB_LOG", "[[["),
        ("OMNIHUB_TRUSTED_PROXIES", "10.0.0.1,proxy.local"),
        ("OMNIHUB_SHUTDOWN_GRACE_SECS", "-1"),
        ("OMNIHUB_DB_POOL_SIZE", "0"),
        ("OMNIHUB_WORKERS", "lots"),
    ];
    for (variable, value) in cases {
        let err = load(&[(variable, value)]).unwrap_err();
        assert_eq!(err.variable, variable, "{err}");
        assert!(
            err.to_string().starts_with(&format!("invalid {variable}: ")),
            "{err}"
        );
    }
}

#[test]
fn weak_api_keys_are_refused_with_the_rule() {
    for weak in [
        " ".repeat(20),
        "a".repeat(16),
        "abababababababababab".to_owned(),
        "0123456789abcdef with space".to_owned(),
        "\t0123456789abcdef".to_owned(),
    ] {
        let err = load(&[("OMNIHUB_API_KEY", &weak)]).unwrap_err();
        assert_eq!(err.variable, "OMNIHUB_API_KEY");
        assert!(err.to_string().contains("at least 6 of them different"), "{err}");
    }
    assert!(
        load(&[("OMNIHUB_API_KEY", "")]).unwrap().api_key.is_none(),
        "empty is unset"
    );
}

#[test]
fn api_key_is_kept_secret_and_proxies_parse() {
    let config = load(&[
        ("OMNIHUB_API_KEY", "0123456789abcdef-admin"),
        ("OMNIHUB_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ,::1"),
    ])
    .unwrap();
    assert!(!format!("{config:?}").contains("0123456789abcdef-admin"));
    assert_eq!(config.trusted_proxies.len(), 3);
}
