//! What the accounts domain stops keeping once it has served its purpose: spent and expired verification
//! codes and OAuth states, ended sessions with their refresh tokens, old failed sign-in attempts and security
//! events, and username holds that ran out. Called by the retention job (`rights::retention`).

use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::config::Retention;

/// Rows deleted per statement, so one purge never holds long locks on a busy table.
const BATCH: i64 = 5_000;

/// How many rows of each kind a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub verification_codes: usize,
    pub oauth_states: usize,
    pub sessions: usize,
    pub refresh_tokens: usize,
    pub login_failures: usize,
    pub security_events: usize,
    pub username_holds: usize,
}

impl Purged {
    pub fn total(&self) -> usize {
        self.verification_codes
            + self.oauth_states
            + self.sessions
            + self.refresh_tokens
            + self.login_failures
            + self.security_events
            + self.username_holds
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// Runs `DELETE FROM <table> WHERE <key> IN (SELECT <key> ... LIMIT $2)` until a batch comes back short; `$1`
/// is the retention period in seconds.
async fn purge_batched(
    conn: &mut AsyncPgConnection,
    sql: &str,
    period: std::time::Duration,
) -> diesel::QueryResult<usize> {
    let mut total = 0;
    loop {
        let n = diesel::sql_query(sql)
            .bind::<BigInt, _>(secs(period))
            .bind::<BigInt, _>(BATCH)
            .execute(conn)
            .await?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// Deletes what `retention` no longer keeps.
pub async fn purge(
    conn: &mut AsyncPgConnection,
    retention: &Retention,
) -> diesel::QueryResult<Purged> {
    Ok(Purged {
        verification_codes: purge_batched(
            conn,
            "DELETE FROM verification_codes WHERE id IN (SELECT id FROM verification_codes \
               WHERE created_at < now() - $1 * interval '1 second' \
                 AND (consumed_at IS NOT NULL OR expires_at < now()) LIMIT $2)",
            retention.codes,
        )
        .await?,
        oauth_states: purge_batched(
            conn,
            "DELETE FROM oauth_states WHERE state_hash IN (SELECT state_hash FROM oauth_states \
               WHERE created_at < now() - $1 * interval '1 second' \
                 AND (used_at IS NOT NULL OR expires_at < now()) LIMIT $2)",
            retention.codes,
        )
        .await?,
        // Spent or expired refresh tokens of sessions that live on (reuse of a spent token is detected while
        // it is kept; after the period it is just unknown).
        refresh_tokens: purge_batched(
            conn,
            "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens \
               WHERE expires_at < now() - $1 * interval '1 second' \
                  OR used_at < now() - $1 * interval '1 second' LIMIT $2)",
            retention.sessions,
        )
        .await?,
        // Sessions revoked, or with no refresh token left that could renew them, for longer than the period
        // (their refresh tokens go with them).
        sessions: purge_batched(
            conn,
            "DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s \
               WHERE (s.revoked_at < now() - $1 * interval '1 second') \
                  OR (s.revoked_at IS NULL AND s.last_seen_at < now() - $1 * interval '1 second' \
                      AND NOT EXISTS (SELECT 1 FROM refresh_tokens rt \
                                      WHERE rt.session_id = s.id AND rt.expires_at > now())) \
               LIMIT $2)",
            retention.sessions,
        )
        .await?,
        login_failures: purge_batched(
            conn,
            "DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures \
               WHERE created_at < now() - $1 * interval '1 second' LIMIT $2)",
            retention.login_failures,
        )
        .await?,
        security_events: purge_batched(
            conn,
            "DELETE FROM security_events WHERE id IN (SELECT id FROM security_events \
               WHERE created_at < now() - $1 * interval '1 second' LIMIT $2)",
            retention.security_events,
        )
        .await?,
        username_holds: purge_batched(
            conn,
            "DELETE FROM username_holds WHERE username_lower IN (SELECT username_lower FROM username_holds \
               WHERE held_until < now() - $1 * interval '1 second' LIMIT $2)",
            std::time::Duration::ZERO,
        )
        .await?,
    })
}
