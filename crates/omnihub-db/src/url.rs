//! Which engine a database URL means, and how to print it without its password.

use std::fmt;
use std::path::PathBuf;

use crate::DbError;

/// The SQLite file used when no database URL is configured.
pub const DEFAULT_SQLITE_PATH: &str = "./data/omnihub.db";

/// The database engines omnihub runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An embedded SQLite file (one process).
    Sqlite,
    /// A PostgreSQL server (one or more replicas).
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// A database location, with the engine chosen from the URL scheme (never by trial).
///
/// `postgres://` and `postgresql://` mean PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a
/// plain path mean a SQLite file. Any other `scheme://` is refused so a typo cannot
/// silently create a SQLite file named after a server.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file; created (with its directory) on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as is.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a database URL or path.
    pub fn parse(text: &str) -> Result<Self, DbError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DbError::InvalidUrl("the database URL is empty".into()));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            url::Url::parse(text).map_err(|e| DbError::InvalidUrl(format!("{} ({e})", redact(text))))?;
            return Ok(Self::Postgres(text.to_owned()));
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        if path.contains("://") {
            return Err(DbError::InvalidUrl(format!(
                "{}: use postgres://, postgresql://, sqlite://PATH or a file path",
                redact(text)
            )));
        }
        if path.is_empty() || path == ":memory:" {
            return Err(DbError::InvalidUrl(
                "a SQLite database must be a file path (in-memory databases are not shared between connections)".into(),
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The default location, `./data/omnihub.db`.
    pub fn default_sqlite() -> Self {
        Self::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH))
    }

    /// The engine this URL selects.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }
}

/// Shows the location with any password replaced by `****`.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Replaces the password of a URL (and any `password=` query parameter) by `****`.
fn redact(text: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(text) else {
        return "<unparseable URL>".to_owned();
    };
    if parsed.password().is_some() {
        // Only fails for URLs that cannot have credentials, which this one has.
        let _ = parsed.set_password(Some("****"));
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("password") {
                "****".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_selects_the_engine() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().engine(),
            Engine::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().engine(),
            Engine::Postgres
        );
        for sqlite in ["sqlite://data/x.db", "sqlite:x.db", "./x.db", "/tmp/x.db"] {
            assert_eq!(
                DatabaseUrl::parse(sqlite).unwrap().engine(),
                Engine::Sqlite,
                "{sqlite}"
            );
        }
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/x.db"))
        );
    }

    #[test]
    fn unknown_schemes_and_memory_are_refused() {
        for bad in [
            "",
            "mysql://h/db",
            "postgre://h/db",
            "sqlite::memory:",
            ":memory:",
        ] {
            assert!(
                matches!(DatabaseUrl::parse(bad), Err(DbError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_never_print() {
        let url = DatabaseUrl::parse("postgres://omni:hunter2@db:5432/omni?password=x2").unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("x2"), "{shown}");
        assert!(shown.contains("omni:****@db:5432/omni"), "{shown}");
        let err = DatabaseUrl::parse("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
