//! Push devices end to end: members register browsers (Web Push) and phones (FCM, APNs) through GraphQL, every
//! notice is queued for their devices in the statement that writes it, and the worker delivers it to local
//! fakes of the three services that check what the real ones check (an RFC 8291 payload that decrypts with
//! the subscription's keys, a valid VAPID JWT, a service-account token exchange, HTTP/2 with a provider token).

mod fakes;

use std::time::Duration;

use portico::backoff::Backoff;
use portico::realtime::devices::worker::{self, Settings};
use serde_json::{Value, json};

use self::fakes::{
    APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, Answer, ApnsService, Fake, FcmService, WebPushService,
};
use crate::harness::{TestApp, code, field};
use crate::realtime::{Client, DECLARE, incident_input};

const REGISTER: &str = "mutation Register($input: RegisterPushDeviceInput!) { registerPushDevice(input: $input) { id kind label createdAt lastDeliveredAt } }";
const DEVICES: &str = "{ viewer { pushDevices { id kind label createdAt lastDeliveredAt } } }";
const SUBJECT: &str = "mailto:security@portico.test";

/// Fast retries and short sends, so a failing service is retried within the test.
fn fast() -> Settings {
    Settings {
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
        lease: Duration::from_secs(30),
        batch: 1000,
        concurrency: 64,
        send_timeout: Duration::from_millis(500),
        poll_interval: Duration::from_millis(50),
        passes: 2,
    }
}

/// An app whose push services are the fakes.
async fn app_with(web: &WebPushService, fcm: &FcmService, apns: &ApnsService) -> TestApp {
    let dir = std::env::temp_dir().join(format!("portico-push-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fcm.json"), fcm.service_account()).unwrap();
    std::fs::write(dir.join("apns.p8"), &apns.key_pem).unwrap();
    let (fcm_url, apns_url) = (fcm.url.clone(), apns.url.clone());
    let subject = web.subject.clone();
    TestApp::with_config(move |c| {
        c.push.webpush_subject = subject;
        c.push.fcm_service_account = Some(dir.join("fcm.json"));
        c.push.fcm_api_url = fcm_url;
        c.push.apns = Some(portico::config::ApnsConfig {
            key: dir.join("apns.p8"),
            key_id: APNS_KEY_ID.into(),
            team_id: APNS_TEAM_ID.into(),
            topic: APNS_TOPIC.into(),
        });
        c.push.apns_url = Some(apns_url);
    })
    .await
}

struct Services {
    web: WebPushService,
    fcm: FcmService,
    apns: ApnsService,
}

impl Services {
    async fn start() -> Services {
        Services {
            web: WebPushService::start(SUBJECT).await,
            fcm: FcmService::start().await,
            apns: ApnsService::start().await,
        }
    }

    async fn app(&self) -> TestApp {
        app_with(&self.web, &self.fcm, &self.apns).await
    }

    fn assert_no_violations(&self) {
        assert_eq!(self.web.violations(), Vec::<String>::new());
        assert_eq!(self.fcm.violations(), Vec::<String>::new());
        assert_eq!(self.apns.violations(), Vec::<String>::new());
    }
}

async fn register(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql_as(token, REGISTER, json!({ "input": input }))
        .await
        .1
}

fn web_input(sub: &fakes::Subscription, label: &str) -> Value {
    json!({ "kind": "WEB_PUSH", "label": label, "endpoint": sub.endpoint, "p256dh": sub.p256dh, "auth": sub.auth })
}

