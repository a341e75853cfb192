use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn development_defaults_are_valid() {
    let c = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(c.env, Environment::Development);
    assert!(c.graphiql && c.introspection);
    assert_eq!(c.addr.to_string(), "127.0.0.1:8000");
    assert!(c.database_url.is_none());
}

#[test]
fn production_refuses_development_secrets() {
    let err = Config::from_map(&map(&[("PORTICO_ENV", "production")])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("PORTICO_JWT_SECRET"), "{text}");
    assert!(text.contains("PORTICO_DATA_KEY"), "{text}");
    assert!(text.contains("DATABASE_URL"), "{text}");
    assert!(text.contains("PORTICO_SMS_WEBHOOK_URL"), "{text}");
}

#[test]
fn production_turns_graphiql_and_introspection_off() {
    let c = Config::from_map(&map(&[
        ("PORTICO_ENV", "production"),
        ("DATABASE_URL", "postgres://db/portico"),
        (
            "PORTICO_JWT_SECRET",
            "a-production-secret-that-is-long-enough-1234",
        ),
        (
            "PORTICO_DATA_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
        ("PORTICO_SMS_WEBHOOK_URL", "https://sms.example/hook"),
        ("PORTICO_EMAIL_WEBHOOK_URL", "https://mail.example/hook"),
        ("PORTICO_WEBHOOK_SECRET", "webhook-secret"),
        (
            "PORTICO_INDEX_KEY",
            "aW5kZXgta2V5LWZvci1ibGluZC1pbmRleGVzLTMyYnk=",
        ),
    ]))
    .unwrap();
    assert!(!c.graphiql && !c.introspection);
    assert_eq!(c.log_format, LogFormat::Json);
}

#[test]
fn bad_values_are_named() {
    let err = Config::from_map(&map(&[
        ("PORTICO_ADDR", "nowhere"),
        ("PORTICO_MAX_DEPTH", "-1"),
        ("PORTICO_SMS_WEBHOOK_URL", "ftp://x"),
        ("DATABASE_URL", "mysql://x"),
    ]))
    .unwrap_err();
    let text = err.to_string();
    for key in [
        "PORTICO_ADDR",
        "PORTICO_MAX_DEPTH",
        "PORTICO_SMS_WEBHOOK_URL",
        "DATABASE_URL",
    ] {
        assert!(text.contains(key), "{key} missing from {text}");
    }
}

#[test]
fn toml_keys_match_environment_names() {
    let m = parse_toml("portico_addr = \"0.0.0.0:9000\"\nportico_allowed_origins = [\"https://a\", \"https://b\"]\n").unwrap();
    let c = Config::from_map(&m).unwrap();
    assert_eq!(c.addr.port(), 9000);
    assert_eq!(c.allowed_origins, vec!["https://a", "https://b"]);
}

#[test]
fn wildcard_and_malformed_origins_are_refused() {
    for bad in [
        "*",
        "https://*.example.com",
        "https://a.example/path",
        "a.example",
        "ftp://a.example",
    ] {
        let err = Config::from_map(&map(&[("PORTICO_ALLOWED_ORIGINS", bad)])).unwrap_err();
        assert!(
            err.to_string().contains("PORTICO_ALLOWED_ORIGINS"),
            "{bad}: {err}"
        );
    }
    let err =
        Config::from_map(&map(&[("PORTICO_ALLOWED_ORIGINS", "https://a.example, *")])).unwrap_err();
    assert!(err.to_string().contains("wildcard"), "{err}");
    let c = Config::from_map(&map(&[(
        "PORTICO_ALLOWED_ORIGINS",
        "https://a.example/, http://127.0.0.1:3000",
    )]))
    .unwrap();
    assert_eq!(
        c.allowed_origins,
        vec!["https://a.example", "http://127.0.0.1:3000"]
    );
}

#[test]
fn index_key_is_required_in_production_and_checked() {
    let err = Config::from_map(&map(&[("PORTICO_ENV", "production")])).unwrap_err();
    assert!(err.to_string().contains("PORTICO_INDEX_KEY"), "{err}");
    let err = Config::from_map(&map(&[("PORTICO_INDEX_KEY", "c2hvcnQ=")])).unwrap_err();
    assert!(
        err.to_string()
            .contains("PORTICO_INDEX_KEY: must be base64"),
        "{err}"
    );
    let err = Config::from_map(&map(&[("PORTICO_INDEX_KEY", DEV_DATA_KEY)])).unwrap_err();
    assert!(err.to_string().contains("must differ"), "{err}");
}

#[test]
fn oauth_groups_are_collected_per_provider() {
    let c = Config::from_map(&map(&[
        ("PORTICO_OAUTH_WECHAT_APPID", "wx1"),
        ("PORTICO_OAUTH_WECHAT_SECRET", "s"),
        ("PORTICO_OAUTH_QQ_CLIENT_ID", "q"),
    ]))
    .unwrap();
    assert_eq!(c.oauth["wechat"].values["appid"], "wx1");
    assert_eq!(c.oauth["qq"].values["client_id"], "q");
}

#[test]
fn media_storage_is_a_folder_or_an_s3_bucket() {
    let c = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(
        c.media.storage,
        MediaStorage::Local(PathBuf::from(".portico/media"))
    );
    assert_eq!(c.media.max_upload_bytes, 20 * 1024 * 1024);
    assert_eq!(c.media.serve, MediaServe::Stream);
    let c = Config::from_map(&map(&[
        ("PORTICO_MEDIA_URL", "s3://pictures/site/media/"),
        ("PORTICO_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ("PORTICO_MEDIA_S3_ACCESS_KEY_ID", "id"),
        ("PORTICO_MEDIA_S3_SECRET_ACCESS_KEY", "secret"),
        ("PORTICO_MEDIA_SERVE", "redirect"),
        ("PORTICO_MAX_UPLOAD_BYTES", "1048576"),
    ]))
    .unwrap();
    let MediaStorage::S3(s3) = &c.media.storage else {
        panic!("{:?}", c.media.storage)
    };
    assert_eq!(
        (s3.bucket.as_str(), s3.prefix.as_str()),
        ("pictures", "site/media")
    );
    assert_eq!(s3.region, "us-east-1");
    assert_eq!(c.media.serve, MediaServe::Redirect);
    assert_eq!(c.media.max_upload_bytes, 1_048_576);

    let err = Config::from_map(&map(&[
        ("PORTICO_MEDIA_URL", "https://pictures"),
        ("PORTICO_MEDIA_S3_ACCESS_KEY_ID", "id"),
        ("PORTICO_MAX_UPLOAD_BYTES", "many"),
    ]))
    .unwrap_err()
    .to_string();
    for key in [
        "PORTICO_MEDIA_URL",
        "PORTICO_MEDIA_S3_ACCESS_KEY_ID",
        "PORTICO_MAX_UPLOAD_BYTES",
    ] {
        assert!(err.contains(key), "{key}: {err}");
    }
    let err = Config::from_map(&map(&[("PORTICO_MEDIA_SERVE", "redirect")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs S3"), "{err}");
}
