//! The push delivery worker: claims due deliveries, sends each to its service, and records the outcomes.
//!
//! A pass claims a batch (oldest first, leased, `SKIP LOCKED`, so gateways work side by side), sends the
//! pushes of different devices concurrently and those of one device one after another in notice order, and
//! records the outcomes in a handful of statements: delivered (one `UPDATE` for all), gone (the device is
//! deleted, and its queue with it), refused or expired (ended), or failed (retried with backoff and jitter).
//! A pass in progress finishes before shutdown, so a restart sends nothing twice; a crash re-sends only what
//! was in flight, after its lease, and the services collapse the repeat (`Topic`, `apns-collapse-id`).

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use futures_util::FutureExt;
use futures_util::stream::{self, StreamExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::store::{self, Claimed};
use crate::backoff::Backoff;
use crate::broker::{Broker, wait_for};
use crate::crypto::DataKeys;
use crate::db::Pool;
use crate::push::{MAX_BODY_CHARS, Payload, Push, PushError, PushSender, Urgency, shorten};
use crate::realtime::feed::{ACCOUNT_TOPIC, EVERYONE_TOPIC, INCIDENT_TOPIC};
use crate::realtime::model::NoticeKind;

/// How the worker claims, sends and retries.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Waits between failed attempts.
    pub backoff: Backoff,
    /// How long a claimed delivery is kept from other workers; more than `send_timeout`.
    pub lease: Duration,
    /// The most deliveries claimed at once.
    pub batch: i64,
    /// The most pushes in flight at once.
    pub concurrency: usize,
    /// The longest one send may take.
    pub send_timeout: Duration,
    /// The worker looks for due deliveries at least this often.
    pub poll_interval: Duration,
    /// Passes run side by side, so one claims and records while another sends (`SKIP LOCKED` keeps their
    /// batches apart and the claim's per-device rule keeps each device's order).
    pub passes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(600)),
            lease: Duration::from_secs(60),
            batch: 1000,
            concurrency: 256,
            send_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
            passes: 2,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub delivered: usize,
    pub failed: usize,
    pub gone: usize,
    pub ended: usize,
}

/// The topics announced with every statement that writes notices (and so queues pushes).
const NOTICE_TOPICS: [&str; 3] = [ACCOUNT_TOPIC, EVERYONE_TOPIC, INCIDENT_TOPIC];

/// Starts the worker: `settings.passes` loops, each a pass, then a wait for a notice, a resync or the poll
/// interval, until `shutdown`. A pass in progress finishes first.
pub fn start(
    pool: Pool,
    keys: DataKeys,
    sender: Arc<dyn PushSender>,
    broker: Broker,
    shutdown: CancellationToken,
    settings: Settings,
) -> JoinHandle<()> {
    let loops: Vec<JoinHandle<()>> = (0..settings.passes.max(1))
        .map(|_| {
            let (pool, keys, sender, settings) =
                (pool.clone(), keys.clone(), sender.clone(), settings.clone());
            let (mut events, shutdown) = (broker.subscribe(), shutdown.clone());
            tokio::spawn(async move {
                while !shutdown.is_cancelled() {
                    let full = match deliver_due(&pool, &keys, &*sender, &settings).await {
                        Ok(p) => i64::try_from(p.claimed).is_ok_and(|n| n >= settings.batch),
                        Err(e) => {
                            tracing::warn!(error = format!("{e:#}"), "push: delivery pass failed");
                            false
                        }
                    };
                    // A full batch means more may be due right away.
                    if !full
                        && !wait_for(
                            &mut events,
                            &shutdown,
                            settings.poll_interval,
                            &NOTICE_TOPICS,
                        )
                        .await
                    {
                        return;
                    }
                }
            })
        })
        .collect();
    tokio::spawn(async move {
        for running in loops {
            let _ = running.await;
        }
    })
}

