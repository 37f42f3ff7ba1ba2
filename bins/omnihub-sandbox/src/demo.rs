//! `omnihub-sandbox demo`: the whole pipeline on one machine — server, fake upstreams, three
//! instances (two Automagik agents and an OpenAI-compatible one with memory), a short
//! conversation, the replies and the message log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::fakes::{AgentMode, Delivery};
use crate::procs::{sibling, wait_for, Background};
use crate::upstreams::AgentSpec;

const ADMIN_KEY: &str = "demo-admin-key-0123456789";
/// The token Evolution presents on the demo instances' webhooks.
const WEBHOOK_SECRET: &str = "demo-webhook-secret-0001";

/// (instance, Evolution instance, chat, sender, text)
const CONVERSATION: [(&str, &str, &str, &str, &str); 7] = [
    (
        "shop",
        "shop-wa",
        "5511911110001@s.whatsapp.net",
        "Ana",
        "Hi! Do you have these sneakers in size 42?",
    ),
    (
        "clinic",
        "clinic-wa",
        "5511933330003@s.whatsapp.net",
        "Carla",
        "I'd like to book a check-up next week.",
    ),
    (
        "shop",
        "shop-wa",
        "5511922220002@s.whatsapp.net",
        "Bruno",
        "What time do you open on Saturday?",
    ),
    (
        "shop",
        "shop-wa",
        "5511911110001@s.whatsapp.net",
        "Ana",
        "Great, I'll take them.",
    ),
    (
        "clinic",
        "clinic-wa",
        "5511933330003@s.whatsapp.net",
        "Carla",
        "Tuesday morning works for me.",
    ),
    (
        "helpdesk",
        "helpdesk-wa",
        "5511944440004@s.whatsapp.net",
        "Davi",
        "My router keeps restarting.",
    ),
    (
        "helpdesk",
        "helpdesk-wa",
        "5511944440004@s.whatsapp.net",
        "Davi",
        "It is the blue one from last year.",
    ),
];

fn start_server(port: u16, db: &Path, log: &Path) -> anyhow::Result<Child> {
    let log_file = std::fs::File::create(log)?;
    Command::new(sibling("omnihub-server")?)
        .env("OMNIHUB_DATABASE_URL", db)
        .env("OMNIHUB_HOST", "127.0.0.1")
        .env("OMNIHUB_PORT", port.to_string())
        .env("OMNIHUB_API_KEY", ADMIN_KEY)
        .env("OMNIHUB_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("OMNIHUB_DISPATCH_POLL_MS", "100")
        .env("OMNIHUB_INSTANCE_CACHE_TTL_MS", "500")
        .env_remove("AGENT_API_URL")
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file))
        .spawn()
        .context("cannot start omnihub-server")
}

fn webhook(evolution_instance: &str, id: &str, chat: &str, name: &str, text: &str) -> Value {
    json!({"event": "messages.upsert", "instance": evolution_instance,
           "data": {"key": {"remoteJid": chat, "fromMe": false, "id": id}, "pushName": name,
                    "message": {"conversation": text}, "messageType": "conversation"}})
}

fn clip(text: &str) -> String {
    let short: String = text.chars().take(110).collect();
    if text.chars().count() > 110 {
        format!("{short}…")
    } else {
        short
    }
}

