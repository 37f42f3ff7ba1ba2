//! Deciding whether an inbound upsert is answered, and turning it into a domain message.

use omnihub_domain::{ChatFacts, InboundMessage};
use omnihub_evolution::{Content, Upsert};

/// The decision for one upsert.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Hand it to the conversation rules (a message typed on the instance's phone too: it
    /// pauses or resumes its chat), with what they read beyond the content.
    Accept(Box<InboundMessage>, ChatFacts),
    /// Acknowledge it and do nothing, for this reason.
    Ignore(String),
}

/// Applies omnihub's fixed rules: status broadcasts, newsletters, reactions, protocol/edit/poll
/// stubs and messages without usable content are never answered. The owner's own messages
/// (`fromMe`) are accepted only to steer their chat (takeover); they are never answered.
pub fn classify(upsert: Upsert) -> Decision {
    let ignore = |reason: &str| Decision::Ignore(reason.to_owned());
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
        Content::Reaction if upsert.from_me => return ignore("sent by the instance's own number (fromMe)"),
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
    let facts = ChatFacts {
        from_me: upsert.from_me,
        addresses: upsert.addresses,
        mentions: upsert.mentions,
        quoted_author: upsert.quoted_author,
    };
    Decision::Accept(
        Box::new(InboundMessage {
            message_id: upsert.message_id,
            chat_id: upsert.chat_id,
            author: upsert.participant,
            sender_name: upsert.sender_name,
            phone: upsert.phone,
            timestamp: upsert.timestamp,
            content,
        }),
        facts,
    )
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
            addresses: Vec::new(),
            mentions: Vec::new(),
            quoted_author: None,
        }
    }

    fn text(t: &str) -> Content {
        Content::Message(MessageContent {
            kind: MessageKind::Text,
            text: t.into(),
            quoted: None,
            media: None,
            more_media: Vec::new(),
            quoted_id: None,
        })
    }

    #[test]
    fn ordinary_messages_are_accepted_as_received() {
        match classify(upsert("123@lid", false, text("hello"))) {
            Decision::Accept(m, _) => assert_eq!(
                (m.chat_id.as_str(), m.content.text.as_str()),
                ("123@lid", "hello")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_owners_own_messages_are_accepted_to_steer_the_chat() {
        match classify(upsert("1@s.whatsapp.net", true, text("I'll take it"))) {
            Decision::Accept(_, facts) => assert!(facts.from_me),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn everything_not_worth_answering_is_ignored_with_a_reason() {
        let cases = [
            (upsert("1@s.whatsapp.net", true, Content::Reaction), "fromMe"),
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
