//! Policy versions and the consent ledger: publishing (staff), the `privacyPolicy` query and subscription,
//! `needsReconsent`, `grantConsent` / `withdrawConsent` as the clients send them, per-partner consent, the
//! append-only history, and enforcement where data flows (view counting, third-party profile refresh, the
//! public profile).

use std::time::Duration;

use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::RunQueryDsl;
use portico::accounts::oauth::ProviderKind;
use portico::graphql::ids;
use serde_json::{Value, json};

use crate::fake_oauth::{FakeOAuth, FakeUser};
use crate::harness::{STRONG_PASSWORD, TestApp, code, field};
use crate::realtime::Client;

/// The client operations, exactly as `client-operations.graphql` holds them.
const GRANT: &str = "mutation Grant($purposes: [String!]!, $policyVersion: String!) {
  grantConsent(purposes: $purposes, policyVersion: $policyVersion) { purpose granted policyVersion updatedAt }
}";
const WITHDRAW: &str = "mutation Withdraw($purposes: [String!]!) { withdrawConsent(purposes: $purposes) { purpose granted updatedAt } }";
const HISTORY: &str = "query ConsentHistory { viewer { consentHistory(first: 50) { edges { node { purpose granted policyVersion at } } } } }";

const GRANT_PARTNER: &str = "mutation($purposes: [String!]!, $v: String!, $partner: ID) { grantConsent(purposes: $purposes, policyVersion: $v, partner: $partner) { purpose granted policyVersion partner partnerName } }";
const WITHDRAW_PARTNER: &str = "mutation($purposes: [String!]!, $partner: ID) { withdrawConsent(purposes: $purposes, partner: $partner) { purpose granted policyVersion partner partnerName } }";
const PUBLISH: &str = "mutation($input: PublishPolicyVersionInput!) { publishPolicyVersion(input: $input) { id version text publishedAt purposes { key title description required dataCategories recipients } } }";
const CONSENTS: &str =
    "{ viewer { needsReconsent consents { purpose granted policyVersion partner partnerName } } }";
const POLICY: &str = "{ privacyPolicy { id version text purposes { key title description required dataCategories recipients } } }";

