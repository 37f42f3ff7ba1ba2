//! The protocol-neutral agent port's vocabulary: which protocol an instance's backend speaks
//! ([`AgentKind`]), what the pipeline asks it ([`AgentTurn`]) and what it answers
//! ([`AgentReply`]). Every protocol client translates from and to these.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{DomainError, InboundMessage};

/// The protocol an instance's agent backend speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Automagik agents: `POST {url}/api/v1/agent/{agent}/run` with `x-api-key`.
    #[default]
    Automagik,
    /// OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, LiteLLM, OpenRouter); omnihub
    /// keeps the history.
    Openai,
    /// A Dify app (chat, agent or workflow); Dify keeps the conversation, omnihub its id.
    Dify,
    /// An n8n workflow behind a Webhook node (Evolution's n8n body).
    N8n,
    /// A Flowise chatflow (`/api/v1/prediction/{id}`).
    Flowise,
    /// A published Typebot (`startChat` / `continueChat`); omnihub keeps the session id.
    Typebot,
    /// Any HTTP endpoint speaking Evolution Bot's generic webhook contract.
    Webhook,
}

impl AgentKind {
    /// Every kind omnihub speaks.
    pub const ALL: [Self; 7] = [
        Self::Automagik,
        Self::Openai,
        Self::Dify,
        Self::N8n,
        Self::Flowise,
        Self::Typebot,
        Self::Webhook,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automagik => "automagik",
            Self::Openai => "openai",
            Self::Dify => "dify",
            Self::N8n => "n8n",
            Self::Flowise => "flowise",
            Self::Typebot => "typebot",
            Self::Webhook => "webhook",
        }
    }

    /// Whether the backend cannot be called without `agent_api_key` (the others send it
    /// only when it is set).
    pub fn needs_key(self) -> bool {
        matches!(self, Self::Automagik | Self::Dify)
    }

    /// Whether the protocol keeps its conversation memory in omnihub (the pipeline then
    /// loads the stored state before each turn) rather than in the backend.
    pub fn keeps_state(self) -> bool {
        matches!(self, Self::Openai | Self::Dify | Self::Typebot)
    }
}

impl FromStr for AgentKind {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| {
            DomainError::invalid(
                "agent_kind",
                "must be one of automagik, openai, dify, n8n, flowise, typebot, webhook",
            )
        })
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One question to an agent: the message, the conversation it belongs to and what the
/// pipeline stored for that conversation after the previous turn.
///
/// The message carries everything a protocol may need: the chat, the sender's name and
/// phone (when known), the group author, the text, the media and the quoted text.
#[derive(Debug, Clone, Copy)]
pub struct AgentTurn<'a> {
    /// The omnihub instance the message reached.
    pub instance: &'a str,
    /// The conversation key: stable per person (or per group) and instance.
    pub session: &'a str,
    /// The message to answer.
    pub message: &'a InboundMessage,
    /// The conversation's stored state (memory, a backend's session id…), as the backend
    /// returned it in [`AgentReply::state`] last time; `None` for a new conversation.
    pub state: Option<&'a Value>,
    /// The time of the call, from the pipeline's clock: protocols whose sessions expire
    /// (Typebot) compare it with the state's last use.
    pub now: DateTime<Utc>,
}

/// What the agent wants sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Send this text (the pipeline splits it into WhatsApp-sized parts, one per paragraph).
    Text(String),
    /// Send nothing; the reason is recorded on the message.
    NoReply(String),
}

/// An agent's reply: the answer, and the conversation state to store for the next turn.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentReply {
    /// What to send.
    pub answer: Answer,
    /// The conversation's new state; `None` keeps what is stored.
    pub state: Option<Value>,
}

impl AgentReply {
    /// A text answer that leaves the conversation state as it is.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            answer: Answer::Text(text.into()),
            state: None,
        }
    }

    /// A deliberate silence, with the reason recorded on the message.
    pub fn no_reply(reason: impl Into<String>) -> Self {
        Self {
            answer: Answer::NoReply(reason.into()),
            state: None,
        }
    }

    /// The same reply, storing `state` for the conversation's next turn.
    pub fn with_state(mut self, state: Value) -> Self {
        self.state = Some(state);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_kinds_name_the_field() {
        for kind in AgentKind::ALL {
            assert_eq!(kind.as_str().parse::<AgentKind>().ok(), Some(kind));
        }
        assert!(AgentKind::Openai.keeps_state() && !AgentKind::N8n.keeps_state());
        assert_eq!(AgentKind::default().to_string(), "automagik");
        assert_eq!("dify-ish".parse::<AgentKind>().unwrap_err().field(), "agent_kind");
    }

    #[test]
    fn replies_carry_state_only_when_given() {
        let reply = AgentReply::text("hi");
        assert_eq!((reply.answer, reply.state), (Answer::Text("hi".into()), None));
        let silent = AgentReply::no_reply("busy").with_state(serde_json::json!({"turns": 1}));
        assert_eq!(silent.state, Some(serde_json::json!({"turns": 1})));
    }
}
