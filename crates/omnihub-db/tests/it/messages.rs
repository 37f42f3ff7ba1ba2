//! The message log on both engines: exactly-once acceptance, chat-head claims, fencing.

use std::time::Duration;

use omnihub_db::{ClaimRequest, Database, DbError, InsertOutcome, MessageFilter};
use omnihub_domain::{InboundMessage, MessageStatus, Stage};
use omnihub_test_support::TestDb;

use crate::support::{name, new_instance, open};

/// Every scenario on SQLite and on PostgreSQL.
mod engines {
    use super::scenarios::*;
    omnihub_test_support::on_both_engines!(
        a_message_is_accepted_once,
        a_batch_with_a_duplicate_keeps_the_others,
        claims_take_chat_heads_in_arrival_order,
        claims_respect_per_instance_capacity,
        writes_are_fenced_by_the_lease,
        failed_messages_can_be_queued_again,
        listing_filters_and_retention,
    );
}

fn message(id: &str, chat: &str) -> InboundMessage {
    omnihub_test_support::text_message(id, chat, &format!("text {id}"))
}

fn setup(test_db: &TestDb) -> Database {
    let db = open(test_db);
    db.instances().create(&new_instance("a")).unwrap();
    db.instances().create(&new_instance("b")).unwrap();
    db
}

fn claim(db: &Database, owner: &str, limit: usize) -> Vec<(String, String)> {
    let request = ClaimRequest {
        owner: owner.into(),
        lease: Duration::from_secs(60),
        limit,
        capacity: None,
        leases: Vec::new(),
    };
    db.messages()
        .claim(&request)
        .unwrap()
        .into_iter()
        .map(|r| (r.instance, r.inbound.message_id))
        .collect()
}

pub mod scenarios {
    use super::*;

    pub fn a_message_is_accepted_once(test_db: &TestDb) {
        let db = setup(test_db);
        let first = db
            .messages()
            .insert(&name("a"), &message("M1", "1@s.whatsapp.net"))
            .unwrap();
        assert!(matches!(first, InsertOutcome::Accepted(_)));
        assert_eq!(
            db.messages()
                .insert(&name("a"), &message("M1", "1@s.whatsapp.net"))
                .unwrap(),
            InsertOutcome::Duplicate
        );
        assert!(
            matches!(
                db.messages()
                    .insert(&name("b"), &message("M1", "1@s.whatsapp.net"))
                    .unwrap(),
                InsertOutcome::Accepted(_)
            ),
            "the same id on another instance is another message"
        );
        let InsertOutcome::Accepted(id) = first else {
            unreachable!()
        };
        let record = db.messages().get(id).unwrap();
        assert_eq!(
            (
                record.status,
                record.attempts,
                record.inbound.content.text.as_str()
            ),
            (MessageStatus::Queued, 0, "text M1")
        );
    }

