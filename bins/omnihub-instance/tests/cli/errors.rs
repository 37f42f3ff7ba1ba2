//! Exit codes 1 and 2, each with one clear sentence on stderr.

use crate::{add_args, assert_code, run_in, stderr, stdout};

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
        stderr(&out).starts_with("error: invalid DATABASE_URL: invalid database URL"),
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
