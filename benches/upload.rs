//! Image uploads: how many 12-megapixel JPEGs (4000 × 3000, a photograph's noise, about 4 MB) the gateway takes
//! per second, one at a time and eight at once, and its peak memory while eight arrive together.
//!
//! The gateway runs in a child process (this binary with `UPLOAD_GATEWAY=1`) over a fresh database on the local
//! PostgreSQL and a fresh media folder, so its peak resident memory (`VmHWM`) is its own; this process is the
//! client, sending GraphQL multipart requests over loopback. Each upload is a different picture, so every one is
//! decoded, turned, re-encoded, thumbnailed and stored.
//!
//! `cargo bench --bench upload`; `UPLOAD_ROUNDS` rounds of eight (default 3).

#[allow(dead_code)]
#[path = "fanout/setup.rs"]
mod setup;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use setup::BenchDb;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BOUNDARY: &str = "portico-bench-boundary";
const UPLOAD: &str = "mutation($file: Upload!) { uploadImage(file: $file) { id width height thumbnails { width } } }";
const AT_ONCE: usize = 8;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os("UPLOAD_GATEWAY").is_some() {
        return runtime.block_on(gateway()).unwrap();
    }
    let rounds = std::env::var("UPLOAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize);
    runtime.block_on(client(rounds)).unwrap();
}

/// The gateway: one member, its token on stdout, served until stdin closes.
async fn gateway() -> anyhow::Result<()> {
    let db = BenchDb::create(1).await?;
    let dir = std::env::temp_dir().join(format!("portico-upload-bench-{}", std::process::id()));
    let mut config = portico::config::Config::for_database(&db.url);
    config.media.storage = portico::config::MediaStorage::Local(dir.clone());
    let state = portico::state::AppState::connect(config, &db.url)?;
    let (pairs, _) = db.members().await?;
    let (token, _) = state.accounts.tokens.issue(
        pairs[0].account_id,
        pairs[0].session_id,
        chrono::Utc::now().timestamp(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
        let _ = stop.send(());
    });
    println!("READY {addr} {token}");
    std::io::stdout().flush()?;
    portico::app::serve_on(listener, state, async {
        let _ = stopped.await;
    })
    .await?;
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_database().await
}

/// A 4000 × 3000 photograph-like JPEG (smooth light plus sensor noise), different for each `seed`.
fn photo(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        image::Rgb([
            ((x / 16) as u8).wrapping_add(noise),
            ((y / 12) as u8).wrapping_add(noise),
            (((x + y) / 28) as u8).wrapping_add(noise),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

fn body(file: &[u8]) -> Vec<u8> {
    let operations = serde_json::json!({ "query": UPLOAD, "variables": { "file": null } });
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.file\"]}}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// The child's resident memory now and at its peak (`VmRSS`, `VmHWM`), in MiB.
fn memory_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let read = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (read("VmRSS:"), read("VmHWM:"))
}

async fn client(rounds: usize) -> anyhow::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("UPLOAD_GATEWAY", "1")
        .env("PORTICO_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("the gateway says READY")?;
    let mut words = ready.split_whitespace().skip(1);
    let url = format!("http://{}/graphql", words.next().unwrap());
    let token = words.next().unwrap().to_string();

    let pictures = 1 + AT_ONCE * (rounds + 1);
    println!("upload: preparing {pictures} different 12-megapixel JPEGs");
    let bodies: Vec<Vec<u8>> = (0..pictures as u32).map(|s| body(&photo(s))).collect();
    let mean_mb = bodies.iter().map(Vec::len).sum::<usize>() as f64 / pictures as f64 / 1e6;
    println!("upload: {mean_mb:.1} MB per request");
    let http = reqwest::Client::new();
    let send = |b: Vec<u8>| {
        let req = http
            .post(&url)
            .header("authorization", format!("Bearer {token}"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(b);
        async move {
            let res = req.send().await.expect("the gateway answers");
            let answer: serde_json::Value = res.json().await.expect("a JSON answer");
            assert_eq!(
                answer["data"]["uploadImage"]["width"], 4000,
                "upload failed: {answer}"
            );
        }
    };
    let mut bodies = bodies.into_iter();
    // Warm-up: one upload (the pool's connections, the first allocations).
    send(bodies.next().unwrap()).await;
    let (idle, _) = memory_of(child.id());

    // One at a time.
    let started = Instant::now();
    for _ in 0..AT_ONCE {
        send(bodies.next().unwrap()).await;
    }
    let sequential = AT_ONCE as f64 / started.elapsed().as_secs_f64();
    let (_, peak_sequential) = memory_of(child.id());

    // Eight at once, `rounds` times.
    let started = Instant::now();
    for _ in 0..rounds {
        let batch: Vec<_> = (0..AT_ONCE).map(|_| send(bodies.next().unwrap())).collect();
        futures_util::future::join_all(batch).await;
    }
    let concurrent = (AT_ONCE * rounds) as f64 / started.elapsed().as_secs_f64();
    let (_, peak) = memory_of(child.id());

    println!("upload: one at a time: {sequential:.2} uploads/s");
    println!("upload: eight at once: {concurrent:.2} uploads/s");
    println!(
        "upload: gateway memory: {idle:.0} MiB after warm-up, peak {peak_sequential:.0} MiB one at a time, peak {peak:.0} MiB with eight at once"
    );
    drop(child.stdin.take());
    child.wait()?;
    Ok(())
}
