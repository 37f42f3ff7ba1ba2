//! The pipeline as one value: it owns the instance cache, the log writers, the dispatcher
//! and its runtime, wake-ups, retention and checkpoints. Build it, hand it webhooks with
//! [`Pipeline::ingest`], and [`Pipeline::shutdown`] it.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use omnihub_db::{Database, Engine, Sent};
use omnihub_domain::{InstanceName, Outbound};
use tokio::sync::{watch, Notify};

use crate::config::default_owner;
use crate::connection_events::ConnectionRecorder;
use crate::dispatcher::{Dispatcher, DispatcherConfig};
use crate::events::{NoEvents, PipelineEvents};
use crate::ingest::{authenticate, ingest_for, IngestOutcome, Rejection};
use crate::log_writer::LogWriter;
use crate::ports::{AgentApi, MessengerApi};
use crate::upkeep::{checkpoint_wal, purge_every_hour};
use crate::{CoreError, InstanceCache, PipelineConfig};

/// A running message pipeline. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    cache: InstanceCache,
    writer: LogWriter,
    recorder: ConnectionRecorder,
    wake: Arc<Notify>,
    stop: watch::Sender<Option<Duration>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    max_messages: usize,
    pacer: crate::pacing::Pacer,
}

/// A webhook whose instance exists and whose token was checked, before its body is read.
#[derive(Debug, Clone)]
pub struct Admission {
    instance: Arc<omnihub_domain::InstanceConfig>,
}

impl Admission {
    /// The instance the webhook is for.
    pub fn instance(&self) -> &omnihub_domain::InstanceConfig {
        &self.instance
    }
}

/// Configures a [`Pipeline`] before it starts. Obtained from [`Pipeline::builder`].
pub struct PipelineBuilder<A, M> {
    db: Database,
    config: PipelineConfig,
    agent: A,
    messenger: M,
    events: Arc<dyn PipelineEvents>,
}

impl Pipeline {
    /// A pipeline over a migrated `db`, answering through `agent` (e.g.
    /// [`omnihub_agent::AgentBackends`]) and sending through `messenger` (e.g.
    /// [`omnihub_evolution::EvolutionClient`]).
    pub fn builder<A: AgentApi, M: MessengerApi>(
        db: Database,
        config: PipelineConfig,
        agent: A,
        messenger: M,
    ) -> PipelineBuilder<A, M> {
        PipelineBuilder {
            db,
            config,
            agent,
            messenger,
            events: Arc::new(NoEvents),
        }
    }

    /// Takes in one Evolution webhook for the instance `name` (`None`: the default instance),
    /// presented with `token`; answers once its messages are committed (or refused).
    pub async fn ingest(&self, name: Option<&str>, token: Option<&str>, body: &[u8]) -> IngestOutcome {
        match self.admit(name, token) {
            Ok(admission) => self.ingest_admitted(&admission, body).await,
            Err(rejection) => IngestOutcome::Rejected(rejection),
        }
    }

    /// The first half of [`Pipeline::ingest`], which needs no body: finds the instance
    /// `name` (`None`: the default one) and checks `token`, from memory. A server calls it
    /// before reading the body, so a refused request costs no memory.
    pub fn admit(&self, name: Option<&str>, token: Option<&str>) -> Result<Admission, Rejection> {
        authenticate(&self.inner.cache, name, token).map(|instance| Admission { instance })
    }

    /// The second half of [`Pipeline::ingest`]: envelope, parse, classify and commit the
    /// `body` of an admitted webhook.
    pub async fn ingest_admitted(&self, admission: &Admission, body: &[u8]) -> IngestOutcome {
        let outcome = ingest_for(
            &self.inner.writer,
            &self.inner.recorder,
            &admission.instance,
            body,
            self.inner.max_messages,
        )
        .await;
        if matches!(outcome, IngestOutcome::Accepted { .. }) {
            self.inner.wake.notify_one();
        }
        outcome
    }

    /// The instances as the pipeline sees them. After changing instances in the database,
    /// call [`InstanceCache::reload`] so webhooks see the change at once (other processes see
    /// it within the configured TTL).
    pub fn instances(&self) -> &InstanceCache {
        &self.inner.cache
    }

    /// Why the message log is not taking writes, when its last commit failed and none has
    /// succeeded since (for at most [`crate::write_health::FAILURE_MEMORY`]).
    pub fn write_failure(&self) -> Option<String> {
        self.inner.writer.failing()
    }

    /// Forgets the last commit failure, after a write elsewhere (e.g. a readiness probe)
    /// showed the database takes writes again.
    pub fn clear_write_failure(&self) {
        self.inner.writer.cleared();
    }

    /// The database the pipeline works on.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// Queues `outbound` for its instance, sent by `sender` (`api`, `console`, …), and wakes
    /// the dispatcher: it goes out in its chat's order, paced and retried like a reply. The
    /// same idempotency key twice gives the first message's id and sends once.
    pub async fn send(
        &self,
        instance: &InstanceName,
        outbound: Outbound,
        sender: &'static str,
    ) -> Result<Sent, CoreError> {
        let message_id = outbound.message_id(|| uuid::Uuid::new_v4().simple().to_string());
        let name = instance.clone();
        let sent = crate::error::blocking(&self.inner.db, move |db| {
            db.messages().send(&name, &outbound, &message_id, sender)
        })
        .await?;
        if !sent.duplicate {
            self.inner.wake.notify_one();
        }
        Ok(sent)
    }

