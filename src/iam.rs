//! `webtier iam-policy`: the least-privilege IAM policy for the steps the
//! configuration sets up. Pure: derived from the configuration alone.

use serde_json::{Value, json};

use crate::config::{Config, Target};

/// Every AWS action webtier may call, by step. The tests check that each
/// action they see webtier call is in the policy.
pub fn policy(config: &Config) -> Value {
    let mut statements = Vec::new();
    let region = config.aws.region.as_deref().unwrap_or("*");
    // China and GovCloud regions live in partitions of their own.
    let partition = match region {
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    let dns_needs_instances = config.has_dns() && config.dns.load_balancer.is_none();

    if config.has_firewall() || dns_needs_instances {
        statements.push(json!({
            "Sid": "WebtierFindInstances",
            "Effect": "Allow",
            "Action": ["ec2:DescribeInstances"],
            "Resource": "*",
        }));
    }
    if let Some(target) = config.target.as_ref().filter(|_| config.has_firewall()) {
        statements.extend(firewall_statements(target, partition, region));
    }
    if config.has_dns() {
        statements.extend(dns_statements(config, partition));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The firewall step: read the ingress rules, open and close the web
/// ports of the target's security group.
fn firewall_statements(target: &Target, partition: &str, region: &str) -> [Value; 2] {
    let group = target.security_group.as_deref().unwrap_or("*");
    [
        json!({
            "Sid": "WebtierReadIngressRules",
            "Effect": "Allow",
            "Action": ["ec2:DescribeSecurityGroupRules"],
            "Resource": "*",
        }),
        json!({
            "Sid": "WebtierOpenWebPorts",
            "Effect": "Allow",
            "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": format!("arn:{partition}:ec2:{region}:*:security-group/{group}"),
        }),
    ]
}

/// The dns step: find the zones, read and write the site names' address
/// and ownership records (in the sites' zones when all are configured),
/// wait for the changes.
fn dns_statements(config: &Config, partition: &str) -> [Value; 4] {
    let zones: Vec<String> = if config.sites.iter().all(|s| s.zone_id.is_some()) {
        let mut ids: Vec<String> = config
            .sites
            .iter()
            .filter_map(|s| s.zone_id.as_ref())
            .map(|z| format!("arn:{partition}:route53:::hostedzone/{z}"))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    } else {
        vec![format!("arn:{partition}:route53:::hostedzone/*")]
    };
    let mut names: Vec<String> = config
        .sites
        .iter()
        .flat_map(|s| s.names())
        .flat_map(|n| match n.strip_prefix("*.") {
            // IAM sees wildcard names escaped; accept both spellings.
            Some(rest) => vec![n.to_string(), format!("\\052.{rest}")],
            None => vec![n.to_string()],
        })
        .collect();
    names.sort();
    [
        json!({
            "Sid": "WebtierFindZones",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZones"],
            "Resource": "*",
        }),
        json!({
            "Sid": "WebtierReadRecords",
            "Effect": "Allow",
            "Action": ["route53:ListResourceRecordSets"],
            "Resource": zones,
        }),
        json!({
            "Sid": "WebtierWriteSiteRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": zones,
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
                    "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "TXT"],
                }
            }
        }),
        json!({
            "Sid": "WebtierWaitForChanges",
            "Effect": "Allow",
            "Action": ["route53:GetChange"],
            "Resource": format!("arn:{partition}:route53:::change/*"),
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn actions(policy: &Value) -> Vec<String> {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().iter())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn only_configured_steps_get_permissions() {
        let site = "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n";
        let local = crate::config::parse("w.toml", site, Path::new("/w.toml")).unwrap();
        assert!(actions(&policy(&local)).is_empty());

        let text = format!(
            "[aws]\nregion = \"eu-west-1\"\n[target]\nsecurity_group = \"sg-0123456789abcdef0\"\n{site}zone_id = \"Z1ABC\"\n"
        );
        let full = crate::config::parse("w.toml", &text, Path::new("/w.toml")).unwrap();
        let p = policy(&full);
        let a = actions(&p);
        for needed in [
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroupRules",
            "ec2:AuthorizeSecurityGroupIngress",
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
        ] {
            assert!(a.contains(&needed.to_string()), "{needed}");
        }
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("arn:aws:ec2:eu-west-1:*:security-group/sg-0123456789abcdef0"));
        assert!(text.contains("arn:aws:route53:::hostedzone/Z1ABC"));
        assert!(!text.contains("hostedzone/*"));
    }
}
