//! Runs the real `omnihub-instance` binary on temporary databases and checks its output,
//! exit codes and that no full secret is ever printed.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use omnihub_test_support::TestDb;
use serde_json::Value;

const AGENT_KEY: &str = "agent-secret-key-0123456789";
const EVOLUTION_KEY: &str = "evolution-secret-key-ABCDEFGH";
const SEED_VARS: [&str; 10] = [
    "OMNIHUB_DATABASE_URL",
    "DATABASE_URL",
    "AGENT_API_URL",
    "AGENT_API_KEY",
    "DEFAULT_AGENT_NAME",
    "AGENT_API_TIMEOUT",
    "WHATSAPP_INSTANCE",
    "SESSION_ID_PREFIX",
    "EVOLUTION_API_URL",
    "EVOLUTION_API_KEY",
];

/// Runs the CLI in `dir` (default database `./data/omnihub.db` there), stdin not a terminal.
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_omnihub-instance"));
    cmd.current_dir(dir).args(args).stdin(Stdio::null());
    for var in SEED_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let output = cmd.output().unwrap();
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        !all.contains(AGENT_KEY) && !all.contains(EVOLUTION_KEY),
        "a secret leaked: {all}"
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

fn add_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "add",
        name,
        "--whatsapp-instance",
        name,
        "--agent-api-url",
        "http://agents.local:8000",
        "--agent-api-key",
        AGENT_KEY,
        "--default-agent",
        "sofia",
        "--evolution-url",
        "https://evo.example.com",
        "--evolution-key",
        EVOLUTION_KEY,
    ];
    args.extend_from_slice(extra);
    args
}

fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

#[test]
fn empty_database_lists_no_instances_and_is_created_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["list"], &[]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "No instances found\n");
    assert!(dir.path().join("data/omnihub.db").exists());
    let json = run_in(dir.path(), &["--json", "list"], &[]);
    assert_eq!(stdout(&json).trim(), "[]");
}

#[test]
fn add_list_show_update_and_set_default_print_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run_in(d, &add_args("support", &["--session-id-prefix", "wa-"]), &[]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "Instance 'support' created. It is the default instance.\n"
    );
    assert_code(&run_in(d, &add_args("sales", &["--agent-timeout", "90"]), &[]), 0);

    let list = stdout(&run_in(d, &["list"], &[]));
    for header in [
        "Name",
        "WhatsApp instance",
        "Agent API URL",
        "Default agent",
        "Timeout",
        "Default",
    ] {
        assert!(list.contains(header), "{list}");
    }
    let lines: Vec<&str> = list.lines().filter(|l| l.contains("agents.local")).collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        lines[0].contains("sales") && lines[0].contains("90s") && !lines[0].contains('✓'),
        "{list}"
    );
    assert!(
        lines[1].contains("support") && lines[1].contains("60s") && lines[1].contains('✓'),
        "{list}"
    );

    let show = stdout(&run_in(d, &["show", "support"], &[]));
    for field in [
        "ID",
        "Name",
        "Evolution URL",
        "Evolution key",
        "WhatsApp instance",
        "Session ID prefix",
        "Agent API URL",
        "Agent API key",
        "Default agent",
        "Agent timeout",
        "Default",
        "Created",
        "Updated",
    ] {
        assert!(show.contains(field), "{field} missing in {show}");
    }
    assert!(
        show.contains("****6789") && show.contains("****EFGH") && show.contains("wa-"),
        "{show}"
    );

    let out = run_in(
        d,
        &["update", "sales", "--agent-timeout", "120", "--default"],
        &[],
    );
    assert_eq!(
        stdout(&out),
        "Instance 'sales' updated. It is the default instance.\n"
    );
    let sales: Value = serde_json::from_str(&stdout(&run_in(d, &["--json", "show", "sales"], &[]))).unwrap();
    assert_eq!(sales["agent_timeout"], 120);
    assert_eq!(sales["default_agent"], "sofia", "other fields untouched");
    let out = run_in(d, &["set-default", "support"], &[]);
    assert_eq!(
        stdout(&out),
        "Instance 'support' made the default. It is the default instance.\n"
    );
}

