//! `firewall`: tcp/80 and tcp/443 ingress in the security groups of the
//! target instances. Observed: the instances and their groups' ingress
//! rules (DescribeSecurityGroupRules). A rule that already allows a port
//! from a wider range counts as present; webtier only adds what is
//! missing, marks what it adds with `managed-by=webtier`, and with
//! `--prune` removes only such rules that are no longer desired.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::aws::Clients;
use crate::aws::instances::{self, Instance};
use crate::config::Target;
use crate::plan::StepName;
use crate::plan::{Action, Conflict, Planned, Step};

use crate::aws::ingress;
pub use crate::aws::ingress::{MANAGED, Rule, SourceRule};

pub const PORTS: [u16; 2] = [80, 443];

pub struct FirewallStep {
    clients: Arc<Clients>,
    target: Target,
    prune: bool,
    /// `webtier destroy`: every rule webtier added goes, nothing else.
    destroy: bool,
    /// With `[load_balancer]`: the instances' port opens to the ALB's
    /// security group only, not to addresses.
    alb: Option<AlbSource>,
}

/// The ALB whose security group may reach the instances, and on what.
#[derive(Debug, Clone)]
pub struct AlbSource {
    pub name: String,
    pub port: u16,
    pub owner: String,
}

impl FirewallStep {
    pub fn new(
        clients: Arc<Clients>,
        config: &crate::config::Config,
        prune: bool,
    ) -> Option<FirewallStep> {
        Some(FirewallStep {
            clients,
            target: config.target.clone()?,
            prune,
            destroy: false,
            alb: config.load_balancer.as_ref().map(|a| AlbSource {
                name: a.name.clone(),
                port: a.target_port,
                owner: config.dns.owner.clone(),
            }),
        })
    }

    /// The address ranges that may reach tcp/80 and tcp/443: none when
    /// an ALB stands in front.
    fn desired_cidrs(&self) -> &[IpNet] {
        match self.alb {
            Some(_) => &[],
            None => &self.target.ingress_cidrs,
        }
    }

    /// The step that removes what it created (`webtier destroy`).
    pub fn destroying(self) -> FirewallStep {
        FirewallStep {
            destroy: true,
            ..self
        }
    }
}

/// A security group webtier manages, with the instances it serves and its
/// ingress rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: String,
    pub instances: Vec<String>,
    pub rules: Vec<Rule>,
    /// `webtier destroy` only: other instances the group is attached to,
    /// which this configuration does not target. Rules marked
    /// `managed-by=webtier` in such a group may serve them (another
    /// configuration's webtier made them, or counts on them): destroy
    /// leaves that group alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<String>,
    /// Rules whose source is another security group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_groups: Vec<SourceRule>,
}

