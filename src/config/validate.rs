//! From [`Settings`] to [`Config`]: defaults, the value checks of single keys, and the rules that span keys
//! (production refuses development secrets, webhooks need a secret, TLS needs both files). Every problem is
//! collected, one line per key, and reported together.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::settings::{Setting, Settings, key_of};
use super::{
    ApnsConfig, Config, ConfigError, DEV_DATA_KEY, DEV_JWT_SECRET, Environment, Limits, LogFormat,
    MediaConfig, MediaServe, MediaStorage, OAuthProviderConfig, PushConfig, Retention, S3Config,
};

/// The problems found so far.
#[derive(Default)]
struct Report(Vec<String>);

impl Report {
    /// The value of the key behind `field`, or `default` when it is not given or (reported) cannot be read.
    fn value<T>(&mut self, field: &str, setting: Setting<T>, default: T) -> T {
        self.given(field, setting).unwrap_or(default)
    }

    /// The value of the key behind `field` when it is given and readable (a bad value is reported).
    fn given<T>(&mut self, field: &str, setting: Setting<T>) -> Option<T> {
        match setting {
            Setting::Unset => None,
            Setting::Set(v) => Some(v),
            Setting::Bad(why) => {
                self.0.push(format!("{}: {why}", key_of(field)));
                None
            }
        }
    }

    fn refuse(&mut self, line: impl Into<String>) {
        self.0.push(line.into());
    }
}

/// `value!(report, settings.field, default)` and `given!(report, settings.field)`: the key is the field's name.
macro_rules! value {
    ($r:expr, $s:ident . $field:ident, $default:expr $(,)?) => {
        $r.value(stringify!($field), std::mem::take(&mut $s.$field), $default)
    };
}
macro_rules! given {
    ($r:expr, $s:ident . $field:ident) => {
        $r.given(stringify!($field), std::mem::take(&mut $s.$field))
    };
}

fn is_key(text: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .is_ok_and(|k| k.len() == 32)
}

impl Settings {
    /// The typed configuration, or every problem with these settings.
    pub fn validate(mut self) -> Result<Config, ConfigError> {
        let mut r = Report::default();
        let s = &mut self;
        let env = value!(r, s.env, Environment::Development);
        let prod = env == Environment::Production;
        let sms_webhook_url = given!(r, s.sms_webhook_url);
        let sms_webhook_url = webhook(&mut r, "sms_webhook_url", sms_webhook_url);
        let email_webhook_url = given!(r, s.email_webhook_url);
        let email_webhook_url = webhook(&mut r, "email_webhook_url", email_webhook_url);
        let webhook_secret = given!(r, s.webhook_secret);
        if (sms_webhook_url.is_some() || email_webhook_url.is_some()) && webhook_secret.is_none() {
            r.refuse("PORTICO_WEBHOOK_SECRET: required when a webhook URL is configured");
        }
        let push = push(&mut r, prod, s);
        let media = media(&mut r, s);
        let database_url = given!(r, s.database_url);
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            r.refuse("DATABASE_URL: must start with postgres:// or postgresql://");
        }
        if prod {
            if sms_webhook_url.is_none() || email_webhook_url.is_none() {
                r.refuse("PORTICO_SMS_WEBHOOK_URL and PORTICO_EMAIL_WEBHOOK_URL: production delivers verification codes through webhooks, never the log");
            }
            if database_url.is_none() {
                r.refuse("DATABASE_URL: production needs an explicit database URL");
            }
        }
        let keys = keys(&mut r, prod, s);
        let oauth = oauth_groups(&s.other);
        let limits = limits(&mut r, s);
        let pool_size = value!(r, s.pool_size, 8);
        if pool_size == 0 {
            r.refuse("PORTICO_POOL_SIZE: must be at least 1");
        }
        let allowed_origins = given!(r, s.allowed_origins);
        let allowed_origins = origins(&mut r, allowed_origins);
        let retention = retention(&mut r, s);
        let tls_cert = given!(r, s.tls_cert).map(PathBuf::from);
        let tls_key = given!(r, s.tls_key).map(PathBuf::from);
        if tls_cert.is_some() != tls_key.is_some() {
            r.refuse("PORTICO_TLS_CERT and PORTICO_TLS_KEY: set both or neither");
        }
        let log_format = value!(
            r,
            s.log_format,
            if prod {
                LogFormat::Json
            } else {
                LogFormat::Pretty
            }
        );
        let config = Config {
            env,
            addr: value!(r, s.addr, "127.0.0.1:8000".parse().unwrap()),
            database_url,
            jwt_secret: keys.jwt_secret,
            jwt_kid: value!(r, s.jwt_kid, "1".into()),
            data_key: keys.data_key,
            data_key_id: keys.data_key_id,
            retired_data_keys: keys.retired,
            index_key: keys.index_key,
            sms_webhook_url,
            email_webhook_url,
            webhook_secret,
            push,
            media,
            oauth,
            graphiql: value!(r, s.graphiql, !prod),
            introspection: value!(r, s.introspection, !prod),
            allowed_origins,
            limits,
            pool_size,
            pool_wait_timeout: millis(value!(r, s.pool_wait_timeout_ms, 5_000)),
            statement_timeout: millis(value!(r, s.statement_timeout_ms, 10_000)),
            ws_init_timeout: millis(value!(r, s.ws_init_timeout_ms, 10_000)),
            session_cache: millis(value!(r, s.session_cache_ms, 5_000)),
            cancellation_cooling_off: secs(value!(r, s.cancellation_cooling_off_secs, 15 * DAY)),
            export_link_ttl: secs(value!(r, s.export_link_ttl_secs, DAY)),
            privacy_job_interval: millis(value!(r, s.privacy_job_interval_ms, 30_000)),
            retention,
            tls_cert,
            tls_key,
            log_format,
            log_filter: value!(r, s.log, "info,portico=info".into()),
        };
        if r.0.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(r.0))
        }
    }
}

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn webhook(r: &mut Report, field: &str, url: Option<String>) -> Option<String> {
    let url = url?;
    if url.starts_with("http://") || url.starts_with("https://") {
        Some(url)
    } else {
        r.refuse(format!(
            "{}: must be an http:// or https:// URL",
            key_of(field)
        ));
        None
    }
}

