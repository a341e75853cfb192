//! WeChat website login (QR code) through the WeChat Open Platform.
//!
//! Authorize on `open.weixin.qq.com/connect/qrconnect` (scope `snsapi_login`), exchange the code with
//! `GET api.weixin.qq.com/sns/oauth2/access_token` (the secret travels in that query, as WeChat wants), read the
//! profile with `GET /sns/userinfo`. Errors come as `{"errcode": n, "errmsg": "..."}`, often with HTTP 200 and
//! `text/plain`; answers are parsed as JSON whatever their content type.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::config::Settings;
use super::http::{Call, ProviderError, text, url_with_query};
use super::{Gender, Identity, OAuthError, Provider, ProviderKind, ThirdPartyProfile};

/// WeChat's client side; see the module documentation.
pub(super) struct Wechat {
    client: reqwest::Client,
    settings: Settings,
}

impl Wechat {
    pub fn new(client: reqwest::Client, settings: Settings) -> Self {
        Wechat { client, settings }
    }

    fn call(endpoint: &'static str) -> Call {
        Call::new(ProviderKind::Wechat, endpoint)
    }
}

/// A non-zero `errcode` is WeChat's error.
fn error_of(object: &Map<String, Value>) -> ProviderError {
    let code = text(object, "errcode").filter(|c| c != "0")?;
    Some((code, text(object, "errmsg").unwrap_or_default()))
}

/// WeChat's `sex`: 1 male, 2 female, 0 unknown.
fn gender(object: &Map<String, Value>) -> Option<Gender> {
    match text(object, "sex")?.as_str() {
        "1" => Some(Gender::Male),
        "2" => Some(Gender::Female),
        _ => Some(Gender::Undisclosed),
    }
}

impl Provider for Wechat {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Wechat
    }

    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        let url = url_with_query(
            &self.settings.authorize_base,
            "/connect/qrconnect",
            &[
                ("appid", &self.settings.client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", "snsapi_login"),
                ("state", state),
            ],
        );
        format!("{url}#wechat_redirect")
    }

    fn exchange<'a>(
        &'a self,
        code: &'a str,
        _redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Identity, OAuthError>> {
        Box::pin(async move {
            let call = Self::call("token");
            let url = format!("{}/sns/oauth2/access_token", self.settings.api_base);
            let query = [
                ("appid", self.settings.client_id.as_str()),
                ("secret", self.settings.secret.as_str()),
                ("code", code),
                ("grant_type", "authorization_code"),
            ];
            let answer = call.get(&self.client, &url, &query, error_of).await?;
            Ok(Identity {
                access_token: call.required(&answer, "access_token")?,
                subject: call.required(&answer, "openid")?,
                union_id: text(&answer, "unionid"),
                profile: None,
            })
        })
    }

    fn profile<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> BoxFuture<'a, Result<ThirdPartyProfile, OAuthError>> {
        Box::pin(async move {
            let call = Self::call("userinfo");
            let url = format!("{}/sns/userinfo", self.settings.api_base);
            let query = [
                ("access_token", identity.access_token.as_str()),
                ("openid", identity.subject.as_str()),
            ];
            let answer = call.get(&self.client, &url, &query, error_of).await?;
            if call.required(&answer, "openid")? != identity.subject {
                return Err(call.malformed("the profile is another user's"));
            }
            Ok(ThirdPartyProfile {
                nickname: text(&answer, "nickname"),
                avatar_url: text(&answer, "headimgurl"),
                gender: gender(&answer),
            })
        })
    }
}
