//! Chats: the stored state of one conversation (a person or a group) of an instance, the
//! facts about an arriving message that the conversation rules read, and what the rules
//! decided. One person is one chat whatever address (phone JID or LID) a message came from:
//! the chat's key is the first address seen, the phone JID when the payload states it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ConversationRules, DomainError, InboundMessage};

/// Why a message was stored but not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The sender is on the `block` list.
    Blocked,
    /// `allow` is not empty and does not name the sender.
    NotAllowed,
    /// A group message the `groups` rule does not answer.
    GroupPolicy,
    /// No trigger session is open and the message does not open one.
    NoTrigger,
    /// A human took the chat over, or an admin paused it.
    Paused,
    /// The chat sent more than `max_per_minute` messages this minute.
    RateLimited,
    /// The message's type is in `ignore_types`.
    IgnoredType,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [Self; 7] = [
        Self::Blocked,
        Self::NotAllowed,
        Self::GroupPolicy,
        Self::NoTrigger,
        Self::Paused,
        Self::RateLimited,
        Self::IgnoredType,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::NotAllowed => "not_allowed",
            Self::GroupPolicy => "group_policy",
            Self::NoTrigger => "no_trigger",
            Self::Paused => "paused",
            Self::RateLimited => "rate_limited",
            Self::IgnoredType => "ignored_type",
        }
    }
}

impl FromStr for SkipReason {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| DomainError::invalid("skip_reason", "is not a known reason"))
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who paused a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseCause {
    /// A person typed on the phone or WhatsApp Web (a `fromMe` message).
    Human,
    /// An admin, through the API or the CLI.
    Api,
}

impl PauseCause {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Api => "api",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "human" => Some(Self::Human),
            "api" => Some(Self::Api),
            _ => None,
        }
    }
}

/// The rules' memory of one chat. Stored per (instance, chat key), changed only in the
/// transaction that stores the message it decided on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatState {
    /// Who paused the chat, while it is paused.
    pub paused_by: Option<PauseCause>,
    /// Until when (`None` with `paused_by` set: until resumed).
    pub paused_until: Option<DateTime<Utc>>,
    /// Whether a keyword trigger's session is open.
    pub session_open: bool,
    /// The session's last message (for `expire_minutes`).
    pub session_at: Option<DateTime<Utc>>,
    /// Start of the current rate-limit minute.
    pub rate_window_at: Option<DateTime<Utc>>,
    /// Messages answered in that minute.
    pub rate_count: u32,
    /// Last message from the person or group.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Last message typed on the instance's phone.
    pub last_outbound_at: Option<DateTime<Utc>>,
    /// Messages received.
    pub inbound_count: u64,
    /// Messages passed to the agent.
    pub answered_count: u64,
    /// Messages not answered because of a rule.
    pub skipped_count: u64,
}

impl ChatState {
    /// Whether the chat is paused at `now`.
    pub fn is_paused(&self, now: DateTime<Utc>) -> bool {
        self.paused_by.is_some() && self.paused_until.is_none_or(|until| until > now)
    }

    /// A person took the chat over at `now` (typed on the phone, or sent through omnihub):
    /// paused by `human` for `minutes` (0: until resumed), unless a pause at least as long is
    /// already in force (an admin's pause is never shortened).
    pub fn take_over(&mut self, minutes: u32, now: DateTime<Utc>) {
        let until = (minutes > 0).then(|| now + chrono::Duration::minutes(i64::from(minutes)));
        let longer_in_force = self.is_paused(now)
            && match (self.paused_until, until) {
                (None, _) => true,
                (Some(current), Some(new)) => current >= new,
                (Some(_), None) => false,
            };
        if !longer_in_force {
            self.paused_by = Some(PauseCause::Human);
            self.paused_until = until;
        }
    }
}

