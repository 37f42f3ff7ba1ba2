//! Helpers shared by the demo and the benchmark: fake upstreams on a background thread,
//! sibling binaries, waiting.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::upstreams::{self, AgentSpec};

/// Fake upstreams running on their own thread (an actix system of their own).
pub struct Background {
    /// The fake Evolution API.
    pub evolution: String,
    /// The fake agents, in the order asked for.
    pub agents: Vec<String>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Background {
    /// Starts a fake Evolution and one fake agent per spec.
    pub fn start(specs: &[AgentSpec]) -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let specs = specs.to_vec();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let running = match upstreams::start(0, &specs, 1) {
                    Ok(running) => running,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = tx.send(Ok((running.evolution_url.clone(), running.agent_urls.clone())));
                while !flag.load(Ordering::Relaxed) {
                    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                }
                running.stop().await;
            });
        });
        let (evolution, agents) = rx
            .recv()
            .context("the fake upstreams did not start")?
            .map_err(anyhow::Error::msg)?;
        Ok(Self {
            evolution,
            agents,
            stop,
            thread,
        })
    }

    /// Stops the fakes and waits for their thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// A binary built next to this one.
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} not found next to omnihub-sandbox; build all binaries first (make demo does)",
            path.display()
        );
    }
    Ok(path)
}

/// Polls `done` every 100 ms for up to `secs` seconds.
pub fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
