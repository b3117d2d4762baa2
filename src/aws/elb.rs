//! Application Load Balancers (Elastic Load Balancing v2): what the `lb`
//! step reads of the ALB, target group and listeners webtier manages, by
//! name, with their tags, and the ALB's security group and subnets (EC2).
//! Ownership is the tags of the ACM certificates: `managed-by=webtier` and
//! `webtier-owner=<[dns] owner>`; a resource without both is never changed.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use aws_sdk_ec2::types::Filter;
use aws_sdk_elasticloadbalancingv2::types::{ActionTypeEnum, Tag};
use serde::{Deserialize, Serialize};

use super::acm::{MANAGED_BY, OWNER_TAG};
use super::{Clients, api_error, error_code};

/// webtier's tags on a resource it creates.
pub fn tags(owner: &str) -> Vec<Tag> {
    vec![
        Tag::builder().key(MANAGED_BY.0).value(MANAGED_BY.1).build(),
        Tag::builder().key(OWNER_TAG).value(owner).build(),
    ]
}

/// Whether `tags` say this webtier (`owner`) made the resource.
pub fn owned(tags: &BTreeMap<String, String>, owner: &str) -> bool {
    tags.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
        && tags.get(OWNER_TAG).map(String::as_str) == Some(owner)
}

/// The security group webtier gives the ALB of `[load_balancer] name`.
pub fn group_name(alb: &str) -> String {
    format!("webtier-alb-{alb}")
}

/// The ALB's security group, by name in its VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub name: String,
    pub vpc_id: String,
}

/// An ALB as the lb step compares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alb {
    pub arn: String,
    pub dns_name: String,
    /// The ALB's canonical hosted zone (for alias records).
    pub zone_id: String,
    pub vpc_id: String,
    /// Sorted.
    pub subnets: Vec<String>,
    /// Sorted.
    pub security_groups: Vec<String>,
    pub ipv6: bool,
    pub owned: bool,
    /// `idle_timeout.timeout_seconds` (read for webtier's own ALB only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_s: Option<u32>,
}

/// A target group's health check, as configured on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub path: String,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: String,
}

/// One registered target and its health as the ALB sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: String,
    pub port: u16,
    /// initial, healthy, unhealthy, unused, draining, unavailable.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroup {
    pub arn: String,
    pub port: u16,
    pub protocol: String,
    pub vpc_id: String,
    pub owned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deregistration_delay_s: Option<u32>,
    /// Registered targets, sorted by id (webtier's own group only).
    pub targets: Vec<Target>,
}

/// What a listener does by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Default {
    /// To HTTPS on `port`, 301.
    RedirectHttps {
        port: String,
        permanent: bool,
    },
    Forward {
        target_groups: Vec<String>,
    },
    Other {
        what: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    pub arn: String,
    pub port: u16,
    pub protocol: String,
    pub owned: bool,
    pub default: Default,
    /// The default certificate (HTTPS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The other certificates (SNI), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_certificates: Vec<String>,
}

/// A subnet: its VPC and Availability Zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub zone: String,
}

fn elb_tags_map(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The tags of ELB resources, by ARN (DescribeTags takes 20 at a time).
async fn tags_of(
    clients: &Clients,
    arns: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut out = BTreeMap::new();
    for chunk in arns.chunks(20) {
        let described = clients
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| api_error("elasticloadbalancing:DescribeTags", e))?;
        for d in described.tag_descriptions() {
            if let Some(arn) = d.resource_arn() {
                out.insert(arn.to_string(), elb_tags_map(d.tags()));
            }
        }
    }
    Ok(out)
}

