//! Cancelling the signed-in account: `requestAccountCancellation`, `revokeAccountCancellation`, and the
//! `AccountCancellation` type (`Me.cancellation`).

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use crate::accounts::Accounts;
use crate::client::ClientInfo;
use crate::content::service::AuthoredContent;
use crate::graphql::ids;
use crate::graphql::viewer::Viewer;
use crate::rights::cancellation::{self, Cancellation};

/// What happens to a cancelled account's works and articles when its personal data is erased.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CancellationContent {
    /// Remove them all, with their texts, images and tags.
    Delete,
    /// Keep the published ones, shown without an author; drafts are removed.
    Anonymise,
}

impl From<CancellationContent> for AuthoredContent {
    fn from(c: CancellationContent) -> Self {
        match c {
            CancellationContent::Delete => AuthoredContent::Delete,
            CancellationContent::Anonymise => AuthoredContent::Anonymise,
        }
    }
}

impl From<AuthoredContent> for CancellationContent {
    fn from(c: AuthoredContent) -> Self {
        match c {
            AuthoredContent::Delete => CancellationContent::Delete,
            AuthoredContent::Anonymise => CancellationContent::Anonymise,
        }
    }
}

/// A request to cancel this account. When the cooling-off period ends the account's personal data is erased,
/// unless the request is revoked before.
pub struct AccountCancellation(pub Cancellation);

#[Object]
impl AccountCancellation {
    /// Global id (only its account can resolve it).
    pub async fn id(&self) -> ID {
        ids::encode("AccountCancellation", self.0.id)
    }
    /// When the cancellation was requested.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    /// When the cooling-off period ends and the account's personal data is erased.
    async fn scheduled_for(&self) -> DateTime<Utc> {
        self.0.scheduled_for
    }
    /// What happens to the account's works and articles.
    async fn content(&self) -> CancellationContent {
        self.0.content().into()
    }
    /// When the request was revoked; null while it is pending.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

fn accounts<'a>(ctx: &Context<'a>) -> &'a Accounts {
    ctx.data_unchecked::<Accounts>()
}

fn client(ctx: &Context<'_>) -> ClientInfo {
    ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default()
}

#[derive(Default)]
pub struct CancellationMutation;

/// Cancelling the signed-in account.
#[Object]
impl CancellationMutation {
    /// Asks to cancel the signed-in account. Confirm with a verification code of purpose `CANCEL_ACCOUNT`, sent
    /// by SMS to the account's phone (or by email to an account without a phone number). The account's personal
    /// data is erased when the cooling-off period ends (15 days unless configured otherwise), and until then
    /// `revokeAccountCancellation` keeps the account. While a request is pending, this answers with it.
    async fn request_account_cancellation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The verification code (purpose `CANCEL_ACCOUNT`).")] code: String,
        #[graphql(
            desc = "What happens to the account's works and articles.",
            default_with = "Some(CancellationContent::Delete)"
        )]
        content: Option<CancellationContent>,
    ) -> async_graphql::Result<AccountCancellation> {
        let signed_in = Viewer::from_ctx(ctx).require()?;
        let content = content.unwrap_or(CancellationContent::Delete).into();
        let row = cancellation::request_cancellation(
            accounts(ctx),
            signed_in.account_id,
            &code,
            content,
            &client(ctx),
        )
        .await?;
        Ok(AccountCancellation(row))
    }

    /// Revokes the signed-in account's pending cancellation, so the account stays; false when none is pending.
    async fn revoke_account_cancellation(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let signed_in = Viewer::from_ctx(ctx).require()?;
        Ok(
            cancellation::revoke_cancellation(accounts(ctx), signed_in.account_id, &client(ctx))
                .await?,
        )
    }
}

/// The signed-in account's pending cancellation (`Me.cancellation`).
pub async fn pending(
    ctx: &Context<'_>,
    account_id: i64,
) -> async_graphql::Result<Option<AccountCancellation>> {
    Ok(
        cancellation::pending_cancellation(&accounts(ctx).pool, account_id)
            .await?
            .map(AccountCancellation),
    )
}

/// Resolves an `AccountCancellation` global id: only for the account it belongs to.
pub async fn node(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<AccountCancellation>> {
    let Some(signed_in) = &Viewer::from_ctx(ctx).account else {
        return Ok(None);
    };
    Ok(
        cancellation::cancellation_of(&accounts(ctx).pool, signed_in.account_id, id)
            .await?
            .map(AccountCancellation),
    )
}
