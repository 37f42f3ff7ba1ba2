//! Replies to a number that is not connected are held: not failed, not retried in a tight
//! loop; they go out when the number is `open` again, and fail with the stored reason after
//! `hold_max`. A send refused with `LICENSE_REQUIRED` is held too. The clock is moved, never
//! slept on.

use std::sync::Arc;
use std::time::Duration;

use omnihub_core::{IngestOutcome, Pipeline};
use omnihub_db::Database;
use omnihub_domain::{ConnectionState, ManualClock, MessageRecord, MessageStatus};
use omnihub_test_support::{
    echo_agent, evolution_key, text_webhook, wait_until, FakeEvolution, InstanceBuilder, TestDb,
};
use serde_json::{json, Value};

use crate::{create, database, fast_config, ingest_with, records, start_http};

omnihub_test_support::on_both_engines!(async:
    held_replies_resume_when_the_number_opens_and_expire_after_hold_max,
    a_license_required_send_is_held_until_evolution_is_activated,
);

const SECRET: &str = "webhook-secret-0123456789";

struct Setup {
    evolution: FakeEvolution,
    clock: ManualClock,
    db: Database,
    pipeline: Pipeline,
    _agent: omnihub_test_support::FakeHttp,
}

fn setup(test_db: &TestDb) -> Setup {
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    evolution.world.add_instance("wa_shop", Some("5511900000001"));
    // Its webhook (delivered by the test itself, straight into the pipeline).
    let hook = json!({"webhook": {"enabled": true, "url": "http://hub.invalid/webhook/evolution/shop",
                                  "events": [], "headers": {"x-omnihub-token": SECRET}}});
    let set = evolution.world.handle(
        "POST",
        "/webhook/set/wa_shop",
        Some(&evolution_key("shop")),
        &hook,
    );
    assert_eq!(set.unwrap().status, 201);
    let agent = echo_agent();
    let clock = ManualClock::new();
    let db = database(test_db, Some(Arc::new(clock.clone())));
    create(
        &db,
        InstanceBuilder::new("shop")
            .agent(&agent.url)
            .evolution(evolution.url())
            .webhook_secret(SECRET),
    );
    let mut config = fast_config(Duration::from_millis(50));
    config.hold_max = Duration::from_secs(2 * 3600);
    let pipeline = start_http(&db, config);
    Setup {
        evolution,
        clock,
        db,
        pipeline,
        _agent: agent,
    }
}

async fn webhook(setup: &Setup, body: &Value) -> IngestOutcome {
    ingest_with(&setup.pipeline, "shop", SECRET, body).await
}

async fn until(db: &Database, what: &'static str, done: impl Fn(&[MessageRecord]) -> bool + Send + 'static) {
    let db = db.clone();
    tokio::task::spawn_blocking(move || wait_until(10, what, || done(&records(&db))))
        .await
        .unwrap();
}

fn sends(evolution: &FakeEvolution) -> usize {
    evolution.http.requests_to("/message/sendText").len()
}

