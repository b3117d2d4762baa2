//! `webtier status`: whether each site is served as its configuration
//! says, as a list of checks in the order a visitor's request meets what
//! they check: the load balancer's targets, the security group, the DNS records and what resolvers
//! answer, the certificate in ACM, the certificate on the instance and
//! its renewal, the proxy and the certificate it serves, the upstream.
//!
//! Each check is its own module with a pure verdict over what it observed;
//! the firewall and dns checks observe and diff through those steps' own
//! code, so "in sync" means exactly "the step would change nothing". A
//! check that cannot run (AWS unreachable, a file unreadable) fails with
//! the reason; the other checks still run. Checks for what the
//! configuration does not set up (no `[target]`, `tls = "none"`) are left
//! out, not failed.
//!
//! Used by `commands::status`; names the steps, never the other way round.

pub mod acm;
pub mod certificate;
pub mod dns;
pub mod firewall;
pub mod lb;
pub mod proxy;
pub mod schedule;
pub mod tls;
pub mod upstream;

use std::sync::Arc;

use serde::Serialize;

use crate::aws::Clients;
use crate::config::Config;

/// The check names, in the order they are reported.
pub const ORDER: [&str; 10] = [
    lb::NAME,
    firewall::NAME,
    dns::RECORD,
    dns::RESOLUTION,
    acm::NAME,
    certificate::NAME,
    schedule::NAME,
    proxy::NAME,
    tls::NAME,
    upstream::NAME,
];

/// One check's outcome: `{"check": …, "ok": …, "detail": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            ok: true,
            detail: detail.into(),
        }
    }

    pub fn fail(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The checks of one site; `ok` when every one passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteReport {
    pub domain: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// What `webtier status --json` prints; `ok` when every site is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub sites: Vec<SiteReport>,
}

impl Report {
    /// The report of these sites' checks, each level the AND of the one
    /// below.
    pub fn new(sites: Vec<(String, Vec<Check>)>) -> Report {
        let sites: Vec<SiteReport> = sites
            .into_iter()
            .map(|(domain, checks)| SiteReport {
                ok: checks.iter().all(|c| c.ok),
                domain,
                checks,
            })
            .collect();
        Report {
            ok: sites.iter().all(|s| s.ok),
            sites,
        }
    }

    /// Every check of every site, with its site's domain.
    pub fn checks(&self) -> impl Iterator<Item = (&str, &Check)> {
        self.sites
            .iter()
            .flat_map(|s| s.checks.iter().map(move |c| (s.domain.as_str(), c)))
    }
}

/// Runs every check the configuration sets up, for every site. Never
/// fails: what cannot be checked is a failed check.
pub async fn collect(config: &Config) -> Report {
    let aws = if config.has_firewall() || config.has_dns() || crate::steps::cert::needs_aws(config)
    {
        Some(
            Clients::connect(&config.aws)
                .await
                .map(Arc::new)
                .map_err(|e| format!("{e:#}")),
        )
    } else {
        None
    };
    // Observed once for every site: one look at the security groups and
    // the records serves all.
    // Side by side: when AWS is unreachable, each waits out the SDK's
    // retries.
    let lb = match &aws {
        Some(Ok(clients)) => lb::check(clients, config).await,
        Some(Err(e)) if config.has_lb() => {
            Some(Check::fail(lb::NAME, format!("cannot reach AWS: {e}")))
        }
        _ => None,
    };
    let (firewall, records) = tokio::join!(
        async {
            match (&config.target, &aws) {
                (Some(_), Some(clients)) => Some(firewall::check(clients, config).await),
                _ => None,
            }
        },
        async {
            match &aws {
                Some(clients) if config.has_dns() => Some(dns::observe(clients, config).await),
                _ => None,
            }
        }
    );
    let schedule = crate::steps::cert::scheduled(config).then(|| schedule::check(config));
    let now = crate::steps::cert::now();
    let mut sites = Vec::with_capacity(config.sites.len());
    for site in &config.sites {
        let mut checks = Vec::new();
        checks.extend(lb.clone());
        checks.extend(firewall.clone());
        if let Some(records) = &records {
            checks.push(dns::record_check(config, site, records));
            checks.push(dns::resolution_check(site, records).await);
        }
        match &aws {
            Some(Ok(clients)) => checks.extend(acm::check(clients, config, site, now).await),
            Some(Err(e)) if site.imports_to_acm() || site.tls == crate::config::Tls::Acm => {
                checks.push(Check::fail(acm::NAME, format!("cannot reach AWS: {e}")));
            }
            _ => {}
        }
        if site.tls_on_instance() {
            checks.push(certificate::check(config, site, now));
            checks.extend(schedule.clone());
        }
        checks.push(proxy::check(config, site));
        if site.tls_on_instance() {
            checks.push(tls::check(config, site).await);
        }
        checks.extend(upstream::check(site).await);
        debug_assert!(in_order(&checks), "{checks:?}");
        sites.push((site.domain.clone(), checks));
    }
    Report::new(sites)
}

/// Whether `checks` follow [`ORDER`] (each name at most once).
fn in_order(checks: &[Check]) -> bool {
    let positions: Vec<Option<usize>> = checks
        .iter()
        .map(|c| ORDER.iter().position(|n| *n == c.check))
        .collect();
    positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_the_and_of_the_level_below() {
        let report = Report::new(vec![
            (
                "a.example".into(),
                vec![
                    Check::pass("firewall", "open"),
                    Check::pass("proxy", "runs"),
                ],
            ),
            (
                "b.example".into(),
                vec![
                    Check::pass("firewall", "open"),
                    Check::fail("upstream", "refuses connections"),
                ],
            ),
        ]);
        assert!(report.sites[0].ok);
        assert!(!report.sites[1].ok);
        assert!(!report.ok);
        assert_eq!(
            serde_json::to_value(&report.sites[1].checks[1]).unwrap(),
            serde_json::json!({"check": "upstream", "ok": false, "detail": "refuses connections"})
        );
        let all_good = Report::new(vec![("a.example".into(), vec![Check::pass("proxy", "x")])]);
        assert!(all_good.ok);
        // No check is no failure (a site whose checks are all left out).
        assert!(Report::new(vec![("c.example".into(), vec![])]).ok);
    }

    #[test]
    fn checks_are_reported_in_one_order() {
        let c = |name| Check::pass(name, "");
        assert!(in_order(&[
            c("firewall"),
            c("dns-record"),
            c("proxy"),
            c("upstream")
        ]));
        assert!(!in_order(&[c("proxy"), c("firewall")]));
        assert!(!in_order(&[c("proxy"), c("proxy")]));
        assert!(!in_order(&[c("bogus")]));
    }
}
