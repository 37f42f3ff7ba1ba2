//! Parsing every captured fixture and every hand-written shape of `evolution-api.md` §2.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

use omnihub_domain::MessageKind;
use omnihub_evolution::{parse_envelope, parse_upserts, Content, EvolutionError, Upsert};
use serde_json::{json, Value};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/evolution/", $name)).as_slice()
    };
}

fn upsert_of(body: &[u8]) -> Upsert {
    let envelope = parse_envelope(body).unwrap();
    assert!(envelope.is_message_upsert(), "{}", envelope.event);
    let mut all = parse_upserts(&envelope.data).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn message(u: &Upsert) -> &omnihub_domain::MessageContent {
    match &u.content {
        Content::Message(m) => m,
        other => panic!("not a message: {other:?}"),
    }
}

fn data(key: Value, message: Value) -> Vec<u8> {
    json!({"event": "messages.upsert", "instance": "shop", "data": {"key": key, "pushName": "Ana", "message": message}})
        .to_string()
        .into_bytes()
}

fn dm_key() -> Value {
    json!({"remoteJid": "5511900001111@s.whatsapp.net", "fromMe": false, "id": "ID1"})
}

#[test]
fn v2_text_fixtures_parse_to_text_with_phone() {
    for body in [
        fixture!("v2_text.json"),
        fixture!("v2_text_2.json"),
        fixture!("v2_text_senderlid.json"),
    ] {
        let u = upsert_of(body);
        assert!(!u.from_me);
        assert!(u.chat_id.ends_with("@s.whatsapp.net"));
        assert_eq!(u.phone.as_deref(), Some(u.chat_id.split('@').next().unwrap()));
        let m = message(&u);
        assert_eq!(m.kind, MessageKind::Text);
        assert!(!m.text.is_empty());
        assert!(u.timestamp.is_some() && u.sender_name.is_some());
    }
    let u = upsert_of(fixture!("v2_text.json"));
    assert_eq!(
        (u.message_id.as_str(), message(&u).text.as_str()),
        ("782647C0073AA0039110EB72593C4AC5", "Oii")
    );
}

#[test]
fn v2_quoted_reply_takes_the_quote_from_top_level_context() {
    let u = upsert_of(fixture!("v2_text_quoted_reply.json"));
    let m = message(&u);
    assert_eq!(m.text, "Essa");
    assert!(m.quoted.as_deref().unwrap().starts_with("- **B)** Descreve"));
}

#[test]
fn v1_extended_text_takes_the_quote_from_its_own_context_and_is_from_me() {
    let u = upsert_of(fixture!("v1_extended_text_quoted.json"));
    assert!(u.from_me);
    let m = message(&u);
    assert_eq!(m.text, "é assim que começa");
    assert_eq!(m.quoted.as_deref(), Some("[document] Anna Bella project zip.zip"));
}

#[test]
fn images_with_base64_carry_bytes_and_dimensions() {
    for body in [
        fixture!("v2_image_base64.json"),
        fixture!("v2_image_base64_2.json"),
    ] {
        let u = upsert_of(body);
        let m = message(&u);
        assert_eq!(m.kind, MessageKind::Image);
        let media = m.media.as_ref().unwrap();
        assert!(media.base64.as_deref().unwrap().starts_with("/9j/"));
        assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
        assert!(media.width.is_some() && media.height.is_some() && media.size_bytes.is_some());
        assert!(media.url.is_none(), "the encrypted WhatsApp URL is not forwarded");
    }
}

#[test]
fn audio_with_media_url_carries_the_url_and_duration() {
    let u = upsert_of(fixture!("v2_audio_mediaurl.json"));
    let m = message(&u);
    assert_eq!(m.kind, MessageKind::Audio);
    let media = m.media.as_ref().unwrap();
    assert!(media
        .url
        .as_deref()
        .unwrap()
        .starts_with("http://evolution.example.com/"));
    assert_eq!((media.duration_secs, media.size_bytes), (Some(4), Some(9748)));
    assert_eq!(media.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));
}

#[test]
fn other_events_are_envelopes_but_not_upserts() {
    for body in [
        fixture!("connection_update.json"),
        fixture!("qrcode_updated.json"),
        fixture!("messages_update.json"),
    ] {
        let envelope = parse_envelope(body).unwrap();
        assert!(!envelope.is_message_upsert(), "{}", envelope.event);
    }
    let upper = br#"{"event":"MESSAGES_UPSERT","instance":"x","data":{}}"#;
    assert!(parse_envelope(upper).unwrap().is_message_upsert());
}

