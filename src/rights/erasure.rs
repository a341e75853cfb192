//! The erasure job: when an account's cancellation falls due, its personal data is erased in ONE transaction,
//! each domain doing its part on that transaction's connection through its service functions:
//!
//! - accounts: phone, email, password, gender, occupation, city and search document cleared, username replaced
//!   by a placeholder, status `erased`; profile, sessions and refresh tokens (every token stops working),
//!   security events, third-party bindings, OAuth states, verification codes and throttle records deleted;
//! - content: the account's collections deleted, its works and articles removed or kept anonymously as chosen;
//! - realtime: its notices deleted (security-incident notices stay as the regulator's delivery record), and
//!   its push devices with what was queued for them;
//! - privacy: consent records keep only a keyed pseudonym of the account (no account, no client address or
//!   user agent hash); data exports, disclosures to partners and the staff-access log about it are deleted.
//!
//! The request is claimed with `FOR UPDATE SKIP LOCKED`, so several gateways can run the job. When any step
//! fails, the transaction rolls back (nothing is half-erased), and the failure is recorded on the request
//! (`attempts`, `last_error`) in a statement of its own; the next run tries again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;

use super::cancellation::parse_content;
use crate::clock::Clock;
use crate::crypto::DataKeys;
use crate::db::Pool;
use crate::db::schema::{
    account_cancellations as ac, consent_records as cr, data_exports, disclosures, staff_access_log,
};
use crate::error::{AppError, AppResult};

/// How many due requests one query fetches; a run keeps fetching until none is left.
const BATCH: i64 = 50;
/// The longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 500;

/// The keyed pseudonym an erased account's consent records keep.
pub fn subject_pseudonym(keys: &DataKeys, account_id: i64) -> Vec<u8> {
    keys.pseudonym("erased-account", account_id.to_string().as_bytes())
}

/// Erases every account whose cancellation is due (scheduled, not revoked, not yet erased), each in one
/// transaction. Returns how many were erased; failures are recorded on their requests and logged, and do not
/// stop the others.
pub async fn run_due(pool: &Pool, keys: &DataKeys, now: DateTime<Utc>) -> AppResult<usize> {
    let mut tried: Vec<i64> = Vec::new();
    let mut erased = 0;
    loop {
        let due: Vec<i64> = {
            let mut conn = pool.get().await?;
            ac::table
                .filter(ac::scheduled_for.le(now))
                .filter(ac::revoked_at.is_null())
                .filter(ac::erased_at.is_null())
                .filter(diesel::dsl::not(ac::id.eq_any(&tried)))
                .order((ac::attempts.asc(), ac::scheduled_for.asc()))
                .select(ac::id)
                .limit(BATCH)
                .load(&mut conn)
                .await?
        };
        if due.is_empty() {
            return Ok(erased);
        }
        for id in due {
            tried.push(id);
            match erase_one(pool, keys, id, now).await {
                Ok(true) => erased += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(cancellation = id, error = %format!("{e:#}"), "erasing an account failed; it will be retried");
                    record_failure(pool, id, &e).await?;
                }
            }
        }
    }
}

/// Claims one due request and carries it out in one transaction; false when it is no longer due (revoked,
/// erased, or being erased by another gateway).
async fn erase_one(pool: &Pool, keys: &DataKeys, id: i64, now: DateTime<Utc>) -> AppResult<bool> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let claimed: Option<(i64, String)> = ac::table
            .find(id)
            .filter(ac::scheduled_for.le(now))
            .filter(ac::revoked_at.is_null())
            .filter(ac::erased_at.is_null())
            .select((ac::account_id, ac::content))
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()?;
        let Some((account_id, content)) = claimed else {
            return Ok(false);
        };
        crate::accounts::service::erase_account(conn, keys, account_id).await?;
        crate::content::service::erase_author(conn, account_id, parse_content(&content)).await?;
        crate::realtime::service::erase_account_notices(conn, account_id).await?;
        crate::realtime::devices::erase_account_devices(conn, account_id).await?;
        erase_privacy_records(conn, keys, account_id).await?;
        diesel::update(ac::table.find(id))
            .set((
                ac::erased_at.eq(diesel::dsl::now),
                ac::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .await?;
        Ok(true)
    })
    .await
}

/// The privacy domain's own part: pseudonymised consent records, and nothing else about the account.
async fn erase_privacy_records(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    account_id: i64,
) -> AppResult<()> {
    diesel::update(cr::table.filter(cr::account_id.eq(account_id)))
        .set((
            cr::account_id.eq(None::<i64>),
            cr::subject_pseudonym.eq(Some(subject_pseudonym(keys, account_id))),
            cr::client_addr_hash.eq(None::<Vec<u8>>),
            cr::user_agent_hash.eq(None::<Vec<u8>>),
        ))
        .execute(conn)
        .await?;
    diesel::delete(data_exports::table.filter(data_exports::account_id.eq(account_id)))
        .execute(conn)
        .await?;
    diesel::delete(disclosures::table.filter(disclosures::account_id.eq(account_id)))
        .execute(conn)
        .await?;
    diesel::delete(staff_access_log::table.filter(staff_access_log::account_id.eq(account_id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt on the request, outside the rolled-back transaction.
async fn record_failure(pool: &Pool, id: i64, error: &AppError) -> AppResult<()> {
    let message: String = format!("{error:#}").chars().take(MAX_ERROR_CHARS).collect();
    let mut conn = pool.get().await?;
    diesel::update(ac::table.find(id))
        .set((
            ac::attempts.eq(ac::attempts + 1),
            ac::last_error.eq(message),
        ))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Runs [`run_due`] at once and then every `every` until `shutdown` is cancelled.
pub fn start(
    pool: Pool,
    keys: DataKeys,
    clock: Clock,
    every: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match run_due(&pool, &keys, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(accounts = n, "erased cancelled accounts"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "the erasure job could not run")
                }
            }
        }
    })
}
