//! `GET /privacy/exports/{id}?expires=<unix>&signature=<hex>`: downloads a data export archive. The link must
//! carry a valid, unexpired signature *and* be presented by the export's owner, with the same credentials as
//! `/graphql` (bearer token or access cookie). Refusals carry a small JSON body with the GraphQL error codes:
//! a bad or missing signature is 403 `FORBIDDEN`, an expired link 410, no credentials 401 `UNAUTHENTICATED`,
//! someone else's export 403 `FORBIDDEN`, an unknown export 404 `NOT_FOUND`.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ErrorCode;
use crate::rights::service::{ExportRefusal, LinkError, export_archive, verify_export_link};
use crate::state::AppState;

/// Serves the archive, or refuses.
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: HashMap<String, String> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let export_id = match verify_export_link(
        &state.keys,
        &id,
        params.get("expires").map(String::as_str),
        params.get("signature").map(String::as_str),
        state.accounts.clock.now(),
    ) {
        Ok(export_id) => export_id,
        Err(LinkError::NotFound) => return not_found(),
        Err(LinkError::BadSignature) => {
            return refusal(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "this download link is not valid",
            );
        }
        Err(LinkError::Expired) => return expired(),
    };
    let account_id = match super::graphql::viewer(&state, &headers).await {
        Ok(viewer) => viewer.account.map(|s| s.account_id),
        Err(_) => None,
    };
    let Some(account_id) = account_id else {
        return refusal(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "sign in to download your data export",
        );
    };
    let now = state.accounts.clock.now();
    match export_archive(&state.pool, &state.keys, export_id, account_id, now).await {
        Ok(archive) => attachment(export_id, archive),
        Err(ExportRefusal::NotFound) => not_found(),
        Err(ExportRefusal::Forbidden) => refusal(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "only the account that requested this export may download it",
        ),
        Err(ExportRefusal::Expired) => expired(),
        Err(ExportRefusal::Internal(e)) => {
            let request_id = crate::telemetry::current_request_id();
            tracing::error!(request_id = %request_id, error = ?e, "export download failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::error::error_body(ErrorCode::Internal, "internal error"),
            )
        }
    }
}

fn attachment(export_id: i64, archive: Vec<u8>) -> Response {
    let id = crate::graphql::ids::encode(crate::rights::export::link::KIND, export_id).0;
    let mut res = (StatusCode::OK, archive).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    // A global id is base64url, so it needs no quoting beyond the quotes.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"portico-export-{id}.json\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn not_found() -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such data export",
    )
}

fn expired() -> Response {
    refusal(
        StatusCode::GONE,
        ErrorCode::NotFound,
        "this download link has expired; request a new data export",
    )
}

fn refusal(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    json_error(status, crate::error::error_body(code, message))
}

fn json_error(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
