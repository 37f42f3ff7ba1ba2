//! Inbound WhatsApp messages in normalised form, and the rules derived from them.

use serde::{Deserialize, Serialize};

/// What kind of content a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain or extended text, button and list replies.
    Text,
    /// A picture.
    Image,
    /// A voice note or audio file.
    Audio,
    /// A video or round video note.
    Video,
    /// A document (PDF, …).
    Document,
    /// A sticker (an image/webp).
    Sticker,
    /// A shared location, rendered as text.
    Location,
    /// A shared contact card, rendered as text.
    Contact,
}

impl MessageKind {
    /// The `message_type` the agent API understands: `text|image|audio|video|document`.
    pub fn agent_type(self) -> &'static str {
        match self {
            Self::Text | Self::Location | Self::Contact => "text",
            Self::Image | Self::Sticker => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
            Self::Location => "location",
            Self::Contact => "contact",
        }
    }
}

/// Media attached to a message: the bytes (base64) and/or a URL, with what is known of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// MIME type, e.g. `image/jpeg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The bytes, base64 without a `data:` prefix (Evolution's `webhook.base64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// A URL the agent can fetch (Evolution's S3/MinIO `mediaUrl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Duration in seconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// File name (documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// The usable content of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The kind of message.
    pub kind: MessageKind,
    /// Its text (caption for media; a readable rendering for locations and contacts).
    pub text: String,
    /// The text of the message it replies to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
    /// Attached media, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// Media of the later messages of a debounced burst, in order (the first is `media`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_media: Vec<Media>,
    /// The WhatsApp id of the message this one quotes (messages sent through omnihub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_id: Option<String>,
}

impl MessageContent {
    /// Joins a later message of the same burst into this one: texts on new lines in order,
    /// every media item kept, the latest quote.
    pub fn absorb(&mut self, later: MessageContent) {
        let text = later.text.trim();
        if !text.is_empty() {
            if self.text.trim().is_empty() {
                self.text = text.to_owned();
            } else {
                self.text = format!("{}\n{text}", self.text);
            }
        }
        if later.quoted.is_some() {
            self.quoted = later.quoted;
        }
        let mut media: Vec<Media> = later.media.into_iter().chain(later.more_media).collect();
        if self.media.is_none() && !media.is_empty() {
            self.media = Some(media.remove(0));
            if self.kind == MessageKind::Text {
                self.kind = later.kind;
            }
        }
        self.more_media.extend(media);
    }
}

/// A message someone sent to an instance's WhatsApp number, ready to be answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Evolution's message id (`key.id`), unique per instance.
    pub message_id: String,
    /// The chat JID as received (`…@s.whatsapp.net`, `…@lid` or `…@g.us`); replies go here.
    pub chat_id: String,
    /// In groups, the author's JID (`key.participant`).
    pub author: Option<String>,
    /// The sender's display name (`pushName`).
    pub sender_name: Option<String>,
    /// The sender's phone number as digits, only when the payload states it.
    pub phone: Option<String>,
    /// When WhatsApp says it was sent (epoch seconds).
    pub timestamp: Option<i64>,
    /// The content.
    pub content: MessageContent,
}

impl InboundMessage {
    /// True for group chats (`@g.us`).
    pub fn is_group(&self) -> bool {
        self.chat_id.ends_with("@g.us")
    }

    /// Who the agent talks to: the sender's phone digits when known, otherwise the sender's
    /// JID as received (a LID such as `123@lid`). In groups the group itself is the
    /// conversation, so it is the group JID's local part.
    pub fn conversation_id(&self) -> String {
        if self.is_group() {
            return self.chat_id.split('@').next().unwrap_or_default().to_owned();
        }
        match &self.phone {
            Some(phone) => phone.clone(),
            None => self.chat_id.clone(),
        }
    }
}

impl InboundMessage {
    /// Replaces NUL characters (which PostgreSQL cannot store in text and no person types) by
    /// U+FFFD in every stored field; returns the names of the fields it changed.
    pub fn replace_nul(&mut self) -> Vec<&'static str> {
        fn clean(field: &'static str, value: &mut String, changed: &mut Vec<&'static str>) {
            if value.contains('\0') {
                *value = value.replace('\0', "\u{FFFD}");
                changed.push(field);
            }
        }
        let mut changed = Vec::new();
        clean("message_id", &mut self.message_id, &mut changed);
        clean("chat_id", &mut self.chat_id, &mut changed);
        for (field, value) in [
            ("author", &mut self.author),
            ("sender_name", &mut self.sender_name),
            ("phone", &mut self.phone),
            ("quoted", &mut self.content.quoted),
        ] {
            if let Some(value) = value {
                clean(field, value, &mut changed);
            }
        }
        clean("text", &mut self.content.text, &mut changed);
        changed
    }
}

