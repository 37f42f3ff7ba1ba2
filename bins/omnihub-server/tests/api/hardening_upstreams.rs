//! The adversarial review's findings about upstreams: no redirect followed, agent output
//! bounded and readable, secrets cut out of stored errors, a closed connection retried, and
//! a database connection cut after a send never repeats a part.

use omnihub_test_support::{ClosingServer, FakeHttp, Reply, TestDb, AGENT_KEY};
use serde_json::json;

use crate::flow::{echo_agent, fast_env, ok_evolution, post_webhook, text_webhook, texts, wait_until};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

on_both_engines!(
    redirects_are_never_followed,
    floods_are_cut_to_the_limits_and_recorded,
    unreadable_answers_fail_with_the_apology,
    stored_errors_never_hold_the_instance_secrets,
    a_connection_closed_by_evolution_is_retried,
);

/// One message to `shop` on a server with `env` over [`fast_env`]; waits until it finished
/// and returns its log entry.
fn one_message(
    db: &TestDb,
    agent: &FakeHttp,
    evolution_url: &str,
    env: &[(&str, &str)],
) -> (ServerProcess, serde_json::Value) {
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &[fast_env(), env.to_vec()].concat());
    let body = omnihub_test_support::InstanceBuilder::new("shop")
        .whatsapp_instance("caldasIA")
        .agent(&agent.url)
        .evolution(evolution_url)
        .json();
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&body))
        .expect(201, None);
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("caldasIA", "H1", "1@s.whatsapp.net", "hi"),
    )
    .expect(200, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let entry = loop {
        // While a test cuts the database's connections, an admin read may be told 503 (it
        // retries on other connections, but the cuts go on); that is not what is under test.
        let resp = server.send(Req::admin("GET", "/api/v1/messages?limit=10"));
        if resp.status == 200 {
            let entries = resp.json();
            let done = entries[0]["status"] == "done" || entries[0]["status"] == "failed";
            if done {
                break entries[0].clone();
            }
        } else {
            assert_eq!(resp.status, 503, "{}", resp.text());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the message did not finish: {}\n{}",
            resp.text(),
            server.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (server, entry)
}

fn redirects_are_never_followed(db: &TestDb) {
    let thief = echo_agent();
    let thief_host = thief.url.replace("127.0.0.1", "localhost");
    let agent = FakeHttp::start(move |_, _| {
        Reply::raw(307, "text/plain", "moved").header("location", &format!("{thief_host}/steal"))
    });
    let evolution = ok_evolution();
    let (_server, entry) = one_message(db, &agent, &evolution.url, &[]);
    assert_eq!(
        (entry["status"].as_str(), entry["error_stage"].as_str()),
        (Some("failed"), Some("agent"))
    );
    let error = entry["error"].as_str().unwrap();
    assert!(error.contains("307") && error.contains("localhost"), "{error}");
    assert_eq!(agent.requests().len(), 1, "a redirect is permanent");
    assert!(thief.requests().is_empty(), "the key never travelled");
    // Evolution's side: the same.
    let thief = ok_evolution();
    let to = thief.url.clone();
    let evolution =
        FakeHttp::start(move |_, _| Reply::raw(307, "text/plain", "moved").header("location", &to));
    let db2 = TestDb::sqlite();
    let (_server, entry) = one_message(&db2, &echo_agent(), &evolution.url, &[]);
    assert_eq!(entry["error_stage"], "evolution");
    assert!(entry["error"].as_str().unwrap().contains("307"), "{entry}");
    assert!(thief.requests().is_empty(), "the apikey never travelled");
}

fn floods_are_cut_to_the_limits_and_recorded(db: &TestDb) {
    let flood = (0..50)
        .map(|i| format!("part {i}"))
        .collect::<Vec<_>>()
        .join("\n\n");
    let agent = FakeHttp::start(move |_, _| Reply::json(200, json!({ "message": flood })));
    let evolution = ok_evolution();
    let (server, entry) = one_message(db, &agent, &evolution.url, &[("OMNIHUB_REPLY_MAX_PARTS", "3")]);
    assert_eq!(entry["status"], "done");
    let sent: Vec<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["part 0", "part 1", "part 2"]);
    let outcome = entry["outcome"].as_str().unwrap();
    assert!(
        outcome.contains("reply cut") && outcome.contains("50 parts"),
        "{outcome}"
    );
    let metrics = server.send(Req::new("GET", "/metrics")).text();
    assert!(metrics.contains("omnihub_replies_cut_total 1"), "{metrics}");
}

fn unreadable_answers_fail_with_the_apology(db: &TestDb) {
    for (answer, reason) in [
        (
            Reply::raw(
                200,
                "text/html",
                "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
            ),
            "HTML",
        ),
        (
            Reply::raw(200, "application/json", r#"{"message":"hal"#),
            "does not parse",
        ),
        (Reply::json(200, json!({"message": "a\u{0}b"})), "U+0000"),
        (Reply::json(200, json!({"message": "ring\u{7}"})), "U+0007"),
    ] {
        let fresh = if db.url().starts_with("postgres") {
            TestDb::postgres()
        } else {
            TestDb::sqlite()
        };
        let agent = FakeHttp::start(move |_, _| answer.clone());
        let evolution = ok_evolution();
        let (_server, entry) = one_message(
            &fresh,
            &agent,
            &evolution.url,
            &[("OMNIHUB_APOLOGY_TEXT", "Sorry!")],
        );
        assert_eq!(
            (entry["status"].as_str(), entry["error_stage"].as_str()),
            (Some("failed"), Some("agent")),
            "{reason}"
        );
        assert!(entry["error"].as_str().unwrap().contains(reason), "{entry}");
        assert_eq!(entry["attempts"], 1, "permanent: {reason}");
        wait_until(10, "the apology", || texts(&evolution).len() == 1);
        assert_eq!(texts(&evolution)[0].json["text"], "Sorry!", "{reason}");
    }
}

fn stored_errors_never_hold_the_instance_secrets(db: &TestDb) {
    let agent =
        FakeHttp::start(|_, _| Reply::json(401, json!({"detail": format!("invalid key {AGENT_KEY}")})));
    let evolution = ok_evolution();
    let (server, entry) = one_message(db, &agent, &evolution.url, &[]);
    let error = entry["error"].as_str().unwrap();
    assert!(error.contains("invalid key [redacted]"), "{error}");
    let detail = server
        .send(Req::admin("GET", format!("/api/v1/messages/{}", entry["id"])))
        .text();
    assert!(!detail.contains(AGENT_KEY), "{detail}");
    assert!(!server.log_text().contains(AGENT_KEY));
}

fn a_connection_closed_by_evolution_is_retried(db: &TestDb) {
    let evolution = ClosingServer::start();
    let (_server, entry) = one_message(db, &echo_agent(), &evolution.url, &[]);
    assert_eq!(
        (entry["status"].as_str(), entry["error_stage"].as_str()),
        (Some("failed"), Some("evolution"))
    );
    assert_eq!(
        entry["attempts"], 4,
        "retried up to OMNIHUB_RETRY_MAX_ATTEMPTS: {entry}"
    );
    assert!(evolution.closed() >= 4);
}

/// PostgreSQL only: every connection of the database is terminated while each part is being
/// sent; the write that records the part is retried on a fresh connection, so no part goes
/// out twice.
#[test]
fn postgres_connections_cut_after_a_send_repeat_nothing() {
    let db = TestDb::postgres();
    let url = db.url().to_owned();
    let agent = FakeHttp::start(|_, _| Reply::json(200, json!({"message": "one\n\ntwo\n\nthree"})));
    let evolution = FakeHttp::start(move |_, _| {
        omnihub_test_support::execute_postgres(
            &url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .unwrap();
        Reply::json(201, json!({"key": {"id": "X"}}))
    });
    let (server, entry) = one_message(&db, &agent, &evolution.url, &[]);
    let logs = server.log_text();
    assert!(
        logs.contains("recording a step failed; retrying the write"),
        "the cut was felt: {logs}"
    );
    let sent: Vec<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["one", "two", "three"], "{entry}");
    assert_eq!(agent.requests().len(), 1, "the agent is asked once: {entry}");
    assert_eq!(entry["attempts"], 1, "no lease recovery was needed: {entry}");
    assert_eq!(
        (entry["status"].as_str(), entry["parts_sent"].as_u64()),
        (Some("done"), Some(3))
    );
}
