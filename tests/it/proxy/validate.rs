//! `webtier proxy validate` on a corpus of broken proxy files, one per
//! rule, with the exact lines it prints; a broken site refused alone by
//! the running daemon; `proxy config`; and `proxy run` without its file.

use std::fs;
use std::net::TcpListener;
use std::path::Path;

use crate::support::proxy::{Proxy, TestCa, raw, status_of};
use crate::support::services::{free_port, tempdir};
use crate::support::{assert_exit, repo, run, stderr, stdout};

use super::{get, static_route, tls_site};

/// A self-signed certificate for `names` valid until `not_after`, and its
/// key, as `<stem>.crt` and `<stem>.key` in `dir`.
fn certificate_until(dir: &Path, stem: &str, names: &[&str], not_after: time::OffsetDateTime) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = not_after;
    let cert = params.self_signed(&key).unwrap();
    fs::write(dir.join(format!("{stem}.crt")), cert.pem()).unwrap();
    fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).unwrap();
}

/// What the corpus' `{placeholders}` stand for: files made for this run
/// in `{dir}`, free ports, and a port this test process holds.
struct Fixtures {
    dir: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
    _busy: TcpListener,
}

impl Fixtures {
    fn new() -> Fixtures {
        let dir = tempdir();
        let d = dir.path();
        let far = time::OffsetDateTime::now_utc() + time::Duration::days(90);
        certificate_until(d, "a", &["a.test"], far);
        certificate_until(d, "b", &["b.test"], far);
        certificate_until(d, "expired", &["a.test"], rcgen::date_time_ymd(2021, 1, 1));
        let soon = time::OffsetDateTime::now_utc() + time::Duration::hours(3 * 24 + 12);
        certificate_until(d, "soon", &["a.test"], soon);
        fs::write(d.join("garbage.pem"), "this is not PEM\n").unwrap();
        fs::create_dir(d.join("www")).unwrap();
        fs::write(d.join("www/index.html"), "hello").unwrap();
        fs::write(d.join("file.txt"), "a file").unwrap();
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let comm = fs::read_to_string("/proc/self/comm").unwrap();
        let vars = vec![
            ("{dir}", d.display().to_string()),
            ("{http}", free_port().to_string()),
            ("{https}", free_port().to_string()),
            ("{admin}", free_port().to_string()),
            ("{dead}", free_port().to_string()),
            ("{busy}", busy.local_addr().unwrap().port().to_string()),
            ("{pid}", std::process::id().to_string()),
            ("{comm}", comm.trim().to_string()),
        ];
        Fixtures {
            dir,
            vars,
            _busy: busy,
        }
    }

    fn fill(&self, text: &str) -> String {
        self.vars
            .iter()
            .fold(text.to_string(), |t, (k, v)| t.replace(k, v))
    }
}

#[test]
fn broken_proxy_files_give_the_expected_errors() {
    let corpus = repo().join("tests/configs/proxy-broken");
    let cases = crate::support::corpus(&corpus, 19);
    let fixtures = Fixtures::new();
    let dir = fixtures.dir.path();
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let text = fixtures.fill(&fs::read_to_string(&case).unwrap());
        let expected = fs::read_to_string(case.with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{name} has no .stderr file with its expected lines"));
        let expected = fixtures.fill(&expected);
        fs::write(dir.join(name), &text).unwrap();
        // `# args: --probe` on the first line adds arguments.
        let mut args = vec!["proxy", "validate", "--file", name];
        if let Some(extra) = text.lines().next().and_then(|l| l.strip_prefix("# args: ")) {
            args.extend(extra.split_whitespace());
        }
        let out = run(dir, &args);
        assert_eq!(stderr(&out), expected, "{name}");
        if expected.contains("error: ") {
            assert_exit(&out, 3);
            assert_eq!(stdout(&out), "", "{name}");
        } else {
            assert_exit(&out, 0);
            assert_eq!(stdout(&out), format!("{name}: valid (1 site)\n"), "{name}");
        }
    }
}

