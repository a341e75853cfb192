//! Security incidents: declaration, updates and resolution reaching subscribers, announcements, the report,
//! set-based declaration for thousands of accounts, and refused input.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use portico::broker::BrokerEvent;
use portico::graphql::ids;
use serde_json::{Value, json};

use super::{Client, DECLARE, account_of, code, incident_input, staff};
use crate::harness::TestApp;

fn user_id(app: &TestApp, token: &str) -> String {
    ids::encode("User", account_of(&app.state, token).0).0
}

const REPORT: &str = "query($id: ID!) { incidentReport(id: $id) { accountsAffected accountsNotified \
    accountsDelivered accountsAcknowledged secondsToFirstDelivery secondsToLastDelivery \
    stages { event notified delivered note changedFields } document } }";

#[tokio::test]
async fn an_incident_reaches_every_affected_subscriber_through_its_lifecycle() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let officer = staff(&app, "officer", "+8613900139001").await;
    let (alice, _) = app.register("alice", "+8613900139002").await;
    let (bob, _) = app.register("bob", "+8613900139003").await;
    let (carol, _) = app.register("carol", "+8613900139004").await;
    let mut subscribers = Vec::new();
    for token in [&alice, &bob, &carol] {
        let mut client = Client::connect(&server, Some(token)).await;
        client.subscribe("n", None).await;
        subscribers.push(client);
    }
    // No wait: a subscription without a cursor starts from the oldest notice never delivered, so a notice
    // written before the server has started the stream is replayed, and one written after wakes it.

    let scope = json!({ "accountIds": [user_id(&app, &alice), user_id(&app, &bob)] });
    let (_, body) = app
        .graphql_as(
            &officer,
            DECLARE,
            json!({ "input": incident_input("Backup exposed", scope) }),
        )
        .await;
    let declared = &body["data"]["declareIncident"];
    assert_eq!(declared["status"], "OPEN", "{body}");
    assert_eq!(declared["affectedCount"], 2);
    let incident_id = declared["id"].as_str().unwrap().to_string();

    for client in &mut subscribers[..2] {
        let notice = client.notice("n").await;
        assert_eq!(notice["kind"], "SECURITY_INCIDENT");
        assert_eq!(notice["title"], "Security incident: Backup exposed");
        assert!(
            notice["body"]
                .as_str()
                .unwrap()
                .contains("What you can do: Be wary")
        );
        let incident = &notice["incident"];
        assert_eq!(incident["id"], incident_id.as_str());
        assert_eq!(incident["severity"], "HIGH");
        assert_eq!(incident["status"], "OPEN");
        assert_eq!(incident["dataCategories"], json!(["phone", "profile"]));
        assert_eq!(incident["contact"], "privacy@example.com");
        assert!(incident["possibleHarm"].is_string() && incident["remedialMeasures"].is_string());
    }
    assert!(subscribers[2].quiet_for(Duration::from_millis(300)).await);

    // An update and the resolution reach the same accounts.
    let update = "mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id status severity } }";
    let (_, body) = app
        .graphql_as(
            &officer,
            update,
            json!({ "id": incident_id, "input": { "note": "It was two backups, not one.", "severity": "CRITICAL" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateIncident"]["status"], "UPDATED",
        "{body}"
    );
    let resolve = "mutation ResolveIncident($id: ID!, $note: String!) { resolveIncident(id: $id, note: $note) { id status } }";
    let (_, body) = app
        .graphql_as(
            &officer,
            resolve,
            json!({ "id": incident_id, "note": "Both backups were deleted." }),
        )
        .await;
    assert_eq!(
        body["data"]["resolveIncident"]["status"], "RESOLVED",
        "{body}"
    );
    for client in &mut subscribers[..2] {
        let updated = client.notice("n").await;
        assert_eq!(
            updated["title"],
            "Update on security incident: Backup exposed"
        );
        assert!(
            updated["body"]
                .as_str()
                .unwrap()
                .starts_with("It was two backups")
        );
        let resolved = client.notice("n").await;
        assert_eq!(
            resolved["title"],
            "Security incident resolved: Backup exposed"
        );
        assert_eq!(resolved["incident"]["status"], "RESOLVED");
        assert_eq!(resolved["incident"]["severity"], "CRITICAL");
    }
    assert!(subscribers[2].quiet_for(Duration::from_millis(300)).await);
    let (_, again) = app
        .graphql_as(
            &officer,
            resolve,
            json!({ "id": incident_id, "note": "again" }),
        )
        .await;
    assert_eq!(code(&again), "BAD_USER_INPUT");

    // Visitors read the public announcement; the incident itself only its recipients and staff.
    let (_, body) = app
        .graphql(
            "query Announcements { securityAnnouncements(first: 10) { edges { node { id title severity status declaredAt } } } }",
            json!({}),
        )
        .await;
    let announcement = &body["data"]["securityAnnouncements"]["edges"][0]["node"];
    assert_eq!(announcement["title"], "Backup exposed", "{body}");
    assert_eq!(announcement["status"], "RESOLVED");
    let node = "query($id: ID!) { node(id: $id) { id ... on Incident { title } ... on SecurityAnnouncement { title } } }";
    let (_, seen) = app
        .graphql_as(&alice, node, json!({ "id": incident_id }))
        .await;
    assert_eq!(seen["data"]["node"]["title"], "Backup exposed", "{seen}");
    let (_, unseen) = app
        .graphql_as(&carol, node, json!({ "id": incident_id }))
        .await;
    assert!(unseen["data"]["node"].is_null(), "{unseen}");
    let (_, public) = app.graphql(node, json!({ "id": announcement["id"] })).await;
    assert_eq!(public["data"]["node"]["title"], "Backup exposed");
    let (_, counted) = app
        .graphql_as(
            &alice,
            "query($id: ID!) { node(id: $id) { ... on Incident { affectedCount } } }",
            json!({ "id": incident_id }),
        )
        .await;
    assert_eq!(code(&counted), "FORBIDDEN", "staff only");

    // The report: both notified and delivered; one acknowledgement after Alice acknowledges.
    let (_, list) = app
        .graphql_as(
            &alice,
            "{ viewer { notifications(first: 5) { edges { node { id title } } } } }",
            json!({}),
        )
        .await;
    let declaration_notice = list["data"]["viewer"]["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["title"] == "Security incident: Backup exposed")
        .unwrap()["node"]["id"]
        .clone();
    app.graphql_as(
        &alice,
        "mutation($id: ID!) { acknowledgeNotification(id: $id) { id } }",
        json!({ "id": declaration_notice }),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        let (_, body) = app
            .graphql_as(&officer, REPORT, json!({ "id": incident_id }))
            .await;
        let report = body["data"]["incidentReport"].clone();
        assert!(report.is_object(), "{body}");
        if report["accountsDelivered"] == 2 {
            break report;
        }
        assert!(Instant::now() < deadline, "{report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report["accountsAffected"], 2);
    assert_eq!(report["accountsNotified"], 2);
    assert_eq!(report["accountsAcknowledged"], 1);
    let first = report["secondsToFirstDelivery"].as_f64().unwrap();
    let last = report["secondsToLastDelivery"].as_f64().unwrap();
    assert!(0.0 <= first && first <= last && last < 10.0, "{report}");
    let events: Vec<&Value> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["event"])
        .collect();
    assert_eq!(
        events,
        [&json!("DECLARED"), &json!("UPDATED"), &json!("RESOLVED")]
    );
    assert_eq!(report["stages"][1]["changedFields"], json!(["severity"]));
    assert_eq!(report["stages"][2]["note"], "Both backups were deleted.");
    let document = &report["document"];
    assert_eq!(document["accountsDelivered"], 2);
    assert_eq!(document["incident"]["status"], "resolved");
    assert_eq!(
        document["incident"]["scope"]["accountIds"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, refused) = app
        .graphql_as(&alice, REPORT, json!({ "id": incident_id }))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");
}

#[tokio::test]
async fn declaring_for_thousands_of_accounts_is_one_statement_and_one_event() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let officer = staff(&app, "officer", "+8613900139011").await;
    let (member, _) = app.register("member", "+8613900139012").await;
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "INSERT INTO accounts (username, email_ciphertext) \
         SELECT 'bulk' || g, CASE WHEN g % 100 = 0 THEN '\\x00'::bytea END FROM generate_series(1, 5000) g",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let mut client = Client::connect(&server, Some(&member)).await;
    client.subscribe("n", None).await;
    let mut events = app.state.broker.subscribe();

    let started = Instant::now();
    let (_, body) = app
        .graphql_as(
            &officer,
            DECLARE,
            json!({ "input": incident_input("Everyone", json!({ "all": true })) }),
        )
        .await;
    let declared_in = started.elapsed();
    let notice = client.notice("n").await;
    let delivered_in = started.elapsed();
    println!(
        "declared an incident for 5,002 accounts in {declared_in:?}; the subscriber had it after {delivered_in:?}"
    );
    assert_eq!(
        body["data"]["declareIncident"]["affectedCount"], 5002,
        "{body}"
    );
    assert_eq!(
        notice["incident"]["id"],
        body["data"]["declareIncident"]["id"]
    );
    assert_eq!(
        app.count("SELECT count(DISTINCT account_id) AS n FROM notifications WHERE kind = 'security_incident'").await,
        5002
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM notifications WHERE kind = 'security_incident'")
            .await,
        5002
    );
    // One event announced the 5,002 notices.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut announced = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let BrokerEvent::Notify { topic, id } = event {
            announced.push(format!("{topic}:{id}"));
        }
    }
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert!(announced[0].starts_with("incident:"));

    // Data-category scopes select the accounts holding that data: 50 bulk accounts have an email, only the
    // two registered ones a phone number.
    let (_, body) = app
        .graphql_as(
            &officer,
            DECLARE,
            json!({ "input": incident_input("Emails", json!({ "dataCategories": ["email"] })) }),
        )
        .await;
    assert_eq!(
        body["data"]["declareIncident"]["affectedCount"], 50,
        "{body}"
    );
    let (_, body) = app
        .graphql_as(&officer, DECLARE, json!({ "input": incident_input("Phones", json!({ "dataCategories": ["phone", "device"] })) }))
        .await;
    assert_eq!(
        body["data"]["declareIncident"]["affectedCount"], 2,
        "{body}"
    );
    let second = client.notice("n").await;
    assert_eq!(second["title"], "Security incident: Phones");
}
