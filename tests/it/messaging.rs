//! SMS and email delivery: the encrypted outbox, signed webhooks, retries with backoff, worker restarts and two
//! workers side by side, against a real PostgreSQL and a fake webhook on loopback.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use diesel::sql_types::{BigInt, Bool, Bytea, Integer, Nullable, Text};
use diesel_async::AsyncConnection;
use portico::backoff::Backoff;
use portico::broker::{Broker, BrokerEvent};
use portico::messaging::{
    self, Channel, LogSender, Message, SendError, Sender, Settings, WebhookSender,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::harness::TestApp;

const SECRET: &str = "test-webhook-secret-0123456789";
const PHONE: &str = "+8613812345678";
const EMAIL: &str = "ada@example.com";
const CODE: &str = "482915";

fn sms(phone: &str) -> Message {
    Message {
        channel: Channel::Sms,
        to: phone.into(),
        kind: "verification_code".into(),
        subject: None,
        text: format!("Your Portico verification code is {CODE}. It expires in 10 minutes."),
        data: json!({ "code": CODE, "expires_in_minutes": 10 }),
    }
}

fn email(to: &str) -> Message {
    Message {
        channel: Channel::Email,
        to: to.into(),
        kind: "verification_code".into(),
        subject: Some("Your Portico code".into()),
        text: format!("Your code is {CODE}."),
        data: json!({ "code": CODE }),
    }
}

/// Fast retries for tests: tens of milliseconds instead of seconds.
fn fast() -> Settings {
    Settings {
        backoff: Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        lease: Duration::from_secs(30),
        batch: 32,
        send_timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(50),
    }
}

// ---- a fake webhook receiver ----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Received {
    path: String,
    timestamp: String,
    signature: String,
    message_id: String,
    content_type: String,
    body: Bytes,
    accepted: bool,
}

#[derive(Default)]
struct HookState {
    received: Mutex<Vec<Received>>,
    fail_next: AtomicUsize,
    delay_ms: AtomicUsize,
}

/// Records every request; answers 503 while `fail_next` is above zero (counting it down), 204 otherwise.
struct FakeWebhook {
    addr: SocketAddr,
    state: Arc<HookState>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeWebhook {
    async fn start() -> FakeWebhook {
        let state = Arc::new(HookState::default());
        let router = Router::new()
            .route("/sms", post(receive))
            .route("/email", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeWebhook { addr, state, task }
    }

    fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    fn delay(&self, ms: usize) {
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.accepted).collect()
    }

    fn sender(&self) -> WebhookSender {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        WebhookSender::new(
            client,
            SECRET,
            Some(format!("http://{}/sms", self.addr)),
            Some(format!("http://{}/email", self.addr)),
        )
    }
}

impl Drop for FakeWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(state): State<Arc<HookState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let fail = state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        timestamp: header("x-portico-timestamp"),
        signature: header("x-portico-signature"),
        message_id: header("x-portico-message-id"),
        content_type: header("content-type"),
        body,
        accepted: !fail,
    });
    if fail {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

// ---- database helpers -----------------------------------------------------------------------------------------

#[derive(diesel::QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Bool)]
    sent: bool,
    #[diesel(sql_type = Bool)]
    waiting: bool,
    #[diesel(sql_type = Bytea)]
    payload: Vec<u8>,
    #[diesel(sql_type = Text)]
    whole: String,
}

async fn row(app: &TestApp, id: i64) -> Row {
    use diesel_async::RunQueryDsl;
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "SELECT attempts, last_error, sent_at IS NOT NULL AS sent, next_attempt_at > now() AS waiting, \
                payload_ciphertext AS payload, row_to_json(o)::text AS whole \
         FROM outbox_messages o WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .get_result(&mut conn)
    .await
    .unwrap()
}

/// How many queued messages match `filter`.
async fn count(app: &TestApp, filter: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM outbox_messages WHERE {filter}"
    ))
    .await
}

/// Enqueues `msg` in a transaction of its own, which commits.
async fn enqueue_committed(app: &TestApp, msg: &Message) -> i64 {
    let mut conn = app.state.pool.get().await.unwrap();
    let keys = app.state.keys.clone();
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        messaging::enqueue(c, &keys, msg).await
    })
    .await
    .unwrap()
}

async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next `outbox` notification's id, if one arrives within `timeout`.
async fn next_outbox_event(
    events: &mut tokio::sync::broadcast::Receiver<BrokerEvent>,
    timeout: Duration,
) -> Option<String> {
    tokio::time::timeout(timeout, async {
        loop {
            if let Ok(BrokerEvent::Notify { topic, id }) = events.recv().await
                && topic == "outbox"
            {
                return id;
            }
        }
    })
    .await
    .ok()
}

