//! Chats under the conversation rules, as the database applies them: one chat per person
//! whatever address they write from, skipped messages stored with their reason, pauses, and
//! a debounced burst kept as one row that one claim takes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use omnihub_db::{Arrived, Arriving, ClaimRequest, Database, RulesInForce};
use omnihub_domain::{
    Arrival, ChatFacts, ChatState, ConversationRules, InboundMessage, Media, MessageKind, MessageStatus,
    PauseCause, SkipReason, Verdict,
};
use omnihub_test_support::TestDb;

use crate::support::{name, new_instance, open};

/// Every scenario on SQLite and on PostgreSQL.
mod engines {
    use super::scenarios::*;
    omnihub_test_support::on_both_engines!(
        a_person_is_one_chat_in_every_addressing_mode,
        skipped_messages_are_stored_with_their_reason_and_counted,
        a_phone_typed_message_pauses_without_being_stored,
        a_burst_is_one_row_that_waits_for_its_window,
        admins_pause_and_resume_by_any_address,
        one_commit_of_many_chats_writes_each_chat_once,
    );
}

/// A stand-in for `omnihub_core::decide` (the database knows no rules of its own): a
/// message typed on the phone pauses, "skip" is skipped, everything else is answered after
/// the rules' debounce window.
pub(crate) fn stand_in(
    rules: &ConversationRules,
    state: &ChatState,
    arrival: &Arrival<'_>,
    _: DateTime<Utc>,
) -> (Verdict, ChatState) {
    let mut next = state.clone();
    if arrival.facts.from_me {
        next.paused_by = Some(PauseCause::Human);
        return (Verdict::Pause, next);
    }
    next.inbound_count += 1;
    if arrival.message.content.text == "skip" {
        next.skipped_count += 1;
        return (Verdict::Skip(SkipReason::NoTrigger), next);
    }
    let debounce = (rules.debounce_ms > 0).then(|| {
        (
            Duration::from_millis(rules.debounce_ms.into()),
            Duration::from_millis(rules.debounce_max_ms.into()),
        )
    });
    (Verdict::Answer { debounce }, next)
}

pub(crate) fn arriving(
    message: InboundMessage,
    facts: ChatFacts,
    rules: &Arc<ConversationRules>,
) -> Arriving {
    Arriving {
        instance: name("a"),
        message,
        facts,
        rules: Some(RulesInForce {
            rules: rules.clone(),
            decide: stand_in,
        }),
    }
}

pub(crate) fn addresses(list: &[&str]) -> ChatFacts {
    ChatFacts {
        addresses: list.iter().map(|a| (*a).to_owned()).collect(),
        ..ChatFacts::default()
    }
}

fn arrive(db: &Database, batch: Vec<Arriving>) -> Vec<Arrived> {
    db.messages().arrive(batch).unwrap()
}

/// The newest `limit` messages of the log.
fn stored(db: &Database, limit: i64) -> Vec<omnihub_domain::MessageRecord> {
    let filter = omnihub_db::MessageFilter {
        limit,
        ..Default::default()
    };
    db.messages().list(&filter).unwrap()
}

fn claim_all(db: &Database) -> Vec<omnihub_domain::MessageRecord> {
    db.messages()
        .claim(&ClaimRequest {
            owner: "d1".into(),
            lease: Duration::from_secs(60),
            limit: 100,
            capacity: None,
            leases: Vec::new(),
        })
        .unwrap()
}

pub mod scenarios {
    use super::*;

    const PN: &str = "5511999990000@s.whatsapp.net";
    const LID: &str = "123456789@lid";

