//! The dispatcher: claims ready chat heads under leases and processes them concurrently,
//! within a global limit and a per-instance cap, until told to stop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnihub_db::{Change, Changed, ClaimRequest, Database};
use omnihub_domain::MessageRecord;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::error::blocking;
use crate::events::PipelineEvents;
use crate::log_writer::{LogWriter, Writes};
use crate::ports::{AgentApi, MessengerApi};
use crate::process::Processor;
use crate::process_agent::Preloaded;
use crate::{InstanceCache, RetryPolicy, DEFAULT_APOLOGY};

/// How the dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Lease owner name, unique per process.
    pub owner: String,
    /// Most messages processed at once, over all instances.
    pub global_limit: usize,
    /// Most messages of one instance processed at once.
    pub per_instance_limit: usize,
    /// Lease taken at claim time and renewed before each stage.
    pub lease: Duration,
    /// How often to look for due retries and expired leases when nothing wakes it.
    pub poll_interval: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Sent to the user when a message fails for good; `None` sends nothing.
    pub apology: Option<String>,
    /// Most characters of one agent reply sent.
    pub reply_max_chars: usize,
    /// Most WhatsApp messages one agent reply is sent in.
    pub reply_max_parts: usize,
    /// Longest a reply waits for its number to be connected before it fails.
    pub hold_max: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            owner: "omnihub".to_owned(),
            global_limit: 64,
            per_instance_limit: 16,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            apology: Some(DEFAULT_APOLOGY.to_owned()),
            reply_max_chars: 12_000,
            reply_max_parts: 10,
            hold_max: Duration::from_secs(24 * 3600),
        }
    }
}

/// Claims and processes messages. Create it, hand [`Dispatcher::waker`] to whoever accepts
/// messages, then [`Dispatcher::run`] it.
pub struct Dispatcher<A, M> {
    db: Database,
    config: DispatcherConfig,
    wake: Arc<Notify>,
    processor: Arc<Processor<A, M>>,
}

impl<A: AgentApi, M: MessengerApi> Dispatcher<A, M> {
    /// A dispatcher over `db` using `cache` for instances and the two upstreams.
    pub fn new(
        db: Database,
        cache: InstanceCache,
        agent: A,
        messenger: M,
        events: Arc<dyn PipelineEvents>,
        config: DispatcherConfig,
    ) -> Self {
        let processor = Arc::new(Processor {
            writes: Writes::Direct(db.clone()),
            db: db.clone(),
            cache,
            agent,
            messenger: Arc::new(messenger),
            events,
            owner: config.owner.clone(),
            lease: config.lease,
            retry: config.retry,
            apology: config.apology.clone(),
            reply_limits: (config.reply_max_chars, config.reply_max_parts),
            hold_max: config.hold_max,
            pacer: crate::pacing::Pacer::default(),
        });
        Self {
            db,
            config,
            wake: Arc::new(Notify::new()),
            processor,
        }
    }

    /// Sends every state change through `writer`, committed together with the webhooks'
    /// inserts (the pipeline's setup; built alone, a dispatcher writes directly).
    pub(crate) fn with_writer(mut self, writer: LogWriter) -> Self {
        if let Some(processor) = Arc::get_mut(&mut self.processor) {
            processor.writes = Writes::Shared(writer);
        }
        self
    }

    /// The send slots of this dispatcher's numbers.
    pub(crate) fn pacer(&self) -> crate::pacing::Pacer {
        self.processor.pacer.clone()
    }

    /// Notify this after accepting a message so it is picked up at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` holds a grace period, then stops claiming, lets in-flight
    /// messages finish within it, and hands the rest back (their leases are released).
    pub async fn run(self, mut shutdown: watch::Receiver<Option<Duration>>) {
        let in_flight: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let mut tasks = JoinSet::new();
        loop {
            if shutdown.borrow().is_some() {
                break;
            }
            // Finished tasks stay in the set until joined; reap them all so they do not hold
            // slots of the global limit.
            while tasks.try_join_next().is_some() {}
            let claimed = self.claim(&in_flight, tasks.len()).await;
            let claimed_any = !claimed.is_empty();
            let mut states = self.preload_states(&claimed).await;
            for record in claimed {
                let processor = self.processor.clone();
                let in_flight = in_flight.clone();
                let preloaded = states.remove(&record.id);
                *lock(&in_flight).entry(record.instance.clone()).or_default() += 1;
                tasks.spawn(async move {
                    let instance = record.instance.clone();
                    processor.process(record, preloaded).await;
                    if let Some(n) = lock(&in_flight).get_mut(&instance) {
                        *n = n.saturating_sub(1);
                    }
                });
            }
            if claimed_any && tasks.len() < self.config.global_limit {
                continue; // there may be more ready right now
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = shutdown.changed() => {}
            }
        }
        let grace = shutdown.borrow().unwrap_or_default();
        self.drain(tasks, grace).await;
    }

