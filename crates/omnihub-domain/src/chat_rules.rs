//! An instance's conversation rules: who is answered, when, and how a human takes over.
//! [`ConversationRules::from_json`] validates a rule set field by field, so an admin learns
//! which rule is wrong; the decision that applies them lives in `omnihub-core`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::DomainError;

mod validate;

pub use validate::IGNORABLE_TYPES;

/// What happens to group messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupPolicy {
    /// Only when the instance's own number is mentioned or one of its messages is quoted.
    #[default]
    Mention,
    /// Every group message.
    All,
    /// Never.
    Off,
}

impl GroupPolicy {
    /// The spelling in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::All => "all",
            Self::Off => "off",
        }
    }
}

/// How a keyword trigger compares a message with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerOperator {
    /// The text contains the value (case-insensitive).
    Contains,
    /// The trimmed text is the value (case-insensitive).
    Equals,
    /// The trimmed text starts with the value (case-insensitive).
    StartsWith,
    /// The trimmed text ends with the value (case-insensitive).
    EndsWith,
    /// The text matches the value as a regular expression (case-sensitive unless `(?i)`).
    Regex,
}

/// Which messages open a conversation with the agent.
#[derive(Debug, Clone, Default)]
pub enum Trigger {
    /// Every message goes to the agent.
    #[default]
    All,
    /// A matching message opens a session; later messages go to the agent until the finish
    /// keyword or `expire_minutes` idle minutes.
    Keyword(KeywordTrigger),
}

/// A keyword trigger.
#[derive(Debug, Clone)]
pub struct KeywordTrigger {
    /// How the value is compared.
    pub operator: TriggerOperator,
    /// The keyword or pattern.
    pub value: String,
    /// A message that is exactly this word (case-insensitive) closes the session.
    pub finish: Option<String>,
    /// Idle minutes after which the session closes by itself.
    pub expire_minutes: Option<u32>,
    /// The compiled pattern, for `regex`.
    pub(crate) regex: Option<regex_lite::Regex>,
}

impl KeywordTrigger {
    /// Whether `text` opens a session: case-insensitive on the trimmed text, except a regex,
    /// which sees the text as received.
    pub fn opens(&self, text: &str) -> bool {
        if let Some(regex) = &self.regex {
            return regex.is_match(text);
        }
        let (text, value) = (text.trim().to_lowercase(), self.value.to_lowercase());
        match self.operator {
            TriggerOperator::Contains => text.contains(&value),
            TriggerOperator::Equals => text == value,
            TriggerOperator::StartsWith => text.starts_with(&value),
            TriggerOperator::EndsWith => text.ends_with(&value),
            TriggerOperator::Regex => false,
        }
    }

    /// Whether `text` is the finish keyword (trimmed, case-insensitive).
    pub fn finishes(&self, text: &str) -> bool {
        self.finish
            .as_deref()
            .is_some_and(|finish| text.trim().to_lowercase() == finish.to_lowercase())
    }
}

/// Sends per minute of a number whose rules do not say.
pub const DEFAULT_SEND_PER_MINUTE: u32 = 60;

/// The conversation rules of one instance. [`Default`] is what an instance without rules
/// does: answer everyone, groups only when mentioned, pause 30 minutes on a takeover.
#[derive(Debug, Clone)]
pub struct ConversationRules {
    /// Phone numbers (digits, `*` suffix wildcard) or JIDs that are answered; empty = all.
    pub allow: Vec<String>,
    /// Phone numbers or JIDs never answered; wins over `allow`.
    pub block: Vec<String>,
    /// Group messages.
    pub groups: GroupPolicy,
    /// Which messages open a conversation.
    pub trigger: Trigger,
    /// Messages of one chat closer together than this become one agent call (0: off).
    pub debounce_ms: u32,
    /// The longest a burst waits from its first message.
    pub debounce_max_ms: u32,
    /// How long a message typed on the phone pauses the chat (0: until resumed).
    pub takeover_minutes: u32,
    /// A message typed on the phone that is exactly this word resumes the chat.
    pub resume_keyword: Option<String>,
    /// Most answered messages per chat and minute (0: no limit).
    pub max_per_minute: u32,
    /// Most messages the instance's number sends per minute, replies and outbound alike
    /// (0: not paced). WhatsApp bans numbers that send in bursts.
    pub send_per_minute: u32,
    /// Message types never forwarded (`MessageKind` spellings and `reaction`).
    pub ignore_types: Vec<String>,
    /// The instance's own number, for group mentions when Evolution has not reported it.
    pub own_number: Option<String>,
}