async fn held_replies_resume_when_the_number_opens_and_expire_after_hold_max(test_db: &TestDb) {
    let s = setup(test_db);
    // Logged out on the phone: Evolution says so.
    let deliveries = s.evolution.world.drop_connection("wa_shop", 401).unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        webhook(&s, &deliveries[0].body).await,
        IngestOutcome::Recorded("close".into())
    );
    let stored = s.db.connections().get("shop").unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.reason_code),
        (ConnectionState::Close, Some(401))
    );
    assert!(
        webhook(&s, &text_webhook("wa_shop", "H1", "1@s.whatsapp.net", "hi"))
            .await
            .is_accepted()
    );
    until(&s.db, "the reply to be held", |all| {
        all[0].held_since.is_some() && all[0].status == MessageStatus::Queued
    })
    .await;
    let held = &records(&s.db)[0];
    assert_eq!(held.reply.as_deref(), Some("echo: hi"), "the agent answered once");
    assert_eq!(held.attempts, 0, "waiting used no attempt");
    assert!(
        held.error
            .as_deref()
            .unwrap()
            .contains("logged out from the phone"),
        "{:?}",
        held.error
    );
    assert_eq!(sends(&s.evolution), 0);
    // Looked at again after a minute: still closed, still held, still not sent.
    s.clock.advance(Duration::from_secs(61));
    s.pipeline.wake();
    until(&s.db, "the reply to be held again", |all| {
        all[0].next_attempt_at > all[0].held_since.unwrap() + chrono::Duration::seconds(61)
    })
    .await;
    assert_eq!(sends(&s.evolution), 0);
    // The number is connected again: the reply goes out at once, without moving the clock.
    let key = evolution_key("shop");
    s.evolution
        .world
        .handle("GET", "/instance/connect/wa_shop", Some(&key), &Value::Null)
        .unwrap();
    let deliveries = s.evolution.world.scan("wa_shop", "5511900000001").unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        webhook(&s, &deliveries[0].body).await,
        IngestOutcome::Recorded("open".into())
    );
    s.pipeline.wake();
    until(&s.db, "the held reply to be sent", |all| {
        all[0].status == MessageStatus::Done
    })
    .await;
    assert_eq!(sends(&s.evolution), 1);
    assert_eq!(
        s.evolution.http.requests_to("/message/sendText")[0].json["text"],
        "echo: hi"
    );
    // Closed again, for longer than hold_max: the reply fails with the reason.
    for delivery in s.evolution.world.drop_connection("wa_shop", 401).unwrap() {
        webhook(&s, &delivery.body).await;
    }
    assert!(
        webhook(&s, &text_webhook("wa_shop", "H2", "2@s.whatsapp.net", "later"))
            .await
            .is_accepted()
    );
    until(&s.db, "the second reply to be held", |all| {
        all.len() == 2 && all[1].held_since.is_some()
    })
    .await;
    for _ in 0..3 {
        s.clock.advance(Duration::from_secs(3600));
        s.pipeline.wake();
        tokio::task::yield_now().await;
    }
    until(&s.db, "the held reply to expire", |all| {
        all[1].status == MessageStatus::Failed
    })
    .await;
    let failed = &records(&s.db)[1];
    assert!(
        failed.error.as_deref().unwrap().contains("OMNIHUB_HOLD_MAX"),
        "{:?}",
        failed.error
    );
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("logged out from the phone"),
        "{:?}",
        failed.error
    );
    assert_eq!(
        sends(&s.evolution),
        1,
        "no apology is tried on a number that is not connected"
    );
    s.pipeline.shutdown(Duration::from_secs(1));
}

async fn a_license_required_send_is_held_until_evolution_is_activated(test_db: &TestDb) {
    let s = setup(test_db);
    s.evolution.world.set_activated(false);
    assert!(
        webhook(&s, &text_webhook("wa_shop", "L1", "1@s.whatsapp.net", "hi"))
            .await
            .is_accepted()
    );
    until(&s.db, "the reply to be held", |all| all[0].held_since.is_some()).await;
    let held = &records(&s.db)[0];
    assert!(
        held.error.as_deref().unwrap().contains("LICENSE_REQUIRED"),
        "{:?}",
        held.error
    );
    assert_eq!(
        s.db.connections().get("shop").unwrap().unwrap().state,
        ConnectionState::NotActivated
    );
    let tries = sends(&s.evolution);
    assert_eq!(tries, 1, "one send learned it; no tight loop");
    s.evolution.world.set_activated(true);
    s.clock.advance(Duration::from_secs(61));
    s.pipeline.wake();
    until(&s.db, "the reply to be sent once activated", |all| {
        all[0].status == MessageStatus::Done
    })
    .await;
    assert_eq!(sends(&s.evolution), 2);
    s.pipeline.shutdown(Duration::from_secs(1));
}

trait Accepted {
    fn is_accepted(&self) -> bool;
}

impl Accepted for IngestOutcome {
    fn is_accepted(&self) -> bool {
        matches!(self, IngestOutcome::Accepted { .. })
    }
}
