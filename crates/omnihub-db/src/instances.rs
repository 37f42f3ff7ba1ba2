//! The instance store: every read and write of `instance_configs`, each in one transaction.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use omnihub_domain::{InstanceChanges, InstanceConfig, InstanceName, NewInstance};

use crate::conn::{lock_for_writes, write_tx, DbConn};
use crate::database::with_conn;
use crate::error::is_unique_violation;
use crate::rows::{InstanceChangesRow, InstanceRow, NewInstanceRow};
use crate::schema::instance_configs::dsl as ic;
use crate::{Database, DbError};

/// Advisory-lock key serialising instance writes on PostgreSQL.
const INSTANCE_WRITE_LOCK: i64 = 0x6f6d_6e69_6875_6202;

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// The instance that was deleted.
    pub deleted: InstanceName,
    /// The instance promoted to default because the deleted one was the default.
    pub promoted: Option<InstanceName>,
}

/// Reads and writes instances. Obtained from [`Database::instances`].
#[derive(Debug, Clone, Copy)]
pub struct InstanceStore<'a> {
    db: &'a Database,
}

impl<'a> InstanceStore<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Instances ordered by name, skipping `offset` and returning at most `limit`.
    pub fn list(&self, offset: i64, limit: i64) -> Result<Vec<InstanceConfig>, DbError> {
        with_conn(self.db, |conn| {
            let rows = ic::instance_configs
                .select(InstanceRow::as_select())
                .order(ic::name.asc())
                .offset(offset.max(0))
                .limit(limit.max(0))
                .load(conn)?;
            rows.into_iter().map(InstanceConfig::try_from).collect()
        })
    }

    /// How many instances exist.
    pub fn count(&self) -> Result<i64, DbError> {
        with_conn(self.db, |conn| {
            Ok(ic::instance_configs.count().get_result(conn)?)
        })
    }

    /// The instance called `name`, or [`DbError::NotFound`].
    pub fn get(&self, name: &InstanceName) -> Result<InstanceConfig, DbError> {
        with_conn(self.db, |conn| {
            find(conn, name.as_str())?.ok_or_else(|| not_found(name))
        })
    }

    /// The default instance, if there is one.
    pub fn get_default(&self) -> Result<Option<InstanceConfig>, DbError> {
        with_conn(self.db, find_default)
    }

    /// Creates an instance. It becomes the default when asked to, or when no default exists
    /// yet. A taken name is a [`DbError::Conflict`].
    pub fn create(&self, new: &NewInstance) -> Result<InstanceConfig, DbError> {
        with_conn(self.db, |conn| write_tx(conn, |conn| create(conn, new)))
    }

    /// Applies a partial update; untouched fields keep their values. An empty change set
    /// changes nothing (not even `updated_at`).
    pub fn update(&self, name: &InstanceName, changes: &InstanceChanges) -> Result<InstanceConfig, DbError> {
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                lock_for_writes(conn, INSTANCE_WRITE_LOCK)?;
                let current = find(conn, name.as_str())?.ok_or_else(|| not_found(name))?;
                let agent = changes.agent_settings(&current)?;
                changes
                    .check_key(&current)
                    .map_err(|e| DbError::Conflict(e.to_string()))?;
                let now = now();
                let only_default = InstanceChanges {
                    make_default: changes.make_default,
                    ..InstanceChanges::default()
                };
                if *changes != only_default {
                    diesel::update(ic::instance_configs.filter(ic::id.eq(current.id)))
                        .set(InstanceChangesRow::new(changes, agent.as_ref(), now))
                        .execute(conn)?;
                }
                if changes.make_default && !current.is_default {
                    make_default(conn, current.id, now)?;
                }
                find(conn, name.as_str())?.ok_or_else(|| not_found(name))
            })
        })
    }

    /// Makes `name` the default instance (the previous default stops being one).
    pub fn set_default(&self, name: &InstanceName) -> Result<InstanceConfig, DbError> {
        self.update(
            name,
            &InstanceChanges {
                make_default: true,
                ..InstanceChanges::default()
            },
        )
    }

    /// Deletes `name`. Deleting the default while others exist promotes the oldest remaining
    /// instance (reported in the outcome). Deleting the last instance needs `force`.
    pub fn delete(&self, name: &InstanceName, force: bool) -> Result<DeleteOutcome, DbError> {
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                lock_for_writes(conn, INSTANCE_WRITE_LOCK)?;
                let target = find(conn, name.as_str())?.ok_or_else(|| not_found(name))?;
                let total: i64 = ic::instance_configs.count().get_result(conn)?;
                if total == 1 && !force {
                    return Err(DbError::Conflict(format!(
                        "instance '{name}' is the last one; deleting it leaves nothing to answer webhooks, so it needs force"
                    )));
                }
                diesel::delete(ic::instance_configs.filter(ic::id.eq(target.id))).execute(conn)?;
                let promoted = if target.is_default {
                    promote_oldest(conn)?
                } else {
                    None
                };
                Ok(DeleteOutcome {
                    deleted: target.name,
                    promoted,
                })
            })
        })
    }

    /// When instances exist but none is the default, promotes the oldest and returns its name.
    pub fn ensure_default(&self) -> Result<Option<InstanceName>, DbError> {
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                lock_for_writes(conn, INSTANCE_WRITE_LOCK)?;
                match find_default(conn)? {
                    Some(_) => Ok(None),
                    None => promote_oldest(conn),
                }
            })
        })
    }

    /// Creates `new` as the default instance only when the table is empty, in one
    /// transaction; returns the created instance, or `None` when instances already exist.
    pub fn create_if_empty(&self, new: &NewInstance) -> Result<Option<InstanceConfig>, DbError> {
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                lock_for_writes(conn, INSTANCE_WRITE_LOCK)?;
                let total: i64 = ic::instance_configs.count().get_result(conn)?;
                if total > 0 {
                    return Ok(None);
                }
                create(conn, new).map(Some)
            })
        })
    }
}

