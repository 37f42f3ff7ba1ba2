//! The two ways the suite reaches the server: in process (actix test service) and over
//! HTTP to the real binary on a random port. Scenarios are written once against [`Api`].

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use omnihub_db::{Database, DatabaseUrl};
use omnihub_domain::Secret;
use omnihub_server::AppState;
use serde_json::Value;

/// The admin key the suite configures.
pub const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

/// One request.
pub struct Req {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Req {
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }
    /// Authenticated with the admin key in `x-api-key`.
    pub fn admin(method: &'static str, path: impl Into<String>) -> Self {
        Self::new(method, path).header("x-api-key", ADMIN_KEY)
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string().into_bytes())
    }
    pub fn raw(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers.push(("content-type".into(), content_type.into()));
        self.body = Some(body);
        self
    }
}

/// One response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts the status and, for errors, the JSON error code.
    pub fn expect(&self, status: u16, error: Option<&str>) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        if status == 204 {
            return Value::Null;
        }
        let body = self.json();
        if let Some(code) = error {
            assert_eq!(body["error"], code, "{body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        }
        body
    }
}

/// A server the suite can talk to; it also records every response body it saw.
pub trait Api {
    fn send(&self, req: Req) -> Resp;
    fn seen(&self) -> Vec<String>;
}

/// In process: `actix_web::test::init_service` on the same `app()` the binary serves.
pub struct InProcess<S> {
    rt: actix_web::rt::SystemRunner,
    app: S,
    seen: Mutex<Vec<String>>,
    pipeline: omnihub_core::Pipeline,
}

impl<S> Drop for InProcess<S> {
    fn drop(&mut self) {
        self.pipeline.shutdown(Duration::from_secs(5));
    }
}

pub fn in_process(
    db_url: &str,
    api_key: Option<&str>,
) -> InProcess<
    impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    let db = Database::connect(&DatabaseUrl::parse(db_url).unwrap()).unwrap();
    db.migrate().unwrap();
    let key = api_key.map(|k| Secret::parse("OMNIHUB_API_KEY", k).unwrap());
    let metrics = Arc::new(omnihub_server::Metrics::new());
    let pipeline =
        omnihub_server::start_pipeline(db, &omnihub_server::PipelineSettings::default(), metrics.clone())
            .unwrap();
    let state = AppState::new(pipeline.clone(), metrics, key, Vec::new());
    let rt = actix_web::rt::System::new();
    let app = rt.block_on(test::init_service(omnihub_server::app(state)));
    InProcess {
        rt,
        app,
        seen: Mutex::new(Vec::new()),
        pipeline,
    }
}

impl<S, B> Api for InProcess<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    fn send(&self, req: Req) -> Resp {
        let method = actix_web::http::Method::from_bytes(req.method.as_bytes()).unwrap();
        let mut builder = test::TestRequest::default()
            .method(method)
            .uri(&req.path)
            .peer_addr("127.0.0.1:40000".parse().unwrap());
        for (name, value) in req.headers {
            builder = builder.insert_header((name, value));
        }
        if let Some(body) = req.body {
            builder = builder.set_payload(body);
        }
        let resp = self.rt.block_on(async {
            let resp = test::call_service(&self.app, builder.to_request()).await;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let body = test::read_body(resp).await.to_vec();
            Resp {
                status,
                headers,
                body,
            }
        });
        self.seen.lock().unwrap().push(resp.text());
        resp
    }
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The real `omnihub-server` binary on 127.0.0.1 and a free port.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub logs: Arc<Mutex<Vec<String>>>,
    client: reqwest::blocking::Client,
    seen: Mutex<Vec<String>>,
    _workdir: tempfile::TempDir,
}

impl ServerProcess {
    pub fn start(db_url: &str, api_key: Option<&str>, env: &[(&str, &str)]) -> Self {
        Self::start_wrapped(&[], db_url, api_key, env)
    }

    /// Starts the server under `wrapper` (e.g. `prlimit --nofile=…`), when not empty.
    pub fn start_wrapped(
        wrapper: &[&str],
        db_url: &str,
        api_key: Option<&str>,
        env: &[(&str, &str)],
    ) -> Self {
        let workdir = tempfile::tempdir().unwrap();
        let binary = env!("CARGO_BIN_EXE_omnihub-server");
        let mut cmd = match wrapper.split_first() {
            None => Command::new(binary),
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(binary);
                cmd
            }
        };
        cmd.current_dir(workdir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "OMNIHUB_API_KEY",
            "DATABASE_URL",
            "API_HOST",
            "API_PORT",
            "AGENT_API_URL",
            "OMNIHUB_LOG",
            "LOG_LEVEL",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("OMNIHUB_HOST", "127.0.0.1")
            .env("OMNIHUB_PORT", "0")
            .env("OMNIHUB_WORKERS", "2")
            .env("OMNIHUB_LOG_FORMAT", "human")
            .env("OMNIHUB_DATABASE_URL", db_url);
        if let Some(key) = api_key {
            cmd.env("OMNIHUB_API_KEY", key);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            // Drain forever, or the server blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(100)) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                panic!("omnihub-server exited with {status}: {err}");
            }
            assert!(
                Instant::now() < deadline,
                "omnihub-server did not start: {:?}",
                logs.lock().unwrap()
            );
        };
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Self {
            child,
            base: format!("http://{addr}"),
            logs,
            client,
            seen: Mutex::new(Vec::new()),
            _workdir: workdir,
        }
    }

    pub fn log_text(&self) -> String {
        // The log reader thread may lag the response by a moment.
        std::thread::sleep(Duration::from_millis(50));
        self.logs.lock().unwrap().join("\n")
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(Instant::now() < deadline, "the server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Api for ServerProcess {
    fn send(&self, req: Req) -> Resp {
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
        let mut builder = self.client.request(method, format!("{}{}", self.base, req.path));
        for (name, value) in req.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let resp = builder
            .send()
            .unwrap_or_else(|e| panic!("request failed (connection dropped?): {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = resp.bytes().unwrap().to_vec();
        let resp = Resp {
            status,
            headers,
            body,
        };
        self.seen.lock().unwrap().push(resp.text());
        resp
    }
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
