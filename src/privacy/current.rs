//! The policy in force, remembered until the broker announces a new version (`policy:<id>`, sent in the
//! transaction that publishes one, by `publish_policy_version` or by hand). Every visitor's `privacyPolicy`
//! is the same answer, and it was two statements a request. As with remembered sessions
//! (`accounts::live_sessions`): nothing is served from memory while the broker's listening connection is
//! down, a resync forgets it, and a read that raced an announcement is not kept (an epoch bumped by each).

use std::sync::{Arc, Mutex};

use super::model::Policy;
use super::policy::POLICY_TOPIC;
use crate::broker::Broker;
use crate::db::Pool;
use crate::error::AppResult;

/// The remembered policy; cheap to clone.
#[derive(Clone)]
pub struct CurrentPolicy {
    inner: Arc<Inner>,
}

struct Inner {
    broker: Broker,
    /// The epoch (bumped by every announcement) and the policy read in it.
    state: Mutex<(u64, Option<Arc<Policy>>)>,
}

impl CurrentPolicy {
    /// Starts forgetting the policy as `broker` announces new versions.
    pub fn start(broker: &Broker) -> CurrentPolicy {
        let current = CurrentPolicy {
            inner: Arc::new(Inner {
                broker: broker.clone(),
                state: Mutex::new((0, None)),
            }),
        };
        let this = current.clone();
        broker.watch_topic(POLICY_TOPIC, move |_| this.forget());
        current
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Option<Arc<Policy>>)> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self) {
        let mut state = self.lock();
        state.0 += 1;
        state.1 = None;
    }

    /// The policy in force now: from memory, or read (and remembered while the broker listens).
    pub async fn get(&self, pool: &Pool) -> AppResult<Option<Arc<Policy>>> {
        let listening = self.inner.broker.is_connected();
        let epoch = {
            let state = self.lock();
            if listening && let Some(policy) = &state.1 {
                return Ok(Some(policy.clone()));
            }
            state.0
        };
        let Some(policy) = super::service::current_policy(pool).await? else {
            return Ok(None);
        };
        let policy = Arc::new(policy);
        if listening {
            let mut state = self.lock();
            if state.0 == epoch {
                state.1 = Some(policy.clone());
            }
        }
        Ok(Some(policy))
    }
}
