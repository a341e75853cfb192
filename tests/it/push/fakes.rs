//! Local fakes of the three push services, on loopback, each checking what the real one checks:
//!
//! - Web Push: decrypts every payload with the subscription's private key and auth secret (RFC 8291) and
//!   verifies the VAPID JWT against the `k=` key, its `aud` (this origin), `exp` (at most 24 h) and `sub`;
//! - FCM: an OAuth token endpoint that verifies the service-account JWT (RS256) and a v1 send endpoint that
//!   wants one of the tokens it issued;
//! - APNs: HTTP/2 only, verifying the ES256 provider token, `apns-push-type` and `apns-topic`.
//!
//! Each can be told how to answer the next requests for a device (a status, or a hang), and records what it
//! accepted.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde::Deserialize;
use serde_json::{Value, json};

/// How to answer one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Wait this long, then accept (the sender's timeout fires first).
    Hang(Duration),
}

/// One push a fake accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The subscription name (Web Push) or the token (FCM, APNs).
    pub device: String,
    /// The decrypted (Web Push) or sent (FCM, APNs) payload.
    pub payload: Value,
    pub headers: HeaderMap,
}

#[derive(Default)]
pub struct Book {
    scripts: Mutex<HashMap<String, VecDeque<Answer>>>,
    accepted: Mutex<Vec<Accepted>>,
    /// Requests that broke the protocol: the tests assert there are none.
    violations: Mutex<Vec<String>>,
    requests: Mutex<usize>,
}

