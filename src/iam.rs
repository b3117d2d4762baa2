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
    let acm_sites = crate::steps::cert::acm::wanted(config);
    if config.has_dns() || !acm_sites.is_empty() {
        statements.extend(route53_read_statements(config, partition));
    }
    if config.has_dns() {
        statements.push(dns_write_statement(config, partition));
    }
    if !acm_sites.is_empty() {
        statements.push(validation_records_statement(config, partition));
    }
    statements.extend(acm_statements(config, partition, region));
    if config.has_lb() {
        statements.extend(lb_statements(partition, region));
    }
    statements.extend(session_key_statements(config, partition, region));
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The session key parameter (`[proxy] session_key_parameter`, with a
/// login site): every proxy reads it (decrypted with the account's
/// `aws/ssm` key, whose key policy lets SSM decrypt for the account);
/// the `proxy-config` step reads its tags, creates it tagged, rotates and
/// (`destroy`) deletes it.
fn session_key_statements(config: &Config, partition: &str, region: &str) -> Vec<Value> {
    let Some(name) = config
        .proxy
        .session_key_parameter
        .as_deref()
        .filter(|_| config.sites.iter().any(|s| s.auth.is_some()))
    else {
        return Vec::new();
    };
    // A name that starts with / follows "parameter" directly.
    let parameter = format!("arn:{partition}:ssm:{region}:*:parameter{name}");
    vec![
        json!({
            "Sid": "WebtierReadSessionKeys",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": parameter,
        }),
        json!({
            "Sid": "WebtierKeepSessionKeyParameter",
            "Effect": "Allow",
            "Action": [
                "ssm:ListTagsForResource",
                "ssm:PutParameter",
                "ssm:AddTagsToResource",
                "ssm:DeleteParameter",
            ],
            "Resource": parameter,
        }),
    ]
}

/// The hosted zones the sites' records go in, as IAM resources: the
/// configured ones when every site names its zone, else all.
fn zone_resources(config: &Config, partition: &str) -> Vec<String> {
    if config.sites.iter().all(|s| s.zone_id.is_some()) {
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
    }
}

/// The ACM certificates webtier makes and keeps: found by listing (which
/// IAM cannot narrow) and their tags; everything else only on
/// certificates tagged managed-by=webtier, or created with that tag.
fn acm_statements(config: &Config, partition: &str, region: &str) -> Vec<Value> {
    let sites = crate::steps::cert::acm::wanted(config);
    let imports = crate::steps::cert::acm_import::wanted(config);
    if sites.is_empty() && imports.is_empty() {
        return Vec::new();
    }
    let mut regions: Vec<&str> = sites
        .iter()
        .map(|w| w.region.as_deref())
        .chain(imports.iter().map(|w| w.region.as_deref()))
        .map(|r| r.unwrap_or(region))
        .collect();
    regions.sort();
    regions.dedup();
    let certificates: Vec<String> = regions
        .iter()
        .map(|r| format!("arn:{partition}:acm:{r}:*:certificate/*"))
        .collect();
    let (key, value) = crate::aws::acm::MANAGED_BY;
    let ours = json!({ "StringEquals": { format!("aws:ResourceTag/{key}"): value } });
    let tagged_new = json!({ "StringEquals": { format!("aws:RequestTag/{key}"): value } });
    let mut own = vec!["acm:DescribeCertificate"];
    let mut create = Vec::new();
    if !sites.is_empty() {
        // Certificates that no longer match the site are deleted.
        own.push("acm:DeleteCertificate");
        create.push("acm:RequestCertificate");
    }
    if sites
        .iter()
        .any(|w| w.mode == crate::config::AcmMode::Export)
    {
        own.push("acm:ExportCertificate");
    }
    if !imports.is_empty() {
        own.extend(["acm:GetCertificate", "acm:ImportCertificate"]);
        create.push("acm:ImportCertificate");
    }
    create.push("acm:AddTagsToCertificate");
    vec![
        json!({
            "Sid": "WebtierFindCertificates",
            "Effect": "Allow",
            "Action": ["acm:ListCertificates"],
            "Resource": "*",
        }),
        json!({
            "Sid": "WebtierReadCertificateTags",
            "Effect": "Allow",
            "Action": ["acm:ListTagsForCertificate"],
            "Resource": certificates,
        }),
        json!({
            "Sid": "WebtierUseOwnCertificates",
            "Effect": "Allow",
            "Action": own,
            "Resource": certificates,
            "Condition": ours,
        }),
        json!({
            "Sid": "WebtierCreateTaggedCertificates",
            "Effect": "Allow",
            "Action": create,
            "Resource": "*",
            "Condition": tagged_new,
        }),
    ]
}

/// The firewall step: read the ingress rules, open and close the web
/// ports of the target's security group.
/// The lb step: reads are not resource-scoped in ELB and EC2; writes go
/// to load balancers, target groups, listeners and security groups
/// (webtier checks its tags before changing one).
fn lb_statements(partition: &str, region: &str) -> [Value; 3] {
    let elb = |kind: &str| format!("arn:{partition}:elasticloadbalancing:{region}:*:{kind}");
    [
        json!({
            "Sid": "WebtierReadLoadBalancers",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeTags",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules",
            ],
            "Resource": "*",
        }),
        json!({
            "Sid": "WebtierManageLoadBalancer",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:AddTags",
            ],
            "Resource": [
                elb("loadbalancer/app/*"),
                elb("targetgroup/*"),
                elb("listener/app/*"),
            ],
        }),
        json!({
            "Sid": "WebtierManageLoadBalancerGroup",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:CreateTags",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            "Resource": [
                format!("arn:{partition}:ec2:{region}:*:security-group/*"),
                format!("arn:{partition}:ec2:{region}:*:security-group-rule/*"),
                format!("arn:{partition}:ec2:{region}:*:vpc/*"),
            ],
        }),
    ]
}

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

