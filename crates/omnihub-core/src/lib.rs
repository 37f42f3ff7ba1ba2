//! The omnihub message pipeline as a library: Evolution webhooks in, agent answers out.
//!
//! A [`Pipeline`] owns everything a message needs on its way: the instance cache, the
//! group-commit log writers, the dispatcher (per chat in order, across chats and instances in
//! parallel, under leases, with retries and an apology when all fails) and its upkeep. It
//! reaches the outside world only through two ports, [`AgentApi`] and [`MessengerApi`],
//! implemented by the real clients ([`omnihub_agent::AgentBackends`],
//! [`omnihub_evolution::EvolutionClient`]) or by your own.
//!
//! ```no_run
//! use omnihub_core::{IngestOutcome, Pipeline, PipelineConfig};
//! use omnihub_db::{Database, DatabaseUrl};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let db = Database::connect(&DatabaseUrl::parse("./data/omnihub.db")?)?;
//! db.migrate()?;
//! let pipeline = Pipeline::builder(
//!     db,
//!     PipelineConfig::default(),
//!     omnihub_agent::AgentBackends::new()?,
//!     omnihub_evolution::EvolutionClient::new(std::time::Duration::from_secs(15))?,
//! )
//! .start()?;
//! let body = br#"{"event":"messages.upsert","instance":"support","data":{}}"#;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let outcome = runtime.block_on(pipeline.ingest(Some("support"), None, body));
//! assert!(!matches!(outcome, IngestOutcome::Unavailable(_)));
//! pipeline.shutdown(std::time::Duration::from_secs(5));
//! # Ok(())
//! # }
//! ```
//!
//! The pure pieces are usable alone:
//!
//! ```
//! use omnihub_core::{split_reply, RetryPolicy};
//!
//! assert_eq!(split_reply("Hello!\n\nHow can I help?", 4096), ["Hello!", "How can I help?"]);
//! assert!(RetryPolicy::default().allows_another(1));
//! ```
//!
//! `examples/embed.rs` runs the whole pipeline on SQLite with an agent of its own.

mod cache;
mod classify;
mod config;
mod connection_events;
mod dispatcher;
mod error;
mod events;
mod hold;
mod ingest;
mod lifecycle;
mod lifecycle_check;
mod lifecycle_errors;
mod lifecycle_ops;
mod lifecycle_status;
mod log_writer;
mod pacing;
mod pipeline;
mod ports;
mod process;
mod process_agent;
mod process_send;
mod process_steps;
mod retry;
mod rules;
mod split;
mod trial;
mod upkeep;
pub mod write_health;

pub use cache::InstanceCache;
pub use classify::{classify, Decision};
pub use config::{PipelineConfig, DEFAULT_APOLOGY};
pub use dispatcher::{Dispatcher, DispatcherConfig};
pub use error::CoreError;
pub use events::{NoEvents, PipelineEvents};
pub use ingest::{IngestOutcome, RefusedMessage, Rejection};
pub use lifecycle::{Connected, Lifecycle, StatusReport};
pub use lifecycle_errors::LifecycleProblem;
pub use lifecycle_ops::Discovered;
pub use lifecycle_status::{NumberState, WebhookStatus};
pub use pacing::PaceState;
pub use pipeline::{Admission, Pipeline, PipelineBuilder};
pub use ports::{AgentApi, MessengerApi};
pub use retry::RetryPolicy;
pub use rules::decide;
pub use split::{cap_reply, split_reply, CappedReply, MAX_PART_CHARS};
pub use trial::{try_agent, Trial, TrialOutcome, TRIAL_CHAT};
