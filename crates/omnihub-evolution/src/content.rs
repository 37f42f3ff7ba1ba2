//! What a WhatsApp message carries: text, media, quotes, locations, contacts, or a stub.

use omnihub_domain::{Media, MessageContent, MessageKind};
use serde_json::Value;

/// The longest text accepted (WhatsApp's own limit is 65,536 characters).
pub const MAX_TEXT_CHARS: usize = 65_536;

/// The content of one upsert, before the decision to answer it.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per parsed upsert, moved into the message at once: boxing would add an allocation to every message for nothing"
)]
pub enum Content {
    /// Something an agent can answer.
    Message(MessageContent),
    /// A reaction to another message.
    Reaction,
    /// A protocol message, edit, poll or other stub (named).
    Stub(&'static str),
    /// Media without bytes, URL or caption (Evolution's `webhook.base64` is off).
    MediaWithoutBytes(MessageKind),
    /// No `message` or nothing readable in it.
    Empty,
    /// A message type omnihub does not handle (named).
    Unsupported(String),
}

const WRAPPERS: [&str; 5] = [
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
];

/// `ephemeralMessage`, `viewOnceMessage*` and `documentWithCaptionMessage` nest the real
/// content under `.message`.
fn unwrap(message: &Value) -> &Value {
    let mut current = message;
    for _ in 0..4 {
        match WRAPPERS
            .iter()
            .find_map(|w| current.get(*w).and_then(|x| x.get("message")))
        {
            Some(inner) if inner.is_object() => current = inner,
            _ => break,
        }
    }
    current
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut current = v;
    for key in path {
        current = current.get(*key)?;
    }
    current.as_str().filter(|s| !s.trim().is_empty())
}

/// Baileys `Long`s arrive as numbers, strings or `{low, high}` objects.
fn long(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        Value::Object(o) => {
            let part = |k: &str| o.get(k).and_then(Value::as_i64).map(|x| u64::from(x as u32));
            Some((part("high")? << 32) | part("low")?)
        }
        _ => None,
    }
}

fn small(v: Option<&Value>) -> Option<u32> {
    long(v).and_then(|n| u32::try_from(n).ok())
}

const MEDIA: [(&str, MessageKind); 6] = [
    ("imageMessage", MessageKind::Image),
    ("videoMessage", MessageKind::Video),
    ("ptvMessage", MessageKind::Video),
    ("audioMessage", MessageKind::Audio),
    ("documentMessage", MessageKind::Document),
    ("stickerMessage", MessageKind::Sticker),
];

