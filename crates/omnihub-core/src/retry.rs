//! When to try again: exponential backoff with jitter, a bounded number of attempts.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The retry policy for transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay after the first failure.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Whether another attempt is allowed after `attempts` have been made.
    pub fn allows_another(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }

    /// The delay after the `attempt`-th failure (1-based): `base · 2^(attempt-1)` capped at
    /// `max`, then scaled by a random factor in [0.8, 1.2] so retries of many messages
    /// that failed together do not arrive together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let raw = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = 0.8 + 0.4 * unit_random();
        raw.mul_f64(jitter)
    }
}

/// A number in [0, 1) from the standard library's per-process random hasher keys.
fn unit_random() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_jitter_and_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
        };
        for (attempt, nominal) in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)] {
            for _ in 0..20 {
                let d = policy.delay(attempt).as_secs_f64();
                assert!(
                    d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9,
                    "{attempt}: {d}"
                );
            }
        }
        assert!(policy.allows_another(4) && !policy.allows_another(5));
    }
}
