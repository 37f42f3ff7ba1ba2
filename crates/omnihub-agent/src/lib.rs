//! Agent backends for omnihub behind one protocol-neutral call: the pipeline hands
//! [`AgentBackends::run`] an instance and an [`AgentTurn`](omnihub_domain::AgentTurn) and
//! gets an [`AgentReply`](omnihub_domain::AgentReply) back, whatever the backend speaks.
//! The instance's [`AgentKind`](omnihub_domain::AgentKind) picks the protocol module.
//!
//! Protocols, one module each: [`automagik`], [`openai`] (Chat Completions, history kept by
//! omnihub), [`dify`] (chat, agent and workflow apps), [`n8n`], [`flowise`], [`typebot`] and
//! the generic [`webhook`] (Evolution Bot's contract). Adding one is a module here and a
//! variant of `AgentKind`; nothing in the pipeline changes. Errors say whether they are worth
//! retrying ([`AgentError::is_transient`]) and how long the backend asked to wait.
//!
//! ```
//! use omnihub_agent::automagik::AgentRequest;
//! use omnihub_domain::{InboundMessage, MessageContent, MessageKind};
//!
//! let message = InboundMessage {
//!     message_id: "ABC".into(),
//!     chat_id: "14155551234@s.whatsapp.net".into(),
//!     author: None,
//!     sender_name: Some("Ana".into()),
//!     phone: Some("14155551234".into()),
//!     timestamp: None,
//!     content: MessageContent { kind: MessageKind::Text, text: "Hi".into(), quoted: None, media: None, more_media: Vec::new(), quoted_id: None },
//! };
//! // What the Automagik module sends for this message.
//! let request = AgentRequest::from_message(&message, "support_14155551234".into());
//! assert_eq!(request.message_content, "Hi");
//! assert_eq!(request.user.phone_number.as_deref(), Some("+14155551234"));
//! assert_eq!(request.message_type, "text");
//! ```

pub mod automagik;
mod backends;
mod content;
pub mod dify;
mod error;
pub mod flowise;
mod http;
pub mod n8n;
pub mod openai;
pub mod typebot;
pub mod webhook;

pub use backends::AgentBackends;
pub use error::AgentError;
