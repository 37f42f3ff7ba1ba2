//! The Automagik `run` request body, shaped from an inbound message.

use omnihub_domain::{InboundMessage, MessageKind};
use serde::Serialize;

/// How much quoted text is repeated to the agent.
const QUOTE_CHARS: usize = 200;

/// Body of `POST {agent_api_url}/api/v1/agent/{agent}/run`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRequest {
    /// The text, with the quoted message and (in groups) the author's name prefixed.
    pub message_content: String,
    /// How much history the agent may load.
    pub message_limit: u32,
    /// `text`, `image`, `audio`, `video` or `document`.
    pub message_type: &'static str,
    /// The conversation's session.
    pub session_name: String,
    /// Who wrote.
    pub user: AgentUser,
    /// Attached media, when there is any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_contents: Option<Vec<MediaContent>>,
}

/// The `user` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentUser {
    /// `+<digits>` when the phone number is known, else null.
    pub phone_number: Option<String>,
    /// Always null (WhatsApp has no e-mail).
    pub email: Option<String>,
    /// Extra facts about the user.
    pub user_data: UserData,
}

/// The `user.user_data` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserData {
    /// Display name (`pushName`), or `WhatsApp User`.
    pub name: String,
    /// The sender's JID: the chat JID in a DM, the author's JID in a group.
    pub whatsapp_id: String,
    /// Always `whatsapp`.
    pub source: &'static str,
}

/// One `media_contents` item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaContent {
    /// MIME type.
    pub mime_type: String,
    /// The bytes, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Where to fetch it instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// A description: the caption, or the kind of media.
    pub alt_text: String,
    /// Width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// File name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

impl AgentRequest {
    /// Shapes the request for `message` in `session_name`. Never includes the raw webhook
    /// or any key.
    pub fn from_message(message: &InboundMessage, session_name: String) -> Self {
        let content = &message.content;
        let mut text = content.text.clone();
        if let Some(quoted) = &content.quoted {
            let mut excerpt: String = quoted.chars().take(QUOTE_CHARS).collect();
            if quoted.chars().count() > QUOTE_CHARS {
                excerpt.push('…');
            }
            text = format!("📝 **Replying to:** {excerpt}\n\n{text}");
        }
        let name = message
            .sender_name
            .clone()
            .unwrap_or_else(|| "WhatsApp User".to_owned());
        if message.is_group() {
            text = format!("[{name}]: {text}");
        }
        // A debounced burst carries every media item: the first as `media`, the rest after it.
        let media_contents = content.media.as_ref().map(|first| {
            std::iter::once(first)
                .chain(&content.more_media)
                .map(|media| MediaContent {
                    mime_type: media
                        .mime_type
                        .clone()
                        .unwrap_or_else(|| default_mime(content.kind).to_owned()),
                    data: media.base64.clone(),
                    media_url: if media.base64.is_some() {
                        None
                    } else {
                        media.url.clone()
                    },
                    alt_text: if content.text.is_empty() {
                        content.kind.as_str().to_owned()
                    } else {
                        content.text.clone()
                    },
                    width: media.width,
                    height: media.height,
                    name: media.file_name.clone(),
                    size_bytes: media.size_bytes,
                })
                .collect::<Vec<_>>()
        });
        Self {
            message_content: text,
            message_limit: 100,
            message_type: content.kind.agent_type(),
            session_name,
            user: AgentUser {
                phone_number: message.phone.as_ref().map(|digits| format!("+{digits}")),
                email: None,
                user_data: UserData {
                    name,
                    whatsapp_id: message.author.clone().unwrap_or_else(|| message.chat_id.clone()),
                    source: "whatsapp",
                },
            },
            media_contents,
        }
    }
}

fn default_mime(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Image => "image/jpeg",
        MessageKind::Sticker => "image/webp",
        MessageKind::Audio => "audio/ogg",
        MessageKind::Video => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use omnihub_domain::{Media, MessageContent};

    use super::*;

    fn message(chat: &str, content: MessageContent) -> InboundMessage {
        InboundMessage {
            message_id: "ID".into(),
            chat_id: chat.into(),
            author: chat.ends_with("@g.us").then(|| "100@lid".to_owned()),
            sender_name: Some("Ana".into()),
            phone: None,
            timestamp: None,
            content,
        }
    }

    fn text(text: &str, quoted: Option<&str>) -> MessageContent {
        MessageContent {
            kind: MessageKind::Text,
            text: text.into(),
            quoted: quoted.map(Into::into),
            media: None,
            more_media: Vec::new(),
            quoted_id: None,
        }
    }

    #[test]
    fn groups_prefix_the_author_and_quotes_are_prepended() {
        let group =
            AgentRequest::from_message(&message("1203@g.us", text("hi all", Some("earlier"))), "s".into());
        assert_eq!(
            group.message_content,
            "[Ana]: 📝 **Replying to:** earlier\n\nhi all"
        );
        assert_eq!(group.user.user_data.whatsapp_id, "100@lid");
        assert_eq!(group.user.phone_number, None, "no number is invented for a LID");
        let long_quote = "q".repeat(250);
        let dm = AgentRequest::from_message(
            &message("1@s.whatsapp.net", text("ok", Some(&long_quote))),
            "s".into(),
        );
        assert!(dm
            .message_content
            .starts_with(&format!("📝 **Replying to:** {}…\n\nok", "q".repeat(200))));
    }

    #[test]
    fn media_is_forwarded_as_data_or_url_with_what_is_known() {
        let media = Media {
            mime_type: Some("image/png".into()),
            base64: Some("AAAA".into()),
            url: Some("http://s3/x".into()),
            width: Some(10),
            height: Some(20),
            ..Media::default()
        };
        let content = MessageContent {
            kind: MessageKind::Image,
            text: String::new(),
            quoted: None,
            media: Some(media),
            more_media: Vec::new(),
            quoted_id: None,
        };
        let request = AgentRequest::from_message(&message("1@s.whatsapp.net", content), "s".into());
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(body["message_type"], "image");
        assert_eq!(
            body["media_contents"],
            serde_json::json!([{"mime_type": "image/png", "data": "AAAA", "alt_text": "image", "width": 10, "height": 20}])
        );
        assert_eq!(body["user"]["email"], serde_json::Value::Null);
        assert_eq!(body["user"]["user_data"]["source"], "whatsapp");
    }

    #[test]
    fn every_media_item_of_a_debounced_burst_is_forwarded_in_order() {
        let first = Media {
            mime_type: Some("image/jpeg".into()),
            base64: Some("AAAA".into()),
            ..Media::default()
        };
        let second = Media {
            mime_type: Some("audio/ogg".into()),
            url: Some("http://s3/voice.ogg".into()),
            ..Media::default()
        };
        let content = MessageContent {
            kind: MessageKind::Image,
            text: "one\ntwo".into(),
            quoted: None,
            media: Some(first),
            more_media: vec![second],
            quoted_id: None,
        };
        let request = AgentRequest::from_message(&message("1@s.whatsapp.net", content), "s".into());
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(body["message_content"], "one\ntwo");
        assert_eq!(
            body["media_contents"],
            serde_json::json!([
                {"mime_type": "image/jpeg", "data": "AAAA", "alt_text": "one\ntwo"},
                {"mime_type": "audio/ogg", "media_url": "http://s3/voice.ogg", "alt_text": "one\ntwo"}
            ])
        );
    }
}
