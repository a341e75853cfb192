//! Firebase Cloud Messaging, HTTP v1 API.
//!
//! The service account's key signs a JWT (RS256) that its `token_uri` exchanges for an OAuth access token
//! (`urn:ietf:params:oauth:grant-type:jwt-bearer`); the token is cached until a minute before it expires, and
//! dropped when FCM answers 401. Each push is one `POST {api}/v1/projects/{project}/messages:send`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Mutex;

use super::{Push, PushError, PushSender, SEND_TIMEOUT, Target, Urgency};

/// The OAuth scope FCM sends need.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// FCM's API when `PORTICO_FCM_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://fcm.googleapis.com";

/// The fields of a Google service-account JSON key that FCM needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    pub private_key: String,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

impl ServiceAccount {
    /// Reads and checks a service-account key file.
    pub fn from_json(text: &str) -> Result<ServiceAccount, String> {
        let account: ServiceAccount =
            serde_json::from_str(text).map_err(|e| format!("not a service-account key: {e}"))?;
        jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|_| "its private_key is not an RSA key in PEM".to_string())?;
        Ok(account)
    }
}

/// The FCM sender.
pub struct Fcm {
    client: reqwest::Client,
    account: ServiceAccount,
    key: jsonwebtoken::EncodingKey,
    api_url: String,
    token: Mutex<Option<(String, Instant)>>,
}

impl Fcm {
    pub fn new(client: reqwest::Client, account: ServiceAccount, api_url: &str) -> Fcm {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .expect("checked by ServiceAccount::from_json");
        Fcm {
            client,
            account,
            key,
            api_url: api_url.trim_end_matches('/').to_string(),
            token: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn access_token(&self) -> Result<String, PushError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = &*cached
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.account.private_key_id.clone();
        let assertion = jsonwebtoken::encode(
            &header,
            &Claims {
                iss: &self.account.client_email,
                scope: SCOPE,
                aud: &self.account.token_uri,
                iat: now,
                exp: now + 3600,
            },
            &self.key,
        )
        .map_err(|_| PushError::NotConfigured("the FCM service account's key cannot sign"))?;
        let response = self
            .client
            .post(&self.account.token_uri)
            .timeout(SEND_TIMEOUT)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(PushError::transport)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            // A refused assertion is our configuration: keep the push until it is fixed.
            return Err(PushError::Retry(format!(
                "the FCM token endpoint answered HTTP {status}"
            )));
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let token: Token = response
            .json()
            .await
            .map_err(|_| PushError::Retry("the FCM token endpoint answered no token".into()))?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
        *cached = Some((token.access_token.clone(), until));
        Ok(token.access_token)
    }

    /// The body of one FCM message.
    fn message(token: &str, push: &Push) -> serde_json::Value {
        let p = &push.payload;
        let mut data = json!({ "id": p.id, "kind": p.kind });
        if let Some(incident) = &p.incident_id {
            data["incidentId"] = json!(incident);
        }
        json!({
            "message": {
                "token": token,
                "notification": { "title": p.title, "body": p.body },
                "data": data,
                "android": {
                    "priority": if push.urgency == Urgency::High { "HIGH" } else { "NORMAL" },
                    "ttl": format!("{}s", push.ttl.as_secs()),
                },
            }
        })
    }
}

#[async_trait]
impl PushSender for Fcm {
    async fn send(&self, target: &Target, push: &Push) -> Result<(), PushError> {
        let Target::Fcm { token } = target else {
            return Err(PushError::Refused("not an FCM device".into()));
        };
        let access = self.access_token().await?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.api_url, self.account.project_id
        );
        let response = self
            .client
            .post(url)
            .timeout(SEND_TIMEOUT)
            .bearer_auth(access)
            .json(&Self::message(token, push))
            .send()
            .await
            .map_err(PushError::transport)?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let error = &body["error"];
        let unregistered = error["details"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["errorCode"] == "UNREGISTERED");
        if unregistered || (status == 404 && error["status"] == "NOT_FOUND") {
            return Err(PushError::Gone("FCM answered UNREGISTERED".into()));
        }
        if status == 401 {
            // The access token was revoked or expired early: fetch a new one next time.
            *self.token.lock().await = None;
        }
        let reason = error["status"].as_str().unwrap_or("");
        Err(PushError::from_status("FCM", status, reason))
    }
}
