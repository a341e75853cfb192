//! Retention: the job removes what has served its purpose once its period ends (spent codes and OAuth states,
//! ended sessions, delivered messages, old security events and sign-in failures, run-out username holds) and
//! keeps everything still in use; an erased account's queued messages go with it.

use std::time::Duration;

use portico::config::Retention;
use portico::rights::retention::run_once;
use serde_json::json;

use crate::harness::{STRONG_PASSWORD, TestApp};

const MEI: &str = "+8613800138061";
const MEI_EMAIL: &str = "mei.retention@example.com";
const JUN: &str = "+8613800138062";

#[tokio::test]
async fn expired_records_are_removed_and_live_ones_kept() {
    let app = TestApp::new().await;
    let (live, _) = app.register("mei", MEI).await;
    let ended = app.login("mei", STRONG_PASSWORD).await.unwrap();
    let (_, body) = app
        .graphql_as(&ended, "mutation { logout }", json!({}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(app.login("mei", "not the password at all").await.is_err());
    app.code_for("SMS", MEI, "LOGIN").await;
    let (_, body) = app
        .graphql_as(
            &live,
            "mutation { changeUsername(username: \"mei_ink\") { id } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // Nothing has reached its period yet.
    let report = run_once(&app.state.pool, &app.state.config.retention)
        .await
        .unwrap();
    assert_eq!(report.total(), 0, "{report:?}");

    // Move the ended and spent records past their periods (the register code was spent at registration).
    app.sql("UPDATE verification_codes SET created_at = now() - interval '2 days' WHERE consumed_at IS NOT NULL").await;
    app.sql(
        "UPDATE sessions SET revoked_at = now() - interval '31 days' WHERE revoked_at IS NOT NULL",
    )
    .await;
    app.sql("UPDATE security_events SET created_at = now() - interval '181 days' WHERE kind = 'registered'").await;
    app.sql("UPDATE login_failures SET created_at = now() - interval '2 days'")
        .await;
    app.sql("UPDATE outbox_messages SET sent_at = now() - interval '8 days' WHERE id = (SELECT min(id) FROM outbox_messages)").await;
    app.sql("UPDATE username_holds SET held_until = now() - interval '1 second'")
        .await;
    let before = |table: &str| format!("SELECT count(*) FROM {table}");
    let sessions = app.count(&before("sessions")).await;
    let messages = app.count(&before("outbox_messages")).await;

    let report = run_once(&app.state.pool, &app.state.config.retention)
        .await
        .unwrap();
    let a = &report.accounts;
    assert_eq!(a.verification_codes, 1, "{report:?}");
    assert_eq!(a.sessions, 1, "{report:?}");
    assert_eq!(a.security_events, 1, "{report:?}");
    assert!(a.login_failures >= 1, "{report:?}");
    assert_eq!(a.username_holds, 1, "{report:?}");
    assert_eq!(report.queued_messages, 1, "{report:?}");
    assert_eq!(app.count(&before("sessions")).await, sessions - 1);
    assert_eq!(app.count(&before("outbox_messages")).await, messages - 1);

    // What is still in use stays: the live session, the unspent code, the newer security events.
    let (_, body) = app
        .graphql_as(&live, "{ viewer { username } }", json!({}))
        .await;
    assert_eq!(body["data"]["viewer"]["username"], "mei_ink", "{body}");
    assert_eq!(
        app.count("SELECT count(*) FROM verification_codes WHERE purpose = 'login'")
            .await,
        1
    );
    assert!(app.count("SELECT count(*) FROM security_events").await >= 1);
    // A second pass finds nothing more.
    assert_eq!(
        run_once(&app.state.pool, &app.state.config.retention)
            .await
            .unwrap()
            .total(),
        0
    );
}

#[tokio::test]
async fn periods_come_from_the_configuration_and_are_bounded() {
    let defaults = Retention::default();
    assert_eq!(
        defaults.security_events,
        Duration::from_secs(180 * 24 * 3600)
    );
    let map = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let c = portico::config::Config::from_map(&map(&[("PORTICO_RETENTION_SESSIONS_DAYS", "7")]))
        .unwrap();
    assert_eq!(c.retention.sessions, Duration::from_secs(7 * 24 * 3600));
    let err = portico::config::Config::from_map(&map(&[("PORTICO_RETENTION_CODES_HOURS", "1")]))
        .unwrap_err();
    assert!(
        err.to_string().contains("PORTICO_RETENTION_CODES_HOURS"),
        "{err}"
    );
}

#[tokio::test]
async fn erasure_removes_the_accounts_queued_messages() {
    let app =
        TestApp::with_config(|c| c.cancellation_cooling_off = Duration::from_secs(3600)).await;
    let (mei, _) = app.register("mei", MEI).await;
    app.register("jun", JUN).await;
    app.bind_email(&mei, MEI_EMAIL).await;
    app.code_for("SMS", JUN, "LOGIN").await;
    let code = app.code_for("SMS", MEI, "CANCEL_ACCOUNT").await;
    let (_, body) = app
        .graphql_as(
            &mei,
            "mutation($c: String!) { requestAccountCancellation(code: $c) { id } }",
            json!({ "c": code }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(
        app.last_message_to(MEI).await.is_some() && app.last_message_to(MEI_EMAIL).await.is_some()
    );
    app.sql("UPDATE account_cancellations SET scheduled_for = now() - interval '1 second'")
        .await;
    assert_eq!(app.erase_due().await, 1);
    assert!(
        app.last_message_to(MEI).await.is_none(),
        "messages to the erased phone are gone"
    );
    assert!(
        app.last_message_to(MEI_EMAIL).await.is_none(),
        "and to the erased email"
    );
    assert!(
        app.last_message_to(JUN).await.is_some(),
        "others' messages stay"
    );
}