    pub fn a_person_is_one_chat_in_every_addressing_mode(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        let rules = Arc::new(ConversationRules::default());
        // Evolution 2.3.6: remoteJid is the LID, the phone is in remoteJidAlt.
        let old = InboundMessage {
            phone: Some("5511999990000".into()),
            ..omnihub_test_support::text_message("M1", LID, "one")
        };
        // 2.3.7+: swapped.
        let new = InboundMessage {
            phone: Some("5511999990000".into()),
            ..omnihub_test_support::text_message("M2", PN, "two")
        };
        // A later payload with the LID alone.
        let bare = omnihub_test_support::text_message("M3", LID, "three");
        let outcomes = arrive(
            &db,
            vec![
                arriving(old, addresses(&[LID, PN]), &rules),
                arriving(new, addresses(&[PN, LID]), &rules),
            ],
        );
        assert_eq!(outcomes, [Arrived::Queued, Arrived::Queued]);
        assert_eq!(
            arrive(&db, vec![arriving(bare, addresses(&[LID]), &rules)]),
            [Arrived::Queued]
        );
        let chats = db.chats().list("a", false, 10).unwrap();
        assert_eq!(chats.len(), 1, "{chats:?}");
        assert_eq!(chats[0].key, PN);
        assert_eq!(chats[0].state.inbound_count, 3);
        assert_eq!(chats[0].last_address.as_deref(), Some(LID));
        // One chat: one head at a time, one session name, replies to the latest address.
        let claimed = claim_all(&db);
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].session_name(None), "a_5511999990000");
        assert_eq!(
            claimed[0].inbound.chat_id, LID,
            "the reply goes where the person last wrote from"
        );
        let all = stored(&db, 10);
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|m| m.chat_key == PN), "{all:?}");
        assert_eq!(
            db.chats().get("a", LID).unwrap().key,
            PN,
            "any address finds the chat"
        );
        assert_eq!(db.chats().get("a", "+55 11 99999-0000").unwrap().key, PN);
    }

    pub fn skipped_messages_are_stored_with_their_reason_and_counted(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        let rules = Arc::new(ConversationRules::default());
        let skip = omnihub_test_support::text_message("S1", PN, "skip");
        assert_eq!(
            arrive(&db, vec![arriving(skip.clone(), ChatFacts::default(), &rules)]),
            [Arrived::Skipped(SkipReason::NoTrigger)]
        );
        assert_eq!(
            arrive(&db, vec![arriving(skip, ChatFacts::default(), &rules)]),
            [Arrived::Duplicate],
            "a repeated delivery changes nothing"
        );
        let stored = stored(&db, 10);
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (stored[0].status, stored[0].skip_reason),
            (MessageStatus::Skipped, Some(SkipReason::NoTrigger))
        );
        assert!(claim_all(&db).is_empty(), "a skipped message is never claimed");
        assert_eq!(
            db.chats().skipped_counts().unwrap(),
            [("a".to_owned(), SkipReason::NoTrigger, 1)]
        );
        assert_eq!(db.chats().get("a", PN).unwrap().state.skipped_count, 1);
    }

    pub fn a_phone_typed_message_pauses_without_being_stored(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        let rules = Arc::new(ConversationRules::default());
        let typed = ChatFacts {
            from_me: true,
            ..ChatFacts::default()
        };
        let mine = omnihub_test_support::text_message("F1", PN, "I'll take this one");
        assert_eq!(
            arrive(&db, vec![arriving(mine, typed, &rules)]),
            [Arrived::Paused]
        );
        assert!(stored(&db, 10).is_empty());
        assert_eq!(db.chats().paused_counts().unwrap(), [("a".to_owned(), 1)]);
        assert_eq!(
            db.chats().list("a", true, 10).unwrap()[0].state.paused_by,
            Some(PauseCause::Human)
        );
    }

    pub fn a_burst_is_one_row_that_waits_for_its_window(test_db: &TestDb) {
        let clock = omnihub_domain::ManualClock::new();
        let db = open(test_db).with_clock(Arc::new(clock.clone()));
        db.instances().create(&new_instance("a")).unwrap();
        let rules = Arc::new(
            ConversationRules::from_json(&serde_json::json!({"debounce_ms": 2000, "debounce_max_ms": 5000}))
                .unwrap(),
        );
        for i in 1..=5 {
            let mut message = omnihub_test_support::text_message(&format!("B{i}"), PN, &format!("part {i}"));
            if i == 3 {
                message.content.kind = MessageKind::Image;
                message.content.media = Some(Media {
                    mime_type: Some("image/jpeg".into()),
                    base64: Some("AAAA".into()),
                    ..Media::default()
                });
            }
            let outcome = arrive(&db, vec![arriving(message, ChatFacts::default(), &rules)]);
            assert_eq!(outcome.len(), 1);
            assert!(
                claim_all(&db).is_empty(),
                "nothing is due inside the window (message {i})"
            );
            if i < 5 {
                clock.advance(Duration::from_secs(1));
            }
        }
        // Typing every second with a 2 s window: the burst waits until first + 5 s (the cap),
        // not until the last message + 2 s.
        clock.advance(Duration::from_millis(999));
        assert!(claim_all(&db).is_empty());
        clock.advance(Duration::from_millis(1));
        let claimed = claim_all(&db);
        assert_eq!(claimed.len(), 1, "one burst, one claim");
        let content = &claimed[0].inbound.content;
        assert_eq!(content.text, "part 1\npart 2\npart 3\npart 4\npart 5");
        assert_eq!(
            content.media.as_ref().and_then(|m| m.base64.as_deref()),
            Some("AAAA")
        );
        assert_eq!(content.kind, MessageKind::Image);
        let joined = db
            .messages()
            .list(&omnihub_db::MessageFilter {
                limit: 10,
                status: Some(MessageStatus::Done),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(joined.len(), 4);
        let leader = claimed[0].id;
        assert!(joined.iter().all(
            |m| m.outcome.as_deref() == Some(&format!("debounced: answered with message #{leader}")[..])
        ));
    }

    pub fn one_commit_of_many_chats_writes_each_chat_once(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        let rules = Arc::new(ConversationRules::default());
        let batch: Vec<Arriving> = (0..6)
            .map(|i| {
                let chat = format!("55119999900{:02}@s.whatsapp.net", i % 3);
                let text = if i == 5 { "skip" } else { "hi" };
                arriving(
                    omnihub_test_support::text_message(&format!("C{i}"), &chat, text),
                    ChatFacts::default(),
                    &rules,
                )
            })
            .collect();
        let outcomes = arrive(&db, batch);
        assert_eq!(
            outcomes.iter().filter(|o| **o == Arrived::Queued).count(),
            5,
            "{outcomes:?}"
        );
        let chats = db.chats().list("a", false, 10).unwrap();
        assert_eq!(chats.len(), 3);
        for chat in &chats {
            assert_eq!(chat.state.inbound_count, 2, "{chat:?}");
        }
        let skipped: u64 = chats.iter().map(|c| c.state.skipped_count).sum();
        assert_eq!(skipped, 1);
        // The next commit reads what this one wrote.
        arrive(
            &db,
            vec![arriving(
                omnihub_test_support::text_message("C9", "5511999990000@s.whatsapp.net", "again"),
                ChatFacts::default(),
                &rules,
            )],
        );
        assert_eq!(
            db.chats().get("a", "5511999990000").unwrap().state.inbound_count,
            3
        );
    }

    pub fn admins_pause_and_resume_by_any_address(test_db: &TestDb) {
        let clock = omnihub_domain::ManualClock::new();
        let db = open(test_db).with_clock(Arc::new(clock.clone()));
        db.instances().create(&new_instance("a")).unwrap();
        let paused = db.chats().pause("a", "5511999990000", Some(10)).unwrap();
        assert_eq!(paused.key, PN, "a chat nobody wrote in yet is created paused");
        assert_eq!(paused.state.paused_by, Some(PauseCause::Api));
        assert_eq!(db.chats().paused_counts().unwrap(), [("a".to_owned(), 1)]);
        clock.advance(Duration::from_secs(600));
        assert!(
            db.chats().paused_counts().unwrap().is_empty(),
            "a timed pause ends by itself"
        );
        assert!(db.chats().list("a", true, 10).unwrap().is_empty());
        db.chats().pause("a", PN, None).unwrap();
        clock.advance(Duration::from_secs(365 * 24 * 3600));
        assert_eq!(
            db.chats().paused_counts().unwrap(),
            [("a".to_owned(), 1)],
            "until resumed"
        );
        let resumed = db.chats().resume("a", "5511999990000").unwrap();
        assert_eq!(resumed.state.paused_by, None);
        let missing = db.chats().resume("a", "5511000000000").unwrap_err();
        assert!(missing.to_string().contains("5511000000000"), "{missing}");
        db.chats()
            .set_rules(
                &name("a"),
                &ConversationRules::from_json(&serde_json::json!({"max_per_minute": 3})).unwrap(),
            )
            .unwrap();
        assert_eq!(db.instances().get(&name("a")).unwrap().rules.max_per_minute, 3);
    }
}

/// Upgrading a log written before conversation rules: every message gets the chat its
/// session was named after, the address book knows the LIDs of people whose phone was stated.
mod upgrade {
    use omnihub_domain::session_name;

    use super::*;

    omnihub_test_support::on_both_engines!(existing_sessions_keep_their_names_across_the_upgrade);

    const PN: &str = "5511999990000@s.whatsapp.net";

    fn existing_sessions_keep_their_names_across_the_upgrade(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        assert!(db.revert_last_migration().unwrap().contains("000009"));
        assert!(db.revert_last_migration().unwrap().contains("000008"));
        let row = |id: &str, chat: &str, author: &str, phone: &str, status: &str| {
            format!(
                "INSERT INTO messages (instance_name, message_id, chat_id, author, phone, kind, content, status, attempts, next_attempt_at, received_at) \
                 VALUES ('a', '{id}', '{chat}', {author}, {phone}, 'text', '{{\"kind\":\"text\",\"text\":\"hi\"}}', '{status}', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00');"
            )
        };
        let sql = [
            row("U1", "123@lid", "NULL", "'5511999990000'", "done"),
            row("U2", "777@lid", "NULL", "NULL", "queued"),
            row(
                "U3",
                "120363000@g.us",
                "'5511888880000@s.whatsapp.net'",
                "'5511888880000'",
                "done",
            ),
        ]
        .concat();
        test_db.execute(&sql).unwrap();
        assert_eq!(db.migrate().unwrap().len(), 2, "000008 and 000009");
        let all = stored(&db, 10);
        let key_of = |id: &str| all.iter().find(|m| m.inbound.message_id == id).unwrap();
        assert_eq!(key_of("U1").chat_key, PN);
        assert_eq!(key_of("U2").chat_key, "777@lid");
        assert_eq!(key_of("U3").chat_key, "120363000@g.us");
        for record in &all {
            assert_eq!(
                record.session_name(None),
                session_name("a", None, &record.inbound),
                "{record:?}"
            );
        }
        let claimed = claim_all(&db);
        assert_eq!(claimed.len(), 1, "the queued message is still claimable");
        assert_eq!(claimed[0].session_name(Some("wa-")), "wa-777@lid");
        // The LID whose phone was stated before the upgrade leads to the phone's chat.
        db.messages()
            .insert_batch(&[(
                name("a"),
                omnihub_test_support::text_message("U4", "123@lid", "again"),
            )])
            .unwrap();
        let again = stored(&db, 1);
        assert_eq!(again[0].chat_key, PN);
        assert_eq!(again[0].session_name(None), "a_5511999990000");
    }
}
