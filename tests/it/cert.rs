//! Certificates from pebble through the real instant-acme client: HTTP-01
//! answered by webtier's own short-lived listener, the store layout and
//! modes, cron-friendly renewal, failures that leave the live certificate
//! alone, badNonce storms, and concurrent runs.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support;
use crate::support::services::{Pebble, PebbleOptions, free_port};
use crate::support::{assert_exit, stderr, stdout, webtier};

struct Setup {
    pebble: Pebble,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(options: PebbleOptions, domain: &str, aliases: &[&str]) -> Setup {
        let pebble = Pebble::start_with(options);
        let dir = tempfile::tempdir().unwrap();
        // The proxy, started by the proxy step as root, serves as nobody.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // A copy: the configuration stays valid after pebble is stopped.
        let ca = dir.path().join("pebble-ca.pem");
        fs::copy(&pebble.ca_pem, &ca).unwrap();
        let aliases: Vec<String> = aliases.iter().map(|a| format!("\"{a}\"")).collect();
        let config = format!(
            "state_dir = \"state\"\n\n[acme]\ndirectory = \"{}\"\nca_root = \"{}\"\nemail = \"ops@example.com\"\n\n\
             [proxy]\nconfig_file = \"out/proxy.toml\"\nhttp_port = {}\nhttps_port = {}\nbind = [\"127.0.0.1\"]\nuser = \"nobody\"\n\n\
             [[site]]\ndomain = \"{domain}\"\naliases = [{}]\nupstreams = [\"127.0.0.1:8000\"]\n",
            pebble.directory_url(),
            ca.display(),
            pebble.http01_port,
            free_port(),
            aliases.join(", ")
        );
        fs::write(dir.path().join("webtier.toml"), config).unwrap();
        Setup { pebble, dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// webtier in `dir`, with every `*.webtier.test` name of the current
    /// configuration resolving to 127.0.0.1, where pebble (through
    /// pebble-challtestsrv) validates them too.
    fn command(&self) -> std::process::Command {
        let config = fs::read_to_string(self.dir.path().join("webtier.toml")).unwrap();
        let names: Vec<String> = config
            .split('"')
            .filter(|t| t.ends_with(".webtier.test") && !t.contains(' '))
            .map(|t| t.trim_start_matches("*.").to_string())
            .collect();
        let hosts = self.dir.path().join("hosts");
        support::hosts_file(&hosts, std::net::Ipv4Addr::LOCALHOST.into(), &names);
        let mut cmd = support::webtier_resolving(&hosts);
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn live(&self, name: &str) -> PathBuf {
        self.dir.path().join("state/live").join(name)
    }
}

/// The DNS names in the leaf certificate of a PEM chain, via the status
/// command's JSON (webtier parses it; the test checks what it reports) and
/// a direct look at the PEM for the issuer.
fn status(setup: &Setup) -> serde_json::Value {
    let out = setup.run(&["cert", "status", "--json"]);
    assert_exit(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Without a way to the ACME server, `cert issue` says why, naming the
/// server: the name does not resolve, nothing listens, or its certificate
/// is not trusted (pebble's, without its `ca_root`).
#[test]
fn an_unreachable_acme_server_is_named_with_the_cause() {
    let pebble = support::services::Pebble::start();
    // Bound, never listening: refused, and no other process can take it.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let closed = socket.local_addr().unwrap().as_socket().unwrap().port();
    let cases = [
        (
            format!("https://127.0.0.1:{closed}/dir"),
            format!("cannot reach the ACME server 127.0.0.1:{closed}: connection refused"),
        ),
        (
            "https://acme.invalid/dir".to_string(),
            "cannot reach the ACME server acme.invalid: name resolution failed".to_string(),
        ),
        (
            pebble.directory_url(),
            format!(
                "cannot reach the ACME server {}: TLS verification failed",
                pebble
                    .directory_url()
                    .trim_start_matches("https://")
                    .split('/')
                    .next()
                    .unwrap()
            ),
        ),
    ];
    for (directory, cause) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("webtier.toml"),
            format!(
                "state_dir = \"state\"\n\n[acme]\ndirectory = \"{directory}\"\nemail = \"ops@example.com\"\n\n\
                 [proxy]\nconfig_file = \"out/proxy.toml\"\nhttp_port = {}\nhttps_port = {}\nbind = [\"127.0.0.1\"]\n\n\
                 [[site]]\ndomain = \"a.test\"\nupstreams = [\"127.0.0.1:8000\"]\n",
                free_port(),
                free_port()
            ),
        )
        .unwrap();
        let out = webtier()
            .current_dir(dir.path())
            .args(["cert", "issue"])
            .output()
            .unwrap();
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&cause), "{directory}: {err}");
    }
}

#[test]
fn issues_one_name_over_http01_and_renew_is_then_silent() {
    let setup = Setup::new(PebbleOptions::default(), "a.webtier.test", &[]);
    let out = setup.run(&["cert", "issue"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("issued a.webtier.test (requested); valid until "),
        "{}",
        stdout(&out)
    );

    let live = setup.live("a.webtier.test");
    assert!(
        fs::symlink_metadata(&live)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    for file in ["fullchain.pem", "privkey.pem", "cert.pem", "chain.pem"] {
        assert!(live.join(file).is_file(), "{file}");
    }
    // Root-owned, readable by the proxy user's group only (the setup's
    // proxy serves as nobody).
    let key = fs::metadata(live.join("privkey.pem")).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(mode(&live.join("privkey.pem")), 0o640);
    assert_eq!(
        (
            std::os::unix::fs::MetadataExt::uid(&key),
            std::os::unix::fs::MetadataExt::gid(&key)
        ),
        (0, nobody.gid.as_raw())
    );
    let account = fs::read_dir(setup.dir.path().join("state/accounts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(mode(&account.path().join("account.json")), 0o600);
    let fullchain = fs::read_to_string(live.join("fullchain.pem")).unwrap();
    assert!(
        fullchain.matches("BEGIN CERTIFICATE").count() >= 2,
        "leaf and chain"
    );
    assert!(
        fs::read_dir(setup.dir.path().join("state/acme-challenge"))
            .unwrap()
            .next()
            .is_none(),
        "challenge files are removed"
    );

    let doc = status(&setup);
    let cert = &doc["certificates"][0];
    assert_eq!(cert["live"]["names"], serde_json::json!(["a.webtier.test"]));
    assert_eq!(cert["live"]["key_type"], "ecdsa-p256");
    assert!(
        cert["live"]["issuer"].as_str().unwrap().contains("Pebble"),
        "{cert}"
    );
    assert_eq!(cert["last_attempt"]["ok"], true);
    assert!(cert["due"].is_null());

    // pebble offers no renewal information (ARI): remembered, not asked again.
    let ari: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(
            setup
                .dir
                .path()
                .join("state/renewal/a.webtier.test.ari.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(ari["supported"], false);

    // Nothing is due: no output, exit 0 — and no ACME request (pebble is gone).
    drop(setup.pebble);
    let out = webtier()
        .current_dir(setup.dir.path())
        .args(["cert", "renew"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
}

#[test]
fn issues_a_ten_name_certificate() {
    let aliases: Vec<String> = (1..10).map(|i| format!("n{i}.webtier.test")).collect();
    let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
    let setup = Setup::new(PebbleOptions::default(), "www.webtier.test", &refs);
    let out = setup.run(&["cert", "issue"]);
    assert_exit(&out, 0);
    let doc = status(&setup);
    let names = doc["certificates"][0]["live"]["names"].as_array().unwrap();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names.contains(&serde_json::json!("n9.webtier.test")));
}

#[test]
fn plan_and_apply_issue_then_converge_and_force_renews() {
    let setup = Setup::new(
        PebbleOptions::default(),
        "b.webtier.test",
        &["www.b.webtier.test"],
    );
    let out = setup.run(&["plan", "cert"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("+ certificate b.webtier.test"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("reason: no certificate yet"));
    assert_exit(&setup.run(&["apply", "cert", "--yes"]), 0);
    assert_exit(&setup.run(&["plan", "cert", "--detailed-exitcode"]), 0);

    let before = fs::read(setup.live("b.webtier.test").join("cert.pem")).unwrap();
    let out = setup.run(&["cert", "renew", "--force"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("issued b.webtier.test (--force)"),
        "{}",
        stdout(&out)
    );
    assert_ne!(
        fs::read(setup.live("b.webtier.test").join("cert.pem")).unwrap(),
        before
    );
    let versions = fs::read_dir(setup.dir.path().join("state/archive/b.webtier.test"))
        .unwrap()
        .count();
    assert_eq!(versions, 2, "the previous version stays in the archive");

    // A new alias makes the certificate due.
    let config = fs::read_to_string(setup.dir.path().join("webtier.toml")).unwrap();
    fs::write(
        setup.dir.path().join("webtier.toml"),
        config.replace(
            "[\"www.b.webtier.test\"]",
            "[\"www.b.webtier.test\", \"api.b.webtier.test\"]",
        ),
    )
    .unwrap();
    let out = setup.run(&["plan", "cert"]);
    assert!(
        stdout(&out).contains("~ certificate b.webtier.test"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("does not cover api.b.webtier.test"),
        "{}",
        stdout(&out)
    );
}

/// Holds the HTTP port and answers 404, except (with `serve_preflight`)
/// to webtier's own preflight, which it answers from the challenge
/// directory: a server that shows this machine the challenges and the CA
/// nothing, as a CDN in front that does not pass /.well-known on would.
fn refuse_challenges(port: u16, serve_preflight: Option<PathBuf>) {
    let listener = TcpListener::bind(("0.0.0.0", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let token = request
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.strip_prefix("/.well-known/acme-challenge/"));
            let file = match (&serve_preflight, token) {
                (Some(dir), Some(token)) if request.contains("webtier-preflight") => {
                    fs::read(dir.join(token)).ok()
                }
                _ => None,
            };
            let _ = match file {
                Some(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| stream.write_all(&body)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
}

#[test]
fn a_foreign_server_on_the_http_port_stops_issuance_before_the_ca_is_asked() {
    let setup = Setup::new(PebbleOptions::default(), "f.webtier.test", &[]);
    refuse_challenges(setup.pebble.http01_port, None);
    let out = setup.run(&["cert", "issue"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("preflight for f.webtier.test: ")
            && err.contains(&format!("(pid {})", std::process::id()))
            && err.contains("does not serve webtier's challenge directory (HTTP 404"),
        "the cause and the process holding the port are named: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        setup.pebble.validations(),
        0,
        "the CA was not asked to validate anything"
    );
    assert!(!setup.live("f.webtier.test").exists());
}

#[test]
fn with_preflight_off_the_ca_is_asked_and_its_answer_reported() {
    let setup = Setup::new(PebbleOptions::default(), "p.webtier.test", &[]);
    let path = setup.dir.path().join("webtier.toml");
    let config = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        config.replace("[acme]\n", "[acme]\npreflight = false\n"),
    )
    .unwrap();
    refuse_challenges(setup.pebble.http01_port, None);
    let out = setup.run(&["cert", "issue"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        !err.contains("preflight") && err.contains("urn:ietf:params:acme:error:unauthorized"),
        "{err}"
    );
    assert!(setup.pebble.validations() >= 1);
}

#[test]
fn a_name_that_resolves_elsewhere_stops_issuance_before_the_ca_is_asked() {
    let setup = Setup::new(PebbleOptions::default(), "g.webtier.test", &[]);
    // The name resolves to an address (TEST-NET-1) that is not this
    // machine's: nothing answers there.
    let hosts = setup.dir.path().join("hosts-elsewhere");
    support::hosts_file(
        &hosts,
        std::net::Ipv4Addr::new(192, 0, 2, 1).into(),
        &["g.webtier.test".to_string()],
    );
    let out = support::webtier_resolving(&hosts)
        .current_dir(setup.dir.path())
        .args(["cert", "issue"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("preflight for g.webtier.test: the name resolves to 192.0.2.1, where port")
            && err.contains("does not answer (")
            && err.contains("open tcp/"),
        "{err}"
    );
    assert_eq!(setup.pebble.validations(), 0);
}

#[test]
fn failed_validation_exits_1_and_keeps_the_live_certificate() {
    let setup = Setup::new(PebbleOptions::default(), "c.webtier.test", &[]);
    assert_exit(&setup.run(&["cert", "issue"]), 0);
    let live = setup.live("c.webtier.test");
    let before: Vec<Vec<u8>> = ["fullchain.pem", "privkey.pem"]
        .iter()
        .map(|f| fs::read(live.join(f)).unwrap())
        .collect();

    // A new name makes the certificate due; its validation gets a 404 (a
    // new name, so the CA cannot reuse an earlier authorization).
    refuse_challenges(
        setup.pebble.http01_port,
        Some(setup.dir.path().join("state/acme-challenge")),
    );
    let config = fs::read_to_string(setup.dir.path().join("webtier.toml")).unwrap();
    fs::write(
        setup.dir.path().join("webtier.toml"),
        config.replace("aliases = []", "aliases = [\"new.c.webtier.test\"]"),
    )
    .unwrap();
    let out = setup.run(&["cert", "renew"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot issue c.webtier.test: validation failed: "),
        "{err}"
    );
    assert!(
        err.contains("new.c.webtier.test: the CA could not verify control of the name"),
        "the failing name is named: {err}"
    );
    assert!(
        err.contains("urn:ietf:params:acme:error:unauthorized"),
        "the ACME problem type is shown: {err}"
    );
    assert!(err.contains("404"), "the CA's detail is shown: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let after: Vec<Vec<u8>> = ["fullchain.pem", "privkey.pem"]
        .iter()
        .map(|f| fs::read(live.join(f)).unwrap())
        .collect();
    assert_eq!(before, after, "the live certificate is byte-identical");
    let doc = status(&setup);
    assert_eq!(doc["certificates"][0]["last_attempt"]["ok"], false);
}

#[test]
fn issuance_survives_half_the_nonces_being_rejected() {
    let setup = Setup::new(
        PebbleOptions {
            nonce_reject_percent: 50,
            ..PebbleOptions::default()
        },
        "d.webtier.test",
        &["www.d.webtier.test", "api.d.webtier.test"],
    );
    for _ in 0..3 {
        let out = setup.run(&["cert", "renew", "--force"]);
        assert_exit(&out, 0);
    }
    let versions = fs::read_dir(setup.dir.path().join("state/archive/d.webtier.test"))
        .unwrap()
        .count();
    assert_eq!(versions, 3);
}

#[test]
fn concurrent_renewals_do_not_corrupt_the_store() {
    let setup = Setup::new(PebbleOptions::default(), "e.webtier.test", &[]);
    assert_exit(&setup.run(&["cert", "issue"]), 0);
    let spawn = || {
        setup
            .command()
            .args(["cert", "renew", "--force"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_exit(&a, 0);
    assert_exit(&b, 0);
    let versions = fs::read_dir(setup.dir.path().join("state/archive/e.webtier.test"))
        .unwrap()
        .count();
    assert_eq!(versions, 3, "the runs took turns");
    let doc = status(&setup);
    assert!(doc["certificates"][0]["due"].is_null(), "{doc}");
    // The live set is one consistent version: its key matches its certificate.
    let out = setup.run(&["plan", "cert", "--detailed-exitcode"]);
    assert_exit(&out, 0);
}

/// A pass-through proxy in front of moto that, before forwarding a Route 53
/// ChangeResourceRecordSets call, copies every `_acme-challenge` TXT value
/// it upserts into pebble-challtestsrv (the DNS server pebble asks). So by
/// the time webtier sees the change accepted, pebble can resolve it, as it
/// could with real Route 53 once a change is INSYNC. Returns the proxy's
/// endpoint; it serves until the test ends.
async fn route53_to_challtestsrv(moto_endpoint: String, challtestsrv_port: u16) -> String {
    use http_body_util::{BodyExt, Full};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (client, moto) = (client.clone(), moto_endpoint.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (client, moto) = (client.clone(), moto.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let text = String::from_utf8_lossy(&body).into_owned();
                            if parts.method == hyper::Method::POST
                                && parts.uri.path().contains("/rrset")
                            {
                                for (host, value) in upserted_challenges(&text) {
                                    let body = serde_json::json!({"host": host, "value": value});
                                    client
                                        .post(format!(
                                            "http://127.0.0.1:{challtestsrv_port}/set-txt"
                                        ))
                                        .json(&body)
                                        .send()
                                        .await
                                        .unwrap();
                                }
                            }
                            let url = format!(
                                "{moto}{}",
                                parts.uri.path_and_query().map_or("/", |p| p.as_str())
                            );
                            let mut forward = client.request(parts.method.clone(), url).body(body);
                            for (name, value) in &parts.headers {
                                if name != "host" && name != "content-length" {
                                    forward = forward.header(name, value);
                                }
                            }
                            let answer = forward.send().await.unwrap();
                            let mut response = hyper::Response::builder().status(answer.status());
                            for (name, value) in answer.headers() {
                                if name != "content-length"
                                    && name != "transfer-encoding"
                                    && name != "connection"
                                {
                                    response = response.header(name, value);
                                }
                            }
                            let bytes = answer.bytes().await.unwrap();
                            Ok::<_, std::convert::Infallible>(
                                response.body(Full::new(bytes)).unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    endpoint
}

/// (host with trailing dot, value) of every `_acme-challenge` TXT value an
/// UPSERT in a ChangeBatch XML body sets.
fn upserted_challenges(xml: &str) -> Vec<(String, String)> {
    let tag = |block: &str, name: &str| -> Vec<String> {
        block
            .split(&format!("<{name}>"))
            .skip(1)
            .filter_map(|rest| rest.split(&format!("</{name}>")).next())
            .map(|v| v.replace("&quot;", "\"").replace("&#34;", "\""))
            .collect()
    };
    let mut out = Vec::new();
    for change in xml.split("<Change>").skip(1) {
        let upsert = tag(change, "Action").first().is_some_and(|a| a == "UPSERT");
        let name = tag(change, "Name").first().cloned().unwrap_or_default();
        if !upsert || !name.starts_with("_acme-challenge.") {
            continue;
        }
        let host = format!("{}.", name.trim_end_matches('.'));
        for value in tag(change, "Value") {
            out.push((host.clone(), value.trim_matches('"').to_string()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_certificate_over_dns01_in_route53() {
    let moto = support::services::Moto::start();
    let route53 = aws_sdk_route53::Client::new(&moto.sdk_config().await);
    let zone = support::services::create_zone(&route53, "webtier.test", "dns01").await;
    let setup = Setup::new(
        PebbleOptions::default(),
        "w.webtier.test",
        &["*.w.webtier.test"],
    );
    let config_path = setup.dir.path().join("webtier.toml");
    let config = fs::read_to_string(&config_path).unwrap();
    fs::write(
        &config_path,
        config.replace("email = ", "challenge = \"dns-01\"\nemail = "),
    )
    .unwrap();
    let endpoint = route53_to_challtestsrv(moto.endpoint(), setup.pebble.challtestsrv_port).await;

    let dir = setup.dir.path().to_path_buf();
    let mut env = moto.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", endpoint));
    let out = tokio::task::spawn_blocking(move || {
        webtier()
            .current_dir(dir)
            .envs(env)
            .args(["cert", "issue"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_exit(&out, 0);
    let doc = status(&setup);
    assert_eq!(
        doc["certificates"][0]["live"]["names"],
        serde_json::json!(["*.w.webtier.test", "w.webtier.test"])
    );
    assert!(setup.live("w.webtier.test").join("fullchain.pem").is_file());
    // The challenge records are gone again.
    let sets = route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    assert!(
        !sets
            .resource_record_sets()
            .iter()
            .any(|s| s.name().starts_with("_acme-challenge")),
        "{sets:?}"
    );
}

#[test]
fn dry_run_orders_but_installs_nothing_and_rsa_keys_work() {
    let setup = Setup::new(PebbleOptions::default(), "f.webtier.test", &[]);
    let out = setup.run(&["cert", "renew", "--dry-run"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("dry run: f.webtier.test would be issued (no certificate yet)"),
        "{}",
        stdout(&out)
    );
    assert!(!setup.live("f.webtier.test").exists(), "nothing installed");

    let config_path = setup.dir.path().join("webtier.toml");
    let config = fs::read_to_string(&config_path).unwrap();
    fs::write(
        &config_path,
        config.replace("email = ", "key = \"rsa-2048\"\nemail = "),
    )
    .unwrap();
    assert_exit(&setup.run(&["cert", "issue"]), 0);
    let doc = status(&setup);
    assert_eq!(doc["certificates"][0]["live"]["key_type"], "rsa-2048");
}

#[test]
fn revoke_asks_the_ca_once() {
    let setup = Setup::new(PebbleOptions::default(), "g.webtier.test", &[]);
    assert_exit(&setup.run(&["cert", "issue"]), 0);
    let out = setup.run(&["cert", "revoke", "g.webtier.test", "--reason", "superseded"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("revoked g.webtier.test (serial "),
        "{}",
        stdout(&out)
    );
    let out = setup.run(&["cert", "revoke", "g.webtier.test"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("alreadyRevoked"), "{}", stderr(&out));
}

/// `webtier destroy --revoke`: the certificate is revoked at the CA (or
/// found revoked already) and taken out of `live/`; its files stay in the
/// archive.
#[tokio::test]
async fn destroy_with_revoke_revokes_the_certificate_and_keeps_its_files() {
    let setup = Setup::new(PebbleOptions::default(), "r.webtier.test", &[]);
    assert_exit(&setup.run(&["cert", "issue"]), 0);
    let serial = status(&setup)["certificates"][0]["live"]["serial"]
        .as_str()
        .unwrap()
        .replace(':', "");
    // Revoked once already (`cert revoke` leaves it installed): destroy
    // takes that as done rather than stopping on the CA's alreadyRevoked.
    assert_exit(&setup.run(&["cert", "revoke", "r.webtier.test"]), 0);
    let out = setup.run(&["destroy", "--revoke", "--yes"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("certificate r.webtier.test"),
        "{}",
        stdout(&out)
    );
    assert!(!setup.live("r.webtier.test").exists(), "out of live/");
    let versions = fs::read_dir(setup.dir.path().join("state/archive/r.webtier.test"))
        .unwrap()
        .count();
    assert_eq!(versions, 1, "the files stay in the archive");
    // The CA says so too (pebble's management API).
    let ca = fs::read(&setup.pebble.ca_pem).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let doc: serde_json::Value = client
        .get(format!(
            "https://127.0.0.1:{}/cert-status-by-serial/{}",
            setup.pebble.management_port,
            serial.to_ascii_lowercase()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["Status"], "Revoked", "{doc}");
    // Nothing is left to destroy.
    assert_exit(
        &setup.run(&["plan", "--destroy", "--revoke", "--detailed-exitcode"]),
        0,
    );
}

#[test]
fn external_account_binding_when_the_ca_requires_it() {
    let setup = Setup::new(
        PebbleOptions {
            eab: true,
            ..PebbleOptions::default()
        },
        "h.webtier.test",
        &[],
    );
    // Without EAB the CA refuses the account, and says why.
    let out = setup.run(&["cert", "issue"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("externalAccountRequired"),
        "{}",
        stderr(&out)
    );

    let (kid, key) = setup.pebble.eab.clone().unwrap();
    let key_file = setup.dir.path().join("eab-key");
    fs::write(&key_file, format!("{key}\n")).unwrap();
    let config_path = setup.dir.path().join("webtier.toml");
    let config = fs::read_to_string(&config_path).unwrap();
    fs::write(
        &config_path,
        config.replace(
            "email = ",
            &format!("eab = {{ kid = \"{kid}\", hmac_key_file = \"eab-key\" }}\nemail = "),
        ),
    )
    .unwrap();
    let out = setup.run(&["cert", "issue"]);
    assert_exit(&out, 0);
    assert!(setup.live("h.webtier.test").join("fullchain.pem").is_file());
}

/// Stops the detached proxy a test started, pass or fail.
struct StopProxy<'a>(&'a Setup);

impl Drop for StopProxy<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["proxy", "stop"]);
    }
}

/// The generated proxy configuration's HTTPS port.
fn proxy_https_port(setup: &Setup) -> u16 {
    let text = fs::read_to_string(setup.dir.path().join("out/proxy.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let addr = doc["https_listen"][0].as_str().unwrap();
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_running_proxy_answers_challenges_and_serves_the_renewed_certificate() {
    use crate::support::proxy::served_serial;

    let setup = Setup::new(PebbleOptions::default(), "p.webtier.test", &[]);
    assert_exit(&setup.run(&["cert", "issue"]), 0);
    // The proxy step starts the daemon (detached here), serving as nobody,
    // whose group may read the key.
    assert_exit(&setup.run(&["apply", "proxy-config", "proxy", "--yes"]), 0);
    let _stop = StopProxy(&setup);
    let dir = setup.dir.path();
    let log = || fs::read_to_string(dir.join("state/run/proxy.log")).unwrap_or_default();
    let key = setup.live("p.webtier.test").join("privkey.pem");
    assert_eq!(mode(&key), 0o640);
    let wait_for_port = |port: u16| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "{}", log());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    // The proxy now holds the port pebble validates HTTP-01 on.
    wait_for_port(setup.pebble.http01_port);
    let https = proxy_https_port(&setup);
    wait_for_port(https);

    // The issuing intermediate as trust anchor: enough to check which
    // certificate is served.
    let chain = fs::read(setup.live("p.webtier.test").join("chain.pem")).unwrap();
    let client = || {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&chain).unwrap())
            .resolve("p.webtier.test", ([127, 0, 0, 1], https).into())
            .tls_info(true)
            .build()
            .unwrap()
    };
    let url = format!("https://p.webtier.test:{https}/");
    let first = served_serial(&client().get(&url).send().await.unwrap());

    // Renewal with the proxy running: the CA's HTTP-01 requests are
    // answered from the challenge directory, then the proxy is told to
    // reload.
    let out = setup.run(&["cert", "renew", "--force", "-v"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("asked the proxy (pid"),
        "{}",
        stderr(&out)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !log().contains("reloaded configuration and certificates") {
        assert!(std::time::Instant::now() < deadline, "{}", log());
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    // The renewed key kept the group that lets the proxy read it.
    assert_eq!(mode(&key), 0o640);
    let second = served_serial(&client().get(&url).send().await.unwrap());
    assert_ne!(first, second, "new connections get the renewed certificate");
    let pem = fs::read(setup.live("p.webtier.test").join("cert.pem")).unwrap();
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(&pem)
        .map(|d: rustls_pki_types::CertificateDer<'static>| d.to_vec())
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert_eq!(
        second,
        cert.raw_serial(),
        "the served certificate is the live one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn import_to_acm_creates_once_and_reimports_to_the_same_arn() {
    use crate::support::services::Moto;

    let setup = Setup::new(PebbleOptions::default(), "i.webtier.test", &[]);
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let acm = aws_sdk_acm::Client::new(&sdk);
    let run = |args: &[&str]| {
        setup
            .command()
            .envs(moto.env())
            .args(args)
            .output()
            .unwrap()
    };
    let imported = || async {
        let out = acm.list_certificates().send().await.unwrap();
        out.certificate_summary_list()
            .iter()
            .map(|c| {
                (
                    c.certificate_arn().unwrap().to_string(),
                    c.r#type().unwrap().as_str().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    // A certificate issued before imports were asked for.
    assert_exit(&run(&["cert", "issue"]), 0);
    let config = setup.dir.path().join("webtier.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str("\n[site.acm]\nimport = true\n");
    fs::write(&config, text).unwrap();
    let plan = run(&["plan", "cert", "--detailed-exitcode"]);
    assert_exit(&plan, 2);
    assert!(
        stdout(&plan).contains("ACM import i.webtier.test"),
        "{}",
        stdout(&plan)
    );

    let out = run(&["cert", "import-to-acm"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("imported i.webtier.test into ACM as arn:"),
        "{}",
        stdout(&out)
    );
    let first = imported().await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, "IMPORTED");
    let body = |arn: String| async {
        let out = acm
            .get_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .unwrap();
        crate::support::pem_der(out.certificate().unwrap())
    };
    let live_leaf = || {
        crate::support::pem_der(
            &fs::read_to_string(setup.live("i.webtier.test").join("cert.pem")).unwrap(),
        )
    };
    assert_eq!(body(first[0].0.clone()).await, live_leaf());

    // Imported already: nothing is written, and the plan is empty.
    moto.start_recording().await;
    let out = run(&["cert", "import-to-acm"]);
    let calls = moto.stop_recording().await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(
        !calls.iter().any(|c| c.is_write()),
        "{:?}",
        calls.iter().filter(|c| c.is_write()).collect::<Vec<_>>()
    );
    assert_exit(&run(&["plan", "cert", "--detailed-exitcode"]), 0);

    // A new certificate (`cert issue` orders one, due or not) is
    // re-imported to the same ARN at once.
    let before = live_leaf();
    let out = run(&["cert", "issue"]);
    assert_exit(&out, 0);
    assert_ne!(live_leaf(), before, "a new certificate is live");
    let reimported = format!("re-imported i.webtier.test to {}", first[0].0);
    assert!(stdout(&out).contains(&reimported), "{}", stdout(&out));
    assert_eq!(body(first[0].0.clone()).await, live_leaf());

    // ACM holding an older one (put back by hand, from the archive): the
    // plan says so and the next `cert renew`, unforced, re-imports.
    let old = setup.dir.path().join("state/archive/i.webtier.test/0001");
    let read = |f: &str| fs::read(old.join(f)).unwrap();
    acm.import_certificate()
        .certificate_arn(&first[0].0)
        .certificate(aws_sdk_acm::primitives::Blob::new(read("cert.pem")))
        .certificate_chain(aws_sdk_acm::primitives::Blob::new(read("chain.pem")))
        .private_key(aws_sdk_acm::primitives::Blob::new(read("privkey.pem")))
        .send()
        .await
        .unwrap();
    // AWS keeps a certificate's tags through a re-import; moto drops them.
    let tags = [
        ("managed-by", "webtier"),
        ("webtier-site", "i.webtier.test"),
        ("webtier-owner", "webtier"),
    ]
    .map(|(k, v)| {
        aws_sdk_acm::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    });
    acm.add_tags_to_certificate()
        .certificate_arn(&first[0].0)
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(body(first[0].0.clone()).await, before);
    let plan = run(&["plan", "cert"]);
    assert!(
        stdout(&plan).contains("ACM holds an older certificate"),
        "{}",
        stdout(&plan)
    );
    let out = run(&["cert", "renew"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(&reimported), "{}", stdout(&out));
    let second = imported().await;
    assert_eq!(second, first, "the same certificate in ACM");
    assert_eq!(
        body(first[0].0.clone()).await,
        live_leaf(),
        "now the renewed one"
    );
    let tags = acm
        .list_tags_for_certificate()
        .certificate_arn(&first[0].0)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, Option<&str>)> =
        tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert!(tags.contains(&("managed-by", Some("webtier"))), "{tags:?}");
    assert!(
        tags.contains(&("webtier-site", Some("i.webtier.test"))),
        "{tags:?}"
    );
    assert_exit(&run(&["plan", "cert", "--detailed-exitcode"]), 0);

    // ACM out of reach: cert status still shows the store, and says why
    // the rest is missing.
    let closed = free_port();
    let out = setup
        .command()
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .args(["cert", "status"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("i.webtier.test"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("cannot show the ACM certificates"),
        "{}",
        stderr(&out)
    );
}
