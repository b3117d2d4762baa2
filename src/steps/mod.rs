//! The steps webtier converges, in the order `apply` runs them.

pub mod cert;
pub mod dns;
pub mod firewall;
pub mod lb;
pub mod proxy;
pub mod proxy_config;
pub mod schedule;

use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::aws::Clients;
use crate::config::Config;
use crate::plan::StepName;
use crate::plan::engine::AnyStep;

/// Why the configuration leaves `step` out, if it does.
fn unconfigured(step: StepName, config: &Config) -> Option<&'static str> {
    match step {
        StepName::Firewall if !config.has_firewall() => Some("a [target] section"),
        StepName::Dns if !config.has_dns() => Some("a [target] section or [dns] load_balancer"),
        StepName::Lb if !config.has_lb() => Some("a [load_balancer] section"),
        StepName::Cert if !cert::configured(config) => {
            Some("a [[site]] with tls = \"acme\" or tls = \"acm\"")
        }
        StepName::Proxy if config.proxy.launch == crate::config::Launch::None => {
            Some("[proxy] launch other than \"none\"")
        }
        StepName::Schedule if !cert::scheduled(config) => {
            Some("a [[site]] with tls = \"acme\", or tls = \"acm\" in export mode")
        }
        StepName::Schedule if config.acme.schedule == crate::config::Schedule::None => {
            Some("[acme] schedule other than \"none\"")
        }
        _ => None,
    }
}

/// How far steps may go beyond adding what is missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// firewall: remove webtier's own rules that are no longer desired.
    pub prune: bool,
    /// dns: take over address records webtier did not create.
    pub adopt: bool,
    /// `webtier destroy`: each step removes what it created, in reverse
    /// apply order; certificates are kept unless `Revoke`.
    pub destroy: Option<cert::Revoke>,
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
        StepName::ALL
            .into_iter()
            // Destroy looks for a renewal schedule webtier installed even
            // when the configuration no longer asks for one.
            .filter(|s| {
                unconfigured(*s, config).is_none()
                    || (options.destroy.is_some() && *s == StepName::Schedule)
            })
            .collect()
    } else {
        for name in names {
            if let Some(needs) = unconfigured(*name, config) {
                bail!(
                    "the {name} step needs {needs} in {}",
                    config.source.display()
                );
            }
        }
        names.to_vec()
    };
    let order = if config.has_lb() {
        StepName::WITH_LB
    } else {
        StepName::ALL
    };
    wanted.sort_by_key(|s| order.iter().position(|o| o == s));
    wanted.dedup();
    if options.destroy.is_some() {
        wanted.reverse();
    }
    let clients = if wanted.iter().any(|s| match s {
        StepName::Firewall | StepName::Dns | StepName::Lb => true,
        StepName::Cert => cert::needs_aws(config) && options.destroy.is_none(),
        StepName::ProxyConfig => proxy_config::needs_aws(config),
        _ => false,
    }) {
        Some(Arc::new(Clients::connect(&config.aws).await?))
    } else {
        None
    };
    let mut steps: Vec<Box<dyn AnyStep>> = Vec::with_capacity(wanted.len());
    let destroy = options.destroy;
    for name in wanted {
        steps.push(match (name, &clients, &config.target) {
            (StepName::Firewall, Some(c), Some(_)) => {
                let step = firewall::FirewallStep::new(c.clone(), config, options.prune)
                    .context("the firewall step needs [target]")?;
                match destroy {
                    Some(_) => Box::new(step.destroying()),
                    None => Box::new(step),
                }
            }
            (StepName::Dns, Some(c), _) => {
                let step = dns::DnsStep::new(c.clone(), config, options.adopt);
                match destroy {
                    Some(_) => Box::new(step.destroying()),
                    None => Box::new(step),
                }
            }
            (StepName::Lb, Some(c), _) => {
                let step = lb::LbStep::new(c.clone(), config)?;
                match destroy {
                    Some(_) => Box::new(step.destroying()),
                    None => Box::new(step),
                }
            }
            (StepName::Cert, clients, _) => {
                let step = cert::CertStep::new(config, clients.clone());
                match destroy {
                    Some(revoke) => Box::new(step.destroying(revoke)),
                    None => Box::new(step),
                }
            }
            (StepName::ProxyConfig, clients, _) => {
                let step = proxy_config::ProxyConfigStep::new(config, clients.clone())?;
                match destroy {
                    Some(_) => Box::new(step.destroying()),
                    None => Box::new(step),
                }
            }
            (StepName::Proxy, _, _) => {
                let step = proxy::ProxyStep::new(config)?;
                match destroy {
                    Some(_) => Box::new(step.destroying()),
                    None => Box::new(step),
                }
            }
            (StepName::Schedule, _, _) => match destroy {
                Some(_) => Box::new(schedule::ScheduleStep::destroying(config)?),
                None => Box::new(schedule::ScheduleStep::new(config)?),
            },
            (name, _, _) => bail!("the {name} step is not configured"),
        });
    }
    Ok(steps)
}
