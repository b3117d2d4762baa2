//! OIDC login at the edge (#16), against the interface of auth-spec
//! (DESIGN §7): a real OpenID provider (oidc-provider from npm, with a
//! test-only admin API that tampers with tokens, rotates keys and counts
//! grants; tests/support/oidc/provider.mjs), the FastAPI app under uvicorn
//! as the upstream, and the proxy on `app.test` (its HTTPS port; the
//! provider on 127.0.0.1, so that their cookies never mix). A headless
//! login runs through reqwest with a cookie jar; one runs in chromium.

use std::fs;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;

use crate::support;
use crate::support::oidc::{
    Agent, Browser, Flow, Hop, Provider, ProviderOptions, Tamper, artifact, confidential_client,
    jwt_parts, machine_client, public_client, query,
};
use crate::support::proxy::{Proxy, TestCa};
use crate::support::services::{Uvicorn, tempdir};

const SITE: &str = "app.test";
const CLIENT_ID: &str = "webtier";
const SECRET: &str = "webtier-test-secret-3f9a";
const API_AUDIENCE: &str = "https://api.app.test";
const ROBOT: &str = "robot";
const ROBOT_SECRET: &str = "robot-test-secret-77c1";

/// What differs between the tests' setups.
#[derive(Default)]
struct Setup {
    provider: ProviderOptions,
    /// Extra lines of `[site.auth]`.
    site_auth: String,
    /// The proxy as a public client (no secret, PKCE only).
    public_client: bool,
    /// `[site.auth]`'s scopes, a TOML array (default openid and email).
    scopes: Option<&'static str>,
    /// More `[[site.route]]` tables; `{up}` stands for the upstream.
    extra_routes: &'static str,
    /// The provider is stopped before the proxy starts (its clients are
    /// then the test's to register, with `Rig::register`).
    provider_down_at_start: bool,
}

/// The provider, the upstream and the proxy in front of it:
/// - `/` needs a login with an `@example.com` email; `/health` and
///   `/echo/public/` are public;
/// - `/echo/staff/` lets only bob@example.com in;
/// - `/echo/api/` takes bearer tokens for `https://api.app.test` with the
///   `admin` scope and no browser login.
struct Rig {
    ca: TestCa,
    provider: Provider,
    app: Uvicorn,
    proxy: Proxy,
}

