//! `dns`: Route 53 A/AAAA records (or aliases to a load balancer) for every
//! site name. Observed with targeted lookups: the hosted zones, and for each
//! name only the record sets of that name (ListResourceRecordSets from
//! StartRecordName), so the cost of a plan does not grow with the zone.
//!
//! Ownership follows the external-dns convention: beside the records it
//! creates, webtier keeps a TXT value
//! `"heritage=webtier,owner=<owner>,types=A/AAAA"` naming the record types
//! it created; only those are ever changed or deleted.
//! Address records of a name without it are a conflict and are left alone
//! unless `--adopt`. Other TXT values of the name are always kept.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::aws::route53::{self, Alias, RecordAction, RecordOp, RecordSet, Zone};
use crate::aws::{Clients, instances};
use crate::config::{Config, LoadBalancer, Target};
use crate::plan::StepName;
use crate::plan::{Action, Conflict, Planned, Step};

pub struct DnsStep {
    clients: Arc<Clients>,
    target: Option<Target>,
    /// Every site name, with the site's zone id when configured.
    names: Vec<(String, Option<String>)>,
    ttl: i64,
    owner: String,
    wait_timeout: Duration,
    load_balancer: Option<LoadBalancer>,
    /// `[load_balancer] name`: aliases to the ALB the lb step manages.
    alb: Option<String>,
    ipv6: bool,
    adopt: bool,
    /// `webtier destroy`: webtier's own records and ownership values go.
    destroy: bool,
}

impl DnsStep {
    pub fn new(clients: Arc<Clients>, config: &Config, adopt: bool) -> DnsStep {
        let names = config
            .sites
            .iter()
            .flat_map(|s| s.names().map(|n| (n.to_string(), s.zone_id.clone())))
            .collect();
        DnsStep {
            clients,
            target: config.target.clone(),
            names,
            ttl: config.dns.ttl,
            owner: config.dns.owner.clone(),
            wait_timeout: Duration::from_secs(config.dns.wait_timeout),
            load_balancer: config.dns.load_balancer.clone(),
            alb: config.load_balancer.as_ref().map(|a| a.name.clone()),
            ipv6: config.records_ipv6(),
            adopt,
            destroy: false,
        }
    }

    /// The step that removes what it created (`webtier destroy`): no
    /// address record is desired any more, so only the types webtier's
    /// ownership value lists are deleted, then that value.
    pub fn destroying(self) -> DnsStep {
        DnsStep {
            destroy: true,
            adopt: false,
            ..self
        }
    }

    fn desired(&self, name: &str, addresses: &Addresses) -> Vec<RecordSet> {
        if self.destroy {
            return Vec::new();
        }
        desired_sets(name, addresses, self.ttl, self.ipv6)
    }
}

/// Where the records point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Addresses {
    Instances {
        ipv4: Vec<String>,
        ipv6: Vec<String>,
    },
    LoadBalancer(LoadBalancer),
    /// The ALB of `[load_balancer]`, which the lb step creates in the
    /// same run: its address is known after apply.
    PendingAlb {
        name: String,
    },
}

/// The zone id an alias to a pending ALB carries in a plan until apply
/// finds the ALB: `alb:<name>`.
const PENDING_ALB: &str = "alb:";

#[derive(Debug, Serialize)]
pub struct NameState {
    pub name: String,
    pub zone: Zone,
    /// Normalized, for comparing.
    pub records: Vec<RecordSet>,
    /// Exactly as Route 53 returned them, for DELETE (which must match).
    pub exact: Vec<RecordSet>,
}

impl NameState {
    fn exact(&self, rtype: &str) -> Option<&RecordSet> {
        self.exact
            .iter()
            .find(|r| r.rtype == rtype && r.set_identifier.is_none())
    }
}

#[derive(Debug, Serialize)]
pub struct DnsState {
    pub addresses: Addresses,
    pub names: Vec<NameState>,
}

/// The ownership TXT value (with the quotes Route 53 keeps).
pub fn ownership_value(owner: &str, types: &[&str]) -> String {
    format!(
        "\"heritage=webtier,owner={owner},types={}\"",
        types.join("/")
    )
}

