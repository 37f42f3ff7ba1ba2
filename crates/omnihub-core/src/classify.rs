//! Deciding whether an inbound upsert is answered, and turning it into a domain message.

use omnihub_domain::InboundMessage;
use omnihub_evolution::{Content, Upsert};

/// The decision for one upsert.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Log it and answer it.
    Accept(Box<InboundMessage>),
    /// Acknowledge it and do nothing, for this reason.
    Ignore(String),
}

/// Applies omnihub's rules: never answer the owner's own messages, status broadcasts,
/// newsletters, reactions, protocol/edit/poll stubs, or messages without usable content.
pub fn classify(upsert: Upsert) -> Decision {
    let ignore = |reason: &str| Decision::Ignore(reason.to_owned());
    if upsert.from_me {
        return ignore("sent by the instance's own number (fromMe)");
    }
    if upsert.chat_id == "status@broadcast" {
        return ignore("status broadcast");
    }
    if upsert.chat_id.ends_with("@newsletter") {
        return ignore("newsletter");
    }
    let content = match upsert.content {
        Content::Message(content) if content.text.trim().is_empty() && content.media.is_none() => {
            return ignore("no usable content");
        }
        Content::Message(content) => content,
        Content::Reaction => return ignore("reaction"),
        Content::Stub(kind) => return Decision::Ignore(kind.to_owned()),
        Content::MediaWithoutBytes(kind) => {
            return Decision::Ignore(format!(
                "{} without bytes, URL or caption (turn on base64 in the Evolution instance's webhook)",
                kind.as_str()
            ))
        }
        Content::Empty => return ignore("no usable content"),
        Content::Unsupported(kind) => return Decision::Ignore(format!("unsupported message type {kind}")),
    };
    Decision::Accept(Box::new(InboundMessage {
        message_id: upsert.message_id,
        chat_id: upsert.chat_id,
        author: upsert.participant,
        sender_name: upsert.sender_name,
        phone: upsert.phone,
        timestamp: upsert.timestamp,
        content,
    }))
}

#[cfg(test)]
mod tests {
    use omnihub_domain::{MessageContent, MessageKind};

    use super::*;

    fn upsert(chat: &str, from_me: bool, content: Content) -> Upsert {
        Upsert {
            message_id: "M1".into(),
            chat_id: chat.into(),
            from_me,
            participant: None,
            phone: None,
            sender_name: Some("Ana".into()),
            timestamp: Some(1),
            content,
        }
    }

    fn text(t: &str) -> Content {
        Content::Message(MessageContent {
            kind: MessageKind::Text,
            text: t.into(),
            quoted: None,
            media: None,
        })
    }

    #[test]
    fn ordinary_messages_are_accepted_as_received() {
        match classify(upsert("123@lid", false, text("hello"))) {
            Decision::Accept(m) => assert_eq!(
                (m.chat_id.as_str(), m.content.text.as_str()),
                ("123@lid", "hello")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn everything_not_worth_answering_is_ignored_with_a_reason() {
        let cases = [
            (upsert("1@s.whatsapp.net", true, text("mine")), "fromMe"),
            (
                upsert("status@broadcast", false, text("story")),
                "status broadcast",
            ),
            (upsert("1@newsletter", false, text("news")), "newsletter"),
            (upsert("1@s.whatsapp.net", false, Content::Reaction), "reaction"),
            (upsert("1@s.whatsapp.net", false, Content::Stub("poll")), "poll"),
            (
                upsert("1@s.whatsapp.net", false, Content::Empty),
                "no usable content",
            ),
            (
                upsert("1@s.whatsapp.net", false, text("   ")),
                "no usable content",
            ),
            (
                upsert(
                    "1@s.whatsapp.net",
                    false,
                    Content::MediaWithoutBytes(MessageKind::Audio),
                ),
                "audio without bytes",
            ),
            (
                upsert("1@s.whatsapp.net", false, Content::Unsupported("callLog".into())),
                "unsupported message type callLog",
            ),
        ];
        for (u, reason) in cases {
            match classify(u) {
                Decision::Ignore(r) => assert!(r.contains(reason), "{r} lacks {reason}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