impl Rig {
    async fn start(setup: Setup) -> Rig {
        let ca = TestCa::new();
        let robot = machine_client(ROBOT, ROBOT_SECRET, "read write admin");
        let mut options = setup.provider;
        options.clients.push(robot);
        let mut provider = Provider::start(options);
        if setup.provider_down_at_start {
            provider.stop();
        }
        let app = Uvicorn::start("app");
        let dir = tempdir();
        let d = dir.path();
        let (cert, key) = ca.leaf(&[SITE], d, "app");
        fs::write(d.join("client.secret"), SECRET).unwrap();
        let up = format!("http://127.0.0.1:{}", app.port);
        let body = format!(
            r#"session_key_file = "{keys}"

[[site]]
names = ["{SITE}"]
tls = {{ cert = "{cert}", key = "{key}" }}

[site.auth]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
{secret}
scopes = {scopes}
{site_auth}
{extra_routes}

[[site.route]]
path = "/"
upstreams = ["{up}"]
[site.route.auth]
allowed_emails = ["*@example.com"]
public_paths = ["/health", "/echo/public/"]

[[site.route]]
path = "/echo/staff/"
upstreams = ["{up}"]
[site.route.auth]
allowed_emails = ["bob@example.com"]

[[site.route]]
path = "/echo/api/"
upstreams = ["{up}"]
[site.route.auth]
login = false
allowed_claims = {{ client_id = ["{ROBOT}"] }}
bearer_audience = "{API_AUDIENCE}"
bearer_scopes = ["admin"]
"#,
            keys = d.join("session.keys").display(),
            cert = cert.display(),
            key = key.display(),
            issuer = provider.issuer(),
            secret = if setup.public_client {
                String::new()
            } else {
                format!(
                    "client_secret_file = \"{}\"",
                    d.join("client.secret").display()
                )
            },
            site_auth = setup.site_auth,
            scopes = setup.scopes.unwrap_or(r#"["openid", "email"]"#),
            extra_routes = setup.extra_routes.replace("{up}", &up),
        );
        let proxy = Proxy::start_in(dir, &body);
        let rig = Rig {
            ca,
            provider,
            app,
            proxy,
        };
        if !setup.provider_down_at_start {
            rig.register(setup.public_client).await;
        }
        rig
    }

    /// Registers the proxy's client at the provider. The redirect URIs
    /// name the proxy's HTTPS port, known only once it runs.
    async fn register(&self, public: bool) {
        let client = if public {
            public_client(CLIENT_ID, &self.callback(), &self.url("/"))
        } else {
            confidential_client(CLIENT_ID, SECRET, &self.callback(), &self.url("/"))
        };
        let robot = machine_client(ROBOT, ROBOT_SECRET, "read write admin");
        self.provider.set_clients(&[client, robot]).await;
    }

    /// `https://app.test:PORT`.
    fn origin(&self) -> String {
        format!("https://{SITE}:{}", self.proxy.https_port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// The redirect_uri the proxy must send (the default of auth-spec).
    fn callback(&self) -> String {
        self.url("/auth/callback")
    }

    /// A new browser (an empty cookie jar).
    fn agent(&self) -> Agent {
        Agent::new(Some(&self.ca), &[(SITE, self.proxy.https())])
    }

    /// Requests the app has answered so far, read from the app directly
    /// (this read counts itself).
    async fn upstream_requests(&self) -> u64 {
        let v: Value = reqwest::get(self.app.url("/seen"))
            .await
            .expect("the app answers")
            .json()
            .await
            .unwrap();
        v["requests"].as_u64().unwrap()
    }

    /// Runs `act` and asserts that no request of it reached the upstream.
    async fn assert_upstream_untouched<T>(&self, what: &str, act: impl AsyncFnOnce() -> T) -> T {
        let before = self.upstream_requests().await;
        let out = act().await;
        let after = self.upstream_requests().await;
        assert_eq!(
            after,
            before + 1,
            "{what}: {} request(s) reached the upstream\n--- proxy log\n{}",
            after - before - 1,
            self.proxy.log()
        );
        out
    }

    /// Logs `agent` in as `login` from `path` to the end.
    async fn login(&self, agent: &Agent, path: &str, login: &str) -> Flow {
        agent.login(&self.url(path), login).await
    }

    /// Like `login`, but stops before the proxy's callback; returns the
    /// flow and the callback URL the provider sent the browser to.
    async fn login_until_callback(&self, agent: &Agent, path: &str, login: &str) -> (Flow, Url) {
        let callback = self.callback();
        let flow = agent
            .walk(Url::parse(&self.url(path)).unwrap(), login, |u| {
                u.as_str().starts_with(&callback)
            })
            .await;
        let at = flow
            .stopped_before
            .clone()
            .unwrap_or_else(|| panic!("the login never reached the callback: {:#?}", flow.urls()));
        (flow, at)
    }

    /// A browser request to `path` with `agent`'s cookies.
    async fn get(&self, agent: &Agent, path: &str) -> Hop {
        agent.get(&self.url(path)).await
    }

    /// Whether `hop` is a redirect to the provider's authorization endpoint.
    fn is_login_redirect(&self, hop: &Hop) -> bool {
        hop.status == 302
            && hop.location().is_some_and(|l| {
                l.as_str()
                    .starts_with(&format!("{}/auth?", self.provider.issuer()))
            })
    }

    /// The number of configuration reloads the proxy has logged.
    fn reloads(&self) -> usize {
        self.proxy.log().matches("reloaded configuration").count()
    }
}

/// The JSON the app's `/echo/...` answered with.
fn echoed(hop: &Hop) -> Value {
    assert_eq!(hop.status, 200, "{} {}: {}", hop.method, hop.url, hop.body);
    serde_json::from_str(&hop.body)
        .unwrap_or_else(|e| panic!("not the app's JSON ({e}): {}", hop.body))
}

/// The header `name` as the upstream received it.
fn upstream_header(hop: &Hop, name: &str) -> Option<String> {
    echoed(hop)["headers"][name].as_str().map(str::to_string)
}

/// `Set-Cookie` lines of `hop` that set (not clear) a session cookie.
fn session_cookies_set(hop: &Hop) -> Vec<String> {
    hop.set_cookies()
        .into_iter()
        .filter(|c| c.starts_with("__Host-webtier-session"))
        .filter(|c| !c.to_ascii_lowercase().contains("max-age=0"))
        .collect()
}

/// A refused callback: the plain error page with `status`, no session,
/// nothing secret in the page.
#[track_caller]
fn assert_error_page(hop: &Hop, status: u16, secrets: &[&str]) {
    assert_eq!(
        hop.status, status,
        "{} {} answered {}: {}",
        hop.method, hop.url, hop.status, hop.body
    );
    let ctype = hop.header("content-type").unwrap_or_default();
    assert!(ctype.starts_with("text/html"), "content-type {ctype:?}");
    assert!(
        session_cookies_set(hop).is_empty(),
        "a session cookie was set: {:?}",
        hop.set_cookies()
    );
    for secret in secrets {
        assert!(
            !hop.body.contains(secret),
            "the error page shows {secret:?}: {}",
            hop.body
        );
    }
}

fn has_attr(cookie: &str, attr: &str) -> bool {
    cookie
        .split(';')
        .any(|a| a.trim().eq_ignore_ascii_case(attr))
}

// ------------------------------------------------------------------ login

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_login_reaches_the_upstream_with_the_identity_and_never_a_spoofed_one() {
    let rig = Rig::start(Setup::default()).await;
    let agent = rig.agent();
    let flow = rig.login(&agent, "/echo/x?q=1", "alice").await;

    // The proxy's redirect to the provider.
    let first = &flow.hops[0];
    assert!(rig.is_login_redirect(first), "{:#?}", flow.urls());
    let auth = first.location().unwrap();
    assert_eq!(query(&auth, "response_type").as_deref(), Some("code"));
    assert_eq!(query(&auth, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query(&auth, "redirect_uri"), Some(rig.callback()));
    let scope = query(&auth, "scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "openid"), "scope {scope:?}");
    assert!(scope.split(' ').any(|s| s == "email"), "scope {scope:?}");
    let state = query(&auth, "state").expect("state");
    let nonce = query(&auth, "nonce").expect("nonce");
    assert!(
        state.len() >= 16 && nonce.len() >= 16,
        "{state:?} {nonce:?}"
    );
    assert_ne!(state, nonce);
    assert_eq!(
        query(&auth, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let challenge = query(&auth, "code_challenge").unwrap();
    assert_eq!(challenge.len(), 43, "a base64url SHA-256: {challenge:?}");
    let login_cookie = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("__Host-webtier-login-{}=", &state[..12])))
        .unwrap_or_else(|| panic!("no login cookie for the state: {:?}", first.set_cookies()));
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(
            has_attr(&login_cookie, attr),
            "{attr} missing: {login_cookie}"
        );
    }

    // The callback: a session, the login cookie gone, back to the page.
    let cb = flow
        .hop_to("/auth/callback")
        .expect("the callback was requested");
    assert_eq!(query(&cb.url, "state"), Some(state.clone()));
    assert_eq!(cb.status, 302, "{}", cb.body);
    assert_eq!(cb.header("location"), Some("/echo/x?q=1"));
    let sessions = session_cookies_set(cb);
    assert!(
        !sessions.is_empty(),
        "no session cookie: {:?}",
        cb.set_cookies()
    );
    for cookie in &sessions {
        for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(has_attr(cookie, attr), "{attr} missing: {cookie}");
        }
    }
    assert!(
        cb.set_cookies().iter().any(|c| c
            .starts_with(&format!("__Host-webtier-login-{}=", &state[..12]))
            && c.to_ascii_lowercase().contains("max-age=0")),
        "the login cookie is not deleted: {:?}",
        cb.set_cookies()
    );

    // The upstream sees who it is, and not the session cookie.
    let page = flow.last();
    assert_eq!(page.url.as_str(), rig.url("/echo/x?q=1"));
    let seen = echoed(page);
    assert_eq!(seen["query"], "q=1");
    assert_eq!(
        upstream_header(page, "x-auth-request-user").as_deref(),
        Some("alice")
    );
    assert_eq!(
        upstream_header(page, "x-auth-request-email").as_deref(),
        Some("alice@example.com")
    );
    let cookie = upstream_header(page, "cookie").unwrap_or_default();
    assert!(
        !cookie.contains("__Host-webtier-session"),
        "cookie upstream: {cookie}"
    );

    // Spoofed identity headers: removed, with a session and without one.
    let spoofed = agent
        .client
        .get(rig.url("/echo/again"))
        .header("accept", "text/html")
        .header("x-auth-request-email", "mallory@evil.test")
        .header("x-auth-request-user", "mallory")
        .header("x-auth-request-groups", "admins")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 200);
    let v: Value = spoofed.json().await.unwrap();
    assert_eq!(v["headers"]["x-auth-request-email"], "alice@example.com");
    assert_eq!(v["headers"]["x-auth-request-user"], "alice");
    assert!(v["headers"].get("x-auth-request-groups").is_none(), "{v}");
    let public = raw_client(&rig)
        .get(rig.url("/echo/public/page"))
        .header("x-auth-request-email", "mallory@evil.test")
        .header("x-auth-request-user", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200, "a public path needs no login");
    let v: Value = public.json().await.unwrap();
    assert!(v["headers"].get("x-auth-request-email").is_none(), "{v}");
    assert!(v["headers"].get("x-auth-request-user").is_none(), "{v}");

    // Without a session, a request that is not a browser's gets 401.
    let api = rig
        .assert_upstream_untouched("an API request without a session", async || {
            rig.agent()
                .client
                .get(rig.url("/echo/x"))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        })
        .await;
    assert_eq!(api.status(), 401);
    assert!(api.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_login_in_chromium_ends_on_the_page_with_a_screenshot_kept() {
    let rig = Rig::start(Setup::default()).await;
    let browser = Browser::new();
    // Kept for people to look at: target/test-artifacts/auth/.
    let shot = artifact("auth", "chromium-after-login.png");
    let _ = fs::remove_file(&shot);
    let result = browser.login(&rig.url("/echo/browser"), SITE, "carol", &shot);
    assert_eq!(result.url, rig.url("/echo/browser"), "{result:?}");
    assert_eq!(result.status, Some(200), "{result:?}");
    assert!(result.text.contains("carol@example.com"), "{}", result.text);
    assert!(
        result.text.contains("x-auth-request-user"),
        "{}",
        result.text
    );
    let png = fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_client_logs_in_with_pkce_alone() {
    let rig = Rig::start(Setup {
        public_client: true,
        ..Setup::default()
    })
    .await;
    let flow = rig.login(&rig.agent(), "/echo/x", "alice").await;
    assert_eq!(
        upstream_header(flow.last(), "x-auth-request-user").as_deref(),
        Some("alice"),
        "{:#?}",
        flow.urls()
    );
    // The provider requires PKCE of public clients and checked the verifier.
    assert_eq!(rig.provider.counters().await.ok("authorization_code"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_go_on_after_the_provider_rotates_its_signing_key() {
    let rig = Rig::start(Setup::default()).await;
    echoed(rig.login(&rig.agent(), "/echo/x", "alice").await.last());
    let old = rig.provider.kids().await;
    // The JWKS the proxy fetched no longer has the key that signs now.
    let kid = rig.provider.rotate_key(false).await;
    assert_eq!(rig.provider.kids().await, vec![kid.clone()]);
    assert!(!old.contains(&kid));
    let flow = rig.login(&rig.agent(), "/echo/x", "bob").await;
    assert_eq!(
        upstream_header(flow.last(), "x-auth-request-user").as_deref(),
        Some("bob"),
        "{:#?}",
        flow.urls()
    );
}

// -------------------------------------------------------------- negatives

#[tokio::test(flavor = "multi_thread")]
async fn id_tokens_with_a_defect_get_the_error_page_and_no_session() {
    let rig = Rig::start(Setup::default()).await;
    for (served, defect) in [
        Tamper::Nonce,
        Tamper::Audience,
        Tamper::Expired,
        Tamper::UnknownKey,
        Tamper::SameKidOtherKey,
        Tamper::AlgNone,
    ]
    .into_iter()
    .enumerate()
    {
        let agent = rig.agent();
        rig.provider.tamper_next_id_token(defect).await;
        let flow = rig
            .assert_upstream_untouched(&format!("{defect:?}"), async || {
                rig.login(&agent, "/echo/x", "alice").await
            })
            .await;
        let end = flow.last();
        assert_eq!(
            end.url.path(),
            "/auth/callback",
            "{defect:?}: {:#?}",
            flow.urls()
        );
        let code = query(&end.url, "code").unwrap();
        assert_error_page(end, 502, &[&code, SECRET]);
        let counters = rig.provider.counters().await;
        assert_eq!(
            counters.tampered(),
            served as u64 + 1,
            "{defect:?} was served"
        );
        // No session came of it: the next request is sent to log in.
        let next = rig
            .assert_upstream_untouched("after a refused callback", async || {
                rig.get(&agent, "/echo/x").await
            })
            .await;
        assert!(
            rig.is_login_redirect(&next),
            "{defect:?}: {} {}",
            next.status,
            next.body
        );
    }
    assert!(
        !rig.proxy.log().contains(SECRET),
        "the secret is in the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_state_a_provider_error_and_a_replayed_callback_are_refused() {
    let rig = Rig::start(Setup::default()).await;

    // The state changed on the way back.
    let agent = rig.agent();
    let (_, callback) = rig.login_until_callback(&agent, "/echo/x", "alice").await;
    let state = query(&callback, "state").unwrap();
    let code = query(&callback, "code").unwrap();
    let mut tampered = callback.clone();
    let last = if state.ends_with('A') { 'B' } else { 'A' };
    let flipped = format!("{}{last}", &state[..state.len() - 1]);
    tampered
        .query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", &flipped)
        .append_pair("iss", rig.provider.issuer());
    let hop = rig
        .assert_upstream_untouched("a tampered state", async || {
            agent.request(reqwest::Method::GET, &tampered, None).await
        })
        .await;
    assert_error_page(&hop, 400, &[&code]);
    // No code was exchanged for it.
    assert_eq!(rig.provider.counters().await.ok("authorization_code"), 0);

    // No state at all, one that is not ours (a line feed, a `;` that
    // would add cookie attributes, non-ASCII), and the provider's own
    // error.
    for q in [
        format!("code={code}"),
        format!("code={code}&state=%0A"),
        format!("code={code}&state=a%3B%20Domain%3Devil"),
        format!("code={code}&state=%C3%A9t%C3%A9"),
        format!("error=access_denied&state={state}"),
    ] {
        let hop = rig
            .assert_upstream_untouched(&q, async || {
                rig.get(&agent, &format!("/auth/callback?{q}")).await
            })
            .await;
        assert_error_page(&hop, 400, &[&code]);
    }

    // A replayed callback: the login cookie of the first one, sent again
    // with the same code after the login succeeded.
    let agent = rig.agent();
    let (mut flow, callback) = rig.login_until_callback(&agent, "/echo/x", "alice").await;
    let login_cookies = agent.cookies(&rig.origin());
    assert!(
        login_cookies.contains("__Host-webtier-login-"),
        "{login_cookies}"
    );
    agent
        .walk_on(&mut flow, callback.clone(), "alice", |_| false)
        .await;
    echoed(flow.last());
    let exchanged = rig.provider.counters().await.ok("authorization_code");
    let replay = rig
        .assert_upstream_untouched("a replayed callback", async || {
            let resp = raw_client(&rig)
                .get(callback.clone())
                .header("accept", "text/html")
                .header("cookie", &login_cookies)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.headers().clone(),
                resp.text().await.unwrap(),
            )
        })
        .await;
    let code = query(&callback, "code").unwrap();
    let replay = Hop {
        method: reqwest::Method::GET,
        url: callback.clone(),
        status: replay.0,
        headers: replay.1,
        body: replay.2,
    };
    // The proxy knows the login came back already: 400, and the provider
    // is not even asked (a replay costs it nothing).
    assert_error_page(&replay, 400, &[&code]);
    let counters = rig.provider.counters().await;
    assert_eq!(
        counters.ok("authorization_code"),
        exchanged,
        "a code was exchanged twice"
    );
    assert_eq!(
        counters.errors("authorization_code"),
        0,
        "the provider was asked: {:?}",
        counters.0
    );
    rig.proxy.wait_log("this login came back already");
}

/// Sends `GET <target>` as is (a raw request over TLS, for targets an
/// HTTP client would normalise), with `Accept: text/html`; returns the
/// status, the `Location` and the `Set-Cookie` lines.
async fn raw_browser_get(rig: &Rig, target: &str) -> (u16, Option<String>, Vec<String>) {
    use rustls_pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(rig.ca.pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(rig.proxy.https())
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from(SITE.to_string()).unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {SITE}:{}\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
        rig.proxy.https_port
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let status = support::proxy::status_of(head);
    let header = |name: &str| -> Vec<String> {
        head.lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    };
    (
        status,
        header("location").into_iter().next(),
        header("set-cookie"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_redirect_after_login_never_leaves_the_site() {
    let rig = Rig::start(Setup::default()).await;
    let origin = Url::parse(&rig.origin()).unwrap();
    for target in [
        "//evil.test/",
        "//evil.test/%2e%2e",
        "/\\evil.test/",
        "/\\/evil.test/",
        "/%2F%2Fevil.test/",
        "/%2f%2fevil.test/",
        "/%5Cevil.test/",
        "/%5C%5Cevil.test/",
        "/https://evil.test/",
        "/https:%2F%2Fevil.test/",
        "https://evil.test/",
        "/echo/x?next=https://evil.test/",
    ] {
        let agent = rig.agent();
        let (status, location, cookies) = raw_browser_get(&rig, target).await;
        let Some(location) = location.filter(|_| status == 302) else {
            // Refused outright (an absolute-form target for another host):
            // that never redirects anywhere.
            assert!((400..500).contains(&status), "{target}: {status}");
            continue;
        };
        let to_provider = origin.join(&location).unwrap();
        assert!(
            to_provider
                .as_str()
                .starts_with(&format!("{}/auth?", rig.provider.issuer())),
            "{target}: redirected to {location}"
        );
        for cookie in &cookies {
            agent.jar.add_cookie_str(cookie, &origin);
        }
        let callback = rig.callback();
        let mut flow = agent
            .walk(to_provider, "alice", |u| u.as_str().starts_with(&callback))
            .await;
        let at = flow
            .stopped_before
            .clone()
            .expect("the provider sent the browser back");
        let hop = agent.request(reqwest::Method::GET, &at, None).await;
        flow.hops.push(hop.clone());
        assert_eq!(hop.status, 302, "{target}: {}", hop.body);
        let back = hop.header("location").unwrap_or_default().to_string();
        let resolved = origin.join(&back).unwrap();
        assert!(
            resolved.origin() == origin.origin()
                && !back.starts_with("//")
                && !back.starts_with("/\\")
                && !back.contains('\\'),
            "{target}: the login sent the browser to {back:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_outside_the_allow_list_get_403_and_never_reach_the_upstream() {
    let rig = Rig::start(Setup::default()).await;

    // Not @example.com: refused at the callback.
    let agent = rig.agent();
    let flow = rig
        .assert_upstream_untouched("mallory's login", async || {
            rig.login(&agent, "/echo/x", "mallory@evil.test").await
        })
        .await;
    let end = flow.last();
    assert_eq!(end.url.path(), "/auth/callback", "{:#?}", flow.urls());
    assert_error_page(end, 403, &[SECRET]);

    // The allow-list of the route the login started from: alice may use
    // `/` but not `/echo/staff/`.
    let agent = rig.agent();
    let flow = rig
        .assert_upstream_untouched("alice's login to staff", async || {
            rig.login(&agent, "/echo/staff/x", "alice").await
        })
        .await;
    assert_error_page(flow.last(), 403, &[]);
    let flow = rig.login(&agent, "/echo/x", "alice").await;
    assert_eq!(
        upstream_header(flow.last(), "x-auth-request-user").as_deref(),
        Some("alice")
    );
    // With a session, still not on staff's route.
    let hop = rig
        .assert_upstream_untouched("alice's session on staff", async || {
            rig.get(&agent, "/echo/staff/x").await
        })
        .await;
    assert_eq!(hop.status, 403, "{}", hop.body);

    // bob is on staff's list.
    let agent = rig.agent();
    let flow = rig.login(&agent, "/echo/staff/x", "bob").await;
    assert_eq!(
        upstream_header(flow.last(), "x-auth-request-email").as_deref(),
        Some("bob@example.com")
    );
}

// ----------------------------------------------------------------- bearer

#[tokio::test(flavor = "multi_thread")]
async fn bearer_tokens_need_the_audience_and_every_scope() {
    let rig = Rig::start(Setup::default()).await;
    let client = raw_client(&rig);
    let call = async |token: Option<&str>| {
        let mut req = client
            .get(rig.url("/echo/api/items"))
            .header("accept", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let auth = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, auth, resp.text().await.unwrap())
    };

    let (status, auth, _) = rig
        .assert_upstream_untouched("no token", async || call(None).await)
        .await;
    assert_eq!(status, 401);
    assert!(auth.starts_with("Bearer"), "{auth}");
    assert!(auth.contains(&format!("realm=\"{SITE}\"")), "{auth}");

    let read_only = rig
        .provider
        .client_credentials_token(&["read"], API_AUDIENCE)
        .await;
    let (header, claims) = jwt_parts(&read_only);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["scope"], "read");
    let (status, auth, _) = rig
        .assert_upstream_untouched("a missing scope", async || call(Some(&read_only)).await)
        .await;
    assert_eq!(status, 403);
    assert!(auth.contains("error=\"insufficient_scope\""), "{auth}");

    let elsewhere = rig
        .provider
        .client_credentials_token(&["read", "admin"], "https://other.app.test")
        .await;
    let (status, auth, _) = rig
        .assert_upstream_untouched("another audience", async || call(Some(&elsewhere)).await)
        .await;
    assert_eq!(status, 401);
    assert!(auth.contains("error=\"invalid_token\""), "{auth}");

    let good = rig
        .provider
        .client_credentials_token(&["read", "admin"], API_AUDIENCE)
        .await;
    let (status, _, body) = call(Some(&good)).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["headers"]["x-auth-request-user"], ROBOT);
    assert_eq!(v["headers"]["authorization"], format!("Bearer {good}"));

    // The same token again (the proxy keeps the tokens it checked), and
    // one with a byte of its signature changed, which it must not take
    // for the first.
    let (status, _, _) = call(Some(&good)).await;
    assert_eq!(status, 200);
    let mut forged = good.clone().into_bytes();
    let at = forged.len() - 2;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (status, auth, _) = rig
        .assert_upstream_untouched("a changed signature", async || call(Some(&forged)).await)
        .await;
    assert_eq!(status, 401);
    assert!(auth.contains("error=\"invalid_token\""), "{auth}");

    // The provider rotates its key and drops the old one: a token signed
    // with the new key names a key the proxy has not seen; it reads the
    // set again and accepts it.
    rig.provider.rotate_key(false).await;
    let rotated = rig
        .provider
        .client_credentials_token(&["read", "admin"], API_AUDIENCE)
        .await;
    let (status, _, body) = call(Some(&rotated)).await;
    assert_eq!(status, 200, "{body}");

    // The bearer-only route never sends a browser to log in.
    let hop = rig.get(&rig.agent(), "/echo/api/items").await;
    assert_eq!(hop.status, 401);
}

// -------------------------------------------------------------- sessions

#[tokio::test(flavor = "multi_thread")]
async fn logout_clears_the_session_and_ends_the_providers_too() {
    let rig = Rig::start(Setup::default()).await;
    let agent = rig.agent();
    echoed(rig.login(&agent, "/echo/x", "alice").await.last());

    let out = rig.get(&agent, "/auth/logout").await;
    assert_eq!(out.status, 302, "{}", out.body);
    let to = out.location().unwrap();
    assert!(
        to.as_str()
            .starts_with(&format!("{}/session/end", rig.provider.issuer())),
        "{to}"
    );
    assert_eq!(query(&to, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query(&to, "post_logout_redirect_uri"), Some(rig.url("/")));
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-webtier-session")
                && c.to_ascii_lowercase().contains("max-age=0")),
        "{:?}",
        out.set_cookies()
    );
    assert!(
        !agent
            .cookies(&rig.origin())
            .contains("__Host-webtier-session"),
        "{}",
        agent.cookies(&rig.origin())
    );
    // The provider signs out too and sends the browser back to the site.
    let origin = rig.origin();
    let flow = agent
        .walk(to, "alice", |u| u.as_str().starts_with(&origin))
        .await;
    assert_eq!(
        flow.stopped_before.as_ref().map(Url::as_str),
        Some(rig.url("/").as_str()),
        "{:#?}",
        flow.urls()
    );

    let next = rig
        .assert_upstream_untouched("after logout", async || rig.get(&agent, "/echo/x").await)
        .await;
    assert!(
        rig.is_login_redirect(&next),
        "{} {}",
        next.status,
        next.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_logs_in_again() {
    let rig = Rig::start(Setup {
        site_auth: "session_lifetime_s = 3".into(),
        ..Setup::default()
    })
    .await;
    let agent = rig.agent();
    echoed(rig.login(&agent, "/echo/x", "alice").await.last());
    let deadline = Instant::now() + Duration::from_secs(30);
    let expired = loop {
        let hop = rig.get(&agent, "/echo/x").await;
        if rig.is_login_redirect(&hop) {
            break hop;
        }
        echoed(&hop);
        assert!(Instant::now() < deadline, "the session never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut flow = Flow::default();
    agent
        .walk_on(&mut flow, expired.location().unwrap(), "alice", |_| false)
        .await;
    assert_eq!(
        upstream_header(flow.last(), "x-auth-request-user").as_deref(),
        Some("alice")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_past_its_expiry_is_refreshed_and_a_refused_refresh_ends_the_session() {
    // ID tokens live 5 s: due for a refresh at once (30 s ahead of exp).
    let rig = Rig::start(Setup {
        provider: ProviderOptions {
            refresh_tokens: true,
            id_token_ttl_s: Some(5),
            ..ProviderOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let agent = rig.agent();
    echoed(rig.login(&agent, "/echo/x", "alice").await.last());
    let page = rig.get(&agent, "/echo/y").await;
    assert_eq!(
        upstream_header(&page, "x-auth-request-email").as_deref(),
        Some("alice@example.com")
    );
    let counters = rig.provider.counters().await;
    assert!(
        counters.ok("refresh_token") >= 1,
        "no refresh: {:?}\n--- provider log\n{}",
        counters.0,
        rig.provider.log()
    );
    assert_eq!(counters.errors("refresh_token"), 0, "{:?}", counters.0);

    // The provider revokes alice's grant: the next refresh (due 5 s after
    // the last at the earliest, however short the tokens) fails, and the
    // browser is sent to log in again, without reaching the upstream.
    assert!(rig.provider.revoke("alice").await >= 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let before = rig.upstream_requests().await;
        let hop = rig.get(&agent, "/echo/z").await;
        if rig.is_login_redirect(&hop) {
            assert_eq!(
                rig.upstream_requests().await,
                before + 1,
                "the refused refresh reached the upstream"
            );
            break;
        }
        echoed(&hop);
        assert!(Instant::now() < deadline, "the session never ended");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        rig.provider
            .counters()
            .await
            .refused("refresh_token", "invalid_grant")
            >= 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_session_key_keeps_current_sessions_until_the_key_is_dropped() {
    let rig = Rig::start(Setup::default()).await;
    let keys = rig.proxy.dir.path().join("session.keys");
    let old = rig.agent();
    echoed(rig.login(&old, "/echo/x", "alice").await.last());
    let first_key = fs::read_to_string(&keys).expect("the key file, made at first use");
    assert_eq!(first_key.lines().count(), 1, "{first_key}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let rotate = |expect_reloads: usize| {
        let out = support::run(
            rig.proxy.dir.path(),
            &[
                "proxy",
                "rotate-session-key",
                "--file",
                rig.proxy.config_path.to_str().unwrap(),
            ],
        );
        support::assert_exit(&out, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        while rig.reloads() < expect_reloads {
            assert!(
                Instant::now() < deadline,
                "the proxy did not reload:\n{}",
                rig.proxy.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let reloads = rig.reloads();
    rotate(reloads + 1);
    let text = fs::read_to_string(&keys).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(
        text.lines().nth(1),
        first_key.lines().next(),
        "the old key stays second"
    );

    // The session made with the old key still passes; a new login works.
    echoed(&rig.get(&old, "/echo/x").await);
    let new = rig.agent();
    echoed(rig.login(&new, "/echo/x", "bob").await.last());

    // Two more rotations drop the first key (the previous two are kept):
    // its sessions end, the one made after the first rotation stays.
    rotate(reloads + 2);
    rotate(reloads + 3);
    let text = fs::read_to_string(&keys).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(!text.contains(first_key.trim()), "{text}");
    let hop = rig
        .assert_upstream_untouched("a session of a dropped key", async || {
            rig.get(&old, "/echo/x").await
        })
        .await;
    assert!(rig.is_login_redirect(&hop), "{} {}", hop.status, hop.body);
    assert_eq!(
        upstream_header(&rig.get(&new, "/echo/x").await, "x-auth-request-user").as_deref(),
        Some("bob")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_waits_out_a_provider_that_is_down_at_start() {
    let mut rig = Rig::start(Setup {
        provider_down_at_start: true,
        ..Setup::default()
    })
    .await;
    let agent = rig.agent();
    // No provider: a page that needs a login says so, and nothing of it
    // reaches the upstream; a public path is served.
    let hop = rig
        .assert_upstream_untouched("no provider", async || rig.get(&agent, "/echo/x").await)
        .await;
    assert_eq!(hop.status, 503, "{}", hop.body);
    assert!(
        hop.body.contains("login service cannot be reached"),
        "{}",
        hop.body
    );
    echoed(&rig.get(&agent, "/echo/public/p").await);
    rig.proxy
        .wait_log("login unavailable, cannot use the OpenID provider");

    // The provider comes up: the proxy finds it by itself (it retries
    // with a growing pause), and the login works.
    rig.provider.start_again();
    rig.register(false).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hop = rig.get(&agent, "/echo/x").await;
        if rig.is_login_redirect(&hop) {
            break;
        }
        assert_eq!(hop.status, 503, "{}", hop.body);
        assert!(
            Instant::now() < deadline,
            "the proxy never found the provider:\n{}",
            rig.proxy.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rig.proxy.wait_log("answers again");
    let flow = rig.login(&agent, "/echo/x", "alice").await;
    assert_eq!(
        upstream_header(flow.last(), "x-auth-request-user").as_deref(),
        Some("alice")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_session_is_split_over_cookies_and_claims_let_users_in() {
    // carol is in 300 groups, admins among them: her session (which keeps
    // the groups, as an allow-list names them) needs several cookies.
    let groups: Vec<String> = (0..300)
        .map(|i| format!("team-{i:04}-of-the-company"))
        .chain(["admins".to_string()])
        .collect();
    let mut accounts = serde_json::Map::new();
    accounts.insert(
        "carol".into(),
        serde_json::json!({ "email": "carol@other.example", "email_verified": true, "groups": groups }),
    );
    accounts.insert(
        "dave".into(),
        serde_json::json!({ "email": "dave@other.example", "email_verified": true, "groups": ["users"] }),
    );
    let rig = Rig::start(Setup {
        provider: ProviderOptions {
            accounts,
            ..ProviderOptions::default()
        },
        scopes: Some(r#"["openid", "email", "groups"]"#),
        site_auth: "forward_access_token = true".into(),
        extra_routes: r#"
[[site.route]]
path = "/echo/admins/"
upstreams = ["{up}"]
[site.route.auth]
allowed_claims = { groups = ["admins"] }
"#,
        ..Setup::default()
    })
    .await;
    let agent = rig.agent();
    let flow = rig.login(&agent, "/echo/admins/x", "carol").await;
    let cb = flow.hop_to("/auth/callback").expect("a callback");
    let parts = session_cookies_set(cb);
    assert!(
        parts.len() >= 2
            && parts
                .iter()
                .enumerate()
                .all(|(i, c)| c.starts_with(&format!("__Host-webtier-session-{}=", i + 1))),
        "not split in numbered parts: {parts:?}"
    );
    assert!(parts.iter().all(|c| c.len() < 4096), "a part too large");
    let page = flow.last();
    assert_eq!(
        upstream_header(page, "x-auth-request-email").as_deref(),
        Some("carol@other.example")
    );
    assert!(
        upstream_header(page, "x-auth-request-access-token").is_some_and(|t| !t.is_empty()),
        "forward_access_token: {}",
        page.body
    );
    assert!(
        !upstream_header(page, "cookie")
            .unwrap_or_default()
            .contains("__Host-webtier"),
        "session parts reached the upstream"
    );
    // Again, with the cookies put back together.
    echoed(&rig.get(&agent, "/echo/admins/again").await);
    // Her email is not on the site's own list.
    let hop = rig
        .assert_upstream_untouched("carol at /", async || rig.get(&agent, "/echo/x").await)
        .await;
    assert_eq!(hop.status, 403, "{}", hop.body);

    // dave's groups do not include admins.
    let other = rig.agent();
    let flow = rig.login(&other, "/echo/admins/x", "dave").await;
    assert_eq!(flow.last().status, 403, "{}", flow.last().body);
    let hop = rig
        .assert_upstream_untouched("dave", async || rig.get(&other, "/echo/admins/y").await)
        .await;
    assert!(
        hop.status == 403 || rig.is_login_redirect(&hop),
        "{} {}",
        hop.status,
        hop.body
    );
}

// Regression tests for findings of the security review of #16: each
// failed on the code it was written against.

/// A plain client for the rig's site (no cookie jar, no redirects).
fn raw_client(rig: &Rig) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(rig.ca.reqwest_root())
        .resolve(SITE, rig.proxy.https())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn review_encoded_paths_never_lead_past_a_stricter_routes_policy() {
    let rig = Rig::start(Setup::default()).await;
    let agent = rig.agent();
    rig.login(&agent, "/echo/x", "alice").await;
    // alice may use `/` but not `/echo/staff/`; uvicorn (like most
    // frameworks) decodes the path before its own routing, so each of
    // these is /echo/staff/x to the app.
    for path in ["/echo/%73taff/x", "/echo%2Fstaff/x", "/echo/staff%2Fx"] {
        let hop = rig
            .assert_upstream_untouched(path, async || rig.get(&agent, path).await)
            .await;
        assert!(
            [400, 403].contains(&hop.status),
            "{path} answered {}: {}",
            hop.status,
            hop.body
        );
    }
    // Without a session, through a public path and a way back out of it
    // (sent as written: clients would resolve the dots themselves).
    for target in [
        "/echo/public/../x",
        "/echo/public/%2e%2e/x",
        "/echo/public/.%2E/x",
        "/echo/public/..%2Fx",
        "/echo/public//../x",
    ] {
        let (status, _, _) = rig
            .assert_upstream_untouched(target, async || raw_browser_get(&rig, target).await)
            .await;
        assert_eq!(status, 400, "{target}");
    }
    // A path the upstream reads the same way is decided on as it reads
    // it: /echo/%73taff/ is /echo/staff/, where alice may not go, and
    // /echo/%70ublic/p is public.
    let (status, _, _) = raw_browser_get(&rig, "/echo/%70ublic/p").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn review_a_bearer_token_outside_the_routes_allow_list_is_refused() {
    const INTRUDER: &str = "intruder";
    const INTRUDER_SECRET: &str = "intruder-secret-0b1d";
    let mut setup = Setup::default();
    setup.provider.clients.push(machine_client(
        INTRUDER,
        INTRUDER_SECRET,
        "read write admin",
    ));
    let rig = Rig::start(setup).await;
    let intruder = machine_client(INTRUDER, INTRUDER_SECRET, "read write admin");
    let client = confidential_client(CLIENT_ID, SECRET, &rig.callback(), &rig.url("/"));
    let robot = machine_client(ROBOT, ROBOT_SECRET, "read write admin");
    rig.provider.set_clients(&[client, robot, intruder]).await;
    // A token of another machine client, with the audience and the scope:
    // `/echo/api/` admits `client_id = ["robot"]` only.
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/token", rig.provider.issuer()))
        .basic_auth(INTRUDER, Some(INTRUDER_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "read admin"),
            ("resource", API_AUDIENCE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = resp["access_token"].as_str().expect("a token").to_string();
    assert_eq!(jwt_parts(&token).1["client_id"], INTRUDER);
    let status = rig
        .assert_upstream_untouched("the intruder's token", async || {
            raw_client(&rig)
                .get(rig.url("/echo/api/items"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn review_an_email_the_provider_does_not_say_is_verified_opens_no_allow_list() {
    let mut setup = Setup::default();
    setup.provider.accounts.insert(
        "mallory".into(),
        serde_json::json!({ "email": "bob@example.com", "email_verified": "omit" }),
    );
    let rig = Rig::start(setup).await;
    let agent = rig.agent();
    let flow = rig
        .assert_upstream_untouched("mallory as bob", async || {
            rig.login(&agent, "/echo/staff/x", "mallory").await
        })
        .await;
    assert_eq!(flow.last().status, 403, "{:#?}", flow.urls());
}

#[tokio::test(flavor = "multi_thread")]
async fn review_identity_headers_spelt_with_underscores_never_reach_the_upstream() {
    let rig = Rig::start(Setup::default()).await;
    // CGI/WSGI servers (wsgiref, gunicorn < 22, …) read `X_Auth_Request_User`
    // as HTTP_X_AUTH_REQUEST_USER, the header the proxy vouches for.
    let resp = raw_client(&rig)
        .get(rig.url("/echo/public/x"))
        .header("X_Auth_Request_User", "admin")
        .header("X-Auth-Request_Email", "admin@example.com")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    for name in v["headers"].as_object().unwrap().keys() {
        let cgi = name.to_ascii_lowercase().replace('_', "-");
        assert!(
            !cgi.starts_with("x-auth-request-"),
            "{name} reached the upstream: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn review_a_request_with_two_authorization_headers_is_refused() {
    let rig = Rig::start(Setup::default()).await;
    let good = rig
        .provider
        .client_credentials_token(&["read", "admin"], API_AUDIENCE)
        .await;
    let forged = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJyb290In0.";
    let status = rig
        .assert_upstream_untouched("two Authorization headers", async || {
            raw_client(&rig)
                .get(rig.url("/echo/api/items"))
                .header("authorization", format!("Bearer {good}"))
                .header("authorization", format!("Bearer {forged}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
        .await;
    assert!([400, 401].contains(&status), "{status}");
}
