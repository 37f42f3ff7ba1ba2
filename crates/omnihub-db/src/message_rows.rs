//! Row structs of `messages` and their conversion into the domain's [`MessageRecord`].

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use omnihub_domain::{InboundMessage, MessageContent, MessageRecord, MessageStatus, Stage};

use crate::schema::messages;
use crate::DbError;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = messages)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct MessageRow {
    pub id: i64,
    pub instance_name: String,
    pub message_id: String,
    pub chat_id: String,
    pub author: Option<String>,
    pub sender_name: Option<String>,
    pub phone: Option<String>,
    pub kind: String,
    pub content: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub reply: Option<String>,
    pub parts_total: i32,
    pub parts_sent: i32,
    pub outcome: Option<String>,
    pub error_stage: Option<String>,
    pub error: Option<String>,
    pub received_at: NaiveDateTime,
    pub agent_started_at: Option<NaiveDateTime>,
    pub agent_finished_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub held_since: Option<NaiveDateTime>,
    pub chat_key: String,
    pub skip_reason: Option<String>,
    pub direction: String,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&t)
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = DbError;

    fn try_from(row: MessageRow) -> Result<Self, DbError> {
        let corrupt = |reason: String| DbError::Corrupt {
            entity: "message",
            key: row.id.to_string(),
            reason,
        };
        let content: MessageContent =
            serde_json::from_str(&row.content).map_err(|e| corrupt(format!("content is not valid: {e}")))?;
        let status: MessageStatus = row
            .status
            .parse()
            .map_err(|_| corrupt(format!("unknown status {}", row.status)))?;
        let error_stage: Option<Stage> = row
            .error_stage
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| corrupt(format!("unknown error stage {:?}", row.error_stage)))?;
        let skip_reason = row
            .skip_reason
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| corrupt(format!("unknown skip reason {:?}", row.skip_reason)))?;
        let direction = row
            .direction
            .parse()
            .map_err(|_| corrupt(format!("unknown direction {}", row.direction)))?;
        Ok(Self {
            id: row.id,
            instance: row.instance_name,
            chat_key: row.chat_key,
            skip_reason,
            inbound: InboundMessage {
                message_id: row.message_id,
                chat_id: row.chat_id,
                author: row.author,
                sender_name: row.sender_name,
                phone: row.phone,
                timestamp: None,
                content,
            },
            status,
            attempts: count(row.attempts),
            next_attempt_at: utc(row.next_attempt_at),
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at.map(utc),
            reply: row.reply,
            parts_total: count(row.parts_total),
            parts_sent: count(row.parts_sent),
            outcome: row.outcome,
            error_stage,
            error: row.error,
            received_at: utc(row.received_at),
            agent_started_at: row.agent_started_at.map(utc),
            agent_finished_at: row.agent_finished_at.map(utc),
            sent_at: row.sent_at.map(utc),
            finished_at: row.finished_at.map(utc),
            held_since: row.held_since.map(utc),
            direction,
        })
    }
}

/// A row to insert: a newly accepted message.
#[derive(Insertable)]
#[diesel(table_name = messages)]
pub(crate) struct NewMessageRow<'a> {
    pub instance_name: &'a str,
    pub message_id: &'a str,
    pub chat_id: &'a str,
    pub author: Option<&'a str>,
    pub sender_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub kind: &'a str,
    pub content: String,
    pub status: &'a str,
    pub next_attempt_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub chat_key: &'a str,
    pub skip_reason: Option<&'static str>,
    pub finished_at: Option<NaiveDateTime>,
    pub direction: &'static str,
}

impl<'a> NewMessageRow<'a> {
    pub(crate) fn new(
        instance: &'a str,
        message: &'a InboundMessage,
        chat_key: &'a str,
        now: NaiveDateTime,
    ) -> Result<Self, DbError> {
        let content = serde_json::to_string(&message.content).map_err(|e| DbError::Query(Box::new(e)))?;
        Ok(Self {
            instance_name: instance,
            message_id: &message.message_id,
            chat_id: &message.chat_id,
            author: message.author.as_deref(),
            sender_name: message.sender_name.as_deref(),
            phone: message.phone.as_deref(),
            kind: message.content.kind.as_str(),
            content,
            status: MessageStatus::Queued.as_str(),
            next_attempt_at: now,
            received_at: now,
            chat_key,
            skip_reason: None,
            finished_at: None,
            direction: omnihub_domain::Direction::Inbound.as_str(),
        })
    }

    /// The same row stored as skipped for `reason`: finished as it arrives.
    pub(crate) fn skipped(self, reason: omnihub_domain::SkipReason) -> Self {
        Self {
            status: MessageStatus::Skipped.as_str(),
            skip_reason: Some(reason.as_str()),
            finished_at: Some(self.received_at),
            ..self
        }
    }
}
