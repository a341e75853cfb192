//! Accounts end to end against PostgreSQL: codes, registration, sign-in, tokens, sessions, passwords,
//! profile and visibility, email binding, cookies, and personal data at rest.

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::harness::{STRONG_PASSWORD, TestApp};
use crate::harness::{code as code_of, field};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken accessTokenExpiresAt viewer { id username } } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken accessTokenExpiresAt viewer { id username } } }";
const ME: &str = "{ viewer { id username gender occupation city phone email avatarUrl hometown signature bio education contact link equipment labels sessions { id device current createdAt lastSeenAt } thirdPartyBindings { provider nickname boundAt } consents { purpose granted policyVersion updatedAt } needsReconsent } }";

fn registration(phone: &str, code: &str, username: &str) -> Value {
    json!({ "input": {
        "phone": phone, "code": code, "password": STRONG_PASSWORD, "username": username, "gender": "MALE",
        "occupation": "photographer", "city": "成都", "adultConfirmed": true,
        "consents": ["account", "security", "analytics"], "policyVersion": "1"
    } })
}

#[tokio::test]
async fn register_then_read_me() {
    let app = TestApp::new().await;
    let code = app.code_for("SMS", "+8613800138000", "REGISTER").await;
    let (_, body) = app
        .graphql(REGISTER, registration("138 0013 8000", &code, "Mei"))
        .await;
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .expect("registered")
        .to_string();
    let (status, me) = app.graphql_as(&token, ME, json!({})).await;
    assert_eq!(status, 200, "{me}");
    let v = &me["data"]["viewer"];
    assert_eq!(v["username"], "Mei");
    assert_eq!(v["phone"], "+86 138****8000");
    assert_eq!(v["gender"], "MALE");
    assert_eq!(v["city"], "成都");
    assert_eq!(v["email"], Value::Null);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(v["sessions"][0]["current"], true);
    let consents: Vec<&str> = v["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(consents, ["account", "analytics", "security"]);
    assert_eq!(v["needsReconsent"], false);
    // A visitor has no viewer.
    let (_, visitor) = app.graphql("{ viewer { id } }", json!({})).await;
    assert_eq!(visitor["data"]["viewer"], Value::Null);
    // The same global id resolves to the public User.
    let (_, node) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on User { username } } }",
            json!({ "id": v["id"] }),
        )
        .await;
    assert_eq!(node["data"]["node"]["username"], "Mei");
}

#[tokio::test]
async fn no_plaintext_phone_or_email_at_rest() {
    let app = TestApp::new().await;
    let (token, _) = app.register("lin", "+8613900139000").await;
    let code = app.code_for("EMAIL", "lin@example.com", "BIND_EMAIL").await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($e: String!, $c: String!) { bindEmail(email: $e, code: $c) { email } }",
            json!({ "e": "Lin@Example.com", "c": code }),
        )
        .await;
    assert_eq!(
        body["data"]["bindEmail"]["email"], "lin@example.com",
        "{body}"
    );
    app.graphql_as(
        &token,
        "mutation { updateProfile(input: {contact: \"wechat: lin-13900139000\"}) { id } }",
        json!({}),
    )
    .await;
    // Every table, every column, as text: no phone digits, no address, no contact text.
    let mut conn = app.db.conn().await;
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        dump: String,
    }
    let tables: Vec<Dump> = diesel::sql_query(
        "SELECT string_agg(format('SELECT %L || coalesce(string_agg(t::text, E''\\n''), '''') FROM %I t', tablename, tablename), ' UNION ALL ') AS dump
         FROM pg_tables WHERE schemaname = 'public'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let rows: Vec<Dump> = diesel::sql_query(format!(
        "SELECT x AS dump FROM ({}) AS d(x)",
        tables[0].dump
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let all: String = rows
        .into_iter()
        .map(|r| r.dump)
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "13900139000",
        "lin@example.com",
        "Lin@Example.com",
        "wechat: lin",
    ] {
        assert!(!all.contains(needle), "{needle} found in plaintext at rest");
    }
    assert!(all.contains("lin"), "the dump covers the accounts table");
}

#[tokio::test]
async fn registration_refuses_bad_input_and_writes_nothing() {
    let app = TestApp::new().await;
    let phone = "+8613700137000";
    let code = app.code_for("SMS", phone, "REGISTER").await;
    let base = registration(phone, &code, "qing");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("adultConfirmed", json!(false), "adultConfirmed"),
        ("password", json!("password1"), "password"),
        ("password", json!("qing-loves-2024!!"), "password"),
        ("username", json!("x"), "username"),
        ("username", json!("bad name!"), "username"),
        ("consents", json!(["account"]), "consents"),
        (
            "consents",
            json!(["account", "security", "mind-reading"]),
            "consents",
        ),
        ("policyVersion", json!("0"), "policyVersion"),
        ("phone", json!("12345"), "phone"),
        ("city", json!("  "), "city"),
        ("code", json!("000000"), "code"),
    ];
    for (key, value, expected_field) in cases {
        let mut input = base.clone();
        input["input"][key] = value.clone();
        if key == "code" && code == "000000" {
            input["input"][key] = json!("111111");
        }
        let (_, body) = app.graphql(REGISTER, input).await;
        assert_eq!(code_of(&body), "BAD_USER_INPUT", "{key}={value}: {body}");
        assert_eq!(field(&body), expected_field, "{key}={value}: {body}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM accounts").await, 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM consent_records").await,
        0
    );
    // The one wrong code counted an attempt but the code still works.
    let (_, ok) = app.graphql(REGISTER, base).await;
    assert!(ok["data"]["register"]["accessToken"].is_string(), "{ok}");
    assert_eq!(app.count("SELECT count(*) AS n FROM accounts").await, 1);
}