/// The ALB named `name`, if there is one.
pub async fn load_balancer(clients: &Clients, name: &str, owner: &str) -> Result<Option<Alb>> {
    let found = clients
        .elb
        .describe_load_balancers()
        .names(name)
        .send()
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) if error_code(&e) == Some("LoadBalancerNotFound") => return Ok(None),
        Err(e) => return Err(api_error("elasticloadbalancing:DescribeLoadBalancers", e)),
    };
    let Some(lb) = found.load_balancers().first() else {
        return Ok(None);
    };
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let tags = tags_of(clients, std::slice::from_ref(&arn)).await?;
    let owned = tags.get(&arn).is_some_and(|t| owned(t, owner));
    let mut subnets: Vec<String> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_string))
        .collect();
    subnets.sort();
    let mut security_groups = lb.security_groups().to_vec();
    security_groups.sort();
    let idle_timeout_s = if owned {
        let attributes = clients
            .elb
            .describe_load_balancer_attributes()
            .load_balancer_arn(&arn)
            .send()
            .await
            .map_err(|e| api_error("elasticloadbalancing:DescribeLoadBalancerAttributes", e))?;
        attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some("idle_timeout.timeout_seconds"))
            .and_then(|a| a.value()?.parse().ok())
            // Not listed: AWS's default.
            .or(Some(60))
    } else {
        None
    };
    Ok(Some(Alb {
        arn,
        dns_name: lb
            .dns_name()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase(),
        zone_id: lb
            .canonical_hosted_zone_id()
            .unwrap_or_default()
            .to_string(),
        vpc_id: lb.vpc_id().unwrap_or_default().to_string(),
        subnets,
        security_groups,
        ipv6: lb
            .ip_address_type()
            .is_some_and(|t| t.as_str().starts_with("dualstack")),
        owned,
        idle_timeout_s,
    }))
}

/// The target group named `name`, if there is one, with its targets'
/// health when it is webtier's.
pub async fn target_group(
    clients: &Clients,
    name: &str,
    owner: &str,
) -> Result<Option<TargetGroup>> {
    let found = clients
        .elb
        .describe_target_groups()
        .names(name)
        .send()
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) if error_code(&e) == Some("TargetGroupNotFound") => return Ok(None),
        Err(e) => return Err(api_error("elasticloadbalancing:DescribeTargetGroups", e)),
    };
    let Some(tg) = found.target_groups().first() else {
        return Ok(None);
    };
    let arn = tg.target_group_arn().unwrap_or_default().to_string();
    let tags = tags_of(clients, std::slice::from_ref(&arn)).await?;
    let owned = tags.get(&arn).is_some_and(|t| owned(t, owner));
    let mut group = TargetGroup {
        arn: arn.clone(),
        port: tg.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        protocol: tg.protocol().map_or("", |p| p.as_str()).to_string(),
        vpc_id: tg.vpc_id().unwrap_or_default().to_string(),
        owned,
        health: None,
        deregistration_delay_s: None,
        targets: Vec::new(),
    };
    if !owned {
        return Ok(Some(group));
    }
    let count = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    group.health = Some(HealthCheck {
        path: tg.health_check_path().unwrap_or("/").to_string(),
        interval_s: count(tg.health_check_interval_seconds()),
        timeout_s: count(tg.health_check_timeout_seconds()),
        healthy_threshold: count(tg.healthy_threshold_count()),
        unhealthy_threshold: count(tg.unhealthy_threshold_count()),
        matcher: tg
            .matcher()
            .and_then(|m| m.http_code())
            .unwrap_or("200")
            .to_string(),
    });
    let attributes = clients
        .elb
        .describe_target_group_attributes()
        .target_group_arn(&arn)
        .send()
        .await
        .map_err(|e| api_error("elasticloadbalancing:DescribeTargetGroupAttributes", e))?;
    group.deregistration_delay_s = attributes
        .attributes()
        .iter()
        .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|a| a.value()?.parse().ok())
        // Not listed: AWS's default.
        .or(Some(300));
    group.targets = targets(clients, &arn).await?;
    Ok(Some(group))
}

