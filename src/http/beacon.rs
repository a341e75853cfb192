//! `GET /beacon.gif?target=<id>&kind=view|click`: the web beacon of privacy policy 2.2. It always answers the
//! same uncacheable 1x1 transparent GIF, whatever the input, so a page never shows a broken image and a probe
//! learns nothing; it counts only as `recordEvent` does (with consent to analytics, without identity).

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::content::views::{self, CONSENT_COOKIE, CookieConsent, EventKind, Requester, Target};
use crate::state::AppState;

/// A 1x1 transparent GIF (43 bytes).
pub const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Counts when it should, then answers the pixel.
pub async fn beacon(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(e) = count(&state, &headers, raw.as_deref().unwrap_or("")).await {
        tracing::debug!(error = %e, "beacon not counted");
    }
    pixel()
}

fn pixel() -> Response {
    let mut res = PIXEL.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn count(
    state: &AppState,
    headers: &HeaderMap,
    query: &str,
) -> Result<bool, crate::error::AppError> {
    let bad = |m: &str| crate::error::AppError::bad_input("beacon", m);
    let params: HashMap<String, String> =
        serde_urlencoded::from_str(query).map_err(|_| bad("unreadable query"))?;
    let target = Target::parse(params.get("target").ok_or_else(|| bad("no target"))?)?;
    let kind = params
        .get("kind")
        .map_or(Some(EventKind::View), |k| EventKind::parse(k))
        .ok_or_else(|| bad("kind"))?;
    // A member is whoever the GraphQL endpoint would see; a refused token counts as no consent at all.
    let viewer = super::graphql::viewer(state, headers).await?;
    let who = match viewer.account {
        Some(signed_in) => Requester::Member(signed_in.account_id),
        None => Requester::Visitor {
            cookie_consent: CookieConsent::from_cookie(
                super::graphql::cookie(headers, CONSENT_COOKIE).as_deref(),
            )
            .analytics,
        },
    };
    views::record(&state.pool, target, kind, who).await
}
