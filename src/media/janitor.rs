//! The media job: removes uploads that were never attached within a day, and deletes from storage the objects
//! of removed rows once no row holds their key. Woken through the broker whenever a row is deleted (the
//! `media_orphans` trigger notifies `media`), so a deleted work's pictures leave storage at once; the periodic
//! pass picks up what a failure left behind.

use std::time::Duration;

use diesel_async::AsyncConnection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Storage, store};
use crate::broker::Broker;
use crate::db::Pool;

/// How long an upload may stay attached to nothing.
pub const UNATTACHED_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How often the job runs without being woken.
const POLL: Duration = Duration::from_secs(60);
const BATCH: i64 = 100;

/// Starts the job; it ends when `shutdown` is cancelled.
pub fn start(
    pool: Pool,
    storage: Storage,
    broker: Broker,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = broker.subscribe();
        loop {
            if let Err(e) = pass(&pool, &storage).await {
                tracing::warn!(error = ?e, "media: cleaning pass failed; retrying later");
            }
            if !crate::broker::wait_for(&mut events, &shutdown, POLL, &["media"]).await {
                break;
            }
        }
    })
}

/// One pass: expire unattached uploads, then collect every queued orphan. Returns the objects deleted.
pub async fn pass(pool: &Pool, storage: &Storage) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let expired = store::expire_unattached(&mut conn, chrono::Utc::now() - UNATTACHED_TTL).await?;
    if expired > 0 {
        tracing::info!(
            expired,
            "media: removed uploads never attached within a day"
        );
    }
    let mut deleted = 0;
    loop {
        let batch = store::orphans(&mut conn, BATCH).await?;
        let done = (batch.len() as i64) < BATCH;
        for (key, objects) in batch {
            deleted += collect(pool, storage, &key, &objects).await?;
        }
        if done {
            return Ok(deleted);
        }
    }
}

/// Deletes `objects` (the key's file and its thumbnails) unless a row holds `key`, under the key's lock so
/// that no upload of the same picture is in between. Returns the objects deleted.
pub async fn collect(
    pool: &Pool,
    storage: &Storage,
    key: &str,
    objects: &[String],
) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        store::lock_key(conn, key).await?;
        let mut deleted = 0;
        if !store::key_in_use(conn, key).await? {
            for object in objects {
                storage.delete(object).await?;
                deleted += 1;
            }
        }
        store::forget_orphan(conn, key).await?;
        Ok(deleted)
    })
    .await
}
