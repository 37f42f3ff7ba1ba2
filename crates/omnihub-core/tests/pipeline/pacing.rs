//! Send pacing and outbound messages in process, on a clock the test moves: a number's sends
//! keep to `send_per_minute` (replies and outbound alike), a paced message waits in the
//! queue with its due time (read, not waited for), and a person's message goes out after the
//! reply in flight in its chat.

use std::sync::Arc;
use std::time::Duration;

use omnihub_core::IngestOutcome;
use omnihub_db::Database;
use omnihub_domain::{ConversationRules, Direction, InstanceName, ManualClock, MessageStatus, Outbound};
use omnihub_test_support::{
    ok_evolution, text_webhook, texts, wait_until, FakeHttp, InstanceBuilder, Reply, TestDb,
};
use serde_json::json;

use crate::{create, database, fast_config, ingest, records, start_http};

omnihub_test_support::on_both_engines!(async:
    twelve_sends_at_sixty_a_minute_go_ten_then_one_a_second,
    a_person_message_waits_for_the_reply_in_flight,
);

fn shop(
    test_db: &TestDb,
    agent: &FakeHttp,
    evolution: &FakeHttp,
    rules: serde_json::Value,
) -> (ManualClock, Database) {
    let clock = ManualClock::new();
    let db = database(test_db, Some(Arc::new(clock.clone())));
    create(
        &db,
        InstanceBuilder::new("shop")
            .agent(&agent.url)
            .evolution(&evolution.url),
    );
    let name = InstanceName::parse("shop").unwrap();
    db.chats()
        .set_rules(&name, &ConversationRules::from_json(&rules).unwrap())
        .unwrap();
    (clock, db)
}

async fn wait_sent(evolution: &Arc<FakeHttp>, count: usize) {
    let evolution = evolution.clone();
    tokio::task::spawn_blocking(move || wait_until(10, "the sends", || texts(&evolution).len() == count))
        .await
        .unwrap();
}

async fn twelve_sends_at_sixty_a_minute_go_ten_then_one_a_second(test_db: &TestDb) {
    let agent = FakeHttp::start(|_, _| Reply::json(200, json!({"message": "ok"})));
    let evolution = Arc::new(ok_evolution());
    let (clock, db) = shop(test_db, &agent, &evolution, json!({}));
    let pipeline = start_http(&db, fast_config(Duration::from_secs(1)));
    let name = InstanceName::parse("shop").unwrap();
    // Six replies (six people write) and six outbound messages: twelve sends of one number.
    for i in 0..6 {
        let body = text_webhook(
            "wa_shop",
            &format!("IN{i}"),
            &format!("551199999000{i}@s.whatsapp.net"),
            "hi",
        );
        assert!(matches!(
            ingest(&pipeline, "shop", &body).await,
            IngestOutcome::Accepted { .. }
        ));
        let to = format!("552199999000{i}");
        let outbound =
            Outbound::from_json(&json!({"to": to, "text": format!("news {i}"), "keep_bot": true})).unwrap();
        pipeline.send(&name, outbound, "api").await.unwrap();
    }
    wait_sent(&evolution, 10).await;
    // The other two wait in the queue for their slots, 1 s and 2 s from now, without an
    // attempt counted or an error recorded.
    let db2 = db.clone();
    let waiting = tokio::task::spawn_blocking(move || {
        wait_until(10, "two paced messages", || {
            records(&db2)
                .iter()
                .filter(|r| r.status == MessageStatus::Queued && r.next_attempt_at > db2.now())
                .count()
                == 2
        });
        records(&db2)
            .into_iter()
            .filter(|r| r.status == MessageStatus::Queued)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let mut due: Vec<i64> = waiting
        .iter()
        .map(|r| (r.next_attempt_at - r.received_at).num_milliseconds())
        .collect();
    due.sort_unstable();
    assert_eq!(due, [1000, 2000], "{waiting:?}");
    assert!(
        waiting.iter().all(|r| r.attempts == 0 && r.error.is_none()),
        "{waiting:?}"
    );
    assert_eq!(texts(&evolution).len(), 10);
    let paced = pipeline.pacing();
    assert_eq!((paced[0].instance.as_str(), paced[0].waiting), ("shop", 2));
    clock.advance(Duration::from_secs(1));
    pipeline.wake();
    wait_sent(&evolution, 11).await;
    clock.advance(Duration::from_secs(1));
    pipeline.wake();
    wait_sent(&evolution, 12).await;
    pipeline.shutdown(Duration::from_secs(1));
    let all = records(&db);
    assert!(all.iter().all(|r| r.status == MessageStatus::Done), "{all:?}");
    assert_eq!(
        all.iter().filter(|r| r.direction == Direction::Outbound).count(),
        6
    );
    assert_eq!(
        agent.requests().len(),
        6,
        "outbound messages never reach the agent"
    );
}

async fn a_person_message_waits_for_the_reply_in_flight(test_db: &TestDb) {
    // The agent takes a moment; the person's message, sent meanwhile, goes out after the reply.
    let agent = Arc::new(FakeHttp::start(|_, _| {
        Reply::json(200, json!({"message": "the bot's answer"})).after(Duration::from_millis(300))
    }));
    let evolution = Arc::new(ok_evolution());
    let (_clock, db) = shop(test_db, &agent, &evolution, json!({"send_per_minute": 0}));
    let pipeline = start_http(&db, fast_config(Duration::from_secs(1)));
    let chat = "5511999990000@s.whatsapp.net";
    ingest(
        &pipeline,
        "shop",
        &text_webhook("wa_shop", "IN1", chat, "question"),
    )
    .await;
    let agent2 = agent.clone();
    tokio::task::spawn_blocking(move || wait_until(10, "the agent call", || agent2.requests().len() == 1))
        .await
        .unwrap();
    let name = InstanceName::parse("shop").unwrap();
    let sent = pipeline
        .send(
            &name,
            Outbound::text(chat, "a person adds this").unwrap(),
            "console",
        )
        .await
        .unwrap();
    assert!(!sent.duplicate);
    assert!(
        sent.chat.state.is_paused(db.now()),
        "a person's send takes the chat over"
    );
    wait_sent(&evolution, 2).await;
    pipeline.shutdown(Duration::from_secs(1));
    let order: Vec<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(order, ["the bot's answer", "a person adds this"]);
}
