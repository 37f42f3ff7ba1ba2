//! Trying an instance's agent before going live: one call with a throwaway conversation,
//! nothing stored, the reply shown as the parts it would be sent in.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use omnihub_domain::hygiene::unreadable_reply;
use omnihub_domain::{AgentTurn, Answer, InboundMessage, InstanceConfig, MessageContent, MessageKind};

use crate::split::{cap_reply, split_reply, MAX_PART_CHARS};
use crate::AgentApi;

/// The chat a trial message claims to come from (no real person).
pub const TRIAL_CHAT: &str = "0@s.whatsapp.net";

/// How a trial ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrialOutcome {
    /// The agent answered: the WhatsApp messages it would send.
    Replied(Vec<String>),
    /// The agent chose not to answer, for this reason.
    NoReply(String),
    /// The call failed; `transient` says whether the pipeline would retry it.
    Failed {
        /// The classified error (names the backend; never sent to anyone).
        error: String,
        /// Whether the pipeline would retry it.
        transient: bool,
    },
}

/// A trial's outcome and how long the agent took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// What happened.
    pub outcome: TrialOutcome,
    /// The call's duration.
    pub latency: Duration,
}

/// Sends `text` to `instance`'s agent once, as a new conversation of its own (session
/// `{instance}_trial-<time>`), and stores nothing; the reply is cut and split with the
/// pipeline's limits (`reply_limits`: most characters, most parts).
pub async fn try_agent<A: AgentApi>(
    agent: &A,
    instance: &InstanceConfig,
    text: &str,
    now: DateTime<Utc>,
    reply_limits: (usize, usize),
) -> Trial {
    let stamp = now.timestamp_nanos_opt().unwrap_or_default();
    let message = InboundMessage {
        message_id: format!("TRIAL{stamp}"),
        chat_id: TRIAL_CHAT.into(),
        author: None,
        sender_name: Some("omnihub test".into()),
        phone: None,
        timestamp: Some(now.timestamp()),
        content: MessageContent {
            kind: MessageKind::Text,
            text: text.into(),
            quoted: None,
            media: None,
            more_media: Vec::new(),
            quoted_id: None,
        },
    };
    let session = format!("{}_trial-{stamp}", instance.name);
    let turn = AgentTurn {
        instance: instance.name.as_str(),
        session: &session,
        message: &message,
        state: None,
        now,
    };
    let started = Instant::now();
    let result = agent.run(instance, &turn).await;
    let latency = started.elapsed();
    let outcome = match result {
        Err(err) => TrialOutcome::Failed {
            transient: err.is_transient(),
            error: err.to_string(),
        },
        Ok(reply) => match reply.answer {
            Answer::NoReply(reason) => TrialOutcome::NoReply(reason),
            Answer::Text(text) => match unreadable_reply(&text) {
                Some(reason) => TrialOutcome::Failed {
                    error: format!("the agent's answer is not a readable reply: {reason}"),
                    transient: false,
                },
                None if text.trim().is_empty() => {
                    TrialOutcome::NoReply("the agent answered an empty reply".into())
                }
                None => {
                    let (max_chars, max_parts) = reply_limits;
                    let capped = cap_reply(&text, max_chars, max_parts);
                    TrialOutcome::Replied(split_reply(&capped.text, MAX_PART_CHARS))
                }
            },
        },
    };
    Trial { outcome, latency }
}
