//! Conversation rules end to end in process: webhooks in, the decision on the stored chat
//! state, the agent and Evolution calls out. The clock is moved by the test; nothing waits
//! to prove that something did not happen (the leader's due time is read instead).

use std::sync::Arc;
use std::time::Duration;

use omnihub_core::{IngestOutcome, Pipeline};
use omnihub_db::Database;
use omnihub_domain::{ConversationRules, ManualClock, MessageStatus, SkipReason};
use omnihub_test_support::{
    ok_evolution, text_webhook, texts, wait_until, FakeHttp, InstanceBuilder, Reply, TestDb,
};
use serde_json::{json, Value};

use crate::{all_done, create, database, fast_config, ingest, records, start_http};

omnihub_test_support::on_both_engines!(async:
    a_burst_of_five_is_one_agent_call_across_three_replicas,
    a_person_typing_on_the_phone_takes_over_until_the_keyword_or_the_time,
    lid_and_phone_addresses_of_one_person_are_one_chat,
);

fn echo_agent() -> FakeHttp {
    FakeHttp::start(|r, _| {
        Reply::json(
            200,
            json!({"message": format!("re: {}", r.json["message_content"].as_str().unwrap_or(""))}),
        )
    })
}

fn shop(db: &Database, agent: &FakeHttp, evolution: &FakeHttp, rules: Value) {
    create(
        db,
        InstanceBuilder::new("shop")
            .agent(&agent.url)
            .evolution(&evolution.url),
    );
    let name = omnihub_domain::InstanceName::parse("shop").unwrap();
    db.chats()
        .set_rules(&name, &ConversationRules::from_json(&rules).unwrap())
        .unwrap();
}

/// Fakes, a clock the test moves, and a database with the instance `shop` under `rules`.
fn setup(test_db: &TestDb, rules: Value) -> (FakeHttp, FakeHttp, ManualClock, Database) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let clock = ManualClock::new();
    let db = database(test_db, Some(Arc::new(clock.clone())));
    shop(&db, &agent, &evolution, rules);
    (agent, evolution, clock, db)
}

/// Waits until `count` messages are answered (skipped ones stay skipped).
async fn wait_answered(db: &Database, count: usize) {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(10, "the answers", || {
            records(&db)
                .iter()
                .filter(|r| r.status == MessageStatus::Done)
                .count()
                == count
        })
    })
    .await
    .unwrap();
}

async fn wait_done(db: &Database, count: usize) {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(10, "the messages to be answered", || all_done(&db, count))
    })
    .await
    .unwrap();
}

async fn a_burst_of_five_is_one_agent_call_across_three_replicas(test_db: &TestDb) {
    let (agent, evolution, clock, db) = setup(test_db, json!({"debounce_ms": 2000, "debounce_max_ms": 5000}));
    let replicas: Vec<Pipeline> = (0..3)
        .map(|_| start_http(&db, fast_config(Duration::from_secs(1))))
        .collect();
    let words = ["one", "two", "three", "four", "five"];
    for (i, word) in words.iter().enumerate() {
        let mut body = text_webhook("wa_shop", &format!("D{i}"), "5511999990000@s.whatsapp.net", word);
        if i == 2 {
            body["data"]["message"] =
                json!({"imageMessage": {"caption": word, "mimetype": "image/jpeg"}, "base64": "SU1BR0U="});
        }
        let outcome = ingest(&replicas[i % 3], "shop", &body).await;
        assert!(
            matches!(outcome, IngestOutcome::Accepted { messages: 1, .. }),
            "{outcome:?}"
        );
        if i < 4 {
            clock.advance(Duration::from_secs(1));
        }
    }
    // One row waits, due at the cap (first + 5 s), not at the last message + 2 s.
    let queued: Vec<_> = records(&db)
        .into_iter()
        .filter(|r| r.status == MessageStatus::Queued)
        .collect();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        queued[0].next_attempt_at,
        queued[0].received_at + chrono::Duration::seconds(5)
    );
    assert!(agent.requests().is_empty());
    clock.advance(Duration::from_secs(1));
    for replica in &replicas {
        replica.wake();
    }
    wait_done(&db, 5).await;
    for replica in &replicas {
        replica.shutdown(Duration::from_secs(1));
    }
    let calls = agent.requests();
    assert_eq!(calls.len(), 1, "one agent call for the burst");
    let content = calls[0].json["message_content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(content.ends_with("one\ntwo\nthree\nfour\nfive"), "{content}");
    assert_eq!(
        calls[0].json["media_contents"][0]["data"], "SU1BR0U=",
        "the image is kept"
    );
    assert_eq!(texts(&evolution).len(), 1);
}

fn from_phone(id: &str, text: &str) -> Value {
    let mut body = text_webhook("wa_shop", id, "5511999990000@s.whatsapp.net", text);
    body["data"]["key"]["fromMe"] = json!(true);
    body
}

