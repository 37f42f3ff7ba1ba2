//! Connecting numbers through the API of the real binary, against the fake Evolution server
//! (which delivers its lifecycle webhooks to the server): connect, scan, status, metrics,
//! held replies resuming after a reconnect, webhook sync, restart, logout, delete.

use omnihub_test_support::{echo_agent, evolution_key, text_webhook, wait_until, FakeEvolution, TestDb};
use serde_json::{json, Value};

use crate::flow::{fast_env, log};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

on_both_engines!(
    a_number_is_connected_watched_and_its_held_replies_resume,
    evolution_errors_and_bad_input_get_clear_answers,
);

/// The server on a port known in advance, so `OMNIHUB_PUBLIC_URL` can name it.
pub fn start_public(db: &TestDb, extra: &[(&str, &str)]) -> ServerProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let public = format!("http://127.0.0.1:{port}");
    let mut env = fast_env();
    env.push(("OMNIHUB_PORT", &port));
    env.push(("OMNIHUB_PUBLIC_URL", &public));
    env.extend(extra.iter().copied());
    ServerProcess::start(db.url(), Some(ADMIN_KEY), &env)
}

fn create(server: &ServerProcess, name: &str, evolution_url: &str, agent_url: &str) {
    let body = json!({"name": name, "whatsapp_instance": format!("wa_{name}"), "evolution_url": evolution_url,
                      "evolution_key": evolution_key(name), "agent_api_url": agent_url,
                      "agent_api_key": "agent-key-0123456789", "default_agent": "bot"});
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&body))
        .expect(201, None);
}

fn metric(server: &ServerProcess, line_start: &str) -> Option<String> {
    let text = server.send(Req::new("GET", "/metrics")).text();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .map(str::to_owned)
}

fn a_number_is_connected_watched_and_its_held_replies_resume(db: &TestDb) {
    let server = start_public(db, &[]);
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    let agent = echo_agent();
    create(&server, "shop", evolution.url(), &agent.url);
    let connect = server
        .send(Req::admin("POST", "/api/v1/instances/shop/connect").json(&json!({})))
        .expect(200, None);
    assert_eq!(
        (connect["state"].clone(), connect["created"].clone()),
        (json!("connecting"), json!(true))
    );
    assert!(connect["qr"]["code"]
        .as_str()
        .unwrap()
        .starts_with("2@fake-wa_shop-1,"));
    assert!(connect["qr"]["png_base64"].as_str().unwrap().starts_with("iVBOR"));
    assert_eq!(connect["pairing_code"], Value::Null);
    let hook = evolution.world.webhook("wa_shop").unwrap();
    assert_eq!(hook["url"], format!("{}/webhook/evolution/shop", server.base));
    let token = hook["headers"]["x-omnihub-token"].as_str().unwrap().to_owned();
    let shown = server
        .send(Req::admin("GET", "/api/v1/instances/shop"))
        .expect(200, None);
    assert_eq!(
        shown["webhook_secret"],
        format!("****{}", &token[token.len() - 4..]),
        "masked"
    );
    assert_eq!(shown["connection"]["state"], "connecting");
    assert!(
        shown["connection"]["last_qr_at"].is_string(),
        "the qrcode.updated webhook was stored"
    );
    // The phone scans; Evolution's connection.update reaches the server with the token.
    evolution.scan("wa_shop", "5511988887777");
    let status = server
        .send(Req::admin("GET", "/api/v1/instances/shop/status"))
        .expect(200, None);
    assert_eq!(status["state"], "open");
    assert_eq!(status["number"], "5511988887777");
    assert_eq!(status["webhook"], "ok");
    assert!(status["checked_at"].is_string());
    assert_eq!(
        metric(&server, "omnihub_instance_connected{").as_deref(),
        Some("omnihub_instance_connected{instance=\"shop\"} 1")
    );
    let listed = server
        .send(Req::admin("GET", "/api/v1/instances"))
        .expect(200, None);
    assert_eq!(listed[0]["connection"]["number"], "5511988887777");
    let text = |id: &str| {
        let body = text_webhook("wa_shop", id, "5511900000001@s.whatsapp.net", "hi");
        server
            .send(
                Req::new("POST", "/webhook/evolution/shop")
                    .header("x-omnihub-token", &token)
                    .json(&body),
            )
            .expect(200, None);
    };
    text("N1");
    wait_until(10, "the first reply", || {
        evolution.http.requests_to("/message/sendText").len() == 1
    });
    // Logged out on the phone: replies wait.
    evolution.drop_connection("wa_shop", 401);
    assert_eq!(
        metric(&server, "omnihub_instance_connected{").as_deref(),
        Some("omnihub_instance_connected{instance=\"shop\"} 0")
    );
    assert!(
        server.log_text().contains("logged out from the phone"),
        "a warning names the reason"
    );
    text("N2");
    wait_until(10, "the reply to be held", || {
        log(&server).iter().any(|m| {
            m["message_id"] == "N2"
                && m["status"] == "queued"
                && m["error"].as_str().is_some_and(|e| e.contains("not connected"))
        })
    });
    assert_eq!(
        evolution.http.requests_to("/message/sendText").len(),
        1,
        "nothing sent while closed"
    );
    // Reconnect: a new QR, a scan, and the held reply goes out.
    let again = server
        .send(Req::admin("POST", "/api/v1/instances/shop/connect").json(&json!({"number": "+5511988887777"})))
        .expect(200, None);
    assert_eq!(again["created"], false);
    assert!(again["pairing_code"].as_str().unwrap().contains('-'));
    evolution.scan("wa_shop", "5511988887777");
    wait_until(10, "the held reply", || {
        evolution.http.requests_to("/message/sendText").len() == 2
    });
    // Webhook sync is idempotent; restart, logout, delete on Evolution.
    for _ in 0..2 {
        let synced = server
            .send(Req::admin("POST", "/api/v1/instances/shop/webhook/sync"))
            .expect(200, None);
        assert_eq!(
            synced,
            json!({"webhook": "ok", "url": format!("{}/webhook/evolution/shop", server.base)})
        );
    }
    let restarted = server
        .send(Req::admin("POST", "/api/v1/instances/shop/restart"))
        .expect(200, None);
    assert_eq!(restarted["state"], "connecting");
    server
        .send(Req::admin("POST", "/api/v1/instances/shop/logout"))
        .expect(204, None);
    assert_eq!(evolution.world.state("wa_shop"), Some("close"));
    server
        .send(Req::admin("DELETE", "/api/v1/instances/shop/whatsapp"))
        .expect(204, None);
    assert_eq!(evolution.world.state("wa_shop"), None);
    let kept = server
        .send(Req::admin("GET", "/api/v1/instances/shop"))
        .expect(200, None);
    assert_eq!(kept["connection"]["state"], "close");
    assert!(
        !server.log_text().contains(&evolution_key("shop")),
        "the Evolution key is never logged"
    );
}

