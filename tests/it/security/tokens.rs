//! Forged and stale access tokens, over every way a client presents one (bearer header, access cookie,
//! WebSocket `connection_init` and upgrade header): `alg: none`, a wrong key, other algorithms (HS384,
//! HS512, RS256 confusion, a real ES256 signature), expired, wrong audience or issuer, wrong `typ` or `kid`,
//! missing claims, tampered claims, a session that never existed, and revoked sessions.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

use super::client::{Said, ws_init, ws_open, ws_run};
use crate::harness::{STRONG_PASSWORD, TestApp, TestServer, code, json_body};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// How a forged token is signed.
enum Sign<'a> {
    None,
    Hs256(&'a [u8]),
    Hs384(&'a [u8]),
    Hs512(&'a [u8]),
}

fn token(header: Value, claims: Value, sign: Sign) -> String {
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = match sign {
        Sign::None => Vec::new(),
        Sign::Hs256(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Sign::Hs384(key) => {
            let mut mac = Hmac::<Sha384>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Sign::Hs512(key) => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The claims inside a token the gateway issued.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `{ viewer { username } }` with a bearer token: the status and body.
async fn as_bearer(app: &TestApp, token: &str) -> (u16, Value, Option<String>) {
    let (status, body, headers) = app
        .graphql_with(Some(token), &[], "{ viewer { username } }", json!({}))
        .await;
    let challenge = headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, body, challenge)
}

async fn as_cookie(app: &TestApp, token: &str) -> (u16, Value) {
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("cookie", format!("__Host-portico-access={token}"))
        .body(Body::from(r#"{"query":"{ viewer { username } }"}"#))
        .unwrap();
    let res = app.request(req).await;
    let status = res.status().as_u16();
    (status, json_body(res).await)
}

/// Asserts every transport refuses `token`, and that the HTTP answer says nothing about why.
async fn assert_refused(app: &TestApp, server: &TestServer, what: &str, token: &str) {
    let (status, body, challenge) = as_bearer(app, token).await;
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(code(&body), "UNAUTHENTICATED", "{what}: {body}");
    assert_eq!(
        body["errors"][0]["message"], "authentication required",
        "{what}"
    );
    assert!(body.get("data").is_none(), "{what}: {body}");
    assert_eq!(challenge.as_deref(), Some("Bearer"), "{what}");
    let (status, body) = as_cookie(app, token).await;
    assert_eq!(
        (status, code(&body)),
        (401, "UNAUTHENTICATED"),
        "{what} as a cookie: {body}"
    );
    // WebSocket: in connection_init, and in the upgrade request's Authorization header.
    let mut ws = ws_open(server, &[]).await.unwrap();
    let said = ws_init(
        &mut ws,
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    assert_eq!(said, Said::Closed(Some(4403)), "{what} in connection_init");
    let bearer = format!("Bearer {token}");
    let mut ws = ws_open(server, &[("authorization", bearer.as_str())])
        .await
        .unwrap();
    let said = ws_init(&mut ws, json!({})).await;
    assert_eq!(
        said,
        Said::Closed(Some(4403)),
        "{what} in the upgrade header"
    );
}

/// Asserts every transport accepts `token` as `username` (the control for the forgeries).
async fn assert_accepted(app: &TestApp, server: &TestServer, token: &str, username: &str) {
    let (status, body, _) = as_bearer(app, token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["username"], username);
    let (_, body) = as_cookie(app, token).await;
    assert_eq!(body["data"]["viewer"]["username"], username);
    let mut ws = ws_open(server, &[]).await.unwrap();
    let said = ws_init(
        &mut ws,
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    assert_eq!(said, Said::Json(json!({ "type": "connection_ack" })));
    let answer = ws_run(&mut ws, "me", "{ viewer { username } }").await;
    assert_eq!(
        answer["payload"]["data"]["viewer"]["username"], username,
        "{answer}"
    );
}

#[tokio::test]
async fn forged_and_stale_tokens_are_unauthenticated() {
    let app = TestApp::new().await;
    let (real, _) = app.register("tokens", "+8613800138200").await;
    let server = app.serve().await;
    let secret = app.state.config.jwt_secret.clone();
    let key = secret.as_bytes();
    let kid = app.state.config.jwt_kid.clone();
    let real_claims = claims_of(&real);
    let (sub, sid) = (real_claims["sub"].clone(), real_claims["sid"].clone());
    let header = |alg: &str| json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
    let claims = |iat: i64, exp: i64| json!({ "iss": "portico", "aud": "portico-api", "sub": sub, "sid": sid, "iat": iat, "exp": exp });
    let good = claims(now(), now() + 600);
    let with = |field: &str, value: Value| {
        let mut c = good.clone();
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(field);
        c
    };

    // Control: a token forged here with the right key, algorithm and claims is accepted, so each refusal
    // below is caused by the one thing that differs.
    let control = token(header("HS256"), good.clone(), Sign::Hs256(key));
    assert_accepted(&app, &server, &control, "tokens").await;

    let other_key = b"another-secret-that-is-at-least-32-bytes-long".as_slice();
    let es256 = {
        let pair = rcgen::KeyPair::generate().unwrap();
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some(kid.clone());
        h.typ = Some("at+jwt".into());
        let key = jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der());
        jsonwebtoken::encode(&h, &good, &key).unwrap()
    };
    let tampered = {
        let mut parts: Vec<String> = control.split('.').map(str::to_string).collect();
        parts[1] = b64(&with("sid", json!(sid.as_i64().unwrap() + 1)));
        parts.join(".")
    };
    let forged: Vec<(&str, String)> = vec![
        ("alg none", token(header("none"), good.clone(), Sign::None)),
        ("alg None", token(header("None"), good.clone(), Sign::None)),
        (
            "alg NONE signed",
            token(header("NONE"), good.clone(), Sign::Hs256(key)),
        ),
        (
            "HS256 without a signature",
            token(header("HS256"), good.clone(), Sign::None),
        ),
        (
            "wrong key",
            token(header("HS256"), good.clone(), Sign::Hs256(other_key)),
        ),
        (
            "HS384 with the right key",
            token(header("HS384"), good.clone(), Sign::Hs384(key)),
        ),
        (
            "HS512 with the right key",
            token(header("HS512"), good.clone(), Sign::Hs512(key)),
        ),
        (
            "RS256 header, HMAC signature",
            token(header("RS256"), good.clone(), Sign::Hs256(key)),
        ),
        ("ES256 signed with a foreign key", es256),
        ("tampered claims", tampered),
        (
            "expired an hour ago",
            token(
                header("HS256"),
                claims(now() - 4500, now() - 3600),
                Sign::Hs256(key),
            ),
        ),
        (
            "expired past the leeway",
            token(
                header("HS256"),
                claims(now() - 900, now() - 30),
                Sign::Hs256(key),
            ),
        ),
        (
            "wrong audience",
            token(
                header("HS256"),
                with("aud", json!("portico-admin")),
                Sign::Hs256(key),
            ),
        ),
        (
            "audience list without ours",
            token(
                header("HS256"),
                with("aud", json!(["other"])),
                Sign::Hs256(key),
            ),
        ),
        (
            "no audience",
            token(header("HS256"), without("aud"), Sign::Hs256(key)),
        ),
        (
            "wrong issuer",
            token(
                header("HS256"),
                with("iss", json!("mallory")),
                Sign::Hs256(key),
            ),
        ),
        (
            "no issuer",
            token(header("HS256"), without("iss"), Sign::Hs256(key)),
        ),
        (
            "no expiry",
            token(header("HS256"), without("exp"), Sign::Hs256(key)),
        ),
        (
            "subject of another account",
            token(
                header("HS256"),
                with("sub", json!("999999")),
                Sign::Hs256(key),
            ),
        ),
        (
            "session that never existed",
            token(
                header("HS256"),
                with("sid", json!(999_999)),
                Sign::Hs256(key),
            ),
        ),
        (
            "typ JWT",
            token(
                json!({ "alg": "HS256", "typ": "JWT", "kid": kid }),
                good.clone(),
                Sign::Hs256(key),
            ),
        ),
        (
            "no typ",
            token(
                json!({ "alg": "HS256", "kid": kid }),
                good.clone(),
                Sign::Hs256(key),
            ),
        ),
        (
            "unknown kid",
            token(
                json!({ "alg": "HS256", "typ": "at+jwt", "kid": "other" }),
                good.clone(),
                Sign::Hs256(key),
            ),
        ),
        (
            "no kid",
            token(
                json!({ "alg": "HS256", "typ": "at+jwt" }),
                good.clone(),
                Sign::Hs256(key),
            ),
        ),
        ("not a JWT", "e30.e30".into()),
    ];
    for (what, forged_token) in &forged {
        assert_refused(&app, &server, what, forged_token).await;
    }
    // None of this disturbed the real session.
    assert_accepted(&app, &server, &real, "tokens").await;
}

#[tokio::test]
async fn revoked_sessions_are_unauthenticated_at_once_on_every_transport() {
    // `accounts::logout_and_revoke_session_stop_tokens_at_once` covers HTTP bearer tokens after `logout`
    // and `revokeSession`; here the cookie and both WebSocket paths too, and a socket opened before.
    let app = TestApp::new().await;
    let (token, _) = app.register("revoked", "+8613800138300").await;
    let server = app.serve().await;
    assert_accepted(&app, &server, &token, "revoked").await;
    let (_, out) = app
        .graphql_as(&token, "mutation { logout }", json!({}))
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    assert_refused(&app, &server, "after logout", &token).await;
    // A session ended by a password change.
    let (_, login) = app
        .graphql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "identifier": "revoked", "password": STRONG_PASSWORD } }),
        )
        .await;
    let first = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, login) = app
        .graphql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "identifier": "revoked", "password": STRONG_PASSWORD } }),
        )
        .await;
    let second = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_accepted(&app, &server, &first, "revoked").await;
    let (_, changed) = app
        .graphql_as(
            &second,
            "mutation($c: String!, $n: String!) { changePassword(current: $c, next: $n) }",
            json!({ "c": STRONG_PASSWORD, "n": "amber meadow compass 77" }),
        )
        .await;
    assert!(changed["errors"].is_null(), "{changed}");
    assert_refused(&app, &server, "after a password change elsewhere", &first).await;
}
