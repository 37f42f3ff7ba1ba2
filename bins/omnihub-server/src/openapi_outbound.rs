//! The OpenAPI schema of a send request, written out by hand: `text` or `media` (or both),
//! and media by exactly one of `url` and `base64`, with the patterns the validator applies
//! (`omnihub_domain::Outbound::from_json`), so every request the document allows is accepted.

use std::borrow::Cow;

use omnihub_domain::rules::CHAT;
use omnihub_domain::{MAX_BASE64_CHARS, MAX_TEXT_CHARS};
use serde_json::{json, Value};
use utoipa::openapi::{RefOr, Schema};

/// The `SendRequest` schema (body of `POST /api/v1/instances/{name}/messages/send`).
pub struct SendRequestDoc;

/// A letter-first DNS name: what the validator's URL parser accepts as a host.
const HTTP_URL: &str = r"^https?://[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?:/[!-~]*)?$";
/// Standard base64: groups of four, `=` padding.
const BASE64: &str = r"^(?:[A-Za-z0-9+/=]{4})+$";
/// Text without NUL characters.
const NO_NUL: &str = r"^[^\x00]*$";
/// Text with something other than white space, without NUL characters.
const NOT_BLANK: &str = r"^[^\x00]*[^\s\x00][^\x00]*$";
/// Idempotency keys and quoted message ids.
const WORD: &str = r"^[A-Za-z0-9._:-]{1,100}$";

fn media_by(source: &str) -> Value {
    let (field, rule) = match source {
        "url" => (
            "url",
            json!({"type": "string", "maxLength": 2048, "pattern": HTTP_URL, "description": "An http(s) URL Evolution fetches the media from"}),
        ),
        _ => (
            "base64",
            json!({"type": "string", "maxLength": MAX_BASE64_CHARS, "pattern": BASE64, "description": "The bytes as standard base64 (no data: prefix); the body is limited to 1 MiB"}),
        ),
    };
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": [field, "mimetype"],
        "properties": {
            field: rule,
            "mimetype": {"type": "string", "pattern": r"^[A-Za-z0-9!#$&^_.+-]{1,100}/[A-Za-z0-9!#$&^_.+-]{1,100}$", "description": "image/*, video/*, audio/*, or anything else as a document"},
            "filename": {"type": ["string", "null"], "maxLength": 255, "pattern": NO_NUL},
            "caption": {"type": ["string", "null"], "maxLength": MAX_TEXT_CHARS, "pattern": NO_NUL, "description": "Caption (wins over text)"}
        }
    })
}

/// One whole shape of the request: `text` required (not blank), or `media` required.
fn request(required: &str) -> Value {
    let text = if required == "text" {
        json!({"type": "string", "maxLength": MAX_TEXT_CHARS, "pattern": NOT_BLANK, "description": "The text"})
    } else {
        json!({"type": ["string", "null"], "maxLength": MAX_TEXT_CHARS, "pattern": NO_NUL, "description": "The caption, unless media.caption is given"})
    };
    // With a text, `media` may also be null (the same as left out).
    let mut media = vec![media_by("url"), media_by("base64")];
    if required == "text" {
        media.push(json!({"type": "null"}));
    }
    let media = json!({"oneOf": media, "description": "Media to send: exactly one of url and base64"});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["to", required],
        "properties": {
            "to": {"type": "string", "minLength": CHAT.min_chars, "maxLength": CHAT.max_chars, "pattern": CHAT.pattern, "description": "A phone number (country code first) or a JID (…@s.whatsapp.net, …@lid, …@g.us)"},
            "text": text,
            "media": media,
            "quoted_message_id": {"type": ["string", "null"], "pattern": WORD, "description": "The WhatsApp id of a message to quote"},
            "idempotency_key": {"type": ["string", "null"], "pattern": WORD, "description": "The same key again answers the first message's id and sends nothing"},
            "keep_bot": {"type": ["boolean", "null"], "description": "Keep the bot answering (by default a person's send pauses the chat for takeover_minutes)"}
        }
    })
}

fn schema_json() -> Value {
    json!({
        "description": "A message from the instance's number: a text, media, or media with the text as its caption",
        "anyOf": [request("text"), request("media")]
    })
}

impl utoipa::PartialSchema for SendRequestDoc {
    fn schema() -> RefOr<Schema> {
        serde_json::from_value(schema_json())
            .unwrap_or_else(|e| unreachable!("the send schema is valid: {e}"))
    }
}

impl utoipa::ToSchema for SendRequestDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SendRequest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_agree_with_the_validator() {
        let schema = serde_json::to_value(<SendRequestDoc as utoipa::PartialSchema>::schema()).unwrap();
        for shape in 0..2 {
            assert_eq!(
                schema["anyOf"][shape]["properties"]["to"]["pattern"],
                CHAT.pattern
            );
        }
        let url = regex_lite::Regex::new(HTTP_URL).unwrap();
        let base64 = regex_lite::Regex::new(BASE64).unwrap();
        for (text, ok) in [
            ("https://cdn.example.com/a.pdf", true),
            ("http://a", true),
            ("ftp://a.b", false),
            ("http://1.2.3.4.5", false),
        ] {
            assert_eq!(url.is_match(text), ok, "{text}");
            let body = json!({"to": "5511999990000", "media": {"url": text, "mimetype": "image/png"}});
            assert_eq!(omnihub_domain::Outbound::from_json(&body).is_ok(), ok, "{text}");
        }
        for (text, ok) in [("aGk=", true), ("aGk", false), ("data:x", false)] {
            assert_eq!(base64.is_match(text), ok, "{text}");
        }
    }
}
