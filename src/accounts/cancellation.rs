//! The accounts side of cancelling an account: the verification code that confirms the request (sent to the
//! account's own phone, or by email to an account without a phone number), and the account's status while it
//! waits (`cancelling`) or after the request is revoked (`active`). The privacy domain owns the request itself.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Accounts;
use super::codes::Purpose;
use super::events::EventKind;
use super::model::AccountStatus;
use crate::client::ClientInfo;
use crate::db::schema::accounts;
use crate::error::{AppError, AppResult};

/// Checks and consumes a code for `purpose` sent to the account's own phone number, or to its bound email
/// address when it has no phone. A wrong or expired code is `BAD_USER_INPUT` on `code`, as everywhere.
pub async fn consume_own_code(
    a: &Accounts,
    account_id: i64,
    purpose: Purpose,
    code: &str,
) -> AppResult<()> {
    #[derive(Queryable)]
    struct Destinations {
        phone: Option<Vec<u8>>,
        email: Option<Vec<u8>>,
        status: AccountStatus,
    }
    let index = {
        let mut conn = a.pool.get().await?;
        let row: Option<Destinations> = accounts::table
            .find(account_id)
            .select((
                accounts::phone_index,
                accounts::email_index,
                accounts::status,
            ))
            .first(&mut conn)
            .await
            .optional()?;
        let Some(row) = row.filter(|r| r.status != AccountStatus::Erased) else {
            return Err(AppError::Unauthenticated);
        };
        row.phone.or(row.email).ok_or_else(|| {
            AppError::bad_input(
                "code",
                "this account has no phone number or email address to receive a code; bind an email address first",
            )
        })?
    };
    a.consume_code(&index, purpose, code).await
}

/// Locks the account's row until the caller's transaction ends and returns its status; an account that does
/// not exist (or was erased) is `UNAUTHENTICATED`.
pub async fn lock_account(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> AppResult<AccountStatus> {
    accounts::table
        .find(account_id)
        .select(accounts::status)
        .for_update()
        .first::<AccountStatus>(conn)
        .await
        .optional()?
        .filter(|s| *s != AccountStatus::Erased)
        .ok_or(AppError::Unauthenticated)
}

/// Marks the account as waiting for cancellation and records the request as a security event (which posts a
/// notice to the account), inside the caller's transaction.
pub async fn mark_cancelling(
    a: &Accounts,
    conn: &mut AsyncPgConnection,
    account_id: i64,
    detail: serde_json::Value,
    client: &ClientInfo,
) -> AppResult<()> {
    set_status(
        conn,
        account_id,
        AccountStatus::Active,
        AccountStatus::Cancelling,
    )
    .await?;
    a.record_event(
        conn,
        account_id,
        EventKind::CancellationRequested,
        detail,
        client,
    )
    .await
}

/// Returns an account waiting for cancellation to `active` and records the revocation (with a notice), inside
/// the caller's transaction.
pub async fn mark_kept(
    a: &Accounts,
    conn: &mut AsyncPgConnection,
    account_id: i64,
    detail: serde_json::Value,
    client: &ClientInfo,
) -> AppResult<()> {
    set_status(
        conn,
        account_id,
        AccountStatus::Cancelling,
        AccountStatus::Active,
    )
    .await?;
    a.record_event(
        conn,
        account_id,
        EventKind::CancellationRevoked,
        detail,
        client,
    )
    .await
}

async fn set_status(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    from: AccountStatus,
    to: AccountStatus,
) -> AppResult<()> {
    diesel::update(accounts::table.find(account_id))
        .filter(accounts::status.eq(from))
        .set((
            accounts::status.eq(to),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
