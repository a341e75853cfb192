//! Correction of personal data (policy: inquire and modify): a new phone number proven by a code sent to it,
//! a new username at most once in 30 days with the old one held back, each refused cleanly on a conflict.

use serde_json::json;

use crate::harness::{STRONG_PASSWORD, TestApp, code, field};

const CHANGE_PHONE: &str = "mutation ChangePhone($newPhone: String!, $code: String!) { changePhone(newPhone: $newPhone, code: $code) { id phone } }";
const CHANGE_USERNAME: &str = "mutation ChangeUsername($username: String!) { changeUsername(username: $username) { id username } }";
const MEI: &str = "+8613800138041";
const JUN: &str = "+8613800138042";
const NEW: &str = "+8613800138043";

async fn phone_of(app: &TestApp, token: &str) -> String {
    let (_, body) = app
        .graphql_as(token, "{ viewer { phone } }", json!({}))
        .await;
    body["data"]["viewer"]["phone"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_phone_changes_only_with_the_new_numbers_code_and_never_to_a_taken_one() {
    let app = TestApp::new().await;
    let (mei, _) = app.register("mei", MEI).await;
    app.register("jun", JUN).await;

    // A code never sent (or stale) is refused, and nothing changes.
    let (_, body) = app
        .graphql_as(
            &mei,
            CHANGE_PHONE,
            json!({ "newPhone": NEW, "code": "123456" }),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "code"),
        "{body}"
    );
    assert_eq!(phone_of(&app, &mei).await, "+86 138****8041");

    // jun's number: the code reaches whoever holds it, and only then is the conflict told.
    let sent = app.code_for("SMS", JUN, "CHANGE_PHONE").await;
    let (_, body) = app
        .graphql_as(&mei, CHANGE_PHONE, json!({ "newPhone": JUN, "code": sent }))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "newPhone"),
        "{body}"
    );
    assert_eq!(phone_of(&app, &mei).await, "+86 138****8041");
    app.login(JUN, STRONG_PASSWORD)
        .await
        .expect("jun keeps his number");

    // A free number with its code: changed, the old number no longer signs in, and the account is told.
    let sent = app.code_for("SMS", NEW, "CHANGE_PHONE").await;
    let (_, body) = app
        .graphql_as(
            &mei,
            CHANGE_PHONE,
            json!({ "newPhone": "13800138043", "code": sent }),
        )
        .await;
    assert_eq!(
        body["data"]["changePhone"]["phone"], "+86 138****8043",
        "{body}"
    );
    app.login(NEW, STRONG_PASSWORD)
        .await
        .expect("sign-in by the new number");
    assert!(app.login(MEI, STRONG_PASSWORD).await.is_err());
    assert!(
        app.notice_titles(&mei)
            .await
            .contains(&"The phone number of your account was changed".to_string())
    );
    assert_eq!(
        app.count("SELECT count(*) FROM security_events WHERE kind = 'phone_changed'")
            .await,
        1
    );
    // The code is spent.
    let (_, body) = app
        .graphql_as(&mei, CHANGE_PHONE, json!({ "newPhone": NEW, "code": sent }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn a_username_changes_once_in_thirty_days_and_the_old_one_is_held_back() {
    let app = TestApp::new().await;
    let (mei, _) = app.register("mei", MEI).await;
    let (jun, _) = app.register("jun", JUN).await;

    let (_, body) = app
        .graphql_as(&mei, CHANGE_USERNAME, json!({ "username": "mei_ink" }))
        .await;
    assert_eq!(
        body["data"]["changeUsername"]["username"], "mei_ink",
        "{body}"
    );
    app.login("mei_ink", STRONG_PASSWORD)
        .await
        .expect("sign-in by the new name");
    let (_, body) = app
        .graphql(
            "{ a: user(username: \"mei\") { id } b: user(username: \"MEI_INK\") { username } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["a"].is_null(), "{body}");
    assert_eq!(body["data"]["b"]["username"], "mei_ink");
    assert!(
        app.notice_titles(&mei)
            .await
            .contains(&"Your username was changed".to_string())
    );

    // A second change inside 30 days is refused and changes nothing.
    let (_, body) = app
        .graphql_as(&mei, CHANGE_USERNAME, json!({ "username": "mei_wash" }))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "username"),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("once in 30 days")
    );
    let (_, body) = app
        .graphql_as(
            &mei,
            "{ viewer { username usernameChangeableAt } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["viewer"]["username"], "mei_ink");
    assert!(
        body["data"]["viewer"]["usernameChangeableAt"].is_string(),
        "{body}"
    );

    // The old name is held back from others, the new one is taken.
    for taken in ["MEI", "mei_ink"] {
        let (_, body) = app
            .graphql_as(&jun, CHANGE_USERNAME, json!({ "username": taken }))
            .await;
        assert_eq!(
            (code(&body), field(&body)),
            ("BAD_USER_INPUT", "username"),
            "{taken}: {body}"
        );
    }
    let code_sent = app.code_for("SMS", NEW, "REGISTER").await;
    let (_, body) = app
        .graphql(
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({ "input": {
                "phone": NEW, "code": code_sent, "password": STRONG_PASSWORD, "username": "Mei",
                "gender": "FEMALE", "occupation": "illustrator", "city": "Hangzhou", "adultConfirmed": true,
                "consents": ["account", "security"], "policyVersion": "1"
            } }),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "username"),
        "{body}"
    );
    assert_eq!(app.count("SELECT count(*) FROM accounts").await, 2);

    // Once the hold has run out, the name is free again.
    app.sql("UPDATE username_holds SET held_until = now() - interval '1 second'")
        .await;
    let (_, body) = app
        .graphql_as(&jun, CHANGE_USERNAME, json!({ "username": "mei" }))
        .await;
    assert_eq!(body["data"]["changeUsername"]["username"], "mei", "{body}");
    // After 30 days jun may rename again, and takes back his old name, which was held for him.
    app.sql("UPDATE accounts SET username_changed_at = now() - interval '31 days'")
        .await;
    let (_, body) = app
        .graphql_as(&jun, CHANGE_USERNAME, json!({ "username": "jun" }))
        .await;
    assert_eq!(body["data"]["changeUsername"]["username"], "jun", "{body}");
}
