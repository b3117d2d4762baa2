//! Login session keys shared through SSM Parameter Store (#20), against
//! moto_server and oidc-provider: the parameter made by `webtier apply
//! proxy-config`, two proxies (two `webtier proxy run` daemons, as two
//! instances behind a load balancer) reading it, a login begun on one
//! and completed on the other, rotation without logging anyone out, a
//! parameter webtier did not create left alone, a start without the
//! parameter refused, and the IAM policy covering every SSM call.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;

use crate::support;
use crate::support::oidc::{Agent, Hop, Provider, ProviderOptions, confidential_client};
use crate::support::proxy::{Proxy, TestCa};
use crate::support::services::{Call, Moto, Uvicorn, tempdir};
use crate::support::{assert_exit, stderr, stdout, webtier};

const SITE: &str = "app.test";
const CLIENT_ID: &str = "webtier";
const SECRET: &str = "webtier-test-secret-5d21";
const PARAMETER: &str = "/webtier/test/session-keys";
const REGION: &str = "us-east-1";

/// moto with the session key parameter made by `webtier apply
/// proxy-config` of a webtier.toml in `dir`.
struct Aws {
    moto: Moto,
    ssm: aws_sdk_ssm::Client,
    dir: tempfile::TempDir,
}

impl Aws {
    async fn start() -> Aws {
        let moto = Moto::start();
        let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
        let dir = tempdir();
        fs::write(dir.path().join("client.secret"), SECRET).unwrap();
        let aws = Aws { moto, ssm, dir };
        aws.write_config(PARAMETER);
        aws
    }

