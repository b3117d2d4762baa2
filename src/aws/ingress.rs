//! Security-group ingress rules as webtier reads them (DescribeSecurityGroupRules):
//! those open to an address range, and those whose source is another
//! group. The firewall and lb steps judge and change them; status reads
//! them through the firewall step.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroupRule, Tag,
    TagSpecification, UserIdGroupPair,
};
use ipnet::IpNet;
use serde::Serialize;

use super::{Clients, api_error, error_code};

/// The description of every rule webtier adds; the mark of ownership.
pub const MANAGED: &str = "managed-by=webtier";

/// An ingress rule with an address range (rules that reference other
/// groups or prefix lists never count as "open to these addresses").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    /// `tcp`, `udp`, `icmp`, … or `-1` for all.
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub cidr: IpNet,
    pub description: Option<String>,
}

/// An ingress rule whose source is another security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRule {
    pub id: String,
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    /// The source group's id.
    pub source: String,
    pub description: Option<String>,
    /// Tagged `managed-by=webtier` (webtier tags the rules it adds from a
    /// group besides describing them: moto keeps no description on them).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tagged: bool,
}

impl SourceRule {
    /// Whether this rule lets `source` reach tcp/`port`.
    pub fn covers(&self, port: u16, source: &str) -> bool {
        let protocol = self.protocol == "-1" || self.protocol == "tcp" || self.protocol == "6";
        let ports = self.protocol == "-1"
            || (self.from_port <= i32::from(port) && i32::from(port) <= self.to_port);
        protocol && ports && self.source == source
    }

    pub fn is_managed(&self) -> bool {
        self.description.as_deref() == Some(MANAGED) || self.tagged
    }
}

impl Rule {
    /// Whether this rule already lets `cidr` reach tcp/`port`.
    pub fn covers(&self, port: u16, cidr: &IpNet) -> bool {
        let protocol = self.protocol == "-1"
            || self.protocol.eq_ignore_ascii_case("tcp")
            || self.protocol == "6";
        let ports = self.protocol == "-1"
            || (self.from_port <= i32::from(port) && i32::from(port) <= self.to_port);
        protocol && ports && self.cidr.contains(cidr)
    }

    pub fn is_managed(&self) -> bool {
        self.description.as_deref() == Some(MANAGED)
    }
}

fn convert_source_rule(r: &SecurityGroupRule) -> Option<(String, SourceRule)> {
    if r.is_egress() != Some(false) {
        return None;
    }
    let source = r.referenced_group_info()?.group_id()?.to_string();
    Some((
        r.group_id()?.to_string(),
        SourceRule {
            id: r.security_group_rule_id()?.to_string(),
            protocol: r.ip_protocol().unwrap_or("-1").to_ascii_lowercase(),
            from_port: r.from_port().unwrap_or(-1),
            to_port: r.to_port().unwrap_or(-1),
            source,
            description: r
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            tagged: r.tags().iter().any(|t| {
                t.key() == Some(crate::aws::acm::MANAGED_BY.0)
                    && t.value() == Some(crate::aws::acm::MANAGED_BY.1)
            }),
        },
    ))
}

fn convert_rule(r: &SecurityGroupRule) -> Option<(String, Rule)> {
    if r.is_egress() != Some(false) {
        return None;
    }
    let cidr: IpNet = r.cidr_ipv4().or(r.cidr_ipv6())?.parse().ok()?;
    Some((
        r.group_id()?.to_string(),
        Rule {
            id: r.security_group_rule_id()?.to_string(),
            protocol: r.ip_protocol().unwrap_or("-1").to_ascii_lowercase(),
            from_port: r.from_port().unwrap_or(-1),
            to_port: r.to_port().unwrap_or(-1),
            cidr,
            description: r
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        },
    ))
}

/// The ingress rules with an address range of `group_ids`, by group,
/// sorted by rule id.
pub async fn ingress_rules(
    clients: &Clients,
    group_ids: Vec<String>,
) -> Result<BTreeMap<String, Vec<Rule>>> {
    Ok(ingress(clients, group_ids).await?.0)
}

