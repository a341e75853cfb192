//! Uploaded images, a building block below the domains (works and avatars use it; erasure and the export read
//! it): [`process`] makes what we publish out of the uploaded bytes (no metadata, thumbnails), [`storage`] keeps
//! the objects (a folder or S3), [`store`] the rows, and [`janitor`] removes objects nothing uses any more.
//! Serving `/media/<key>` is `http::media`.

pub mod janitor;
pub mod process;
pub mod storage;
pub mod store;

use std::sync::Arc;

use bytes::Bytes;
use diesel_async::AsyncConnection;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use storage::Storage;
pub use store::{ImageRow, Thumbnail};

use crate::db::Pool;
use crate::error::{AppError, AppResult};

/// Where an object is served.
pub fn url(key: &str) -> String {
    format!("/media/{key}")
}

/// Whether `key` is one of ours (`<64 hex>[_<width>].<jpg|png>`): anything else is not looked up at all.
pub fn is_key(key: &str) -> bool {
    let Some((stem, ext)) = key.rsplit_once('.') else {
        return false;
    };
    let (hash, width) = match stem.split_once('_') {
        Some((h, w)) => (h, Some(w)),
        None => (stem, None),
    };
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && width
            .is_none_or(|w| !w.is_empty() && w.len() <= 5 && w.bytes().all(|b| b.is_ascii_digit()))
        && matches!(ext, "jpg" | "png")
}

/// The content type of a key's extension.
pub fn content_type(key: &str) -> &'static str {
    if key.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// Uploads: processing off the async threads with bounded concurrency, then storage and the row.
#[derive(Clone)]
pub struct Media {
    pool: Pool,
    storage: Storage,
    /// At most this many images are decoded and encoded at once (each holds its pixels in memory).
    permits: Arc<Semaphore>,
}

impl Media {
    pub fn new(pool: Pool, storage: Storage) -> Media {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Media {
            pool,
            storage,
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Processes and stores one upload of `owner_id`; the row is not attached to anything yet.
    pub async fn upload(&self, owner_id: i64, bytes: Bytes) -> AppResult<ImageRow> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            process::process(&bytes)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("image processing panicked: {e}")))?
        .map_err(|refused| AppError::bad_input("file", refused.to_string()))?;
        let hash = hex::encode(Sha256::digest(&processed.full.bytes));
        let ext = processed.output.extension();
        let key = format!("{hash}.{ext}");
        let thumbnails: Vec<Thumbnail> = processed
            .thumbnails
            .iter()
            .map(|t| Thumbnail {
                width: t.width as i32,
                height: t.height as i32,
                key: format!("{hash}_{}.{ext}", t.width),
                bytes: t.bytes.len() as i64,
            })
            .collect();
        let mut wrote = false;
        let mut conn = self.pool.get().await?;
        let stored = conn
            .transaction::<_, AppError, _>(async |conn| {
                store::lock_key(conn, &key).await?;
                let present =
                    store::key_in_use(conn, &key).await? && self.storage.exists(&key).await?;
                let row = store::insert(
                    conn,
                    store::NewImage {
                        owner_id,
                        key: &key,
                        content_type: processed.output.content_type(),
                        width: processed.full.width as i32,
                        height: processed.full.height as i32,
                        bytes: processed.full.bytes.len() as i64,
                        thumbnails: &thumbnails,
                    },
                )
                .await?;
                if !present {
                    // Under the key's lock: the janitor cannot remove these while the row is on its way in.
                    wrote = true;
                    self.storage.put(&key, processed.full.bytes.clone()).await?;
                    for (t, r) in thumbnails.iter().zip(&processed.thumbnails) {
                        self.storage.put(&t.key, r.bytes.clone()).await?;
                    }
                }
                Ok(row)
            })
            .await;
        if stored.is_err() && wrote {
            // The row did not land: what was written must not stay behind.
            let mut objects = vec![key.clone()];
            objects.extend(thumbnails.iter().map(|t| t.key.clone()));
            if let Err(e) = janitor::collect(&self.pool, &self.storage, &key, &objects).await {
                tracing::warn!(error = ?e, key, "media: could not remove the objects of a failed upload");
            }
        }
        stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let h = "a".repeat(64);
        assert!(is_key(&format!("{h}.jpg")));
        assert!(is_key(&format!("{h}_320.png")));
        assert!(!is_key(&format!("{h}.gif")));
        assert!(!is_key(&format!("{h}_.jpg")));
        assert!(!is_key(&format!("../{h}.jpg")));
        assert!(!is_key(&format!("{}.jpg", "A".repeat(64))));
        assert!(!is_key("x.jpg"));
    }
}
