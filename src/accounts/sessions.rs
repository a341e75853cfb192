//! Sessions and tokens: a session per sign-in, an access token bound to it, and a refresh token family that
//! rotates on every use; reusing a spent refresh token revokes the whole session.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::Accounts;
use super::events::{EventKind, truncate};
use super::live_sessions::LiveSession;
use super::tokens::{self, REFRESH_TTL_DAYS};
use crate::client::ClientInfo;
use crate::db::schema::{accounts, refresh_tokens as rt, sessions};
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::{Role, SignedIn, Viewer};

/// What a successful sign-in hands the client.
#[derive(Debug, Clone)]
pub struct SignedInTokens {
    pub account_id: i64,
    pub session_id: i64,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
}

/// A refresh token with its session's state.
#[derive(Queryable)]
struct RefreshRow {
    id: i64,
    session_id: i64,
    used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    account_id: i64,
    revoked_at: Option<DateTime<Utc>>,
}

impl Accounts {
    /// Opens a session for `account_id` inside the caller's transaction and issues its tokens.
    pub async fn open_session(
        &self,
        conn: &mut AsyncPgConnection,
        account_id: i64,
        method: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> AppResult<SignedInTokens> {
        let suspended: Option<Option<DateTime<Utc>>> = accounts::table
            .find(account_id)
            .select(accounts::suspended_at)
            .first(conn)
            .await
            .optional()?;
        if suspended.flatten().is_some() {
            return Err(AppError::Forbidden(
                "this account is suspended; write to the contact in the privacy policy".into(),
            ));
        }
        let device = truncate(device.unwrap_or("").trim(), 64);
        let user_agent = truncate(&client.user_agent, 256);
        let earlier: Vec<(String, String)> = sessions::table
            .filter(sessions::account_id.eq(account_id))
            .select((sessions::device, sessions::user_agent))
            .load(conn)
            .await?;
        let session_id: i64 = diesel::insert_into(sessions::table)
            .values((
                sessions::account_id.eq(account_id),
                sessions::device.eq(&device),
                sessions::user_agent.eq(&user_agent),
                sessions::client_addr_hash.eq(self.client_hash(client)),
                sessions::method.eq(method),
            ))
            .returning(sessions::id)
            .get_result(conn)
            .await?;
        let refresh_token = self.store_refresh_token(conn, session_id).await?;
        let detail = serde_json::json!({ "method": method, "device": device });
        self.record_event(conn, account_id, EventKind::SignIn, detail.clone(), client)
            .await?;
        if !earlier.is_empty()
            && !earlier
                .iter()
                .any(|(d, ua)| *d == device && *ua == user_agent)
        {
            self.record_event(conn, account_id, EventKind::NewDevice, detail, client)
                .await?;
        }
        let (access_token, exp) = self
            .tokens
            .issue(account_id, session_id, Utc::now().timestamp());
        Ok(SignedInTokens {
            account_id,
            session_id,
            access_token,
            access_expires_at: Utc.timestamp_opt(exp, 0).single().unwrap_or_else(Utc::now),
            refresh_token,
        })
    }

    async fn store_refresh_token(
        &self,
        conn: &mut AsyncPgConnection,
        session_id: i64,
    ) -> QueryResult<String> {
        let token = tokens::new_refresh_token();
        diesel::insert_into(rt::table)
            .values((
                rt::session_id.eq(session_id),
                rt::token_hash.eq(tokens::hash_secret(&token)),
                rt::expires_at.eq(Utc::now() + Duration::days(REFRESH_TTL_DAYS)),
            ))
            .execute(conn)
            .await?;
        Ok(token)
    }

    /// Trades a refresh token for new tokens. A token that was already used revokes its session.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> AppResult<SignedInTokens> {
        let hash = tokens::hash_secret(refresh_token.trim());
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let outcome = conn
            .transaction::<_, AppError, _>(async |conn| {
                let row: Option<RefreshRow> = rt::table
                    .inner_join(sessions::table)
                    .filter(rt::token_hash.eq(&hash))
                    .select((
                        rt::id,
                        rt::session_id,
                        rt::used_at,
                        rt::expires_at,
                        sessions::account_id,
                        sessions::revoked_at,
                    ))
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                let Some(RefreshRow {
                    id,
                    session_id,
                    used_at,
                    expires_at,
                    account_id,
                    revoked_at,
                }) = row
                else {
                    return Ok(None);
                };
                if revoked_at.is_some() || expires_at < Utc::now() {
                    return Ok(None);
                }
                if used_at.is_some() {
                    // Reuse: someone holds a copy of a spent token. End the whole family.
                    this.revoke_session_in(conn, session_id, "refresh token reused")
                        .await?;
                    this.record_event(
                        conn,
                        account_id,
                        EventKind::RefreshTokenReused,
                        serde_json::json!({ "session": session_id }),
                        client,
                    )
                    .await?;
                    return Ok(None);
                }
                diesel::update(rt::table.find(id))
                    .set(rt::used_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
                diesel::update(sessions::table.find(session_id))
                    .set(sessions::last_seen_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
                let refresh_token = this.store_refresh_token(conn, session_id).await?;
                let (access_token, exp) =
                    this.tokens
                        .issue(account_id, session_id, Utc::now().timestamp());
                Ok(Some(SignedInTokens {
                    account_id,
                    session_id,
                    access_token,
                    access_expires_at: Utc.timestamp_opt(exp, 0).single().unwrap_or_else(Utc::now),
                    refresh_token,
                }))
            })
            .await?;
        outcome.ok_or(AppError::Unauthenticated)
    }

    /// Resolves an access token to a viewer: the signature and claims, then a live session, remembered for a
    /// few seconds ([`super::live_sessions`]) or read from the database.
    pub async fn authenticate(&self, token: Option<&str>) -> AppResult<Viewer> {
        self.check_token(token, true).await
    }

    /// As [`Accounts::authenticate`], always asking the database: for a socket re-checked because its account's
    /// access changed, where the remembered answer is the one in question.
    pub async fn authenticate_fresh(&self, token: Option<&str>) -> AppResult<Viewer> {
        self.check_token(token, false).await
    }

    async fn check_token(&self, token: Option<&str>, remembered: bool) -> AppResult<Viewer> {
        let Some(token) = token else {
            return Ok(Viewer::visitor());
        };
        let (account_id, session_id) = self.tokens.verify(token).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            AppError::Unauthenticated
        })?;
        let signed_in = |live: LiveSession| Viewer {
            account: Some(SignedIn {
                account_id,
                session_id: Some(session_id),
                role: live.role,
                has_phone: live.has_phone,
            }),
        };
        if remembered && let Some(live) = self.live.get(session_id, account_id) {
            return Ok(signed_in(live));
        }
        let epoch = self.live.epoch();
        let live = self.read_session(account_id, session_id).await?;
        if let Some(epoch) = epoch {
            self.live.remember(epoch, session_id, live);
        }
        Ok(signed_in(live))
    }

