//! Fan-out of one security incident to many open `notifications` subscriptions.
//!
//! The gateway runs in this process over a fresh database on the local PostgreSQL; the WebSocket clients run in
//! child processes (this same binary with `FANOUT_CLIENT=1`), so the gateway's memory is measured alone and each
//! process stays under the open-file limit. Every socket carries several subscriptions (the protocol allows up to
//! 100). Reported: resident memory per open subscription (VmRSS before the sockets open and after every
//! subscription has replayed its welcome notice), the time to declare the incident (one `INSERT ... SELECT` for
//! every account), and the time from the declaration until the first and the last subscription had its notice.
//!
//! `cargo bench --bench fanout`; sizes from `FANOUT_SOCKETS` (default 10,000), `FANOUT_PER_SOCKET` (default 5)
//! and `FANOUT_CLIENTS` (client processes, default 2).

#[path = "fanout/client.rs"]
mod client;
#[path = "fanout/setup.rs"]
mod setup;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portico::config::Config;
use portico::realtime::service::{cursor, declare_incident};
use portico::state::AppState;

use setup::{BenchDb, open_file_limit, rss_bytes};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var_os("FANOUT_CLIENT").is_some() {
        return client::run();
    }
    let sockets = env_or("FANOUT_SOCKETS", 10_000);
    let per_socket = env_or("FANOUT_PER_SOCKET", 5).clamp(1, 100);
    let clients = env_or("FANOUT_CLIENTS", 2).max(1);
    let limit = open_file_limit();
    assert!(
        sockets + 200 < limit && sockets / clients + 100 < limit,
        "{sockets} sockets do not fit the open-file limit of {limit}: raise it or add client processes"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(sockets, per_socket, clients)).unwrap();
}

/// A client process and the lines it prints.
struct ClientProcess {
    child: Child,
    lines: std::io::Lines<BufReader<ChildStdout>>,
}

impl ClientProcess {
    fn expect(&mut self, prefix: &str) -> String {
        let line = self.lines.next().expect("a line").expect("readable");
        assert!(line.starts_with(prefix), "client said {line:?}");
        line
    }
}

async fn run(sockets: usize, per_socket: usize, clients: usize) -> anyhow::Result<()> {
    let subscriptions = sockets * per_socket;
    println!(
        "fan-out: {subscriptions} subscriptions on {sockets} sockets ({per_socket} each) from {clients} client processes"
    );
    let started = Instant::now();
    let db = BenchDb::create(sockets).await?;
    let (members, staff) = db.members().await?;
    println!("database ready in {:.1?}", started.elapsed());

    let mut config = Config::for_database(&db.url);
    config.ws_init_timeout = Duration::from_secs(120);
    let state = AppState::connect(config, &db.url)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(portico::app::serve_on(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    while !state.broker.is_connected() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_bytes();

    // Tokens for every member, split among the client processes.
    let now = chrono::Utc::now().timestamp();
    let dir = std::env::temp_dir().join(format!("portico-fanout-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut processes = Vec::new();
    let setup_started = Instant::now();
    for (i, chunk) in members.chunks(sockets.div_ceil(clients)).enumerate() {
        let path = dir.join(format!("tokens-{i}"));
        let mut file = std::fs::File::create(&path)?;
        for pair in chunk {
            let (token, _) = state
                .accounts
                .tokens
                .issue(pair.account_id, pair.session_id, now);
            writeln!(file, "{token}")?;
        }
        let mut child = Command::new(std::env::current_exe()?)
            .env("FANOUT_CLIENT", "1")
            .env("FANOUT_URL", format!("ws://{addr}/graphql/ws"))
            .env("FANOUT_TOKENS", &path)
            .env("FANOUT_PER_SOCKET", per_socket.to_string())
            .env("FANOUT_AFTER", cursor(0))
            .stdout(Stdio::piped())
            .spawn()?;
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        processes.push(ClientProcess { child, lines });
    }
    let processes = tokio::task::spawn_blocking(move || {
        for p in &mut processes {
            p.expect("READY");
        }
        processes
    })
    .await?;
    let setup_time = setup_started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = rss_bytes();

    // One incident for every account.
    let declared_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let t0 = Instant::now();
    let incident = declare_incident(
        &state.pool,
        staff,
        setup::drill(
            "Fan-out bench",
            "A drill: one notice to every account.",
            true,
        ),
    )
    .await?;
    let declare_time = t0.elapsed();
    let done = tokio::task::spawn_blocking(move || {
        processes
            .into_iter()
            .map(|mut p| {
                let line = p.expect("DONE");
                let _ = p.child.wait();
                line
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let (mut first, mut last, mut received) = (u64::MAX, 0u64, 0usize);
    for line in done {
        let parts: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        received += parts[0] as usize;
        first = first.min(parts[1]);
        last = last.max(parts[2]);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let delivered = db.delivered(incident.id).await?;

    let per_subscription = rss_open.saturating_sub(rss_before) as f64 / subscriptions as f64;
    let ms = |ns: u64| ns.saturating_sub(declared_at) as f64 / 1e6;
    println!("sockets open and subscribed in {setup_time:.1?}");
    println!(
        "gateway VmRSS: {:.1} MiB before, {:.1} MiB with every subscription open",
        rss_before as f64 / 1048576.0,
        rss_open as f64 / 1048576.0
    );
    println!(
        "memory per open subscription: {:.1} KiB ({:.1} KiB per socket with {per_socket} subscriptions)",
        per_subscription / 1024.0,
        per_subscription * per_socket as f64 / 1024.0
    );
    println!(
        "declareIncident for {} accounts: {:.0} ms (one INSERT ... SELECT, one NOTIFY)",
        incident.affected_count,
        declare_time.as_secs_f64() * 1000.0
    );
    println!(
        "{received} of {subscriptions} subscriptions received the notice: first after {:.0} ms, last after {:.0} ms",
        ms(first),
        ms(last)
    );
    println!(
        "notices recorded as delivered: {delivered} of {}",
        incident.affected_count
    );
    assert_eq!(received, subscriptions);

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_database().await?;
    Ok(())
}