#[test]
fn the_messages_array_shape_is_not_an_evolution_envelope() {
    let envelope = parse_envelope(fixture!("not_evolution_messages_array.json")).unwrap();
    let err = parse_upserts(&envelope.data).unwrap_err();
    assert_eq!(err, EvolutionError::NotAnEnvelope("data.key is missing".into()));
}

#[test]
fn lid_dm_takes_the_phone_from_remote_jid_alt_and_keeps_the_lid_chat() {
    let key = json!({"remoteJid": "123456789012345@lid", "remoteJidAlt": "5511900001111@s.whatsapp.net",
        "addressingMode": "lid", "participant": "", "fromMe": false, "id": "L1"});
    let u = upsert_of(&data(key, json!({"conversation": "oi"})));
    assert_eq!(u.chat_id, "123456789012345@lid");
    assert_eq!(u.phone.as_deref(), Some("5511900001111"));
    assert_eq!(u.participant, None, "an empty participant is no participant");

    let sender_pn = json!({"remoteJid": "123@lid", "senderPn": "14155551234@s.whatsapp.net", "id": "L2"});
    assert_eq!(
        upsert_of(&data(sender_pn, json!({"conversation": "x"})))
            .phone
            .as_deref(),
        Some("14155551234")
    );
    let lid_only = json!({"remoteJid": "123@lid", "id": "L3"});
    assert_eq!(
        upsert_of(&data(lid_only, json!({"conversation": "x"}))).phone,
        None,
        "no number is invented"
    );
}

#[test]
fn group_messages_take_the_author_from_participant() {
    let key = json!({"remoteJid": "120363000000@g.us", "participant": "100000001@lid",
        "participantAlt": "5511900002222@s.whatsapp.net", "fromMe": false, "id": "G1"});
    let u = upsert_of(&data(key, json!({"conversation": "hello group"})));
    assert_eq!(u.chat_id, "120363000000@g.us");
    assert_eq!(u.participant.as_deref(), Some("100000001@lid"));
    assert_eq!(u.phone.as_deref(), Some("5511900002222"));
}

#[test]
fn every_content_shape_is_recognised() {
    let cases: Vec<(Value, MessageKind, &str)> = vec![
        (
            json!({"extendedTextMessage": {"text": "v1 text"}}),
            MessageKind::Text,
            "v1 text",
        ),
        (
            json!({"imageMessage": {"caption": "look", "mimetype": "image/png"}, "base64": "AAAA"}),
            MessageKind::Image,
            "look",
        ),
        (
            json!({"videoMessage": {"caption": "clip", "seconds": 7}, "mediaUrl": "http://s3/v.mp4"}),
            MessageKind::Video,
            "clip",
        ),
        (
            json!({"documentWithCaptionMessage": {"message": {"documentMessage": {"caption": "contract", "fileName": "c.pdf", "fileLength": {"low": 2048, "high": 0}}}}, "base64": "JVBER"}),
            MessageKind::Document,
            "contract",
        ),
        (
            json!({"stickerMessage": {"mimetype": "image/webp"}, "base64": "UklGR"}),
            MessageKind::Sticker,
            "",
        ),
        (
            json!({"ephemeralMessage": {"message": {"conversation": "disappearing"}}}),
            MessageKind::Text,
            "disappearing",
        ),
        (
            json!({"viewOnceMessageV2": {"message": {"imageMessage": {"caption": "once"}}}, "base64": "AAAA"}),
            MessageKind::Image,
            "once",
        ),
        (
            json!({"buttonsResponseMessage": {"selectedButtonId": "b1", "selectedDisplayText": "Yes"}}),
            MessageKind::Text,
            "Yes",
        ),
        (
            json!({"listResponseMessage": {"title": "Option 2", "singleSelectReply": {"selectedRowId": "r2"}}}),
            MessageKind::Text,
            "Option 2",
        ),
        (
            json!({"templateButtonReplyMessage": {"selectedDisplayText": "Confirm"}}),
            MessageKind::Text,
            "Confirm",
        ),
    ];
    for (message_json, kind, text) in cases {
        let u = upsert_of(&data(dm_key(), message_json.clone()));
        let m = message(&u);
        assert_eq!((m.kind, m.text.as_str()), (kind, text), "{message_json}");
    }
    let doc = upsert_of(&data(
        dm_key(),
        json!({"documentMessage": {"fileName": "c.pdf", "fileLength": {"low": 2048, "high": 0}}, "base64": "JVBER"}),
    ));
    let media = message(&doc).media.clone().unwrap();
    assert_eq!(
        (media.file_name.as_deref(), media.size_bytes),
        (Some("c.pdf"), Some(2048))
    );
}

