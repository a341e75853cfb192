//! Web Push: RFC 8030 delivery, RFC 8291 message encryption and RFC 8292 VAPID.
//!
//! The payload is encrypted to the subscription's P-256 key and auth secret with a fresh ephemeral key per
//! message (`web-push-native`, on the RustCrypto primitives), sent as one `aes128gcm` record. The push service
//! is told who we are with a VAPID JWT (ES256, signed by `jsonwebtoken`): `aud` is the endpoint's origin, `exp`
//! twelve hours ahead (RFC 8292 allows at most 24), `sub` the configured contact. A token is reused for its
//! origin until an hour before it expires, so a fan-out signs once per push service, not once per push.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;

use super::{Push, PushError, PushSender, SEND_TIMEOUT, Target, Urgency};

/// How long a VAPID token is valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// A cached token is replaced when less than this is left of it.
const TOKEN_MARGIN: Duration = Duration::from_secs(3600);

/// The application server's VAPID key pair.
#[derive(Clone)]
pub struct VapidKey {
    encoding: jsonwebtoken::EncodingKey,
    /// The uncompressed public point, base64url: the browser's `applicationServerKey`, and `k=` of each request.
    public: String,
    /// The private scalar, base64url: what `PORTICO_WEBPUSH_VAPID_PRIVATE_KEY` holds (`portico keys vapid`).
    private: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// The key whose private scalar is `scalar` (32 bytes, big-endian); `None` when it is not a valid P-256
    /// scalar.
    pub fn from_scalar(scalar: &[u8]) -> Option<VapidKey> {
        let secret = p256::SecretKey::from_slice(scalar).ok()?;
        let der = secret.to_pkcs8_der().ok()?;
        let public = secret.public_key().to_encoded_point(false);
        Some(VapidKey {
            encoding: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            public: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            private: URL_SAFE_NO_PAD.encode(scalar),
        })
    }

    /// The key written as `PORTICO_WEBPUSH_VAPID_PRIVATE_KEY`: base64url (padded or not) of the raw scalar.
    pub fn from_base64url(text: &str) -> Option<VapidKey> {
        Self::from_scalar(&decode(text)?)
    }

    /// A key derived from `seed` (32 secret bytes): the development key, stable for as long as the seed is.
    pub fn derive(seed: &[u8]) -> VapidKey {
        use hmac::Mac;
        for counter in 0u8..=255 {
            let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(seed)
                .expect("HMAC takes a key of any length");
            mac.update(b"portico webpush vapid\0");
            mac.update(&[counter]);
            if let Some(key) = Self::from_scalar(&mac.finalize().into_bytes()) {
                return key;
            }
        }
        unreachable!("a valid scalar is found within a few tries")
    }

    /// A new random key.
    pub fn generate() -> VapidKey {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        Self::from_scalar(&secret.to_bytes()).expect("a random secret key is a valid scalar")
    }

    /// The private scalar, base64url without padding, as `PORTICO_WEBPUSH_VAPID_PRIVATE_KEY` takes it.
    pub fn private_key(&self) -> &str {
        &self.private
    }

    /// The public key, base64url without padding (65 bytes, uncompressed).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// A VAPID JWT for the push service at `audience` (an origin), valid until `exp` (unix seconds).
    pub fn token(&self, audience: &str, subject: &str, exp: u64) -> Result<String, PushError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: u64,
            sub: &'a str,
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(
            &header,
            &Claims {
                aud: audience,
                exp,
                sub: subject,
            },
            &self.encoding,
        )
        .map_err(|e| PushError::NotConfigured(leak_kind(&e)))
    }
}

fn leak_kind(_: &jsonwebtoken::errors::Error) -> &'static str {
    "the VAPID key cannot sign"
}

/// base64url, padded or not (browsers give it unpadded; some libraries pad), or standard base64.
fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
        .or_else(|| URL_SAFE.decode(text).ok())
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
}