/// The agent session name: `{session_id_prefix}{conversation}` when the instance has a
/// prefix, else `{instance}_{conversation}`.
pub fn session_name(instance: &str, session_id_prefix: Option<&str>, message: &InboundMessage) -> String {
    let conversation = message.conversation_id();
    match session_id_prefix {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}{conversation}"),
        _ => format!("{instance}_{conversation}"),
    }
}

/// The sessions `chat` may name when an admin resets a conversation: `chat` itself (a
/// session as listed), and the session a direct message from that chat (a JID, or a phone
/// number's JID) is answered in.
pub fn sessions_for_chat(instance: &str, session_id_prefix: Option<&str>, chat: &str) -> Vec<String> {
    let jid = if chat.contains('@') {
        chat.to_owned()
    } else {
        let digits: String = chat.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return vec![chat.to_owned()];
        }
        format!("{digits}@s.whatsapp.net")
    };
    let message = InboundMessage {
        message_id: String::new(),
        chat_id: jid.clone(),
        author: None,
        sender_name: None,
        phone: phone_from_jid(&jid),
        timestamp: None,
        content: MessageContent {
            kind: MessageKind::Text,
            text: String::new(),
            quoted: None,
            media: None,
            more_media: Vec::new(),
            quoted_id: None,
        },
    };
    let derived = session_name(instance, session_id_prefix, &message);
    let mut sessions = vec![chat.to_owned()];
    if derived != chat {
        sessions.push(derived);
    }
    sessions
}

/// Digits of a phone JID (`5511999@s.whatsapp.net` → `5511999`); `None` for LIDs, groups
/// and anything that is not a plain phone JID. No country code is ever guessed.
pub fn phone_from_jid(jid: &str) -> Option<String> {
    let (user, server) = jid.split_once('@')?;
    if server != "s.whatsapp.net" && server != "c.us" {
        return None;
    }
    let user = user.split(':').next().unwrap_or(user);
    (!user.is_empty() && user.bytes().all(|b| b.is_ascii_digit())).then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(chat: &str, phone: Option<&str>) -> InboundMessage {
        InboundMessage {
            message_id: "ID1".into(),
            chat_id: chat.into(),
            author: None,
            sender_name: None,
            phone: phone.map(Into::into),
            timestamp: None,
            content: MessageContent {
                kind: MessageKind::Text,
                text: "hi".into(),
                quoted: None,
                media: None,
                more_media: Vec::new(),
                quoted_id: None,
            },
        }
    }

    #[test]
    fn phone_digits_come_only_from_phone_jids() {
        assert_eq!(
            phone_from_jid("14155551234@s.whatsapp.net").as_deref(),
            Some("14155551234")
        );
        assert_eq!(
            phone_from_jid("5516999:90@s.whatsapp.net").as_deref(),
            Some("5516999")
        );
        assert_eq!(phone_from_jid("123456789@lid"), None);
        assert_eq!(phone_from_jid("1203630@g.us"), None);
        assert_eq!(phone_from_jid("not-a-jid"), None);
    }

    #[test]
    fn session_names_use_the_prefix_or_the_instance_name() {
        let pn = message("14155551234@s.whatsapp.net", Some("14155551234"));
        assert_eq!(session_name("support", None, &pn), "support_14155551234");
        assert_eq!(session_name("support", Some("wa-"), &pn), "wa-14155551234");
        let lid = message("987654321@lid", None);
        assert_eq!(session_name("support", None, &lid), "support_987654321@lid");
        let group = message("120363000@g.us", None);
        assert_eq!(session_name("support", None, &group), "support_120363000");
    }

    #[test]
    fn nul_characters_are_replaced_and_reported_by_field() {
        let mut m = message("1@s.whatsapp.net", None);
        m.sender_name = Some("A\0na".into());
        m.content.text = "hi\0".into();
        assert_eq!(m.replace_nul(), ["sender_name", "text"]);
        assert_eq!(m.sender_name.as_deref(), Some("A\u{FFFD}na"));
        assert!(m.replace_nul().is_empty(), "a clean message is left alone");
    }

    #[test]
    fn agent_types_cover_every_kind() {
        assert_eq!(MessageKind::Sticker.agent_type(), "image");
        assert_eq!(MessageKind::Location.agent_type(), "text");
        assert_eq!(MessageKind::Audio.agent_type(), "audio");
    }
}