/// The current policy's purposes, as publishing input.
async fn catalogue(app: &TestApp) -> Vec<Value> {
    let (_, body) = app.graphql(POLICY, json!({})).await;
    body["data"]["privacyPolicy"]["purposes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

fn purpose(key: &str, required: bool) -> Value {
    json!({
        "key": key, "title": format!("Purpose {key}"), "description": format!("What {key} covers."),
        "required": required, "dataCategories": ["usage"], "recipients": []
    })
}

async fn publish(app: &TestApp, staff: &str, version: &str, purposes: Vec<Value>) -> Value {
    let input = json!({ "input": {
        "version": version, "text": format!("Policy text, version {version}."), "purposes": purposes
    } });
    app.graphql_as(staff, PUBLISH, input).await.1
}

fn purposes_of(consents: &Value) -> Vec<(String, bool, Value)> {
    consents
        .as_array()
        .unwrap_or_else(|| panic!("{consents}"))
        .iter()
        .map(|c| {
            (
                c["purpose"].as_str().unwrap().to_string(),
                c["granted"].as_bool().unwrap(),
                c["partnerName"].clone(),
            )
        })
        .collect()
}

/// Inserts a partner row (the registry has its own tests); returns its global id.
async fn partner(
    app: &TestApp,
    name: &str,
    kind: &str,
    purposes: &[&str],
    suspended: bool,
) -> String {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut conn = app.db.conn().await;
    let row: Id = diesel::sql_query(
        "INSERT INTO partners (name, kind, contact, purposes, data_categories, suspended_at) \
         VALUES ($1, $2, 'privacy@partner.example', $3, ARRAY['account','profile'], \
                 CASE WHEN $4 THEN now() END) RETURNING id",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(kind)
    .bind::<diesel::sql_types::Array<Text>, _>(purposes)
    .bind::<Bool, _>(suspended)
    .get_result(&mut conn)
    .await
    .unwrap();
    ids::encode("Partner", row.id).0
}

/// Registers under policy `version` (the harness registers under version 1); returns the access token.
async fn register_under(app: &TestApp, username: &str, phone: &str, version: &str) -> String {
    let code = app.code_for("SMS", phone, "REGISTER").await;
    let (_, body) = app
        .graphql(
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({ "input": {
                "phone": phone, "code": code, "password": STRONG_PASSWORD, "username": username,
                "gender": "MALE", "occupation": "painter", "city": "Chengdu", "adultConfirmed": true,
                "consents": ["account", "security"], "policyVersion": version
            } }),
        )
        .await;
    body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

fn account_id(app: &TestApp, token: &str) -> i64 {
    app.state.accounts.tokens.verify(token).unwrap().0
}

#[tokio::test]
async fn publishing_needs_staff_and_valid_input_and_writes_nothing_when_refused() {
    let app = TestApp::new().await;
    let staff = app.staff("officer", "+8613900190001").await;
    let (member, _) = app.register("member", "+8613900190002").await;
    let mut good = catalogue(&app).await;
    good.push(purpose("newsletter", false));

    let (_, visitor) = app
        .graphql(
            PUBLISH,
            json!({ "input": { "version": "2", "text": "t", "purposes": good } }),
        )
        .await;
    assert_eq!(code(&visitor), "UNAUTHENTICATED", "{visitor}");
    assert_eq!(
        code(&publish(&app, &member, "2", good.clone()).await),
        "FORBIDDEN"
    );

    let without =
        |key: &str| -> Vec<Value> { good.iter().filter(|p| p["key"] != key).cloned().collect() };
    let mut security_optional = good.clone();
    for p in &mut security_optional {
        if p["key"] == "security" {
            p["required"] = json!(false);
        }
    }
    let mut twice = good.clone();
    twice.push(purpose("newsletter", false));
    let mut bad_key = good.clone();
    bad_key.push(purpose("News_Letter", false));
    let mut one_letter = good.clone();
    one_letter.push(purpose("n", false));
    let mut untitled = good.clone();
    untitled.push(
        json!({ "key": "survey", "title": " ", "description": "Surveys.", "required": false }),
    );
    let mut undescribed = good.clone();
    undescribed
        .push(json!({ "key": "survey", "title": "Surveys", "description": "", "required": false }));
    let long = "9".repeat(33);
    for (version, purposes, f) in [
        ("1", good.clone(), "version"),
        ("", good.clone(), "version"),
        (long.as_str(), good.clone(), "version"),
        ("2", without("account"), "purposes"),
        ("2", without("security"), "purposes"),
        ("2", security_optional, "purposes"),
        ("2", twice, "purposes"),
        ("2", bad_key, "purposes"),
        ("2", one_letter, "purposes"),
        ("2", untitled, "purposes"),
        ("2", undescribed, "purposes"),
        ("2", vec![], "purposes"),
    ] {
        let body = publish(&app, &staff, version, purposes).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{version}: {body}");
        assert_eq!(field(&body), f, "{body}");
    }
    let (_, empty_text) = app
        .graphql_as(
            &staff,
            PUBLISH,
            json!({ "input": { "version": "2", "text": "  ", "purposes": good } }),
        )
        .await;
    assert_eq!(field(&empty_text), "text", "{empty_text}");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM policy_versions").await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM policy_purposes").await,
        14
    );
}

#[tokio::test]
async fn a_published_version_is_served_announced_and_attributed() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let staff = app.staff("officer", "+8613900190011").await;
    let mut watcher = Client::connect(&server, None).await;
    watcher
        .send(json!({
            "type": "subscribe", "id": "p",
            "payload": { "query": "subscription { privacyPolicy { version purposes { key required } } }" }
        }))
        .await;
    let first = watcher.message().await;
    assert_eq!(
        first["payload"]["data"]["privacyPolicy"]["version"], "1",
        "{first}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut purposes = catalogue(&app).await;
    purposes.push(json!({
        "key": "newsletter", "title": " Newsletter ", "description": "A monthly letter about new works.",
        "required": false, "dataCategories": ["email", "email"]
    }));
    let body = publish(&app, &staff, " 2026-12 ", purposes).await;
    let published = &body["data"]["publishPolicyVersion"];
    assert_eq!(published["version"], "2026-12", "{body}");
    assert_eq!(published["text"], "Policy text, version  2026-12 .");
    let added = &published["purposes"][14];
    assert_eq!(
        added,
        &json!({ "key": "newsletter", "title": "Newsletter", "description": "A monthly letter about new works.",
                 "required": false, "dataCategories": ["email"], "recipients": [] })
    );

    // The subscription hears of it at once.
    let next = watcher.message().await;
    assert_eq!(next["type"], "next", "{next}");
    let live = &next["payload"]["data"]["privacyPolicy"];
    assert_eq!(live["version"], "2026-12", "{next}");
    assert_eq!(live["purposes"].as_array().unwrap().len(), 15);

    // The query serves it, the node id resolves it, and the row names who published it.
    let (_, current) = app.graphql(POLICY, json!({})).await;
    assert_eq!(current["data"]["privacyPolicy"]["version"], "2026-12");
    let (_, node) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on PrivacyPolicy { version } } }",
            json!({ "id": published["id"] }),
        )
        .await;
    assert_eq!(node["data"]["node"]["version"], "2026-12", "{node}");
    assert_eq!(
        app.count(&format!(
                "SELECT count(*) AS n FROM policy_versions WHERE version = '2026-12' AND published_by = {}",
                account_id(&app, &staff)
            )
        )
        .await,
        1
    );
    // A version name is never reused.
    let again = publish(&app, &staff, "2026-12", catalogue(&app).await).await;
    assert_eq!(field(&again), "version", "{again}");
}