impl Book {
    fn next_answer(&self, device: &str) -> Answer {
        self.scripts
            .lock()
            .unwrap()
            .get_mut(device)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Answer::Status(0))
    }

    fn violation(&self, what: String) -> Response {
        self.violations.lock().unwrap().push(what.clone());
        (StatusCode::BAD_REQUEST, what).into_response()
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// What every fake offers the tests.
pub trait Fake {
    fn book(&self) -> &Book;

    /// The next answers for `device`, in order (then the default success).
    fn script(&self, device: &str, answers: &[Answer]) {
        self.book()
            .scripts
            .lock()
            .unwrap()
            .entry(device.to_string())
            .or_default()
            .extend(answers.iter().copied());
    }

    /// Everything accepted so far.
    fn accepted(&self) -> Vec<Accepted> {
        self.book().accepted.lock().unwrap().clone()
    }

    /// The payloads accepted for `device`.
    fn accepted_for(&self, device: &str) -> Vec<Value> {
        self.accepted()
            .into_iter()
            .filter(|a| a.device == device)
            .map(|a| a.payload)
            .collect()
    }

    /// Requests that broke the protocol.
    fn violations(&self) -> Vec<String> {
        self.book().violations.lock().unwrap().clone()
    }

    /// Requests received, answered or not.
    fn requests(&self) -> usize {
        *self.book().requests.lock().unwrap()
    }
}

/// Answers as scripted: a hang, an error status, or `success` (recording `accepted`).
async fn answer(book: &Book, device: &str, accepted: Accepted, success: Response) -> Response {
    match book.next_answer(device) {
        Answer::Hang(d) => {
            tokio::time::sleep(d).await;
            success
        }
        Answer::Status(0) => {
            book.accepted.lock().unwrap().push(accepted);
            success
        }
        Answer::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---- Web Push ---------------------------------------------------------------------------------------------------

/// A browser's subscription: what it would give `PushSubscription.toJSON()`.
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

struct Subscriber {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

pub struct WebPushService {
    pub origin: String,
    book: Arc<Book>,
    subscribers: Arc<Mutex<HashMap<String, Subscriber>>>,
    /// The `sub` every VAPID token must carry.
    pub subject: String,
}

impl Fake for WebPushService {
    fn book(&self) -> &Book {
        &self.book
    }
}

#[derive(Clone)]
struct WebPushState {
    origin: String,
    subject: String,
    book: Arc<Book>,
    subscribers: Arc<Mutex<HashMap<String, Subscriber>>>,
}

impl WebPushService {
    pub async fn start(subject: &str) -> WebPushService {
        let book = Arc::new(Book::default());
        let subscribers = Arc::new(Mutex::new(HashMap::new()));
        let state_book = book.clone();
        let state_subs = subscribers.clone();
        let subject_owned = subject.to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let origin = format!("http://{addr}");
        let router = Router::new()
            .fallback(web_push_handler)
            .with_state(WebPushState {
                origin: origin.clone(),
                subject: subject_owned,
                book: state_book,
                subscribers: state_subs,
            });
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        WebPushService {
            origin,
            book,
            subscribers,
            subject: subject.to_string(),
        }
    }

    /// A new browser subscription named `name`, with its own key pair and auth secret.
    pub fn subscribe(&self, name: &str) -> Subscription {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let auth: [u8; 16] = rand::random();
        let public = secret.public_key().to_encoded_point(false);
        let subscription = Subscription {
            endpoint: format!("{}/push/{name}", self.origin),
            p256dh: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth),
        };
        self.subscribers
            .lock()
            .unwrap()
            .insert(name.to_string(), Subscriber { secret, auth });
        subscription
    }
}

#[derive(Deserialize)]
struct VapidClaims {
    aud: String,
    exp: u64,
    sub: String,
}

async fn web_push_handler(State(s): State<WebPushState>, req: Request) -> Response {
    *s.book.requests.lock().unwrap() += 1;
    let Some(name) = req.uri().path().strip_prefix("/push/").map(str::to_string) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if header("content-encoding") != "aes128gcm" {
        return s
            .book
            .violation(format!("Content-Encoding {:?}", header("content-encoding")));
    }
    if header("ttl").parse::<u64>().is_err() {
        return s.book.violation("no TTL".into());
    }
    if !matches!(
        header("urgency").as_str(),
        "very-low" | "low" | "normal" | "high"
    ) {
        return s.book.violation(format!("Urgency {:?}", header("urgency")));
    }
    // RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`.
    let authorization = header("authorization");
    let Some(params) = authorization.strip_prefix("vapid ") else {
        return s.book.violation(format!("Authorization {authorization:?}"));
    };
    let mut t = None;
    let mut k = None;
    for part in params.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("k", v)) => k = Some(v.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(k)) = (t, k) else {
        return s.book.violation("vapid without t= or k=".into());
    };
    let Ok(point) = URL_SAFE_NO_PAD.decode(&k) else {
        return s.book.violation("k= is not base64url".into());
    };
    if point.len() != 65 || point[0] != 4 {
        return s
            .book
            .violation("k= is not an uncompressed P-256 point".into());
    }
    let key = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..65]),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[&s.origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = match jsonwebtoken::decode::<VapidClaims>(&t, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return s.book.violation(format!("VAPID JWT refused: {e}")),
    };
    if claims.aud != s.origin || claims.sub != s.subject || claims.exp > unix_now() + 24 * 3600 {
        return s.book.violation(format!(
            "VAPID claims aud={} sub={} exp in {}s",
            claims.aud,
            claims.sub,
            claims.exp.saturating_sub(unix_now())
        ));
    }
    // RFC 8291: decrypt with the subscription's private key and auth secret.
    let plain = {
        let subscribers = s.subscribers.lock().unwrap();
        let Some(subscriber) = subscribers.get(&name) else {
            drop(subscribers);
            return StatusCode::GONE.into_response();
        };
        let auth = web_push_native::Auth::clone_from_slice(&subscriber.auth);
        web_push_native::decrypt(body.to_vec(), &subscriber.secret, &auth)
    };
    let payload: Value = match plain.ok().and_then(|p| serde_json::from_slice(&p).ok()) {
        Some(p) => p,
        None => {
            return s
                .book
                .violation("the payload does not decrypt to JSON".into());
        }
    };
    let accepted = Accepted {
        device: name.clone(),
        payload,
        headers,
    };
    answer(
        &s.book,
        &name,
        accepted,
        StatusCode::CREATED.into_response(),
    )
    .await
}

// ---- FCM --------------------------------------------------------------------------------------------------------

/// The RSA key of the fake service account (a fixture: generating RSA keys is slow).
pub const FCM_PRIVATE_KEY: &str = include_str!("../../fixtures/fcm-test-key.pem");
const FCM_PUBLIC_KEY: &str = include_str!("../../fixtures/fcm-test-key.pub.pem");
pub const FCM_PROJECT: &str = "portico-test";
pub const FCM_CLIENT_EMAIL: &str = "push@portico-test.iam.gserviceaccount.com";

pub struct FcmService {
    pub url: String,
    book: Arc<Book>,
    tokens_issued: Arc<Mutex<Vec<String>>>,
}

impl Fake for FcmService {
    fn book(&self) -> &Book {
        &self.book
    }
}

#[derive(Clone)]
struct FcmState {
    url: String,
    book: Arc<Book>,
    tokens_issued: Arc<Mutex<Vec<String>>>,
}

impl FcmService {
    pub async fn start() -> FcmService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let book = Arc::new(Book::default());
        let tokens_issued = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new().fallback(fcm_handler).with_state(FcmState {
            url: url.clone(),
            book: book.clone(),
            tokens_issued: tokens_issued.clone(),
        });
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FcmService {
            url,
            book,
            tokens_issued,
        }
    }

    /// The service-account JSON key a Firebase console would give.
    pub fn service_account(&self) -> String {
        json!({
            "type": "service_account",
            "project_id": FCM_PROJECT,
            "private_key_id": "test-key-1",
            "private_key": FCM_PRIVATE_KEY,
            "client_email": FCM_CLIENT_EMAIL,
            "token_uri": format!("{}/token", self.url),
        })
        .to_string()
    }

    /// How many access tokens the token endpoint issued.
    pub fn tokens_issued(&self) -> usize {
        self.tokens_issued.lock().unwrap().len()
    }
}

#[derive(Deserialize)]
struct GrantClaims {
    iss: String,
    scope: String,
}

