//! The shared test kit: a valid-instance builder, the usual fake upstreams, Evolution
//! webhooks and a bounded wait for something that must happen.

use std::time::{Duration, Instant};

use omnihub_domain::NewInstanceInput;
use serde_json::{json, Value};

use crate::{FakeHttp, Recorded, Reply};

/// Agent key every test instance uses.
pub const AGENT_KEY: &str = "agent-key-for-tests-0123";

/// The Evolution key of the test instance `name`.
pub fn evolution_key(name: &str) -> String {
    format!("evolution-key-{name}-0123")
}

/// A valid instance to create, with every field a test usually leaves alone filled in:
/// bound to Evolution instance `wa_{name}`, agent `agent-{name}` at an unreachable URL, no
/// Evolution server until [`InstanceBuilder::evolution`].
#[derive(Debug, Clone)]
pub struct InstanceBuilder {
    input: NewInstanceInput,
}

impl InstanceBuilder {
    /// The instance `name`.
    pub fn new(name: &str) -> Self {
        Self {
            input: NewInstanceInput {
                name: name.into(),
                whatsapp_instance: format!("wa_{name}"),
                agent_api_url: "http://agent.invalid".into(),
                agent_api_key: AGENT_KEY.into(),
                default_agent: format!("agent-{name}"),
                ..Default::default()
            },
        }
    }

    /// A builder over `input` as it is (for fields the builder has no method for).
    pub fn from_input(input: NewInstanceInput) -> Self {
        Self { input }
    }

    /// Bound to this Evolution instance name.
    pub fn whatsapp_instance(mut self, name: &str) -> Self {
        self.input.whatsapp_instance = name.into();
        self
    }

    /// Its agent backend is at `url`.
    pub fn agent(mut self, url: &str) -> Self {
        self.input.agent_api_url = url.into();
        self
    }

    /// Its Evolution server is at `url` (with the key [`evolution_key`]).
    pub fn evolution(mut self, url: &str) -> Self {
        self.input.evolution_key = Some(evolution_key(&self.input.name));
        self.input.evolution_url = Some(url.into());
        self
    }

    /// Webhooks must carry `secret`.
    pub fn webhook_secret(mut self, secret: &str) -> Self {
        self.input.webhook_secret = Some(secret.into());
        self
    }

    /// Its agent speaks `kind` (`openai`, `dify`, …) with these `agent_options`.
    pub fn kind(mut self, kind: &str, options: Value) -> Self {
        self.input.agent_kind = Some(kind.into());
        self.input.agent_options = Some(options);
        self
    }

    /// Its agent takes no key.
    pub fn no_key(mut self) -> Self {
        self.input.agent_api_key = String::new();
        self
    }

    /// The instance as if stored (id 1, created now), for calling a backend directly.
    pub fn config(self) -> omnihub_domain::InstanceConfig {
        let new = self
            .input
            .validate()
            .unwrap_or_else(|e| panic!("the test instance is invalid: {e}"));
        let now = chrono::Utc::now();
        omnihub_domain::InstanceConfig {
            id: 1,
            name: new.name,
            evolution_url: new.evolution_url,
            evolution_key: new.evolution_key,
            whatsapp_instance: new.whatsapp_instance,
            session_id_prefix: new.session_id_prefix,
            agent_kind: new.agent_kind,
            agent_options: new.agent_options,
            agent_api_url: new.agent_api_url,
            agent_api_key: new.agent_api_key,
            default_agent: new.default_agent,
            agent_timeout: new.agent_timeout,
            is_default: new.is_default,
            webhook_secret: new.webhook_secret,
            created_at: now,
            updated_at: now,
            rules: Default::default(),
        }
    }

    /// The input, for the store or the domain's validation.
    pub fn input(self) -> NewInstanceInput {
        self.input
    }

    /// The same as a JSON body for `POST /api/v1/instances`.
    pub fn json(self) -> Value {
        let i = self.input;
        let mut body = json!({
            "name": i.name,
            "whatsapp_instance": i.whatsapp_instance,
            "agent_api_url": i.agent_api_url,
            "agent_api_key": i.agent_api_key,
            "default_agent": i.default_agent,
        });
        if let Some(kind) = i.agent_kind {
            body["agent_kind"] = json!(kind);
        }
        if let Some(options) = i.agent_options {
            body["agent_options"] = options;
        }
        if i.agent_api_key.is_empty() {
            body.as_object_mut().map(|b| b.remove("agent_api_key"));
        }
        for (key, value) in [
            ("evolution_url", i.evolution_url),
            ("evolution_key", i.evolution_key),
            ("webhook_secret", i.webhook_secret),
        ] {
            if let Some(value) = value {
                body[key] = json!(value);
            }
        }
        body
    }
}

/// An Automagik agent that answers `echo: <message_content>`.
pub fn echo_agent() -> FakeHttp {
    FakeHttp::start(|r, _| {
        Reply::json(
            200,
            json!({"message": format!("echo: {}", content(r)), "session_id": "s"}),
        )
    })
}

/// An Evolution server that accepts every call with Evolution's 201 shape.
pub fn ok_evolution() -> FakeHttp {
    FakeHttp::start(|_, _| {
        Reply::json(
            201,
            json!({"key": {"id": "OUT1", "fromMe": true}, "status": "PENDING"}),
        )
    })
}

/// `message_content` of an Automagik agent request.
pub fn content(r: &Recorded) -> String {
    r.json["message_content"].as_str().unwrap_or_default().to_owned()
}

/// The `sendText` calls an Evolution fake received.
pub fn texts(evolution: &FakeHttp) -> Vec<Recorded> {
    evolution.requests_to("/message/sendText/")
}

/// A v2 `messages.upsert` text webhook, carrying a `server_url` and `apikey` that must
/// never be used.
pub fn text_webhook(evolution_instance: &str, id: &str, chat: &str, text: &str) -> Value {
    json!({
        "event": "messages.upsert",
        "instance": evolution_instance,
        "data": {
            "key": {"remoteJid": chat, "fromMe": false, "id": id},
            "pushName": "Ana",
            "message": {"conversation": text},
            "messageType": "conversation",
            "messageTimestamp": 1_750_876_007,
        },
        "server_url": "http://evolution.example.com",
        "apikey": "body-apikey-never-used",
    })
}

/// Polls `done` every 20 ms until it holds; fails the test naming `what` after `secs`
/// seconds. For waiting on something that must happen, never to prove that something
/// does not.
pub fn wait_until(secs: u64, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A text message from `Ana` in `chat`, as the pipeline stores it (no phone stated: a LID
/// or group chat stays as it is).
pub fn text_message(id: &str, chat: &str, text: &str) -> omnihub_domain::InboundMessage {
    omnihub_domain::InboundMessage {
        message_id: id.into(),
        chat_id: chat.into(),
        author: None,
        sender_name: Some("Ana".into()),
        phone: None,
        timestamp: None,
        content: omnihub_domain::MessageContent {
            kind: omnihub_domain::MessageKind::Text,
            text: text.into(),
            quoted: None,
            media: None,
            more_media: Vec::new(),
            quoted_id: None,
        },
    }
}