    async fn claim(
        &self,
        in_flight: &Arc<Mutex<HashMap<String, usize>>>,
        running: usize,
    ) -> Vec<MessageRecord> {
        let free = self.config.global_limit.saturating_sub(running);
        if free == 0 {
            return Vec::new();
        }
        let capacity: Vec<(String, usize)> = {
            let busy = lock(in_flight);
            self.processor
                .cache
                .names()
                .into_iter()
                .map(|name| {
                    let used = busy.get(&name).copied().unwrap_or(0);
                    (name, self.config.per_instance_limit.saturating_sub(used))
                })
                .collect()
        };
        // Every instance at its cap: nothing can be claimed, so do not scan the queue.
        if capacity.iter().all(|(_, free)| *free == 0) {
            return Vec::new();
        }
        // Each instance's messages are leased for its agent timeout plus the usual lease: the
        // agent is called right after the claim, and the call must not outlive the lease.
        let leases = self
            .processor
            .cache
            .all()
            .iter()
            .map(|i| {
                let timeout = Duration::from_secs(u64::from(i.agent_timeout.secs()));
                (i.name.to_string(), timeout + self.config.lease)
            })
            .collect();
        let request = ClaimRequest {
            leases,
            owner: self.config.owner.clone(),
            lease: self.config.lease,
            limit: free,
            capacity: Some(capacity),
        };
        match self.processor.writes.change(Change::Claim(request)).await {
            Ok(Changed::Claimed(claimed)) => claimed,
            Ok(_) => Vec::new(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim messages; retrying shortly");
                Vec::new()
            }
        }
    }

    /// Reads, in one query, the conversation states the claimed messages' agents will need
    /// (kinds that keep memory in omnihub), keyed by message id. A failed read is logged and
    /// leaves each message to read its own.
    async fn preload_states(&self, claimed: &[MessageRecord]) -> HashMap<i64, Preloaded> {
        let wanted: Vec<(i64, String, String)> = claimed
            .iter()
            .filter(|record| record.reply.is_none())
            .filter_map(|record| {
                let instance = self.processor.cache.get(&record.instance)?;
                self.processor.agent.wants_state(&instance).then(|| {
                    let session = record.session_name(instance.session_id_prefix.as_deref());
                    (record.id, record.instance.clone(), session)
                })
            })
            .collect();
        if wanted.is_empty() {
            return HashMap::new();
        }
        let keys: Vec<(String, String)> = wanted.iter().map(|(_, i, s)| (i.clone(), s.clone())).collect();
        let mut found = match blocking(&self.db, move |db| db.conversations().get_many(&keys)).await {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the claimed conversations' states; each message reads its own");
                return HashMap::new();
            }
        };
        wanted
            .into_iter()
            .map(|(id, instance, session)| {
                let state = found.remove(&(instance, session.clone()));
                (id, Preloaded { session, state })
            })
            .collect()
    }

    async fn drain(&self, mut tasks: JoinSet<()>, grace: Duration) {
        if !tasks.is_empty() {
            tracing::info!(
                in_flight = tasks.len(),
                "dispatcher stopping; letting in-flight messages finish"
            );
        }
        let finished =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            tracing::warn!(
                left = tasks.len(),
                "grace period over; unfinished messages are handed back"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        let owner = self.config.owner.clone();
        match blocking(&self.db, move |db| db.messages().release(&owner)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "unfinished messages queued for the next start"),
            Err(err) => tracing::warn!(error = %err, "cannot release leases; they will expire"),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
