//! A fake upstream HTTP server (agent API, Evolution API, or an attacker's host) that
//! records every request with its timing and answers as a test tells it to.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
    /// When the request arrived.
    pub started: Instant,
    /// When the answer was sent.
    pub finished: Instant,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body (sent as JSON content type).
    pub body: String,
    /// Wait this long before answering.
    pub delay: Duration,
    /// The `content-type` sent.
    pub content_type: String,
    /// More headers sent (e.g. `location`).
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// A JSON answer with `status`, sent at once.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::raw(status, "application/json", body.to_string())
    }

    /// An answer with any `content_type` and `body`, sent at once.
    pub fn raw(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
            delay: Duration::ZERO,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
        }
    }

    /// The same answer with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same answer after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Behaviour = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A running fake; it stops when dropped.
pub struct FakeHttp {
    server: Arc<tiny_http::Server>,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeHttp {
    /// Starts a fake on a free loopback port. `behaviour` gets each request and how many
    /// requests came before it, and says how to answer. Each request is served on its own
    /// thread, so slow answers do not block others.
    pub fn start(behaviour: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("fake server: {e}")));
        let port = server.server_addr().to_ip().map_or(0, |a| a.port());
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let counter = Arc::new(Mutex::new(0usize));
        let (srv, reqs) = (server.clone(), requests.clone());
        std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let (behaviour, reqs, counter) = (behaviour.clone(), reqs.clone(), counter.clone());
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let mut body = String::new();
                    let _ = request.as_reader().read_to_string(&mut body);
                    let mut recorded = Recorded {
                        method: request.method().to_string(),
                        path: request.url().to_owned(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| {
                                (
                                    h.field.as_str().as_str().to_ascii_lowercase(),
                                    h.value.as_str().to_owned(),
                                )
                            })
                            .collect(),
                        json: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                        started,
                        finished: started,
                    };
                    let index = {
                        let mut n = counter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        *n += 1;
                        *n - 1
                    };
                    let reply = behaviour(&recorded, index);
                    std::thread::sleep(reply.delay);
                    recorded.finished = Instant::now();
                    reqs.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(recorded);
                    let header = |name: &str, value: &str| {
                        tiny_http::Header::from_bytes(name, value)
                            .unwrap_or_else(|()| panic!("invalid header {name}: {value}"))
                    };
                    let mut response = tiny_http::Response::from_string(reply.body)
                        .with_status_code(reply.status)
                        .with_header(header("content-type", &reply.content_type));
                    for (name, value) in &reply.headers {
                        response.add_header(header(name, value));
                    }
                    let _ = request.respond(response);
                });
            }
        });
        Self {
            server,
            url: format!("http://127.0.0.1:{port}"),
            requests,
        }
    }

    /// Every request answered so far, in the order the answers were sent.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
