//! QQ login (QQ Connect on graph.qq.com).
//!
//! Authorize on `/oauth2.0/authorize` (scope `get_user_info`), exchange the code with `GET /oauth2.0/token`
//! (the secret travels in that query), learn the openid and unionid with `GET /oauth2.0/me`, read the profile
//! with `GET /user/get_user_info`. Calls ask for JSON (`fmt=json`), and answers are also understood in QQ's
//! older forms: a URL-encoded `access_token=...&expires_in=...` body and JSONP `callback( {...} );`. Errors come
//! as `{"error": n, "error_description": "..."}` (either form) or, from the profile, `{"ret": n, "msg": "..."}`.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::config::Settings;
use super::http::{Call, ProviderError, text, url_with_query};
use super::{Gender, Identity, OAuthError, Provider, ProviderKind, ThirdPartyProfile};

/// QQ's client side; see the module documentation.
pub(super) struct Qq {
    client: reqwest::Client,
    settings: Settings,
}

impl Qq {
    pub fn new(client: reqwest::Client, settings: Settings) -> Self {
        Qq { client, settings }
    }

    fn call(endpoint: &'static str) -> Call {
        Call::new(ProviderKind::Qq, endpoint)
    }
}

/// The OAuth endpoints' error: `error` and `error_description`.
fn oauth_error_of(object: &Map<String, Value>) -> ProviderError {
    let code = text(object, "error").filter(|c| c != "0")?;
    Some((code, text(object, "error_description").unwrap_or_default()))
}

/// The OpenAPI's error: a non-zero `ret` and `msg`.
fn api_error_of(object: &Map<String, Value>) -> ProviderError {
    match text(object, "ret") {
        Some(ret) if ret != "0" => Some((ret, text(object, "msg").unwrap_or_default())),
        _ => oauth_error_of(object),
    }
}

/// QQ's `gender`: "男" (male) or "女" (female); anything else is unknown.
fn gender(object: &Map<String, Value>) -> Option<Gender> {
    match object.get("gender")?.as_str()? {
        "男" => Some(Gender::Male),
        "女" => Some(Gender::Female),
        _ => Some(Gender::Undisclosed),
    }
}

impl Provider for Qq {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Qq
    }

    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        url_with_query(
            &self.settings.authorize_base,
            "/oauth2.0/authorize",
            &[
                ("response_type", "code"),
                ("client_id", &self.settings.client_id),
                ("redirect_uri", redirect_uri),
                ("state", state),
                ("scope", "get_user_info"),
            ],
        )
    }

    fn exchange<'a>(
        &'a self,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Identity, OAuthError>> {
        Box::pin(async move {
            let call = Self::call("token");
            let url = format!("{}/oauth2.0/token", self.settings.api_base);
            let query = [
                ("grant_type", "authorization_code"),
                ("client_id", self.settings.client_id.as_str()),
                ("client_secret", self.settings.secret.as_str()),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("fmt", "json"),
            ];
            let answer = call.get(&self.client, &url, &query, oauth_error_of).await?;
            let access_token = call.required(&answer, "access_token")?;

            let call = Self::call("me");
            let url = format!("{}/oauth2.0/me", self.settings.api_base);
            let query = [
                ("access_token", access_token.as_str()),
                ("unionid", "1"),
                ("fmt", "json"),
            ];
            let me = call.get(&self.client, &url, &query, oauth_error_of).await?;
            if call.required(&me, "client_id")? != self.settings.client_id {
                return Err(call.malformed("the token was issued to another application"));
            }
            Ok(Identity {
                subject: call.required(&me, "openid")?,
                union_id: text(&me, "unionid"),
                access_token,
                profile: None,
            })
        })
    }

    fn profile<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> BoxFuture<'a, Result<ThirdPartyProfile, OAuthError>> {
        Box::pin(async move {
            let call = Self::call("get_user_info");
            let url = format!("{}/user/get_user_info", self.settings.api_base);
            let query = [
                ("access_token", identity.access_token.as_str()),
                ("oauth_consumer_key", self.settings.client_id.as_str()),
                ("openid", identity.subject.as_str()),
            ];
            let answer = call.get(&self.client, &url, &query, api_error_of).await?;
            if text(&answer, "ret").is_none() {
                return Err(call.malformed("field `ret` is missing"));
            }
            Ok(ThirdPartyProfile {
                nickname: text(&answer, "nickname"),
                avatar_url: text(&answer, "figureurl_qq_2")
                    .or_else(|| text(&answer, "figureurl_qq_1")),
                gender: gender(&answer),
            })
        })
    }
}
