//! Suspending an account (staff): it is signed out everywhere at once (every session revoked, so every socket
//! closes with 4403 on every instance), it cannot sign in until reinstated, and it is told why. Reinstating lifts
//! it. Both are security events of the account.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use super::Accounts;
use super::events::EventKind;
use crate::client::ClientInfo;
use crate::db::schema::{accounts as a, sessions as s};
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::Role;

/// The longest suspension reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

impl Accounts {
    /// Suspends `account_id` for `reason`; `NOT_FOUND` for an erased or missing account, `BAD_USER_INPUT` for a
    /// staff member suspending themselves or an empty reason, `FORBIDDEN` when a staff member (not an admin)
    /// suspends another staff member or an admin. Suspending a suspended account changes nothing.
    pub async fn suspend(
        &self,
        staff_id: i64,
        staff_role: Role,
        account_id: i64,
        reason: &str,
        client: &ClientInfo,
    ) -> AppResult<bool> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(AppError::bad_input(
                "reason",
                format!(
                    "a reason of 1 to {MAX_REASON_CHARS} characters is needed; the member is told it"
                ),
            ));
        }
        if staff_id == account_id {
            return Err(AppError::bad_input(
                "id",
                "you cannot suspend your own account",
            ));
        }
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AppError, _>(async |conn| {
            let role = locked_role(conn, account_id).await?;
            if staff_role != Role::Admin && Role::parse(&role) != Some(Role::User) {
                return Err(AppError::Forbidden(
                    "only an admin may suspend a staff member or an admin".into(),
                ));
            }
            let changed =
                diesel::update(a::table.find(account_id).filter(a::suspended_at.is_null()))
                    .set((
                        a::suspended_at.eq(diesel::dsl::now),
                        a::suspension_reason.eq(reason),
                    ))
                    .execute(conn)
                    .await?;
            if changed == 0 {
                return Ok(false);
            }
            diesel::update(
                s::table
                    .filter(s::account_id.eq(account_id))
                    .filter(s::revoked_at.is_null()),
            )
            .set(s::revoked_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
            let detail = json!({ "reason": reason, "by": staff_id });
            self.record_event(conn, account_id, EventKind::Suspended, detail, client)
                .await?;
            Ok(true)
        })
        .await
    }

    /// Lifts a suspension; false when the account was not suspended.
    pub async fn reinstate(
        &self,
        staff_id: i64,
        account_id: i64,
        client: &ClientInfo,
    ) -> AppResult<bool> {
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AppError, _>(async |conn| {
            locked_role(conn, account_id).await?;
            let changed = diesel::update(
                a::table
                    .find(account_id)
                    .filter(a::suspended_at.is_not_null()),
            )
            .set((
                a::suspended_at.eq(None::<chrono::DateTime<chrono::Utc>>),
                a::suspension_reason.eq(None::<String>),
            ))
            .execute(conn)
            .await?;
            if changed == 0 {
                return Ok(false);
            }
            let detail = json!({ "by": staff_id });
            self.record_event(conn, account_id, EventKind::Reinstated, detail, client)
                .await?;
            Ok(true)
        })
        .await
    }
}

/// The role of a live (not erased) account, its row locked for the rest of the transaction; `NOT_FOUND` otherwise.
async fn locked_role(conn: &mut AsyncPgConnection, account_id: i64) -> AppResult<String> {
    a::table
        .find(account_id)
        .filter(a::status.ne("erased"))
        .select(a::role)
        .for_update()
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("account".into()))
}
