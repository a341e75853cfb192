//! HTTP caching of public GraphQL queries (privacy policy 2.2): a successful query over GET from a visitor (no
//! `Authorization`, no access cookie) gets a strong `ETag` and `Cache-Control: public, max-age=30`, and a
//! matching `If-None-Match` gets `304 Not Modified`. Anything else keeps `private, no-store`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::schema::accounts::mutations::ACCESS_COOKIE;

/// How long shared caches and browsers may reuse a public answer.
pub const PUBLIC_CACHE_CONTROL: &str = "public, max-age=30";

/// Whether a request carries no credentials at all.
pub fn is_visitor(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).is_none()
        && super::graphql::cookie(headers, ACCESS_COOKIE).is_none()
}

/// Makes the answer to a GET public and conditional when it is a visitor's successful query.
pub async fn public_get(headers: &HeaderMap, res: Response, errors: bool) -> Response {
    let public = is_visitor(headers)
        && res.status() == StatusCode::OK
        && !errors
        && !res.headers().contains_key(header::SET_COOKIE);
    if !public {
        return res;
    }
    let (mut parts, bytes) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(bytes, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let etag = etag(parts.headers.get(header::CONTENT_TYPE), &bytes);
    let h = &mut parts.headers;
    h.insert(header::ETAG, etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PUBLIC_CACHE_CONTROL),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization, Cookie"),
    );
    if matches(headers, &etag) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A strong validator: a hash of the media type and the exact body bytes.
fn etag(content_type: Option<&HeaderValue>, body: &[u8]) -> HeaderValue {
    let mut hasher = Sha256::new();
    hasher.update(content_type.map(HeaderValue::as_bytes).unwrap_or_default());
    hasher.update([0]);
    hasher.update(body);
    let hex = hex::encode(&hasher.finalize()[..16]);
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value")
}

/// `If-None-Match` against `etag`, by weak comparison as RFC 9110 asks (`W/` ignored; `*` matches).
fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.to_str().unwrap_or_default();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_matching() {
        let tag = etag(None, b"{}");
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{}", tag.to_str().unwrap())).unwrap(),
        );
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!matches(&h, &tag));
        assert_ne!(
            etag(Some(&HeaderValue::from_static("application/json")), b"{}"),
            tag,
            "the media type counts"
        );
    }
}
