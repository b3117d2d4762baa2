//! The steps webtier converges, in the order `apply` runs them.

pub mod proxy_config;

use std::fmt;

use serde::{Deserialize, Serialize};

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
    /// The bundled proxy's generated configuration file
    ProxyConfig,
}

impl StepName {
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::ProxyConfig => "proxy-config",
        }
    }

    pub fn parse(text: &str) -> Option<StepName> {
        <StepName as clap::ValueEnum>::from_str(text, false).ok()
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds the requested steps (all when `names` is empty), in apply order.
pub fn build(config: &Config, names: &[StepName]) -> anyhow::Result<Vec<Box<dyn AnyStep>>> {
    let all = <StepName as clap::ValueEnum>::value_variants();
    let mut wanted: Vec<StepName> = if names.is_empty() {
        all.to_vec()
    } else {
        names.to_vec()
    };
    wanted.sort();
    wanted.dedup();
    wanted
        .into_iter()
        .map(|name| -> anyhow::Result<Box<dyn AnyStep>> {
            Ok(match name {
                StepName::ProxyConfig => Box::new(proxy_config::ProxyConfigStep::new(config)?),
            })
        })
        .collect()
}