/// An ownership TXT value: (owner, record types it owns).
pub fn parse_ownership(value: &str) -> Option<(String, Vec<String>)> {
    let inner = value
        .trim_matches('"')
        .strip_prefix("heritage=webtier,owner=")?;
    let (owner, types) = match inner.split_once(",types=") {
        Some((o, t)) => (
            o,
            t.split('/')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        None => (inner, Vec::new()),
    };
    Some((owner.to_string(), types))
}

/// The address record sets `name` should have. Pure.
pub fn desired_sets(name: &str, addresses: &Addresses, ttl: i64, ipv6: bool) -> Vec<RecordSet> {
    let set = |rtype: &str, values: &[String], alias: Option<Alias>| RecordSet {
        name: name.to_string(),
        rtype: rtype.to_string(),
        ttl: alias.is_none().then_some(ttl),
        values: values.to_vec(),
        alias,
        set_identifier: None,
    };
    match addresses {
        Addresses::Instances { ipv4, ipv6: v6 } => {
            let mut out = Vec::new();
            if !ipv4.is_empty() {
                out.push(set("A", ipv4, None));
            }
            if ipv6 && !v6.is_empty() {
                out.push(set("AAAA", v6, None));
            }
            out
        }
        Addresses::LoadBalancer(lb) => {
            let alias = Alias {
                dns_name: lb.dns_name.trim_end_matches('.').to_string(),
                zone_id: lb.zone_id.clone(),
                evaluate_target_health: false,
            };
            let mut out = vec![set("A", &[], Some(alias.clone()))];
            if ipv6 {
                out.push(set("AAAA", &[], Some(alias)));
            }
            out
        }
        Addresses::PendingAlb { name } => {
            let alias = Alias {
                dns_name: format!("the load balancer {name} (known after apply)"),
                zone_id: format!("{PENDING_ALB}{name}"),
                evaluate_target_health: false,
            };
            let mut out = vec![set("A", &[], Some(alias.clone()))];
            if ipv6 {
                out.push(set("AAAA", &[], Some(alias)));
            }
            out
        }
    }
}

fn describe(set: &RecordSet) -> String {
    match &set.alias {
        Some(a) => format!("alias to {} (zone {})", a.dns_name, a.zone_id),
        None => format!(
            "{} ttl {}",
            set.values.join(", "),
            set.ttl.unwrap_or_default()
        ),
    }
}

/// The changes and conflicts for one name. Pure.
///
/// Ownership is per record type: the TXT value
/// `"heritage=webtier,owner=<owner>,types=A/AAAA"` lists what webtier
/// created. Only those types are ever updated or deleted; an address record
/// of another type that webtier did not create is a conflict (or, when no
/// longer wanted, simply left alone). A name another webtier owner holds is
/// a conflict. `--adopt` takes records (and the name) over.
pub fn diff_name(
    state: &NameState,
    desired: &[RecordSet],
    owner: &str,
    ttl: i64,
    adopt: bool,
) -> (Vec<Planned<RecordOp>>, Option<Conflict>) {
    let ownership = Ownership::read(state, owner);
    if let Some(reason) = conflict(state, desired, &ownership, adopt) {
        let conflict = Conflict {
            resource: format!("records of {}", state.name),
            reason,
        };
        return (Vec::new(), Some(conflict));
    }
    let mut changes = address_changes(state, desired, &ownership.owned);
    changes.extend(ownership_change(state, desired, owner, ttl, &ownership));
    (changes, None)
}

/// What the TXT record of a name says about who owns its records.
struct Ownership<'a> {
    /// The name's TXT record set, if any.
    txt: Option<&'a RecordSet>,
    /// Its values.
    values: Vec<&'a String>,
    /// The value of this owner, if present.
    ours: Option<&'a String>,
    /// The record types this owner's value lists.
    owned: Vec<String>,
    /// Values of other webtier owners.
    others: Vec<&'a String>,
}

