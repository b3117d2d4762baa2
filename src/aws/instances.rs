//! The EC2 instances `[target]` selects: explicit ids, tag filters, or
//! `self` (this instance, from IMDSv2).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_ec2::types::{Filter, Instance as Ec2Instance};
use serde::Serialize;

use super::{Clients, api_error, error_code};
use crate::config::Target;

/// What webtier needs to know about one target instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub id: String,
    pub state: String,
    /// Public IPv4 (an Elastic IP when one is associated).
    pub public_ipv4: Option<String>,
    pub ipv6: Vec<String>,
    /// Attached security groups (ids), in the order EC2 lists them.
    pub security_groups: Vec<String>,
    /// The subnet and VPC of its primary interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
}

/// Resolves the target to instances, sorted by id, once per run. Fails
/// when an instance does not exist or when tags select none: never an
/// empty target.
pub async fn resolve(clients: &Clients, target: &Target) -> Result<Vec<Instance>> {
    clients
        .instances
        .get_or_try_init(|| lookup(clients, target))
        .await
        .cloned()
}

async fn lookup(clients: &Clients, target: &Target) -> Result<Vec<Instance>> {
    let mut ids: Vec<String> = Vec::new();
    for entry in &target.instances {
        if entry == "self" {
            ids.push(this_instance_id().await?);
        } else {
            ids.push(entry.clone());
        }
    }
    ids.sort();
    ids.dedup();

    let mut found = Vec::new();
    if !ids.is_empty() {
        found.extend(describe(clients, ids.clone(), Vec::new()).await?);
        if let Some(missing) = ids
            .iter()
            .find(|id| !found.iter().any(|i: &Instance| &i.id == *id))
        {
            bail!(
                "instance {missing} does not exist in region {} — check [target] instances",
                clients.region
            );
        }
    }
    if !target.tags.is_empty() {
        let mut filters: Vec<Filter> = target
            .tags
            .iter()
            .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
            .collect();
        // Only running instances: one still booting has no address yet
        // and must not block the others.
        filters.push(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        );
        let tagged = describe(clients, Vec::new(), filters).await?;
        if tagged.is_empty() && ids.is_empty() {
            let tags: Vec<String> = target
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            bail!(
                "no running instance in region {} has the tags {} — check [target] tags",
                clients.region,
                tags.join(", ")
            );
        }
        found.extend(tagged);
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    Ok(found)
}

/// The ids of the instances (not terminated) that `group` is attached to.
pub async fn in_group(clients: &Clients, group: &str) -> Result<Vec<String>> {
    let filters = vec![
        Filter::builder()
            .name("instance.group-id")
            .values(group)
            .build(),
        Filter::builder()
            .name("instance-state-name")
            .values("pending")
            .values("running")
            .values("stopping")
            .values("stopped")
            .build(),
    ];
    let mut ids: Vec<String> = describe(clients, Vec::new(), filters)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    Ok(ids)
}

async fn describe(
    clients: &Clients,
    ids: Vec<String>,
    filters: Vec<Filter>,
) -> Result<Vec<Instance>> {
    let mut pages = clients
        .ec2
        .describe_instances()
        .set_instance_ids((!ids.is_empty()).then_some(ids))
        .set_filters((!filters.is_empty()).then_some(filters))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) if error_code(&e) == Some("InvalidInstanceID.NotFound") => {
                let detail = aws_sdk_ec2::error::ProvideErrorMetadata::message(&e)
                    .unwrap_or("an instance was not found")
                    .to_string();
                bail!(
                    "{detail} in region {} — check [target] instances",
                    clients.region
                );
            }
            Err(e) => return Err(api_error("ec2:DescribeInstances", e)),
        };
        for reservation in page.reservations() {
            out.extend(reservation.instances().iter().map(convert));
        }
    }
    Ok(out)
}

fn convert(i: &Ec2Instance) -> Instance {
    let mut ipv6: Vec<String> = i
        .network_interfaces()
        .iter()
        .flat_map(|n| n.ipv6_addresses())
        .filter_map(|a| a.ipv6_address().map(str::to_string))
        .collect();
    ipv6.sort();
    ipv6.dedup();
    Instance {
        id: i.instance_id().unwrap_or_default().to_string(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map_or("unknown", |n| n.as_str())
            .to_string(),
        public_ipv4: i.public_ip_address().map(str::to_string),
        ipv6,
        security_groups: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        subnet: i.subnet_id().map(str::to_string),
        vpc: i.vpc_id().map(str::to_string),
    }
}

/// This instance's id, from the instance metadata service (IMDSv2).
pub async fn this_instance_id() -> Result<String> {
    let disabled =
        std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if disabled {
        bail!(
            "instances = [\"self\"] needs the EC2 instance metadata service, but AWS_EC2_METADATA_DISABLED is set — name instances by id or tags in [target]"
        );
    }
    let client = aws_config::imds::Client::builder()
        .max_attempts(2)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(2))
        .build();
    let id = client
        .get("/latest/meta-data/instance-id")
        .await
        .context(
            "instances = [\"self\"] works only on an EC2 instance: the instance metadata service (IMDSv2) did not answer — on other machines name instances by id or tags in [target]",
        )?;
    Ok(id.as_ref().trim().to_string())
}
