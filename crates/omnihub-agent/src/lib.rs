//! Agent API clients for omnihub. The first protocol is the Automagik agents contract:
//! `POST {agent_api_url}/api/v1/agent/{agent}/run` with `x-api-key`, answered with JSON
//! whose `message` is the reply.
//!
//! ```
//! use omnihub_agent::AgentRequest;
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
//! let request = AgentRequest::from_message(&message, "support_14155551234".into());
//! assert_eq!(request.message_content, "Hi");
//! assert_eq!(request.user.phone_number.as_deref(), Some("+14155551234"));
//! assert_eq!(request.message_type, "text");
//! ```

mod client;
mod error;
mod request;

pub use client::{reply_text, AgentClient, AgentTarget};
pub use error::AgentError;
pub use request::{AgentRequest, AgentUser, MediaContent, UserData};
