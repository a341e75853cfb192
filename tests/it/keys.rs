//! Rotating the field-encryption key as the README says, against PostgreSQL: lookups by phone and email
//! survive it (the blind indexes use the separate index key), the same phone cannot register twice, a reseal
//! moves every stored value to the new key, and then the old key can go. Wrong key sets are refused with a
//! message that names the key, and nothing is written.

use portico::config::{Config, DEV_DATA_KEY};
use portico::crypto::Column;
use portico::crypto::reseal::{self as keys, KeyError};
use serde_json::json;

use crate::harness::{STRONG_PASSWORD, TestApp, code};

const NEW_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const WRONG_KEY: &str = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktISE=";
const PHONE: &str = "+8613800138011";
const EMAIL: &str = "mei.rotation@example.com";
const CONTACT: &str = "WeChat mei_rotates";
const ME: &str = "{ viewer { username phone email contact } }";

/// Key 2 current, key 1 (the development key) retired.
fn rotated(c: &mut Config) {
    c.data_key = NEW_KEY.into();
    c.data_key_id = 2;
    c.retired_data_keys = vec![(1, DEV_DATA_KEY.into())];
}

/// Key 2 only: after the reseal.
fn retired_removed(c: &mut Config) {
    c.data_key = NEW_KEY.into();
    c.data_key_id = 2;
    c.retired_data_keys = vec![];
}

/// (format, key id, count) per stored column, as `portico keys check` counts them.
async fn census(app: &TestApp) -> Vec<(Column, Vec<(u8, u8, i64)>)> {
    keys::census(&app.state.pool, &app.state.keys)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.column, c.counts))
        .collect()
}

async fn assert_reads_everything(app: &TestApp) {
    let token = app
        .login(PHONE, STRONG_PASSWORD)
        .await
        .expect("sign-in by phone");
    app.login(EMAIL, STRONG_PASSWORD)
        .await
        .expect("sign-in by email");
    let (_, body) = app.graphql_as(&token, ME, json!({})).await;
    let me = &body["data"]["viewer"];
    assert_eq!(me["phone"], "+86 138****8011", "{body}");
    assert_eq!(me["email"], EMAIL, "{body}");
    assert_eq!(me["contact"], CONTACT, "{body}");
    // Queued messages still open (the codes sent before the rotation among them).
    assert!(app.last_message_to(EMAIL).await.is_some());
}