#[test]
fn json_output_has_every_column_with_masked_keys() {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &add_args("bot", &[]), &[]);
    let list: Value = serde_json::from_str(&stdout(&run_in(dir.path(), &["--json", "list"], &[]))).unwrap();
    let bot = &list[0];
    let mut keys: Vec<&str> = bot.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agent_api_key",
            "agent_api_url",
            "agent_timeout",
            "created_at",
            "default_agent",
            "evolution_key",
            "evolution_url",
            "id",
            "is_default",
            "name",
            "session_id_prefix",
            "updated_at",
            "whatsapp_instance"
        ]
    );
    assert_eq!(bot["agent_api_key"], "****6789");
    assert_eq!(bot["evolution_key"], "****EFGH");
    assert!(bot["created_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn failures_exit_1_with_one_sentence_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_in(d, &add_args("bot", &[]), &[]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["show", "ghost"], "error: instance 'ghost' not found\n"),
        (
            add_args("bot", &[]),
            "error: an instance named 'bot' already exists\n",
        ),
        (
            vec!["update", "ghost", "--agent-timeout", "5"],
            "error: instance 'ghost' not found\n",
        ),
        (
            vec!["show", "bad name"],
            "error: invalid name: must be 1-64 characters",
        ),
        (
            vec![
                "add",
                "bot2",
                "--whatsapp-instance",
                "w",
                "--agent-api-url",
                "http://a",
                "--agent-api-key",
                "k",
                "--default-agent",
                "a",
                "--evolution-url",
                "evo:8080",
            ],
            "error: invalid --evolution-url: must be an absolute http://",
        ),
        (
            vec![
                "add",
                "bot2",
                "--whatsapp-instance",
                "w",
                "--agent-api-url",
                "ftp://a",
                "--agent-api-key",
                "k",
                "--default-agent",
                "a",
            ],
            "error: invalid --agent-api-url: must be an absolute http://",
        ),
        (
            add_args("bot2", &["--agent-timeout", "0"]),
            "error: invalid --agent-timeout: must be a whole number",
        ),
        (add_args("-x", &[]), "error: unexpected argument"),
    ];
    for (args, expected) in cases {
        let out = run_in(d, &args, &[]);
        let err = stderr(&out);
        assert!(err.starts_with(expected), "{args:?}: {err}");
        let code = if expected.contains("unexpected argument") {
            2
        } else {
            1
        };
        assert_code(&out, code);
        assert!(stdout(&out).is_empty(), "{args:?}");
        if code == 1 {
            assert_eq!(err.lines().count(), 1, "one sentence: {err}");
        }
    }
}

#[test]
fn unreachable_databases_exit_1_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "--database-url",
            "postgres://omni:hunter2@127.0.0.1:1/omnihub",
            "list",
        ],
        &[],
    );
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot connect to the database at postgres://omni:****@127.0.0.1:1/omnihub"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    let out = run_in(dir.path(), &["list"], &[("DATABASE_URL", "mysql://h/db")]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).starts_with("error: invalid database URL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["add", "bot"],
        vec!["update", "bot"],
        vec!["frobnicate"],
        vec![],
        vec!["list", "--bogus"],
    ] {
        assert_code(&run_in(dir.path(), &args, &[]), 2);
    }
    assert_code(
        &run_in(
            dir.path(),
            &[
                "add",
                "bot",
                "--whatsapp-instance",
                "w",
                "--agent-api-url",
                "http://a",
                "--agent-api-key",
                "k",
                "--default-agent",
                "a",
                "--agent-timeout",
                "soon",
            ],
            &[],
        ),
        2,
    );
}

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
