//! `Me`: the signed-in account as its owner sees it.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::{Consent, Gender, ThirdPartyBinding};
use super::{ThirdPartyProvider, accounts};
use crate::accounts::model::{Account, Profile};
use crate::accounts::phone;
use crate::accounts::service as store;
use crate::error::AppError;
use crate::graphql::ids;
use crate::graphql::viewer::Viewer;
use crate::realtime;

/// The signed-in account, with what only its owner may see: the masked phone number, the email address,
/// sessions, bindings, consents and security events.
pub struct Me {
    pub account: Account,
    pub profile: Profile,
}

impl Me {
    /// Loads the account behind the viewer.
    pub async fn load(ctx: &Context<'_>, account_id: i64) -> async_graphql::Result<Me> {
        let a = accounts(ctx);
        let mut conn = a.pool.get().await.map_err(AppError::from)?;
        let account = store::account(&mut conn, account_id)
            .await
            .map_err(AppError::from)?
            .ok_or(AppError::Unauthenticated)?;
        let profile = store::profile(&mut conn, account_id)
            .await
            .map_err(AppError::from)?;
        Ok(Me { account, profile })
    }
}

/// A sign-in of this account.
#[derive(SimpleObject)]
pub struct Session {
    pub id: ID,
    /// The device name given at sign-in.
    pub device: String,
    pub user_agent: String,
    /// How the session began: register, password, sms_code, wechat, weibo, qq.
    pub method: String,
    /// True for the session making this request.
    pub current: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Something that happened to this account's security.
#[derive(SimpleObject)]
pub struct SecurityEvent {
    pub id: ID,
    /// registered, sign_in, sign_in_failed, new_device, password_changed, password_reset, email_bound,
    /// email_unbound, third_party_bound, third_party_unbound, session_revoked, refresh_token_reused,
    /// cancellation_requested, cancellation_revoked, personal_data_accessed.
    pub kind: String,
    pub detail: async_graphql::Json<serde_json::Value>,
    pub user_agent: String,
    pub at: DateTime<Utc>,
}

#[Object]
impl Me {
    /// Global id (the same as this account's public `User` id).
    async fn id(&self) -> ID {
        ids::encode("User", self.account.id)
    }
    async fn username(&self) -> &str {
        &self.account.username
    }
    async fn gender(&self) -> Gender {
        Gender::parse(&self.account.gender)
    }
    async fn occupation(&self) -> &str {
        &self.account.occupation
    }
    async fn city(&self) -> &str {
        &self.account.city
    }
    /// The role: user, staff or admin.
    async fn role(&self) -> &str {
        self.account.role.as_str()
    }
    /// The phone number, masked (`+86 138****8000`); null for accounts made through WeChat, Weibo or QQ.
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        let sealed = self.account.phone_ciphertext.as_deref()?;
        accounts(ctx)
            .keys
            .open_str(crate::crypto::Column::AccountPhone, self.account.id, sealed)
            .ok()
            .map(|p| phone::mask(&p))
    }
    /// True while the account has no phone number: accounts made through WeChat, Weibo or QQ bind one with
    /// `changePhone` before they publish.
    async fn needs_phone(&self) -> bool {
        self.account.phone_ciphertext.is_none()
    }
    /// When the username may next change (`changeUsername`); null when it may change now.
    async fn username_changeable_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let next = self.account.username_changed_at?
            + chrono::Duration::days(crate::accounts::correction::USERNAME_PERIOD_DAYS);
        (next > chrono::Utc::now()).then_some(next)
    }
    /// The bound email address (only ever visible to its owner).
    async fn email(&self, ctx: &Context<'_>) -> Option<String> {
        let sealed = self.account.email_ciphertext.as_deref()?;
        accounts(ctx)
            .keys
            .open_str(crate::crypto::Column::AccountEmail, self.account.id, sealed)
            .ok()
    }
    async fn avatar_url(&self) -> Option<&str> {
        self.profile.avatar_url.as_deref()
    }
    async fn hometown(&self) -> Option<&str> {
        self.profile.hometown.as_deref()
    }
    async fn signature(&self) -> Option<&str> {
        self.profile.signature.as_deref()
    }
    async fn bio(&self) -> Option<&str> {
        self.profile.bio.as_deref()
    }
    async fn education(&self) -> Option<&str> {
        self.profile.education.as_deref()
    }
    /// Contact information (stored encrypted).
    async fn contact(&self, ctx: &Context<'_>) -> Option<String> {
        let sealed = self.profile.contact_ciphertext.as_deref()?;
        accounts(ctx)
            .keys
            .open_str(
                crate::crypto::Column::ProfileContact,
                self.account.id,
                sealed,
            )
            .ok()
    }
    async fn link(&self) -> Option<&str> {
        self.profile.link.as_deref()
    }
    async fn equipment(&self) -> Option<&str> {
        self.profile.equipment.as_deref()
    }
    async fn labels(&self) -> Vec<String> {
        self.profile.labels()
    }
    /// The profile fields only the owner sees (the rest are public).
    async fn private_fields(&self) -> Vec<String> {
        self.profile
            .private_fields
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.account.created_at
    }
    /// Live sessions, most recently used first.
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let current = Viewer::from_ctx(ctx)
            .account
            .as_ref()
            .and_then(|s| s.session_id);
        let mut conn = accounts(ctx).pool.get().await.map_err(AppError::from)?;
        let rows = store::live_sessions(&mut conn, self.account.id)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .map(|s| Session {
                id: ids::encode("Session", s.id),
                device: s.device,
                user_agent: s.user_agent,
                method: s.method,
                current: Some(s.id) == current,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            })
            .collect())
    }
    /// WeChat, Weibo and QQ accounts bound to this account.
    async fn third_party_bindings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ThirdPartyBinding>> {
        let mut conn = accounts(ctx).pool.get().await.map_err(AppError::from)?;
        let rows = store::bindings(&mut conn, self.account.id)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .filter_map(|b| {
                Some(ThirdPartyBinding {
                    provider: ThirdPartyProvider::parse(&b.provider)?,
                    nickname: b.nickname,
                    avatar_url: b.avatar_url,
                    bound_at: b.bound_at,
                })
            })
            .collect())
    }
    /// The current answer for each purpose consented to or withdrawn: general answers, and answers naming
    /// a partner for purposes given per partner.
    async fn consents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Consent>> {
        let rows =
            crate::privacy::service::current_consents(&accounts(ctx).pool, self.account.id).await?;
        Ok(rows.into_iter().map(Consent::from).collect())
    }
    /// Every grant and withdrawal this account gave, newest first (the append-only consent ledger); `after` is
    /// a cursor from this list.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn consent_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::schema::privacy::ConsentRecordConnection> {
        Ok(crate::schema::privacy::consent_history(ctx, self.account.id, first, after).await?)
    }
    /// True when a newer policy version adds or changes a purpose this account has not answered.
    async fn needs_reconsent(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(crate::privacy::service::needs_reconsent(&accounts(ctx).pool, self.account.id).await?)
    }
    /// The pending request to cancel this account; null when none is pending.
    async fn cancellation(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::schema::rights::AccountCancellation>> {
        crate::schema::rights::cancellation::pending(ctx, self.account.id).await
    }
    /// Works this account collected, most recently collected first.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn collections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::schema::content::WorkConnection> {
        Ok(crate::schema::content::lists::collections(ctx, self.account.id, first, after).await?)
    }
    /// Notifications to this account (security incidents, account security, social, announcements), newest
    /// first; `after` is a notification cursor, and `unacknowledgedOnly: true` leaves out acknowledged ones.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
        unacknowledged_only: Option<bool>,
    ) -> async_graphql::Result<crate::schema::realtime::NotificationConnection> {
        let first = crate::graphql::page_size(first)? as usize;
        let after = after
            .map(|c| realtime::service::parse_cursor(&c, "after"))
            .transpose()?;
        let pool = &accounts(ctx).pool;
        let (notices, more) = realtime::service::notifications_page(
            pool,
            self.account.id,
            first,
            after,
            unacknowledged_only.unwrap_or(false),
        )
        .await?;
        Ok(crate::schema::realtime::notification_connection(
            notices,
            after.is_some(),
            more,
        ))
    }
    /// The browsers and phones registered for push notifications of this account's notices, oldest first.
    async fn push_devices(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::schema::realtime::PushDevice>> {
        Ok(crate::schema::realtime::devices_of(ctx, self.account.id).await?)
    }
    /// Every disclosure of this account's data to a partner (who, for which purpose, which data categories,
    /// when), newest first; `after` is a cursor from this list.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn disclosures(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::schema::privacy::DisclosureConnection> {
        crate::schema::privacy::disclosures(ctx, self.account.id, first, after).await
    }
    /// This account's recent data exports (requested with `requestDataExport`), newest first.
    async fn data_exports(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::schema::rights::DataExport>> {
        crate::schema::rights::data_exports(ctx, self.account.id).await
    }
    /// Every time a staff member read this account's personal data (when, why, which fields, who), newest
    /// first; `after` is a cursor from this list.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn staff_accesses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::schema::rights::StaffAccessConnection> {
        crate::schema::rights::staff_accesses(ctx, self.account.id, first, after).await
    }
    /// Security events, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(maximum = 100))] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SecurityEvent, EmptyFields, EmptyFields>> {
        let first = crate::graphql::page_size(first)?;
        let before_id = match after {
            None => None,
            Some(c) => Some(ids::decode_i64(&c, "SecurityEventCursor", "after")?),
        };
        let mut conn = accounts(ctx).pool.get().await.map_err(AppError::from)?;
        let mut rows = store::security_events(&mut conn, self.account.id, before_id, first + 1)
            .await
            .map_err(AppError::from)?;
        let has_next = rows.len() as i64 > first;
        rows.truncate(first as usize);
        let mut connection = Connection::new(before_id.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|e| {
            Edge::new(
                ids::encode("SecurityEventCursor", e.id).0,
                SecurityEvent {
                    id: ids::encode("SecurityEvent", e.id),
                    kind: e.kind,
                    detail: async_graphql::Json(e.detail),
                    user_agent: e.user_agent,
                    at: e.created_at,
                },
            )
        }));
        Ok(connection)
    }
}
