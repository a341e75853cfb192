//! Building the configured providers from `PORTICO_OAUTH_<PROVIDER>_*`.
//!
//! Keys, per provider: `appid` or `client_id`, `secret` or `client_secret` (both required, or the provider is
//! absent), and optional base URLs `authorize_url` (where browsers are sent) and `api_url` (where the server
//! calls). Defaults: WeChat `https://open.weixin.qq.com` and `https://api.weixin.qq.com`; Weibo
//! `https://api.weibo.com`; QQ `https://graph.qq.com`. Weibo and QQ serve both from one host, so for them
//! `authorize_url` defaults to `api_url` when only that is set.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::{Provider, ProviderKind, qq::Qq, wechat::Wechat, weibo::Weibo};
use crate::config::Config;

/// The configured providers, by kind. A provider without credentials is absent.
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<ProviderKind, Arc<dyn Provider>>);

impl Providers {
    /// The provider of this kind, when it is configured.
    pub fn get(&self, kind: ProviderKind) -> Option<Arc<dyn Provider>> {
        self.0.get(&kind).cloned()
    }

    /// Whether this provider is configured.
    pub fn contains(&self, kind: ProviderKind) -> bool {
        self.0.contains_key(&kind)
    }

    /// The configured kinds, in [`ProviderKind::ALL`] order.
    pub fn kinds(&self) -> Vec<ProviderKind> {
        self.0.keys().copied().collect()
    }

    /// Adds (or replaces) a provider, under its own kind.
    pub fn insert(&mut self, provider: Arc<dyn Provider>) {
        self.0.insert(provider.kind(), provider);
    }

    /// How many providers are configured.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// One provider's settings, read from its configuration group.
#[derive(Clone)]
pub(super) struct Settings {
    pub client_id: String,
    pub secret: String,
    /// Base URL (no trailing slash) of the pages browsers are sent to.
    pub authorize_base: String,
    /// Base URL (no trailing slash) of the API the server calls.
    pub api_base: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .field("authorize_base", &self.authorize_base)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// Builds every provider that has credentials in `config.oauth`; the others are absent (logged, without
/// values). `client` is shared by all of them; each call sets its own 10-second timeout.
pub fn providers_from_config(config: &Config, client: reqwest::Client) -> Providers {
    let mut providers = Providers::default();
    for (name, group) in &config.oauth {
        let Ok(kind) = name.parse::<ProviderKind>() else {
            tracing::warn!(provider = %name, "ignoring PORTICO_OAUTH_* settings of an unknown provider");
            continue;
        };
        let settings = match settings(kind, &group.values) {
            Ok(settings) => settings,
            Err(problem) => {
                tracing::warn!(provider = %kind, problem, "third-party login provider not configured");
                continue;
            }
        };
        let provider: Arc<dyn Provider> = match kind {
            ProviderKind::Wechat => Arc::new(Wechat::new(client.clone(), settings)),
            ProviderKind::Weibo => Arc::new(Weibo::new(client.clone(), settings)),
            ProviderKind::Qq => Arc::new(Qq::new(client.clone(), settings)),
        };
        providers.insert(provider);
    }
    providers
}

fn settings(
    kind: ProviderKind,
    values: &BTreeMap<String, String>,
) -> Result<Settings, &'static str> {
    let value = |keys: &[&str]| {
        keys.iter()
            .filter_map(|k| values.get(*k))
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
            .map(str::to_string)
    };
    let client_id = value(&["appid", "client_id"]).ok_or("no appid / client_id")?;
    let secret = value(&["secret", "client_secret"]).ok_or("no secret / client_secret")?;
    let api_override = value(&["api_url"]).map(base_url).transpose()?;
    let authorize_override = value(&["authorize_url"]).map(base_url).transpose()?;
    let (default_authorize, default_api) = match kind {
        ProviderKind::Wechat => ("https://open.weixin.qq.com", "https://api.weixin.qq.com"),
        ProviderKind::Weibo => ("https://api.weibo.com", "https://api.weibo.com"),
        ProviderKind::Qq => ("https://graph.qq.com", "https://graph.qq.com"),
    };
    let authorize_base = match (authorize_override, &api_override) {
        (Some(url), _) => url,
        (None, Some(api)) if kind != ProviderKind::Wechat => api.clone(),
        (None, _) => default_authorize.to_string(),
    };
    let api_base = api_override.unwrap_or_else(|| default_api.to_string());
    Ok(Settings {
        client_id,
        secret,
        authorize_base,
        api_base,
    })
}

/// A base URL override: http(s), no query or fragment, stored without a trailing slash.
fn base_url(value: String) -> Result<String, &'static str> {
    match reqwest::Url::parse(&value) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.has_host()
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            Ok(value.trim_end_matches('/').to_string())
        }
        _ => Err("authorize_url / api_url must be an http:// or https:// base URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_real_hosts() {
        let s = settings(
            ProviderKind::Wechat,
            &values(&[("appid", "wx"), ("secret", "s")]),
        )
        .unwrap();
        assert_eq!(s.authorize_base, "https://open.weixin.qq.com");
        assert_eq!(s.api_base, "https://api.weixin.qq.com");
        let s = settings(
            ProviderKind::Qq,
            &values(&[("client_id", "1"), ("client_secret", "s")]),
        )
        .unwrap();
        assert_eq!(
            (s.authorize_base.as_str(), s.api_base.as_str()),
            ("https://graph.qq.com", "https://graph.qq.com")
        );
    }

    #[test]
    fn overrides_apply_and_single_host_providers_follow_api_url() {
        let v = values(&[
            ("client_id", "1"),
            ("client_secret", "s"),
            ("api_url", "http://127.0.0.1:9/"),
        ]);
        let s = settings(ProviderKind::Weibo, &v).unwrap();
        assert_eq!(
            (s.authorize_base.as_str(), s.api_base.as_str()),
            ("http://127.0.0.1:9", "http://127.0.0.1:9")
        );
        let v = values(&[
            ("appid", "wx"),
            ("secret", "s"),
            ("api_url", "http://127.0.0.1:9"),
        ]);
        let s = settings(ProviderKind::Wechat, &v).unwrap();
        assert_eq!(s.authorize_base, "https://open.weixin.qq.com");
        assert_eq!(s.api_base, "http://127.0.0.1:9");
    }

    #[test]
    fn incomplete_or_invalid_settings_are_refused_without_values() {
        assert!(settings(ProviderKind::Qq, &values(&[("client_id", "1")])).is_err());
        assert!(
            settings(
                ProviderKind::Qq,
                &values(&[("client_id", "1"), ("client_secret", " ")])
            )
            .is_err()
        );
        let err = settings(
            ProviderKind::Qq,
            &values(&[
                ("client_id", "1"),
                ("client_secret", "hunter2"),
                ("api_url", "ftp://x"),
            ]),
        )
        .unwrap_err();
        assert!(!err.contains("hunter2"));
        let s = settings(
            ProviderKind::Wechat,
            &values(&[("appid", "wx"), ("secret", "hunter2")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
