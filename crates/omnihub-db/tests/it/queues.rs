//! The per-chat queue index: claims find chat heads without walking a chat's backlog, and
//! every way a message moves keeps the index true.

use std::sync::Arc;
use std::time::Duration;

use omnihub_db::{ClaimRequest, Database};
use omnihub_domain::{InboundMessage, ManualClock, MessageStatus, Stage};
use omnihub_test_support::TestDb;

use crate::support::{name, new_instance, open};

/// Every scenario on SQLite and on PostgreSQL.
mod engines {
    use super::scenarios::*;
    omnihub_test_support::on_both_engines!(
        a_hot_chat_yields_one_head_and_leaves_room_for_every_other_chat,
        finishing_a_head_hands_the_chat_to_its_next_message,
        a_retry_keeps_the_chat_out_of_claims_until_due,
        released_and_requeued_messages_are_claimable_again,
    );
}

fn message(id: &str, chat: &str) -> InboundMessage {
    omnihub_test_support::text_message(id, chat, id)
}

fn request(owner: &str) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        lease: Duration::from_secs(60),
        limit: 100,
        capacity: None,
        leases: Vec::new(),
    }
}

fn claim(db: &Database, owner: &str, limit: usize) -> Vec<(String, String)> {
    let request = ClaimRequest {
        limit,
        ..request(owner)
    };
    db.messages()
        .claim(&request)
        .unwrap()
        .into_iter()
        .map(|r| (r.inbound.chat_id, r.inbound.message_id))
        .collect()
}

pub mod scenarios {
    use super::*;

    pub fn a_hot_chat_yields_one_head_and_leaves_room_for_every_other_chat(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        let a = name("a");
        let hot: Vec<_> = (0..2000)
            .map(|i| (a.clone(), message(&format!("H{i:05}"), "hot@g.us")))
            .collect();
        for chunk in hot.chunks(500) {
            db.messages().insert_batch(chunk).unwrap();
        }
        let others: Vec<_> = (0..50)
            .map(|i| (a.clone(), message(&format!("O{i}"), &format!("{i}@lid"))))
            .collect();
        db.messages().insert_batch(&others).unwrap();
        let claimed = claim(&db, "d", 100);
        assert_eq!(claimed.len(), 51, "one head per chat");
        assert!(claimed.contains(&("hot@g.us".into(), "H00000".into())));
        assert!(
            claim(&db, "d2", 100).is_empty(),
            "every chat is busy: nothing more to claim"
        );
        let backlog = db.messages().backlog().unwrap();
        assert_eq!((backlog.len(), backlog[0].unfinished), (1, 2050));
        assert!(backlog[0].oldest_received_at.is_some());
    }

    pub fn finishing_a_head_hands_the_chat_to_its_next_message(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        let a = name("a");
        let batch: Vec<_> = ["M1", "M2", "M3"]
            .iter()
            .map(|id| (a.clone(), message(id, "c@lid")))
            .collect();
        db.messages().insert_batch(&batch).unwrap();
        let mut order = Vec::new();
        for round in 0..3 {
            let claimed = db.messages().claim(&request("d")).unwrap();
            assert_eq!(
                claimed.len(),
                1,
                "round {round}: one message of the chat at a time"
            );
            let record = &claimed[0];
            order.push(record.inbound.message_id.clone());
            if round == 1 {
                assert!(db.messages().fail(record.id, "d", Stage::Agent, "boom").unwrap());
            } else {
                assert!(db.messages().complete(record.id, "d", None).unwrap());
            }
        }
        assert_eq!(order, ["M1", "M2", "M3"]);
        assert!(claim(&db, "d", 10).is_empty(), "the chat left the queue");
    }

    pub fn a_retry_keeps_the_chat_out_of_claims_until_due(test_db: &TestDb) {
        let clock = ManualClock::new();
        let db = open(test_db).with_clock(Arc::new(clock.clone()));
        db.instances().create(&new_instance("a")).unwrap();
        db.messages().insert(&name("a"), &message("R1", "c@lid")).unwrap();
        db.messages().insert(&name("a"), &message("R2", "c@lid")).unwrap();
        let first = db.messages().claim(&request("d")).unwrap();
        let id = first[0].id;
        assert!(db
            .messages()
            .retry_later(id, "d", Duration::from_secs(30), Stage::Agent, "timeout")
            .unwrap());
        assert!(claim(&db, "d", 10).is_empty(), "not due, and R2 waits behind it");
        clock.advance(Duration::from_secs(31));
        assert_eq!(claim(&db, "d", 10), [("c@lid".to_owned(), "R1".to_owned())]);
    }

    pub fn released_and_requeued_messages_are_claimable_again(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("a")).unwrap();
        db.messages().insert(&name("a"), &message("Q1", "c@lid")).unwrap();
        assert_eq!(claim(&db, "gone", 10).len(), 1);
        assert_eq!(db.messages().release("gone").unwrap(), 1);
        let again = db.messages().claim(&request("d")).unwrap();
        assert_eq!(again.len(), 1, "a released head is claimable at once");
        assert!(db
            .messages()
            .fail(again[0].id, "d", Stage::Agent, "boom")
            .unwrap());
        db.messages().insert(&name("a"), &message("Q2", "c@lid")).unwrap();
        db.messages().requeue(again[0].id).unwrap();
        // The requeued, older message is the chat's head again, before Q2.
        assert_eq!(claim(&db, "d", 10), [("c@lid".to_owned(), "Q1".to_owned())]);
        let counts = db.messages().count_by_status().unwrap();
        assert!(
            counts.contains(&(MessageStatus::Processing, 1)) && counts.contains(&(MessageStatus::Queued, 1))
        );
    }
}
