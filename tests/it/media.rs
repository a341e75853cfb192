//! Images end to end: GraphQL multipart uploads (and every refusal), what processing leaves in the file (no
//! EXIF, no GPS, turned upright, thumbnails), `/media/<key>` serving, works and avatars built from uploads, and
//! removal from storage on deletion, replacement, expiry and erasure. Local storage here; S3 in `media_s3`.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use image::{DynamicImage, ImageDecoder, ImageFormat};
use serde_json::{Value, json};

use crate::harness::{TestApp, code, json_body};

pub const UPLOAD: &str = "mutation UploadImage($file: Upload!) { uploadImage(file: $file) { id url width height contentType bytes thumbnails { width height url } } }";
const BOUNDARY: &str = "portico-test-7MA4YWxkTrZu0gW";

/// A GraphQL multipart body: `operations`, `map`, then the files (name, bytes), as graphql-upload clients send.
pub fn multipart(operations: &Value, map: &Value, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut text_part = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    text_part("operations", &operations.to_string());
    text_part("map", &map.to_string());
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The usual one-file upload body.
pub fn one_file(bytes: &[u8]) -> Vec<u8> {
    multipart(
        &json!({ "query": UPLOAD, "variables": { "file": null } }),
        &json!({ "0": ["variables.file"] }),
        &[("0", bytes)],
    )
}

/// Sends a multipart body; `token` signs it in, otherwise it carries only `GraphQL-Require-Preflight`.
pub async fn send(app: &TestApp, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = Request::post("/graphql").header(
        "content-type",
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    req = match token {
        Some(t) => req.header("authorization", format!("Bearer {t}")),
        None => req.header("graphql-require-preflight", "1"),
    };
    let res = app.request(req.body(Body::from(body)).unwrap()).await;
    let status = res.status().as_u16();
    (status, json_body(res).await)
}

/// Sends a multipart body with these extra headers; the status.
async fn raw(app: &TestApp, headers: &[(&str, String)], body: Body) -> u16 {
    let mut req = Request::post("/graphql").header(
        "content-type",
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    app.request(req.body(body).unwrap()).await.status().as_u16()
}

/// Uploads `bytes` as `token`; the `uploadImage` answer.
pub async fn upload(app: &TestApp, token: &str, bytes: &[u8]) -> Value {
    let (status, body) = send(app, Some(token), one_file(bytes)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["uploadImage"].clone()
}

/// A photograph-like JPEG (a gradient, so it compresses like one).
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([10, 200, 30, 128]));
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// An EXIF block (little-endian TIFF) with an orientation, a GPS position and a camera maker note.
fn exif(orientation: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II\x2a\x00\x08\x00\x00\x00");
    // IFD0 at 8: Orientation, GPSInfo pointer; GPS IFD at 8 + 2 + 2 * 12 + 4 = 38.
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0]);
    t.extend_from_slice(&orientation.to_le_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0]);
    t.extend_from_slice(&38u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: LatitudeRef "N", Latitude 30/1 15/1 0/1 at 38 + 2 + 24 + 4 = 68.
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    t.extend_from_slice(&[0x02, 0x00, 5, 0, 3, 0, 0, 0]);
    t.extend_from_slice(&68u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(30u32, 1u32), (15, 1), (0, 1)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    t
}

/// A JPEG straight from a phone: EXIF with GPS and orientation, XMP, and a comment.
pub fn phone_photo(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let plain = jpeg(w, h);
    let segment = |marker: u8, payload: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    };
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&exif(orientation));
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>30,15N</exif:GPSLatitude></x:xmpmeta>";
    let mut out = plain[..2].to_vec();
    out.extend(segment(0xE1, &app1));
    out.extend(segment(0xE1, xmp));
    out.extend(segment(0xFE, b"shot at 30.25N 120.17E"));
    out.extend_from_slice(&plain[2..]);
    out
}

async fn fetch(app: &TestApp, url: &str) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let res = app.get(url).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

/// Files in the app's media folder.
pub fn stored_files(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&app.db.media_dir())
}

