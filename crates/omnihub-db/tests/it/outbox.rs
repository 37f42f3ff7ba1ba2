//! Outbound messages in the log (one row per idempotency key, queued in the chat behind what
//! is already there, the takeover pause never shortening a longer one) and the console's
//! sessions (found until they expire or are closed), on both engines.

use std::sync::Arc;
use std::time::Duration;

use chrono::SubsecRound;

use omnihub_db::{ClaimRequest, Database};
use omnihub_domain::{
    Direction, InboundMessage, ManualClock, MessageContent, MessageKind, Outbound, PauseCause,
};
use omnihub_test_support::TestDb;
use serde_json::json;

use crate::support::{name, new_instance, open};

omnihub_test_support::on_both_engines!(
    a_send_is_stored_once_queued_behind_the_chat_and_takes_it_over,
    console_sessions_last_until_they_expire_or_are_closed,
);

const PN: &str = "5511999990000@s.whatsapp.net";

fn inbound(id: &str) -> InboundMessage {
    InboundMessage {
        message_id: id.into(),
        chat_id: "123456@lid".into(),
        author: None,
        sender_name: Some("Ana".into()),
        phone: Some("5511999990000".into()),
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

fn claim(db: &Database) -> Vec<i64> {
    let request = ClaimRequest {
        owner: "w".into(),
        lease: Duration::from_secs(60),
        limit: 10,
        capacity: None,
        leases: Vec::new(),
    };
    db.messages()
        .claim(&request)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn a_send_is_stored_once_queued_behind_the_chat_and_takes_it_over(test_db: &TestDb) {
    let clock = ManualClock::new();
    let db = open(test_db).with_clock(Arc::new(clock.clone()));
    db.instances().create(&new_instance("a")).unwrap();
    let a = name("a");
    // Ana wrote from her LID with her phone stated: the chat is her phone JID.
    let rules = Arc::new(omnihub_domain::ConversationRules::default());
    let facts = crate::chats::addresses(&["123456@lid", PN]);
    db.messages()
        .arrive(vec![crate::chats::arriving(inbound("IN1"), facts, &rules)])
        .unwrap();
    let send = |to: &str, key: &str, keep_bot: bool| {
        let outbound = Outbound::from_json(
            &json!({"to": to, "text": "from a person", "idempotency_key": key, "keep_bot": keep_bot}),
        )
        .unwrap();
        let id = outbound.message_id(|| unreachable!());
        db.messages().send(&a, &outbound, &id, "api").unwrap()
    };
    let sent = send("+5511999990000", "k1", false);
    assert!(!sent.duplicate);
    assert_eq!(sent.chat.key, PN);
    assert_eq!(sent.chat.state.paused_by, Some(PauseCause::Human));
    assert_eq!(
        sent.chat.state.paused_until,
        Some(db.now().trunc_subsecs(6) + chrono::Duration::minutes(30))
    );
    let again = send(PN, "k1", false);
    assert_eq!((again.id, again.duplicate), (sent.id, true));
    let record = db.messages().get(sent.id).unwrap();
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.inbound.chat_id, "123456@lid", "it goes where replies go");
    // Behind the inbound message in its chat: one claim gets the inbound head only.
    assert_eq!(claim(&db).len(), 1);
    // An admin's pause until resumed is never shortened by a later send.
    db.chats().pause("a", PN, None).unwrap();
    clock.advance(Duration::from_secs(60));
    let later = send(PN, "k2", false);
    assert_eq!(
        (later.chat.state.paused_by, later.chat.state.paused_until),
        (Some(PauseCause::Api), None)
    );
    let (chat, conversation) = db.messages().conversation("a", "5511999990000", 10).unwrap();
    assert_eq!(chat.key, PN);
    let ids: Vec<(String, Direction)> = conversation
        .iter()
        .map(|r| (r.inbound.message_id.clone(), r.direction))
        .collect();
    assert_eq!(
        ids,
        [
            ("IN1".to_owned(), Direction::Inbound),
            ("out:k1".to_owned(), Direction::Outbound),
            ("out:k2".to_owned(), Direction::Outbound)
        ]
    );
    assert_eq!(db.messages().outbound_backlog().unwrap(), [("a".to_owned(), 2)]);
    assert!(
        db.messages().conversation("a", "5521000000000", 10).is_err(),
        "unknown chat"
    );
    let ghost = Outbound::text(PN, "x").unwrap();
    assert!(
        db.messages()
            .send(&name("ghost"), &ghost, "out:g", "api")
            .is_err(),
        "unknown instance"
    );
}

fn console_sessions_last_until_they_expire_or_are_closed(test_db: &TestDb) {
    let clock = ManualClock::new();
    let db = open(test_db).with_clock(Arc::new(clock.clone()));
    let sessions = db.console_sessions();
    let until = sessions
        .open("hash-1", "csrf-1", Duration::from_secs(3600))
        .unwrap();
    sessions
        .open("hash-2", "csrf-2", Duration::from_secs(60))
        .unwrap();
    assert_eq!(until, db.now().trunc_subsecs(6) + chrono::Duration::hours(1));
    assert_eq!(
        sessions.find("hash-1").unwrap().map(|s| s.csrf),
        Some("csrf-1".to_owned())
    );
    assert!(sessions.find("nope").unwrap().is_none());
    clock.advance(Duration::from_secs(60));
    assert!(sessions.find("hash-2").unwrap().is_none(), "expired at its end");
    sessions.close("hash-1").unwrap();
    assert!(sessions.find("hash-1").unwrap().is_none(), "closed");
    sessions.close("hash-1").unwrap();
}
