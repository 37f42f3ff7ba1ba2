//! The adversarial review's findings about what an anonymous client can take: requests
//! refused before their body is read, bodies under a deadline and a shared memory budget,
//! one bounded batch per webhook, open webhooks warned about and counted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use omnihub_test_support::{FakeHttp, TestDb};
use serde_json::json;

use crate::flow::{create_instance, echo_agent, fast_env, log, ok_evolution, post_webhook, text_webhook};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

on_both_engines!(
    a_batch_over_the_limit_is_refused_whole,
    open_webhooks_are_warned_about_at_start_and_counted,
);

/// Sends `head` and `prefix` of a body on a raw connection, then reads the answer (the
/// read gives up after 20 s, so a server that waits for the rest fails the test).
fn raw_exchange(server: &ServerProcess, head: &str, prefix: &[u8]) -> String {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(prefix).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
            Err(e) => panic!("no answer: {e}; got {:?}", String::from_utf8_lossy(&answer)),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn head(path: &str, length: usize, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    )
}

#[test]
fn refused_webhooks_are_answered_before_their_body_arrives() {
    let db = TestDb::sqlite();
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    create_instance(
        &server,
        "shop",
        "caldasIA",
        &agent,
        &evolution,
        json!({"webhook_secret": "webhook-secret-0123456789"}),
    );
    let announced = 31 * 1024 * 1024;
    let unknown = raw_exchange(
        &server,
        &head("/webhook/evolution/nobody", announced, ""),
        &[b' '; 1024],
    );
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    assert!(
        unknown.to_ascii_lowercase().contains("connection: close"),
        "{unknown}"
    );
    let no_token = raw_exchange(
        &server,
        &head("/webhook/evolution/shop", announced, ""),
        &[b' '; 1024],
    );
    assert!(no_token.starts_with("HTTP/1.1 401"), "{no_token}");
    assert!(no_token.contains("missing_webhook_token"), "{no_token}");
    let too_big = raw_exchange(
        &server,
        &head(
            "/webhook/evolution/shop",
            33 * 1024 * 1024,
            "x-omnihub-token: webhook-secret-0123456789\r\n",
        ),
        b"{",
    );
    assert!(too_big.starts_with("HTTP/1.1 413"), "{too_big}");
    server.send(Req::new("GET", "/health")).expect(200, None);
}

#[test]
fn bodies_that_stop_arriving_get_408_and_the_budget_503() {
    let db = TestDb::sqlite();
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let env = [
        fast_env(),
        vec![
            ("OMNIHUB_WEBHOOK_BODY_IDLE_SECS", "1"),
            ("OMNIHUB_WEBHOOK_BODY_TIMEOUT_SECS", "3"),
            ("OMNIHUB_WEBHOOK_BODY_LIMIT_MB", "1"),
            ("OMNIHUB_WEBHOOK_INFLIGHT_MB", "1"),
        ],
    ]
    .concat();
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &env);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    // A body that stops: 408 once the gap is over, nothing stored.
    let stalled = raw_exchange(&server, &head("/webhook/evolution/shop", 500, ""), b"{\"event\":");
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
    assert!(stalled.contains("stopped arriving"), "{stalled}");
    // A chunked body that stops the same way.
    let chunked = raw_exchange(
        &server,
        "POST /webhook/evolution/shop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5\r\n{\"eve\r\n",
    );
    assert!(chunked.starts_with("HTTP/1.1 408"), "{chunked}");
    // A body trickling a byte at a time, each gap short, still meets the total deadline.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut trickle = TcpStream::connect(&addr).unwrap();
    trickle
        .write_all(head("/webhook/evolution/shop", 500, "").as_bytes())
        .unwrap();
    let mut answer = String::new();
    trickle
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    for _ in 0..40 {
        let _ = trickle.write_all(b" ");
        let mut buf = [0u8; 1024];
        if let Ok(n) = trickle.read(&mut buf) {
            answer.push_str(&String::from_utf8_lossy(&buf[..n]));
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive in time"), "{answer}");
    // One body holding the whole budget: the next is told to come back later.
    let mut holder = TcpStream::connect(&addr).unwrap();
    holder
        .write_all(head("/webhook/evolution/shop", 1024 * 1024, "").as_bytes())
        .unwrap();
    holder.write_all(b"{").unwrap();
    // Waits for the event: the server has reserved the whole announced body.
    crate::flow::wait_until(10, "the reservation", || {
        server
            .send(Req::new("GET", "/metrics"))
            .text()
            .contains("omnihub_webhook_inflight_bytes 1048576")
    });
    let busy = server.send(Req::new("POST", "/webhook/evolution/shop").json(&text_webhook(
        "caldasIA",
        "B1",
        "1@s.whatsapp.net",
        "hi",
    )));
    busy.expect(503, Some("busy"));
    assert_eq!(busy.header("retry-after"), Some("5"));
    drop(holder);
    // Given back when the holder goes: the same webhook is taken.
    crate::flow::wait_until(10, "the budget back", || {
        post_webhook(
            &server,
            "/webhook/evolution/shop",
            &text_webhook("caldasIA", "B1", "1@s.whatsapp.net", "hi"),
        )
        .status
            == 200
    });
    assert_eq!(log(&server).len(), 1);
}

fn a_batch_over_the_limit_is_refused_whole(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let env = [fast_env(), vec![("OMNIHUB_WEBHOOK_MAX_MESSAGES", "3")]].concat();
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &env);
    create_instance(&server, "shop", "caldasIA", &agent, &evolution, json!({}));
    let message = |i: usize| {
        text_webhook("caldasIA", &format!("M{i}"), &format!("{i}@s.whatsapp.net"), "hi")["data"].clone()
    };
    let mut batch = text_webhook("caldasIA", "x", "1@s.whatsapp.net", "hi");
    batch["data"] = json!((0..4).map(message).collect::<Vec<_>>());
    let body =
        post_webhook(&server, "/webhook/evolution/shop", &batch).expect(413, Some("payload_too_large"));
    assert!(body["message"].as_str().unwrap().contains("4 messages"), "{body}");
    assert!(log(&server).is_empty(), "nothing stored");
    batch["data"] = json!((0..3).map(message).collect::<Vec<_>>());
    post_webhook(&server, "/webhook/evolution/shop", &batch).expect(200, None);
    assert_eq!(log(&server).len(), 3);
}

fn open_webhooks_are_warned_about_at_start_and_counted(db: &TestDb) {
    let (agent, evolution): (FakeHttp, FakeHttp) = (echo_agent(), ok_evolution());
    let mut first = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    create_instance(&first, "open-door", "a", &agent, &evolution, json!({}));
    create_instance(
        &first,
        "closed-door",
        "b",
        &agent,
        &evolution,
        json!({"webhook_secret": "webhook-secret-0123456789"}),
    );
    first.terminate();
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    let logs = server.log_text();
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("open-door") && l.contains("no webhook_secret")),
        "{logs}"
    );
    assert!(!logs.contains("closed-door"), "{logs}");
    let metrics = server.send(Req::new("GET", "/metrics")).text();
    assert!(
        metrics.contains("omnihub_instances_without_webhook_secret 1"),
        "{metrics}"
    );
}
