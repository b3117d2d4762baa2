//! Route 53 as webtier uses it: record sets in a normalized form (for
//! comparing) and exactly as Route 53 holds them (for DELETE, which must
//! match), the account's public hosted zones and which one holds a name,
//! and change batches sent one per zone and waited for until INSYNC.
//! Used by the `dns` step and by the ACME dns-01 responder.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};
use serde::{Deserialize, Serialize};

use super::{Clients, api_error};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    /// Lowercase, without the trailing dot.
    pub name: String,
}

impl Zone {
    #[cfg(test)]
    pub fn new(id: &str, name: &str) -> Zone {
        Zone {
            id: id.into(),
            name: name.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub dns_name: String,
    pub zone_id: String,
    #[serde(default)]
    pub evaluate_target_health: bool,
}

/// One record set, normalized (lowercase name without the trailing dot,
/// `*` for wildcards, canonical IP addresses, sorted values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<Alias>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordAction {
    Upsert,
    Delete,
}

/// One change to one record set of one hosted zone: the `dns` step's
/// operation (saved in plan files as it is) and a dns-01 TXT record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordOp {
    pub zone_id: String,
    pub action: RecordAction,
    pub set: RecordSet,
}

/// Route 53 names: lowercase, no trailing dot, `\052` → `*`.
fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.')
        .replace("\\052", "*")
        .to_ascii_lowercase()
}

fn normalize_value(rtype: &str, value: &str) -> String {
    match rtype {
        "A" | "AAAA" => value
            .parse::<IpAddr>()
            .map_or_else(|_| value.to_string(), |ip| ip.to_string()),
        _ => value.to_string(),
    }
}

