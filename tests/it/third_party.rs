//! WeChat, Weibo and QQ sign-in end to end: the gateway against the local fake providers.

use portico::accounts::oauth::{Gender, ProviderKind};
use serde_json::{Value, json};

use crate::fake_oauth::{FakeOAuth, FakeUser};
use crate::harness::TestApp;
use crate::harness::field;

const START: &str = "mutation($p: ThirdPartyProvider!, $r: String!, $c: [String!], $v: String) { startThirdPartyLogin(provider: $p, redirectUri: $r, consents: $c, policyVersion: $v, adultConfirmed: true) { authorizeUrl state } }";
const COMPLETE: &str = "mutation($p: ThirdPartyProvider!, $code: String!, $s: String!) { completeThirdPartyLogin(provider: $p, code: $code, state: $s) { accessToken refreshToken viewer { id username thirdPartyBindings { provider nickname } } } }";
const BIND: &str = "mutation($p: ThirdPartyProvider!, $code: String!, $s: String!) { bindThirdParty(provider: $p, code: $code, state: $s) { id thirdPartyBindings { provider } } }";
const UNBIND: &str = "mutation($p: ThirdPartyProvider!) { unbindThirdParty(provider: $p) { id thirdPartyBindings { provider } } }";
const REDIRECT: &str = "https://portico.example/oauth/done";

async fn setup() -> (TestApp, FakeOAuth) {
    let fake = FakeOAuth::start().await;
    let oauth = fake.config().oauth;
    let app = TestApp::with_config(|c| c.oauth = oauth).await;
    (app, fake)
}