#[tokio::test]
async fn a_rotation_keeps_every_lookup_and_a_reseal_lets_the_old_key_go() {
    let before = TestApp::new().await;
    let (token, _) = before.register("mei", PHONE).await;
    before.bind_email(&token, EMAIL).await;
    let (_, body) = before
        .graphql_as(
            &token,
            "mutation($c: String!) { updateProfile(input: { contact: $c }) { id } }",
            json!({ "c": CONTACT }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = before
        .graphql_as(&token, "mutation { requestDataExport { id } }", json!({}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    portico::rights::service::run_pending_exports(
        &before.state.pool,
        &before.state.keys,
        &before.state.config,
        &before.state.accounts.clock,
    )
    .await
    .unwrap();

    // A new PORTICO_DATA_KEY and _ID, the old key in PORTICO_DATA_KEYS_RETIRED: everything still works.
    let after = before.reconfigured(rotated);
    keys::check_at_start(&after.state.pool, &after.state.keys, &after.state.config)
        .await
        .unwrap();
    assert_reads_everything(&after).await;
    // Sign-in by SMS code finds the account too.
    let code_sent = after.code_for("SMS", PHONE, "LOGIN").await;
    let (_, body) = after
        .graphql(
            "mutation($input: LoginWithCodeInput!) { loginWithCode(input: $input) { accessToken } }",
            json!({ "input": { "phone": PHONE, "code": code_sent } }),
        )
        .await;
    assert!(
        body["data"]["loginWithCode"]["accessToken"].is_string(),
        "{body}"
    );
    // The same phone cannot register again: the code request finds the account and sends no code. (The
    // codes sent so far are cleared first, as if their resend interval had passed.)
    let mut conn = after.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM verification_codes"),
        &mut conn,
    )
    .await
    .unwrap();
    let (_, body) = after
        .graphql(
            "mutation { requestVerificationCode(input: {channel: SMS, destination: \"+8613800138011\", purpose: REGISTER}) { expiresAt } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        after.last_message_to(PHONE).await.unwrap().kind,
        "account_exists"
    );
    let (_, body) = after
        .graphql(
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({ "input": {
                "phone": PHONE, "code": "000000", "password": STRONG_PASSWORD, "username": "mei2",
                "gender": "FEMALE", "occupation": "illustrator", "city": "Hangzhou", "adultConfirmed": true,
                "consents": ["account", "security"], "policyVersion": "1"
            } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let accounts: i64 = diesel_async::RunQueryDsl::get_result(
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "count(*) FROM accounts",
        )),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(accounts, 1);

    // Values stored so far are under key 1; removing it now would orphan them, and the check says so.
    let early = before.reconfigured(retired_removed);
    let err = keys::check_at_start(&early.state.pool, &early.state.keys, &early.state.config)
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::MissingKey { id: 1, .. }), "{err}");
    assert!(
        err.to_string().contains("PORTICO_DATA_KEYS_RETIRED"),
        "{err}"
    );

    // A wrong key under id 1 is refused before anything is written.
    let wrong = before.reconfigured(|c| {
        rotated(c);
        c.retired_data_keys = vec![(1, WRONG_KEY.into())];
    });
    let census_before = census(&after).await;
    let err = keys::reseal(&wrong.state.pool, &wrong.state.keys, 2, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::WrongKey { id: 1, .. }), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(census(&after).await, census_before);

    // The reseal, in small batches: every stored value moves to key 2, and a second run finds nothing to do.
    let stale: i64 = census_before
        .iter()
        .flat_map(|(_, counts)| counts.iter())
        .filter(|(_, id, _)| *id == 1)
        .map(|(_, _, n)| n)
        .sum();
    assert!(
        stale >= 5,
        "phone, email, contact, messages and the archive: {census_before:?}"
    );
    let mut batches = 0;
    let report = keys::reseal(&after.state.pool, &after.state.keys, 2, |_| batches += 1)
        .await
        .unwrap();
    assert_eq!(report.resealed(), stale, "{report}");
    assert!(batches >= 3, "progress after each batch: {batches}");
    for (column, counts) in census(&after).await {
        assert!(
            counts
                .iter()
                .all(|(format, id, _)| (*format, *id) == (2, 2)),
            "{column:?}: {counts:?}"
        );
    }
    let again = keys::reseal(&after.state.pool, &after.state.keys, 2, |_| {})
        .await
        .unwrap();
    assert_eq!(again.resealed(), 0);

    // The retired key removed: everything still opens, including the export archive.
    let last = before.reconfigured(retired_removed);
    keys::check_at_start(&last.state.pool, &last.state.keys, &last.state.config)
        .await
        .unwrap();
    assert_reads_everything(&last).await;
    let token = last.login("mei", STRONG_PASSWORD).await.unwrap();
    let (_, body) = last
        .graphql_as(
            &token,
            "{ viewer { dataExports { status downloadUrl } } }",
            json!({}),
        )
        .await;
    let url = body["data"]["viewer"]["dataExports"][0]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let res = last
        .request(
            axum::http::Request::get(url.trim_start_matches("http://127.0.0.1:8000"))
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), 200);
    let archive = crate::harness::json_body(res).await;
    assert_eq!(archive["account"]["phone"], PHONE, "{archive}");
}

#[tokio::test]
async fn a_changed_index_key_is_refused_at_start_and_sealed_values_stay_in_their_row() {
    let app = TestApp::new().await;
    app.register("jun", "+8613800138012").await;
    // Another index key would find nobody: the start check refuses it and names the key.
    let other = app.reconfigured(|c| c.index_key = Some(WRONG_KEY.into()));
    let err = keys::check_at_start(&other.state.pool, &other.state.keys, &other.state.config)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PORTICO_INDEX_KEY"), "{err}");
    // The development index key is the one indexes had before PORTICO_INDEX_KEY existed.
    let legacy = portico::crypto::legacy_index_key(DEV_DATA_KEY).unwrap();
    use base64::Engine;
    let explicit = app.reconfigured(|c| {
        c.index_key = Some(base64::engine::general_purpose::STANDARD.encode(legacy))
    });
    keys::check_at_start(
        &explicit.state.pool,
        &explicit.state.keys,
        &explicit.state.config,
    )
    .await
    .unwrap();
    // A sealed phone copied into another account's row does not open there.
    app.register("ying", "+8613800138013").await;
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE accounts SET phone_ciphertext = (SELECT phone_ciphertext FROM accounts WHERE username = 'jun') \
             WHERE username = 'ying'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let token = app.login("ying", STRONG_PASSWORD).await.unwrap();
    let (_, body) = app
        .graphql_as(&token, "{ viewer { phone } }", json!({}))
        .await;
    assert!(body["data"]["viewer"]["phone"].is_null(), "{body}");
}
