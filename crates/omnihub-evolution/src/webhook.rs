//! The webhook envelope and `messages.upsert` data, parsed leniently into [`Upsert`].
//!
//! Evolution's payloads vary by version (v1 `extendedTextMessage`, v2 `conversation` with a
//! top-level `contextInfo`, Baileys `Long`s as strings or `{low, high}` objects, LID
//! addressing). Parsing never trusts `server_url` or `apikey`: they are not even read.

use omnihub_domain::phone_from_jid;
use serde::Deserialize;
use serde_json::Value;

use crate::content::{extract, Content, MAX_TEXT_CHARS};
use crate::EvolutionError;

/// The envelope every Evolution webhook shares.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// Event name, `messages.upsert` or `MESSAGES_UPSERT` style.
    pub event: String,
    /// The Evolution instance name.
    #[serde(default)]
    pub instance: Option<String>,
    /// The event payload.
    #[serde(default)]
    pub data: Value,
}

impl Envelope {
    /// True for `messages.upsert` in either spelling.
    pub fn is_message_upsert(&self) -> bool {
        normalise_event(&self.event) == "MESSAGES_UPSERT"
    }
}

/// `messages.upsert`, `MESSAGES_UPSERT` and `messages-upsert` all become `MESSAGES_UPSERT`.
pub fn normalise_event(event: &str) -> String {
    event.replace(['.', '-'], "_").to_ascii_uppercase()
}

/// Parses the envelope of a webhook body.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, EvolutionError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| EvolutionError::MalformedJson(e.to_string()))?;
    if !value.is_object() {
        return Err(EvolutionError::NotAnEnvelope(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| EvolutionError::NotAnEnvelope(e.to_string()))
}

/// One message of a `messages.upsert`, before the decision to answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsert {
    /// `key.id`.
    pub message_id: String,
    /// `key.remoteJid`, as received.
    pub chat_id: String,
    /// `key.fromMe`: sent by the instance's own number.
    pub from_me: bool,
    /// `key.participant` in groups.
    pub participant: Option<String>,
    /// Phone digits of the sender when the payload states them.
    pub phone: Option<String>,
    /// `pushName`.
    pub sender_name: Option<String>,
    /// `messageTimestamp` (epoch seconds).
    pub timestamp: Option<i64>,
    /// What the message carries.
    pub content: Content,
    /// Every address the payload gives for the person (DMs: `remoteJid`, `remoteJidAlt`,
    /// `senderPn`, `senderLid`) or the group message's author (`participant`,
    /// `participantAlt`, `participantPn`, `participantLid`), as JIDs.
    pub addresses: Vec<String>,
    /// JIDs mentioned in the message (`contextInfo.mentionedJid`).
    pub mentions: Vec<String>,
    /// The author of the message it quotes (`contextInfo.participant`).
    pub quoted_author: Option<String>,
}

/// The messages of an upsert's `data`: one object, or (tolerated) an array of them.
pub fn parse_upserts(data: &Value) -> Result<Vec<Upsert>, EvolutionError> {
    match data {
        Value::Object(_) => Ok(vec![parse_upsert(data)?]),
        Value::Array(items) if !items.is_empty() => items.iter().map(parse_upsert).collect(),
        Value::Array(_) => Err(EvolutionError::NotAnEnvelope("data is an empty array".into())),
        _ => Err(EvolutionError::NotAnEnvelope(
            "data must be a message object".into(),
        )),
    }
}

fn parse_upsert(data: &Value) -> Result<Upsert, EvolutionError> {
    let key = data
        .get("key")
        .filter(|k| k.is_object())
        .ok_or_else(|| EvolutionError::NotAnEnvelope("data.key is missing".into()))?;
    let text = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let message_id =
        text(key, "id").ok_or_else(|| EvolutionError::NotAnEnvelope("data.key.id is missing".into()))?;
    let chat_id = text(key, "remoteJid")
        .ok_or_else(|| EvolutionError::NotAnEnvelope("data.key.remoteJid is missing".into()))?;
    if message_id.len() > 256 || chat_id.len() > 256 {
        return Err(EvolutionError::NotAnEnvelope(
            "data.key.id or remoteJid is too long".into(),
        ));
    }
    let from_me = match key.get("fromMe") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let participant = text(key, "participant");
    // The author's phone: from the JID itself, or from the alternative forms Baileys adds
    // to LID-addressed payloads. Never guessed.
    let candidates: Vec<Option<String>> = match &participant {
        Some(author) => vec![
            Some(author.clone()),
            text(key, "participantAlt"),
            text(key, "participantPn"),
        ],
        None => vec![
            Some(chat_id.clone()),
            text(key, "remoteJidAlt"),
            text(key, "senderPn"),
        ],
    };
    let phone = candidates
        .into_iter()
        .flatten()
        .find_map(|jid| phone_from_jid(&jid));
    let timestamp = match data.get("messageTimestamp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let fields: &[&str] = match participant {
        Some(_) => &["participant", "participantAlt", "participantPn", "participantLid"],
        None => &["remoteJid", "remoteJidAlt", "senderPn", "senderLid"],
    };
    let mut addresses: Vec<String> = Vec::new();
    for address in fields
        .iter()
        .filter_map(|field| text(key, field))
        .filter_map(|a| as_jid(&a))
    {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    let (mentions, quoted_author) = context_of(data);
    let content = extract(data);
    if let Content::Message(m) = &content {
        if m.text.chars().count() > MAX_TEXT_CHARS {
            return Err(EvolutionError::NotAnEnvelope(format!(
                "the message text exceeds {MAX_TEXT_CHARS} characters"
            )));
        }
    }
    Ok(Upsert {
        message_id,
        chat_id,
        from_me,
        participant,
        phone,
        sender_name: text(data, "pushName"),
        timestamp,
        content,
        addresses,
        mentions,
        quoted_author,
    })
}

/// An address as a JID: bare digits are a phone number (`…@s.whatsapp.net`); anything else
/// must already be a JID of at most 256 characters.
fn as_jid(address: &str) -> Option<String> {
    if address.len() > 256 {
        return None;
    }
    if address.contains('@') {
        return Some(address.to_owned());
    }
    (address.bytes().all(|b| b.is_ascii_digit()) && !address.is_empty())
        .then(|| format!("{address}@s.whatsapp.net"))
}

/// The mentions and the quoted message's author, from `data.contextInfo` (v2) or the typed
/// message's `contextInfo` (v1).
fn context_of(data: &Value) -> (Vec<String>, Option<String>) {
    let typed = data
        .get("message")
        .and_then(Value::as_object)
        .and_then(|o| o.values().find_map(|v| v.get("contextInfo")));
    let Some(context) = data.get("contextInfo").filter(|c| c.is_object()).or(typed) else {
        return (Vec::new(), None);
    };
    let mentions = context
        .get("mentionedJid")
        .and_then(Value::as_array)
        .map(|jids| {
            jids.iter()
                .filter_map(Value::as_str)
                .take(256)
                .filter_map(as_jid)
                .collect()
        })
        .unwrap_or_default();
    let quoted_author = context
        .get("participant")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .and_then(as_jid);
    (mentions, quoted_author)
}