/// The zone for `name`: the longest public zone suffix, or the configured
/// zone id. Pure.
pub fn zone_for(name: &str, zone_id: Option<&str>, zones: &[Zone]) -> Result<Zone, String> {
    let within = |zone: &Zone| name == zone.name || name.ends_with(&format!(".{}", zone.name));
    if let Some(id) = zone_id {
        let zone = zones.iter().find(|z| z.id == id).ok_or_else(|| {
            format!("hosted zone {id} (zone_id of the site of {name}) is not a public hosted zone of this account")
        })?;
        return if within(zone) {
            Ok(zone.clone())
        } else {
            Err(format!(
                "{name} is not inside hosted zone {id} ({}) — fix the site's zone_id",
                zone.name
            ))
        };
    }
    let best = zones
        .iter()
        .filter(|z| within(z))
        .map(|z| z.name.len())
        .max();
    let candidates: Vec<&Zone> = zones
        .iter()
        .filter(|z| within(z) && Some(z.name.len()) == best)
        .collect();
    match candidates.as_slice() {
        [] => Err(format!(
            "no public hosted zone of this account contains {name} — create one in Route 53, or set zone_id in the site"
        )),
        [one] => Ok((*one).clone()),
        several => Err(format!(
            "{} public hosted zones are named {} ({}) — set zone_id in the site of {name} to choose one",
            several.len(),
            several[0].name,
            several
                .iter()
                .map(|z| z.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn convert_set(set: &ResourceRecordSet) -> RecordSet {
    let rtype = set.r#type().as_str().to_string();
    let mut values: Vec<String> = set
        .resource_records()
        .iter()
        .map(|r| normalize_value(&rtype, r.value()))
        .collect();
    values.sort();
    RecordSet {
        name: normalize_name(set.name()),
        ttl: set.ttl(),
        values,
        alias: set.alias_target().map(|a| Alias {
            dns_name: normalize_name(a.dns_name()),
            zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        set_identifier: set.set_identifier().map(str::to_string),
        rtype,
    }
}

/// A record set exactly as Route 53 holds it.
fn exact_set(set: &ResourceRecordSet) -> RecordSet {
    RecordSet {
        name: set.name().to_string(),
        rtype: set.r#type().as_str().to_string(),
        ttl: set.ttl(),
        values: set
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect(),
        alias: set.alias_target().map(|a| Alias {
            dns_name: a.dns_name().to_string(),
            zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        set_identifier: set.set_identifier().map(str::to_string),
    }
}

fn to_sdk(set: &RecordSet) -> Result<ResourceRecordSet> {
    let mut b = ResourceRecordSet::builder()
        .name(&set.name)
        .r#type(RrType::from(set.rtype.as_str()))
        .set_ttl(set.ttl)
        .set_set_identifier(set.set_identifier.clone());
    for v in &set.values {
        b = b.resource_records(ResourceRecord::builder().value(v).build()?);
    }
    if let Some(a) = &set.alias {
        b = b.alias_target(
            AliasTarget::builder()
                .dns_name(&a.dns_name)
                .hosted_zone_id(&a.zone_id)
                .evaluate_target_health(a.evaluate_target_health)
                .build()?,
        );
    }
    Ok(b.build()?)
}

/// The record sets of exactly `name`: listing starts at the name and
/// stops at the first record of another name. Returns them normalized,
/// for comparing, and exactly as Route 53 holds them, for DELETE.
pub async fn records_of(
    clients: &Clients,
    zone: &Zone,
    name: &str,
) -> Result<(Vec<RecordSet>, Vec<RecordSet>)> {
    let mut out = Vec::new();
    let mut exact = Vec::new();
    let mut start_type: Option<RrType> = None;
    let mut start_id: Option<String> = None;
    loop {
        let page = clients
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(&zone.id)
            .start_record_name(name)
            .set_start_record_type(start_type.take())
            .set_start_record_identifier(start_id.take())
            .max_items(20)
            .send()
            .await
            .map_err(|e| api_error("route53:ListResourceRecordSets", e))?;
        let mut passed = false;
        for set in page.resource_record_sets() {
            if normalize_name(set.name()) == name {
                out.push(convert_set(set));
                exact.push(exact_set(set));
            } else {
                passed = true;
                break;
            }
        }
        let more = page.is_truncated()
            && page
                .next_record_name()
                .is_some_and(|n| normalize_name(n) == name);
        if passed || !more {
            break;
        }
        start_type = page.next_record_type().cloned();
        start_id = page.next_record_identifier().map(str::to_string);
    }
    out.sort_by(|a, b| (&a.rtype, &a.set_identifier).cmp(&(&b.rtype, &b.set_identifier)));
    Ok((out, exact))
}

/// `ops` grouped by hosted zone: one change batch each.
pub fn by_zone(ops: &[RecordOp]) -> BTreeMap<&str, Vec<&RecordOp>> {
    let mut map: BTreeMap<&str, Vec<&RecordOp>> = BTreeMap::new();
    for op in ops {
        map.entry(op.zone_id.as_str()).or_default().push(op);
    }
    map
}

/// Sends `ops` as one ChangeBatch to `zone_id` and waits for INSYNC.
pub async fn submit(
    clients: &Clients,
    zone_id: &str,
    ops: &[&RecordOp],
    wait: Duration,
) -> Result<()> {
    let mut batch = ChangeBatch::builder().comment("webtier");
    for op in ops {
        let action = match op.action {
            RecordAction::Upsert => ChangeAction::Upsert,
            RecordAction::Delete => ChangeAction::Delete,
        };
        batch = batch.changes(
            Change::builder()
                .action(action)
                .resource_record_set(to_sdk(&op.set)?)
                .build()?,
        );
    }
    let out = clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch.build()?)
        .send()
        .await
        .map_err(|e| api_error("route53:ChangeResourceRecordSets", e))?;
    if let Some(info) = out.change_info() {
        wait_in_sync(clients, info.id(), wait).await?;
    }
    Ok(())
}

/// Every public hosted zone of the account (paged).
pub async fn public_zones(clients: &Clients) -> Result<Vec<Zone>> {
    let mut zones = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .route53
            .list_hosted_zones()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| api_error("route53:ListHostedZones", e))?;
        zones.extend(
            page.hosted_zones()
                .iter()
                .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
                .map(|z| Zone {
                    id: z.id().trim_start_matches("/hostedzone/").to_string(),
                    name: normalize_name(z.name()),
                }),
        );
        match (page.is_truncated(), page.next_marker()) {
            (true, Some(next)) => marker = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(zones)
}

/// Waits until Route 53 reports the change INSYNC.
async fn wait_in_sync(clients: &Clients, change_id: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(500);
    loop {
        let out = clients
            .route53
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| api_error("route53:GetChange", e))?;
        if out
            .change_info()
            .is_some_and(|c| c.status() == &ChangeStatus::Insync)
        {
            return Ok(());
        }
        if Instant::now() + pause > deadline {
            bail!(
                "Route 53 change {change_id} is still PENDING after {}s; it was accepted and will complete — run `webtier plan` later to confirm (or raise [dns] wait_timeout)",
                timeout.as_secs()
            );
        }
        tracing::info!("waiting for Route 53 change {change_id} to be INSYNC");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_match_by_longest_suffix() {
        let zones = [
            Zone::new("Z1", "example.com"),
            Zone::new("Z2", "dev.example.com"),
            Zone::new("Z3", "ample.com"),
        ];
        assert_eq!(zone_for("www.example.com", None, &zones).unwrap().id, "Z1");
        assert_eq!(zone_for("example.com", None, &zones).unwrap().id, "Z1");
        assert_eq!(
            zone_for("a.dev.example.com", None, &zones).unwrap().id,
            "Z2"
        );
        assert!(
            zone_for("example.org", None, &zones)
                .unwrap_err()
                .contains("no public hosted zone")
        );
        let twins = [
            Zone::new("Z1", "example.com"),
            Zone::new("Z9", "example.com"),
        ];
        let err = zone_for("www.example.com", None, &twins).unwrap_err();
        assert!(err.contains("zone_id") && err.contains("Z1, Z9"), "{err}");
        assert_eq!(
            zone_for("www.example.com", Some("Z9"), &twins).unwrap().id,
            "Z9"
        );
        assert!(
            zone_for("www.example.org", Some("Z9"), &twins)
                .unwrap_err()
                .contains("not inside")
        );
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_name("\\052.Example.COM."), "*.example.com");
        assert_eq!(normalize_value("AAAA", "2001:DB8:0:0::1"), "2001:db8::1");
    }
}
