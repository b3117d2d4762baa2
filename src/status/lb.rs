//! `lb`: the ALB of `[load_balancer]` and its targets' health, as the ALB
//! sees it (DescribeTargetHealth): every target instance registered and
//! healthy.

use super::Check;
use crate::aws::{Clients, elb, instances};
use crate::config::Config;

pub const NAME: &str = "lb";

pub async fn check(clients: &Clients, config: &Config) -> Option<Check> {
    let alb = config.load_balancer.as_ref()?;
    let owner = &config.dns.owner;
    let found = match elb::load_balancer(clients, &alb.name, owner).await {
        Ok(found) => found,
        Err(e) => return Some(Check::fail(NAME, format!("{e:#}"))),
    };
    let Some(lb) = found.filter(|a| a.owned) else {
        return Some(Check::fail(
            NAME,
            format!(
                "load balancer {} does not exist (or is not webtier's) — `webtier apply` creates it",
                alb.name
            ),
        ));
    };
    let group = match elb::target_group(clients, &alb.name, owner).await {
        Ok(Some(g)) if g.owned => g,
        Ok(_) => {
            return Some(Check::fail(
                NAME,
                format!(
                    "target group {} does not exist (or is not webtier's) — `webtier apply` creates it",
                    alb.name
                ),
            ));
        }
        Err(e) => return Some(Check::fail(NAME, format!("{e:#}"))),
    };
    let wanted: Vec<String> = match &config.target {
        Some(t) => match instances::resolve(clients, t).await {
            Ok(list) => list.into_iter().map(|i| i.id).collect(),
            Err(e) => return Some(Check::fail(NAME, format!("{e:#}"))),
        },
        None => Vec::new(),
    };
    Some(verdict(&lb.dns_name, &group.targets, &wanted))
}

/// Pure: healthy when every wanted instance is registered and healthy.
pub fn verdict(dns_name: &str, targets: &[elb::Target], wanted: &[String]) -> Check {
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    let mut problems: Vec<String> = targets
        .iter()
        .filter(|t| t.state != "healthy")
        .map(|t| match &t.reason {
            Some(r) => format!("{} {} ({r})", t.id, t.state),
            None => format!("{} {}", t.id, t.state),
        })
        .collect();
    problems.extend(
        wanted
            .iter()
            .filter(|w| !targets.iter().any(|t| &t.id == *w))
            .map(|w| format!("{w} not registered (`webtier apply lb` registers it)")),
    );
    let summary = format!("{dns_name}: {healthy} of {} targets healthy", targets.len());
    if problems.is_empty() && healthy > 0 {
        Check::pass(NAME, summary)
    } else if problems.is_empty() {
        Check::fail(NAME, format!("{summary} — no target registered"))
    } else {
        Check::fail(NAME, format!("{summary}: {}", problems.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, state: &str, reason: Option<&str>) -> elb::Target {
        elb::Target {
            id: id.into(),
            port: 80,
            state: state.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn every_wanted_target_must_be_registered_and_healthy() {
        let wanted = vec!["i-1".to_string(), "i-2".to_string()];
        let both = [
            target("i-1", "healthy", None),
            target("i-2", "healthy", None),
        ];
        let check = verdict("shop.elb", &both, &wanted);
        assert!(check.ok, "{check:?}");
        assert_eq!(check.detail, "shop.elb: 2 of 2 targets healthy");
        let sick = [
            target("i-1", "healthy", None),
            target("i-2", "unhealthy", Some("Target.ResponseCodeMismatch")),
        ];
        let check = verdict("shop.elb", &sick, &wanted);
        assert!(!check.ok);
        assert!(
            check
                .detail
                .ends_with("i-2 unhealthy (Target.ResponseCodeMismatch)"),
            "{check:?}"
        );
        let check = verdict("shop.elb", &both[..1], &wanted);
        assert!(
            !check.ok && check.detail.contains("i-2 not registered"),
            "{check:?}"
        );
        assert!(!verdict("shop.elb", &[], &[]).ok);
    }
}