/// The push services: each is on when its credentials are given, and then they must be whole.
fn push(r: &mut Report, prod: bool, s: &mut Settings) -> PushConfig {
    use base64::Engine;
    let vapid = given!(r, s.webpush_vapid_private_key);
    if let Some(key) = &vapid {
        let raw =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key.trim_end_matches('='));
        if !raw.is_ok_and(|k| k.len() == 32) {
            r.refuse("PORTICO_WEBPUSH_VAPID_PRIVATE_KEY: must be base64url of the 32-byte P-256 private scalar (see `portico keys vapid`)");
        }
    }
    let subject = given!(r, s.webpush_subject);
    if let Some(sub) = &subject
        && !(sub.starts_with("mailto:") || sub.starts_with("https://"))
    {
        r.refuse("PORTICO_WEBPUSH_SUBJECT: must be a mailto: or https: contact (RFC 8292)");
    }
    if prod && vapid.is_some() && subject.is_none() {
        r.refuse("PORTICO_WEBPUSH_SUBJECT: required with PORTICO_WEBPUSH_VAPID_PRIVATE_KEY, so push services can reach the operator");
    }
    let fcm_api_url = given!(r, s.fcm_api_url);
    let fcm_api_url = webhook(r, "fcm_api_url", fcm_api_url);
    let apns_url = given!(r, s.apns_url);
    let apns_url = webhook(r, "apns_url", apns_url);
    let key = given!(r, s.apns_key);
    let key_id = given!(r, s.apns_key_id);
    let team_id = given!(r, s.apns_team_id);
    let topic = given!(r, s.apns_topic);
    let apns = match (key, key_id, team_id, topic) {
        (None, None, None, None) => None,
        (Some(key), Some(key_id), Some(team_id), Some(topic)) => Some(ApnsConfig {
            key: PathBuf::from(key),
            key_id,
            team_id,
            topic,
        }),
        _ => {
            r.refuse("PORTICO_APNS_KEY, PORTICO_APNS_KEY_ID, PORTICO_APNS_TEAM_ID and PORTICO_APNS_TOPIC: set all four or none");
            None
        }
    };
    PushConfig {
        vapid_private_key: vapid,
        webpush_subject: subject.unwrap_or_else(|| "mailto:security@portico.invalid".into()),
        fcm_service_account: given!(r, s.fcm_service_account).map(PathBuf::from),
        fcm_api_url: fcm_api_url.unwrap_or_else(|| "https://fcm.googleapis.com".into()),
        apns,
        apns_url,
    }
}