/// Runs the demo.
pub fn run(port: u16, exit: bool) -> anyhow::Result<()> {
    let upstreams = crate::procs::Background::start(&[
        AgentSpec {
            port: 0,
            mode: AgentMode::Echo,
            delay: Duration::from_millis(300),
        },
        AgentSpec {
            port: 0,
            mode: AgentMode::Long,
            delay: Duration::from_millis(600),
        },
    ])?;
    let dir = PathBuf::from("target/demo");
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("omnihub-demo.db");
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut server = start_server(port, &db, &dir.join("server.log"))?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let result = play(&http, &base, &db, &upstreams, &mut server);
    let replies_ok = match &result {
        Ok(ok) => *ok,
        Err(err) => {
            eprintln!(
                "error: {err:#}\n(server log: {})",
                dir.join("server.log").display()
            );
            false
        }
    };
    if result.is_ok() && !exit {
        println!("\nThe server keeps running on {base} (admin key {ADMIN_KEY}). Try:");
        println!("  open {base}/admin in a browser and sign in with the admin key (the console)");
        println!("  curl -H 'x-api-key: {ADMIN_KEY}' {base}/api/v1/instances");
        println!("  curl -H 'x-api-key: {ADMIN_KEY}' {base}/api/v1/messages");
        println!(
            "  ./target/release/omnihub-instance --database-url {} list",
            db.display()
        );
        println!(
            "  fake Evolution received: {}/_sandbox/deliveries",
            upstreams.evolution
        );
        println!("Ctrl-C stops everything.");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(tokio::signal::ctrl_c())?;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    upstreams.stop();
    result?;
    if !replies_ok {
        bail!("some demo messages got no reply");
    }
    Ok(())
}

fn play(
    http: &reqwest::blocking::Client,
    base: &str,
    db: &Path,
    up: &Background,
    server: &mut Child,
) -> anyhow::Result<bool> {
    wait_for("the server to start", 30, || {
        if let Ok(Some(status)) = server.try_wait() {
            eprintln!("omnihub-server exited: {status}");
            return true;
        }
        http.get(format!("{base}/ready"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    })?;
    if server.try_wait()?.is_some() {
        bail!("omnihub-server could not start (is port {base} free?)");
    }
    println!(
        "omnihub-server is up on {base}; fake Evolution on {}; fake agents on {} and {}\n",
        up.evolution, up.agents[0], up.agents[1]
    );
    let openai_url = format!("{}/v1", up.agents[0]);
    for (name, wa, agent, kind, what) in [
        (
            "shop",
            "shop-wa",
            &up.agents[0],
            "automagik",
            "an echo agent (Automagik)",
        ),
        (
            "clinic",
            "clinic-wa",
            &up.agents[1],
            "automagik",
            "an agent with long answers (Automagik)",
        ),
        (
            "helpdesk",
            "helpdesk-wa",
            &openai_url,
            "openai",
            "an OpenAI-compatible model; omnihub keeps the chat's history",
        ),
    ] {
        let mut body = json!({"name": name, "whatsapp_instance": wa, "agent_api_url": agent, "agent_api_key": "demo-agent-key-0001",
            "default_agent": format!("{name}-assistant"), "evolution_url": up.evolution, "evolution_key": crate::fake_lifecycle::SANDBOX_EVOLUTION_KEY,
            "agent_kind": kind, "webhook_secret": WEBHOOK_SECRET});
        if kind == "openai" {
            body["agent_options"] =
                json!({"system_prompt": "You are the ACME help desk. Be brief.", "history_turns": 6});
        }
        let resp = http
            .post(format!("{base}/api/v1/instances"))
            .header("x-api-key", ADMIN_KEY)
            .json(&body)
            .send()?;
        if !resp.status().is_success() {
            bail!("cannot create instance {name}: {}", resp.text()?);
        }
        println!("created instance '{name}' (Evolution instance {wa}) bound to {what}");
    }
    println!();
    crate::demo_connect::connect_shop(http, base, db, up)?;
    println!();
    let mut all_answered = true;
    for (i, (instance, wa, chat, sender, text)) in CONVERSATION.iter().enumerate() {
        let number = chat.split('@').next().unwrap_or_default();
        println!("→ [{instance}] {sender} (+{number}): {text}");
        let resp = http
            .post(format!("{base}/webhook/evolution/{instance}"))
            .header("x-omnihub-token", WEBHOOK_SECRET)
            .json(&webhook(wa, &format!("DEMO{i}"), chat, sender, text))
            .send()?;
        let ack: Value = resp.json()?;
        println!("  webhook answered {}", ack["status"]);
        let mut replies: Vec<String> = Vec::new();
        let found = wait_for("the reply", 20, || {
            let Ok(resp) = http.get(format!("{}/_sandbox/deliveries", up.evolution)).send() else {
                return false;
            };
            let Ok(map) = resp.json::<HashMap<String, Delivery>>() else {
                return false;
            };
            let mut mine: Vec<(&String, &Delivery)> = map
                .iter()
                .filter(|(t, d)| d.number == *chat && t.contains(text))
                .collect();
            mine.sort_by_key(|(_, d)| d.first_at_us);
            replies = mine.into_iter().map(|(t, _)| t.clone()).collect();
            let expected = if *instance == "clinic" { 4 } else { 1 };
            replies.len() >= expected
        });
        for reply in &replies {
            println!("← [{instance}] to +{number}: {}", clip(reply));
        }
        if found.is_err() {
            println!("  (no reply within 20 s)");
            all_answered = false;
        }
        println!();
    }
    all_answered &= crate::demo_takeover::play(http, (base, ADMIN_KEY, WEBHOOK_SECRET), up)?;
    // The OpenAI-compatible instance's memory, as the admin API shows it.
    let memory: Value = http
        .get(format!("{base}/api/v1/instances/helpdesk/conversations"))
        .header("x-api-key", ADMIN_KEY)
        .send()?
        .json()?;
    for conversation in memory.as_array().into_iter().flatten() {
        let turns = conversation["state"]["turns"].as_array().map_or(0, Vec::len);
        println!(
            "omnihub keeps the history of helpdesk's chat {}: {turns} messages, resent with the next one",
            conversation["session"].as_str().unwrap_or_default()
        );
    }
    println!();
    println!("The message log:");
    let table = Command::new(sibling("omnihub-instance")?)
        .arg("--database-url")
        .arg(db)
        .args(["messages", "--limit", "20"])
        .output()?;
    print!("{}", String::from_utf8_lossy(&table.stdout));
    Ok(all_answered)
}