async fn connected(broker: &Broker) {
    eventually("the broker to listen", Duration::from_secs(10), || async {
        broker.is_connected()
    })
    .await;
}

// ---- tests ----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn enqueued_messages_are_delivered_once_signed_and_marked_sent() {
    let app = TestApp::new().await;
    let hook = FakeWebhook::start().await;
    connected(&app.state.broker).await;
    let mut events = app.state.broker.subscribe();

    let sms_id = enqueue_committed(&app, &sms(PHONE)).await;
    assert_eq!(
        next_outbox_event(&mut events, Duration::from_secs(5)).await,
        Some(sms_id.to_string()),
        "a committed enqueue wakes the workers"
    );
    let email_id = enqueue_committed(&app, &email(EMAIL)).await;

    let sender = hook.sender();
    let sent = messaging::deliver_due(&app.state.pool, &app.state.keys, &sender)
        .await
        .unwrap();
    assert_eq!(sent, 2);

    let got = hook.received();
    assert_eq!(got.len(), 2, "{got:?}");
    let by_id: HashMap<_, _> = got.iter().map(|r| (r.message_id.clone(), r)).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (id, path, msg) in [
        (sms_id, "/sms", sms(PHONE)),
        (email_id, "/email", email(EMAIL)),
    ] {
        let r = by_id[&id.to_string()];
        assert_eq!(r.path, path);
        assert_eq!(r.content_type, "application/json");
        let ts: u64 = r.timestamp.parse().expect("unix seconds");
        assert!(ts.abs_diff(now) < 60, "timestamp {ts} vs {now}");
        assert!(r.signature.starts_with("sha256="), "{}", r.signature);
        assert!(messaging::verify_signature(
            SECRET.as_bytes(),
            &r.timestamp,
            &r.body,
            &r.signature
        ));
        assert!(!messaging::verify_signature(
            b"another secret",
            &r.timestamp,
            &r.body,
            &r.signature
        ));
        let body: Message = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body, msg);
        let row = row(&app, id).await;
        assert!(row.sent);
        assert_eq!(row.attempts, 0);
        assert_eq!(row.last_error, None);
    }

    // Nothing is sent twice.
    let again = messaging::deliver_due(&app.state.pool, &app.state.keys, &sender)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(hook.received().len(), 2);
}

