//! Dataloaders of the accounts domain: public profiles by account id, one statement per batch.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::graphql::User;
use super::model::{Account, Profile};
use crate::db::Pool;
use crate::db::schema::{accounts, profiles};

/// The per-request loader of public users (cached for the request, so a list can prefetch a whole page).
pub type Users =
    async_graphql::dataloader::DataLoader<UserLoader, async_graphql::dataloader::HashMapCache>;

/// Loads public `User`s by account id (erased and cancelling accounts resolve to nothing).
pub struct UserLoader {
    pub pool: Pool,
}

impl Loader<i64> for UserLoader {
    type Value = std::sync::Arc<User>;
    type Error = std::sync::Arc<crate::error::AppError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| std::sync::Arc::new(e.into()))?;
        let rows: Vec<(Account, Option<Profile>)> = accounts::table
            .left_join(profiles::table)
            .filter(accounts::id.eq_any(keys))
            .filter(accounts::status.eq("active"))
            .select((Account::as_select(), Option::<Profile>::as_select()))
            .load(&mut conn)
            .await
            .map_err(|e| std::sync::Arc::new(e.into()))?;
        Ok(rows
            .into_iter()
            .map(|(account, profile)| {
                let profile = profile.unwrap_or(Profile {
                    account_id: account.id,
                    ..Default::default()
                });
                (account.id, std::sync::Arc::new(User { account, profile }))
            })
            .collect())
    }
}
