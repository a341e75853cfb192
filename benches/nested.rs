//! End-to-end HTTP benchmark of the gateway: `cargo bench --bench nested`.
//!
//! Creates and migrates a bench database (`PORTICO_BENCH_DATABASE_URL`, default `portico_bench` on the local
//! server), loads the demonstration data, starts the gateway in-process on a loopback port (its own runtime,
//! as the binary runs it, with mimalloc and a pool of 4), mints a session for one demonstration member, and
//! drives each query from many concurrent keep-alive connections for a fixed time, reporting requests per
//! second and latency percentiles. The load generator shares the machine with the gateway and PostgreSQL.
//! `cargo bench --bench compare` runs the same load against PostGraphile 4 and pgbench as well.
//!
//! Knobs: `PORTICO_BENCH_SECONDS` (default 10 per scenario, after 2 s of warm-up),
//! `PORTICO_BENCH_CONNECTIONS` (default 32), `PORTICO_BENCH_POOL_SIZE` (default 4).
//!
//! `PORTICO_BENCH_SERVE=FILE` drives nothing: it prepares the database and the gateway the same way, writes
//! `{"endpoint": ..., "token": ...}` to FILE and serves until it is sent SIGINT or SIGTERM, for an outside
//! driver or profiler (`benches/callgrind.sh` counts the instructions of one request this way).

#[path = "load/mod.rs"]
mod load;

use std::time::Duration;

use load::{NESTED, POLICY, SEARCH};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Scenario {
    name: &'static str,
    query: &'static str,
    signed_in: bool,
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
    let portico = server_rt.block_on(load::start_portico(&load::database_url()))?;
    println!("portico bench: {}", portico.loaded);
    if let Ok(file) = std::env::var("PORTICO_BENCH_SERVE") {
        return server_rt.block_on(serve(portico, &file));
    }
    let seconds: u64 = load::env_or("PORTICO_BENCH_SECONDS", 10);
    let connections: usize = load::env_or("PORTICO_BENCH_CONNECTIONS", 32);
    println!(
        "gateway at {}; pool {}, {connections} connections, {seconds} s per scenario after 2 s warm-up, {} cores \
         shared by gateway, PostgreSQL and load generator",
        portico.endpoint,
        portico.state.config.pool_size,
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
        Scenario {
            name: "search \"bru\" (20 hits), visitor",
            query: SEARCH,
            signed_in: false,
        },
    ];
    println!("\n{}", load::TABLE_HEADER);
    for s in &scenarios {
        let bearer = s.signed_in.then_some(portico.access_token.as_str());
        let endpoint = portico.endpoint.as_str();
        client_rt.block_on(check(endpoint, s.query, bearer))?;
        client_rt.block_on(load::drive(
            endpoint,
            s.query,
            bearer,
            connections,
            Duration::from_secs(2),
        ));
        let o = client_rt.block_on(load::drive(
            endpoint,
            s.query,
            bearer,
            connections,
            Duration::from_secs(seconds),
        ));
        println!("{}", o.row(s.name));
    }
    portico.state.shutdown.cancel();
    Ok(())
}

/// Writes where the gateway is and a member's token to `file`, then serves until SIGINT or SIGTERM.
async fn serve(portico: load::Portico, file: &str) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let info = serde_json::json!({ "endpoint": portico.endpoint, "token": portico.access_token });
    std::fs::write(file, info.to_string())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    portico.state.shutdown.cancel();
    Ok(())
}

/// Runs the query once and checks the answer: a full page for the lists.
async fn check(endpoint: &str, query: &str, bearer: Option<&str>) -> anyhow::Result<()> {
    // The first requests may open pooled connections (their setup counts as statements): keep the last count.
    let mut answer = load::post(endpoint, query, bearer).await?;
    for _ in 0..2 {
        answer = load::post(endpoint, query, bearer).await?;
    }
    let (body, statements) = answer;
    for list in ["works", "search"] {
        if let Some(edges) = body["data"][list]["edges"].as_array() {
            anyhow::ensure!(
                edges.len() == 20,
                "expected 20 {list} edges, got {}",
                edges.len()
            );
        }
    }
    eprintln!(
        "checked {} ({} SQL statements per request)",
        query.split_whitespace().nth(1).unwrap_or(""),
        statements.as_deref().unwrap_or("?")
    );
    Ok(())
}
