//! One server per SQLite file: a second one would claim the same messages without the
//! row locks PostgreSQL gives, so it refuses to start instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

/// Holds the lock for as long as it lives (the operating system releases it when the
/// process dies, even on SIGKILL).
#[derive(Debug)]
pub struct SqliteServerLock {
    _file: File,
    path: PathBuf,
}

impl SqliteServerLock {
    /// Takes the exclusive lock `{database}.lock`, or explains who holds it.
    pub fn acquire(database: &Path) -> anyhow::Result<Self> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(anyhow!(
                "another omnihub-server is already using the SQLite database {} (it holds {}); SQLite serves one server at a time, run several replicas on PostgreSQL",
                database.display(),
                path.display()
            )),
            Err(TryLockError::Error(e)) => Err(anyhow!("cannot lock {}: {e}", path.display())),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
