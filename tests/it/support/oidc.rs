//! A real OpenID provider (npm `oidc-provider`, run by
//! `tests/support/oidc/provider.mjs`) with its test-only admin API, a
//! headless login driven by reqwest with a cookie jar, and a real browser
//! (Debian's chromium through npm `playwright-core`,
//! `tests/support/oidc/browser.mjs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::cookie::CookieStore;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::proxy::TestCa;
use super::services::{Process, tempdir};
use super::{repo, require_bin};

pub const INSTALL: &str = "apt-get install nodejs npm && npm ci --prefix tests/support/oidc";
const BROWSER_INSTALL: &str = "apt-get install chromium && npm ci --prefix tests/support/oidc";
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn oidc_dir() -> PathBuf {
    repo().join("tests/support/oidc")
}

/// `node`, and the npm package `package` in tests/support/oidc/node_modules,
/// or a panic that says how to install them.
fn require_node(package: &str, install: &str) -> PathBuf {
    let node = require_bin("node", install);
    let manifest = oidc_dir()
        .join("node_modules")
        .join(package)
        .join("package.json");
    assert!(
        manifest.is_file(),
        "the npm package {package} is not installed in tests/support/oidc; it is needed by this \
         test. Install it with: {install} (scripts/test.sh does this)"
    );
    node
}

/// A client as oidc-provider reads it: confidential, `client_secret_basic`,
/// allowed the code and refresh grants, with exact redirect URIs.
pub fn confidential_client(id: &str, secret: &str, redirect_uri: &str, post_logout: &str) -> Value {
    json!({
        "client_id": id,
        "client_secret": secret,
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    })
}

/// A public client: no secret, PKCE only.
pub fn public_client(id: &str, redirect_uri: &str, post_logout: &str) -> Value {
    json!({
        "client_id": id,
        "token_endpoint_auth_method": "none",
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    })
}

/// A machine client for the client-credentials grant, allowed `scope`
/// (space-separated).
pub fn machine_client(id: &str, secret: &str, scope: &str) -> Value {
    json!({
        "client_id": id,
        "client_secret": secret,
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["client_credentials"],
        "redirect_uris": [],
        "response_types": [],
        "scope": scope,
    })
}

/// How the provider runs. Lifetimes left at `None` are oidc-provider's
/// defaults (ID token 1 h, session 14 days).
#[derive(Default, Clone)]
pub struct ProviderOptions {
    pub clients: Vec<Value>,
    pub id_token_ttl_s: Option<u64>,
    pub access_token_ttl_s: Option<u64>,
    pub session_ttl_s: Option<u64>,
    pub refresh_token_ttl_s: Option<u64>,
    /// Issue a refresh token with every code grant (to clients allowed the
    /// refresh grant), without `offline_access`.
    pub refresh_tokens: bool,
    /// The scopes a client-credentials token can carry (default
    /// "read write admin").
    pub resource_scopes: Option<String>,
    /// Login name -> `{ "email", "email_verified", "groups" }`. Others get
    /// `<login>@example.com` (or the login when it has an `@`), verified.
    pub accounts: serde_json::Map<String, Value>,
}

impl ProviderOptions {
    fn to_json(&self) -> Value {
        let mut ttl = serde_json::Map::new();
        for (name, value) in [
            ("IdToken", self.id_token_ttl_s),
            ("AccessToken", self.access_token_ttl_s),
            ("Session", self.session_ttl_s),
            ("RefreshToken", self.refresh_token_ttl_s),
        ] {
            if let Some(v) = value {
                ttl.insert(name.into(), v.into());
            }
        }
        let mut config = json!({
            "clients": self.clients,
            "ttl": ttl,
            "refresh_tokens": self.refresh_tokens,
            "accounts": self.accounts,
        });
        if let Some(scopes) = &self.resource_scopes {
            config["resource_scopes"] = scopes.clone().into();
        }
        config
    }
}

/// A defect given to the next ID token the provider's token endpoint
/// returns (re-signed with the provider's current key unless the defect
/// is the signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// A nonce other than the one of the authorization request.
    Nonce,
    /// `aud` names another client.
    Audience,
    /// `exp` an hour ago.
    Expired,
    /// Signed by an RS256 key the JWKS does not publish (its own kid).
    UnknownKey,
    /// Signed by another RS256 key under the kid of the published one.
    SameKidOtherKey,
    /// `alg: none`, no signature.
    AlgNone,
}

impl Tamper {
    pub fn mode(self) -> &'static str {
        match self {
            Tamper::Nonce => "nonce",
            Tamper::Audience => "audience",
            Tamper::Expired => "expired",
            Tamper::UnknownKey => "unknown_key",
            Tamper::SameKidOtherKey => "same_kid_other_key",
            Tamper::AlgNone => "alg_none",
        }
    }
}

