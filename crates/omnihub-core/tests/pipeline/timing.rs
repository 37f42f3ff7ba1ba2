//! Time-dependent behaviour with a clock the test moves: a retry waits for its backoff,
//! and conversation state survives between turns.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnihub_agent::AgentError;
use omnihub_core::{AgentApi, IngestOutcome, MessengerApi, Pipeline};
use omnihub_db::ClaimRequest;
use omnihub_domain::{AgentReply, AgentTurn, InstanceConfig, ManualClock, MessageStatus, Stage};
use omnihub_evolution::EvolutionError;
use omnihub_test_support::{
    ok_evolution, text_webhook, texts, wait_until, FakeHttp, InstanceBuilder, Reply, TestDb,
};
use serde_json::json;

use crate::{all_done, create, database, fast_config, ingest, records, start_http};

omnihub_test_support::on_both_engines!(async:
    a_retry_waits_for_its_backoff_on_the_clock,
    conversation_state_is_kept_between_turns,
);

async fn a_retry_waits_for_its_backoff_on_the_clock(test_db: &TestDb) {
    let agent = FakeHttp::start(|r, n| match n {
        0 => Reply::json(503, json!({"detail": "warming up"})),
        _ => Reply::json(
            200,
            json!({"message": format!("late: {}", r.json["message_content"].as_str().unwrap_or(""))}),
        ),
    });
    let evolution = ok_evolution();
    let clock = ManualClock::new();
    let db = database(test_db, Some(Arc::new(clock.clone())));
    create(
        &db,
        InstanceBuilder::new("shop")
            .agent(&agent.url)
            .evolution(&evolution.url),
    );
    let pipeline = start_http(&db, fast_config(Duration::from_secs(60)));
    let outcome = ingest(
        &pipeline,
        "shop",
        &text_webhook("wa_shop", "R1", "1@s.whatsapp.net", "hi"),
    )
    .await;
    assert!(matches!(outcome, IngestOutcome::Accepted { .. }));
    let waiting = db.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(10, "the retry to be scheduled", || {
            records(&waiting)
                .first()
                .is_some_and(|r| r.status == MessageStatus::Queued && r.error_stage == Some(Stage::Agent))
        })
    })
    .await
    .unwrap();
    // Not due until the clock passes the backoff (60 s, jittered): nobody can claim it now.
    let probe = ClaimRequest {
        owner: "probe".into(),
        lease: Duration::from_secs(5),
        limit: 10,
        capacity: None,
        leases: Vec::new(),
    };
    assert!(
        db.messages().claim(&probe).unwrap().is_empty(),
        "claimable before its backoff"
    );
    assert_eq!(agent.requests().len(), 1);
    clock.advance(Duration::from_secs(300));
    pipeline.wake();
    let done = db.clone();
    tokio::task::spawn_blocking(move || wait_until(10, "the retry", || all_done(&done, 1)))
        .await
        .unwrap();
    pipeline.shutdown(Duration::from_secs(1));
    assert_eq!(agent.requests().len(), 2);
    assert_eq!(texts(&evolution)[0].json["text"], "late: hi");
    assert_eq!(records(&db)[0].attempts, 2);
}

/// An agent that remembers how many turns each conversation had, in omnihub's state.
#[derive(Clone, Default)]
struct CountingAgent {
    seen: Arc<Mutex<Vec<Option<serde_json::Value>>>>,
}

impl AgentApi for CountingAgent {
    async fn run(&self, _instance: &InstanceConfig, turn: &AgentTurn<'_>) -> Result<AgentReply, AgentError> {
        self.seen.lock().unwrap().push(turn.state.cloned());
        let turns = turn.state.and_then(|s| s["turns"].as_u64()).unwrap_or(0) + 1;
        Ok(AgentReply::text(format!("turn {turns}")).with_state(json!({"turns": turns})))
    }

    fn wants_state(&self, _instance: &InstanceConfig) -> bool {
        true
    }
}

/// Records sends in memory.
#[derive(Clone, Default)]
struct Outbox(Arc<Mutex<Vec<(String, String)>>>);

impl MessengerApi for Outbox {
    async fn send_text(
        &self,
        _instance: &InstanceConfig,
        chat: &str,
        text: &str,
    ) -> Result<(), EvolutionError> {
        self.0.lock().unwrap().push((chat.to_owned(), text.to_owned()));
        Ok(())
    }

    async fn send_typing(&self, _instance: &InstanceConfig, _chat: &str) -> Result<(), EvolutionError> {
        Ok(())
    }
}

async fn conversation_state_is_kept_between_turns(test_db: &TestDb) {
    let db = database(test_db, None);
    create(
        &db,
        InstanceBuilder::new("shop").evolution("http://evolution.invalid"),
    );
    let (agent, outbox) = (CountingAgent::default(), Outbox::default());
    let pipeline = Pipeline::builder(
        db.clone(),
        fast_config(Duration::from_millis(50)),
        agent.clone(),
        outbox.clone(),
    )
    .start()
    .unwrap();
    for (i, chat) in [
        "1@s.whatsapp.net",
        "1@s.whatsapp.net",
        "2@s.whatsapp.net",
        "1@s.whatsapp.net",
    ]
    .iter()
    .enumerate()
    {
        let outcome = ingest(
            &pipeline,
            "shop",
            &text_webhook("wa_shop", &format!("T{i}"), chat, "hi"),
        )
        .await;
        assert!(matches!(outcome, IngestOutcome::Accepted { .. }));
    }
    let done = db.clone();
    tokio::task::spawn_blocking(move || wait_until(10, "four replies", || all_done(&done, 4)))
        .await
        .unwrap();
    pipeline.shutdown(Duration::from_secs(1));
    let sent = outbox.0.lock().unwrap().clone();
    let to_one: Vec<&str> = sent
        .iter()
        .filter(|(c, _)| c == "1@s.whatsapp.net")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(
        to_one,
        ["turn 1", "turn 2", "turn 3"],
        "chat 1 keeps its own count"
    );
    assert!(
        sent.contains(&("2@s.whatsapp.net".into(), "turn 1".into())),
        "chat 2 starts fresh"
    );
    assert_eq!(
        db.conversations().get("shop", "shop_1").unwrap(),
        Some(json!({"turns": 3}))
    );
    assert_eq!(
        agent.seen.lock().unwrap()[0],
        None,
        "a new conversation has no state"
    );
}
