//! Where omnihub's settings come from: the process environment, then a `.env` file (in the
//! current directory or a parent), read once into an [`Env`] that the server and the CLI
//! parse their variables from. Every error names the variable and the rule it breaks.
//!
//! ```
//! use omnihub_config::{database_url, Env};
//!
//! let env = Env::from_pairs([("DATABASE_URL", "postgres://db/omnihub"), ("OMNIHUB_PORT", " 9000 ")]);
//! assert_eq!(env.get("OMNIHUB_PORT").as_deref(), Some("9000"));
//! assert_eq!(env.number("OMNIHUB_PORT", 8000u16, 1, 65535).unwrap(), 9000);
//! assert_eq!(database_url(&env, None).unwrap().to_string(), "postgres://db/omnihub");
//!
//! let err = env.number::<u16>("OMNIHUB_PORT", 8000, 1, 100).unwrap_err();
//! assert_eq!(err.variable, "OMNIHUB_PORT");
//! ```

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use omnihub_domain::HttpUrl;

use omnihub_db::DatabaseUrl;

/// A variable that cannot be used, with the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}: {rule}")]
pub struct ConfigError {
    /// The environment variable (or `.env` for the file itself).
    pub variable: &'static str,
    /// What it must look like.
    pub rule: String,
}

impl ConfigError {
    /// `variable` breaks `rule`.
    pub fn new(variable: &'static str, rule: impl Into<String>) -> Self {
        Self {
            variable,
            rule: rule.into(),
        }
    }
}

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A read-only view of the configuration variables. Cheap to clone.
#[derive(Clone)]
pub struct Env {
    lookup: Arc<Lookup>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: never print them.
        f.write_str("Env { .. }")
    }
}

impl Env {
    /// The process environment over the `.env` file found in the current directory or a
    /// parent (a variable set in the environment wins). A `.env` that cannot be parsed is
    /// an error; a missing one is not.
    pub fn load() -> Result<Self, ConfigError> {
        let mut vars: HashMap<String, String> = match dotenvy::dotenv_iter() {
            Ok(iter) => iter
                .collect::<Result<_, _>>()
                .map_err(|e| ConfigError::new(".env", format!("cannot be read: {e}")))?,
            Err(e) if e.not_found() => HashMap::new(),
            Err(e) => return Err(ConfigError::new(".env", format!("cannot be read: {e}"))),
        };
        vars.extend(std::env::vars());
        Ok(Self::from_map(vars))
    }

    /// Only the process environment (no `.env`).
    pub fn process() -> Self {
        Self::from_map(std::env::vars().collect())
    }

    /// Fixed variables (tests, embedding).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self::from_map(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// Variables answered by `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Arc::new(lookup),
        }
    }

    fn from_map(vars: HashMap<String, String>) -> Self {
        Self::from_fn(move |name| vars.get(name).cloned())
    }

    /// The value as written, even when empty (where an empty value means something).
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The value trimmed; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set, with its name (newer names first, then the seed's).
    pub fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
    }

    /// A whole number from `min` to `max`, or `default` when unset.
    pub fn number<T>(&self, variable: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Copy + Display,
    {
        let Some(text) = self.get(variable) else {
            return Ok(default);
        };
        match text.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(ConfigError::new(
                variable,
                format!("must be a whole number from {min} to {max}"),
            )),
        }
    }
}

impl Env {
    /// A duration from `min` to `max`, or `default` when unset: seconds (`90`) or a number
    /// with a unit (`90s`, `30m`, `24h`, `2d`).
    pub fn duration(
        &self,
        variable: &'static str,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(text) = self.get(variable) else {
            return Ok(default);
        };
        let text = text.to_ascii_lowercase();
        let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
            Some(at) => text.split_at(at),
            None => (text.as_str(), "s"),
        };
        let scale = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => 0,
        };
        let seconds = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(scale));
        match seconds.map(Duration::from_secs) {
            Some(d) if scale > 0 && d >= min && d <= max => Ok(d),
            _ => Err(ConfigError::new(
                variable,
                format!(
                    "must be a duration from {} s to {} s, in seconds or with a unit (90s, 30m, 24h, 2d)",
                    min.as_secs(),
                    max.as_secs()
                ),
            )),
        }
    }
}

