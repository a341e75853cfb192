//! Partner tokens: opaque bearer secrets scoped to some of a partner's purposes, shown once and stored only as a
//! SHA-256 hash (they carry 256 random bits), and the lookup that turns one into a [`PartnerPrincipal`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{PartnerKind, TOKEN_PREFIX, distinct, find};
use crate::db::Pool;
use crate::db::schema::{partner_tokens as pt, partners};
use crate::error::{AppError, AppResult};

/// The longest lifetime a partner token may be issued with.
pub const MAX_TOKEN_DAYS: i32 = 365;
/// `last_used_at` is written at most this often per token.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// The partner behind a request that carried a partner token (request data of the GraphQL executor).
#[derive(Debug, Clone)]
pub struct PartnerPrincipal {
    pub partner_id: i64,
    pub token_id: i64,
    pub kind: PartnerKind,
    /// The purposes this token may be used for (a subset of the partner's).
    pub scopes: Vec<String>,
    /// The data categories the partner was registered for.
    pub data_categories: Vec<String>,
    pub name: String,
}

impl PartnerPrincipal {
    /// Whether this token's scopes include `purpose`.
    pub fn may(&self, purpose: &str) -> bool {
        self.scopes.iter().any(|s| s == purpose)
    }
}

/// A token as stored (its hash never leaves the store).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pt)]
pub struct TokenRow {
    pub id: i64,
    pub partner_id: i64,
    pub label: String,
    pub scopes: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token just issued: the only time its secret is seen.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub row: TokenRow,
    pub token: String,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Issues a token for a partner, valid `expires_in_days` days, for `scopes` (a subset of its purposes).
pub async fn issue_token(
    pool: &Pool,
    staff_id: i64,
    partner_id: i64,
    scopes: &[String],
    label: Option<&str>,
    expires_in_days: i32,
) -> AppResult<IssuedToken> {
    if !(1..=MAX_TOKEN_DAYS).contains(&expires_in_days) {
        return Err(AppError::bad_input(
            "expiresInDays",
            format!("a partner token lives 1 to {MAX_TOKEN_DAYS} days"),
        ));
    }
    let label = label.unwrap_or("").trim();
    if label.chars().count() > 100 {
        return Err(AppError::bad_input(
            "label",
            "a label has at most 100 characters",
        ));
    }
    let mut conn = pool.get().await?;
    let partner = find(&mut conn, partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound("partner".into()))?;
    if partner.suspended_at.is_some() {
        return Err(AppError::bad_input(
            "partner",
            format!("partner `{}` is suspended", partner.name),
        ));
    }
    let scopes = distinct(scopes);
    let purposes = partner.purposes();
    if scopes.is_empty() {
        return Err(AppError::bad_input(
            "scopes",
            format!(
                "name at least one of the partner's purposes ({})",
                purposes.join(", ")
            ),
        ));
    }
    if let Some(other) = scopes.iter().find(|s| !purposes.contains(s)) {
        return Err(AppError::bad_input(
            "scopes",
            format!(
                "`{other}` is not among the purposes of partner `{}` ({})",
                partner.name,
                purposes.join(", ")
            ),
        ));
    }
    let token = new_secret();
    let row = diesel::insert_into(pt::table)
        .values((
            pt::partner_id.eq(partner_id),
            pt::token_hash.eq(hash(&token)),
            pt::label.eq(label),
            pt::scopes.eq(&scopes),
            pt::issued_by.eq(staff_id),
            pt::expires_at.eq(Utc::now() + Duration::days(expires_in_days.into())),
        ))
        .returning(TokenRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(IssuedToken { row, token })
}

/// Revokes a token at once. `false` when it was already revoked; an unknown token is `NOT_FOUND`.
pub async fn revoke_token(pool: &Pool, token_id: i64) -> AppResult<bool> {
    let mut conn = pool.get().await?;
    let revoked = diesel::update(pt::table.find(token_id).filter(pt::revoked_at.is_null()))
        .set(pt::revoked_at.eq(Utc::now()))
        .execute(&mut conn)
        .await?;
    if revoked == 1 {
        return Ok(true);
    }
    let exists: Option<i64> = pt::table
        .find(token_id)
        .select(pt::id)
        .first(&mut conn)
        .await
        .optional()?;
    match exists {
        Some(_) => Ok(false),
        None => Err(AppError::NotFound("partner token".into())),
    }
}

/// The tokens of a partner, newest first (for staff).
pub async fn tokens_of(pool: &Pool, partner_id: i64) -> AppResult<Vec<TokenRow>> {
    let mut conn = pool.get().await?;
    Ok(pt::table
        .filter(pt::partner_id.eq(partner_id))
        .order(pt::id.desc())
        .select(TokenRow::as_select())
        .load(&mut conn)
        .await?)
}

/// Turns a bearer partner token into its principal: known (by hash), not revoked, not expired, of a partner
/// that is not suspended. Anything else is `UNAUTHENTICATED`, like a bad access token. Records the use at most
/// once a minute.
pub async fn authenticate(pool: &Pool, token: &str) -> AppResult<PartnerPrincipal> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
        return Err(AppError::Unauthenticated);
    }
    let now = Utc::now();
    let mut conn = pool.get().await?;
    type Found = (
        i64,
        Vec<Option<String>>,
        Option<DateTime<Utc>>,
        i64,
        String,
        String,
        Vec<Option<String>>,
    );
    let found: Option<Found> = pt::table
        .inner_join(partners::table)
        .filter(pt::token_hash.eq(hash(token)))
        .filter(pt::revoked_at.is_null())
        .filter(pt::expires_at.gt(now))
        .filter(partners::suspended_at.is_null())
        .select((
            pt::id,
            pt::scopes,
            pt::last_used_at,
            partners::id,
            partners::name,
            partners::kind,
            partners::data_categories,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((token_id, scopes, last_used, partner_id, name, kind, categories)) = found else {
        return Err(AppError::Unauthenticated);
    };
    let stale_before = now - Duration::seconds(LAST_USED_GRANULARITY_SECONDS);
    if last_used.is_none_or(|t| t < stale_before) {
        diesel::update(
            pt::table.find(token_id).filter(
                pt::last_used_at
                    .is_null()
                    .or(pt::last_used_at.lt(stale_before)),
            ),
        )
        .set(pt::last_used_at.eq(now))
        .execute(&mut conn)
        .await?;
    }
    let kind = PartnerKind::parse(&kind).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("partner {partner_id} has kind {kind}"))
    })?;
    Ok(PartnerPrincipal {
        partner_id,
        token_id,
        kind,
        scopes: scopes.into_iter().flatten().collect(),
        data_categories: categories.into_iter().flatten().collect(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = new_secret();
        let b = new_secret();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 32);
        assert_ne!(hash(&a), hash(&b));
    }
}
