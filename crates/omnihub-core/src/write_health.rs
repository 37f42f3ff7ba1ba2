//! Whether the message log is taking writes: the last failure of a commit, until a later
//! commit succeeds. Readiness reports it, so a full disk or a read-only database shows up
//! before anyone reads the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an unanswered failure keeps the server "not ready" when nothing writes after it.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(60);

/// The last failed commit, cleared by a successful one.
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    last_failure: Mutex<Option<(Instant, String)>>,
}

impl WriteHealth {
    /// Records the outcome of one commit. Refusals of a row for its content say nothing
    /// about the database and are not failures here. Only a commit that took messages in
    /// (`takes_messages`) clears a failure: an idle dispatcher's claim that found nothing
    /// writes nothing, so its success says nothing about a full disk.
    pub(crate) fn record(&self, failure: Option<&omnihub_db::DbError>, takes_messages: bool) {
        let mut last = self
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match failure {
            None if takes_messages => *last = None,
            None => {}
            Some(err) if err.is_refused() || err.is_contention() => {}
            Some(err) => *last = Some((Instant::now(), err.to_string())),
        }
    }

    /// The last failure, if no commit succeeded since and it is recent.
    pub(crate) fn failing(&self) -> Option<String> {
        let last = self
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < FAILURE_MEMORY)
            .map(|(_, reason)| reason.clone())
    }
}
