//! Validated domain types of omnihub, the WhatsApp-to-agent gateway. No I/O.
//!
//! Everything an admin types goes through a `parse`/`validate` function here, and every
//! rejection names the field and the rule. Secrets never print: [`Secret`] shows a mask in
//! `Debug`, `Display` and `Serialize`.
//!
//! ```
//! use omnihub_domain::{InstanceName, NewInstanceInput, Secret};
//!
//! let name = InstanceName::parse("support-bot").unwrap();
//! assert_eq!(name.as_str(), "support-bot");
//! assert!(InstanceName::parse("_hidden").is_err());
//!
//! let key = Secret::parse("agent_api_key", "sk-0123456789abcd").unwrap();
//! assert_eq!(key.to_string(), "****abcd");
//!
//! let err = NewInstanceInput {
//!     name: "support-bot".into(),
//!     whatsapp_instance: "support".into(),
//!     agent_api_url: "ftp://agents".into(),
//!     agent_api_key: "sk-0123456789abcd".into(),
//!     default_agent: "helper".into(),
//!     ..Default::default()
//! }
//! .validate()
//! .unwrap_err();
//! assert_eq!(err.field(), "agent_api_url");
//! ```

mod agent;
mod agent_options;
mod chat;
mod chat_rules;
mod clock;
mod connection;
mod error;
pub mod hygiene;
mod instance;
mod message;
mod name;
mod outbound;
mod record;
pub mod rules;
mod secret;
mod seed;
mod values;

pub use agent::{AgentKind, AgentReply, AgentTurn, Answer};
pub use agent_options::{
    options_of, AgentOptions, DifyAppType, DEFAULT_HISTORY_TURNS, DEFAULT_TYPEBOT_EXPIRE_MINUTES,
    DEFAULT_WORKFLOW_OUTPUT, MAX_INPUTS,
};
pub use chat::{
    chat_address, conversation_of_key, first_chat_key, parse_chat, Arrival, Chat, ChatFacts, ChatState,
    Decide, PauseCause, SkipReason, Verdict,
};
pub use chat_rules::{
    entry_matches, ConversationRules, GroupPolicy, KeywordTrigger, Trigger, TriggerOperator,
    DEFAULT_SEND_PER_MINUTE, IGNORABLE_TYPES,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use connection::{disconnect_reason, Connection, ConnectionReport, ConnectionState};
pub use error::DomainError;
pub use instance::{
    webhook_secret, InstanceChanges, InstanceChangesInput, InstanceConfig, NewInstance, NewInstanceInput,
    WEBHOOK_SECRET_MIN_LEN,
};
pub use message::{
    phone_from_jid, session_name, sessions_for_chat, InboundMessage, Media, MessageContent, MessageKind,
};
pub use name::{parse_session_prefix, InstanceName, PathName, INSTANCE_NAME_MAX};
pub use outbound::{Direction, Outbound, MAX_BASE64_CHARS, MAX_TEXT_CHARS};
pub use record::{MessageRecord, MessageStatus, Stage};
pub use secret::Secret;
pub use seed::{seed_instance_from_env, SEED_INSTANCE_NAME, SEED_VARIABLES};
pub use values::{AgentTimeout, HttpUrl};
