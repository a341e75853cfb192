//! Which browser origins may talk to the gateway: same-origin always, the configured allowlist
//! (`PORTICO_ALLOWED_ORIGINS`), and loopback pages in development. Requests without `Origin` (mobile apps,
//! servers) are not browser cross-site requests and pass.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;

/// True when a request carrying these headers may proceed.
pub fn allowed(config: &Config, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if same_origin(origin, headers) {
        return true;
    }
    origin_listed(config, origin)
}

fn origin_listed(config: &Config, origin: &str) -> bool {
    if config.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    !config.is_production() && is_loopback(origin)
}

fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn is_loopback(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    if scheme != "http" && scheme != "https" {
        return false;
    }
    let host = if let Some(stripped) = rest.strip_prefix('[') {
        stripped.split(']').next().unwrap_or("")
    } else {
        rest.split(':').next().unwrap_or("")
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// CORS for cross-origin web clients on the allowlist.
pub fn cors_layer(config: &Config) -> CorsLayer {
    let config = config.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| origin_listed(&config, o.trim_end_matches('/')))
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().unwrap());
        h.insert(header::HOST, host.parse().unwrap());
        h
    }

    #[test]
    fn origins() {
        let dev = Config::from_map(&BTreeMap::new()).unwrap();
        assert!(allowed(&dev, &HeaderMap::new()));
        assert!(allowed(
            &dev,
            &headers("http://localhost:3000", "127.0.0.1:8000")
        ));
        assert!(allowed(
            &dev,
            &headers("https://portico.example", "portico.example")
        ));
        assert!(!allowed(
            &dev,
            &headers("https://evil.example", "127.0.0.1:8000")
        ));
        assert!(!allowed(
            &dev,
            &headers("http://localhost.evil.example", "127.0.0.1:8000")
        ));
        let mut map = BTreeMap::new();
        map.insert(
            "PORTICO_ALLOWED_ORIGINS".to_string(),
            "https://app.example".to_string(),
        );
        let listed = Config::from_map(&map).unwrap();
        assert!(allowed(
            &listed,
            &headers("https://app.example", "api.example")
        ));
    }
}
