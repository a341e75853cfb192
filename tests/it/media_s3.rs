//! Uploads kept in S3-compatible storage: a real S3 server on loopback (moto's `moto_server`, from PyPI, which
//! `.ci/run` installs), the gateway streaming objects or redirecting to presigned URLs, and removal on deletion.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::harness::TestApp;
use crate::media::{janitor, jpeg, upload};
use portico::config::{MediaServe, MediaStorage, S3Config};

const BUCKET: &str = "portico-media";

/// A private S3 server on a free port, stopped when dropped.
struct S3Server {
    child: Child,
    url: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts one with the bucket made; `None` (outside CI) when moto is not installed.
    async fn start() -> Option<S3Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "skipped: moto_server is not installed ({e}); `pip install 'moto[server]'`"
                );
                return None;
            }
            Err(e) => panic!("moto_server is needed in CI: {e}"),
        };
        let server = S3Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match client.put(format!("{}/{BUCKET}", server.url)).send().await {
                Ok(res) if res.status().is_success() => return Some(server),
                _ if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!("moto_server did not start: {other:?}"),
            }
        }
    }

    fn storage(&self) -> MediaStorage {
        MediaStorage::S3(S3Config {
            bucket: BUCKET.into(),
            prefix: "site/images".into(),
            endpoint: Some(self.url.clone()),
            region: "us-east-1".into(),
            access_key_id: Some("portico-test".into()),
            secret_access_key: Some("portico-test-secret".into()),
        })
    }

    /// Whether S3 itself holds the object (a signed HEAD of its own, bypassing the gateway): 200 or 404.
    async fn status_of(&self, key: &str) -> u16 {
        let store = portico::media::Storage::from_config(&self.storage()).unwrap();
        if store.exists(key).await.unwrap() {
            200
        } else {
            404
        }
    }
}

fn key_of(url: &serde_json::Value) -> String {
    url.as_str()
        .unwrap()
        .strip_prefix("/media/")
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn uploads_live_in_s3_are_streamed_or_presigned_and_leave_with_their_work() {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let storage = s3.storage();
    let app = TestApp::with_config(|c| c.media.storage = storage.clone()).await;
    let (token, _) = app.register("cloud", "+8613811118820").await;
    let photo = jpeg(700, 500);
    let img = upload(&app, &token, &photo).await;
    let key = key_of(&img["url"]);
    assert_eq!(s3.status_of(&key).await, 200, "the object is in the bucket");
    for t in img["thumbnails"].as_array().unwrap() {
        assert_eq!(s3.status_of(&key_of(&t["url"])).await, 200);
    }

    // Streamed through the gateway.
    let res = app.get(img["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], format!("\"{key}\"").as_str());
    let streamed = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(streamed.len() as i64, img["bytes"].as_i64().unwrap());

    // Or a redirect to a presigned URL that S3 itself answers.
    let redirecting = app.reconfigured(|c| {
        c.media.storage = storage.clone();
        c.media.serve = MediaServe::Redirect;
    });
    let res = redirecting.get(img["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 307);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    let direct = reqwest::get(&location).await.unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.bytes().await.unwrap(), streamed);

    // Deleting the work takes the picture and its thumbnails out of the bucket.
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($input: PublishWorkInput!) { publishWork(input: $input) { id } }",
            json!({ "input": { "title": "Clouds", "category": "illustration", "imageIds": [&img["id"]] } }),
        )
        .await;
    let work = body["data"]["publishWork"]["id"].clone();
    app.graphql_as(
        &token,
        "mutation($id: ID!) { deleteWork(id: $id) { id } }",
        json!({ "id": work }),
    )
    .await;
    janitor(&app).await;
    assert_eq!(s3.status_of(&key).await, 404);
    for t in img["thumbnails"].as_array().unwrap() {
        assert_eq!(s3.status_of(&key_of(&t["url"])).await, 404);
    }
    assert_eq!(app.get(img["url"].as_str().unwrap()).await.status(), 404);
}
