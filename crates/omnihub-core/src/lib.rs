//! The omnihub routing core: classify an inbound upsert, keep instances in memory, and
//! dispatch logged messages to the agent and back to WhatsApp — per chat in order, across
//! chats and instances in parallel, with retries, leases and an apology when all fails.
//!
//! The upstreams are reached through [`AgentApi`] and [`MessengerApi`], implemented by the
//! real clients and by test fakes.
//!
//! ```
//! use omnihub_core::{split_reply, RetryPolicy};
//!
//! assert_eq!(split_reply("Hello!\n\nHow can I help?", 4096), ["Hello!", "How can I help?"]);
//! let policy = RetryPolicy::default();
//! assert!(policy.allows_another(1));
//! ```

mod cache;
mod classify;
mod dispatcher;
mod error;
mod events;
mod log_writer;
mod ports;
mod process;
mod retention;
mod retry;
mod split;

pub use cache::InstanceCache;
pub use classify::{classify, Decision};
pub use dispatcher::{Dispatcher, DispatcherConfig, DEFAULT_APOLOGY};
pub use error::CoreError;
pub use events::{NoEvents, PipelineEvents};
pub use log_writer::LogWriter;
pub use ports::{AgentApi, MessengerApi};
pub use retention::purge_every_hour;
pub use retry::RetryPolicy;
pub use split::{skip_reason, split_reply, MAX_PART_CHARS};
