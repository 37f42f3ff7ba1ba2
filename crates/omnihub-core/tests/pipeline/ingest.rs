//! Ingest end to end: the exact calls made for a captured webhook, duplicates, every kind of
//! refusal, and silence from the agent.

use std::time::Duration;

use omnihub_core::{IngestOutcome, Rejection};
use omnihub_test_support::{
    echo_agent, evolution_key, ok_evolution, text_webhook, texts, wait_until, FakeHttp, InstanceBuilder,
    Reply, TestDb, AGENT_KEY,
};
use serde_json::json;

use crate::{all_done, create, database, fast_config, ingest, records, start_http};

omnihub_test_support::on_both_engines!(async:
    a_captured_webhook_makes_exactly_the_documented_calls,
    refusals_are_typed_and_write_nothing,
    an_automagik_signal_is_recorded_and_not_sent,
);

async fn a_captured_webhook_makes_exactly_the_documented_calls(test_db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let db = database(test_db, None);
    create(
        &db,
        InstanceBuilder::new("shop")
            .whatsapp_instance("caldasIA")
            .agent(&agent.url)
            .evolution(&evolution.url),
    );
    let pipeline = start_http(&db, fast_config(Duration::from_millis(50)));
    let body = include_bytes!("../../../../tests/fixtures/evolution/v2_text.json");
    let outcome = pipeline.ingest(Some("shop"), None, body).await;
    assert_eq!(
        outcome,
        IngestOutcome::Accepted {
            messages: 1,
            sanitised: vec![],
            refused: vec![]
        }
    );
    assert_eq!(
        pipeline.ingest(Some("shop"), None, body).await,
        IngestOutcome::Duplicate
    );
    let sent = tokio::task::spawn_blocking(move || {
        wait_until(20, "the reply", || texts(&evolution).len() == 1);
        texts(&evolution)
    })
    .await
    .unwrap();
    let calls = agent.requests();
    assert_eq!(calls.len(), 1, "one agent call for two deliveries");
    assert_eq!(calls[0].path, "/api/v1/agent/agent-shop/run");
    assert_eq!(calls[0].header("x-api-key"), Some(AGENT_KEY));
    assert_eq!(calls[0].json["session_name"], "shop_5511900006666");
    assert_eq!(sent[0].path, "/message/sendText/caldasIA");
    assert_eq!(sent[0].header("apikey"), Some(evolution_key("shop").as_str()));
    assert_eq!(
        sent[0].json,
        json!({"number": "5511900006666@s.whatsapp.net", "text": "echo: Oii"})
    );
    let done_db = db.clone();
    tokio::task::spawn_blocking(move || wait_until(10, "done", || all_done(&done_db, 1)))
        .await
        .unwrap();
    pipeline.shutdown(Duration::from_secs(5));
}

/// One refused webhook: instance, token, body, the expected code.
type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a [u8], &'a str);

async fn refusals_are_typed_and_write_nothing(test_db: &TestDb) {
    let db = database(test_db, None);
    create(&db, InstanceBuilder::new("open"));
    create(
        &db,
        InstanceBuilder::new("locked").webhook_secret("webhook-secret-0123456789"),
    );
    let pipeline = start_http(&db, fast_config(Duration::from_millis(50)));
    let hello = |instance: &str| text_webhook(instance, "ID1", "1@s.whatsapp.net", "hi");
    let rejected = |outcome: IngestOutcome| match outcome {
        IngestOutcome::Rejected(rejection) => rejection,
        other => panic!("not rejected: {other:?}"),
    };
    let body = hello("wa_locked").to_string();
    let cases: [Case<'_>; 7] = [
        (Some("ghost"), None, body.as_bytes(), "not_found"),
        (Some("locked"), None, body.as_bytes(), "missing_webhook_token"),
        (
            Some("locked"),
            Some("wrong-token-0123456789"),
            body.as_bytes(),
            "invalid_webhook_token",
        ),
        (Some("open"), None, body.as_bytes(), "forbidden"),
        (Some("open"), None, b"{not json", "invalid_json"),
        (Some("open"), None, b"[1, 2]", "not_an_evolution_webhook"),
        (Some("open"), None, br#"{"event": 5}"#, "not_an_evolution_webhook"),
    ];
    for (name, token, body, code) in cases {
        let rejection = rejected(pipeline.ingest(name, token, body).await);
        assert_eq!(rejection.code(), code, "{rejection}");
        assert!(!rejection.to_string().is_empty());
    }
    assert!(matches!(
        rejected(pipeline.ingest(Some("ghost"), None, b"{}").await),
        Rejection::UnknownInstance(name) if name == "ghost"
    ));
    let good = pipeline
        .ingest(Some("locked"), Some("webhook-secret-0123456789"), body.as_bytes())
        .await;
    assert!(
        matches!(good, IngestOutcome::Accepted { messages: 1, .. }),
        "{good:?}"
    );
    let mut mine = hello("wa_open");
    mine["data"]["key"]["fromMe"] = json!(true);
    // Another chat than the one written to below: the takeover pauses only its own chat.
    mine["data"]["key"]["remoteJid"] = json!("5511000000001@s.whatsapp.net");
    // Typed on the instance's phone: it pauses the chat and is not stored.
    assert!(
        matches!(ingest(&pipeline, "open", &mine).await, IngestOutcome::Skipped(r) if r.contains("chat paused"))
    );
    let other_event = json!({"event": "messages.update", "instance": "wa_open", "data": {"status": "READ"}});
    assert!(
        matches!(ingest(&pipeline, "open", &other_event).await, IngestOutcome::Ignored(r) if r.contains("messages.update"))
    );
    let lifecycle = json!({"event": "connection.update", "instance": "wa_open", "data": {"state": "open"}});
    assert_eq!(
        ingest(&pipeline, "open", &lifecycle).await,
        IngestOutcome::Recorded("open".into())
    );
    // The default instance is the first one created.
    let via_default = pipeline
        .ingest(None, None, hello("wa_open").to_string().as_bytes())
        .await;
    assert!(
        matches!(via_default, IngestOutcome::Accepted { messages: 1, .. }),
        "{via_default:?}"
    );
    assert_eq!(
        records(&db).len(),
        2,
        "only the two accepted messages were written"
    );
    pipeline.shutdown(Duration::from_secs(1));
}

async fn an_automagik_signal_is_recorded_and_not_sent(test_db: &TestDb) {
    let agent = FakeHttp::start(|_, _| Reply::json(200, json!({"message": "AUTOMAGIK:ACCESS_DENIED"})));
    let evolution = ok_evolution();
    let db = database(test_db, None);
    create(
        &db,
        InstanceBuilder::new("shop")
            .agent(&agent.url)
            .evolution(&evolution.url),
    );
    let pipeline = start_http(&db, fast_config(Duration::from_millis(50)));
    let outcome = ingest(
        &pipeline,
        "shop",
        &text_webhook("wa_shop", "S1", "1@s.whatsapp.net", "hi"),
    )
    .await;
    assert!(matches!(outcome, IngestOutcome::Accepted { messages: 1, .. }));
    let done_db = db.clone();
    tokio::task::spawn_blocking(move || wait_until(10, "done", || all_done(&done_db, 1)))
        .await
        .unwrap();
    pipeline.shutdown(Duration::from_secs(1));
    let record = &records(&db)[0];
    assert!(
        record.outcome.as_deref().unwrap().contains("AUTOMAGIK:"),
        "{record:?}"
    );
    assert!(texts(&evolution).is_empty(), "a signal is never sent to the user");
}