async fn fcm_handler(State(s): State<FcmState>, req: Request) -> Response {
    *s.book.requests.lock().unwrap() += 1;
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    if path == "/token" {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return s
                .book
                .violation("token request without the jwt-bearer grant".into());
        }
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(FCM_PUBLIC_KEY.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[format!("{}/token", s.url)]);
        let claims = match jsonwebtoken::decode::<GrantClaims>(
            form.get("assertion").map(String::as_str).unwrap_or(""),
            &key,
            &validation,
        ) {
            Ok(d) => d.claims,
            Err(e) => {
                return s
                    .book
                    .violation(format!("service-account JWT refused: {e}"));
            }
        };
        if claims.iss != FCM_CLIENT_EMAIL || claims.scope != portico::push::fcm::SCOPE {
            return s
                .book
                .violation("service-account JWT with the wrong iss or scope".into());
        }
        let token = format!("ya29.fake-{}", uuid::Uuid::new_v4().simple());
        s.tokens_issued.lock().unwrap().push(token.clone());
        return axum::Json(
            json!({ "access_token": token, "expires_in": 3599, "token_type": "Bearer" }),
        )
        .into_response();
    }
    if path != format!("/v1/projects/{FCM_PROJECT}/messages:send") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    if !s.tokens_issued.lock().unwrap().contains(&bearer) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": { "code": 401, "status": "UNAUTHENTICATED" } })),
        )
            .into_response();
    }
    let message: Value = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(_) => return s.book.violation("the send body is not JSON".into()),
    };
    let token = message["message"]["token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if token.starts_with("gone") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": { "code": 404, "status": "NOT_FOUND", "message": "Requested entity was not found.",
                "details": [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED" }] } })),
        )
            .into_response();
    }
    let accepted = Accepted {
        device: token.clone(),
        payload: message["message"].clone(),
        headers,
    };
    let name = json!({ "name": format!("projects/{FCM_PROJECT}/messages/{}", uuid::Uuid::new_v4().simple()) });
    answer(&s.book, &token, accepted, axum::Json(name).into_response()).await
}

// ---- APNs -------------------------------------------------------------------------------------------------------

pub const APNS_KEY_ID: &str = "ABC123DEFG";
pub const APNS_TEAM_ID: &str = "DEF123GHIJ";
pub const APNS_TOPIC: &str = "com.example.portico";

pub struct ApnsService {
    pub url: String,
    /// The `.p8` signing key (PKCS#8 PEM) the provider uses.
    pub key_pem: String,
    book: Arc<Book>,
}

impl Fake for ApnsService {
    fn book(&self) -> &Book {
        &self.book
    }
}

#[derive(Clone)]
struct ApnsState {
    public_pem: String,
    book: Arc<Book>,
}

impl ApnsService {
    pub async fn start() -> ApnsService {
        let key = rcgen::KeyPair::generate().unwrap();
        let book = Arc::new(Book::default());
        let router = Router::new().fallback(apns_handler).with_state(ApnsState {
            public_pem: key.public_key_pem(),
            book: book.clone(),
        });
        let addr = serve(router).await;
        ApnsService {
            url: format!("http://{addr}"),
            key_pem: key.serialize_pem(),
            book,
        }
    }
}

#[derive(Deserialize)]
struct ProviderClaims {
    iss: String,
    iat: u64,
}

async fn apns_handler(State(s): State<ApnsState>, req: Request) -> Response {
    *s.book.requests.lock().unwrap() += 1;
    if req.version() != Version::HTTP_2 {
        return s.book.violation(format!("APNs over {:?}", req.version()));
    }
    let Some(token) = req
        .uri()
        .path()
        .strip_prefix("/3/device/")
        .map(str::to_string)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if header("apns-push-type") != "alert" || header("apns-topic") != APNS_TOPIC {
        return s.book.violation(format!(
            "apns-push-type {:?}, apns-topic {:?}",
            header("apns-push-type"),
            header("apns-topic")
        ));
    }
    let auth = header("authorization");
    let Some(jwt) = auth.strip_prefix("bearer ") else {
        return s.book.violation(format!("authorization {auth:?}"));
    };
    let jwt_header = jsonwebtoken::decode_header(jwt).ok();
    if jwt_header.as_ref().and_then(|h| h.kid.as_deref()) != Some(APNS_KEY_ID) {
        return s.book.violation("provider token without the key id".into());
    }
    let key = jsonwebtoken::DecodingKey::from_ec_pem(s.public_pem.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    let claims = match jsonwebtoken::decode::<ProviderClaims>(jwt, &key, &validation) {
        Ok(d) => d.claims,
        Err(e) => return s.book.violation(format!("provider token refused: {e}")),
    };
    if claims.iss != APNS_TEAM_ID || claims.iat + 3600 < unix_now() {
        return s
            .book
            .violation("provider token with the wrong team or too old".into());
    }
    if token.starts_with("0000") {
        return (
            StatusCode::GONE,
            axum::Json(json!({ "reason": "Unregistered", "timestamp": unix_now() * 1000 })),
        )
            .into_response();
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let accepted = Accepted {
        device: token.clone(),
        payload,
        headers,
    };
    let mut ok = StatusCode::OK.into_response();
    ok.headers_mut()
        .insert("apns-id", uuid::Uuid::new_v4().to_string().parse().unwrap());
    answer(&s.book, &token, accepted, ok).await
}
