//! `dns-record`: the Route 53 records of a site's names, judged by the dns
//! step's own observe and per-name diff (in sync when it would change
//! nothing and sees no conflict). `dns-resolution`: what the system
//! resolver answers for each name, against the addresses the records
//! hold; anything else is propagation still pending.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::Check;
use crate::aws::Clients;
use crate::aws::route53::RecordSet;
use crate::config::{Config, Site};
use crate::plan::Step;
use crate::steps::dns::{DnsState, DnsStep, NameState, desired_sets, diff_name, parse_ownership};

pub const RECORD: &str = "dns-record";
pub const RESOLUTION: &str = "dns-resolution";

/// How long one name may take to resolve before it counts as not resolving.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The records of every site name, as the dns step observes them; the
/// error says why they could not be read.
pub async fn observe(
    clients: &Result<Arc<Clients>, String>,
    config: &Config,
) -> Result<DnsState, String> {
    let clients = clients
        .as_ref()
        .map_err(|e| format!("cannot reach AWS: {e}"))?;
    DnsStep::new(Arc::clone(clients), config, false)
        .observe()
        .await
        .map_err(|e| format!("cannot read the Route 53 records: {e:#}"))
}

/// The site's names in sync with what the dns step wants.
pub fn record_check(config: &Config, site: &Site, observed: &Result<DnsState, String>) -> Check {
    let observed = match observed {
        Ok(o) => o,
        Err(e) => return Check::fail(RECORD, e.clone()),
    };
    let ipv6 = config.records_ipv6();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for name in site.names() {
        let Some(state) = observed.names.iter().find(|n| n.name == name) else {
            bad.push(format!("{name}: not observed"));
            continue;
        };
        let desired = desired_sets(name, &observed.addresses, config.dns.ttl, ipv6);
        let (changes, conflict) =
            diff_name(state, &desired, &config.dns.owner, config.dns.ttl, false);
        if let Some(conflict) = conflict {
            bad.push(format!("{name}: {}", conflict.reason));
        } else if !changes.is_empty() {
            let pending: Vec<String> = changes
                .iter()
                .map(|c| {
                    let what = format!("{} {}", c.action.symbol(), c.resource);
                    match c.detail.lines().next() {
                        Some(d) if !d.is_empty() => format!("{what} ({d})"),
                        _ => what,
                    }
                })
                .collect();
            bad.push(format!("{name}: pending {}", pending.join(", ")));
        } else {
            good.push(held(state, &config.dns.owner));
        }
    }
    if bad.is_empty() {
        Check::pass(RECORD, good.join("; "))
    } else {
        Check::fail(
            RECORD,
            format!(
                "{} — `webtier plan dns` shows the changes, `webtier apply dns` makes them",
                bad.join("; ")
            ),
        )
    }
}

/// `app.example.com A 192.0.2.1, owned by webtier (TXT owner=…)`.
fn held(state: &NameState, owner: &str) -> String {
    let sets: Vec<String> = address_sets(&state.records)
        .map(|r| match &r.alias {
            Some(a) => format!("{} alias {}", r.rtype, a.dns_name),
            None => format!("{} {}", r.rtype, r.values.join(" ")),
        })
        .collect();
    let owned = state
        .records
        .iter()
        .filter(|r| r.rtype == "TXT")
        .flat_map(|r| &r.values)
        .any(|v| parse_ownership(v).is_some_and(|(o, _)| o == owner));
    let sets = if sets.is_empty() {
        "no address records".to_string()
    } else {
        sets.join(", ")
    };
    if owned {
        format!(
            "{} {sets}, owned by webtier (TXT owner={owner})",
            state.name
        )
    } else {
        format!("{} {sets}", state.name)
    }
}

fn address_sets(records: &[RecordSet]) -> impl Iterator<Item = &RecordSet> {
    records
        .iter()
        .filter(|r| r.rtype == "A" || r.rtype == "AAAA")
}

/// What the system resolver answers for each of the site's names, against
/// what the records hold.
pub async fn resolution_check(site: &Site, observed: &Result<DnsState, String>) -> Check {
    let mut verdicts = Vec::new();
    for name in site.names() {
        let held = match observed {
            Ok(o) => match o.names.iter().find(|n| n.name == name) {
                Some(state) => Some(held_addresses(state).await),
                None => None,
            },
            Err(_) => None,
        };
        verdicts.push(resolution_verdict(
            name,
            &resolve(name).await,
            held.as_ref(),
        ));
    }
    let ok = verdicts.iter().all(|(ok, _)| *ok);
    let detail = verdicts
        .into_iter()
        .map(|(_, d)| d)
        .collect::<Vec<_>>()
        .join("; ");
    if ok {
        Check::pass(RESOLUTION, detail)
    } else {
        Check::fail(RESOLUTION, detail)
    }
}

