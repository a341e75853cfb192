//! Partners: the registry (staff, validated against the policy), scoped tokens stored hashed, the partner read
//! path through `/graphql` (only consenting users, only consented categories, never phone or email, every read
//! logged as a disclosure the user sees), withdrawal taking effect at once, scopes and token states, and
//! advertising reach with k-anonymity suppression.

use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel_async::RunQueryDsl;
use portico::graphql::ids;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Count, TestApp, code, field};

const REGISTER: &str = "mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { id name kind contact purposes dataCategories registeredAt suspended } }";
const ISSUE: &str = "mutation($p: ID!, $s: [String!]!, $l: String, $d: Int!) { issuePartnerToken(partner: $p, scopes: $s, label: $l, expiresInDays: $d) { id token expiresAt scopes label } }";
const REVOKE: &str = "mutation($id: ID!) { revokePartnerToken(id: $id) }";
const GRANT: &str = "mutation($purposes: [String!]!, $partner: ID) { grantConsent(purposes: $purposes, policyVersion: \"1\", partner: $partner) { purpose granted } }";
const WITHDRAW: &str = "mutation($purposes: [String!]!, $partner: ID) { withdrawConsent(purposes: $purposes, partner: $partner) { purpose granted } }";
const USERS: &str = "query($first: Int, $after: String) { partnerAccess { partner { name kind } users(first: $first, after: $after) { edges { cursor node { pseudonymousId username gender occupation city avatarUrl hometown signature bio education link equipment labels devices { name userAgent firstSeenAt lastSeenAt } } } pageInfo { hasNextPage endCursor } } } }";
const REACH: &str =
    "query($by: ReachDimension!) { partnerAccess { reach(groupBy: $by) { key count } } }";
/// The client operation, exactly as `client-operations.graphql` holds it.
const DISCLOSURES: &str = "query Disclosures {
  viewer { disclosures(first: 50) { edges { node { recipient purpose dataCategories at } } } }
}";

/// Accounts inserted directly (registering through the API hashes a password per account, too slow for
/// dozens): `n` female accounts named `<prefix><i>` in one city and occupation, each answering `purpose` (in
/// general, not per partner) with `answers` in order, the last one current.
pub(super) struct Bulk<'a> {
    pub prefix: &'a str,
    pub n: i64,
    pub city: &'a str,
    pub occupation: &'a str,
    pub status: &'a str,
    pub purpose: &'a str,
    pub answers: &'a [bool],
}