/// Rules of one kind, by group.
type ByGroup<T> = BTreeMap<String, Vec<T>>;

/// The ingress rules of `group_ids`: those with an address range and
/// those whose source is a group, each by group and sorted by rule id.
pub async fn ingress(
    clients: &Clients,
    group_ids: Vec<String>,
) -> Result<(ByGroup<Rule>, ByGroup<SourceRule>)> {
    let mut by_group: BTreeMap<String, Vec<Rule>> =
        group_ids.iter().map(|g| (g.clone(), Vec::new())).collect();
    let mut sources: BTreeMap<String, Vec<SourceRule>> =
        group_ids.iter().map(|g| (g.clone(), Vec::new())).collect();
    if group_ids.is_empty() {
        return Ok((by_group, sources));
    }
    let mut pages = clients
        .ec2
        .describe_security_group_rules()
        .filters(
            Filter::builder()
                .name("group-id")
                .set_values(Some(group_ids))
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ec2:DescribeSecurityGroupRules", e))?;
        for r in page.security_group_rules() {
            if let Some((group, rule)) = convert_rule(r) {
                by_group.entry(group).or_default().push(rule);
            } else if let Some((group, rule)) = convert_source_rule(r) {
                sources.entry(group).or_default().push(rule);
            }
        }
    }
    for rules in by_group.values_mut() {
        rules.sort_by(|a, b| a.id.cmp(&b.id));
    }
    for rules in sources.values_mut() {
        rules.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok((by_group, sources))
}

/// Lets `cidr` reach tcp/`port` in `group_id`, described `MANAGED`; a
/// rule that is already there counts as done.
pub async fn authorize_cidr(
    clients: &Clients,
    group_id: &str,
    port: u16,
    cidr: &IpNet,
) -> Result<()> {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(i32::from(port))
        .to_port(i32::from(port));
    let permission = match cidr {
        IpNet::V4(_) => permission.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr.to_string())
                .description(MANAGED)
                .build(),
        ),
        IpNet::V6(_) => permission.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr.to_string())
                .description(MANAGED)
                .build(),
        ),
    };
    authorize(clients, group_id, permission.build(), None).await
}

/// Lets the group `source` reach tcp/`port` in `group_id`, described and
/// tagged `managed-by=webtier` (moto keeps no description on such rules).
pub async fn authorize_group(
    clients: &Clients,
    group_id: &str,
    port: u16,
    source: &str,
) -> Result<()> {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(i32::from(port))
        .to_port(i32::from(port))
        .user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(source)
                .description(MANAGED)
                .build(),
        )
        .build();
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::SecurityGroupRule)
        .tags(
            Tag::builder()
                .key(super::acm::MANAGED_BY.0)
                .value(super::acm::MANAGED_BY.1)
                .build(),
        )
        .build();
    authorize(clients, group_id, permission, Some(tags)).await
}

async fn authorize(
    clients: &Clients,
    group_id: &str,
    permission: IpPermission,
    tags: Option<TagSpecification>,
) -> Result<()> {
    let result = clients
        .ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(permission)
        .set_tag_specifications(tags.map(|t| vec![t]))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        // Another run added it first: the desired state holds.
        Err(e) if error_code(&e) == Some("InvalidPermission.Duplicate") => Ok(()),
        Err(e) => Err(api_error("ec2:AuthorizeSecurityGroupIngress", e)),
    }
}

/// Removes the rule `rule_id` of `group_id`; one that is gone counts as
/// done (AWS and moto name that differently).
pub async fn revoke(clients: &Clients, group_id: &str, rule_id: &str) -> Result<()> {
    let result = clients
        .ec2
        .revoke_security_group_ingress()
        .group_id(group_id)
        .security_group_rule_ids(rule_id)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                error_code(&e),
                Some("InvalidPermission.NotFound" | "InvalidSecurityGroupRuleId.NotFound")
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(api_error("ec2:RevokeSecurityGroupIngress", e)),
    }
}
