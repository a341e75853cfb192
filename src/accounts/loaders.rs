//! Dataloaders of the accounts domain: public profiles by account id, one statement per batch. The
//! statement also reads each owner's current answer for `profile`, so a page of authors that shows
//! avatars costs one round trip, not two.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::model::{Account, Member, Profile};
use crate::db::schema::{accounts, profiles};
use crate::db::{Cached, Pool};

/// The per-request loader of members' public faces (cached for the request, so a list can prefetch a whole page).
pub type Users =
    async_graphql::dataloader::DataLoader<UserLoader, async_graphql::dataloader::HashMapCache>;

/// Loads members' public faces by account id (erased and cancelling accounts resolve to nothing).
pub struct UserLoader {
    pub pool: Pool,
}

impl Loader<i64> for UserLoader {
    type Value = std::sync::Arc<Member>;
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
        // The consent subquery is SQL text, which diesel would re-prepare on every run; its text is constant.
        let rows: Vec<(Account, Option<Profile>, bool)> = Cached(
            accounts::table
                .left_join(profiles::table)
                .filter(accounts::id.eq_any(keys))
                .filter(accounts::status.eq("active"))
                .select((
                    Account::as_select(),
                    Option::<Profile>::as_select(),
                    profile_consent(),
                )),
        )
        .load(&mut conn)
        .await
        .map_err(|e| std::sync::Arc::new(e.into()))?;
        Ok(rows
            .into_iter()
            .map(|(account, profile, consent)| {
                let profile = profile.unwrap_or(Profile {
                    account_id: account.id,
                    ..Default::default()
                });
                let member = Member {
                    account,
                    profile,
                    profile_consent: consent,
                };
                (member.account.id, std::sync::Arc::new(member))
            })
            .collect())
    }
}

/// The owner's current general answer for `profile` (the newest record without a partner; never answered
/// is not granted), as a correlated subquery on `accounts` served by the `consent_records_account` index.
fn profile_consent() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(
        "coalesce((SELECT c.granted AND consent_counts(c.purpose, c.policy_version_id) FROM consent_records c \
         WHERE c.account_id = accounts.id AND c.purpose = 'profile' AND c.partner_id IS NULL \
         ORDER BY c.id DESC LIMIT 1), false)",
    )
}
