//! De-identified statistics for staff: sign-ups by city and occupation counting only accounts that consented
//! to `statistics` (and not erased), views by category, k-anonymity suppression, no identifiers, staff only.

use serde_json::{Value, json};

use super::partners::{Bulk, bulk};
use crate::harness::{TestApp, code, field};

const SIGN_UPS: &str = "query($by: [StatisticDimension!]!) { privacyStatistics { k signUps(by: $by) { groups { keys count } suppressedGroups suppressedCount } } }";
const VIEWS: &str = "{ privacyStatistics { viewsByCategory { groups { keys count } suppressedGroups suppressedCount } } }";
const GRANT: &str =
    "mutation($p: [String!]!) { grantConsent(purposes: $p, policyVersion: \"1\") { granted } }";
const WITHDRAW: &str = "mutation($p: [String!]!) { withdrawConsent(purposes: $p) { granted } }";

async fn sign_ups(app: &TestApp, staff: &str, by: &[&str]) -> Value {
    let (_, body) = app.graphql_as(staff, SIGN_UPS, json!({ "by": by })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["privacyStatistics"]["signUps"].clone()
}

fn stats<'a>(prefix: &'a str, n: i64, city: &'a str, occupation: &'a str) -> Bulk<'a> {
    Bulk {
        prefix,
        n,
        city,
        occupation,
        status: "active",
        purpose: "statistics",
        answers: &[true],
    }
}

#[tokio::test]
async fn sign_ups_count_consenting_accounts_and_suppress_small_groups() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139201").await;
    bulk(&app, stats("cp", 11, "Chengdu", "painter")).await;
    bulk(&app, stats("cw", 3, "Chengdu", "writer")).await;
    bulk(&app, stats("ls", 5, "Lhasa", "painter")).await;
    bulk(&app, stats("hz", 9, "Hangzhou", "illustrator")).await;
    // Not counted: no answer, a withdrawal, erased accounts, consent to another purpose.
    bulk(
        &app,
        Bulk {
            answers: &[],
            ..stats("xn", 12, "Xining", "painter")
        },
    )
    .await;
    bulk(
        &app,
        Bulk {
            answers: &[true, false],
            ..stats("xw", 12, "Xining", "painter")
        },
    )
    .await;
    bulk(
        &app,
        Bulk {
            status: "erased",
            ..stats("xe", 12, "Xining", "painter")
        },
    )
    .await;
    bulk(
        &app,
        Bulk {
            purpose: "analytics",
            ..stats("xa", 12, "Xining", "painter")
        },
    )
    .await;

    let (_, body) = app
        .graphql_as(&officer, SIGN_UPS, json!({ "by": ["CITY"] }))
        .await;
    assert_eq!(body["data"]["privacyStatistics"]["k"], 10, "{body}");
    let by_city = &body["data"]["privacyStatistics"]["signUps"];
    assert_eq!(
        by_city,
        &json!({ "groups": [{ "keys": ["Chengdu"], "count": 14 }], "suppressedGroups": 2, "suppressedCount": 14 }),
        "{body}"
    );
    let raw = body.to_string();
    assert!(!raw.contains("cp1") && !raw.contains("officer") && !raw.contains("Xining"));

    // A cross-tabulation: only Chengdu painters reach k.
    assert_eq!(
        sign_ups(&app, &officer, &["CITY", "OCCUPATION"]).await,
        json!({ "groups": [{ "keys": ["Chengdu", "painter"], "count": 11 }], "suppressedGroups": 3,
                "suppressedCount": 17 })
    );
    assert_eq!(
        sign_ups(&app, &officer, &["OCCUPATION"]).await["groups"],
        json!([{ "keys": ["painter"], "count": 16 }])
    );

    // Consent given and withdrawn through the API moves a member in and out of the figures at once.
    let (member, _) = app.register("member", "+8613800138201").await;
    let (_, body) = app
        .graphql_as(&member, GRANT, json!({ "p": ["statistics"] }))
        .await;
    assert_eq!(body["data"]["grantConsent"][0]["granted"], true, "{body}");
    let groups = sign_ups(&app, &officer, &["CITY"]).await["groups"].clone();
    assert_eq!(
        groups,
        json!([{ "keys": ["Chengdu"], "count": 14 }, { "keys": ["Hangzhou"], "count": 10 }])
    );
    let (_, body) = app
        .graphql_as(&member, WITHDRAW, json!({ "p": ["statistics"] }))
        .await;
    assert_eq!(
        body["data"]["withdrawConsent"][0]["granted"], false,
        "{body}"
    );
    let groups = sign_ups(&app, &officer, &["CITY"]).await["groups"].clone();
    assert_eq!(groups, json!([{ "keys": ["Chengdu"], "count": 14 }]));

    // Refused: no dimension; members; visitors.
    let (_, body) = app
        .graphql_as(&officer, SIGN_UPS, json!({ "by": [] }))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "by"),
        "{body}"
    );
    let (_, body) = app
        .graphql_as(&member, SIGN_UPS, json!({ "by": ["CITY"] }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.graphql(SIGN_UPS, json!({ "by": ["CITY"] })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn views_by_category_are_suppressed_below_k() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613900139211").await;
    let publish = "mutation($input: PublishWorkInput!) { publishWork(input: $input) { id } }";
    let works = [
        ("Lake", "painting", false),
        ("Hills", "painting", false),
        ("Street", "photography", false),
        ("Sketch", "illustration", true),
        ("Gone", "illustration", false),
    ];
    for (title, category, draft) in works {
        let (_, body) = app
            .graphql_as(
                &officer,
                publish,
                json!({ "input": { "title": title, "category": category, "draft": draft,
                    "images": [{ "url": "https://img.example.com/1.jpg", "width": 10, "height": 10 }] } }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    app.sql("UPDATE works SET view_count = 7 WHERE title = 'Lake'")
        .await;
    app.sql("UPDATE works SET view_count = 8 WHERE title = 'Hills'")
        .await;
    app.sql("UPDATE works SET view_count = 4 WHERE title = 'Street'")
        .await;
    // Drafts and deleted works do not count.
    app.sql("UPDATE works SET view_count = 50 WHERE title = 'Sketch'")
        .await;
    app.sql("UPDATE works SET view_count = 50, deleted_at = now() WHERE title = 'Gone'")
        .await;

    let (_, body) = app.graphql_as(&officer, VIEWS, json!({})).await;
    assert_eq!(
        body["data"]["privacyStatistics"]["viewsByCategory"],
        json!({ "groups": [{ "keys": ["painting"], "count": 15 }], "suppressedGroups": 1, "suppressedCount": 4 }),
        "{body}"
    );
    let (member, _) = app.register("member", "+8613800138211").await;
    let (_, body) = app.graphql_as(&member, VIEWS, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}
