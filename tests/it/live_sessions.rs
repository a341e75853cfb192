//! A checked session is remembered for a few seconds, so a member's next reads cost no session statement; it is
//! forgotten at once when its access is lost: on the instance that ended it before the mutation answers, and on
//! every other instance through the broker, including changes made outside any gateway (SQL, the CLI).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{STRONG_PASSWORD, TestApp, brokers_connected};

/// One statement for the page (and the viewer's collections): the session check is the other, when it runs.
const PAGE: &str = "{ works(first: 1) { edges { node { viewerHasCollected } } } }";

async fn statements(app: &TestApp, token: &str) -> (u16, String) {
    let (status, body, headers) = app.graphql_with(Some(token), &[], PAGE, json!({})).await;
    let n = headers
        .get("x-sql-statements")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(status == 200 || status == 401, "{status} {body}");
    (status, n)
}

/// Polls `app` with `token` until it is refused; returns how long that took.
async fn refused_within(app: &TestApp, token: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if statements(app, token).await.0 == 401 {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still accepted after {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_remembered_session_costs_no_statement_and_ends_with_its_access() {
    let a = TestApp::new().await;
    let b = a.reconfigured(|_| {});
    brokers_connected(&[&a, &b]).await;
    let (first, _) = a.register("rin", "+8613900160001").await;
    let second = a.login("rin", STRONG_PASSWORD).await.unwrap();
    let third = a.login("rin", STRONG_PASSWORD).await.unwrap();
    // Warm both pools: opening a connection runs set-up statements that are not the request's.
    statements(&a, &first).await;
    statements(&b, &first).await;

    // Checked once, then remembered: the page alone.
    assert_eq!(statements(&b, &second).await, (200, "2".to_string()));
    assert_eq!(statements(&b, &second).await, (200, "1".to_string()));
    assert_eq!(statements(&b, &second).await, (200, "1".to_string()));

    // Signing out on A, while B remembers the session: B refuses it as soon as the broker tells it.
    a.graphql_as(&second, "mutation { logout }", json!({}))
        .await;
    let took = refused_within(&b, &second, Duration::from_secs(2)).await;
    assert!(took < Duration::from_secs(1), "B refused it after {took:?}");

    // Remembered on A, then signed out on A: refused on the very next request, with no wait for the broker.
    statements(&a, &third).await;
    assert_eq!(statements(&a, &third).await, (200, "1".to_string()));
    let (_, out) = a.graphql_as(&third, "mutation { logout }", json!({})).await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    assert_eq!(statements(&a, &third).await.0, 401);
}

#[tokio::test]
async fn access_ended_outside_the_gateways_is_forgotten_on_every_instance() {
    let a = TestApp::new().await;
    let b = a.reconfigured(|_| {});
    brokers_connected(&[&a, &b]).await;
    let (token, _) = a.register("sora", "+8613900160002").await;
    for app in [&a, &b] {
        statements(app, &token).await;
        assert_eq!(statements(app, &token).await, (200, "1".to_string()));
    }
    // Staff suspend the account with SQL (or the CLI, another process): no mutation ran on either instance.
    a.sql("UPDATE accounts SET suspended_at = now() WHERE username = 'sora'")
        .await;
    for app in [&a, &b] {
        let took = refused_within(app, &token, Duration::from_secs(2)).await;
        assert!(took < Duration::from_secs(1), "refused after {took:?}");
    }
}

#[tokio::test]
async fn with_remembering_turned_off_every_request_checks_the_session() {
    let app = TestApp::with_config(|c| c.session_cache = Duration::ZERO).await;
    brokers_connected(&[&app]).await;
    let (token, _) = app.register("kai", "+8613900160003").await;
    statements(&app, &token).await;
    for _ in 0..3 {
        assert_eq!(statements(&app, &token).await, (200, "2".to_string()));
    }
}