/// Why a subscription is refused: the field, and what is wrong with it.
pub type Refusal = (&'static str, String);

/// Checks a browser's `PushSubscription`: an https endpoint (plain http only to a loopback host when
/// `allow_loopback_http`), a P-256 public key and a 16-byte auth secret.
pub fn check_subscription(
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    allow_loopback_http: bool,
) -> Result<(), Refusal> {
    let url = url::Url::parse(endpoint)
        .map_err(|_| ("endpoint", "the endpoint is not a URL".to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && loopback => {}
        "http" if allow_loopback_http => {
            return Err((
                "endpoint",
                "the endpoint must be https (plain http only to a loopback address)".into(),
            ));
        }
        _ => return Err(("endpoint", "the endpoint must be an https URL".into())),
    }
    if url.host().is_none() || endpoint.len() > 2048 {
        return Err(("endpoint", "the endpoint is not a push service URL".into()));
    }
    let key = decode(p256dh).ok_or_else(|| ("p256dh", "p256dh is not base64url".to_string()))?;
    if key.len() != 65 || p256::PublicKey::from_sec1_bytes(&key).is_err() {
        return Err((
            "p256dh",
            "p256dh must be an uncompressed P-256 public key (65 bytes)".into(),
        ));
    }
    match decode(auth) {
        Some(a) if a.len() == 16 => Ok(()),
        Some(_) => Err(("auth", "auth must be 16 bytes".into())),
        None => Err(("auth", "auth is not base64url".into())),
    }
}

/// The origin of an endpoint, the `aud` of its VAPID token.
fn origin(endpoint: &url::Url) -> String {
    endpoint.origin().ascii_serialization()
}

/// The Web Push sender.
pub struct WebPush {
    client: reqwest::Client,
    key: VapidKey,
    subject: String,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl WebPush {
    pub fn new(client: reqwest::Client, key: VapidKey, subject: String) -> WebPush {
        WebPush {
            client,
            key,
            subject,
            tokens: Mutex::default(),
        }
    }

    pub fn key(&self) -> &VapidKey {
        &self.key
    }

    /// The `Authorization` header for `endpoint`'s push service (a cached token while it has an hour left).
    fn authorization(&self, endpoint: &url::Url) -> Result<String, PushError> {
        let aud = origin(endpoint);
        let now = Instant::now();
        let mut tokens = self.tokens.lock().expect("token cache");
        let token = match tokens.get(&aud) {
            Some((token, until)) if *until > now + TOKEN_MARGIN => token.clone(),
            _ => {
                let exp = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    + TOKEN_LIFETIME.as_secs();
                let token = self.key.token(&aud, &self.subject, exp)?;
                tokens.insert(aud, (token.clone(), now + TOKEN_LIFETIME));
                token
            }
        };
        Ok(format!("vapid t={token}, k={}", self.key.public))
    }
}

#[async_trait]
impl PushSender for WebPush {
    async fn send(&self, target: &Target, push: &Push) -> Result<(), PushError> {
        let Target::WebPush {
            endpoint,
            p256dh,
            auth,
        } = target
        else {
            return Err(PushError::Refused("not a Web Push device".into()));
        };
        let url = url::Url::parse(endpoint)
            .map_err(|_| PushError::Refused("the endpoint is not a URL".into()))?;
        let public = decode(p256dh)
            .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
            .ok_or_else(|| {
                PushError::Refused("the subscription's key is not a P-256 key".into())
            })?;
        let auth = decode(auth).filter(|a| a.len() == 16).ok_or_else(|| {
            PushError::Refused("the subscription's auth secret is not 16 bytes".into())
        })?;
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let body =
            serde_json::to_vec(&push.payload).map_err(|e| PushError::Refused(e.to_string()))?;
        let encrypted = web_push_native::encrypt(body, &public, &auth)
            .map_err(|e| PushError::Refused(format!("encryption failed: {e}")))?;
        let urgency = match push.urgency {
            Urgency::High => "high",
            Urgency::Normal => "normal",
        };
        let response = self
            .client
            .post(url.clone())
            .timeout(SEND_TIMEOUT)
            .header("TTL", push.ttl.as_secs().to_string())
            .header("Urgency", urgency)
            // One topic per delivery: a retry the service already holds replaces it instead of adding a copy.
            .header("Topic", format!("n{}", push.delivery_id))
            .header(http::header::CONTENT_ENCODING, "aes128gcm")
            .header(http::header::CONTENT_TYPE, "application/octet-stream")
            .header(http::header::AUTHORIZATION, self.authorization(&url)?)
            .body(encrypted)
            .send()
            .await
            .map_err(PushError::transport)?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            404 | 410 => Err(PushError::Gone(format!("Web Push answered HTTP {status}"))),
            _ => Err(PushError::from_status("the Web Push service", status, "")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_checked() {
        let key = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
        let auth = "BTBZMqHH6r4Tts7J_aSIgg";
        assert!(check_subscription("https://push.example.net/x", key, auth, false).is_ok());
        assert!(check_subscription("http://127.0.0.1:9/x", key, auth, true).is_ok());
        assert_eq!(
            check_subscription("http://127.0.0.1:9/x", key, auth, false)
                .unwrap_err()
                .0,
            "endpoint"
        );
        assert_eq!(
            check_subscription("http://push.example.net/x", key, auth, true)
                .unwrap_err()
                .0,
            "endpoint"
        );
        assert_eq!(
            check_subscription("https://push.example.net/x", "AAAA", auth, false)
                .unwrap_err()
                .0,
            "p256dh"
        );
        assert_eq!(
            check_subscription("https://push.example.net/x", key, "AAAA", false)
                .unwrap_err()
                .0,
            "auth"
        );
    }

    /// RFC 8291 section 5 and appendix A: the user agent's keys and auth secret decrypt the RFC's message,
    /// so the crate we encrypt with speaks the same scheme as browsers.
    #[test]
    fn the_rfc_8291_example_decrypts() {
        let ua_private = decode("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94").unwrap();
        let auth = decode("BTBZMqHH6r4Tts7J_aSIgg").unwrap();
        let message = decode(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        )
        .unwrap();
        let secret = p256::SecretKey::from_slice(&ua_private).unwrap();
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let plain = web_push_native::decrypt(message, &secret, &auth).unwrap();
        assert_eq!(plain, b"When I grow up, I want to be a watermelon");
    }

    #[test]
    fn derived_keys_are_stable_and_sign() {
        let a = VapidKey::derive(&[7; 32]);
        let b = VapidKey::derive(&[7; 32]);
        assert_eq!(a.public_key(), b.public_key());
        let again = VapidKey::from_base64url(a.private_key()).unwrap();
        assert_eq!(again.public_key(), a.public_key());
        assert_ne!(
            VapidKey::generate().public_key(),
            VapidKey::generate().public_key()
        );
        assert_ne!(a.public_key(), VapidKey::derive(&[8; 32]).public_key());
        assert_eq!(decode(a.public_key()).unwrap().len(), 65);
        let token = a
            .token("https://push.example.net", "mailto:x@example.com", 1)
            .unwrap();
        assert_eq!(token.split('.').count(), 3);
    }
}
