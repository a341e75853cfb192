//! Push services: one [`PushSender`] trait and one implementation per service, speaking its real protocol.
//!
//! - [`webpush`]: Web Push (RFC 8030), the payload encrypted to the subscription's keys (RFC 8291,
//!   `Content-Encoding: aes128gcm`) and signed for the push service with VAPID (RFC 8292, an ES256 JWT);
//! - [`fcm`]: Firebase Cloud Messaging HTTP v1, with a service-account JWT exchanged for an OAuth access token
//!   that is cached until shortly before it expires;
//! - [`apns`]: the Apple Push Notification service, token-based (an ES256 provider JWT) over HTTP/2.
//!
//! [`Services`] holds the configured ones and routes a message to the one its device belongs to. This floor
//! knows nothing of accounts or notices: the realtime domain stores the devices and queues the deliveries.

pub mod apns;
pub mod fcm;
pub mod webpush;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The longest a push service may take to answer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Which service a device is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    WebPush,
    Fcm,
    Apns,
}

impl Kind {
    /// The name stored in `push_devices.kind` and used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WebPush => "web_push",
            Kind::Fcm => "fcm",
            Kind::Apns => "apns",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "web_push" => Some(Kind::WebPush),
            "fcm" => Some(Kind::Fcm),
            "apns" => Some(Kind::Apns),
            _ => None,
        }
    }
}

/// Which APNs gateway a device's token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApnsEnvironment {
    Sandbox,
    Production,
}

/// Where a push goes: what the device gave when it registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A browser's `PushSubscription`: its endpoint, and its P-256 public key and auth secret (base64url).
    WebPush {
        endpoint: String,
        p256dh: String,
        auth: String,
    },
    /// An FCM registration token.
    Fcm { token: String },
    /// An APNs device token (hex) and the gateway it belongs to.
    Apns {
        token: String,
        environment: ApnsEnvironment,
    },
}

impl Target {
    pub fn kind(&self) -> Kind {
        match self {
            Target::WebPush { .. } => Kind::WebPush,
            Target::Fcm { .. } => Kind::Fcm,
            Target::Apns { .. } => Kind::Apns,
        }
    }

    /// What identifies the device at its service (the endpoint, or the token): one device, one row.
    pub fn address(&self) -> &str {
        match self {
            Target::WebPush { endpoint, .. } => endpoint,
            Target::Fcm { token } | Target::Apns { token, .. } => token,
        }
    }
}

/// How soon the service should wake the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Security incidents: wake the device now.
    High,
    Normal,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Normal => "normal",
        }
    }

    pub fn parse(name: &str) -> Urgency {
        if name == "high" {
            Urgency::High
        } else {
            Urgency::Normal
        }
    }
}

/// What a push carries: the notice's id, kind, title, a short body and the incident it is about. Nothing
/// personal beyond what the notice itself says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The notice's global id (`Notification` id), so the app can open it and acknowledge it.
    pub id: String,
    /// The notice's kind as the schema names it (`SECURITY_INCIDENT`, ...).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The incident's global id, for incident notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
}

/// The longest body a push carries, in characters: Web Push payloads are at most 4 KiB, and a notice's full
/// text is one tap away in the app.
pub const MAX_BODY_CHARS: usize = 240;

/// One push to one device.
#[derive(Debug, Clone)]
pub struct Push {
    pub payload: Payload,
    pub urgency: Urgency,
    /// How long the service should keep trying to reach the device.
    pub ttl: Duration,
    /// A stable id for this delivery (the outbox row), so a retry replaces rather than repeats where the service
    /// allows it (the APNs `apns-collapse-id`, the Web Push `Topic`).
    pub delivery_id: i64,
}

/// Why a push was not delivered. The text is stored in `push_deliveries.last_error`, so it never holds the
/// endpoint, the token or the payload.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The device is gone (Web Push 404/410, FCM `UNREGISTERED`, APNs 410): forget it.
    #[error("the device is no longer registered with its service ({0})")]
    Gone(String),
    /// The service will never take this push (a malformed request, a payload too large): stop trying.
    #[error("refused by the service: {0}")]
    Refused(String),
    /// Try again later (5xx, 429, a timeout, a connection failure).
    #[error("{0}")]
    Retry(String),
    /// No credentials for this service are configured; it stays queued until they are.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
}

impl PushError {
    /// The error for an answer that is neither success nor a known permanent failure.
    fn from_status(service: &str, status: u16, reason: &str) -> PushError {
        let text = if reason.is_empty() {
            format!("{service} answered HTTP {status}")
        } else {
            format!("{service} answered HTTP {status} ({reason})")
        };
        match status {
            429 | 500..=599 | 408 => PushError::Retry(text),
            // 401/403: our credentials; they may be fixed, so keep the push.
            401 | 403 => PushError::Retry(text),
            _ => PushError::Refused(text),
        }
    }

    /// Describes a transport failure without the URL (which holds the endpoint or token).
    fn transport(e: reqwest::Error) -> PushError {
        if e.is_timeout() {
            return PushError::Retry(format!("timed out after {SEND_TIMEOUT:?}"));
        }
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        PushError::Retry(format!("transport error: {text}"))
    }
}

/// Delivers one push to one device. Implementations are called again for the same delivery after a failure.
#[async_trait]
pub trait PushSender: Send + Sync {
    async fn send(&self, target: &Target, push: &Push) -> Result<(), PushError>;
}

/// The configured services; a push to a service that is not configured stays queued.
#[derive(Default, Clone)]
pub struct Services {
    pub web_push: Option<std::sync::Arc<webpush::WebPush>>,
    pub fcm: Option<std::sync::Arc<fcm::Fcm>>,
    pub apns: Option<std::sync::Arc<apns::Apns>>,
    /// Development: a push to a service without credentials is written to the log instead of waiting.
    pub log_unconfigured: bool,
}