#[tokio::test]
async fn outbox_rows_hold_no_plaintext_phone_address_or_code() {
    let app = TestApp::new().await;
    let sms_id = enqueue_committed(&app, &sms(PHONE)).await;
    let email_id = enqueue_committed(&app, &email(EMAIL)).await;
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for (id, secret_values) in [
        (sms_id, [PHONE, "13812345678", CODE]),
        (email_id, [EMAIL, "ada@", CODE]),
    ] {
        let row = row(&app, id).await;
        for value in secret_values {
            assert!(
                !row.payload
                    .windows(value.len())
                    .any(|w| w == value.as_bytes()),
                "ciphertext holds {value}"
            );
            assert!(
                !row.whole.contains(value),
                "row holds {value}: {}",
                row.whole
            );
            assert!(
                !row.whole.contains(&hex(value)),
                "row holds hex of {value}: {}",
                row.whole
            );
        }
        // The sealed payload opens to the whole message with the application's keys.
        let opened: Message =
            portico::messaging::outbox::open_payload(&app.state.keys, id, &row.payload).unwrap();
        assert_eq!(opened.to, if id == sms_id { PHONE } else { EMAIL });
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_until_delivered_once() {
    let app = TestApp::new().await;
    let hook = FakeWebhook::start().await;
    hook.fail_next(2);
    let settings = Settings {
        backoff: Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_millis(400),
        },
        ..fast()
    };
    let sender = hook.sender();
    let id = enqueue_committed(&app, &sms(PHONE)).await;

    let sent = messaging::deliver_due_with(&app.state.pool, &app.state.keys, &sender, &settings)
        .await
        .unwrap();
    assert_eq!(sent, 0);
    let after_first = row(&app, id).await;
    assert_eq!(after_first.attempts, 1);
    assert!(!after_first.sent);
    assert!(after_first.waiting, "the retry waits for its backoff");
    assert!(
        after_first
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("503"),
        "{after_first:?}"
    );

    // Not due yet: a pass right away sends nothing.
    let early = messaging::deliver_due_with(&app.state.pool, &app.state.keys, &sender, &settings)
        .await
        .unwrap();
    assert_eq!(early, 0);
    assert_eq!(hook.received().len(), 1);

    let mut passes = 0;
    eventually(
        "the message to be delivered",
        Duration::from_secs(10),
        || {
            passes += 1;
            async {
                messaging::deliver_due_with(&app.state.pool, &app.state.keys, &sender, &settings)
                    .await
                    .unwrap();
                row(&app, id).await.sent
            }
        },
    )
    .await;

    let done = row(&app, id).await;
    assert_eq!(done.attempts, 2, "two failures before the success");
    assert!(
        done.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("503"),
        "{done:?}"
    );
    let got = hook.received();
    assert_eq!(got.len(), 3, "two failures and one success: {got:?}");
    assert!(
        got.iter().all(|r| r.message_id == id.to_string()),
        "the id is stable across retries"
    );
    assert_eq!(hook.accepted().len(), 1);
    assert!(passes > 1);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing_to_send() {
    let app = TestApp::new().await;
    let hook = FakeWebhook::start().await;
    connected(&app.state.broker).await;
    let mut events = app.state.broker.subscribe();

    let mut conn = app.state.pool.get().await.unwrap();
    let keys = app.state.keys.clone();
    let rolled_back = conn
        .transaction::<(), diesel::result::Error, _>(async |c| {
            messaging::enqueue(c, &keys, &sms(PHONE)).await?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(rolled_back.is_err());
    drop(conn);

    assert_eq!(count(&app, "true").await, 0);
    let sent = messaging::deliver_due(&app.state.pool, &app.state.keys, &hook.sender())
        .await
        .unwrap();
    assert_eq!(sent, 0);
    assert!(hook.received().is_empty());

    // The rolled-back notification never arrives: the first one is for the next committed message.
    let committed = enqueue_committed(&app, &email(EMAIL)).await;
    assert_eq!(
        next_outbox_event(&mut events, Duration::from_secs(5)).await,
        Some(committed.to_string())
    );
}

#[tokio::test]
async fn a_message_survives_a_worker_restart_while_the_webhook_is_down() {
    let app = TestApp::new().await;
    let hook = FakeWebhook::start().await;
    hook.fail_next(usize::MAX);
    let sender: Arc<dyn Sender> = Arc::new(hook.sender());
    let s = &app.state;

    let first = CancellationToken::new();
    let worker = messaging::start_with(
        s.pool.clone(),
        s.keys.clone(),
        sender.clone(),
        s.broker.clone(),
        first.clone(),
        fast(),
    );
    let id = enqueue_committed(&app, &sms(PHONE)).await;
    eventually("a failed attempt", Duration::from_secs(10), || async {
        row(&app, id).await.attempts >= 1
    })
    .await;
    first.cancel();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker stops when cancelled")
        .unwrap();

    // Stopped: no more attempts, nothing delivered, the message still waits.
    let tries = hook.received().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.received().len(), tries);
    assert!(hook.accepted().is_empty());
    assert!(!row(&app, id).await.sent);

    // The webhook comes back, and a new worker ("after the restart") delivers it.
    hook.fail_next(0);
    let second = CancellationToken::new();
    let worker = messaging::start_with(
        s.pool.clone(),
        s.keys.clone(),
        sender,
        s.broker.clone(),
        second.clone(),
        fast(),
    );
    eventually(
        "delivery after the restart",
        Duration::from_secs(10),
        || async { row(&app, id).await.sent },
    )
    .await;
    second.cancel();
    worker.await.unwrap();
    let accepted = hook.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].message_id, id.to_string());
}

/// Counts what one worker sent.
struct Counting {
    inner: WebhookSender,
    sent: AtomicUsize,
}

#[async_trait]
impl Sender for Counting {
    async fn send(&self, id: i64, msg: &Message) -> Result<(), SendError> {
        self.inner.send(id, msg).await?;
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn two_workers_deliver_each_message_exactly_once() {
    let app = TestApp::new().await;
    let hook = FakeWebhook::start().await;
    hook.delay(5);
    // A second gateway instance: its own pool and its own broker over the same database.
    let mut config = portico::config::Config::for_database(&app.db.url);
    config.pool_size = 4;
    let pool2 = portico::db::build_pool(&config, &app.db.url).unwrap();
    let broker2 = Broker::start(app.db.url.clone());
    let settings = Settings { batch: 8, ..fast() };

    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(enqueue_committed(&app, &sms(&format!("+86138000{i:05}"))).await);
    }
    let counters: Vec<Arc<Counting>> = (0..2)
        .map(|_| {
            Arc::new(Counting {
                inner: hook.sender(),
                sent: AtomicUsize::new(0),
            })
        })
        .collect();
    let stop = CancellationToken::new();
    let workers = [
        messaging::start_with(
            app.state.pool.clone(),
            app.state.keys.clone(),
            counters[0].clone(),
            app.state.broker.clone(),
            stop.clone(),
            settings.clone(),
        ),
        messaging::start_with(
            pool2,
            app.state.keys.clone(),
            counters[1].clone(),
            broker2,
            stop.clone(),
            settings,
        ),
    ];
    // More arrive while both workers run.
    for i in 25..50 {
        ids.push(enqueue_committed(&app, &email(&format!("user{i}@example.com"))).await);
    }
    eventually(
        "all 50 messages to be sent",
        Duration::from_secs(30),
        || async { count(&app, "sent_at IS NULL").await == 0 },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    for w in workers {
        w.await.unwrap();
    }

    let got = hook.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.message_id.clone()).or_default() += 1;
    }
    assert_eq!(got.len(), 50, "every message exactly once");
    for id in &ids {
        assert_eq!(per_id.get(&id.to_string()), Some(&1), "message {id}");
    }
    let shares: Vec<usize> = counters
        .iter()
        .map(|c| c.sent.load(Ordering::SeqCst))
        .collect();
    assert_eq!(shares.iter().sum::<usize>(), 50, "{shares:?}");
    assert_eq!(
        count(&app, "sent_at IS NOT NULL AND attempts = 0").await,
        50
    );
}

/// A `MakeWriter` into a shared buffer, to read what was logged.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_log_sender_logs_the_code_and_marks_messages_sent() {
    let app = TestApp::new().await;
    let ids = [
        enqueue_committed(&app, &sms(PHONE)).await,
        enqueue_committed(&app, &email(EMAIL)).await,
    ];
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let sent = {
        // This test's runtime runs on this thread, so a thread-local subscriber sees the sender's events.
        let _guard = tracing::subscriber::set_default(subscriber);
        messaging::deliver_due(&app.state.pool, &app.state.keys, &LogSender)
            .await
            .unwrap()
    };
    assert_eq!(sent, 2);
    for id in ids {
        assert!(row(&app, id).await.sent);
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(CODE), "the developer sees the code: {text}");
    assert!(text.contains(PHONE) && text.contains(EMAIL), "{text}");
}