/// The token endpoint's outcomes so far.
#[derive(Debug, Clone)]
pub struct Counters(pub Value);

impl Counters {
    /// Successful grants of `grant_type` (`authorization_code`,
    /// `refresh_token`, `client_credentials`).
    pub fn ok(&self, grant_type: &str) -> u64 {
        self.0["grants"][grant_type]["ok"].as_u64().unwrap_or(0)
    }

    /// Refused grants of `grant_type` with the OAuth error `code`.
    pub fn refused(&self, grant_type: &str, code: &str) -> u64 {
        self.0["grants"][grant_type]["errors"][code]
            .as_u64()
            .unwrap_or(0)
    }

    /// All refused grants of `grant_type`.
    pub fn errors(&self, grant_type: &str) -> u64 {
        self.0["grants"][grant_type]["error"].as_u64().unwrap_or(0)
    }

    /// ID tokens served with a defect.
    pub fn tampered(&self) -> u64 {
        self.0["tampered"].as_u64().unwrap_or(0)
    }
}

/// Starts `node provider.mjs` on `port` (0: a free one) and waits for its
/// readiness line; returns the process and the issuer it announced.
fn spawn(config: &std::path::Path, port: u16, dir: &std::path::Path) -> (Process, String) {
    let node = require_node("oidc-provider", INSTALL);
    let mut process = Process::spawn(
        "oidc-provider",
        Command::new(node)
            .arg(oidc_dir().join("provider.mjs"))
            .args(["--port", &port.to_string(), "--config"])
            .arg(config)
            .current_dir(oidc_dir()),
        dir,
    );
    // Startup takes 0.4-0.7 s idle and up to 5 s on a busy machine.
    let deadline = Instant::now() + START_TIMEOUT;
    let issuer = loop {
        if let Some(line) = process
            .log_text()
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("ready "))
        {
            break line.trim().to_string();
        }
        if let Some(status) = process.wait_exit(Duration::from_millis(20)) {
            panic!(
                "oidc-provider exited ({status}) before it was ready:\n{}",
                process.log_text()
            );
        }
        assert!(
            Instant::now() < deadline,
            "oidc-provider was not ready within {START_TIMEOUT:?}:\n{}",
            process.log_text()
        );
    };
    (process, issuer)
}

/// oidc-provider on a free loopback port (plain HTTP, as a loopback issuer
/// may be), stopped when dropped.
pub struct Provider {
    issuer: String,
    options: ProviderOptions,
    http: reqwest::Client,
    process: Process,
    /// Its config and log; removed when dropped.
    dir: TempDir,
}

impl Provider {
    pub fn start(options: ProviderOptions) -> Provider {
        let dir = tempdir();
        let config = dir.path().join("provider.json");
        std::fs::write(&config, options.to_json().to_string()).unwrap();
        let (process, issuer) = spawn(&config, 0, dir.path());
        Provider {
            issuer,
            options,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            process,
            dir,
        }
    }

