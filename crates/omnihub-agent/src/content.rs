//! How a message reads to a text-only backend, and how a list of bubbles becomes one answer
//! the pipeline sends as one WhatsApp message per bubble.

use omnihub_domain::{InboundMessage, MessageKind};

/// How much quoted text is repeated to the agent.
const QUOTE_CHARS: usize = 200;

/// The text a text-only backend reads: the quoted text (`> …`), then the message's text
/// (prefixed with the author's name in groups when `name_in_groups`), and for media its URL
/// or a readable placeholder (`[image]`), with the caption.
pub(crate) fn prompt_text(message: &InboundMessage, name_in_groups: bool) -> String {
    let mut text = body_text(message);
    if name_in_groups && message.is_group() {
        let name = message.sender_name.as_deref().unwrap_or("WhatsApp User");
        text = format!("{name}: {text}");
    }
    match quote(message) {
        Some(quoted) => format!("> {quoted}\n{text}"),
        None => text,
    }
}

/// The message's own text, with a media placeholder line first when it carries media.
pub(crate) fn body_text(message: &InboundMessage) -> String {
    let content = &message.content;
    let Some(media) = &content.media else {
        return content.text.clone();
    };
    let label = match content.kind {
        MessageKind::Text => "media",
        kind => kind.as_str(),
    };
    let placeholder = match &media.url {
        Some(url) => format!("[{label}: {url}]"),
        None => format!("[{label}]"),
    };
    // The later media of a debounced burst, one line each.
    let more: Vec<String> = content
        .more_media
        .iter()
        .map(|media| match (&media.url, &media.mime_type) {
            (Some(url), _) => format!("[media: {url}]"),
            (None, Some(mime)) => format!("[{mime}]"),
            (None, None) => "[media]".to_owned(),
        })
        .collect();
    let placeholder = std::iter::once(placeholder)
        .chain(more)
        .collect::<Vec<_>>()
        .join("\n");
    match content.text.trim() {
        "" => placeholder,
        caption => format!("{placeholder}\n{caption}"),
    }
}

/// The quoted text, shortened.
pub(crate) fn quote(message: &InboundMessage) -> Option<String> {
    let quoted = message.content.quoted.as_deref()?;
    let mut excerpt: String = quoted.chars().take(QUOTE_CHARS).collect();
    if quoted.chars().count() > QUOTE_CHARS {
        excerpt.push('…');
    }
    Some(excerpt)
}

/// An image as the URL a vision model reads: a `data:` URL from the webhook's base64, else
/// the media URL. `None` for other media.
pub(crate) fn image_url(message: &InboundMessage) -> Option<String> {
    let content = &message.content;
    if content.kind != MessageKind::Image {
        return None;
    }
    let media = content.media.as_ref()?;
    match (&media.base64, &media.url) {
        (Some(data), _) => {
            let mime = media.mime_type.as_deref().unwrap_or("image/jpeg");
            Some(format!("data:{mime};base64,{data}"))
        }
        (None, Some(url)) => Some(url.clone()),
        (None, None) => None,
    }
}

/// Bubbles joined so the pipeline sends each as its own message: the pipeline splits on
/// blank lines, so blank lines inside a bubble are closed up first. Empty bubbles are dropped.
pub(crate) fn join_bubbles<S: AsRef<str>>(bubbles: &[S]) -> String {
    bubbles
        .iter()
        .map(|b| {
            b.as_ref()
                .lines()
                .filter(|line| !line.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|b| !b.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use omnihub_domain::{Media, MessageContent};

    use super::*;

    /// A text message from Ana in a direct chat.
    pub(crate) fn text_message(text: &str) -> InboundMessage {
        InboundMessage {
            message_id: "MSG1".into(),
            chat_id: "5511999999999@s.whatsapp.net".into(),
            author: None,
            sender_name: Some("Ana".into()),
            phone: Some("5511999999999".into()),
            timestamp: Some(1_767_225_600),
            content: MessageContent {
                kind: MessageKind::Text,
                text: text.into(),
                quoted: None,
                media: None,
                more_media: Vec::new(),
                quoted_id: None,
            },
        }
    }

    /// An image with a caption, as base64 and/or a URL.
    pub(crate) fn image_message(base64: Option<&str>, url: Option<&str>) -> InboundMessage {
        let mut message = text_message("look");
        message.content.kind = MessageKind::Image;
        message.content.media = Some(Media {
            mime_type: Some("image/png".into()),
            base64: base64.map(Into::into),
            url: url.map(Into::into),
            ..Media::default()
        });
        message
    }

    #[test]
    fn groups_name_the_author_and_quotes_come_first() {
        let mut message = text_message("and on Saturday?");
        message.chat_id = "120363000000000000@g.us".into();
        message.content.quoted = Some("We open 9 to 6".into());
        assert_eq!(
            prompt_text(&message, true),
            "> We open 9 to 6\nAna: and on Saturday?"
        );
        assert_eq!(prompt_text(&message, false), "> We open 9 to 6\nand on Saturday?");
    }

    #[test]
    fn media_reads_as_its_url_or_a_placeholder_with_the_caption() {
        let with_url = image_message(None, Some("https://s3.example/a.png"));
        assert_eq!(body_text(&with_url), "[image: https://s3.example/a.png]\nlook");
        let without = image_message(Some("AAAA"), None);
        assert_eq!(body_text(&without), "[image]\nlook");
        assert_eq!(image_url(&without).as_deref(), Some("data:image/png;base64,AAAA"));
        assert_eq!(image_url(&with_url).as_deref(), Some("https://s3.example/a.png"));
        assert_eq!(image_url(&text_message("x")), None);
    }

    #[test]
    fn a_bursts_later_media_read_as_one_line_each() {
        let mut burst = image_message(None, Some("https://s3.example/a.png"));
        burst.content.more_media = vec![
            omnihub_domain::Media {
                url: Some("https://s3.example/b.ogg".into()),
                ..Default::default()
            },
            omnihub_domain::Media {
                mime_type: Some("application/pdf".into()),
                ..Default::default()
            },
            omnihub_domain::Media::default(),
        ];
        assert_eq!(
            body_text(&burst),
            "[image: https://s3.example/a.png]\n[media: https://s3.example/b.ogg]\n[application/pdf]\n[media]\nlook"
        );
    }

    #[test]
    fn bubbles_become_paragraphs_and_inner_blank_lines_close_up() {
        assert_eq!(
            join_bubbles(&["Hi!", "", "Line 1\n\nLine 2"]),
            "Hi!\n\nLine 1\nLine 2"
        );
    }
}
