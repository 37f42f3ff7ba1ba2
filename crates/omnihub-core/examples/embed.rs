//! Runs omnihub's pipeline inside another Rust program: SQLite in a temporary directory, an
//! agent of its own (it answers with the text reversed) and a messenger that prints instead
//! of calling Evolution. `cargo run -p omnihub-core --example embed`.

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnihub_agent::AgentError;
use omnihub_core::{AgentApi, IngestOutcome, MessengerApi, Pipeline, PipelineConfig};
use omnihub_db::{Database, DatabaseUrl};
use omnihub_domain::{AgentReply, AgentTurn, InstanceConfig, NewInstanceInput};
use omnihub_evolution::EvolutionError;

/// This program's own agent: no HTTP, just a function of the message.
struct ReversingAgent;

impl AgentApi for ReversingAgent {
    async fn run(&self, _instance: &InstanceConfig, turn: &AgentTurn<'_>) -> Result<AgentReply, AgentError> {
        let reversed: String = turn.message.content.text.chars().rev().collect();
        Ok(AgentReply::text(reversed))
    }
}

/// Prints what would go to WhatsApp, and remembers it.
#[derive(Clone, Default)]
struct PrintingMessenger {
    sent: Arc<Mutex<Vec<String>>>,
}

impl MessengerApi for PrintingMessenger {
    async fn send_text(
        &self,
        instance: &InstanceConfig,
        chat: &str,
        text: &str,
    ) -> Result<(), EvolutionError> {
        println!("[{}] to {chat}: {text}", instance.name);
        self.sent
            .lock()
            .map_err(|_| EvolutionError::Request("outbox poisoned".into()))?
            .push(text.to_owned());
        Ok(())
    }

    async fn send_typing(&self, _instance: &InstanceConfig, _chat: &str) -> Result<(), EvolutionError> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("omnihub.db");
    let db = Database::connect(&DatabaseUrl::parse(&path.to_string_lossy())?)?;
    db.migrate()?;
    let instance = NewInstanceInput {
        name: "demo".into(),
        whatsapp_instance: "demo-number".into(),
        agent_api_url: "http://unused.invalid".into(),
        agent_api_key: "not-used-by-this-agent".into(),
        default_agent: "reverser".into(),
        // The pipeline refuses to answer an instance without a way to send.
        evolution_url: Some("http://unused.invalid".into()),
        evolution_key: Some("not-used-by-this-messenger".into()),
        ..Default::default()
    };
    db.instances().create(&instance.validate()?)?;

    let messenger = PrintingMessenger::default();
    let pipeline =
        Pipeline::builder(db, PipelineConfig::default(), ReversingAgent, messenger.clone()).start()?;

    let webhook = serde_json::json!({
        "event": "messages.upsert",
        "instance": "demo-number",
        "data": {
            "key": {"remoteJid": "5511999990000@s.whatsapp.net", "fromMe": false, "id": "EMBED-1"},
            "pushName": "Ana",
            "message": {"conversation": "Hello, omnihub!"},
        },
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(pipeline.ingest(Some("demo"), None, webhook.to_string().as_bytes()));
    println!("ingest: {outcome:?}");
    if !matches!(outcome, IngestOutcome::Accepted { .. }) {
        return Err("the webhook was not accepted".into());
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    while messenger.sent.lock().map(|s| s.is_empty()).unwrap_or(true) {
        if Instant::now() > deadline {
            return Err("no reply within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pipeline.shutdown(Duration::from_secs(5));
    Ok(())
}
