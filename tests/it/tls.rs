//! Native HTTPS: the gateway serves TLS itself when a certificate is configured, with HSTS in production.

use std::time::Duration;

use crate::harness::TestApp;

struct Files {
    dir: std::path::PathBuf,
    cert_pem: String,
}

fn certificate() -> Files {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("portico-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert_pem = ck.cert.pem();
    std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    Files { dir, cert_pem }
}

#[tokio::test]
async fn serves_https_with_hsts_in_production() {
    let files = certificate();
    let app = TestApp::with_config(|c| c.env = portico::config::Environment::Production).await;
    let tls =
        portico::http::tls::server_config(&files.dir.join("cert.pem"), &files.dir.join("key.pem"))
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(portico::app::serve_tls_on(
        listener,
        tls,
        app.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(files.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let res = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let res = client
        .post(format!("https://localhost:{port}/graphql"))
        .header("content-type", "application/json")
        .body(r#"{"query":"{ privacyPolicy { version } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["data"]["privacyPolicy"]["version"],
        "1"
    );
    // A client that does not trust the certificate is refused, and plain HTTP gets no answer.
    let untrusting = reqwest::Client::builder()
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    assert!(
        plain
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&files.dir);
}

#[test]
fn refuses_a_mismatched_or_missing_certificate() {
    let a = certificate();
    let b = certificate();
    let err = portico::http::tls::server_config(&a.dir.join("cert.pem"), &b.dir.join("key.pem"))
        .unwrap_err();
    assert!(format!("{err:#}").contains("do not match"), "{err:#}");
    assert!(
        portico::http::tls::server_config(&a.dir.join("nope.pem"), &a.dir.join("key.pem")).is_err()
    );
    let _ = std::fs::remove_dir_all(&a.dir);
    let _ = std::fs::remove_dir_all(&b.dir);
}
