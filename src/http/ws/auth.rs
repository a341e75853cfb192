//! Who a socket speaks for: the bearer token of `connection_init` (`authorization` or `Authorization`), else
//! the upgrade request's credentials (its `Authorization` header, else the access cookie), else a visitor.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::graphql::viewer::Viewer;
use crate::schema::accounts::mutations::ACCESS_COOKIE;
use crate::state::AppState;

/// Credentials that were presented but are not a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Why `connection_init` was not acknowledged.
#[derive(Debug)]
pub enum InitRefused {
    /// Bad, expired or revoked credentials (close 4403).
    Forbidden,
    /// The check itself failed, e.g. the database is down (close 4500; the client may retry).
    Internal,
}

/// The upgrade request's credentials, as over HTTP: a bearer `Authorization` header, else the access cookie
/// (browsers send cookies with the upgrade; the origin check keeps other sites from riding on them).
/// An `Authorization` header that is not a bearer token is kept as [`Malformed`], so it is refused rather
/// than ignored.
pub fn upgrade_credentials(headers: &HeaderMap) -> Result<Option<String>, Malformed> {
    match headers.get(header::AUTHORIZATION) {
        Some(value) => bearer(value.to_str().map_err(|_| Malformed)?).map(Some),
        None => Ok(crate::http::graphql::cookie(headers, ACCESS_COOKIE)),
    }
}

/// Who a socket was acknowledged as: the viewer, the token it presented (re-checked when the account's access
/// changes) and when that token expires (unix seconds; `None` for visitors).
pub struct Acknowledged {
    pub viewer: Viewer,
    pub token: Option<String>,
    pub expires_at: Option<i64>,
}

/// Resolves the viewer for a `connection_init` with `payload` on a socket upgraded with `upgrade`.
pub async fn authenticate(
    state: &AppState,
    payload: Option<&Map<String, Value>>,
    upgrade: &Result<Option<String>, Malformed>,
) -> Result<Acknowledged, InitRefused> {
    let from_payload =
        payload.and_then(|p| p.get("authorization").or_else(|| p.get("Authorization")));
    let token = match from_payload {
        Some(Value::String(value)) => bearer(value).map(Some),
        Some(Value::Null) | None => upgrade.clone(),
        Some(_) => Err(Malformed),
    }
    .map_err(|Malformed| InitRefused::Forbidden)?;
    match state.accounts.authenticate_fresh(token.as_deref()).await {
        Ok(viewer) => {
            let expires_at = token
                .as_deref()
                .and_then(|t| state.accounts.tokens.expires_at(t));
            // Token checks allow a few seconds of clock skew; a socket is not opened on a token already past.
            if expires_at.is_some_and(|exp| exp <= chrono::Utc::now().timestamp()) {
                return Err(InitRefused::Forbidden);
            }
            Ok(Acknowledged {
                viewer,
                token,
                expires_at,
            })
        }
        Err(AppError::Internal(e)) => {
            tracing::error!(error = ?e, "websocket: authenticating connection_init failed");
            Err(InitRefused::Internal)
        }
        Err(e) => {
            tracing::debug!(error = %e, "websocket: connection_init refused");
            Err(InitRefused::Forbidden)
        }
    }
}

/// Whether the token a socket was acknowledged with still gives access (its session live, its account not
/// erased); `None` when that cannot be told now (the database is away), so the socket stays until it can.
pub async fn still_valid(state: &AppState, token: &str) -> Option<bool> {
    match state.accounts.authenticate_fresh(Some(token)).await {
        Ok(_) => Some(true),
        Err(AppError::Internal(_)) => None,
        Err(_) => Some(false),
    }
}

/// The token of a `Bearer <token>` credential.
fn bearer(value: &str) -> Result<String, Malformed> {
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_string())
        }
        _ => Err(Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_credentials() {
        assert_eq!(bearer("Bearer abc"), Ok("abc".into()));
        assert_eq!(bearer("bearer  abc "), Ok("abc".into()));
        assert_eq!(bearer("Basic abc"), Err(Malformed));
        assert_eq!(bearer("Bearer "), Err(Malformed));
        assert_eq!(bearer("abc"), Err(Malformed));
        let mut headers = HeaderMap::new();
        assert_eq!(upgrade_credentials(&headers), Ok(None));
        headers.insert(
            header::COOKIE,
            format!("a=b; {ACCESS_COOKIE}=t").parse().unwrap(),
        );
        assert_eq!(upgrade_credentials(&headers), Ok(Some("t".into())));
        headers.insert(header::AUTHORIZATION, "Token x".parse().unwrap());
        assert_eq!(upgrade_credentials(&headers), Err(Malformed));
    }
}
