//! `GET /media/<key>`: uploaded images. Keys are content addressed, so an object never changes: a strong
//! `ETag` (the key itself), `Cache-Control: public, max-age=31536000, immutable`, and `304` on a matching
//! `If-None-Match`. Each answer says what it is (`nosniff`) and may run nothing (`Content-Security-Policy:
//! default-src 'none'; sandbox`), so an image URL can never become a page. With S3 and
//! `PORTICO_MEDIA_SERVE=redirect` the gateway answers with a short-lived presigned URL instead of the bytes.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::config::MediaServe;
use crate::state::AppState;

/// How long a presigned URL is valid.
const PRESIGNED_TTL: Duration = Duration::from_secs(300);

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such image\n").into_response()
}

fn fixed_headers(h: &mut HeaderMap, key: &str) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::media::content_type(key)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{key}\"")) {
        h.insert(header::ETAG, etag);
    }
}

/// Whether `If-None-Match` names this object (or `*`).
fn not_modified(headers: &HeaderMap, key: &str) -> bool {
    let etag = format!("\"{key}\"");
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

pub async fn get(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !crate::media::is_key(&key) {
        return not_found();
    }
    let storage = state.media.storage();
    if state.config.media.serve == MediaServe::Redirect {
        return match storage.presigned(&key, PRESIGNED_TTL).await {
            Ok(Some(url)) => {
                let mut res = StatusCode::TEMPORARY_REDIRECT.into_response();
                if let Ok(v) = HeaderValue::from_str(&url) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
                // The presigned URL expires; the redirect itself must not outlive it in a cache.
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=60"),
                );
                res
            }
            Ok(None) => not_found(),
            Err(e) => unavailable(&e),
        };
    }
    if not_modified(&headers, &key) {
        // A content-addressed key names the same bytes forever, so only whether it is still there matters.
        match storage.exists(&key).await {
            Ok(true) => {}
            Ok(false) => return not_found(),
            Err(e) => return unavailable(&e),
        }
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        fixed_headers(res.headers_mut(), &key);
        res.headers_mut().remove(header::CONTENT_TYPE);
        return res;
    }
    match storage.get(&key).await {
        Ok(Some(object)) => {
            let mut res = Body::from_stream(object.body).into_response();
            fixed_headers(res.headers_mut(), &key);
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
            res
        }
        Ok(None) => not_found(),
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &anyhow::Error) -> Response {
    tracing::error!(error = ?e, "media: storage unavailable");
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable\n").into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}
