//! Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed, rotated on every use).
//!
//! An access token is HS256 with `kid`, `typ: at+jwt`, `iss`, `aud`, `sub` (account id), `sid` (session id),
//! `iat`, `exp` (15 minutes). Verification fixes the algorithm, checks signature, expiry, issuer, audience,
//! `kid` and `typ`; the caller then checks that the session is still live, so revocation is immediate.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;

pub const ISSUER: &str = "portico";
pub const AUDIENCE: &str = "portico-api";
pub const TOKEN_TYPE: &str = "at+jwt";
/// Lifetime of an access token.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
/// Lifetime of a refresh token (each use issues a new one).
pub const REFRESH_TTL_DAYS: i64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The account id.
    pub sub: String,
    /// The session id.
    pub sid: i64,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and verifies access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// Why a token was refused (all of them answer `UNAUTHENTICATED`; the detail is only logged).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token header: {0}")]
    Header(String),
    #[error("token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

impl TokenKeys {
    pub fn from_config(config: &Config) -> anyhow::Result<TokenKeys> {
        let secret = config.jwt_secret.as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(TokenKeys {
            kid: config.jwt_kid.clone(),
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }

    /// Issues an access token for a session; returns it with its expiry (unix seconds).
    pub fn issue(&self, account_id: i64, session_id: i64, now: i64) -> (String, i64) {
        let exp = now + ACCESS_TTL_SECONDS;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: account_id.to_string(),
            sid: session_id,
            iat: now,
            exp,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(TOKEN_TYPE.into());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .expect("HS256 signing does not fail");
        (token, exp)
    }

    /// Verifies an access token; returns (account id, session id).
    pub fn verify(&self, token: &str) -> Result<(i64, i64), TokenError> {
        let claims = self.verify_claims(token)?;
        let account = claims
            .sub
            .parse()
            .map_err(|_| TokenError::Header("malformed subject".into()))?;
        Ok((account, claims.sid))
    }

    /// When a valid access token expires (unix seconds); `None` for a token [`TokenKeys::verify`] refuses.
    /// A WebSocket authenticated with the token closes then.
    pub fn expires_at(&self, token: &str) -> Option<i64> {
        let claims = self.verify_claims(token).ok()?;
        claims.sub.parse::<i64>().ok().map(|_| claims.exp)
    }

    /// Checks the header and the claims of an access token.
    fn verify_claims(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Header(format!(
                "algorithm {:?} refused",
                header.alg
            )));
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::Header("unknown key id".into()));
        }
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(TokenError::Header("not an access token".into()));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?;
        Ok(data.claims)
    }
}

/// A new opaque refresh token (256 random bits, URL-safe).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// How refresh tokens (and other opaque secrets) are stored: SHA-256, since they carry 256 bits of entropy.
pub fn hash_secret(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn keys() -> TokenKeys {
        TokenKeys::from_config(&Config::from_map(&BTreeMap::new()).unwrap()).unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn round_trip() {
        let k = keys();
        let (token, exp) = k.issue(7, 42, now());
        assert!(exp > now());
        assert_eq!(k.verify(&token).unwrap(), (7, 42));
        assert_eq!(k.expires_at(&token), Some(exp));
        assert_eq!(k.expires_at("not a token"), None);
        let (old, _) = k.issue(7, 42, now() - 3600);
        assert_eq!(k.expires_at(&old), None);
    }

    #[test]
    fn refuses_expired_tampered_and_foreign_tokens() {
        let k = keys();
        let (old, _) = k.issue(7, 42, now() - 3600);
        assert!(k.verify(&old).is_err(), "expired");
        let (token, _) = k.issue(7, 42, now());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            br#"{"iss":"portico","aud":"portico-api","sub":"1","sid":1,"iat":0,"exp":99999999999}"#,
        );
        parts[1] = &forged_claims;
        assert!(k.verify(&parts.join(".")).is_err(), "tampered");
        // alg: none
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt","kid":"1"}"#);
        let unsigned = format!("{}.{}.", none_header, token.split('.').nth(1).unwrap());
        assert!(k.verify(&unsigned).is_err(), "alg none");
        // Another secret.
        let mut map = BTreeMap::new();
        map.insert(
            "PORTICO_JWT_SECRET".to_string(),
            "another-secret-that-is-at-least-32-bytes-long".to_string(),
        );
        let other = TokenKeys::from_config(&Config::from_map(&map).unwrap()).unwrap();
        let (foreign, _) = other.issue(7, 42, now());
        assert!(k.verify(&foreign).is_err(), "wrong key");
    }

    #[test]
    fn refuses_wrong_audience_issuer_and_type() {
        let k = keys();
        let secret = EncodingKey::from_secret(crate::config::DEV_JWT_SECRET.as_bytes()).unwrap();
        let mk = |iss: &str, aud: &str, typ: &str| {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("1".into());
            h.typ = Some(typ.into());
            let c = Claims {
                iss: iss.into(),
                aud: aud.into(),
                sub: "1".into(),
                sid: 1,
                iat: now(),
                exp: now() + 60,
            };
            jsonwebtoken::encode(&h, &c, &secret).unwrap()
        };
        assert!(k.verify(&mk(ISSUER, AUDIENCE, TOKEN_TYPE)).is_ok());
        assert!(k.verify(&mk(ISSUER, "someone-else", TOKEN_TYPE)).is_err());
        assert!(k.verify(&mk("mallory", AUDIENCE, TOKEN_TYPE)).is_err());
        assert!(k.verify(&mk(ISSUER, AUDIENCE, "JWT")).is_err());
        let mut h384 = Header::new(Algorithm::HS384);
        h384.kid = Some("1".into());
        h384.typ = Some(TOKEN_TYPE.into());
        let c = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "1".into(),
            sid: 1,
            iat: now(),
            exp: now() + 60,
        };
        assert!(
            k.verify(&jsonwebtoken::encode(&h384, &c, &secret).unwrap())
                .is_err(),
            "other algorithm"
        );
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_eq!(hash_secret(&a).len(), 32);
    }
}