#[tokio::test]
async fn unreachable_or_slow_webhooks_count_as_failures() {
    let app = TestApp::new().await;
    // Nothing listens on a port we bound and released.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let down = WebhookSender::new(
        client.clone(),
        SECRET,
        Some(format!("http://{closed}/sms")),
        None,
    );
    let id = enqueue_committed(&app, &sms(PHONE)).await;
    let sent = messaging::deliver_due_with(&app.state.pool, &app.state.keys, &down, &fast())
        .await
        .unwrap();
    assert_eq!(sent, 0);
    let r = row(&app, id).await;
    assert_eq!(r.attempts, 1);
    let error = r.last_error.unwrap_or_default();
    assert!(error.contains("transport error"), "{error}");
    assert!(
        !error.contains(&closed.port().to_string()),
        "no URL in the stored error: {error}"
    );

    let hook = FakeWebhook::start().await;
    hook.delay(1_000);
    let slow = hook.sender().with_timeout(Duration::from_millis(200));
    let email_id = enqueue_committed(&app, &email(EMAIL)).await;
    // An email with no email webhook and no fallback stays queued.
    let no_email = messaging::deliver_due_with(&app.state.pool, &app.state.keys, &down, &fast())
        .await
        .unwrap();
    assert_eq!(no_email, 0);
    let r = row(&app, email_id).await;
    assert!(r.last_error.unwrap_or_default().contains("not configured"));

    eventually("a timed-out attempt", Duration::from_secs(10), || async {
        messaging::deliver_due_with(&app.state.pool, &app.state.keys, &slow, &fast())
            .await
            .unwrap();
        row(&app, email_id)
            .await
            .last_error
            .unwrap_or_default()
            .contains("timed out")
    })
    .await;
    assert!(!row(&app, email_id).await.sent);
}

#[test]
fn signatures_reject_a_wrong_secret_or_a_tampered_body() {
    let body = serde_json::to_vec(&sms(PHONE)).unwrap();
    let header = messaging::sign(SECRET.as_bytes(), "1767225600", &body);
    assert!(messaging::verify_signature(
        SECRET.as_bytes(),
        "1767225600",
        &body,
        &header
    ));
    assert!(!messaging::verify_signature(
        b"wrong secret",
        "1767225600",
        &body,
        &header
    ));
    let mut tampered = body.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    assert!(!messaging::verify_signature(
        SECRET.as_bytes(),
        "1767225600",
        &tampered,
        &header
    ));
    assert!(!messaging::verify_signature(
        SECRET.as_bytes(),
        "1767225601",
        &body,
        &header
    ));
    assert!(!messaging::verify_signature(
        SECRET.as_bytes(),
        "1767225600",
        &body,
        "sha256=00"
    ));
    assert!(!messaging::verify_signature(
        SECRET.as_bytes(),
        "1767225600",
        &body,
        ""
    ));
}
