//! The accounts domain's entry points for other layers (the CLI, the HTTP layer).

use crate::db::Pool;
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::Role;

use super::store;

pub use super::audience::{Audience, DATA_CATEGORIES, audience_sql};

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
