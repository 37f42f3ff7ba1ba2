//! The dispatcher against real SQLite and PostgreSQL databases and trait fakes of the
//! agent and Evolution.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

mod fakes;
mod scenarios;

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnihub_core::{Dispatcher, DispatcherConfig, InstanceCache, NoEvents, RetryPolicy};
use omnihub_db::{Database, DatabaseUrl, InsertOutcome};
use omnihub_domain::{InboundMessage, InstanceName, MessageContent, MessageKind, MessageStatus};
use omnihub_test_support::{InstanceBuilder, TestDb};
use tokio::sync::watch;

use fakes::{FakeAgent, FakeMessenger};

/// A migrated database with instances `a` and `b` (Evolution configured unless told not).
pub(crate) struct World {
    pub(crate) db: Database,
    pub(crate) cache: InstanceCache,
    pub(crate) agent: FakeAgent,
    pub(crate) messenger: FakeMessenger,
}

pub(crate) fn world(test_db: &TestDb) -> World {
    let db = Database::connect(&DatabaseUrl::parse(test_db.url()).unwrap()).unwrap();
    db.migrate().unwrap();
    for name in ["a", "b"] {
        add_instance(&db, name, true);
    }
    let cache = InstanceCache::new(db.clone(), Duration::from_secs(60));
    cache.reload().unwrap();
    World {
        db,
        cache,
        agent: FakeAgent::default(),
        messenger: FakeMessenger::default(),
    }
}

pub(crate) fn add_instance(db: &Database, name: &str, with_evolution: bool) {
    let mut instance = InstanceBuilder::new(name);
    if with_evolution {
        instance = instance.evolution("http://evolution.invalid");
    }
    db.instances()
        .create(&instance.input().validate().unwrap())
        .unwrap();
    // These scenarios test claiming and ordering, many sends a second: their numbers are not
    // paced (pacing has its own tests in tests/pipeline/pacing.rs).
    let unpaced =
        omnihub_domain::ConversationRules::from_json(&serde_json::json!({"send_per_minute": 0})).unwrap();
    db.chats()
        .set_rules(&omnihub_domain::InstanceName::parse(name).unwrap(), &unpaced)
        .unwrap();
}

pub(crate) fn text_message(id: &str, chat: &str, text: &str) -> InboundMessage {
    InboundMessage {
        message_id: id.into(),
        chat_id: chat.into(),
        author: None,
        sender_name: Some("Ana".into()),
        phone: chat.split('@').next().map(str::to_owned),
        timestamp: None,
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

pub(crate) fn accept(db: &Database, instance: &str, message: &InboundMessage) -> i64 {
    match db
        .messages()
        .insert(&InstanceName::parse(instance).unwrap(), message)
        .unwrap()
    {
        InsertOutcome::Accepted(id) => id,
        InsertOutcome::Duplicate => panic!("duplicate"),
    }
}

pub(crate) fn fast_config(owner: &str) -> DispatcherConfig {
    DispatcherConfig {
        owner: owner.into(),
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        ..DispatcherConfig::default()
    }
}

/// Runs a dispatcher until every message is done or failed (or 20 s pass), then stops it.
pub(crate) async fn run_until_finished(w: &World, config: DispatcherConfig, expected: i64) {
    let dispatcher = Dispatcher::new(
        w.db.clone(),
        w.cache.clone(),
        w.agent.clone(),
        w.messenger.clone(),
        Arc::new(NoEvents),
        config,
    );
    let (stop, stopped) = watch::channel(None);
    let handle = tokio::spawn(dispatcher.run(stopped));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let db = w.db.clone();
        let counts = tokio::task::spawn_blocking(move || db.messages().count_by_status().unwrap())
            .await
            .unwrap();
        let finished: i64 = counts
            .iter()
            .filter(|(s, _)| matches!(s, MessageStatus::Done | MessageStatus::Failed))
            .map(|(_, n)| n)
            .sum();
        if finished >= expected {
            break;
        }
        assert!(Instant::now() < deadline, "not finished: {counts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(Some(Duration::from_secs(5))).unwrap();
    handle.await.unwrap();
}
