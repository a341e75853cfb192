//! The event broker, a building block below every domain: one `LISTEN` connection per gateway instance, fanned out in-process through a broadcast channel.
//!
//! Writers `NOTIFY portico, '<topic>:<id>'` (small ids only; rows are re-read from their tables, which stay the
//! source of truth). When the listening connection is lost the broker reconnects with exponential backoff and
//! then publishes [`BrokerEvent::Resync`], so every subscriber re-reads what it may have missed from the table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;

/// The one channel every writer notifies.
pub const CHANNEL: &str = "portico";

/// What subscribers receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerEvent {
    /// A row of `topic` with `id` was written.
    Notify { topic: String, id: String },
    /// The listener reconnected: anything may have been missed, re-read from the tables.
    Resync,
}

/// A handle to the broker; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    tx: broadcast::Sender<BrokerEvent>,
    connected: Arc<AtomicBool>,
}

impl Broker {
    /// Starts the listener task for `url`. It runs until the process ends.
    pub fn start(url: String) -> Broker {
        let (tx, _) = broadcast::channel(4096);
        let broker = Broker {
            tx,
            connected: Arc::new(AtomicBool::new(false)),
        };
        let task = broker.clone();
        tokio::spawn(async move { task.listen_forever(url).await });
        broker
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BrokerEvent> {
        self.tx.subscribe()
    }

    /// Whether the listening connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    async fn listen_forever(self, url: String) {
        let mut retry =
            crate::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
                .retry();
        let mut first = true;
        loop {
            let outcome = self.listen_once(&url, &mut first, &mut retry).await;
            let wait = retry.next_delay();
            match outcome {
                Ok(()) => tracing::warn!("broker: listening connection closed; reconnecting"),
                Err(e) => {
                    tracing::warn!(error = %e, ?wait, "broker: listening connection failed")
                }
            }
            self.connected.store(false, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    async fn listen_once(
        &self,
        url: &str,
        first: &mut bool,
        retry: &mut crate::backoff::Retry,
    ) -> anyhow::Result<()> {
        let mut conn = crate::db::establish(url).await?;
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!("LISTEN {CHANNEL}")),
            &mut conn,
        )
        .await?;
        self.connected.store(true, Ordering::Relaxed);
        retry.reset();
        if !std::mem::take(first) {
            tracing::info!("broker: reconnected; asking subscribers to resync");
        }
        // Subscribers that started while we were down must re-read too.
        let _ = self.tx.send(BrokerEvent::Resync);
        loop {
            // Notifications queue inside the connection while we probe it, so nothing is lost between loops.
            {
                let stream = conn.notifications_stream();
                let mut stream = std::pin::pin!(stream);
                let deadline = tokio::time::sleep(Duration::from_secs(10));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        item = stream.next() => match item {
                            Some(Ok(n)) => self.dispatch(&n.payload),
                            Some(Err(e)) => return Err(e.into()),
                            None => return Ok(()),
                        },
                        _ = &mut deadline => break,
                    }
                }
            }
            // A silent network loss shows up here rather than as a stream that never ends.
            tokio::time::timeout(
                Duration::from_secs(5),
                diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut conn),
            )
            .await
            .map_err(|_| anyhow::anyhow!("listener probe timed out"))??;
        }
    }

    fn dispatch(&self, payload: &str) {
        if let Some((topic, id)) = payload.split_once(':') {
            let _ = self.tx.send(BrokerEvent::Notify {
                topic: topic.to_string(),
                id: id.to_string(),
            });
        } else {
            tracing::warn!(payload, "broker: ignoring a notification without topic");
        }
    }
}

/// The SQL a writer runs (inside its transaction) to announce a row: delivered only when it commits.
pub fn notify_sql(topic: &str, id: i64) -> String {
    debug_assert!(topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    format!("SELECT pg_notify('{CHANNEL}', '{topic}:{id}')")
}
