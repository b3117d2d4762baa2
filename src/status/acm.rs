//! `acm`: the site's certificate in AWS Certificate Manager, as the cert
//! step finds it (by webtier's tags): issued and valid (for a `tls =
//! "acm"` site), or holding the live certificate (for an ACME site that
//! imports it). Where it is used and whether ACM can renew it are said.

use super::Check;
use super::certificate::days_left;
use crate::aws::Clients;
use crate::aws::acm::AcmCert;
use crate::config::{Config, Site};
use crate::steps::cert::{acm as site_acm, acm_import};

pub const NAME: &str = "acm";

/// The check for a site that uses ACM (None when it does not).
pub async fn check(clients: &Clients, config: &Config, site: &Site, now: i64) -> Option<Check> {
    if site.imports_to_acm() {
        let w = acm_import::for_site(site);
        return Some(match acm_import::observe(clients, config, &w).await {
            Ok(o) => import_verdict(o.certificate.as_ref(), o.current),
            Err(e) => Check::fail(NAME, format!("{e:#}")),
        });
    }
    let w = site_acm::wanted(config)
        .into_iter()
        .find(|w| w.name == site.domain)?;
    let client = crate::aws::acm::client(clients, w.region.as_deref());
    Some(
        match crate::aws::acm::site_certificates(&client, &w.name, &config.dns.owner).await {
            Ok(certs) => verdict(site_acm::pick(&w, &certs), now),
            Err(e) => Check::fail(NAME, format!("{e:#}")),
        },
    )
}

/// Pure: the verdict on a `tls = "acm"` site's certificate at `now`.
pub fn verdict(cert: Option<&AcmCert>, now: i64) -> Check {
    let Some(cert) = cert else {
        return Check::fail(
            NAME,
            "no certificate for the site in ACM — `webtier apply cert` requests it",
        );
    };
    let used = if cert.in_use_by.is_empty() {
        "not in use".to_string()
    } else {
        format!("in use by {}", cert.in_use_by.join(", "))
    };
    match (cert.status.as_str(), cert.not_after) {
        ("ISSUED", Some(not_after)) if not_after > now => Check::pass(
            NAME,
            format!(
                "{} issued, {}; renewal {}; {used}",
                cert.arn,
                days_left(not_after, now),
                cert.renewal_eligibility
                    .as_deref()
                    .unwrap_or("eligibility unknown")
                    .to_ascii_lowercase()
            ),
        ),
        ("PENDING_VALIDATION", _) => Check::fail(
            NAME,
            format!(
                "{} is still PENDING_VALIDATION — `webtier apply cert` creates its validation records and waits",
                cert.arn
            ),
        ),
        _ => Check::fail(NAME, format!("{}: {}", cert.arn, cert.failure())),
    }
}

/// Pure: the verdict on an ACME site's import into ACM.
pub fn import_verdict(cert: Option<&AcmCert>, current: Option<bool>) -> Check {
    match (cert, current) {
        (Some(c), Some(true)) => Check::pass(NAME, format!("{} holds the live certificate", c.arn)),
        (Some(c), Some(false)) => Check::fail(
            NAME,
            format!(
                "{} holds an older certificate — `webtier cert import-to-acm` re-imports the live one",
                c.arn
            ),
        ),
        (None, Some(_)) => Check::fail(
            NAME,
            "not imported yet — `webtier cert import-to-acm` imports the live certificate",
        ),
        (_, None) => Check::fail(NAME, "no live certificate to import yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(status: &str, not_after: i64) -> AcmCert {
        AcmCert {
            arn: "arn:aws:acm:us-east-1:1:certificate/1".into(),
            status: status.into(),
            names: vec!["a.example".into()],
            kind: "AMAZON_ISSUED".into(),
            key_algorithm: Some("EC_prime256v1".into()),
            exportable: false,
            serial: None,
            not_after: Some(not_after),
            created_at: None,
            in_use_by: vec!["arn:aws:elasticloadbalancing:…:loadbalancer/app/web/1".into()],
            renewal_eligibility: Some("ELIGIBLE".into()),
            renewal_status: None,
            failure_reason: Some("CAA_ERROR".into()),
            validation: vec![],
        }
    }

    #[test]
    fn an_issued_certificate_passes_and_says_where_it_is_used() {
        let c = verdict(Some(&cert("ISSUED", 100 * 86_400)), 0);
        assert!(c.ok, "{c:?}");
        assert!(c.detail.contains("100 days left"), "{}", c.detail);
        assert!(c.detail.contains("renewal eligible"), "{}", c.detail);
        assert!(c.detail.contains("in use by arn:aws:elasticloadbalancing"));
    }

    #[test]
    fn anything_else_fails_with_what_to_do() {
        assert!(!verdict(None, 0).ok);
        assert!(!verdict(Some(&cert("ISSUED", 10)), 20).ok, "expired");
        let pending = verdict(Some(&cert("PENDING_VALIDATION", 100)), 0);
        assert!(!pending.ok && pending.detail.contains("apply cert"));
        let failed = verdict(Some(&cert("FAILED", 100)), 0);
        assert!(
            !failed.ok && failed.detail.contains("CAA_ERROR"),
            "{failed:?}"
        );
        assert!(!import_verdict(Some(&cert("ISSUED", 100)), Some(false)).ok);
        assert!(import_verdict(Some(&cert("ISSUED", 100)), Some(true)).ok);
        assert!(!import_verdict(None, Some(false)).ok);
    }
}
