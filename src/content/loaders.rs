//! Dataloaders of the content domain: works and articles by id, and whether the viewer collected a work.
//! Each batches a whole list into one statement, so a request's statement count grows with the query's
//! depth, never with the length of its lists.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use super::model::{Article, Work};
use super::store;
use crate::db::Pool;
use crate::error::{LoadError, load_error as err};

/// Per-request loaders, cached for the request: a list prefetches its page's edges in one batch each, and
/// the fields below it then read the cache, so the statement count does not depend on how a large list's
/// resolution is interleaved with the batching delay.
pub type Works =
    async_graphql::dataloader::DataLoader<WorkLoader, async_graphql::dataloader::HashMapCache>;
pub type Articles =
    async_graphql::dataloader::DataLoader<ArticleLoader, async_graphql::dataloader::HashMapCache>;
pub type Collected =
    async_graphql::dataloader::DataLoader<CollectedLoader, async_graphql::dataloader::HashMapCache>;

/// Works by id (deleted ones included; callers check visibility).
pub struct WorkLoader {
    pub pool: Pool,
}

impl Loader<i64> for WorkLoader {
    type Value = Arc<Work>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.pool.get().await.map_err(err)?;
        let rows = store::works_by_ids(&mut conn, keys).await.map_err(err)?;
        Ok(rows.into_iter().map(|w| (w.id, Arc::new(w))).collect())
    }
}

/// Articles by id.
pub struct ArticleLoader {
    pub pool: Pool,
}

impl Loader<i64> for ArticleLoader {
    type Value = Arc<Article>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.pool.get().await.map_err(err)?;
        let rows = store::articles_by_ids(&mut conn, keys).await.map_err(err)?;
        Ok(rows.into_iter().map(|a| (a.id, Arc::new(a))).collect())
    }
}

/// Whether the signed-in viewer has collected each work (keyed by work id; the viewer is fixed per request).
pub struct CollectedLoader {
    pub pool: Pool,
    pub account_id: i64,
}

impl Loader<i64> for CollectedLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.pool.get().await.map_err(err)?;
        let collected = store::collected_among(&mut conn, self.account_id, keys)
            .await
            .map_err(err)?;
        Ok(keys.iter().map(|k| (*k, collected.contains(k))).collect())
    }
}
