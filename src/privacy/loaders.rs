//! Dataloaders of the privacy domain: the current general answer to a purpose for many accounts, one
//! statement per batch (so a list of users costs one consent lookup, not one per user).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use super::store;
use crate::db::Pool;
use crate::error::AppError;

/// The per-request loader of consent answers.
pub type Consents =
    async_graphql::dataloader::DataLoader<ConsentLoader, async_graphql::dataloader::HashMapCache>;

/// An account and a purpose whose current general answer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsentKey {
    pub account_id: i64,
    pub purpose: &'static str,
}

/// Loads whether each (account, purpose) is currently granted (never answered means not granted).
pub struct ConsentLoader {
    pub pool: Pool,
}

impl Loader<ConsentKey> for ConsentLoader {
    type Value = bool;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ConsentKey]) -> Result<HashMap<ConsentKey, bool>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut accounts: Vec<i64> = keys.iter().map(|k| k.account_id).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let mut purposes: Vec<&'static str> = keys.iter().map(|k| k.purpose).collect();
        purposes.sort_unstable();
        purposes.dedup();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(e.into()))?;
        let answers = store::latest_answers(&mut conn, &accounts, &purposes)
            .await
            .map_err(|e| Arc::new(e.into()))?;
        let mut out: HashMap<ConsentKey, bool> = keys.iter().map(|k| (*k, false)).collect();
        for (account_id, purpose, granted) in answers {
            let Some(account_id) = account_id else {
                continue;
            };
            let Some(purpose) = purposes.iter().copied().find(|p| *p == purpose) else {
                continue;
            };
            if let Some(answer) = out.get_mut(&ConsentKey {
                account_id,
                purpose,
            }) {
                *answer = granted;
            }
        }
        Ok(out)
    }
}