#[async_trait]
impl PushSender for Services {
    async fn send(&self, target: &Target, push: &Push) -> Result<(), PushError> {
        if self.log_unconfigured && !self.serves(target.kind()) {
            tracing::info!(
                kind = target.kind().as_str(),
                title = %push.payload.title,
                notice = %push.payload.id,
                "push not sent (no credentials for this service); logged for development"
            );
            return Ok(());
        }
        match target.kind() {
            Kind::WebPush => match &self.web_push {
                Some(s) => s.send(target, push).await,
                None => Err(PushError::NotConfigured(
                    "Web Push (PORTICO_WEBPUSH_VAPID_PRIVATE_KEY)",
                )),
            },
            Kind::Fcm => match &self.fcm {
                Some(s) => s.send(target, push).await,
                None => Err(PushError::NotConfigured(
                    "FCM (PORTICO_FCM_SERVICE_ACCOUNT)",
                )),
            },
            Kind::Apns => match &self.apns {
                Some(s) => s.send(target, push).await,
                None => Err(PushError::NotConfigured("APNs (PORTICO_APNS_KEY)")),
            },
        }
    }
}

impl Services {
    /// The services of a gateway's configuration. Development's VAPID key comes from the index key, which never
    /// rotates: browser subscriptions are bound to the key they subscribed with, so it must outlive every
    /// data-key rotation and restart, and be the same on every instance.
    pub fn for_gateway(
        config: &crate::config::Config,
        keys: &crate::crypto::DataKeys,
        client: reqwest::Client,
    ) -> anyhow::Result<Services> {
        let seed = keys.blind_index("webpush-vapid", "v1");
        Self::from_config(&config.push, config.is_production(), &seed, client)
    }

    /// The services `config` gives credentials for. Web Push in development without a configured key uses one
    /// derived from `dev_seed`, so a browser subscribes out of the box and its subscription outlives restarts.
    pub fn from_config(
        config: &crate::config::PushConfig,
        production: bool,
        dev_seed: &[u8],
        client: reqwest::Client,
    ) -> anyhow::Result<Services> {
        use anyhow::Context;
        let vapid =
            match &config.vapid_private_key {
                Some(text) => Some(webpush::VapidKey::from_base64url(text).context(
                    "PORTICO_WEBPUSH_VAPID_PRIVATE_KEY is not a valid P-256 private key",
                )?),
                None if !production => Some(webpush::VapidKey::derive(dev_seed)),
                None => None,
            };
        let web_push = vapid.map(|key| {
            std::sync::Arc::new(webpush::WebPush::new(
                client.clone(),
                key,
                config.webpush_subject.clone(),
            ))
        });
        let fcm = match &config.fcm_service_account {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "PORTICO_FCM_SERVICE_ACCOUNT: cannot read {}",
                        path.display()
                    )
                })?;
                let account = fcm::ServiceAccount::from_json(&text)
                    .map_err(|e| anyhow::anyhow!("PORTICO_FCM_SERVICE_ACCOUNT: {e}"))?;
                Some(std::sync::Arc::new(fcm::Fcm::new(
                    client.clone(),
                    account,
                    &config.fcm_api_url,
                )))
            }
        };
        let apns = match &config.apns {
            None => None,
            Some(a) => {
                let key_pem = std::fs::read_to_string(&a.key).with_context(|| {
                    format!("PORTICO_APNS_KEY: cannot read {}", a.key.display())
                })?;
                let settings = apns::ApnsSettings {
                    key_pem,
                    key_id: a.key_id.clone(),
                    team_id: a.team_id.clone(),
                    topic: a.topic.clone(),
                    url: config.apns_url.clone(),
                };
                Some(std::sync::Arc::new(
                    apns::Apns::new(settings)
                        .map_err(|e| anyhow::anyhow!("PORTICO_APNS_KEY: {e}"))?,
                ))
            }
        };
        Ok(Services {
            web_push,
            fcm,
            apns,
            log_unconfigured: !production,
        })
    }

    /// The VAPID public key browsers subscribe with, when Web Push is on.
    pub fn web_push_public_key(&self) -> Option<&str> {
        self.web_push.as_ref().map(|w| w.key().public_key())
    }

    /// Whether devices of `kind` may register: the service is configured, or development logs its pushes.
    pub fn accepts(&self, kind: Kind) -> bool {
        self.log_unconfigured || self.serves(kind)
    }

    /// Whether pushes to devices of `kind` can be sent.
    pub fn serves(&self, kind: Kind) -> bool {
        match kind {
            Kind::WebPush => self.web_push.is_some(),
            Kind::Fcm => self.fcm.is_some(),
            Kind::Apns => self.apns.is_some(),
        }
    }
}

/// The first `max` characters of `s`, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s[..i].trim_end()),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_retry_refuse() {
        assert!(matches!(
            PushError::from_status("x", 503, ""),
            PushError::Retry(_)
        ));
        assert!(matches!(
            PushError::from_status("x", 429, ""),
            PushError::Retry(_)
        ));
        assert!(matches!(
            PushError::from_status("x", 400, "bad"),
            PushError::Refused(_)
        ));
        assert!(matches!(
            PushError::from_status("x", 413, ""),
            PushError::Refused(_)
        ));
    }

    #[test]
    fn bodies_are_shortened_on_character_boundaries() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abc def", 4), "abc…");
        assert_eq!(shorten("éèêë", 2), "éè…");
    }
}
