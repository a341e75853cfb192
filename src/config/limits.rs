//! The request limits and the retention periods, with their defaults.

use std::time::Duration;

/// Limits applied to every GraphQL request, over HTTP and WebSocket alike.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_query_chars: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_directives: usize,
    pub max_batch: usize,
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_query_chars: 20_000,
            max_depth: 12,
            max_complexity: 2_000,
            max_aliases: 30,
            max_directives: 20,
            max_batch: 1,
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// Retention periods (`PORTICO_RETENTION_*`): how long the retention job keeps a record after it has served
/// its purpose. Each period counts from the moment the record stopped being needed (a code spent or expired,
/// a session ended, a message delivered).
#[derive(Debug, Clone)]
pub struct Retention {
    /// Spent or expired verification codes and OAuth states (`PORTICO_RETENTION_CODES_HOURS`).
    pub codes: Duration,
    /// Expired or revoked sessions with their refresh tokens, and spent or expired refresh tokens of live
    /// sessions (`PORTICO_RETENTION_SESSIONS_DAYS`).
    pub sessions: Duration,
    /// Delivered queued messages, and those given up on (`PORTICO_RETENTION_MESSAGES_DAYS`).
    pub messages: Duration,
    /// Security events, the account's sign-in history (`PORTICO_RETENTION_SECURITY_EVENTS_DAYS`).
    pub security_events: Duration,
    /// Failed sign-in attempts kept for throttling (`PORTICO_RETENTION_LOGIN_FAILURES_HOURS`).
    pub login_failures: Duration,
    /// How often the retention job runs (`PORTICO_RETENTION_INTERVAL_SECS`).
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        const DAY: u64 = 24 * HOUR;
        Retention {
            codes: Duration::from_secs(24 * HOUR),
            sessions: Duration::from_secs(30 * DAY),
            messages: Duration::from_secs(7 * DAY),
            // Network logs are kept six months (PRC Cybersecurity Law, article 21).
            security_events: Duration::from_secs(180 * DAY),
            login_failures: Duration::from_secs(24 * HOUR),
            interval: Duration::from_secs(HOUR),
        }
    }
}
