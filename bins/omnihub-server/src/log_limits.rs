//! Keeps one noisy source from flooding the log: out of file descriptors, actix's accept loop
//! logs an error every 500 ms for as long as it lasts; one line a second says the same.

use std::sync::atomic::{AtomicU64, Ordering};

/// The target actix-server logs accept errors under.
pub const ACCEPT_TARGET: &str = "actix_server::accept";

/// A per-layer log filter letting at most one accept error through per second of its clock
/// (whole seconds); every other event passes untouched. It decides event by event
/// (`event_enabled`), which no callsite cache skips.
pub struct AcceptErrorFilter<C> {
    clock: C,
    last_second: AtomicU64,
}

/// The filter over `clock` (e.g. [`unix_seconds`]).
pub fn accept_error_filter<C: Fn() -> u64>(clock: C) -> AcceptErrorFilter<C> {
    AcceptErrorFilter {
        clock,
        last_second: AtomicU64::new(u64::MAX),
    }
}

impl<S, C: Fn() -> u64> tracing_subscriber::layer::Filter<S> for AcceptErrorFilter<C> {
    fn enabled(
        &self,
        _meta: &tracing::Metadata<'_>,
        _cx: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        true
    }

    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _cx: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        let meta = event.metadata();
        if meta.target() != ACCEPT_TARGET || *meta.level() != tracing::Level::ERROR {
            return true;
        }
        let now = (self.clock)();
        self.last_second.swap(now, Ordering::Relaxed) != now
    }
}

/// Whole seconds since the Unix epoch, the clock of the running server.
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn accept_errors_pass_once_a_second_and_everything_else_always() {
        let lines = Lines::default();
        let now = Arc::new(AtomicU64::new(100));
        let clock = now.clone();
        let writer = lines.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(accept_error_filter(move || clock.load(Ordering::Relaxed)));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..4 {
                tracing::error!(target: "actix_server::accept", "Error accepting connection: Too many open files");
                tracing::error!(target: "omnihub_server", "another error");
            }
            now.store(101, Ordering::Relaxed);
            tracing::error!(target: "actix_server::accept", "Error accepting connection: Too many open files");
        });
        let text =
            String::from_utf8(lines.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
        assert_eq!(text.matches("Too many open files").count(), 2, "{text}");
        assert_eq!(text.matches("another error").count(), 4, "{text}");
    }
}
