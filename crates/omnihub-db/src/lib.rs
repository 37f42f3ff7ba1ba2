//! Persistence for omnihub on SQLite or PostgreSQL through one Diesel code path.
//!
//! The engine is chosen from the URL scheme ([`DatabaseUrl`]); migrations for both engines
//! are embedded and applied by [`Database::migrate`]; [`InstanceStore`] reads and writes
//! instances as domain types, each operation in one transaction (`BEGIN IMMEDIATE` on
//! SQLite). Everything is synchronous: async callers use a blocking thread pool.
//!
//! ```
//! use omnihub_db::{Database, DatabaseUrl};
//! use omnihub_domain::{InstanceName, NewInstanceInput};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let url = DatabaseUrl::parse(dir.path().join("omnihub.db").to_str().unwrap()).unwrap();
//! let db = Database::connect(&url).unwrap();
//! db.migrate().unwrap();
//!
//! let new = NewInstanceInput {
//!     name: "support".into(),
//!     whatsapp_instance: "support".into(),
//!     agent_api_url: "http://localhost:8001".into(),
//!     agent_api_key: "agent-key-0123456789".into(),
//!     default_agent: "helper".into(),
//!     ..Default::default()
//! }
//! .validate()
//! .unwrap();
//! let created = db.instances().create(&new).unwrap();
//! assert!(created.is_default, "the first instance becomes the default");
//! assert_eq!(created.agent_api_key.map(|k| k.to_string()).as_deref(), Some("****6789"));
//!
//! let name = InstanceName::parse("support").unwrap();
//! assert_eq!(db.instances().get(&name).unwrap().agent_timeout.secs(), 60);
//! ```

mod arrivals;
mod backlog;
mod bootstrap;
mod changes;
mod chat_keys;
mod chat_rows;
mod chats;
mod conn;
mod connections;
mod console_sessions;
mod conversations;
mod database;
mod debounce;
mod dialect;
mod error;
mod instances;
mod message_lease;
mod message_rows;
mod messages;
mod migrations;
mod outbox;
mod queues;
mod readiness;
mod rows;
mod schema;
mod transfer;
mod url;

pub use arrivals::{Arrived, Arriving, RulesInForce};
pub use backlog::{Activity, Backlog};
pub use bootstrap::{bootstrap, BootstrapOutcome};
pub use changes::{Change, Changed};
pub use chats::ChatStore;
pub use connections::{ConnectionStore, Reported};
pub use console_sessions::{ConsoleSession, ConsoleSessionStore};
pub use conversations::{Conversation, ConversationStore, StateUpdate};
pub use database::{embedded_migration_versions, Database, PoolOptions, PoolState};
pub use error::DbError;
pub use instances::{DeleteOutcome, InstanceStore};
pub use messages::{ClaimRequest, InsertOutcome, MessageFilter, MessageStore};
pub use outbox::Sent;
pub use transfer::{copy_database, CopyReport};
pub use url::{DatabaseUrl, Engine, DEFAULT_SQLITE_PATH};
