//! Messages a person sends through an instance's number (API, console, CLI): stored in the
//! log and queued in their chat, so they go out in the chat's order after any reply in
//! flight, with the same retries; the chat is taken over unless the sender keeps the bot.

use diesel::prelude::*;
use omnihub_domain::{
    phone_from_jid, Chat, ConversationRules, Direction, InstanceName, MessageRecord, MessageStatus, Outbound,
};

use crate::chat_rows::{self, ChatRow};
use crate::chats::{find, not_found, resolve};
use crate::conn::{write_tx, DbConn};
use crate::database::with_conn;
use crate::error::write_error;
use crate::message_rows::{MessageRow, NewMessageRow};
use crate::messages::id_of;
use crate::schema::instance_configs::dsl as ic;
use crate::schema::messages::dsl as m;
use crate::{dialect, queues, DbError, MessageStore};

/// What became of a send.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The log id of the outbound message (the first one's, for a repeated idempotency key).
    pub id: i64,
    /// True when the idempotency key was used before: nothing new was queued.
    pub duplicate: bool,
    /// The chat it went to, as it is now (paused by the send unless `keep_bot`).
    pub chat: Chat,
}

impl MessageStore<'_> {
    /// Stores `outbound` as message `message_id` ([`Outbound::message_id`]) of `instance`,
    /// queued in its chat, sent by `sender` (`api`, `console`, `cli`). Unless
    /// `outbound.keep_bot`, the chat is paused like a takeover from the phone (the rule
    /// `takeover_minutes`; a longer pause already in force is kept).
    pub fn send(
        &self,
        instance: &InstanceName,
        outbound: &Outbound,
        message_id: &str,
        sender: &str,
    ) -> Result<Sent, DbError> {
        let at = self.db().now_naive();
        let name = instance.as_str();
        with_conn(self.db(), |conn| {
            write_tx(conn, |conn| {
                let rules = rules_of(conn, name)?;
                let key = resolve(conn, name, &outbound.to)?;
                if let Some(id) = id_of(conn, name, message_id).optional()? {
                    let chat = find(conn, name, &key)?.ok_or_else(|| not_found(&outbound.to))?;
                    return Ok(Sent {
                        id,
                        duplicate: true,
                        chat: chat.into_chat(),
                    });
                }
                let locked = chat_rows::lock_or_create(conn, name, std::slice::from_ref(&key), at)?;
                let chat = locked.into_iter().next().ok_or_else(|| not_found(&outbound.to))?;
                // Named by any address of the person, it goes where replies go: the address
                // their latest message came from.
                let address = chat.last_address.clone().unwrap_or_else(|| outbound.to.clone());
                let message = omnihub_domain::InboundMessage {
                    message_id: message_id.to_owned(),
                    chat_id: address.clone(),
                    author: None,
                    sender_name: Some(sender.to_owned()),
                    phone: phone_from_jid(&address),
                    timestamp: None,
                    content: outbound.content.clone(),
                };
                let row = NewMessageRow {
                    direction: Direction::Outbound.as_str(),
                    ..NewMessageRow::new(name, &message, &key, at)?
                };
                if !dialect::insert_message_if_new(conn, &row).map_err(write_error)? {
                    return Err(DbError::Conflict(format!(
                        "message {message_id} of '{name}' was written by another request meanwhile; send again with the same idempotency key"
                    )));
                }
                queues::enqueue(conn, name, message_id).map_err(write_error)?;
                let now = chrono::TimeZone::from_utc_datetime(&chrono::Utc, &at);
                let mut state = chat.state();
                if !outbound.keep_bot {
                    state.take_over(rules.takeover_minutes, now);
                }
                state.last_outbound_at = Some(now);
                let chat = ChatRow::with_state(name, &key, chat.last_address, &state, at);
                chat_rows::save(conn, &chat).map_err(write_error)?;
                let id = id_of(conn, name, message_id).map_err(write_error)?;
                Ok(Sent {
                    id,
                    duplicate: false,
                    chat: chat.into_chat(),
                })
            })
        })
    }

    /// One chat's conversation, both directions, oldest first: the newest `limit` messages
    /// (inbound with the agent's replies, outbound, skipped with their reasons). The chat is
    /// named by its key, any address of the person or a phone number.
    pub fn conversation(
        &self,
        instance: &str,
        chat: &str,
        limit: i64,
    ) -> Result<(Chat, Vec<MessageRecord>), DbError> {
        with_conn(self.db(), |conn| {
            let key = resolve(conn, instance, chat)?;
            let found = find(conn, instance, &key)?.ok_or_else(|| not_found(chat))?;
            let rows: Vec<MessageRow> = m::messages
                .filter(m::instance_name.eq(instance))
                .filter(m::chat_key.eq(&key))
                .order(m::id.desc())
                .limit(limit.max(0))
                .select(MessageRow::as_select())
                .load(conn)?;
            let mut records = rows
                .into_iter()
                .map(MessageRecord::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            records.reverse();
            Ok((found.into_chat(), records))
        })
    }

    /// Outbound messages waiting to be sent, per instance (for the metrics).
    pub fn outbound_backlog(&self) -> Result<Vec<(String, i64)>, DbError> {
        with_conn(self.db(), |conn| {
            Ok(m::messages
                .filter(m::direction.eq(Direction::Outbound.as_str()))
                .filter(
                    m::status.eq_any([MessageStatus::Queued.as_str(), MessageStatus::Processing.as_str()]),
                )
                .group_by(m::instance_name)
                .select((m::instance_name, diesel::dsl::count_star()))
                .load(conn)?)
        })
    }
}

fn rules_of(conn: &mut DbConn, instance: &str) -> Result<ConversationRules, DbError> {
    let stored: Option<String> = ic::instance_configs
        .filter(ic::name.eq(instance))
        .select(ic::rules)
        .first(conn)
        .optional()?;
    let stored = stored.ok_or_else(|| DbError::NotFound {
        entity: "instance",
        key: instance.to_owned(),
    })?;
    // Rules that no longer read (an older version's) fall back to the defaults here: the
    // send must not fail on them; the instance's own load reports them.
    Ok(ConversationRules::from_stored(&stored).unwrap_or_default())
}
