//! Secrets kept off the command line (files, standard input, the environment) and text from
//! webhooks shown with its control characters escaped.

use std::io::Write;
use std::process::{Command, Stdio};

use omnihub_db::{Database, DatabaseUrl};
use omnihub_domain::InstanceName;

use crate::{run_in, stderr, stdout, AGENT_KEY, EVOLUTION_KEY};

fn stored(dir: &std::path::Path, name: &str) -> omnihub_domain::InstanceConfig {
    let url = DatabaseUrl::parse(dir.join("data/omnihub.db").to_str().unwrap()).unwrap();
    let db = Database::connect(&url).unwrap();
    db.instances().get(&InstanceName::parse(name).unwrap()).unwrap()
}

const BASE: [&str; 7] = [
    "--whatsapp-instance",
    "shop",
    "--agent-api-url",
    "http://agents.local:8000",
    "--default-agent",
    "sofia",
    "--json",
];

#[test]
fn secrets_are_read_from_files_standard_input_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("agent.key");
    std::fs::write(&key_file, format!("{AGENT_KEY}\n")).unwrap();
    let secret_file = dir.path().join("webhook.secret");
    std::fs::write(&secret_file, "webhook-secret-0123456789\r\n").unwrap();
    let mut args = vec!["add", "shop"];
    args.extend(BASE);
    let (key_path, secret_path) = (key_file.to_str().unwrap(), secret_file.to_str().unwrap());
    args.extend([
        "--agent-api-key-file",
        key_path,
        "--webhook-secret-file",
        secret_path,
        "--evolution-url",
        "https://evo.example.com",
        "--evolution-key-file",
        "-",
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_omnihub-instance"))
        .current_dir(dir.path())
        .args(&args)
        .env_remove("OMNIHUB_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(EVOLUTION_KEY.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let instance = stored(dir.path(), "shop");
    assert_eq!(
        instance.agent_api_key.as_ref().unwrap().expose(),
        AGENT_KEY,
        "without the newline"
    );
    assert_eq!(instance.evolution_key.unwrap().expose(), EVOLUTION_KEY);
    assert_eq!(
        instance.webhook_secret.unwrap().expose(),
        "webhook-secret-0123456789"
    );

    // The environment, for update.
    let out = run_in(
        dir.path(),
        &["update", "shop", "--agent-timeout", "30"],
        &[("OMNIHUB_AGENT_API_KEY", "agent-key-from-env-0123")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stored(dir.path(), "shop").agent_api_key.unwrap().expose(),
        "agent-key-from-env-0123"
    );

    // A flag and its file together, two secrets from stdin, an unreadable file: usage errors.
    let out = run_in(
        dir.path(),
        &[
            "update",
            "shop",
            "--agent-api-key",
            "x",
            "--agent-api-key-file",
            key_path,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run_in(
        dir.path(),
        &[
            "update",
            "shop",
            "--agent-api-key-file",
            "-",
            "--evolution-key-file",
            "-",
        ],
        &[],
    );
    assert!(
        stderr(&out).contains("only one secret can be read from standard input"),
        "{}",
        stderr(&out)
    );
    let out = run_in(
        dir.path(),
        &["update", "shop", "--agent-api-key-file", "/nonexistent/key"],
        &[],
    );
    assert!(
        stderr(&out).contains("cannot read --agent-api-key-file /nonexistent/key"),
        "{}",
        stderr(&out)
    );
    // Without any key, add names every way to give one.
    let mut args = vec!["add", "other"];
    args.extend(BASE);
    let out = run_in(dir.path(), &args, &[]);
    assert!(stderr(&out).contains("--agent-api-key-file"), "{}", stderr(&out));
}

#[test]
fn message_tables_escape_terminal_control_and_bidi_characters() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = crate::add_args("shop", &[]);
    args.push("--json");
    assert!(run_in(dir.path(), &args, &[]).status.success());
    let url = DatabaseUrl::parse(dir.path().join("data/omnihub.db").to_str().unwrap()).unwrap();
    let db = Database::connect(&url).unwrap();
    let mut message = omnihub_test_support::text_message(
        "E1",
        "1\u{1b}]0;pwned\u{7}@s.whatsapp.net",
        "hi \u{1b}[2J\u{202e}gnp.exe",
    );
    message.sender_name = Some("\u{1b}[31mAna".into());
    db.messages()
        .insert(&InstanceName::parse("shop").unwrap(), &message)
        .unwrap();
    let out = run_in(dir.path(), &["messages"], &[("COLUMNS", "400")]);
    let table = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}') && !table.contains('\u{202e}'),
        "{table:?}"
    );
    assert!(
        table.contains("\\u{1b}") && table.contains("\\u{202e}"),
        "{table}"
    );
}
