//! Cancelling an account (the member's right to cancel): a request confirmed with a verification code starts a
//! cooling-off period (`cancellation_cooling_off`, 15 days by default) during which the member can revoke it;
//! when it ends, the erasure job ([`super::erasure`]) erases the account's personal data.
//!
//! One request is open per account at a time (a partial unique index); asking again while one is pending
//! answers with the pending one, without consuming another code, so a client may safely retry.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::accounts::Accounts;
use crate::accounts::service::{self as accounts, CodePurpose};
use crate::client::ClientInfo;
use crate::content::service::AuthoredContent;
use crate::db::Pool;
use crate::db::schema::account_cancellations as ac;
use crate::error::{AppError, AppResult};

/// A cancellation request as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ac)]
pub struct Cancellation {
    pub id: i64,
    pub account_id: i64,
    /// `delete` or `anonymise`.
    pub content: String,
    pub requested_at: DateTime<Utc>,
    pub scheduled_for: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

impl Cancellation {
    /// What the member chose for their works and articles.
    pub fn content(&self) -> AuthoredContent {
        parse_content(&self.content)
    }
}

/// The stored name of a content choice.
pub fn content_str(content: AuthoredContent) -> &'static str {
    match content {
        AuthoredContent::Delete => "delete",
        AuthoredContent::Anonymise => "anonymise",
    }
}

/// The content choice a stored name stands for (anything unknown removes, the safer reading).
pub fn parse_content(stored: &str) -> AuthoredContent {
    match stored {
        "anonymise" => AuthoredContent::Anonymise,
        _ => AuthoredContent::Delete,
    }
}

/// The account's open request (neither revoked nor carried out), on the caller's connection.
async fn open_request(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Option<Cancellation>> {
    ac::table
        .filter(ac::account_id.eq(account_id))
        .filter(ac::revoked_at.is_null())
        .filter(ac::erased_at.is_null())
        .select(Cancellation::as_select())
        .first(conn)
        .await
        .optional()
}

/// The account's pending cancellation, if any.
pub async fn pending_cancellation(pool: &Pool, account_id: i64) -> AppResult<Option<Cancellation>> {
    let mut conn = pool.get().await?;
    Ok(open_request(&mut conn, account_id).await?)
}

/// One of the account's cancellation requests by id (pending or revoked); `None` for anyone else's.
pub async fn cancellation_of(
    pool: &Pool,
    account_id: i64,
    id: i64,
) -> AppResult<Option<Cancellation>> {
    let mut conn = pool.get().await?;
    Ok(ac::table
        .find(id)
        .filter(ac::account_id.eq(account_id))
        .select(Cancellation::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// Asks to cancel the account, confirmed with a `CANCEL_ACCOUNT` code sent to its phone (or to its email when
/// it has no phone). In one transaction: the request (erasure scheduled after the cooling-off period), the
/// account's status `cancelling`, and a security event that posts a notice to the account.
pub async fn request_cancellation(
    a: &Accounts,
    account_id: i64,
    code: &str,
    content: AuthoredContent,
    client: &ClientInfo,
) -> AppResult<Cancellation> {
    if let Some(pending) = pending_cancellation(&a.pool, account_id).await? {
        return Ok(pending);
    }
    accounts::consume_own_code(a, account_id, CodePurpose::CancelAccount, code).await?;
    let cooling_off = chrono::Duration::from_std(a.config.cancellation_cooling_off)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cooling-off period out of range: {e}")))?;
    let mut conn = a.pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        accounts::lock_account(conn, account_id).await?;
        // A request that raced this one and won is the answer.
        if let Some(pending) = open_request(conn, account_id).await? {
            return Ok(pending);
        }
        let now = a.clock.now();
        let scheduled_for = now + cooling_off;
        let row: Cancellation = diesel::insert_into(ac::table)
            .values((
                ac::account_id.eq(account_id),
                ac::content.eq(content_str(content)),
                ac::requested_at.eq(now),
                ac::scheduled_for.eq(scheduled_for),
            ))
            .returning(Cancellation::as_returning())
            .get_result(conn)
            .await?;
        let detail = serde_json::json!({
            "cancellation": row.id,
            "scheduledFor": scheduled_for.to_rfc3339(),
            "content": content_str(content),
        });
        accounts::mark_cancelling(a, conn, account_id, detail, client).await?;
        Ok(row)
    })
    .await
}

/// Revokes the account's pending cancellation: the account stays as it is. Returns false when none is pending
/// (or the erasure job has already carried it out). The request row is locked before the account, in the same
/// order as the erasure job, so the two never deadlock.
pub async fn revoke_cancellation(
    a: &Accounts,
    account_id: i64,
    client: &ClientInfo,
) -> AppResult<bool> {
    let mut conn = a.pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let open: Option<i64> = ac::table
            .filter(ac::account_id.eq(account_id))
            .filter(ac::revoked_at.is_null())
            .filter(ac::erased_at.is_null())
            .select(ac::id)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(id) = open else {
            return Ok(false);
        };
        diesel::update(ac::table.find(id))
            .set(ac::revoked_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        accounts::mark_kept(
            a,
            conn,
            account_id,
            serde_json::json!({ "cancellation": id }),
            client,
        )
        .await?;
        Ok(true)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_choices_round_trip() {
        for c in [AuthoredContent::Delete, AuthoredContent::Anonymise] {
            assert_eq!(parse_content(content_str(c)), c);
        }
        assert_eq!(parse_content("something else"), AuthoredContent::Delete);
    }
}
