//! Security events: what happened to an account's security, kept per account and readable by its owner.

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Accounts;
use super::model::ClientInfo;
use crate::db::schema::security_events as se;

/// The kinds of security event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Registered,
    SignIn,
    SignInFailed,
    NewDevice,
    PasswordChanged,
    PasswordReset,
    EmailBound,
    EmailUnbound,
    ThirdPartyBound,
    ThirdPartyUnbound,
    SessionRevoked,
    RefreshTokenReused,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Registered => "registered",
            EventKind::SignIn => "sign_in",
            EventKind::SignInFailed => "sign_in_failed",
            EventKind::NewDevice => "new_device",
            EventKind::PasswordChanged => "password_changed",
            EventKind::PasswordReset => "password_reset",
            EventKind::EmailBound => "email_bound",
            EventKind::EmailUnbound => "email_unbound",
            EventKind::ThirdPartyBound => "third_party_bound",
            EventKind::ThirdPartyUnbound => "third_party_unbound",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::RefreshTokenReused => "refresh_token_reused",
        }
    }
}

impl Accounts {
    /// Records a security event inside the caller's transaction.
    pub async fn record_event(
        &self,
        conn: &mut AsyncPgConnection,
        account_id: i64,
        kind: EventKind,
        detail: serde_json::Value,
        client: &ClientInfo,
    ) -> diesel::QueryResult<()> {
        use diesel::ExpressionMethods;
        diesel::insert_into(se::table)
            .values((
                se::account_id.eq(account_id),
                se::kind.eq(kind.as_str()),
                se::detail.eq(detail),
                se::client_addr_hash.eq(self.client_hash(client)),
                se::user_agent.eq(truncate(&client.user_agent, 256)),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
