//! The Apple Push Notification service, token-based, over HTTP/2.
//!
//! A provider token (an ES256 JWT with the key id and team id, signed with the `.p8` key) authorises each
//! request; Apple refuses tokens older than an hour and updates more often than every twenty minutes, so one is
//! made every fifty minutes and dropped when APNs answers `ExpiredProviderToken`. Each push is one
//! `POST /3/device/<token>` with `apns-push-type: alert`, `apns-topic` (the app's bundle id), the priority and
//! the expiry; the connection speaks HTTP/2 only, as APNs requires.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::{ApnsEnvironment, Push, PushError, PushSender, SEND_TIMEOUT, Target, Urgency};

/// APNs for apps in the App Store and TestFlight.
pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
/// APNs for development builds.
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// How long one provider token is used.
const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);

/// The APNs settings.
#[derive(Clone)]
pub struct ApnsSettings {
    /// The `.p8` signing key (PKCS#8 PEM).
    pub key_pem: String,
    pub key_id: String,
    pub team_id: String,
    /// The app's bundle id.
    pub topic: String,
    /// One gateway for every device (`PORTICO_APNS_URL`); otherwise each device's environment picks it.
    pub url: Option<String>,
}

impl ApnsSettings {
    /// Checks that the key can sign ES256.
    pub fn check(&self) -> Result<(), String> {
        jsonwebtoken::EncodingKey::from_ec_pem(self.key_pem.as_bytes())
            .map(|_| ())
            .map_err(|_| "not a P-256 key in PKCS#8 PEM (the .p8 file from Apple)".into())
    }
}

/// The APNs sender.
pub struct Apns {
    client: reqwest::Client,
    settings: ApnsSettings,
    key: jsonwebtoken::EncodingKey,
    token: Mutex<Option<(String, Instant)>>,
}

impl Apns {
    pub fn new(settings: ApnsSettings) -> Result<Apns, String> {
        settings.check()?;
        let key = jsonwebtoken::EncodingKey::from_ec_pem(settings.key_pem.as_bytes())
            .map_err(|e| e.to_string())?;
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Apns {
            client,
            settings,
            key,
            token: Mutex::new(None),
        })
    }

    async fn provider_token(&self) -> Result<String, PushError> {
        let mut cached = self.token.lock().await;
        if let Some((token, made)) = &*cached
            && made.elapsed() < TOKEN_REUSE
        {
            return Ok(token.clone());
        }
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            iat: u64,
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.settings.key_id.clone());
        let token = jsonwebtoken::encode(
            &header,
            &Claims {
                iss: &self.settings.team_id,
                iat: unix_now(),
            },
            &self.key,
        )
        .map_err(|_| PushError::NotConfigured("the APNs key cannot sign"))?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    fn url(&self, environment: ApnsEnvironment) -> &str {
        match (&self.settings.url, environment) {
            (Some(url), _) => url.trim_end_matches('/'),
            (None, ApnsEnvironment::Production) => PRODUCTION_URL,
            (None, ApnsEnvironment::Sandbox) => SANDBOX_URL,
        }
    }

    fn body(push: &Push) -> serde_json::Value {
        let p = &push.payload;
        let mut body = json!({
            "aps": {
                "alert": { "title": p.title, "body": p.body },
                "sound": "default",
            },
            "id": p.id,
            "kind": p.kind,
        });
        if let Some(incident) = &p.incident_id {
            body["incidentId"] = json!(incident);
            body["aps"]["interruption-level"] = json!("time-sensitive");
        }
        body
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl PushSender for Apns {
    async fn send(&self, target: &Target, push: &Push) -> Result<(), PushError> {
        let Target::Apns { token, environment } = target else {
            return Err(PushError::Refused("not an APNs device".into()));
        };
        let bearer = self.provider_token().await?;
        let url = format!("{}/3/device/{token}", self.url(*environment));
        let response = self
            .client
            .post(url)
            .timeout(SEND_TIMEOUT)
            .header(http::header::AUTHORIZATION, format!("bearer {bearer}"))
            .header("apns-push-type", "alert")
            .header("apns-topic", &self.settings.topic)
            .header(
                "apns-priority",
                if push.urgency == Urgency::High {
                    "10"
                } else {
                    "5"
                },
            )
            .header(
                "apns-expiration",
                (unix_now() + push.ttl.as_secs()).to_string(),
            )
            .header("apns-collapse-id", format!("n{}", push.delivery_id))
            .json(&Self::body(push))
            .send()
            .await
            .map_err(PushError::transport)?;
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(());
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let reason = body["reason"].as_str().unwrap_or("").to_string();
        if status == 410 || reason == "Unregistered" {
            return Err(PushError::Gone(format!("APNs answered {status} {reason}")));
        }
        if reason == "ExpiredProviderToken" || reason == "InvalidProviderToken" {
            *self.token.lock().await = None;
        }
        Err(PushError::from_status("APNs", status, &reason))
    }
}
