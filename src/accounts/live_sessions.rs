//! Live sessions remembered for a few seconds (`PORTICO_SESSION_CACHE_MS`, default 5 s), so a member's run of
//! reads is checked against the database once instead of on every request: the session check was one of the
//! signed-in feed's two statements.
//!
//! What ends a session's access announces `access:<account id>` when it commits (the triggers of migration
//! `2026-12-07-000009_access_notify`: a session revoked, the account's status, role, suspension or phone
//! changed), and every instance's broker delivers it; the entry is forgotten on receipt, on every instance.
//! Nothing stale outlives that:
//! - every mutation on this instance forgets every entry when it finishes, so a member who signs out, or staff
//!   who suspend an account, see the effect on their next request to this instance without waiting for the
//!   broker's round trip;
//! - a check read from the database is remembered only when no access change arrived while it was read (an
//!   epoch bumped by each forgetting), so a read racing a revocation cannot store what it revoked;
//! - while the broker's listening connection is down, or after it reconnects (events may have been missed),
//!   nothing is served from memory and everything is forgotten;
//! - an entry is never used longer than the configured time, whatever the broker did.
//!
//! Hand-written rather than a cache crate's: the epoch rule and the per-account forgetting are the point, and
//! the map is small (the sessions seen here in the last few seconds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::broker::Broker;
use crate::graphql::viewer::Role;

/// At most this many sessions are remembered; past it the expired ones go, then all of them.
const MAX_ENTRIES: usize = 100_000;

/// A session found live, as the check read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSession {
    pub account_id: i64,
    pub role: Role,
    pub has_phone: bool,
}

/// The remembered checks of one instance; cheap to clone.
#[derive(Clone)]
pub struct LiveSessions {
    inner: Arc<Inner>,
}

struct Inner {
    ttl: Duration,
    /// Set by [`LiveSessions::listen`]: until then (and while it is disconnected) nothing is remembered.
    broker: OnceLock<Broker>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bumped whenever something is forgotten.
    epoch: u64,
    by_session: HashMap<i64, (LiveSession, Instant)>,
}

/// A ticket taken before reading the database: [`LiveSessions::remember`] keeps what was read only if nothing
/// was forgotten since.
#[derive(Debug, Clone, Copy)]
pub struct Epoch(u64);

impl LiveSessions {
    /// Remembers checks for `ttl` (zero: never) once [`LiveSessions::listen`] has a broker.
    pub fn new(ttl: Duration) -> LiveSessions {
        LiveSessions {
            inner: Arc::new(Inner {
                ttl,
                broker: OnceLock::new(),
                state: Mutex::default(),
            }),
        }
    }

    /// Forgets accounts as the broker announces their access changes (and everything on a resync).
    pub fn listen(&self, broker: &Broker) {
        if self.inner.ttl.is_zero() || self.inner.broker.set(broker.clone()).is_err() {
            return;
        }
        let this = self.clone();
        broker.watch_topic("access", move |id| {
            match id.and_then(|id| id.parse::<i64>().ok()) {
                Some(account) => this.forget_account(account),
                None => this.forget_all(),
            }
        });
    }

    /// Whether remembering is on and the broker can currently tell us about revocations.
    fn usable(&self) -> bool {
        !self.inner.ttl.is_zero() && self.inner.broker.get().is_some_and(Broker::is_connected)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The remembered check of `session_id`, when it belongs to `account_id` and is recent enough.
    pub fn get(&self, session_id: i64, account_id: i64) -> Option<LiveSession> {
        if !self.usable() {
            return None;
        }
        let state = self.state();
        let (live, checked) = state.by_session.get(&session_id)?;
        (live.account_id == account_id && checked.elapsed() < self.inner.ttl).then_some(*live)
    }

    /// Taken before the database is read; `None` when nothing would be remembered anyway.
    pub fn epoch(&self) -> Option<Epoch> {
        self.usable().then(|| Epoch(self.state().epoch))
    }

    /// Remembers a check read after `epoch` was taken, unless something was forgotten in between.
    pub fn remember(&self, epoch: Epoch, session_id: i64, live: LiveSession) {
        let ttl = self.inner.ttl;
        let mut state = self.state();
        if state.epoch != epoch.0 {
            return;
        }
        if state.by_session.len() >= MAX_ENTRIES {
            state
                .by_session
                .retain(|_, (_, checked)| checked.elapsed() < ttl);
            if state.by_session.len() >= MAX_ENTRIES {
                state.by_session.clear();
            }
        }
        state.by_session.insert(session_id, (live, Instant::now()));
    }

    /// Forgets every session of `account_id`.
    pub fn forget_account(&self, account_id: i64) {
        let mut state = self.state();
        state.epoch += 1;
        state
            .by_session
            .retain(|_, (live, _)| live.account_id != account_id);
    }

    /// Forgets every session (a mutation finished here, or the broker may have missed events).
    pub fn forget_all(&self) {
        let mut state = self.state();
        state.epoch += 1;
        state.by_session.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(account_id: i64) -> LiveSession {
        LiveSession {
            account_id,
            role: Role::User,
            has_phone: true,
        }
    }

    // These caches have no broker, so `get` and `epoch` refuse to serve: the tests read the map directly (the
    // broker's part is tested against a real one in tests/it/live_sessions.rs).
    fn put(cache: &LiveSessions, session: i64, account: i64) {
        let epoch = Epoch(cache.state().epoch);
        cache.remember(epoch, session, live(account));
    }

    fn peek(cache: &LiveSessions, session: i64, account: i64) -> Option<LiveSession> {
        let state = cache.state();
        let (l, checked) = state.by_session.get(&session)?;
        (l.account_id == account && checked.elapsed() < cache.inner.ttl).then_some(*l)
    }

    #[test]
    fn a_check_read_while_something_was_forgotten_is_not_kept() {
        let cache = LiveSessions::new(Duration::from_secs(5));
        let before = Epoch(cache.state().epoch);
        cache.forget_account(9);
        cache.remember(before, 1, live(7));
        assert_eq!(peek(&cache, 1, 7), None);
        put(&cache, 1, 7);
        assert_eq!(peek(&cache, 1, 7), Some(live(7)));
    }

    #[test]
    fn forgetting_an_account_leaves_the_others() {
        let cache = LiveSessions::new(Duration::from_secs(5));
        put(&cache, 1, 7);
        put(&cache, 2, 7);
        put(&cache, 3, 8);
        cache.forget_account(7);
        assert_eq!(peek(&cache, 1, 7), None);
        assert_eq!(peek(&cache, 2, 7), None);
        assert_eq!(peek(&cache, 3, 8), Some(live(8)));
        cache.forget_all();
        assert_eq!(peek(&cache, 3, 8), None);
    }

    #[test]
    fn a_session_of_another_account_or_past_its_time_is_not_served() {
        let cache = LiveSessions::new(Duration::from_millis(30));
        put(&cache, 1, 7);
        assert_eq!(peek(&cache, 1, 8), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(peek(&cache, 1, 7), None);
    }

    #[test]
    fn nothing_is_served_without_a_broker() {
        let cache = LiveSessions::new(Duration::from_secs(5));
        put(&cache, 1, 7);
        assert_eq!(cache.get(1, 7), None);
        assert!(cache.epoch().is_none());
    }
}
