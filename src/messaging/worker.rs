//! The delivery worker: claims due messages, sends them, and marks them sent or schedules a retry.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::outbox::{self, Claimed, TOPIC};
use super::{Message, Sender};
use crate::broker::Broker;
use crate::crypto::DataKeys;
use crate::db::Pool;

use crate::backoff::Backoff;

/// How the worker claims and retries.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Waits between failed attempts.
    pub backoff: Backoff,
    /// How long a claimed message is kept from other workers. Must exceed `send_timeout`: a batch is sent
    /// concurrently, so a pass takes at most about one `send_timeout`.
    pub lease: Duration,
    /// The most messages claimed at once.
    pub batch: i64,
    /// The longest one send may take, whatever the sender (the webhook's own timeout is 10 s).
    pub send_timeout: Duration,
    /// The worker looks for due messages at least this often, notifications or not.
    pub poll_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // From one second, doubling, up to five minutes.
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
            lease: Duration::from_secs(30),
            batch: 32,
            send_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// One delivery pass with the default [`Settings`]; see [`deliver_due_with`].
pub async fn deliver_due(
    pool: &Pool,
    keys: &DataKeys,
    sender: &dyn Sender,
) -> anyhow::Result<usize> {
    deliver_due_with(pool, keys, sender, &Settings::default()).await
}

/// One delivery pass: claims up to `settings.batch` due messages, sends them concurrently, and records each
/// outcome. Returns how many were delivered. Fails when the claim fails or an outcome could not be recorded
/// (that message is sent again when its lease runs out).
pub async fn deliver_due_with(
    pool: &Pool,
    keys: &DataKeys,
    sender: &dyn Sender,
    settings: &Settings,
) -> anyhow::Result<usize> {
    Ok(pass(pool, keys, sender, settings).await?.sent)
}

/// Starts the worker with the default [`Settings`]; see [`start_with`].
pub fn start(
    pool: Pool,
    keys: DataKeys,
    sender: Arc<dyn Sender>,
    broker: Broker,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    start_with(pool, keys, sender, broker, shutdown, Settings::default())
}

/// Starts the worker: it delivers what is due, then waits for an `outbox` notification, a broker resync or
/// `settings.poll_interval`, and again, until `shutdown` is cancelled. A pass in progress finishes first.
pub fn start_with(
    pool: Pool,
    keys: DataKeys,
    sender: Arc<dyn Sender>,
    broker: Broker,
    shutdown: CancellationToken,
    settings: Settings,
) -> JoinHandle<()> {
    // Subscribe before the first pass, so a message enqueued during it still wakes us.
    let mut events = broker.subscribe();
    tokio::spawn(async move {
        tracing::debug!("outbox worker started");
        while !shutdown.is_cancelled() {
            let full = match pass(&pool, &keys, &*sender, &settings).await {
                Ok(p) => i64::try_from(p.claimed).is_ok_and(|n| n >= settings.batch),
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "outbox: delivery pass failed");
                    false
                }
            };
            // A full batch means more may be due right away.
            if !full
                && !crate::broker::wait_for(
                    &mut events,
                    &shutdown,
                    settings.poll_interval,
                    &[TOPIC],
                )
                .await
            {
                break;
            }
        }
        tracing::debug!("outbox worker stopped");
    })
}

struct PassOutcome {
    claimed: usize,
    sent: usize,
}

async fn pass(
    pool: &Pool,
    keys: &DataKeys,
    sender: &dyn Sender,
    settings: &Settings,
) -> anyhow::Result<PassOutcome> {
    let claimed = {
        let mut conn = pool.get().await.context("outbox: no database connection")?;
        outbox::claim_due(&mut conn, settings.batch, settings.lease)
            .await
            .context("outbox: claiming due messages")?
    };
    let total = claimed.len();
    let mut attempts: FuturesUnordered<_> = claimed
        .into_iter()
        .map(|row| attempt(keys, sender, settings.send_timeout, row))
        .collect();
    let (mut sent, mut failure) = (0, None);
    // Record each outcome as soon as it is known, so a crash mid-batch re-sends as little as possible.
    while let Some((row, outcome)) = attempts.next().await {
        match record(pool, settings, &row, outcome).await {
            Ok(delivered) => sent += usize::from(delivered),
            Err(e) => {
                tracing::error!(
                    message_id = row.id,
                    error = format!("{e:#}"),
                    "outbox: outcome not recorded"
                );
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(PassOutcome {
            claimed: total,
            sent,
        }),
    }
}

/// Opens and sends one claimed message; the error text is safe to store.
async fn attempt(
    keys: &DataKeys,
    sender: &dyn Sender,
    timeout: Duration,
    row: Claimed,
) -> (Claimed, Result<(), String>) {
    let msg = match keys.open(
        crate::crypto::Column::OutboxPayload,
        row.id,
        &row.payload_ciphertext,
    ) {
        Err(_) => {
            return (
                row,
                Err("payload cannot be opened with the configured keys".into()),
            );
        }
        Ok(json) => match serde_json::from_slice::<Message>(&json) {
            Ok(msg) => msg,
            Err(_) => return (row, Err("payload is not a valid message".into())),
        },
    };
    let send = AssertUnwindSafe(sender.send(row.id, &msg)).catch_unwind();
    let outcome = match tokio::time::timeout(timeout, send).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(_panic)) => Err("sender panicked".into()),
        Err(_) => Err(format!("timed out after {timeout:?}")),
    };
    (row, outcome)
}

/// Marks the message sent, or schedules its retry; true when it was delivered.
async fn record(
    pool: &Pool,
    settings: &Settings,
    row: &Claimed,
    outcome: Result<(), String>,
) -> anyhow::Result<bool> {
    let mut conn = pool.get().await.context("outbox: no database connection")?;
    let channel = row.channel.clone();
    match outcome {
        Ok(()) => {
            outbox::mark_sent(&mut conn, row.id).await?;
            metrics::counter!("portico_messages_sent_total", "channel" => channel).increment(1);
            tracing::debug!(message_id = row.id, "outbox: message delivered");
            Ok(true)
        }
        Err(error) => {
            let failures = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
            let retry_in = settings.backoff.delay(failures);
            outbox::mark_failed(&mut conn, row.id, &error, retry_in).await?;
            metrics::counter!("portico_message_failures_total", "channel" => channel).increment(1);
            tracing::warn!(message_id = row.id, failures, ?retry_in, %error, "outbox: delivery failed; will retry");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lease_outlasts_a_send() {
        let s = Settings::default();
        assert!(s.lease > s.send_timeout);
        assert!(s.send_timeout > super::super::sender::WEBHOOK_TIMEOUT);
    }
}
