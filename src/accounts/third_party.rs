//! Sign-in with WeChat, Weibo and QQ (policy 1.3): a signed single-use `state`, the provider's code exchanged
//! for its user id, the provider's profile read only with consent to `third-party-profile`, bindings that can
//! be removed unless they are the last way to sign in, and never an automatic link by email.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::RngCore;

use super::Accounts;
use super::events::EventKind;
use super::oauth::{OAuthError, ProviderKind, ThirdPartyProfile};
use super::sessions::SignedInTokens;
use super::store;
use crate::client::ClientInfo;
use crate::db::schema::{accounts, oauth_states as os, profiles, third_party_bindings as tpb};
use crate::error::{AppError, AppResult};

/// The purpose whose consent lets us read nickname, avatar and gender from the provider.
pub const PROFILE_PURPOSE: &str = "third-party-profile";
const STATE_TTL_MINUTES: i64 = 10;

/// A started third-party sign-in.
pub struct Started {
    pub authorize_url: String,
    pub state: String,
}

impl From<OAuthError> for AppError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::ProviderRejected { provider, .. } => AppError::bad_input(
                "code",
                format!("{provider} did not accept this sign-in; start again"),
            ),
            other => AppError::Internal(anyhow::anyhow!("third-party sign-in: {other}")),
        }
    }
}

/// `oauth_states` columns read back when a state is spent.
type StateColumns = (
    Option<i64>,
    String,
    Vec<Option<String>>,
    Option<String>,
    bool,
);

struct StateRow {
    account_id: Option<i64>,
    redirect_uri: String,
    consents: Vec<String>,
    policy_version: Option<String>,
    adult_confirmed: bool,
}

/// What a visitor who may be new says when a third-party sign-in starts.
#[derive(Debug, Clone, Default)]
pub struct NewcomerAnswers {
    pub consents: Vec<String>,
    pub policy_version: Option<String>,
    /// The 18-or-older confirmation (policy 1.1): a new account is created only with it.
    pub adult_confirmed: bool,
}

impl Accounts {
    fn provider(
        &self,
        kind: ProviderKind,
    ) -> AppResult<std::sync::Arc<dyn super::oauth::Provider>> {
        self.providers.get(kind).ok_or_else(|| {
            AppError::bad_input(
                "provider",
                format!("sign-in with {kind} is not configured on this server"),
            )
        })
    }

