//! The steps webtier converges, in the order `apply` runs them.

pub mod cert;
pub mod dns;
pub mod firewall;
pub mod proxy_config;

use std::fmt;
use std::sync::Arc;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::aws::Clients;
use crate::config::Config;
use crate::plan::engine::AnyStep;

/// Every step, in apply order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum StepName {
    /// Security-group ingress for tcp/80 and tcp/443 on the target instances
    Firewall,
    /// Route 53 A/AAAA (or alias) records for every site name
    Dns,
    /// A valid ACME certificate for every site with tls = "acme"
    Cert,
    /// The bundled proxy's generated configuration file
    ProxyConfig,
}

impl StepName {
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Firewall => "firewall",
            StepName::Dns => "dns",
            StepName::Cert => "cert",
            StepName::ProxyConfig => "proxy-config",
        }
    }

    pub fn parse(text: &str) -> Option<StepName> {
        <StepName as clap::ValueEnum>::from_str(text, false).ok()
    }

    fn all() -> &'static [StepName] {
        <StepName as clap::ValueEnum>::value_variants()
    }

    /// Why the configuration leaves this step out, if it does.
    fn unconfigured(self, config: &Config) -> Option<&'static str> {
        match self {
            StepName::Firewall if !config.has_firewall() => Some("a [target] section"),
            StepName::Dns if !config.has_dns() => Some("a [target] section or [dns] load_balancer"),
            StepName::Cert if cert::wanted(config).is_empty() => {
                Some("a [[site]] with tls = \"acme\"")
            }
            _ => None,
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far steps may go beyond adding what is missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// firewall: remove webtier's own rules that are no longer desired.
    pub prune: bool,
    /// dns: take over address records webtier did not create.
    pub adopt: bool,
}

/// Builds the requested steps in apply order. With no names: every step
/// the configuration sets up. A named step the configuration does not set
/// up is an error.
pub async fn build(
    config: &Config,
    names: &[StepName],
    options: Options,
) -> Result<Vec<Box<dyn AnyStep>>> {
    let mut wanted: Vec<StepName> = if names.is_empty() {
        StepName::all()
            .iter()
            .copied()
            .filter(|s| s.unconfigured(config).is_none())
            .collect()
    } else {
        for name in names {
            if let Some(needs) = name.unconfigured(config) {
                bail!(
                    "the {name} step needs {needs} in {}",
                    config.source.display()
                );
            }
        }
        names.to_vec()
    };
    wanted.sort();
    wanted.dedup();
    let clients = if wanted
        .iter()
        .any(|s| matches!(s, StepName::Firewall | StepName::Dns))
    {
        Some(Arc::new(Clients::connect(&config.aws).await?))
    } else {
        None
    };
    let mut steps: Vec<Box<dyn AnyStep>> = Vec::with_capacity(wanted.len());
    for name in wanted {
        steps.push(match (name, &clients, &config.target) {
            (StepName::Firewall, Some(c), Some(target)) => Box::new(firewall::FirewallStep::new(
                c.clone(),
                target,
                options.prune,
            )),
            (StepName::Dns, Some(c), _) => {
                Box::new(dns::DnsStep::new(c.clone(), config, options.adopt))
            }
            (StepName::Cert, _, _) => Box::new(cert::CertStep::new(config)),
            (StepName::ProxyConfig, _, _) => Box::new(proxy_config::ProxyConfigStep::new(config)?),
            (name, _, _) => bail!("the {name} step is not configured"),
        });
    }
    Ok(steps)
}
