//! Typed configuration, read from the environment (and an optional `portico.toml` holding the same keys),
//! validated once at start: [`Settings`] is the configuration as written (one serde struct, a field per key),
//! `Settings::validate` the typed [`Config`]. Every problem is reported at once, by key, so an operator fixes
//! them in one go.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod limits;
mod settings;
mod validate;

pub use limits::{Limits, Retention};
pub use settings::{Setting, Settings};

/// The secret used for tokens when none is configured. Refused in production.
pub const DEV_JWT_SECRET: &str = "portico-development-jwt-secret-not-for-production";
/// The field-encryption key used when none is configured (base64 of 32 bytes). Refused in production.
pub const DEV_DATA_KEY: &str = "cG9ydGljby1kZXZlbG9wbWVudC1rZXktMzItYnl0ZXM=";
/// How deeply a query's text may nest braces, brackets and parentheses; also the backstop for async-graphql's
/// own depth and recursion checks (application depth is `PORTICO_MAX_DEPTH`, checked in `graphql::analysis`).
pub const MAX_NESTING: usize = 64;
/// The default database when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/portico";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One third-party login provider's settings (`PORTICO_OAUTH_<PROVIDER>_*`).
#[derive(Debug, Clone, Default)]
pub struct OAuthProviderConfig {
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub env: Environment,
    pub addr: SocketAddr,
    /// `None` means the zero-config default; see `db::bootstrap`.
    pub database_url: Option<String>,
    pub jwt_secret: String,
    /// The `kid` of access tokens (`PORTICO_JWT_KID`, default `1`).
    pub jwt_kid: String,
    pub data_key: String,
    /// The id stored with values sealed under `data_key` (`PORTICO_DATA_KEY_ID`, default 1).
    pub data_key_id: u8,
    /// Older keys that still open values sealed before a rotation (`PORTICO_DATA_KEYS_RETIRED`, `id:base64,...`).
    pub retired_data_keys: Vec<(u8, String)>,
    /// The blind-index and pseudonym key (`PORTICO_INDEX_KEY`, base64 of 32 bytes). It never rotates with the
    /// data keys, so lookups by phone and email survive any rotation. `None` (development only) derives it
    /// from the development key.
    pub index_key: Option<String>,
    pub sms_webhook_url: Option<String>,
    pub email_webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// Web Push, FCM and APNs credentials.
    pub push: PushConfig,
    /// Where uploaded images are kept and how they are served.
    pub media: MediaConfig,
    pub oauth: BTreeMap<String, OAuthProviderConfig>,
    pub graphiql: bool,
    pub introspection: bool,
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
    pub pool_size: usize,
    pub pool_wait_timeout: Duration,
    pub statement_timeout: Duration,
    pub ws_init_timeout: Duration,
    /// How long a checked session is taken as live without asking the database again
    /// (`PORTICO_SESSION_CACHE_MS`; 0 checks every request). Revocations end it at once through the broker.
    pub session_cache: Duration,
    /// How long an account waits between asking for cancellation and being erased (`PORTICO_CANCELLATION_COOLING_OFF_SECS`).
    pub cancellation_cooling_off: Duration,
    /// How long a data export's signed download link stays valid (`PORTICO_EXPORT_LINK_TTL_SECS`).
    pub export_link_ttl: Duration,
    /// How often the privacy jobs (exports, erasures) look for due work (`PORTICO_PRIVACY_JOB_INTERVAL_MS`).
    pub privacy_job_interval: Duration,
    /// How long spent and expired records are kept before the retention job removes them.
    pub retention: Retention,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_filter: String,
}

/// The push services' settings; a service without credentials is off (its devices' pushes wait for it).
#[derive(Debug, Clone, Default)]
pub struct PushConfig {
    /// `PORTICO_WEBPUSH_VAPID_PRIVATE_KEY`: base64url of the raw P-256 private scalar. Development derives one
    /// from the index key when it is not set (stable across restarts and instances).
    pub vapid_private_key: Option<String>,
    /// `PORTICO_WEBPUSH_SUBJECT`: the VAPID `sub`, a `mailto:` or `https:` contact for push services.
    pub webpush_subject: String,
    /// `PORTICO_FCM_SERVICE_ACCOUNT`: the path of the service account's JSON key.
    pub fcm_service_account: Option<PathBuf>,
    /// `PORTICO_FCM_API_URL`: FCM's API (default `https://fcm.googleapis.com`).
    pub fcm_api_url: String,
    /// `PORTICO_APNS_KEY` (path of the `.p8`), with `_KEY_ID`, `_TEAM_ID` and `_TOPIC`.
    pub apns: Option<ApnsConfig>,
    /// `PORTICO_APNS_URL`: one APNs gateway for every device; otherwise each device's environment picks it.
    pub apns_url: Option<String>,
}

/// Uploaded images: the storage, the upload limit and how `/media/<key>` answers.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub storage: MediaStorage,
    /// `PORTICO_MAX_UPLOAD_BYTES`: the largest multipart request (default 20 MiB); 413 above it.
    pub max_upload_bytes: usize,
    /// `PORTICO_MEDIA_SERVE`: stream objects through the gateway (default), or, with S3, redirect to a
    /// short-lived presigned URL.
    pub serve: MediaServe,
}

/// Where the objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStorage {
    /// `PORTICO_MEDIA_DIR` (default `.portico/media`).
    Local(PathBuf),
    /// `PORTICO_MEDIA_URL=s3://bucket/prefix`, with `PORTICO_MEDIA_S3_ENDPOINT`, `_REGION`, `_ACCESS_KEY_ID` and
    /// `_SECRET_ACCESS_KEY` (any S3-compatible service).
    S3(S3Config),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaServe {
    Stream,
    Redirect,
}

/// The APNs token-based credentials.
#[derive(Debug, Clone)]
pub struct ApnsConfig {
    pub key: PathBuf,
    pub key_id: String,
    pub team_id: String,
    pub topic: String,
}

/// Everything wrong with a configuration, one line per key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Reads `portico.toml` (or the file named by `PORTICO_CONFIG`) when present, then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let mut map = BTreeMap::new();
        let path = std::env::var("PORTICO_CONFIG").unwrap_or_else(|_| "portico.toml".into());
        if let Ok(text) = std::fs::read_to_string(&path) {
            map.extend(parse_toml(&text).map_err(|e| ConfigError(vec![format!("{path}: {e}")]))?);
        }
        for (k, v) in std::env::vars() {
            if k == "DATABASE_URL" || k.starts_with("PORTICO_") {
                map.insert(k, v);
            }
        }
        Self::from_map(&map)
    }

    /// Builds a configuration from key/value pairs with the environment's names.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        Settings::from_map(map).validate()
    }

    /// A development configuration for tests and tools, pointing at `database_url`.
    pub fn for_database(database_url: &str) -> Self {
        let mut map = BTreeMap::new();
        map.insert("DATABASE_URL".to_string(), database_url.to_string());
        Self::from_map(&map).expect("the development defaults are valid")
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

/// `portico.toml` holds the same keys as the environment, in either case: `database_url = "..."`.
fn parse_toml(text: &str) -> Result<BTreeMap<String, String>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut out = BTreeMap::new();
    for (k, v) in table {
        let value = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            other => return Err(format!("{k}: unsupported value {other}")),
        };
        out.insert(k.to_ascii_uppercase(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