/// The addresses a name's records hold: the A and AAAA values, or for an
/// alias what its target resolves to.
async fn held_addresses(state: &NameState) -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    for set in address_sets(&state.records) {
        match &set.alias {
            Some(alias) => out.extend(resolve(&alias.dns_name).await.unwrap_or_default()),
            None => out.extend(set.values.iter().filter_map(|v| v.parse::<IpAddr>().ok())),
        }
    }
    out
}

/// The system resolver's addresses for `name` (getaddrinfo, as a browser
/// on this host would ask), or why there are none.
pub async fn resolve(name: &str) -> Result<BTreeSet<IpAddr>, String> {
    let lookup = tokio::net::lookup_host((name, 0));
    match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip()).collect()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", RESOLVE_TIMEOUT.as_secs())),
    }
}

/// Pure: (ok, detail) for one name resolved to `resolved`, whose records
/// hold `held` (`None`: the records could not be read).
pub fn resolution_verdict(
    name: &str,
    resolved: &Result<BTreeSet<IpAddr>, String>,
    held: Option<&BTreeSet<IpAddr>>,
) -> (bool, String) {
    let list = |set: &BTreeSet<IpAddr>| {
        set.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let resolved = match resolved {
        Ok(set) if !set.is_empty() => set,
        Ok(_) => {
            return (
                false,
                format!("propagation pending: {name} does not resolve yet (no addresses)"),
            );
        }
        Err(e) => {
            return (
                false,
                format!("propagation pending: {name} does not resolve yet ({e})"),
            );
        }
    };
    match held {
        None => (
            false,
            format!(
                "{name} resolves to {}; the Route 53 records could not be read to compare",
                list(resolved)
            ),
        ),
        Some(held) if held.is_empty() => (
            false,
            format!(
                "{name} resolves to {}, but Route 53 holds no address for it",
                list(resolved)
            ),
        ),
        Some(held) if held == resolved => (
            true,
            format!("{name} resolves to {}, as the records hold", list(resolved)),
        ),
        Some(held) => (
            false,
            format!(
                "propagation pending: {name} resolves to {}, the records hold {} (resolvers follow within the records' TTL)",
                list(resolved),
                list(held)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(addrs: &[&str]) -> BTreeSet<IpAddr> {
        addrs.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn a_name_that_does_not_resolve_or_resolves_elsewhere_is_pending() {
        let held = set(&["192.0.2.1"]);
        let (ok, detail) = resolution_verdict(
            "app.example.com",
            &Err("failed to lookup address information".into()),
            Some(&held),
        );
        assert!(!ok);
        assert!(
            detail.starts_with("propagation pending: app.example.com does not resolve yet"),
            "{detail}"
        );
        let (ok, detail) =
            resolution_verdict("app.example.com", &Ok(set(&["198.51.100.7"])), Some(&held));
        assert!(!ok);
        assert!(
            detail.contains("propagation pending")
                && detail.contains("resolves to 198.51.100.7, the records hold 192.0.2.1"),
            "{detail}"
        );
        // More addresses than the records hold is not yet the records.
        let (ok, _) = resolution_verdict(
            "app.example.com",
            &Ok(set(&["192.0.2.1", "2001:db8::9"])),
            Some(&held),
        );
        assert!(!ok);
    }

    #[test]
    fn the_records_addresses_are_in_sync_and_unknown_records_are_no_pass() {
        let both = set(&["192.0.2.1", "2001:db8::1"]);
        let (ok, detail) = resolution_verdict("a.example", &Ok(both.clone()), Some(&both));
        assert!(ok);
        assert_eq!(
            detail,
            "a.example resolves to 192.0.2.1, 2001:db8::1, as the records hold"
        );
        let (ok, detail) = resolution_verdict("a.example", &Ok(both.clone()), None);
        assert!(!ok);
        assert!(detail.contains("could not be read"), "{detail}");
        let (ok, detail) = resolution_verdict("a.example", &Ok(both), Some(&set(&[])));
        assert!(!ok);
        assert!(detail.contains("holds no address"), "{detail}");
    }
}