    /// webtier.toml: one login site, its session keys in `parameter`.
    fn write_config(&self, parameter: &str) {
        let text = format!(
            "state_dir = \"state\"\n\n[aws]\nregion = \"{REGION}\"\n\n\
             [dns]\nowner = \"test-owner\"\n\n\
             [proxy]\nconfig_file = \"out/proxy.toml\"\nsession_key_parameter = \"{parameter}\"\n\n\
             [[site]]\ndomain = \"{SITE}\"\nupstreams = [\"127.0.0.1:8000\"]\n\n\
             [site.auth]\nissuer = \"https://id.example\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = \"client.secret\"\nallowed_emails = [\"*@example.com\"]\n"
        );
        fs::write(self.dir.path().join("webtier.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        webtier()
            .current_dir(self.dir.path())
            .envs(self.moto.env())
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs webtier and returns what it asked of AWS.
    async fn recorded(&self, args: &[&str]) -> (Output, Vec<Call>) {
        self.moto.start_recording().await;
        let out = self.run(args);
        (out, self.moto.stop_recording().await)
    }

    /// The parameter's value (the keys), decrypted.
    async fn value(&self, name: &str) -> String {
        self.ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .expect("GetParameter")
            .parameter
            .and_then(|p| p.value)
            .expect("a value")
    }

    async fn tags(&self, name: &str) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = self
            .ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .expect("ListTagsForResource")
            .tag_list
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect();
        tags.sort();
        tags
    }
}

/// The proxy file of one instance: `app.test` with TLS and a login whose
/// callback is the load balancer's (the first proxy's HTTPS port), its
/// session keys in `parameter`.
fn proxy_body(
    dir: &Path,
    ca: &TestCa,
    issuer: &str,
    callback: &str,
    up: &str,
    parameter: &str,
) -> String {
    let (cert, key) = ca.leaf(&[SITE], dir, "app");
    fs::write(dir.join("client.secret"), SECRET).unwrap();
    format!(
        r#"session_key_ssm = {{ parameter = "{parameter}", region = "{REGION}" }}

[[site]]
names = ["{SITE}"]
tls = {{ cert = "{cert}", key = "{key}" }}

[site.auth]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret_file = "{secret}"
scopes = ["openid", "email"]
redirect_uri = "{callback}"

[[site.route]]
path = "/"
upstreams = ["{up}"]
[site.route.auth]
allowed_emails = ["*@example.com"]
"#,
        cert = cert.display(),
        key = key.display(),
        secret = dir.join("client.secret").display(),
    )
}

/// Two proxies sharing the parameter, the provider, the upstream.
struct Pair {
    ca: TestCa,
    #[expect(dead_code, reason = "held until drop: stops the provider")]
    provider: Provider,
    #[expect(dead_code, reason = "held until drop: stops the upstream")]
    app: Uvicorn,
    one: Proxy,
    two: Proxy,
}

impl Pair {
    async fn start(aws: &Aws) -> Pair {
        let ca = TestCa::new();
        let provider = Provider::start(ProviderOptions::default());
        let app = Uvicorn::start("app");
        let up = format!("http://127.0.0.1:{}", app.port);
        let (ports_one, ports_two) = (Proxy::free_ports(), Proxy::free_ports());
        // What a load balancer would be: the first proxy's origin.
        let callback = format!("https://{SITE}:{}/auth/callback", ports_one.1);
        let env = aws.moto.env();
        let start = |ports| {
            let dir = tempdir();
            let body = proxy_body(
                dir.path(),
                &ca,
                provider.issuer(),
                &callback,
                &up,
                PARAMETER,
            );
            Proxy::start_on(dir, ports, &body, &env)
        };
        let (one, two) = (start(ports_one), start(ports_two));
        let post_logout = format!("https://{SITE}:{}/", ports_one.1);
        provider
            .set_clients(&[confidential_client(
                CLIENT_ID,
                SECRET,
                &callback,
                &post_logout,
            )])
            .await;
        Pair {
            ca,
            provider,
            app,
            one,
            two,
        }
    }

    /// A browser that reaches both proxies (`app.test` on loopback, the
    /// port picks the proxy; cookies are the host's, whatever the port).
    fn agent(&self) -> Agent {
        Agent::new(Some(&self.ca), &[(SITE, self.one.https())])
    }

    fn url(proxy: &Proxy, path: &str) -> String {
        format!("https://{SITE}:{}{path}", proxy.https_port)
    }

    /// A login begun on `begin` (its redirect to the provider and login
    /// cookie), completed with the callback sent to `end`.
    async fn login_across(&self, agent: &Agent, begin: &Proxy, end: &Proxy, user: &str) -> Hop {
        let flow = agent
            .walk(
                Url::parse(&Pair::url(begin, "/echo/x")).unwrap(),
                user,
                |u| u.path() == "/auth/callback",
            )
            .await;
        let first = &flow.hops[0];
        assert_eq!(first.status, 302, "{:#?}", flow.urls());
        assert!(
            first
                .set_cookies()
                .iter()
                .any(|c| c.starts_with("__Host-webtier-login-")),
            "no login cookie from the first proxy: {:?}",
            first.set_cookies()
        );
        let mut callback = flow
            .stopped_before
            .clone()
            .unwrap_or_else(|| panic!("the login never reached the callback: {:#?}", flow.urls()));
        callback.set_port(Some(end.https_port)).unwrap();
        let hop = agent.get(callback.as_str()).await;
        assert_eq!(
            hop.status,
            302,
            "the callback on the other proxy: {}\n--- its log\n{}",
            hop.body,
            end.log()
        );
        assert!(
            hop.set_cookies()
                .iter()
                .any(|c| c.starts_with("__Host-webtier-session") && !c.contains("Max-Age=0")),
            "no session cookie: {:?}",
            hop.set_cookies()
        );
        hop
    }

    /// The user the upstream sees for `agent`'s request through `proxy`.
    async fn user(&self, agent: &Agent, proxy: &Proxy) -> Option<String> {
        let hop = agent.get(&Pair::url(proxy, "/echo/x")).await;
        if hop.status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&hop.body)
            .unwrap_or_else(|e| panic!("not the app's JSON ({e}): {}", hop.body));
        v["headers"]["x-auth-request-user"]
            .as_str()
            .map(str::to_string)
    }
}

/// Waits until `proxy` has logged `count` configuration reloads.
fn wait_reloads(proxy: &Proxy, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.log().matches("reloaded configuration").count() < count {
        assert!(
            Instant::now() < deadline,
            "the proxy did not reload:\n{}",
            proxy.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_proxies_share_logins_through_the_parameter_and_rotation_logs_no_one_out() {
    let aws = Aws::start().await;
    let (out, mut calls) = aws.recorded(&["apply", "proxy-config", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!(
            "ssm parameter {PARAMETER} (SecureString: a new session key)"
        )),
        "{}",
        stdout(&out)
    );
    let first = aws.value(PARAMETER).await;
    assert_eq!(first.lines().count(), 1, "one new key");
    assert!(!stdout(&out).contains(first.trim()) && !stderr(&out).contains(first.trim()));
    assert_eq!(
        aws.tags(PARAMETER).await,
        [
            ("managed-by".to_string(), "webtier".to_string()),
            ("webtier-owner".to_string(), "test-owner".to_string())
        ]
    );
    let rendered = fs::read_to_string(aws.dir.path().join("out/proxy.toml")).unwrap();
    assert!(
        rendered.contains(&format!("parameter = \"{PARAMETER}\""))
            && !rendered.contains("session_key_file"),
        "{rendered}"
    );

    // A second apply: nothing planned, no SSM write.
    let (out, again) = aws.recorded(&["apply", "proxy-config", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
    let writes: Vec<&Call> = again.iter().filter(|c| c.is_write()).collect();
    assert!(writes.is_empty(), "writes: {writes:?}");
    assert!(
        again.iter().any(|c| c.action == "ssm:GetParameter"),
        "the parameter was observed: {again:?}"
    );
    calls.extend(again);

    aws.moto.start_recording().await;
    let pair = Pair::start(&aws).await;

    // Begun on one, completed on two; the session works on both.
    let alice = pair.agent();
    pair.login_across(&alice, &pair.one, &pair.two, "alice")
        .await;
    assert_eq!(pair.user(&alice, &pair.one).await.as_deref(), Some("alice"));
    assert_eq!(pair.user(&alice, &pair.two).await.as_deref(), Some("alice"));
    // And the other way round.
    let bob = pair.agent();
    pair.login_across(&bob, &pair.two, &pair.one, "bob").await;
    assert_eq!(pair.user(&bob, &pair.one).await.as_deref(), Some("bob"));
    assert_eq!(pair.user(&bob, &pair.two).await.as_deref(), Some("bob"));
    calls.extend(aws.moto.stop_recording().await);

    // Rotation through the first proxy's file: a new key first, the old
    // one kept; the first proxy reloads.
    let reloads = pair.one.log().matches("reloaded configuration").count();
    aws.moto.start_recording().await;
    let out = webtier()
        .envs(aws.moto.env())
        .args(["proxy", "rotate-session-key", "--file"])
        .arg(&pair.one.config_path)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("SSM parameter {PARAMETER}")),
        "{}",
        stdout(&out)
    );
    wait_reloads(&pair.one, reloads + 1);
    calls.extend(aws.moto.stop_recording().await);
    let rotated = aws.value(PARAMETER).await;
    assert_eq!(rotated.lines().count(), 2, "a new key first, the old kept");
    assert_eq!(rotated.lines().nth(1), first.lines().next());
    assert!(!stdout(&out).contains(rotated.lines().next().unwrap()));

    // The sessions made with the old key pass on the reloaded proxy.
    assert_eq!(pair.user(&alice, &pair.one).await.as_deref(), Some("alice"));
    // A login now, on the proxy that read the new key: the proxy that has
    // not read it yet (the second, until its next read) still opens it,
    // since the newest key seals only once every proxy has had it.
    let carol = pair.agent();
    pair.login_across(&carol, &pair.one, &pair.one, "carol")
        .await;
    assert_eq!(pair.user(&carol, &pair.two).await.as_deref(), Some("carol"));
    assert_eq!(pair.user(&carol, &pair.one).await.as_deref(), Some("carol"));
    // After its own reload, the second one has both keys: all pass.
    let reloads = pair.two.log().matches("reloaded configuration").count();
    pair.two.signal(rustix::process::Signal::HUP);
    wait_reloads(&pair.two, reloads + 1);
    for (agent, user) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        assert_eq!(pair.user(agent, &pair.two).await.as_deref(), Some(user));
    }

    // Destroy (a saved plan of the proxy-config step alone, so that no
    // other step touches this machine) deletes webtier's parameter.
    let out = aws.run(&["plan", "--destroy", "--out", "destroy.plan", "proxy-config"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("- ssm parameter {PARAMETER}")),
        "{}",
        stdout(&out)
    );
    let (out, destroyed) = aws.recorded(&["apply", "destroy.plan", "--yes"]).await;
    assert_exit(&out, 0);
    let gone = aws
        .ssm
        .get_parameter()
        .name(PARAMETER)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&gone),
        Some("ParameterNotFound")
    );
    calls.extend(destroyed);

    // The proxies read it again every minute: gone, they warn and keep
    // the keys they have.
    let deadline = Instant::now() + Duration::from_secs(90);
    let warning = "the session keys read before stay in use";
    while !pair.one.log().contains(warning) {
        assert!(
            Instant::now() < deadline,
            "no refresh within 90 s:\n{}",
            pair.one.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let log = pair.one.log();
    let line = log.lines().find(|l| l.contains(warning)).unwrap();
    assert!(
        line.contains(&format!("SSM parameter {PARAMETER} does not exist")),
        "{line}"
    );
    assert_eq!(pair.user(&alice, &pair.one).await.as_deref(), Some("alice"));
    assert_eq!(pair.user(&carol, &pair.one).await.as_deref(), Some("carol"));

    // No key in any log.
    for key in first.lines().chain(rotated.lines()) {
        let secret = key.split(' ').nth(1).unwrap();
        for proxy in [&pair.one, &pair.two] {
            assert!(!proxy.log().contains(secret), "a key in the log");
        }
    }

    // Every call webtier and the proxies made is in the policy.
    let out = aws.run(&["iam-policy"]);
    assert_exit(&out, 0);
    for op in [
        "GetParameter",
        "PutParameter",
        "ListTagsForResource",
        "DeleteParameter",
    ] {
        assert!(
            calls.iter().any(|c| c.action == format!("ssm:{op}")),
            "ssm:{op} not seen: {calls:?}"
        );
    }
    support::services::assert_policy_allows(&stdout(&out), &calls);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_webtier_did_not_create_is_read_but_never_changed() {
    let aws = Aws::start().await;
    let theirs = "/someone/else/keys";
    let value = "0a0b AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n";
    aws.ssm
        .put_parameter()
        .name(theirs)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(value)
        .send()
        .await
        .expect("PutParameter");
    aws.write_config(theirs);

    // The plan says it leaves it; applying writes nothing to SSM.
    let out = aws.run(&["plan", "proxy-config"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("Left alone"), "{text}");
    assert!(
        text.contains(&format!(
            "ssm parameter {theirs}: webtier did not create it (no managed-by=webtier tag)"
        )),
        "{text}"
    );
    assert!(
        !text.contains(&format!("+ ssm parameter {theirs}")),
        "{text}"
    );
    let (out, calls) = aws.recorded(&["apply", "proxy-config", "--yes"]).await;
    assert_exit(&out, 0);
    let writes: Vec<&Call> = calls.iter().filter(|c| c.is_write()).collect();
    assert!(writes.is_empty(), "writes: {writes:?}");
    // Nor does destroy delete it.
    let out = aws.run(&["plan", "--destroy", "proxy-config"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("ssm parameter {theirs}: webtier did not create it (no managed-by=webtier tag) — webtier leaves it")),
        "{text}"
    );
    assert!(
        !text.contains(&format!("- ssm parameter {theirs}")),
        "{text}"
    );

    // rotate-session-key refuses it, and it stays as it was.
    let dir = tempdir();
    let file = dir.path().join("proxy.toml");
    let ca = TestCa::new();
    let body = proxy_body(
        dir.path(),
        &ca,
        "https://id.example",
        "https://app.test/auth/callback",
        "http://127.0.0.1:9",
        theirs,
    );
    fs::write(
        &file,
        format!("{}{body}", Proxy::header(dir.path(), 1, 2, 3)),
    )
    .unwrap();
    let out = webtier()
        .envs(aws.moto.env())
        .args(["proxy", "rotate-session-key", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "SSM parameter {theirs} has no managed-by=webtier tag"
        )),
        "{err}"
    );
    assert_eq!(aws.value(theirs).await, value);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_without_its_parameter_does_not_start() {
    let aws = Aws::start().await;
    let dir = tempdir();
    let ca = TestCa::new();
    let body = proxy_body(
        dir.path(),
        &ca,
        "https://id.example",
        "https://app.test/auth/callback",
        "http://127.0.0.1:9",
        "/webtier/missing/keys",
    );
    let (http, https, admin) = Proxy::free_ports();
    let file = dir.path().join("proxy.toml");
    fs::write(
        &file,
        format!("{}{body}", Proxy::header(dir.path(), http, https, admin)),
    )
    .unwrap();
    let out = webtier()
        .envs(aws.moto.env())
        .args(["proxy", "run", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        [
            "error: cannot read the session keys: SSM parameter /webtier/missing/keys does not exist in us-east-1 — run `webtier apply` to create it"
        ],
        "{err}"
    );
    assert!(!dir.path().join("proxy.pid").exists(), "it never served");

    // A parameter that holds something else: named, its value never shown.
    let junk = "not-a-key-3f7e9c";
    aws.ssm
        .put_parameter()
        .name("/webtier/junk/keys")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(junk)
        .send()
        .await
        .expect("PutParameter");
    let text = fs::read_to_string(&file)
        .unwrap()
        .replace("/webtier/missing/keys", "/webtier/junk/keys");
    fs::write(&file, text).unwrap();
    let out = webtier()
        .envs(aws.moto.env())
        .args(["proxy", "run", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_eq!(
        err.trim(),
        "error: SSM parameter /webtier/junk/keys holds no session keys (line 1 is not `<hex id> <base64url 32-byte key>`) — put `<hex id> <base64url 32-byte key>` lines in it, or delete it and run `webtier apply` to create it",
        "{err}"
    );
    assert!(!err.contains(junk));
}