/// Runs the media job's pass (the gateway runs it when a row is deleted).
pub async fn janitor(app: &TestApp) {
    portico::media::janitor::pass(&app.state.pool, app.state.media.storage())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_phone_photo_loses_its_location_is_turned_upright_and_gets_thumbnails() {
    let app = TestApp::new().await;
    let (token, _) = app.register("lens", "+8613811118801").await;
    let original = phone_photo(1600, 900, 6);
    assert!(original.windows(4).any(|w| w == b"Exif"));
    let img = upload(&app, &token, &original).await;
    // Orientation 6 is "rotate 90° clockwise": the stored picture is upright, so portrait.
    assert_eq!(
        (img["width"].as_i64(), img["height"].as_i64()),
        (Some(900), Some(1600)),
        "{img}"
    );
    assert_eq!(img["contentType"], "image/jpeg");
    let thumbs: Vec<(i64, i64)> = img["thumbnails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["width"].as_i64().unwrap(), t["height"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        thumbs,
        vec![(320, 568), (640, 1137)],
        "never upscaled past 900"
    );

    let (status, headers, bytes) = fetch(&app, img["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(bytes.len() as i64, img["bytes"].as_i64().unwrap());
    // Read back with an image library: no EXIF block, no XMP, no comment, and the pixels are upright.
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(decoder.exif_metadata().unwrap(), None);
    assert_eq!(decoder.dimensions(), (900, 1600));
    for needle in [&b"Exif"[..], b"GPS", b"xmpmeta", b"ns.adobe.com", b"30.25N"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} survived",
            String::from_utf8_lossy(needle)
        );
    }
    for t in img["thumbnails"].as_array().unwrap() {
        let (status, _, bytes) = fetch(&app, t["url"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!(decoded.width() as i64, t["width"].as_i64().unwrap());
        assert!(!bytes.windows(4).any(|w| w == b"Exif"));
    }

    // Serving: immutable caching, a strong ETag and 304, nothing a browser could run.
    let url = img["url"].as_str().unwrap();
    let (_, headers, _) = fetch(&app, url).await;
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"));
    let res = app
        .request(
            Request::get(url)
                .header("if-none-match", &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), 304);
    assert_eq!(app.get("/media/not-a-key.jpg").await.status(), 404);
    assert_eq!(
        app.get(&format!("/media/{}.jpg", "0".repeat(64)))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn png_webp_and_gif_are_taken_and_the_same_picture_is_stored_once() {
    let app = TestApp::new().await;
    let (a, _) = app.register("mei", "+8613811118802").await;
    let (b, _) = app.register("lin", "+8613811118803").await;
    let p = upload(&app, &a, &png(700, 400)).await;
    assert_eq!(p["contentType"], "image/png");
    assert_eq!(p["thumbnails"].as_array().unwrap().len(), 2);
    let decoded =
        image::load_from_memory(&fetch(&app, p["url"].as_str().unwrap()).await.2).unwrap();
    assert!(decoded.color().has_alpha(), "transparency is kept");

    let mut webp = Vec::new();
    DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        50,
        40,
        image::Rgba([1, 2, 3, 255]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut webp), ImageFormat::WebP)
    .unwrap();
    let w = upload(&app, &a, &webp).await;
    assert_eq!(
        (w["width"].as_i64(), w["contentType"].as_str()),
        (Some(50), Some("image/png"))
    );
    let mut gif = Vec::new();
    DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        30,
        20,
        image::Rgba([9, 9, 9, 255]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut gif), ImageFormat::Gif)
    .unwrap();
    assert_eq!(upload(&app, &a, &gif).await["height"], 20);

    // Two members upload the same photo: two uploads, one stored object set.
    let files = stored_files(&app);
    let photo = jpeg(400, 300);
    let first = upload(&app, &a, &photo).await;
    let after_first = stored_files(&app);
    assert_eq!(after_first, files + 2, "the picture and its 320 thumbnail");
    let second = upload(&app, &b, &photo).await;
    assert_eq!(first["url"], second["url"]);
    assert_ne!(first["id"], second["id"]);
    assert_eq!(stored_files(&app), after_first);
}

#[tokio::test]
async fn every_bad_upload_is_refused_and_leaves_nothing_behind() {
    let app = TestApp::with_config(|c| c.media.max_upload_bytes = 256 * 1024).await;
    let (token, _) = app.register("careful", "+8613811118804").await;
    let t = Some(token.as_str());
    let photo = jpeg(64, 64);

    // A visitor (the preflight header, no token) may not upload.
    let (_, body) = send(&app, None, one_file(&photo)).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    // A multipart form with neither a bearer token nor the preflight header could come from any site: 415.
    assert_eq!(raw(&app, &[], Body::from(one_file(&photo))).await, 415);
    // Even with the session cookie a browser would attach: cookies are what CSRF rides on.
    assert_eq!(
        raw(
            &app,
            &[("cookie", format!("__Host-portico-access={token}"))],
            Body::from(one_file(&photo))
        )
        .await,
        415
    );

    // Not images, whatever the name or declared type says; a damaged image; a decompression bomb.
    let mut truncated = png(300, 300);
    truncated.truncate(truncated.len() / 2);
    let mut cut_photo = phone_photo(300, 200, 1);
    cut_photo.truncate(cut_photo.len() * 2 / 3);
    for (bytes, needle) in [
        (b"%PDF-1.7\n%...".to_vec(), "not a JPEG, PNG, WebP or GIF"),
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
            "not a JPEG",
        ),
        (Vec::new(), "not a JPEG"),
        (truncated, "damaged or truncated"),
        (cut_photo, "damaged or truncated"),
        (bomb(20_000, 20_000), "40 megapixels"),
    ] {
        let (status, body) = send(&app, t, one_file(&bytes)).await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{body}"
        );
    }

    // Malformed requests: 400 with BAD_USER_INPUT.
    let ops = json!({ "query": UPLOAD, "variables": { "file": null } });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a map to a variable the operation does not have",
            multipart(&ops, &json!({ "0": ["variables.other"] }), &[("0", &photo)]),
        ),
        ("a map that is not JSON", {
            let mut b = multipart(&ops, &json!({}), &[]);
            let at = b.windows(2).position(|w| w == b"{}").unwrap();
            b.splice(at..at + 2, b"{0: nope".iter().copied());
            b
        }),
        (
            "a file part the map does not name",
            multipart(
                &ops,
                &json!({ "0": ["variables.file"] }),
                &[("0", &photo), ("1", &photo)],
            ),
        ),
        (
            "a map naming a file that is not there",
            multipart(&ops, &json!({ "0": ["variables.file"] }), &[]),
        ),
        (
            "one file referenced twice",
            multipart(
                &json!({ "query": "mutation($a: Upload!, $b: Upload!) { a: uploadImage(file: $a) { id } b: uploadImage(file: $b) { id } }", "variables": { "a": null, "b": null } }),
                &json!({ "0": ["variables.a", "variables.b"] }),
                &[("0", &photo)],
            ),
        ),
        (
            "two files for one variable",
            multipart(
                &ops,
                &json!({ "0": ["variables.file"], "1": ["variables.file"] }),
                &[("0", &photo), ("1", &photo)],
            ),
        ),
        ("a truncated body", {
            let b = one_file(&photo);
            b[..b.len() - 40].to_vec()
        }),
        ("operations missing", {
            let b = one_file(&photo);
            let start = b.windows(5).position(|w| w == b"--por").unwrap();
            let second = b[start + 5..]
                .windows(5)
                .position(|w| w == b"--por")
                .unwrap()
                + start
                + 5;
            b[second..].to_vec()
        }),
    ];
    for (what, body) in cases {
        let (status, answer) = send(&app, t, body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{what}: {answer}");
    }
    // At most 10 files.
    let mut map = serde_json::Map::new();
    let mut vars = serde_json::Map::new();
    let mut files = Vec::new();
    for i in 0..11 {
        map.insert(i.to_string(), json!([format!("variables.f{i}")]));
        vars.insert(format!("f{i}"), Value::Null);
        files.push((
            Box::leak(i.to_string().into_boxed_str()) as &str,
            &photo[..],
        ));
    }
    let (status, _) = send(
        &app,
        t,
        multipart(
            &json!({ "query": UPLOAD, "variables": vars }),
            &Value::Object(map),
            &files,
        ),
    )
    .await;
    assert_eq!(status, 400);

    // Over PORTICO_MAX_UPLOAD_BYTES: 413, with a declared length and while streaming one without.
    let big = vec![0u8; 300 * 1024];
    let body = one_file(&big);
    assert_eq!(
        raw(
            &app,
            &[
                ("content-length", body.len().to_string()),
                ("authorization", format!("Bearer {token}"))
            ],
            Body::from(body)
        )
        .await,
        413
    );
    let chunks = one_file(&big)
        .chunks(16 * 1024)
        .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    assert_eq!(
        raw(
            &app,
            &[("authorization", format!("Bearer {token}"))],
            Body::from_stream(futures_util::stream::iter(chunks))
        )
        .await,
        413
    );

    assert_eq!(app.count("SELECT count(*) AS n FROM images").await, 0);
    assert_eq!(stored_files(&app), 0);
}