/// Extracts the content of an upsert's `data`.
pub fn extract(data: &Value) -> Content {
    let Some(message) = data.get("message").filter(|m| m.is_object()) else {
        return Content::Empty;
    };
    let message = unwrap(message);
    for (key, stub) in [
        ("protocolMessage", "protocol message"),
        ("editedMessage", "edited message"),
        ("pollCreationMessage", "poll"),
        ("pollCreationMessageV2", "poll"),
        ("pollCreationMessageV3", "poll"),
        ("pollUpdateMessage", "poll vote"),
    ] {
        if message.get(key).is_some() {
            return Content::Stub(stub);
        }
    }
    if message.get("reactionMessage").is_some() {
        return Content::Reaction;
    }
    let typed_context = message
        .as_object()
        .and_then(|o| o.values().find_map(|v| v.get("contextInfo")));
    let quoted = data
        .get("contextInfo")
        .and_then(|c| c.get("quotedMessage"))
        .or_else(|| typed_context.and_then(|c| c.get("quotedMessage")))
        .and_then(quoted_text);
    let content = |kind, text: String, media| {
        Content::Message(MessageContent {
            kind,
            text,
            quoted: quoted.clone(),
            media,
            more_media: Vec::new(),
            quoted_id: None,
        })
    };

    if let Some(text) =
        str_of(message, &["conversation"]).or_else(|| str_of(message, &["extendedTextMessage", "text"]))
    {
        return content(MessageKind::Text, text.to_owned(), None);
    }
    for (key, kind) in MEDIA {
        let Some(typed) = message.get(key) else { continue };
        let caption = str_of(typed, &["caption"]).unwrap_or_default().to_owned();
        let media = Media {
            mime_type: str_of(typed, &["mimetype"]).map(str::to_owned),
            base64: str_of(message, &["base64"])
                .or_else(|| str_of(data, &["base64"]))
                .or_else(|| str_of(typed, &["base64"]))
                .map(str::to_owned),
            // Not `typed.url`: that is WhatsApp's encrypted blob, useless to an agent.
            url: str_of(message, &["mediaUrl"])
                .or_else(|| str_of(data, &["mediaUrl"]))
                .map(str::to_owned),
            size_bytes: long(typed.get("fileLength")),
            width: small(typed.get("width")),
            height: small(typed.get("height")),
            duration_secs: small(typed.get("seconds")),
            file_name: str_of(typed, &["fileName"]).map(str::to_owned),
        };
        let has_bytes = media.base64.is_some() || media.url.is_some();
        if !has_bytes && caption.is_empty() {
            return Content::MediaWithoutBytes(kind);
        }
        return content(kind, caption, has_bytes.then_some(media));
    }
    if let Some(location) = message
        .get("locationMessage")
        .or_else(|| message.get("liveLocationMessage"))
    {
        return content(MessageKind::Location, render_location(location), None);
    }
    if let Some(contact) = message.get("contactMessage") {
        return content(MessageKind::Contact, render_contact(contact), None);
    }
    if let Some(list) = message
        .get("contactsArrayMessage")
        .and_then(|c| c.get("contacts"))
        .and_then(Value::as_array)
    {
        let text = list.iter().map(render_contact).collect::<Vec<_>>().join("\n");
        return content(MessageKind::Contact, text, None);
    }
    let reply = str_of(message, &["buttonsResponseMessage", "selectedDisplayText"])
        .or_else(|| str_of(message, &["buttonsResponseMessage", "selectedButtonId"]))
        .or_else(|| str_of(message, &["listResponseMessage", "title"]))
        .or_else(|| {
            str_of(
                message,
                &["listResponseMessage", "singleSelectReply", "selectedRowId"],
            )
        })
        .or_else(|| str_of(message, &["templateButtonReplyMessage", "selectedDisplayText"]))
        .or_else(|| str_of(message, &["interactiveResponseMessage", "body", "text"]));
    if let Some(text) = reply {
        return content(MessageKind::Text, text.to_owned(), None);
    }
    let unknown = message
        .as_object()
        .and_then(|o| {
            o.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "messageContextInfo" | "base64" | "mediaUrl" | "senderKeyDistributionMessage"
                )
            })
        })
        .cloned();
    match unknown {
        Some(kind) => Content::Unsupported(kind),
        None => Content::Empty,
    }
}

fn render_location(location: &Value) -> String {
    let lat = location
        .get("degreesLatitude")
        .and_then(Value::as_f64)
        .unwrap_or_default();
    let lng = location
        .get("degreesLongitude")
        .and_then(Value::as_f64)
        .unwrap_or_default();
    let label: Vec<&str> = [str_of(location, &["name"]), str_of(location, &["address"])]
        .into_iter()
        .flatten()
        .collect();
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{} ", label.join(", "))
    };
    format!("[Location] {label}({lat}, {lng}) https://maps.google.com/?q={lat},{lng}")
}

fn render_contact(contact: &Value) -> String {
    let name = str_of(contact, &["displayName"]).unwrap_or("unnamed");
    let phones: Vec<&str> = str_of(contact, &["vcard"])
        .map(|vcard| {
            vcard
                .lines()
                .filter(|l| l.starts_with("TEL"))
                .filter_map(|l| l.rsplit(':').next())
                .map(str::trim)
                .collect()
        })
        .unwrap_or_default();
    if phones.is_empty() {
        format!("[Contact] {name}")
    } else {
        format!("[Contact] {name}: {}", phones.join(", "))
    }
}

/// The quoted message as text: its text or caption, or a label for media without one.
fn quoted_text(quoted: &Value) -> Option<String> {
    let quoted = unwrap(quoted);
    if let Some(text) =
        str_of(quoted, &["conversation"]).or_else(|| str_of(quoted, &["extendedTextMessage", "text"]))
    {
        return Some(text.to_owned());
    }
    MEDIA.iter().find_map(|(key, kind)| {
        let typed = quoted.get(*key)?;
        Some(match str_of(typed, &["caption"]) {
            Some(caption) => format!("[{}] {caption}", kind.as_str()),
            None => format!("[{}]", kind.as_str()),
        })
    })
}
