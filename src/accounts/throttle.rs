//! Sign-in throttling: failures are counted per account identifier and per client address over a window;
//! past a threshold every further attempt waits, doubling up to a lock of fifteen minutes.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_failures as lf;
use crate::error::{AppError, AppResult};

const WINDOW_MINUTES: i64 = 15;
/// Failures allowed per identifier before waits begin.
pub const FREE_FAILURES: i64 = 5;
/// Client addresses sign many people in (offices, carrier NAT), so they get more room.
pub const FREE_FAILURES_PER_CLIENT: i64 = 30;
const MAX_WAIT_SECONDS: i64 = 15 * 60;

/// Refuses with `RATE_LIMITED` while `subject` must wait.
pub async fn check(conn: &mut AsyncPgConnection, subject: &[u8], free: i64) -> AppResult<()> {
    let now = Utc::now();
    let recent: Vec<DateTime<Utc>> = lf::table
        .filter(lf::subject.eq(subject))
        .filter(lf::created_at.gt(now - Duration::minutes(WINDOW_MINUTES)))
        .order(lf::created_at.desc())
        .select(lf::created_at)
        .limit(64)
        .load(conn)
        .await?;
    let failures = recent.len() as i64;
    if failures < free {
        return Ok(());
    }
    let wait = (1i64 << (failures - free).min(10))
        .saturating_mul(30)
        .min(MAX_WAIT_SECONDS);
    let until = recent[0] + Duration::seconds(wait);
    if until > now {
        return Err(AppError::RateLimited {
            retry_after_seconds: (until - now).num_seconds().max(1) as u64,
        });
    }
    Ok(())
}

/// Counts a failure for each subject.
pub async fn fail(conn: &mut AsyncPgConnection, subjects: &[&[u8]]) -> QueryResult<()> {
    let rows: Vec<_> = subjects.iter().map(|s| lf::subject.eq(*s)).collect();
    diesel::insert_into(lf::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the failures of a subject after a successful sign-in.
pub async fn clear(conn: &mut AsyncPgConnection, subject: &[u8]) -> QueryResult<()> {
    diesel::delete(lf::table.filter(lf::subject.eq(subject)))
        .execute(conn)
        .await?;
    Ok(())
}
