//! Re-consent is enforced, not advisory: when a new policy version adds or changes a purpose, a grant given
//! under an older version stops counting for it (its data stops flowing) until the member answers again, and
//! every member hears of the new version in the notification stream.

use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::realtime::Client;

const GRANT: &str = "mutation Grant($purposes: [String!]!, $policyVersion: String!) {
  grantConsent(purposes: $purposes, policyVersion: $policyVersion) { purpose granted policyVersion updatedAt }
}";
const PUBLISH: &str = "mutation($input: PublishPolicyVersionInput!) { publishPolicyVersion(input: $input) { version } }";
const VIEW: &str = "mutation RecordView($target: ID!) { recordEvent(kind: VIEW, target: $target) }";
const ANALYTICS_NOW: &str = "Counting page views, clicks and time on page with web beacons.";

/// The current policy's purposes as publishing input, with `analytics` described anew.
async fn catalogue_with_changed_analytics(app: &TestApp) -> Vec<Value> {
    let (_, body) = app
        .graphql("{ privacyPolicy { purposes { key title description required dataCategories recipients } } }", json!({}))
        .await;
    let mut purposes = body["data"]["privacyPolicy"]["purposes"]
        .as_array()
        .unwrap()
        .clone();
    for p in &mut purposes {
        if p["key"] == "analytics" {
            p["description"] = json!(ANALYTICS_NOW);
        }
    }
    purposes
}

async fn consent_of(app: &TestApp, token: &str, purpose: &str) -> Value {
    let (_, body) = app
        .graphql_as(token, "{ viewer { needsReconsent consents { purpose granted awaitingAnswer policyVersion } } }", json!({}))
        .await;
    let viewer = &body["data"]["viewer"];
    let consent = viewer["consents"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|c| c["purpose"] == purpose)
        .cloned()
        .unwrap_or(Value::Null);
    json!({ "needsReconsent": viewer["needsReconsent"], "consent": consent })
}

#[tokio::test]
async fn a_changed_purpose_stops_old_grants_until_answered_and_everyone_is_told() {
    let app = TestApp::new().await;
    let staff = app.staff("officer", "+8613900190071").await;
    let (author, _) = app.register("author", "+8613900190072").await;
    let (reader, _) = app.register("reader", "+8613900190073").await;
    let work = app.publish_work(&author, "Tram at Dusk", false).await;
    let record = async || -> Value {
        app.graphql_as(&reader, VIEW, json!({ "target": work }))
            .await
            .1["data"]["recordEvent"]
            .clone()
    };
    let (_, body) = app
        .graphql_as(
            &reader,
            GRANT,
            json!({ "purposes": ["analytics", "profile"], "policyVersion": "1" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(record().await, true);

    // A subscriber hears of the new version as it is published.
    let server = app.serve().await;
    let mut socket = Client::connect(&server, Some(&reader)).await;
    socket.subscribe("n", None).await;

    let input = json!({ "input": {
        "version": "2", "text": "Policy text, version 2.", "purposes": catalogue_with_changed_analytics(&app).await
    } });
    let (_, body) = app.graphql_as(&staff, PUBLISH, input).await;
    assert!(body["errors"].is_null(), "{body}");

    let live = socket.notice("n").await;
    assert_eq!(
        live["title"], "Privacy policy updated to version 2",
        "{live}"
    );
    assert_eq!(live["kind"], "ANNOUNCEMENT");
    for token in [&staff, &author, &reader] {
        assert!(
            app.notice_titles(token)
                .await
                .contains(&"Privacy policy updated to version 2".to_string())
        );
    }
    let (_, body) = app
        .graphql_as(
            &reader,
            "{ viewer { notifications(first: 1) { edges { node { body } } } } }",
            json!({}),
        )
        .await;
    let text = body["data"]["viewer"]["notifications"]["edges"][0]["node"]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("no longer counts until you answer again"),
        "{text}"
    );

    // The old grant for `analytics` no longer counts: no view is counted, and the member is asked again.
    assert_eq!(
        consent_of(&app, &reader, "analytics").await,
        json!({ "needsReconsent": true, "consent": { "purpose": "analytics", "granted": false, "awaitingAnswer": true, "policyVersion": "1" } })
    );
    assert_eq!(
        record().await,
        false,
        "a view after the change is not counted"
    );
    // An unchanged purpose keeps its grant.
    assert_eq!(
        consent_of(&app, &reader, "profile").await["consent"]["granted"],
        true
    );

    // Answering under version 2 restores it.
    let (_, body) = app
        .graphql_as(
            &reader,
            GRANT,
            json!({ "purposes": ["analytics"], "policyVersion": "2" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        consent_of(&app, &reader, "analytics").await,
        json!({ "needsReconsent": false, "consent": { "purpose": "analytics", "granted": true, "awaitingAnswer": false, "policyVersion": "2" } })
    );
    assert_eq!(record().await, true);
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
