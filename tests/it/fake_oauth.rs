//! A fake WeChat, Weibo and QQ on loopback, speaking each provider's protocol as far as Portico uses it: the
//! authorize pages (which approve at once and redirect back with a code), the token, openid and profile
//! endpoints, with the providers' own answer forms (WeChat's `text/plain` JSON, QQ's URL-encoded and JSONP
//! `callback( ... );` answers) and error answers (an unknown or used code, a wrong secret, a bad token).
//!
//! Every request is recorded, so a test can check what travelled where. Codes are single-use, as at the real
//! providers; any code that was not added with [`FakeOAuth::add_user`] (say `"bad-code"`) is refused.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use portico::accounts::oauth::{Gender, ProviderKind};
use portico::config::Config;
use serde_json::{Value, json};

/// A code the fake providers always refuse with their "invalid code" error.
pub const BAD_CODE: &str = "bad-code";

/// The application id the fake expects from Portico (`appid` / `client_id`).
pub fn client_id(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Wechat => "wxfake0a1b2c3d4e5f",
        ProviderKind::Weibo => "3141592653",
        ProviderKind::Qq => "101271828",
    }
}

/// The application secret the fake expects from Portico; distinctive, so tests can look for it in requests.
pub fn secret(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Wechat => "wechat-secret-5f1c9e0d",
        ProviderKind::Weibo => "weibo-secret-8d2a7133",
        ProviderKind::Qq => "qq-secret-c47b09aa",
    }
}

/// A user at a fake provider, handed out for one authorization code.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// The openid (WeChat, QQ) or uid (Weibo; use digits, Weibo's ids are numbers).
    pub subject: String,
    pub union_id: Option<String>,
    pub nickname: Option<String>,
    pub avatar: Option<String>,
    /// `None` leaves the field out of the profile answer.
    pub gender: Option<Gender>,
}

impl FakeUser {
    pub fn new(subject: &str) -> Self {
        FakeUser {
            subject: subject.into(),
            union_id: None,
            nickname: None,
            avatar: None,
            gender: None,
        }
    }

    pub fn union_id(mut self, union_id: &str) -> Self {
        self.union_id = Some(union_id.into());
        self
    }

    pub fn nickname(mut self, nickname: &str) -> Self {
        self.nickname = Some(nickname.into());
        self
    }

    pub fn avatar(mut self, avatar: &str) -> Self {
        self.avatar = Some(avatar.into());
        self
    }

    pub fn gender(mut self, gender: Gender) -> Self {
        self.gender = Some(gender);
        self
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    /// The query, decoded.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// A query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        find(&self.query, key)
    }

    /// The body as a URL-encoded form.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).unwrap_or_default()
    }

    /// Whether `needle` appears anywhere in the request: path, query, headers or body.
    pub fn mentions(&self, needle: &str) -> bool {
        self.path.contains(needle)
            || self
                .query
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
            || self.headers.iter().any(|(_, v)| v.contains(needle))
            || self.body.contains(needle)
            || self.form().iter().any(|(_, v)| v.contains(needle))
    }
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A canned answer that replaces the next answer from one path.
struct Canned {
    status: StatusCode,
    content_type: String,
    body: String,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<(ProviderKind, String), FakeUser>,
    used: HashSet<(ProviderKind, String)>,
    tokens: HashMap<String, (ProviderKind, FakeUser)>,
    approve: HashMap<ProviderKind, String>,
    canned: HashMap<String, VecDeque<Canned>>,
    qq_legacy: bool,
    requests: Vec<Recorded>,
    issued: u64,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The running fake; cheap to clone. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeOAuth {
    base_url: String,
    inner: Arc<Mutex<Inner>>,
    _server: Arc<AbortOnDrop>,
}

impl FakeOAuth {
    /// Starts the fake on `127.0.0.1`, on a free port.
    pub async fn start() -> FakeOAuth {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FakeOAuth {
            base_url,
            inner,
            _server: Arc::new(AbortOnDrop(server)),
        }
    }

