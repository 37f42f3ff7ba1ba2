//! Tests that only make sense against the real binary: start-up configuration, the closed
//! admin API, the CLI and the API on one database, logging behind proxies, SIGTERM.

use std::process::Command;

use omnihub_test_support::TestDb;
use serde_json::json;

use crate::scenarios::{instance_body, AGENT_KEY, EVOLUTION_KEY};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

#[test]
fn without_an_api_key_the_admin_api_is_closed() {
    let db = TestDb::sqlite();
    let server = ServerProcess::start(db.url(), None, &[]);
    for req in [
        Req::new("GET", "/api/v1/instances"),
        Req::new("GET", "/api/v1/instances").header("x-api-key", "anything-0123456789"),
        Req::new("POST", "/api/v1/instances")
            .header("authorization", "Bearer x")
            .json(&instance_body("a")),
    ] {
        let body = server.send(req).expect(401, Some("admin_api_disabled"));
        assert!(
            body["message"].as_str().unwrap().contains("OMNIHUB_API_KEY"),
            "{body}"
        );
    }
    server.send(Req::new("GET", "/health")).expect(200, None);
    assert!(
        server.log_text().contains("OMNIHUB_API_KEY is not set"),
        "{}",
        server.log_text()
    );
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_variable() {
    let db = TestDb::sqlite();
    let output = Command::new(env!("CARGO_BIN_EXE_omnihub-server"))
        .env("OMNIHUB_DATABASE_URL", db.url())
        .env("OMNIHUB_PORT", "not-a-port")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.starts_with("error: invalid OMNIHUB_PORT: "), "{err}");
    let output = Command::new(env!("CARGO_BIN_EXE_omnihub-server"))
        .env("OMNIHUB_DATABASE_URL", "postgres://omni:hunter2@127.0.0.1:1/x")
        .env("OMNIHUB_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("cannot connect to the database at postgres://omni:****@127.0.0.1:1/x"),
        "{err}"
    );
    assert!(!err.contains("hunter2") && !String::from_utf8_lossy(&output.stdout).contains("hunter2"));
}

#[test]
fn start_up_seeds_the_default_instance_and_logs_no_secret() {
    let db = TestDb::sqlite();
    let server = ServerProcess::start(
        db.url(),
        Some(ADMIN_KEY),
        &[
            ("AGENT_API_URL", "http://agents:8000"),
            ("AGENT_API_KEY", AGENT_KEY),
            ("EVOLUTION_API_KEY", EVOLUTION_KEY),
        ],
    );
    let default = server
        .send(Req::admin("GET", "/api/v1/default-instance"))
        .expect(200, None);
    assert_eq!(default["name"], "default");
    let logs = server.log_text();
    assert!(
        logs.contains("engine=SQLite") && logs.contains("listening on http://127.0.0.1:"),
        "{logs}"
    );
    assert!(logs.contains("created the default instance"), "{logs}");
    for secret in [AGENT_KEY, EVOLUTION_KEY, ADMIN_KEY] {
        assert!(!logs.contains(secret), "{logs}");
    }
}

#[test]
fn oversized_bodies_get_413_without_a_dropped_connection() {
    let db = TestDb::sqlite();
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &[]);
    // 2 MiB with a Content-Length, and the same streamed without one (chunked).
    let body = vec![b'a'; 2 * 1024 * 1024];
    let known = server.send(Req::admin("POST", "/api/v1/instances").raw("application/json", body.clone()));
    known.expect(413, Some("payload_too_large"));
    let chunked = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/instances", server.base))
        .header("x-api-key", ADMIN_KEY)
        .header("content-type", "application/json")
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(body)))
        .send()
        .unwrap();
    assert_eq!(chunked.status().as_u16(), 413);
    server.send(Req::new("GET", "/health")).expect(200, None);
}