/// The registered targets of a target group and their health.
pub async fn targets(clients: &Clients, arn: &str) -> Result<Vec<Target>> {
    let health = clients
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| api_error("elasticloadbalancing:DescribeTargetHealth", e))?;
    let mut out: Vec<Target> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| {
            let target = d.target()?;
            let state = d
                .target_health()
                .and_then(|h| h.state())
                .map_or("unknown", |s| s.as_str())
                .to_string();
            Some(Target {
                id: target.id()?.to_string(),
                port: target
                    .port()
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
                reason: d
                    .target_health()
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_string()),
                state,
            })
        })
        // Deregistered targets still draining are on their way out.
        .filter(|t| t.state != "draining")
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The listeners of an ALB, with their tags and certificates.
pub async fn listeners(clients: &Clients, lb_arn: &str, owner: &str) -> Result<Vec<Listener>> {
    let found = clients
        .elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .map_err(|e| api_error("elasticloadbalancing:DescribeListeners", e))?;
    let arns: Vec<String> = found
        .listeners()
        .iter()
        .filter_map(|l| l.listener_arn().map(str::to_string))
        .collect();
    let tags = tags_of(clients, &arns).await?;
    let mut out = Vec::new();
    for l in found.listeners() {
        let arn = l.listener_arn().unwrap_or_default().to_string();
        let default = match l.default_actions().first() {
            Some(a) if a.r#type() == Some(&ActionTypeEnum::Redirect) => {
                let r = a.redirect_config();
                match r {
                    Some(r) if r.protocol() == Some("HTTPS") => Default::RedirectHttps {
                        port: r.port().unwrap_or("#{port}").to_string(),
                        permanent: r.status_code().is_some_and(|c| c.as_str() == "HTTP_301"),
                    },
                    _ => Default::Other {
                        what: "redirect".into(),
                    },
                }
            }
            Some(a) if a.r#type() == Some(&ActionTypeEnum::Forward) => {
                let mut groups: Vec<String> = a
                    .forward_config()
                    .map(|f| {
                        f.target_groups()
                            .iter()
                            .filter_map(|t| t.target_group_arn().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(tg) = a.target_group_arn()
                    && !groups.iter().any(|g| g == tg)
                {
                    groups.push(tg.to_string());
                }
                groups.sort();
                Default::Forward {
                    target_groups: groups,
                }
            }
            Some(a) => Default::Other {
                what: a.r#type().map_or("unknown", |t| t.as_str()).to_string(),
            },
            None => Default::Other {
                what: "none".into(),
            },
        };
        let protocol = l.protocol().map_or("", |p| p.as_str()).to_string();
        let owned = tags.get(&arn).is_some_and(|t| owned(t, owner));
        let certificate = l
            .certificates()
            .first()
            .and_then(|c| c.certificate_arn())
            .map(str::to_string);
        let mut extra_certificates = Vec::new();
        if owned && protocol == "HTTPS" {
            let listed = clients
                .elb
                .describe_listener_certificates()
                .listener_arn(&arn)
                .send()
                .await
                .map_err(|e| api_error("elasticloadbalancing:DescribeListenerCertificates", e))?;
            extra_certificates = listed
                .certificates()
                .iter()
                .filter(|c| c.is_default() != Some(true))
                .filter_map(|c| c.certificate_arn().map(str::to_string))
                .filter(|c| Some(c) != certificate.as_ref())
                .collect();
            extra_certificates.sort();
            extra_certificates.dedup();
        }
        out.push(Listener {
            arn,
            port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
            protocol,
            owned,
            default,
            certificate,
            extra_certificates,
        });
    }
    out.sort_by_key(|l| l.port);
    Ok(out)
}

/// The subnets `ids`, with their VPC and zone; an unknown id is an error
/// naming it.
pub async fn subnets(clients: &Clients, ids: &[String]) -> Result<Vec<Subnet>> {
    let found = clients
        .ec2
        .describe_subnets()
        .set_subnet_ids(Some(ids.to_vec()))
        .send()
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) if error_code(&e) == Some("InvalidSubnetID.NotFound") => {
            let detail = aws_sdk_ec2::error::ProvideErrorMetadata::message(&e)
                .unwrap_or("a subnet was not found")
                .to_string();
            return Err(anyhow!(
                "{detail} in region {} — check [load_balancer] subnets",
                clients.region
            ));
        }
        Err(e) => return Err(api_error("ec2:DescribeSubnets", e)),
    };
    let mut out: Vec<Subnet> = found
        .subnets()
        .iter()
        .map(|s| Subnet {
            id: s.subnet_id().unwrap_or_default().to_string(),
            vpc_id: s.vpc_id().unwrap_or_default().to_string(),
            zone: s.availability_zone().unwrap_or_default().to_string(),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// A security group found by name in a VPC, and whether webtier made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: String,
    pub owned: bool,
}

/// The security group named `name` in `vpc_id`, if any.
pub async fn group(
    clients: &Clients,
    name: &str,
    vpc_id: &str,
    owner: &str,
) -> Result<Option<Group>> {
    let found = clients
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .map_err(|e| api_error("ec2:DescribeSecurityGroups", e))?;
    Ok(found.security_groups().first().map(|g| {
        let tags: BTreeMap<String, String> = g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect();
        Group {
            id: g.group_id().unwrap_or_default().to_string(),
            owned: owned(&tags, owner),
        }
    }))
}
