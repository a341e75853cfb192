//! The client side of the fan-out bench, run in child processes (so their sockets and memory are not counted
//! against the gateway): opens one graphql-transport-ws socket per token with several `notifications`
//! subscriptions each, reports READY when every subscription has replayed its welcome notice, then DONE with the
//! arrival times of the next notice (the incident) at every subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const QUERY: &str = "subscription($after: String) { notifications(after: $after) { id title } }";

#[derive(Default)]
struct Counters {
    ready: AtomicUsize,
    done: AtomicUsize,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
    failed: AtomicUsize,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Runs the client: `FANOUT_URL`, `FANOUT_TOKENS` (a file, one access token a line), `FANOUT_PER_SOCKET`,
/// `FANOUT_AFTER` (the cursor to subscribe after).
pub fn run() {
    let url = std::env::var("FANOUT_URL").unwrap();
    let tokens: Vec<String> = std::fs::read_to_string(std::env::var("FANOUT_TOKENS").unwrap())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let per_socket: usize = std::env::var("FANOUT_PER_SOCKET").unwrap().parse().unwrap();
    let after = std::env::var("FANOUT_AFTER").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let total = tokens.len() * per_socket;
        let counters = Arc::new(Counters {
            first_ns: AtomicU64::new(u64::MAX),
            ..Default::default()
        });
        let gate = Arc::new(Semaphore::new(128));
        for token in tokens {
            let (url, after, counters, gate) =
                (url.clone(), after.clone(), counters.clone(), gate.clone());
            tokio::spawn(async move {
                if let Err(e) = socket(&url, &token, per_socket, &after, &counters, &gate).await {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("fanout client: {e}");
                }
            });
        }
        wait_for(&counters.ready, total, &counters).await;
        println!("READY");
        wait_for(&counters.done, total, &counters).await;
        println!(
            "DONE {} {} {}",
            counters.done.load(Ordering::Relaxed),
            counters.first_ns.load(Ordering::Relaxed),
            counters.last_ns.load(Ordering::Relaxed)
        );
    });
}

async fn wait_for(counter: &AtomicUsize, total: usize, counters: &Counters) {
    while counter.load(Ordering::Relaxed) < total {
        if counters.failed.load(Ordering::Relaxed) > 0 {
            println!("FAILED");
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn socket(
    url: &str,
    token: &str,
    per_socket: usize,
    after: &str,
    counters: &Counters,
    gate: &Semaphore,
) -> anyhow::Result<()> {
    let permit = gate.acquire().await?;
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await?;
    for i in 0..per_socket {
        let subscribe = json!({
            "type": "subscribe", "id": i.to_string(),
            "payload": { "query": QUERY, "variables": { "after": after } }
        });
        ws.send(Message::text(subscribe.to_string())).await?;
    }
    let mut seen = vec![0u8; per_socket];
    let mut welcomed = 0;
    let mut permit = Some(permit);
    while let Some(frame) = ws.next().await {
        let text = match frame? {
            Message::Text(text) => text,
            Message::Close(frame) => anyhow::bail!("closed: {frame:?}"),
            _ => continue,
        };
        let message: Value = serde_json::from_str(&text)?;
        match message["type"].as_str() {
            Some("connection_ack") => {}
            Some("next") => {
                let at = now_ns();
                let op: usize = message["id"].as_str().unwrap_or("").parse()?;
                seen[op] += 1;
                if seen[op] == 1 {
                    counters.ready.fetch_add(1, Ordering::Relaxed);
                    welcomed += 1;
                    if welcomed == per_socket {
                        // Set up: let the next socket connect.
                        permit.take();
                    }
                } else if seen[op] == 2 {
                    counters.first_ns.fetch_min(at, Ordering::Relaxed);
                    counters.last_ns.fetch_max(at, Ordering::Relaxed);
                    counters.done.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => anyhow::bail!("unexpected message: {text}"),
        }
    }
    Ok(())
}
