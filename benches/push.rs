//! Push delivery throughput: one incident to every account, each with one device, through the outbox to a local
//! fake push service.
//!
//! The gateway's worker runs in this process over a fresh database on the local PostgreSQL; the fake services
//! (FCM: a token endpoint and a send endpoint; Web Push: a push endpoint) run in a child process (this binary
//! with `PUSH_FAKE=1`), so they take none of the gateway's threads. Reported: the time to queue the pushes (part
//! of the declaration's one statement) and the deliveries per second from the first pass until none is left,
//! for FCM (a JSON POST with a cached OAuth token) and Web Push (an RFC 8291 encryption and a cached VAPID token
//! per push).
//!
//! `cargo bench --bench push`; `PUSH_DEVICES` devices per service (default 10,000).

// The fan-out bench's database setup; this bench uses part of it.
#[allow(dead_code)]
#[path = "fanout/setup.rs"]
mod setup;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::StreamExt;
use portico::config::Config;
use portico::push::Target;
use portico::realtime::devices::worker::{self, Settings};
use portico::realtime::devices::{NewDevice, Rules};
use portico::realtime::service::declare_incident;
use portico::state::AppState;

use diesel_async::RunQueryDsl;
use setup::BenchDb;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FCM_KEY: &str = include_str!("../tests/fixtures/fcm-test-key.pem");

fn main() {
    if std::env::var_os("PUSH_FAKE").is_some() {
        return fake();
    }
    let devices = std::env::var("PUSH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000usize);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(devices)).unwrap();
}

/// The fake services: answers every push at once and counts them.
fn fake() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use axum::routing::post;
        let router = axum::Router::new()
            .route(
                "/token",
                post(|| async {
                    axum::Json(serde_json::json!({ "access_token": "bench", "expires_in": 3600 }))
                }),
            )
            .route(
                "/v1/projects/bench/messages:send",
                post(|| async { axum::Json(serde_json::json!({ "name": "m" })) }),
            )
            .route(
                "/push/{id}",
                post(|| async { axum::http::StatusCode::CREATED }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap());
        axum::serve(listener, router).await.unwrap();
    });
}

async fn run(devices: usize) -> anyhow::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("PUSH_FAKE", "1")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("the fake's address")?;
    let fake = line.trim_start_matches("LISTENING ").to_string();

    let dir = std::env::temp_dir().join(format!("portico-push-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let account = serde_json::json!({
        "project_id": "bench", "client_email": "bench@bench.iam.gserviceaccount.com",
        "private_key": FCM_KEY, "token_uri": format!("http://{fake}/token"),
    });
    std::fs::write(dir.join("fcm.json"), account.to_string())?;

    for kind in ["FCM", "Web Push"] {
        let db = BenchDb::create(devices).await?;
        let (members, staff) = db.members().await?;
        let mut config = Config::for_database(&db.url);
        config.push.fcm_service_account = Some(dir.join("fcm.json"));
        config.push.fcm_api_url = format!("http://{fake}");
        config.pool_size = 16;
        let state = AppState::connect(config, &db.url)?;
        let p256dh = {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(secret.public_key().to_encoded_point(false).as_bytes())
        };
        let started = Instant::now();
        futures_util::stream::iter(members.iter().enumerate())
            .map(|(i, m)| {
                let target = match kind {
                    "FCM" => Target::Fcm {
                        token: format!("bench-token-{i}"),
                    },
                    _ => Target::WebPush {
                        endpoint: format!("http://{fake}/push/{i}"),
                        p256dh: p256dh.clone(),
                        auth: "BTBZMqHH6r4Tts7J_aSIgg".into(),
                    },
                };
                let device = NewDevice {
                    target,
                    label: String::new(),
                };
                portico::realtime::devices::register(
                    &state.pool,
                    &state.keys,
                    Rules {
                        allow_loopback_http: true,
                    },
                    m.account_id,
                    device,
                )
            })
            .buffer_unordered(8)
            .for_each(|r| async move {
                r.expect("registered");
            })
            .await;
        println!(
            "{kind}: {devices} devices registered in {:.1?}",
            started.elapsed()
        );

        let t0 = Instant::now();
        declare_incident(
            &state.pool,
            staff,
            setup::drill("Push bench", "A drill: one push to every device.", false),
        )
        .await?;
        let declare = t0.elapsed();
        // The worker as the gateway runs it, with its default settings, until every push is done.
        let t1 = Instant::now();
        let stop = tokio_util::sync::CancellationToken::new();
        let running = worker::start(
            state.pool.clone(),
            state.keys.clone(),
            state.push.clone(),
            state.broker.clone(),
            stop.clone(),
            Settings::default(),
        );
        loop {
            let mut conn = state.pool.get().await?;
            let (done, failed): (i64, i64) = diesel::sql_query(
                "SELECT count(done_at) AS done, count(*) FILTER (WHERE attempts > 0) AS failed \
                 FROM push_deliveries",
            )
            .get_result::<Progress>(&mut conn)
            .await
            .map(|p| (p.done, p.failed))?;
            assert_eq!(failed, 0, "no push may fail");
            if done as usize >= devices {
                break;
            }
            drop(conn);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let elapsed = t1.elapsed();
        println!(
            "{kind}: declaring (notices and {devices} queued pushes, one statement) took {declare:.1?}; \
             {devices} pushes delivered in {elapsed:.2?} = {:.0} per second",
            devices as f64 / elapsed.as_secs_f64()
        );
        stop.cancel();
        running.await?;
        drop(state);
        db.drop_database().await?;
    }
    let _ = child.kill();
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Progress {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    done: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    failed: i64,
}