pub(super) async fn bulk(app: &TestApp, b: Bulk<'_>) -> Vec<i64> {
    let mut conn = app.db.conn().await;
    let ids: Vec<Count> = diesel::sql_query(
        "INSERT INTO accounts (username, gender, occupation, city, status)
         SELECT $1 || g, 'female', $2, $3, $4 FROM generate_series(1, $5) g RETURNING id AS n",
    )
    .bind::<Text, _>(b.prefix)
    .bind::<Text, _>(b.occupation)
    .bind::<Text, _>(b.city)
    .bind::<Text, _>(b.status)
    .bind::<BigInt, _>(b.n)
    .load(&mut conn)
    .await
    .unwrap();
    let ids: Vec<i64> = ids.into_iter().map(|c| c.n).collect();
    for granted in b.answers {
        diesel::sql_query(
            "INSERT INTO consent_records (account_id, purpose, policy_version_id, granted, method)
             SELECT unnest($1), $2, (SELECT id FROM policy_versions WHERE version = '1'), $3, 'test'",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Text, _>(b.purpose)
        .bind::<Bool, _>(*granted)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    ids
}

fn partner_input(name: &str, kind: &str, purposes: &[&str], categories: &[&str]) -> Value {
    json!({ "name": name, "kind": kind, "contact": "dpo@partner.example", "purposes": purposes,
            "dataCategories": categories })
}

/// Registers a partner (as staff) and returns its id.
async fn partner(
    app: &TestApp,
    staff: &str,
    name: &str,
    kind: &str,
    categories: &[&str],
) -> String {
    let purpose = format!("partner-{}", kind.to_lowercase());
    let (_, body) = app
        .graphql_as(
            staff,
            REGISTER,
            json!({ "input": partner_input(name, kind, &[&purpose], categories) }),
        )
        .await;
    body["data"]["registerPartner"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

/// Issues a token for a partner scoped to its purpose; returns (token id, secret).
async fn token(app: &TestApp, staff: &str, partner: &str, scopes: &[&str]) -> (String, String) {
    let (_, body) = app
        .graphql_as(
            staff,
            ISSUE,
            json!({ "p": partner, "s": scopes, "l": "integration", "d": 30 }),
        )
        .await;
    let issued = &body["data"]["issuePartnerToken"];
    (
        issued["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string(),
        issued["token"].as_str().unwrap().to_string(),
    )
}

async fn grant(app: &TestApp, user: &str, purpose: &str, partner: Option<&str>) {
    let (_, body) = app
        .graphql_as(
            user,
            GRANT,
            json!({ "purposes": [purpose], "partner": partner }),
        )
        .await;
    assert_eq!(body["data"]["grantConsent"][0]["granted"], true, "{body}");
}

/// A partner's page of users: the edges' nodes and the whole body.
async fn read_users(app: &TestApp, ptk: &str) -> (Vec<Value>, Value) {
    let (status, body) = app.graphql_as(ptk, USERS, json!({ "first": 50 })).await;
    assert_eq!(status, 200, "{body}");
    let edges = body["data"]["partnerAccess"]["users"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (edges, body)
}

async fn disclosures(app: &TestApp, user: &str) -> Vec<Value> {
    let (_, body) = app.graphql_as(user, DISCLOSURES, json!({})).await;
    body["data"]["viewer"]["disclosures"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn account_id(app: &TestApp, token: &str) -> i64 {
    app.state.accounts.tokens.verify(token).unwrap().0
}

#[tokio::test]
async fn the_registry_is_staff_only_checked_against_the_policy_and_public() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139101").await;
    let (member, _) = app.register("member", "+8613900139102").await;
    let acme = partner_input(
        "Acme Jobs",
        "BUSINESS",
        &["partner-business"],
        &["account", "profile"],
    );

    let (_, body) = app
        .graphql_as(&member, REGISTER, json!({ "input": acme }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.graphql(REGISTER, json!({ "input": acme })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    let (_, body) = app
        .graphql_as(&officer, REGISTER, json!({ "input": acme }))
        .await;
    let p = &body["data"]["registerPartner"];
    assert_eq!(p["name"], "Acme Jobs", "{body}");
    assert_eq!(p["kind"], "BUSINESS");
    assert_eq!(p["contact"], "dpo@partner.example");
    assert_eq!(p["purposes"], json!(["partner-business"]));
    assert_eq!(p["dataCategories"], json!(["account", "profile"]));
    assert_eq!(p["suspended"], false);
    let id = p["id"].as_str().unwrap().to_string();
    let (kind, _) = ids::decode(&id).unwrap();
    assert_eq!(kind, "Partner");

    let refused = [
        (
            partner_input("ACME jobs", "BUSINESS", &["partner-business"], &["account"]),
            "name",
        ),
        (
            partner_input("A", "BUSINESS", &["partner-business"], &["account"]),
            "name",
        ),
        (
            partner_input("Payco", "BUSINESS", &["partner-payment"], &["order"]),
            "purposes",
        ),
        (
            partner_input(
                "Payco",
                "PAYMENT",
                &["partner-payment", "analytics"],
                &["order"],
            ),
            "purposes",
        ),
        (
            partner_input("Payco", "PAYMENT", &[], &["order"]),
            "purposes",
        ),
        (
            partner_input("Adco", "ADVERTISING", &["partner-advertising"], &["phone"]),
            "dataCategories",
        ),
        (
            partner_input(
                "Adco",
                "ADVERTISING",
                &["partner-advertising"],
                &["account"],
            ),
            "dataCategories",
        ),
        (
            partner_input("Adco", "ADVERTISING", &["partner-advertising"], &[]),
            "dataCategories",
        ),
    ];
    for (input, expected) in refused {
        let (_, body) = app
            .graphql_as(&officer, REGISTER, json!({ "input": input }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(field(&body), expected, "{input}: {body}");
    }
    let mut no_contact = partner_input("Payco", "PAYMENT", &["partner-payment"], &["order"]);
    no_contact["contact"] = json!("  ");
    let (_, body) = app
        .graphql_as(&officer, REGISTER, json!({ "input": no_contact }))
        .await;
    assert_eq!(field(&body), "contact", "{body}");
    assert_eq!(app.count("SELECT count(*) AS n FROM partners").await, 1);

    // The registry is public: visitors list it and resolve a partner by its global id.
    let (_, body) = app
        .graphql(
            "{ partners { id name kind purposes dataCategories } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["partners"][0]["id"], id.as_str(), "{body}");
    let (_, body) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { __typename ... on Partner { name } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["node"]["__typename"], "Partner", "{body}");
    assert_eq!(body["data"]["node"]["name"], "Acme Jobs");

    // Tokens: staff only, scopes within the partner's purposes, a sane lifetime, a real partner.
    let issue = |p: &str, s: &[&str], d: i32| json!({ "p": p, "s": s, "l": null, "d": d });
    let (_, body) = app
        .graphql_as(&member, ISSUE, issue(&id, &["partner-business"], 30))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .graphql_as(&officer, ISSUE, issue(&id, &["partner-payment"], 30))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "scopes"),
        "{body}"
    );
    let (_, body) = app.graphql_as(&officer, ISSUE, issue(&id, &[], 30)).await;
    assert_eq!(field(&body), "scopes", "{body}");
    let (_, body) = app
        .graphql_as(&officer, ISSUE, issue(&id, &["partner-business"], 0))
        .await;
    assert_eq!(field(&body), "expiresInDays", "{body}");
    let ghost = ids::encode("Partner", 999_999).0;
    let (_, body) = app
        .graphql_as(&officer, ISSUE, issue(&ghost, &["partner-business"], 30))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM partner_tokens").await,
        0
    );
}

#[tokio::test]
async fn a_token_is_shown_once_and_stored_only_as_a_hash() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139111").await;
    let id = partner(&app, &officer, "Acme Jobs", "BUSINESS", &["account"]).await;
    let (_, body) = app
        .graphql_as(
            &officer,
            "mutation($p: ID!) { issuePartnerToken(partner: $p, scopes: [\"partner-business\"]) { id token expiresAt scopes label } }",
            json!({ "p": id }),
        )
        .await;
    let issued = &body["data"]["issuePartnerToken"];
    let secret = issued["token"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert!(
        secret.starts_with("ptk_") && secret.len() == 4 + 43,
        "{secret}"
    );
    assert_eq!(issued["scopes"], json!(["partner-business"]));
    // The default lifetime is 90 days.
    let expires: chrono::DateTime<chrono::Utc> =
        issued["expiresAt"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.1).contains(&days), "{days}");

    // The database holds the SHA-256 of the secret and nothing that contains it.
    let digest = Sha256::digest(secret.as_bytes()).to_vec();
    let mut conn = app.db.conn().await;
    let stored: Count =
        diesel::sql_query("SELECT count(*) AS n FROM partner_tokens WHERE token_hash = $1")
            .bind::<diesel::sql_types::Bytea, _>(&digest)
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(stored.n, 1);
    let body_part = &secret[4..];
    let leaked: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM partner_tokens t WHERE position($1 IN row_to_json(t)::text) > 0",
    )
    .bind::<Text, _>(body_part)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(leaked.n, 0, "the plaintext token is stored");

    // Staff see the token afterwards without its secret; using it records when it was last used.
    let tokens = "query($id: ID!) { node(id: $id) { ... on Partner { tokens { id label scopes lastUsedAt revokedAt } } } }";
    let (_, body) = app.graphql_as(&officer, tokens, json!({ "id": id })).await;
    let listed = &body["data"]["node"]["tokens"][0];
    assert_eq!(listed["id"], issued["id"], "{body}");
    assert!(listed["lastUsedAt"].is_null());
    assert!(!body.to_string().contains(body_part));
    let (_, body) = app
        .graphql_as(secret, "{ partnerAccess { partner { name } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["partnerAccess"]["partner"]["name"], "Acme Jobs",
        "{body}"
    );
    let (_, body) = app.graphql_as(&officer, tokens, json!({ "id": id })).await;
    assert!(
        body["data"]["node"]["tokens"][0]["lastUsedAt"].is_string(),
        "{body}"
    );
    // Members do not see tokens at all.
    let (member, _) = app.register("member", "+8613900139112").await;
    let (_, body) = app.graphql_as(&member, tokens, json!({ "id": id })).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn a_partner_reads_only_consenting_users_and_only_consented_categories() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139121").await;
    let acme = partner(&app, &officer, "Acme Jobs", "BUSINESS", &["account"]).await;
    let other = partner(
        &app,
        &officer,
        "Other Works",
        "BUSINESS",
        &["account", "profile"],
    )
    .await;
    let (_, ptk) = token(&app, &officer, &acme, &["partner-business"]).await;
    let (_, other_ptk) = token(&app, &officer, &other, &["partner-business"]).await;

    let (alice, _) = app.register("alice", "+8613800138121").await;
    let (bob, _) = app.register("bob", "+8613800138122").await;
    let (carol, _) = app.register("carol", "+8613800138123").await;
    // Alice binds an email and fills in her profile; neither may reach a partner that lacks the category.
    let email_code = app
        .code_for("EMAIL", "alice@mail.example", "BIND_EMAIL")
        .await;
    let (_, body) = app
        .graphql_as(
            &alice,
            "mutation($c: String!) { bindEmail(email: \"alice@mail.example\", code: $c) { email } }",
            json!({ "c": email_code }),
        )
        .await;
    assert_eq!(
        body["data"]["bindEmail"]["email"], "alice@mail.example",
        "{body}"
    );
    let (_, body) = app
        .graphql_as(
            &alice,
            "mutation { updateProfile(input: {hometown: \"Suzhou\", bio: \"Ink and water\", labels: [\"ink\"]}) { id } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // Alice consents to Acme; Bob only to the other partner; Carol to nobody (but to advertising in general).
    grant(&app, &alice, "partner-business", Some(&acme)).await;
    grant(&app, &bob, "partner-business", Some(&other)).await;
    grant(&app, &carol, "partner-advertising", None).await;

    let (users, body) = read_users(&app, &ptk).await;
    assert_eq!(
        body["data"]["partnerAccess"]["partner"]["name"],
        "Acme Jobs"
    );
    assert_eq!(users.len(), 1, "{body}");
    let a = &users[0];
    assert_eq!(a["username"], "alice");
    assert_eq!(a["gender"], "FEMALE");
    assert_eq!(a["occupation"], "illustrator");
    assert_eq!(a["city"], "Hangzhou");
    for outside in ["hometown", "bio", "labels", "avatarUrl", "devices"] {
        assert!(
            a[outside].is_null(),
            "{outside} shared without its category: {body}"
        );
    }
    // Never a phone number or an email address, in any form, anywhere in the answer.
    let raw = body.to_string();
    for secret in [
        "13800138121",
        "138****8121",
        "8121",
        "alice@mail.example",
        "mail.example",
    ] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }
    // A pseudonym: stable for this partner, not the global id, different for another partner.
    let alice_id = account_id(&app, &alice);
    let pseudonym = a["pseudonymousId"].as_str().unwrap().to_string();
    assert_ne!(pseudonym, ids::encode("User", alice_id).0);
    assert!(!raw.contains(&ids::encode("User", alice_id).0));
    let (again, _) = read_users(&app, &ptk).await;
    assert_eq!(again[0]["pseudonymousId"], pseudonym.as_str());
    // The cursor names no account either.
    let cursor = body["data"]["partnerAccess"]["users"]["edges"][0]["cursor"]
        .as_str()
        .unwrap();
    assert!(ids::decode(cursor).is_none(), "{cursor}");

    // The other partner sees Bob alone, with his public profile, under another pseudonym scheme.
    let (users, body) = read_users(&app, &other_ptk).await;
    assert_eq!(users.len(), 1, "{body}");
    assert_eq!(users[0]["username"], "bob");
    assert_ne!(users[0]["pseudonymousId"], pseudonym.as_str());
    assert!(
        users[0]["labels"].is_array(),
        "profile shared with its category: {body}"
    );
    assert!(!body.to_string().contains("13800138122"));

    // Each read is a disclosure the user sees (the client's `Disclosures` operation), and only theirs.
    let seen = disclosures(&app, &alice).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    for d in &seen {
        assert_eq!(d["recipient"], "Acme Jobs");
        assert_eq!(d["purpose"], "partner-business");
        assert_eq!(d["dataCategories"], json!(["account"]));
        assert!(d["at"].is_string());
    }
    let seen = disclosures(&app, &bob).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["recipient"], "Other Works");
    assert_eq!(seen[0]["dataCategories"], json!(["account", "profile"]));
    assert!(disclosures(&app, &carol).await.is_empty());
    assert_eq!(
        app.count("SELECT count(*) AS n FROM disclosures WHERE token_id IS NOT NULL")
            .await,
        3
    );
}

#[tokio::test]
async fn withdrawal_stops_sharing_with_the_next_read() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139131").await;
    let acme = partner(
        &app,
        &officer,
        "Acme Jobs",
        "BUSINESS",
        &["account", "profile"],
    )
    .await;
    let (_, ptk) = token(&app, &officer, &acme, &["partner-business"]).await;
    let (alice, _) = app.register("alice", "+8613800138131").await;
    let (bob, _) = app.register("bob", "+8613800138132").await;
    grant(&app, &alice, "partner-business", Some(&acme)).await;
    grant(&app, &bob, "partner-business", Some(&acme)).await;

    let (users, _) = read_users(&app, &ptk).await;
    let names: Vec<&str> = users
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    let (_, body) = app
        .graphql_as(
            &alice,
            WITHDRAW,
            json!({ "purposes": ["partner-business"], "partner": acme }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let (users, body) = read_users(&app, &ptk).await;
    assert_eq!(users.len(), 1, "{body}");
    assert_eq!(users[0]["username"], "bob");
    assert!(!body.to_string().contains("alice"));
    // Alice's log keeps the read before her withdrawal and gains nothing after it.
    assert_eq!(disclosures(&app, &alice).await.len(), 1);
    assert_eq!(disclosures(&app, &bob).await.len(), 2);

    // Granting again shares again.
    grant(&app, &alice, "partner-business", Some(&acme)).await;
    let (users, _) = read_users(&app, &ptk).await;
    assert_eq!(users.len(), 2);
}

#[tokio::test]
async fn pages_follow_opaque_cursors_and_private_fields_stay_private() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139141").await;
    let acme = partner(&app, &officer, "Acme Jobs", "BUSINESS", &["profile"]).await;
    let (_, ptk) = token(&app, &officer, &acme, &["partner-business"]).await;
    let analytics = partner(
        &app,
        &officer,
        "Metrics Ltd",
        "ANALYTICS",
        &["device", "log"],
    )
    .await;
    let (_, analytics_ptk) = token(&app, &officer, &analytics, &["partner-analytics"]).await;
    let mut members = Vec::new();
    for (i, name) in ["ann", "ben", "cat"].iter().enumerate() {
        let (t, _) = app.register(name, &format!("+861580015814{i}")).await;
        let (_, body) = app
            .graphql_as(
                &t,
                "mutation($h: String!) { updateProfile(input: {hometown: $h, signature: \"hi\"}) { id } }",
                json!({ "h": format!("Town {name}") }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        grant(&app, &t, "partner-business", Some(&acme)).await;
        members.push(t);
    }
    let (_, body) = app
        .graphql_as(
            &members[1],
            "mutation { setFieldVisibility(field: HOMETOWN, visibility: ONLY_ME) { id } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let (_, first) = app.graphql_as(&ptk, USERS, json!({ "first": 2 })).await;
    let page = &first["data"]["partnerAccess"]["users"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true, "{first}");
    let nodes: Vec<&Value> = page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(nodes.len(), 2);
    // Only `profile` here: no account fields, and Ben's private hometown stays private.
    assert!(
        nodes
            .iter()
            .all(|n| n["username"].is_null() && n["city"].is_null())
    );
    assert_eq!(nodes[0]["hometown"], "Town ann");
    assert!(nodes[1]["hometown"].is_null(), "{first}");
    assert_eq!(nodes[1]["signature"], "hi");
    let end = page["pageInfo"]["endCursor"].as_str().unwrap();
    let (_, second) = app
        .graphql_as(&ptk, USERS, json!({ "first": 2, "after": end }))
        .await;
    let page = &second["data"]["partnerAccess"]["users"];
    assert_eq!(page["pageInfo"]["hasNextPage"], false, "{second}");
    assert_eq!(page["edges"][0]["node"]["hometown"], "Town cat");
    assert_eq!(page["edges"].as_array().unwrap().len(), 1);
    // Another partner's cursor, or a made-up one, is refused.
    let (_, body) = app
        .graphql_as(&analytics_ptk, USERS, json!({ "first": 2, "after": end }))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "after"),
        "{body}"
    );
    let (_, body) = app.graphql_as(&ptk, USERS, json!({ "first": 101 })).await;
    assert_eq!(field(&body), "first", "{body}");

    // An analytics partner gets devices and their times, nothing of the account or the profile.
    grant(&app, &members[0], "partner-analytics", Some(&analytics)).await;
    let (users, body) = read_users(&app, &analytics_ptk).await;
    assert_eq!(users.len(), 1, "{body}");
    let device = &users[0]["devices"][0];
    assert_eq!(device["name"], "test phone", "{body}");
    assert!(device["lastSeenAt"].is_string() && device["firstSeenAt"].is_string());
    assert!(users[0]["username"].is_null() && users[0]["hometown"].is_null());
    let seen = disclosures(&app, &members[0]).await;
    assert_eq!(seen[0]["recipient"], "Metrics Ltd");
    assert_eq!(seen[0]["purpose"], "partner-analytics");
    assert_eq!(seen[0]["dataCategories"], json!(["device", "log"]));
}

#[tokio::test]
async fn scopes_and_token_states_are_enforced() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139151").await;
    let acme = partner(&app, &officer, "Acme Jobs", "BUSINESS", &["account"]).await;
    let (token_id, ptk) = token(&app, &officer, &acme, &["partner-business"]).await;
    let ads = partner(&app, &officer, "Adco", "ADVERTISING", &["aggregate"]).await;
    let (_, ads_ptk) = token(&app, &officer, &ads, &["partner-advertising"]).await;
    let (member, _) = app.register("member", "+8613800138151").await;
    grant(&app, &member, "partner-business", Some(&acme)).await;

    // Outside the partner read path's audience, or outside the token's purpose: FORBIDDEN.
    let (_, body) = app.graphql_as(&member, USERS, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.graphql(USERS, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.graphql_as(&ads_ptk, USERS, json!({})).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "advertisers get aggregates only: {body}"
    );
    let (_, body) = app.graphql_as(&ptk, REACH, json!({ "by": "CITY" })).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    app.sql("UPDATE partner_tokens SET scopes = '{}' WHERE partner_id = (SELECT id FROM partners WHERE name = 'Acme Jobs')").await;
    let (_, body) = app.graphql_as(&ptk, USERS, json!({})).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "a token without the purpose in scope: {body}"
    );
    app.sql("UPDATE partner_tokens SET scopes = '{partner-business}'")
        .await;
    let (users, _) = read_users(&app, &ptk).await;
    assert_eq!(users.len(), 1);
    // A partner token is not a member: it has no viewer and may not act as one.
    let (_, body) = app.graphql_as(&ptk, "{ viewer { id } }", json!({})).await;
    assert!(body["data"]["viewer"].is_null(), "{body}");
    assert_eq!(disclosures(&app, &member).await.len(), 1);

    // Unknown, revoked, expired tokens and suspended partners: 401 UNAUTHENTICATED, like a bad access token.
    let (status, body) = app.graphql_as("ptk_unknown", USERS, json!({})).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    app.sql("UPDATE partners SET suspended_at = now() WHERE name = 'Acme Jobs'")
        .await;
    let (status, body) = app.graphql_as(&ptk, USERS, json!({})).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    app.sql("UPDATE partners SET suspended_at = NULL").await;
    app.sql("UPDATE partner_tokens SET expires_at = now() - interval '1 second' WHERE label = 'integration' AND 'partner-business' = ANY (scopes)").await;
    let (status, body) = app.graphql_as(&ptk, USERS, json!({})).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    app.sql("UPDATE partner_tokens SET expires_at = now() + interval '1 day'")
        .await;
    let (status, _) = app.graphql_as(&ptk, USERS, json!({})).await;
    assert_eq!(status, 200);

    let (_, body) = app
        .graphql_as(&member, REVOKE, json!({ "id": token_id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .graphql_as(&officer, REVOKE, json!({ "id": token_id }))
        .await;
    assert_eq!(body["data"]["revokePartnerToken"], true, "{body}");
    let (status, body) = app.graphql_as(&ptk, USERS, json!({})).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    let (_, body) = app
        .graphql_as(&officer, REVOKE, json!({ "id": token_id }))
        .await;
    assert_eq!(body["data"]["revokePartnerToken"], false, "{body}");
    let ghost = ids::encode("PartnerToken", 999_999).0;
    let (_, body) = app
        .graphql_as(&officer, REVOKE, json!({ "id": ghost }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    // No read after the revocation was logged.
    assert_eq!(disclosures(&app, &member).await.len(), 2);
}

#[tokio::test]
async fn advertisers_get_reach_in_groups_of_at_least_k() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139161").await;
    let ads = partner(&app, &officer, "Adco", "ADVERTISING", &["aggregate"]).await;
    let (_, ptk) = token(&app, &officer, &ads, &["partner-advertising"]).await;
    let consenting = |prefix, n, city, status| Bulk {
        prefix,
        n,
        city,
        occupation: "painter",
        status,
        purpose: "partner-advertising",
        answers: &[true],
    };
    bulk(&app, consenting("cd", 11, "Chengdu", "active")).await;
    bulk(&app, consenting("cx", 1, "Chengdu", "cancelling")).await;
    bulk(&app, consenting("ls", 4, "Lhasa", "active")).await;
    // Not counted: erased accounts, withdrawn consent, consent to something else.
    bulk(&app, consenting("ce", 5, "Chengdu", "erased")).await;
    bulk(
        &app,
        Bulk {
            answers: &[true, false],
            ..consenting("cw", 5, "Chengdu", "active")
        },
    )
    .await;
    bulk(
        &app,
        Bulk {
            purpose: "statistics",
            ..consenting("cs", 5, "Chengdu", "active")
        },
    )
    .await;
    // A member granting through the API counts too.
    let (member, _) = app.register("member", "+8613800138161").await;
    grant(&app, &member, "partner-advertising", None).await;

    let (status, body) = app.graphql_as(&ptk, REACH, json!({ "by": "CITY" })).await;
    assert_eq!(status, 200, "{body}");
    // Chengdu: 11 active + 1 cancelling; Lhasa (4) and Hangzhou (1) are suppressed, and together they are
    // under k, so no remainder group either.
    assert_eq!(
        body["data"]["partnerAccess"]["reach"],
        json!([{ "key": "Chengdu", "count": 12 }]),
        "{body}"
    );
    let raw = body.to_string();
    assert!(!raw.contains("cd1") && !raw.contains("member") && !raw.contains("Lhasa"));

    let (_, body) = app.graphql_as(&ptk, REACH, json!({ "by": "GENDER" })).await;
    assert_eq!(
        body["data"]["partnerAccess"]["reach"],
        json!([{ "key": "FEMALE", "count": 17 }]),
        "{body}"
    );

    // Once the small groups together reach k, their total appears under a null key.
    bulk(&app, consenting("xn", 6, "Xining", "active")).await;
    let (_, body) = app.graphql_as(&ptk, REACH, json!({ "by": "CITY" })).await;
    assert_eq!(
        body["data"]["partnerAccess"]["reach"],
        json!([{ "key": "Chengdu", "count": 12 }, { "key": null, "count": 11 }]),
        "{body}"
    );
    let (_, body) = app
        .graphql_as(&ptk, REACH, json!({ "by": "OCCUPATION" }))
        .await;
    assert_eq!(
        body["data"]["partnerAccess"]["reach"],
        json!([{ "key": "painter", "count": 22 }]),
        "{body}"
    );
    // Aggregates are not disclosures of anyone.
    assert_eq!(app.count("SELECT count(*) AS n FROM disclosures").await, 0);
}
