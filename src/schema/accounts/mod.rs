//! The accounts domain's part of the schema.

mod me;
pub mod mutations;
mod suspension;
mod third_party;
pub mod types;
mod user;

use async_graphql::{Context, Enum, Object};

pub use me::Me;
pub use mutations::AccountsMutation;
pub use suspension::SuspensionMutation;
pub use third_party::ThirdPartyMutation;
pub use user::User;

use crate::accounts::Accounts;
use crate::accounts::service as store;
use crate::error::AppError;
use crate::graphql::viewer::Viewer;

/// The accounts handle, from the schema's data.
pub fn accounts<'a>(ctx: &Context<'a>) -> &'a Accounts {
    ctx.data_unchecked::<Accounts>()
}

/// A third-party sign-in provider.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ThirdPartyProvider {
    Wechat,
    Weibo,
    Qq,
}

impl ThirdPartyProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            ThirdPartyProvider::Wechat => "wechat",
            ThirdPartyProvider::Weibo => "weibo",
            ThirdPartyProvider::Qq => "qq",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wechat" => Some(ThirdPartyProvider::Wechat),
            "weibo" => Some(ThirdPartyProvider::Weibo),
            "qq" => Some(ThirdPartyProvider::Qq),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct AccountsQuery;

/// Account queries.
#[Object]
impl AccountsQuery {
    /// The signed-in account; null for visitors.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Me>> {
        match &Viewer::from_ctx(ctx).account {
            None => Ok(None),
            Some(s) => Ok(Some(Me::load(ctx, s.account_id).await?)),
        }
    }

    /// A member's public profile by username (any case).
    async fn user(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<Option<User>> {
        let a = accounts(ctx);
        let account = {
            let mut conn = a.pool.get().await.map_err(AppError::from)?;
            store::account_by_username(&mut conn, &username)
                .await
                .map_err(AppError::from)?
        };
        match account {
            Some(account) => user_node(ctx, account.id).await,
            None => Ok(None),
        }
    }
}

/// Resolves a `User` global id through the request's user loader: the account, its profile and the owner's
/// consent to `profile` in one statement (erased and cancelling accounts resolve to nothing).
pub async fn user_node(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<User>> {
    let user = ctx
        .data_unchecked::<crate::accounts::loaders::Users>()
        .load_one(id)
        .await
        .map_err(AppError::from)?;
    Ok(user.map(User))
}
