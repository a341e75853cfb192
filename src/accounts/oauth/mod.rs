//! The client side of third-party login with WeChat, Weibo and QQ, each speaking its provider's own protocol.
//!
//! A login has two steps, kept apart on purpose. [`Provider::exchange`] turns the authorization code the
//! provider handed back into an [`Identity`] (who the user is at the provider); it never reads the user's
//! public profile. [`Provider::profile`] reads nickname, avatar and gender, and the caller invokes it only when
//! the user consented to the `third-party-profile` purpose.
//!
//! Providers are built from configuration by [`providers_from_config`]; endpoints can be pointed elsewhere (a
//! fake server in tests) with `PORTICO_OAUTH_<PROVIDER>_AUTHORIZE_URL` and `PORTICO_OAUTH_<PROVIDER>_API_URL`.
//! Every call has a 10-second timeout, and no error text or log line carries a secret or a token.

mod config;
mod http;
mod qq;
mod wechat;
mod weibo;

use std::fmt;
use std::str::FromStr;

use futures_util::future::BoxFuture;

pub use config::{Providers, providers_from_config};

/// The third-party login providers Portico speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    /// WeChat website login (QR code), open.weixin.qq.com.
    Wechat,
    /// Sina Weibo, api.weibo.com.
    Weibo,
    /// QQ Connect, graph.qq.com.
    Qq,
}

impl ProviderKind {
    /// Every provider, in a stable order.
    pub const ALL: [ProviderKind; 3] =
        [ProviderKind::Wechat, ProviderKind::Weibo, ProviderKind::Qq];

    /// The provider's stable name: `wechat`, `weibo` or `qq` (also its configuration group's name).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Wechat => "wechat",
            ProviderKind::Weibo => "weibo",
            ProviderKind::Qq => "qq",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that is none of `wechat`, `weibo`, `qq`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown third-party login provider `{0}` (expected wechat, weibo or qq)")]
pub struct UnknownProvider(pub String);

impl FromStr for ProviderKind {
    type Err = UnknownProvider;

    /// Parses `wechat`, `weibo` or `qq`, ignoring case and surrounding blanks.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wechat" => Ok(ProviderKind::Wechat),
            "weibo" => Ok(ProviderKind::Weibo),
            "qq" => Ok(ProviderKind::Qq),
            _ => Err(UnknownProvider(s.to_string())),
        }
    }
}

/// The gender a provider reports, mapped onto Portico's three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Female,
    Male,
    /// The provider knows none, or the user keeps it private.
    Undisclosed,
}

impl Gender {
    /// `female`, `male` or `undisclosed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Undisclosed => "undisclosed",
        }
    }
}

/// The public profile a provider shares: read only with the user's consent to `third-party-profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThirdPartyProfile {
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub gender: Option<Gender>,
}

/// Who the user is at a provider, as the code exchange established it.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's stable id for this application: the openid (WeChat, QQ) or the uid (Weibo).
    pub subject: String,
    /// The id shared by all of an operator's applications at the provider (WeChat, QQ), when it gives one.
    pub union_id: Option<String>,
    /// The access token for further calls on the user's behalf ([`Provider::profile`]). Never log it.
    pub access_token: String,
    /// Always `None` after [`Provider::exchange`]; a caller may store what [`Provider::profile`] returned here.
    pub profile: Option<ThirdPartyProfile>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.subject)
            .field("union_id", &self.union_id)
            .field("access_token", &"<redacted>")
            .field("profile", &self.profile)
            .finish()
    }
}

/// What can go wrong talking to a provider. Texts never carry secrets, tokens or request URLs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The provider answered with an error of its own (WeChat `errcode`, Weibo `error_code`, QQ `error`/`ret`):
    /// an invalid or used code, an expired token, wrong application credentials.
    #[error("{provider} refused the request (error {code}): {message}")]
    ProviderRejected {
        provider: ProviderKind,
        code: String,
        message: String,
    },
    /// The provider could not be reached, timed out, or answered with an HTTP error and no error of its own.
    #[error("could not talk to the provider: {0}")]
    Transport(String),
    /// The provider answered something that is not what its protocol says.
    #[error("the provider's answer was not understood: {0}")]
    Malformed(String),
}

/// One third-party login provider's client side.
///
/// Implementations are cheap to share (`Arc<dyn Provider>`); the async methods return boxed futures so the
/// trait stays object-safe.
pub trait Provider: Send + Sync {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// The URL to send the user's browser to. `state` comes back unchanged with the code, on `redirect_uri`.
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String;

    /// Exchanges the authorization code for an access token and the user's ids. Does not read the profile:
    /// the returned identity's `profile` is `None`. `redirect_uri` must be the one given to
    /// [`Provider::authorize_url`].
    fn exchange<'a>(
        &'a self,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Identity, OAuthError>>;

    /// Reads the user's public profile (nickname, avatar, gender) with the identity's access token. Call it
    /// only when the user consented to the `third-party-profile` purpose.
    fn profile<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> BoxFuture<'a, Result<ThirdPartyProfile, OAuthError>>;
}