    /// The live session `session_id` of `account_id` (one statement, which also refreshes `last_seen_at` at
    /// most once a minute); `UNAUTHENTICATED` when it is revoked, or the account erased or suspended.
    async fn read_session(&self, account_id: i64, session_id: i64) -> AppResult<LiveSession> {
        #[derive(QueryableByName)]
        struct Live {
            #[diesel(sql_type = diesel::sql_types::Text)]
            role: Role,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            has_phone: bool,
        }
        let mut conn = self.pool.get().await?;
        // Every signed-in request runs this: a cached prepared statement saves a parse round trip each time.
        let live: Option<Live> = crate::db::Cached(
            diesel::sql_query(
                "WITH touched AS (UPDATE sessions SET last_seen_at = now() \
                   WHERE id = $1 AND revoked_at IS NULL AND last_seen_at < now() - interval '60 seconds') \
                 SELECT a.role, a.phone_index IS NOT NULL AS has_phone FROM sessions s JOIN accounts a ON a.id = s.account_id \
                 WHERE s.id = $1 AND s.account_id = $2 AND s.revoked_at IS NULL AND a.status <> 'erased' \
                   AND a.suspended_at IS NULL",
            )
            .bind::<diesel::sql_types::BigInt, _>(session_id)
            .bind::<diesel::sql_types::BigInt, _>(account_id),
        )
        .get_result(&mut conn)
        .await
        .optional()?;
        let live = live.ok_or(AppError::Unauthenticated)?;
        Ok(LiveSession {
            account_id,
            role: live.role,
            has_phone: live.has_phone,
        })
    }

    /// Revokes one session (its access tokens stop working at once; its refresh tokens too).
    pub async fn revoke_session_in(
        &self,
        conn: &mut AsyncPgConnection,
        session_id: i64,
        reason: &str,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table.find(session_id))
            .filter(sessions::revoked_at.is_null())
            .set((
                sessions::revoked_at.eq(diesel::dsl::now),
                sessions::revoked_reason.eq(reason),
            ))
            .execute(conn)
            .await
    }

    /// Revokes every live session of an account except `keep`; returns how many ended.
    pub async fn revoke_other_sessions(
        &self,
        conn: &mut AsyncPgConnection,
        account_id: i64,
        keep: Option<i64>,
        reason: &str,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table)
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(keep.unwrap_or(-1)))
            .set((
                sessions::revoked_at.eq(diesel::dsl::now),
                sessions::revoked_reason.eq(reason),
            ))
            .execute(conn)
            .await
    }

    /// Ends a session of the viewer's own (`revokeSession`, `logout`).
    pub async fn revoke_own_session(
        &self,
        account_id: i64,
        session_id: i64,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let owner: Option<i64> = sessions::table
                .find(session_id)
                .filter(sessions::revoked_at.is_null())
                .select(sessions::account_id)
                .first(conn)
                .await
                .optional()?;
            if owner != Some(account_id) {
                return Err(AppError::NotFound("session".into()));
            }
            this.revoke_session_in(conn, session_id, "revoked by the owner")
                .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::SessionRevoked,
                serde_json::json!({ "session": session_id }),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// The role of an account (for guards outside a token, e.g. the CLI).
    pub async fn role_of(
        &self,
        conn: &mut AsyncPgConnection,
        account_id: i64,
    ) -> QueryResult<Option<String>> {
        accounts::table
            .find(account_id)
            .select(accounts::role)
            .first(conn)
            .await
            .optional()
    }
}