    /// Each paced number's sends waiting for a slot in this process.
    pub fn pacing(&self) -> Vec<crate::PaceState> {
        self.inner.pacer.states()
    }

    /// Wakes the dispatcher (e.g. after messages were queued again by an admin).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Stops claiming, lets in-flight messages finish within `grace`, hands the rest back
    /// for the next start, and stops every background task. Blocks until done; calling it
    /// again does nothing.
    pub fn shutdown(&self, grace: Duration) {
        let _ = self.inner.stop.send(Some(grace));
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the pipeline thread panicked");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropped without shutdown: stop the background work without waiting for it.
        let _ = self.stop.send(Some(Duration::ZERO));
    }
}

impl<A: AgentApi, M: MessengerApi> PipelineBuilder<A, M> {
    /// Reports message events (finished, retried, upstream latencies) to `events`.
    pub fn events(mut self, events: Arc<dyn PipelineEvents>) -> Self {
        self.events = events;
        self
    }

    /// Loads the instances, resumes what a previous run left unfinished (SQLite), starts the
    /// log writers and the pipeline thread. Fails, never panics, when any of it cannot start.
    pub fn start(self) -> Result<Pipeline, CoreError> {
        let Self {
            db,
            config,
            agent,
            messenger,
            events,
        } = self;
        let cache = InstanceCache::new(db.clone(), config.instance_cache_ttl);
        let loaded = cache.reload()?;
        tracing::debug!(instances = loaded, "instances loaded");
        for instance in cache.all() {
            if instance.evolution_url.is_none() || instance.evolution_key.is_none() {
                tracing::warn!(
                    instance = %instance.name,
                    "instance has no Evolution URL or key: its webhooks are accepted but its messages will fail until `omnihub-instance update {} --evolution-url URL --evolution-key KEY`",
                    instance.name
                );
            }
        }
        if db.engine() == Engine::Sqlite {
            // One process per SQLite file: any lease in it belongs to a previous run of ours.
            let resumed = db.messages().release_all()?;
            if resumed > 0 {
                tracing::info!(resumed, "resuming messages left unfinished by the previous run");
            }
        }
        // SQLite has one writer anyway. PostgreSQL takes several: each commit waits for its
        // WAL flush, and the writers' locks on queue rows are ordered (sorted inserts, one
        // dispatcher change per transaction), so they cannot deadlock.
        let writers = config.log_writers.unwrap_or(match db.engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => 4,
        });
        let writer = LogWriter::start(&db, writers, config.log_batch_rows).map_err(|e| CoreError::Start {
            what: "log writers",
            reason: e.to_string(),
        })?;
        let dispatcher = Dispatcher::new(
            db.clone(),
            cache.clone(),
            agent,
            messenger,
            events,
            DispatcherConfig {
                owner: config.owner.clone().unwrap_or_else(default_owner),
                global_limit: config.global_limit,
                per_instance_limit: config.per_instance_limit,
                lease: config.lease,
                poll_interval: config.poll_interval,
                retry: config.retry,
                apology: config.apology.clone(),
                reply_max_chars: config.reply_max_chars,
                reply_max_parts: config.reply_max_parts,
                hold_max: config.hold_max,
            },
        )
        .with_writer(writer.clone());
        let wake = dispatcher.waker();
        let pacer = dispatcher.pacer();
        let (stop, stopped) = watch::channel(None);
        // Its own runtime, apart from whatever serves HTTP: a burst of webhooks never starves
        // the dispatcher and a slow agent never starves the webhooks.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            // Database writes go to the log writers; the blocking pool only reads (state,
            // cache) and releases, so a few threads do.
            .max_blocking_threads(8)
            .thread_name("omnihub-pipeline")
            .enable_all()
            .build()
            .map_err(|e| CoreError::Start {
                what: "runtime",
                reason: e.to_string(),
            })?;
        let (tasks_cache, tasks_db, retention_days) = (cache.clone(), db.clone(), config.retention_days);
        let thread = std::thread::Builder::new()
            .name("omnihub-dispatcher".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(tasks_cache.refresh_every_ttl(stopped.clone()));
                    if tasks_db.engine() == Engine::Sqlite {
                        tokio::spawn(checkpoint_wal(tasks_db.clone(), stopped.clone()));
                    }
                    if retention_days > 0 {
                        tokio::spawn(purge_every_hour(tasks_db, retention_days, stopped.clone()));
                    }
                    dispatcher.run(stopped).await;
                });
            })
            .map_err(|e| CoreError::Start {
                what: "dispatcher thread",
                reason: e.to_string(),
            })?;
        Ok(Pipeline {
            inner: Arc::new(Inner {
                recorder: ConnectionRecorder {
                    db: db.clone(),
                    cache: cache.clone(),
                },
                db,
                cache,
                writer,
                wake,
                stop,
                thread: Mutex::new(Some(thread)),
                max_messages: config.webhook_max_messages,
                pacer,
            }),
        })
    }
}
