//! End-to-end HTTP benchmark of the gateway: `cargo bench --bench nested`.
//!
//! Creates and migrates a bench database (`PORTICO_BENCH_DATABASE_URL`, default `portico_bench` on the local
//! server), loads the demonstration data, starts the gateway in-process on a loopback port (its own runtime,
//! as the binary runs it, with mimalloc and a pool of 4), mints a session for one demonstration member, and
//! drives each query from many concurrent keep-alive connections for a fixed time, reporting requests per
//! second and latency percentiles. The load generator shares the machine with the gateway and PostgreSQL.
//!
//! Knobs: `PORTICO_BENCH_SECONDS` (default 10 per scenario, after 2 s of warm-up),
//! `PORTICO_BENCH_CONNECTIONS` (default 32), `PORTICO_BENCH_POOL_SIZE` (default 4).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use portico::app::AppState;
use portico::config::Config;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The web client's feed, as the issue describes it: 20 works, each with its author, tags, collection count
/// and whether the viewer collected it.
const NESTED: &str = "query Nested { works(first: 20) { edges { cursor node { id title coverUrl tags \
    author { id username avatarUrl } collectionCount viewerHasCollected } } pageInfo { hasNextPage endCursor } } }";
/// A small query that touches two tables.
const POLICY: &str = "query PrivacyPolicy { privacyPolicy { version publishedAt purposes { key title \
    description required dataCategories recipients } } }";

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Scenario {
    name: &'static str,
    query: &'static str,
    signed_in: bool,
}

struct Outcome {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Outcome {
    fn percentile_ms(&self, per_mille: usize) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = (self.latencies_us.len() * per_mille / 1000).min(self.latencies_us.len() - 1);
        self.latencies_us[i] as f64 / 1000.0
    }
}

fn main() -> anyhow::Result<()> {
    // The gateway runs on a runtime of its own, like the binary; the load generator on another.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let url = std::env::var("PORTICO_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/portico_bench".into());
    let (state, addr, token, loaded) = server_rt.block_on(start(&url))?;
    println!("portico bench: {loaded}");
    let seconds: u64 = env_or("PORTICO_BENCH_SECONDS", 10);
    let connections: usize = env_or("PORTICO_BENCH_CONNECTIONS", 32);
    println!(
        "gateway at http://{addr}/graphql; pool {}, {connections} connections, {seconds} s per scenario after 2 s \
         warm-up, {} cores shared by gateway, PostgreSQL and load generator",
        state.config.pool_size,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let scenarios = [
        Scenario {
            name: "nested works (20 x author, tags, counts), signed in",
            query: NESTED,
            signed_in: true,
        },
        Scenario {
            name: "nested works, visitor",
            query: NESTED,
            signed_in: false,
        },
        Scenario {
            name: "privacyPolicy, visitor",
            query: POLICY,
            signed_in: false,
        },
    ];
    println!(
        "\n| scenario | requests | req/s | p50 ms | p99 ms | p99.9 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for s in &scenarios {
        let bearer = s.signed_in.then_some(token.as_str());
        let endpoint = format!("http://{addr}/graphql");
        client_rt.block_on(check(&endpoint, s.query, bearer))?;
        client_rt.block_on(drive(
            &endpoint,
            s.query,
            bearer,
            connections,
            Duration::from_secs(2),
        ));
        let o = client_rt.block_on(drive(
            &endpoint,
            s.query,
            bearer,
            connections,
            Duration::from_secs(seconds),
        ));
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            s.name,
            o.requests,
            o.requests as f64 / o.elapsed.as_secs_f64(),
            o.percentile_ms(500),
            o.percentile_ms(990),
            o.percentile_ms(999),
            o.errors
        );
    }
    state.shutdown.cancel();
    Ok(())
}

/// Prepares the database and data, starts the gateway, and mints a session for one demonstration member.
async fn start(url: &str) -> anyhow::Result<(AppState, std::net::SocketAddr, String, String)> {
    let mut config = Config::for_database(url);
    config.pool_size = env_or("PORTICO_BENCH_POOL_SIZE", 4);
    let state = AppState::start(config)
        .await
        .context("preparing the bench database")?;
    let report = portico::demo::load(&state.pool).await?;
    let member = &portico::demo::generate().users[0].username;
    let mut conn = state.pool.get().await?;
    let account = member_id(&mut conn, member).await?;
    let tokens = state
        .accounts
        .open_session(
            &mut conn,
            account,
            "bench",
            Some("bench"),
            &Default::default(),
        )
        .await?;
    drop(conn);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let serving = state.clone();
    tokio::spawn(async move {
        let stop = serving.shutdown.clone();
        let _ =
            portico::app::serve_on(listener, serving, async move { stop.cancelled().await }).await;
    });
    Ok((state, addr, tokens.access_token, report.to_string()))
}

async fn member_id(
    conn: &mut diesel_async::AsyncPgConnection,
    username: &str,
) -> anyhow::Result<i64> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let row: Id = diesel::sql_query("SELECT id FROM accounts WHERE lower(username) = lower($1)")
        .bind::<diesel::sql_types::Text, _>(username)
        .get_result(conn)
        .await?;
    Ok(row.id)
}

fn request(
    client: &reqwest::Client,
    endpoint: &str,
    body: &Arc<Vec<u8>>,
    bearer: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut req = client
        .post(endpoint)
        .header("content-type", "application/json")
        .body(body.as_ref().clone());
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req
}

fn body_of(query: &str) -> Arc<Vec<u8>> {
    Arc::new(serde_json::to_vec(&serde_json::json!({ "query": query })).expect("JSON"))
}

/// Runs the query once and checks the answer (and, for the nested query, that it is a full page).
async fn check(endpoint: &str, query: &str, bearer: Option<&str>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let res = request(&client, endpoint, &body_of(query), bearer)
        .send()
        .await?;
    let statements = res
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_string();
    let body: serde_json::Value = res.json().await?;
    anyhow::ensure!(body.get("errors").is_none(), "the query failed: {body}");
    if let Some(edges) = body["data"]["works"]["edges"].as_array() {
        anyhow::ensure!(edges.len() == 20, "expected 20 works, got {}", edges.len());
    }
    eprintln!(
        "checked {} ({statements} SQL statements per request)",
        query.split_whitespace().nth(1).unwrap_or("")
    );
    Ok(())
}

/// `connections` tasks send the query back to back on one shared client until `duration` has passed.
async fn drive(
    endpoint: &str,
    query: &str,
    bearer: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let body = body_of(query);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, body, endpoint) = (client.clone(), body.clone(), endpoint.to_string());
            let bearer = bearer.map(str::to_string);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(4096);
                let mut errors = 0usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = match request(&client, &endpoint, &body, bearer.as_deref())
                        .send()
                        .await
                    {
                        Ok(res) if res.status().is_success() => res.bytes().await.is_ok_and(|b| {
                            b.starts_with(b"{\"data\"")
                                && !b.windows(9).any(|w| w == b"\"errors\":")
                        }),
                        _ => false,
                    };
                    latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    errors += usize::from(!ok);
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("load task");
        latencies_us.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Outcome {
        requests: latencies_us.len(),
        errors,
        elapsed,
        latencies_us,
    }
}