    /// Stops the provider: its port refuses connections.
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// Starts it again on the same port, with the same configuration (a
    /// new signing key, no sessions or grants).
    pub fn start_again(&mut self) {
        let port = Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.port())
            .expect("the issuer has a port");
        let config = self.dir.path().join("provider.json");
        let (process, issuer) = spawn(&config, port, self.dir.path());
        assert_eq!(issuer, self.issuer);
        self.process = process;
    }

    /// `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What the provider printed (a line per token request and admin call).
    pub fn log(&self) -> String {
        self.process.log_text()
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!("{}/_test/{path_and_query}", self.issuer);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status();
        let body: Value = resp.json().await.expect("admin answer");
        assert!(status.is_success(), "{url}: {status} {body}");
        body
    }

    /// Replaces the registered clients (the tests know the proxy's port,
    /// and so its redirect_uri, only once the provider runs).
    pub async fn set_clients(&self, clients: &[Value]) {
        self.admin(
            reqwest::Method::POST,
            "clients",
            Some(Value::from(clients.to_vec())),
        )
        .await;
    }

    /// The next ID token the token endpoint returns gets `defect`.
    pub async fn tamper_next_id_token(&self, defect: Tamper) {
        self.admin(
            reqwest::Method::POST,
            &format!("tamper?mode={}", defect.mode()),
            None,
        )
        .await;
    }

    /// A new signing key (a new kid) signs from now on; the old ones stay
    /// published when `keep_old`. Returns the new kid.
    pub async fn rotate_key(&self, keep_old: bool) -> String {
        let v = self
            .admin(
                reqwest::Method::POST,
                &format!("rotate?keep_old={keep_old}"),
                None,
            )
            .await;
        v["kid"].as_str().unwrap().to_string()
    }

    /// The published kids, the signing one first.
    pub async fn kids(&self) -> Vec<String> {
        let v = self.admin(reqwest::Method::GET, "keys", None).await;
        serde_json::from_value(v["kids"].clone()).unwrap()
    }

    pub async fn counters(&self) -> Counters {
        Counters(self.admin(reqwest::Method::GET, "counters", None).await)
    }

    /// Revokes every grant of `account` (its refresh tokens stop working).
    /// Returns how many grants there were.
    pub async fn revoke(&self, account: &str) -> u64 {
        self.admin(
            reqwest::Method::POST,
            &format!("revoke?account={account}"),
            None,
        )
        .await["revoked"]
            .as_u64()
            .unwrap()
    }

    /// A client-credentials access token (RFC 9068 JWT) for `resource` with
    /// `scopes`, from the first machine client of the options.
    pub async fn client_credentials_token(&self, scopes: &[&str], resource: &str) -> String {
        let client = self
            .options
            .clients
            .iter()
            .find(|c| {
                c["grant_types"]
                    .as_array()
                    .is_some_and(|g| g.iter().any(|g| g == "client_credentials"))
            })
            .expect("a machine client (support::oidc::machine_client) in the provider options");
        let resp = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str(),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", &scopes.join(" ")),
                ("resource", resource),
            ])
            .send()
            .await
            .expect("token endpoint");
        let status = resp.status();
        let body: Value = resp.json().await.expect("token response");
        assert!(status.is_success(), "client credentials: {status} {body}");
        body["access_token"].as_str().unwrap().to_string()
    }
}

/// The header and claims of a JWT, not verified.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let mut parts = token.split('.');
    let mut decode = || -> Value {
        let part = parts.next().expect("a JWT part");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    (decode(), decode())
}

// ------------------------------------------------------------ headless login

/// One request of a login and its answer.
#[derive(Debug, Clone)]
pub struct Hop {
    pub method: reqwest::Method,
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Hop {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// `Location`, resolved against the request's URL.
    pub fn location(&self) -> Option<Url> {
        self.url.join(self.header("location")?).ok()
    }
}

/// The hops of a login, in order.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    pub hops: Vec<Hop>,
    /// The URL the walk was told to stop before (not requested).
    pub stopped_before: Option<Url>,
}

impl Flow {
    /// The last answer.
    pub fn last(&self) -> &Hop {
        self.hops.last().expect("a request was made")
    }

    /// The request to a URL whose path is `path` (the first one).
    pub fn hop_to(&self, path: &str) -> Option<&Hop> {
        self.hops.iter().find(|h| h.url.path() == path)
    }

    pub fn urls(&self) -> Vec<String> {
        self.hops
            .iter()
            .map(|h| format!("{} {} -> {}", h.method, h.url, h.status))
            .collect()
    }
}

