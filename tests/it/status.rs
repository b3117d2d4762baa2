//! `webtier status` against real services: security group and records in
//! moto_server (written by `apply firewall dns`), a certificate from a test
//! CA in the store, the proxy started by the proxy step, the FastAPI app
//! under uvicorn. Names resolve through the system resolver; the test
//! points it (and /etc/cron.d, where `cert schedule` installs) at files of
//! its own in a private mount namespace, outside webtier, as an operator's
//! /etc would be.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::proxy::TestCa;
use crate::support::services::{Moto, Uvicorn, create_zone, free_port, tempdir};
use crate::support::{RemoveUser, StopOnDrop};
use crate::support::{assert_exit, require_bin, stderr, stdout};

const DOMAIN: &str = "app.example.com";
const USER: &str = "webtier-it-status";

/// The check names, in the order `status` reports them.
const ALL_CHECKS: [&str; 8] = [
    "firewall",
    "dns-record",
    "dns-resolution",
    "certificate",
    "renewal-schedule",
    "proxy",
    "tls",
    "upstream",
];

/// An instance tagged Role=status-web with a public address in a security
/// group, and a public hosted zone example.com, in moto.
struct Aws {
    moto: Moto,
    sg: String,
    public_ip: String,
}

impl Aws {
    async fn new() -> Aws {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let web = crate::support::ec2::web_instances(&ec2, 1, "status-web", false).await;
        let public_ip = crate::support::ec2::public_ipv4(&ec2, &web.instances[0]).await;
        let sg = web.sg;
        let route53 = aws_sdk_route53::Client::new(&sdk);
        create_zone(&route53, "example.com", "webtier-status-test").await;
        Aws {
            moto,
            sg,
            public_ip,
        }
    }
}

/// A directory with webtier.toml, the state directory, and the files the
/// test's mount namespace puts at /etc/hosts and /etc/cron.d.
struct Host {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Host {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `webtier ARGS` in a private mount namespace whose /etc/hosts holds
    /// `hosts` and whose /etc/cron.d is the test's directory.
    fn run(&self, hosts: &str, args: &[&str]) -> Output {
        let unshare = require_bin("unshare", "apt-get install -y util-linux");
        let hosts_file = self.path("hosts");
        std::fs::write(&hosts_file, format!("127.0.0.1 localhost\n{hosts}")).unwrap();
        let cron = self.path("cron.d");
        std::fs::create_dir_all(&cron).unwrap();
        let mut cmd = Command::new(unshare);
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/cron.d && shift 2 && exec "$@""#)
            .arg("sh")
            .arg(&hosts_file)
            .arg(&cron)
            .arg(env!("CARGO_BIN_EXE_webtier"))
            .args(args)
            .current_dir(self.dir.path())
            .env("WEBTIER_CONFIG", self.path("webtier.toml"))
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null());
        cmd.output().expect("unshare runs")
    }
}

