//! Each instance's WhatsApp connection as Evolution last reported it, and the replies held
//! while it is not `open`: a report that opens the connection releases them at once.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use omnihub_domain::{Connection, ConnectionReport, ConnectionState};

use crate::conn::{write_tx, DbConn};
use crate::database::with_conn;
use crate::error::write_error;
use crate::schema::chat_queues::dsl as q;
use crate::schema::instance_connections;
use crate::schema::instance_connections::dsl as ic;
use crate::schema::messages::dsl as m;
use crate::{Database, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = instance_connections)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct ConnectionRow {
    instance_name: String,
    state: String,
    since: NaiveDateTime,
    reason_code: Option<i64>,
    reason: Option<String>,
    last_qr_at: Option<NaiveDateTime>,
    number: Option<String>,
    profile_name: Option<String>,
    updated_at: NaiveDateTime,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&t)
}

impl ConnectionRow {
    fn into_domain(self) -> Result<(String, Connection), DbError> {
        let state: ConnectionState = self.state.parse().map_err(|_| DbError::Corrupt {
            entity: "instance connection",
            key: self.instance_name.clone(),
            reason: format!("unknown state {}", self.state),
        })?;
        let connection = Connection {
            state,
            since: utc(self.since),
            reason_code: self.reason_code,
            reason: self.reason,
            last_qr_at: self.last_qr_at.map(utc),
            number: self.number,
            profile_name: self.profile_name,
            updated_at: utc(self.updated_at),
        };
        Ok((self.instance_name, connection))
    }
}

/// What a report changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The state before (`None`: never reported).
    pub before: Option<ConnectionState>,
    /// The connection now.
    pub now: Connection,
    /// How many held replies were released (made due now) because the state became `open`.
    pub released: usize,
}

/// Connection states. Obtained from [`Database::connections`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionStore<'a> {
    db: &'a Database,
}

impl<'a> ConnectionStore<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// The stored connection of `instance`, if Evolution ever reported one.
    pub fn get(&self, instance: &str) -> Result<Option<Connection>, DbError> {
        let row: Option<ConnectionRow> = with_conn(self.db, |conn| {
            Ok(ic::instance_connections
                .filter(ic::instance_name.eq(instance))
                .select(ConnectionRow::as_select())
                .first(conn)
                .optional()?)
        })?;
        row.map(|r| r.into_domain().map(|(_, c)| c)).transpose()
    }

    /// Every stored connection, by instance name.
    pub fn list(&self) -> Result<Vec<(String, Connection)>, DbError> {
        let rows: Vec<ConnectionRow> = with_conn(self.db, |conn| {
            Ok(ic::instance_connections
                .select(ConnectionRow::as_select())
                .order(ic::instance_name)
                .load(conn)?)
        })?;
        rows.into_iter().map(ConnectionRow::into_domain).collect()
    }

    /// Merges `report` into the stored connection of `instance` (an unknown instance is
    /// [`DbError::NotFound`]). A report that moves the state to `open` releases the held
    /// replies of the instance in the same transaction.
    pub fn report(&self, instance: &str, report: &ConnectionReport) -> Result<Reported, DbError> {
        let at = self.db.now_naive();
        with_conn(self.db, |conn| {
            write_tx(conn, |conn| {
                let stored: Option<ConnectionRow> = ic::instance_connections
                    .filter(ic::instance_name.eq(instance))
                    .select(ConnectionRow::as_select())
                    .first(conn)
                    .optional()?;
                let before = stored
                    .as_ref()
                    .and_then(|row| row.state.parse::<ConnectionState>().ok());
                let row = merge(instance, stored, report, at);
                let exists = before.is_some();
                let write = if exists {
                    diesel::update(ic::instance_connections.filter(ic::instance_name.eq(instance)))
                        .set(&row)
                        .execute(conn)
                } else {
                    diesel::insert_into(ic::instance_connections)
                        .values(&row)
                        .execute(conn)
                };
                write.map_err(|e| match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                        _,
                    ) => DbError::NotFound {
                        entity: "instance",
                        key: instance.to_owned(),
                    },
                    other => write_error(other),
                })?;
                let opened =
                    row.state == ConnectionState::Open.as_str() && before != Some(ConnectionState::Open);
                let released = if opened {
                    release_held(conn, instance, at)?
                } else {
                    0
                };
                let (_, now) = row.into_domain()?;
                Ok(Reported {
                    before,
                    now,
                    released,
                })
            })
        })
    }
}

fn merge(
    instance: &str,
    stored: Option<ConnectionRow>,
    report: &ConnectionReport,
    at: NaiveDateTime,
) -> ConnectionRow {
    let mut row = stored.unwrap_or_else(|| ConnectionRow {
        instance_name: instance.to_owned(),
        state: ConnectionState::Connecting.as_str().to_owned(),
        since: at,
        reason_code: None,
        reason: None,
        last_qr_at: None,
        number: None,
        profile_name: None,
        updated_at: at,
    });
    if let Some(state) = report.state {
        if row.state != state.as_str() {
            row.state = state.as_str().to_owned();
            row.since = at;
        }
        // A state report carries its own reason (or none, which clears the old one).
        row.reason_code = report.reason_code;
        row.reason.clone_from(&report.reason);
    }
    if report.qr {
        row.last_qr_at = Some(at);
    }
    if report.number.is_some() {
        row.number.clone_from(&report.number);
    }
    if report.profile_name.is_some() {
        row.profile_name.clone_from(&report.profile_name);
    }
    row.updated_at = at;
    row
}

/// Held replies of `instance` become due now (their chats' queue rows too); how many.
fn release_held(conn: &mut DbConn, instance: &str, at: NaiveDateTime) -> Result<usize, DbError> {
    let held = m::messages
        .filter(m::instance_name.eq(instance))
        .filter(m::status.eq("queued"))
        .filter(m::held_since.is_not_null());
    let ids: Vec<i64> = held.select(m::id).load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(m::messages.filter(m::id.eq_any(&ids)))
        .set(m::next_attempt_at.eq(at))
        .execute(conn)?;
    diesel::update(q::chat_queues.filter(q::head_id.eq_any(&ids)))
        .set(q::due_at.eq(at))
        .execute(conn)?;
    Ok(ids.len())
}
