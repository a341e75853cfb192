//! The configuration as it is written: one serde struct whose fields are the keys of the environment and of
//! `portico.toml`, named without their `PORTICO_` prefix (`pool_size` is `PORTICO_POOL_SIZE`, `database_url` is
//! `DATABASE_URL`). Each value is read as text and parsed on its own into a [`Setting`], so a bad value is
//! reported by its key and the read goes on: one report lists every problem. `Settings::validate` (in
//! `validate.rs`) turns it into the typed [`super::Config`], with the rules that span keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::{Environment, LogFormat, MediaServe};

/// One value: not given (or blank), parsed, or refused with the reason.
#[derive(Debug, Clone, Default)]
pub enum Setting<T> {
    #[default]
    Unset,
    Set(T),
    Bad(String),
}

impl<'de, T> Deserialize<'de> for Setting<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(Setting::Unset);
        }
        Ok(match text.parse() {
            Ok(value) => Setting::Set(value),
            Err(e) => Setting::Bad(format!("cannot understand `{text}` ({e})")),
        })
    }
}

/// Every key Portico reads; see the README's configuration table for what each means.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub env: Setting<Environment>,
    pub addr: Setting<SocketAddr>,
    pub database_url: Setting<String>,
    pub jwt_secret: Setting<String>,
    pub jwt_kid: Setting<String>,
    pub data_key: Setting<String>,
    pub data_key_id: Setting<u8>,
    pub data_keys_retired: Setting<String>,
    pub index_key: Setting<String>,
    pub sms_webhook_url: Setting<String>,
    pub email_webhook_url: Setting<String>,
    pub webhook_secret: Setting<String>,
    pub webpush_vapid_private_key: Setting<String>,
    pub webpush_subject: Setting<String>,
    pub fcm_service_account: Setting<String>,
    pub fcm_api_url: Setting<String>,
    pub apns_key: Setting<String>,
    pub apns_key_id: Setting<String>,
    pub apns_team_id: Setting<String>,
    pub apns_topic: Setting<String>,
    pub apns_url: Setting<String>,
    pub media_dir: Setting<String>,
    pub media_url: Setting<String>,
    pub media_s3_endpoint: Setting<String>,
    pub media_s3_region: Setting<String>,
    pub media_s3_access_key_id: Setting<String>,
    pub media_s3_secret_access_key: Setting<String>,
    pub media_serve: Setting<MediaServe>,
    pub max_upload_bytes: Setting<usize>,
    pub graphiql: Setting<bool>,
    pub introspection: Setting<bool>,
    pub allowed_origins: Setting<String>,
    pub max_body_bytes: Setting<usize>,
    pub max_query_chars: Setting<usize>,
    pub max_depth: Setting<usize>,
    pub max_complexity: Setting<usize>,
    pub max_aliases: Setting<usize>,
    pub max_directives: Setting<usize>,
    pub max_batch: Setting<usize>,
    pub request_timeout_ms: Setting<u64>,
    pub pool_size: Setting<usize>,
    pub pool_wait_timeout_ms: Setting<u64>,
    pub statement_timeout_ms: Setting<u64>,
    pub ws_init_timeout_ms: Setting<u64>,
    pub session_cache_ms: Setting<u64>,
    pub cancellation_cooling_off_secs: Setting<u64>,
    pub export_link_ttl_secs: Setting<u64>,
    pub privacy_job_interval_ms: Setting<u64>,
    pub retention_codes_hours: Setting<u64>,
    pub retention_sessions_days: Setting<u64>,
    pub retention_messages_days: Setting<u64>,
    pub retention_security_events_days: Setting<u64>,
    pub retention_login_failures_hours: Setting<u64>,
    pub retention_interval_secs: Setting<u64>,
    pub tls_cert: Setting<String>,
    pub tls_key: Setting<String>,
    pub log_format: Setting<LogFormat>,
    pub log: Setting<String>,
    /// Keys with no field of their own: the `oauth_<provider>_<key>` groups (and anything unknown, ignored).
    #[serde(flatten)]
    pub other: BTreeMap<String, String>,
}

impl Settings {
    /// Reads key/value pairs with the environment's names (`PORTICO_POOL_SIZE`, `DATABASE_URL`).
    pub fn from_map(map: &BTreeMap<String, String>) -> Settings {
        let pairs = map.iter().filter_map(|(key, value)| {
            let name = match key.as_str() {
                "DATABASE_URL" => "database_url".to_string(),
                other => other.strip_prefix("PORTICO_")?.to_ascii_lowercase(),
            };
            Some((name, value.clone()))
        });
        let reader = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(pairs);
        // Every field takes any text, so only a key given twice could fail, and a map holds each once.
        Settings::deserialize(reader).expect("settings read from a map of texts")
    }
}

/// The environment name a key is written under (`pool_size` -> `PORTICO_POOL_SIZE`).
pub fn key_of(field: &str) -> String {
    match field {
        "database_url" => "DATABASE_URL".into(),
        other => format!("PORTICO_{}", other.to_ascii_uppercase()),
    }
}

impl FromStr for Environment {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err("neither `development` nor `production`"),
        }
    }
}

impl FromStr for LogFormat {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err("neither `json` nor `pretty`"),
        }
    }
}

impl FromStr for MediaServe {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stream" => Ok(MediaServe::Stream),
            "redirect" => Ok(MediaServe::Redirect),
            _ => Err("neither `stream` nor `redirect`"),
        }
    }
}
