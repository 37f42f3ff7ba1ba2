//! JSON shapes of the conversation and test-agent routes.

use omnihub_core::{Trial, TrialOutcome};
use omnihub_db::Conversation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One conversation whose memory omnihub keeps.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationResponse {
    /// The session key (e.g. `support_5511999999999`).
    pub session: String,
    /// What the backend keeps between turns: `turns` (OpenAI history), `conversation_id`
    /// (Dify), `session_id` and `last_used` (Typebot).
    #[schema(value_type = Object)]
    pub state: serde_json::Value,
    /// Last change, ISO-8601 UTC.
    pub updated_at: String,
}

impl From<Conversation> for ConversationResponse {
    fn from(c: Conversation) -> Self {
        Self {
            session: c.session,
            state: c.state,
            updated_at: c.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        }
    }
}

/// Body of `POST /api/v1/instances/{name}/test-agent`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestAgentRequest {
    /// The message to send, 1-4096 characters.
    #[schema(example = "hi")]
    pub text: String,
}

impl TestAgentRequest {
    /// The longest test message.
    pub const MAX_CHARS: usize = 4096;
}

/// What a test call did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestAgentResponse {
    /// `replied`, `no_reply` or `failed`.
    #[schema(example = "replied")]
    pub outcome: &'static str,
    /// The WhatsApp messages the reply would be sent as (empty unless `replied`).
    pub parts: Vec<String>,
    /// Why nothing would be sent (`no_reply`), or the classified error (`failed`).
    pub detail: Option<String>,
    /// For `failed`: whether the pipeline would retry the error.
    pub transient: Option<bool>,
    /// How long the agent took, in milliseconds.
    pub latency_ms: u64,
}

impl From<Trial> for TestAgentResponse {
    fn from(trial: Trial) -> Self {
        let latency_ms = u64::try_from(trial.latency.as_millis()).unwrap_or(u64::MAX);
        let (outcome, parts, detail, transient) = match trial.outcome {
            TrialOutcome::Replied(parts) => ("replied", parts, None, None),
            TrialOutcome::NoReply(reason) => ("no_reply", Vec::new(), Some(reason), None),
            TrialOutcome::Failed { error, transient } => ("failed", Vec::new(), Some(error), Some(transient)),
        };
        Self {
            outcome,
            parts,
            detail,
            transient,
            latency_ms,
        }
    }
}