#[tokio::test]
async fn needs_reconsent_follows_added_and_changed_purposes_until_answered() {
    let app = TestApp::new().await;
    let staff = app.staff("officer", "+8613900190021").await;
    let (member, _) = app.register("member", "+8613900190022").await;
    let needs = async |token: &str| -> bool {
        let (_, body) = app.graphql_as(token, CONSENTS, json!({})).await;
        body["data"]["viewer"]["needsReconsent"]
            .as_bool()
            .unwrap_or_else(|| panic!("{body}"))
    };
    assert!(!needs(&member).await);

    // Version 2 adds a purpose: members who registered before must answer it.
    let mut v2 = catalogue(&app).await;
    v2.push(purpose("newsletter", false));
    assert!(publish(&app, &staff, "2", v2).await["errors"].is_null());
    assert!(needs(&member).await);
    let (_, stale) = app
        .graphql_as(
            &member,
            GRANT,
            json!({ "purposes": ["newsletter"], "policyVersion": "1" }),
        )
        .await;
    assert_eq!(code(&stale), "BAD_USER_INPUT");
    assert_eq!(field(&stale), "policyVersion", "{stale}");
    let (_, granted) = app
        .graphql_as(
            &member,
            GRANT,
            json!({ "purposes": ["newsletter"], "policyVersion": "2" }),
        )
        .await;
    assert_eq!(
        granted["data"]["grantConsent"][0]["policyVersion"], "2",
        "{granted}"
    );
    assert!(!needs(&member).await, "answered under the new version");
    // A member who registers under version 2 has nothing to answer.
    let newcomer = register_under(&app, "newcomer", "+8613900190023", "2").await;
    assert!(!needs(&newcomer).await);

    // Version 3 changes what `analytics` covers: everyone must answer again; a withdrawal is an answer too.
    let mut v3 = catalogue(&app).await;
    for p in &mut v3 {
        if p["key"] == "analytics" {
            p["description"] =
                json!("Counting page views, clicks and scroll depth with web beacons.");
        }
    }
    assert!(publish(&app, &staff, "3", v3).await["errors"].is_null());
    assert!(needs(&member).await);
    assert!(needs(&newcomer).await);
    let (_, withdrawn) = app
        .graphql_as(&member, WITHDRAW, json!({ "purposes": ["analytics"] }))
        .await;
    assert_eq!(
        withdrawn["data"]["withdrawConsent"][0]["granted"], false,
        "{withdrawn}"
    );
    assert!(!needs(&member).await);
    let (_, regranted) = app
        .graphql_as(
            &newcomer,
            GRANT,
            json!({ "purposes": ["analytics"], "policyVersion": "3" }),
        )
        .await;
    assert!(regranted["errors"].is_null(), "{regranted}");
    assert!(!needs(&newcomer).await);
    // The withdrawal was recorded under the version in force.
    let (_, state) = app.graphql_as(&member, CONSENTS, json!({})).await;
    let analytics = state["data"]["viewer"]["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purpose"] == "analytics")
        .cloned()
        .unwrap();
    assert_eq!(analytics["policyVersion"], "3");
    assert_eq!(analytics["granted"], false);
}

