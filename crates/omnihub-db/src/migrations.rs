//! Embedded migrations, one folder per engine with the same version names in both.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::conn::DbConn;
use crate::DbError;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Key of the PostgreSQL advisory lock that makes concurrent start-ups migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x6f6d_6e69_6875_6201;

/// Applies every pending migration and returns the versions applied.
///
/// On PostgreSQL the run holds a session advisory lock, so replicas starting together
/// apply each migration once; the others wait, then find nothing pending.
pub(crate) fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    let names = |versions: Vec<diesel::migration::MigrationVersion<'_>>| {
        versions.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(names).map_err(failed),
        DbConn::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let outcome = c.run_pending_migrations(POSTGRES).map(names).map_err(failed);
            let unlock = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
            let versions = outcome?;
            unlock?;
            Ok(versions)
        }
    }
}

/// Reverts every applied migration (drops omnihub's tables) and returns the versions reverted.
pub(crate) fn revert_all(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    let versions = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE).map_err(failed)?,
        DbConn::Postgres(c) => c.revert_all_migrations(POSTGRES).map_err(failed)?,
    };
    Ok(versions.iter().map(ToString::to_string).collect())
}

/// Reverts the newest applied migration and returns its version.
pub(crate) fn revert_last(conn: &mut DbConn) -> Result<String, DbError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    let version = match conn {
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE).map_err(failed)?,
        DbConn::Postgres(c) => c.revert_last_migration(POSTGRES).map_err(failed)?,
    };
    Ok(version.to_string())
}

/// The versions embedded for each engine, for the test that keeps the folders in step.
pub(crate) fn embedded_versions() -> Result<(Vec<String>, Vec<String>), DbError> {
    use diesel::migration::MigrationSource;
    let names = |source: EmbeddedMigrations| -> Result<Vec<String>, DbError> {
        let migrations = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(migrations
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    };
    Ok((names(SQLITE)?, names(POSTGRES)?))
}
