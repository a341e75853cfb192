//! The WeChat, Weibo and QQ clients against the fake providers in `fake_oauth`: authorize URLs, code exchange,
//! profile reading, the providers' error forms, and where the application secret may travel.

use std::collections::BTreeMap;
use std::sync::Arc;

use portico::accounts::oauth::{
    Gender, Identity, OAuthError, Provider, ProviderKind, Providers, ThirdPartyProfile,
    providers_from_config,
};
use portico::config::Config;
use reqwest::Url;

use crate::fake_oauth::{self, BAD_CODE, FakeOAuth, FakeUser};

const REDIRECT: &str = "https://portico.example/oauth/callback?next=/works&x=1";
const STATE: &str = "st/ate+1 &=é";

async fn setup() -> (FakeOAuth, Providers) {
    let fake = FakeOAuth::start().await;
    let providers = providers_from_config(&fake.config(), reqwest::Client::new());
    (fake, providers)
}

fn provider(providers: &Providers, kind: ProviderKind) -> Arc<dyn Provider> {
    providers
        .get(kind)
        .unwrap_or_else(|| panic!("{kind} is configured"))
}

fn profile_path(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Wechat => "/sns/userinfo",
        ProviderKind::Weibo => "/2/users/show.json",
        ProviderKind::Qq => "/user/get_user_info",
    }
}

fn token_path(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Wechat => "/sns/oauth2/access_token",
        ProviderKind::Weibo => "/oauth2/access_token",
        ProviderKind::Qq => "/oauth2.0/token",
    }
}

/// A subject the provider would give: Weibo's uids are numbers, openids are opaque strings.
fn subject(kind: ProviderKind, n: u32) -> String {
    match kind {
        ProviderKind::Weibo => format!("56789012{n}"),
        _ => format!("o{kind}-openid-{n}"),
    }
}