#[tokio::test]
async fn grant_and_withdraw_as_the_clients_send_them() {
    let app = TestApp::new().await;
    let (member, _) = app.register("member", "+8613900190031").await;
    let (_, granted) = app
        .graphql_as(
            &member,
            GRANT,
            json!({ "purposes": ["analytics", "profile", "analytics"], "policyVersion": "1" }),
        )
        .await;
    let list = &granted["data"]["grantConsent"];
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{granted}");
    assert_eq!(list[0]["purpose"], "analytics");
    assert_eq!(list[0]["granted"], true);
    assert_eq!(list[0]["policyVersion"], "1");
    assert!(list[0]["updatedAt"].is_string());

    let (_, withdrawn) = app
        .graphql_as(&member, WITHDRAW, json!({ "purposes": ["profile"] }))
        .await;
    assert_eq!(
        withdrawn["data"]["withdrawConsent"][0]["purpose"], "profile",
        "{withdrawn}"
    );
    assert_eq!(withdrawn["data"]["withdrawConsent"][0]["granted"], false);

    let (_, state) = app.graphql_as(&member, CONSENTS, json!({})).await;
    assert_eq!(
        purposes_of(&state["data"]["viewer"]["consents"]),
        [
            ("account".into(), true, Value::Null),
            ("analytics".into(), true, Value::Null),
            ("profile".into(), false, Value::Null),
            ("security".into(), true, Value::Null),
        ]
    );

    // Bad input names its field and records nothing.
    let before = app.count("SELECT count(*) AS n FROM consent_records").await;
    for (query, vars, f) in [
        (
            GRANT,
            json!({ "purposes": ["analytics"], "policyVersion": "0" }),
            "policyVersion",
        ),
        (
            GRANT,
            json!({ "purposes": ["analytics", "mind-reading"], "policyVersion": "1" }),
            "purposes",
        ),
        (
            GRANT,
            json!({ "purposes": [], "policyVersion": "1" }),
            "purposes",
        ),
        (
            WITHDRAW,
            json!({ "purposes": ["mind-reading"] }),
            "purposes",
        ),
        (WITHDRAW, json!({ "purposes": [] }), "purposes"),
    ] {
        let (_, body) = app.graphql_as(&member, query, vars.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{vars}: {body}");
        assert_eq!(field(&body), f, "{body}");
    }
    // A required purpose cannot be withdrawn; the error says what can be done instead.
    for required in ["account", "security"] {
        let (_, body) = app
            .graphql_as(
                &member,
                WITHDRAW,
                json!({ "purposes": ["analytics", required] }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(field(&body), "purposes");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("cannot be withdrawn without cancelling")
                && message.contains("requestAccountCancellation"),
            "{message}"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM consent_records").await,
        before,
        "refused requests record nothing"
    );
    // Visitors cannot answer.
    let (_, visitor) = app
        .graphql(
            GRANT,
            json!({ "purposes": ["analytics"], "policyVersion": "1" }),
        )
        .await;
    assert_eq!(code(&visitor), "UNAUTHENTICATED");
}

#[tokio::test]
async fn partner_purposes_are_consented_to_per_partner() {
    let app = TestApp::new().await;
    let (member, _) = app.register("member", "+8613900190041").await;
    let jobs = partner(&app, "Jobs Co", "business", &["partner-business"], false).await;
    let hires = partner(&app, "Hires Ltd", "business", &["partner-business"], false).await;
    let pay = partner(&app, "Pay Co", "payment", &["partner-payment"], false).await;
    let frozen = partner(&app, "Frozen Co", "business", &["partner-business"], true).await;
    let grant = async |purposes: Value, partner: Option<&str>| -> Value {
        app.graphql_as(
            &member,
            GRANT_PARTNER,
            json!({ "purposes": purposes, "v": "1", "partner": partner }),
        )
        .await
        .1
    };

    for (purposes, p) in [
        (json!(["partner-business"]), None),
        (json!(["partner-payment"]), None),
        (json!(["partner-analytics"]), None),
        (json!(["partner-business"]), Some(pay.as_str())),
        (json!(["partner-business"]), Some(frozen.as_str())),
        (json!(["partner-business"]), Some("not-an-id")),
        (
            json!(["partner-business"]),
            Some(ids::encode("User", 1).0.as_str()),
        ),
        (
            json!(["partner-business"]),
            Some(ids::encode("Partner", 999_999).0.as_str()),
        ),
        (json!(["partner-advertising"]), Some(jobs.as_str())),
        (json!(["analytics"]), Some(jobs.as_str())),
    ] {
        let body = grant(purposes.clone(), p).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{purposes} {p:?}: {body}");
        assert_eq!(field(&body), "partner", "{body}");
    }
    // Advertising reach is aggregate only: granted without a partner.
    let ads = grant(json!(["partner-advertising"]), None).await;
    assert_eq!(
        ads["data"]["grantConsent"][0]["partner"],
        Value::Null,
        "{ads}"
    );

    let to_jobs = grant(json!(["partner-business"]), Some(jobs.as_str())).await;
    assert_eq!(
        to_jobs["data"]["grantConsent"],
        json!([{ "purpose": "partner-business", "granted": true, "policyVersion": "1",
                 "partner": jobs, "partnerName": "Jobs Co" }]),
        "{to_jobs}"
    );
    assert!(grant(json!(["partner-business"]), Some(hires.as_str())).await["errors"].is_null());
    assert!(grant(json!(["partner-payment"]), Some(pay.as_str())).await["errors"].is_null());

    // The ledger as the partner read path reads it: the latest row per (account, purpose, partner).
    let me = account_id(&app, &member);
    let consenting = async |purpose: &str| -> i64 {
        app.count(&format!(
                "SELECT count(*) AS n FROM (SELECT DISTINCT ON (partner_id) partner_id, granted FROM consent_records \
                 WHERE account_id = {me} AND purpose = '{purpose}' AND partner_id IS NOT NULL \
                 ORDER BY partner_id, id DESC) latest WHERE granted"
            ),
        )
        .await
    };
    assert_eq!(consenting("partner-business").await, 2);
    let jobs_key: i64 = ids::decode(&jobs).unwrap().1.parse().unwrap();
    let mut conn = app.db.conn().await;
    assert!(
        portico::privacy::service::partner_consent_granted(
            &mut conn,
            me,
            "partner-business",
            jobs_key
        )
        .await
        .unwrap()
    );

    let (_, state) = app.graphql_as(&member, CONSENTS, json!({})).await;
    let consents = purposes_of(&state["data"]["viewer"]["consents"]);
    assert!(
        consents.contains(&("partner-business".into(), true, json!("Jobs Co"))),
        "{state}"
    );
    assert!(consents.contains(&("partner-business".into(), true, json!("Hires Ltd"))));
    assert!(consents.contains(&("partner-payment".into(), true, json!("Pay Co"))));
    assert!(consents.contains(&("partner-advertising".into(), true, Value::Null)));

    // Withdrawing from one partner leaves the others.
    let (_, one) = app
        .graphql_as(
            &member,
            WITHDRAW_PARTNER,
            json!({ "purposes": ["partner-business"], "partner": jobs }),
        )
        .await;
    assert_eq!(
        one["data"]["withdrawConsent"],
        json!([{ "purpose": "partner-business", "granted": false, "policyVersion": "1",
                 "partner": jobs, "partnerName": "Jobs Co" }]),
        "{one}"
    );
    assert_eq!(consenting("partner-business").await, 1);
    assert!(
        !portico::privacy::service::partner_consent_granted(
            &mut conn,
            me,
            "partner-business",
            jobs_key
        )
        .await
        .unwrap()
    );
    // A purpose that is not given per partner cannot be withdrawn from one.
    let (_, wrong) = app
        .graphql_as(
            &member,
            WITHDRAW_PARTNER,
            json!({ "purposes": ["analytics"], "partner": jobs }),
        )
        .await;
    assert_eq!(field(&wrong), "partner", "{wrong}");

    // Without a partner, one call withdraws the general answer and every partner's consent.
    let (_, all) = app
        .graphql_as(
            &member,
            WITHDRAW,
            json!({ "purposes": ["partner-business", "partner-payment"] }),
        )
        .await;
    let rows = all["data"]["withdrawConsent"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        rows.len(),
        4,
        "two general answers, Hires Ltd and Pay Co: {all}"
    );
    assert!(rows.iter().all(|r| r["granted"] == false));
    assert_eq!(consenting("partner-business").await, 0);
    assert_eq!(consenting("partner-payment").await, 0);
    let (_, after) = app.graphql_as(&member, CONSENTS, json!({})).await;
    let consents = purposes_of(&after["data"]["viewer"]["consents"]);
    assert!(consents.contains(&("partner-business".into(), false, Value::Null)));
    assert!(consents.contains(&("partner-business".into(), false, json!("Hires Ltd"))));
    assert!(consents.contains(&("partner-payment".into(), false, json!("Pay Co"))));
}

#[tokio::test]
async fn the_history_is_newest_first_paged_hashed_and_append_only() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (member, _) = app.register("member", "+8613900190051").await;
    // Over real TCP, so the ledger sees a client address and user agent.
    let http = reqwest::Client::new();
    let res: Value = http
        .post(server.http_url("/graphql"))
        .bearer_auth(&member)
        .header("user-agent", "ConsentTest/1.0")
        .json(&json!({ "query": GRANT, "variables": { "purposes": ["analytics"], "policyVersion": "1" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(res["errors"].is_null(), "{res}");
    app.graphql_as(&member, WITHDRAW, json!({ "purposes": ["analytics"] }))
        .await;

    let (_, body) = app.graphql_as(&member, HISTORY, json!({})).await;
    let nodes: Vec<Value> = body["data"]["viewer"]["consentHistory"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(
        nodes.len(),
        4,
        "two at registration, a grant and a withdrawal: {body}"
    );
    assert_eq!(nodes[0]["purpose"], "analytics");
    assert_eq!(nodes[0]["granted"], false);
    assert_eq!(nodes[1]["purpose"], "analytics");
    assert_eq!(nodes[1]["granted"], true);
    assert_eq!(nodes[1]["policyVersion"], "1");
    assert!(nodes[0]["at"].as_str() >= nodes[1]["at"].as_str());

    // Methods, and paging with cursors.
    let page = "query($after: String) { viewer { consentHistory(first: 3, after: $after) { edges { cursor node { purpose method partner partnerName } } pageInfo { hasNextPage endCursor } } } }";
    let (_, first) = app
        .graphql_as(&member, page, json!({ "after": null }))
        .await;
    let h = &first["data"]["viewer"]["consentHistory"];
    let methods: Vec<&str> = h["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["withdraw", "grant", "registration"], "{first}");
    assert_eq!(h["edges"][0]["node"]["partner"], Value::Null);
    assert_eq!(h["pageInfo"]["hasNextPage"], true);
    let (_, second) = app
        .graphql_as(
            &member,
            page,
            json!({ "after": h["pageInfo"]["endCursor"] }),
        )
        .await;
    let h2 = &second["data"]["viewer"]["consentHistory"];
    assert_eq!(h2["edges"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(h2["edges"][0]["node"]["method"], "registration");
    assert_eq!(h2["pageInfo"]["hasNextPage"], false);
    for (vars, f) in [(json!({ "after": "garbage" }), "after")] {
        let (_, bad) = app.graphql_as(&member, page, vars).await;
        assert_eq!(field(&bad), f, "{bad}");
    }
    let (_, too_many) = app
        .graphql_as(
            &member,
            "{ viewer { consentHistory(first: 101) { edges { cursor } } } }",
            json!({}),
        )
        .await;
    assert_eq!(field(&too_many), "first", "{too_many}");

    // The ledger keeps keyed hashes of the client address and user agent, never the values.
    #[derive(diesel::QueryableByName)]
    struct Hashes {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bytea>)]
        client_addr_hash: Option<Vec<u8>>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bytea>)]
        user_agent_hash: Option<Vec<u8>>,
    }
    let mut conn = app.db.conn().await;
    let grant_row: Hashes = diesel::sql_query(
        "SELECT client_addr_hash, user_agent_hash FROM consent_records WHERE method = 'grant'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    let addr = grant_row.client_addr_hash.expect("the address is hashed");
    let ua = grant_row.user_agent_hash.expect("the user agent is hashed");
    assert_eq!((addr.len(), ua.len()), (32, 32));
    assert!(!ua.windows(11).any(|w| w == b"ConsentTest"));
    assert!(!addr.windows(9).any(|w| w == b"127.0.0.1"));

    // Append-only: the database refuses deletes and changes.
    let before = app.count("SELECT count(*) AS n FROM consent_records").await;
    let delete = diesel::sql_query("DELETE FROM consent_records")
        .execute(&mut conn)
        .await;
    assert!(
        delete
            .as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "{delete:?}"
    );
    let update = diesel::sql_query("UPDATE consent_records SET granted = NOT granted")
        .execute(&mut conn)
        .await;
    assert!(update.is_err(), "{update:?}");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM consent_records").await,
        before
    );
    // And every answer adds to the history.
    app.graphql_as(
        &member,
        GRANT,
        json!({ "purposes": ["analytics"], "policyVersion": "1" }),
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM consent_records").await,
        before + 1
    );
}

#[tokio::test]
async fn withdrawing_analytics_stops_view_counting_at_once() {
    let app = TestApp::new().await;
    let (author, _) = app.register("author", "+8613900190061").await;
    let (reader, _) = app.register("reader", "+8613900190062").await;
    let work = app.publish_work(&author, "Tram at Dusk", false).await;
    let view = "mutation RecordView($target: ID!) { recordEvent(kind: VIEW, target: $target) }";
    let record = async || -> Value {
        app.graphql_as(&reader, view, json!({ "target": work }))
            .await
            .1["data"]["recordEvent"]
            .clone()
    };
    assert_eq!(record().await, false, "no consent yet");
    app.graphql_as(
        &reader,
        GRANT,
        json!({ "purposes": ["analytics"], "policyVersion": "1" }),
    )
    .await;
    assert_eq!(record().await, true);
    assert_eq!(record().await, true);
    app.graphql_as(&reader, WITHDRAW, json!({ "purposes": ["analytics"] }))
        .await;
    assert_eq!(
        record().await,
        false,
        "the next view after withdrawing is not counted"
    );
    portico::content::views::rollup_views(&app.state.pool)
        .await
        .unwrap();
    let (_, body) = app
        .graphql(
            "query($id: ID!) { work(id: $id) { viewCount } }",
            json!({ "id": work }),
        )
        .await;
    assert_eq!(body["data"]["work"]["viewCount"], 2, "{body}");
}

#[tokio::test]
async fn withdrawing_third_party_profile_stops_the_profile_refresh() {
    let fake = FakeOAuth::start().await;
    let oauth = fake.config().oauth;
    let app = TestApp::with_config(|c| c.oauth = oauth).await;
    let start = "mutation($c: [String!], $v: String) { startThirdPartyLogin(provider: WECHAT, redirectUri: \"https://portico.example/oauth/done\", consents: $c, policyVersion: $v, adultConfirmed: true) { state } }";
    let complete = "mutation($code: String!, $s: String!) { completeThirdPartyLogin(provider: WECHAT, code: $code, state: $s) { accessToken viewer { thirdPartyBindings { nickname } } } }";
    let sign_in = async |code: &str, consents: Value| -> Value {
        let (_, started) = app.graphql(start, json!({ "c": consents, "v": "1" })).await;
        let state = started["data"]["startThirdPartyLogin"]["state"].clone();
        let (_, body) = app
            .graphql(complete, json!({ "code": code, "s": state }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["completeThirdPartyLogin"].clone()
    };
    fake.add_user(
        ProviderKind::Wechat,
        "wx-1",
        FakeUser::new("openid-9").nickname("First name"),
    );
    let first = sign_in(
        "wx-1",
        json!(["account", "security", "third-party-profile"]),
    )
    .await;
    assert_eq!(
        first["viewer"]["thirdPartyBindings"][0]["nickname"],
        "First name"
    );
    let token = first["accessToken"].as_str().unwrap().to_string();
    assert_eq!(fake.requests_to("/sns/userinfo").len(), 1);

    // While consent holds, signing in refreshes the stored profile.
    fake.add_user(
        ProviderKind::Wechat,
        "wx-2",
        FakeUser::new("openid-9").nickname("Second name"),
    );
    let second = sign_in("wx-2", json!([])).await;
    assert_eq!(
        second["viewer"]["thirdPartyBindings"][0]["nickname"],
        "Second name"
    );
    assert_eq!(fake.requests_to("/sns/userinfo").len(), 2);

    // After withdrawing, the provider's profile is never read again.
    let (_, withdrawn) = app
        .graphql_as(
            &token,
            WITHDRAW,
            json!({ "purposes": ["third-party-profile"] }),
        )
        .await;
    assert!(withdrawn["errors"].is_null(), "{withdrawn}");
    fake.add_user(
        ProviderKind::Wechat,
        "wx-3",
        FakeUser::new("openid-9").nickname("Third name"),
    );
    let third = sign_in("wx-3", json!([])).await;
    assert_eq!(
        third["viewer"]["thirdPartyBindings"][0]["nickname"],
        "Second name"
    );
    assert_eq!(
        fake.requests_to("/sns/userinfo").len(),
        2,
        "no profile read after withdrawal"
    );
}

#[tokio::test]
async fn the_public_profile_shows_only_with_consent_to_profile() {
    let app = TestApp::new().await;
    let (ling, _) = app.register("ling", "+8613900190071").await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }";
    let (_, updated) = app
        .graphql_as(
            &ling,
            update,
            json!({ "input": {
            "avatarUrl": "https://img.example.com/a.png", "hometown": "苏州", "signature": "光与影",
            "bio": "Street photography.", "education": "Art school", "contact": "ling@im",
            "link": "https://ling.example.com", "equipment": "Leica M6", "labels": ["film"]
        } }),
        )
        .await;
    assert!(updated["errors"].is_null(), "{updated}");
    let public = "{ user(username: \"ling\") { username city avatarUrl hometown signature bio education contact link equipment labels } }";
    let optional = [
        "avatarUrl",
        "hometown",
        "signature",
        "bio",
        "education",
        "contact",
        "link",
        "equipment",
        "labels",
    ];
    let (_, hidden) = app.graphql(public, json!({})).await;
    let u = &hidden["data"]["user"];
    assert_eq!(u["username"], "ling", "{hidden}");
    assert_eq!(u["city"], "Hangzhou", "account fields stay public");
    for f in optional {
        assert_eq!(u[f], Value::Null, "{f} hidden without consent to profile");
    }
    // The owner still sees everything.
    let (_, me) = app
        .graphql_as(&ling, "{ viewer { hometown contact } }", json!({}))
        .await;
    assert_eq!(me["data"]["viewer"]["hometown"], "苏州");

    app.graphql_as(
        &ling,
        GRANT,
        json!({ "purposes": ["profile"], "policyVersion": "1" }),
    )
    .await;
    let (_, shown) = app.graphql(public, json!({})).await;
    let u = &shown["data"]["user"];
    assert_eq!(u["hometown"], "苏州", "{shown}");
    assert_eq!(u["contact"], "ling@im");
    assert_eq!(u["labels"], json!(["film"]));
    for f in optional {
        assert!(!u[f].is_null(), "{f} shown with consent");
    }
    // A private field stays hidden even with consent.
    app.graphql_as(
        &ling,
        "mutation { setFieldVisibility(field: BIO, visibility: ONLY_ME) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        app.graphql(public, json!({})).await.1["data"]["user"]["bio"],
        Value::Null
    );

    // Withdrawing hides them again at once, through every path to a User.
    app.graphql_as(&ling, WITHDRAW, json!({ "purposes": ["profile"] }))
        .await;
    let (_, again) = app.graphql(public, json!({})).await;
    for f in optional {
        assert_eq!(
            again["data"]["user"][f],
            Value::Null,
            "{f} hidden after withdrawal"
        );
    }
    let id = ids::encode("User", account_id(&app, &ling)).0;
    let (_, node) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on User { hometown avatarUrl } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        node["data"]["node"],
        json!({ "hometown": null, "avatarUrl": null }),
        "{node}"
    );
}

#[tokio::test]
async fn profile_consent_for_a_list_of_authors_costs_one_statement() {
    let app = TestApp::new().await;
    for i in 0..6usize {
        let (token, _) = app
            .register(&format!("artist{i}"), &format!("+86139001908{i:02}"))
            .await;
        app.graphql_as(
            &token,
            "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }",
            json!({ "input": { "avatarUrl": format!("https://img.example.com/{i}.png") } }),
        )
        .await;
        if i.is_multiple_of(2) {
            app.graphql_as(
                &token,
                GRANT,
                json!({ "purposes": ["profile"], "policyVersion": "1" }),
            )
            .await;
        }
        app.publish_work(&token, "Tram at Dusk", false).await;
    }
    let feed = "query($first: Int) { works(first: $first) { edges { node { author { username avatarUrl } } } } }";
    // Warm the pool: opening connections runs set-up statements that are not the query's.
    app.graphql_with(None, &[], feed, json!({ "first": 1 }))
        .await;
    let (_, one, h1) = app
        .graphql_with(None, &[], feed, json!({ "first": 1 }))
        .await;
    let (_, all, h6) = app
        .graphql_with(None, &[], feed, json!({ "first": 6 }))
        .await;
    assert!(one["errors"].is_null(), "{one}");
    assert_eq!(
        h1["x-sql-statements"], h6["x-sql-statements"],
        "the consent lookup does not grow with the list"
    );
    let edges = all["data"]["works"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 6, "{all}");
    for e in edges {
        let author = &e["node"]["author"];
        let i: usize = author["username"].as_str().unwrap()["artist".len()..]
            .parse()
            .unwrap();
        assert_eq!(
            author["avatarUrl"].is_string(),
            i.is_multiple_of(2),
            "{author}: shown exactly for the authors who consent"
        );
    }
}
