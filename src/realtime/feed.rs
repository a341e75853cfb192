//! The live notice feed of one gateway instance, and the stream behind each `notifications` subscription.
//!
//! A subscription first subscribes to the broker, then reads what its account has after its cursor, then waits
//! for the broker. Every read asks for the account's notices after the last id sent, so nothing is sent twice,
//! and since notice ids become visible in increasing order (the table's insert trigger), nothing is skipped.
//! What wakes a subscription: `notification:<its account>`, any `incident:<id>` or `everyone:<id>` (one
//! event for any number of recipients), a broker resync after a lost connection, or a receiver that lagged behind the broadcast. A
//! failed read is retried with backoff, so a database restart only delays notices.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use futures_util::Stream;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::delivery::DeliveryLog;
use super::loaders::{NoticeReader, PAGE};
use super::model::Notice;
use super::store;
use crate::broker::{Broker, BrokerEvent};
use crate::db::Pool;
use crate::error::AppError;

/// The broker topic of notices to one account (`notification:<account id>`).
pub const ACCOUNT_TOPIC: &str = "notification";
/// The broker topic of an incident's notices to all its recipients (`incident:<incident id>`).
pub const INCIDENT_TOPIC: &str = "incident";
/// The broker topic of a notice written to every account at once (`everyone:<first notice id>`).
pub const EVERYONE_TOPIC: &str = "everyone";

/// How a failed read of the notices is retried: from 100 ms, doubling, up to 5 s.
const READ_RETRY: crate::backoff::Backoff =
    crate::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// The instance's feed: the broker, the batched notice reader and the delivery log. Cheap to clone.
#[derive(Clone)]
pub struct Feed(Arc<Inner>);

struct Inner {
    pool: Pool,
    broker: Broker,
    reader: DataLoader<NoticeReader>,
    deliveries: DeliveryLog,
}

impl Feed {
    /// Starts the instance's feed over `pool` and `broker`.
    pub fn start(pool: Pool, broker: Broker) -> Feed {
        let reader = DataLoader::new(NoticeReader { pool: pool.clone() }, tokio::spawn)
            .delay(Duration::from_millis(1))
            .max_batch_size(1000);
        Feed(Arc::new(Inner {
            deliveries: DeliveryLog::start(pool.clone()),
            pool,
            broker,
            reader,
        }))
    }

    /// The notices of `account_id` after notice `after` (or, without a cursor, from its oldest notice never
    /// delivered), then live ones as they are written; each exactly once, in id order.
    pub fn notices(
        &self,
        account_id: i64,
        after: Option<i64>,
    ) -> impl Stream<Item = Notice> + Send + 'static {
        // Subscribe before reading anything, so a notice written during the replay still wakes us.
        let mut events = self.0.broker.subscribe();
        let feed = self.clone();
        let me = account_id.to_string();
        async_stream::stream! {
            let mut last = match after {
                Some(after) => after,
                None => feed.start_point(account_id).await,
            };
            let mut retry = READ_RETRY.retry();
            let mut stale = true;
            loop {
                if stale {
                    match feed.0.reader.load_one((account_id, last)).await {
                        Ok(page) => {
                            retry.reset();
                            let page = page.unwrap_or_default();
                            stale = page.len() >= PAGE;
                            for notice in page.iter() {
                                let id = notice.row.id;
                                if id <= last {
                                    continue;
                                }
                                last = id;
                                yield notice.clone();
                                // Polled again: the previous notice went out on the socket.
                                feed.0.deliveries.record(id);
                            }
                        }
                        Err(e) => {
                            let wait = retry.next_delay();
                            tracing::warn!(error = %e, account_id, ?wait, "realtime: reading notices failed; retrying");
                            tokio::time::sleep(wait).await;
                            // Events that arrived meanwhile are covered by the retry.
                            drain(&mut events, &me);
                        }
                    }
                    if stale {
                        continue;
                    }
                }
                match events.recv().await {
                    Ok(event) => stale = wakes(&event, &me),
                    Err(RecvError::Lagged(_)) => stale = true,
                    Err(RecvError::Closed) => break,
                }
                // One read answers every event already queued.
                stale |= drain(&mut events, &me);
            }
        }
    }

    /// Where a subscription without a cursor starts (retried until the database answers).
    async fn start_point(&self, account_id: i64) -> i64 {
        let mut retry = READ_RETRY.retry();
        loop {
            let read = async {
                let mut conn = self.0.pool.get().await?;
                Ok::<_, AppError>(store::start_point(&mut conn, account_id).await?)
            };
            match read.await {
                Ok(id) => return id,
                Err(e) => {
                    tracing::warn!(error = %e, account_id, "realtime: finding where to start failed; retrying");
                    tokio::time::sleep(retry.next_delay()).await;
                }
            }
        }
    }
}

/// Whether `event` may concern the account whose id is `me`.
fn wakes(event: &BrokerEvent, me: &str) -> bool {
    match event {
        BrokerEvent::Notify { topic, id } => {
            topic == INCIDENT_TOPIC
                || topic == EVERYONE_TOPIC
                || (topic == ACCOUNT_TOPIC && id == me)
        }
        BrokerEvent::Resync => true,
    }
}

/// Takes every queued event; true when any of them (or a lag) calls for a read.
fn drain(events: &mut Receiver<BrokerEvent>, me: &str) -> bool {
    let mut stale = false;
    loop {
        match events.try_recv() {
            Ok(event) => stale |= wakes(&event, me),
            Err(TryRecvError::Lagged(_)) => stale = true,
            Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => return stale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify(topic: &str, id: &str) -> BrokerEvent {
        BrokerEvent::Notify {
            topic: topic.into(),
            id: id.into(),
        }
    }

    #[test]
    fn wakes_only_for_its_account_incidents_and_resyncs() {
        assert!(wakes(&notify("notification", "7"), "7"));
        assert!(!wakes(&notify("notification", "70"), "7"));
        assert!(wakes(&notify("incident", "1"), "7"));
        assert!(!wakes(&notify("policy", "7"), "7"));
        assert!(!wakes(&notify("outbox", "7"), "7"));
        assert!(wakes(&BrokerEvent::Resync, "7"));
    }
}