fn evolution_errors_and_bad_input_get_clear_answers(db: &TestDb) {
    let server = start_public(db, &[]);
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    let agent = echo_agent();
    create(&server, "shop", evolution.url(), &agent.url);
    create(&server, "gone", "http://127.0.0.1:9", &agent.url);
    let bare = json!({"name": "bare", "whatsapp_instance": "bare", "agent_api_url": agent.url,
                      "agent_api_key": "agent-key-0123456789", "default_agent": "bot"});
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&bare))
        .expect(201, None);
    let post = |path: &str, body: &Value| server.send(Req::admin("POST", path).json(body));
    post("/api/v1/instances/gone/connect", &json!({})).expect(502, Some("evolution_unreachable"));
    let status = server
        .send(Req::admin("GET", "/api/v1/instances/gone/status"))
        .expect(200, None);
    assert_eq!(status["state"], "unreachable");
    assert!(status["detail"].as_str().unwrap().contains("evolution_url"));
    post("/api/v1/instances/bare/connect", &json!({})).expect(409, Some("not_configured"));
    post("/api/v1/instances/ghost/connect", &json!({})).expect(404, Some("not_found"));
    post("/api/v1/instances/shop/connect", &json!({"number": "call me"}))
        .expect(422, Some("validation_failed"));
    post("/api/v1/instances/shop/connect", &json!({"number": 5511})).expect(422, Some("validation_failed"));
    post("/api/v1/instances/shop/connect", &json!({"nmber": "5511"})).expect(422, Some("validation_failed"));
    server
        .send(
            Req::admin("POST", "/api/v1/instances/shop/connect")
                .raw("application/json", b"{\"number\":".to_vec()),
        )
        .expect(400, None);
    server
        .send(Req::new("POST", "/api/v1/instances/shop/connect").json(&json!({})))
        .expect(401, None);
    server
        .send(Req::admin("POST", "/api/v1/instances/shop/logout"))
        .expect(404, Some("evolution_instance_not_found"));
    evolution.world.add_instance("wa_shop", None);
    evolution.world.set_unloaded("wa_shop");
    let hidden = post("/api/v1/instances/shop/connect", &json!({})).expect(502, Some("evolution_error"));
    assert!(hidden["message"].as_str().unwrap().contains("[object Object]"));
    evolution.world.set_activated(false);
    let license =
        post("/api/v1/instances/shop/connect", &json!({})).expect(503, Some("evolution_not_activated"));
    assert!(license["message"].as_str().unwrap().contains("manager/login"));
    evolution.world.set_activated(true);
    // Discovery: the key in a header, checked.
    let discover = |key: Option<&str>, url: &str| {
        let mut req = Req::admin("GET", format!("/api/v1/evolution/instances?evolution_url={url}"));
        if let Some(key) = key {
            req = req.header("x-evolution-key", key);
        }
        server.send(req)
    };
    discover(None, evolution.url()).expect(422, Some("validation_failed"));
    discover(Some("wrong-key-0123456789"), evolution.url()).expect(502, Some("evolution_unauthorized"));
    discover(Some(&evolution_key("shop")), "ftp://x").expect(422, Some("validation_failed"));
    let found = discover(Some(&evolution_key("shop")), evolution.url()).expect(200, None);
    assert_eq!(found[0]["name"], "wa_shop");
    assert_eq!(found[0]["used_by"], "shop");
    server
        .send(Req::admin("GET", "/api/v1/evolution/instances"))
        .expect(400, Some("invalid_query"));
    let mut seen = server.seen();
    // Without OMNIHUB_PUBLIC_URL, nothing that sets a webhook can work, and it says why.
    let mut server = server;
    server.kill_hard();
    let no_public = ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env());
    let answer = no_public
        .send(Req::admin("POST", "/api/v1/instances/shop/webhook/sync"))
        .expect(409, Some("not_configured"));
    assert!(answer["message"].as_str().unwrap().contains("OMNIHUB_PUBLIC_URL"));
    seen.extend(no_public.seen());
    for text in &seen {
        assert!(!text.contains(&evolution_key("shop")), "a key leaked: {text}");
    }
}