/// Media storage: a local folder unless `PORTICO_MEDIA_URL` names an S3 bucket.
fn media(r: &mut Report, s: &mut Settings) -> MediaConfig {
    let dir = given!(r, s.media_dir);
    let url = given!(r, s.media_url);
    let endpoint = given!(r, s.media_s3_endpoint);
    let endpoint = webhook(r, "media_s3_endpoint", endpoint);
    let region = given!(r, s.media_s3_region);
    let access_key_id = given!(r, s.media_s3_access_key_id);
    let secret_access_key = given!(r, s.media_s3_secret_access_key);
    if access_key_id.is_some() != secret_access_key.is_some() {
        r.refuse("PORTICO_MEDIA_S3_ACCESS_KEY_ID and PORTICO_MEDIA_S3_SECRET_ACCESS_KEY: set both or neither");
    }
    let storage = match url {
        None => MediaStorage::Local(PathBuf::from(
            dir.unwrap_or_else(|| ".portico/media".into()),
        )),
        Some(url) => {
            if dir.is_some() {
                r.refuse("PORTICO_MEDIA_DIR and PORTICO_MEDIA_URL: set one or the other");
            }
            match url
                .strip_prefix("s3://")
                .map(|rest| rest.split_once('/').unwrap_or((rest, "")))
            {
                Some((bucket, prefix)) if !bucket.is_empty() => MediaStorage::S3(S3Config {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                    endpoint,
                    region: region.unwrap_or_else(|| "us-east-1".into()),
                    access_key_id,
                    secret_access_key,
                }),
                _ => {
                    r.refuse("PORTICO_MEDIA_URL: must be s3://bucket or s3://bucket/prefix");
                    MediaStorage::Local(PathBuf::from(".portico/media"))
                }
            }
        }
    };
    let serve = value!(r, s.media_serve, MediaServe::Stream);
    if serve == MediaServe::Redirect && !matches!(storage, MediaStorage::S3(_)) {
        r.refuse("PORTICO_MEDIA_SERVE: `redirect` needs S3 storage (PORTICO_MEDIA_URL)");
    }
    let max_upload_bytes = value!(r, s.max_upload_bytes, 20 * 1024 * 1024);
    if max_upload_bytes < 1024 {
        r.refuse("PORTICO_MAX_UPLOAD_BYTES: at least 1024");
    }
    MediaConfig {
        storage,
        max_upload_bytes,
        serve,
    }
}

/// The secrets and keys, checked together: production refuses the development ones, and the index key differs
/// from every data key.
struct Keys {
    jwt_secret: String,
    data_key: String,
    data_key_id: u8,
    retired: Vec<(u8, String)>,
    index_key: Option<String>,
}

fn keys(r: &mut Report, prod: bool, s: &mut Settings) -> Keys {
    let jwt_secret = value!(r, s.jwt_secret, DEV_JWT_SECRET.into());
    let data_key = value!(r, s.data_key, DEV_DATA_KEY.into());
    if prod && jwt_secret == DEV_JWT_SECRET {
        r.refuse("PORTICO_JWT_SECRET: production needs its own secret (at least 32 bytes); the development secret is refused");
    }
    if prod && data_key == DEV_DATA_KEY {
        r.refuse("PORTICO_DATA_KEY: production needs its own field-encryption key (base64 of 32 bytes); the development key is refused");
    }
    if jwt_secret.len() < 32 {
        r.refuse("PORTICO_JWT_SECRET: must be at least 32 bytes long");
    }
    if !is_key(&data_key) {
        r.refuse("PORTICO_DATA_KEY: must be base64 of exactly 32 bytes");
    }
    let data_key_id = value!(r, s.data_key_id, 1);
    let mut retired_keys = Vec::new();
    let retired = given!(r, s.data_keys_retired).unwrap_or_default();
    for item in retired.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        match item.split_once(':').map(|(id, key)| (id.parse::<u8>(), key)) {
            Some((Ok(id), key)) if id != data_key_id && is_key(key) => {
                retired_keys.push((id, key.to_string()))
            }
            _ => r.refuse("PORTICO_DATA_KEYS_RETIRED: each item must be `id:base64-of-32-bytes` with an id other than PORTICO_DATA_KEY_ID"),
        }
    }
    let index_key = given!(r, s.index_key);
    match &index_key {
        Some(key) if !is_key(key) => {
            r.refuse("PORTICO_INDEX_KEY: must be base64 of exactly 32 bytes")
        }
        Some(key) if key == &data_key || retired_keys.iter().any(|(_, k)| k == key) => {
            r.refuse("PORTICO_INDEX_KEY: must differ from every data key (it never rotates, they do)")
        }
        None if prod => r.refuse("PORTICO_INDEX_KEY: production needs its own blind-index key (base64 of 32 bytes), kept for the life of the data; see `portico keys` in the README"),
        _ => {}
    }
    Keys {
        jwt_secret,
        data_key,
        data_key_id,
        retired: retired_keys,
        index_key,
    }
}