async fn start(
    app: &TestApp,
    token: Option<&str>,
    provider: &str,
    consents: Value,
) -> (String, String) {
    let vars = json!({ "p": provider, "r": REDIRECT, "c": consents, "v": "1" });
    let (_, body, _) = app.graphql_with(token, &[], START, vars).await;
    let s = &body["data"]["startThirdPartyLogin"];
    assert!(s.is_object(), "{body}");
    (
        s["authorizeUrl"].as_str().unwrap().to_string(),
        s["state"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_new_wechat_user_with_profile_consent() {
    let (app, fake) = setup().await;
    fake.add_user(
        ProviderKind::Wechat,
        "wx-code-1",
        FakeUser::new("openid-1")
            .union_id("union-1")
            .nickname("小雨")
            .avatar("https://wx.example/a.png")
            .gender(Gender::Female),
    );
    let (url, state) = start(
        &app,
        None,
        "WECHAT",
        json!(["account", "security", "third-party-profile"]),
    )
    .await;
    assert!(
        url.contains("/connect/qrconnect?") && url.contains(&format!("state={state}")),
        "{url}"
    );
    let (_, body) = app
        .graphql(
            COMPLETE,
            json!({ "p": "WECHAT", "code": "wx-code-1", "s": state }),
        )
        .await;
    let viewer = &body["data"]["completeThirdPartyLogin"]["viewer"];
    assert_eq!(viewer["username"], "小雨", "{body}");
    assert_eq!(
        viewer["thirdPartyBindings"],
        json!([{ "provider": "WECHAT", "nickname": "小雨" }])
    );
    assert_eq!(fake.requests_to("/sns/userinfo").len(), 1);
    // Signing in again reaches the same account.
    fake.add_user(
        ProviderKind::Wechat,
        "wx-code-2",
        FakeUser::new("openid-1").nickname("小雨"),
    );
    let (_, state) = start(&app, None, "WECHAT", json!([])).await;
    let (_, again) = app
        .graphql(
            COMPLETE,
            json!({ "p": "WECHAT", "code": "wx-code-2", "s": state }),
        )
        .await;
    assert_eq!(
        again["data"]["completeThirdPartyLogin"]["viewer"]["id"], viewer["id"],
        "{again}"
    );
}

#[tokio::test]
async fn without_profile_consent_the_profile_is_never_read() {
    let (app, fake) = setup().await;
    fake.add_user(
        ProviderKind::Weibo,
        "wb-1",
        FakeUser::new("5551")
            .nickname("secret name")
            .avatar("https://wb.example/x.png"),
    );
    let (_, state) = start(&app, None, "WEIBO", json!(["account", "security"])).await;
    let (_, body) = app
        .graphql(
            COMPLETE,
            json!({ "p": "WEIBO", "code": "wb-1", "s": state }),
        )
        .await;
    let viewer = &body["data"]["completeThirdPartyLogin"]["viewer"];
    assert!(
        viewer["username"].as_str().unwrap().starts_with("weibo_"),
        "{body}"
    );
    assert_eq!(viewer["thirdPartyBindings"][0]["nickname"], Value::Null);
    assert!(
        fake.requests_to("/2/users/show.json").is_empty(),
        "the profile endpoint was not called"
    );
}

#[tokio::test]
async fn a_new_account_needs_consent_and_states_are_single_use() {
    let (app, fake) = setup().await;
    fake.add_user(ProviderKind::Qq, "qq-1", FakeUser::new("QQOPENID1"));
    let (_, state) = start(&app, None, "QQ", json!([])).await;
    let (_, body) = app
        .graphql(COMPLETE, json!({ "p": "QQ", "code": "qq-1", "s": state }))
        .await;
    assert_eq!(field(&body), "consents", "{body}");
    let (_, reused) = app
        .graphql(COMPLETE, json!({ "p": "QQ", "code": "qq-1", "s": state }))
        .await;
    assert_eq!(field(&reused), "state", "a state works once");
    let (_, forged) = app
        .graphql(
            COMPLETE,
            json!({ "p": "QQ", "code": "qq-1", "s": "abc.def" }),
        )
        .await;
    assert_eq!(field(&forged), "state");
    let (_, other) = start(&app, None, "WECHAT", json!(["account", "security"])).await;
    let (_, cross) = app
        .graphql(COMPLETE, json!({ "p": "QQ", "code": "qq-1", "s": other }))
        .await;
    assert_eq!(
        field(&cross),
        "state",
        "a WeChat state does not complete a QQ sign-in"
    );
    let (_, bad_uri) = app
        .graphql(START, json!({ "p": "QQ", "r": "javascript:alert(1)" }))
        .await;
    assert_eq!(field(&bad_uri), "redirectUri");
    let (_, bad_consent) = app
        .graphql(
            START,
            json!({ "p": "QQ", "r": REDIRECT, "c": ["account"], "v": "1" }),
        )
        .await;
    assert_eq!(field(&bad_consent), "consents");
    let (_, state) = start(&app, None, "QQ", json!(["account", "security"])).await;
    let (_, rejected) = app
        .graphql(
            COMPLETE,
            json!({ "p": "QQ", "code": "BAD_CODE", "s": state }),
        )
        .await;
    assert_eq!(field(&rejected), "code", "{rejected}");
}

#[tokio::test]
async fn binding_and_unbinding() {
    let (app, fake) = setup().await;
    let (mei, _) = app.register("mei", "+8613800138111").await;
    let (qiu, _) = app.register("qiu", "+8613800138112").await;
    fake.add_user(
        ProviderKind::Qq,
        "qq-bind",
        FakeUser::new("QQ-MEI").nickname("梅"),
    );
    let (_, state) = start(&app, Some(&mei), "QQ", json!([])).await;
    let (_, bound) = app
        .graphql_as(
            &mei,
            BIND,
            json!({ "p": "QQ", "code": "qq-bind", "s": state }),
        )
        .await;
    assert_eq!(
        bound["data"]["bindThirdParty"]["thirdPartyBindings"],
        json!([{ "provider": "QQ" }]),
        "{bound}"
    );
    assert!(
        fake.requests_to("/user/get_user_info").is_empty(),
        "no profile consent, no profile read"
    );
    // The same QQ account cannot be bound to a second account.
    fake.add_user(ProviderKind::Qq, "qq-steal", FakeUser::new("QQ-MEI"));
    let (_, state) = start(&app, Some(&qiu), "QQ", json!([])).await;
    let (_, refused) = app
        .graphql_as(
            &qiu,
            BIND,
            json!({ "p": "QQ", "code": "qq-steal", "s": state }),
        )
        .await;
    assert_eq!(field(&refused), "code", "{refused}");
    // A state started by someone else cannot bind.
    fake.add_user(ProviderKind::Wechat, "wx-bind", FakeUser::new("WX-QIU"));
    let (_, mei_state) = start(&app, Some(&mei), "WECHAT", json!([])).await;
    let (_, foreign) = app
        .graphql_as(
            &qiu,
            BIND,
            json!({ "p": "WECHAT", "code": "wx-bind", "s": mei_state }),
        )
        .await;
    assert_eq!(field(&foreign), "state");
    // Signing in with the bound QQ account reaches mei's account.
    fake.add_user(ProviderKind::Qq, "qq-login", FakeUser::new("QQ-MEI"));
    let (_, state) = start(&app, None, "QQ", json!([])).await;
    let (_, login) = app
        .graphql(
            COMPLETE,
            json!({ "p": "QQ", "code": "qq-login", "s": state }),
        )
        .await;
    assert_eq!(
        login["data"]["completeThirdPartyLogin"]["viewer"]["username"], "mei",
        "{login}"
    );
    let (_, unbound) = app.graphql_as(&mei, UNBIND, json!({ "p": "QQ" })).await;
    assert_eq!(
        unbound["data"]["unbindThirdParty"]["thirdPartyBindings"],
        json!([]),
        "{unbound}"
    );
    let (_, missing) = app.graphql_as(&mei, UNBIND, json!({ "p": "QQ" })).await;
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_unbound() {
    let (app, fake) = setup().await;
    fake.add_user(ProviderKind::Weibo, "wb-only", FakeUser::new("only-weibo"));
    let (_, state) = start(&app, None, "WEIBO", json!(["account", "security"])).await;
    let (_, body) = app
        .graphql(
            COMPLETE,
            json!({ "p": "WEIBO", "code": "wb-only", "s": state }),
        )
        .await;
    let token = body["data"]["completeThirdPartyLogin"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, refused) = app
        .graphql_as(&token, UNBIND, json!({ "p": "WEIBO" }))
        .await;
    assert_eq!(field(&refused), "provider", "{refused}");
}

#[tokio::test]
async fn an_unconfigured_provider_is_refused() {
    let app = TestApp::new().await;
    let (_, body) = app
        .graphql(START, json!({ "p": "WECHAT", "r": REDIRECT }))
        .await;
    assert_eq!(field(&body), "provider", "{body}");
}

#[tokio::test]
async fn a_new_account_needs_the_adult_confirmation_and_a_phone_before_it_publishes() {
    let (app, fake) = setup().await;
    let start_without = "mutation { startThirdPartyLogin(provider: QQ, redirectUri: \"https://portico.example/oauth/done\", consents: [\"account\", \"security\"], policyVersion: \"1\") { state } }";
    let complete = "mutation($code: String!, $s: String!, $adult: Boolean) { completeThirdPartyLogin(provider: QQ, code: $code, state: $s, adultConfirmed: $adult) { accessToken viewer { needsPhone phone } } }";
    fake.add_user(ProviderKind::Qq, "qq-1", FakeUser::new("qq-openid-1"));
    fake.add_user(ProviderKind::Qq, "qq-2", FakeUser::new("qq-openid-1"));

    // Without the confirmation no account is created.
    let (_, started) = app.graphql(start_without, json!({})).await;
    let state = started["data"]["startThirdPartyLogin"]["state"].clone();
    let (_, body) = app
        .graphql(complete, json!({ "code": "qq-1", "s": state }))
        .await;
    assert_eq!(field(&body), "adultConfirmed", "{body}");
    assert_eq!(app.count("SELECT count(*) FROM accounts").await, 0);

    // Confirmed when completing: the account exists, without a phone.
    let (_, started) = app.graphql(start_without, json!({})).await;
    let state = started["data"]["startThirdPartyLogin"]["state"].clone();
    let (_, body) = app
        .graphql(
            complete,
            json!({ "code": "qq-2", "s": state, "adult": true }),
        )
        .await;
    let signed_in = &body["data"]["completeThirdPartyLogin"];
    assert_eq!(
        signed_in["viewer"],
        json!({ "needsPhone": true, "phone": null }),
        "{body}"
    );
    let token = signed_in["accessToken"].as_str().unwrap().to_string();

    // It may keep drafts, but publishing waits for a phone confirmed by SMS code.
    app.publish_work(&token, "A draft", true).await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation { publishWork(input: {title: \"Public\", category: \"painting\", images: []}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::harness::code(&body), "FORBIDDEN", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("phone"),
        "{body}"
    );
    let sent = app.code_for("SMS", "+8613800138051", "CHANGE_PHONE").await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($c: String!) { changePhone(newPhone: \"+8613800138051\", code: $c) { needsPhone phone } }",
            json!({ "c": sent }),
        )
        .await;
    assert_eq!(
        body["data"]["changePhone"],
        json!({ "needsPhone": false, "phone": "+86 138****8051" }),
        "{body}"
    );
    app.publish_work(&token, "Public now", false).await;
}
