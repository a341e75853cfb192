//! Object storage through `object_store`: a local folder by default, or an S3-compatible bucket. Keys are
//! content addressed (`<sha-256>.<ext>`, thumbnails `<sha-256>_<width>.<ext>`), so a write of a key that exists
//! writes the same bytes again and is harmless.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::{MediaStorage, S3Config};

/// The configured store; cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The S3 store again, for presigned URLs.
    s3: Option<Arc<AmazonS3>>,
    prefix: String,
}

/// One object, as read for serving.
pub struct Object {
    pub size: u64,
    pub body: BoxStream<'static, object_store::Result<Bytes>>,
}

impl Storage {
    pub fn from_config(config: &MediaStorage) -> anyhow::Result<Storage> {
        match config {
            MediaStorage::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the media folder {}", dir.display()))?;
                let store = LocalFileSystem::new_with_prefix(dir)
                    .with_context(|| format!("opening the media folder {}", dir.display()))?;
                Ok(Storage {
                    store: Arc::new(store),
                    s3: None,
                    prefix: String::new(),
                })
            }
            MediaStorage::S3(s3) => Self::s3(s3),
        }
    }

    fn s3(c: &S3Config) -> anyhow::Result<Storage> {
        // object_store's HTTP client uses the process's rustls provider; ring, as the gateway's TLS does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&c.bucket)
            .with_region(&c.region);
        if let Some(endpoint) = &c.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&c.access_key_id, &c.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        let store = Arc::new(b.build().context("configuring S3 media storage")?);
        Ok(Storage {
            store: store.clone(),
            s3: Some(store),
            prefix: c.prefix.clone(),
        })
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .with_context(|| format!("storing {key}"))?;
        Ok(())
    }

    /// The object, or `None` when there is none under `key`.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Object>> {
        match self.store.get(&self.path(key)).await {
            Ok(found) => Ok(Some(Object {
                size: found.meta.size,
                body: found.into_stream(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {key}")),
        }
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("looking for {key}")),
        }
    }

    /// Deletes the object; one that is already gone is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("deleting {key}")),
        }
    }

    /// A presigned GET URL valid for `ttl`, when the store is S3.
    pub async fn presigned(&self, key: &str, ttl: Duration) -> anyhow::Result<Option<String>> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        let url = s3
            .signed_url(http::Method::GET, &self.path(key), ttl)
            .await
            .with_context(|| format!("signing a URL for {key}"))?;
        Ok(Some(url.to_string()))
    }
}
