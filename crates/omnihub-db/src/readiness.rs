//! The readiness check: the database answers, its file is still where it was opened
//! (SQLite keeps writing to a deleted file), and it holds omnihub's schema at the version
//! this build needs.

use diesel::sql_types::Text;
use diesel::RunQueryDsl;

use crate::{Database, DatabaseUrl, DbError};

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

impl Database {
    /// Ok when the database can serve omnihub: it answers, (SQLite) its file exists, and
    /// its newest applied migration is at least the newest this build embeds. The error
    /// says which of these failed and what to do.
    pub fn readiness(&self) -> Result<(), DbError> {
        if let DatabaseUrl::Sqlite(path) = self.url() {
            if !path.exists() {
                return Err(DbError::Unavailable {
                    url: self.url().to_string(),
                    reason: "the database file no longer exists (was it deleted or moved?); restart the server to recreate it".into(),
                });
            }
        }
        let mut conn = self.conn()?;
        let applied: Option<Version> =
            diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1")
                .get_result(&mut *conn)
                .map(Some)
                .or_else(|err| match err {
                    diesel::result::Error::NotFound => Ok(None),
                    other => Err(DbError::Migration(format!(
                        "omnihub's tables are missing or unreadable ({other}); run omnihub-server migrate"
                    ))),
                })?;
        let (sqlite, postgres) = crate::migrations::embedded_versions()?;
        let embedded = match self.url() {
            DatabaseUrl::Sqlite(_) => sqlite,
            DatabaseUrl::Postgres(_) => postgres,
        };
        let needed = embedded.into_iter().max().unwrap_or_default();
        match applied {
            Some(Version { version }) if version >= needed => Ok(()),
            found => Err(DbError::Migration(format!(
                "the schema is at version {}, this build needs {needed}; run omnihub-server migrate",
                found.map_or_else(|| "none".to_owned(), |v| v.version)
            ))),
        }
    }

    /// Commits one small write (the `readiness_probe` row), so readiness can tell whether
    /// the database takes writes again after a failed commit without waiting for traffic.
    pub fn probe_write(&self) -> Result<(), DbError> {
        let mut conn = self.conn()?;
        diesel::sql_query(
            "INSERT INTO readiness_probe (id, checked_at) VALUES (1, CURRENT_TIMESTAMP) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .execute(&mut *conn)
        .map(drop)
        .map_err(crate::error::write_error)
    }
}
