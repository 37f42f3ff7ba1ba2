//! A fake upstream that reads each request and closes the connection without a word, as a
//! crashing proxy or server does.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Accepts connections on a loopback port, reads one request from each and closes it.
pub struct ClosingServer {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    closed: Arc<AtomicUsize>,
}

impl ClosingServer {
    /// Starts the server on a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("closing server: {e}"));
        let port = listener.local_addr().map_or(0, |a| a.port());
        let closed = Arc::new(AtomicUsize::new(0));
        let counter = closed.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                counter.fetch_add(1, Ordering::SeqCst);
                // Dropping the reader closes the connection with no answer.
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            closed,
        }
    }

    /// Requests read and left unanswered so far.
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}