#[test]
fn validate_json_lists_problems_and_warnings() {
    let fixtures = Fixtures::new();
    let dir = fixtures.dir.path();
    let text = fixtures.fill(
        "version = 1\nhttp_listen = [\"127.0.0.1:{http}\"]\nhttps_listen = [\"127.0.0.1:{https}\"]\n\
         challenge_dir = \"{dir}/challenge\"\n\
         [[site]]\nnames = [\"a.test\"]\ntls = { cert = \"{dir}/soon.crt\", key = \"{dir}/soon.key\" }\n\
         [[site.route]]\npath = \"/\"\nroot = \"{dir}/nowhere\"\n",
    );
    fs::write(dir.join("p.toml"), text).unwrap();
    let out = run(dir, &["proxy", "validate", "--file", "p.toml", "--json"]);
    assert_exit(&out, 3);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["file"], "p.toml");
    let d = dir.display();
    assert_eq!(
        doc["problems"],
        serde_json::json!([format!(
            "site a.test: route /: static root {d}/nowhere does not exist — create it or correct the route's root"
        )])
    );
    assert_eq!(
        doc["warnings"],
        serde_json::json!([format!(
            "site a.test: certificate {d}/soon.crt expires in 3 days — renew it (`webtier cert renew`)"
        )])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_broken_site_does_not_take_down_the_others() {
    let ca = TestCa::new();
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let (a_cert, a_key) = ca.leaf(&["a.test"], &d, "a");
    // b.test's certificate is not there (yet).
    let (b_cert, b_key) = (d.join("b.crt"), d.join("b.key"));
    for (sub, text) in [("wa", "site a"), ("wb", "site b")] {
        fs::create_dir(d.join(sub)).unwrap();
        fs::write(d.join(sub).join("index.html"), text).unwrap();
    }
    let body = format!(
        "{}{}",
        tls_site(
            &["a.test"],
            &a_cert,
            &a_key,
            &static_route("/", &d.join("wa"))
        ),
        tls_site(
            &["b.test"],
            &b_cert,
            &b_key,
            &static_route("/", &d.join("wb"))
        ),
    );
    let proxy = Proxy::start_in(dir, &body);
    let port = proxy.https_port;
    let missing = [
        format!(
            "site b.test: certificate {} does not exist — issue it (`webtier cert issue`), or correct the path in the site's tls",
            b_cert.display()
        ),
        format!(
            "site b.test: private key {} does not exist — install the key the certificate was issued for, or correct the path in the site's tls",
            b_key.display()
        ),
    ];
    for line in &missing {
        proxy.wait_log(&line.replacen("site b.test:", "site b.test is not served:", 1));
    }
    proxy.wait_log("webtier proxy serving 1 site(s)");

    // The other site is served over TLS.
    let client = proxy.client(&ca, &["a.test", "b.test"]);
    let resp = client
        .get(format!("https://a.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "site a");

    // b.test's handshake fails: it gets no certificate at all, not even
    // a.test's (this client would take any certificate).
    let anything = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("b.test", proxy.https())
        .resolve("a.test", proxy.https())
        .build()
        .unwrap();
    let err = anything
        .get(format!("https://b.test:{port}/"))
        .send()
        .await
        .expect_err("no handshake for a refused site");
    assert!(err.is_connect(), "{err:?}");
    let resp = anything
        .get(format!("https://a.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the same client reaches a.test");

    // Plain HTTP: the same answer as a host no site has.
    let unknown = raw(proxy.http(), &get("nobody.test", "/"));
    let refused = raw(proxy.http(), &get("b.test", "/"));
    assert_eq!(status_of(&refused), 404, "{refused}");
    assert_eq!(
        refused.split("\r\n\r\n").nth(1),
        unknown.split("\r\n\r\n").nth(1)
    );
    assert_eq!(status_of(&raw(proxy.http(), &get("a.test", "/"))), 301);

    proxy.wait_metric("one refused site", |l| l == "webtier_sites_refused 1");

    // `proxy validate` fails for it, with that one line: the listen
    // addresses, held by the running proxy, are no problem.
    let file = proxy.config_path.to_str().unwrap();
    let out = crate::support::proxy::webtier(&["proxy", "validate", "--file", file]);
    assert_exit(&out, 3);
    assert_eq!(
        stderr(&out),
        format!(
            "error: {file}: {}\nerror: {file}: {}\nerror: {file} has 2 problems\n",
            missing[0], missing[1]
        )
    );

    // The certificate appears: the site comes up by itself (its files
    // are watched).
    ca.leaf(&["b.test"], proxy.dir.path(), "b");
    proxy.wait_metric("no refused site", |l| l == "webtier_sites_refused 0");
    let resp = client
        .get(format!("https://b.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "site b");
    let out = crate::support::proxy::webtier(&["proxy", "validate", "--file", file]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), format!("{file}: valid (2 sites)\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_every_site_refused_the_proxy_still_answers_challenges() {
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let body = tls_site(
        &["a.test"],
        &d.join("a.crt"),
        &d.join("a.key"),
        &static_route("/", &d),
    );
    let proxy = Proxy::start_in(dir, &body);
    proxy.wait_log("every site is refused: only ACME challenges are answered");
    let token = "tok_en-1";
    fs::write(proxy.dir.path().join("challenge").join(token), "key-auth").unwrap();
    let text = raw(
        proxy.http(),
        &get("a.test", &format!("/.well-known/acme-challenge/{token}")),
    );
    assert_eq!(status_of(&text), 200, "{text}");
    assert!(text.ends_with("key-auth"), "{text}");
    // Issued: the site comes up.
    TestCa::new().leaf(&["a.test"], proxy.dir.path(), "a");
    proxy.wait_metric("no refused site", |l| l == "webtier_sites_refused 0");
    assert_eq!(status_of(&raw(proxy.http(), &get("a.test", "/"))), 301);
}

#[test]
fn proxy_run_without_its_file_names_the_command_that_writes_it() {
    let dir = tempdir();
    let path = dir.path().join("proxy.toml");
    for command in ["run", "validate"] {
        let out = run(
            dir.path(),
            &["proxy", command, "--file", path.to_str().unwrap()],
        );
        assert_exit(&out, 3);
        assert_eq!(
            stderr(&out),
            format!(
                "error: the proxy configuration {} does not exist — generate it from webtier.toml with `webtier apply proxy-config`\n",
                path.display()
            ),
            "{command}"
        );
    }
}

/// One rule for both files: a configuration that cannot be read is a
/// configuration error (exit 3), in one line naming the file. A directory
/// in the file's place cannot be read, even by root.
#[test]
fn an_unreadable_config_file_exits_3_whether_webtier_toml_or_the_proxy_file() {
    let dir = tempdir();
    let d = dir.path();
    fs::create_dir(d.join("webtier.toml")).unwrap();
    fs::create_dir(d.join("proxy.toml")).unwrap();
    let proxy = d.join("proxy.toml");
    let proxy = proxy.to_str().unwrap();
    let cases: [&[&str]; 6] = [
        &["config", "check"],
        &["proxy", "run", "--file", proxy],
        &["proxy", "validate", "--file", proxy],
        &["proxy", "config", "--file", proxy],
        &["proxy", "export", "nginx", "--file", proxy],
        &["plan"],
    ];
    for args in cases {
        let out = run(d, args);
        assert_exit(&out, 3);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        let file = if args[0] == "proxy" {
            proxy
        } else {
            "webtier.toml"
        };
        assert!(
            err.starts_with("error: ") && err.contains(file) && err.contains("cannot read"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn proxy_config_prints_what_apply_writes_and_writes_nothing() {
    let dir = tempdir();
    let d = dir.path();
    fs::write(
        d.join("webtier.toml"),
        "state_dir = \"state\"\n\n[proxy]\nconfig_file = \"out/proxy.toml\"\nhttp_port = 8080\nhttps_port = 8443\n\n\
         [[site]]\ndomain = \"example.com\"\ntls = \"none\"\nupstreams = [\"127.0.0.1:8000\"]\n",
    )
    .unwrap();
    let printed = run(d, &["proxy", "config"]);
    assert_exit(&printed, 0);
    assert!(!d.join("out/proxy.toml").exists(), "nothing written");
    assert_exit(&run(d, &["apply", "proxy-config", "--yes"]), 0);
    let written = fs::read_to_string(d.join("out/proxy.toml")).unwrap();
    assert_eq!(stdout(&printed), written);
    assert!(written.contains("names = [\"example.com\"]"), "{written}");
    // No TLS site: no HTTPS listener is listed (nor opened).
    assert!(written.contains("\nhttps_listen = []\n"), "{written}");
    assert!(!written.contains(":8443"), "{written}");

    // A proxy file, as the proxy reads it: defaults spelled out.
    fs::write(
        d.join("small.toml"),
        "version = 1\nhttp_listen = [\"127.0.0.1:8080\"]\nhttps_listen = []\nchallenge_dir = \"/c\"\n",
    )
    .unwrap();
    let out = run(d, &["proxy", "config", "--file", "small.toml"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("max_connections = 10000"),
        "{}",
        stdout(&out)
    );
    fs::write(d.join("bad.toml"), "version = 1\nwrokers = 1\n").unwrap();
    let out = run(d, &["proxy", "config", "--file", "bad.toml"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).starts_with("error: bad.toml: line 2: "),
        "{}",
        stderr(&out)
    );
}
