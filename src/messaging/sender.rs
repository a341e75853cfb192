//! Senders: the log (development) and a signed webhook (production), plus the signature helpers receivers use.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Channel, Message};
use crate::config::Config;

/// How long a webhook may take to answer before the attempt counts as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers one message. Implementations must be safe to call again for the same message: delivery is at
/// least once, and `id` (the outbox id) lets the receiving side drop duplicates.
#[async_trait]
pub trait Sender: Send + Sync {
    /// Delivers `msg`; `Ok` only when the provider accepted it.
    async fn send(&self, id: i64, msg: &Message) -> Result<(), SendError>;
}

/// Why a delivery attempt failed. The text is stored in `outbox_messages.last_error`, so it never holds the
/// message, the webhook URL or the secret.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The receiver did not answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The receiver answered with a status other than 2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
    /// The request could not be sent (connection refused, DNS, TLS).
    #[error("transport error: {0}")]
    Transport(String),
    /// Delivery is not configured for this message; it stays queued until it is.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Development delivery: writes the whole message, verification code included, to the log at info level.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender;

#[async_trait]
impl Sender for LogSender {
    async fn send(&self, id: i64, msg: &Message) -> Result<(), SendError> {
        tracing::info!(
            message_id = id,
            channel = msg.channel.as_str(),
            to = %msg.to,
            kind = %msg.kind,
            subject = msg.subject.as_deref().unwrap_or(""),
            text = %msg.text,
            data = %msg.data,
            "message not delivered (no webhook configured); logged for development"
        );
        Ok(())
    }
}

/// Production delivery: POSTs the message as JSON to the channel's webhook, signed with HMAC-SHA256.
///
/// Headers: `X-Portico-Timestamp` (unix seconds), `X-Portico-Signature` (`sha256=<hex of HMAC(secret,
/// "<timestamp>.<body>")>`, see [`verify_signature`]) and `X-Portico-Message-Id` (the outbox id, stable across
/// retries). A 2xx answer is success; anything else, or no answer within the timeout, is a failure.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    secret: Vec<u8>,
    sms_url: Option<String>,
    email_url: Option<String>,
    timeout: Duration,
    fallback: Option<Arc<dyn Sender>>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("sms", &self.sms_url.is_some())
            .field("email", &self.email_url.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookSender {
    /// A sender signing with `secret` and posting to `sms_url` / `email_url` by channel. A message whose channel
    /// has no URL fails (and stays queued) unless a fallback is set.
    pub fn new(
        client: reqwest::Client,
        secret: impl Into<Vec<u8>>,
        sms_url: Option<String>,
        email_url: Option<String>,
    ) -> Self {
        WebhookSender {
            client,
            secret: secret.into(),
            sms_url,
            email_url,
            timeout: WEBHOOK_TIMEOUT,
            fallback: None,
        }
    }

    /// Replaces the answer timeout (default [`WEBHOOK_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends messages of a channel without URL through `fallback` (development uses [`LogSender`]).
    pub fn with_fallback(mut self, fallback: Arc<dyn Sender>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    fn url(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Sms => self.sms_url.as_deref(),
            Channel::Email => self.email_url.as_deref(),
        }
    }
}

#[async_trait]
impl Sender for WebhookSender {
    async fn send(&self, id: i64, msg: &Message) -> Result<(), SendError> {
        let Some(url) = self.url(msg.channel) else {
            return match &self.fallback {
                Some(fallback) => fallback.send(id, msg).await,
                None => Err(SendError::NotConfigured("no webhook URL for this channel")),
            };
        };
        if self.secret.is_empty() {
            return Err(SendError::NotConfigured("PORTICO_WEBHOOK_SECRET is empty"));
        }
        let body = serde_json::to_vec(msg).map_err(|e| SendError::Other(e.to_string()))?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let signature = sign(&self.secret, &timestamp, &body);
        let response = self
            .client
            .post(url)
            .timeout(self.timeout)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("X-Portico-Timestamp", timestamp)
            .header("X-Portico-Signature", signature)
            .header("X-Portico-Message-Id", id.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.as_u16()))
        }
    }
}

impl WebhookSender {
    /// Describes a transport failure without the URL (which may carry a token).
    fn transport_error(&self, e: reqwest::Error) -> SendError {
        if e.is_timeout() {
            return SendError::Timeout(self.timeout);
        }
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        SendError::Transport(text)
    }
}

/// Picks the sender for a configuration: [`WebhookSender`] when an SMS or email webhook URL is configured,
/// [`LogSender`] otherwise. In development a channel without URL falls back to the log; in production it stays
/// queued until its URL is configured.
pub fn sender_from_config(config: &Config, client: reqwest::Client) -> Arc<dyn Sender> {
    let (sms, email) = (
        config.sms_webhook_url.clone(),
        config.email_webhook_url.clone(),
    );
    if sms.is_none() && email.is_none() {
        if config.is_production() {
            tracing::warn!(
                "no PORTICO_SMS_WEBHOOK_URL or PORTICO_EMAIL_WEBHOOK_URL: messages, verification codes included, go to the log"
            );
        }
        return Arc::new(LogSender);
    }
    if config.is_production() {
        for (url, key) in [
            (&sms, "PORTICO_SMS_WEBHOOK_URL"),
            (&email, "PORTICO_EMAIL_WEBHOOK_URL"),
        ] {
            if url.is_none() {
                tracing::warn!("{key} is not set: those messages stay queued until it is");
            }
        }
    }
    // The configuration requires a secret with any webhook URL; an empty one makes every send fail instead.
    let secret = config.webhook_secret.clone().unwrap_or_default();
    let sender = WebhookSender::new(client, secret, sms, email);
    if config.is_production() {
        Arc::new(sender)
    } else {
        Arc::new(sender.with_fallback(Arc::new(LogSender)))
    }
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Portico-Signature` value for `body` sent at `timestamp`: `sha256=<hex HMAC-SHA256(secret,
/// "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(digest))
}

/// Whether `header` (an `X-Portico-Signature` value) signs `body` sent at `timestamp` under `secret`, compared in
/// constant time. Receivers should also reject timestamps far from their clock (say, over five minutes) to
/// refuse replays, and drop repeated `X-Portico-Message-Id`s.
pub fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_reject_tampering() {
        let sig = sign(b"secret", "1700000000", b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify_signature(
            b"secret",
            "1700000000",
            b"{\"a\":1}",
            &sig
        ));
        assert!(!verify_signature(
            b"other",
            "1700000000",
            b"{\"a\":1}",
            &sig
        ));
        assert!(!verify_signature(
            b"secret",
            "1700000001",
            b"{\"a\":1}",
            &sig
        ));
        assert!(!verify_signature(
            b"secret",
            "1700000000",
            b"{\"a\":2}",
            &sig
        ));
        assert!(!verify_signature(
            b"secret",
            "1700000000",
            b"{\"a\":1}",
            &sig[7..]
        ));
        assert!(!verify_signature(
            b"secret",
            "1700000000",
            b"{\"a\":1}",
            "sha256=zz"
        ));
        assert!(!verify_signature(
            b"secret",
            "1700000000",
            b"{\"a\":1}",
            "sha256=é"
        ));
    }

    #[test]
    fn signature_matches_a_reference_hmac() {
        // python3: hmac.new(b"key", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"key", "1700000000", b"{\"a\":1}"),
            "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }
}