/// Delivery passes until nothing is due and nothing waits for a retry (or 20 s pass).
async fn deliver_all(app: &TestApp, settings: &Settings) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pass =
            worker::deliver_due(&app.state.pool, &app.state.keys, &*app.state.push, settings)
                .await
                .unwrap();
        let pending = app
            .count("SELECT count(*) AS n FROM push_deliveries WHERE done_at IS NULL")
            .await;
        if pending == 0 || std::time::Instant::now() > deadline {
            return;
        }
        if pass.claimed == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn declare_for_all(app: &TestApp, officer: &str, title: &str) -> String {
    let (_, body) = app
        .graphql_as(
            officer,
            DECLARE,
            json!({ "input": incident_input(title, json!({ "all": true })) }),
        )
        .await;
    body["data"]["declareIncident"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

#[tokio::test]
async fn an_incident_reaches_a_web_push_subscription_encrypted_and_signed() {
    let s = Services::start().await;
    let app = s.app().await;
    let officer = app.staff("officer", "+8613900140001").await;
    let (alice, _) = app.register("alice", "+8613900140002").await;

    let (_, key) = app.graphql("{ webPushPublicKey }", json!({})).await;
    let public_key = key["data"]["webPushPublicKey"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = s.web.subscribe("alice-firefox");
    let body = register(&app, &alice, web_input(&sub, "Firefox on my laptop")).await;
    let device = &body["data"]["registerPushDevice"];
    assert_eq!(device["kind"], "WEB_PUSH", "{body}");
    assert_eq!(device["label"], "Firefox on my laptop");
    assert!(device["lastDeliveredAt"].is_null());

    let incident = declare_for_all(&app, &officer, "Backup exposed").await;
    // The declaration queued one push per device of every affected account, in its own statement.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_deliveries").await,
        1
    );
    deliver_all(&app, &fast()).await;

    s.assert_no_violations();
    let got = s.web.accepted();
    assert_eq!(got.len(), 1);
    let push = &got[0];
    assert_eq!(push.payload["kind"], "SECURITY_INCIDENT");
    assert_eq!(push.payload["title"], "Security incident: Backup exposed");
    assert_eq!(push.payload["incidentId"], incident);
    assert!(push.payload["id"].as_str().unwrap().len() > 4);
    assert!(push.payload["body"].as_str().unwrap().chars().count() <= 241);
    // Nothing personal: the payload holds the notice, not the member.
    let text = push.payload.to_string();
    assert!(
        !text.contains("alice") && !text.contains("13900140002"),
        "{text}"
    );
    assert_eq!(push.headers["urgency"], "high");
    let ttl: u64 = push.headers["ttl"].to_str().unwrap().parse().unwrap();
    assert!(ttl > 71 * 3600 && ttl <= 72 * 3600, "{ttl}");
    let auth = push.headers["authorization"].to_str().unwrap();
    assert!(auth.ends_with(&format!("k={public_key}")), "{auth}");

    let (_, body) = app.graphql_as(&alice, DEVICES, json!({})).await;
    let devices = body["data"]["viewer"]["pushDevices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0]["lastDeliveredAt"].is_string(), "{body}");

    // The same notice is not sent again by a later pass.
    deliver_all(&app, &fast()).await;
    assert_eq!(s.web.accepted().len(), 1);

    // Ended deliveries go when the messages' retention period ends.
    let retention = portico::config::Retention {
        messages: Duration::ZERO,
        ..app.state.config.retention.clone()
    };
    let report = portico::rights::retention::run_once(&app.state.pool, &retention)
        .await
        .unwrap();
    assert_eq!(report.ended_pushes, 1, "{report:?}");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_deliveries").await,
        0
    );
}

#[tokio::test]
async fn registration_checks_its_input_and_keeps_one_row_per_device() {
    let s = Services::start().await;
    let app = s.app().await;
    let (alice, _) = app.register("alice", "+8613900140011").await;
    let (bob, _) = app.register("bob", "+8613900140012").await;
    let sub = s.web.subscribe("shared-browser");

    for (input, bad_field) in [
        (
            json!({ "kind": "WEB_PUSH", "endpoint": sub.endpoint, "p256dh": "AAAA", "auth": sub.auth }),
            "p256dh",
        ),
        (
            json!({ "kind": "WEB_PUSH", "endpoint": sub.endpoint, "p256dh": sub.p256dh, "auth": "AAAA" }),
            "auth",
        ),
        (
            json!({ "kind": "WEB_PUSH", "endpoint": "http://push.example.net/x", "p256dh": sub.p256dh, "auth": sub.auth }),
            "endpoint",
        ),
        (
            json!({ "kind": "WEB_PUSH", "endpoint": "not a url", "p256dh": sub.p256dh, "auth": sub.auth }),
            "endpoint",
        ),
        (
            json!({ "kind": "WEB_PUSH", "p256dh": sub.p256dh, "auth": sub.auth }),
            "endpoint",
        ),
        (
            json!({ "kind": "FCM", "token": "tok", "endpoint": sub.endpoint }),
            "endpoint",
        ),
        (
            json!({ "kind": "FCM", "token": "has spaces in it" }),
            "token",
        ),
        (json!({ "kind": "APNS", "token": "xyz" }), "token"),
        (
            json!({ "kind": "FCM", "token": "t", "label": "x".repeat(101) }),
            "label",
        ),
    ] {
        let body = register(&app, &alice, input).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(field(&body), bad_field, "{body}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM push_devices").await, 0);

    // Not signed in.
    let (_, body) = app
        .graphql(REGISTER, json!({ "input": web_input(&sub, "") }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    // The same subscription registering twice is one device; on another account it moves there.
    let first = register(&app, &alice, web_input(&sub, "one")).await;
    let again = register(&app, &alice, web_input(&sub, "renamed")).await;
    assert_eq!(
        first["data"]["registerPushDevice"]["id"],
        again["data"]["registerPushDevice"]["id"]
    );
    assert_eq!(again["data"]["registerPushDevice"]["label"], "renamed");
    let moved = register(&app, &bob, web_input(&sub, "bob's now")).await;
    assert_eq!(
        moved["data"]["registerPushDevice"]["id"],
        first["data"]["registerPushDevice"]["id"]
    );
    let (_, body) = app.graphql_as(&alice, DEVICES, json!({})).await;
    assert_eq!(body["data"]["viewer"]["pushDevices"], json!([]));

    // Stored sealed: neither the endpoint nor the keys are in the row in plain text.
    let leaked = app
        .count(&format!(
            "SELECT count(*) AS n FROM push_devices WHERE position(convert_to('{}', 'UTF8') in target_ciphertext) > 0 \
             OR position(convert_to('{}', 'UTF8') in target_ciphertext) > 0",
            sub.p256dh, sub.endpoint
        ))
        .await;
    assert_eq!(leaked, 0);

    // At most 20 per account.
    for i in 0..19 {
        let body = register(
            &app,
            &bob,
            json!({ "kind": "FCM", "token": format!("fcm-token-{i}") }),
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let body = register(
        &app,
        &bob,
        json!({ "kind": "FCM", "token": "one-too-many" }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_devices").await,
        20
    );

    // Unregistering: only one's own device.
    let id = moved["data"]["registerPushDevice"]["id"].clone();
    let unregister = "mutation($id: ID!) { unregisterPushDevice(id: $id) }";
    let (_, body) = app
        .graphql_as(&alice, unregister, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["unregisterPushDevice"], false, "{body}");
    let (_, body) = app.graphql_as(&bob, unregister, json!({ "id": id })).await;
    assert_eq!(body["data"]["unregisterPushDevice"], true, "{body}");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_devices").await,
        19
    );
}

#[tokio::test]
async fn fcm_and_apns_deliver_and_gone_devices_are_removed() {
    let s = Services::start().await;
    let app = s.app().await;
    let officer = app.staff("officer", "+8613900140021").await;
    let (alice, _) = app.register("alice", "+8613900140022").await;
    let (bob, _) = app.register("bob", "+8613900140023").await;
    let apns_token = "a1".repeat(32);
    let gone_apns = "0000".repeat(16);
    for (token, input) in [
        (
            &alice,
            json!({ "kind": "FCM", "token": "fcm-alice", "label": "Pixel" }),
        ),
        (
            &alice,
            json!({ "kind": "APNS", "token": apns_token, "environment": "SANDBOX", "label": "iPhone" }),
        ),
        (&bob, json!({ "kind": "FCM", "token": "gone-fcm-bob" })),
        (&bob, json!({ "kind": "APNS", "token": gone_apns })),
    ] {
        let body = register(&app, token, input).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    declare_for_all(&app, &officer, "Credential stuffing").await;
    declare_for_all(&app, &officer, "Second wave").await;
    deliver_all(&app, &fast()).await;
    s.assert_no_violations();

    // Alice's phones have both notices, in order; one access token served every FCM send.
    let fcm = s.fcm.accepted_for("fcm-alice");
    let titles: Vec<&str> = fcm
        .iter()
        .map(|m| m["notification"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Security incident: Credential stuffing",
            "Security incident: Second wave"
        ]
    );
    assert_eq!(fcm[0]["android"]["priority"], "HIGH");
    assert_eq!(fcm[0]["data"]["kind"], "SECURITY_INCIDENT");
    assert_eq!(s.fcm.tokens_issued(), 1);
    let apns = s.apns.accepted();
    assert_eq!(apns.len(), 2);
    assert_eq!(apns[0].device, apns_token);
    assert_eq!(
        apns[0].payload["aps"]["alert"]["title"],
        "Security incident: Credential stuffing"
    );
    assert_eq!(apns[0].headers["apns-priority"], "10");

    // Bob's devices answered "gone" and are forgotten, with their queue.
    let (_, body) = app.graphql_as(&bob, DEVICES, json!({})).await;
    assert_eq!(body["data"]["viewer"]["pushDevices"], json!([]), "{body}");
    let (_, body) = app.graphql_as(&alice, DEVICES, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["pushDevices"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_deliveries WHERE outcome = 'delivered'")
            .await,
        4
    );
}

#[tokio::test]
async fn an_unregistered_device_gets_nothing() {
    let s = Services::start().await;
    let app = s.app().await;
    let officer = app.staff("officer", "+8613900140031").await;
    let (alice, _) = app.register("alice", "+8613900140032").await;
    let sub = s.web.subscribe("old-browser");
    let body = register(&app, &alice, web_input(&sub, "")).await;
    let id = body["data"]["registerPushDevice"]["id"].clone();
    // A notice is queued, then the device is unregistered before the worker runs.
    declare_for_all(&app, &officer, "Queued then dropped").await;
    let (_, body) = app
        .graphql_as(
            &alice,
            "mutation($id: ID!) { unregisterPushDevice(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["unregisterPushDevice"], true);
    declare_for_all(&app, &officer, "After unregistering").await;
    deliver_all(&app, &fast()).await;
    assert_eq!(s.web.requests(), 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_deliveries").await,
        0
    );
}

#[tokio::test]
async fn failures_are_retried_and_nothing_is_lost_or_sent_twice_across_a_restart() {
    let s = Services::start().await;
    let app = s.app().await;
    let officer = app.staff("officer", "+8613900140041").await;
    let (alice, _) = app.register("alice", "+8613900140042").await;
    let (bob, _) = app.register("bob", "+8613900140043").await;
    let flaky = s.web.subscribe("flaky");
    let slow = s.web.subscribe("slow");
    register(&app, &alice, web_input(&flaky, "")).await;
    register(&app, &bob, web_input(&slow, "")).await;
    register(&app, &bob, json!({ "kind": "FCM", "token": "fcm-bob" })).await;
    s.web.script(
        "flaky",
        &[
            Answer::Status(503),
            Answer::Status(500),
            Answer::Status(429),
        ],
    );
    s.web
        .script("slow", &[Answer::Hang(Duration::from_secs(2))]);
    s.fcm.script("fcm-bob", &[Answer::Status(502)]);

    // A running worker, as in the gateway.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = worker::start(
        app.state.pool.clone(),
        app.state.keys.clone(),
        app.state.push.clone(),
        app.state.broker.clone(),
        shutdown.clone(),
        fast(),
    );
    for i in 0..3 {
        declare_for_all(&app, &officer, &format!("Wave {i}")).await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app
        .count("SELECT count(*) AS n FROM push_deliveries WHERE done_at IS NULL")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries left undone"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A restart: the worker stops after its pass, a new one starts over the same database.
    shutdown.cancel();
    running.await.unwrap();
    declare_for_all(&app, &officer, "After the restart").await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = worker::start(
        app.state.pool.clone(),
        app.state.keys.clone(),
        app.state.push.clone(),
        app.state.broker.clone(),
        shutdown.clone(),
        fast(),
    );
    while app
        .count("SELECT count(*) AS n FROM push_deliveries WHERE done_at IS NULL")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries left undone"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    running.await.unwrap();
    s.assert_no_violations();

    // Every notice arrived once on every device, in order, despite 5xx, 429 and a timeout.
    let expected = ["Wave 0", "Wave 1", "Wave 2", "After the restart"]
        .map(|t| format!("Security incident: {t}"));
    for device in ["flaky", "slow"] {
        let titles: Vec<String> = s
            .web
            .accepted_for(device)
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(titles, expected, "{device}");
    }
    let fcm: Vec<String> = s
        .fcm
        .accepted_for("fcm-bob")
        .iter()
        .map(|m| m["notification"]["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fcm, expected);
    // The failures were recorded and retried.
    assert!(
        app.count("SELECT count(*) AS n FROM push_deliveries WHERE attempts > 0")
            .await
            >= 3
    );
}

#[tokio::test]
async fn an_offline_members_device_and_an_open_socket_each_get_an_incident_once() {
    let s = Services::start().await;
    let app = s.app().await;
    let server = app.serve().await;
    let officer = app.staff("officer", "+8613900140051").await;
    let (online, _) = app.register("online", "+8613900140052").await;
    let (offline, _) = app.register("offline", "+8613900140053").await;
    let phone = s.web.subscribe("offline-phone");
    register(&app, &offline, web_input(&phone, "phone")).await;
    let tablet = s.web.subscribe("online-tablet");
    register(&app, &online, web_input(&tablet, "tablet")).await;
    let mut socket = Client::connect(&server, Some(&online)).await;
    socket.subscribe("n", None).await;

    declare_for_all(&app, &officer, "Leaked logs").await;
    let notice = socket.notice("n").await;
    assert_eq!(notice["title"], "Security incident: Leaked logs");
    deliver_all(&app, &fast()).await;

    let to_phone = s.web.accepted_for("offline-phone");
    assert_eq!(to_phone.len(), 1);
    assert_eq!(to_phone[0]["title"], "Security incident: Leaked logs");
    let to_tablet = s.web.accepted_for("online-tablet");
    assert_eq!(to_tablet.len(), 1);
    assert_eq!(to_tablet[0]["id"], notice["id"]);
    assert!(socket.quiet_for(Duration::from_millis(300)).await);
    s.assert_no_violations();
}

#[tokio::test]
async fn devices_are_in_the_export_and_go_with_the_account() {
    let s = Services::start().await;
    let app = s.app().await;
    let phone = "+8613900140061";
    let (alice, _) = app.register("alice", phone).await;
    let sub = s.web.subscribe("alice-browser");
    register(&app, &alice, web_input(&sub, "Firefox")).await;

    // The data export lists the device and where it is reached.
    let archive = app.export_archive(&alice).await;
    let devices = &archive["pushDevices"];
    assert_eq!(devices[0]["label"], "Firefox", "{archive}");
    assert_eq!(devices[0]["kind"], "web_push");
    assert_eq!(devices[0]["address"]["endpoint"], sub.endpoint);

    // Cancelling the account erases its devices when the cooling-off period ends.
    app.cancel_and_erase(&alice, phone).await;
    assert_eq!(app.count("SELECT count(*) AS n FROM push_devices").await, 0);
}

#[tokio::test]
async fn a_high_incident_also_goes_by_sms_and_email_and_the_report_counts_each_channel() {
    let s = Services::start().await;
    let app = s.app().await;
    let server = app.serve().await;
    let officer = app.staff("officer", "+8613900140071").await;
    let (alice, _) = app.register("alice", "+8613900140072").await;
    let (_bob, _) = app.register("bob", "+8613900140073").await;
    app.bind_email(&alice, "alice@example.com").await;
    let phone = s.web.subscribe("alice-phone");
    register(&app, &alice, web_input(&phone, "phone")).await;
    let mut socket = Client::connect(&server, Some(&alice)).await;
    socket.subscribe("n", None).await;
    // Alice's earlier account notices (new sign-in, email bound) come first on her socket.
    let mut incident_notice = None;
    let id = declare_for_all(&app, &officer, "Database exposed").await;
    while incident_notice.is_none() {
        let notice = socket.notice("n").await;
        if notice["kind"] == "SECURITY_INCIDENT" {
            incident_notice = Some(notice);
        }
    }
    let notice = incident_notice.unwrap();

    // One SMS per account with a phone (three), one email per verified address (alice), queued once.
    let queued = portico::accounts::incident_messages::run_due(&app.state.pool, &app.state.keys)
        .await
        .unwrap();
    assert_eq!(queued, 4);
    assert_eq!(
        portico::accounts::incident_messages::run_due(&app.state.pool, &app.state.keys)
            .await
            .unwrap(),
        0
    );
    let sms = app.last_message_to("+8613900140073").await.unwrap();
    assert_eq!(sms.kind, "security_incident");
    assert!(
        sms.text.contains("Security incident: Database exposed"),
        "{}",
        sms.text
    );
    let email = app.last_message_to("alice@example.com").await.unwrap();
    assert_eq!(
        email.subject.as_deref(),
        Some("Security incident: Database exposed")
    );
    assert!(email.text.contains("What you can do"), "{}", email.text);
    while portico::messaging::deliver_due(
        &app.state.pool,
        &app.state.keys,
        &portico::messaging::LogSender,
    )
    .await
    .unwrap()
        > 0
    {}
    deliver_all(&app, &fast()).await;
    let (_, body) = app
        .graphql_as(
            &alice,
            "mutation($id: ID!) { acknowledgeNotification(id: $id) { acknowledgedAt } }",
            json!({ "id": notice["id"] }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // A low incident reaches the app and the devices only.
    let mut low = incident_input("Minor misconfiguration", json!({ "all": true }));
    low["severity"] = json!("LOW");
    let (_, body) = app
        .graphql_as(&officer, DECLARE, json!({ "input": low }))
        .await;
    let low_id = body["data"]["declareIncident"]["id"].clone();
    assert_eq!(
        portico::accounts::incident_messages::run_due(&app.state.pool, &app.state.keys)
            .await
            .unwrap(),
        0
    );

    let report = "query($id: ID!) { incidentReport(id: $id) { channels { channel notified delivered acknowledged } document } }";
    // The socket's delivery is recorded in batches; wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let channels = loop {
        let (_, body) = app.graphql_as(&officer, report, json!({ "id": id })).await;
        let channels = body["data"]["incidentReport"]["channels"].clone();
        if channels[0]["delivered"] == 1 || std::time::Instant::now() > deadline {
            assert_eq!(
                body["data"]["incidentReport"]["document"]["channels"][2]["channel"],
                "sms"
            );
            break channels;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        channels,
        json!([
            { "channel": "SOCKET", "notified": 3, "delivered": 1, "acknowledged": 1 },
            { "channel": "PUSH", "notified": 1, "delivered": 1, "acknowledged": 1 },
            { "channel": "SMS", "notified": 3, "delivered": 3, "acknowledged": 1 },
            { "channel": "EMAIL", "notified": 1, "delivered": 1, "acknowledged": 1 },
        ])
    );
    let (_, body) = app
        .graphql_as(&officer, report, json!({ "id": low_id }))
        .await;
    assert_eq!(
        body["data"]["incidentReport"]["channels"][2]["notified"], 0,
        "{body}"
    );
}
