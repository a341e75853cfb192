//! Accounts: registration, sign-in (password, SMS code, WeChat/Weibo/QQ), verification codes, passwords,
//! tokens and sessions, the profile and its visibility, email binding, roles and security events.

pub mod audience;
pub mod cancellation;
pub mod codes;
pub mod correction;
pub mod erase;
pub mod events;
pub mod incident_messages;
pub mod live_sessions;
pub mod loaders;
pub mod model;
pub mod oauth;
pub mod password;
pub mod phone;
pub mod profile;
pub mod retention;
pub mod service;
pub mod sessions;
pub mod signin;
mod store;
pub mod suspension;
pub mod third_party;
mod throttle;
pub mod tokens;

use std::sync::Arc;

use crate::client::ClientInfo;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::DataKeys;
use crate::db::Pool;
use tokens::TokenKeys;

/// The accounts domain's handle: what its rules need, cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    pub pool: Pool,
    pub keys: DataKeys,
    pub tokens: TokenKeys,
    pub config: Arc<Config>,
    /// The configured third-party sign-in providers.
    pub providers: oauth::Providers,
    /// The clock deadlines read (the cooling-off period of a cancellation, export links).
    pub clock: Clock,
    /// Sessions checked in the last few seconds (`PORTICO_SESSION_CACHE_MS`).
    pub live: live_sessions::LiveSessions,
}

impl Accounts {
    pub fn new(pool: Pool, keys: DataKeys, config: Arc<Config>) -> anyhow::Result<Accounts> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Accounts {
            live: live_sessions::LiveSessions::new(config.session_cache),
            tokens: TokenKeys::from_config(&config)?,
            providers: oauth::providers_from_config(&config, client),
            pool,
            keys,
            config,
            clock: Clock::default(),
        })
    }

    /// The keyed hash of a client address (never stored in the clear).
    pub fn client_hash(&self, client: &ClientInfo) -> Option<Vec<u8>> {
        client.addr.map(|a| {
            self.keys
                .pseudonym("client-address", a.to_string().as_bytes())
        })
    }
}
