//! The one error type of the persistence crate.

use omnihub_domain::DomainError;

/// Everything that can go wrong while reading or writing omnihub's database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The requested row does not exist.
    #[error("{entity} '{key}' not found")]
    NotFound {
        /// What was looked for (e.g. `instance`).
        entity: &'static str,
        /// The key it was looked for by.
        key: String,
    },
    /// The write would break a uniqueness rule or needs confirmation (e.g. `force`).
    #[error("{0}")]
    Conflict(String),
    /// The database URL cannot be used.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database cannot be reached or opened (the URL is shown without its password).
    #[error("cannot connect to the database at {url}: {reason}")]
    Unavailable {
        /// The URL with any password replaced by `****`.
        url: String,
        /// What the driver or pool reported.
        reason: String,
    },
    /// Applying or reverting migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A value given to a store function, or found in a row, breaks a domain rule.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A stored row cannot be turned into a domain value (edited by hand?).
    #[error("stored {entity} '{key}' is invalid: {reason}")]
    Corrupt {
        /// The kind of row.
        entity: &'static str,
        /// Its key.
        key: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The database refused one row for its content (a limit, a constraint, an encoding it
    /// cannot store), while it is otherwise working: retrying the same row cannot succeed.
    #[error("the database refused the row: {0}")]
    Refused(String),
    /// The connection broke under the statement (closed, terminated by the server, a
    /// failover); the pool drops it, and the same work may succeed on another connection.
    #[error("the database connection was lost: {0}")]
    ConnectionLost(String),
    /// The write lost a race with another transaction (a deadlock, a serialization
    /// failure): nothing is wrong with it, and applying it again (alone) succeeds.
    #[error("the write collided with another transaction: {0}")]
    Contention(String),
    /// Any other query failure.
    #[error("database query failed: {0}")]
    Query(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DbError {
    /// True when the error is about the database being unreachable rather than the request.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// True when the database refused a row for its content ([`DbError::Refused`]).
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused(_))
    }

    /// True when the write only collided with another one ([`DbError::Contention`]).
    pub fn is_contention(&self) -> bool {
        matches!(self, Self::Contention(_))
    }
}

/// Sorts the failure of a write: the database refusing the row for its content
/// ([`DbError::Refused`]) or anything else (connection lost, busy, a bug). Only a statement
/// the server answered with an error about the data counts as refused.
pub(crate) fn write_error(err: diesel::result::Error) -> DbError {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match &err {
        Error::DatabaseError(Kind::SerializationFailure, info) => {
            DbError::Contention(info.message().to_owned())
        }
        Error::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
            DbError::Contention(info.message().to_owned())
        }
        Error::DatabaseError(Kind::ClosedConnection | Kind::ReadOnlyTransaction, _) => {
            DbError::Query(Box::new(err))
        }
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            // SQLite reports a lock held past busy_timeout, PostgreSQL a server going away,
            // as generic errors: the row is not at fault.
            let transient = [
                "locked",
                "busy",
                "terminating connection",
                "server closed",
                "could not",
                "timeout",
                "out of memory",
                "disk",
            ]
            .iter()
            .any(|needle| message.contains(needle));
            if transient {
                DbError::Query(Box::new(err))
            } else {
                DbError::Refused(info.message().to_owned())
            }
        }
        _ => DbError::Query(Box::new(err)),
    }
}

impl From<diesel::result::Error> for DbError {
    /// A lost connection (closed, terminated by the server) is [`DbError::ConnectionLost`]:
    /// the statement was fine, the next connection may run it.
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let lost = match &err {
            Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => true,
            Error::DatabaseError(_, info) => {
                let message = info.message().to_ascii_lowercase();
                [
                    "terminating connection",
                    "server closed the connection",
                    "connection to server",
                    "no connection to the server",
                ]
                .iter()
                .any(|needle| message.contains(needle))
            }
            _ => false,
        };
        if lost {
            return Self::ConnectionLost(err.to_string());
        }
        Self::Query(Box::new(err))
    }
}

/// True when `err` is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
