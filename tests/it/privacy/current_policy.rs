//! The policy in force is the same answer for every visitor: remembered, with no statement, until a new version
//! is announced, which every instance then serves.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{TestApp, brokers_connected};

const POLICY: &str = "{ privacyPolicy { version purposes { key } } }";

async fn policy(app: &TestApp) -> (String, String) {
    let (status, body, headers) = app.graphql_with(None, &[], POLICY, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let version = body["data"]["privacyPolicy"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let statements = headers["x-sql-statements"].to_str().unwrap().to_string();
    (version, statements)
}

#[tokio::test]
async fn the_policy_is_remembered_until_a_new_version_is_announced() {
    let a = TestApp::new().await;
    let b = a.reconfigured(|_| {});
    brokers_connected(&[&a, &b]).await;
    for app in [&a, &b] {
        let (first, _) = policy(app).await;
        assert_eq!(policy(app).await, (first, "0".to_string()));
    }
    // A version published by hand, announced as writers do: both instances serve it within a second.
    a.sql(
        "WITH v AS (INSERT INTO policy_versions (version, body, published_at)
                    VALUES ('2027-01', 'Policy text.', (SELECT max(published_at) FROM policy_versions) + interval '1 second')
                    RETURNING id)
         SELECT pg_notify('portico', 'policy:' || v.id) FROM v",
    )
    .await;
    for app in [&a, &b] {
        let started = Instant::now();
        while policy(app).await.0 != "2027-01" {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "still the old version"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(policy(app).await, ("2027-01".to_string(), "0".to_string()));
    }
}
