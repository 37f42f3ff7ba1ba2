//! The pipeline's own runtime: the dispatcher, the instance cache refresh and retention run
//! on dedicated threads, apart from the HTTP workers.

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use omnihub_agent::AgentClient;
use omnihub_core::{purge_every_hour, Dispatcher, DispatcherConfig, InstanceCache};
use omnihub_db::{Database, Engine};
use omnihub_evolution::EvolutionClient;
use omnihub_server::{Metrics, PipelineConfig};
use tokio::sync::{watch, Notify};

/// A running pipeline.
pub struct Pipeline {
    cache: InstanceCache,
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
}

impl Pipeline {
    /// Prepares the database for dispatching and starts the pipeline threads.
    pub fn start(
        db: &Database,
        config: &PipelineConfig,
        shutdown_grace: std::time::Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let cache = InstanceCache::new(db.clone(), config.instance_cache_ttl);
        cache.reload().context("cannot load instances")?;
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
        let owner = format!("{}-{}", hostname(), std::process::id());
        let dispatcher_config = DispatcherConfig {
            owner,
            global_limit: config.global_limit,
            per_instance_limit: config.per_instance_limit,
            lease: config.lease,
            poll_interval: config.poll_interval,
            retry: config.retry,
            apology: config.apology.clone(),
            shutdown_grace,
        };
        let agent = AgentClient::new().context("cannot build the agent HTTP client")?;
        let evolution = EvolutionClient::new(config.evolution_timeout)
            .context("cannot build the Evolution HTTP client")?;
        let dispatcher = Dispatcher::new(
            db.clone(),
            cache.clone(),
            agent,
            evolution,
            metrics,
            dispatcher_config,
        );
        let wake = dispatcher.waker();
        let (stop, stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("omnihub-pipeline")
            .enable_all()
            .build()
            .context("cannot start the pipeline runtime")?;
        let (refresh_cache, retention_db, retention_days) =
            (cache.clone(), db.clone(), config.retention_days);
        let checkpoint_db = db.clone();
        let thread = std::thread::Builder::new()
            .name("omnihub-dispatcher".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(refresh_cache.refresh_every_ttl(stopped.clone()));
                    if checkpoint_db.engine() == Engine::Sqlite {
                        tokio::spawn(checkpoint_wal(checkpoint_db, stopped.clone()));
                    }
                    if retention_days > 0 {
                        tokio::spawn(purge_every_hour(retention_db, retention_days, stopped.clone()));
                    }
                    dispatcher.run(stopped).await;
                });
            })
            .context("cannot start the dispatcher thread")?;
        Ok(Self {
            cache,
            wake,
            stop,
            thread,
        })
    }

    /// The instance cache the dispatcher uses (share it with the webhook routes).
    pub fn cache(&self) -> InstanceCache {
        self.cache.clone()
    }

    /// Wakes the dispatcher (for the webhook routes).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Stops claiming, lets in-flight messages finish (bounded), hands the rest back.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        if self.thread.join().is_err() {
            tracing::error!("the dispatcher thread panicked");
        }
    }
}

/// Keeps SQLite's write-ahead log short in the background, so commits on the webhook path
/// never stop to copy it into the database file.
async fn checkpoint_wal(db: Database, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.checkpoint()).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "WAL checkpoint failed; will try again"),
            Err(err) => tracing::warn!(error = %err, "WAL checkpoint task failed"),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "omnihub".to_owned())
}