    pub fn a_batch_with_a_duplicate_keeps_the_others(test_db: &TestDb) {
        let db = setup(test_db);
        db.messages()
            .insert(&name("a"), &message("M2", "1@s.whatsapp.net"))
            .unwrap();
        let batch = vec![
            (name("a"), message("M1", "1@s.whatsapp.net")),
            (name("a"), message("M2", "1@s.whatsapp.net")),
            (name("a"), message("M3", "1@s.whatsapp.net")),
        ];
        let outcomes = db.messages().insert_batch(&batch).unwrap();
        assert_eq!(outcomes, [true, false, true], "new, repeat, new");
        let all = db
            .messages()
            .list(&MessageFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(all.len(), 3);
    }

    pub fn claims_take_chat_heads_in_arrival_order(test_db: &TestDb) {
        let db = setup(test_db);
        for (id, chat) in [("X1", "x"), ("X2", "x"), ("Y1", "y"), ("X3", "x")] {
            db.messages().insert(&name("a"), &message(id, chat)).unwrap();
        }
        assert_eq!(
            claim(&db, "one", 10),
            [("a".into(), "X1".into()), ("a".into(), "Y1".into())]
        );
        assert!(
            claim(&db, "two", 10).is_empty(),
            "heads are leased, later messages wait"
        );
        let x1 = db
            .messages()
            .list(&MessageFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let x1 = x1.iter().find(|r| r.inbound.message_id == "X1").unwrap().id;
        assert!(db.messages().complete(x1, "one", None).unwrap());
        assert_eq!(claim(&db, "two", 10), [("a".into(), "X2".into())]);
    }

    pub fn claims_respect_per_instance_capacity(test_db: &TestDb) {
        let db = setup(test_db);
        for i in 0..5 {
            db.messages()
                .insert(&name("a"), &message(&format!("A{i}"), &format!("chat{i}")))
                .unwrap();
        }
        db.messages().insert(&name("b"), &message("B0", "chatb")).unwrap();
        let request = ClaimRequest {
            owner: "d".into(),
            lease: Duration::from_secs(60),
            limit: 10,
            capacity: Some(vec![("a".into(), 2), ("b".into(), 5)]),
            leases: Vec::new(),
        };
        let claimed: Vec<String> = db
            .messages()
            .claim(&request)
            .unwrap()
            .into_iter()
            .map(|r| r.inbound.message_id)
            .collect();
        assert_eq!(claimed, ["A0", "A1", "B0"]);
    }

    pub fn writes_are_fenced_by_the_lease(test_db: &TestDb) {
        let db = setup(test_db);
        let InsertOutcome::Accepted(id) = db.messages().insert(&name("a"), &message("M1", "c")).unwrap()
        else {
            panic!()
        };
        let short = ClaimRequest {
            owner: "old".into(),
            lease: Duration::from_millis(100),
            limit: 1,
            capacity: None,
            leases: Vec::new(),
        };
        assert_eq!(db.messages().claim(&short).unwrap().len(), 1);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(claim(&db, "new", 1).len(), 1, "an expired lease is claimable");
        assert!(
            !db.messages()
                .save_reply(id, "old", "stale", 1, Duration::from_secs(60), None)
                .unwrap(),
            "the old owner is fenced off"
        );
        assert!(db
            .messages()
            .save_reply(id, "new", "fresh", 1, Duration::from_secs(60), None)
            .unwrap());
        assert!(db
            .messages()
            .part_sent(id, "new", 1, Duration::from_secs(60))
            .unwrap());
        assert!(db.messages().complete(id, "new", None).unwrap());
        let record = db.messages().get(id).unwrap();
        assert_eq!(
            (record.status, record.reply.as_deref(), record.attempts),
            (MessageStatus::Done, Some("fresh"), 2)
        );
    }

    pub fn failed_messages_can_be_queued_again(test_db: &TestDb) {
        let db = setup(test_db);
        let InsertOutcome::Accepted(id) = db.messages().insert(&name("a"), &message("M1", "c")).unwrap()
        else {
            panic!()
        };
        db.messages().insert(&name("b"), &message("M2", "d")).unwrap();
        assert!(
            matches!(db.messages().requeue(id), Err(DbError::Conflict(_))),
            "only failed messages"
        );
        for record in db
            .messages()
            .claim(&ClaimRequest {
                owner: "d".into(),
                lease: Duration::from_secs(60),
                limit: 10,
                capacity: None,
                leases: Vec::new(),
            })
            .unwrap()
        {
            assert!(db.messages().fail(record.id, "d", Stage::Agent, "boom").unwrap());
        }
        let requeued = db.messages().requeue(id).unwrap();
        assert_eq!((requeued.status, requeued.attempts), (MessageStatus::Queued, 0));
        assert_eq!(db.messages().requeue_failed(Some(&name("a"))).unwrap(), 0);
        assert_eq!(db.messages().requeue_failed(None).unwrap(), 1);
        assert!(matches!(
            db.messages().requeue(9999),
            Err(DbError::NotFound { .. })
        ));
        assert!(db.messages().release("nobody").unwrap() == 0);
    }

    pub fn listing_filters_and_retention(test_db: &TestDb) {
        let db = setup(test_db);
        db.messages().insert(&name("a"), &message("M1", "c1")).unwrap();
        db.messages().insert(&name("a"), &message("M2", "c2")).unwrap();
        db.messages().insert(&name("b"), &message("M3", "c1")).unwrap();
        let by = |f: MessageFilter| {
            db.messages()
                .list(&MessageFilter { limit: 10, ..f })
                .unwrap()
                .len()
        };
        assert_eq!(
            by(MessageFilter {
                instance: Some("a".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            by(MessageFilter {
                chat: Some("c1".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            by(MessageFilter {
                status: Some(MessageStatus::Done),
                ..Default::default()
            }),
            0
        );
        let newest = db
            .messages()
            .list(&MessageFilter {
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(newest[0].inbound.message_id, "M3");
        let claimed = db
            .messages()
            .claim(&ClaimRequest {
                owner: "d".into(),
                lease: Duration::from_secs(60),
                limit: 1,
                capacity: None,
                leases: Vec::new(),
            })
            .unwrap();
        db.messages().complete(claimed[0].id, "d", None).unwrap();
        let future = chrono::Utc::now() + chrono::Duration::days(1);
        assert_eq!(
            db.messages().delete_finished_before(future).unwrap(),
            1,
            "only finished messages are deleted"
        );
        let counts = db.messages().count_by_status().unwrap();
        assert_eq!(counts, vec![(MessageStatus::Queued, 2)]);
        db.instances().delete(&name("b"), false).unwrap();
        assert_eq!(
            by(MessageFilter::default()),
            1,
            "deleting an instance deletes its log"
        );
    }
}
