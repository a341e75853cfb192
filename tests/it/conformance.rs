//! Conformance checks with real clients written by others: the Node scripts in `tests/conformance/`
//! (graphql-http's audit, graphql-ws's client, GraphiQL in headless Chromium, a Web Push service built on
//! http_ece) against a real server.
//!
//! They need Node with `npm ci --prefix tests/conformance`, and Chromium for GraphiQL. Where those are
//! missing the checks are skipped with a note, unless `CI` is set or `PORTICO_CONFORMANCE=1`: then they fail,
//! so CI always runs them while plain `cargo test` on a machine with only PostgreSQL still passes.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::TestApp;

/// How long one script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);
/// The WebSocket init timeout the server runs with, so the 4408 probe is quick.
const WS_INIT_TIMEOUT_MS: u64 = 500;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn chromium() -> PathBuf {
    std::env::var_os("PORTICO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// True when a missing prerequisite must fail the test rather than skip it.
fn required() -> bool {
    let set = |name: &str| {
        std::env::var(name)
            .is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
    };
    set("CI") || std::env::var("PORTICO_CONFORMANCE").is_ok_and(|v| v == "1")
}

/// What is missing to run `script`, if anything.
async fn missing(script: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let node = tokio::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if !node.is_ok_and(|s| s.success()) {
        missing.push("`node` (Node.js 20 or later) on PATH".to_string());
    }
    let modules = conformance_dir().join("node_modules");
    if !modules.join(".package-lock.json").is_file() {
        missing.push(format!("{} (npm ci)", modules.display()));
    }
    if script == "graphiql.mjs" && !chromium().is_file() {
        missing.push(format!(
            "{} (apt-get install chromium, or set PORTICO_CHROMIUM)",
            chromium().display()
        ));
    }
    missing
}

/// True when the check can run; otherwise skips it with a note, or fails it where it is required.
async fn ready(script: &str) -> bool {
    let missing = missing(script).await;
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    assert!(
        !required(),
        "conformance check {script} cannot run (CI or PORTICO_CONFORMANCE=1 requires it): missing {what}. \
         Run `npm ci --prefix tests/conformance` and install chromium."
    );
    eprintln!(
        "skipped conformance check {script}: missing {what}. \
         Run `npm ci --prefix tests/conformance` (and install chromium) to run it; \
         CI=1 or PORTICO_CONFORMANCE=1 makes this a failure."
    );
    false
}

/// Runs `node tests/conformance/<script> <base> <args...>` and asserts it succeeds.
async fn run_script(script: &str, base: &str, args: &[&str], envs: &[(&str, &str)]) {
    let dir = conformance_dir();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(dir.join(script))
        .arg(base)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {SCRIPT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("could not start node for {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    // Shown with `--nocapture`: the audit's warnings are a report worth reading.
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_audit_finds_no_must_failure() {
    if !ready("audit.mjs").await {
        return;
    }
    let app = TestApp::new().await;
    let server = app.serve().await;
    run_script("audit.mjs", &server.http_url(""), &[], &[]).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_client_and_close_codes() {
    if !ready("ws-client.mjs").await {
        return;
    }
    let app = TestApp::with_config(|c| {
        c.ws_init_timeout = Duration::from_millis(WS_INIT_TIMEOUT_MS);
    })
    .await;
    let server = app.serve().await;
    let timeout = WS_INIT_TIMEOUT_MS.to_string();
    run_script(
        "ws-client.mjs",
        &server.http_url(""),
        &[&timeout],
        &[("PORTICO_WS_INIT_TIMEOUT_MS", &timeout)],
    )
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_in_chromium_offline_under_its_csp() {
    if !ready("graphiql.mjs").await {
        return;
    }
    let app = TestApp::new().await;
    let server = app.serve().await;
    run_script("graphiql.mjs", &server.http_url(""), &[], &[]).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_push_service_on_http_ece_decrypts_and_verifies_the_gateways_push() {
    if !ready("webpush.mjs").await {
        return;
    }
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (member, _) = app.register("nodepush", "+8613900160001").await;
    let staff = app.staff("nodestaff", "+8613900160002").await;
    // The push worker, as `portico serve` runs it.
    let worker = portico::realtime::devices::worker::start(
        app.state.pool.clone(),
        app.state.keys.clone(),
        app.state.push.clone(),
        app.state.broker.clone(),
        app.state.shutdown.clone(),
        portico::realtime::devices::worker::Settings::default(),
    );
    run_script("webpush.mjs", &server.http_url(""), &[&member, &staff], &[]).await;
    app.state.shutdown.cancel();
    let _ = worker.await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_data_upload_from_nodes_fetch_is_taken_and_a_cross_site_one_is_not() {
    if !ready("upload.mjs").await {
        return;
    }
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (member, _) = app.register("nodeupload", "+8613900160003").await;
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("upload-{}.jpg", app.db.name));
    std::fs::write(&path, crate::media::jpeg(1600, 1200)).unwrap();
    run_script(
        "upload.mjs",
        &server.http_url(""),
        &[&member, path.to_str().unwrap()],
        &[],
    )
    .await;
    let _ = std::fs::remove_file(&path);
    server.shutdown().await;
}
