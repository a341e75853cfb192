//! Security events: what happened to an account's security, kept per account and readable by its owner. The
//! kinds the owner should hear about at once (a new device, a password or binding change, a cancellation
//! request, a reused refresh token, a staff read of personal data) also post a notice to the account's
//! notification stream, in the same transaction, through the realtime domain.

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Accounts;
use crate::client::ClientInfo;
use crate::db::schema::security_events as se;
use crate::error::AppResult;
use crate::realtime::service::{NewNotice, NoticeKind, post_notice};

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
    CancellationRequested,
    CancellationRevoked,
    PersonalDataAccessed,
    PhoneChanged,
    UsernameChanged,
    Suspended,
    Reinstated,
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
            EventKind::CancellationRequested => "cancellation_requested",
            EventKind::CancellationRevoked => "cancellation_revoked",
            EventKind::PersonalDataAccessed => "personal_data_accessed",
            EventKind::PhoneChanged => "phone_changed",
            EventKind::UsernameChanged => "username_changed",
            EventKind::Suspended => "suspended",
            EventKind::Reinstated => "reinstated",
        }
    }

    /// The notice the owner gets for this kind of event (title, body); `None` for kinds that are only logged.
    pub fn notice(self, detail: &serde_json::Value) -> Option<(String, String)> {
        const NOT_YOU: &str = "If this was not you, change your password at once and end the sessions you do not recognise.";
        let provider = match detail["provider"].as_str() {
            Some("wechat") => "WeChat",
            Some("weibo") => "Weibo",
            Some("qq") => "QQ",
            _ => "third-party",
        };
        let (title, body) = match self {
            EventKind::NewDevice => {
                let device = match detail["device"].as_str() {
                    Some(d) if !d.is_empty() => format!(" (\"{d}\")"),
                    _ => String::new(),
                };
                (
                    "New sign-in to your account".to_string(),
                    format!("Your account was signed in from a device it had not used before{device}. {NOT_YOU}"),
                )
            }
            EventKind::PasswordChanged => (
                "Your password was changed".into(),
                format!("The password of your account was changed and your other sessions were signed out. {NOT_YOU}"),
            ),
            EventKind::PasswordReset => (
                "Your password was reset".into(),
                format!("The password of your account was reset with a verification code and every session was signed out. {NOT_YOU}"),
            ),
            EventKind::EmailBound => (
                "An email address was bound to your account".into(),
                format!("An email address was bound to your account and can now be used to sign in. {NOT_YOU}"),
            ),
            EventKind::EmailUnbound => (
                "The email address was removed from your account".into(),
                format!("The email address bound to your account was removed; it can no longer be used to sign in. {NOT_YOU}"),
            ),
            EventKind::ThirdPartyBound => (
                format!("A {provider} account was bound to your account"),
                format!("A {provider} account was bound to your account and can now be used to sign in. {NOT_YOU}"),
            ),
            EventKind::ThirdPartyUnbound => (
                format!("A {provider} account was unbound from your account"),
                format!("The {provider} account bound to your account was removed; it can no longer be used to sign in. {NOT_YOU}"),
            ),
            EventKind::CancellationRequested => (
                "Your account is scheduled for cancellation".into(),
                "Cancellation of your account was requested. It will be cancelled when the waiting period ends \
                 unless the request is revoked. If this was not you, revoke the request and change your password."
                    .into(),
            ),
            EventKind::CancellationRevoked => (
                "Your account will not be cancelled".into(),
                format!("The request to cancel your account was revoked; it stays as it is. {NOT_YOU}"),
            ),
            EventKind::PersonalDataAccessed => {
                let fields = detail["fields"]
                    .as_array()
                    .map(|f| f.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                let reason = detail["reason"].as_str().unwrap_or("");
                (
                    "A staff member viewed your personal data".into(),
                    format!(
                        "A member of staff viewed your personal data ({fields}), giving this reason: \"{reason}\". \
                         Every such access is listed under staff accesses in your account."
                    ),
                )
            }
            EventKind::PhoneChanged => (
                "The phone number of your account was changed".into(),
                format!("A new phone number was confirmed by SMS code and now signs in to your account; the old one no longer does. {NOT_YOU}"),
            ),
            EventKind::UsernameChanged => {
                let old = detail["from"].as_str().unwrap_or("");
                let new = detail["to"].as_str().unwrap_or("");
                (
                    "Your username was changed".into(),
                    format!("Your username changed from \"{old}\" to \"{new}\". The old name stays reserved for you for 30 days. {NOT_YOU}"),
                )
            }
            EventKind::Suspended => (
                "Your account was suspended".into(),
                format!(
                    "Your account was suspended and signed out everywhere, for this reason: \"{}\". Write to the \
                     contact in the privacy policy if you think this is wrong.",
                    detail["reason"].as_str().unwrap_or("")
                ),
            ),
            EventKind::Reinstated => (
                "Your account was reinstated".into(),
                "The suspension of your account was lifted; you can sign in again.".into(),
            ),
            EventKind::RefreshTokenReused => (
                "A session was ended to protect your account".into(),
                format!("A sign-in token of one of your sessions was used twice, which can mean someone copied it, so that session was ended. {NOT_YOU}"),
            ),
            _ => return None,
        };
        Some((title, body))
    }
}

impl Accounts {
    /// Records a security event inside the caller's transaction; the notice-worthy kinds also post a notice
    /// to the account (announced to its subscriptions when the transaction commits).
    pub async fn record_event(
        &self,
        conn: &mut AsyncPgConnection,
        account_id: i64,
        kind: EventKind,
        detail: serde_json::Value,
        client: &ClientInfo,
    ) -> AppResult<()> {
        use diesel::ExpressionMethods;
        let notice = kind.notice(&detail);
        let event_id: i64 = diesel::insert_into(se::table)
            .values((
                se::account_id.eq(account_id),
                se::kind.eq(kind.as_str()),
                se::detail.eq(detail),
                se::client_addr_hash.eq(self.client_hash(client)),
                se::user_agent.eq(truncate(&client.user_agent, 256)),
            ))
            .returning(se::id)
            .get_result(conn)
            .await?;
        if let Some((title, body)) = notice {
            let notice = NewNotice {
                account_id,
                kind: NoticeKind::AccountSecurity,
                title,
                body,
                refs: serde_json::json!({ "securityEvent": event_id, "event": kind.as_str() }),
            };
            post_notice(conn, &notice).await?;
        }
        Ok(())
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
