//! Dataloaders of the accounts domain: members' public faces by account id, one statement per batch. The
//! statement also reads each owner's current answer for `profile`, so a page of authors that shows
//! avatars costs one round trip, not two. It reads only the columns a public face shows; the sealed contact
//! has its own loader, used only when `contact` is asked for.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::profile::{Member, PublicAccount, PublicProfile, profile_consent};
use crate::db::schema::{accounts, profiles};
use crate::db::{Cached, Pool};
use crate::error::{LoadError, load_error as err};

/// The per-request loader of members' public faces (cached for the request, so a list can prefetch a whole page).
pub type Users =
    async_graphql::dataloader::DataLoader<UserLoader, async_graphql::dataloader::HashMapCache>;
/// The per-request loader of sealed profile contacts.
pub type Contacts =
    async_graphql::dataloader::DataLoader<ContactLoader, async_graphql::dataloader::HashMapCache>;

/// Loads members' public faces by account id (erased and cancelling accounts resolve to nothing).
pub struct UserLoader {
    pub pool: Pool,
}

impl Loader<i64> for UserLoader {
    type Value = Arc<Member>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.pool.get().await.map_err(err)?;
        // The consent subquery is SQL text, which diesel would re-prepare on every run; its text is constant.
        let rows: Vec<(PublicAccount, Option<PublicProfile>, bool)> = Cached(
            accounts::table
                .left_join(profiles::table)
                .filter(accounts::id.eq_any(keys))
                .filter(accounts::status.eq("active"))
                .select((
                    PublicAccount::as_select(),
                    Option::<PublicProfile>::as_select(),
                    profile_consent(),
                )),
        )
        .load(&mut conn)
        .await
        .map_err(err)?;
        Ok(rows
            .into_iter()
            .filter_map(|(account, profile, consent)| Member::of(Some(account), profile, consent))
            .map(|member| (member.account.id, Arc::new(member)))
            .collect())
    }
}

/// Loads the sealed `contact` profile field by account id (accounts without one are absent).
pub struct ContactLoader {
    pub pool: Pool,
}

impl Loader<i64> for ContactLoader {
    type Value = Arc<Vec<u8>>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conn = self.pool.get().await.map_err(err)?;
        let rows: Vec<(i64, Option<Vec<u8>>)> = profiles::table
            .filter(profiles::account_id.eq_any(keys))
            .filter(profiles::contact_ciphertext.is_not_null())
            .select((profiles::account_id, profiles::contact_ciphertext))
            .load(&mut conn)
            .await
            .map_err(err)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, sealed)| Some((id, Arc::new(sealed?))))
            .collect())
    }
}
