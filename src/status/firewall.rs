//! `firewall`: tcp/80 and tcp/443 open in the security groups of the
//! target instances, judged by the firewall step itself: observed as it
//! observes, and in sync when its diff has nothing to add.

use std::sync::Arc;

use ipnet::IpNet;

use super::Check;
use crate::aws::Clients;
use crate::config::Config;
use crate::plan::{Planned, Step};
use crate::steps::firewall::{FirewallOp, FirewallStep, Group, PORTS};

pub const NAME: &str = "firewall";

pub async fn check(clients: &Result<Arc<Clients>, String>, config: &Config) -> Check {
    let clients = match clients {
        Ok(c) => Arc::clone(c),
        Err(e) => return Check::fail(NAME, format!("cannot reach AWS: {e}")),
    };
    // Never pruning: status judges what is open, not what is extra.
    let Some(step) = FirewallStep::new(clients, config, false) else {
        return Check::fail(NAME, "no [target] section".to_string());
    };
    match step.observe().await {
        Ok(observed) => match (&config.load_balancer, &observed.alb_group) {
            (Some(_), Some(alb)) => {
                let missing = step.diff(&observed);
                let group_ids = join(observed.groups.iter().map(|g| g.id.clone()));
                if missing.is_empty() {
                    Check::pass(
                        NAME,
                        format!(
                            "tcp/{} open to the ALB's group {} in {group_ids}",
                            alb.port, alb.group.name
                        ),
                    )
                } else {
                    verdict(&observed.groups, &missing, &[])
                }
            }
            _ => verdict(
                &observed.groups,
                &step.diff(&observed),
                config.target.as_ref().map_or(&[][..], |t| &t.ingress_cidrs),
            ),
        },
        Err(e) => Check::fail(NAME, format!("cannot read the security groups: {e:#}")),
    }
}

/// Pure: open when the step would add nothing.
pub fn verdict(groups: &[Group], missing: &[Planned<FirewallOp>], cidrs: &[IpNet]) -> Check {
    let ports = PORTS
        .iter()
        .map(|p| format!("tcp/{p}"))
        .collect::<Vec<_>>()
        .join(" and ");
    let ranges = join(cidrs.iter().map(ToString::to_string));
    let group_ids = join(groups.iter().map(|g| g.id.clone()));
    if missing.is_empty() {
        return Check::pass(NAME, format!("{ports} open to {ranges} in {group_ids}"));
    }
    Check::fail(
        NAME,
        format!(
            "not open: {} — `webtier apply firewall` opens {}",
            join(
                missing
                    .iter()
                    .map(|m| m.resource.trim_start_matches("ingress ").to_string())
            ),
            if missing.len() == 1 { "it" } else { "them" }
        ),
    )
}

fn join(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "no security group".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::firewall::{Rule, diff};

    fn group(rules: Vec<Rule>) -> Group {
        Group {
            id: "sg-1".into(),
            instances: vec!["i-1".into()],
            rules,
            others: Vec::new(),
            from_groups: Vec::new(),
        }
    }

    fn rule(port: i32, cidr: &str) -> Rule {
        Rule {
            id: format!("sgr-{port}"),
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            cidr: cidr.parse().unwrap(),
            description: None,
        }
    }

    #[test]
    fn open_when_the_step_would_add_nothing_else_names_what_is_missing() {
        let cidrs: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap()];
        let open = vec![group(vec![rule(80, "0.0.0.0/0"), rule(443, "0.0.0.0/0")])];
        let c = verdict(&open, &diff(&open, &cidrs, false), &cidrs);
        assert!(c.ok);
        assert_eq!(c.detail, "tcp/80 and tcp/443 open to 0.0.0.0/0 in sg-1");

        let half = vec![group(vec![rule(80, "0.0.0.0/0")])];
        let c = verdict(&half, &diff(&half, &cidrs, false), &cidrs);
        assert!(!c.ok);
        assert_eq!(
            c.detail,
            "not open: sg-1 tcp/443 from 0.0.0.0/0 — `webtier apply firewall` opens it"
        );
    }
}
