//! The sandbox itself: its fakes answer the documented shapes and fail on demand, `load`
//! counts correctly against the real server, and the demo runs to completion by itself.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const SANDBOX: &str = env!("CARGO_BIN_EXE_omnihub-sandbox");

fn sibling(name: &str) -> PathBuf {
    let path = PathBuf::from(SANDBOX).with_file_name(name);
    assert!(
        path.exists(),
        "{} is built by `cargo test --workspace`",
        path.display()
    );
    path
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `omnihub-sandbox upstreams` on free ports; returns (process, evolution URL, agent URL).
fn upstreams(extra: &[&str]) -> (Running, String, String) {
    let mut child = Command::new(SANDBOX)
        .args(["upstreams", "--evolution-port", "0", "--agent-port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = |prefix: &str| {
        lines
            .next()
            .unwrap()
            .unwrap()
            .trim_start_matches(prefix)
            .trim()
            .to_owned()
    };
    let evolution = url("fake Evolution API:");
    let agent = url("fake agent:");
    // Keep reading: a closed pipe would kill the process at its next line of output.
    std::thread::spawn(move || lines.for_each(drop));
    (Running(child), evolution, agent)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[test]
fn the_fake_evolution_answers_real_shapes_and_fails_on_demand() {
    let (_up, evolution, _) = upstreams(&[]);
    let c = http();
    let send = |key: Option<&str>, body: Value| {
        let mut req = c.post(format!("{evolution}/message/sendText/shop")).json(&body);
        if let Some(key) = key {
            req = req.header("apikey", key);
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.json::<Value>().unwrap())
    };
    let (status, body) = send(Some("k"), json!({"number": "1@s.whatsapp.net", "text": "hi"}));
    assert_eq!(status, 201);
    assert_eq!(body["key"]["fromMe"], true);
    assert_eq!(body["status"], "PENDING");
    let (status, body) = send(None, json!({"number": "1@s.whatsapp.net", "text": "hi"}));
    assert_eq!(
        (status, body["response"]["message"].clone()),
        (401, json!("Unauthorized"))
    );
    let (status, body) = send(Some("k"), json!({"number": "1@s.whatsapp.net"}));
    assert_eq!((status, body["error"].as_str()), (400, Some("Bad Request")));
    let presence = c
        .post(format!("{evolution}/chat/sendPresence/shop"))
        .json(&json!({"number": "1", "presence": "composing", "delay": 1}))
        .send()
        .unwrap();
    assert_eq!(presence.status().as_u16(), 201);

    c.post(format!("{evolution}/_sandbox/fail"))
        .json(&json!({"status": 500, "rate": 0.5, "delay_ms": 0}))
        .send()
        .unwrap();
    let statuses: Vec<u16> = (0..4)
        .map(|i| {
            send(
                Some("k"),
                json!({"number": "2@s.whatsapp.net", "text": format!("t{i}")}),
            )
            .0
        })
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2, "{statuses:?}");
    c.post(format!("{evolution}/_sandbox/fail"))
        .json(&json!({"status": 0, "rate": 0.0, "delay_ms": 0}))
        .send()
        .unwrap();
    let stats: Value = c
        .get(format!("{evolution}/_sandbox/stats"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (stats["texts"].as_u64(), stats["presences"].as_u64()),
        (Some(3), Some(1))
    );
    let deliveries: Value = c
        .get(format!("{evolution}/_sandbox/deliveries"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(deliveries["hi"]["count"], 1);
}

#[test]
fn the_fake_evolution_connects_numbers_and_posts_lifecycle_webhooks() {
    let (_up, evolution, _) = upstreams(&[]);
    let hub = omnihub_test_support::FakeHttp::start(|_, _| {
        omnihub_test_support::Reply::json(200, json!({"status": "recorded"}))
    });
    let c = http();
    let key = "demo-evolution-key-0001";
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = c
            .request(method, format!("{evolution}{path}"))
            .header("apikey", key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().unwrap();
        (
            resp.status().as_u16(),
            resp.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let create = json!({"instanceName": "demo", "integration": "WHATSAPP-BAILEYS", "qrcode": true,
        "webhook": {"url": format!("{}/webhook/evolution/demo", hub.url), "events": [], "byEvents": false,
                    "base64": true, "headers": {"x-omnihub-token": "tok-0123456789abcdef"}}});
    let (status, body) = call(reqwest::Method::POST, "/instance/create", Some(create.clone()));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["qrcode"]["count"], 1);
    assert_eq!(
        call(reqwest::Method::POST, "/instance/create", Some(create)).0,
        403
    );
    let (_, qr) = call(reqwest::Method::GET, "/instance/connect/demo", None);
    assert_eq!(qr["count"], 2, "the QR rotates");
    let scanned = c
        .post(format!("{evolution}/_sandbox/scan/demo"))
        .json(&json!({"number": "5511900000009"}))
        .send()
        .unwrap();
    assert_eq!(scanned.status().as_u16(), 200);
    let (_, state) = call(reqwest::Method::GET, "/instance/connectionState/demo", None);
    assert_eq!(state["instance"]["state"], "open");
    let dropped = c
        .post(format!("{evolution}/_sandbox/drop/demo"))
        .json(&json!({"code": 401}))
        .send()
        .unwrap();
    assert_eq!(dropped.status().as_u16(), 200);
    let events: Vec<(String, Value)> = hub
        .requests()
        .iter()
        .map(|r| {
            (
                r.header("x-omnihub-token").unwrap_or_default().to_owned(),
                r.json.clone(),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(_, e)| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "qrcode.updated",
            "qrcode.updated",
            "connection.update",
            "connection.update"
        ]
    );
    assert!(
        events.iter().all(|(token, _)| token == "tok-0123456789abcdef"),
        "the configured header"
    );
    assert_eq!(events[2].1["data"]["state"], "open");
    assert_eq!(events[3].1["data"]["statusReason"], 401);
    // While closed, sendText refuses; the benchmark's unknown instances always send.
    let send = |instance: &str| {
        c.post(format!("{evolution}/message/sendText/{instance}"))
            .header("apikey", key)
            .json(&json!({"number": "1@s.whatsapp.net", "text": "hi"}))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!((send("demo"), send("bench")), (400, 201));
    let (status, _) = call(reqwest::Method::POST, "/instance/restart/demo", None);
    assert_eq!(status, 200);
    c.post(format!("{evolution}/_sandbox/activate"))
        .json(&json!({"activated": false}))
        .send()
        .unwrap();
    let (status, body) = call(reqwest::Method::GET, "/instance/fetchInstances", None);
    assert_eq!((status, body["code"].as_str()), (503, Some("LICENSE_REQUIRED")));
}

#[test]
fn the_fake_agent_echoes_answers_long_and_fails_on_demand() {
    let c = http();
    let run = |agent: &str| {
        let resp = c
            .post(format!("{agent}/api/v1/agent/bot/run"))
            .header("x-api-key", "k")
            .json(&json!({"message_content": "hello", "session_name": "s"}))
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().unwrap())
    };
    let (_echo, _, agent) = upstreams(&[]);
    assert_eq!(
        run(&agent),
        (
            200,
            json!({"message": "echo: hello", "session_id": "s", "success": true, "usage": {"request_tokens": 0, "response_tokens": 0}})
        )
    );
    c.post(format!("{agent}/_sandbox/fail"))
        .json(&json!({"status": 503, "rate": 1.0, "delay_ms": 0}))
        .send()
        .unwrap();
    assert_eq!(run(&agent).0, 503);
    let (_long, _, long_agent) = upstreams(&["--agent-mode", "long"]);
    let text = run(&long_agent).1["message"].as_str().unwrap().to_owned();
    assert_eq!(text.split("\n\n").count(), 4);
    let (_fixed, _, fixed_agent) = upstreams(&["--agent-mode", "fixed", "--agent-text", "Olá!"]);
    assert_eq!(run(&fixed_agent).1["message"], "Olá!");
}

#[test]
fn load_counts_every_reply_against_the_real_server() {
    let (_up, evolution, agent) = upstreams(&[]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Running(
        Command::new(sibling("omnihub-server"))
            .current_dir(dir.path())
            .env("OMNIHUB_HOST", "127.0.0.1")
            .env("OMNIHUB_PORT", port.to_string())
            .env("OMNIHUB_API_KEY", "sandbox-admin-key-0123")
            .env("OMNIHUB_DISPATCH_POLL_MS", "50")
            .env_remove("DATABASE_URL")
            .env_remove("OMNIHUB_DATABASE_URL")
            .env_remove("AGENT_API_URL")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let c = http();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !c
        .get(format!("{base}/ready"))
        .send()
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let instance = json!({"name": "sandbox", "whatsapp_instance": "sandbox", "agent_api_url": agent, "agent_api_key": "agent-key-01234",
        "default_agent": "bot", "evolution_url": evolution, "evolution_key": "evolution-key-01234"});
    assert!(c
        .post(format!("{base}/api/v1/instances"))
        .header("x-api-key", "sandbox-admin-key-0123")
        .json(&instance)
        .send()
        .unwrap()
        .status()
        .is_success());
    // 300 replies in under a minute: the load test measures the pipeline, not a number's
    // safe pace (60 a minute by default), so this one sends unpaced.
    assert!(c
        .put(format!("{base}/api/v1/instances/sandbox/rules"))
        .header("x-api-key", "sandbox-admin-key-0123")
        .json(&json!({"send_per_minute": 0}))
        .send()
        .unwrap()
        .status()
        .is_success());
    let output = Command::new(SANDBOX)
        .args([
            "load",
            "--target",
            &base,
            "--evolution",
            &evolution,
            "--messages",
            "300",
            "--duration",
            "60",
            "--concurrency",
            "8",
            "--chats",
            "40",
            "--duplicate-every",
            "7",
            "--media",
            "--wait",
            "60",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["accepted"], 300, "{report}");
    assert_eq!(report["delivered"], 300, "{report}");
    assert_eq!(report["lost"], 0);
    assert_eq!(report["duplicate_replies"], 0);
    assert_eq!(
        report["duplicates_acknowledged"], 43,
        "every 7th of 300 messages was delivered twice"
    );
    assert_eq!(report["errors"], json!({}));
    drop(server);
}

#[test]
fn the_demo_runs_by_itself_and_every_message_gets_its_reply() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(SANDBOX)
        .current_dir(dir.path())
        .args(["demo", "--exit", "--port", &free_port().to_string()])
        .env_remove("AGENT_API_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.matches("webhook answered \"accepted\"").count(),
        8,
        "{stdout}"
    );
    assert_eq!(stdout.matches("← [shop]").count(), 5, "{stdout}");
    // Maria answered Ana through omnihub while the chat was taken over.
    assert!(
        stdout.contains("← [shop] to +5511911110001 (from Maria): We have it in blue and in red, Ana."),
        "{stdout}"
    );
    // A person took Ana's chat over from the phone; the keyword gave it back.
    assert!(
        stdout.contains("chat paused: typed on the instance's phone")
            && stdout.contains("not answered: paused")
            && stdout.contains("paused chat of shop: 5511911110001@s.whatsapp.net (by human")
            && stdout.contains("chat resumed: the resume keyword"),
        "{stdout}"
    );
    // The shop's number was connected: the QR drawn, the fake's phone scanned it.
    assert!(
        stdout.contains("Scan with WhatsApp on the phone") && stdout.contains("████ ▄▄▄▄▄ █"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Connected: shop is open as 5511900000000."),
        "{stdout}"
    );
    assert_eq!(stdout.matches("← [clinic]").count(), 8, "{stdout}");
    // The OpenAI-compatible instance's history is kept by omnihub: two turns.
    assert!(
        stdout.contains("omnihub keeps the history of helpdesk's chat helpdesk_5511944440004: 4 messages"),
        "{stdout}"
    );
    assert!(
        stdout.contains("The message log:") && stdout.matches(" done ").count() >= 7,
        "{stdout}"
    );
}
