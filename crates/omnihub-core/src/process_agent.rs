//! The agent stage of a claimed message: load the conversation's state when the backend keeps
//! it here, call the agent once, and store its answer (with the new state) before anything is
//! sent, so a retry resumes from the stored answer.

use std::sync::Arc;
use std::time::Instant;

use omnihub_db::{Change, StateUpdate};
use omnihub_domain::hygiene::unreadable_reply;
use omnihub_domain::{AgentTurn, Answer, InstanceConfig, MessageRecord, Stage};

use crate::ports::{AgentApi, MessengerApi};
use crate::process::{Processor, Stop, EMPTY_REPLY};
use crate::split::cap_reply;

/// A conversation's state read with the claimed batch it belongs to, so the agent stage need
/// not read it alone. Used only when the message's session is still `session`.
#[derive(Debug, Clone)]
pub(crate) struct Preloaded {
    /// The session the state was read for.
    pub session: String,
    /// The stored state; `None` when the conversation has none yet.
    pub state: Option<serde_json::Value>,
}

impl<A: AgentApi, M: MessengerApi> Processor<A, M> {
    /// Calls the agent once and stores its answer (with the conversation's new state) before
    /// anything is sent, so a retry resumes from the stored answer.
    pub(crate) async fn ask_agent(
        &self,
        instance: &Arc<InstanceConfig>,
        record: &MessageRecord,
        preloaded: Option<Preloaded>,
    ) -> Result<Answer, Stop> {
        // The claim recorded the call's start and leased the message for the agent timeout
        // plus the usual lease, so the call needs no write of its own.
        let id = record.id;
        // Typing indicator alongside the agent call, never delaying the reply.
        let (messenger, typing_instance, chat) = (
            self.messenger.clone(),
            instance.clone(),
            record.inbound.chat_id.clone(),
        );
        tokio::spawn(async move {
            if let Err(err) = messenger.send_typing(&typing_instance, &chat).await {
                tracing::debug!(error = %err, "typing indicator not shown");
            }
        });
        let session = record.session_name(instance.session_id_prefix.as_deref());
        let state = match preloaded {
            _ if !self.agent.wants_state(instance) => None,
            // Read with the claimed batch: the chat's previous turn had committed its state
            // before this message could be claimed, so it is current.
            Some(preloaded) if preloaded.session == session => preloaded.state,
            _ => {
                let (name, key) = (instance.name.to_string(), session.clone());
                self.write(move |db| db.conversations().get(&name, &key)).await?
            }
        };
        let turn = AgentTurn {
            instance: instance.name.as_str(),
            session: &session,
            message: &record.inbound,
            state: state.as_ref(),
            now: self.db.now(),
        };
        let started = Instant::now();
        let answer = self.agent.run(instance, &turn).await;
        self.events
            .agent_call(started.elapsed().as_secs_f64(), answer.is_ok());
        let reply = match answer {
            Ok(reply) => reply,
            Err(e) => {
                return Err(match Stop::upstream(Stage::Agent, e.is_transient(), &e) {
                    Stop::Retry { stage, error, .. } => Stop::Retry {
                        stage,
                        error,
                        after: e.retry_after(),
                    },
                    other => other,
                })
            }
        };
        // Whatever the backend, a person never receives an error page or terminal codes.
        if let Answer::Text(text) = &reply.answer {
            if let Some(reason) = unreadable_reply(text) {
                return Err(Stop::Fail {
                    stage: Stage::Agent,
                    error: format!("the agent's answer is not a readable reply: {reason}"),
                });
            }
        }
        let update = reply.state.map(|state| StateUpdate {
            instance: instance.name.to_string(),
            session,
            state,
        });
        let (text, parts, note) = match reply.answer {
            Answer::Text(text) if text.trim().is_empty() => (String::new(), 0, None),
            Answer::Text(text) => {
                let (max_chars, max_parts) = self.reply_limits;
                let capped = cap_reply(&text, max_chars, max_parts);
                if let Some(cut) = &capped.cut {
                    tracing::warn!(cut = %cut, "the agent's reply exceeds the limits; sending the start");
                    self.events.reply_cut();
                }
                (
                    capped.text,
                    u32::try_from(capped.parts).unwrap_or(u32::MAX),
                    capped.cut,
                )
            }
            Answer::NoReply(reason) => {
                if let Some(update) = update {
                    self.write(move |db| db.conversations().put(&update)).await?;
                }
                return Ok(Answer::NoReply(reason));
            }
        };
        let change = Change::SaveReply {
            id,
            owner: self.owner.clone(),
            reply: text.clone(),
            parts_total: parts,
            lease: self.lease,
            state: update,
            note,
        };
        self.fenced(id, change).await?;
        Ok(match parts {
            0 => Answer::NoReply(EMPTY_REPLY.into()),
            _ => Answer::Text(text),
        })
    }
}
