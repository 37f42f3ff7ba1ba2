//! The adversarial review's findings about operations: `/ready` tells the truth (a deleted
//! SQLite file, a PostgreSQL database without tables, writes that fail), and the server
//! raises its open-file limit and caps its connections below it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use omnihub_test_support::TestDb;
use serde_json::json;

use crate::flow::{create_instance, echo_agent, fast_env, ok_evolution, post_webhook, text_webhook};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

#[test]
fn ready_fails_when_the_sqlite_file_is_deleted() {
    let db = TestDb::sqlite();
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    server.send(Req::new("GET", "/ready")).expect(200, None);
    std::fs::remove_file(db.url()).unwrap();
    let body = server.send(Req::new("GET", "/ready")).expect(503, None);
    assert!(body["reason"].as_str().unwrap().starts_with("database"), "{body}");
    assert!(server.log_text().contains("no longer exists"));
}

#[test]
fn postgres_ready_fails_when_the_database_lost_its_tables() {
    let db = TestDb::postgres();
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    server.send(Req::new("GET", "/ready")).expect(200, None);
    db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        .unwrap();
    let body = server.send(Req::new("GET", "/ready")).expect(503, None);
    assert!(body["reason"].as_str().unwrap().starts_with("database"), "{body}");
    assert!(
        server.log_text().contains("omnihub-server migrate"),
        "{}",
        server.log_text()
    );
}

#[test]
fn the_open_file_limit_is_raised_to_the_hard_one() {
    let db = TestDb::sqlite();
    let server = ServerProcess::start_wrapped(
        &["prlimit", "--nofile=200:4096"],
        db.url(),
        Some(ADMIN_KEY),
        &fast_env(),
    );
    let logs = server.log_text();
    // (4096 - 256) × 0.9 / 2 workers.
    assert!(
        logs.contains("open_file_limit=4096") && logs.contains("connections_per_worker=1728"),
        "{logs}"
    );
}

#[test]
fn idle_connections_past_the_cap_never_exhaust_file_descriptors() {
    let db = TestDb::sqlite();
    // A hard limit of 400 descriptors: the cap is 64 connections per worker, 128 in all.
    let server = ServerProcess::start_wrapped(
        &["prlimit", "--nofile=400:400"],
        db.url(),
        Some(ADMIN_KEY),
        &fast_env(),
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    let idle: Vec<TcpStream> = (0..450).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    assert!(
        idle.len() > 400,
        "more than the descriptors the server has: {}",
        idle.len()
    );
    // Answered once the header timeout (5 s) has closed the idle connections ahead of it,
    // a cap's worth at a time; the read gives up after 60 s.
    let mut health = TcpStream::connect(&addr).unwrap();
    health.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = health.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    let logs = server.log_text();
    assert!(!logs.contains("Too many open files"), "{logs}");
    drop(idle);
}

#[test]
fn postgres_ready_fails_while_writes_fail_and_recovers_with_the_next_commit() {
    let db = TestDb::postgres();
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    let sql = |sql: &str| db.execute(sql).unwrap();
    // Every insert fails the way a full disk does (the readiness probe's write too).
    sql(
        "CREATE FUNCTION full_disk() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER full_disk BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION full_disk(); \
         CREATE TRIGGER full_disk BEFORE INSERT OR UPDATE ON readiness_probe FOR EACH ROW EXECUTE FUNCTION full_disk()",
    );
    let webhook = text_webhook("caldasIA", "W1", "1@s.whatsapp.net", "hi");
    post_webhook(&server, "/webhook/evolution/shop", &webhook).expect(503, Some("database_unavailable"));
    let body = server.send(Req::new("GET", "/ready")).expect(503, None);
    assert!(body["reason"].as_str().unwrap().starts_with("writes"), "{body}");
    // Still failing: readiness stays 503 with no traffic at all.
    server.send(Req::new("GET", "/ready")).expect(503, None);
    // The disk has room again: the probe's write succeeds, /ready says so before any webhook.
    sql("DROP TRIGGER full_disk ON messages; DROP TRIGGER full_disk ON readiness_probe");
    server.send(Req::new("GET", "/ready")).expect(200, None);
    post_webhook(&server, "/webhook/evolution/shop", &webhook).expect(200, None);
}