#[derive(Debug, Serialize)]
pub struct FirewallState {
    pub groups: Vec<Group>,
    /// With `[load_balancer]`: the ALB's security group, by name in the
    /// instances' VPC, and its id once the lb step has made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alb_group: Option<AlbGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlbGroup {
    pub group: crate::aws::elb::GroupRef,
    pub id: Option<String>,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FirewallOp {
    Authorize {
        group_id: String,
        port: u16,
        cidr: IpNet,
    },
    Revoke {
        group_id: String,
        rule_id: String,
    },
    /// Lets the ALB's security group reach `port`; `source_id` is None
    /// when the lb step creates the group in the same run.
    AuthorizeFrom {
        group_id: String,
        port: u16,
        source: crate::aws::elb::GroupRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_id: Option<String>,
    },
}

/// Picks the group to manage for one instance. Pure.
///
/// With `security_group` configured it must be attached. Otherwise an
/// instance with one group uses it; with several, the one group that
/// already lets one of the desired ranges reach tcp/80 or tcp/443;
/// anything else is ambiguous and the user must choose — webtier never
/// guesses.
pub fn choose_group(
    instance: &Instance,
    configured: Option<&str>,
    rules: &BTreeMap<String, Vec<Rule>>,
    desired: &[IpNet],
) -> Result<String, String> {
    if let Some(sg) = configured {
        return if instance.security_groups.iter().any(|g| g == sg) {
            Ok(sg.to_string())
        } else {
            Err(format!(
                "security_group {sg} is not attached to instance {} (it has {}) — attach it or fix [target] security_group",
                instance.id,
                list_or_none(&instance.security_groups)
            ))
        };
    }
    match instance.security_groups.as_slice() {
        [] => Err(format!(
            "instance {} has no security group — attach one, or set [target] security_group",
            instance.id
        )),
        [only] => Ok(only.clone()),
        several => {
            let allowing: Vec<&String> = several
                .iter()
                .filter(|g| {
                    rules.get(*g).is_some_and(|rs| {
                        rs.iter().any(|r| {
                            PORTS
                                .iter()
                                .any(|p| desired.iter().any(|c| r.covers(*p, c)))
                        })
                    })
                })
                .collect();
            match allowing.as_slice() {
                [one] => Ok((*one).clone()),
                _ => Err(format!(
                    "instance {} has {} security groups ({}) and {} of them already allows port 80 or 443 — choose one with [target] security_group = \"sg-…\"",
                    instance.id,
                    several.len(),
                    several.join(", "),
                    if allowing.is_empty() {
                        "none"
                    } else {
                        "more than one"
                    }
                )),
            }
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Pure: every rule webtier marked, revoked, in the groups that serve
/// only the targeted instances; a group also attached to other instances
/// is left whole (see [`shared`]).
pub fn teardown(groups: &[Group]) -> Vec<Planned<FirewallOp>> {
    let own: Vec<Group> = groups
        .iter()
        .filter(|g| g.others.is_empty())
        .cloned()
        .collect();
    let mut out = diff(&own, &[], true);
    out.extend(diff_sources(&own, None, true));
    out
}

/// Pure: the rule letting the ALB's group reach the instances' port, and
/// with `prune` (or destroy: `alb` None) the removal of webtier's other
/// group-sourced rules.
pub fn diff_sources(
    groups: &[Group],
    alb: Option<&AlbGroup>,
    prune: bool,
) -> Vec<Planned<FirewallOp>> {
    let mut out = Vec::new();
    for group in groups {
        let wanted = |r: &SourceRule| {
            alb.is_some_and(|a| {
                a.id.as_deref() == Some(r.source.as_str())
                    && r.protocol == "tcp"
                    && r.from_port == i32::from(a.port)
                    && r.to_port == i32::from(a.port)
            })
        };
        if let Some(a) = alb {
            let present =
                a.id.as_deref()
                    .is_some_and(|id| group.from_groups.iter().any(|r| r.covers(a.port, id)));
            if !present {
                out.push(Planned {
                    action: Action::Create,
                    resource: format!(
                        "ingress {} tcp/{} from {}",
                        group.id,
                        a.port,
                        a.id.as_deref().map_or_else(
                            || format!("{} (the ALB's group, known after apply)", a.group.name),
                            |id| format!("{id} ({})", a.group.name)
                        )
                    ),
                    detail: format!("description = \"{MANAGED}\""),
                    operation: FirewallOp::AuthorizeFrom {
                        group_id: group.id.clone(),
                        port: a.port,
                        source: a.group.clone(),
                        source_id: a.id.clone(),
                    },
                });
            }
        }
        for r in group
            .from_groups
            .iter()
            .filter(|r| prune && r.is_managed() && !wanted(r))
        {
            out.push(Planned {
                action: Action::Delete,
                resource: format!(
                    "ingress {} {}/{} from {} ({})",
                    group.id,
                    r.protocol,
                    if r.from_port == r.to_port {
                        r.from_port.to_string()
                    } else {
                        format!("{}-{}", r.from_port, r.to_port)
                    },
                    r.source,
                    r.id
                ),
                detail: String::new(),
                operation: FirewallOp::Revoke {
                    group_id: group.id.clone(),
                    rule_id: r.id.clone(),
                },
            });
        }
    }
    out
}

/// Pure: with an ALB in front, webtier's earlier rules that open tcp/80
/// and tcp/443 to addresses, which `--prune` removes.
pub fn direct_rules_left(groups: &[Group]) -> Vec<Conflict> {
    groups
        .iter()
        .flat_map(|g| {
            g.rules.iter().filter(|r| r.is_managed()).map(|r| Conflict {
                resource: format!("ingress {} tcp/{} from {} ({})", g.id, r.from_port, r.cidr, r.id),
                reason: "webtier opened it before the load balancer; the instances need only the ALB's group now — `webtier apply --prune` removes it".into(),
            })
        })
        .collect()
}

/// Pure: the groups destroy leaves alone, as conflicts.
pub fn shared(groups: &[Group]) -> Vec<Conflict> {
    groups
        .iter()
        .filter(|g| !g.others.is_empty() && g.rules.iter().any(Rule::is_managed))
        .map(|g| Conflict {
            resource: format!("security group {}", g.id),
            reason: format!(
                "also attached to {}, which this configuration does not target: its managed-by=webtier rules may serve them and are left — remove them by hand, or destroy from a configuration that targets every instance of the group",
                g.others.join(", ")
            ),
        })
        .collect()
}

/// Pure: the rules to add (and with `prune`, to remove).
pub fn diff(groups: &[Group], desired: &[IpNet], prune: bool) -> Vec<Planned<FirewallOp>> {
    let mut out = Vec::new();
    for group in groups {
        // With --prune, webtier's own rules that are no longer wanted go;
        // coverage is judged only by the rules that stay, so narrowing the
        // ranges adds the new rules (first) before removing the old ones.
        let wanted = |rule: &Rule| {
            rule.protocol == "tcp"
                && rule.from_port == rule.to_port
                && PORTS.iter().any(|p| i32::from(*p) == rule.from_port)
                && desired.contains(&rule.cidr)
        };
        let (doomed, staying): (Vec<&Rule>, Vec<&Rule>) = group
            .rules
            .iter()
            .partition(|r| prune && r.is_managed() && !wanted(r));
        for port in PORTS {
            for cidr in desired {
                if !staying.iter().any(|r| r.covers(port, cidr)) {
                    out.push(Planned {
                        action: Action::Create,
                        resource: format!("ingress {} tcp/{port} from {cidr}", group.id),
                        detail: format!("description = \"{MANAGED}\""),
                        operation: FirewallOp::Authorize {
                            group_id: group.id.clone(),
                            port,
                            cidr: *cidr,
                        },
                    });
                }
            }
        }
        for rule in doomed {
            out.push(Planned {
                action: Action::Delete,
                resource: format!(
                    "ingress {} {}/{} from {} ({})",
                    group.id,
                    rule.protocol,
                    port_range(rule),
                    rule.cidr,
                    rule.id
                ),
                detail: String::new(),
                operation: FirewallOp::Revoke {
                    group_id: group.id.clone(),
                    rule_id: rule.id.clone(),
                },
            });
        }
    }
    out
}

fn port_range(rule: &Rule) -> String {
    if rule.from_port == rule.to_port {
        rule.from_port.to_string()
    } else {
        format!("{}-{}", rule.from_port, rule.to_port)
    }
}

impl Step for FirewallStep {
    type Observed = FirewallState;
    type Operation = FirewallOp;

    fn name(&self) -> StepName {
        StepName::Firewall
    }

    async fn observe(&self) -> Result<FirewallState> {
        let instances = instances::resolve(&self.clients, &self.target).await?;
        let mut candidates: Vec<String> = instances
            .iter()
            .flat_map(|i| i.security_groups.iter().cloned())
            .collect();
        candidates.sort();
        candidates.dedup();
        let (rules, mut sources) = ingress::ingress(&self.clients, candidates).await?;

        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut problems = Vec::new();
        for instance in &instances {
            match choose_group(
                instance,
                self.target.security_group.as_deref(),
                &rules,
                self.desired_cidrs(),
            ) {
                Ok(g) => groups.entry(g).or_default().push(instance.id.clone()),
                Err(msg) => problems.push(msg),
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        let mut out = Vec::with_capacity(groups.len());
        for (id, instances) in groups {
            // Asked only by destroy: whom else the group serves.
            let others = if self.destroy {
                instances::in_group(&self.clients, &id)
                    .await?
                    .into_iter()
                    .filter(|i| !instances.contains(i))
                    .collect()
            } else {
                Vec::new()
            };
            out.push(Group {
                rules: rules.get(&id).cloned().unwrap_or_default(),
                from_groups: sources.remove(&id).unwrap_or_default(),
                id,
                instances,
                others,
            });
        }
        let alb_group = match (&self.alb, self.destroy) {
            (Some(alb), false) => {
                let vpc = instances
                    .iter()
                    .find_map(|i| i.vpc.clone())
                    .unwrap_or_default();
                let group = crate::aws::elb::GroupRef {
                    name: crate::aws::elb::group_name(&alb.name),
                    vpc_id: vpc,
                };
                let id =
                    crate::aws::elb::group(&self.clients, &group.name, &group.vpc_id, &alb.owner)
                        .await?
                        .filter(|g| g.owned)
                        .map(|g| g.id);
                Some(AlbGroup {
                    group,
                    id,
                    port: alb.port,
                })
            }
            _ => None,
        };
        Ok(FirewallState {
            groups: out,
            alb_group,
        })
    }

    fn diff(&self, observed: &FirewallState) -> Vec<Planned<FirewallOp>> {
        if self.destroy {
            return teardown(&observed.groups);
        }
        let mut out = diff(&observed.groups, self.desired_cidrs(), self.prune);
        if self.alb.is_some() {
            out.extend(diff_sources(
                &observed.groups,
                observed.alb_group.as_ref(),
                self.prune,
            ));
        }
        out
    }

    fn conflicts(&self, observed: &FirewallState) -> Vec<Conflict> {
        if self.destroy {
            return shared(&observed.groups);
        }
        if self.alb.is_some() && !self.prune {
            return direct_rules_left(&observed.groups);
        }
        Vec::new()
    }

    async fn apply(&self, op: &FirewallOp) -> Result<()> {
        match op {
            FirewallOp::Authorize {
                group_id,
                port,
                cidr,
            } => ingress::authorize_cidr(&self.clients, group_id, *port, cidr).await,
            FirewallOp::AuthorizeFrom {
                group_id,
                port,
                source,
                source_id,
            } => {
                let source_id = match source_id {
                    Some(id) => id.clone(),
                    None => {
                        let owner = self.alb.as_ref().map_or("", |a| a.owner.as_str());
                        crate::aws::elb::group(&self.clients, &source.name, &source.vpc_id, owner)
                            .await?
                            .filter(|g| g.owned)
                            .map(|g| g.id)
                            .with_context(|| {
                                format!(
                                    "the ALB's security group {} is not in {} — the lb step creates it before the firewall step: see its output, then run `webtier apply` again",
                                    source.name, source.vpc_id
                                )
                            })?
                    }
                };
                ingress::authorize_group(&self.clients, group_id, *port, &source_id).await
            }
            FirewallOp::Revoke { group_id, rule_id } => {
                ingress::revoke(&self.clients, group_id, rule_id).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, protocol: &str, from: i32, to: i32, cidr: &str, managed: bool) -> Rule {
        Rule {
            id: id.into(),
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            cidr: cidr.parse().unwrap(),
            description: managed.then(|| MANAGED.to_string()),
        }
    }

    fn group(rules: Vec<Rule>) -> Group {
        Group {
            id: "sg-1".into(),
            instances: vec!["i-1".into()],
            rules,
            others: Vec::new(),
            from_groups: Vec::new(),
        }
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn fresh_group_gets_every_port_for_every_range() {
        let changes = diff(&[group(vec![])], &nets(&["0.0.0.0/0", "::/0"]), false);
        let names: Vec<&str> = changes.iter().map(|c| c.resource.as_str()).collect();
        assert_eq!(
            names,
            [
                "ingress sg-1 tcp/80 from 0.0.0.0/0",
                "ingress sg-1 tcp/80 from ::/0",
                "ingress sg-1 tcp/443 from 0.0.0.0/0",
                "ingress sg-1 tcp/443 from ::/0"
            ]
        );
        assert!(changes.iter().all(|c| c.action == Action::Create));
    }

    #[test]
    fn wider_rules_count_as_present() {
        let rules = vec![
            rule("r1", "tcp", 0, 65535, "0.0.0.0/0", false),
            rule("r2", "-1", -1, -1, "::/0", false),
        ];
        assert!(
            diff(
                &[group(rules)],
                &nets(&["203.0.113.0/24", "0.0.0.0/0", "::/0"]),
                false
            )
            .is_empty()
        );
        // A narrower range or another protocol does not.
        let rules = vec![
            rule("r1", "tcp", 80, 80, "10.0.0.0/8", false),
            rule("r2", "udp", 443, 443, "0.0.0.0/0", false),
        ];
        assert_eq!(diff(&[group(rules)], &nets(&["0.0.0.0/0"]), false).len(), 2);
    }

    #[test]
    fn narrowing_with_prune_adds_the_new_range_before_removing_the_old() {
        let rules = vec![
            rule("m80", "tcp", 80, 80, "0.0.0.0/0", true),
            rule("m443", "tcp", 443, 443, "0.0.0.0/0", true),
        ];
        let changes = diff(&[group(rules)], &nets(&["203.0.113.0/24"]), true);
        let actions: Vec<Action> = changes.iter().map(|c| c.action).collect();
        assert_eq!(
            actions,
            [
                Action::Create,
                Action::Create,
                Action::Delete,
                Action::Delete
            ]
        );
        assert!(changes[0].resource.ends_with("tcp/80 from 203.0.113.0/24"));
    }

    #[test]
    fn destroy_revokes_every_managed_rule_and_nothing_else() {
        let groups = vec![group(vec![
            rule("r1", "tcp", 80, 80, "0.0.0.0/0", true),
            rule("r2", "tcp", 443, 443, "::/0", true),
            rule("r3", "tcp", 443, 443, "10.0.0.0/8", false),
            rule("r4", "tcp", 22, 22, "10.0.0.0/8", false),
        ])];
        let plan = diff(&groups, &[], true);
        let revoked: Vec<&str> = plan
            .iter()
            .map(|p| match &p.operation {
                FirewallOp::Revoke { rule_id, .. } => rule_id.as_str(),
                other => panic!("only revokes: {other:?}"),
            })
            .collect();
        assert_eq!(revoked, ["r1", "r2"]);
        assert_eq!(teardown(&groups).len(), 2);
        assert!(shared(&groups).is_empty());
        // The group also serves an instance this configuration does not
        // target: destroy leaves it whole and says why.
        let mut with_others = groups.clone();
        with_others[0].others = vec!["i-9".into()];
        assert!(teardown(&with_others).is_empty());
        let conflicts = shared(&with_others);
        assert_eq!(conflicts.len(), 1);
        assert!(
            conflicts[0].reason.contains("also attached to i-9"),
            "{conflicts:?}"
        );
    }

    #[test]
    fn prune_removes_only_managed_rules_no_longer_wanted() {
        let rules = vec![
            rule("keep-foreign", "tcp", 22, 22, "0.0.0.0/0", false),
            rule("keep-managed", "tcp", 80, 80, "0.0.0.0/0", true),
            rule("drop-managed", "tcp", 443, 443, "10.0.0.0/8", true),
            rule("keep-managed-443", "tcp", 443, 443, "0.0.0.0/0", true),
        ];
        let g = group(rules);
        assert!(diff(std::slice::from_ref(&g), &nets(&["0.0.0.0/0"]), false).is_empty());
        let changes = diff(&[g], &nets(&["0.0.0.0/0"]), true);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(
            changes[0].operation,
            FirewallOp::Revoke {
                group_id: "sg-1".into(),
                rule_id: "drop-managed".into()
            }
        );
    }

    fn instance(groups: &[&str]) -> Instance {
        Instance {
            id: "i-1".into(),
            state: "running".into(),
            public_ipv4: None,
            ipv6: vec![],
            security_groups: groups.iter().map(|g| g.to_string()).collect(),
            subnet: None,
            vpc: None,
        }
    }

    #[test]
    fn group_choice_never_guesses() {
        let mut rules = BTreeMap::new();
        let any = nets(&["0.0.0.0/0"]);
        let choose =
            |groups: &[&str], configured: Option<&str>, rules: &BTreeMap<String, Vec<Rule>>| {
                choose_group(&instance(groups), configured, rules, &any)
            };
        assert_eq!(choose(&["sg-a"], None, &rules), Ok("sg-a".into()));
        let err = choose(&["sg-a", "sg-b"], None, &rules).unwrap_err();
        assert!(
            err.contains("none of them") && err.contains("security_group"),
            "{err}"
        );
        // Other protocols and narrower ranges do not make a group "the one".
        rules.insert(
            "sg-a".to_string(),
            vec![rule("u", "udp", 443, 443, "0.0.0.0/0", false)],
        );
        rules.insert(
            "sg-b".to_string(),
            vec![rule("n", "tcp", 80, 80, "10.0.0.0/8", false)],
        );
        assert!(choose(&["sg-a", "sg-b"], None, &rules).is_err());
        // All traffic from anywhere does.
        rules.insert(
            "sg-b".to_string(),
            vec![rule("all", "-1", -1, -1, "0.0.0.0/0", false)],
        );
        assert_eq!(choose(&["sg-a", "sg-b"], None, &rules), Ok("sg-b".into()));
        rules.insert(
            "sg-a".to_string(),
            vec![rule("r", "tcp", 80, 80, "0.0.0.0/0", false)],
        );
        let err = choose(&["sg-a", "sg-b"], None, &rules).unwrap_err();
        assert!(err.contains("more than one"), "{err}");
        assert_eq!(
            choose(&["sg-a", "sg-b"], Some("sg-a"), &rules),
            Ok("sg-a".into())
        );
        assert!(
            choose(&["sg-a"], Some("sg-z"), &rules)
                .unwrap_err()
                .contains("not attached")
        );
    }
}
