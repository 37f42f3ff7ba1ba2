//! Sending what a person wrote through omnihub: a text (perhaps quoting a message) with
//! `sendText`, or media by URL or base64 with `sendMedia`.

use omnihub_domain::{MessageContent, MessageKind};
use serde_json::{json, Map, Value};

use crate::{EvolutionClient, EvolutionError, EvolutionTarget};

impl EvolutionClient {
    /// Sends `content` to `number`: `POST {base}/message/sendMedia/{instance}` with
    /// `{number, mediatype, mimetype, media, caption?, fileName?, quoted?}` when it has
    /// media, else `POST {base}/message/sendText/{instance}` with `{number, text, quoted?}`.
    /// A quote is `{key: {id}}` (Evolution looks the message up itself).
    pub async fn send_content(
        &self,
        target: EvolutionTarget<'_>,
        number: &str,
        content: &MessageContent,
    ) -> Result<(), EvolutionError> {
        let (path, body) = content_request(number, content)?;
        self.post(target, &["message", path], &body).await
    }
}

/// The endpoint and body that send `content` to `number`.
pub fn content_request(
    number: &str,
    content: &MessageContent,
) -> Result<(&'static str, Value), EvolutionError> {
    let mut body = Map::new();
    body.insert("number".into(), json!(number));
    let path = match &content.media {
        None => {
            body.insert("text".into(), json!(content.text));
            "sendText"
        }
        Some(media) => {
            let data = media.url.as_deref().or(media.base64.as_deref()).ok_or_else(|| {
                EvolutionError::Request("the media has neither a URL nor base64 data".into())
            })?;
            let mediatype = match content.kind {
                MessageKind::Image | MessageKind::Sticker => "image",
                MessageKind::Video => "video",
                MessageKind::Audio => "audio",
                _ => "document",
            };
            body.insert("mediatype".into(), json!(mediatype));
            if let Some(mime) = &media.mime_type {
                body.insert("mimetype".into(), json!(mime));
            }
            body.insert("media".into(), json!(data));
            if !content.text.is_empty() {
                body.insert("caption".into(), json!(content.text));
            }
            if let Some(name) = &media.file_name {
                body.insert("fileName".into(), json!(name));
            }
            "sendMedia"
        }
    };
    if let Some(id) = &content.quoted_id {
        body.insert("quoted".into(), json!({ "key": { "id": id } }));
    }
    Ok((path, Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use omnihub_domain::Media;

    use super::*;

    fn content(
        kind: MessageKind,
        text: &str,
        media: Option<Media>,
        quoted_id: Option<&str>,
    ) -> MessageContent {
        MessageContent {
            kind,
            text: text.into(),
            quoted: None,
            media,
            more_media: Vec::new(),
            quoted_id: quoted_id.map(Into::into),
        }
    }

    #[test]
    fn a_text_quoting_a_message() {
        let (path, body) = content_request(
            "5511@s.whatsapp.net",
            &content(MessageKind::Text, "Olá", None, Some("3EB0")),
        )
        .expect("ok");
        assert_eq!(path, "sendText");
        assert_eq!(
            body,
            json!({"number": "5511@s.whatsapp.net", "text": "Olá", "quoted": {"key": {"id": "3EB0"}}})
        );
    }

    #[test]
    fn a_document_by_url_and_an_image_by_base64() {
        let pdf = Media {
            url: Some("https://cdn.example.com/a.pdf".into()),
            mime_type: Some("application/pdf".into()),
            file_name: Some("a.pdf".into()),
            ..Media::default()
        };
        let (path, body) = content_request(
            "5511@s.whatsapp.net",
            &content(MessageKind::Document, "invoice", Some(pdf), None),
        )
        .expect("ok");
        assert_eq!(path, "sendMedia");
        assert_eq!(
            body,
            json!({"number": "5511@s.whatsapp.net", "mediatype": "document", "mimetype": "application/pdf",
                   "media": "https://cdn.example.com/a.pdf", "caption": "invoice", "fileName": "a.pdf"})
        );
        let png = Media {
            base64: Some("aGk=".into()),
            mime_type: Some("image/png".into()),
            ..Media::default()
        };
        let (_, body) =
            content_request("g@g.us", &content(MessageKind::Image, "", Some(png), None)).expect("ok");
        assert_eq!(
            body,
            json!({"number": "g@g.us", "mediatype": "image", "mimetype": "image/png", "media": "aGk="})
        );
        assert!(content_request(
            "g@g.us",
            &content(MessageKind::Image, "", Some(Media::default()), None)
        )
        .is_err());
    }
}
