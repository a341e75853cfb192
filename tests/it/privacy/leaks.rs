//! No path returns another user's email or phone: public queries, search, lists, `node`, other members' and
//! staff's views, another member's export (their own and someone else's link), the partner API, and
//! subscriptions. Only `accessPersonalData` shows them to staff, and that read is audited.

use serde_json::{Value, json};

use crate::harness::{TestApp, code};
use crate::realtime::{Client, DECLARE, incident_input};

/// The victim's phone (E.164), its national digits, its masked form, and email.
const PHONE: &str = "+8613700137077";
const DIGITS: &str = "13700137077";
const MASKED: &str = "137****7077";
const EMAIL: &str = "wenjing.private@example.org";

/// Asserts that `text` (a response, an archive, a message) holds none of the victim's identifiers.
fn assert_clean(path: &str, text: &str) {
    for secret in [DIGITS, MASKED, EMAIL, "wenjing.private"] {
        assert!(!text.contains(secret), "{path} leaked `{secret}`: {text}");
    }
}

async fn victim(app: &TestApp) -> (String, String) {
    let (token, _) = app.register("wenjing", PHONE).await;
    let code = app.code_for("EMAIL", EMAIL, "BIND_EMAIL").await;
    let (_, bound) = app
        .graphql_as(
            &token,
            "mutation($e: String!, $c: String!) { bindEmail(email: $e, code: $c) { email } }",
            json!({ "e": EMAIL, "c": code }),
        )
        .await;
    assert_eq!(bound["data"]["bindEmail"]["email"], EMAIL, "{bound}");
    // A public profile (with consent to show it), a work and an article, so every public path has something
    // of the victim's to show.
    let (_, granted) = app
        .graphql_as(
            &token,
            "mutation { grantConsent(purposes: [\"profile\", \"partner-advertising\"], policyVersion: \"1\") { purpose granted } }",
            json!({}),
        )
        .await;
    assert!(granted["errors"].is_null(), "{granted}");
    let (_, profile) = app
        .graphql_as(
            &token,
            "mutation { updateProfile(input: { bio: \"Ink and paper\", hometown: \"Suzhou\", contact: \"find me at the studio\" }) { id } }",
            json!({}),
        )
        .await;
    assert!(profile["errors"].is_null(), "{profile}");
    let (_, work) = app
        .graphql_as(
            &token,
            "mutation { publishWork(input: { title: \"Lotus study\", category: \"illustration\", tags: [\"ink\"], images: [{ url: \"https://img.example.com/lotus.png\", width: 800, height: 600 }] }) { id } }",
            json!({}),
        )
        .await;
    assert!(work["errors"].is_null(), "{work}");
    let (_, article) = app
        .graphql_as(
            &token,
            "mutation { publishArticle(input: { title: \"On ink\", body: \"Grinding ink is slow.\" }) { id } }",
            json!({}),
        )
        .await;
    assert!(article["errors"].is_null(), "{article}");
    let (_, me) = app.graphql_as(&token, "{ viewer { id } }", json!({})).await;
    (
        token,
        me["data"]["viewer"]["id"].as_str().unwrap().to_string(),
    )
}

/// Every public field of `User`, found by introspection so that a field added later is covered too.
async fn all_user_fields(app: &TestApp) -> String {
    let (_, t) = app
        .graphql("{ __type(name: \"User\") { fields { name args { name } type { kind ofType { kind } } } } }", json!({}))
        .await;
    let fields = t["data"]["__type"]["fields"].as_array().unwrap();
    let names: Vec<&str> = fields
        .iter()
        .filter(|f| f["args"].as_array().unwrap().is_empty())
        .filter(|f| {
            let kind = f["type"]["kind"].as_str().unwrap();
            let inner = f["type"]["ofType"]["kind"].as_str().unwrap_or("");
            kind == "SCALAR" || kind == "ENUM" || inner == "SCALAR" || inner == "ENUM"
        })
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for private in ["email", "phone"] {
        assert!(
            !fields.iter().any(|f| f["name"] == private),
            "the public User type must not have `{private}`"
        );
    }
    names.join(" ")
}

