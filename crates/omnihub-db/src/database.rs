//! The connection pool and the entry point of the crate.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use omnihub_domain::{Clock, SystemClock};

use crate::conn::{establish, ConnectionManager, DbConn};
use crate::{migrations, DatabaseUrl, DbError, Engine, InstanceStore};

/// Pool sizing and waiting limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once (SQLite has one writer at a time, so keep it small).
    pub max_connections: u32,
    /// How long a caller waits for a free or new connection before getting
    /// [`DbError::Unavailable`].
    pub connect_timeout: Duration,
}

impl PoolOptions {
    /// Sensible defaults for `engine`: 4 connections on SQLite, 10 on PostgreSQL, 5 s wait.
    pub fn for_engine(engine: Engine) -> Self {
        Self {
            max_connections: match engine {
                Engine::Sqlite => 4,
                Engine::Postgres => 10,
            },
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// How busy the pool is, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections currently open.
    pub connections: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The configured maximum.
    pub max_connections: u32,
}

/// omnihub's database: a pool of connections to SQLite or PostgreSQL. Cheap to clone.
///
/// Every method is synchronous and may block; async callers run them on a blocking pool.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
    url: DatabaseUrl,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens a pool with [`PoolOptions::for_engine`]. Fails at once, with the driver's
    /// reason, when the database cannot be reached. Does not migrate: call
    /// [`Database::migrate`].
    pub fn connect(url: &DatabaseUrl) -> Result<Self, DbError> {
        Self::connect_with(url, PoolOptions::for_engine(url.engine()))
    }

    /// Opens a pool with explicit options.
    pub fn connect_with(url: &DatabaseUrl, options: PoolOptions) -> Result<Self, DbError> {
        // One direct connection first: r2d2 would only report a timeout after waiting.
        drop(establish(url)?);
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            // A round trip per checkout is too dear on the message path; a connection that
            // broke fails its query, is reported as broken and is replaced by the pool.
            .test_on_check_out(false)
            .build_unchecked(ConnectionManager { url: url.clone() });
        Ok(Self {
            pool,
            url: url.clone(),
            clock: Arc::new(SystemClock),
        })
    }

    /// The same database telling time by `clock`: every timestamp the message log writes
    /// and compares (arrival, due time of a retry, lease expiry, retention) comes from it.
    /// Tests pass a [`omnihub_domain::ManualClock`] to move time instead of sleeping.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A second pool of at most `max_connections` to the same database, with the same clock
    /// (for threads that keep connections of their own).
    pub fn dedicated(&self, max_connections: u32) -> Result<Self, DbError> {
        let options = PoolOptions {
            max_connections,
            ..PoolOptions::for_engine(self.engine())
        };
        Ok(Self::connect_with(&self.url, options)?.with_clock(self.clock.clone()))
    }

    /// The time by this database's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The time as stored: UTC without zone, microseconds (both engines keep that much).
    pub(crate) fn now_naive(&self) -> NaiveDateTime {
        self.clock.now().naive_utc().trunc_subsecs(6)
    }

    /// Applies pending migrations; returns the versions applied (empty when up to date).
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        migrations::run_pending(&mut *self.conn()?)
    }

    /// Reverts every migration, dropping omnihub's tables and their data. For tests and
    /// deliberate downgrades only.
    pub fn revert_all_migrations(&self) -> Result<Vec<String>, DbError> {
        migrations::revert_all(&mut *self.conn()?)
    }

    /// Reverts the newest migration (a downgrade by one version, or an upgrade test's
    /// starting point) and returns its version.
    pub fn revert_last_migration(&self) -> Result<String, DbError> {
        migrations::revert_last(&mut *self.conn()?)
    }

    /// Checks that the database answers a trivial query.
    pub fn ping(&self) -> Result<(), DbError> {
        use diesel::connection::SimpleConnection;
        self.conn()?.batch_execute("SELECT 1").map_err(DbError::from)
    }

    /// On SQLite, copies committed WAL frames into the database file without blocking
    /// writers (`PRAGMA wal_checkpoint(PASSIVE)`); returns the frames checkpointed. A no-op on
    /// PostgreSQL. The server calls it every few hundred milliseconds.
    pub fn checkpoint(&self) -> Result<i64, DbError> {
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct Checkpoint {
            #[diesel(sql_type = BigInt)]
            checkpointed: i64,
        }
        let mut conn = self.conn()?;
        match &mut *conn {
            DbConn::Sqlite(c) => {
                use diesel::RunQueryDsl;
                let rows: Vec<Checkpoint> = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").load(c)?;
                Ok(rows.first().map_or(0, |r| r.checkpointed))
            }
            DbConn::Postgres(_) => Ok(0),
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.url.engine()
    }

    /// Where the database is (prints without a password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The pool's current state.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max_connections: self.pool.max_size(),
        }
    }

    /// The instance store.
    pub fn instances(&self) -> InstanceStore<'_> {
        InstanceStore::new(self)
    }

    /// The message log.
    pub fn messages(&self) -> crate::MessageStore<'_> {
        crate::MessageStore::new(self)
    }

    /// The admin console's signed-in sessions.
    pub fn console_sessions(&self) -> crate::ConsoleSessionStore<'_> {
        crate::ConsoleSessionStore::new(self)
    }

    /// Each instance's WhatsApp connection as Evolution last reported it.
    pub fn connections(&self) -> crate::ConnectionStore<'_> {
        crate::ConnectionStore::new(self)
    }

    /// Chats and the conversation rules' memory of them.
    pub fn chats(&self) -> crate::ChatStore<'_> {
        crate::ChatStore::new(self)
    }

    /// The conversation states agents keep between turns.
    pub fn conversations(&self) -> crate::ConversationStore<'_> {
        crate::ConversationStore::new(self)
    }

    /// A pooled connection, or [`DbError::Unavailable`] with the pool's reason.
    pub(crate) fn conn(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, DbError> {
        self.pool.get().map_err(|e| DbError::Unavailable {
            url: self.url.to_string(),
            reason: e.to_string(),
        })
    }
}

/// Runs `work` with a pooled connection.
pub(crate) fn with_conn<T>(
    db: &Database,
    work: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    work(&mut *db.conn()?)
}

/// The embedded migration versions per engine: `(sqlite, postgres)`.
pub fn embedded_migration_versions() -> Result<(Vec<String>, Vec<String>), DbError> {
    migrations::embedded_versions()
}
