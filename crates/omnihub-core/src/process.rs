//! Processing one claimed message: agent call (once), split, send the parts not sent yet,
//! record every step; retry transient failures, fail permanent ones with an apology.

use std::sync::Arc;
use std::time::Duration;

use omnihub_db::{Change, Database};
use omnihub_domain::hygiene::redact;
use omnihub_domain::{Answer, Direction, MessageRecord, MessageStatus, Stage};
use tracing::Instrument;

use crate::error::CoreError;
use crate::events::PipelineEvents;
use crate::log_writer::Writes;
use crate::ports::{AgentApi, MessengerApi};
use crate::process_agent::Preloaded;
use crate::{InstanceCache, RetryPolicy};

/// Recorded when the agent answered with nothing to send.
pub(crate) const EMPTY_REPLY: &str = "not sent: the agent's reply is empty";

pub(crate) struct Processor<A, M> {
    pub db: Database,
    pub writes: Writes,
    pub cache: InstanceCache,
    pub agent: A,
    pub messenger: Arc<M>,
    pub events: Arc<dyn PipelineEvents>,
    pub owner: String,
    pub lease: Duration,
    pub retry: RetryPolicy,
    pub apology: Option<String>,
    /// Most characters and parts of one agent reply.
    pub reply_limits: (usize, usize),
    /// Longest a reply waits for its number to be connected.
    pub hold_max: Duration,
    /// Send slots per number (`send_per_minute`).
    pub pacer: crate::pacing::Pacer,
}

/// How a stage ended when it did not succeed.
pub(crate) enum Stop {
    /// A transient failure: try again later (or fail when attempts are used up), not before
    /// `after` when the upstream asked for a wait (`Retry-After`).
    Retry {
        stage: Stage,
        error: String,
        after: Option<Duration>,
    },
    /// A permanent failure.
    Fail { stage: Stage, error: String },
    /// The number is not connected: the reply waits (see [`crate::hold`]).
    Hold { reason: String },
    /// The number has no send slot for `after` (see [`crate::pacing`]): the message waits.
    Pace { after: Duration },
    /// The lease was lost or the database failed: another attempt will pick it up.
    Abandon(CoreError),
}

impl Stop {
    /// An upstream's failure at `stage`: retried when `transient`, else final.
    pub(crate) fn upstream(stage: Stage, transient: bool, error: &dyn std::fmt::Display) -> Self {
        let error = error.to_string();
        if transient {
            Self::Retry {
                stage,
                error,
                after: None,
            }
        } else {
            Self::Fail { stage, error }
        }
    }
}

impl From<CoreError> for Stop {
    fn from(e: CoreError) -> Self {
        Self::Abandon(e)
    }
}

impl<A: AgentApi, M: MessengerApi> Processor<A, M> {
    /// Processes one claimed message inside its span (`message_id`, `instance`, `chat`,
    /// `attempt`), so every line logged on its way carries them.
    pub(crate) async fn process(&self, record: MessageRecord, preloaded: Option<Preloaded>) {
        let span = tracing::info_span!(
            "message",
            log_id = record.id,
            message_id = %record.inbound.message_id,
            instance = %record.instance,
            chat = %record.inbound.chat_id,
            attempt = record.attempts,
        );
        self.process_in_span(record, preloaded).instrument(span).await;
    }