/// Real hosts: only credentials configured.
fn real_providers() -> Providers {
    let map: BTreeMap<String, String> = [
        ("PORTICO_OAUTH_WECHAT_APPID", "wx0123456789abcdef"),
        ("PORTICO_OAUTH_WECHAT_SECRET", "s1"),
        ("PORTICO_OAUTH_WEIBO_CLIENT_ID", "3141592653"),
        ("PORTICO_OAUTH_WEIBO_CLIENT_SECRET", "s2"),
        ("PORTICO_OAUTH_QQ_CLIENT_ID", "101271828"),
        ("PORTICO_OAUTH_QQ_CLIENT_SECRET", "s3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    providers_from_config(&Config::from_map(&map).unwrap(), reqwest::Client::new())
}

fn pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn authorize_urls_carry_exactly_the_protocols_parameters() {
    let providers = real_providers();
    let encoded_redirect =
        "redirect_uri=https%3A%2F%2Fportico.example%2Foauth%2Fcallback%3Fnext%3D%2Fworks%26x%3D1";

    let raw = provider(&providers, ProviderKind::Wechat).authorize_url(STATE, REDIRECT);
    let url = Url::parse(&raw).unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        "https://open.weixin.qq.com"
    );
    assert_eq!(url.path(), "/connect/qrconnect");
    assert_eq!(url.fragment(), Some("wechat_redirect"));
    assert!(raw.ends_with("#wechat_redirect"), "{raw}");
    assert_eq!(
        pairs(&url),
        owned(&[
            ("appid", "wx0123456789abcdef"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "snsapi_login"),
            ("state", STATE),
        ])
    );
    assert!(raw.contains(encoded_redirect), "{raw}");

    let raw = provider(&providers, ProviderKind::Weibo).authorize_url(STATE, REDIRECT);
    let url = Url::parse(&raw).unwrap();
    assert_eq!(url.origin().ascii_serialization(), "https://api.weibo.com");
    assert_eq!(url.path(), "/oauth2/authorize");
    assert_eq!(url.fragment(), None);
    assert_eq!(
        pairs(&url),
        owned(&[
            ("client_id", "3141592653"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("state", STATE),
        ])
    );
    assert!(raw.contains(encoded_redirect), "{raw}");

    let raw = provider(&providers, ProviderKind::Qq).authorize_url(STATE, REDIRECT);
    let url = Url::parse(&raw).unwrap();
    assert_eq!(url.origin().ascii_serialization(), "https://graph.qq.com");
    assert_eq!(url.path(), "/oauth2.0/authorize");
    assert_eq!(
        pairs(&url),
        owned(&[
            ("response_type", "code"),
            ("client_id", "101271828"),
            ("redirect_uri", REDIRECT),
            ("state", STATE),
            ("scope", "get_user_info"),
        ])
    );
    assert!(raw.contains(encoded_redirect), "{raw}");

    for kind in ProviderKind::ALL {
        let raw = provider(&providers, kind).authorize_url(STATE, REDIRECT);
        // The state's reserved characters are encoded, so it cannot add or break parameters.
        assert!(raw.contains("state=st%2Fate%2B1+%26%3D%C3%A9"), "{raw}");
        assert!(
            !raw.contains("s1") && !raw.contains("s2") && !raw.contains("s3"),
            "{raw}"
        );
    }
}

#[tokio::test]
async fn exchange_gives_the_subject_and_union_id_without_reading_the_profile() {
    let (fake, providers) = setup().await;
    for kind in ProviderKind::ALL {
        let user = FakeUser::new(&subject(kind, 1))
            .nickname("Mei")
            .avatar("https://img.example/mei.png")
            .gender(Gender::Female);
        // Weibo has no union id.
        let user = if kind == ProviderKind::Weibo {
            user
        } else {
            user.union_id("union-mei")
        };
        fake.add_user(kind, "good-code", user);
        let identity = provider(&providers, kind)
            .exchange("good-code", REDIRECT)
            .await
            .unwrap();
        assert_eq!(identity.subject, subject(kind, 1), "{kind}");
        let expected_union = (kind != ProviderKind::Weibo).then(|| "union-mei".to_string());
        assert_eq!(identity.union_id, expected_union, "{kind}");
        assert!(!identity.access_token.is_empty());
        assert_eq!(
            identity.profile, None,
            "{kind}: exchange must not fill the profile"
        );
        assert!(
            fake.requests_to(profile_path(kind)).is_empty(),
            "{kind}: exchange read the profile"
        );
    }
    // QQ learns the openid (and the union id) from /oauth2.0/me, asking for JSON.
    let me = fake.requests_to("/oauth2.0/me");
    assert_eq!(me.len(), 1);
    assert_eq!(me[0].param("unionid"), Some("1"));
    assert_eq!(me[0].param("fmt"), Some("json"));
    // The redirect URI goes with the code where the protocol has it (Weibo, QQ).
    let weibo = &fake.requests_to("/oauth2/access_token")[0];
    assert!(
        weibo
            .form()
            .contains(&("redirect_uri".into(), REDIRECT.into()))
    );
    assert_eq!(
        fake.requests_to("/oauth2.0/token")[0].param("redirect_uri"),
        Some(REDIRECT)
    );
}

#[tokio::test]
async fn profiles_are_mapped_onto_portico_fields() {
    let (fake, providers) = setup().await;
    let genders = [Gender::Female, Gender::Male, Gender::Undisclosed];
    for kind in ProviderKind::ALL {
        for (n, gender) in (1..).zip(genders) {
            let code = format!("code-{n}");
            let avatar = format!("https://img.example/{kind}/{n}.jpg");
            let user = FakeUser::new(&subject(kind, n))
                .nickname("小梅")
                .avatar(&avatar)
                .gender(gender);
            fake.add_user(kind, &code, user);
            let p = provider(&providers, kind);
            let identity = p.exchange(&code, REDIRECT).await.unwrap();
            let profile = p.profile(&identity).await.unwrap();
            assert_eq!(
                profile,
                ThirdPartyProfile {
                    nickname: Some("小梅".into()),
                    avatar_url: Some(avatar),
                    gender: Some(gender),
                },
                "{kind}"
            );
        }
        // No avatar and no gender at the provider.
        fake.add_user(
            kind,
            "bare",
            FakeUser::new(&subject(kind, 9)).nickname("Bare"),
        );
        let p = provider(&providers, kind);
        let profile = p
            .profile(&p.exchange("bare", REDIRECT).await.unwrap())
            .await
            .unwrap();
        assert_eq!(profile.nickname.as_deref(), Some("Bare"));
        assert_eq!(profile.avatar_url, None, "{kind}");
        // WeChat always sends `sex` (0 when unknown); Weibo and QQ may leave gender out.
        let expected = (kind == ProviderKind::Wechat).then_some(Gender::Undisclosed);
        assert_eq!(profile.gender, expected, "{kind}");
    }
}

fn rejected_code(result: Result<impl std::fmt::Debug, OAuthError>, kind: ProviderKind) -> String {
    match result {
        Err(OAuthError::ProviderRejected { provider, code, .. }) => {
            assert_eq!(provider, kind);
            code
        }
        other => panic!("{kind}: expected ProviderRejected, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_and_used_codes_are_rejected_with_the_providers_code() {
    let (fake, providers) = setup().await;
    for (kind, bad, used) in [
        (ProviderKind::Wechat, "40029", "40163"),
        (ProviderKind::Weibo, "21325", "21325"),
        (ProviderKind::Qq, "100019", "100020"),
    ] {
        let p = provider(&providers, kind);
        assert_eq!(
            rejected_code(p.exchange(BAD_CODE, REDIRECT).await, kind),
            bad
        );
        fake.add_user(kind, "once", FakeUser::new(&subject(kind, 1)));
        p.exchange("once", REDIRECT).await.unwrap();
        assert_eq!(
            rejected_code(p.exchange("once", REDIRECT).await, kind),
            used
        );
    }
}

#[tokio::test]
async fn qq_answers_in_its_older_forms_are_understood() {
    let (fake, providers) = setup().await;
    fake.qq_legacy_answers(true);
    let qq = provider(&providers, ProviderKind::Qq);
    fake.add_user(
        ProviderKind::Qq,
        "c",
        FakeUser::new("QQOPENID").union_id("QQUNION").nickname("Q"),
    );
    let identity = qq.exchange("c", REDIRECT).await.unwrap();
    assert_eq!(
        (identity.subject.as_str(), identity.union_id.as_deref()),
        ("QQOPENID", Some("QQUNION"))
    );
    // The fake really answered URL-encoded and JSONP: the token call returned `access_token=...`.
    assert_eq!(
        qq.profile(&identity).await.unwrap().nickname.as_deref(),
        Some("Q")
    );
    // An error in the JSONP form.
    assert_eq!(
        rejected_code(qq.exchange(BAD_CODE, REDIRECT).await, ProviderKind::Qq),
        "100019"
    );
    // A token the openid endpoint refuses, in the JSONP form.
    fake.answer_once(
        "/oauth2.0/me",
        200,
        "text/html",
        "callback( {\"error\":100016,\"error_description\":\"access token check failed\"} );\n",
    );
    fake.add_user(ProviderKind::Qq, "d", FakeUser::new("X"));
    assert_eq!(
        rejected_code(qq.exchange("d", REDIRECT).await, ProviderKind::Qq),
        "100016"
    );
    // The answers as the fake sent them, for the record.
    fake.answer_once(
        "/oauth2.0/token",
        200,
        "text/html",
        "access_token=TOKEN-E&expires_in=7776000&refresh_token=R",
    );
    fake.answer_once(
        "/oauth2.0/me",
        200,
        "text/html",
        "callback( {\"client_id\":\"101271828\",\"openid\":\"OPENID-E\"} );\n",
    );
    let identity = qq.exchange("anything", REDIRECT).await.unwrap();
    assert_eq!(
        (identity.subject.as_str(), identity.access_token.as_str()),
        ("OPENID-E", "TOKEN-E")
    );
    assert_eq!(identity.union_id, None);
}

#[tokio::test]
async fn a_profile_error_is_the_providers_and_carries_no_token() {
    let (_fake, providers) = setup().await;
    for (kind, code) in [
        (ProviderKind::Wechat, "40001"),
        (ProviderKind::Weibo, "21332"),
        (ProviderKind::Qq, "100016"),
    ] {
        let stale = Identity {
            subject: subject(kind, 1),
            union_id: None,
            access_token: "stale-token-0xDEADBEEF".into(),
            profile: None,
        };
        let err = provider(&providers, kind)
            .profile(&stale)
            .await
            .unwrap_err();
        assert!(!err.to_string().contains("0xDEADBEEF"), "{err}");
        assert_eq!(rejected_code(Err::<(), _>(err), kind), code);
        assert!(!format!("{stale:?}").contains("0xDEADBEEF"));
    }
}

#[tokio::test]
async fn malformed_answers_are_reported_as_malformed_without_secrets() {
    let (fake, providers) = setup().await;
    for kind in ProviderKind::ALL {
        let p = provider(&providers, kind);
        let path = token_path(kind);
        let cases = [
            (
                200,
                "text/plain",
                r#"{"expires_in":7200,"scope":"snsapi_login"}"#,
            ),
            (200, "text/html", "<html><body>系统繁忙</body></html>"),
            (200, "application/json", "[]"),
        ];
        for (status, content_type, body) in cases {
            fake.answer_once(path, status, content_type, body);
            match p.exchange("code", REDIRECT).await {
                Err(e @ OAuthError::Malformed(_)) => {
                    assert!(!e.to_string().contains(fake_oauth::secret(kind)), "{e}")
                }
                other => panic!("{kind} {body}: expected Malformed, got {other:?}"),
            }
        }
        // An HTTP error without an error of the provider's own is a transport problem.
        fake.answer_once(path, 502, "text/html", "<html>Bad Gateway</html>");
        assert!(
            matches!(
                p.exchange("code", REDIRECT).await,
                Err(OAuthError::Transport(_))
            ),
            "{kind}"
        );
        // A profile answer about someone else is refused.
        fake.add_user(kind, "good", FakeUser::new(&subject(kind, 1)));
        let identity = p.exchange("good", REDIRECT).await.unwrap();
        let other = match kind {
            ProviderKind::Wechat => r#"{"openid":"someone-else","nickname":"x","sex":1}"#,
            ProviderKind::Weibo => r#"{"id":1,"idstr":"1","screen_name":"x"}"#,
            ProviderKind::Qq => r#"{"msg":"","nickname":"x"}"#,
        };
        fake.answer_once(profile_path(kind), 200, "application/json", other);
        assert!(
            matches!(p.profile(&identity).await, Err(OAuthError::Malformed(_))),
            "{kind}"
        );
    }
    // QQ: a token issued to another application.
    let qq = provider(&providers, ProviderKind::Qq);
    fake.add_user(ProviderKind::Qq, "q", FakeUser::new("QO"));
    fake.answer_once(
        "/oauth2.0/me",
        200,
        "application/json",
        r#"{"client_id":"999","openid":"QO"}"#,
    );
    assert!(matches!(
        qq.exchange("q", REDIRECT).await,
        Err(OAuthError::Malformed(_))
    ));
}

#[tokio::test]
async fn the_secret_travels_only_where_the_protocol_says() {
    let (fake, providers) = setup().await;
    for kind in ProviderKind::ALL {
        fake.add_user(
            kind,
            "c",
            FakeUser::new(&subject(kind, 1)).union_id("u").nickname("n"),
        );
        let p = provider(&providers, kind);
        let identity = p.exchange("c", REDIRECT).await.unwrap();
        p.profile(&identity).await.unwrap();
    }
    let secret = fake_oauth::secret;

    let token = &fake.requests_to("/sns/oauth2/access_token")[0];
    assert_eq!(token.param("secret"), Some(secret(ProviderKind::Wechat)));

    let token = &fake.requests_to("/oauth2/access_token")[0];
    assert_eq!(token.method, reqwest::Method::POST);
    assert!(
        token.query.is_empty(),
        "Weibo's token call has no query: {:?}",
        token.query
    );
    assert!(
        token
            .form()
            .contains(&("client_secret".into(), secret(ProviderKind::Weibo).into()))
    );

    let token = &fake.requests_to("/oauth2.0/token")[0];
    assert_eq!(token.param("client_secret"), Some(secret(ProviderKind::Qq)));

    // No other request, above all no profile request, carries any secret.
    let token_paths: Vec<_> = ProviderKind::ALL.into_iter().map(token_path).collect();
    let requests = fake.requests();
    assert_eq!(requests.len(), 7, "{requests:#?}");
    for request in requests {
        for kind in ProviderKind::ALL {
            let allowed = request.path == token_path(kind);
            assert!(
                allowed || !request.mentions(secret(kind)),
                "{kind}'s secret travelled to {}",
                request.path
            );
        }
        if !token_paths.contains(&request.path.as_str()) {
            assert!(!request.mentions("secret"), "{}", request.path);
        }
    }
    for kind in ProviderKind::ALL {
        assert_eq!(fake.requests_to(profile_path(kind)).len(), 1);
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_a_transport_error_without_secrets() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let map: BTreeMap<String, String> = [
        ("PORTICO_OAUTH_WECHAT_APPID", "wx1"),
        ("PORTICO_OAUTH_WECHAT_SECRET", "hunter2-wechat"),
        ("PORTICO_OAUTH_WECHAT_API_URL", &format!("http://{addr}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let providers = providers_from_config(&Config::from_map(&map).unwrap(), reqwest::Client::new());
    let err = provider(&providers, ProviderKind::Wechat)
        .exchange("code-123", REDIRECT)
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Transport(_)), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("hunter2") && !text.contains("code-123") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[tokio::test]
async fn providers_without_credentials_are_absent() {
    let fake = FakeOAuth::start().await;
    let client = reqwest::Client::new();
    assert_eq!(
        providers_from_config(&fake.config(), client.clone()).kinds(),
        ProviderKind::ALL.to_vec()
    );

    let mut map = fake.config_map();
    map.remove("PORTICO_OAUTH_WEIBO_CLIENT_SECRET");
    map.remove("PORTICO_OAUTH_QQ_CLIENT_ID");
    let providers = providers_from_config(&Config::from_map(&map).unwrap(), client.clone());
    assert_eq!(providers.kinds(), vec![ProviderKind::Wechat]);
    assert!(providers.get(ProviderKind::Weibo).is_none() && !providers.contains(ProviderKind::Qq));

    // Base URLs alone, an invalid base URL, or an unknown provider configure nothing.
    map.insert("PORTICO_OAUTH_WECHAT_API_URL".into(), "not a url".into());
    map.insert("PORTICO_OAUTH_GITHUB_CLIENT_ID".into(), "gh".into());
    map.insert("PORTICO_OAUTH_GITHUB_CLIENT_SECRET".into(), "gh".into());
    assert!(providers_from_config(&Config::from_map(&map).unwrap(), client.clone()).is_empty());
    assert!(providers_from_config(&Config::from_map(&BTreeMap::new()).unwrap(), client).is_empty());
}

#[tokio::test]
async fn the_fake_authorize_pages_send_the_browser_back_with_code_and_state() {
    let (fake, providers) = setup().await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for kind in ProviderKind::ALL {
        fake.add_user(kind, "approved", FakeUser::new(&subject(kind, 3)));
        fake.add_user(kind, "later", FakeUser::new(&subject(kind, 4)));
        fake.approve_with(kind, "approved");
        let p = provider(&providers, kind);
        let url = p.authorize_url(STATE, REDIRECT);
        assert!(url.starts_with(fake.base_url()), "{url}");
        let res = browser.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 302, "{kind}");
        let back = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(
            back.origin().ascii_serialization(),
            "https://portico.example"
        );
        assert_eq!(back.path(), "/oauth/callback");
        let params: BTreeMap<_, _> = back.query_pairs().into_owned().collect();
        assert_eq!(
            (params["next"].as_str(), params["x"].as_str()),
            ("/works", "1")
        );
        assert_eq!(params["state"], STATE);
        let identity = p.exchange(&params["code"], REDIRECT).await.unwrap();
        assert_eq!(identity.subject, subject(kind, 3));
    }
}

#[test]
fn provider_kinds_and_genders_have_stable_names() {
    for kind in ProviderKind::ALL {
        assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(
        " WeChat ".parse::<ProviderKind>().unwrap(),
        ProviderKind::Wechat
    );
    assert!("github".parse::<ProviderKind>().is_err());
    let names: Vec<_> = [Gender::Female, Gender::Male, Gender::Undisclosed]
        .iter()
        .map(|g| g.as_str())
        .collect();
    assert_eq!(names, ["female", "male", "undisclosed"]);
}
