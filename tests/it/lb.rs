//! The lb step (and the firewall and dns steps beside an ALB) against
//! moto_server through the real AWS SDK: a whole apply, idempotency
//! counted at the server, targets following the instances' tags,
//! resources webtier did not make left alone, and destroy converging
//! after a failure injected half-way.

use std::process::Output;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_sdk_route53::types::RrType;

use crate::support;
use crate::support::faults::FaultProxy;
use crate::support::services::{Call, Moto};
use crate::support::{assert_exit, stderr, stdout, webtier};

/// A VPC with two subnets in two zones, a security group `web`, three
/// instances tagged Role=web across the subnets, and the zone example.com.
struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    ec2: aws_sdk_ec2::Client,
    elb: elbv2::Client,
    route53: aws_sdk_route53::Client,
    vpc: String,
    subnets: [String; 2],
    web_sg: String,
    instances: Vec<String>,
    zone: String,
}

impl World {
    async fn new() -> World {
        // Certificates are issued 2 s after their validation records exist
        // (moto issues RSA keys only: the sites ask for rsa-2048).
        let moto = Moto::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "2")]);
        let sdk = moto.sdk_config().await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let elb = elbv2::Client::new(&sdk);
        let route53 = aws_sdk_route53::Client::new(&sdk);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        let mut subnets = Vec::new();
        for (cidr, zone) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
            subnets.push(
                ec2.create_subnet()
                    .vpc_id(&vpc)
                    .cidr_block(cidr)
                    .availability_zone(zone)
                    .send()
                    .await
                    .unwrap()
                    .subnet
                    .unwrap()
                    .subnet_id
                    .unwrap(),
            );
        }
        let web_sg = ec2
            .create_security_group()
            .group_name("web")
            .description("web servers")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap()
            .group_id
            .unwrap();
        let zone = support::services::create_zone(&route53, "example.com", "webtier-lb").await;
        let mut w = World {
            moto,
            dir: tempfile::tempdir().unwrap(),
            ec2,
            elb,
            route53,
            vpc,
            subnets: [subnets[0].clone(), subnets[1].clone()],
            web_sg,
            instances: Vec::new(),
            zone,
        };
        for subnet in [0, 0, 1] {
            let id = w.launch(subnet, true).await;
            w.instances.push(id);
        }
        w.instances.sort();
        w.write_config("");
        w
    }

    /// One instance in subnet `subnet` (0 or 1), tagged Role=web or not.
    async fn launch(&self, subnet: usize, tagged: bool) -> String {
        let mut run = self
            .ec2
            .run_instances()
            .image_id("ami-12345678")
            .min_count(1)
            .max_count(1)
            .subnet_id(&self.subnets[subnet])
            .security_group_ids(&self.web_sg);
        if tagged {
            run = run.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(Tag::builder().key("Role").value("web").build())
                    .build(),
            );
        }
        run.send().await.unwrap().instances()[0]
            .instance_id()
            .unwrap()
            .to_string()
    }

    /// webtier.toml: the tagged instances behind the ALB `shop`, one ACM
    /// site; `extra` goes into [load_balancer].
    fn write_config(&self, extra: &str) {
        self.write_config_with(extra, "");
    }

    /// The same, with `site_extra` appended to the site (a login).
    fn write_config_with(&self, extra: &str, site_extra: &str) {
        let text = format!(
            "state_dir = \"state\"\n\n[aws]\nregion = \"us-east-1\"\n\n\
             [proxy]\nconfig_file = \"out/proxy.toml\"\nlaunch = \"none\"\n\n\
             [target]\ntags = {{ Role = \"web\" }}\n\n\
             [load_balancer]\nname = \"shop\"\n{extra}\n\n\
             [[site]]\ndomain = \"example.com\"\naliases = [\"www.example.com\"]\n\
             tls = \"acm\"\nupstreams = [\"127.0.0.1:8000\"]\n[site.acm]\nmode = \"managed\"\nkey = \"rsa-2048\"\n{site_extra}"
        );
        std::fs::write(self.dir.path().join("webtier.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_through(&self.moto.endpoint(), args)
    }

    fn run_through(&self, endpoint: &str, args: &[&str]) -> Output {
        webtier()
            .current_dir(self.dir.path())
            .envs(self.moto.env())
            .env("AWS_ENDPOINT_URL", endpoint)
            .args(args)
            .output()
            .unwrap()
    }

    async fn recorded(&self, args: &[&str]) -> (Output, Vec<Call>) {
        self.moto.start_recording().await;
        let out = self.run(args);
        (out, self.moto.stop_recording().await)
    }

    async fn alb(&self, name: &str) -> Option<elbv2::types::LoadBalancer> {
        match self.elb.describe_load_balancers().names(name).send().await {
            Ok(out) => out.load_balancers().first().cloned(),
            Err(_) => None,
        }
    }

    async fn target_group(&self, name: &str) -> Option<elbv2::types::TargetGroup> {
        match self.elb.describe_target_groups().names(name).send().await {
            Ok(out) => out.target_groups().first().cloned(),
            Err(_) => None,
        }
    }

    async fn alb_attribute(&self, arn: &str, key: &str) -> Option<String> {
        let out = self
            .elb
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .unwrap();
        out.attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value().map(str::to_string))
    }

    async fn tg_attribute(&self, arn: &str, key: &str) -> Option<String> {
        let out = self
            .elb
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .unwrap();
        out.attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value().map(str::to_string))
    }

    /// The registered targets of the target group `name`, sorted.
    async fn targets(&self, name: &str) -> Vec<String> {
        let tg = self.target_group(name).await.expect("target group");
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(tg.target_group_arn().unwrap())
            .send()
            .await
            .unwrap();
        let mut ids: Vec<String> = out
            .target_health_descriptions()
            .iter()
            .filter(|d| {
                d.target_health()
                    .and_then(|h| h.state())
                    .is_some_and(|s| s.as_str() != "draining")
            })
            .map(|d| d.target().unwrap().id().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    /// (protocol, port, default action type, certificate) of an ALB's
    /// listeners, sorted by port.
    async fn listeners(&self, alb_arn: &str) -> Vec<(String, i32, String, Option<String>)> {
        let out = self
            .elb
            .describe_listeners()
            .load_balancer_arn(alb_arn)
            .send()
            .await
            .unwrap();
        let mut list: Vec<_> = out
            .listeners()
            .iter()
            .map(|l| {
                (
                    l.protocol().unwrap().as_str().to_string(),
                    l.port().unwrap(),
                    l.default_actions()[0]
                        .r#type()
                        .unwrap()
                        .as_str()
                        .to_string(),
                    l.certificates()
                        .first()
                        .and_then(|c| c.certificate_arn())
                        .map(str::to_string),
                )
            })
            .collect();
        list.sort_by_key(|l| l.1);
        list
    }

    /// The ingress rules of `group` whose source is another group:
    /// (port, source group, marked managed-by=webtier).
    async fn source_rules(&self, group: &str) -> Vec<(i32, String, bool)> {
        let out = self
            .ec2
            .describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .values(group)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let mut rules: Vec<_> = out
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .filter_map(|r| {
                // moto keeps no description on a rule from a group: the
                // tag webtier puts beside it marks it too.
                let managed = r.description() == Some("managed-by=webtier")
                    || r.tags()
                        .iter()
                        .any(|t| t.key() == Some("managed-by") && t.value() == Some("webtier"));
                Some((
                    r.from_port()?,
                    r.referenced_group_info()?.group_id()?.to_string(),
                    managed,
                ))
            })
            .collect();
        rules.sort();
        rules
    }

    /// The group named `name` in the VPC, if any.
    async fn group_named(&self, name: &str) -> Option<String> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values(name)
                    .build(),
            )
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("vpc-id")
                    .values(&self.vpc)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(str::to_string)
    }

    /// The A/AAAA record sets of `name`: (type, alias target).
    async fn aliases(&self, name: &str) -> Vec<(String, Option<String>)> {
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
            .filter(|s| matches!(s.r#type(), RrType::A | RrType::Aaaa))
            .map(|s| {
                (
                    s.r#type().as_str().to_string(),
                    s.alias_target()
                        .map(|a| a.dns_name().trim_end_matches('.').to_ascii_lowercase()),
                )
            })
            .collect();
        sets.sort();
        sets
    }

    /// An ALB, target group and listener made by someone else, in the
    /// same VPC: `name` for all three.
    async fn foreign_alb(&self, name: &str) -> (String, String, String) {
        let alb = self
            .elb
            .create_load_balancer()
            .name(name)
            .subnets(&self.subnets[0])
            .subnets(&self.subnets[1])
            .send()
            .await
            .unwrap()
            .load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string();
        let tg = self
            .elb
            .create_target_group()
            .name(name)
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&self.vpc)
            .send()
            .await
            .unwrap()
            .target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        let listener = self
            .elb
            .create_listener()
            .load_balancer_arn(&alb)
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(80)
            .default_actions(
                elbv2::types::Action::builder()
                    .r#type(elbv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(&tg)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .listeners()[0]
            .listener_arn()
            .unwrap()
            .to_string();
        (alb, tg, listener)
    }
}

fn writes(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| c.action.as_str())
        .collect()
}