/// Moves every code two minutes into the past, so the next request is not a too-early resend.
async fn age_codes(app: &TestApp) {
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "UPDATE verification_codes SET created_at = created_at - interval '2 minutes'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn usernames_and_phones_are_unique() {
    let app = TestApp::new().await;
    app.register("Yun", "+8613600136000").await;
    let code = app.code_for("SMS", "+8613600136001", "REGISTER").await;
    let (_, body) = app
        .graphql(REGISTER, registration("+8613600136001", &code, "yUN"))
        .await;
    assert_eq!(field(&body), "username", "{body}");
    // Registering an existing number: the SMS says so instead of carrying a code.
    age_codes(&app).await;
    let (_, body) = app
        .graphql(
            "mutation { requestVerificationCode(input: {channel: SMS, destination: \"+8613600136000\", purpose: REGISTER}) { retryAfterSeconds } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["requestVerificationCode"]["retryAfterSeconds"],
        60
    );
    assert_eq!(
        app.last_message_to("+8613600136000").await.unwrap().kind,
        "account_exists"
    );
}

#[tokio::test]
async fn codes_are_rate_limited_and_attempts_bounded() {
    let app = TestApp::new().await;
    let phone = "+8613500135000";
    let code = app.code_for("SMS", phone, "REGISTER").await;
    let (_, again) = app
        .graphql(
            "mutation { requestVerificationCode(input: {channel: SMS, destination: \"+8613500135000\", purpose: REGISTER}) { retryAfterSeconds } }",
            json!({}),
        )
        .await;
    assert_eq!(code_of(&again), "RATE_LIMITED", "{again}");
    assert!(
        again["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            > 50
    );
    // Wrong channel for the purpose.
    let (_, wrong) = app
        .graphql("mutation { requestVerificationCode(input: {channel: EMAIL, destination: \"a@b.cn\", purpose: LOGIN}) { retryAfterSeconds } }", json!({}))
        .await;
    assert_eq!(field(&wrong), "channel");
    let wrong_code = if code == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        let (_, body) = app
            .graphql(REGISTER, registration(phone, wrong_code, "ming"))
            .await;
        assert_eq!(field(&body), "code");
    }
    // Five wrong attempts spend the code, even the right one fails now.
    let (_, body) = app
        .graphql(REGISTER, registration(phone, &code, "ming"))
        .await;
    assert_eq!(field(&body), "code", "{body}");
}