    /// Starts a sign-in (or, for a signed-in `account_id`, a binding) with `kind`.
    pub async fn start_third_party(
        &self,
        kind: ProviderKind,
        redirect_uri: &str,
        account_id: Option<i64>,
        answers: NewcomerAnswers,
    ) -> AppResult<Started> {
        let NewcomerAnswers {
            consents,
            policy_version,
            adult_confirmed,
        } = answers;
        let provider = self.provider(kind)?;
        let uri = redirect_uri.trim();
        if !(uri.starts_with("https://") || uri.starts_with("http://"))
            || uri.len() > 512
            || uri.chars().any(char::is_whitespace)
        {
            return Err(AppError::bad_input(
                "redirectUri",
                "redirectUri must be an http(s) URL",
            ));
        }
        if !consents.is_empty() {
            let version = policy_version.clone().unwrap_or_default();
            crate::privacy::service::check_registration_consents(&self.pool, &version, &consents)
                .await?;
        }
        let mut random = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut random);
        let nonce = URL_SAFE_NO_PAD.encode(random);
        let signature =
            URL_SAFE_NO_PAD.encode(&self.keys.pseudonym("oauth-state", nonce.as_bytes())[..16]);
        let state = format!("{nonce}.{signature}");
        let mut conn = self.pool.get().await?;
        diesel::insert_into(os::table)
            .values((
                os::state_hash.eq(super::tokens::hash_secret(&state)),
                os::provider.eq(kind.as_str()),
                os::purpose.eq(if account_id.is_some() {
                    "bind"
                } else {
                    "login"
                }),
                os::account_id.eq(account_id),
                os::redirect_uri.eq(uri),
                os::expires_at.eq(Utc::now() + Duration::minutes(STATE_TTL_MINUTES)),
                os::consents.eq(consents.iter().map(|c| Some(c.clone())).collect::<Vec<_>>()),
                os::policy_version.eq(policy_version),
                os::adult_confirmed.eq(adult_confirmed),
            ))
            .execute(&mut conn)
            .await?;
        Ok(Started {
            authorize_url: provider.authorize_url(&state, uri),
            state,
        })
    }

    /// Checks the signature of a state and spends it (single use).
    async fn spend_state(&self, kind: ProviderKind, state: &str) -> AppResult<StateRow> {
        let invalid = || {
            AppError::bad_input(
                "state",
                "this sign-in has expired or was already used; start again",
            )
        };
        let (nonce, signature) = state.split_once('.').ok_or_else(invalid)?;
        let expected =
            URL_SAFE_NO_PAD.encode(&self.keys.pseudonym("oauth-state", nonce.as_bytes())[..16]);
        if expected != signature {
            return Err(invalid());
        }
        let mut conn = self.pool.get().await?;
        let row: Option<StateColumns> = diesel::update(os::table)
            .filter(os::state_hash.eq(super::tokens::hash_secret(state)))
            .filter(os::provider.eq(kind.as_str()))
            .filter(os::used_at.is_null())
            .filter(os::expires_at.gt(diesel::dsl::now))
            .set(os::used_at.eq(diesel::dsl::now))
            .returning((
                os::account_id,
                os::redirect_uri,
                os::consents,
                os::policy_version,
                os::adult_confirmed,
            ))
            .get_result(&mut conn)
            .await
            .optional()?;
        let (account_id, redirect_uri, consents, policy_version, adult_confirmed) =
            row.ok_or_else(invalid)?;
        Ok(StateRow {
            account_id,
            redirect_uri,
            consents: consents.into_iter().flatten().collect(),
            policy_version,
            adult_confirmed,
        })
    }

    /// Completes a sign-in: signs in the account bound to this provider account, or creates one. A new
    /// account needs the 18-or-older confirmation, given when the sign-in started or here
    /// (`adult_confirmed`); it has no phone number until it binds one (`changePhone`), and cannot publish
    /// before that.
    pub async fn complete_third_party(
        &self,
        kind: ProviderKind,
        code: &str,
        state: &str,
        adult_confirmed: bool,
        client: &ClientInfo,
    ) -> AppResult<SignedInTokens> {
        let row = self.spend_state(kind, state).await?;
        if row.account_id.is_some() {
            return Err(AppError::bad_input(
                "state",
                "this state was started for binding; use bindThirdParty",
            ));
        }
        let provider = self.provider(kind)?;
        let identity = provider.exchange(code, &row.redirect_uri).await?;
        let mut conn = self.pool.get().await?;
        let bound: Option<i64> = tpb::table
            .filter(tpb::provider.eq(kind.as_str()))
            .filter(tpb::subject.eq(&identity.subject))
            .select(tpb::account_id)
            .first(&mut conn)
            .await
            .optional()?;
        if let Some(account_id) = bound {
            // Refresh the stored profile only while the account consents to it.
            let profile =
                if crate::privacy::service::has_consent(&mut conn, account_id, PROFILE_PURPOSE)
                    .await?
                {
                    provider.profile(&identity).await.ok()
                } else {
                    None
                };
            let this = self.clone();
            return conn
                .transaction::<_, AppError, _>(async |conn| {
                    if let Some(p) = &profile {
                        store::store_profile(conn, account_id, kind, p).await?;
                    }
                    this.open_session(conn, account_id, kind.as_str(), None, client)
                        .await
                })
                .await;
        }
        // A new account: it needs the adult confirmation, and consent to the required purposes given when the
        // sign-in started.
        if !(row.adult_confirmed || adult_confirmed) {
            return Err(AppError::bad_input(
                "adultConfirmed",
                "a new account needs your confirmation that you are 18 or older: start again with adultConfirmed: true",
            ));
        }
        let version = row.policy_version.clone().unwrap_or_default();
        let plan = crate::privacy::service::check_registration_consents(&self.pool, &version, &row.consents)
            .await
            .map_err(|_| {
                AppError::bad_input(
                    "consents",
                    "a new account needs consent to the current policy's required purposes: start again with consents and policyVersion",
                )
            })?;
        let profile = if plan.purposes.iter().any(|p| p == PROFILE_PURPOSE) {
            provider.profile(&identity).await.ok()
        } else {
            None
        };
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let username = free_username(conn, kind, profile.as_ref()).await?;
            let gender = profile
                .as_ref()
                .and_then(|p| p.gender)
                .map(|g| g.as_str())
                .unwrap_or("undisclosed");
            let account_id: i64 = diesel::insert_into(accounts::table)
                .values((
                    accounts::username.eq(&username),
                    accounts::gender.eq(gender),
                    accounts::adult_confirmed_at.eq(diesel::dsl::now),
                    // No phone yet: `needsPhone` until one is bound by SMS code.
                ))
                .returning(accounts::id)
                .get_result(conn)
                .await?;
            crate::content::service::index_account(conn, account_id, &username).await?;
            diesel::insert_into(profiles::table)
                .values((
                    profiles::account_id.eq(account_id),
                    profiles::avatar_url.eq(profile.as_ref().and_then(|p| p.avatar_url.clone())),
                ))
                .execute(conn)
                .await?;
            store::insert_binding(conn, account_id, kind, &identity, profile.as_ref()).await?;
            crate::privacy::service::record_consents(
                conn,
                &this.keys,
                account_id,
                &plan,
                kind.as_str(),
                client,
            )
            .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::Registered,
                serde_json::json!({ "provider": kind.as_str() }),
                client,
            )
            .await?;
            this.open_session(conn, account_id, kind.as_str(), None, client)
                .await
        })
        .await
    }

    /// Binds a provider account to the signed-in account. A provider account bound elsewhere is refused.
    pub async fn bind_third_party(
        &self,
        account_id: i64,
        kind: ProviderKind,
        code: &str,
        state: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let row = self.spend_state(kind, state).await?;
        if row.account_id != Some(account_id) {
            return Err(AppError::bad_input(
                "state",
                "this state was not started by this account for binding",
            ));
        }
        let provider = self.provider(kind)?;
        let identity = provider.exchange(code, &row.redirect_uri).await?;
        let mut conn = self.pool.get().await?;
        let profile = if crate::privacy::service::has_consent(
            &mut conn,
            account_id,
            PROFILE_PURPOSE,
        )
        .await?
        {
            provider.profile(&identity).await.ok()
        } else {
            None
        };
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let existing: Option<i64> = tpb::table
                .filter(tpb::provider.eq(kind.as_str()))
                .filter(tpb::subject.eq(&identity.subject))
                .select(tpb::account_id)
                .first(conn)
                .await
                .optional()?;
            match existing {
                Some(owner) if owner == account_id => return Ok(()),
                Some(_) => {
                    return Err(AppError::bad_input(
                        "code",
                        format!("this {kind} account is bound to another account"),
                    ));
                }
                None => {}
            }
            let already: i64 = tpb::table
                .filter(tpb::account_id.eq(account_id))
                .filter(tpb::provider.eq(kind.as_str()))
                .count()
                .get_result(conn)
                .await?;
            if already > 0 {
                return Err(AppError::bad_input(
                    "provider",
                    format!("a {kind} account is already bound; unbind it first"),
                ));
            }
            store::insert_binding(conn, account_id, kind, &identity, profile.as_ref()).await?;
            this.record_event(
                conn,
                account_id,
                EventKind::ThirdPartyBound,
                serde_json::json!({ "provider": kind.as_str() }),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Removes a binding, unless it is the account's last way to sign in.
    pub async fn unbind_third_party(
        &self,
        account_id: i64,
        kind: ProviderKind,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let account = store::account(conn, account_id)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            let bindings = store::bindings(conn, account_id).await?;
            if !bindings.iter().any(|b| b.provider == kind.as_str()) {
                return Err(AppError::NotFound(format!("{kind} binding")));
            }
            let has_password_login = account.password_hash.is_some()
                && (account.phone_ciphertext.is_some() || account.email_ciphertext.is_some());
            let has_sms_login = account.phone_ciphertext.is_some();
            if !has_password_login && !has_sms_login && bindings.len() == 1 {
                return Err(AppError::bad_input(
                    "provider",
                    format!(
                        "{kind} is this account's only way to sign in; bind a phone number first"
                    ),
                ));
            }
            diesel::delete(
                tpb::table
                    .filter(tpb::account_id.eq(account_id))
                    .filter(tpb::provider.eq(kind.as_str())),
            )
            .execute(conn)
            .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::ThirdPartyUnbound,
                serde_json::json!({ "provider": kind.as_str() }),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }
}

/// A free username for a new third-party account: the nickname when it is usable, else `<provider>_<digits>`.
async fn free_username(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
    profile: Option<&ThirdPartyProfile>,
) -> AppResult<String> {
    let base: String = profile
        .and_then(|p| p.nickname.clone())
        .map(|n| {
            n.chars()
                .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .take(24)
                .collect::<String>()
        })
        .filter(|n| super::signin::check_username(n).is_ok())
        .unwrap_or_else(|| kind.as_str().to_string());
    for attempt in 0..20 {
        let candidate = if attempt == 0 && base != kind.as_str() {
            base.clone()
        } else {
            format!("{base}_{}", rand::random::<u32>() % 1_000_000)
        };
        if !store::username_taken(conn, &candidate, None).await? {
            return Ok(candidate);
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free username found"
    )))
}
