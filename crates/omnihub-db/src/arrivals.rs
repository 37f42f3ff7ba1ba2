//! Taking in arriving messages inside one transaction: find each message's chat (one per
//! person, whatever address it came from), store it once, let the conversation rules decide
//! on the chat's stored state, and record the outcome: queued (perhaps after a debounce
//! window, or joined to a burst already waiting), skipped with its reason, or, for a message
//! typed on the instance's phone, a paused or resumed chat.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use omnihub_domain::{
    Arrival, ChatFacts, ConversationRules, Decide, InboundMessage, InstanceName, MessageStatus, SkipReason,
    Verdict,
};

use crate::chat_keys::AddressBook;
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

/// Takes in `batch` inside the caller's transaction; outcomes in the batch's order. Messages
/// are taken in (instance, chat) order, each chat's in the order they arrived, so concurrent
/// writers lock chats in one order. The address book and the chats are read once for the
/// batch, and each chat touched is written back once.
pub(crate) fn arrive_in(
    conn: &mut DbConn,
    at: NaiveDateTime,
    batch: &[Arriving],
) -> Result<Vec<Arrived>, DbError> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|&x, &y| {
        let key = |i: usize| (batch[i].instance.as_str(), batch[i].message.chat_id.as_str());
        key(x).cmp(&key(y))
    });
    let sorted: Vec<&Arriving> = order.iter().map(|&i| &batch[i]).collect();
    let mut book = AddressBook::load(conn, &sorted).map_err(write_error)?;
    let keys: Vec<String> = sorted
        .iter()
        .map(|a| book.key_of(a.instance.as_str(), &a.message, &a.facts))
        .collect();
    book.save(conn).map_err(write_error)?;
    let mut chats = ChatsInBatch::lock(conn, at, &sorted, &keys)?;
    let mut outcomes = vec![Arrived::Duplicate; batch.len()];
    for ((&index, arriving), key) in order.iter().zip(&sorted).zip(&keys) {
        outcomes[index] = arrive(conn, at, arriving, key, &mut chats)?;
    }
    chats.save(conn).map_err(write_error)?;
    Ok(outcomes)
}

/// The chats a batch's ruled messages belong to, locked, with what changed in them.
struct ChatsInBatch {
    rows: HashMap<(String, String), (ChatRow, bool)>,
    own_numbers: HashMap<String, Option<String>>,
}

impl ChatsInBatch {
    fn lock(
        conn: &mut DbConn,
        at: NaiveDateTime,
        sorted: &[&Arriving],
        keys: &[String],
    ) -> Result<Self, DbError> {
        let mut wanted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (arriving, key) in sorted.iter().zip(keys) {
            if arriving.rules.is_some() {
                wanted
                    .entry(arriving.instance.as_str())
                    .or_default()
                    .insert(key.clone());
            }
        }
        let mut rows = HashMap::new();
        for (instance, keys) in wanted {
            let keys: Vec<String> = keys.into_iter().collect();
            for row in chat_rows::lock_or_create(conn, instance, &keys, at).map_err(write_error)? {
                rows.insert((row.instance_name.clone(), row.chat_key.clone()), (row, false));
            }
        }
        Ok(Self {
            rows,
            own_numbers: HashMap::new(),
        })
    }

    /// The instance's own number, read once per batch (only group messages need it).
    fn own_number(&mut self, conn: &mut DbConn, instance: &str) -> Result<Option<String>, DbError> {
        if let Some(known) = self.own_numbers.get(instance) {
            return Ok(known.clone());
        }
        let number = ic::instance_connections
            .find(instance)
            .select(ic::number)
            .first::<Option<String>>(conn)
            .optional()
            .map_err(write_error)?
            .flatten();
        self.own_numbers.insert(instance.to_owned(), number.clone());
        Ok(number)
    }

    /// Writes back every chat that changed.
    fn save(self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        let mut changed: Vec<ChatRow> = self
            .rows
            .into_values()
            .filter_map(|(row, changed)| changed.then_some(row))
            .collect();
        // In key order, as they were locked.
        changed.sort_by(|a, b| (&a.instance_name, &a.chat_key).cmp(&(&b.instance_name, &b.chat_key)));
        chat_rows::save_all(conn, &changed)
    }
}

fn arrive(
    conn: &mut DbConn,
    at: NaiveDateTime,
    arriving: &Arriving,
    key: &str,
    chats: &mut ChatsInBatch,
) -> Result<Arrived, DbError> {
    let instance = arriving.instance.as_str();
    let message = &arriving.message;
    let row = NewMessageRow::new(instance, message, key, at)?;
    let Some(rules) = &arriving.rules else {
        return queue(conn, &row);
    };
    let own_number = match message.is_group() && rules.rules.own_number.is_none() {
        true => chats.own_number(conn, instance)?,
        false => None,
    };
    let Some((chat, changed)) = chats.rows.get_mut(&(instance.to_owned(), key.to_owned())) else {
        return Err(DbError::Conflict(format!(
            "chat {key} of '{instance}' was not locked"
        )));
    };
    // Decided before the row is written, so it is written once with its final status; a
    // repeat delivery is found by that write and leaves the chat's state as it was.
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
                true => match debounce::join_burst(conn, (instance, key), message, at, max_wait, due)? {
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
                .filter(m::chat_key.eq(key))
                .filter(m::status.eq(MessageStatus::Queued.as_str())),
        )
        .set(m::chat_id.eq(&message.chat_id))
        .execute(conn)
        .map_err(write_error)?;
    }
    let last_address = match arriving.facts.from_me {
        true => chat.last_address.take(),
        false => Some(message.chat_id.clone()),
    };
    *chat = ChatRow::with_state(instance, key, last_address, &next, at);
    *changed = true;
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
