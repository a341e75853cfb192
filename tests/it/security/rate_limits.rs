//! Rate limits on verification codes and sign-ins, per client address and per destination, answered as
//! `RATE_LIMITED` with `retryAfterSeconds`. The per-destination resend wait and the per-identifier sign-in
//! lock are in `accounts::codes_are_rate_limited_and_attempts_bounded` and
//! `accounts::login_by_phone_username_and_email_and_throttling`.

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use super::client::graphql_from;
use crate::harness::{TestApp, code};

const ASK: &str = "mutation($p: String!) { requestVerificationCode(input: {channel: SMS, destination: $p, purpose: LOGIN}) { retryAfterSeconds } }";
const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
const ATTACKER: [u8; 4] = [203, 0, 113, 7];
const NEIGHBOUR: [u8; 4] = [198, 51, 100, 9];

fn retry_after(body: &Value) -> u64 {
    assert_eq!(code(body), "RATE_LIMITED", "{body}");
    body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("no retryAfterSeconds: {body}"))
}

#[tokio::test]
async fn codes_are_capped_per_client_address_per_day() {
    let app = TestApp::new().await;
    // Fifty codes to fifty numbers from one address pass (SMS pumping spreads over many numbers)...
    for i in 0..portico::accounts::codes::DAILY_PER_CLIENT {
        let (_, body) =
            graphql_from(&app, ATTACKER, ASK, json!({ "p": format!("+86136{i:08}") })).await;
        assert!(body["errors"].is_null(), "request {i}: {body}");
    }
    // ...and the next one from that address is refused, for an hour, whatever the number.
    let (_, body) = graphql_from(&app, ATTACKER, ASK, json!({ "p": "+8613699999999" })).await;
    assert_eq!(retry_after(&body), 3600);
    assert!(body["data"].is_null() || body["data"]["requestVerificationCode"].is_null());
    // Another address is not affected.
    let (_, body) = graphql_from(&app, NEIGHBOUR, ASK, json!({ "p": "+8613699999999" })).await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn codes_are_capped_per_destination_per_day() {
    let app = TestApp::new().await;
    let phone = "+8613511112222";
    let mut conn = app.db.conn().await;
    for i in 0..portico::accounts::codes::DAILY_PER_DESTINATION {
        let (_, body) = app.graphql(ASK, json!({ "p": phone })).await;
        assert!(body["errors"].is_null(), "request {i}: {body}");
        // Age every code past the one-minute resend wait, so only the daily cap remains.
        diesel::sql_query(
            "UPDATE verification_codes SET created_at = created_at - interval '2 minutes'",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let (_, body) = app.graphql(ASK, json!({ "p": phone })).await;
    let wait = retry_after(&body);
    assert!(
        (86_400 - 30 * 60..=86_400).contains(&wait),
        "waits until the oldest code is a day old: {wait}"
    );
    // Spelling the number another way does not escape the cap.
    let (_, body) = app.graphql(ASK, json!({ "p": "135 1111 2222" })).await;
    retry_after(&body);
}

#[tokio::test]
async fn sign_in_failures_are_throttled_per_client_address() {
    let app = TestApp::new().await;
    app.register("target", "+8613800138500").await;
    // Password spraying: one guess for each of many identifiers, from one address. Each identifier stays
    // under its own limit; the address meets its own.
    let free = 30;
    for i in 0..free {
        let (_, body) = graphql_from(
            &app,
            ATTACKER,
            LOGIN,
            json!({ "i": { "identifier": format!("user{i}"), "password": "Spring2024!" } }),
        )
        .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "attempt {i}: {body}");
    }
    let (_, body) = graphql_from(
        &app,
        ATTACKER,
        LOGIN,
        json!({ "i": { "identifier": "target", "password": crate::harness::STRONG_PASSWORD } }),
    )
    .await;
    assert!(retry_after(&body) >= 1);
    assert!(
        body["data"].is_null() || body["data"]["login"].is_null(),
        "{body}"
    );
    // The account's owner, elsewhere, signs in.
    let (_, body) = graphql_from(
        &app,
        NEIGHBOUR,
        LOGIN,
        json!({ "i": { "identifier": "target", "password": crate::harness::STRONG_PASSWORD } }),
    )
    .await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn sign_in_with_sms_codes_is_bounded() {
    let app = TestApp::new().await;
    app.register("coded", "+8613800138600").await;
    let right = app.code_for("SMS", "+8613800138600", "LOGIN").await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let attempt = |code: &str| json!({ "input": { "phone": "+8613800138600", "code": code } });
    let q =
        "mutation($input: LoginWithCodeInput!) { loginWithCode(input: $input) { accessToken } }";
    for _ in 0..portico::accounts::codes::MAX_ATTEMPTS {
        let (_, body) = app.graphql(q, attempt(wrong)).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    // Five wrong guesses spend the code: guessing a million codes five at a time meets the resend wait
    // and the daily caps above.
    let (_, body) = app.graphql(q, attempt(&right)).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app.graphql(ASK, json!({ "p": "+8613800138600" })).await;
    retry_after(&body);
}
