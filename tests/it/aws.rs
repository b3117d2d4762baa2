//! The firewall and dns steps against moto_server through the real AWS SDK:
//! convergence, idempotency counted at the server, ownership, conflicts,
//! bounded lookups, and the IAM policy covering what was called.

use std::path::Path;
use std::process::Output;

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::support;
use crate::support::faults::FaultProxy;
use crate::support::services::{Call, Moto};
use crate::support::{assert_exit, stderr, stdout, webtier};

/// A VPC with IPv6, a public subnet, a security group, instances tagged
/// Role=web in it, and a public hosted zone example.com.
struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    ec2: aws_sdk_ec2::Client,
    route53: aws_sdk_route53::Client,
    sg: String,
    instances: Vec<String>,
    zone: String,
}

impl World {
    async fn new(instances: i32) -> World {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let route53 = aws_sdk_route53::Client::new(&sdk);
        let support::ec2::Web { sg, instances } =
            support::ec2::web_instances(&ec2, instances, "web", true).await;
        let zone = support::services::create_zone(&route53, "example.com", "webtier-test").await;
        let world = World {
            moto,
            dir: tempfile::tempdir().unwrap(),
            ec2,
            route53,
            sg,
            instances,
            zone,
        };
        world.write_config("");
        world
    }

    /// webtier.toml selecting the instances by tag; `target_extra` goes
    /// into [target].
    fn write_config(&self, target_extra: &str) {
        let text = format!(
            "state_dir = \"state\"\n\n[proxy]\nconfig_file = \"out/proxy.toml\"\n\n\
             [target]\ntags = {{ Role = \"web\" }}\n{target_extra}\n\n\
             [[site]]\ndomain = \"example.com\"\naliases = [\"www.example.com\"]\n\
             tls = \"none\"\nupstreams = [\"127.0.0.1:8000\"]\n"
        );
        std::fs::write(self.dir.path().join("webtier.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        webtier()
            .current_dir(self.dir.path())
            .envs(self.moto.env())
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs webtier with its AWS calls going to `endpoint` (a
    /// `FaultProxy` in front of moto) instead of moto itself.
    fn run_through(&self, endpoint: &str, args: &[&str]) -> Output {
        webtier()
            .current_dir(self.dir.path())
            .envs(self.moto.env())
            .env("AWS_ENDPOINT_URL", endpoint)
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

    async fn ingress(&self) -> Vec<(String, i32, String, Option<String>)> {
        support::ec2::ingress(&self.ec2, &self.sg).await
    }

    async fn public_ips(&self) -> (String, String) {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(&self.instances[0])
            .send()
            .await
            .unwrap();
        let i = &out.reservations()[0].instances()[0];
        let v6 = i.network_interfaces()[0].ipv6_addresses()[0]
            .ipv6_address()
            .unwrap();
        (
            i.public_ip_address().unwrap().to_string(),
            v6.parse::<std::net::Ipv6Addr>().unwrap().to_string(),
        )
    }

    /// The record sets of `name` in the zone (but the zone's own NS and
    /// SOA): (type, sorted values).
    async fn records(&self, name: &str) -> Vec<(String, Vec<String>)> {
        let out = self
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone)
            .send()
            .await
            .unwrap();
        let mut sets: Vec<_> = out
            .resource_record_sets()
            .iter()
            .filter(|s| s.name().trim_end_matches('.') == name)
            .filter(|s| !matches!(s.r#type(), RrType::Ns | RrType::Soa))
            .map(|s| {
                let mut values: Vec<String> = s
                    .resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect();
                values.sort();
                (s.r#type().as_str().to_string(), values)
            })
            .collect();
        sets.sort();
        sets
    }

    async fn upsert(&self, sets: Vec<ResourceRecordSet>) {
        let mut batch = ChangeBatch::builder();
        for set in sets {
            batch = batch.changes(
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(set)
                    .build()
                    .unwrap(),
            );
        }
        self.route53
            .change_resource_record_sets()
            .hosted_zone_id(&self.zone)
            .change_batch(batch.build().unwrap())
            .send()
            .await
            .unwrap();
    }
}

fn a_record(name: &str, rtype: RrType, value: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(rtype)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap()
}

fn writes(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| c.action.as_str())
        .collect()
}

fn managed() -> Option<String> {
    Some("managed-by=webtier".to_string())
}

/// A user who may not write webtier's local files (the proxy file here)
/// is stopped while the steps observe, before any step changes anything:
/// no rule and no record is written to AWS first.
#[tokio::test]
async fn without_the_rights_for_its_files_apply_stops_before_changing_aws() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new(1).await;
    // Readable by everyone, writable only by root.
    std::fs::set_permissions(w.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(env!("CARGO_BIN_EXE_webtier"))
            .args(args)
            .current_dir(w.dir.path())
            .envs(w.moto.env())
            .env_remove("WEBTIER_CONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("runuser (util-linux) runs")
    };
    w.moto.start_recording().await;
    let out = as_nobody(&["apply", "--yes"]);
    let calls = w.moto.stop_recording().await;
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("out/proxy.toml")
            && err.contains("is not writable by this user")
            && err.contains("run as root"),
        "{err}"
    );
    assert_eq!(
        writes(&calls),
        Vec::<&str>::new(),
        "nothing was written to AWS"
    );
    assert!(err.contains("cannot apply (nothing was changed)"), "{err}");
    // Planning needs no write access: the same user may review the plan.
    let out = as_nobody(&["plan"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("file "), "{}", stdout(&out));
}

/// Destroy leaves a security group that also serves an instance the
/// configuration does not target: its managed rules may serve that one.
#[tokio::test]
async fn destroy_leaves_a_group_that_also_serves_other_instances() {
    let w = World::new(2).await;
    let config = |targets: &[&String]| {
        let list: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        format!(
            "state_dir = \"state\"\n\n[proxy]\nconfig_file = \"out/proxy.toml\"\n\n\
             [target]\ninstances = [{}]\n\n[[site]]\ndomain = \"example.com\"\n\
             tls = \"none\"\nupstreams = [\"127.0.0.1:8000\"]\n",
            list.join(", ")
        )
    };
    let path = w.dir.path().join("webtier.toml");
    std::fs::write(&path, config(&[&w.instances[0]])).unwrap();
    assert_exit(&w.run(&["apply", "firewall", "--yes"]), 0);
    let before = w.ingress().await;
    assert_eq!(before.len(), 4, "{before:?}");
    let (out, calls) = w.recorded(&["destroy", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("also attached to {}", w.instances[1])),
        "{}",
        stdout(&out)
    );
    assert_eq!(writes(&calls), Vec::<&str>::new(), "no rule revoked");
    assert_eq!(w.ingress().await, before);
    // Targeting both instances, the group is webtier's to clean up.
    std::fs::write(&path, config(&[&w.instances[0], &w.instances[1]])).unwrap();
    assert_exit(&w.run(&["destroy", "--yes"]), 0);
    assert!(w.ingress().await.is_empty(), "{:?}", w.ingress().await);
}

#[tokio::test]
async fn firewall_converges_and_a_second_apply_writes_nothing() {
    let w = World::new(2).await;
    let out = w.run(&["firewall", "plan"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for line in [
        format!("+ ingress {} tcp/80 from 0.0.0.0/0", w.sg),
        format!("+ ingress {} tcp/80 from ::/0", w.sg),
        format!("+ ingress {} tcp/443 from 0.0.0.0/0", w.sg),
        format!("+ ingress {} tcp/443 from ::/0", w.sg),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("Plan: 4 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    assert!(w.ingress().await.is_empty(), "plan changes nothing");

    let (out, calls) = w.recorded(&["firewall", "apply", "--yes"]).await;
    assert_exit(&out, 0);
    assert_eq!(writes(&calls).len(), 4, "{calls:?}");
    assert_eq!(
        w.ingress().await,
        vec![
            ("tcp".into(), 80, "0.0.0.0/0".into(), managed()),
            ("tcp".into(), 80, "::/0".into(), managed()),
            ("tcp".into(), 443, "0.0.0.0/0".into(), managed()),
            ("tcp".into(), 443, "::/0".into(), managed()),
        ]
    );

    let out = w.run(&["plan", "firewall", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));

    let (out, calls) = w.recorded(&["apply", "firewall", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(writes(&calls).is_empty(), "second apply wrote: {calls:?}");
    assert!(!calls.is_empty(), "the recorder saw the reads");
}

#[tokio::test]
async fn firewall_counts_wider_rules_and_prune_removes_only_its_own() {
    let w = World::new(1).await;
    // Someone else's rules: all TCP from anywhere (IPv4), and SSH.
    for (from, to, cidr) in [(0, 65535, "0.0.0.0/0"), (22, 22, "10.0.0.0/8")] {
        w.ec2
            .authorize_security_group_ingress()
            .group_id(&w.sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(from)
                    .to_port(to)
                    .ip_ranges(IpRange::builder().cidr_ip(cidr).description("ops").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let out = w.run(&["plan", "firewall"]);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    assert!(
        !text.contains("from 0.0.0.0/0"),
        "the wider IPv4 rule counts: {text}"
    );
    assert_exit(&w.run(&["apply", "firewall", "--yes"]), 0);

    // IPv6 is no longer wanted: without --prune nothing is removed…
    w.write_config("ipv6 = false");
    let out = w.run(&["plan", "firewall", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    // …with --prune only webtier's own rules go.
    let out = w.run(&["plan", "firewall", "--prune"]);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 2 to destroy."),
        "{text}"
    );
    assert_exit(&w.run(&["apply", "firewall", "--prune", "--yes"]), 0);
    assert_eq!(
        w.ingress().await,
        vec![
            ("tcp".into(), 0, "0.0.0.0/0".into(), Some("ops".into())),
            ("tcp".into(), 22, "10.0.0.0/8".into(), Some("ops".into())),
        ]
    );
    assert_exit(
        &w.run(&["plan", "firewall", "--prune", "--detailed-exitcode"]),
        0,
    );
}

#[tokio::test]
async fn firewall_never_guesses_between_groups() {
    let w = World::new(1).await;
    let vpc = w
        .ec2
        .describe_security_groups()
        .group_ids(&w.sg)
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let other = w
        .ec2
        .create_security_group()
        .group_name("other")
        .description("other")
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    w.ec2
        .modify_instance_attribute()
        .instance_id(&w.instances[0])
        .groups(&w.sg)
        .groups(&other)
        .send()
        .await
        .unwrap();
    let out = w.run(&["plan", "firewall"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("has 2 security groups") && err.contains("security_group = "),
        "{err}"
    );

    w.write_config(&format!("security_group = \"{other}\""));
    let out = w.run(&["plan", "firewall"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("+ ingress {other} tcp/443")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn dns_creates_owned_records_and_converges() {
    let w = World::new(1).await;
    let (ip4, ip6) = w.public_ips().await;
    let out = w.run(&["dns", "plan"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for line in [
        "+ A example.com",
        "+ AAAA example.com",
        "+ TXT example.com",
        "+ A www.example.com",
    ] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }
    assert!(
        text.contains("Plan: 6 to add, 0 to change, 0 to destroy."),
        "{text}"
    );

    let (out, calls) = w.recorded(&["apply", "dns", "--yes"]).await;
    assert_exit(&out, 0);
    assert_eq!(
        writes(&calls),
        ["route53:ChangeResourceRecordSets"],
        "one ChangeBatch for the zone"
    );
    assert!(
        calls.iter().any(|c| c.action == "route53:GetChange"),
        "waited for INSYNC"
    );
    let ownership = "\"heritage=webtier,owner=webtier,types=A/AAAA\"".to_string();
    for name in ["example.com", "www.example.com"] {
        assert_eq!(
            w.records(name).await,
            vec![
                ("A".into(), vec![ip4.clone()]),
                ("AAAA".into(), vec![ip6.clone()]),
                ("TXT".into(), vec![ownership.clone()]),
            ]
        );
    }
    let out = w.run(&["plan", "--detailed-exitcode", "dns"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."));

    // The instance gets an Elastic IP: the A records are updated in place.
    let eip = w.ec2.allocate_address().send().await.unwrap();
    w.ec2
        .associate_address()
        .instance_id(&w.instances[0])
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let new_ip = eip.public_ip().unwrap();
    let out = w.run(&["plan", "dns"]);
    let text = stdout(&out);
    assert!(text.contains("~ A example.com"), "{text}");
    assert!(
        text.contains(&format!("{ip4} ttl 300 → {new_ip} ttl 300")),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{text}"
    );
    assert_exit(&w.run(&["apply", "dns", "--yes"]), 0);
    assert_eq!(
        w.records("example.com").await[0],
        ("A".into(), vec![new_ip.to_string()])
    );
    assert_exit(&w.run(&["plan", "--detailed-exitcode", "dns"]), 0);
}

/// EC2 and Route 53 answer 30% of webtier's requests with their own
/// throttling errors (a FaultProxy in front of moto): the SDK's retries
/// absorb them, apply converges, and the plan after it is empty. The
/// seed throttles 5 of apply's 11 requests (6 forwarded); some seeds
/// throttle none of them.
#[tokio::test]
#[expect(clippy::disallowed_macros, reason = "the counts, for --nocapture runs")]
async fn dns_converges_under_throttling() {
    let w = World::new(1).await;
    let (ip4, ip6) = w.public_ips().await;
    let proxy = FaultProxy::start(&w.moto.endpoint());
    proxy.throttle(30, 0x7e57_5eed);

    let out = w.run_through(&proxy.endpoint(), &["apply", "dns", "--yes"]);
    let after_apply = (proxy.forwarded(), proxy.throttled());
    eprintln!(
        "apply: forwarded {}, throttled {}",
        after_apply.0, after_apply.1
    );
    assert_exit(&out, 0);
    // Read from moto itself, not through the proxy.
    let ownership = "\"heritage=webtier,owner=webtier,types=A/AAAA\"".to_string();
    for name in ["example.com", "www.example.com"] {
        assert_eq!(
            w.records(name).await,
            vec![
                ("A".into(), vec![ip4.clone()]),
                ("AAAA".into(), vec![ip6.clone()]),
                ("TXT".into(), vec![ownership.clone()]),
            ]
        );
    }
    assert!(
        after_apply.1 > 0,
        "no request was throttled: {after_apply:?}"
    );

    let out = w.run_through(&proxy.endpoint(), &["plan", "--detailed-exitcode", "dns"]);
    eprintln!(
        "apply and plan: forwarded {}, throttled {}",
        proxy.forwarded(),
        proxy.throttled()
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
}

#[tokio::test]
async fn dns_leaves_foreign_records_alone_unless_adopted() {
    let w = World::new(1).await;
    w.upsert(vec![
        a_record("www.example.com", RrType::A, "198.51.100.7"),
        a_record("www.example.com", RrType::Txt, "\"v=spf1 -all\""),
    ])
    .await;
    let out = w.run(&["plan", "dns"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("! dns: records of www.example.com"), "{text}");
    assert!(
        text.contains("A record exists that webtier did not create"),
        "{text}"
    );
    assert!(!text.contains("A www.example.com"), "{text}");
    assert_exit(&w.run(&["apply", "dns", "--yes"]), 0);
    assert_eq!(
        w.records("www.example.com").await,
        vec![
            ("A".into(), vec!["198.51.100.7".into()]),
            ("TXT".into(), vec!["\"v=spf1 -all\"".into()]),
        ],
        "the foreign records are untouched"
    );

    let out = w.run(&["plan", "dns", "--adopt"]);
    let text = stdout(&out);
    assert!(text.contains("~ A www.example.com"), "{text}");
    assert!(text.contains("~ TXT www.example.com"), "{text}");
    assert_exit(&w.run(&["apply", "dns", "--adopt", "--yes"]), 0);
    let txt = &w.records("www.example.com").await[2];
    assert_eq!(
        txt.1,
        vec![
            "\"heritage=webtier,owner=webtier,types=A/AAAA\"".to_string(),
            "\"v=spf1 -all\"".to_string()
        ],
        "other TXT values are kept beside the ownership value"
    );
    assert_exit(&w.run(&["plan", "--detailed-exitcode", "dns"]), 0);
}

#[tokio::test]
async fn dns_plan_cost_does_not_grow_with_the_zone() {
    let w = World::new(1).await;
    // 5,000 other records (moto takes at most 1,000 per batch).
    for batch in 0..10 {
        let sets = (0..500)
            .map(|i| {
                a_record(
                    &format!("host{batch}-{i}.example.com"),
                    RrType::A,
                    "192.0.2.10",
                )
            })
            .collect();
        w.upsert(sets).await;
    }
    let (out, calls) = w.recorded(&["plan", "dns"]).await;
    assert_exit(&out, 0);
    let lookups = calls
        .iter()
        .filter(|c| c.action == "route53:ListResourceRecordSets")
        .count();
    assert_eq!(lookups, 2, "one lookup per site name: {calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.path.contains("name=") || c.action != "route53:ListResourceRecordSets"),
        "lookups start at the name: {calls:?}"
    );
    assert!(calls.len() <= 5, "{} calls: {calls:?}", calls.len());
}

#[tokio::test]
async fn iam_policy_covers_every_call_webtier_makes() {
    let w = World::new(1).await;
    // The AWS steps: the proxy steps make no AWS call (and would start a
    // daemon on this machine's ports 80 and 443).
    let (out, mut calls) = w.recorded(&["apply", "firewall", "dns", "--yes"]).await;
    assert_exit(&out, 0);
    let (out, more) = w.recorded(&["plan", "firewall", "dns", "--prune"]).await;
    assert_exit(&out, 0);
    calls.extend(more);
    let out = w.run(&["iam-policy"]);
    assert_exit(&out, 0);
    assert!(!calls.is_empty());
    support::services::assert_policy_allows(&stdout(&out), &calls);
}

#[tokio::test]
async fn missing_credentials_name_the_chain_tried() {
    let w = World::new(1).await;
    let out = webtier()
        .current_dir(w.dir.path())
        .envs(w.moto.env())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("HOME", w.dir.path())
        .args(["plan", "firewall"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("no AWS credentials"), "{err}");
    assert!(
        err.contains("environment variables") && err.contains("instance metadata"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

/// Something that is not the instance metadata service answers at its
/// address (here Python's http.server: 501 to the token request). The
/// SDK's own warning about it, a multi-line debug dump, is left to -vv:
/// by default the one line of webtier's error is all there is.
#[test]
fn an_sdk_warning_is_not_dumped_before_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("webtier.toml"),
        "[aws]\nregion = \"us-east-1\"\n[target]\ninstances = [\"i-0123456789abcdef0\"]\n\
         [[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n",
    )
    .unwrap();
    let port = support::services::free_port();
    let mut imds = support::services::Process::spawn(
        "not-imds",
        std::process::Command::new("python3").args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ]),
        dir.path(),
    );
    imds.wait_for_port(port);
    let closed = support::services::free_port();
    let plan = |verbose: &[&str]| {
        webtier()
            .current_dir(dir.path())
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
            .env(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            )
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("HOME", dir.path())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_EC2_METADATA_DISABLED")
            .args(verbose)
            .args(["plan", "firewall"])
            .output()
            .unwrap()
    };
    let out = plan(&[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("no AWS credentials"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    // Asked for, the SDK's logs are there.
    let err = stderr(&plan(&["-vv"]));
    assert!(
        err.contains("provider failed to provide credentials"),
        "{err}"
    );
}

/// What a terminal shows after `raw`: carriage returns, newlines and
/// "erase line" (ESC [2K) applied; other escapes ignored.
fn screen(raw: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let mut col = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let line = lines.last_mut().unwrap();
        match c {
            '\n' => {
                lines.push(Vec::new());
                col = 0;
            }
            '\r' => col = 0,
            '\u{1b}' => {
                let mut seq = String::new();
                for c in chars.by_ref() {
                    seq.push(c);
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
                if seq == "[2K" {
                    line.clear();
                }
            }
            c => {
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// On a terminal, lines logged while a step's spinner turns (here the
/// SDK's, asked for with -vv) each start a line of their own: no
/// "firewall: observing 0s" frame is left stranded in front of them or
/// above the error.
#[test]
fn no_spinner_frame_is_left_on_a_terminal() {
    let script = support::require_bin("script", "apt-get install -y bsdutils");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("webtier.toml"),
        "[aws]\nregion = \"us-east-1\"\n[target]\ninstances = [\"i-0123456789abcdef0\"]\n\
         [[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n",
    )
    .unwrap();
    let closed = support::services::free_port();
    let cmd = format!("{} -vv plan firewall", env!("CARGO_BIN_EXE_webtier"));
    let out = std::process::Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let raw = stdout(&out);
    assert!(
        raw.contains("firewall: observing"),
        "a spinner turned: {raw}"
    );
    let shown = screen(&raw);
    assert!(
        shown.iter().any(|l| l.contains(" DEBUG ")),
        "logs were written: {shown:#?}"
    );
    let stranded: Vec<&String> = shown.iter().filter(|l| l.contains("observing")).collect();
    assert!(stranded.is_empty(), "{stranded:#?}");
    assert!(
        shown
            .last()
            .unwrap()
            .starts_with("error: firewall: cannot observe live state"),
        "{shown:#?}"
    );
}

#[tokio::test]
async fn self_outside_ec2_is_a_clear_error() {
    let w = World::new(1).await;
    let closed = support::services::free_port();
    std::fs::write(
        w.dir.path().join("webtier.toml"),
        "[target]\ninstances = [\"self\"]\n[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n",
    )
    .unwrap();
    let out = webtier()
        .current_dir(w.dir.path())
        .envs(w.moto.env())
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{closed}"),
        )
        .args(["plan", "firewall"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("works only on an EC2 instance"), "{err}");
    assert!(err.contains("by id or tags"), "{err}");
}

#[test]
fn aws_steps_need_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n";
    std::fs::write(dir.path().join("webtier.toml"), config).unwrap();
    let out = support::run(dir.path(), &["plan", "firewall"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("the firewall step needs a [target] section"),
        "{}",
        stderr(&out)
    );
    let _ = Path::new(".");
}

/// An IAM Query API call, made while moto still accepts unsigned requests
/// (the Authorization header only routes the request to IAM).
async fn iam(moto: &Moto, params: &[(&str, &str)]) -> String {
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    let response = reqwest::Client::new()
        .post(moto.endpoint())
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "IAM {params:?}: {}",
        response.status()
    );
    response.text().await.unwrap()
}

fn xml_value(xml: &str, tag: &str) -> String {
    let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    xml[start..end].to_string()
}

#[tokio::test]
async fn access_denied_names_the_action_and_the_policy_command() {
    // IAM is enforced after the four setup requests below.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    ec2.run_instances()
        .image_id("ami-12345678")
        .min_count(1)
        .max_count(1)
        .security_groups("default")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Role").value("web").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    iam(&moto, &[("Action", "CreateUser"), ("UserName", "readonly")]).await;
    let key = iam(
        &moto,
        &[("Action", "CreateAccessKey"), ("UserName", "readonly")],
    )
    .await;
    let read_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}]}"#;
    iam(
        &moto,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "readonly"),
            ("PolicyName", "read-only"),
            ("PolicyDocument", read_only),
        ],
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("webtier.toml"),
        "[target]\ntags = { Role = \"web\" }\n[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n",
    )
    .unwrap();
    let out = webtier()
        .current_dir(dir.path())
        .envs(moto.env())
        .env("AWS_ACCESS_KEY_ID", xml_value(&key, "AccessKeyId"))
        .env("AWS_SECRET_ACCESS_KEY", xml_value(&key, "SecretAccessKey"))
        .args(["apply", "firewall", "--yes"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("AWS denied ec2:AuthorizeSecurityGroupIngress"),
        "{err}"
    );
    assert!(err.contains("webtier iam-policy"), "{err}");
    assert!(
        stdout(&out).contains("+ ingress"),
        "the plan itself was allowed"
    );
}

#[tokio::test]
async fn dns_aliases_to_a_load_balancer_and_asks_which_of_twin_zones() {
    let w = World::new(1).await;
    let twin = support::services::create_zone(&w.route53, "example.com", "webtier-test-twin").await;
    let config = |zone: &str| {
        format!(
            "[dns]\nload_balancer = {{ dns_name = \"web-1.us-east-1.elb.amazonaws.com\", zone_id = \"Z35SXDOTRQ7X7K\" }}\n\n\
             [[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n{zone}"
        )
    };
    std::fs::write(w.dir.path().join("webtier.toml"), config("")).unwrap();
    let out = w.run(&["plan"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("2 public hosted zones are named example.com"),
        "{err}"
    );
    assert!(err.contains("set zone_id"), "{err}");

    std::fs::write(
        w.dir.path().join("webtier.toml"),
        config(&format!("zone_id = \"{}\"\n", w.zone)),
    )
    .unwrap();
    let out = w.run(&["plan", "dns"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("+ A example.com")
            && text.contains("alias to web-1.us-east-1.elb.amazonaws.com"),
        "{text}"
    );
    assert!(!text.contains("AAAA"), "no [target], so no IPv6: {text}");
    assert_exit(&w.run(&["apply", "dns", "--yes"]), 0);
    assert_exit(&w.run(&["plan", "dns", "--detailed-exitcode"]), 0);
    let twin_sets = w
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&twin)
        .send()
        .await
        .unwrap();
    assert!(
        twin_sets
            .resource_record_sets()
            .iter()
            .all(|s| matches!(s.r#type(), RrType::Ns | RrType::Soa)),
        "the other zone is untouched"
    );
}
