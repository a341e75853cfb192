//! Typed configuration, read from the environment (and an optional `portico.toml` holding the same keys),
//! validated once at start. Every problem is reported at once, by key, so an operator fixes them in one go.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod limits;
pub use limits::{Limits, Retention};

/// The secret used for tokens when none is configured. Refused in production.
pub const DEV_JWT_SECRET: &str = "portico-development-jwt-secret-not-for-production";
/// The field-encryption key used when none is configured (base64 of 32 bytes). Refused in production.
pub const DEV_DATA_KEY: &str = "cG9ydGljby1kZXZlbG9wbWVudC1rZXktMzItYnl0ZXM=";
/// How deeply a query's text may nest braces, brackets and parentheses; also the backstop for async-graphql's
/// own depth and recursion checks (application depth is `PORTICO_MAX_DEPTH`, checked in `http::analysis`).
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
    pub oauth: BTreeMap<String, OAuthProviderConfig>,
    pub graphiql: bool,
    pub introspection: bool,
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
    pub pool_size: usize,
    pub pool_wait_timeout: Duration,
    pub statement_timeout: Duration,
    pub ws_init_timeout: Duration,
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
        let mut r = Reader {
            map,
            errors: Vec::new(),
        };
        let env = match r.get("PORTICO_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                r.errors.push(format!(
                    "PORTICO_ENV: `{other}` is neither `development` nor `production`"
                ));
                Environment::Development
            }
        };
        let prod = env == Environment::Production;
        let sms_webhook_url = r.url("PORTICO_SMS_WEBHOOK_URL");
        let email_webhook_url = r.url("PORTICO_EMAIL_WEBHOOK_URL");
        let addr = r.parse("PORTICO_ADDR", "127.0.0.1:8000".parse().unwrap());
        let database_url = r.get("DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            r.errors
                .push("DATABASE_URL: must start with postgres:// or postgresql://".into());
        }
        let jwt_secret = r
            .get("PORTICO_JWT_SECRET")
            .unwrap_or_else(|| DEV_JWT_SECRET.into());
        let jwt_kid = r.get("PORTICO_JWT_KID").unwrap_or_else(|| "1".into());
        let data_key = r
            .get("PORTICO_DATA_KEY")
            .unwrap_or_else(|| DEV_DATA_KEY.into());
        if prod {
            if jwt_secret == DEV_JWT_SECRET {
                r.errors.push("PORTICO_JWT_SECRET: production needs its own secret (at least 32 bytes); the development secret is refused".into());
            }
            if data_key == DEV_DATA_KEY {
                r.errors.push("PORTICO_DATA_KEY: production needs its own field-encryption key (base64 of 32 bytes); the development key is refused".into());
            }
            if sms_webhook_url.is_none() || email_webhook_url.is_none() {
                r.errors.push("PORTICO_SMS_WEBHOOK_URL and PORTICO_EMAIL_WEBHOOK_URL: production delivers verification codes through webhooks, never the log".into());
            }
            if database_url.is_none() {
                r.errors
                    .push("DATABASE_URL: production needs an explicit database URL".into());
            }
        }
        if jwt_secret.len() < 32 {
            r.errors
                .push("PORTICO_JWT_SECRET: must be at least 32 bytes long".into());
        }
        match base64_decode(&data_key) {
            Some(bytes) if bytes.len() == 32 => {}
            _ => r
                .errors
                .push("PORTICO_DATA_KEY: must be base64 of exactly 32 bytes".into()),
        }
        let data_key_id = r.parse("PORTICO_DATA_KEY_ID", 1u8);
        let mut retired_data_keys = Vec::new();
        for item in r
            .get("PORTICO_DATA_KEYS_RETIRED")
            .unwrap_or_default()
            .split(',')
        {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match item.split_once(':').map(|(id, key)| (id.parse::<u8>(), key)) {
                Some((Ok(id), key)) if id != data_key_id && base64_decode(key).is_some_and(|k| k.len() == 32) => {
                    retired_data_keys.push((id, key.to_string()))
                }
                _ => r.errors.push(
                    "PORTICO_DATA_KEYS_RETIRED: each item must be `id:base64-of-32-bytes` with an id other than PORTICO_DATA_KEY_ID".into(),
                ),
            }
        }
        let index_key = r.get("PORTICO_INDEX_KEY");
        match &index_key {
            Some(key) if base64_decode(key).is_none_or(|k| k.len() != 32) => r
                .errors
                .push("PORTICO_INDEX_KEY: must be base64 of exactly 32 bytes".into()),
            Some(key) if key == &data_key || retired_data_keys.iter().any(|(_, k)| k == key) => {
                r.errors.push("PORTICO_INDEX_KEY: must differ from every data key (it never rotates, they do)".into())
            }
            None if prod => r.errors.push("PORTICO_INDEX_KEY: production needs its own blind-index key (base64 of 32 bytes), kept for the life of the data; see `portico keys` in the README".into()),
            _ => {}
        }
        let webhook_secret = r.get("PORTICO_WEBHOOK_SECRET");
        if (sms_webhook_url.is_some() || email_webhook_url.is_some()) && webhook_secret.is_none() {
            r.errors
                .push("PORTICO_WEBHOOK_SECRET: required when a webhook URL is configured".into());
        }
        let mut oauth: BTreeMap<String, OAuthProviderConfig> = BTreeMap::new();
        for (k, v) in map {
            if let Some(rest) = k.strip_prefix("PORTICO_OAUTH_")
                && let Some((provider, key)) = rest.split_once('_')
            {
                oauth
                    .entry(provider.to_ascii_lowercase())
                    .or_default()
                    .values
                    .insert(key.to_ascii_lowercase(), v.clone());
            }
        }
        let graphiql = r.parse("PORTICO_GRAPHIQL", !prod);
        let introspection = r.parse("PORTICO_INTROSPECTION", !prod);
        let allowed_origins = r.origins("PORTICO_ALLOWED_ORIGINS");
        let d = Limits::default();
        let limits = Limits {
            max_body_bytes: r.parse("PORTICO_MAX_BODY_BYTES", d.max_body_bytes),
            max_query_chars: r.parse("PORTICO_MAX_QUERY_CHARS", d.max_query_chars),
            max_depth: r.parse("PORTICO_MAX_DEPTH", d.max_depth),
            max_complexity: r.parse("PORTICO_MAX_COMPLEXITY", d.max_complexity),
            max_aliases: r.parse("PORTICO_MAX_ALIASES", d.max_aliases),
            max_directives: r.parse("PORTICO_MAX_DIRECTIVES", d.max_directives),
            max_batch: r.parse("PORTICO_MAX_BATCH", d.max_batch),
            request_timeout: Duration::from_millis(r.parse(
                "PORTICO_REQUEST_TIMEOUT_MS",
                d.request_timeout.as_millis() as u64,
            )),
        };
        let pool_size = r.parse("PORTICO_POOL_SIZE", 8usize);
        if pool_size == 0 {
            r.errors
                .push("PORTICO_POOL_SIZE: must be at least 1".into());
        }
        let pool_wait_timeout =
            Duration::from_millis(r.parse("PORTICO_POOL_WAIT_TIMEOUT_MS", 5_000u64));
        let statement_timeout =
            Duration::from_millis(r.parse("PORTICO_STATEMENT_TIMEOUT_MS", 10_000u64));
        let ws_init_timeout =
            Duration::from_millis(r.parse("PORTICO_WS_INIT_TIMEOUT_MS", 10_000u64));
        let cancellation_cooling_off = Duration::from_secs(
            r.parse("PORTICO_CANCELLATION_COOLING_OFF_SECS", 15 * 24 * 3600u64),
        );
        let export_link_ttl =
            Duration::from_secs(r.parse("PORTICO_EXPORT_LINK_TTL_SECS", 24 * 3600u64));
        let privacy_job_interval =
            Duration::from_millis(r.parse("PORTICO_PRIVACY_JOB_INTERVAL_MS", 30_000u64));
        let rd = Retention::default();
        let hours = |h: u64| h * 3600;
        let retention = Retention {
            codes: Duration::from_secs(hours(
                r.parse("PORTICO_RETENTION_CODES_HOURS", rd.codes.as_secs() / 3600),
            )),
            sessions: Duration::from_secs(hours(
                24 * r.parse(
                    "PORTICO_RETENTION_SESSIONS_DAYS",
                    rd.sessions.as_secs() / 86400,
                ),
            )),
            messages: Duration::from_secs(hours(
                24 * r.parse(
                    "PORTICO_RETENTION_MESSAGES_DAYS",
                    rd.messages.as_secs() / 86400,
                ),
            )),
            security_events: Duration::from_secs(hours(
                24 * r.parse(
                    "PORTICO_RETENTION_SECURITY_EVENTS_DAYS",
                    rd.security_events.as_secs() / 86400,
                ),
            )),
            login_failures: Duration::from_secs(hours(r.parse(
                "PORTICO_RETENTION_LOGIN_FAILURES_HOURS",
                rd.login_failures.as_secs() / 3600,
            ))),
            interval: Duration::from_secs(
                r.parse("PORTICO_RETENTION_INTERVAL_SECS", rd.interval.as_secs())
                    .max(1),
            ),
        };
        if retention.codes < Duration::from_secs(24 * 3600) {
            r.errors.push("PORTICO_RETENTION_CODES_HOURS: at least 24 (the daily sending limit counts the codes of the last day)".into());
        }
        if retention.login_failures < Duration::from_secs(3600) {
            r.errors.push("PORTICO_RETENTION_LOGIN_FAILURES_HOURS: at least 1 (sign-in throttling looks back 15 minutes)".into());
        }
        let tls_cert = r.get("PORTICO_TLS_CERT").map(PathBuf::from);
        let tls_key = r.get("PORTICO_TLS_KEY").map(PathBuf::from);
        if tls_cert.is_some() != tls_key.is_some() {
            r.errors
                .push("PORTICO_TLS_CERT and PORTICO_TLS_KEY: set both or neither".into());
        }
        let log_format = match r.get("PORTICO_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            None if prod => LogFormat::Json,
            None => LogFormat::Pretty,
            Some(other) => {
                r.errors.push(format!(
                    "PORTICO_LOG_FORMAT: `{other}` is neither `json` nor `pretty`"
                ));
                LogFormat::Pretty
            }
        };
        let log_filter = r
            .get("PORTICO_LOG")
            .unwrap_or_else(|| "info,portico=info".into());
        if !r.errors.is_empty() {
            return Err(ConfigError(r.errors));
        }
        Ok(Config {
            env,
            addr,
            database_url,
            jwt_secret,
            jwt_kid,
            data_key,
            data_key_id,
            retired_data_keys,
            index_key,
            sms_webhook_url,
            email_webhook_url,
            webhook_secret,
            oauth,
            graphiql,
            introspection,
            allowed_origins,
            limits,
            pool_size,
            pool_wait_timeout,
            statement_timeout,
            ws_init_timeout,
            cancellation_cooling_off,
            export_link_ttl,
            privacy_job_interval,
            retention,
            tls_cert,
            tls_key,
            log_format,
            log_filter,
        })
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