/// `OMNIHUB_PUBLIC_URL`: the base URL at which Evolution reaches omnihub (webhooks are set to
/// `{it}/webhook/evolution/{name}`); `None` when unset. Never guessed from a request.
pub fn public_url(env: &Env) -> Result<Option<HttpUrl>, ConfigError> {
    match env.get("OMNIHUB_PUBLIC_URL") {
        None => Ok(None),
        Some(text) => HttpUrl::parse("OMNIHUB_PUBLIC_URL", text.trim_end_matches('/'))
            .map(Some)
            .map_err(|e| ConfigError::new("OMNIHUB_PUBLIC_URL", e.to_string())),
    }
}

/// The one rule for where the database is: the `--database-url` flag when given, else
/// `OMNIHUB_DATABASE_URL`, else the seed's `DATABASE_URL`, else `./data/omnihub.db`.
pub fn database_url(env: &Env, flag: Option<&str>) -> Result<DatabaseUrl, ConfigError> {
    let given = flag
        .map(|text| ("--database-url", text.trim().to_owned()))
        .filter(|(_, text)| !text.is_empty())
        .or_else(|| env.first(&["OMNIHUB_DATABASE_URL", "DATABASE_URL"]));
    match given {
        None => Ok(DatabaseUrl::default_sqlite()),
        Some((variable, text)) => {
            DatabaseUrl::parse(&text).map_err(|e| ConfigError::new(variable, e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_url_comes_from_the_flag_then_omnihub_then_the_seed_name() {
        let env = Env::from_pairs([("DATABASE_URL", "seed.db"), ("OMNIHUB_DATABASE_URL", "omni.db")]);
        assert_eq!(
            database_url(&env, Some("flag.db")).unwrap().to_string(),
            "sqlite://flag.db"
        );
        assert_eq!(database_url(&env, None).unwrap().to_string(), "sqlite://omni.db");
        let seed_only = Env::from_pairs([("DATABASE_URL", "seed.db")]);
        assert_eq!(
            database_url(&seed_only, None).unwrap().to_string(),
            "sqlite://seed.db"
        );
        let nothing = Env::from_pairs([("DATABASE_URL", "  ")]);
        assert_eq!(
            database_url(&nothing, None).unwrap(),
            DatabaseUrl::default_sqlite()
        );
    }

    #[test]
    fn errors_name_the_variable_that_was_used() {
        let env = Env::from_pairs([("DATABASE_URL", "mysql://root:pw@h/db")]);
        let err = database_url(&env, None).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(!err.to_string().contains("pw@"), "{err}");
        assert_eq!(
            database_url(&env, Some("redis://x")).unwrap_err().variable,
            "--database-url"
        );
        let env = Env::from_pairs([("N", "many")]);
        assert_eq!(
            env.number("N", 1u32, 1, 10).unwrap_err().to_string(),
            "invalid N: must be a whole number from 1 to 10"
        );
        assert_eq!(env.number("UNSET", 7u32, 1, 10).unwrap(), 7);
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(30 * 86_400));
        let read = |v: &str| Env::from_pairs([("D", v)]).duration("D", Duration::ZERO, min, max);
        assert_eq!(read("90").unwrap(), Duration::from_secs(90));
        assert_eq!(read("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(read("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(read("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["10", "h", "5w", "-1h", "99d"] {
            assert!(read(bad).unwrap_err().to_string().contains("invalid D"), "{bad}");
        }
        let unset = Env::from_pairs([("X", "1")]);
        assert_eq!(unset.duration("D", min, min, max).unwrap(), min);
    }

    #[test]
    fn the_public_url_is_an_http_url_or_unset() {
        assert_eq!(public_url(&Env::from_pairs([("X", "1")])).unwrap(), None);
        let env = Env::from_pairs([("OMNIHUB_PUBLIC_URL", "https://hub.example.com/")]);
        assert_eq!(
            public_url(&env).unwrap().unwrap().as_str(),
            "https://hub.example.com"
        );
        let bad = Env::from_pairs([("OMNIHUB_PUBLIC_URL", "hub.example.com")]);
        assert_eq!(public_url(&bad).unwrap_err().variable, "OMNIHUB_PUBLIC_URL");
    }

    #[test]
    fn empty_values_are_unset_but_raw_keeps_them() {
        let env = Env::from_pairs([("A", ""), ("B", " x ")]);
        assert_eq!((env.get("A"), env.raw("A").as_deref()), (None, Some("")));
        assert_eq!(env.first(&["A", "B"]), Some(("B", "x".to_owned())));
        assert_eq!(format!("{env:?}"), "Env { .. }", "values never print");
    }
}