async fn a_person_typing_on_the_phone_takes_over_until_the_keyword_or_the_time(test_db: &TestDb) {
    let (agent, evolution, clock, db) =
        setup(test_db, json!({"takeover_minutes": 10, "resume_keyword": "#bot"}));
    let pipeline = start_http(&db, fast_config(Duration::from_secs(1)));
    let chat = "5511999990000@s.whatsapp.net";
    // omnihub's own sends come back as send.message: never a takeover.
    let own = json!({"event": "send.message", "instance": "wa_shop", "data": {"key": {"remoteJid": chat, "fromMe": true, "id": "OWN"}, "message": {"conversation": "re: hi"}}});
    assert!(matches!(
        ingest(&pipeline, "shop", &own).await,
        IngestOutcome::Ignored(_)
    ));
    let paused = ingest(&pipeline, "shop", &from_phone("F1", "I'll handle this")).await;
    assert!(
        matches!(&paused, IngestOutcome::Skipped(r) if r.contains("chat paused")),
        "{paused:?}"
    );
    let skipped = ingest(&pipeline, "shop", &text_webhook("wa_shop", "I1", chat, "hello?")).await;
    assert_eq!(skipped, IngestOutcome::Skipped("not answered: paused".into()));
    // Ten minutes later the bot answers again by itself.
    clock.advance(Duration::from_secs(600));
    let answered = ingest(&pipeline, "shop", &text_webhook("wa_shop", "I2", chat, "anyone?")).await;
    assert!(
        matches!(answered, IngestOutcome::Accepted { messages: 1, .. }),
        "{answered:?}"
    );
    wait_answered(&db, 1).await;
    // A takeover without an end, then the keyword typed on the phone resumes at once.
    ingest(&pipeline, "shop", &from_phone("F2", "me again")).await;
    let resumed = ingest(&pipeline, "shop", &from_phone("F3", "#bot")).await;
    assert!(
        matches!(&resumed, IngestOutcome::Skipped(r) if r.contains("resumed")),
        "{resumed:?}"
    );
    let again = ingest(&pipeline, "shop", &text_webhook("wa_shop", "I3", chat, "back?")).await;
    assert!(
        matches!(again, IngestOutcome::Accepted { messages: 1, .. }),
        "{again:?}"
    );
    wait_answered(&db, 2).await;
    pipeline.shutdown(Duration::from_secs(1));
    assert_eq!(
        agent.requests().len(),
        2,
        "the paused message never reached the agent"
    );
    assert_eq!(texts(&evolution).len(), 2);
    let log = records(&db);
    assert_eq!(log.len(), 3, "phone-typed messages are not stored: {log:?}");
    assert_eq!(log[0].skip_reason, Some(SkipReason::Paused));
    let chat_state = db.chats().get("shop", chat).unwrap().state;
    assert_eq!(
        (
            chat_state.inbound_count,
            chat_state.answered_count,
            chat_state.skipped_count
        ),
        (3, 2, 1)
    );
}

async fn lid_and_phone_addresses_of_one_person_are_one_chat(test_db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let db = database(test_db, None);
    shop(&db, &agent, &evolution, json!({}));
    let pipeline = start_http(&db, fast_config(Duration::from_secs(1)));
    let (pn, lid) = ("5511999990000@s.whatsapp.net", "123456789@lid");
    // Evolution 2.3.6: remoteJid is the LID and remoteJidAlt the phone.
    let mut v236 = text_webhook("wa_shop", "L1", lid, "from 2.3.6");
    v236["data"]["key"]["remoteJidAlt"] = json!(pn);
    // 2.3.7+: swapped, with addressingMode.
    let mut v237 = text_webhook("wa_shop", "L2", pn, "from 2.3.7");
    v237["data"]["key"]["remoteJidAlt"] = json!(lid);
    v237["data"]["key"]["addressingMode"] = json!("pn");
    // The LID alone.
    let bare = text_webhook("wa_shop", "L3", lid, "lid only");
    for body in [&v236, &v237, &bare] {
        let outcome = ingest(&pipeline, "shop", body).await;
        assert!(
            matches!(outcome, IngestOutcome::Accepted { messages: 1, .. }),
            "{outcome:?}"
        );
        let count = records(&db).len();
        let db = db.clone();
        tokio::task::spawn_blocking(move || wait_until(10, "the answer", || all_done(&db, count)))
            .await
            .unwrap();
    }
    pipeline.shutdown(Duration::from_secs(1));
    let sessions: Vec<String> = agent
        .requests()
        .iter()
        .map(|r| r.json["session_name"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(sessions, ["shop_5511999990000"; 3], "one session for one person");
    let numbers: Vec<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["number"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        numbers,
        [lid, pn, lid],
        "each reply goes where its message came from"
    );
    let chats = db.chats().list("shop", false, 10).unwrap();
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(chats[0].key, pn);
}
