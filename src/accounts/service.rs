//! The rules of the accounts domain.

use crate::db::Pool;
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::{Role, Viewer};

use super::store;

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

/// Resolves a bearer token to a viewer.
///
/// No sign-in path issues tokens yet, so every presented token is refused; requests without a token are
/// visitors. The token module replaces this with JWT verification and a session check.
pub async fn authenticate(_pool: &Pool, token: Option<&str>) -> AppResult<Viewer> {
    match token {
        None => Ok(Viewer::visitor()),
        Some(_) => Err(AppError::Unauthenticated),
    }
}
