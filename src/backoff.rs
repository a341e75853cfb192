//! One backoff for every retry loop (outbox deliveries, broker reconnects, notice reads, delivery records):
//! exponential, doubling from `base` up to `max`, with jitter so many retries spread out. The delays come
//! from the `backon` crate; its jitter adds up to the delay again, so it runs on half the bounds, and every
//! wait lands between half and all of `base * 2^(failures - 1)` (capped at `max`).

use std::time::Duration;

use backon::BackoffBuilder;

/// Exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure (before jitter).
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max }
    }

    /// The wait after `failures` failed attempts (1 for the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let steps = failures.saturating_sub(1).min(64) as usize;
        backon::ExponentialBuilder::default()
            .with_min_delay(self.base / 2)
            .with_max_delay(self.max / 2)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(steps)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// A retry loop's state: the next wait grows with each failure until [`Retry::reset`].
    pub fn retry(self) -> Retry {
        Retry {
            backoff: self,
            failures: 0,
        }
    }
}

/// The failures of one retry loop so far.
#[derive(Debug, Clone)]
pub struct Retry {
    backoff: Backoff,
    failures: u32,
}

impl Retry {
    /// Records a failure and returns how long to wait before trying again.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.backoff.delay(self.failures)
    }

    /// Records a success: the next failure waits the shortest time again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_within_half_and_all_and_stop_at_the_cap() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (9, 256), (10, 300), (40, 300)] {
            for _ in 0..50 {
                let d = b.delay(failures);
                let full = Duration::from_secs(full);
                assert!(
                    d >= full / 2 && d <= full,
                    "{failures}: {d:?} outside {:?}..={full:?}",
                    full / 2
                );
            }
        }
        let mut r = b.retry();
        assert!(r.next_delay() <= Duration::from_secs(1));
        assert!(r.next_delay() >= Duration::from_secs(1));
        r.reset();
        assert!(r.next_delay() <= Duration::from_secs(1));
    }
}
