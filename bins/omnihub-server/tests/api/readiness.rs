//! Readiness while the database goes away and comes back (PostgreSQL behind a cuttable proxy).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omnihub_test_support::TestDb;

use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

/// A TCP forwarder between the server and PostgreSQL that the test can cut and restore.
struct CuttableProxy {
    port: u16,
    open: Arc<AtomicBool>,
}

impl CuttableProxy {
    fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let flag = open.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused-ish
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let flag = flag.clone();
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    flag.clone(),
                );
                pipe(server, client, flag);
            }
        });
        Self { port, open }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, open: Arc<AtomicBool>) {
    from.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if !open.load(Ordering::SeqCst) {
                let _ = to.shutdown(std::net::Shutdown::Both);
                let _ = from.shutdown(std::net::Shutdown::Both);
                return;
            }
            match from.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    });
}

fn wait_for_status(server: &ServerProcess, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = server.send(Req::new("GET", "/ready"));
        if resp.status == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/ready stayed {} ({})",
            resp.status,
            resp.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn postgres_ready_turns_503_while_the_database_is_away_and_200_when_it_returns() {
    let db = TestDb::postgres();
    let mut url = url::Url::parse(db.url()).unwrap();
    let upstream = url.port().unwrap_or(5432);
    let proxy = CuttableProxy::start(upstream);
    url.set_port(Some(proxy.port)).unwrap();
    let server = ServerProcess::start(url.as_str(), Some(ADMIN_KEY), &[]);
    wait_for_status(&server, 200);
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&crate::scenarios::instance_body("shop")))
        .expect(201, None);
    let webhook = serde_json::json!({"event": "messages.upsert", "instance": "wa_shop",
        "data": {"key": {"remoteJid": "1@s.whatsapp.net", "id": "W1"}, "message": {"conversation": "hi"}}});
    proxy.open.store(false, Ordering::SeqCst);
    wait_for_status(&server, 503);
    // Evolution must retry: the message cannot be committed, so it is not acknowledged.
    server
        .send(Req::new("POST", "/webhook/evolution/shop").json(&webhook))
        .expect(503, Some("database_unavailable"));
    let body = server.send(Req::new("GET", "/ready")).json();
    assert_eq!(body["status"], "unavailable");
    server
        .send(Req::admin("GET", "/api/v1/instances"))
        .expect(503, Some("database_unavailable"));
    server.send(Req::new("GET", "/health")).expect(200, None);
    proxy.open.store(true, Ordering::SeqCst);
    wait_for_status(&server, 200);
    server
        .send(Req::admin("GET", "/api/v1/instances"))
        .expect(200, None);
}