fn create(conn: &mut DbConn, new: &NewInstance) -> Result<InstanceConfig, DbError> {
    lock_for_writes(conn, INSTANCE_WRITE_LOCK)?;
    let now = now();
    let has_default = find_default(conn)?.is_some();
    if new.is_default && has_default {
        diesel::update(ic::instance_configs.filter(ic::is_default.eq(true)))
            .set((ic::is_default.eq(false), ic::updated_at.eq(now)))
            .execute(conn)?;
    }
    let row = NewInstanceRow::new(new, new.is_default || !has_default, now);
    // RETURNING does not compile through a MultiConnection: insert, then read back.
    diesel::insert_into(ic::instance_configs)
        .values(&row)
        .execute(conn)
        .map_err(|e| match is_unique_violation(&e) {
            true => DbError::Conflict(format!("an instance named '{}' already exists", new.name)),
            false => e.into(),
        })?;
    find(conn, new.name.as_str())?.ok_or_else(|| not_found(&new.name))
}

fn find(conn: &mut DbConn, name: &str) -> Result<Option<InstanceConfig>, DbError> {
    ic::instance_configs
        .select(InstanceRow::as_select())
        .filter(ic::name.eq(name))
        .first(conn)
        .optional()?
        .map(InstanceConfig::try_from)
        .transpose()
}

fn find_default(conn: &mut DbConn) -> Result<Option<InstanceConfig>, DbError> {
    ic::instance_configs
        .select(InstanceRow::as_select())
        .filter(ic::is_default.eq(true))
        .first(conn)
        .optional()?
        .map(InstanceConfig::try_from)
        .transpose()
}

fn make_default(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<(), DbError> {
    // Clear first: the unique index allows one `true` at a time.
    diesel::update(ic::instance_configs.filter(ic::is_default.eq(true)))
        .set((ic::is_default.eq(false), ic::updated_at.eq(now)))
        .execute(conn)?;
    diesel::update(ic::instance_configs.filter(ic::id.eq(id)))
        .set((ic::is_default.eq(true), ic::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

fn promote_oldest(conn: &mut DbConn) -> Result<Option<InstanceName>, DbError> {
    let oldest = ic::instance_configs
        .select(InstanceRow::as_select())
        .order((ic::created_at.asc(), ic::id.asc()))
        .first(conn)
        .optional()?;
    let Some(oldest) = oldest else {
        return Ok(None);
    };
    make_default(conn, oldest.id, now())?;
    Ok(Some(InstanceConfig::try_from(oldest)?.name))
}

fn not_found(name: &InstanceName) -> DbError {
    DbError::NotFound {
        entity: "instance",
        key: name.to_string(),
    }
}

/// Now, in UTC, at the microsecond precision both engines store.
pub(crate) fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
