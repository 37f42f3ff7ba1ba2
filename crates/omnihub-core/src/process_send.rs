//! Sending through the number: a stored reply's parts not sent yet, or a person's outbound
//! message; each send takes a slot of the number's pace first.

use std::time::Instant;

use omnihub_db::Change;
use omnihub_domain::{InstanceConfig, MessageRecord, Stage};
use omnihub_evolution::EvolutionError;

use crate::ports::{AgentApi, MessengerApi};
use crate::process::{Processor, Stop};
use crate::split::{split_reply, MAX_PART_CHARS};

impl<A: AgentApi, M: MessengerApi> Processor<A, M> {
    /// Sends the parts of `reply` that `record` has not sent yet, recording each.
    pub(crate) async fn send_parts(
        &self,
        instance: &InstanceConfig,
        record: &MessageRecord,
        reply: &str,
    ) -> Result<(), Stop> {
        let parts = split_reply(reply, MAX_PART_CHARS);
        let total = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        for (index, part) in parts.iter().enumerate().skip(record.parts_sent as usize) {
            self.pace(instance, record)?;
            let started = Instant::now();
            let sent = self
                .messenger
                .send_text(instance, &record.inbound.chat_id, part)
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
                Err(e) => return Err(self.send_failed(instance, e).await),
            }
        }
        self.complete(record.id, None).await
    }

    /// Sends a person's message (text, or media with its caption) as one WhatsApp message.
    pub(crate) async fn send_outbound(
        &self,
        instance: &InstanceConfig,
        record: &MessageRecord,
    ) -> Result<(), Stop> {
        if let Some(hold) = self.hold_check(instance).await? {
            return Err(hold);
        }
        self.pace(instance, record)?;
        let started = Instant::now();
        let sent = self
            .messenger
            .send_content(instance, &record.inbound.chat_id, &record.inbound.content)
            .await;
        self.events
            .evolution_call(started.elapsed().as_secs_f64(), sent.is_ok());
        match sent {
            Ok(()) => self.complete_sent(record.id, 1).await,
            Err(e) => Err(self.send_failed(instance, e).await),
        }
    }

    /// A send slot for `record`, or the wait for one.
    fn pace(&self, instance: &InstanceConfig, record: &MessageRecord) -> Result<(), Stop> {
        let per_minute = instance.rules.send_per_minute;
        self.pacer
            .take(instance.name.as_str(), record.id, per_minute, self.db.now())
            .map_err(|after| Stop::Pace { after })
    }

    async fn send_failed(&self, instance: &InstanceConfig, error: EvolutionError) -> Stop {
        match error {
            e @ EvolutionError::NotActivated { .. } => self.not_activated(instance, &e).await,
            e => Stop::upstream(Stage::Evolution, e.is_transient(), &e),
        }
    }
}
