//! The one clock every deadline reads: a cancellation's cooling-off period, an export link's expiry and an
//! export's status. In a running server it is the system clock; a test moves it forward instead of waiting,
//! and every copy (the accounts service, the jobs, the HTTP layer) sees the same time.
//!
//! Deadlines compared in SQL bind this clock's `now` rather than calling the database's `now()`, so a moved
//! clock moves them too.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// The system clock, plus however far a test has moved it forward (shared by every clone).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock, and every clone of it, forward by `by` (for tests: fifteen days pass at once).
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_move_together() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(std::time::Duration::from_secs(15 * 24 * 3600));
        let moved = copy.now() - before;
        assert!(moved >= chrono::Duration::days(15), "{moved}");
        assert!(moved < chrono::Duration::days(15) + chrono::Duration::minutes(1));
    }
}
