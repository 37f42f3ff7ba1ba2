//! Send pacing per number: WhatsApp bans numbers that send in bursts, so every send (reply
//! parts and outbound messages alike) takes a slot of its instance's `send_per_minute`.
//!
//! Slots follow the generic cell rate algorithm: sends are spaced `60 / send_per_minute`
//! seconds apart on average, and after a quiet spell up to a sixth of a minute's sends
//! (at least one) may go at once. A send without a slot is not slept on: its message goes
//! back to the queue until the slot (see `Change::Pace`), so the wait survives a restart and
//! follows the injected clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long a message stays counted as waiting past its slot (it was claimed elsewhere).
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// One instance's pacing, as the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceState {
    /// The instance.
    pub instance: String,
    /// Messages sent back to the queue to wait for a slot, not sent yet.
    pub waiting: usize,
    /// Times a send was put off for pacing since the start.
    pub paced_total: u64,
}

#[derive(Debug, Default)]
struct Slots {
    /// The theoretical time of the next send when sends keep to the rate.
    next: Option<DateTime<Utc>>,
    /// Messages waiting for a slot, with the slot they wait for.
    waiting: HashMap<i64, DateTime<Utc>>,
    paced_total: u64,
}

/// Send slots of every instance of this process (shared by its workers).
#[derive(Debug, Clone, Default)]
pub(crate) struct Pacer {
    slots: Arc<Mutex<HashMap<String, Slots>>>,
}

impl Pacer {
    /// Takes a send slot for message `id` of `instance` at `now`, or says how long until the
    /// next one. `per_minute` 0 is not paced.
    pub(crate) fn take(
        &self,
        instance: &str,
        id: i64,
        per_minute: u32,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        if per_minute == 0 {
            return Ok(());
        }
        let spacing = chrono::Duration::microseconds(60_000_000 / i64::from(per_minute));
        let burst = i32::try_from(per_minute.div_ceil(6)).unwrap_or(i32::MAX);
        let tolerance = spacing * (burst - 1);
        let mut all = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slots = all.entry(instance.to_owned()).or_default();
        // A message put off before holds its slot: it goes when that comes, never twice.
        if let Some(&slot) = slots.waiting.get(&id) {
            if slot <= now {
                slots.waiting.remove(&id);
                return Ok(());
            }
            return Err(wait(slot, now));
        }
        let next = slots.next.map_or(now, |next| next.max(now));
        let earliest = next - tolerance;
        slots.next = Some(next + spacing);
        if earliest <= now {
            let forget = chrono::Duration::from_std(FORGET_AFTER).unwrap_or_default();
            slots.waiting.retain(|_, slot| *slot + forget > now);
            return Ok(());
        }
        // Put off: the slot is reserved for this message, so the waiting ones go in turn.
        slots.paced_total += 1;
        slots.waiting.insert(id, earliest);
        Err(wait(earliest, now))
    }

    /// Every paced instance's state.
    pub(crate) fn states(&self) -> Vec<PaceState> {
        let all = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut states: Vec<PaceState> = all
            .iter()
            .map(|(instance, slots)| PaceState {
                instance: instance.clone(),
                waiting: slots.waiting.len(),
                paced_total: slots.paced_total,
            })
            .collect();
        states.sort_by(|a, b| a.instance.cmp(&b.instance));
        states
    }
}

fn wait(slot: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (slot - now)
        .to_std()
        .unwrap_or(Duration::from_millis(1))
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(ms)
    }

    #[test]
    fn sixty_a_minute_lets_ten_go_at_once_then_one_a_second() {
        let pacer = Pacer::default();
        for id in 0..10 {
            assert_eq!(
                pacer.take("shop", id, 60, at(0)),
                Ok(()),
                "send {id} of the burst"
            );
        }
        assert_eq!(pacer.take("shop", 10, 60, at(0)), Err(Duration::from_secs(1)));
        assert_eq!(pacer.take("shop", 10, 60, at(999)), Err(Duration::from_millis(1)));
        assert_eq!(pacer.states()[0].waiting, 1);
        assert_eq!(pacer.take("shop", 10, 60, at(1000)), Ok(()));
        assert_eq!(pacer.take("shop", 11, 60, at(1000)), Err(Duration::from_secs(1)));
        assert_eq!(pacer.take("shop", 11, 60, at(2000)), Ok(()));
        let state = &pacer.states()[0];
        assert_eq!((state.waiting, state.paced_total), (0, 2));
    }

    #[test]
    fn messages_put_off_go_in_turn() {
        let pacer = Pacer::default();
        for id in 0..10 {
            assert!(pacer.take("shop", id, 60, at(0)).is_ok());
        }
        assert_eq!(pacer.take("shop", 10, 60, at(0)), Err(Duration::from_secs(1)));
        assert_eq!(pacer.take("shop", 11, 60, at(0)), Err(Duration::from_secs(2)));
        assert_eq!(
            pacer.take("shop", 11, 60, at(1000)),
            Err(Duration::from_secs(1)),
            "11 keeps its later slot"
        );
        assert_eq!(pacer.take("shop", 10, 60, at(1000)), Ok(()));
        assert_eq!(pacer.take("shop", 12, 60, at(1000)), Err(Duration::from_secs(2)));
        assert_eq!(pacer.take("shop", 11, 60, at(2000)), Ok(()));
        assert_eq!(pacer.states()[0].waiting, 1);
    }

    #[test]
    fn instances_are_paced_apart_and_zero_is_unpaced() {
        let pacer = Pacer::default();
        assert_eq!(pacer.take("a", 1, 1, at(0)), Ok(()));
        assert_eq!(pacer.take("a", 2, 1, at(0)), Err(Duration::from_secs(60)));
        assert_eq!(pacer.take("b", 3, 1, at(0)), Ok(()));
        for id in 0..1000 {
            assert_eq!(pacer.take("c", id, 0, at(0)), Ok(()));
        }
    }

    #[test]
    fn a_quiet_spell_gives_the_burst_back_but_no_more() {
        let pacer = Pacer::default();
        for id in 0..10 {
            assert!(pacer.take("shop", id, 60, at(0)).is_ok());
        }
        let later = 3_600_000;
        for id in 10..20 {
            assert!(pacer.take("shop", id, 60, at(later)).is_ok(), "send {id}");
        }
        assert!(pacer.take("shop", 20, 60, at(later)).is_err());
    }
}