/// The `oauth_<provider>_<key>` settings, grouped by provider.
fn oauth_groups(other: &BTreeMap<String, String>) -> BTreeMap<String, OAuthProviderConfig> {
    let mut oauth: BTreeMap<String, OAuthProviderConfig> = BTreeMap::new();
    for (k, v) in other {
        if let Some(rest) = k.strip_prefix("oauth_")
            && let Some((provider, key)) = rest.split_once('_')
        {
            oauth
                .entry(provider.to_string())
                .or_default()
                .values
                .insert(key.to_string(), v.clone());
        }
    }
    oauth
}

/// A comma-separated list of browser origins (`scheme://host[:port]`, nothing after it). `*` is refused: the
/// gateway answers cross-origin requests with credentials, and a wildcard would give every site the member's
/// session.
fn origins(r: &mut Report, list: Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    for item in list.unwrap_or_default().split(',') {
        let item = item.trim().trim_end_matches('/');
        if item.is_empty() {
            continue;
        }
        if item.contains('*') {
            r.refuse(format!(
                "PORTICO_ALLOWED_ORIGINS: `{item}` is a wildcard; browsers send the member's credentials cross-origin, so every allowed origin must be named (e.g. https://www.example.com)"
            ));
            continue;
        }
        match url::Url::parse(item) {
            Ok(u) if matches!(u.scheme(), "http" | "https")
                && u.origin().ascii_serialization() == item =>
            {
                out.push(item.to_string())
            }
            _ => r.refuse(format!(
                "PORTICO_ALLOWED_ORIGINS: `{item}` is not an origin; write scheme://host[:port] with nothing after it"
            )),
        }
    }
    out
}

fn retention(r: &mut Report, s: &mut Settings) -> Retention {
    let d = Retention::default();
    let hours = |h: u64| secs(h * HOUR);
    let days = |n: u64| secs(n * DAY);
    let retention = Retention {
        codes: hours(value!(r, s.retention_codes_hours, d.codes.as_secs() / HOUR,)),
        sessions: days(value!(
            r,
            s.retention_sessions_days,
            d.sessions.as_secs() / DAY,
        )),
        messages: days(value!(
            r,
            s.retention_messages_days,
            d.messages.as_secs() / DAY,
        )),
        security_events: days(value!(
            r,
            s.retention_security_events_days,
            d.security_events.as_secs() / DAY,
        )),
        login_failures: hours(value!(
            r,
            s.retention_login_failures_hours,
            d.login_failures.as_secs() / HOUR,
        )),
        interval: secs(value!(r, s.retention_interval_secs, d.interval.as_secs(),).max(1)),
    };
    if retention.codes < secs(DAY) {
        r.refuse("PORTICO_RETENTION_CODES_HOURS: at least 24 (the daily sending limit counts the codes of the last day)");
    }
    if retention.login_failures < secs(HOUR) {
        r.refuse("PORTICO_RETENTION_LOGIN_FAILURES_HOURS: at least 1 (sign-in throttling looks back 15 minutes)");
    }
    retention
}

fn limits(r: &mut Report, s: &mut Settings) -> Limits {
    let limits = Limits::default();
    Limits {
        max_body_bytes: value!(r, s.max_body_bytes, limits.max_body_bytes),
        max_query_chars: value!(r, s.max_query_chars, limits.max_query_chars),
        max_depth: value!(r, s.max_depth, limits.max_depth),
        max_complexity: value!(r, s.max_complexity, limits.max_complexity),
        max_aliases: value!(r, s.max_aliases, limits.max_aliases),
        max_directives: value!(r, s.max_directives, limits.max_directives),
        max_batch: value!(r, s.max_batch, limits.max_batch),
        request_timeout: millis(value!(
            r,
            s.request_timeout_ms,
            limits.request_timeout.as_millis() as u64
        )),
    }
}
