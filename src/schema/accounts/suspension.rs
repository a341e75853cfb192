//! Suspending and reinstating accounts (staff).

use async_graphql::{Context, ID, Object};

use crate::accounts::Accounts;
use crate::graphql::ids;
use crate::graphql::viewer::{Role, RoleGuard, Viewer};

#[derive(Default)]
pub struct SuspensionMutation;

/// Suspending and reinstating accounts (staff).
#[Object]
impl SuspensionMutation {
    /// Suspends an account: every session ends at once (its open sockets close with 4403 on every instance),
    /// it cannot sign in until reinstated, and it gets a notice with the reason (1 to 500 characters). False
    /// when it was already suspended (staff only; only an admin may suspend staff or admins).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn suspend_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's `User` id.")] id: ID,
        reason: String,
    ) -> async_graphql::Result<bool> {
        let staff = Viewer::from_ctx(ctx).require()?;
        let account_id = ids::decode_i64(&id, "User", "id")?;
        let accounts = ctx.data_unchecked::<Accounts>();
        let client = super::mutations::client(ctx);
        Ok(accounts
            .suspend(staff.account_id, staff.role, account_id, &reason, &client)
            .await?)
    }

    /// Lifts a suspension; false when the account was not suspended (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn reinstate_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's `User` id.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let staff_id = Viewer::from_ctx(ctx).require()?.account_id;
        let account_id = ids::decode_i64(&id, "User", "id")?;
        let accounts = ctx.data_unchecked::<Accounts>();
        let client = super::mutations::client(ctx);
        Ok(accounts.reinstate(staff_id, account_id, &client).await?)
    }
}