#[tokio::test]
async fn codes_never_reveal_whether_an_account_exists() {
    let app = TestApp::new().await;
    app.register("hao", "+8613400134000").await;
    let ask = |phone: &'static str| {
        let app = &app;
        async move {
            let (_, body) = app
                .graphql(
                    "mutation($p: String!) { requestVerificationCode(input: {channel: SMS, destination: $p, purpose: LOGIN}) { retryAfterSeconds } }",
                    json!({ "p": phone }),
                )
                .await;
            body["data"]["requestVerificationCode"].clone()
        }
    };
    let known = ask("+8613400134000").await;
    let unknown = ask("+8613400134999").await;
    assert_eq!(known, unknown);
    assert_eq!(
        app.last_message_to("+8613400134000").await.unwrap().data["purpose"],
        "login"
    );
    assert!(
        app.last_message_to("+8613400134999").await.is_none(),
        "nothing is sent to an unknown number"
    );
}

#[tokio::test]
async fn login_by_phone_username_and_email_and_throttling() {
    let app = TestApp::new().await;
    let (token, _) = app.register("Rui", "+8613300133000").await;
    let email_code = app.code_for("EMAIL", "rui@example.org", "BIND_EMAIL").await;
    app.graphql_as(
        &token,
        "mutation($c: String!) { bindEmail(email: \"rui@example.org\", code: $c) { id } }",
        json!({ "c": email_code }),
    )
    .await;
    for identifier in [
        "13300133000",
        "+86 133 0013 3000",
        "rui",
        "RUI",
        "Rui@Example.org",
    ] {
        let (_, body) = app
            .graphql(
                LOGIN,
                json!({ "input": { "identifier": identifier, "password": STRONG_PASSWORD } }),
            )
            .await;
        assert_eq!(
            body["data"]["login"]["viewer"]["username"], "Rui",
            "{identifier}: {body}"
        );
    }
    let (_, unknown) = app
        .graphql(
            LOGIN,
            json!({ "input": { "identifier": "nobody", "password": STRONG_PASSWORD } }),
        )
        .await;
    let (_, wrong) = app
        .graphql(
            LOGIN,
            json!({ "input": { "identifier": "rui", "password": "wrong password here" } }),
        )
        .await;
    assert_eq!(code_of(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        unknown["errors"][0]["message"], wrong["errors"][0]["message"],
        "same answer for unknown accounts"
    );
    // Rotating identifiers of the same account does not earn more attempts.
    for identifier in ["+8613300133000", "rui@example.org", "13300133000", "Rui"] {
        app.graphql(
            LOGIN,
            json!({ "input": { "identifier": identifier, "password": "wrong password here" } }),
        )
        .await;
    }
    let (_, locked) = app
        .graphql(
            LOGIN,
            json!({ "input": { "identifier": "rui", "password": STRONG_PASSWORD } }),
        )
        .await;
    assert_eq!(code_of(&locked), "RATE_LIMITED", "{locked}");
    assert!(
        locked["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let (_, me) = app
        .graphql_as(
            &token,
            "{ viewer { securityEvents(first: 20) { edges { node { kind } } } } }",
            json!({}),
        )
        .await;
    let kinds: Vec<&str> = me["data"]["viewer"]["securityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"sign_in_failed")
            && kinds.contains(&"email_bound")
            && kinds.contains(&"registered"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn login_with_sms_code() {
    let app = TestApp::new().await;
    app.register("tao", "+8613200132000").await;
    let code = app.code_for("SMS", "+8613200132000", "LOGIN").await;
    let (_, body) = app
        .graphql(
            "mutation($input: LoginWithCodeInput!) { loginWithCode(input: $input) { accessToken refreshToken viewer { id } } }",
            json!({ "input": { "phone": "13200132000", "code": code, "device": "pad" } }),
        )
        .await;
    assert!(
        body["data"]["loginWithCode"]["accessToken"].is_string(),
        "{body}"
    );
    let (_, reuse) = app
        .graphql(
            "mutation($input: LoginWithCodeInput!) { loginWithCode(input: $input) { accessToken } }",
            json!({ "input": { "phone": "13200132000", "code": code } }),
        )
        .await;
    assert_eq!(field(&reuse), "code", "a code works once");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_session() {
    let app = TestApp::new().await;
    let (access, refresh) = app.register("jun", "+8613100131000").await;
    let q = "mutation($t: String) { refreshSession(refreshToken: $t) { accessToken refreshToken accessTokenExpiresAt } }";
    let (_, first) = app.graphql(q, json!({ "t": refresh })).await;
    let next_refresh = first["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_string();
    assert_ne!(next_refresh, refresh);
    let new_access = first["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.graphql_as(&new_access, "{ viewer { username } }", json!({}))
            .await
            .1["data"]["viewer"]["username"],
        "jun"
    );
    // Replaying the spent token: refused, and the whole session ends.
    let (_, replay) = app.graphql(q, json!({ "t": refresh })).await;
    assert_eq!(code_of(&replay), "UNAUTHENTICATED");
    let (status, _) = app
        .graphql_as(&new_access, "{ viewer { username } }", json!({}))
        .await;
    assert_eq!(status, 401, "the session was revoked");
    let (_, after) = app.graphql(q, json!({ "t": next_refresh })).await;
    assert_eq!(code_of(&after), "UNAUTHENTICATED");
    let (status, _) = app
        .graphql_as(&access, "{ viewer { username } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn logout_and_revoke_session_stop_tokens_at_once() {
    let app = TestApp::new().await;
    let (a, _) = app.register("xia", "+8613000130000").await;
    let (_, second) = app.graphql(LOGIN, json!({ "input": { "identifier": "xia", "password": STRONG_PASSWORD, "device": "laptop" } })).await;
    let b = second["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, me) = app
        .graphql_as(
            &a,
            "{ viewer { sessions { id device current } } }",
            json!({}),
        )
        .await;
    let sessions = me["data"]["viewer"]["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    let laptop = sessions.iter().find(|s| s["device"] == "laptop").unwrap();
    let (_, revoked) = app
        .graphql_as(
            &a,
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": laptop["id"] }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeSession"], true, "{revoked}");
    assert_eq!(
        app.graphql_as(&b, "{ viewer { id } }", json!({})).await.0,
        401
    );
    // Someone else's session is not found.
    let (c, _) = app.register("other", "+8613000130001").await;
    let (_, foreign) = app
        .graphql_as(
            &c,
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": sessions[0]["id"] }),
        )
        .await;
    assert_eq!(code_of(&foreign), "NOT_FOUND", "{foreign}");
    let (_, out) = app.graphql_as(&a, "mutation { logout }", json!({})).await;
    assert_eq!(out["data"]["logout"], true);
    assert_eq!(
        app.graphql_as(&a, "{ viewer { id } }", json!({})).await.0,
        401
    );
    let (_, visitor) = app.graphql("mutation { logout }", json!({})).await;
    assert_eq!(code_of(&visitor), "UNAUTHENTICATED");
}

#[tokio::test]
async fn password_change_and_reset_end_other_sessions() {
    let app = TestApp::new().await;
    let (a, _) = app.register("wen", "+8615900129000").await;
    let (_, second) = app
        .graphql(
            LOGIN,
            json!({ "input": { "identifier": "wen", "password": STRONG_PASSWORD } }),
        )
        .await;
    let b = second["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let change = "mutation($c: String!, $n: String!) { changePassword(current: $c, next: $n) }";
    let (_, wrong) = app
        .graphql_as(
            &a,
            change,
            json!({ "c": "not it at all", "n": "quiet meadow falcon 77" }),
        )
        .await;
    assert_eq!(field(&wrong), "current");
    let (_, weak) = app
        .graphql_as(&a, change, json!({ "c": STRONG_PASSWORD, "n": "12345678" }))
        .await;
    assert_eq!(field(&weak), "next");
    let (_, ok) = app
        .graphql_as(
            &a,
            change,
            json!({ "c": STRONG_PASSWORD, "n": "quiet meadow falcon 77" }),
        )
        .await;
    assert_eq!(ok["data"]["changePassword"], true, "{ok}");
    assert_eq!(
        app.graphql_as(&a, "{ viewer { id } }", json!({})).await.0,
        200,
        "this session stays"
    );
    assert_eq!(
        app.graphql_as(&b, "{ viewer { id } }", json!({})).await.0,
        401,
        "others end"
    );
    let code = app
        .code_for("SMS", "+8615900129000", "RESET_PASSWORD")
        .await;
    let (_, reset) = app
        .graphql(
            "mutation($p: String!, $c: String!, $w: String!) { resetPassword(phone: $p, code: $c, password: $w) }",
            json!({ "p": "15900129000", "c": code, "w": "amber comet orchard 19" }),
        )
        .await;
    assert_eq!(reset["data"]["resetPassword"], true, "{reset}");
    assert_eq!(
        app.graphql_as(&a, "{ viewer { id } }", json!({})).await.0,
        401,
        "a reset ends every session"
    );
    let (_, login) = app
        .graphql(
            LOGIN,
            json!({ "input": { "identifier": "wen", "password": "amber comet orchard 19" } }),
        )
        .await;
    assert!(login["data"]["login"]["accessToken"].is_string());
}

#[tokio::test]
async fn profile_fields_visibility_and_the_public_user() {
    let app = TestApp::new().await;
    let (token, _) = app.register("Ling", "+8615800128000").await;
    // Optional fields are shown to others only with consent to `profile`.
    let (_, granted) = app
        .graphql_as(
            &token,
            "mutation { grantConsent(purposes: [\"profile\"], policyVersion: \"1\") { granted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        granted["data"]["grantConsent"][0]["granted"], true,
        "{granted}"
    );
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id city hometown signature bio labels } }";
    let (_, body) = app
        .graphql_as(&token, update, json!({ "input": {
            "hometown": "苏州", "signature": "光与影", "bio": "Street photography.", "labels": ["film", "35mm", "film"],
            "avatarUrl": "https://img.example.com/a.png", "link": "https://ling.example.com", "contact": "ling@im", "city": "上海"
        } }))
        .await;
    let p = &body["data"]["updateProfile"];
    assert_eq!(p["city"], "上海", "{body}");
    assert_eq!(p["labels"], json!(["film", "35mm"]));
    for (input, f) in [
        (json!({ "avatarUrl": "javascript:alert(1)" }), "avatarUrl"),
        (json!({ "link": "ftp://x.example" }), "link"),
        (
            json!({ "labels": (0..11).map(|i| format!("l{i}")).collect::<Vec<_>>() }),
            "labels",
        ),
        (json!({ "signature": "x".repeat(121) }), "signature"),
        (json!({ "city": "" }), "city"),
    ] {
        let (_, bad) = app
            .graphql_as(&token, update, json!({ "input": input }))
            .await;
        assert_eq!(field(&bad), f, "{bad}");
    }
    let (_, vis) = app
        .graphql_as(
            &token,
            "mutation { setFieldVisibility(field: HOMETOWN, visibility: ONLY_ME) { id } }",
            json!({}),
        )
        .await;
    assert!(vis["data"]["setFieldVisibility"]["id"].is_string(), "{vis}");
    app.graphql_as(
        &token,
        "mutation { setFieldVisibility(field: CONTACT, visibility: ONLY_ME) { id } }",
        json!({}),
    )
    .await;
    let public = "query($u: String!) { user(username: $u) { id username city avatarUrl hometown signature bio labels contact } }";
    let (_, user) = app.graphql(public, json!({ "u": "ling" })).await;
    let u = &user["data"]["user"];
    assert_eq!(u["username"], "Ling");
    assert_eq!(u["hometown"], Value::Null, "private field hidden");
    assert_eq!(u["contact"], Value::Null);
    assert_eq!(u["signature"], "光与影");
    let (_, me) = app
        .graphql_as(&token, "{ viewer { hometown contact } }", json!({}))
        .await;
    assert_eq!(
        me["data"]["viewer"]["hometown"], "苏州",
        "the owner still sees it"
    );
    assert_eq!(me["data"]["viewer"]["contact"], "ling@im");
    app.graphql_as(
        &token,
        "mutation { setFieldVisibility(field: HOMETOWN, visibility: PUBLIC) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        app.graphql(public, json!({ "u": "LING" })).await.1["data"]["user"]["hometown"],
        "苏州"
    );
    // Email and phone do not exist on the public type.
    for f in ["email", "phone"] {
        let (_, err) = app
            .graphql(
                &format!("{{ user(username: \"ling\") {{ {f} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(code_of(&err), "GRAPHQL_VALIDATION_FAILED", "{err}");
    }
    assert_eq!(
        app.graphql(public, json!({ "u": "nobody" })).await.1["data"]["user"],
        Value::Null
    );
}

#[tokio::test]
async fn email_binding_and_unbinding() {
    let app = TestApp::new().await;
    let (a, _) = app.register("fang", "+8615700127000").await;
    let (b, _) = app.register("gang", "+8615700127001").await;
    let bind = "mutation($e: String!, $c: String!) { bindEmail(email: $e, code: $c) { id email } }";
    let code = app
        .code_for("EMAIL", "fang@example.net", "BIND_EMAIL")
        .await;
    let (_, wrong) = app
        .graphql_as(&a, bind, json!({ "e": "fang@example.net", "c": "000001" }))
        .await;
    assert_eq!(field(&wrong), "code");
    let (_, ok) = app
        .graphql_as(&a, bind, json!({ "e": "fang@example.net", "c": code }))
        .await;
    assert_eq!(ok["data"]["bindEmail"]["email"], "fang@example.net", "{ok}");
    // The same address cannot be bound to a second account.
    age_codes(&app).await;
    let (_, asked) = app
        .graphql_as(&b, "mutation { requestVerificationCode(input: {channel: EMAIL, destination: \"fang@example.net\", purpose: BIND_EMAIL}) { retryAfterSeconds } }", json!({}))
        .await;
    assert_eq!(
        asked["data"]["requestVerificationCode"]["retryAfterSeconds"], 60,
        "the same answer as for a free address"
    );
    let notice = app.last_message_to("fang@example.net").await.unwrap();
    assert_eq!(
        notice.kind, "email_in_use",
        "the owner is told, and no code is sent"
    );
    let (_, taken) = app
        .graphql_as(&b, bind, json!({ "e": "fang@example.net", "c": "123456" }))
        .await;
    assert_eq!(field(&taken), "code", "{taken}");
    let (_, un) = app
        .graphql_as(&a, "mutation { unbindEmail { id email } }", json!({}))
        .await;
    assert_eq!(un["data"]["unbindEmail"]["email"], Value::Null, "{un}");
    let (_, login) = app
        .graphql(
            LOGIN,
            json!({ "input": { "identifier": "fang@example.net", "password": STRONG_PASSWORD } }),
        )
        .await;
    assert_eq!(code_of(&login), "UNAUTHENTICATED");
    let (_, again) = app
        .graphql_as(&a, "mutation { unbindEmail { id } }", json!({}))
        .await;
    assert_eq!(field(&again), "email");
}

#[tokio::test]
async fn web_clients_can_use_host_cookies() {
    let app = TestApp::new().await;
    app.register("yu", "+8615600126000").await;
    let (_, body, headers) = app
        .graphql_with(
            None,
            &[("portico-token-delivery", "cookie")],
            LOGIN,
            json!({ "input": { "identifier": "yu", "password": STRONG_PASSWORD } }),
        )
        .await;
    assert!(body["data"]["login"].is_object(), "{body}");
    let cookies: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for c in &cookies {
        assert!(c.starts_with("__Host-portico-"), "{c}");
        assert!(
            c.contains("HttpOnly")
                && c.contains("Secure")
                && c.contains("SameSite=Lax")
                && c.contains("Path=/"),
            "{c}"
        );
    }
    let access = cookies
        .iter()
        .find(|c| c.starts_with("__Host-portico-access="))
        .unwrap();
    let value = access.split(';').next().unwrap();
    let (_, me, _) = app
        .graphql_with(
            None,
            &[("cookie", value)],
            "{ viewer { username } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["viewer"]["username"], "yu", "{me}");
    let refresh = cookies
        .iter()
        .find(|c| c.starts_with("__Host-portico-refresh="))
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let (_, refreshed, _) = app
        .graphql_with(
            None,
            &[("cookie", refresh)],
            "mutation { refreshSession { accessToken } }",
            json!({}),
        )
        .await;
    assert!(
        refreshed["data"]["refreshSession"]["accessToken"].is_string(),
        "{refreshed}"
    );
}

#[tokio::test]
async fn roles_from_the_cli_reach_the_token() {
    let app = TestApp::new().await;
    let (token, _) = app.register("staffer", "+8615500125000").await;
    portico::accounts::service::grant_role(&app.state.pool, "STAFFER", "staff")
        .await
        .unwrap();
    let (_, me) = app
        .graphql_as(&token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(me["data"]["viewer"]["role"], "staff");
    let viewer = app.state.accounts.authenticate(Some(&token)).await.unwrap();
    assert_eq!(
        viewer.account.unwrap().role,
        portico::graphql::viewer::Role::Staff
    );
}
