//! Stored connection states and held replies, on both engines.

use std::sync::Arc;
use std::time::Duration;

use omnihub_db::{Change, ClaimRequest, Database, DbError};
use omnihub_domain::{ConnectionReport, ConnectionState, ManualClock, MessageStatus};
use omnihub_test_support::TestDb;

use crate::support::{name, new_instance, open};

omnihub_test_support::on_both_engines!(
    reports_merge_into_one_row_per_instance,
    a_held_reply_gives_its_attempt_back_and_is_released_when_the_number_opens,
);

fn state(state: ConnectionState, code: Option<i64>) -> ConnectionReport {
    ConnectionReport {
        state: Some(state),
        reason_code: code,
        ..ConnectionReport::default()
    }
}

fn reports_merge_into_one_row_per_instance(test_db: &TestDb) {
    let clock = ManualClock::new();
    let db = open(test_db).with_clock(Arc::new(clock.clone()));
    db.instances().create(&new_instance("a")).unwrap();
    let store = db.connections();
    assert_eq!(store.get("a").unwrap(), None, "never reported");
    let first = store
        .report(
            "a",
            &ConnectionReport {
                qr: true,
                ..ConnectionReport::default()
            },
        )
        .unwrap();
    assert_eq!(first.before, None);
    assert_eq!(first.now.state, ConnectionState::Connecting, "a QR means pairing");
    assert!(first.now.last_qr_at.is_some());
    clock.advance(Duration::from_secs(30));
    let open = ConnectionReport {
        number: Some("5511988887777".into()),
        profile_name: Some("ACME".into()),
        ..state(ConnectionState::Open, None)
    };
    let opened = store.report("a", &open).unwrap();
    assert_eq!(opened.before, Some(ConnectionState::Connecting));
    assert_eq!((opened.now.since - first.now.since).num_seconds(), 30);
    clock.advance(Duration::from_secs(30));
    let closed = store
        .report(
            "a",
            &ConnectionReport {
                reason: Some("logged out".into()),
                ..state(ConnectionState::Close, Some(401))
            },
        )
        .unwrap();
    assert_eq!(closed.now.reason_code, Some(401));
    assert_eq!(
        closed.now.number.as_deref(),
        Some("5511988887777"),
        "kept from the open report"
    );
    assert_eq!(closed.now.profile_name.as_deref(), Some("ACME"));
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1.state, ConnectionState::Close);
    let unknown = store.report("ghost", &state(ConnectionState::Open, None));
    assert!(matches!(unknown, Err(DbError::NotFound { .. })), "{unknown:?}");
}

/// Claims the due messages (at most one).
fn claim(db: &Database) -> Vec<omnihub_domain::MessageRecord> {
    let request = ClaimRequest {
        owner: "d".into(),
        lease: Duration::from_secs(60),
        limit: 1,
        capacity: None,
        leases: Vec::new(),
    };
    db.messages().claim(&request).unwrap()
}

fn claim_one(db: &Database) -> omnihub_domain::MessageRecord {
    claim(db).pop().unwrap()
}

fn a_held_reply_gives_its_attempt_back_and_is_released_when_the_number_opens(test_db: &TestDb) {
    let clock = ManualClock::new();
    let db = open(test_db).with_clock(Arc::new(clock.clone()));
    db.instances().create(&new_instance("a")).unwrap();
    let message = omnihub_test_support::text_message("M1", "1@s.whatsapp.net", "hi");
    db.messages().insert(&name("a"), &message).unwrap();
    db.connections()
        .report("a", &state(ConnectionState::Close, Some(401)))
        .unwrap();
    let claimed = claim_one(&db);
    assert_eq!(claimed.attempts, 1);
    let hold = Change::Hold {
        id: claimed.id,
        owner: "d".into(),
        delay: Duration::from_secs(3600),
        reason: "the number is not connected (close)".into(),
    };
    db.messages().apply(&[hold]).unwrap();
    let held = db.messages().get(claimed.id).unwrap();
    assert_eq!(held.status, MessageStatus::Queued);
    assert_eq!(held.attempts, 0, "waiting is not failing");
    let first_held = held.held_since.unwrap();
    assert_eq!(held.error.as_deref(), Some("the number is not connected (close)"));
    assert!(claim(&db).is_empty(), "not due for an hour");
    // Held again later: held_since keeps the first time.
    clock.advance(Duration::from_secs(3601));
    let again = claim_one(&db);
    db.messages()
        .apply(&[Change::Hold {
            id: again.id,
            owner: "d".into(),
            delay: Duration::from_secs(3600),
            reason: "still not connected".into(),
        }])
        .unwrap();
    assert_eq!(db.messages().get(again.id).unwrap().held_since, Some(first_held));
    // The number opens: the reply is due at once.
    let opened = db
        .connections()
        .report("a", &state(ConnectionState::Open, None))
        .unwrap();
    assert_eq!(opened.released, 1);
    let released = claim_one(&db);
    assert_eq!(released.id, claimed.id);
    // Opening again releases nothing more.
    let again = db
        .connections()
        .report("a", &state(ConnectionState::Open, None))
        .unwrap();
    assert_eq!(again.released, 0);
}
