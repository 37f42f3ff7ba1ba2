//! The Automagik agents protocol: `POST {agent_api_url}/api/v1/agent/{default_agent}/run`
//! with `x-api-key`, answered with JSON whose `message` is the reply. A reply starting with
//! `AUTOMAGIK:` is a signal to omnihub, never text for the user.

mod client;
mod request;

pub use client::{reply_text, run};
pub use request::{AgentRequest, AgentUser, MediaContent, UserData};