/// One pass: claims up to `settings.batch` due deliveries, sends them and records the outcomes.
pub async fn deliver_due(
    pool: &Pool,
    keys: &DataKeys,
    sender: &dyn PushSender,
    settings: &Settings,
) -> anyhow::Result<Pass> {
    let claimed = {
        let mut conn = pool.get().await.context("push: no database connection")?;
        store::claim_due(&mut conn, settings.batch, settings.lease)
            .await
            .context("push: claiming due deliveries")?
    };
    let mut pass = Pass {
        claimed: claimed.len(),
        ..Pass::default()
    };
    if claimed.is_empty() {
        return Ok(pass);
    }
    // One queue per device, in notice order.
    let mut queues: BTreeMap<i64, Vec<Claimed>> = BTreeMap::new();
    for row in claimed {
        queues.entry(row.device_id).or_default().push(row);
    }
    let outcomes: Vec<Vec<(Claimed, Outcome)>> = stream::iter(queues.into_values())
        .map(|queue| send_queue(keys, sender, settings.send_timeout, queue))
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    let mut delivered = Vec::new();
    let mut expired = Vec::new();
    let mut gone = Vec::new();
    let mut refused = Vec::new();
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (row, outcome) in outcomes.into_iter().flatten() {
        match outcome {
            Outcome::Delivered => delivered.push(row.id),
            Outcome::Expired => expired.push(row.id),
            Outcome::Gone => gone.push(row.device_id),
            Outcome::Refused(e) => refused.push((row.id, e)),
            Outcome::Failed(e) => failed.push((row, e)),
            Outcome::Skipped => skipped.push(row.id),
        }
    }
    gone.sort_unstable();
    gone.dedup();
    let mut conn = pool.get().await.context("push: no database connection")?;
    store::mark_delivered(&mut conn, &delivered).await?;
    store::mark_ended(&mut conn, &expired, "expired", None).await?;
    for (id, error) in &refused {
        store::mark_ended(&mut conn, &[*id], "refused", Some(error)).await?;
    }
    store::delete_ids(&mut conn, &gone).await?;
    for (row, error) in &failed {
        let failures = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
        let retry_in = settings.backoff.delay(failures);
        store::mark_failed(&mut conn, row.id, error, retry_in).await?;
        tracing::warn!(delivery = row.id, failures, ?retry_in, %error, "push: delivery failed; will retry");
    }
    // After the failures are recorded, so the skipped ones wait behind them.
    store::release(&mut conn, &skipped).await?;
    metrics::counter!("portico_pushes_delivered_total").increment(delivered.len() as u64);
    metrics::counter!("portico_push_failures_total").increment(failed.len() as u64);
    pass.delivered = delivered.len();
    pass.failed = failed.len();
    pass.gone = gone.len();
    pass.ended = expired.len() + refused.len();
    Ok(pass)
}

enum Outcome {
    Delivered,
    Expired,
    Gone,
    Refused(String),
    Failed(String),
    /// Not tried: an earlier push to the same device failed, so this one waits its turn.
    Skipped,
}

/// Sends one device's pushes in order; after a failure the rest wait (their lease runs out behind the retry).
async fn send_queue(
    keys: &DataKeys,
    sender: &dyn PushSender,
    timeout: Duration,
    queue: Vec<Claimed>,
) -> Vec<(Claimed, Outcome)> {
    let mut out = Vec::with_capacity(queue.len());
    let mut blocked = false;
    for row in queue {
        if blocked {
            out.push((row, Outcome::Skipped));
            continue;
        }
        let outcome = send_one(keys, sender, timeout, &row).await;
        blocked = matches!(outcome, Outcome::Failed(_) | Outcome::Gone);
        out.push((row, outcome));
    }
    out
}

async fn send_one(
    keys: &DataKeys,
    sender: &dyn PushSender,
    timeout: Duration,
    row: &Claimed,
) -> Outcome {
    let remaining = row.expires_at - Utc::now();
    let Ok(ttl) = remaining.to_std() else {
        return Outcome::Expired;
    };
    let target = match super::open_target(keys, row.device_id, &row.target_ciphertext) {
        Ok(t) => t,
        Err(_) => {
            return Outcome::Failed("the device cannot be opened with the configured keys".into());
        }
    };
    let push = Push {
        payload: payload(row),
        urgency: Urgency::parse(&row.urgency),
        ttl,
        delivery_id: row.id,
    };
    let send = AssertUnwindSafe(sender.send(&target, &push)).catch_unwind();
    match tokio::time::timeout(timeout, send).await {
        Ok(Ok(Ok(()))) => Outcome::Delivered,
        Ok(Ok(Err(PushError::Gone(why)))) => {
            tracing::info!(device = row.device_id, %why, "push: device gone; removed");
            Outcome::Gone
        }
        Ok(Ok(Err(PushError::Refused(why)))) => Outcome::Refused(why),
        Ok(Ok(Err(e))) => Outcome::Failed(e.to_string()),
        Ok(Err(_panic)) => Outcome::Failed("sender panicked".into()),
        Err(_) => Outcome::Failed(format!("timed out after {timeout:?}")),
    }
}

/// What the push carries: the notice's id, kind, title, a short body and its incident.
fn payload(row: &Claimed) -> Payload {
    let kind = NoticeKind::parse(&row.notice_kind)
        .map_or("ANNOUNCEMENT", |k| match k {
            NoticeKind::SecurityIncident => "SECURITY_INCIDENT",
            NoticeKind::AccountSecurity => "ACCOUNT_SECURITY",
            NoticeKind::Social => "SOCIAL",
            NoticeKind::Announcement => "ANNOUNCEMENT",
        })
        .to_string();
    Payload {
        id: crate::graphql::ids::encode("Notification", row.notification_id).0,
        kind,
        title: shorten(&row.title, MAX_BODY_CHARS),
        body: shorten(&row.body, MAX_BODY_CHARS),
        incident_id: row
            .incident_id
            .map(|id| crate::graphql::ids::encode("Incident", id).0),
    }
}
