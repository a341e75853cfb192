//! Signed, expiring download links: `/privacy/exports/<id>?expires=<unix seconds>&signature=<hex>`, where the
//! signature is HMAC-SHA256 over the export id and the expiry under a key derived from the data key (its own
//! domain, so it can never be confused with a blind index or another pseudonym).

use chrono::{DateTime, Utc};

use crate::crypto::DataKeys;
use crate::graphql::ids;

/// The path under which exports are downloaded.
pub const PATH: &str = "/privacy/exports";

/// The global id type of an export.
pub const KIND: &str = "DataExport";

const DOMAIN: &str = "data-export-link v1";

/// Why a link does not open an archive (before anything is read from the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The id names no export.
    NotFound,
    /// The signature or expiry is missing, malformed or does not match.
    BadSignature,
    /// The link was valid and has expired.
    Expired,
}

/// The signature of a link to export `id` that expires at `expires` (unix seconds).
pub fn signature(keys: &DataKeys, id: i64, expires: i64) -> String {
    hex(&keys.pseudonym(DOMAIN, format!("{id}:{expires}").as_bytes()))
}

/// The signed link to export `id`, valid until `expires_at`.
pub fn url(keys: &DataKeys, id: i64, expires_at: DateTime<Utc>) -> String {
    let expires = expires_at.timestamp();
    format!(
        "{PATH}/{}?expires={expires}&signature={}",
        ids::encode(KIND, id).0,
        signature(keys, id, expires)
    )
}

/// Checks a link's parts; gives the export id it opens.
pub fn verify(
    keys: &DataKeys,
    id: &str,
    expires: Option<&str>,
    signature: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, LinkError> {
    let export_id = match ids::decode(id) {
        Some((kind, key)) if kind == KIND => key.parse().map_err(|_| LinkError::NotFound)?,
        _ => return Err(LinkError::NotFound),
    };
    let expires: i64 = expires
        .and_then(|e| e.parse().ok())
        .ok_or(LinkError::BadSignature)?;
    let given = signature.and_then(unhex).ok_or(LinkError::BadSignature)?;
    let expected = keys.pseudonym(DOMAIN, format!("{export_id}:{expires}").as_bytes());
    if !constant_time_eq(&given, &expected) {
        return Err(LinkError::BadSignature);
    }
    if now.timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(export_id)
}

/// Compares without an early exit, so the time taken says nothing about where two signatures differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A 32-byte signature from its 64 hex digits.
fn unhex(s: &str) -> Option<Vec<u8>> {
    (s.len() == 64).then(|| hex::decode(s).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn keys() -> DataKeys {
        DataKeys::from_config(&Config::from_map(&Default::default()).unwrap()).unwrap()
    }

    fn parts(url: &str) -> (String, String, String) {
        let rest = url.strip_prefix("/privacy/exports/").unwrap();
        let (id, query) = rest.split_once('?').unwrap();
        let params: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(query).unwrap();
        (
            id.to_string(),
            params["expires"].clone(),
            params["signature"].clone(),
        )
    }

    #[test]
    fn a_signed_link_opens_its_export_until_it_expires() {
        let k = keys();
        let now = Utc::now();
        let (id, expires, sig) = parts(&url(&k, 42, now + chrono::Duration::hours(1)));
        assert_eq!(verify(&k, &id, Some(&expires), Some(&sig), now), Ok(42));
        let later = now + chrono::Duration::hours(2);
        assert_eq!(
            verify(&k, &id, Some(&expires), Some(&sig), later),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn tampering_is_refused() {
        let k = keys();
        let now = Utc::now();
        let (id, expires, sig) = parts(&url(&k, 42, now + chrono::Duration::hours(1)));
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        let bad = LinkError::BadSignature;
        assert_eq!(
            verify(&k, &id, Some(&expires), Some(&flipped), now),
            Err(bad)
        );
        let longer = (expires.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(verify(&k, &id, Some(&longer), Some(&sig), now), Err(bad));
        let other = ids::encode(KIND, 43).0;
        assert_eq!(
            verify(&k, &other, Some(&expires), Some(&sig), now),
            Err(bad)
        );
        assert_eq!(verify(&k, &id, None, Some(&sig), now), Err(bad));
        assert_eq!(verify(&k, &id, Some(&expires), None, now), Err(bad));
        assert_eq!(verify(&k, &id, Some(&expires), Some("zz"), now), Err(bad));
        let work = ids::encode("Work", 42).0;
        assert_eq!(
            verify(&k, &work, Some(&expires), Some(&sig), now),
            Err(LinkError::NotFound)
        );
    }

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..32).collect();
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("é").is_none());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
