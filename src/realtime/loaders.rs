//! The instance's notice reader: every subscription asks it for "my account's notices after id N", and the
//! asks that arrive within a millisecond are answered by one statement (a `LATERAL` join over the keys), with the
//! incidents they mention loaded by one more. A fan-out to 50,000 subscriptions is then about 100 statements,
//! not 50,000.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use super::model::Notice;
use super::store;
use crate::db::Pool;
use crate::error::AppError;

/// Notices read per subscription per batch; a subscription that gets a full page asks again.
pub const PAGE: usize = 100;

/// Reads notices for (account id, after id) keys.
pub struct NoticeReader {
    pub pool: Pool,
}

impl Loader<(i64, i64)> for NoticeReader {
    type Value = Arc<Vec<Notice>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[(i64, i64)],
    ) -> Result<HashMap<(i64, i64), Self::Value>, Self::Error> {
        let read = async {
            let mut conn = self.pool.get().await?;
            let rows = store::notices_after(&mut conn, keys, PAGE as i64).await?;
            let (owners, rows): (Vec<_>, Vec<_>) = rows
                .into_iter()
                .map(|k| ((k.key_account, k.key_after), k.row))
                .unzip();
            let notices = super::service::with_incidents(&mut conn, rows).await?;
            Ok::<_, AppError>(owners.into_iter().zip(notices).collect::<Vec<_>>())
        };
        let keyed = read.await.map_err(Arc::new)?;
        let mut out: HashMap<(i64, i64), Vec<Notice>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (key, notice) in keyed {
            out.entry(key).or_default().push(notice);
        }
        Ok(out.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}
