//! `lb`: an Application Load Balancer in front of the target instances.
//! webtier converges, all named after `[load_balancer] name` and tagged
//! `managed-by=webtier` and `webtier-owner=<[dns] owner>`:
//!
//! - the ALB's security group `webtier-alb-<name>`, open on the listener
//!   ports to `[target] ingress_cidrs`;
//! - the target group `<name>` (HTTP to `target_port`, the health check,
//!   the deregistration delay) with the target instances registered, read
//!   again on every plan so that tagging an instance is one `apply`;
//! - the ALB (internet-facing, in the subnets, the idle timeout);
//! - an HTTP listener that redirects to HTTPS (301), and an HTTPS listener
//!   with the sites' ACM certificates (the first site's as default, the
//!   others by SNI) forwarding to the target group.
//!
//! A resource of one of those names that webtier did not make stops the
//! plan (create) or is left alone (destroy); a listener on webtier's ALB
//! that webtier did not make is left alone, and keeps destroy from
//! deleting the ALB. Things created in the same run (the group, the ALB,
//! the target group, a certificate the cert step issues just before) are
//! named in the plan and found by name when the change is applied.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_ec2::types::{ResourceType, TagSpecification};
use aws_sdk_elasticloadbalancingv2::types::{
    Action as ElbAction, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerAttribute,
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::aws::acm::{AcmWanted, pick, wanted};
use crate::aws::elb::{self, Default as ListenerDefault, GroupRef, HealthCheck};
use crate::aws::ingress::{self, MANAGED, Rule};
use crate::aws::{Clients, acm, api_error, error_code, instances};
use crate::config::{Alb, Config, Subnets, Target};
use crate::plan::{Action, Conflict, Planned, Step, StepName};

/// TLS 1.3 and 1.2 with forward secrecy only: AWS's recommended policy.
pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// What AWS sets on a new ALB and target group.
const DEFAULT_IDLE_TIMEOUT_S: u32 = 60;
const DEFAULT_DEREGISTRATION_DELAY_S: u32 = 300;
/// How long destroy waits for AWS to let go of the ALB's security group
/// (the ALB's network interfaces go a while after the ALB).
const GROUP_RELEASE: Duration = Duration::from_secs(300);

pub struct LbStep {
    clients: Arc<Clients>,
    alb: Alb,
    target: Target,
    owner: String,
    certificates: Vec<AcmWanted>,
    destroy: bool,
}

impl LbStep {
    pub fn new(clients: Arc<Clients>, config: &Config) -> Result<LbStep> {
        let alb = config
            .load_balancer
            .clone()
            .context("the lb step needs [load_balancer]")?;
        let target = config
            .target
            .clone()
            .context("the lb step needs [target]")?;
        Ok(LbStep {
            clients,
            alb,
            target,
            owner: config.dns.owner.clone(),
            certificates: wanted(config),
            destroy: false,
        })
    }

    /// The step that removes what it created (`webtier destroy`).
    pub fn destroying(self) -> LbStep {
        LbStep {
            destroy: true,
            ..self
        }
    }
}

/// A site's certificate on the HTTPS listener: its ARN when the plan
/// knows it, else found (issued, webtier's) when the change is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteCert {
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

impl SiteCert {
    fn describe(&self) -> String {
        match &self.arn {
            Some(arn) => format!("{} ({arn})", self.site),
            None => format!("{} (the ACM certificate, known after apply)", self.site),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LbState {
    pub vpc_id: String,
    /// The subnets the ALB should be in, sorted.
    pub subnets: Vec<String>,
    /// The target instances, sorted.
    pub instances: Vec<String>,
    pub group: Option<elb::Group>,
    /// The group's ingress rules (webtier's group only).
    pub group_rules: Vec<Rule>,
    pub alb: Option<elb::Alb>,
    /// The ALB's listeners (webtier's ALB only).
    pub listeners: Vec<elb::Listener>,
    pub target_group: Option<elb::TargetGroup>,
    /// Each site's issued certificate, in site order.
    pub certificates: Vec<SiteCert>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LbOp {
    CreateGroup {
        group: GroupRef,
    },
    AuthorizeIngress {
        group: GroupRef,
        port: u16,
        cidr: IpNet,
    },
    RevokeIngress {
        group_id: String,
        rule_id: String,
    },
    CreateTargetGroup {
        name: String,
        port: u16,
        vpc_id: String,
        health: HealthCheck,
    },
    SetHealthCheck {
        name: String,
        health: HealthCheck,
    },
    SetDeregistrationDelay {
        name: String,
        seconds: u32,
    },
    RegisterTargets {
        name: String,
        port: u16,
        ids: Vec<String>,
    },
    DeregisterTargets {
        name: String,
        ids: Vec<String>,
    },
    CreateLoadBalancer {
        name: String,
        subnets: Vec<String>,
        ipv6: bool,
        group: GroupRef,
    },
    SetSubnets {
        name: String,
        subnets: Vec<String>,
    },
    SetSecurityGroup {
        name: String,
        group: GroupRef,
    },
    SetIpv6 {
        name: String,
        ipv6: bool,
    },
    SetIdleTimeout {
        name: String,
        seconds: u32,
    },
    CreateRedirectListener {
        name: String,
        port: u16,
        to_port: u16,
    },
    CreateHttpsListener {
        name: String,
        port: u16,
        certificates: Vec<SiteCert>,
    },
    /// An HTTP listener of webtier's that does something else.
    SetRedirect {
        arn: String,
        to_port: u16,
    },
    /// An HTTPS listener of webtier's: default certificate and target.
    SetForward {
        arn: String,
        name: String,
        certificate: SiteCert,
    },
    AddCertificates {
        arn: String,
        certificates: Vec<SiteCert>,
    },
    RemoveCertificates {
        arn: String,
        arns: Vec<String>,
    },
    DeleteListener {
        arn: String,
    },
    DeleteLoadBalancer {
        arn: String,
    },
    DeleteTargetGroup {
        arn: String,
    },
    DeleteGroup {
        id: String,
    },
}

fn change(action: Action, resource: String, detail: String, op: LbOp) -> Planned<LbOp> {
    Planned {
        action,
        resource,
        detail,
        operation: op,
    }
}

/// What the configuration asks for, with what the plan observed: pure.
pub struct Desired<'a> {
    pub alb: &'a Alb,
    pub ingress: &'a [IpNet],
    pub certificates: &'a [SiteCert],
}

impl Desired<'_> {
    fn health(&self) -> HealthCheck {
        let h = &self.alb.health_check;
        HealthCheck {
            path: h.path.clone(),
            interval_s: h.interval_s,
            timeout_s: h.timeout_s,
            healthy_threshold: h.healthy_threshold,
            unhealthy_threshold: h.unhealthy_threshold,
            matcher: h.matcher.clone(),
        }
    }
}

/// Pure: the changes that bring the observed state to the desired one,
/// in dependency order (group, target group, ALB, listeners).
pub fn diff(d: &Desired<'_>, o: &LbState) -> Vec<Planned<LbOp>> {
    let name = &d.alb.name;
    let group = GroupRef {
        name: elb::group_name(name),
        vpc_id: o.vpc_id.clone(),
    };
    let mut out = Vec::new();

    // The ALB's security group and its ingress.
    let rules: &[Rule] = match &o.group {
        None => {
            out.push(change(
                Action::Create,
                format!("security group {} in {}", group.name, group.vpc_id),
                "tags managed-by=webtier".into(),
                LbOp::CreateGroup {
                    group: group.clone(),
                },
            ));
            &[]
        }
        Some(_) => &o.group_rules,
    };
    let ports = [d.alb.http_port, d.alb.https_port];
    for port in ports {
        for cidr in d.ingress {
            if !rules.iter().any(|r| r.covers(port, cidr)) {
                out.push(change(
                    Action::Create,
                    format!("ingress {} tcp/{port} from {cidr}", group.name),
                    format!("description = \"{MANAGED}\""),
                    LbOp::AuthorizeIngress {
                        group: group.clone(),
                        port,
                        cidr: *cidr,
                    },
                ));
            }
        }
    }
    if let Some(g) = &o.group {
        for r in rules {
            let wanted = r.protocol == "tcp"
                && r.from_port == r.to_port
                && ports.iter().any(|p| i32::from(*p) == r.from_port)
                && d.ingress.contains(&r.cidr);
            if r.description.as_deref() == Some(MANAGED) && !wanted {
                out.push(change(
                    Action::Delete,
                    format!(
                        "ingress {} tcp/{} from {} ({})",
                        group.name, r.from_port, r.cidr, r.id
                    ),
                    String::new(),
                    LbOp::RevokeIngress {
                        group_id: g.id.clone(),
                        rule_id: r.id.clone(),
                    },
                ));
            }
        }
    }

    // The target group. Its port and VPC cannot change in place: a new one
    // replaces it, after the HTTPS listener that forwards to it goes.
    let health = d.health();
    let replaced = o
        .target_group
        .as_ref()
        .is_some_and(|tg| tg.port != d.alb.target_port || tg.vpc_id != o.vpc_id);
    if replaced {
        let tg = o.target_group.as_ref().expect("replaced implies present");
        for l in o.listeners.iter().filter(|l| {
            l.owned
                && matches!(&l.default, ListenerDefault::Forward { target_groups } if target_groups.contains(&tg.arn))
        }) {
            out.push(change(
                Action::Delete,
                format!("listener {}:{} of {name}", l.protocol, l.port),
                "it forwards to the target group being replaced".into(),
                LbOp::DeleteListener { arn: l.arn.clone() },
            ));
        }
        out.push(change(
            Action::Delete,
            format!("target group {name} (port {}, {})", tg.port, tg.vpc_id),
            format!("replaced: port {} in {}", d.alb.target_port, o.vpc_id),
            LbOp::DeleteTargetGroup {
                arn: tg.arn.clone(),
            },
        ));
    }
    let registered: Vec<&str> = match &o.target_group {
        Some(tg) if !replaced => {
            if tg.health.as_ref() != Some(&health) {
                out.push(change(
                    Action::Update,
                    format!("target group {name} health check"),
                    describe_health(&health),
                    LbOp::SetHealthCheck {
                        name: name.clone(),
                        health: health.clone(),
                    },
                ));
            }
            if tg.deregistration_delay_s != Some(d.alb.deregistration_delay_s) {
                out.push(change(
                    Action::Update,
                    format!("target group {name} deregistration delay"),
                    format!("{} s", d.alb.deregistration_delay_s),
                    LbOp::SetDeregistrationDelay {
                        name: name.clone(),
                        seconds: d.alb.deregistration_delay_s,
                    },
                ));
            }
            tg.targets.iter().map(|t| t.id.as_str()).collect()
        }
        _ => {
            out.push(change(
                Action::Create,
                format!("target group {name}"),
                format!(
                    "HTTP to port {} in {}; {}",
                    d.alb.target_port,
                    o.vpc_id,
                    describe_health(&health)
                ),
                LbOp::CreateTargetGroup {
                    name: name.clone(),
                    port: d.alb.target_port,
                    vpc_id: o.vpc_id.clone(),
                    health,
                },
            ));
            if d.alb.deregistration_delay_s != DEFAULT_DEREGISTRATION_DELAY_S {
                out.push(change(
                    Action::Update,
                    format!("target group {name} deregistration delay"),
                    format!("{} s", d.alb.deregistration_delay_s),
                    LbOp::SetDeregistrationDelay {
                        name: name.clone(),
                        seconds: d.alb.deregistration_delay_s,
                    },
                ));
            }
            Vec::new()
        }
    };
    let missing: Vec<String> = o
        .instances
        .iter()
        .filter(|i| !registered.contains(&i.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        out.push(change(
            Action::Create,
            format!("targets of {name}: {}", missing.join(", ")),
            format!("port {}", d.alb.target_port),
            LbOp::RegisterTargets {
                name: name.clone(),
                port: d.alb.target_port,
                ids: missing,
            },
        ));
    }
    let gone: Vec<String> = registered
        .iter()
        .filter(|id| !o.instances.iter().any(|i| i == *id))
        .map(|id| id.to_string())
        .collect();
    if !gone.is_empty() {
        out.push(change(
            Action::Delete,
            format!("targets of {name}: {}", gone.join(", ")),
            format!(
                "no longer selected by [target]; they drain for {} s",
                d.alb.deregistration_delay_s
            ),
            LbOp::DeregisterTargets {
                name: name.clone(),
                ids: gone,
            },
        ));
    }

    // The ALB.
    match &o.alb {
        None => {
            out.push(change(
                Action::Create,
                format!("load balancer {name}"),
                format!(
                    "internet-facing, {}, subnets {}, security group {}",
                    if d.alb.ipv6 { "dual-stack" } else { "IPv4" },
                    o.subnets.join(", "),
                    group.name
                ),
                LbOp::CreateLoadBalancer {
                    name: name.clone(),
                    subnets: o.subnets.clone(),
                    ipv6: d.alb.ipv6,
                    group: group.clone(),
                },
            ));
            if d.alb.idle_timeout_s != DEFAULT_IDLE_TIMEOUT_S {
                out.push(idle_timeout(name, d.alb.idle_timeout_s));
            }
        }
        Some(alb) => {
            if alb.subnets != o.subnets {
                out.push(change(
                    Action::Update,
                    format!("load balancer {name} subnets"),
                    format!("{} → {}", alb.subnets.join(", "), o.subnets.join(", ")),
                    LbOp::SetSubnets {
                        name: name.clone(),
                        subnets: o.subnets.clone(),
                    },
                ));
            }
            let group_id = o.group.as_ref().map(|g| g.id.as_str());
            if group_id.is_none_or(|id| alb.security_groups != [id]) {
                out.push(change(
                    Action::Update,
                    format!("load balancer {name} security groups"),
                    format!("{} → {}", alb.security_groups.join(", "), group.name),
                    LbOp::SetSecurityGroup {
                        name: name.clone(),
                        group: group.clone(),
                    },
                ));
            }
            if alb.ipv6 != d.alb.ipv6 {
                out.push(change(
                    Action::Update,
                    format!("load balancer {name} address type"),
                    if d.alb.ipv6 { "dual-stack" } else { "IPv4" }.into(),
                    LbOp::SetIpv6 {
                        name: name.clone(),
                        ipv6: d.alb.ipv6,
                    },
                ));
            }
            if alb.idle_timeout_s != Some(d.alb.idle_timeout_s) {
                out.push(idle_timeout(name, d.alb.idle_timeout_s));
            }
        }
    }

    // The listeners: webtier's own on other ports go, then each port's.
    for l in o
        .listeners
        .iter()
        .filter(|l| l.owned && l.port != d.alb.http_port && l.port != d.alb.https_port)
    {
        out.push(change(
            Action::Delete,
            format!("listener {}:{} of {name}", l.protocol, l.port),
            "no longer a listener port".into(),
            LbOp::DeleteListener { arn: l.arn.clone() },
        ));
    }
    let on_port = |port: u16| o.listeners.iter().find(|l| l.port == port);
    match on_port(d.alb.http_port) {
        None => out.push(change(
            Action::Create,
            format!("listener HTTP:{} of {name}", d.alb.http_port),
            format!("redirects to HTTPS:{} (301)", d.alb.https_port),
            LbOp::CreateRedirectListener {
                name: name.clone(),
                port: d.alb.http_port,
                to_port: d.alb.https_port,
            },
        )),
        Some(l) if l.owned => {
            let right = l.protocol == "HTTP"
                && l.default
                    == ListenerDefault::RedirectHttps {
                        port: d.alb.https_port.to_string(),
                        permanent: true,
                    };
            if !right {
                out.push(change(
                    Action::Update,
                    format!("listener HTTP:{} of {name}", d.alb.http_port),
                    format!("redirects to HTTPS:{} (301)", d.alb.https_port),
                    LbOp::SetRedirect {
                        arn: l.arn.clone(),
                        to_port: d.alb.https_port,
                    },
                ));
            }
        }
        // Not webtier's: a conflict (see `conflicts`).
        Some(_) => {}
    }
    let Some((first, others)) = d.certificates.split_first() else {
        return out;
    };
    let tg_arn = o
        .target_group
        .as_ref()
        .filter(|_| !replaced)
        .map(|tg| tg.arn.as_str());
    // A replaced target group's listener was deleted above.
    let https = if replaced {
        None
    } else {
        on_port(d.alb.https_port)
    };
    match https {
        None => out.push(change(
            Action::Create,
            format!("listener HTTPS:{} of {name}", d.alb.https_port),
            format!(
                "forwards to {name}; {SSL_POLICY}; certificates {}",
                d.certificates
                    .iter()
                    .map(SiteCert::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LbOp::CreateHttpsListener {
                name: name.clone(),
                port: d.alb.https_port,
                certificates: d.certificates.to_vec(),
            },
        )),
        Some(l) if l.owned => {
            let forwards = matches!(&l.default, ListenerDefault::Forward { target_groups }
                if tg_arn.is_some_and(|arn| target_groups == &[arn.to_string()]));
            let default_right = first.arn.is_some() && l.certificate == first.arn;
            if l.protocol != "HTTPS" || !forwards || !default_right {
                out.push(change(
                    Action::Update,
                    format!("listener HTTPS:{} of {name}", d.alb.https_port),
                    format!(
                        "forwards to {name}; default certificate {}",
                        first.describe()
                    ),
                    LbOp::SetForward {
                        arn: l.arn.clone(),
                        name: name.clone(),
                        certificate: first.clone(),
                    },
                ));
            }
            let add: Vec<SiteCert> = others
                .iter()
                .filter(|c| {
                    c.arn.is_none() || !l.extra_certificates.contains(c.arn.as_ref().unwrap())
                })
                .cloned()
                .collect();
            if !add.is_empty() {
                out.push(change(
                    Action::Update,
                    format!("listener HTTPS:{} of {name} certificates", d.alb.https_port),
                    format!(
                        "add {}",
                        add.iter()
                            .map(SiteCert::describe)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    LbOp::AddCertificates {
                        arn: l.arn.clone(),
                        certificates: add,
                    },
                ));
            }
            let keep: BTreeSet<&str> = d
                .certificates
                .iter()
                .filter_map(|c| c.arn.as_deref())
                .collect();
            let remove: Vec<String> = l
                .extra_certificates
                .iter()
                .filter(|c| !keep.contains(c.as_str()))
                .cloned()
                .collect();
            if !remove.is_empty() {
                out.push(change(
                    Action::Update,
                    format!("listener HTTPS:{} of {name} certificates", d.alb.https_port),
                    format!("remove {}", remove.join(", ")),
                    LbOp::RemoveCertificates {
                        arn: l.arn.clone(),
                        arns: remove,
                    },
                ));
            }
        }
        Some(_) => {}
    }
    out
}

/// The health check's settings on a CreateTargetGroup or ModifyTargetGroup
/// request (two builder types with the same setters).
macro_rules! with_health_check {
    ($builder:expr, $health:expr) => {
        $builder
            .health_check_enabled(true)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(&$health.path)
            .health_check_interval_seconds($health.interval_s as i32)
            .health_check_timeout_seconds($health.timeout_s as i32)
            .healthy_threshold_count($health.healthy_threshold as i32)
            .unhealthy_threshold_count($health.unhealthy_threshold as i32)
            .matcher(Matcher::builder().http_code(&$health.matcher).build())
    };
}

fn idle_timeout(name: &str, seconds: u32) -> Planned<LbOp> {
    change(
        Action::Update,
        format!("load balancer {name} idle timeout"),
        format!("{seconds} s"),
        LbOp::SetIdleTimeout {
            name: name.to_string(),
            seconds,
        },
    )
}

fn describe_health(h: &HealthCheck) -> String {
    format!(
        "health check GET {} every {} s (timeout {} s, healthy after {}, unhealthy after {}, codes {})",
        h.path, h.interval_s, h.timeout_s, h.healthy_threshold, h.unhealthy_threshold, h.matcher
    )
}

/// Pure: what `webtier destroy` removes, in dependency order: listeners,
/// the ALB, the target group, the security group; only webtier's, and
/// not an ALB that carries a listener someone else added.
pub fn teardown(o: &LbState) -> Vec<Planned<LbOp>> {
    let mut out = Vec::new();
    let foreign_listener = o.listeners.iter().any(|l| !l.owned);
    if let Some(alb) = o.alb.as_ref().filter(|a| a.owned && !foreign_listener) {
        for l in o.listeners.iter().filter(|l| l.owned) {
            out.push(change(
                Action::Delete,
                format!("listener {}:{}", l.protocol, l.port),
                String::new(),
                LbOp::DeleteListener { arn: l.arn.clone() },
            ));
        }
        out.push(change(
            Action::Delete,
            format!("load balancer {}", alb.dns_name),
            String::new(),
            LbOp::DeleteLoadBalancer {
                arn: alb.arn.clone(),
            },
        ));
    }
    let alb_stays = o.alb.as_ref().is_some_and(|a| !a.owned || foreign_listener);
    if let Some(tg) = o.target_group.as_ref().filter(|t| t.owned && !alb_stays) {
        out.push(change(
            Action::Delete,
            format!("target group {}", tg.arn),
            String::new(),
            LbOp::DeleteTargetGroup {
                arn: tg.arn.clone(),
            },
        ));
    }
    if let Some(g) = o.group.as_ref().filter(|g| g.owned && !alb_stays) {
        out.push(change(
            Action::Delete,
            format!("security group {}", g.id),
            String::new(),
            LbOp::DeleteGroup { id: g.id.clone() },
        ));
    }
    out
}

/// Pure: what the step leaves alone, and why.
pub fn conflicts(alb: &Alb, o: &LbState, destroy: bool) -> Vec<Conflict> {
    let mut out = Vec::new();
    for l in o.listeners.iter().filter(|l| !l.owned) {
        let reason = if destroy {
            "webtier did not create it: the load balancer carrying it is left, with webtier's listeners, target group and security group".to_string()
        } else if l.port == alb.http_port || l.port == alb.https_port {
            format!(
                "webtier did not create it and leaves it: remove it, or choose another {} in [load_balancer]",
                if l.port == alb.http_port {
                    "http_port"
                } else {
                    "https_port"
                }
            )
        } else {
            "webtier did not create it and leaves it".to_string()
        };
        out.push(Conflict {
            resource: format!("listener {}:{} of {}", l.protocol, l.port, alb.name),
            reason,
        });
    }
    if destroy {
        let not_ours = |what: String| Conflict {
            resource: what,
            reason: "not tagged managed-by=webtier with this owner: left alone".into(),
        };
        if o.alb.as_ref().is_some_and(|a| !a.owned) {
            out.push(not_ours(format!("load balancer {}", alb.name)));
        }
        if o.target_group.as_ref().is_some_and(|t| !t.owned) {
            out.push(not_ours(format!("target group {}", alb.name)));
        }
        if o.group.as_ref().is_some_and(|g| !g.owned) {
            out.push(not_ours(format!(
                "security group {}",
                elb::group_name(&alb.name)
            )));
        }
    }
    out
}

/// Pure: the subnets the ALB goes in, from the configuration and the
/// instances' own; an error says what to fix.
pub fn choose_subnets(
    alb: &Alb,
    instances: &[instances::Instance],
) -> std::result::Result<Vec<String>, String> {
    let mut ids: Vec<String> = match &alb.subnets {
        Subnets::Ids(ids) => ids.clone(),
        Subnets::Instances => instances.iter().filter_map(|i| i.subnet.clone()).collect(),
    };
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err("the target instances have no subnet (EC2-Classic?) — list subnets in [load_balancer] subnets".into());
    }
    Ok(ids)
}

/// Pure: the subnets' VPC, checked: one VPC, two zones or more, every
/// instance in it.
pub fn check_network(
    subnets: &[elb::Subnet],
    instances: &[instances::Instance],
) -> std::result::Result<String, String> {
    let vpcs: BTreeSet<&str> = subnets.iter().map(|s| s.vpc_id.as_str()).collect();
    let vpc = match vpcs.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => one.to_string(),
        [] => return Err("no subnet found for the ALB — check [load_balancer] subnets".into()),
        several => {
            return Err(format!(
                "the ALB's subnets are in several VPCs ({}) — an ALB lives in one: fix [load_balancer] subnets",
                several.join(", ")
            ));
        }
    };
    let zones: BTreeSet<&str> = subnets.iter().map(|s| s.zone.as_str()).collect();
    if zones.len() < 2 {
        return Err(format!(
            "the ALB's subnets ({}) are all in {} — an ALB needs subnets in two Availability Zones or more: list them in [load_balancer] subnets",
            subnets
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            zones.iter().next().copied().unwrap_or("one zone")
        ));
    }
    if let Some(i) = instances
        .iter()
        .find(|i| i.vpc.as_deref().is_some_and(|v| v != vpc))
    {
        return Err(format!(
            "instance {} is in {}, not in the ALB's VPC {vpc} — a target group serves one VPC",
            i.id,
            i.vpc.as_deref().unwrap_or("another VPC")
        ));
    }
    Ok(vpc)
}

impl LbStep {
    fn site_certs(&self) -> Vec<SiteCert> {
        self.certificates
            .iter()
            .map(|w| SiteCert {
                site: w.name.clone(),
                arn: None,
            })
            .collect()
    }

    /// The issued certificate webtier holds in ACM for a site.
    async fn issued(&self, w: &AcmWanted) -> Result<Option<String>> {
        let client = acm::client(&self.clients, w.region.as_deref());
        let certs = acm::site_certificates(&client, &w.name, &self.owner).await?;
        Ok(pick(w, &certs)
            .filter(|c| c.status == "ISSUED")
            .map(|c| c.arn.clone()))
    }

    async fn certificate_arn(&self, cert: &SiteCert) -> Result<String> {
        if let Some(arn) = &cert.arn {
            return Ok(arn.clone());
        }
        let w = self
            .certificates
            .iter()
            .find(|w| w.name == cert.site)
            .with_context(|| format!("site {} has no tls = \"acm\" certificate", cert.site))?;
        self.issued(w).await?.with_context(|| {
            format!(
                "site {} has no issued ACM certificate yet — the cert step requests it before the lb step: see its output, then run `webtier apply` again",
                cert.site
            )
        })
    }

    async fn group_id(&self, group: &GroupRef) -> Result<String> {
        match elb::group(&self.clients, &group.name, &group.vpc_id, &self.owner).await? {
            Some(g) if g.owned => Ok(g.id),
            Some(g) => bail!(
                "security group {} ({}) was not created by webtier — webtier never changes it: remove it or choose another [load_balancer] name",
                group.name,
                g.id
            ),
            None => bail!(
                "security group {} is missing in {} (it is created earlier in the same plan) — run `webtier apply` again",
                group.name,
                group.vpc_id
            ),
        }
    }

    async fn alb_arn(&self, name: &str) -> Result<String> {
        match elb::load_balancer(&self.clients, name, &self.owner).await? {
            Some(a) if a.owned => Ok(a.arn),
            Some(_) => bail!(
                "load balancer {name} was not created by webtier — webtier never changes it: choose another [load_balancer] name"
            ),
            None => bail!(
                "load balancer {name} is missing (it is created earlier in the same plan) — run `webtier apply` again"
            ),
        }
    }

    async fn target_group_arn(&self, name: &str) -> Result<String> {
        match elb::target_group(&self.clients, name, &self.owner).await? {
            Some(t) if t.owned => Ok(t.arn),
            Some(_) => bail!(
                "target group {name} was not created by webtier — webtier never changes it: choose another [load_balancer] name"
            ),
            None => bail!(
                "target group {name} is missing (it is created earlier in the same plan) — run `webtier apply` again"
            ),
        }
    }

    fn forward(arn: &str) -> ElbAction {
        ElbAction::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(arn)
            .build()
    }

    fn redirect(to_port: u16) -> ElbAction {
        ElbAction::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port(to_port.to_string())
                    .host("#{host}")
                    .path("/#{path}")
                    .query("#{query}")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build()
    }

    async fn add_certificates(&self, listener: &str, certs: &[SiteCert]) -> Result<()> {
        if certs.is_empty() {
            return Ok(());
        }
        let mut list = Vec::with_capacity(certs.len());
        for c in certs {
            list.push(
                Certificate::builder()
                    .certificate_arn(self.certificate_arn(c).await?)
                    .build(),
            );
        }
        self.clients
            .elb
            .add_listener_certificates()
            .listener_arn(listener)
            .set_certificates(Some(list))
            .send()
            .await
            .map_err(|e| api_error("elasticloadbalancing:AddListenerCertificates", e))?;
        Ok(())
    }

    /// The webtier listener on `port` of the ALB `name`, if there is one
    /// (a retried create finds the first attempt's).
    async fn listener_on(&self, alb_arn: &str, port: u16) -> Result<Option<elb::Listener>> {
        Ok(elb::listeners(&self.clients, alb_arn, &self.owner)
            .await?
            .into_iter()
            .find(|l| l.port == port))
    }

    async fn set_ingress(&self, group: &GroupRef, port: u16, cidr: &IpNet) -> Result<()> {
        let id = self.group_id(group).await?;
        ingress::authorize_cidr(&self.clients, &id, port, cidr).await
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        let deadline = Instant::now() + GROUP_RELEASE;
        let mut pause = Duration::from_secs(2);
        loop {
            match self
                .clients
                .ec2
                .delete_security_group()
                .group_id(id)
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if error_code(&e) == Some("InvalidGroup.NotFound") => return Ok(()),
                // The deleted ALB's network interfaces still hold it.
                Err(e)
                    if error_code(&e) == Some("DependencyViolation")
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(20));
                }
                Err(e) => return Err(api_error("ec2:DeleteSecurityGroup", e)),
            }
        }
    }
}

impl Step for LbStep {
    type Observed = LbState;
    type Operation = LbOp;

    fn name(&self) -> StepName {
        StepName::Lb
    }

    async fn observe(&self) -> Result<LbState> {
        let name = &self.alb.name;
        if self.destroy {
            // The instances may be gone: find what webtier made by name.
            let alb = elb::load_balancer(&self.clients, name, &self.owner).await?;
            let listeners = match alb.as_ref().filter(|a| a.owned) {
                Some(a) => elb::listeners(&self.clients, &a.arn, &self.owner).await?,
                None => Vec::new(),
            };
            let target_group = elb::target_group(&self.clients, name, &self.owner).await?;
            let vpc_id = alb
                .as_ref()
                .map(|a| a.vpc_id.clone())
                .or_else(|| target_group.as_ref().map(|t| t.vpc_id.clone()))
                .unwrap_or_default();
            let group = if vpc_id.is_empty() {
                None
            } else {
                elb::group(&self.clients, &elb::group_name(name), &vpc_id, &self.owner).await?
            };
            return Ok(LbState {
                vpc_id,
                subnets: Vec::new(),
                instances: Vec::new(),
                group,
                group_rules: Vec::new(),
                alb,
                listeners,
                target_group,
                certificates: Vec::new(),
            });
        }
        let found = instances::resolve(&self.clients, &self.target).await?;
        let subnet_ids = choose_subnets(&self.alb, &found).map_err(anyhow::Error::msg)?;
        let subnets = elb::subnets(&self.clients, &subnet_ids).await?;
        let vpc_id = check_network(&subnets, &found).map_err(anyhow::Error::msg)?;
        let group = elb::group(&self.clients, &elb::group_name(name), &vpc_id, &self.owner).await?;
        if let Some(g) = group.as_ref().filter(|g| !g.owned) {
            bail!(
                "security group {} ({}) exists in {vpc_id} and was not created by webtier — webtier never changes it: remove it or choose another [load_balancer] name",
                elb::group_name(name),
                g.id
            );
        }
        let group_rules = match &group {
            Some(g) => ingress::ingress_rules(&self.clients, vec![g.id.clone()])
                .await?
                .remove(&g.id)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let alb = elb::load_balancer(&self.clients, name, &self.owner).await?;
        if alb.as_ref().is_some_and(|a| !a.owned) {
            bail!(
                "load balancer {name} exists and was not created by webtier (it lacks the tags managed-by=webtier and webtier-owner={}) — webtier never changes it: choose another [load_balancer] name",
                self.owner
            );
        }
        let listeners = match &alb {
            Some(a) => elb::listeners(&self.clients, &a.arn, &self.owner).await?,
            None => Vec::new(),
        };
        let target_group = elb::target_group(&self.clients, name, &self.owner).await?;
        if target_group.as_ref().is_some_and(|t| !t.owned) {
            bail!(
                "target group {name} exists and was not created by webtier — webtier never changes it: choose another [load_balancer] name"
            );
        }
        let mut certificates = self.site_certs();
        for (cert, w) in certificates.iter_mut().zip(&self.certificates) {
            cert.arn = self.issued(w).await?;
        }
        Ok(LbState {
            vpc_id,
            subnets: subnets.into_iter().map(|s| s.id).collect(),
            instances: found.into_iter().map(|i| i.id).collect(),
            group,
            group_rules,
            alb,
            listeners,
            target_group,
            certificates,
        })
    }

    fn diff(&self, observed: &LbState) -> Vec<Planned<LbOp>> {
        if self.destroy {
            return teardown(observed);
        }
        // An IPv4-only ALB has no IPv6 address to open.
        let ingress: Vec<IpNet> = self
            .target
            .ingress_cidrs
            .iter()
            .filter(|c| self.alb.ipv6 || matches!(c, IpNet::V4(_)))
            .copied()
            .collect();
        diff(
            &Desired {
                alb: &self.alb,
                ingress: &ingress,
                certificates: &observed.certificates,
            },
            observed,
        )
    }

    fn conflicts(&self, observed: &LbState) -> Vec<Conflict> {
        conflicts(&self.alb, observed, self.destroy)
    }

    async fn apply(&self, op: &LbOp) -> Result<()> {
        let elb_client = &self.clients.elb;
        match op {
            LbOp::CreateGroup { group } => {
                if elb::group(&self.clients, &group.name, &group.vpc_id, &self.owner)
                    .await?
                    .is_some()
                {
                    return Ok(());
                }
                let mut tags =
                    TagSpecification::builder().resource_type(ResourceType::SecurityGroup);
                for t in elb::tags(&self.owner) {
                    tags = tags.tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key(t.key().unwrap_or_default())
                            .value(t.value().unwrap_or_default())
                            .build(),
                    );
                }
                match self
                    .clients
                    .ec2
                    .create_security_group()
                    .group_name(&group.name)
                    .description(format!(
                        "webtier: the load balancer {} (managed-by=webtier)",
                        self.alb.name
                    ))
                    .vpc_id(&group.vpc_id)
                    .tag_specifications(tags.build())
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if error_code(&e) == Some("InvalidGroup.Duplicate") => Ok(()),
                    Err(e) => Err(api_error("ec2:CreateSecurityGroup", e)),
                }
            }
            LbOp::AuthorizeIngress { group, port, cidr } => {
                self.set_ingress(group, *port, cidr).await
            }
            LbOp::RevokeIngress { group_id, rule_id } => {
                ingress::revoke(&self.clients, group_id, rule_id).await
            }
            LbOp::CreateTargetGroup {
                name,
                port,
                vpc_id,
                health,
            } => {
                if elb::target_group(&self.clients, name, &self.owner)
                    .await?
                    .is_some()
                {
                    return Ok(());
                }
                let create = elb_client
                    .create_target_group()
                    .name(name)
                    .protocol(ProtocolEnum::Http)
                    .port(i32::from(*port))
                    .vpc_id(vpc_id)
                    .target_type(TargetTypeEnum::Instance)
                    .set_tags(Some(elb::tags(&self.owner)));
                with_health_check!(create, health)
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:CreateTargetGroup", e))?;
                Ok(())
            }
            LbOp::SetHealthCheck { name, health } => {
                let arn = self.target_group_arn(name).await?;
                let modify = elb_client.modify_target_group().target_group_arn(arn);
                with_health_check!(modify, health)
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:ModifyTargetGroup", e))?;
                Ok(())
            }
            LbOp::SetDeregistrationDelay { name, seconds } => {
                let arn = self.target_group_arn(name).await?;
                elb_client
                    .modify_target_group_attributes()
                    .target_group_arn(arn)
                    .attributes(
                        TargetGroupAttribute::builder()
                            .key("deregistration_delay.timeout_seconds")
                            .value(seconds.to_string())
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        api_error("elasticloadbalancing:ModifyTargetGroupAttributes", e)
                    })?;
                Ok(())
            }
            LbOp::RegisterTargets { name, port, ids } => {
                let arn = self.target_group_arn(name).await?;
                elb_client
                    .register_targets()
                    .target_group_arn(arn)
                    .set_targets(Some(
                        ids.iter()
                            .map(|id| {
                                TargetDescription::builder()
                                    .id(id)
                                    .port(i32::from(*port))
                                    .build()
                            })
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:RegisterTargets", e))?;
                Ok(())
            }
            LbOp::DeregisterTargets { name, ids } => {
                let arn = self.target_group_arn(name).await?;
                let result = elb_client
                    .deregister_targets()
                    .target_group_arn(arn)
                    .set_targets(Some(
                        ids.iter()
                            .map(|id| TargetDescription::builder().id(id).build())
                            .collect(),
                    ))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if error_code(&e) == Some("InvalidTarget") => Ok(()),
                    Err(e) => Err(api_error("elasticloadbalancing:DeregisterTargets", e)),
                }
            }
            LbOp::CreateLoadBalancer {
                name,
                subnets,
                ipv6,
                group,
            } => {
                if elb::load_balancer(&self.clients, name, &self.owner)
                    .await?
                    .is_some()
                {
                    return Ok(());
                }
                let group_id = self.group_id(group).await?;
                elb_client
                    .create_load_balancer()
                    .name(name)
                    .set_subnets(Some(subnets.clone()))
                    .security_groups(group_id)
                    .scheme(LoadBalancerSchemeEnum::InternetFacing)
                    .r#type(LoadBalancerTypeEnum::Application)
                    .ip_address_type(if *ipv6 {
                        IpAddressType::Dualstack
                    } else {
                        IpAddressType::Ipv4
                    })
                    .set_tags(Some(elb::tags(&self.owner)))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:CreateLoadBalancer", e))?;
                Ok(())
            }
            LbOp::SetSubnets { name, subnets } => {
                let arn = self.alb_arn(name).await?;
                elb_client
                    .set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(subnets.clone()))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:SetSubnets", e))?;
                Ok(())
            }
            LbOp::SetSecurityGroup { name, group } => {
                let arn = self.alb_arn(name).await?;
                let id = self.group_id(group).await?;
                elb_client
                    .set_security_groups()
                    .load_balancer_arn(arn)
                    .security_groups(id)
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:SetSecurityGroups", e))?;
                Ok(())
            }
            LbOp::SetIpv6 { name, ipv6 } => {
                let arn = self.alb_arn(name).await?;
                elb_client
                    .set_ip_address_type()
                    .load_balancer_arn(arn)
                    .ip_address_type(if *ipv6 {
                        IpAddressType::Dualstack
                    } else {
                        IpAddressType::Ipv4
                    })
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:SetIpAddressType", e))?;
                Ok(())
            }
            LbOp::SetIdleTimeout { name, seconds } => {
                let arn = self.alb_arn(name).await?;
                elb_client
                    .modify_load_balancer_attributes()
                    .load_balancer_arn(arn)
                    .attributes(
                        LoadBalancerAttribute::builder()
                            .key("idle_timeout.timeout_seconds")
                            .value(seconds.to_string())
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        api_error("elasticloadbalancing:ModifyLoadBalancerAttributes", e)
                    })?;
                Ok(())
            }
            LbOp::CreateRedirectListener {
                name,
                port,
                to_port,
            } => {
                let alb = self.alb_arn(name).await?;
                if self.listener_on(&alb, *port).await?.is_some() {
                    return Ok(());
                }
                elb_client
                    .create_listener()
                    .load_balancer_arn(alb)
                    .protocol(ProtocolEnum::Http)
                    .port(i32::from(*port))
                    .default_actions(Self::redirect(*to_port))
                    .set_tags(Some(elb::tags(&self.owner)))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:CreateListener", e))?;
                Ok(())
            }
            LbOp::CreateHttpsListener {
                name,
                port,
                certificates,
            } => {
                let alb = self.alb_arn(name).await?;
                let (first, others) = certificates
                    .split_first()
                    .context("an HTTPS listener needs a certificate")?;
                let listener = match self.listener_on(&alb, *port).await? {
                    Some(l) => l.arn,
                    None => {
                        let tg = self.target_group_arn(name).await?;
                        let created = elb_client
                            .create_listener()
                            .load_balancer_arn(&alb)
                            .protocol(ProtocolEnum::Https)
                            .port(i32::from(*port))
                            .ssl_policy(SSL_POLICY)
                            .certificates(
                                Certificate::builder()
                                    .certificate_arn(self.certificate_arn(first).await?)
                                    .build(),
                            )
                            .default_actions(Self::forward(&tg))
                            .set_tags(Some(elb::tags(&self.owner)))
                            .send()
                            .await
                            .map_err(|e| api_error("elasticloadbalancing:CreateListener", e))?;
                        created
                            .listeners()
                            .first()
                            .and_then(|l| l.listener_arn())
                            .context("CreateListener answered without the listener")?
                            .to_string()
                    }
                };
                self.add_certificates(&listener, others).await
            }
            LbOp::SetRedirect { arn, to_port } => {
                elb_client
                    .modify_listener()
                    .listener_arn(arn)
                    .protocol(ProtocolEnum::Http)
                    .default_actions(Self::redirect(*to_port))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:ModifyListener", e))?;
                Ok(())
            }
            LbOp::SetForward {
                arn,
                name,
                certificate,
            } => {
                let tg = self.target_group_arn(name).await?;
                elb_client
                    .modify_listener()
                    .listener_arn(arn)
                    .protocol(ProtocolEnum::Https)
                    .ssl_policy(SSL_POLICY)
                    .certificates(
                        Certificate::builder()
                            .certificate_arn(self.certificate_arn(certificate).await?)
                            .build(),
                    )
                    .default_actions(Self::forward(&tg))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:ModifyListener", e))?;
                Ok(())
            }
            LbOp::AddCertificates { arn, certificates } => {
                self.add_certificates(arn, certificates).await
            }
            LbOp::RemoveCertificates { arn, arns } => {
                elb_client
                    .remove_listener_certificates()
                    .listener_arn(arn)
                    .set_certificates(Some(
                        arns.iter()
                            .map(|a| Certificate::builder().certificate_arn(a).build())
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:RemoveListenerCertificates", e))?;
                Ok(())
            }
            LbOp::DeleteListener { arn } => {
                match elb_client.delete_listener().listener_arn(arn).send().await {
                    Ok(_) => Ok(()),
                    Err(e) if error_code(&e) == Some("ListenerNotFound") => Ok(()),
                    Err(e) => Err(api_error("elasticloadbalancing:DeleteListener", e)),
                }
            }
            LbOp::DeleteLoadBalancer { arn } => {
                // Deleting an ALB that is gone succeeds.
                elb_client
                    .delete_load_balancer()
                    .load_balancer_arn(arn)
                    .send()
                    .await
                    .map_err(|e| api_error("elasticloadbalancing:DeleteLoadBalancer", e))?;
                Ok(())
            }
            LbOp::DeleteTargetGroup { arn } => {
                match elb_client
                    .delete_target_group()
                    .target_group_arn(arn)
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if error_code(&e) == Some("TargetGroupNotFound") => Ok(()),
                    Err(e) => Err(api_error("elasticloadbalancing:DeleteTargetGroup", e)),
                }
            }
            LbOp::DeleteGroup { id } => self.delete_group(id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlbHealthCheck;

    fn alb() -> Alb {
        Alb {
            name: "shop".into(),
            subnets: Subnets::Instances,
            ipv6: false,
            http_port: 80,
            https_port: 443,
            target_port: 80,
            idle_timeout_s: 60,
            deregistration_delay_s: 300,
            health_check: AlbHealthCheck {
                path: "/".into(),
                site: None,
                interval_s: 30,
                timeout_s: 5,
                healthy_threshold: 5,
                unhealthy_threshold: 2,
                matcher: "200-399".into(),
            },
        }
    }

    fn cert() -> Vec<SiteCert> {
        vec![SiteCert {
            site: "example.com".into(),
            arn: Some("arn:cert".into()),
        }]
    }

    fn nothing(instances: &[&str]) -> LbState {
        LbState {
            vpc_id: "vpc-1".into(),
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            instances: instances.iter().map(|i| i.to_string()).collect(),
            group: None,
            group_rules: Vec::new(),
            alb: None,
            listeners: Vec::new(),
            target_group: None,
            certificates: cert(),
        }
    }

    /// What one apply of `nothing` makes, as observed afterwards.
    fn converged(instances: &[&str]) -> LbState {
        let a = alb();
        let health = Desired {
            alb: &a,
            ingress: &[],
            certificates: &[],
        }
        .health();
        LbState {
            group: Some(elb::Group {
                id: "sg-alb".into(),
                owned: true,
            }),
            group_rules: [80, 443]
                .iter()
                .enumerate()
                .map(|(i, p)| Rule {
                    id: format!("sgr-{i}"),
                    protocol: "tcp".into(),
                    from_port: *p,
                    to_port: *p,
                    cidr: "0.0.0.0/0".parse().unwrap(),
                    description: Some(MANAGED.into()),
                })
                .collect(),
            alb: Some(elb::Alb {
                arn: "arn:alb".into(),
                dns_name: "shop-1.elb".into(),
                zone_id: "Z1".into(),
                vpc_id: "vpc-1".into(),
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                security_groups: vec!["sg-alb".into()],
                ipv6: false,
                owned: true,
                idle_timeout_s: Some(60),
            }),
            listeners: vec![
                elb::Listener {
                    arn: "arn:l80".into(),
                    port: 80,
                    protocol: "HTTP".into(),
                    owned: true,
                    default: ListenerDefault::RedirectHttps {
                        port: "443".into(),
                        permanent: true,
                    },
                    certificate: None,
                    extra_certificates: Vec::new(),
                },
                elb::Listener {
                    arn: "arn:l443".into(),
                    port: 443,
                    protocol: "HTTPS".into(),
                    owned: true,
                    default: ListenerDefault::Forward {
                        target_groups: vec!["arn:tg".into()],
                    },
                    certificate: Some("arn:cert".into()),
                    extra_certificates: Vec::new(),
                },
            ],
            target_group: Some(elb::TargetGroup {
                arn: "arn:tg".into(),
                port: 80,
                protocol: "HTTP".into(),
                vpc_id: "vpc-1".into(),
                owned: true,
                health: Some(health),
                deregistration_delay_s: Some(300),
                targets: instances
                    .iter()
                    .map(|i| elb::Target {
                        id: i.to_string(),
                        port: 80,
                        state: "healthy".into(),
                        reason: None,
                    })
                    .collect(),
            }),
            ..nothing(instances)
        }
    }

    fn plan(o: &LbState) -> Vec<Planned<LbOp>> {
        let a = alb();
        let ingress: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap()];
        diff(
            &Desired {
                alb: &a,
                ingress: &ingress,
                certificates: &o.certificates,
            },
            o,
        )
    }

    #[test]
    fn from_nothing_everything_is_made_in_dependency_order() {
        let kinds: Vec<String> = plan(&nothing(&["i-1", "i-2"]))
            .iter()
            .map(|p| {
                serde_json::to_value(&p.operation).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "create_group",
                "authorize_ingress",
                "authorize_ingress",
                "create_target_group",
                "register_targets",
                "create_load_balancer",
                "create_redirect_listener",
                "create_https_listener"
            ]
        );
    }

    #[test]
    fn a_converged_state_needs_nothing() {
        assert_eq!(plan(&converged(&["i-1", "i-2"])), Vec::new());
        assert!(
            teardown(&converged(&["i-1"])).len() == 5,
            "2 listeners, ALB, TG, group"
        );
    }

    #[test]
    fn targets_follow_the_instances() {
        let mut o = converged(&["i-1", "i-2"]);
        o.instances = vec!["i-2".into(), "i-3".into()];
        let ops: Vec<LbOp> = plan(&o).into_iter().map(|p| p.operation).collect();
        assert_eq!(
            ops,
            [
                LbOp::RegisterTargets {
                    name: "shop".into(),
                    port: 80,
                    ids: vec!["i-3".into()]
                },
                LbOp::DeregisterTargets {
                    name: "shop".into(),
                    ids: vec!["i-1".into()]
                }
            ]
        );
    }

    #[test]
    fn a_listener_webtier_did_not_make_is_left_and_keeps_the_alb_on_destroy() {
        let mut o = converged(&["i-1"]);
        o.listeners[0].owned = false;
        assert_eq!(plan(&o), Vec::new(), "not changed");
        let c = conflicts(&alb(), &o, false);
        assert!(c[0].reason.contains("choose another http_port"), "{c:?}");
        assert!(teardown(&o).is_empty(), "the ALB and what it uses stay");
        assert!(conflicts(&alb(), &o, true)[0].reason.contains("is left"));
    }

    #[test]
    fn a_new_target_port_replaces_the_target_group_after_its_listener() {
        let mut o = converged(&["i-1"]);
        o.target_group.as_mut().unwrap().port = 8080;
        let kinds: Vec<String> = plan(&o)
            .iter()
            .map(|p| {
                serde_json::to_value(&p.operation).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "delete_listener",
                "delete_target_group",
                "create_target_group",
                "register_targets",
                "create_https_listener"
            ]
        );
    }

    #[test]
    fn the_network_must_span_two_zones_of_one_vpc() {
        let subnet = |id: &str, vpc: &str, zone: &str| elb::Subnet {
            id: id.into(),
            vpc_id: vpc.into(),
            zone: zone.into(),
        };
        let one_zone = [subnet("s-a", "vpc-1", "z-a"), subnet("s-b", "vpc-1", "z-a")];
        assert!(
            check_network(&one_zone, &[])
                .unwrap_err()
                .contains("two Availability Zones")
        );
        let two_vpcs = [subnet("s-a", "vpc-1", "z-a"), subnet("s-b", "vpc-2", "z-b")];
        assert!(
            check_network(&two_vpcs, &[])
                .unwrap_err()
                .contains("several VPCs")
        );
        let good = [subnet("s-a", "vpc-1", "z-a"), subnet("s-b", "vpc-1", "z-b")];
        assert_eq!(check_network(&good, &[]), Ok("vpc-1".into()));
    }
}
