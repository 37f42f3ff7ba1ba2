//! Processing one claimed message: agent call (once), split, send the parts not sent yet,
//! record every step; retry transient failures, fail permanent ones with an apology.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnihub_db::{Change, Changed, Database, DbError};
use omnihub_domain::{Answer, MessageRecord, MessageStatus, Stage};
use tracing::Instrument;

use crate::error::{blocking, CoreError};
use crate::events::PipelineEvents;
use crate::log_writer::Writes;
use crate::ports::{AgentApi, MessengerApi};
use crate::split::{split_reply, MAX_PART_CHARS};
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
}

/// How a stage ended when it did not succeed.
pub(crate) enum Stop {
    /// A transient failure: try again later (or fail when attempts are used up).
    Retry { stage: Stage, error: String },
    /// A permanent failure.
    Fail { stage: Stage, error: String },
    /// The lease was lost or the database failed: another attempt will pick it up.
    Abandon(CoreError),
}

impl From<CoreError> for Stop {
    fn from(e: CoreError) -> Self {
        Self::Abandon(e)
    }
}

impl<A: AgentApi, M: MessengerApi> Processor<A, M> {
    /// Processes one claimed message inside its span (`message_id`, `instance`, `chat`,
    /// `attempt`), so every line logged on its way carries them.
    pub(crate) async fn process(&self, record: MessageRecord) {
        let span = tracing::info_span!(
            "message",
            log_id = record.id,
            message_id = %record.inbound.message_id,
            instance = %record.instance,
            chat = %record.inbound.chat_id,
            attempt = record.attempts,
        );
        self.process_in_span(record).instrument(span).await;
    }

    async fn process_in_span(&self, record: MessageRecord) {
        let id = record.id;
        let attempts = record.attempts;
        let outcome = self.run(&record).await;
        let result = match outcome {
            Ok(()) => Ok(()),
            Err(Stop::Retry { stage, error }) if self.retry.allows_another(attempts) => {
                let delay = self.retry.delay(attempts);
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
            Err(Stop::Retry { stage, error } | Stop::Fail { stage, error }) => {
                self.fail(&record, stage, error).await
            }
            Err(Stop::Abandon(err)) => Err(err),
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "message left for a later attempt (its lease will expire)");
        }
    }

    async fn run(&self, record: &MessageRecord) -> Result<(), Stop> {
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
        let reply = match &record.reply {
            // Stored by an earlier attempt: never ask the agent twice. Zero parts means there
            // was nothing to send.
            Some(_) if record.parts_total == 0 => {
                return self.complete(record.id, Some(EMPTY_REPLY.into())).await
            }
            Some(reply) => reply.clone(),
            None => match self.ask_agent(&instance, record).await? {
                Answer::Text(reply) => reply,
                Answer::NoReply(reason) => return self.complete(record.id, Some(reason)).await,
            },
        };
        let parts = split_reply(&reply, MAX_PART_CHARS);
        let total = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        for (index, part) in parts.iter().enumerate().skip(record.parts_sent as usize) {
            let started = Instant::now();
            let sent = self
                .messenger
                .send_text(&instance, &record.inbound.chat_id, part)
                .await;
            self.events
                .evolution_call(started.elapsed().as_secs_f64(), sent.is_ok());
            match sent {
                // The last part: recorded together with the completion (one write).
                Ok(()) if index + 1 == parts.len() => {
                    return self.complete_sent(record.id, total).await;
                }
                Ok(()) => {
                    let done = u32::try_from(index + 1).unwrap_or(total);
                    let (id, owner, lease) = (record.id, self.owner.clone(), self.lease);
                    let change = Change::PartSent {
                        id,
                        owner,
                        parts_sent: done,
                        lease,
                    };
                    self.fenced(id, change).await?;
                }
                Err(e) if e.is_transient() => {
                    return Err(Stop::Retry {
                        stage: Stage::Evolution,
                        error: e.to_string(),
                    })
                }
                Err(e) => {
                    return Err(Stop::Fail {
                        stage: Stage::Evolution,
                        error: e.to_string(),
                    })
                }
            }
        }
        self.complete(record.id, None).await
    }

    async fn complete(&self, id: i64, outcome: Option<String>) -> Result<(), Stop> {
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
    async fn complete_sent(&self, id: i64, parts: u32) -> Result<(), Stop> {
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

    async fn fail(&self, record: &MessageRecord, stage: Stage, error: String) -> Result<(), CoreError> {
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
        if stage == Stage::Config {
            return Ok(()); // nothing can be sent without a working configuration
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

    /// A lease-fenced step of message `id`; losing the lease abandons the message to its
    /// new holder.
    pub(crate) async fn fenced(&self, id: i64, change: Change) -> Result<(), Stop> {
        if self.step(change).await? {
            Ok(())
        } else {
            Err(Stop::Abandon(CoreError::LeaseLost(id)))
        }
    }

    /// A step through the writer (group commit); whether it applied.
    pub(crate) async fn step(&self, change: Change) -> Result<bool, CoreError> {
        match self.writes.change(change).await? {
            Changed::Applied(applied) => Ok(applied),
            _ => Ok(false),
        }
    }

    pub(crate) async fn write<T, F>(&self, write: F) -> Result<T, CoreError>
    where
        F: FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        blocking(&self.db, write).await
    }
}
