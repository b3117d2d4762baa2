//! `webtier init` end to end, as on a fresh EC2 instance: moto_server for
//! AWS, pebble for the CA, the FastAPI app on 127.0.0.1:8000, and the
//! real ports 80 and 443.
//!
//! The test runs in network and mount namespaces of its own (as root,
//! like the suite): a fresh network where nothing holds 80/443, the
//! instance's public address on the loopback interface (so the site's
//! name reaches this machine as it does on EC2), and `/etc` and `/var/lib`
//! overlaid so that what webtier installs there (its proxy user, the
//! configuration, certificates, the renewal cron entry, `/etc/hosts` for
//! the name) vanishes with the test. webtier itself is not told it is a
//! test: only the AWS endpoint, the ACME directory and its root differ,
//! passed as a user passes them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output};

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::support::proxy::served_serial;
use crate::support::services::{Call, Moto, Pebble, PebbleOptions, Uvicorn};
use crate::support::{assert_exit, stderr, stdout, webtier};

const DOMAIN: &str = "app.demo.test";
const FOREIGN: &str = "other.demo.test";
const INNER: &str = "init::in_its_own_namespaces";

/// Runs `in_its_own_namespaces` in new network and mount namespaces.
#[test]
fn init_takes_a_fresh_instance_to_https_and_a_rerun_picks_up_where_it_stopped() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "--"])
        .arg(exe)
        .args([
            "--exact",
            INNER,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEBTIER_IT_NAMESPACED", "1")
        .output()
        .expect("unshare (util-linux) runs");
    let text = format!("{}\n{}", stdout(&out), stderr(&out));
    assert!(
        out.status.success() && text.contains("test result: ok. 1 passed"),
        "the namespaced test failed (it needs root: unshare --net --mount):\n{text}"
    );
}

#[test]
#[ignore = "run by init_takes_a_fresh_instance_to_https_… inside namespaces of its own"]
fn in_its_own_namespaces() {
    assert!(
        std::env::var_os("WEBTIER_IT_NAMESPACED").is_some(),
        "run through init_takes_a_fresh_instance_to_https_and_a_rerun_picks_up_where_it_stopped"
    );
    let scratch = tempfile::tempdir().unwrap();
    private_machine(scratch.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = rt.block_on(World::new());
    let _stop = StopProxy;

    let pebble = Pebble::start_with(PebbleOptions {
        http01_port: Some(80),
        ..PebbleOptions::default()
    });
    let _app = Uvicorn::start_on("demo", 8000);
    // The name resolves to the instance's public address, as public DNS
    // will once the dns step has run.
    std::fs::write(
        "/etc/hosts",
        format!("127.0.0.1 localhost\n{} {DOMAIN}\n", world.ip),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("pebble-ca.pem");
    std::fs::copy(&pebble.ca_pem, &ca).unwrap();
    let init = |moto: &Moto| -> Output {
        webtier()
            .current_dir(dir.path())
            .envs(moto.env())
            .args(["init", "--yes", "--domain", DOMAIN])
            .args(["--email", "ops@demo.test", "--instance", &world.instance])
            .args(["--acme-directory", &pebble.directory_url()])
            .arg("--ca-root")
            .arg(&ca)
            .output()
            .unwrap()
    };

    // 1. The public address does not reach this machine yet (say, an
    //    elastic IP still being moved): the preflight stops the cert step
    //    before the CA is asked anything.
    let out = init(&world.moto);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("cert: apply failed")
            && err.contains(&format!(
                "preflight for {DOMAIN}: the name resolves to {}, where port 80 does not answer",
                world.ip
            ))
            && err.contains("run this `webtier init` again (or `webtier apply`)"),
        "the step and the cause are named: {err}"
    );
    assert_eq!(pebble.validations(), 0, "no validation was spent");
    assert!(dir.path().join("webtier.toml").is_file());

    // 2. Fixed: the same command again finishes, without writing again
    //    what the first run did.
    run(&[
        "ip",
        "addr",
        "add",
        &format!("{}/32", world.ip),
        "dev",
        "lo",
    ]);
    rt.block_on(world.moto.start_recording());
    let out = init(&world.moto);
    let calls = rt.block_on(world.moto.stop_recording());
    assert_exit(&out, 0);
    assert_eq!(
        writes(&calls),
        Vec::<&str>::new(),
        "the finished firewall and dns steps write nothing again: {}",
        stdout(&out)
    );
    assert!(pebble.validations() >= 1);

    // Ports 80 and 443 are open to the world, the A record holds the
    // instance's public address.
    let open = rt.block_on(world.open_ports());
    assert!(
        open.contains(&(80, "0.0.0.0/0".into())) && open.contains(&(443, "0.0.0.0/0".into())),
        "{open:?}"
    );
    assert_eq!(
        rt.block_on(world.a_record()),
        vec![world.ip.to_string()],
        "the A record holds the instance's public IP"
    );

    // The site answers over HTTPS with pebble's certificate, from the app.
    let live = Path::new("/var/lib/webtier/live").join(DOMAIN);
    let serial = live_serial(&live.join("cert.pem"));
    let root = rt.block_on(pebble_root(&pebble));
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(root.as_bytes()).unwrap())
        .resolve(DOMAIN, SocketAddr::from((Ipv4Addr::LOCALHOST, 443)))
        .tls_info(true)
        .build()
        .unwrap();
    let resp = rt
        .block_on(https.get(format!("https://{DOMAIN}/health")).send())
        .expect("the proxy answers HTTPS with a certificate that chains to pebble's root");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        served_serial(&resp),
        serial,
        "the live certificate is served"
    );
    let body: serde_json::Value = rt.block_on(resp.json()).unwrap();
    assert_eq!(body["app"], "demo", "proxied to the FastAPI app");

    // Plain HTTP redirects to HTTPS.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(DOMAIN, SocketAddr::from((Ipv4Addr::LOCALHOST, 80)))
        .build()
        .unwrap();
    let resp = rt
        .block_on(http.get(format!("http://{DOMAIN}/health?x=1")).send())
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(
        resp.headers()["location"],
        format!("https://{DOMAIN}/health?x=1").as_str()
    );

    // Renewal is scheduled, and nothing is left to do.
    let cron = std::fs::read_to_string("/etc/cron.d/webtier").expect("the renewal cron entry");
    assert!(cron.contains(" cert renew"), "{cron}");
    let out = webtier()
        .current_dir(dir.path())
        .envs(world.moto.env())
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_exit(&out, 0);

    // `webtier status` finds every check green.
    let out = webtier()
        .current_dir(dir.path())
        .envs(world.moto.env())
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_exit(&out, 0);
    assert_eq!(doc["ok"], true, "{doc:#}");
    let checks: Vec<&str> = doc["sites"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "firewall",
            "dns-record",
            "dns-resolution",
            "certificate",
            "renewal-schedule",
            "proxy",
            "tls",
            "upstream"
        ],
        "{doc:#}"
    );

    // `webtier destroy` removes what webtier made and nothing else, also
    // the renewal schedule the configuration no longer asks for.
    let config = dir.path().join("webtier.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen("[acme]\n", "[acme]\nschedule = \"none\"\n", 1),
    )
    .unwrap();
    let out = webtier()
        .current_dir(dir.path())
        .envs(world.moto.env())
        .args(["destroy", "--yes"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let open = rt.block_on(world.open_ports());
    assert_eq!(
        open,
        vec![(22, "10.0.0.0/8".to_string())],
        "webtier's rules are gone, the ssh rule it found stays"
    );
    assert!(
        rt.block_on(world.records(DOMAIN)).is_empty(),
        "its A record and ownership TXT are gone"
    );
    assert_eq!(
        rt.block_on(world.records(FOREIGN)),
        vec![("A".to_string(), "192.0.2.7".to_string())],
        "the record it did not create stays"
    );
    assert!(
        std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, 443)).is_err(),
        "the proxy is stopped"
    );
    assert!(!Path::new("/etc/cron.d/webtier").exists());
    assert!(!Path::new("/etc/webtier/proxy.toml").exists());
    assert_eq!(
        live_serial(&live.join("cert.pem")),
        serial,
        "the certificate is kept"
    );
    let out = webtier()
        .current_dir(dir.path())
        .envs(world.moto.env())
        .args(["plan", "--destroy", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

/// Loopback up; `/etc` and `/var/lib` overlaid on scratch directories.
fn private_machine(scratch: &Path) {
    crate::support::require_bin("ip", "apt-get install -y iproute2");
    run(&["ip", "link", "set", "lo", "up"]);
    for (i, dir) in ["/etc", "/var/lib"].iter().enumerate() {
        let upper = scratch.join(format!("upper{i}"));
        let work = scratch.join(format!("work{i}"));
        std::fs::create_dir_all(&upper).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        run(&[
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            &format!(
                "lowerdir={dir},upperdir={},workdir={}",
                upper.display(),
                work.display()
            ),
            dir,
        ]);
    }
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{}: {}", args.join(" "), stderr(&out));
}

/// Stops the proxy that init started, whatever the test's outcome (it
/// would otherwise keep the namespaces alive).
struct StopProxy;

impl Drop for StopProxy {
    fn drop(&mut self) {
        let _ = webtier()
            .args(["proxy", "stop", "--file", "/etc/webtier/proxy.toml"])
            .output();
    }
}

fn writes(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| c.action.as_str())
        .collect()
}

fn live_serial(cert: &Path) -> Vec<u8> {
    let pem = std::fs::read(cert).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    pem.parse_x509().unwrap().raw_serial().to_vec()
}

/// The root pebble issues under (it makes a new one at each start).
async fn pebble_root(pebble: &Pebble) -> String {
    let ca = std::fs::read(&pebble.ca_pem).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    client
        .get(format!(
            "https://127.0.0.1:{}/roots/0",
            pebble.management_port
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// moto with one instance (public IPv4, in a security group that allows
/// ssh from 10.0.0.0/8) and the public zone demo.test.
struct World {
    moto: Moto,
    ec2: aws_sdk_ec2::Client,
    route53: aws_sdk_route53::Client,
    instance: String,
    sg: String,
    zone: String,
    ip: IpAddr,
}

impl World {
    async fn new() -> World {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let route53 = aws_sdk_route53::Client::new(&sdk);
        let web = crate::support::ec2::web_instances(&ec2, 1, "web", false).await;
        let sg = web.sg;
        ec2.authorize_security_group_ingress()
            .group_id(&sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let instance = web.instances[0].clone();
        let ip = crate::support::ec2::public_ipv4(&ec2, &instance)
            .await
            .parse()
            .unwrap();
        let zone =
            crate::support::services::create_zone(&route53, "demo.test", "webtier-init").await;
        // A record of someone else's in the zone: destroy must leave it.
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Create)
                            .resource_record_set(
                                ResourceRecordSet::builder()
                                    .name(FOREIGN)
                                    .r#type(RrType::A)
                                    .ttl(60)
                                    .resource_records(
                                        ResourceRecord::builder()
                                            .value("192.0.2.7")
                                            .build()
                                            .unwrap(),
                                    )
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        World {
            moto,
            ec2,
            route53,
            instance,
            sg,
            zone,
            ip,
        }
    }

    /// (port, CIDR) of the group's IPv4 ingress rules.
    async fn open_ports(&self) -> Vec<(i32, String)> {
        crate::support::ec2::ingress(&self.ec2, &self.sg)
            .await
            .into_iter()
            .filter(|(_, _, cidr, _)| !cidr.contains(':'))
            .map(|(_, port, cidr, _)| (port, cidr))
            .collect()
    }

    async fn a_record(&self) -> Vec<String> {
        self.records(DOMAIN)
            .await
            .into_iter()
            .filter(|(t, _)| t == "A")
            .map(|(_, v)| v)
            .collect()
    }

    /// (type, value) of every record of `name`.
    async fn records(&self, name: &str) -> Vec<(String, String)> {
        let out = self
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|s| s.name().trim_end_matches('.') == name)
            .flat_map(|s| {
                s.resource_records()
                    .iter()
                    .map(|r| (s.r#type().as_str().to_string(), r.value().to_string()))
            })
            .collect()
    }
}

/// On a terminal, init asks for what no flag gave, asks again after an
/// answer the configuration would refuse, and writes what was answered.
#[test]
fn the_wizard_asks_on_a_terminal_for_what_no_flag_gave() {
    let script = crate::support::require_bin("script", "apt-get install -y bsdutils");
    let dir = tempfile::tempdir().unwrap();
    // A URL where a domain is asked (refused, asked again), the domain,
    // no other names, the email, the app's address, then ACME (the first
    // choice).
    let keys = "https://app.example.com/\rapp.example.com\r\rops@example.com\r127.0.0.1:9000\r\r";
    let cmd = format!(
        "{} init --instance i-0123456789abcdef0",
        env!("CARGO_BIN_EXE_webtier")
    );
    let mut child = Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir.path())
        // AWS answers nowhere: the pipeline stops at its first step, after
        // the file is written.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("NO_COLOR", "1")
        .env_remove("WEBTIER_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        screen.contains("is a URL, not a domain name"),
        "the refused answer is explained: {screen}"
    );
    assert!(
        screen.contains("ec2:DescribeInstances failed: ") && !screen.contains("DispatchFailure"),
        "AWS's failure is said in words, with no debug dump: {screen}"
    );
    let text = std::fs::read_to_string(dir.path().join("webtier.toml"))
        .unwrap_or_else(|e| panic!("webtier.toml written ({e}): {screen}"));
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let site = &doc["site"][0];
    assert_eq!(site["domain"].as_str(), Some("app.example.com"), "{text}");
    assert_eq!(site["aliases"].as_array().map(Vec::len), Some(0), "{text}");
    assert_eq!(site["upstreams"][0].as_str(), Some("127.0.0.1:9000"));
    assert_eq!(site["tls"].as_str(), Some("acme"));
    assert_eq!(doc["acme"]["email"].as_str(), Some("ops@example.com"));
    assert_eq!(
        doc["target"]["instances"][0].as_str(),
        Some("i-0123456789abcdef0")
    );
}

/// An answer the configuration refuses is reported against the text init
/// would write, exit 3, and nothing is written.
#[test]
fn a_refused_answer_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = webtier()
        .current_dir(dir.path())
        .args(["init", "--yes", "--domain", "bad_name.example.com"])
        .args([
            "--upstream",
            "127.0.0.1:9",
            "--instance",
            "i-0123456789abcdef0",
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("webtier.toml (as init would write it):") && err.contains("bad_name"),
        "{err}"
    );
    assert!(!dir.path().join("webtier.toml").exists());
}
