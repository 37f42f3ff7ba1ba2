//! Statements Diesel's common DSL cannot express through the multi-engine connection.

use diesel::prelude::*;

use crate::conn::DbConn;
use crate::message_rows::NewMessageRow;
use crate::schema::messages;

/// Inserts a message unless the instance already has its id; true when it was new. One
/// statement either way (`INSERT OR IGNORE` / `ON CONFLICT DO NOTHING`), so a duplicate
/// neither aborts a PostgreSQL transaction nor costs a savepoint.
pub(crate) fn insert_message_if_new(conn: &mut DbConn, row: &NewMessageRow<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(messages::table)
            .values(row)
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(messages::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}