struct Reader<'a> {
    map: &'a BTreeMap<String, String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<String> {
        self.map
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(&mut self, key: &str, default: T) -> T {
        match self.get(key) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                self.errors.push(format!("{key}: cannot understand `{v}`"));
                default
            }),
        }
    }

    /// A comma-separated list of browser origins (`scheme://host[:port]`, nothing after it). `*` is refused:
    /// the gateway answers cross-origin requests with credentials, and a wildcard would give every site the
    /// member's session.
    fn origins(&mut self, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for item in self.get(key).unwrap_or_default().split(',') {
            let item = item.trim().trim_end_matches('/');
            if item.is_empty() {
                continue;
            }
            if item.contains('*') {
                self.errors.push(format!(
                    "{key}: `{item}` is a wildcard; browsers send the member's credentials cross-origin, so every allowed origin must be named (e.g. https://www.example.com)"
                ));
                continue;
            }
            match url::Url::parse(item) {
                Ok(u) if matches!(u.scheme(), "http" | "https")
                    && u.origin().ascii_serialization() == item =>
                {
                    out.push(item.to_string())
                }
                _ => self.errors.push(format!(
                    "{key}: `{item}` is not an origin; write scheme://host[:port] with nothing after it"
                )),
            }
        }
        out
    }

    fn url(&mut self, key: &str) -> Option<String> {
        let v = self.get(key)?;
        if v.starts_with("http://") || v.starts_with("https://") {
            Some(v)
        } else {
            self.errors
                .push(format!("{key}: must be an http:// or https:// URL"));
            None
        }
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

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests;
