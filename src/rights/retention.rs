//! The retention job: what is kept only as long as it serves its purpose is removed when its period ends
//! (`PORTICO_RETENTION_*`, defaults in the README, one row per table). Each domain deletes its own rows; this
//! module runs them together, on a timer, and logs what went.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Retention;
use crate::db::Pool;
use crate::error::AppResult;

/// What one pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub accounts: crate::accounts::retention::Purged,
    pub queued_messages: usize,
    /// Ended push deliveries (delivered, expired or refused), kept as long as queued messages.
    pub ended_pushes: usize,
}

impl RetentionReport {
    pub fn total(&self) -> usize {
        self.accounts.total() + self.queued_messages + self.ended_pushes
    }
}

/// One pass over every table with a retention period.
pub async fn run_once(pool: &Pool, retention: &Retention) -> AppResult<RetentionReport> {
    let mut conn = pool.get().await?;
    let accounts = crate::accounts::retention::purge(&mut conn, retention).await?;
    let queued_messages =
        crate::messaging::outbox::purge_older_than(&mut conn, retention.messages).await?;
    let ended_pushes =
        crate::realtime::devices::store::purge_older_than(&mut conn, retention.messages).await?;
    Ok(RetentionReport {
        accounts,
        queued_messages,
        ended_pushes,
    })
}

/// Runs [`run_once`] every `retention.interval` until `shutdown`.
pub fn start(
    pool: Pool,
    retention: Retention,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(retention.interval.max(Duration::from_secs(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match run_once(&pool, &retention).await {
                Ok(report) if report.total() == 0 => {}
                Ok(report) => tracing::info!(?report, "retention: removed expired records"),
                Err(e) => tracing::warn!(error = %e, "the retention job could not run"),
            }
        }
    })
}
