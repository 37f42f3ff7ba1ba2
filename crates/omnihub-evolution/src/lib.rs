//! Evolution API for omnihub: webhook envelopes and `messages.upsert` payloads parsed into
//! domain types, lifecycle webhooks (`connection.update`, `qrcode.updated`, …), and a REST
//! client for `sendText`, `sendPresence` and managing instances (create, connect, state,
//! webhook, restart, logout, delete).
//!
//! Nothing outbound ever uses `server_url` or `apikey` from a webhook body: the client takes
//! an [`EvolutionTarget`] built from the instance's stored configuration.
//!
//! ```
//! use omnihub_evolution::{parse_envelope, parse_upserts, Content};
//!
//! let body = br#"{"event":"messages.upsert","instance":"shop","data":{
//!     "key":{"remoteJid":"5511900001111@s.whatsapp.net","fromMe":false,"id":"ABC"},
//!     "pushName":"Ana","message":{"conversation":"Oi"}}}"#;
//! let envelope = parse_envelope(body).unwrap();
//! assert!(envelope.is_message_upsert());
//! let upsert = &parse_upserts(&envelope.data).unwrap()[0];
//! assert_eq!(upsert.phone.as_deref(), Some("5511900001111"));
//! assert!(matches!(&upsert.content, Content::Message(m) if m.text == "Oi"));
//! ```

mod answers;
mod client;
mod content;
mod error;
mod events;
mod lifecycle;
mod outbound;
mod webhook;

pub use answers::{ConnectAnswer, RemoteInstance, RemoteWebhook};
pub use client::{EvolutionClient, EvolutionTarget, Presence};
pub use content::{extract, Content, MAX_TEXT_CHARS};
pub use error::EvolutionError;
pub use events::{parse_lifecycle, LifecycleEvent};
pub use lifecycle::{EvolutionServer, WebhookSettings, WEBHOOK_EVENTS};
pub use outbound::content_request;
pub use webhook::{normalise_event, parse_envelope, parse_upserts, Envelope, Upsert};
