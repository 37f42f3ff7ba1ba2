//! Test helpers for omnihub: a fresh, private database per test on SQLite or PostgreSQL,
//! the [`on_both_engines!`] macro, fake HTTP upstreams, a valid-instance builder and a
//! bounded wait.
//!
//! PostgreSQL tests need `OMNIHUB_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`): each [`TestDb::postgres`] creates its own
//! database from it and drops it when the value is dropped. `make test` skips those tests
//! (by name) when the variable is unset, so a missing server is reported, never hidden.

pub mod agents;
mod closing_server;
mod fake_evolution;
mod fake_evolution_http;
mod fake_evolution_routes;
mod fake_http;
mod kit;

use std::sync::atomic::{AtomicU32, Ordering};

pub use closing_server::ClosingServer;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
pub use fake_evolution::{Answer, Delivery, EvolutionWorld};
pub use fake_evolution_http::{deliver, FakeEvolution};
pub use fake_http::{FakeHttp, Recorded, Reply};
pub use kit::{
    content, echo_agent, evolution_key, ok_evolution, text_message, text_webhook, texts, wait_until,
    InstanceBuilder, AGENT_KEY,
};

/// For each scenario `fn NAME(&TestDb)` of the current module, the tests `sqlite::NAME`
/// and `postgres::NAME`, each on a fresh database. `async` scenarios run on a two-thread
/// tokio runtime. `make test` skips `postgres` tests by name when no server is configured.
#[macro_export]
macro_rules! on_both_engines {
    (async: $($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(&$crate::TestDb::sqlite()).await }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(&$crate::TestDb::postgres()).await }
        )* }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $name() { super::$name(&$crate::TestDb::sqlite()) } )* }
        mod postgres { $( #[test] fn $name() { super::$name(&$crate::TestDb::postgres()) } )* }
    };
}

/// The variable naming the PostgreSQL server used by tests.
pub const POSTGRES_URL_VAR: &str = "OMNIHUB_TEST_POSTGRES_URL";

/// A database that exists only for one test.
pub enum TestDb {
    /// A SQLite file in its own temporary directory.
    Sqlite {
        /// Keeps the directory alive.
        dir: tempfile::TempDir,
        /// The file's path, usable as a database URL.
        url: String,
    },
    /// A PostgreSQL database created for this test.
    Postgres {
        /// The server URL the database was created through.
        admin_url: String,
        /// The database name.
        name: String,
        /// The URL of the new database.
        url: String,
    },
}

impl TestDb {
    /// A new SQLite file (not created yet: omnihub creates it on first use).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let url = dir.path().join("data").join("omnihub.db").display().to_string();
        Self::Sqlite { dir, url }
    }

    /// A new, empty PostgreSQL database. Panics with a clear message when
    /// `OMNIHUB_TEST_POSTGRES_URL` is unset or the server refuses.
    pub fn postgres() -> Self {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!("{POSTGRES_URL_VAR} is not set; PostgreSQL tests need a server (make test skips them without it)")
        });
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "omnihub_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let mut parsed =
            url::Url::parse(&admin_url).unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a URL: {e}"));
        parsed.set_path(&format!("/{name}"));
        Self::Postgres {
            admin_url,
            name,
            url: parsed.to_string(),
        }
    }

    /// The database URL to give omnihub.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// True for PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }

    /// Runs raw SQL on the database, behind omnihub's back (to set up states the store
    /// refuses to create, or to check what the database itself enforces).
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        match self {
            Self::Sqlite { url, .. } => SqliteConnection::establish(url)
                .map_err(|e| e.to_string())?
                .batch_execute(sql)
                .map_err(|e| e.to_string()),
            Self::Postgres { url, .. } => PgConnection::establish(url)
                .map_err(|e| e.to_string())?
                .batch_execute(sql)
                .map_err(|e| e.to_string()),
        }
    }
}

/// Runs raw SQL on the SQLite file at `path` (to set up what a test cannot create otherwise).
pub fn execute_sqlite(path: &str, sql: &str) -> Result<(), String> {
    SqliteConnection::establish(path)
        .map_err(|e| e.to_string())?
        .batch_execute(sql)
        .map_err(|e| e.to_string())
}

/// Runs raw SQL on the PostgreSQL database at `url` (for fakes that act on the database
/// from another thread, e.g. cutting every connection mid-test).
pub fn execute_postgres(url: &str, sql: &str) -> Result<(), String> {
    PgConnection::establish(url)
        .map_err(|e| e.to_string())?
        .batch_execute(sql)
        .map_err(|e| e.to_string())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name, .. } = self {
            // Best effort: a leftover database is harmless and named after its test run.
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}