/// A stored chat, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// The instance.
    pub instance: String,
    /// The chat's key: its first address (phone JID when known, else LID or group JID).
    pub key: String,
    /// The address the latest message came from (replies go there).
    pub last_address: Option<String>,
    /// The rules' state.
    pub state: ChatState,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// What the rules need to know about an arriving message beyond its content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatFacts {
    /// Typed on the instance's own phone or WhatsApp Web (`fromMe` in `messages.upsert`).
    pub from_me: bool,
    /// Every address the payload gives for the person (DMs) or the author (groups): the
    /// `remoteJid`/`remoteJidAlt`/`senderPn`/`senderLid` or `participant`/`participantAlt`.
    pub addresses: Vec<String>,
    /// JIDs mentioned in the message.
    pub mentions: Vec<String>,
    /// The author of the quoted message, when it quotes one.
    pub quoted_author: Option<String>,
}

impl ChatFacts {
    /// Replaces NUL characters (see [`InboundMessage::replace_nul`]) in every address.
    pub fn replace_nul(&mut self) {
        let addresses = self
            .addresses
            .iter_mut()
            .chain(self.mentions.iter_mut())
            .chain(self.quoted_author.as_mut());
        for address in addresses {
            if address.contains('\0') {
                *address = address.replace('\0', "\u{FFFD}");
            }
        }
    }
}

/// One message before the rules: the message, its facts, and the instance's own number.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The message.
    pub message: &'a InboundMessage,
    /// Its facts.
    pub facts: &'a ChatFacts,
    /// The instance's own phone digits, when known (group mentions).
    pub own_number: Option<&'a str>,
}

/// What the rules decided for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it to the agent, after `debounce` (with the burst's longest wait) when set.
    Answer {
        /// The debounce window and the longest wait from the burst's first message.
        debounce: Option<(Duration, Duration)>,
    },
    /// Store it, do not answer it.
    Skip(SkipReason),
    /// A human typed on the phone: the chat is paused; the message is not stored.
    Pause,
    /// The resume keyword was typed on the phone: the chat is answered again.
    Resume,
}

/// The decision as a value the database layer can call inside its transaction (it is
/// `omnihub_core::decide`; the database knows no rules of its own).
pub type Decide = fn(&ConversationRules, &ChatState, &Arrival<'_>, DateTime<Utc>) -> (Verdict, ChatState);

/// The conversation id (agent session suffix) of a chat key: the digits of a phone JID, the
/// local part of a group JID, any other key (a LID) as it is. The same ids sessions have
/// always been named by.
pub fn conversation_of_key(key: &str) -> String {
    if let Some(group) = key.strip_suffix("@g.us") {
        return group.to_owned();
    }
    crate::phone_from_jid(key).unwrap_or_else(|| key.to_owned())
}

/// The chat key a message would get when none of its addresses is known yet: the group JID
/// for groups, else the phone JID when the phone is known, else the chat JID as received.
pub fn first_chat_key(message: &InboundMessage) -> String {
    if message.is_group() {
        return message.chat_id.clone();
    }
    match &message.phone {
        Some(phone) => format!("{phone}@s.whatsapp.net"),
        None => message.chat_id.clone(),
    }
}

/// Checks a chat as an admin names it ([`crate::rules::CHAT`]) and gives it as an address.
pub fn parse_chat(chat: &str) -> Result<String, DomainError> {
    if !crate::rules::CHAT.allows(chat) {
        return Err(DomainError::invalid(
            "chat",
            "must be a phone number (digits, country code first) or a WhatsApp JID (…@s.whatsapp.net, …@lid, …@g.us)",
        ));
    }
    Ok(chat_address(chat))
}

/// A chat as an admin names it (a JID, or a phone number in any format) as an address.
pub fn chat_address(chat: &str) -> String {
    if chat.contains('@') {
        return chat.to_owned();
    }
    let digits: String = chat.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return chat.to_owned();
    }
    format!("{digits}@s.whatsapp.net")
}
