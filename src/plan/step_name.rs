//! The names of the steps, in apply order: what plans, saved plan files
//! and the command line call them. The steps themselves live in
//! `crate::steps`; `cli` offers these names as values of its arguments.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every step, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepName {
    Firewall,
    Dns,
    ProxyConfig,
    Proxy,
    Cert,
    Lb,
    Schedule,
}

impl StepName {
    /// Every step, in apply order: the proxy runs (serving HTTP-01
    /// challenges on port 80) before certificates are ordered; a site
    /// whose certificate is not issued yet waits, refused alone, and is
    /// served once the cert step installs it and reloads the proxy; the
    /// renewal schedule comes last.
    pub const ALL: [StepName; 7] = [
        StepName::Firewall,
        StepName::Dns,
        StepName::ProxyConfig,
        StepName::Proxy,
        StepName::Cert,
        StepName::Lb,
        StepName::Schedule,
    ];

    /// The apply order with a `[load_balancer]`: every site's certificate
    /// is ACM's (DNS-validated, needing no proxy), so the cert step comes
    /// first; the ALB needs it for its HTTPS listener, and the firewall
    /// (the instances' port opened to the ALB's group) and dns (aliases
    /// to the ALB) need the ALB.
    pub const WITH_LB: [StepName; 7] = [
        StepName::Cert,
        StepName::Lb,
        StepName::Firewall,
        StepName::Dns,
        StepName::ProxyConfig,
        StepName::Proxy,
        StepName::Schedule,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Firewall => "firewall",
            StepName::Dns => "dns",
            StepName::Cert => "cert",
            StepName::ProxyConfig => "proxy-config",
            StepName::Proxy => "proxy",
            StepName::Lb => "lb",
            StepName::Schedule => "schedule",
        }
    }

    /// What the step converges, in one line (the command line's help).
    pub fn summary(self) -> &'static str {
        match self {
            StepName::Firewall => {
                "Security-group ingress for tcp/80 and tcp/443 on the target instances"
            }
            StepName::Dns => "Route 53 A/AAAA (or alias) records for every site name",
            StepName::Cert => "A valid ACME certificate for every site with tls = \"acme\"",
            StepName::ProxyConfig => "The bundled proxy's generated configuration file",
            StepName::Proxy => {
                "The bundled proxy daemon running that configuration (systemd unit or detached)"
            }
            StepName::Lb => {
                "The Application Load Balancer of [load_balancer]: its security group, target group, targets and listeners"
            }
            StepName::Schedule => {
                "The systemd timer or cron entry that runs `webtier cert renew` twice a day"
            }
        }
    }

    /// The step spelled exactly as `as_str` spells it.
    pub fn parse(text: &str) -> Option<StepName> {
        StepName::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_serialize_as_spelled() {
        for step in StepName::ALL {
            assert_eq!(StepName::parse(step.as_str()), Some(step));
            assert_eq!(
                serde_json::to_value(step).unwrap(),
                serde_json::Value::from(step.as_str())
            );
        }
        assert_eq!(StepName::parse("Proxy-Config"), None);
        assert!(StepName::ALL.is_sorted(), "ALL is in apply order");
    }
}
