//! The accounts domain's entry points for other layers (the CLI, the HTTP layer).

use crate::db::Pool;
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::Role;

use super::store;

pub use super::audience::{Audience, DATA_CATEGORIES, audience_sql};
pub use super::cancellation::{consume_own_code, lock_account, mark_cancelling, mark_kept};
pub use super::codes::Purpose as CodePurpose;
pub use super::erase::erase_account;
pub use super::events::EventKind;
/// Reads the graph serves (`Me`, `user(username:)`), on the caller's connection.
pub use super::store::{
    account, account_by_username, bindings, live_sessions, profile, security_events,
};

/// Grants `role` to the account named `username` (used by `portico users grant-role`).
pub async fn grant_role(pool: &Pool, username: &str, role: &str) -> AppResult<()> {
    let Some(role) = Role::parse(role) else {
        return Err(AppError::bad_input(
            "role",
            "role must be one of user, staff, admin",
        ));
    };
    let mut conn = pool.get().await?;
    match store::set_role(&mut conn, username, role.as_str()).await? {
        0 => Err(AppError::NotFound(format!("account `{username}`"))),
        _ => Ok(()),
    }
}

/// An account and its profile, read on the caller's connection (inside its transaction when there is one);
/// `None` when no account has that id. Personal fields stay sealed: the caller opens what it may show.
pub async fn account_with_profile(
    conn: &mut diesel_async::AsyncPgConnection,
    account_id: i64,
) -> AppResult<Option<(super::model::Account, super::model::Profile)>> {
    let Some(account) = store::account(conn, account_id).await? else {
        return Ok(None);
    };
    let profile = store::profile(conn, account_id).await?;
    Ok(Some((account, profile)))
}

/// Erases one optional profile field of `account_id` (its stored name, e.g. `hometown`): see
/// [`super::Accounts::delete_personal_field`].
pub async fn delete_personal_field(
    accounts: &super::Accounts,
    account_id: i64,
    field: &str,
) -> AppResult<()> {
    accounts.delete_personal_field(account_id, field).await
}
