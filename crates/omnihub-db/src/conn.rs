//! One connection type for both engines, how it is opened, and the pool manager.

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::{DatabaseUrl, DbError};

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// WAL pages after which a committing connection checkpoints by itself. Large, because the
/// server checkpoints in the background ([`crate::Database::checkpoint`]) so commits on the
/// webhook path do not pay for it; this is only the safety net when nobody does.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// A connection to either engine; every query in this crate is written once against it.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConn {
    /// A PostgreSQL connection.
    Postgres(PgConnection),
    /// A SQLite connection with omnihub's pragmas applied.
    Sqlite(SqliteConnection),
}

/// Opens a connection of the engine the URL names, so failures carry the driver's real
/// reason (`MultiConnection::establish` would report every failure as an invalid URL).
pub(crate) fn establish(url: &DatabaseUrl) -> Result<DbConn, DbError> {
    let unavailable = |reason: String| DbError::Unavailable {
        url: url.to_string(),
        reason,
    };
    match url {
        DatabaseUrl::Postgres(text) => PgConnection::establish(text)
            .map(DbConn::Postgres)
            .map_err(|e| unavailable(one_line(&e.to_string()))),
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
            }
            let text = path
                .to_str()
                .ok_or_else(|| unavailable("the path is not valid UTF-8".into()))?;
            let mut conn = SqliteConnection::establish(text).map_err(|e| unavailable(e.to_string()))?;
            // busy_timeout first, so the WAL switch itself waits for other writers.
            let pragmas = format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192; \
                 PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}; PRAGMA journal_size_limit = 67108864;"
            );
            conn.batch_execute(&pragmas)
                .map_err(|e| unavailable(format!("cannot open the SQLite file: {e}")))?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// libpq reports failures over several indented lines; callers print one sentence.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `work` in one transaction: `BEGIN IMMEDIATE` on SQLite (the write lock is taken
/// up front, so a read lock is never upgraded into `SQLITE_BUSY`), `BEGIN` on PostgreSQL.
/// Rolls back when `work` fails.
pub(crate) fn write_tx<T>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    use diesel::connection::AnsiTransactionManager as Ansi;
    // The transaction state lives in the inner connection's manager, so beginning it on the
    // inner connection and running `work` on the wrapper is the same transaction.
    match conn {
        DbConn::Sqlite(c) => Ansi::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Postgres(c) => Ansi::begin_transaction(c)?,
    }
    let outcome = work(conn);
    let finish = match (&outcome, &mut *conn) {
        (Ok(_), DbConn::Sqlite(c)) => Ansi::commit_transaction(c),
        (Ok(_), DbConn::Postgres(c)) => Ansi::commit_transaction(c),
        (Err(_), DbConn::Sqlite(c)) => Ansi::rollback_transaction(c),
        (Err(_), DbConn::Postgres(c)) => Ansi::rollback_transaction(c),
    };
    match (outcome, finish) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(commit_err)) => {
            // A failed COMMIT leaves the transaction open on some engines; close it.
            let _ = match conn {
                DbConn::Sqlite(c) => Ansi::rollback_transaction(c),
                DbConn::Postgres(c) => Ansi::rollback_transaction(c),
            };
            Err(commit_err.into())
        }
        // The work's error is the one worth reporting; a broken rollback marks the
        // connection broken and the pool discards it.
        (Err(err), _) => Err(err),
    }
}

/// Serialises writers of one kind on PostgreSQL for the rest of the transaction
/// (SQLite's `BEGIN IMMEDIATE` already does). Used so two concurrent "make X default"
/// calls run one after the other instead of one failing on the unique index.
pub(crate) fn lock_for_writes(conn: &mut DbConn, key: i64) -> Result<(), DbError> {
    if let DbConn::Postgres(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))?;
    }
    Ok(())
}

/// The r2d2 manager: opens connections with [`establish`] and checks them before reuse.
#[derive(Debug)]
pub(crate) struct ConnectionManager {
    pub(crate) url: DatabaseUrl,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        match conn {
            DbConn::Postgres(c) => c.is_broken(),
            DbConn::Sqlite(c) => c.is_broken(),
        }
    }
}
