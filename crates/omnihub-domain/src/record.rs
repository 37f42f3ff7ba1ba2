//! A message of the log as the pipeline sees it: where it is ([`MessageStatus`]), where it
//! last failed ([`Stage`]) and every timestamp of its life.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, InboundMessage};

/// Where a message is in its life: queued → processing → done | failed, or skipped by a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Accepted and waiting (first attempt or a retry after backoff).
    Queued,
    /// Claimed by a dispatcher under a lease.
    Processing,
    /// Answered (or deliberately not answered, e.g. the agent chose silence).
    Done,
    /// Given up; the error says at which stage and why.
    Failed,
    /// Stored but not answered because of a conversation rule (the reason is kept).
    Skipped,
}

impl MessageStatus {
    /// Every status, in life order.
    pub const ALL: [Self; 5] = [
        Self::Queued,
        Self::Processing,
        Self::Done,
        Self::Failed,
        Self::Skipped,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// True for `done`, `failed` and `skipped`: nothing more will happen unless an admin
    /// retries it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Skipped)
    }
}

impl FromStr for MessageStatus {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            DomainError::invalid(
                "status",
                "must be one of queued, processing, done, failed, skipped",
            )
        })
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step of the pipeline at which a message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The instance is missing or not configured well enough to answer.
    Config,
    /// Calling the instance's agent backend.
    Agent,
    /// Sending through the instance's Evolution API.
    Evolution,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Self; 3] = [Self::Config, Self::Agent, Self::Evolution];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Agent => "agent",
            Self::Evolution => "evolution",
        }
    }
}

impl FromStr for Stage {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| DomainError::invalid("error_stage", "must be one of config, agent, evolution"))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of the log, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Log id (also the arrival order).
    pub id: i64,
    /// The omnihub instance that received it.
    pub instance: String,
    /// The message itself, as it will be (or was) handed to the agent (`chat_id` is where the
    /// reply goes: the address the chat's latest message came from).
    pub inbound: InboundMessage,
    /// The chat it belongs to (see [`crate::Chat`]): per-chat order, rules and the agent
    /// session follow this key, whatever address the message came from.
    pub chat_key: String,
    /// Why a rule left it unanswered (status `skipped`).
    pub skip_reason: Option<crate::SkipReason>,
    /// Where it is.
    pub status: MessageStatus,
    /// How many times processing started.
    pub attempts: u32,
    /// When it may be tried (again).
    pub next_attempt_at: DateTime<Utc>,
    /// Which dispatcher holds it, while processing.
    pub lease_owner: Option<String>,
    /// Until when that dispatcher holds it.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The agent's answer, once there is one (kept so a retry never calls the agent twice).
    pub reply: Option<String>,
    /// How many parts the answer was split into.
    pub parts_total: u32,
    /// How many parts were sent; a retry resumes after them.
    pub parts_sent: u32,
    /// How it ended when it did not need an error (e.g. `not sent: empty reply`).
    pub outcome: Option<String>,
    /// At which stage it last failed.
    pub error_stage: Option<Stage>,
    /// The last error, one sentence.
    pub error: Option<String>,
    /// When the webhook was accepted.
    pub received_at: DateTime<Utc>,
    /// When the last attempt started (the claim; the agent is called at once unless its answer
    /// was already stored).
    pub agent_started_at: Option<DateTime<Utc>>,
    /// When the agent answered.
    pub agent_finished_at: Option<DateTime<Utc>>,
    /// When the last part was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it reached `done` or `failed`.
    pub finished_at: Option<DateTime<Utc>>,
    /// Since when its reply waits for the number to be connected again (see
    /// [`crate::ConnectionState::holds_replies`]); `None` when it is not held.
    pub held_since: Option<DateTime<Utc>>,
    /// Whether it was written to the number (answered by the agent) or sent from it by a
    /// person through omnihub (`inbound.content` is then what is sent, to `inbound.chat_id`).
    pub direction: crate::Direction,
}

impl MessageRecord {
    /// The agent session this message is answered in: `{session_id_prefix}{conversation}`
    /// when the instance has a prefix, else `{instance}_{conversation}`, the conversation
    /// being the chat key's ([`crate::conversation_of_key`]).
    pub fn session_name(&self, session_id_prefix: Option<&str>) -> String {
        let conversation = crate::conversation_of_key(&self.chat_key);
        match session_id_prefix {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}{conversation}"),
            _ => format!("{}_{conversation}", self.instance),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_spellings_round_trip_and_unknown_ones_are_refused() {
        for status in MessageStatus::ALL {
            assert_eq!(status.as_str().parse::<MessageStatus>().ok(), Some(status));
        }
        for stage in Stage::ALL {
            assert_eq!(stage.to_string().parse::<Stage>().ok(), Some(stage));
        }
        let err = "finished".parse::<MessageStatus>().unwrap_err();
        assert_eq!(err.field(), "status");
        assert!("Agent".parse::<Stage>().is_err(), "spellings are exact");
        assert!(MessageStatus::Failed.is_final() && !MessageStatus::Queued.is_final());
    }
}
