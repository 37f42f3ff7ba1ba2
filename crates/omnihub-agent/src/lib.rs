//! Agent backends for omnihub behind one protocol-neutral call: the pipeline hands
//! [`AgentBackends::run`] an instance and an [`AgentTurn`](omnihub_domain::AgentTurn) and
//! gets an [`AgentReply`](omnihub_domain::AgentReply) back, whatever the backend speaks.
//! The instance's [`AgentKind`](omnihub_domain::AgentKind) picks the protocol module.
//!
//! Protocols: [`automagik`] (`POST {agent_api_url}/api/v1/agent/{agent}/run`). Adding one is
//! a module here and a variant of `AgentKind`; nothing in the pipeline changes.
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
//!     content: MessageContent { kind: MessageKind::Text, text: "Hi".into(), quoted: None, media: None },
//! };
//! // What the Automagik module sends for this message.
//! let request = AgentRequest::from_message(&message, "support_14155551234".into());
//! assert_eq!(request.message_content, "Hi");
//! assert_eq!(request.user.phone_number.as_deref(), Some("+14155551234"));
//! assert_eq!(request.message_type, "text");
//! ```

pub mod automagik;
mod backends;
mod error;

pub use backends::AgentBackends;
pub use error::AgentError;
