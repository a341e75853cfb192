//! What the three providers share: sending a call with a timeout, reading a bounded answer, parsing it loosely
//! (JSON whatever the content type, JSONP `callback( ... );`, or a URL-encoded body) and reading its fields,
//! with error texts that never carry the request URL (its query holds secrets and tokens) or the answer.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{OAuthError, ProviderKind};

/// Every call to a provider gives up after this long.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
/// Answers are small JSON documents; anything larger is not one of them.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// A provider's own error message is cut to this many characters before it goes into an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// Names one call for error texts and logs: `wechat token`, `qq openid`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call {
    pub provider: ProviderKind,
    pub endpoint: &'static str,
}

/// A provider's error, found in an answer by the provider's own rules: `(code, message)`.
pub(super) type ProviderError = Option<(String, String)>;

impl Call {
    pub fn new(provider: ProviderKind, endpoint: &'static str) -> Self {
        Call { provider, endpoint }
    }

    /// `GET url?query`, answered as a JSON object (see [`Call::answer`]).
    pub async fn get(
        self,
        client: &reqwest::Client,
        url: &str,
        query: &[(&str, &str)],
        error_of: fn(&Map<String, Value>) -> ProviderError,
    ) -> Result<Map<String, Value>, OAuthError> {
        self.answer(client.get(url).query(query), error_of).await
    }

    /// `POST url` with a URL-encoded form body, answered as a JSON object (see [`Call::answer`]).
    pub async fn post_form(
        self,
        client: &reqwest::Client,
        url: &str,
        form: &[(&str, &str)],
        error_of: fn(&Map<String, Value>) -> ProviderError,
    ) -> Result<Map<String, Value>, OAuthError> {
        self.answer(client.post(url).form(form), error_of).await
    }

    /// Sends the request and reads its answer: the provider's own error first (`error_of`), then the HTTP
    /// status, then the object itself.
    async fn answer(
        self,
        request: reqwest::RequestBuilder,
        error_of: fn(&Map<String, Value>) -> ProviderError,
    ) -> Result<Map<String, Value>, OAuthError> {
        let mut response = request
            .timeout(TIMEOUT)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER_BYTES {
                return Err(self.malformed("the answer is too large"));
            }
        }
        let object = String::from_utf8(body)
            .ok()
            .and_then(|text| parse_loose(&text));
        if let Some((code, message)) = object.as_ref().and_then(error_of) {
            tracing::warn!(provider = %self.provider, endpoint = self.endpoint, %code, "provider refused a call");
            return Err(OAuthError::ProviderRejected {
                provider: self.provider,
                code,
                message: truncate(&message),
            });
        }
        if !status.is_success() {
            tracing::warn!(provider = %self.provider, endpoint = self.endpoint, %status, "provider answered an HTTP error");
            return Err(OAuthError::Transport(format!(
                "{} {} answered HTTP {}",
                self.provider,
                self.endpoint,
                status.as_u16()
            )));
        }
        object.ok_or_else(|| self.malformed("the answer is not a JSON object"))
    }

    fn transport(self, e: reqwest::Error) -> OAuthError {
        let what = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            "could not connect".to_string()
        } else {
            // Without the URL: its query holds the secret or the token.
            e.without_url().to_string()
        };
        tracing::warn!(provider = %self.provider, endpoint = self.endpoint, error = %what, "provider call failed");
        OAuthError::Transport(format!("{} {}: {what}", self.provider, self.endpoint))
    }

    /// An answer of the wrong shape; `detail` must not quote the answer.
    pub fn malformed(self, detail: &str) -> OAuthError {
        tracing::warn!(provider = %self.provider, endpoint = self.endpoint, detail, "provider answer not understood");
        OAuthError::Malformed(format!("{} {}: {detail}", self.provider, self.endpoint))
    }

    /// A field that must be there, as a non-empty string (numbers are accepted and written out).
    pub fn required(self, object: &Map<String, Value>, key: &str) -> Result<String, OAuthError> {
        text(object, key)
            .ok_or_else(|| self.malformed(&format!("field `{key}` is missing or not a string")))
    }
}

/// Parses a provider's answer into a JSON object: JSON whatever the content type says, the JSONP form
/// `callback( {...} );`, or a URL-encoded `key=value&...` body (QQ without `fmt=json`).
pub(super) fn parse_loose(body: &str) -> Option<Map<String, Value>> {
    let body = body.trim().trim_start_matches('\u{feff}');
    let json = match body.strip_prefix("callback") {
        Some(rest) => rest
            .trim_start()
            .strip_prefix('(')?
            .trim_end()
            .trim_end_matches(';')
            .trim_end()
            .strip_suffix(')')?
            .trim(),
        None => body,
    };
    if json.starts_with('{') {
        return match serde_json::from_str(json) {
            Ok(Value::Object(object)) => Some(object),
            _ => None,
        };
    }
    if body.is_empty() || !body.contains('=') || body.contains(['<', ' ', '\n']) {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).ok()?;
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// A field as a non-empty string; numbers are written out (providers disagree on ids and codes).
pub(super) fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Cuts a provider's message to a sensible length, on a character boundary.
fn truncate(message: &str) -> String {
    let message = message.trim();
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_string(),
    }
}

/// Joins a base URL (no trailing slash) and a path, adding an encoded query: `base/path?a=1&b=2`.
pub(super) fn url_with_query(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
    format!("{base}{path}?{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_in_every_form_providers_use() {
        let json = parse_loose(r#"{"openid":"o1","errcode":0}"#).unwrap();
        assert_eq!(text(&json, "openid").as_deref(), Some("o1"));
        assert_eq!(text(&json, "errcode").as_deref(), Some("0"));
        let jsonp = parse_loose("callback( {\"client_id\":\"1\",\"openid\":\"ABC\"} );\n").unwrap();
        assert_eq!(text(&jsonp, "openid").as_deref(), Some("ABC"));
        let form = parse_loose("access_token=T%2B1&expires_in=7776000&refresh_token=R").unwrap();
        assert_eq!(text(&form, "access_token").as_deref(), Some("T+1"));
        assert!(parse_loose("<html><body>busy</body></html>").is_none());
        assert!(parse_loose("").is_none());
        assert!(parse_loose("[1,2]").is_none());
        assert!(parse_loose("callback( nonsense );").is_none());
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "错".repeat(500);
        assert_eq!(truncate(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
        assert_eq!(truncate(" short "), "short");
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            url_with_query(
                "https://x",
                "/a",
                &[("redirect_uri", "https://s/cb?x=1&y=2"), ("state", "a b")]
            ),
            "https://x/a?redirect_uri=https%3A%2F%2Fs%2Fcb%3Fx%3D1%26y%3D2&state=a+b"
        );
    }
}
