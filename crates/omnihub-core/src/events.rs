//! Hooks the pipeline calls as messages move, for metrics. The core knows no metrics library.

use omnihub_domain::{MessageStatus, Stage};

/// Receives pipeline events; every method has a no-op default.
pub trait PipelineEvents: Send + Sync + 'static {
    /// A message reached a final status (`done` or `failed`).
    fn finished(&self, _status: MessageStatus) {}
    /// A transient failure at `stage` was scheduled for retry.
    fn retried(&self, _stage: Stage) {}
    /// An agent call took `seconds`.
    fn agent_call(&self, _seconds: f64, _ok: bool) {}
    /// A `sendText` call took `seconds`.
    fn evolution_call(&self, _seconds: f64, _ok: bool) {}
    /// An agent reply was cut to the configured limits.
    fn reply_cut(&self) {}
    /// A reply was held because its number is not connected.
    fn held(&self) {}
}

/// Ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl PipelineEvents for NoEvents {}
