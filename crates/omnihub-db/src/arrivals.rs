//! Taking in arriving messages inside one transaction: find each message's chat (one per
//! person, whatever address it came from), store it once, let the conversation rules decide
//! on the chat's stored state, and record the outcome: queued (perhaps after a debounce
//! window, or joined to a burst already waiting), skipped with its reason, or, for a message
//! typed on the instance's phone, a paused or resumed chat.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use omnihub_domain::{
    first_chat_key, Arrival, ChatFacts, ConversationRules, Decide, InboundMessage, InstanceName,
    MessageStatus, SkipReason, Verdict,
};

use crate::chat_rows::{self, ChatRow};
use crate::conn::DbConn;
use crate::debounce;
use crate::error::write_error;
use crate::message_rows::NewMessageRow;
use crate::messages::later;
use crate::schema::instance_connections::dsl as ic;
use crate::schema::messages::dsl as m;
use crate::{dialect, queues, DbError};

/// The rules an instance's messages are decided by, and the decision itself.
#[derive(Clone)]
pub struct RulesInForce {
    /// The instance's rules.
    pub rules: Arc<ConversationRules>,
    /// The decision (`omnihub_core::decide`).
    pub decide: Decide,
}

impl std::fmt::Debug for RulesInForce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesInForce")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// One message arriving for an instance.
#[derive(Debug, Clone)]
pub struct Arriving {
    /// The instance.
    pub instance: InstanceName,
    /// The message.
    pub message: InboundMessage,
    /// What the rules read beyond the content (fromMe, addresses, mentions, quote).
    pub facts: ChatFacts,
    /// The rules; `None` queues every message (no rule applies).
    pub rules: Option<RulesInForce>,
}

impl Arriving {
    /// A message no rule applies to: it is queued.
    pub fn unruled(instance: InstanceName, message: InboundMessage) -> Self {
        Self {
            instance,
            message,
            facts: ChatFacts::default(),
            rules: None,
        }
    }
}

/// What became of one arriving message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrived {
    /// Stored and queued for the agent.
    Queued,
    /// Stored and joined to the burst waiting as this log id (it answers both).
    Joined(i64),
    /// Stored, not answered, for this reason.
    Skipped(SkipReason),
    /// Typed on the instance's phone: the chat is paused (not stored).
    Paused,
    /// The resume keyword typed on the phone: the chat is answered again (not stored).
    Resumed,
    /// The instance already had this message id: nothing was written.
    Duplicate,
}

/// Takes in `batch` inside the caller's transaction, in (instance, chat, message id) order so
/// concurrent writers lock chats in one order; outcomes in the batch's order.
pub(crate) fn arrive_in(
    conn: &mut DbConn,
    at: NaiveDateTime,
    batch: &[Arriving],
) -> Result<Vec<Arrived>, DbError> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|&x, &y| {
        let key = |i: usize| {
            let a = &batch[i];
            (
                a.instance.as_str(),
                a.message.chat_id.as_str(),
                a.message.message_id.as_str(),
            )
        };
        key(x).cmp(&key(y))
    });
    let mut outcomes = vec![Arrived::Duplicate; batch.len()];
    for index in order {
        outcomes[index] = arrive(conn, at, &batch[index])?;
    }
    Ok(outcomes)
}