    async fn process_in_span(&self, record: MessageRecord, preloaded: Option<Preloaded>) {
        let id = record.id;
        let attempts = record.attempts;
        // Attempts are counted at claim time; one past the maximum means earlier attempts
        // ended without their outcome being stored (a crash, a lost lease, a database that
        // refused to record it). However that happened, the message is not tried again.
        if attempts > self.retry.max_attempts {
            let stage = record.error_stage.unwrap_or(Stage::Agent);
            let last = record.error.as_deref().unwrap_or("none recorded");
            let error = format!(
                "gave up: {attempts} attempts started, the maximum is {}, and no earlier attempt stored its outcome (last error: {last})",
                self.retry.max_attempts
            );
            if let Err(err) = self.fail(&record, stage, error).await {
                tracing::warn!(error = %err, "message left for a later attempt (its lease will expire)");
            }
            return;
        }
        let outcome = self
            .run(&record, preloaded)
            .await
            .map_err(|stop| self.redacted(&record, stop));
        let result = match outcome {
            Ok(()) => Ok(()),
            Err(Stop::Retry { stage, error, after }) if self.retry.allows_another(attempts) => {
                // The backoff, or longer when the upstream asked for a longer wait.
                let delay = self.retry.delay(attempts).max(after.unwrap_or_default());
                tracing::info!(%stage, error = %error, retry_in_ms = delay.as_millis() as u64, "transient failure; will retry");
                self.events.retried(stage);
                let owner = self.owner.clone();
                self.step(Change::RetryLater {
                    id,
                    owner,
                    delay,
                    stage,
                    error,
                })
                .await
                .map(drop)
            }
            Err(Stop::Retry { stage, error, .. } | Stop::Fail { stage, error }) => {
                self.fail(&record, stage, error).await
            }
            Err(Stop::Hold { reason }) => self.hold(&record, reason).await,
            Err(Stop::Pace { after }) => {
                tracing::debug!(
                    wait_ms = after.as_millis() as u64,
                    "no send slot yet; the message waits for its number's pace"
                );
                let (owner, delay) = (self.owner.clone(), after);
                self.step(Change::Pace { id, owner, delay }).await.map(drop)
            }
            // The database refused to store this message's state for its content: retrying
            // cannot help, so it fails with the reason (and the apology).
            Err(Stop::Abandon(CoreError::Db(err))) if err.is_refused() => {
                let stage = if record.reply.is_none() {
                    Stage::Agent
                } else {
                    Stage::Evolution
                };
                self.fail(&record, stage, format!("its state cannot be stored: {err}"))
                    .await
            }
            Err(Stop::Abandon(err)) => Err(err),
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "message left for a later attempt (its lease will expire)");
        }
    }

    /// `stop` with the instance's secrets cut out of its error: upstream error bodies are
    /// stored, shown by the API and the CLI and logged, and some echo the key they got.
    fn redacted(&self, record: &MessageRecord, stop: Stop) -> Stop {
        let Some(instance) = self.cache.get(&record.instance) else {
            return stop;
        };
        let secrets = [
            instance.agent_api_key.as_ref().map(|k| k.expose()),
            instance.evolution_key.as_ref().map(|k| k.expose()),
            instance.webhook_secret.as_ref().map(|k| k.expose()),
        ];
        let secrets: Vec<&str> = secrets.into_iter().flatten().collect();
        // NUL too: PostgreSQL cannot store it, and the error must be stored.
        let clean = |error: String| redact(&error, &secrets).replace('\0', "\u{FFFD}");
        match stop {
            Stop::Retry { stage, error, after } => Stop::Retry {
                stage,
                error: clean(error),
                after,
            },
            Stop::Fail { stage, error } => Stop::Fail {
                stage,
                error: clean(error),
            },
            other @ (Stop::Abandon(_) | Stop::Hold { .. } | Stop::Pace { .. }) => other,
        }
    }

    async fn run(&self, record: &MessageRecord, preloaded: Option<Preloaded>) -> Result<(), Stop> {
        let Some(instance) = self.cache.get(&record.instance) else {
            return Err(Stop::Fail {
                stage: Stage::Config,
                error: format!("instance '{}' no longer exists", record.instance),
            });
        };
        if instance.evolution_url.is_none() || instance.evolution_key.is_none() {
            let name = &instance.name;
            return Err(Stop::Fail {
                stage: Stage::Config,
                error: format!(
                    "instance '{name}' has no Evolution URL or key; set them with: omnihub-instance update {name} --evolution-url URL --evolution-key KEY"
                ),
            });
        }
        if record.direction == Direction::Outbound {
            return self.send_outbound(&instance, record).await;
        }
        let reply = match &record.reply {
            // Stored by an earlier attempt: never ask the agent twice. Zero parts means there
            // was nothing to send.
            Some(_) if record.parts_total == 0 => {
                return self.complete(record.id, Some(EMPTY_REPLY.into())).await
            }
            Some(reply) => reply.clone(),
            None => match self.ask_agent(&instance, record, preloaded).await? {
                Answer::Text(reply) => reply,
                Answer::NoReply(reason) => return self.complete(record.id, Some(reason)).await,
            },
        };
        if let Some(hold) = self.hold_check(&instance).await? {
            return Err(hold);
        }
        self.send_parts(&instance, record, &reply).await
    }

    pub(crate) async fn complete(&self, id: i64, outcome: Option<String>) -> Result<(), Stop> {
        let owner = self.owner.clone();
        let change = Change::Complete {
            id,
            owner,
            outcome,
            parts_sent: None,
        };
        self.fenced(id, change).await?;
        self.events.finished(MessageStatus::Done);
        Ok(())
    }

    /// Done, with all `parts` sent (the last one just now).
    pub(crate) async fn complete_sent(&self, id: i64, parts: u32) -> Result<(), Stop> {
        let owner = self.owner.clone();
        let change = Change::Complete {
            id,
            owner,
            outcome: None,
            parts_sent: Some(parts),
        };
        self.fenced(id, change).await?;
        self.events.finished(MessageStatus::Done);
        Ok(())
    }

    pub(crate) async fn fail(
        &self,
        record: &MessageRecord,
        stage: Stage,
        error: String,
    ) -> Result<(), CoreError> {
        tracing::warn!(%stage, error = %error, "message failed");
        let (id, owner) = (record.id, self.owner.clone());
        let applied = self
            .step(Change::Fail {
                id,
                owner,
                stage,
                error,
            })
            .await?;
        if !applied {
            return Ok(());
        }
        self.events.finished(MessageStatus::Failed);
        // Nothing can be sent without a working configuration, nor to a number that is not
        // connected (a reply that waited OMNIHUB_HOLD_MAX for it ends here).
        let disconnected = self
            .cache
            .connection(&record.instance)
            .is_some_and(|c| c.state.holds_replies());
        // A person's own message that failed is theirs to resend: no apology to the chat.
        if stage == Stage::Config || disconnected || record.direction == Direction::Outbound {
            return Ok(());
        }
        let (Some(apology), Some(instance)) = (&self.apology, self.cache.get(&record.instance)) else {
            return Ok(());
        };
        if let Err(err) = self
            .messenger
            .send_text(&instance, &record.inbound.chat_id, apology)
            .await
        {
            tracing::warn!(error = %err, "the apology could not be sent either");
        }
        Ok(())
    }
}
