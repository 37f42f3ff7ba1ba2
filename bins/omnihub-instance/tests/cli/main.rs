//! Runs the real `omnihub-instance` binary on temporary databases and checks its output,
//! exit codes and that no full secret is ever printed.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub(crate) const AGENT_KEY: &str = "agent-secret-key-0123456789";
pub(crate) const EVOLUTION_KEY: &str = "evolution-secret-key-ABCDEFGH";
const SEED_VARS: [&str; 13] = [
    "OMNIHUB_AGENT_API_KEY",
    "OMNIHUB_EVOLUTION_KEY",
    "OMNIHUB_WEBHOOK_SECRET",
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
pub(crate) fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
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

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

pub(crate) fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

pub(crate) fn add_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
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

pub(crate) fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}
mod agents;
mod chats;
mod errors;
mod lifecycle;
mod numbers;
mod output;
mod safety;
mod send;
