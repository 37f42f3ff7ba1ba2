//! Copying one omnihub database into another (SQLite → PostgreSQL when a box outgrows SQLite).

use diesel::prelude::*;

use crate::chat_rows::ChatRow;
use crate::conn::write_tx;
use crate::conversations::ConversationRow;
use crate::database::with_conn;
use crate::message_rows::MessageRow;
use crate::rows::{InstanceRow, NewInstanceRow};
use crate::schema::{self, conversations, instance_configs, messages};
use crate::{Database, DbError};

/// What a copy did, verified by counting the target afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyReport {
    /// Instances copied.
    pub instances: usize,
    /// Messages copied (unfinished ones, plus finished ones when asked).
    pub messages: usize,
    /// Finished messages left behind.
    pub finished_skipped: usize,
    /// Conversation states (agent memory) copied.
    pub conversations: usize,
    /// Chats (pauses, trigger sessions, counts) copied, with every address of their people.
    pub chats: usize,
}

#[derive(Insertable)]
#[diesel(table_name = messages)]
struct CopiedMessage {
    instance_name: String,
    message_id: String,
    chat_id: String,
    author: Option<String>,
    sender_name: Option<String>,
    phone: Option<String>,
    kind: String,
    content: String,
    status: String,
    attempts: i32,
    next_attempt_at: chrono::NaiveDateTime,
    reply: Option<String>,
    parts_total: i32,
    parts_sent: i32,
    outcome: Option<String>,
    error_stage: Option<String>,
    error: Option<String>,
    received_at: chrono::NaiveDateTime,
    agent_started_at: Option<chrono::NaiveDateTime>,
    agent_finished_at: Option<chrono::NaiveDateTime>,
    sent_at: Option<chrono::NaiveDateTime>,
    finished_at: Option<chrono::NaiveDateTime>,
    chat_key: String,
    skip_reason: Option<String>,
    direction: String,
}

impl From<MessageRow> for CopiedMessage {
    fn from(r: MessageRow) -> Self {
        // A lease of the old database means nothing in the new one: unfinished work is queued.
        let status = if r.status == "processing" {
            "queued".to_owned()
        } else {
            r.status
        };
        Self {
            instance_name: r.instance_name,
            message_id: r.message_id,
            chat_id: r.chat_id,
            author: r.author,
            sender_name: r.sender_name,
            phone: r.phone,
            kind: r.kind,
            content: r.content,
            status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            reply: r.reply,
            parts_total: r.parts_total,
            parts_sent: r.parts_sent,
            outcome: r.outcome,
            error_stage: r.error_stage,
            error: r.error,
            received_at: r.received_at,
            agent_started_at: r.agent_started_at,
            agent_finished_at: r.agent_finished_at,
            sent_at: r.sent_at,
            finished_at: r.finished_at,
            chat_key: r.chat_key,
            skip_reason: r.skip_reason,
            direction: r.direction,
        }
    }
}

/// Copies every instance and every unfinished message (all messages with
/// `include_finished`) from `source` into `target`, in one transaction on the target, keeping
/// arrival order, then verifies the counts. The target must be migrated and empty.
pub fn copy_database(
    source: &Database,
    target: &Database,
    include_finished: bool,
) -> Result<CopyReport, DbError> {
    let instances: Vec<InstanceRow> = with_conn(source, |conn| {
        Ok(instance_configs::table
            .select(InstanceRow::as_select())
            .order((instance_configs::created_at.asc(), instance_configs::id.asc()))
            .load(conn)?)
    })?;
    let all: Vec<MessageRow> = with_conn(source, |conn| {
        Ok(messages::table
            .select(MessageRow::as_select())
            .order(messages::id.asc())
            .load(conn)?)
    })?;
    let states: Vec<ConversationRow> = with_conn(source, |conn| {
        Ok(conversations::table
            .select(ConversationRow::as_select())
            .load(conn)?)
    })?;
    let chats: Vec<ChatRow> = with_conn(source, |conn| {
        Ok(schema::chats::table.select(ChatRow::as_select()).load(conn)?)
    })?;
    let aliases: Vec<(String, String, String)> =
        with_conn(source, |conn| Ok(schema::chat_aliases::table.load(conn)?))?;
    let total = all.len();
    let copied: Vec<CopiedMessage> = all
        .into_iter()
        .filter(|m| include_finished || m.status == "queued" || m.status == "processing")
        .map(CopiedMessage::from)
        .collect();
    let report = CopyReport {
        instances: instances.len(),
        messages: copied.len(),
        finished_skipped: total - copied.len(),
        conversations: states.len(),
        chats: chats.len(),
    };

    with_conn(target, |conn| {
        write_tx(conn, |conn| {
            let existing: i64 = instance_configs::table.count().get_result(conn)?;
            let existing_messages: i64 = messages::table.count().get_result(conn)?;
            if existing > 0 || existing_messages > 0 {
                return Err(DbError::Conflict(format!(
                    "the target database already has {existing} instances and {existing_messages} messages; copy into an empty database"
                )));
            }
            for row in &instances {
                let new = NewInstanceRow::from_row(row);
                diesel::insert_into(instance_configs::table)
                    .values(&new)
                    .execute(conn)?;
            }
            // One row at a time: multi-row INSERT does not compile through a MultiConnection,
            // and the whole copy is one transaction anyway.
            for message in &copied {
                diesel::insert_into(messages::table)
                    .values(message)
                    .execute(conn)?;
            }
            for state in &states {
                diesel::insert_into(conversations::table)
                    .values(state)
                    .execute(conn)?;
            }
            for chat in &chats {
                diesel::insert_into(schema::chats::table)
                    .values(chat)
                    .execute(conn)?;
            }
            for (instance, address, key) in &aliases {
                use schema::chat_aliases::dsl as a;
                diesel::insert_into(a::chat_aliases)
                    .values((
                        a::instance_name.eq(instance),
                        a::address.eq(address),
                        a::chat_key.eq(key),
                    ))
                    .execute(conn)?;
            }
            // The copied unfinished messages need their chats' queue rows.
            crate::queues::rebuild(conn)?;
            let instances_now: i64 = instance_configs::table.count().get_result(conn)?;
            let messages_now: i64 = messages::table.count().get_result(conn)?;
            if usize::try_from(instances_now).ok() != Some(report.instances)
                || usize::try_from(messages_now).ok() != Some(report.messages)
            {
                return Err(DbError::Conflict(format!(
                    "count check failed after the copy ({instances_now} instances, {messages_now} messages in the target); nothing was committed"
                )));
            }
            Ok(report)
        })
    })
}
