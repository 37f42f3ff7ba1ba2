//! Deleting, bootstrapping, help texts and the PostgreSQL engine.

use omnihub_test_support::TestDb;
use serde_json::Value;

use crate::{add_args, assert_code, run_in, stderr, stdout, AGENT_KEY};

#[test]
fn delete_refuses_without_a_terminal_and_promotes_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_in(d, &add_args("first", &[]), &[]);
    run_in(d, &add_args("second", &[]), &[]);
    let out = run_in(d, &["delete", "first"], &[]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("stdin is not a terminal, use --force"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&run_in(d, &["list"], &[])).contains("first"),
        "nothing was deleted"
    );

    let out = run_in(d, &["delete", "first", "--force"], &[]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "Instance 'first' deleted.\nInstance 'second' is now the default.\n"
    );
    let out = run_in(d, &["--json", "delete", "second", "--force"], &[]);
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"deleted": "second", "promoted_default": null})
    );
    assert_code(&run_in(d, &["delete", "second", "--force"], &[]), 1);
}

#[test]
fn bootstrap_seeds_from_environment_or_dotenv_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run_in(d, &["bootstrap"], &[]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).starts_with("No instances exist and AGENT_API_URL is not set"),
        "{}",
        stdout(&out)
    );

    std::fs::write(
        d.join(".env"),
        format!(
            "AGENT_API_URL=http://agents:8000\nAGENT_API_KEY={AGENT_KEY}\nDEFAULT_AGENT_NAME=from_dotenv\n"
        ),
    )
    .unwrap();
    let out = run_in(d, &["bootstrap"], &[("DEFAULT_AGENT_NAME", "from_env")]);
    assert_eq!(
        stdout(&out),
        "Instance 'default' created from the environment and made the default.\n"
    );
    let default: Value =
        serde_json::from_str(&stdout(&run_in(d, &["--json", "show", "default"], &[]))).unwrap();
    assert_eq!(
        default["default_agent"], "from_env",
        "the environment wins over .env"
    );
    assert_eq!(default["is_default"], true);

    let again = run_in(d, &["--json", "bootstrap"], &[]);
    let body: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"outcome": "unchanged", "instance": null})
    );
}

#[test]
fn help_explains_every_flag_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--whatsapp-instance",
        "--agent-api-url",
        "--agent-api-key",
        "--default-agent",
        "--evolution-url",
        "--evolution-key",
        "--session-id-prefix",
        "--agent-timeout",
        "--default",
        "--database-url",
        "--json",
    ];
    for command in ["add", "update"] {
        let help = stdout(&run_in(dir.path(), &[command, "--help"], &[]));
        for flag in flags {
            assert!(help.contains(flag), "{command} --help lacks {flag}: {help}");
        }
    }
    for command in ["list", "show", "delete", "set-default", "bootstrap"] {
        let out = run_in(dir.path(), &[command, "--help"], &[]);
        assert_code(&out, 0);
        assert!(stdout(&out).contains("--database-url"), "{command}");
    }
    assert!(stdout(&run_in(dir.path(), &["delete", "--help"], &[])).contains("--force"));
}

#[test]
fn postgres_database_works_like_sqlite() {
    let test_db = TestDb::postgres();
    let dir = tempfile::tempdir().unwrap();
    let env = [("OMNIHUB_DATABASE_URL", test_db.url())];
    assert_code(&run_in(dir.path(), &add_args("pgbot", &[]), &env), 0);
    let list = stdout(&run_in(dir.path(), &["list"], &env));
    assert!(list.contains("pgbot") && list.contains('✓'), "{list}");
    assert!(!dir.path().join("data").exists(), "no SQLite file was created");
}

#[test]
fn messages_lists_the_log_and_retry_checks_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_in(d, &add_args("bot", &[]), &[]);
    let out = run_in(d, &["messages"], &[]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "No messages found\n");
    assert_eq!(
        stdout(&run_in(d, &["--json", "messages", "bot"], &[])).trim(),
        "[]"
    );
    assert_code(&run_in(d, &["messages", "ghost"], &[]), 1);
    assert_code(&run_in(d, &["messages", "--status", "lost"], &[]), 1);
    assert_code(&run_in(d, &["messages", "retry"], &[]), 2);
    assert_code(&run_in(d, &["messages", "retry", "7", "--failed"], &[]), 2);
    let missing = run_in(d, &["messages", "retry", "7"], &[]);
    assert_code(&missing, 1);
    assert_eq!(stderr(&missing), "error: message '7' not found\n");
    let all = run_in(d, &["messages", "retry", "--failed", "--instance", "bot"], &[]);
    assert_eq!(stdout(&all), "0 failed message(s) queued again.\n");
}

#[test]
fn postgres_migrate_db_copies_instances_and_unfinished_messages() {
    let target = TestDb::postgres();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_in(d, &add_args("one", &[]), &[]);
    run_in(d, &add_args("two", &["--default"]), &[]);
    // Messages arrive through the server; here they are written straight into the source file.
    let source = d.join("data/omnihub.db");
    let conn = format!("sqlite://{}", source.display());
    let insert = |id: &str, status: &str| {
        format!(
            "INSERT INTO messages (instance_name, message_id, chat_id, chat_key, kind, content, status, attempts, next_attempt_at, received_at) \
             VALUES ('one', '{id}', '1@s.whatsapp.net', '1@s.whatsapp.net', 'text', '{{\"kind\":\"text\",\"text\":\"hi\"}}', '{status}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00');"
        )
    };
    let sql = [
        insert("Q1", "queued"),
        insert("P1", "processing"),
        insert("D1", "done"),
    ]
    .concat();
    omnihub_test_support::execute_sqlite(source.to_str().unwrap(), &sql).unwrap();
    let out = run_in(d, &["migrate-db", "--from", &conn, "--to", target.url()], &[]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).starts_with("Copied 2 instances and 2 messages from sqlite://"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 finished messages were left behind"),
        "{}",
        stdout(&out)
    );
    let copied: Value = serde_json::from_str(&stdout(&run_in(
        d,
        &["--json", "--database-url", target.url(), "list"],
        &[],
    )))
    .unwrap();
    let names: Vec<&str> = copied
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(copied[1]["is_default"], true);
    assert_eq!(
        copied[0]["agent_api_key"], "****6789",
        "keys copied (and still masked)"
    );
    let log: Value = serde_json::from_str(&stdout(&run_in(
        d,
        &["--json", "--database-url", target.url(), "messages"],
        &[],
    )))
    .unwrap();
    let statuses: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["queued", "queued"],
        "unfinished messages are queued in the target"
    );
    let again = run_in(d, &["migrate-db", "--from", &conn, "--to", target.url()], &[]);
    assert_code(&again, 1);
    assert!(
        stderr(&again).contains("already has 2 instances"),
        "{}",
        stderr(&again)
    );
    let same = run_in(d, &["migrate-db", "--from", &conn, "--to", &conn], &[]);
    assert_code(&same, 1);
}