/// A PNG that declares `w` × `h` pixels in a few hundred bytes.
fn bomb(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

const PUBLISH: &str = "mutation PublishWorkWithImages($input: PublishWorkInput!) { publishWork(input: $input) { id coverUrl images { id url width height contentType thumbnails { width url } } } }";

#[tokio::test]
async fn works_show_uploads_in_order_and_take_them_out_of_storage_when_they_go() {
    let app = TestApp::new().await;
    let (token, _) = app.register("illustrator", "+8613811118805").await;
    let (other, _) = app.register("someone", "+8613811118806").await;
    let a = upload(&app, &token, &jpeg(800, 600)).await;
    let b = upload(&app, &token, &png(300, 200)).await;
    let theirs = upload(&app, &other, &jpeg(100, 100)).await;

    // Someone else's upload is refused, and nothing is written.
    let input = |ids: Vec<&Value>| json!({ "input": { "title": "Harbour", "category": "illustration", "imageIds": ids } });
    let (_, body) = app
        .graphql_as(&token, PUBLISH, input(vec![&a["id"], &theirs["id"]]))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(app.count("SELECT count(*) AS n FROM works").await, 0);
    let (_, body) = app
        .graphql_as(&token, PUBLISH, input(vec![&a["id"], &a["id"]]))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    // In order: b first, then a; the cover is b.
    let (_, body) = app
        .graphql_as(&token, PUBLISH, input(vec![&b["id"], &a["id"]]))
        .await;
    let work = &body["data"]["publishWork"];
    assert_eq!(work["coverUrl"], b["url"], "{body}");
    assert_eq!(work["images"][0]["id"], b["id"]);
    assert_eq!(work["images"][1]["width"], 800);
    assert_eq!(work["images"][1]["thumbnails"][1]["width"], 640);
    // An image is in one work at a time.
    let (_, body) = app.graphql_as(&token, PUBLISH, input(vec![&a["id"]])).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // External URLs still work, and not together with uploads.
    let (_, body) = app
        .graphql_as(
            &token,
            PUBLISH,
            json!({ "input": { "title": "Linked", "category": "illustration",
            "images": [{ "url": "https://img.example.com/1.jpg", "width": 10, "height": 10 }] } }),
        )
        .await;
    assert_eq!(
        body["data"]["publishWork"]["images"][0]["id"],
        Value::Null,
        "{body}"
    );
    assert_eq!(
        body["data"]["publishWork"]["images"][0]["thumbnails"],
        json!([])
    );

    // Replacing the images removes the upload the work no longer shows, rows and objects.
    let c = upload(&app, &token, &jpeg(500, 500)).await;
    let update = "mutation($id: ID!, $ids: [ID!]) { updateWork(id: $id, input: { imageIds: $ids }) { coverUrl images { id } } }";
    let (_, body) = app
        .graphql_as(
            &token,
            update,
            json!({ "id": work["id"], "ids": [&c["id"], &a["id"]] }),
        )
        .await;
    assert_eq!(body["data"]["updateWork"]["coverUrl"], c["url"], "{body}");
    janitor(&app).await;
    assert_eq!(fetch(&app, b["url"].as_str().unwrap()).await.0, 404);
    assert_eq!(fetch(&app, a["url"].as_str().unwrap()).await.0, 200);

    // Deleting the work removes its uploads from storage.
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($id: ID!) { deleteWork(id: $id) { id } }",
            json!({ "id": work["id"] }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    janitor(&app).await;
    for img in [&a, &c] {
        assert_eq!(fetch(&app, img["url"].as_str().unwrap()).await.0, 404);
        for t in img["thumbnails"].as_array().unwrap() {
            assert_eq!(fetch(&app, t["url"].as_str().unwrap()).await.0, 404);
        }
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM images WHERE owner_id = (SELECT id FROM accounts WHERE username = 'illustrator')").await,
        0
    );
    assert_eq!(
        fetch(&app, theirs["url"].as_str().unwrap()).await.0,
        200,
        "others' uploads stay"
    );
}

#[tokio::test]
async fn an_upload_left_unattached_for_a_day_is_removed_unless_shared() {
    let app = TestApp::new().await;
    let (a, _) = app.register("forgetful", "+8613811118807").await;
    let (b, _) = app.register("keeper", "+8613811118808").await;
    let photo = jpeg(200, 100);
    let lonely = upload(&app, &a, &jpeg(90, 90)).await;
    let shared = upload(&app, &a, &photo).await;
    let kept = upload(&app, &b, &photo).await;
    let (_, body) = app
        .graphql_as(&b, PUBLISH, json!({ "input": { "title": "Kept", "category": "illustration", "imageIds": [&kept["id"]] } }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    janitor(&app).await;
    assert_eq!(
        fetch(&app, lonely["url"].as_str().unwrap()).await.0,
        200,
        "a fresh upload stays"
    );
    app.sql("UPDATE images SET created_at = now() - interval '25 hours'")
        .await;
    janitor(&app).await;
    assert_eq!(fetch(&app, lonely["url"].as_str().unwrap()).await.0, 404);
    // The shared picture's row of `a` went, but `b`'s work still shows the same object.
    assert_eq!(app.count("SELECT count(*) AS n FROM images").await, 1);
    assert_eq!(fetch(&app, shared["url"].as_str().unwrap()).await.0, 200);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM media_orphans").await,
        0
    );
}

#[tokio::test]
async fn an_uploaded_avatar_is_exported_and_leaves_storage_on_erasure() {
    let app = TestApp::new().await;
    let phone = "+8613811118809";
    let (token, _) = app.register("faces", phone).await;
    let first = upload(&app, &token, &jpeg(400, 400)).await;
    let second = upload(&app, &token, &jpeg(300, 300)).await;
    let set = "mutation($id: ID) { updateProfile(input: { avatarImageId: $id }) { avatarUrl } }";
    let (_, body) = app
        .graphql_as(&token, set, json!({ "id": first["id"] }))
        .await;
    assert_eq!(
        body["data"]["updateProfile"]["avatarUrl"], first["url"],
        "{body}"
    );
    let (_, body) = app
        .graphql_as(&token, set, json!({ "id": second["id"] }))
        .await;
    assert_eq!(
        body["data"]["updateProfile"]["avatarUrl"], second["url"],
        "{body}"
    );
    janitor(&app).await;
    assert_eq!(
        fetch(&app, first["url"].as_str().unwrap()).await.0,
        404,
        "the old avatar goes"
    );
    let (_, me) = app
        .graphql_as(&token, "{ viewer { avatarUrl } }", json!({}))
        .await;
    assert_eq!(me["data"]["viewer"]["avatarUrl"], second["url"], "{me}");
    let both = "mutation($id: ID) { updateProfile(input: { avatarImageId: $id, avatarUrl: \"https://a.example/x.png\" }) { avatarUrl } }";
    assert_eq!(
        code(
            &app.graphql_as(&token, both, json!({ "id": second["id"] }))
                .await
                .1
        ),
        "BAD_USER_INPUT"
    );

    // The data export lists the uploads.
    let archive = app.export_archive(&token).await;
    assert_eq!(archive["images"][0]["url"], second["url"], "{archive}");
    assert_eq!(archive["images"][0]["avatar"], true);

    // Erasure removes every upload from storage.
    app.cancel_and_erase(&token, phone).await;
    janitor(&app).await;
    assert_eq!(fetch(&app, second["url"].as_str().unwrap()).await.0, 404);
    assert_eq!(app.count("SELECT count(*) AS n FROM images").await, 0);
    assert_eq!(stored_files(&app), 0);
}

#[tokio::test]
async fn the_running_gateway_removes_a_deleted_works_pictures_by_itself() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let media = portico::media::janitor::start(
        app.state.pool.clone(),
        app.state.media.storage().clone(),
        app.state.broker.clone(),
        app.state.shutdown.clone(),
    );
    let (token, _) = app.register("quick", "+8613811118810").await;
    let img = upload(&app, &token, &jpeg(120, 80)).await;
    let (_, body) = app
        .graphql_as(&token, PUBLISH, json!({ "input": { "title": "Brief", "category": "illustration", "imageIds": [&img["id"]] } }))
        .await;
    let work = body["data"]["publishWork"]["id"].clone();
    let client = reqwest::Client::new();
    let url = server.http_url(img["url"].as_str().unwrap());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    app.graphql_as(
        &token,
        "mutation($id: ID!) { deleteWork(id: $id) { id } }",
        json!({ "id": work }),
    )
    .await;
    // Woken through the broker by the deletion, not by its minute-long poll.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.get(&url).send().await.unwrap().status() != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "the picture is still served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.state.shutdown.cancel();
    media.await.unwrap();
    server.shutdown().await;
}
