//! Certificates through AWS Certificate Manager, against moto_server with
//! `MOTO_ACM_VALIDATION_WAIT` set low: DNS validation records in the right
//! zones, one certificate however often the step runs, exports served by
//! the running proxy, FAILED certificates reported with ACM's reason, and
//! convergence through throttling (`support::faults`).
//!
//! moto issues RSA-2048 certificates whatever key is asked for, so these
//! sites ask for `rsa-2048`; the choice of key type is a unit test.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use aws_sdk_acm::types::{CertificateStatus, Filters, KeyAlgorithm};

use crate::support::faults::FaultProxy;
use crate::support::services::{Call, Moto, assert_policy_allows, create_zone, free_port};
use crate::support::{assert_exit, stderr, stdout, webtier};

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    acm: aws_sdk_acm::Client,
    route53: aws_sdk_route53::Client,
    /// Hosted zone ids: webtier.test and sub.webtier.test.
    parent: String,
    sub: String,
    /// When set, webtier reaches moto through it.
    faults: Option<FaultProxy>,
}

/// A site block for webtier.toml.
fn site(domain: &str, aliases: &[&str], acm: &str) -> String {
    let aliases: Vec<String> = aliases.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "[[site]]\ndomain = \"{domain}\"\naliases = [{}]\nupstreams = [\"127.0.0.1:8000\"]\ntls = \"acm\"\n\n[site.acm]\n{acm}\nkey = \"rsa-2048\"\nvalidation_timeout = 60\n",
        aliases.join(", ")
    )
}

