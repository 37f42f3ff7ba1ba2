//! [`EvolutionWorld`] served over HTTP for tests, delivering its lifecycle webhooks with a
//! small blocking HTTP/1.1 client (std only).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::fake_evolution::{Delivery, EvolutionWorld};
use crate::{FakeHttp, Reply};

/// A running fake Evolution server: the recorded requests of [`FakeHttp`] and the
/// [`EvolutionWorld`] behind them.
pub struct FakeEvolution {
    /// The HTTP side (URL, recorded requests).
    pub http: FakeHttp,
    /// The instances.
    pub world: Arc<EvolutionWorld>,
}

impl FakeEvolution {
    /// Starts a fake whose global key is `key`. Webhooks a call emits are delivered before
    /// the call is answered, in order.
    pub fn start(key: &str) -> Self {
        let world = Arc::new(EvolutionWorld::new(key));
        let served = world.clone();
        let http = FakeHttp::start(move |request, _| {
            let apikey = request.header("apikey");
            match served.handle(&request.method, &request.path, apikey, &request.json) {
                Some(answer) => {
                    for delivery in &answer.deliveries {
                        if let Err(err) = deliver(delivery) {
                            eprintln!("fake Evolution: webhook to {} failed: {err}", delivery.url);
                        }
                    }
                    Reply::json(answer.status, answer.body)
                }
                None => Reply::json(
                    404,
                    json!({"status": 404, "error": "Not Found", "response": {"message": ["Cannot find the route"]}}),
                ),
            }
        });
        world.set_base_url(&http.url);
        Self { http, world }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.http.url
    }

    /// The phone scans `instance`'s QR as `number`: `open`, and the `connection.update` is
    /// delivered. Panics when the instance is not waiting for a scan.
    pub fn scan(&self, instance: &str, number: &str) {
        let deliveries = self
            .world
            .scan(instance, number)
            .unwrap_or_else(|| panic!("{instance} is not waiting for a scan"));
        deliver_all(&deliveries);
    }

    /// The connection of `instance` drops for good with `code`, and the `connection.update`
    /// is delivered.
    pub fn drop_connection(&self, instance: &str, code: u16) {
        let deliveries = self
            .world
            .drop_connection(instance, code)
            .unwrap_or_else(|| panic!("{instance} does not exist"));
        deliver_all(&deliveries);
    }
}

fn deliver_all(deliveries: &[Delivery]) {
    for delivery in deliveries {
        let status = deliver(delivery).unwrap_or_else(|e| panic!("webhook to {}: {e}", delivery.url));
        assert_eq!(status, 200, "webhook to {} answered {status}", delivery.url);
    }
}

/// POSTs `delivery` (http:// only) and returns the status it was answered with.
pub fn deliver(delivery: &Delivery) -> Result<u16, String> {
    let url = url::Url::parse(&delivery.url).map_err(|e| e.to_string())?;
    if url.scheme() != "http" {
        return Err("only http:// webhooks are delivered by the fake".into());
    }
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = TcpStream::connect((host, port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let body = delivery.body.to_string();
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        &url[url::Position::BeforePath..],
        body.len()
    );
    for (name, value) in &delivery.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP answer: {}",
                answer.chars().take(80).collect::<String>()
            )
        })
}
