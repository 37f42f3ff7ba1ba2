//! HTTP handlers, one module per resource.

pub mod agents;
pub mod chats;
pub mod instances;
pub mod lifecycle;
pub mod messages;
pub mod ops;
pub mod outbound;
pub mod webhooks;
