//! A message a person sends through an instance's number (the API, the console, the CLI),
//! read and checked one field at a time so each error names its field.

use serde_json::{Map, Value};

use crate::{parse_chat, DomainError, Media, MessageContent, MessageKind};

/// Longest text (WhatsApp's own limit on one message).
pub const MAX_TEXT_CHARS: usize = 4096;
/// Longest idempotency key.
const MAX_KEY_CHARS: usize = 100;
/// Most bytes of inline media as base64 (about 12 MB of media); larger files go by URL.
pub const MAX_BASE64_CHARS: usize = 16 * 1024 * 1024;

/// Which way a message went through the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Written to the number by someone (answered by the agent).
    #[default]
    Inbound,
    /// Sent from the number by a person through omnihub (no agent involved).
    Outbound,
}

impl Direction {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "inbound" => Ok(Self::Inbound),
            "outbound" => Ok(Self::Outbound),
            _ => Err(DomainError::invalid("direction", "must be inbound or outbound")),
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked request to send one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The address it goes to, as the admin named it (a phone JID, a LID or a group JID).
    pub to: String,
    /// What is sent: text, or media with its caption in `text`; `quoted_id` when it quotes.
    pub content: MessageContent,
    /// The caller's key: sending the same key twice sends once.
    pub idempotency_key: Option<String>,
    /// When true the chat is not paused (by default a person's send takes the chat over).
    pub keep_bot: bool,
}

impl Outbound {
    /// A plain text to `to` (a phone number or JID).
    pub fn text(to: &str, text: &str) -> Result<Self, DomainError> {
        Self::from_json(&serde_json::json!({ "to": to, "text": text }))
    }

    /// Reads a send request: `{"to", "text"?, "media"?: {"url"|"base64", "mimetype",
    /// "filename"?, "caption"?}, "quoted_message_id"?, "idempotency_key"?, "keep_bot"?}`.
    pub fn from_json(value: &Value) -> Result<Self, DomainError> {
        let Value::Object(map) = value else {
            return Err(DomainError::invalid("body", "must be a JSON object"));
        };
        for key in map.keys() {
            if ![
                "to",
                "text",
                "media",
                "quoted_message_id",
                "idempotency_key",
                "keep_bot",
            ]
            .contains(&key.as_str())
            {
                return Err(DomainError::invalid(
                    "body",
                    format!("{key:?} is not a field (fields: to, text, media, quoted_message_id, idempotency_key, keep_bot)"),
                ));
            }
        }
        let to = match map.get("to") {
            Some(Value::String(to)) => parse_chat(to).map_err(|_| {
                DomainError::invalid(
                    "to",
                    "must be a phone number (digits, country code first) or a WhatsApp JID (…@s.whatsapp.net, …@lid, …@g.us)",
                )
            })?,
            Some(_) => return Err(DomainError::invalid("to", "must be a string")),
            None => return Err(DomainError::missing("to", "is required: the phone number or JID to send to")),
        };
        let text = optional_text(map, "text", MAX_TEXT_CHARS)?.unwrap_or_default();
        let media = match map.get("media") {
            None | Some(Value::Null) => None,
            Some(value) => Some(media(value)?),
        };
        let Some((kind, media, caption)) = media else {
            if text.trim().is_empty() {
                return Err(DomainError::missing(
                    "text",
                    "is required (and not blank) when there is no media",
                ));
            }
            return Self::build(map, to, MessageKind::Text, text, None);
        };
        let text = caption.unwrap_or(text);
        Self::build(map, to, kind, text, Some(media))
    }

    fn build(
        map: &Map<String, Value>,
        to: String,
        kind: MessageKind,
        text: String,
        media: Option<Media>,
    ) -> Result<Self, DomainError> {
        let quoted_id = optional_word("quoted_message_id", map.get("quoted_message_id"))?;
        let idempotency_key = optional_word("idempotency_key", map.get("idempotency_key"))?;
        let keep_bot = match map.get("keep_bot") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(keep)) => *keep,
            Some(_) => return Err(DomainError::invalid("keep_bot", "must be true or false")),
        };
        let content = MessageContent {
            kind,
            text,
            quoted: None,
            media,
            more_media: Vec::new(),
            quoted_id,
        };
        Ok(Self {
            to,
            content,
            idempotency_key,
            keep_bot,
        })
    }

    /// The log's message id of this send: from the idempotency key, else fresh (`fresh`).
    pub fn message_id(&self, fresh: impl FnOnce() -> String) -> String {
        match &self.idempotency_key {
            Some(key) => format!("out:{key}"),
            None => format!("out:{}", fresh()),
        }
    }
}