    /// `http://127.0.0.1:PORT`, the base of every fake endpoint (all three providers share it).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Makes `code` (single-use) stand for `user` at `provider`; the authorize page now approves with it.
    pub fn add_user(&self, provider: ProviderKind, code: &str, user: FakeUser) {
        let mut inner = self.inner.lock().unwrap();
        inner.codes.insert((provider, code.to_string()), user);
        inner.approve.insert(provider, code.to_string());
    }

    /// Which code the provider's authorize page hands back (by default the last one added).
    pub fn approve_with(&self, provider: ProviderKind, code: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.approve.insert(provider, code.to_string());
    }

    /// QQ answers in its older forms whatever `fmt` says: URL-encoded tokens and JSONP `callback( ... );`.
    pub fn qq_legacy_answers(&self, on: bool) {
        self.inner.lock().unwrap().qq_legacy = on;
    }

    /// The next request to `path` gets this answer instead of the protocol's (still recorded).
    pub fn answer_once(&self, path: &str, status: u16, content_type: &str, body: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner
            .canned
            .entry(path.to_string())
            .or_default()
            .push_back(Canned {
                status: StatusCode::from_u16(status).unwrap(),
                content_type: content_type.into(),
                body: body.into(),
            });
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The requests received on `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// `PORTICO_OAUTH_*` settings pointing all three providers at the fake (WeChat with `APPID`/`SECRET`,
    /// Weibo and QQ with `CLIENT_ID`/`CLIENT_SECRET`); merge them into a test's configuration map.
    pub fn config_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let mut set = |k: &str, v: &str| map.insert(format!("PORTICO_OAUTH_{k}"), v.to_string());
        set("WECHAT_APPID", client_id(ProviderKind::Wechat));
        set("WECHAT_SECRET", secret(ProviderKind::Wechat));
        set("WECHAT_AUTHORIZE_URL", &self.base_url);
        set("WECHAT_API_URL", &self.base_url);
        for (name, kind) in [("WEIBO", ProviderKind::Weibo), ("QQ", ProviderKind::Qq)] {
            set(&format!("{name}_CLIENT_ID"), client_id(kind));
            set(&format!("{name}_CLIENT_SECRET"), secret(kind));
            set(&format!("{name}_AUTHORIZE_URL"), &self.base_url);
            set(&format!("{name}_API_URL"), &self.base_url);
        }
        map
    }

    /// A development configuration with [`FakeOAuth::config_map`] applied.
    pub fn config(&self) -> Config {
        Config::from_map(&self.config_map()).expect("the fake's settings are valid")
    }
}

type Shared = Arc<Mutex<Inner>>;

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Recorded {
        method,
        path: uri.path().to_string(),
        query: serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut inner = shared.lock().unwrap();
    inner.requests.push(request.clone());
    if let Some(canned) = inner
        .canned
        .get_mut(&request.path)
        .and_then(VecDeque::pop_front)
    {
        return answer(canned.status, &canned.content_type, canned.body);
    }
    let q = &request.query;
    let get = request.method == Method::GET;
    match request.path.as_str() {
        "/connect/qrconnect" if get => authorize(&inner, ProviderKind::Wechat, q, "appid"),
        "/sns/oauth2/access_token" if get => wechat_token(&mut inner, q),
        "/sns/userinfo" if get => wechat_userinfo(&inner, q),
        "/oauth2/authorize" if get => authorize(&inner, ProviderKind::Weibo, q, "client_id"),
        "/oauth2/access_token" if request.method == Method::POST => {
            weibo_token(&mut inner, q, &request.form())
        }
        "/2/users/show.json" if get => weibo_show(&inner, q),
        "/oauth2.0/authorize" if get => authorize(&inner, ProviderKind::Qq, q, "client_id"),
        "/oauth2.0/token" if get => qq_token(&mut inner, q),
        "/oauth2.0/me" if get => qq_me(&inner, q),
        "/user/get_user_info" if get => qq_user_info(&inner, q),
        _ => answer(StatusCode::NOT_FOUND, "text/plain", "not found".into()),
    }
}

fn answer(status: StatusCode, content_type: &str, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, content_type.to_string())],
        body,
    )
        .into_response()
}

/// The authorize page approves at once: back to `redirect_uri` with the code and the state.
fn authorize(inner: &Inner, kind: ProviderKind, q: &[(String, String)], id_key: &str) -> Response {
    let (Some(redirect_uri), Some(code)) = (find(q, "redirect_uri"), inner.approve.get(&kind))
    else {
        return answer(
            StatusCode::BAD_REQUEST,
            "text/html",
            "<html>no redirect_uri or no user</html>".into(),
        );
    };
    if find(q, id_key) != Some(client_id(kind)) {
        return answer(
            StatusCode::BAD_REQUEST,
            "text/html",
            "<html>unknown application</html>".into(),
        );
    }
    let back = serde_urlencoded::to_string([
        ("code", code.as_str()),
        ("state", find(q, "state").unwrap_or_default()),
    ])
    .unwrap();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{redirect_uri}{sep}{back}"))],
    )
        .into_response()
}

enum CodeCheck {
    Ok(String, FakeUser),
    Used,
    Unknown,
}

/// Spends a code: a new access token for its user.
fn spend(inner: &mut Inner, kind: ProviderKind, code: &str) -> CodeCheck {
    let key = (kind, code.to_string());
    if inner.used.contains(&key) {
        return CodeCheck::Used;
    }
    let Some(user) = inner.codes.remove(&key) else {
        return CodeCheck::Unknown;
    };
    inner.used.insert(key);
    inner.issued += 1;
    let token = format!("{kind}-token-{}-{}", inner.issued, user.subject);
    inner.tokens.insert(token.clone(), (kind, user.clone()));
    CodeCheck::Ok(token, user)
}

fn user_of<'a>(inner: &'a Inner, kind: ProviderKind, token: Option<&str>) -> Option<&'a FakeUser> {
    match inner.tokens.get(token?) {
        Some((k, user)) if *k == kind => Some(user),
        _ => None,
    }
}

fn insert_some(object: &mut Value, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        object[key] = value.into();
    }
}

// WeChat: JSON bodies served as text/plain, errors as {errcode, errmsg} with HTTP 200.

fn wechat(body: Value) -> Response {
    answer(StatusCode::OK, "text/plain", body.to_string())
}

fn wechat_error(code: i64, message: &str) -> Response {
    wechat(json!({"errcode": code, "errmsg": format!("{message}, rid: 65f0c0de-1")}))
}

fn wechat_token(inner: &mut Inner, q: &[(String, String)]) -> Response {
    if find(q, "appid") != Some(client_id(ProviderKind::Wechat)) {
        return wechat_error(40013, "invalid appid");
    }
    if find(q, "secret") != Some(secret(ProviderKind::Wechat)) {
        return wechat_error(40125, "invalid appsecret");
    }
    if find(q, "grant_type") != Some("authorization_code") {
        return wechat_error(40002, "invalid grant_type");
    }
    match spend(
        inner,
        ProviderKind::Wechat,
        find(q, "code").unwrap_or_default(),
    ) {
        CodeCheck::Ok(token, user) => {
            let mut body = json!({
                "access_token": token,
                "expires_in": 7200,
                "refresh_token": format!("refresh-{token}"),
                "openid": user.subject,
                "scope": "snsapi_login",
            });
            insert_some(&mut body, "unionid", user.union_id);
            wechat(body)
        }
        CodeCheck::Used => wechat_error(40163, "code been used"),
        CodeCheck::Unknown => wechat_error(40029, "invalid code"),
    }
}

fn wechat_userinfo(inner: &Inner, q: &[(String, String)]) -> Response {
    let Some(user) = user_of(inner, ProviderKind::Wechat, find(q, "access_token")) else {
        return wechat_error(
            40001,
            "invalid credential, access_token is invalid or not latest",
        );
    };
    if find(q, "openid") != Some(user.subject.as_str()) {
        return wechat_error(40003, "invalid openid");
    }
    let sex = match user.gender {
        Some(Gender::Male) => 1,
        Some(Gender::Female) => 2,
        _ => 0,
    };
    let mut body = json!({
        "openid": user.subject,
        "nickname": user.nickname.clone().unwrap_or_default(),
        "sex": sex,
        "language": "zh_CN",
        "province": "", "city": "", "country": "CN",
        "headimgurl": user.avatar.clone().unwrap_or_default(),
        "privilege": [],
    });
    insert_some(&mut body, "unionid", user.union_id.clone());
    wechat(body)
}

// Weibo: JSON, errors as {error, error_code, error_description} with HTTP 400.

fn weibo(status: StatusCode, body: Value) -> Response {
    answer(status, "application/json;charset=UTF-8", body.to_string())
}

fn weibo_error(request: &str, name: &str, code: i64, description: &str) -> Response {
    weibo(
        StatusCode::BAD_REQUEST,
        json!({"error": name, "error_code": code, "request": request, "error_uri": request, "error_description": description}),
    )
}

fn weibo_token(inner: &mut Inner, q: &[(String, String)], form: &[(String, String)]) -> Response {
    const PATH: &str = "/oauth2/access_token";
    if !q.is_empty() {
        return weibo_error(
            PATH,
            "invalid_request",
            21323,
            "parameters belong in the form body",
        );
    }
    if find(form, "client_id") != Some(client_id(ProviderKind::Weibo))
        || find(form, "client_secret") != Some(secret(ProviderKind::Weibo))
    {
        return weibo_error(
            PATH,
            "invalid_client",
            21324,
            "invalid client_id or client_secret",
        );
    }
    if find(form, "grant_type") != Some("authorization_code") {
        return weibo_error(
            PATH,
            "unsupported_grant_type",
            21328,
            "unsupported grant type",
        );
    }
    if find(form, "redirect_uri").is_none_or(str::is_empty) {
        return weibo_error(
            PATH,
            "redirect_uri_mismatch",
            21322,
            "redirect_uri is missing",
        );
    }
    match spend(
        inner,
        ProviderKind::Weibo,
        find(form, "code").unwrap_or_default(),
    ) {
        CodeCheck::Ok(token, user) => weibo(
            StatusCode::OK,
            json!({
                "access_token": token,
                "remind_in": "157679999",
                "expires_in": 157679999,
                "uid": user.subject,
                "isRealName": "true",
            }),
        ),
        CodeCheck::Used | CodeCheck::Unknown => {
            weibo_error(PATH, "invalid_grant", 21325, "invalid authorization code")
        }
    }
}

fn weibo_show(inner: &Inner, q: &[(String, String)]) -> Response {
    const PATH: &str = "/2/users/show.json";
    let Some(user) = user_of(inner, ProviderKind::Weibo, find(q, "access_token")) else {
        return weibo_error(PATH, "invalid_access_token", 21332, "invalid_access_token");
    };
    if find(q, "uid") != Some(user.subject.as_str()) {
        return weibo_error(
            PATH,
            "User does not exists!",
            20003,
            "User does not exists!",
        );
    }
    let id: Value = user
        .subject
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(user.subject.clone()));
    let avatar = user.avatar.clone().unwrap_or_default();
    let mut body = json!({
        "id": id,
        "idstr": user.subject,
        "screen_name": user.nickname.clone().unwrap_or_default(),
        "name": user.nickname.clone().unwrap_or_default(),
        "profile_image_url": if avatar.is_empty() { String::new() } else { format!("{avatar}?size=50") },
        "avatar_large": avatar,
    });
    let gender = user.gender.map(|g| match g {
        Gender::Male => "m",
        Gender::Female => "f",
        Gender::Undisclosed => "n",
    });
    insert_some(&mut body, "gender", gender);
    weibo(StatusCode::OK, body)
}

// QQ: JSON with fmt=json; otherwise (or in legacy mode) URL-encoded tokens and JSONP callback( ... );.

fn qq_json(inner: &Inner, q: &[(String, String)]) -> bool {
    !inner.qq_legacy && find(q, "fmt") == Some("json")
}

fn qq_object(json_form: bool, body: Value) -> Response {
    if json_form {
        answer(StatusCode::OK, "application/json", body.to_string())
    } else {
        answer(
            StatusCode::OK,
            "text/html",
            format!("callback( {body} );\n"),
        )
    }
}

fn qq_error(json_form: bool, code: i64, description: &str) -> Response {
    qq_object(
        json_form,
        json!({"error": code, "error_description": description}),
    )
}

fn qq_token(inner: &mut Inner, q: &[(String, String)]) -> Response {
    let json_form = qq_json(inner, q);
    if find(q, "client_id") != Some(client_id(ProviderKind::Qq)) {
        return qq_error(json_form, 100008, "client id is not exist");
    }
    if find(q, "client_secret") != Some(secret(ProviderKind::Qq)) {
        return qq_error(json_form, 100009, "client secret is illegal");
    }
    if find(q, "grant_type") != Some("authorization_code") {
        return qq_error(json_form, 100004, "param grant_type is wrong or lost");
    }
    if find(q, "redirect_uri").is_none_or(str::is_empty) {
        return qq_error(json_form, 100010, "redirect uri is illegal");
    }
    match spend(inner, ProviderKind::Qq, find(q, "code").unwrap_or_default()) {
        CodeCheck::Ok(token, _) => {
            let refresh = format!("refresh-{token}");
            if json_form {
                qq_object(
                    true,
                    json!({"access_token": token, "expires_in": "7776000", "refresh_token": refresh}),
                )
            } else {
                let body = serde_urlencoded::to_string([
                    ("access_token", token.as_str()),
                    ("expires_in", "7776000"),
                    ("refresh_token", refresh.as_str()),
                ])
                .unwrap();
                answer(StatusCode::OK, "text/html", body)
            }
        }
        CodeCheck::Used => qq_error(json_form, 100020, "code is reused error"),
        CodeCheck::Unknown => qq_error(json_form, 100019, "code to access token error"),
    }
}

fn qq_me(inner: &Inner, q: &[(String, String)]) -> Response {
    let json_form = qq_json(inner, q);
    let Some(user) = user_of(inner, ProviderKind::Qq, find(q, "access_token")) else {
        return qq_error(json_form, 100016, "access token check failed");
    };
    let mut body = json!({"client_id": client_id(ProviderKind::Qq), "openid": user.subject});
    if find(q, "unionid") == Some("1") {
        insert_some(&mut body, "unionid", user.union_id.clone());
    }
    qq_object(json_form, body)
}

fn qq_user_info(inner: &Inner, q: &[(String, String)]) -> Response {
    let api_error = |ret: i64, msg: &str| {
        answer(
            StatusCode::OK,
            "application/json",
            json!({"ret": ret, "msg": msg}).to_string(),
        )
    };
    if find(q, "oauth_consumer_key") != Some(client_id(ProviderKind::Qq)) {
        return api_error(
            -1,
            "client request's parameters are invalid, invalid oauth_consumer_key",
        );
    }
    let Some(user) = user_of(inner, ProviderKind::Qq, find(q, "access_token")) else {
        return api_error(100016, "access token check failed");
    };
    if find(q, "openid") != Some(user.subject.as_str()) {
        return api_error(
            -1,
            "client request's parameters are invalid, invalid openid",
        );
    }
    let avatar = user.avatar.clone().unwrap_or_default();
    let small = if avatar.is_empty() {
        String::new()
    } else {
        format!("{avatar}/40")
    };
    let mut body = json!({
        "ret": 0,
        "msg": "",
        "is_lost": 0,
        "nickname": user.nickname.clone().unwrap_or_default(),
        "figureurl": small, "figureurl_1": small, "figureurl_2": avatar,
        "figureurl_qq_1": small,
        "figureurl_qq_2": avatar,
        "is_yellow_vip": "0", "vip": "0", "yellow_vip_level": "0", "level": "0", "is_yellow_year_vip": "0",
    });
    let gender = user.gender.map(|g| match g {
        Gender::Male => "男",
        Gender::Female => "女",
        Gender::Undisclosed => "",
    });
    insert_some(&mut body, "gender", gender);
    answer(StatusCode::OK, "application/json", body.to_string())
}