impl Default for ConversationRules {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            block: Vec::new(),
            groups: GroupPolicy::Mention,
            trigger: Trigger::All,
            debounce_ms: 0,
            debounce_max_ms: 10_000,
            takeover_minutes: 30,
            resume_keyword: None,
            max_per_minute: 0,
            send_per_minute: DEFAULT_SEND_PER_MINUTE,
            ignore_types: vec!["reaction".into(), "sticker".into()],
            own_number: None,
        }
    }
}

impl ConversationRules {
    /// Reads and validates a rule set; fields left out take their defaults. An error names
    /// the rule (e.g. `trigger.value`) and says what it must be.
    pub fn from_json(value: &Value) -> Result<Self, DomainError> {
        validate::rules_from_json(value)
    }

    /// Reads rules as stored (`{}` or empty: the defaults).
    pub fn from_stored(text: &str) -> Result<Self, DomainError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| DomainError::invalid("rules", format!("are not JSON: {e}")))?;
        Self::from_json(&value)
    }

    /// Every rule with its value, defaults included.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("allow".into(), Value::from(self.allow.clone()));
        map.insert("block".into(), Value::from(self.block.clone()));
        map.insert("groups".into(), Value::from(self.groups.as_str()));
        map.insert("trigger".into(), trigger_json(&self.trigger));
        map.insert("debounce_ms".into(), Value::from(self.debounce_ms));
        map.insert("debounce_max_ms".into(), Value::from(self.debounce_max_ms));
        map.insert("takeover_minutes".into(), Value::from(self.takeover_minutes));
        map.insert("resume_keyword".into(), Value::from(self.resume_keyword.clone()));
        map.insert("max_per_minute".into(), Value::from(self.max_per_minute));
        map.insert("send_per_minute".into(), Value::from(self.send_per_minute));
        map.insert("ignore_types".into(), Value::from(self.ignore_types.clone()));
        map.insert("own_number".into(), Value::from(self.own_number.clone()));
        Value::Object(map)
    }

    /// The stored form: only the rules that differ from the defaults.
    pub fn to_stored(&self) -> String {
        let defaults = Self::default().to_json();
        let Value::Object(mine) = self.to_json() else {
            return "{}".into();
        };
        let changed: Map<String, Value> = mine
            .into_iter()
            .filter(|(key, value)| defaults.get(key) != Some(value))
            .collect();
        Value::Object(changed).to_string()
    }

    /// Whether messages of this kind (`MessageKind` spelling) are never forwarded.
    pub fn ignores(&self, kind: &str) -> bool {
        self.ignore_types.iter().any(|t| t == kind)
    }
}

/// Two rule sets are equal when they read the same (a compiled pattern has no equality).
impl PartialEq for ConversationRules {
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

impl Eq for ConversationRules {}

fn trigger_json(trigger: &Trigger) -> Value {
    match trigger {
        Trigger::All => serde_json::json!({"type": "all"}),
        Trigger::Keyword(k) => {
            let mut map = Map::new();
            map.insert("type".into(), Value::from("keyword"));
            map.insert(
                "operator".into(),
                serde_json::to_value(k.operator).unwrap_or(Value::Null),
            );
            map.insert("value".into(), Value::from(k.value.clone()));
            if let Some(finish) = &k.finish {
                map.insert("finish".into(), Value::from(finish.clone()));
            }
            if let Some(minutes) = k.expire_minutes {
                map.insert("expire_minutes".into(), Value::from(minutes));
            }
            Value::Object(map)
        }
    }
}

/// Whether a rule entry of `allow`/`block` names this sender: digits (with an optional `*`
/// suffix) against the phone number, anything with `@` against each address exactly.
pub fn entry_matches(entry: &str, phone: Option<&str>, addresses: &[String]) -> bool {
    if entry.contains('@') {
        return addresses.iter().any(|a| a == entry);
    }
    let Some(phone) = phone else { return false };
    match entry.strip_suffix('*') {
        Some(prefix) => phone.starts_with(prefix),
        None => phone == entry,
    }
}

#[cfg(test)]
mod tests;