impl<'a> Ownership<'a> {
    fn read(state: &'a NameState, owner: &str) -> Ownership<'a> {
        let txt = state.records.iter().find(|r| r.rtype == "TXT");
        let values: Vec<&String> = txt.map(|t| t.values.iter().collect()).unwrap_or_default();
        let ours = values
            .iter()
            .find(|v| parse_ownership(v).is_some_and(|(o, _)| o == owner))
            .copied();
        let owned: Vec<String> = ours
            .and_then(|v| parse_ownership(v))
            .map(|(_, t)| t)
            .unwrap_or_default();
        let others: Vec<&String> = values
            .iter()
            .filter(|v| parse_ownership(v).is_some_and(|(o, _)| o != owner))
            .copied()
            .collect();
        Ownership {
            txt,
            values,
            ours,
            owned,
            others,
        }
    }
}

/// Why webtier must leave the name alone, if it must: records that cannot
/// coexist with address records, routing policies, another webtier's
/// name, or records webtier did not create (the last two unless `adopt`).
fn conflict(
    state: &NameState,
    desired: &[RecordSet],
    ownership: &Ownership<'_>,
    adopt: bool,
) -> Option<String> {
    let find = |rtype: &str| state.records.iter().find(|r| r.rtype == rtype);
    if find("CNAME").is_some() {
        return Some("a CNAME record exists at this name; address records cannot coexist with it — left alone".into());
    }
    if let Some(r) = state
        .records
        .iter()
        .find(|r| (r.rtype == "A" || r.rtype == "AAAA") && r.set_identifier.is_some())
    {
        return Some(format!(
            "{} records with a routing policy (set identifier {}) exist — left alone",
            r.rtype,
            r.set_identifier.as_deref().unwrap_or_default()
        ));
    }
    if !ownership.others.is_empty() && !adopt {
        return Some(format!(
            "the name belongs to another webtier ({}) — left alone; `--adopt` takes it over",
            ownership
                .others
                .iter()
                .map(|v| v.trim_matches('"'))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let foreign: Vec<&str> = desired
        .iter()
        .filter(|d| find(&d.rtype).is_some() && !ownership.owned.contains(&d.rtype))
        .map(|d| d.rtype.as_str())
        .collect();
    if !foreign.is_empty() && !adopt {
        return Some(format!(
            "{} record exists that webtier did not create — left alone; `--adopt` takes it over",
            foreign.join("/")
        ));
    }
    None
}

/// A and AAAA: created or updated to what is desired; deleted when no
/// longer desired, but only if webtier owns that type.
fn address_changes(
    state: &NameState,
    desired: &[RecordSet],
    owned: &[String],
) -> Vec<Planned<RecordOp>> {
    let name = &state.name;
    let mut changes = Vec::new();
    for rtype in ["A", "AAAA"] {
        let want = desired.iter().find(|d| d.rtype == rtype);
        let have = state.records.iter().find(|r| r.rtype == rtype);
        let upsert = |action, detail: String, set: &RecordSet| Planned {
            action,
            resource: format!("{rtype} {name}"),
            detail,
            operation: RecordOp {
                zone_id: state.zone.id.clone(),
                action: RecordAction::Upsert,
                set: set.clone(),
            },
        };
        match (want, have) {
            (Some(w), None) => changes.push(upsert(Action::Create, describe(w), w)),
            (Some(w), Some(h)) if w != h => changes.push(upsert(
                Action::Update,
                format!("{} → {}", describe(h), describe(w)),
                w,
            )),
            (None, Some(h)) if owned.iter().any(|t| t == rtype) => changes.push(Planned {
                action: Action::Delete,
                resource: format!("{rtype} {name}"),
                detail: describe(h),
                operation: RecordOp {
                    zone_id: state.zone.id.clone(),
                    action: RecordAction::Delete,
                    set: state.exact(rtype).unwrap_or(h).clone(),
                },
            }),
            _ => {}
        }
    }
    changes
}

/// The TXT change that makes the ownership value name exactly the types
/// webtier now keeps (other TXT values are kept), if it does not already.
fn ownership_change(
    state: &NameState,
    desired: &[RecordSet],
    owner: &str,
    ttl: i64,
    ownership: &Ownership<'_>,
) -> Option<Planned<RecordOp>> {
    let name = &state.name;
    let keep: Vec<&str> = desired.iter().map(|d| d.rtype.as_str()).collect();
    let value = (!keep.is_empty()).then(|| ownership_value(owner, &keep));
    if ownership.ours.map(String::as_str) == value.as_deref() {
        return None;
    }
    let mut values: Vec<String> = ownership
        .values
        .iter()
        .filter(|v| parse_ownership(v).is_none())
        .map(|v| v.to_string())
        .collect();
    values.extend(value);
    values.sort();
    let detail = match keep.as_slice() {
        [] => format!("ownership of {owner} removed"),
        types => format!(
            "ownership: heritage=webtier,owner={owner} of {}",
            types.join(", ")
        ),
    };
    let (action, op_action, set) = match (ownership.txt, values.is_empty()) {
        (Some(t), true) => (
            Action::Delete,
            RecordAction::Delete,
            state.exact("TXT").unwrap_or(t).clone(),
        ),
        (existing, _) => (
            if existing.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            RecordAction::Upsert,
            RecordSet {
                name: name.clone(),
                rtype: "TXT".into(),
                ttl: Some(existing.and_then(|t| t.ttl).unwrap_or(ttl)),
                values,
                alias: None,
                set_identifier: None,
            },
        ),
    };
    Some(Planned {
        action,
        resource: format!("TXT {name}"),
        detail,
        operation: RecordOp {
            zone_id: state.zone.id.clone(),
            action: op_action,
            set,
        },
    })
}

impl DnsStep {
    async fn addresses(&self) -> Result<Addresses> {
        if let Some(lb) = &self.load_balancer {
            return Ok(Addresses::LoadBalancer(lb.clone()));
        }
        if let Some(name) = &self.alb {
            return Ok(match self.alb(name).await? {
                Some(lb) => Addresses::LoadBalancer(lb),
                None => Addresses::PendingAlb { name: name.clone() },
            });
        }
        let target = self
            .target
            .as_ref()
            .context("the dns step needs [target] or [dns] load_balancer")?;
        let found = instances::resolve(&self.clients, target).await?;
        let mut ipv4 = Vec::new();
        let mut ipv6 = Vec::new();
        for i in &found {
            match &i.public_ipv4 {
                Some(ip) => ipv4.push(ip.clone()),
                None => bail!(
                    "instance {} ({}) has no public IPv4 address — associate an Elastic IP, or point [dns] load_balancer at a load balancer",
                    i.id,
                    i.state
                ),
            }
            ipv6.extend(i.ipv6.iter().cloned());
        }
        for list in [&mut ipv4, &mut ipv6] {
            list.sort();
            list.dedup();
        }
        Ok(Addresses::Instances { ipv4, ipv6 })
    }
}

impl DnsStep {
    /// webtier's ALB named `name`, as an alias target, if it exists.
    async fn alb(&self, name: &str) -> Result<Option<LoadBalancer>> {
        match crate::aws::elb::load_balancer(&self.clients, name, &self.owner).await? {
            Some(a) if a.owned => Ok(Some(LoadBalancer {
                dns_name: a.dns_name,
                zone_id: a.zone_id,
            })),
            Some(_) => bail!(
                "load balancer {name} was not created by webtier — the dns step points names only at webtier's own: choose another [load_balancer] name"
            ),
            None => Ok(None),
        }
    }

    /// Fills the aliases of a plan made before the ALB existed.
    async fn resolve_pending(&self, ops: &[RecordOp]) -> Result<Vec<RecordOp>> {
        let mut out = ops.to_vec();
        for op in &mut out {
            let Some(alias) = op.set.alias.as_mut() else {
                continue;
            };
            let Some(name) = alias.zone_id.strip_prefix(PENDING_ALB).map(str::to_string) else {
                continue;
            };
            let lb = self.alb(&name).await?.with_context(|| {
                format!(
                    "load balancer {name} does not exist — the lb step creates it before the dns step: see its output, then run `webtier apply` again"
                )
            })?;
            alias.dns_name = lb.dns_name;
            alias.zone_id = lb.zone_id;
        }
        Ok(out)
    }
}

impl Step for DnsStep {
    type Observed = DnsState;
    type Operation = RecordOp;

    fn name(&self) -> StepName {
        StepName::Dns
    }

    async fn observe(&self) -> Result<DnsState> {
        // Destroy wants no address: it need not find the instances (which
        // may be terminated by then).
        let addresses = match self.destroy {
            true => Addresses::Instances {
                ipv4: Vec::new(),
                ipv6: Vec::new(),
            },
            false => self.addresses().await?,
        };
        let zones = route53::public_zones(&self.clients).await?;
        let mut names = Vec::with_capacity(self.names.len());
        let mut problems = Vec::new();
        for (name, zone_id) in &self.names {
            match route53::zone_for(name, zone_id.as_deref(), &zones) {
                Ok(zone) => {
                    let (records, exact) = route53::records_of(&self.clients, &zone, name).await?;
                    names.push(NameState {
                        name: name.clone(),
                        zone,
                        records,
                        exact,
                    });
                }
                Err(msg) => problems.push(msg),
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        Ok(DnsState { addresses, names })
    }

    fn diff(&self, observed: &DnsState) -> Vec<Planned<RecordOp>> {
        observed
            .names
            .iter()
            .flat_map(|n| {
                let desired = self.desired(&n.name, &observed.addresses);
                diff_name(n, &desired, &self.owner, self.ttl, self.adopt).0
            })
            .collect()
    }

    fn conflicts(&self, observed: &DnsState) -> Vec<Conflict> {
        observed
            .names
            .iter()
            .filter_map(|n| {
                let desired = self.desired(&n.name, &observed.addresses);
                diff_name(n, &desired, &self.owner, self.ttl, self.adopt).1
            })
            .collect()
    }

    async fn apply(&self, op: &RecordOp) -> Result<()> {
        self.apply_all(std::slice::from_ref(op)).await
    }

    /// One ChangeBatch per zone (atomic in Route 53), then wait for INSYNC.
    async fn apply_all(&self, ops: &[RecordOp]) -> Result<()> {
        let ops = self.resolve_pending(ops).await?;
        for (zone_id, ops) in route53::by_zone(&ops) {
            route53::submit(&self.clients, zone_id, &ops, self.wait_timeout).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(records: Vec<RecordSet>) -> NameState {
        NameState {
            name: "example.com".into(),
            zone: Zone::new("Z1", "example.com"),
            exact: records.clone(),
            records,
        }
    }

    fn rec(rtype: &str, values: &[&str]) -> RecordSet {
        RecordSet {
            name: "example.com".into(),
            rtype: rtype.into(),
            ttl: Some(300),
            values: values.iter().map(|v| v.to_string()).collect(),
            alias: None,
            set_identifier: None,
        }
    }

    fn addresses(v4: &[&str], v6: &[&str]) -> Addresses {
        Addresses::Instances {
            ipv4: v4.iter().map(|v| v.to_string()).collect(),
            ipv6: v6.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn run(
        state: &NameState,
        desired: &[RecordSet],
        owner: &str,
        adopt: bool,
    ) -> (Vec<Planned<RecordOp>>, Option<Conflict>) {
        diff_name(state, desired, owner, 300, adopt)
    }

    #[test]
    fn fresh_name_gets_addresses_and_ownership() {
        let desired = desired_sets(
            "example.com",
            &addresses(&["192.0.2.1"], &["2001:db8::1"]),
            300,
            true,
        );
        let spf = "\"v=spf1 -all\"";
        let (changes, conflict) = run(&state(vec![rec("TXT", &[spf])]), &desired, "prod", false);
        assert!(conflict.is_none());
        let names: Vec<(&str, Action)> = changes
            .iter()
            .map(|c| (c.resource.as_str(), c.action))
            .collect();
        assert_eq!(
            names,
            [
                ("A example.com", Action::Create),
                ("AAAA example.com", Action::Create),
                ("TXT example.com", Action::Update)
            ]
        );
        let txt = &changes[2].operation.set.values;
        assert!(txt.contains(&spf.to_string()), "other TXT values are kept");
        assert!(txt.contains(&ownership_value("prod", &["A", "AAAA"])));
    }

    #[test]
    fn owned_records_converge_and_update() {
        let owned = |a: &str| {
            state(vec![
                rec("A", &[a]),
                rec("TXT", &[&ownership_value("webtier", &["A"])]),
            ])
        };
        let desired = desired_sets("example.com", &addresses(&["192.0.2.1"], &[]), 300, true);
        assert_eq!(
            run(&owned("192.0.2.1"), &desired, "webtier", false).0,
            vec![]
        );
        let (changes, _) = run(&owned("192.0.2.9"), &desired, "webtier", false);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Update);
        assert!(
            changes[0]
                .detail
                .contains("192.0.2.9 ttl 300 → 192.0.2.1 ttl 300"),
            "{}",
            changes[0].detail
        );
    }

    #[test]
    fn destroy_deletes_what_webtier_owns_and_keeps_the_rest() {
        // Nothing desired (`webtier destroy`): the owned A goes; the hand-made
        // AAAA and the SPF value stay, the TXT keeps only the SPF value.
        let spf = "\"v=spf1 -all\"";
        let name = state(vec![
            rec("A", &["192.0.2.1"]),
            rec("AAAA", &["2001:db8::77"]),
            rec("TXT", &[spf, &ownership_value("webtier", &["A"])]),
        ]);
        let (changes, conflict) = run(&name, &[], "webtier", false);
        assert!(conflict.is_none());
        let got: Vec<(&str, Action)> = changes
            .iter()
            .map(|c| (c.resource.as_str(), c.action))
            .collect();
        assert_eq!(
            got,
            [
                ("A example.com", Action::Delete),
                ("TXT example.com", Action::Update)
            ]
        );
        assert_eq!(changes[1].operation.set.values, [spf]);
        // Only webtier's value in the TXT: the TXT goes too.
        let alone = state(vec![
            rec("A", &["192.0.2.1"]),
            rec("TXT", &[&ownership_value("webtier", &["A"])]),
        ]);
        let (changes, _) = run(&alone, &[], "webtier", false);
        assert!(
            changes
                .iter()
                .all(|c| c.action == Action::Delete && c.operation.action == RecordAction::Delete),
            "{changes:?}"
        );
        assert_eq!(changes.len(), 2);
        // A name another webtier owns is left alone.
        let theirs = state(vec![
            rec("A", &["192.0.2.1"]),
            rec("TXT", &[&ownership_value("staging", &["A"])]),
        ]);
        let (changes, conflict) = run(&theirs, &[], "webtier", false);
        assert!(changes.is_empty() && conflict.is_some());
    }

    #[test]
    fn only_owned_types_are_ever_deleted() {
        let a_only = desired_sets("example.com", &addresses(&["192.0.2.1"], &[]), 300, false);
        // webtier owns A; someone added an AAAA by hand: it stays.
        let hand_aaaa = state(vec![
            rec("A", &["192.0.2.1"]),
            rec("AAAA", &["2001:db8::77"]),
            rec("TXT", &[&ownership_value("webtier", &["A"])]),
        ]);
        assert_eq!(run(&hand_aaaa, &a_only, "webtier", false), (vec![], None));
        // webtier owns A and AAAA; IPv6 is no longer wanted: AAAA goes,
        // sent exactly as Route 53 holds it, and ownership narrows to A.
        let mut both = state(vec![
            rec("A", &["192.0.2.1"]),
            rec("AAAA", &["2001:db8::1"]),
            rec("TXT", &[&ownership_value("webtier", &["A", "AAAA"])]),
        ]);
        both.exact[1].values = vec!["2001:DB8:0::1".into()];
        let (changes, _) = run(&both, &a_only, "webtier", false);
        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(changes[0].operation.set.values, ["2001:DB8:0::1"]);
        assert_eq!(
            changes[1].operation.set.values,
            [ownership_value("webtier", &["A"])]
        );
    }

    #[test]
    fn foreign_records_are_conflicts_unless_adopted() {
        let foreign = state(vec![rec("A", &["198.51.100.7"])]);
        let desired = desired_sets("example.com", &addresses(&["192.0.2.1"], &[]), 300, false);
        let (changes, conflict) = run(&foreign, &desired, "webtier", false);
        assert!(changes.is_empty());
        assert!(
            conflict
                .unwrap()
                .reason
                .contains("that webtier did not create")
        );
        let (changes, conflict) = run(&foreign, &desired, "webtier", true);
        assert!(conflict.is_none());
        assert_eq!(changes.len(), 2, "A updated and ownership TXT created");

        let cname = state(vec![rec("CNAME", &["elsewhere.example.net"])]);
        assert!(
            run(&cname, &desired, "webtier", true)
                .1
                .unwrap()
                .reason
                .contains("CNAME")
        );
        // Another webtier's name is a conflict even before it has records.
        let other = state(vec![rec("TXT", &[&ownership_value("staging", &["A"])])]);
        assert!(
            run(&other, &desired, "prod", false)
                .1
                .unwrap()
                .reason
                .contains("owner=staging")
        );
        // Adopting replaces its ownership value rather than adding beside it.
        let (changes, _) = run(&other, &desired, "prod", true);
        let txt = &changes.last().unwrap().operation.set.values;
        assert_eq!(txt, &[ownership_value("prod", &["A"])]);
    }

    #[test]
    fn load_balancer_aliases() {
        let lb = Addresses::LoadBalancer(LoadBalancer {
            dns_name: "my-lb-1.us-east-1.elb.amazonaws.com".into(),
            zone_id: "Z35SXDOTRQ7X7K".into(),
        });
        let desired = desired_sets("example.com", &lb, 300, true);
        assert!(!desired[0].alias.as_ref().unwrap().evaluate_target_health);
        assert_eq!(desired.len(), 2);
        assert!(desired.iter().all(|d| d.alias.is_some() && d.ttl.is_none()));
    }
}