fn optional_text(
    map: &Map<String, Value>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.chars().count() > max => Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(Value::String(text)) if text.contains('\0') => {
            Err(DomainError::invalid(field, "must not contain NUL characters"))
        }
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(DomainError::invalid(field, "must be a string")),
    }
}

/// A key or id: 1 to 100 of letters, digits and `._:-`.
fn optional_word(field: &'static str, value: Option<&Value>) -> Result<Option<String>, DomainError> {
    let bad = || {
        DomainError::invalid(
            field,
            format!("must be 1 to {MAX_KEY_CHARS} letters, digits, '.', '_', ':' or '-'"),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(word)) => {
            let fits = (1..=MAX_KEY_CHARS).contains(&word.len())
                && word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
            fits.then(|| Some(word.clone())).ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

/// The media object: its kind (from the MIME type), the media and its caption.
fn media(value: &Value) -> Result<(MessageKind, Media, Option<String>), DomainError> {
    let Value::Object(map) = value else {
        return Err(DomainError::invalid(
            "media",
            "must be an object with url or base64, and mimetype",
        ));
    };
    for key in map.keys() {
        if !["url", "base64", "mimetype", "filename", "caption"].contains(&key.as_str()) {
            return Err(DomainError::invalid(
                "media",
                format!("{key:?} is not a media field (fields: url, base64, mimetype, filename, caption)"),
            ));
        }
    }
    let url = optional_text(map, "url", 2048)
        .map_err(|_| DomainError::invalid("media.url", "must be an http(s) URL"))?;
    if let Some(url) = &url {
        let parsed =
            url::Url::parse(url).map_err(|_| DomainError::invalid("media.url", "must be an http(s) URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(DomainError::invalid("media.url", "must be an http(s) URL"));
        }
    }
    let base64 = optional_text(map, "base64", MAX_BASE64_CHARS).map_err(|_| {
        DomainError::invalid(
            "media.base64",
            format!("must be base64 of at most {MAX_BASE64_CHARS} characters"),
        )
    })?;
    if let Some(data) = &base64 {
        let valid = !data.is_empty()
            && data.len() % 4 == 0
            && data
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
        if !valid {
            return Err(DomainError::invalid(
                "media.base64",
                "must be standard base64 (no data: prefix)",
            ));
        }
    }
    if url.is_some() == base64.is_some() {
        return Err(DomainError::invalid(
            "media",
            "must have exactly one of url and base64",
        ));
    }
    let mime_type = match map.get("mimetype") {
        Some(Value::String(mime)) if is_mime(mime) => mime.to_ascii_lowercase(),
        Some(_) => {
            return Err(DomainError::invalid(
                "media.mimetype",
                "must be a MIME type such as image/jpeg",
            ))
        }
        None => {
            return Err(DomainError::missing(
                "media.mimetype",
                "is required, e.g. image/jpeg",
            ))
        }
    };
    let kind = match mime_type.split('/').next() {
        Some("image") => MessageKind::Image,
        Some("video") => MessageKind::Video,
        Some("audio") => MessageKind::Audio,
        _ => MessageKind::Document,
    };
    let file_name = optional_text(map, "filename", 255)
        .map_err(|_| DomainError::invalid("media.filename", "must be a string of at most 255 characters"))?;
    let caption = optional_text(map, "caption", MAX_TEXT_CHARS).map_err(|_| {
        DomainError::invalid(
            "media.caption",
            format!("must be a string of at most {MAX_TEXT_CHARS} characters"),
        )
    })?;
    let media = Media {
        mime_type: Some(mime_type),
        base64,
        url,
        file_name,
        ..Media::default()
    };
    Ok((kind, media, caption))
}

fn is_mime(mime: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(mime.split_once('/'), Some((kind, sub)) if token(kind) && token(sub))
}

#[cfg(test)]
mod tests;