#[tokio::test]
async fn no_path_returns_another_users_email_or_phone() {
    let app = TestApp::new().await;
    let (victim_token, victim_id) = victim(&app).await;
    let (observer, _) = app.register("observer", "+8613900139088").await;
    let staff = app.staff("auditor", "+8615800158088").await;
    let user_fields = all_user_fields(&app).await;

    // Public reads, as a visitor, another member and staff.
    let reads = [
        format!("{{ user(username: \"wenjing\") {{ {user_fields} }} }}"),
        format!("{{ node(id: \"{victim_id}\") {{ ... on User {{ {user_fields} }} }} }}"),
        format!(
            "{{ search(query: \"wenjing\", first: 20) {{ edges {{ node {{ __typename ... on User {{ {user_fields} }} ... on Work {{ title author {{ {user_fields} }} }} }} }} }} }}"
        ),
        format!(
            "{{ works(first: 20) {{ edges {{ node {{ title author {{ {user_fields} }} }} }} }} }}"
        ),
        format!(
            "{{ articles(first: 20) {{ edges {{ node {{ title author {{ {user_fields} }} }} }} }} }}"
        ),
        "{ viewer { id username phone email } }".to_string(),
    ];
    for who in [None, Some(observer.as_str()), Some(staff.as_str())] {
        for query in &reads {
            let (_, body, _) = app.graphql_with(who, &[], query, json!({})).await;
            assert!(body["errors"].is_null(), "{query}: {body}");
            assert_clean(query, &body.to_string());
        }
    }
    // The reads did reach the victim (so a clean answer means hidden, not missing).
    let (_, seen) = app
        .graphql(
            "{ user(username: \"wenjing\") { username bio } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["data"]["user"]["bio"], "Ink and paper", "{seen}");

    // Another member's export holds nothing of the victim's, and the victim's link does not open for them.
    let export = "mutation { requestDataExport { id status downloadUrl } }";
    app.graphql_as(&observer, export, json!({})).await;
    app.graphql_as(&victim_token, export, json!({})).await;
    portico::rights::export::run_pending_exports(
        &app.state.pool,
        &app.state.keys,
        &app.state.config,
        &app.state.accounts.clock,
    )
    .await
    .unwrap();
    let links = "{ viewer { dataExports { status downloadUrl } } }";
    let (_, mine) = app.graphql_as(&observer, links, json!({})).await;
    let my_link = mine["data"]["viewer"]["dataExports"][0]["downloadUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("the observer's export is ready: {mine}"))
        .to_string();
    let (_, theirs) = app.graphql_as(&victim_token, links, json!({})).await;
    let their_link = theirs["data"]["viewer"]["dataExports"][0]["downloadUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("the victim's export is ready: {theirs}"))
        .to_string();
    let download = |link: String, token: String| {
        let app = &app;
        async move {
            let path = link
                .find("/privacy/")
                .map(|i| link[i..].to_string())
                .unwrap();
            let req = axum::http::Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let res = app.request(req).await;
            let status = res.status().as_u16();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&bytes).to_string())
        }
    };
    let (status, archive) = download(my_link, observer.clone()).await;
    assert_eq!(status, 200, "{archive}");
    assert!(
        archive.contains("observer"),
        "the archive is the observer's"
    );
    assert_clean("the observer's export", &archive);
    let (status, refused) = download(their_link.clone(), observer.clone()).await;
    assert!(matches!(status, 403 | 404), "{status}: {refused}");
    assert_clean("someone else's export link", &refused);
    let (status, own) = download(their_link, victim_token.clone()).await;
    assert_eq!(status, 200);
    assert!(
        own.contains(EMAIL),
        "the owner's own export holds the email"
    );

    // The partner API: a business partner the victim consented to sees the consented categories only.
    let (_, partner) = app
        .graphql_as(
            &staff,
            "mutation { registerPartner(input: { name: \"Ink Supplies Co\", kind: BUSINESS, contact: \"partners@ink.example\", purposes: [\"partner-business\"], dataCategories: [\"account\", \"profile\"] }) { id } }",
            json!({}),
        )
        .await;
    let partner_id = partner["data"]["registerPartner"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{partner}"))
        .to_string();
    let (_, issued) = app
        .graphql_as(
            &staff,
            "mutation($p: ID!) { issuePartnerToken(partner: $p, scopes: [\"partner-business\"]) { token } }",
            json!({ "p": partner_id }),
        )
        .await;
    let partner_token = issued["data"]["issuePartnerToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"))
        .to_string();
    let (_, consent) = app
        .graphql_as(
            &victim_token,
            "mutation($p: ID!) { grantConsent(purposes: [\"partner-business\"], policyVersion: \"1\", partner: $p) { purpose granted } }",
            json!({ "p": partner_id }),
        )
        .await;
    assert!(consent["errors"].is_null(), "{consent}");
    let (_, shared, _) = app
        .graphql_with(
            Some(&partner_token),
            &[],
            "{ partnerAccess { users(first: 50) { edges { node { pseudonymousId username gender occupation city avatarUrl hometown signature bio education link equipment labels devices { name userAgent firstSeenAt lastSeenAt } } } } } }",
            json!({}),
        )
        .await;
    let users = shared["data"]["partnerAccess"]["users"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{shared}"));
    assert!(
        users.iter().any(|e| e["node"]["username"] == "wenjing"),
        "the consenting victim is shared: {shared}"
    );
    assert_clean("the partner API", &shared.to_string());
    // A partner token cannot read member data through the member paths either.
    let (_, as_partner, _) = app
        .graphql_with(
            Some(&partner_token),
            &[],
            &format!("{{ viewer {{ id }} user(username: \"wenjing\") {{ {user_fields} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(as_partner["data"]["viewer"], Value::Null, "{as_partner}");
    assert_clean("member paths with a partner token", &as_partner.to_string());

    // Subscriptions: an incident reaching everyone gives the observer a notice with nothing of the victim's.
    let server = app.serve().await;
    let mut client = Client::connect(&server, Some(&observer)).await;
    client.subscribe("n", None).await;
    let (_, declared) = app
        .graphql_as(
            &staff,
            DECLARE,
            json!({ "input": incident_input("Backup exposed", json!({ "all": true })) }),
        )
        .await;
    assert!(declared["errors"].is_null(), "{declared}");
    // Everything the subscription replays and streams, up to the incident's notice.
    let mut streamed = Vec::new();
    loop {
        let notice = client.notice("n").await;
        let incident = !notice["incident"].is_null();
        streamed.push(notice);
        if incident {
            break;
        }
        assert!(streamed.len() < 20, "no incident notice: {streamed:?}");
    }
    assert_clean("a subscription", &format!("{streamed:?}"));

    // Staff see the victim's phone and email only through the audited path, with a stated reason.
    let access = "mutation($id: ID!, $r: String!) { accessPersonalData(accountId: $id, reason: $r) { phone email } }";
    let (_, no_reason) = app
        .graphql_as(&staff, access, json!({ "id": victim_id, "r": "" }))
        .await;
    assert_eq!(code(&no_reason), "BAD_USER_INPUT", "{no_reason}");
    assert_clean("a refused staff access", &no_reason.to_string());
    let (_, by_member) = app
        .graphql_as(
            &observer,
            access,
            json!({ "id": victim_id, "r": "curiosity about a neighbour" }),
        )
        .await;
    assert_eq!(code(&by_member), "FORBIDDEN", "{by_member}");
    assert_clean("a member asking for staff access", &by_member.to_string());
    let (_, audited) = app
        .graphql_as(
            &staff,
            access,
            json!({ "id": victim_id, "r": "ticket 4411: the member asked us to confirm their email" }),
        )
        .await;
    assert_eq!(
        audited["data"]["accessPersonalData"]["email"], EMAIL,
        "{audited}"
    );
    let (_, log) = app
        .graphql_as(
            &victim_token,
            "{ viewer { staffAccesses(first: 10) { edges { node { reason staff } } } } }",
            json!({}),
        )
        .await;
    let entries = log["data"]["viewer"]["staffAccesses"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(entries.len(), 1, "exactly the one audited read: {log}");
    assert_eq!(
        entries[0]["node"]["reason"],
        "ticket 4411: the member asked us to confirm their email"
    );
}