/// From three tagged instances, one apply makes the certificate, the
/// ALB's group, the ALB, its target group with the three, both listeners,
/// the instances' rule from the ALB's group, the aliases, and (the site
/// has a login) the session key parameter every instance's proxy reads;
/// then a plan is empty and an apply writes nothing.
#[tokio::test]
async fn apply_builds_the_alb_and_a_second_apply_writes_nothing() {
    let w = World::new().await;
    w.write_config_with(
        "",
        "[site.auth]\nissuer = \"https://id.example\"\nclient_id = \"shop\"\n\
         client_secret_env = \"SHOP_OIDC_SECRET\"\nallowed_emails = [\"*@example.com\"]\n",
    );
    let out = w.run(&["plan"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for line in [
        "+ security group webtier-alb-shop".to_string(),
        "+ target group shop".to_string(),
        format!("+ targets of shop: {}", w.instances.join(", ")),
        "+ load balancer shop".to_string(),
        "+ listener HTTP:80 of shop".to_string(),
        "+ listener HTTPS:443 of shop".to_string(),
        format!(
            "+ ingress {} tcp/80 from webtier-alb-shop (the ALB's group, known after apply)",
            w.web_sg
        ),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(
        !text.contains("tcp/443 from 0.0.0.0/0") || text.contains("webtier-alb-shop tcp/443"),
        "the instances are not opened to the world:\n{text}"
    );
    assert!(w.alb("shop").await.is_none(), "plan changes nothing");

    let out = w.run(&["apply", "--yes"]);
    assert_exit(&out, 0);

    let alb = w.alb("shop").await.expect("the ALB");
    let alb_arn = alb.load_balancer_arn().unwrap();
    let alb_sg = w.group_named("webtier-alb-shop").await.expect("its group");
    assert_eq!(alb.security_groups(), std::slice::from_ref(&alb_sg));
    assert_eq!(w.targets("shop").await, w.instances);
    let listeners = w.listeners(alb_arn).await;
    assert_eq!(listeners.len(), 2, "{listeners:?}");
    assert_eq!(
        (
            listeners[0].0.as_str(),
            listeners[0].1,
            listeners[0].2.as_str()
        ),
        ("HTTP", 80, "redirect")
    );
    assert_eq!(
        (
            listeners[1].0.as_str(),
            listeners[1].1,
            listeners[1].2.as_str()
        ),
        ("HTTPS", 443, "forward")
    );
    let cert = listeners[1]
        .3
        .clone()
        .expect("the HTTPS listener's certificate");
    assert!(cert.contains(":acm:"), "{cert}");
    assert_eq!(
        w.source_rules(&w.web_sg).await,
        vec![(80, alb_sg.clone(), true)],
        "the instances' port is open to the ALB's group only"
    );
    let dns_name = alb.dns_name().unwrap().to_ascii_lowercase();
    for name in ["example.com", "www.example.com"] {
        assert_eq!(
            w.aliases(name).await,
            vec![("A".to_string(), Some(dns_name.clone()))],
            "{name}"
        );
    }
    // The login's session key, shared through SSM, read by the proxies;
    // the proxy file the instances run names it and the health check.
    let ssm = aws_sdk_ssm::Client::new(&w.moto.sdk_config().await);
    let parameter = ssm
        .get_parameter()
        .name("/webtier/webtier/session-keys")
        .send()
        .await
        .expect("the session key parameter")
        .parameter
        .unwrap();
    assert_eq!(parameter.r#type().map(|t| t.as_str()), Some("SecureString"));
    let proxy_file = std::fs::read_to_string(w.dir.path().join("out/proxy.toml")).unwrap();
    assert!(
        proxy_file.contains("parameter = \"/webtier/webtier/session-keys\"")
            && proxy_file.contains("[health_check]")
            && !proxy_file.contains("session_key_file"),
        "{proxy_file}"
    );

    let out = w.run(&["plan", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
    let (out, calls) = w.recorded(&["apply", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(
        writes(&calls).is_empty(),
        "second apply wrote: {:?}",
        writes(&calls)
    );
    assert!(!calls.is_empty(), "the recorder saw the reads");

    // Every call made is in `webtier iam-policy`.
    let (out, mut calls) = w.recorded(&["plan"]).await;
    assert_exit(&out, 0);
    let (out, more) = w.recorded(&["status"]).await;
    calls.extend(more);
    let _ = out;
    let policy = w.run(&["iam-policy"]);
    assert_exit(&policy, 0);
    support::services::assert_policy_allows(&stdout(&policy), &calls);
}

/// Tagging a fourth instance registers exactly it; untagging one
/// deregisters it.
#[tokio::test]
async fn targets_follow_the_instances_tags() {
    let w = World::new().await;
    assert_exit(&w.run(&["apply", "--yes"]), 0);
    let fourth = w.launch(1, false).await;
    w.ec2
        .create_tags()
        .resources(&fourth)
        .tags(Tag::builder().key("Role").value("web").build())
        .send()
        .await
        .unwrap();
    let (out, calls) = w.recorded(&["apply", "--yes"]).await;
    assert_exit(&out, 0);
    assert_eq!(
        writes(&calls),
        ["elasticloadbalancing:RegisterTargets"],
        "{}",
        stdout(&out)
    );
    assert!(
        calls
            .iter()
            .any(|c| c.action == "elasticloadbalancing:RegisterTargets" && c.body.contains(&fourth)),
        "{calls:?}"
    );
    let mut expected = w.instances.clone();
    expected.push(fourth.clone());
    expected.sort();
    assert_eq!(w.targets("shop").await, expected);

    let leaving = w.instances[0].clone();
    w.ec2
        .delete_tags()
        .resources(&leaving)
        .tags(Tag::builder().key("Role").build())
        .send()
        .await
        .unwrap();
    let (out, calls) = w.recorded(&["apply", "--yes"]).await;
    assert_exit(&out, 0);
    assert_eq!(
        writes(&calls),
        ["elasticloadbalancing:DeregisterTargets"],
        "{}",
        stdout(&out)
    );
    let remaining: Vec<String> = expected.into_iter().filter(|i| *i != leaving).collect();
    assert_eq!(w.targets("shop").await, remaining);
}

/// An ALB, target group and listener someone else made are never changed
/// or deleted, by apply or destroy; one that takes webtier's name stops
/// the plan with the reason.
#[tokio::test]
async fn resources_webtier_did_not_make_are_left_alone() {
    let w = World::new().await;
    let (alb, tg, listener) = w.foreign_alb("theirs").await;
    assert_exit(&w.run(&["apply", "--yes"]), 0);
    let (out, calls) = w.recorded(&["destroy", "--yes"]).await;
    assert_exit(&out, 0);
    for call in calls.iter().filter(|c| c.is_write()) {
        for arn in [&alb, &tg, &listener] {
            assert!(
                !call
                    .body
                    .contains(&arn.replace(':', "%3A").replace('/', "%2F"))
                    && !call.body.contains(arn.as_str()),
                "{} touched {arn}",
                call.action
            );
        }
    }
    assert!(w.alb("theirs").await.is_some());
    assert!(w.target_group("theirs").await.is_some());
    assert_eq!(w.listeners(&alb).await.len(), 1);

    // Someone else's ALB with webtier's name: the plan stops, saying so.
    let _ = w.foreign_alb("shop").await;
    let out = w.run(&["plan"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("load balancer shop exists and was not created by webtier")
            && err.contains("choose another [load_balancer] name"),
        "{err}"
    );
}

/// Every `[load_balancer]` setting reaches AWS: the ALB made with
/// non-default values has them, and changing each one is planned and
/// applied as an update, after which a second apply writes nothing.
#[tokio::test]
async fn every_load_balancer_setting_is_applied_and_changed() {
    let w = World::new().await;
    let settings = |ports: (u16, u16, u16), idle: u32, drain: u32, health: &str| {
        format!(
            "subnets = [\"{}\", \"{}\"]\nipv6 = true\nhttp_port = {}\nhttps_port = {}\ntarget_port = {}\n\
             idle_timeout_s = {idle}\nderegistration_delay_s = {drain}\n\
             [load_balancer.health_check]\nsite = \"example.com\"\n{health}",
            w.subnets[0], w.subnets[1], ports.0, ports.1, ports.2
        )
    };
    w.write_config(&settings(
        (8080, 8443, 8000),
        120,
        30,
        "path = \"/healthz\"\ninterval_s = 10\ntimeout_s = 3\nhealthy_threshold = 3\n\
         unhealthy_threshold = 4\nmatcher = \"200,204\"\n",
    ));
    assert_exit(&w.run(&["apply", "--yes"]), 0);

    let alb = w.alb("shop").await.expect("the ALB");
    let alb_arn = alb.load_balancer_arn().unwrap().to_string();
    assert_eq!(alb.ip_address_type().map(|t| t.as_str()), Some("dualstack"));
    let mut subnets: Vec<String> = alb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_string))
        .collect();
    subnets.sort();
    let mut expected = w.subnets.to_vec();
    expected.sort();
    assert_eq!(subnets, expected);
    let listeners = w.listeners(&alb_arn).await;
    assert_eq!(
        listeners
            .iter()
            .map(|l| (l.0.as_str(), l.1))
            .collect::<Vec<_>>(),
        [("HTTP", 8080), ("HTTPS", 8443)]
    );
    let redirect = w
        .elb
        .describe_listeners()
        .load_balancer_arn(&alb_arn)
        .send()
        .await
        .unwrap();
    let to = redirect
        .listeners()
        .iter()
        .find(|l| l.port() == Some(8080))
        .and_then(|l| l.default_actions()[0].redirect_config())
        .and_then(|r| r.port())
        .map(str::to_string);
    assert_eq!(to.as_deref(), Some("8443"), "HTTP redirects to https_port");
    let idle = w
        .alb_attribute(&alb_arn, "idle_timeout.timeout_seconds")
        .await;
    assert_eq!(idle.as_deref(), Some("120"));
    let tg = w.target_group("shop").await.unwrap();
    assert_eq!(tg.port(), Some(8000));
    assert_eq!(
        (
            tg.health_check_path(),
            tg.health_check_interval_seconds(),
            tg.health_check_timeout_seconds(),
            tg.healthy_threshold_count(),
            tg.unhealthy_threshold_count(),
            tg.matcher().and_then(|m| m.http_code()),
        ),
        (
            Some("/healthz"),
            Some(10),
            Some(3),
            Some(3),
            Some(4),
            Some("200,204")
        )
    );
    let drain = w
        .tg_attribute(
            tg.target_group_arn().unwrap(),
            "deregistration_delay.timeout_seconds",
        )
        .await;
    assert_eq!(drain.as_deref(), Some("30"));
    let alb_sg = w.group_named("webtier-alb-shop").await.unwrap();
    assert_eq!(
        w.source_rules(&w.web_sg).await,
        vec![(8000, alb_sg, true)],
        "the instances open target_port to the ALB"
    );
    for name in ["example.com", "www.example.com"] {
        let types: Vec<String> = w.aliases(name).await.into_iter().map(|a| a.0).collect();
        assert_eq!(types, ["A", "AAAA"], "ipv6: AAAA aliases too ({name})");
    }
    let proxy_file = std::fs::read_to_string(w.dir.path().join("out/proxy.toml")).unwrap();
    assert!(
        proxy_file.contains("path = \"/healthz\"") && proxy_file.contains("site = \"example.com\""),
        "{proxy_file}"
    );

    // Every setting changed: updated in place (the target group, whose
    // port cannot change, replaced), then nothing more to do.
    w.write_config(&settings(
        (8081, 8444, 8001),
        90,
        10,
        "path = \"/up\"\ninterval_s = 20\ntimeout_s = 4\nhealthy_threshold = 2\n\
         unhealthy_threshold = 3\nmatcher = \"200-299\"\n",
    ));
    assert_exit(&w.run(&["apply", "--yes"]), 0);
    let listeners = w.listeners(&alb_arn).await;
    assert_eq!(
        listeners
            .iter()
            .map(|l| (l.0.as_str(), l.1))
            .collect::<Vec<_>>(),
        [("HTTP", 8081), ("HTTPS", 8444)]
    );
    let idle = w
        .alb_attribute(&alb_arn, "idle_timeout.timeout_seconds")
        .await;
    assert_eq!(idle.as_deref(), Some("90"));
    let tg = w.target_group("shop").await.unwrap();
    assert_eq!(
        (
            tg.port(),
            tg.health_check_path(),
            tg.matcher().and_then(|m| m.http_code())
        ),
        (Some(8001), Some("/up"), Some("200-299"))
    );
    let drain = w
        .tg_attribute(
            tg.target_group_arn().unwrap(),
            "deregistration_delay.timeout_seconds",
        )
        .await;
    assert_eq!(drain.as_deref(), Some("10"));
    assert_eq!(
        w.targets("shop").await,
        w.instances,
        "the new group has the targets"
    );
    let out = w.run(&["plan", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
}

/// Destroy removes every resource webtier made (listeners, ALB, target
/// group, the ALB's group, the instances' rule, the aliases) and nothing
/// else; when a call fails half-way, running it again finishes the job.
#[tokio::test]
async fn destroy_converges_after_a_failure_half_way() {
    let w = World::new().await;
    assert_exit(&w.run(&["apply", "--yes"]), 0);
    let faults = FaultProxy::start(&w.moto.endpoint());
    faults.fail_next("DeleteTargetGroup");
    let out = w.run_through(&faults.endpoint(), &["destroy", "--yes"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("InjectedFault"), "{}", stderr(&out));
    assert!(
        w.alb("shop").await.is_none(),
        "the ALB went before the failure"
    );
    assert!(
        w.target_group("shop").await.is_some(),
        "the failed call changed nothing"
    );

    let out = w.run_through(&faults.endpoint(), &["destroy", "--yes"]);
    assert_exit(&out, 0);
    assert!(w.target_group("shop").await.is_none());
    assert!(w.group_named("webtier-alb-shop").await.is_none());
    assert!(w.group_named("web").await.is_some(), "not webtier's");
    assert!(w.source_rules(&w.web_sg).await.is_empty());
    for name in ["example.com", "www.example.com"] {
        assert!(w.aliases(name).await.is_empty(), "{name}");
    }
    let out = w.run(&["plan", "--destroy", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
}
