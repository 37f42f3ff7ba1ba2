//! Reading a webhook body under limits an anonymous client cannot exceed: a size limit, a
//! memory budget shared by every body being read at once, a total deadline and a longest
//! gap between two reads. The body is read only after the request was admitted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{Bytes, BytesMut, Payload};
use futures_util::StreamExt;
use tokio::time::Instant;

/// The limits on reading one webhook body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// The whole body must arrive within this.
    pub total: Duration,
    /// Longest wait for the next piece of the body.
    pub idle: Duration,
}

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than [`BodyLimits::max_bytes`].
    TooLarge(usize),
    /// The shared memory budget is used up by other bodies being read.
    Busy,
    /// The body did not arrive in time (`true`: a gap between reads was too long).
    TimedOut(bool),
    /// The client broke the body off or sent a malformed one.
    Broken(String),
}

/// Bytes of webhook bodies being held in memory at once, shared by every worker.
#[derive(Debug, Clone)]
pub struct InflightBudget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

/// The part of the budget one body holds; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    used: Arc<AtomicUsize>,
    bytes: usize,
}

impl InflightBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            used: Arc::default(),
            limit,
        }
    }

    /// Bytes held right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// An empty reservation against this budget.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            used: self.used.clone(),
            bytes: 0,
        }
    }

    /// Grows `reservation` by `more` bytes if the budget allows it.
    pub fn grow(&self, reservation: &mut Reservation, more: usize) -> bool {
        let fits = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|total| *total <= self.limit)
            })
            .is_ok();
        if fits {
            reservation.bytes += more;
        }
        fits
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Reads `payload` (announced as `declared` bytes, when the client said) within `limits`,
/// holding its bytes against `budget` until the returned reservation is dropped.
pub async fn read_body(
    mut payload: Payload,
    declared: Option<usize>,
    limits: BodyLimits,
    budget: &InflightBudget,
) -> Result<(Bytes, Reservation), BodyError> {
    let mut reservation = budget.reservation();
    if let Some(declared) = declared {
        if declared > limits.max_bytes {
            return Err(BodyError::TooLarge(limits.max_bytes));
        }
        // Known up front: take it all now, so a refused body is not read at all.
        if !budget.grow(&mut reservation, declared) {
            return Err(BodyError::Busy);
        }
    }
    let deadline = Instant::now() + limits.total;
    let mut body = BytesMut::with_capacity(declared.unwrap_or(8 * 1024).min(limits.max_bytes));
    loop {
        let gap_ends = Instant::now() + limits.idle;
        let next = match tokio::time::timeout_at(gap_ends.min(deadline), payload.next()).await {
            Ok(next) => next,
            Err(_) => return Err(BodyError::TimedOut(gap_ends < deadline)),
        };
        let chunk = match next {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(err)) => return Err(BodyError::Broken(err.to_string())),
        };
        let len = body.len() + chunk.len();
        if len > limits.max_bytes {
            return Err(BodyError::TooLarge(limits.max_bytes));
        }
        let missing = len.saturating_sub(reservation.bytes);
        if missing > 0 && !budget.grow(&mut reservation, missing) {
            return Err(BodyError::Busy);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), reservation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = InflightBudget::new(100);
        let mut first = budget.reservation();
        assert!(budget.grow(&mut first, 60));
        let mut second = budget.reservation();
        assert!(!budget.grow(&mut second, 41), "over the shared limit");
        assert!(budget.grow(&mut second, 40));
        assert_eq!(budget.used(), 100);
        drop(first);
        assert_eq!(budget.used(), 40);
        drop(second);
        assert_eq!(budget.used(), 0);
    }
}
