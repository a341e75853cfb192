//! Sina Weibo login (OAuth 2.0 on api.weibo.com).
//!
//! Authorize on `/oauth2/authorize`, exchange the code with `POST /oauth2/access_token` (the secret travels in
//! the form body), read the profile with `GET /2/users/show.json`. The subject is Weibo's `uid`; Weibo has no
//! union id. Errors come as `{"error": "...", "error_code": n, "error_description": "..."}`, usually with an
//! HTTP 4xx status.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::config::Settings;
use super::http::{Call, ProviderError, text, url_with_query};
use super::{Gender, Identity, OAuthError, Provider, ProviderKind, ThirdPartyProfile};

/// Weibo's client side; see the module documentation.
pub(super) struct Weibo {
    client: reqwest::Client,
    settings: Settings,
}

impl Weibo {
    pub fn new(client: reqwest::Client, settings: Settings) -> Self {
        Weibo { client, settings }
    }

    fn call(endpoint: &'static str) -> Call {
        Call::new(ProviderKind::Weibo, endpoint)
    }
}

/// Weibo's error: `error_code` (or, without one, `error`) and `error_description`.
fn error_of(object: &Map<String, Value>) -> ProviderError {
    let name = text(object, "error");
    let code = text(object, "error_code").or_else(|| name.clone())?;
    let message = text(object, "error_description")
        .or(name)
        .unwrap_or_default();
    Some((code, message))
}

/// Weibo's `gender`: `m`, `f`, or `n` (unknown).
fn gender(object: &Map<String, Value>) -> Option<Gender> {
    match text(object, "gender")?.as_str() {
        "m" => Some(Gender::Male),
        "f" => Some(Gender::Female),
        _ => Some(Gender::Undisclosed),
    }
}

impl Provider for Weibo {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Weibo
    }

    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        url_with_query(
            &self.settings.authorize_base,
            "/oauth2/authorize",
            &[
                ("client_id", &self.settings.client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("state", state),
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
            let url = format!("{}/oauth2/access_token", self.settings.api_base);
            let form = [
                ("client_id", self.settings.client_id.as_str()),
                ("client_secret", self.settings.secret.as_str()),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ];
            let answer = call.post_form(&self.client, &url, &form, error_of).await?;
            Ok(Identity {
                access_token: call.required(&answer, "access_token")?,
                subject: call.required(&answer, "uid")?,
                union_id: None,
                profile: None,
            })
        })
    }

    fn profile<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> BoxFuture<'a, Result<ThirdPartyProfile, OAuthError>> {
        Box::pin(async move {
            let call = Self::call("users/show");
            let url = format!("{}/2/users/show.json", self.settings.api_base);
            let query = [
                ("access_token", identity.access_token.as_str()),
                ("uid", identity.subject.as_str()),
            ];
            let answer = call.get(&self.client, &url, &query, error_of).await?;
            let id = text(&answer, "idstr").or_else(|| text(&answer, "id"));
            if id.as_deref() != Some(identity.subject.as_str()) {
                return Err(call.malformed("the profile is another user's, or has no id"));
            }
            Ok(ThirdPartyProfile {
                nickname: text(&answer, "screen_name"),
                avatar_url: text(&answer, "avatar_large")
                    .or_else(|| text(&answer, "profile_image_url")),
                gender: gender(&answer),
            })
        })
    }
}
