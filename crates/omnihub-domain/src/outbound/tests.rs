//! Reading send requests: what is accepted, and the field each refusal names.

use serde_json::json;

use super::*;

fn field_of(value: serde_json::Value) -> &'static str {
    match Outbound::from_json(&value) {
        Err(DomainError::Invalid { field, .. } | DomainError::Missing { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_text_to_a_phone_number_goes_to_its_jid() {
    let sent = Outbound::from_json(&json!({"to": "+5511999990000", "text": "Olá"})).expect("valid");
    assert_eq!(sent.to, "5511999990000@s.whatsapp.net");
    assert_eq!(sent.content.kind, MessageKind::Text);
    assert_eq!(sent.content.text, "Olá");
    assert!(!sent.keep_bot);
    assert_eq!(sent.message_id(|| "fresh".into()), "out:fresh");
}

#[test]
fn media_takes_its_kind_from_the_mime_type_and_its_caption_over_the_text() {
    let sent = Outbound::from_json(&json!({
        "to": "120363000000000000@g.us", "text": "ignored when there is a caption",
        "media": {"url": "https://cdn.example.com/a.pdf", "mimetype": "application/PDF",
                  "filename": "a.pdf", "caption": "the invoice"},
        "quoted_message_id": "3EB0ABC", "idempotency_key": "order-17:invoice", "keep_bot": true
    }))
    .expect("valid");
    assert_eq!(sent.content.kind, MessageKind::Document);
    assert_eq!(sent.content.text, "the invoice");
    let media = sent.content.media.as_ref().expect("media");
    assert_eq!(media.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(media.file_name.as_deref(), Some("a.pdf"));
    assert_eq!(sent.content.quoted_id.as_deref(), Some("3EB0ABC"));
    assert!(sent.keep_bot);
    assert_eq!(sent.message_id(|| unreachable!()), "out:order-17:invoice");
    let image = Outbound::from_json(
        &json!({"to": "5511999990000", "media": {"base64": "aGk=", "mimetype": "image/png"}}),
    )
    .expect("valid");
    assert_eq!(image.content.kind, MessageKind::Image);
    assert_eq!(image.content.text, "");
}

#[test]
fn each_refusal_names_its_field() {
    assert_eq!(field_of(json!([])), "body");
    assert_eq!(
        field_of(json!({"to": "5511999990000", "text": "hi", "from": "x"})),
        "body"
    );
    assert_eq!(field_of(json!({"text": "hi"})), "to");
    assert_eq!(field_of(json!({"to": 5511999990000_u64, "text": "hi"})), "to");
    assert_eq!(field_of(json!({"to": "not a number", "text": "hi"})), "to");
    assert_eq!(field_of(json!({"to": "5511999990000"})), "text");
    assert_eq!(field_of(json!({"to": "5511999990000", "text": "   "})), "text");
    assert_eq!(field_of(json!({"to": "5511999990000", "text": 7})), "text");
    assert_eq!(
        field_of(json!({"to": "5511999990000", "text": "x".repeat(MAX_TEXT_CHARS + 1)})),
        "text"
    );
    assert_eq!(
        field_of(json!({"to": "5511999990000", "text": "hi", "keep_bot": "yes"})),
        "keep_bot"
    );
    assert_eq!(
        field_of(json!({"to": "5511999990000", "text": "hi", "idempotency_key": ""})),
        "idempotency_key"
    );
    assert_eq!(
        field_of(json!({"to": "5511999990000", "text": "hi", "idempotency_key": "a b"})),
        "idempotency_key"
    );
    assert_eq!(
        field_of(json!({"to": "5511999990000", "text": "hi", "quoted_message_id": 12})),
        "quoted_message_id"
    );
    let media = |m: serde_json::Value| json!({"to": "5511999990000", "media": m});
    assert_eq!(field_of(media(json!("https://x.example/a.png"))), "media");
    assert_eq!(field_of(media(json!({"mimetype": "image/png"}))), "media");
    assert_eq!(
        field_of(media(
            json!({"url": "https://x.example/a.png", "base64": "aGk=", "mimetype": "image/png"})
        )),
        "media"
    );
    assert_eq!(
        field_of(media(
            json!({"url": "file:///etc/passwd", "mimetype": "image/png"})
        )),
        "media.url"
    );
    assert_eq!(
        field_of(media(
            json!({"base64": "data:image/png;base64,aGk=", "mimetype": "image/png"})
        )),
        "media.base64"
    );
    assert_eq!(
        field_of(media(json!({"base64": "aGk=", "mimetype": "png"}))),
        "media.mimetype"
    );
    assert_eq!(field_of(media(json!({"base64": "aGk="}))), "media.mimetype");
    assert_eq!(
        field_of(media(
            json!({"base64": "aGk=", "mimetype": "image/png", "size": 3})
        )),
        "media"
    );
}

#[test]
fn directions_round_trip() {
    for direction in [Direction::Inbound, Direction::Outbound] {
        assert_eq!(direction.as_str().parse::<Direction>().expect("known"), direction);
    }
    assert!("sideways".parse::<Direction>().is_err());
}
