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

    /// Runs `on` for every event of `topic`, with its id, and with `None` whenever anything may have been missed
    /// (a reconnect, or a receiver that fell behind), from a task of its own until the broker closes.
    pub fn watch_topic(
        &self,
        topic: &'static str,
        mut on: impl FnMut(Option<&str>) + Send + 'static,
    ) {
        let mut events = self.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(BrokerEvent::Notify { topic: t, id }) if t == topic => on(Some(&id)),
                    Ok(BrokerEvent::Notify { .. }) => {}
                    Ok(BrokerEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        on(None)
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
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

/// Waits for a notification of one of `topics`, a resync (or a lag: something may have been missed) or `poll`,
/// whichever comes first; false when `shutdown` is cancelled. A job's loop: run, then wait for this.
pub async fn wait_for(
    events: &mut broadcast::Receiver<BrokerEvent>,
    shutdown: &tokio_util::sync::CancellationToken,
    poll: Duration,
    topics: &[&str],
) -> bool {
    let deadline = tokio::time::sleep(poll);
    tokio::pin!(deadline);
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return false,
            _ = &mut deadline => return true,
            event = events.recv(), if !closed => match event {
                Ok(BrokerEvent::Notify { topic: t, .. }) if topics.contains(&t.as_str()) => return true,
                Ok(BrokerEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                Ok(BrokerEvent::Notify { .. }) => {}
                Err(broadcast::error::RecvError::Closed) => closed = true,
            },
        }
    }
}

/// Per-key wake-ups for one topic: each `NOTIFY portico, '<topic>:<key>'` wakes the receivers of `key` on this
/// instance, and a resync wakes them all. One task reads the broker for every receiver, so a million events of
/// other topics cost the receivers nothing. Receivers re-check what they watch in the database.
#[derive(Clone)]
pub struct KeyedWake {
    keys: Arc<std::sync::Mutex<std::collections::HashMap<i64, KeyEntry>>>,
}

struct KeyEntry {
    tx: tokio::sync::watch::Sender<u64>,
    receivers: usize,
}

/// Wakes when its key is notified; unregisters itself when dropped.
pub struct KeyReceiver {
    rx: tokio::sync::watch::Receiver<u64>,
    key: i64,
    wake: KeyedWake,
}

impl KeyReceiver {
    /// Waits for the next wake-up of this key.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for KeyReceiver {
    fn drop(&mut self) {
        let mut keys = self.wake.keys.lock().expect("keyed wake-ups");
        if let Some(entry) = keys.get_mut(&self.key) {
            entry.receivers -= 1;
            if entry.receivers == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

impl KeyedWake {
    /// Starts reading `broker` for `topic`.
    pub fn start(broker: &Broker, topic: &'static str) -> KeyedWake {
        let wake = KeyedWake {
            keys: Arc::default(),
        };
        let task = wake.clone();
        broker.watch_topic(topic, move |id| match id {
            Some(id) => {
                if let Ok(key) = id.parse::<i64>() {
                    task.wake(Some(key));
                }
            }
            None => task.wake(None),
        });
        wake
    }

    /// A receiver woken when `key` is notified.
    pub fn watch(&self, key: i64) -> KeyReceiver {
        let mut keys = self.keys.lock().expect("keyed wake-ups");
        let entry = keys.entry(key).or_insert_with(|| KeyEntry {
            tx: tokio::sync::watch::channel(0).0,
            receivers: 0,
        });
        entry.receivers += 1;
        KeyReceiver {
            rx: entry.tx.subscribe(),
            key,
            wake: self.clone(),
        }
    }

    /// Wakes the receivers of `key`, or of every key.
    fn wake(&self, key: Option<i64>) {
        let keys = self.keys.lock().expect("keyed wake-ups");
        let bump = |e: &KeyEntry| e.tx.send_modify(|n| *n = n.wrapping_add(1));
        match key {
            Some(key) => keys.get(&key).into_iter().for_each(bump),
            None => keys.values().for_each(bump),
        }
    }
}