/// The value of query parameter `name` of `url`.
pub fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A browser without a browser: reqwest with a cookie jar, following
/// redirects itself across the proxy and the provider, filling in the
/// provider's login and consent forms.
pub struct Agent {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

impl Agent {
    /// `ca`: trusted in addition to nothing else (the proxy's test CA);
    /// `resolve`: names to send to fixed addresses (`app.test` -> the
    /// proxy's HTTPS listener; the URL's port is the one used).
    pub fn new(ca: Option<&TestCa>, resolve: &[(&str, SocketAddr)]) -> Agent {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let mut b = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30));
        if let Some(ca) = ca {
            b = b.add_root_certificate(ca.reqwest_root());
        }
        for (name, addr) in resolve {
            b = b.resolve(name, *addr);
        }
        Agent {
            client: b.build().expect("client"),
            jar,
        }
    }

    /// The `Cookie` header the jar would send to `url`.
    pub fn cookies(&self, url: &str) -> String {
        self.jar
            .cookies(&Url::parse(url).unwrap())
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// One request as a browser makes it (`Accept: text/html`).
    pub async fn request(
        &self,
        method: reqwest::Method,
        url: &Url,
        form: Option<&[(String, String)]>,
    ) -> Hop {
        let mut req = self.client.request(method.clone(), url.clone()).header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        );
        if let Some(form) = form {
            req = req.form(form);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Hop {
            method,
            url: url.clone(),
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Hop {
        self.request(reqwest::Method::GET, &Url::parse(url).unwrap(), None)
            .await
    }

    /// Logs in as `login` starting at `start`, to the end (the first answer
    /// that is neither a redirect nor a provider form).
    pub async fn login(&self, start: &str, login: &str) -> Flow {
        self.walk(Url::parse(start).unwrap(), login, |_| false)
            .await
    }

    /// Like `login`, but stops before requesting a URL for which `stop`
    /// holds (e.g. the proxy's `/auth/callback`).
    pub async fn walk(&self, start: Url, login: &str, stop: impl Fn(&Url) -> bool) -> Flow {
        let mut flow = Flow::default();
        self.walk_on(&mut flow, start, login, stop).await;
        flow
    }

    /// Continues `flow` from `next`.
    pub async fn walk_on(
        &self,
        flow: &mut Flow,
        mut next: Url,
        login: &str,
        stop: impl Fn(&Url) -> bool,
    ) {
        let mut method = reqwest::Method::GET;
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..30 {
            if stop(&next) {
                flow.stopped_before = Some(next);
                return;
            }
            let hop = self.request(method.clone(), &next, form.as_deref()).await;
            let redirect = (300..400)
                .contains(&hop.status)
                .then(|| hop.location())
                .flatten();
            let provider_form = (hop.status == 200)
                .then(|| provider_form(&hop, login))
                .flatten();
            flow.hops.push(hop);
            if let Some(to) = redirect {
                (method, form, next) = (reqwest::Method::GET, None, to);
            } else if let Some((action, fields)) = provider_form {
                (method, form, next) = (reqwest::Method::POST, Some(fields), action);
            } else {
                return;
            }
        }
        panic!("no end after 30 requests: {:#?}", flow.urls());
    }
}

/// The login, consent or logout form of an oidc-provider interaction page:
/// its action and the fields to post (`login` filled in).
fn provider_form(hop: &Hop, login: &str) -> Option<(Url, Vec<(String, String)>)> {
    let path = hop.url.path();
    if !(path.starts_with("/interaction/") || path.starts_with("/session/end")) {
        return None;
    }
    let body = &hop.body;
    let start = body.find("<form")?;
    let form = &body[start..start + body[start..].find("</form>")?];
    let action = attribute(&form[..form.find('>')?], "action")?;
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let value = match name.as_str() {
            "login" => login.to_string(),
            "password" => "any".to_string(),
            _ => attribute(tag, "value").unwrap_or_default(),
        };
        fields.push((name, value));
    }
    if path.starts_with("/session/end") {
        // The logout confirmation: its "Yes" button.
        fields.push(("logout".into(), "yes".into()));
    }
    Some((hop.url.join(&html_unescape(&action)).ok()?, fields))
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let at = tag.find(&needle)? + needle.len();
    let end = tag[at..].find('"')?;
    Some(html_unescape(&tag[at..at + end]))
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&#x3D;", "=")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

// ------------------------------------------------------------------ browser

/// What the browser saw at the end of a login.
#[derive(Debug, Clone)]
pub struct BrowserResult {
    pub url: String,
    pub text: String,
    pub status: Option<u16>,
}

/// Headless chromium (Debian's) driven by playwright-core.
pub struct Browser {
    node: PathBuf,
    chromium: PathBuf,
}

impl Browser {
    pub fn new() -> Browser {
        let chromium = require_bin("chromium", BROWSER_INSTALL);
        let node = require_node("playwright-core", BROWSER_INSTALL);
        Browser { node, chromium }
    }

    /// Opens `url` with `map_host` resolved to 127.0.0.1, logs in as `login`
    /// at the provider, clicks through consent, and saves a screenshot of
    /// the page after login at `screenshot`.
    pub fn login(
        &self,
        url: &str,
        map_host: &str,
        login: &str,
        screenshot: &Path,
    ) -> BrowserResult {
        if let Some(parent) = screenshot.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let out = Command::new(&self.node)
            .arg(oidc_dir().join("browser.mjs"))
            .args(["--url", url, "--login", login, "--map-host", map_host])
            .arg("--screenshot")
            .arg(screenshot)
            .arg("--chromium")
            .arg(&self.chromium)
            .current_dir(oidc_dir())
            .output()
            .expect("node runs browser.mjs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "browser.mjs failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout.lines().last().unwrap_or_default();
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("browser.mjs printed no JSON ({e}):\n{stdout}"));
        BrowserResult {
            url: v["url"].as_str().unwrap_or_default().to_string(),
            text: v["text"].as_str().unwrap_or_default().to_string(),
            status: v["status"].as_u64().map(|s| s as u16),
        }
    }
}

/// Where tests keep files for people to look at afterwards
/// (`target/test-artifacts/<area>/`).
pub fn artifact(area: &str, name: &str) -> PathBuf {
    repo().join("target/test-artifacts").join(area).join(name)
}
