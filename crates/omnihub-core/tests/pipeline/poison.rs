//! Poison rows: a message the database refuses for its content never fails its neighbours
//! in a shared transaction, and is never answered with a 5xx-like "unavailable".

use std::time::Duration;

use omnihub_core::{IngestOutcome, Rejection};
use omnihub_test_support::{text_webhook, InstanceBuilder, TestDb};
use serde_json::json;

use crate::{create, database, fast_config, ingest, records, start_http};

omnihub_test_support::on_both_engines!(async:
    fifty_valid_webhooks_are_accepted_beside_poison_ones,
);

/// Evolution ids are short; the parser refuses ids over 256 bytes.
fn overlong_id() -> String {
    "X".repeat(300)
}

/// A group message whose author JID is over the log's 256-character limit: the parser lets
/// it through, the database refuses the row.
fn with_long_author(id: &str, text: &str) -> serde_json::Value {
    let mut body = text_webhook("wa_shop", id, "120363000000@g.us", text);
    body["data"]["key"]["participant"] = json!(format!("{}@lid", "7".repeat(300)));
    body
}

async fn fifty_valid_webhooks_are_accepted_beside_poison_ones(test_db: &TestDb) {
    let db = database(test_db, None);
    // No Evolution server: the messages are only logged (and fail later at `config`).
    create(&db, InstanceBuilder::new("shop"));
    let pipeline = start_http(&db, fast_config(Duration::from_secs(60)));
    let mut with_nul = text_webhook("wa_shop", "NUL1", "2\u{0}@s.whatsapp.net", "hi\u{0}there");
    with_nul["data"]["pushName"] = json!("A\u{0}na");
    let mut mixed = text_webhook("wa_shop", "MIXED-OK", "3@s.whatsapp.net", "fine");
    let bad = with_long_author("MIXED-BAD", "too long");
    mixed["data"] = json!([mixed["data"].clone(), bad["data"].clone()]);
    let poison: Vec<(&str, Vec<u8>)> = vec![
        ("refused", with_long_author("LONGAUTHOR", "x").to_string().into_bytes()),
        ("overlong id", text_webhook("wa_shop", &overlong_id(), "1@s.whatsapp.net", "x").to_string().into_bytes()),
        ("nul", with_nul.to_string().into_bytes()),
        ("mixed", mixed.to_string().into_bytes()),
        (
            "lone surrogate",
            br#"{"event":"messages.upsert","instance":"wa_shop","data":{"key":{"remoteJid":"4@s.whatsapp.net","fromMe":false,"id":"SUR"},"message":{"conversation":"\ud800"}}}"#.to_vec(),
        ),
    ];
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (valid, body) = (
            pipeline.clone(),
            text_webhook(
                "wa_shop",
                &format!("OK{i}"),
                &format!("{i}@s.whatsapp.net"),
                "hello",
            ),
        );
        tasks.push(tokio::spawn(async move {
            ("valid", ingest(&valid, "shop", &body).await)
        }));
        // The poison webhooks go out among the first ten valid ones, so they share batches.
        if let Some((label, body)) = poison.get(i) {
            let (bad, body, label) = (pipeline.clone(), body.clone(), *label);
            tasks.push(tokio::spawn(async move {
                (label, bad.ingest(Some("shop"), None, &body).await)
            }));
        }
    }
    let mut valid = 0;
    for task in tasks {
        let (label, outcome) = task.await.unwrap();
        assert!(
            !matches!(outcome, IngestOutcome::Unavailable(_)),
            "{label}: {outcome:?}"
        );
        match (label, outcome) {
            ("valid", IngestOutcome::Accepted { messages: 1, .. }) => valid += 1,
            ("refused", IngestOutcome::Rejected(Rejection::Unstorable(refused))) => {
                assert_eq!(refused[0].message_id, "LONGAUTHOR");
                assert!(
                    refused[0].reason.contains("256") || refused[0].reason.contains("messages_key_lengths"),
                    "{refused:?}"
                );
            }
            ("overlong id", IngestOutcome::Rejected(rejection)) => {
                assert_eq!(rejection.code(), "not_an_evolution_webhook")
            }
            (
                "nul",
                IngestOutcome::Accepted {
                    messages: 1,
                    sanitised,
                    ..
                },
            ) => {
                assert_eq!(sanitised, ["chat_id", "sender_name", "text"]);
            }
            (
                "mixed",
                IngestOutcome::Accepted {
                    messages: 1, refused, ..
                },
            ) => {
                assert_eq!(
                    refused.iter().map(|r| r.message_id.as_str()).collect::<Vec<_>>(),
                    ["MIXED-BAD"]
                );
            }
            ("lone surrogate", IngestOutcome::Rejected(rejection)) => {
                assert_eq!(rejection.code(), "invalid_json")
            }
            (label, outcome) => panic!("{label}: unexpected {outcome:?}"),
        }
    }
    assert_eq!(valid, 50, "every valid webhook was accepted");
    pipeline.shutdown(Duration::from_secs(1));
    let stored = records(&db);
    let ids: Vec<&str> = stored.iter().map(|r| r.inbound.message_id.as_str()).collect();
    assert_eq!(
        stored.len(),
        52,
        "50 valid, the sanitised one and the good half of the mixed one: {ids:?}"
    );
    let nul = stored.iter().find(|r| r.inbound.message_id == "NUL1").unwrap();
    assert_eq!(nul.inbound.sender_name.as_deref(), Some("A\u{FFFD}na"));
    assert_eq!(nul.inbound.chat_id, "2\u{FFFD}@s.whatsapp.net");
    assert!(ids.contains(&"MIXED-OK"));
}
