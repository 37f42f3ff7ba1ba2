//! A fake upstream HTTP server (agent API, Evolution API, or an attacker's host) that
//! records every request with its timing and answers as a test tells it to.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
///
/// A small HTTP/1.1 server on `std::net`: one request per connection (answered with
/// `Connection: close`), each connection on its own thread. (tiny_http's worker pool left a
/// new connection waiting 5–10 s now and then, which tests read as upstream timeouts.)
pub struct FakeHttp {
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeHttp {
    /// Starts a fake on a free loopback port. `behaviour` gets each request and how many
    /// requests came before it, and says how to answer. Each request is served on its own
    /// thread, so slow answers do not block others.
    pub fn start(behaviour: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("fake server: {e}"));
        let port = listener.local_addr().map_or(0, |a| a.port());
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let counter = Arc::new(Mutex::new(0usize));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (reqs, stopping) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (behaviour, reqs, counter) = (behaviour.clone(), reqs.clone(), counter.clone());
                std::thread::spawn(move || serve(stream, &*behaviour, &reqs, &counter));
            }
        });
        Self {
            stop,
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
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// Reads one request from `stream`, answers it as `behaviour` says and closes the connection.
fn serve(stream: TcpStream, behaviour: &Behaviour, reqs: &Mutex<Vec<Recorded>>, counter: &Mutex<usize>) {
    let started = Instant::now();
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // a connection that sent nothing (e.g. the wake-up in Drop)
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut recorded = Recorded {
        method,
        path,
        headers,
        json: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
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
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = writer.write_all(head.as_bytes());
    let _ = writer.write_all(reply.body.as_bytes());
    let _ = writer.flush();
    let _ = writer.shutdown(std::net::Shutdown::Both);
}

/// A reason phrase for the status line (clients ignore it).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
