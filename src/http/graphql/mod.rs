//! `/graphql` over HTTP, as the GraphQL-over-HTTP specification says: content negotiation between
//! `application/graphql-response+json` and `application/json`, queries over GET, everything over POST,
//! CSRF-safe content types, and the request limits.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod run;
mod upload;

use run::{run_batch, run_one};

use super::params::{self, Body};
use crate::client::ClientInfo;
use crate::error::ErrorCode;
use crate::graphql::viewer::Viewer;
use crate::privacy::partners::{self, PartnerPrincipal};
use crate::schema::accounts::mutations::{ACCESS_COOKIE, REFRESH_COOKIE, TokenDelivery};
use crate::state::AppState;

/// The two response media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response media type from `Accept`; `None` when the client accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let mut best: Option<(f32, MediaType)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let range = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let media = match range.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, media));
        }
    }
    best.map(|(_, m)| m)
}

/// An error answered before or instead of execution (the response of [`run::Answer::refusal`]).
fn request_error(media: MediaType, status: StatusCode, code: ErrorCode, message: &str) -> Response {
    run::Answer::refusal(media, status, code, message).res
}

/// `{"errors": [{"message": …, "extensions": {"code": …}}]}`.
fn error_json(code: ErrorCode, message: &str) -> Bytes {
    let body = crate::error::error_body(code, message);
    serde_json::to_vec(&body).expect("static JSON").into()
}

fn json_response(media: MediaType, status: StatusCode, body: impl Into<Bytes>) -> Response {
    let body: Bytes = body.into();
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization, Cookie"),
    );
    res
}

/// The status for a document-level failure: 400 under the new media type, 200 under legacy JSON.
fn document_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

/// `GET /graphql`: queries only.
pub async fn get(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    match params::from_query_string(raw.as_deref().unwrap_or("")) {
        Ok(p) => {
            let answer =
                run_one(&state, &headers, &client, Method::GET, media, p, Vec::new()).await;
            super::caching::public_get(&headers, answer.res, answer.errors).await
        }
        Err(message) => request_error(
            media,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &message,
        ),
    }
}

/// `POST /graphql`: a JSON body (`application/json` or `application/graphql-response+json`), or a GraphQL
/// multipart request with a bearer token or `GraphQL-Require-Preflight` (see [`upload`]); never a plain form,
/// so a browser's simple cross-site request can never reach the executor.
pub async fn post(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    if upload::is_multipart(&headers) {
        return upload::post(&state, &headers, &client, media, body).await;
    }
    if let Err(message) = check_content_type(&headers) {
        return request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            &message,
        );
    }
    let limits = &state.config.limits;
    let body = match read_body(
        body,
        &headers,
        limits.max_body_bytes,
        limits.request_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err((status, code, message)) => return request_error(media, status, code, &message),
    };
    match params::from_json_body(&body) {
        Ok(Body::Single(p)) => {
            run_one(
                &state,
                &headers,
                &client,
                Method::POST,
                media,
                p,
                Vec::new(),
            )
            .await
            .res
        }
        Ok(Body::Batch(batch)) => run_batch(&state, &headers, &client, media, batch).await,
        Err(message) => request_error(
            media,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &message,
        ),
    }
}

/// Reads a POST body of at most `limit` bytes within `timeout`. A declared `Content-Length` over the limit is
/// refused before a byte is read (413), a chunked body as soon as it passes the limit, and a body that
/// trickles in slower than the timeout with 408, so a client cannot hold a connection with a body it never
/// finishes.
async fn read_body(
    body: axum::body::Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, (StatusCode, ErrorCode, String)> {
    use futures_util::StreamExt;
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::QueryTooComplex,
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::with_capacity(declared.unwrap_or(0) as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                (
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadUserInput,
                    "the request body could not be read".to_string(),
                )
            })?;
            if buf.len() + chunk.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err((
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BadUserInput,
                "the request body took too long to arrive".to_string(),
            ))
        })
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed() -> Response {
    let mut res = request_error(
        MediaType::Json,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadUserInput,
        "use GET for queries or POST for any operation",
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    res
}

fn not_acceptable() -> Response {
    let mut res = request_error(
        MediaType::Json,
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::BadUserInput,
        "accept application/graphql-response+json or application/json",
    );
    res.headers_mut().remove(header::VARY);
    res
}

fn check_content_type(headers: &HeaderMap) -> Result<(), String> {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Err("a POST needs Content-Type: application/json".into());
    };
    let mut parts = ct.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    if essence != "application/json" && essence != "application/graphql-response+json" {
        return Err(format!(
            "Content-Type `{essence}` is not accepted; send application/json"
        ));
    }
    for param in parts {
        if let Some(charset) = param.to_ascii_lowercase().strip_prefix("charset=")
            && charset.trim_matches('"') != "utf-8"
        {
            return Err("only utf-8 request bodies are accepted".into());
        }
    }
    Ok(())
}

/// Resolves the viewer from the `Authorization` header or the access cookie (also used by the beacon).
pub(crate) async fn viewer(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Viewer, crate::error::AppError> {
    let token = match headers.get(header::AUTHORIZATION) {
        None => cookie(headers, ACCESS_COOKIE),
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| crate::error::AppError::Unauthenticated)?;
            match v.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Some(token.trim().to_string())
                }
                _ => return Err(crate::error::AppError::Unauthenticated),
            }
        }
    };
    state.accounts.authenticate(token.as_deref()).await
}

/// The partner behind a request whose bearer token is a partner token (`ptk_...`): its principal, or
/// `UNAUTHENTICATED` when the token is unknown, revoked or expired; `None` for any other request.
async fn partner(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<Result<PartnerPrincipal, crate::error::AppError>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || !token.starts_with(partners::TOKEN_PREFIX) {
        return None;
    }
    Some(partners::authenticate(&state.pool, token).await)
}

/// A cookie's value from the request headers (every `Cookie` header, parsed by the `cookie` crate).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

fn token_delivery(headers: &HeaderMap) -> TokenDelivery {
    TokenDelivery {
        cookies: headers
            .get("portico-token-delivery")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("cookie")),
        refresh_cookie: cookie(headers, REFRESH_COOKIE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Option<MediaType> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        negotiate(&h)
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/json;q=0.5, application/graphql-response+json"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }
}