impl World {
    async fn new() -> World {
        let moto = Moto::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "2")]);
        let sdk = moto.sdk_config().await;
        let route53 = aws_sdk_route53::Client::new(&sdk);
        let parent = create_zone(&route53, "webtier.test", "acm-parent").await;
        let sub = create_zone(&route53, "sub.webtier.test", "acm-sub").await;
        let dir = tempfile::tempdir().unwrap();
        // The proxy, started by the proxy step as root, serves as nobody.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        World {
            acm: aws_sdk_acm::Client::new(&sdk),
            route53,
            moto,
            dir,
            parent,
            sub,
            faults: None,
        }
    }

    fn write_config(&self, sites: &str) {
        let text = format!(
            "state_dir = \"state\"\n\n[aws]\nregion = \"us-east-1\"\n\n\
             [proxy]\nconfig_file = \"out/proxy.toml\"\nhttp_port = {}\nhttps_port = {}\nbind = [\"127.0.0.1\"]\nuser = \"nobody\"\n\n{sites}",
            free_port(),
            free_port()
        );
        fs::write(self.dir.path().join("webtier.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = webtier();
        cmd.current_dir(self.dir.path()).envs(self.moto.env());
        if let Some(faults) = &self.faults {
            cmd.env("AWS_ENDPOINT_URL", faults.endpoint());
        }
        cmd.args(args).output().unwrap()
    }

    /// Runs webtier and returns what it asked of AWS.
    async fn recorded(&self, args: &[&str]) -> (Output, Vec<Call>) {
        self.moto.start_recording().await;
        let out = self.run(args);
        (out, self.moto.stop_recording().await)
    }

    /// Every certificate in moto's ACM (all key types): ARN, status, type.
    async fn certificates(&self) -> Vec<(String, String, String)> {
        let every_key = Filters::builder()
            .set_key_types(Some(
                KeyAlgorithm::values()
                    .iter()
                    .map(|k| KeyAlgorithm::from(*k))
                    .collect(),
            ))
            .build();
        let out = self
            .acm
            .list_certificates()
            .includes(every_key)
            .send()
            .await
            .unwrap();
        out.certificate_summary_list()
            .iter()
            .map(|c| {
                (
                    c.certificate_arn().unwrap().to_string(),
                    c.status().map_or("", CertificateStatus::as_str).to_string(),
                    c.r#type().map_or("", |t| t.as_str()).to_string(),
                )
            })
            .collect()
    }

    /// The CNAME records of a zone: (name, value), lowercase, no dots at
    /// the end.
    async fn cnames(&self, zone: &str) -> Vec<(String, String)> {
        let out = self
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|r| r.r#type().as_str() == "CNAME")
            .map(|r| {
                (
                    r.name().trim_end_matches('.').to_ascii_lowercase(),
                    r.resource_records()[0]
                        .value()
                        .trim_end_matches('.')
                        .to_string(),
                )
            })
            .collect()
    }

    fn live(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join("state/live").join(name)
    }
}

fn writes(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| c.action.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_name_certificate_validates_in_the_right_zones_and_is_requested_once() {
    let w = World::new().await;
    w.write_config(&site(
        "a.sub.webtier.test",
        &["b.webtier.test"],
        "mode = \"managed\"",
    ));
    let plan = w.run(&["plan", "cert"]);
    assert_exit(&plan, 0);
    assert!(
        stdout(&plan).contains("request from ACM"),
        "{}",
        stdout(&plan)
    );

    let (out, calls) = w.recorded(&["apply", "cert", "--yes"]).await;
    assert_exit(&out, 0);
    let certs = w.certificates().await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0].1, "ISSUED");
    assert_eq!(certs[0].2, "AMAZON_ISSUED");
    // Each name's validation record is in the zone that holds the name.
    let sub = w.cnames(&w.sub).await;
    let parent = w.cnames(&w.parent).await;
    assert_eq!(sub.len(), 1, "{sub:?}");
    assert!(sub[0].0.ends_with(".a.sub.webtier.test"), "{sub:?}");
    assert_eq!(parent.len(), 1, "{parent:?}");
    assert!(parent[0].0.ends_with(".b.webtier.test"), "{parent:?}");
    assert!(sub[0].1.ends_with("acm-validations.aws"), "{sub:?}");
    // Everything webtier called is in its IAM policy.
    let policy = w.run(&["iam-policy"]);
    assert_exit(&policy, 0);
    assert_policy_allows(&stdout(&policy), &calls);
    assert!(writes(&calls).contains(&"acm:RequestCertificate"));

    // Converged: an empty plan, and an apply that writes nothing.
    let plan = w.run(&["plan", "cert", "--detailed-exitcode"]);
    assert_exit(&plan, 0);
    let (out, calls) = w.recorded(&["apply", "cert", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(writes(&calls).is_empty(), "{:?}", writes(&calls));
    assert_eq!(w.certificates().await.len(), 1, "no second certificate");

    // cert status shows ACM's view.
    let status = w.run(&["cert", "status", "--json"]);
    assert_exit(&status, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    let row = &doc["acm"][0];
    assert_eq!(row["name"], "a.sub.webtier.test");
    assert_eq!(row["role"], "managed");
    assert_eq!(row["certificate"]["status"], "ISSUED");
    assert_eq!(row["certificate"]["arn"], certs[0].0.as_str());
    assert_eq!(row["certificate"]["exportable"], false);
    let text = w.run(&["cert", "status"]);
    assert!(stdout(&text).contains(&certs[0].0), "{}", stdout(&text));
    // So does webtier status (the proxy and upstream checks fail here:
    // nothing runs).
    let status = w.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    let checks = doc["sites"][0]["checks"].as_array().unwrap();
    let acm = checks.iter().find(|c| c["check"] == "acm").unwrap();
    assert_eq!(acm["ok"], true, "{acm}");
    assert!(
        acm["detail"].as_str().unwrap().contains(&certs[0].0),
        "{acm}"
    );
    assert!(
        !checks
            .iter()
            .any(|c| c["check"] == "certificate" || c["check"] == "tls"),
        "a managed certificate is not on the instance: {checks:?}"
    );

    // A validation record removed by hand is put back (ACM's renewals
    // need it), and only it.
    // As webtier wrote it (moto matches a DELETE to the change that made it).
    let name = parent[0].0.clone();
    let change = aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Delete)
        .resource_record_set(
            aws_sdk_route53::types::ResourceRecordSet::builder()
                .name(&name)
                .r#type(aws_sdk_route53::types::RrType::Cname)
                .ttl(300)
                .resource_records(
                    aws_sdk_route53::types::ResourceRecord::builder()
                        .value(&parent[0].1)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    w.route53
        .change_resource_record_sets()
        .hosted_zone_id(&w.parent)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(change)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let plan = w.run(&["plan", "cert", "--detailed-exitcode"]);
    assert_exit(&plan, 2);
    assert!(
        stdout(&plan).contains("+ CNAME") && stdout(&plan).contains("b.webtier.test"),
        "{}",
        stdout(&plan)
    );
    assert_exit(&w.run(&["apply", "cert", "--yes"]), 0);
    assert_eq!(w.cnames(&w.parent).await, parent);
    assert_eq!(w.certificates().await.len(), 1);

    // Another name: a new certificate, and the old one (nothing uses it)
    // deleted in the same apply, after the new one is issued.
    w.write_config(&site(
        "a.sub.webtier.test",
        &["b.webtier.test", "c.webtier.test"],
        "mode = \"managed\"",
    ));
    let plan = w.run(&["plan", "cert"]);
    assert_exit(&plan, 0);
    assert!(
        stdout(&plan).contains(&format!("- ACM certificate {}", certs[0].0)),
        "{}",
        stdout(&plan)
    );
    assert_exit(&w.run(&["apply", "cert", "--yes"]), 0);
    let now = w.certificates().await;
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0].0, certs[0].0, "the old one is gone");
    assert_eq!(now[0].1, "ISSUED");
    assert_exit(&w.run(&["plan", "cert", "--detailed-exitcode"]), 0);
}

/// Stops the detached proxy a test started, pass or fail.
struct StopProxy<'a>(&'a World);

impl Drop for StopProxy<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["proxy", "stop"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exported_certificate_is_installed_and_served_by_the_running_proxy() {
    use crate::support::proxy::served_serial;

    let mut w = World::new().await;
    // Through a proxy that later rewrites ACM's answers (see below).
    w.faults = Some(FaultProxy::start(&w.moto.endpoint()));
    w.write_config(&site("e.webtier.test", &[], "mode = \"export\""));
    // cron's `cert renew` never requests a (charged) certificate: that is
    // for a planned apply.
    let out = w.run(&["cert", "renew"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("`webtier apply cert` requests one"),
        "{}",
        stderr(&out)
    );
    assert!(w.certificates().await.is_empty());
    let out = w.run(&["apply", "cert", "proxy-config", "proxy", "--yes"]);
    assert_exit(&out, 0);
    let _stop = StopProxy(&w);
    let certs = w.certificates().await;
    assert_eq!(certs.len(), 1, "{certs:?}");

    // The live pair parses, matches and covers the name.
    let live = w.live("e.webtier.test");
    let chain = fs::read_to_string(live.join("fullchain.pem")).unwrap();
    let key = fs::read_to_string(live.join("privkey.pem")).unwrap();
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----"),
        "a clear PKCS#8 key"
    );
    let mode = fs::metadata(live.join("privkey.pem"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert!(mode == 0o600 || mode == 0o640, "{mode:o}");
    let leaf_der: Vec<u8> = rustls_pki_types::pem::PemObject::from_pem_slice(chain.as_bytes())
        .map(|d: rustls_pki_types::CertificateDer<'static>| d.to_vec())
        .unwrap();
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der).unwrap();
    let pair = rcgen::KeyPair::from_pem(&key).unwrap();
    assert_eq!(
        leaf.public_key().raw,
        rcgen::PublicKeyData::subject_public_key_info(&pair).as_slice(),
        "the key matches the certificate"
    );
    let names: Vec<String> = leaf
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .iter()
        .map(|g| g.to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("e.webtier.test")),
        "{names:?}"
    );
    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(live.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["acm"]["arn"], certs[0].0.as_str());

    // The running proxy serves it.
    let https = {
        let text = fs::read_to_string(w.dir.path().join("out/proxy.toml")).unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let addr = doc["https_listen"][0].as_str().unwrap().to_string();
        addr.rsplit(':').next().unwrap().parse::<u16>().unwrap()
    };
    let log = || fs::read_to_string(w.dir.path().join("state/run/proxy.log")).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", https)).is_err() {
        assert!(std::time::Instant::now() < deadline, "{}", log());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // moto's certificates chain to nothing a client trusts: the probe
    // only asks which certificate is served.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("e.webtier.test", ([127, 0, 0, 1], https).into())
        .tls_info(true)
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://e.webtier.test:{https}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(served_serial(&resp), leaf.raw_serial(), "{}", log());

    // Nothing due: renew is silent and exports nothing; the plan is empty.
    let (out, calls) = w.recorded(&["cert", "renew"]).await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(writes(&calls).is_empty(), "{:?}", writes(&calls));
    assert!(
        !calls.iter().any(|c| c.action == "acm:ExportCertificate"),
        "{calls:?}"
    );
    let plan = w.run(&[
        "plan",
        "cert",
        "proxy-config",
        "proxy",
        "--detailed-exitcode",
    ]);
    assert_exit(&plan, 0);
    // --force exports again.
    let out = w.run(&["cert", "renew", "--force"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("exported e.webtier.test"),
        "{}",
        stdout(&out)
    );

    // ACM renews (moto cannot: its answers are rewritten to a new serial
    // and expiry): the plan and cron's `cert renew` export the renewal.
    let faults = w.faults.as_ref().unwrap();
    faults.rewrite_json("DescribeCertificate", |doc| {
        let cert = &mut doc["Certificate"];
        cert["Serial"] = "0a:0b:0c".into();
        let later = cert["NotAfter"].as_f64().unwrap_or(0.0) + 86_400.0;
        cert["NotAfter"] = later.into();
    });
    let plan = w.run(&["plan", "cert"]);
    assert!(
        stdout(&plan).contains("ACM renewed it"),
        "{}",
        stdout(&plan)
    );
    let out = w.run(&["cert", "renew"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("exported e.webtier.test"),
        "{}",
        stdout(&out)
    );
    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(live.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["acm"]["serial"], "0a:0b:0c");
    assert_exit(&w.run(&["plan", "cert", "--detailed-exitcode"]), 0);
    let (out, calls) = w.recorded(&["cert", "renew"]).await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "", "nothing more to export");
    assert!(!calls.iter().any(|c| c.action == "acm:ExportCertificate"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_certificate_exits_1_with_acms_reason_and_keeps_the_store() {
    let mut w = World::new().await;
    w.write_config(&site("f.webtier.test", &[], "mode = \"export\""));
    assert_exit(&w.run(&["apply", "cert", "--yes"]), 0);
    let live = w.live("f.webtier.test");
    let files = |dir: &std::path::Path| {
        ["fullchain.pem", "privkey.pem", "meta.json"].map(|f| fs::read(dir.join(f)).unwrap())
    };
    let before = files(&live);
    let target = fs::read_link(&live).unwrap();

    // A new name needs a new certificate, which ACM fails (CAA).
    let faults = FaultProxy::start(&w.moto.endpoint());
    faults.rewrite_json("DescribeCertificate", |doc| {
        let cert = &mut doc["Certificate"];
        if cert["SubjectAlternativeNames"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n == "g.webtier.test"))
        {
            cert["Status"] = "FAILED".into();
            cert["FailureReason"] = "CAA_ERROR".into();
        }
    });
    w.faults = Some(faults);
    w.write_config(&site(
        "f.webtier.test",
        &["g.webtier.test"],
        "mode = \"export\"",
    ));
    let out = w.run(&["apply", "cert", "--yes"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("FAILED (CAA_ERROR"), "{err}");
    assert!(err.contains("could not issue"), "{err}");
    assert_eq!(files(&live), before, "the live set is untouched");
    assert_eq!(fs::read_link(&live).unwrap(), target);
    // cert status says what happened.
    let status = w.run(&["cert", "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(doc["acm"][0]["last_attempt"]["ok"], false);
    // The next plan says the last request failed, and why.
    let plan = w.run(&["plan", "cert"]);
    assert!(stdout(&plan).contains("CAA_ERROR"), "{}", stdout(&plan));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_step_converges_through_throttling() {
    let mut w = World::new().await;
    let faults = FaultProxy::start(&w.moto.endpoint());
    faults.throttle(30, 0x00ac_4e57);
    w.faults = Some(faults);
    w.write_config(&site(
        "t.sub.webtier.test",
        &["u.webtier.test"],
        "mode = \"export\"",
    ));
    let out = w.run(&["apply", "cert", "--yes"]);
    assert_exit(&out, 0);
    let plan = w.run(&["plan", "cert", "--detailed-exitcode"]);
    assert_exit(&plan, 0);
    let faults = w.faults.as_ref().unwrap();
    assert!(faults.throttled() > 0, "nothing was throttled");
    assert_eq!(w.certificates().await.len(), 1, "one certificate");
    assert!(w.live("t.sub.webtier.test").join("fullchain.pem").exists());
    assert_eq!(w.cnames(&w.sub).await.len(), 1);
    assert_eq!(w.cnames(&w.parent).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_region_key_and_validation_timeout_of_a_site_are_used() {
    let mut w = World::new().await;
    // ACM never validates here: every answer says PENDING_VALIDATION.
    let faults = FaultProxy::start(&w.moto.endpoint());
    faults.rewrite_json("DescribeCertificate", |doc| {
        doc["Certificate"]["Status"] = "PENDING_VALIDATION".into();
    });
    w.faults = Some(faults);
    // The default key (ecdsa-p256), another region, the shortest wait.
    let text = "[[site]]\ndomain = \"r.webtier.test\"\nupstreams = [\"127.0.0.1:8000\"]\ntls = \"acm\"\n\n\
                [site.acm]\nmode = \"managed\"\nregion = \"eu-west-1\"\nvalidation_timeout = 10\n";
    w.write_config(text);
    w.moto.start_recording().await;
    let out = w.run(&["apply", "cert", "--yes"]);
    let calls = w.moto.stop_recording().await;
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("has not issued")
            && err.contains("after 10s")
            && err.contains("PENDING_VALIDATION"),
        "{err}"
    );
    // Requested in eu-west-1 (none in the run's us-east-1), with the key.
    assert!(w.certificates().await.is_empty(), "nothing in us-east-1");
    let sdk = w.moto.sdk_config().await;
    let eu = aws_sdk_acm::Client::from_conf(
        aws_sdk_acm::config::Builder::from(&sdk)
            .region(aws_sdk_acm::config::Region::new("eu-west-1"))
            .build(),
    );
    let listed = eu
        .list_certificates()
        .includes(
            Filters::builder()
                .set_key_types(Some(
                    KeyAlgorithm::values()
                        .iter()
                        .map(|k| KeyAlgorithm::from(*k))
                        .collect(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed.certificate_summary_list().len(), 1);
    let request = calls
        .iter()
        .find(|c| c.action == "acm:RequestCertificate")
        .expect("a request");
    assert!(request.body.contains("EC_prime256v1"), "{}", request.body);
    // The CNAME is there all the same (ACM validates once it sees it).
    assert_eq!(w.cnames(&w.parent).await.len(), 1);
}