#[test]
fn locations_and_contacts_become_readable_text() {
    let loc = upsert_of(&data(
        dm_key(),
        json!({"locationMessage": {"degreesLatitude": -23.5, "degreesLongitude": -46.6, "name": "Office", "address": "Av. Paulista"}}),
    ));
    let m = message(&loc);
    assert_eq!(m.kind, MessageKind::Location);
    assert_eq!(
        m.text,
        "[Location] Office, Av. Paulista (-23.5, -46.6) https://maps.google.com/?q=-23.5,-46.6"
    );
    let vcard =
        "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=5511988887777:+55 11 98888-7777\nEND:VCARD";
    let contact = upsert_of(&data(
        dm_key(),
        json!({"contactMessage": {"displayName": "Bob", "vcard": vcard}}),
    ));
    assert_eq!(message(&contact).text, "[Contact] Bob: +55 11 98888-7777");
}

#[test]
fn stubs_reactions_and_empty_messages_are_recognised_not_answered() {
    let cases = [
        (
            json!({"reactionMessage": {"text": "👍", "key": {"id": "X"}}}),
            Content::Reaction,
        ),
        (
            json!({"protocolMessage": {"type": "REVOKE"}}),
            Content::Stub("protocol message"),
        ),
        (
            json!({"editedMessage": {"message": {}}}),
            Content::Stub("edited message"),
        ),
        (
            json!({"pollCreationMessageV3": {"name": "Lunch?"}}),
            Content::Stub("poll"),
        ),
        (json!({"messageContextInfo": {}}), Content::Empty),
        (
            json!({"imageMessage": {"mimetype": "image/jpeg", "url": "https://mmg.whatsapp.net/enc"}}),
            Content::MediaWithoutBytes(MessageKind::Image),
        ),
        (
            json!({"callLogMesssage": {}}),
            Content::Unsupported("callLogMesssage".into()),
        ),
    ];
    for (message_json, expected) in cases {
        assert_eq!(
            upsert_of(&data(dm_key(), message_json.clone())).content,
            expected,
            "{message_json}"
        );
    }
    let no_message = json!({"event": "messages.upsert", "data": {"key": dm_key()}}).to_string();
    assert_eq!(upsert_of(no_message.as_bytes()).content, Content::Empty);
}

#[test]
fn bad_input_is_rejected_with_a_reason() {
    assert!(matches!(
        parse_envelope(b"{not json"),
        Err(EvolutionError::MalformedJson(_))
    ));
    assert!(matches!(
        parse_envelope(b"[1,2]"),
        Err(EvolutionError::NotAnEnvelope(_))
    ));
    assert!(matches!(
        parse_envelope(br#"{"instance":"x"}"#),
        Err(EvolutionError::NotAnEnvelope(_))
    ));
    assert!(matches!(
        parse_envelope(br#"{"event":5}"#),
        Err(EvolutionError::NotAnEnvelope(_))
    ));
    for data_value in [
        json!("text"),
        json!(42),
        json!([]),
        json!({"key": "not an object"}),
        json!({"key": {"remoteJid": "x@s.whatsapp.net"}}),
    ] {
        assert!(
            matches!(parse_upserts(&data_value), Err(EvolutionError::NotAnEnvelope(_))),
            "{data_value}"
        );
    }
    let huge = data(dm_key(), json!({"conversation": "a".repeat(70_000)}));
    let envelope = parse_envelope(&huge).unwrap();
    let err = parse_upserts(&envelope.data).unwrap_err();
    assert!(err.to_string().contains("65536"), "{err}");
}

#[test]
fn an_array_of_messages_is_tolerated() {
    let body = json!({"event": "messages.upsert", "data": [
        {"key": {"remoteJid": "1@s.whatsapp.net", "id": "A"}, "message": {"conversation": "one"}},
        {"key": {"remoteJid": "1@s.whatsapp.net", "id": "B"}, "message": {"conversation": "two"}},
    ]});
    let envelope = parse_envelope(body.to_string().as_bytes()).unwrap();
    assert_eq!(parse_upserts(&envelope.data).unwrap().len(), 2);
}