fn arrive(conn: &mut DbConn, at: NaiveDateTime, arriving: &Arriving) -> Result<Arrived, DbError> {
    let instance = arriving.instance.as_str();
    let message = &arriving.message;
    let key = chat_key(conn, instance, message, &arriving.facts).map_err(write_error)?;
    let row = NewMessageRow::new(instance, message, &key, at)?;
    let Some(rules) = &arriving.rules else {
        return queue(conn, &row);
    };
    // Decided before the row is written, so it is written once with its final status; a
    // repeat delivery is found by that write and leaves the chat's state as it was.
    let mut chat = chat_rows::lock_or_create(conn, instance, &key, at).map_err(write_error)?;
    let own_number = if message.is_group() && rules.rules.own_number.is_none() {
        own_number(conn, instance).map_err(write_error)?
    } else {
        None
    };
    let arrival = Arrival {
        message,
        facts: &arriving.facts,
        own_number: own_number.as_deref(),
    };
    let now = chrono::TimeZone::from_utc_datetime(&chrono::Utc, &at);
    let (verdict, next) = (rules.decide)(&rules.rules, &chat.state(), &arrival, now);
    let outcome = match verdict {
        Verdict::Pause => Arrived::Paused,
        Verdict::Resume => Arrived::Resumed,
        Verdict::Skip(reason) => match insert(conn, &row.skipped(reason))? {
            true => Arrived::Skipped(reason),
            false => Arrived::Duplicate,
        },
        Verdict::Answer { debounce: None } => queue(conn, &row)?,
        Verdict::Answer {
            debounce: Some((window, max_wait)),
        } => {
            let due = later(at, window);
            let row = NewMessageRow {
                next_attempt_at: due,
                ..row
            };
            match insert(conn, &row)? {
                false => Arrived::Duplicate,
                true => match debounce::join_burst(conn, (instance, &key), message, at, max_wait, due)? {
                    Some(leader) => Arrived::Joined(leader),
                    None => {
                        queues::enqueue(conn, instance, &message.message_id).map_err(write_error)?;
                        Arrived::Queued
                    }
                },
            }
        }
    };
    if outcome == Arrived::Duplicate {
        return Ok(outcome);
    }
    let moved = chat
        .last_address
        .as_deref()
        .is_some_and(|last| last != message.chat_id);
    if moved && !arriving.facts.from_me && matches!(outcome, Arrived::Queued | Arrived::Joined(_)) {
        // Replies go to the address the person's latest message came from.
        diesel::update(
            m::messages
                .filter(m::instance_name.eq(instance))
                .filter(m::chat_key.eq(&key))
                .filter(m::status.eq(MessageStatus::Queued.as_str())),
        )
        .set(m::chat_id.eq(&message.chat_id))
        .execute(conn)
        .map_err(write_error)?;
    }
    if !arriving.facts.from_me {
        chat.last_address = Some(message.chat_id.clone());
    }
    let row = ChatRow::with_state(instance, &key, chat.last_address.take(), &next, at);
    chat_rows::save(conn, &row).map_err(write_error)?;
    Ok(outcome)
}

/// Writes the row unless the instance already has its message id; true when it was new.
fn insert(conn: &mut DbConn, row: &NewMessageRow<'_>) -> Result<bool, DbError> {
    dialect::insert_message_if_new(conn, row).map_err(write_error)
}

/// Writes the row and puts it in its chat's queue.
fn queue(conn: &mut DbConn, row: &NewMessageRow<'_>) -> Result<Arrived, DbError> {
    if !insert(conn, row)? {
        return Ok(Arrived::Duplicate);
    }
    queues::enqueue(conn, row.instance_name, row.message_id).map_err(write_error)?;
    Ok(Arrived::Queued)
}

/// The chat a message belongs to: the chat of any of its addresses already known, else a new
/// one ([`first_chat_key`]). Every address not yet known is recorded for it. In a group the
/// group is the chat; the author's addresses are recorded for the author's own chat.
pub(crate) fn chat_key(
    conn: &mut DbConn,
    instance: &str,
    message: &InboundMessage,
    facts: &ChatFacts,
) -> QueryResult<String> {
    let mut addresses: Vec<String> = Vec::new();
    if !message.is_group() {
        addresses.push(message.chat_id.clone());
    }
    for address in &facts.addresses {
        if !addresses.contains(address) {
            addresses.push(address.clone());
        }
    }
    if message.is_group() && addresses.len() < 2 {
        return Ok(message.chat_id.clone());
    }
    let known = chat_rows::keys_of(conn, instance, &addresses)?;
    let person = match known.first() {
        Some((_, key)) => key.clone(),
        // A new person: their phone JID when the payload states it, else the first address.
        None => match &message.phone {
            Some(phone) => format!("{phone}@s.whatsapp.net"),
            None => addresses
                .first()
                .cloned()
                .unwrap_or_else(|| first_chat_key(message)),
        },
    };
    let unknown: Vec<&String> = addresses
        .iter()
        .filter(|address| !known.iter().any(|(k, _)| k == *address))
        .collect();
    chat_rows::remember(conn, instance, &unknown, &person)?;
    Ok(if message.is_group() {
        message.chat_id.clone()
    } else {
        person
    })
}

/// The instance's own phone digits, as Evolution last reported them.
fn own_number(conn: &mut DbConn, instance: &str) -> QueryResult<Option<String>> {
    Ok(ic::instance_connections
        .find(instance)
        .select(ic::number)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}