fn cli(db_url: &str, args: &[&str]) -> std::process::Output {
    let cli = std::path::Path::new(env!("CARGO_BIN_EXE_omnihub-server")).with_file_name("omnihub-instance");
    assert!(
        cli.exists(),
        "build omnihub-instance first (cargo test --workspace does)"
    );
    Command::new(cli)
        .env("OMNIHUB_DATABASE_URL", db_url)
        .args(args)
        .output()
        .unwrap()
}

fn api_and_cli_see_each_others_changes(db: &TestDb) {
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &[]);
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&instance_body("from-api")))
        .expect(201, None);
    let shown = cli(db.url(), &["--json", "show", "from-api"]);
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let add = cli(
        db.url(),
        &[
            "add",
            "from-cli",
            "--whatsapp-instance",
            "w",
            "--agent-api-url",
            "http://a:1",
            "--agent-api-key",
            "k-0123456789",
            "--default-agent",
            "x",
        ],
    );
    assert_eq!(
        add.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // The admin API reads the database on every request: no stale copy at all.
    server
        .send(Req::admin("GET", "/api/v1/instances/from-cli"))
        .expect(200, None);
    cli(db.url(), &["update", "from-api", "--agent-timeout", "77"]);
    let updated = server
        .send(Req::admin("GET", "/api/v1/instances/from-api"))
        .expect(200, None);
    assert_eq!(updated["agent_timeout"], json!(77));
}

#[test]
fn sqlite_api_and_cli_see_each_others_changes() {
    api_and_cli_see_each_others_changes(&TestDb::sqlite());
}

#[test]
fn postgres_api_and_cli_see_each_others_changes() {
    api_and_cli_see_each_others_changes(&TestDb::postgres());
}

#[test]
fn client_address_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
    let db = TestDb::sqlite();
    let trusting = ServerProcess::start(
        db.url(),
        Some(ADMIN_KEY),
        &[("OMNIHUB_TRUSTED_PROXIES", "127.0.0.1")],
    );
    trusting.send(Req::new("GET", "/health").header("x-forwarded-for", "6.6.6.6, 198.51.100.7"));
    let logs = trusting.log_text();
    assert!(logs.contains("client=198.51.100.7"), "{logs}");

    let other_db = TestDb::sqlite();
    let untrusting = ServerProcess::start(other_db.url(), Some(ADMIN_KEY), &[]);
    untrusting.send(Req::new("GET", "/health").header("x-forwarded-for", "198.51.100.7"));
    let logs = untrusting.log_text();
    assert!(
        logs.contains("route=/health") && logs.contains("client=127.0.0.1"),
        "{logs}"
    );
    assert!(!logs.contains("198.51.100.7"), "{logs}");
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let db = TestDb::sqlite();
    let mut server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &[]);
    server.send(Req::new("GET", "/health")).expect(200, None);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        server.log_text().contains("omnihub-server stopped"),
        "{}",
        server.log_text()
    );
}

#[test]
fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let db = TestDb::sqlite();
    let first = ServerProcess::start(db.url(), Some(ADMIN_KEY), &[]);
    let output = Command::new(env!("CARGO_BIN_EXE_omnihub-server"))
        .env("OMNIHUB_DATABASE_URL", db.url())
        .env("OMNIHUB_HOST", "127.0.0.1")
        .env("OMNIHUB_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("another omnihub-server is already using the SQLite database"),
        "{err}"
    );
    assert!(err.contains("PostgreSQL"), "{err}");
    first.send(Req::new("GET", "/ready")).expect(200, None);
}

#[test]
fn a_request_the_http_parser_refuses_is_not_an_error_in_the_log() {
    use std::io::{Read, Write};
    let db = TestDb::sqlite();
    let server = ServerProcess::start(db.url(), None, &[]);
    let addr = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: omnihub\r\nX-Bad: a\0b\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // The server still answers, and logged the client's mistake as no ERROR.
    server.send(Req::new("GET", "/health")).expect(200, None);
    let log = server.log_text();
    assert!(!log.contains(" ERROR "), "{log}");
}
