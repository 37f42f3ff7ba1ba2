//! `--agent-kind`, `--agent-option`, `conversations` and `test-agent`.

use omnihub_db::{Database, DatabaseUrl, StateUpdate};
use omnihub_test_support::agents::every_protocol_agent;
use omnihub_test_support::{FakeHttp, Reply};
use serde_json::{json, Value};

use crate::{add_args, assert_code, run_in, stderr, stdout};

fn add_kind<'a>(name: &'a str, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = add_args(name, extra);
    let at = args
        .iter()
        .position(|a| *a == "http://agents.local:8000")
        .unwrap();
    args[at] = url;
    args
}

#[test]
fn kinds_and_options_are_set_shown_merged_and_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let args = add_kind(
        "bot",
        "http://llm.local/v1",
        &[
            "--agent-kind",
            "openai",
            "--agent-option",
            "system_prompt=Be brief.",
            "--agent-option",
            "history_turns=6",
        ],
    );
    assert_code(&run_in(dir.path(), &args, &[]), 0);
    let shown = stdout(&run_in(dir.path(), &["show", "bot"], &[]));
    assert!(shown.contains("openai"), "{shown}");
    assert!(
        shown.contains(r#"{"history_turns":6,"system_prompt":"Be brief."}"#),
        "{shown}"
    );
    // Options alone are for the kind the instance has; KEY= removes one.
    let out = run_in(
        dir.path(),
        &[
            "--json",
            "update",
            "bot",
            "--agent-option",
            "history_turns=2",
            "--agent-option",
            "system_prompt=",
        ],
        &[],
    );
    assert_code(&out, 0);
    let updated: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (updated["agent_kind"].clone(), updated["agent_options"].clone()),
        (json!("openai"), json!({"history_turns": 2}))
    );
    let bad = run_in(
        dir.path(),
        &["update", "bot", "--agent-option", "history_turns=-3"],
        &[],
    );
    assert_code(&bad, 1);
    assert!(
        stderr(&bad).contains("invalid --agent-option: `history_turns` must be a whole number from 0 to 100"),
        "{}",
        stderr(&bad)
    );
    let unknown = run_in(
        dir.path(),
        &[
            "update",
            "bot",
            "--agent-kind",
            "flowise",
            "--agent-option",
            "model=x",
        ],
        &[],
    );
    assert_code(&unknown, 1);
    assert!(
        stderr(&unknown).contains("agent_kind flowise takes no options"),
        "{}",
        stderr(&unknown)
    );
    let malformed = run_in(
        dir.path(),
        &["update", "bot", "--agent-option", "history_turns"],
        &[],
    );
    assert_code(&malformed, 1);
    assert!(stderr(&malformed).contains("KEY=VALUE"), "{}", stderr(&malformed));
    let kind = run_in(dir.path(), &["update", "bot", "--agent-kind", "gemini"], &[]);
    assert!(
        stderr(&kind).contains("invalid --agent-kind: must be one of automagik, openai"),
        "{}",
        stderr(&kind)
    );
}

#[test]
fn test_agent_prints_the_parts_or_fails_with_the_classified_error() {
    let dir = tempfile::tempdir().unwrap();
    let agent = every_protocol_agent();
    let url = format!("{}/webhook", agent.url);
    assert_code(
        &run_in(
            dir.path(),
            &add_kind("bot", &url, &["--agent-kind", "webhook"]),
            &[],
        ),
        0,
    );
    let out = run_in(dir.path(), &["test-agent", "bot", "hi"], &[]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("webhook: hi"), "{}", stdout(&out));
    assert_eq!(agent.requests().len(), 1);
    let failing =
        FakeHttp::start(|_, _| Reply::json(401, json!({"error": {"message": "Incorrect API key"}})));
    let url = failing.url.clone();
    assert_code(
        &run_in(
            dir.path(),
            &add_kind("down", &url, &["--agent-kind", "openai"]),
            &[],
        ),
        0,
    );
    let out = run_in(dir.path(), &["test-agent", "down", "hi"], &[]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("the openai agent API answered 401: Incorrect API key"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("permanent"), "{}", stderr(&out));
}

#[test]
fn conversations_are_listed_and_reset_by_session_or_phone() {
    let dir = tempfile::tempdir().unwrap();
    assert_code(
        &run_in(
            dir.path(),
            &add_kind("bot", "http://llm.local/v1", &["--agent-kind", "openai"]),
            &[],
        ),
        0,
    );
    let url = DatabaseUrl::parse(dir.path().join("data/omnihub.db").to_str().unwrap()).unwrap();
    let db = Database::connect(&url).unwrap();
    for session in ["bot_5511999990000", "bot_5511888880000"] {
        let state =
            json!({"turns": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]});
        db.conversations()
            .put(&StateUpdate {
                instance: "bot".into(),
                session: session.into(),
                state,
            })
            .unwrap();
    }
    let listed = stdout(&run_in(dir.path(), &["conversations", "list", "bot"], &[]));
    assert!(
        listed.contains("bot_5511999990000") && listed.contains("2 messages of history"),
        "{listed}"
    );
    assert_code(
        &run_in(
            dir.path(),
            &["conversations", "reset", "bot", "bot_5511999990000"],
            &[],
        ),
        0,
    );
    assert_code(
        &run_in(
            dir.path(),
            &["conversations", "reset", "bot", "+55 11 88888-0000"],
            &[],
        ),
        0,
    );
    let again = run_in(
        dir.path(),
        &["conversations", "reset", "bot", "bot_5511888880000"],
        &[],
    );
    assert_code(&again, 1);
    assert!(
        stderr(&again).contains("no stored conversation"),
        "{}",
        stderr(&again)
    );
    let empty = stdout(&run_in(dir.path(), &["conversations", "list", "bot"], &[]));
    assert!(empty.contains("No stored conversations"), "{empty}");
}
