//! `rules show|set`, `chats`, `pause`, `resume`, and skipped messages in `messages`.

use std::sync::Arc;

use omnihub_db::{Arriving, Database, DatabaseUrl, RulesInForce};
use omnihub_domain::{ChatFacts, InstanceName};
use serde_json::Value;

use crate::{add_args, assert_code, run_in, stderr, stdout};

#[test]
fn rules_are_shown_merged_reset_and_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_code(&run_in(d, &add_args("shop", &[]), &[]), 0);
    let shown = stdout(&run_in(d, &["rules", "show", "shop"], &[]));
    assert!(
        shown.contains("takeover_minutes") && shown.contains("mention"),
        "{shown}"
    );
    let set = run_in(
        d,
        &[
            "rules",
            "set",
            "shop",
            "debounce_ms=2000",
            "allow=5511*,5521*",
            "resume_keyword=#bot",
            "groups=off",
        ],
        &[],
    );
    assert_code(&set, 0);
    assert!(stdout(&set).contains("updated"), "{}", stdout(&set));
    let json: Value =
        serde_json::from_str(&stdout(&run_in(d, &["--json", "rules", "show", "shop"], &[]))).unwrap();
    assert_eq!(json["debounce_ms"], 2000);
    assert_eq!(json["allow"], serde_json::json!(["5511*", "5521*"]));
    assert_eq!(json["resume_keyword"], "#bot");
    // Merged: one more rule keeps the others; RULE= resets one.
    assert_code(
        &run_in(d, &["rules", "set", "shop", "max_per_minute=5", "groups="], &[]),
        0,
    );
    let json: Value =
        serde_json::from_str(&stdout(&run_in(d, &["--json", "rules", "show", "shop"], &[]))).unwrap();
    assert_eq!(
        (json["max_per_minute"].as_u64(), json["debounce_ms"].as_u64()),
        (Some(5), Some(2000))
    );
    assert_eq!(json["groups"], "mention");
    for (arg, field) in [
        ("debounce_ms=soon", "debounce_ms"),
        (
            "trigger={\"type\":\"keyword\",\"operator\":\"regex\",\"value\":\"(\"}",
            "trigger.value",
        ),
        ("colour=blue", "rules"),
    ] {
        let refused = run_in(d, &["rules", "set", "shop", arg], &[]);
        assert_code(&refused, 1);
        assert!(stderr(&refused).contains(field), "{arg}: {}", stderr(&refused));
    }
    let bad = run_in(d, &["rules", "set", "shop", "nonsense"], &[]);
    assert_code(&bad, 1);
    assert!(stderr(&bad).contains("RULE=VALUE"), "{}", stderr(&bad));
    assert_code(&run_in(d, &["rules", "show", "ghost"], &[]), 1);
}

#[test]
fn chats_are_paused_resumed_and_listed_with_skipped_messages() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_code(&run_in(d, &add_args("shop", &[]), &[]), 0);
    let none = stdout(&run_in(d, &["chats", "shop"], &[]));
    assert!(none.contains("No chats"), "{none}");
    let paused = run_in(d, &["pause", "shop", "+55 11 99999-0000", "--minutes", "30"], &[]);
    assert_code(&paused, 1);
    assert!(
        stderr(&paused).contains("chat"),
        "spaces are not a phone number: {}",
        stderr(&paused)
    );
    let paused = run_in(d, &["pause", "shop", "+5511999990000"], &[]);
    assert_code(&paused, 0);
    assert!(
        stdout(&paused).contains("api, until resumed"),
        "{}",
        stdout(&paused)
    );
    // A message of the paused chat, as the server would take it in.
    let db =
        Database::connect(&DatabaseUrl::parse(&d.join("data/omnihub.db").display().to_string()).unwrap())
            .unwrap();
    let shop = InstanceName::parse("shop").unwrap();
    let rules = db.instances().get(&shop).unwrap().rules;
    let message = omnihub_test_support::text_message("M1", "5511999990000@s.whatsapp.net", "hello?");
    db.messages()
        .arrive(vec![Arriving {
            instance: shop,
            message,
            facts: ChatFacts::default(),
            rules: Some(RulesInForce {
                rules: Arc::clone(&rules),
                decide: omnihub_core::decide,
            }),
        }])
        .unwrap();
    let log = stdout(&run_in(d, &["messages", "shop", "--status", "skipped"], &[]));
    assert!(log.contains("skipped: paused"), "{log}");
    let list = stdout(&run_in(d, &["list"], &[]));
    assert!(list.contains("Paused chats"), "{list}");
    let chats = stdout(&run_in(d, &["chats", "shop", "--paused"], &[]));
    assert!(
        chats.contains("5511999990000@s.whatsapp.net") && chats.contains("until resumed"),
        "{chats}"
    );
    assert_code(&run_in(d, &["resume", "shop", "5511999990000"], &[]), 0);
    let after = stdout(&run_in(d, &["chats", "shop", "--paused"], &[]));
    assert!(after.contains("No paused chats"), "{after}");
    let unknown = run_in(d, &["resume", "shop", "5511000000000"], &[]);
    assert_code(&unknown, 1);
    assert!(stderr(&unknown).contains("5511000000000"), "{}", stderr(&unknown));
    assert_code(
        &run_in(d, &["pause", "shop", "5511999990000", "--minutes", "0"], &[]),
        1,
    );
}
