//! Delivery tracking: when a notice goes out on a socket, its subscription records the moment here, and one
//! task per instance writes the moments in batches (one `UPDATE` per batch of up to 10,000 notices), so a
//! fan-out to many subscriptions costs a handful of statements. While the database is away the moments wait
//! in memory and are written when it is back.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::store;
use crate::db::Pool;

/// How long a batch collects before it is written.
const GATHER: Duration = Duration::from_millis(50);
/// Notices per statement.
const BATCH: usize = 10_000;
/// Deliveries kept while the database is unreachable; older ones are dropped past this.
const MAX_PENDING: usize = 1_000_000;

/// A handle to the instance's delivery log; cheap to clone.
#[derive(Clone)]
pub struct DeliveryLog {
    tx: mpsc::UnboundedSender<(i64, DateTime<Utc>)>,
}

impl DeliveryLog {
    /// Starts the writer task; it ends when every handle is dropped and what it holds is written.
    pub fn start(pool: Pool) -> DeliveryLog {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, rx));
        DeliveryLog { tx }
    }

    /// Records that notice `id` went out on a socket now.
    pub fn record(&self, id: i64) {
        let _ = self.tx.send((id, Utc::now()));
    }
}

async fn run(pool: Pool, mut rx: mpsc::UnboundedReceiver<(i64, DateTime<Utc>)>) {
    // The earliest delivery of each notice waiting to be written.
    let mut pending: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut buf = Vec::new();
    let mut retry =
        crate::backoff::Backoff::new(Duration::from_millis(200), Duration::from_secs(5)).retry();
    let mut closed = false;
    let mut failures_after_close = 0;
    loop {
        if !closed && pending.is_empty() && rx.recv_many(&mut buf, BATCH).await == 0 {
            return;
        }
        if !closed {
            tokio::time::sleep(GATHER).await;
            loop {
                match rx.try_recv() {
                    Ok(item) => buf.push(item),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
                if buf.len() >= BATCH {
                    break;
                }
            }
        }
        for (id, at) in buf.drain(..) {
            pending
                .entry(id)
                .and_modify(|t| *t = (*t).min(at))
                .or_insert(at);
        }
        match flush(&pool, &mut pending).await {
            Ok(()) => retry.reset(),
            Err(e) => {
                tracing::warn!(error = %e, pending = pending.len(), "realtime: recording deliveries failed; retrying");
                if pending.len() > MAX_PENDING {
                    tracing::error!(
                        dropped = pending.len(),
                        "realtime: too many deliveries waiting; dropping them"
                    );
                    pending.clear();
                }
                if closed {
                    failures_after_close += 1;
                    if failures_after_close >= 3 {
                        return;
                    }
                }
                tokio::time::sleep(retry.next_delay()).await;
            }
        }
        if closed && pending.is_empty() {
            return;
        }
    }
}

/// Writes up to [`BATCH`] pending deliveries per statement until none are left.
async fn flush(pool: &Pool, pending: &mut HashMap<i64, DateTime<Utc>>) -> anyhow::Result<()> {
    while !pending.is_empty() {
        let batch: Vec<(i64, DateTime<Utc>)> = pending
            .iter()
            .take(BATCH)
            .map(|(id, at)| (*id, *at))
            .collect();
        let mut conn = pool.get().await?;
        let (ids, at): (Vec<i64>, Vec<DateTime<Utc>>) = batch.iter().copied().unzip();
        let written = store::mark_delivered(&mut conn, ids, at).await?;
        metrics::counter!("portico_notices_delivered_total").increment(written as u64);
        for (id, _) in batch {
            pending.remove(&id);
        }
    }
    Ok(())
}