/// Finding the zones, reading records and waiting for changes: the dns
/// step, and the validation records of ACM certificates.
fn route53_read_statements(config: &Config, partition: &str) -> [Value; 3] {
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
            "Resource": zone_resources(config, partition),
        }),
        json!({
            "Sid": "WebtierWaitForChanges",
            "Effect": "Allow",
            "Action": ["route53:GetChange"],
            "Resource": format!("arn:{partition}:route53:::change/*"),
        }),
    ]
}

/// The dns step: the site names' address and ownership records only.
fn dns_write_statement(config: &Config, partition: &str) -> Value {
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
    json!({
        "Sid": "WebtierWriteSiteRecords",
        "Effect": "Allow",
        "Action": ["route53:ChangeResourceRecordSets"],
        "Resource": zone_resources(config, partition),
        "Condition": {
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
                "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "TXT"],
            }
        }
    })
}

/// ACM's validation records: CNAMEs at `_<32 hex digits>.<name>` of the
/// ACM sites' names (a wildcard validates at its base name), upserted
/// only.
fn validation_records_statement(config: &Config, partition: &str) -> Value {
    let token = "?".repeat(32);
    let mut names: Vec<String> = crate::steps::cert::acm::wanted(config)
        .iter()
        .flat_map(|w| w.names.clone())
        .map(|n| format!("_{token}.{}", n.trim_start_matches("*.")))
        .collect();
    names.sort();
    names.dedup();
    json!({
        "Sid": "WebtierWriteValidationRecords",
        "Effect": "Allow",
        "Action": ["route53:ChangeResourceRecordSets"],
        "Resource": zone_resources(config, partition),
        "Condition": {
            "ForAllValues:StringLike": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
            },
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"],
                "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
            }
        }
    })
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

    #[test]
    fn the_session_key_parameter_gets_its_ssm_actions_only_with_a_login() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        let config = |auth: &str| {
            let text = format!(
                "[aws]\nregion = \"eu-west-1\"\n[proxy]\nsession_key_parameter = \"/webtier/prod/keys\"\n\
                 [[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n{auth}"
            );
            crate::config::parse("w.toml", &text, &dir.path().join("w.toml")).unwrap()
        };
        let with_login = policy(&config(
            "[site.auth]\nissuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\nallowed_emails = [\"*@example.com\"]\n",
        ));
        let mut a = actions(&with_login);
        a.sort();
        assert_eq!(
            a,
            [
                "ssm:AddTagsToResource",
                "ssm:DeleteParameter",
                "ssm:GetParameter",
                "ssm:ListTagsForResource",
                "ssm:PutParameter"
            ]
        );
        let text = serde_json::to_string(&with_login).unwrap();
        assert!(
            text.contains("\"arn:aws:ssm:eu-west-1:*:parameter/webtier/prod/keys\""),
            "{text}"
        );
        assert!(
            actions(&policy(&config(""))).is_empty(),
            "no login, no keys"
        );
    }

    #[test]
    fn acm_gets_exactly_the_actions_of_its_mode() {
        let config = |acm: &str| {
            let text = format!(
                "[aws]\nregion = \"eu-west-1\"\n[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n{acm}"
            );
            crate::config::parse("w.toml", &text, Path::new("/w.toml")).unwrap()
        };
        let acm_actions = |p: &Value| {
            let mut a: Vec<String> = actions(p)
                .into_iter()
                .filter(|a| a.starts_with("acm:"))
                .collect();
            a.sort();
            a.dedup();
            a
        };
        let managed = policy(&config("tls = \"acm\"\n[site.acm]\nmode = \"managed\"\n"));
        assert_eq!(
            acm_actions(&managed),
            [
                "acm:AddTagsToCertificate",
                "acm:DeleteCertificate",
                "acm:DescribeCertificate",
                "acm:ListCertificates",
                "acm:ListTagsForCertificate",
                "acm:RequestCertificate"
            ]
        );
        let text = serde_json::to_string(&managed).unwrap();
        assert!(
            text.contains("arn:aws:acm:eu-west-1:*:certificate/*"),
            "{text}"
        );
        assert!(
            text.contains(&format!("_{}.example.com", "?".repeat(32))),
            "validation records: {text}"
        );
        assert!(text.contains("\"CNAME\""), "{text}");
        // Not the dns step's rights: no [target].
        assert!(!text.contains("WebtierWriteSiteRecords"), "{text}");

        let export = policy(&config(
            "tls = \"acm\"\n[site.acm]\nmode = \"export\"\nregion = \"us-east-1\"\n",
        ));
        assert!(acm_actions(&export).contains(&"acm:ExportCertificate".to_string()));
        let text = serde_json::to_string(&export).unwrap();
        assert!(
            text.contains("arn:aws:acm:us-east-1:*:certificate/*"),
            "{text}"
        );

        let import = policy(&config("[site.acm]\nimport = true\n"));
        assert_eq!(
            acm_actions(&import),
            [
                "acm:AddTagsToCertificate",
                "acm:DescribeCertificate",
                "acm:GetCertificate",
                "acm:ImportCertificate",
                "acm:ListCertificates",
                "acm:ListTagsForCertificate"
            ]
        );
        assert!(!actions(&import).iter().any(|a| a.starts_with("route53:")));
        assert!(acm_actions(&policy(&config(""))).is_empty());
    }
}