/// The JSON report of `status --json`, with its exit code checked.
#[track_caller]
fn report(out: &Output, code: i32) -> Value {
    assert_exit(out, code);
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// The checks of the one site, by name: (ok, detail).
fn checks(report: &Value) -> Vec<(String, bool, String)> {
    let sites = report["sites"].as_array().expect("sites");
    assert_eq!(sites.len(), 1, "{report:#}");
    assert_eq!(sites[0]["domain"], DOMAIN);
    sites[0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["ok"].as_bool().unwrap(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn find<'a>(checks: &'a [(String, bool, String)], name: &str) -> &'a (String, bool, String) {
    checks
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
}

/// Every check but `failing` passes; those fail.
#[track_caller]
fn only_failing(checks: &[(String, bool, String)], failing: &[&str]) {
    for (name, ok, detail) in checks {
        assert_eq!(
            *ok,
            !failing.contains(&name.as_str()),
            "{name}: {detail}\nall: {checks:#?}"
        );
    }
}

#[tokio::test]
async fn status_is_green_for_a_served_site_and_names_what_breaks() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test starts the proxy through its step (which creates its user) and mounts \
         over /etc/hosts in a private namespace: run the suite as root"
    );
    let _user = RemoveUser(USER);
    assert!(
        nix::unistd::User::from_name(USER).unwrap().is_none(),
        "user {USER} is left over from an earlier run: userdel {USER}"
    );
    let aws = Aws::new().await;
    let mut app = Uvicorn::start("status-app");
    let dir = tempdir();
    // The proxy's user must reach its files.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let host = Host {
        env: aws.moto.env(),
        dir,
    };

    // A 90-day certificate for the site, live in the store.
    let live = host.path(&format!("state/live/{DOMAIN}"));
    std::fs::create_dir_all(&live).unwrap();
    let ca = TestCa::new();
    let (cert, key) = ca.leaf_valid_for(&[DOMAIN], &live, "leaf", 89);
    std::fs::rename(cert, live.join("fullchain.pem")).unwrap();
    std::fs::rename(key, live.join("privkey.pem")).unwrap();

    let (http, https) = (free_port(), free_port());
    let d = host.dir.path().display();
    std::fs::write(
        host.path("webtier.toml"),
        format!(
            "state_dir = \"{d}/state\"\n\n\
             [proxy]\nconfig_file = \"{d}/proxy.toml\"\nbind = [\"127.0.0.1\"]\n\
             http_port = {http}\nhttps_port = {https}\nworkers = 1\nuser = \"{USER}\"\nlaunch = \"detached\"\n\n\
             [target]\ntags = {{ Role = \"status-web\" }}\nipv6 = false\n\n\
             [[site]]\ndomain = \"{DOMAIN}\"\nupstreams = [\"127.0.0.1:{}\"]\nhealth_check = \"/health\"\n",
            app.port
        ),
    )
    .unwrap();
    let _stop = StopOnDrop(host.path("state/run/proxy.pid"));
    let resolves = format!("{} {DOMAIN}\n", aws.public_ip);
    for steps in [&["firewall", "dns"][..], &["proxy-config", "proxy"]] {
        let mut args = vec!["apply"];
        args.extend(steps);
        args.push("--yes");
        assert_exit(&host.run("", &args), 0);
    }
    assert_exit(&host.run("", &["cert", "schedule", "--with", "cron"]), 0);
    assert!(host.path("cron.d/webtier").is_file());

    // Everything in place: every check passes, in the documented order.
    let all = report(&host.run(&resolves, &["status", "--json"]), 0);
    assert_eq!(all["ok"], true, "{all:#}");
    assert_eq!(all["sites"][0]["ok"], true, "{all:#}");
    let got = checks(&all);
    let names: Vec<&str> = got.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ALL_CHECKS);
    only_failing(&got, &[]);
    let detail = |name: &str| find(&got, name).2.clone();
    assert_eq!(
        detail("firewall"),
        format!("tcp/80 and tcp/443 open to 0.0.0.0/0 in {}", aws.sg)
    );
    assert!(
        detail("dns-record").contains(&format!("{DOMAIN} A {}, owned by webtier", aws.public_ip)),
        "{}",
        detail("dns-record")
    );
    assert_eq!(
        detail("dns-resolution"),
        format!(
            "{DOMAIN} resolves to {}, as the records hold",
            aws.public_ip
        )
    );
    assert!(
        detail("certificate").contains("(88 days left); next renewal from")
            || detail("certificate").contains("(89 days left); next renewal from"),
        "{}",
        detail("certificate")
    );
    assert!(
        detail("renewal-schedule").starts_with("installed (/etc/cron.d/webtier)"),
        "{}",
        detail("renewal-schedule")
    );
    let pid = std::fs::read_to_string(host.path("state/run/proxy.pid")).unwrap();
    let pid = pid.lines().next().unwrap_or_default().trim();
    assert!(
        detail("proxy").starts_with(&format!("running (pid {pid}) for ")),
        "{}",
        detail("proxy")
    );
    assert!(
        detail("tls").starts_with(&format!(
            "https://127.0.0.1:{https} serves the live certificate (serial "
        )),
        "{}",
        detail("tls")
    );
    assert_eq!(
        detail("upstream"),
        format!(
            "http://127.0.0.1:{} answers GET /health with 200 OK",
            app.port
        )
    );

    // The same as text: one line per check, a summary last.
    let out = host.run(&resolves, &["status"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + ALL_CHECKS.len() + 1, "{text}");
    assert_eq!(lines[0], DOMAIN);
    for (line, name) in lines[1..].iter().zip(ALL_CHECKS) {
        assert!(line.starts_with(&format!("  ✓ {name} ")), "{text}");
    }
    assert_eq!(lines.last().unwrap(), &"all 8 checks pass", "{text}");

    // The name does not resolve yet: propagation pending, the rest green.
    let pending = report(&host.run("", &["status", "--json"]), 1);
    assert_eq!(pending["ok"], false);
    let got = checks(&pending);
    only_failing(&got, &["dns-resolution"]);
    let resolution = &find(&got, "dns-resolution").2;
    assert!(
        resolution.starts_with(&format!(
            "propagation pending: {DOMAIN} does not resolve yet"
        )),
        "{resolution}"
    );

    // The app stops (killed and reaped): the upstream check is red and
    // names the address that refuses.
    app.kill();
    let down = report(&host.run(&resolves, &["status", "--json"]), 1);
    let got = checks(&down);
    only_failing(&got, &["upstream"]);
    assert_eq!(
        find(&got, "upstream").2,
        format!("http://127.0.0.1:{} refuses connections", app.port)
    );
    let out = host.run(&resolves, &["status"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "  ✗ upstream          http://127.0.0.1:{} refuses connections",
            app.port
        )),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("1 of 8 checks fail: upstream ({DOMAIN})\n")),
        "{text}"
    );

    // The proxy stops (returns once it has exited): proxy and tls red.
    assert_exit(&host.run("", &["proxy", "stop"]), 0);
    let stopped = report(&host.run(&resolves, &["status", "--json"]), 1);
    let got = checks(&stopped);
    only_failing(&got, &["proxy", "tls", "upstream"]);
    assert!(
        find(&got, "proxy")
            .2
            .starts_with("not running (no live proxy in "),
        "{got:?}"
    );
    assert!(
        find(&got, "tls").2.contains("connection refused"),
        "{got:?}"
    );
}

/// AWS unreachable and nothing running: every check that applies fails
/// with its reason, none crashes the others, and what the configuration
/// does not set up (tls = "none": certificate, renewal, TLS) is left out.
#[test]
fn checks_that_cannot_run_fail_with_the_reason_and_the_others_still_run() {
    let dir = tempdir();
    let closed = free_port();
    let upstream = free_port();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("webtier.toml"),
        format!(
            "state_dir = \"{d}/state\"\n\n[proxy]\nconfig_file = \"{d}/proxy.toml\"\n\n\
             [target]\ninstances = [\"i-0123456789abcdef0\"]\n\n\
             [[site]]\ndomain = \"{DOMAIN}\"\ntls = \"none\"\nupstreams = [\"127.0.0.1:{upstream}\"]\n"
        ),
    )
    .unwrap();
    let out = crate::support::webtier()
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["status", "--json"])
        .output()
        .unwrap();
    let doc = report(&out, 1);
    let got = checks(&doc);
    let names: Vec<&str> = got.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "firewall",
            "dns-record",
            "dns-resolution",
            "proxy",
            "upstream"
        ]
    );
    only_failing(&got, &names);
    assert!(
        find(&got, "firewall")
            .2
            .starts_with("cannot read the security groups: "),
        "{got:?}"
    );
    assert!(
        find(&got, "dns-record")
            .2
            .starts_with("cannot read the Route 53 records: "),
        "{got:?}"
    );
    assert_eq!(
        find(&got, "upstream").2,
        format!("http://127.0.0.1:{upstream} refuses connections")
    );
}
