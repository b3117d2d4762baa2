//! The cert step for `tls = "acm"` sites: a DNS-validated certificate in
//! AWS Certificate Manager, its validation CNAMEs in the sites' Route 53
//! zones, and in export mode the exported pair in the store.
//!
//! Observed: webtier's certificates for the site in ACM (by tag), the
//! validation records in Route 53, and which ACM certificate the store
//! holds. Change: one idempotent convergence per site — find the
//! certificate or request it (with an idempotency token, so a retried
//! request gets the same one), create the missing validation records,
//! wait for ISSUED, export when ACM has issued or renewed one the store
//! does not hold yet. webtier's certificates for the site that no longer
//! match the configuration (its names, key or mode changed) are deleted
//! once nothing uses them, so that none is left renewing (and, when
//! exportable, charged) unseen.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

use crate::aws::Clients;
use crate::aws::acm::{self, AcmCert, CnameRecord};
use crate::aws::route53::{self, RecordAction, RecordOp, RecordSet, Zone};
use crate::certstore::{self, AcmSource, CertInfo, Live, Meta, Store};
use crate::config::{AcmMode, Config};
use crate::plan::{Action, Conflict};

pub use crate::aws::acm::{AcmWanted, pick, wanted};

/// Pure: webtier's certificates for the site that ACM issued (or is
/// validating) but that no longer match the configuration.
pub fn stale<'a>(w: &AcmWanted, certs: &'a [AcmCert]) -> Vec<&'a AcmCert> {
    certs
        .iter()
        .filter(|c| c.kind == "AMAZON_ISSUED" && acm::is_live_status(&c.status) && !w.matches(c))
        .collect()
}

/// Pure: the newest of webtier's certificates for the site that ACM
/// could not issue, when it is newer than the one in use (to say why).
fn last_failure<'a>(certs: &'a [AcmCert], current: Option<&AcmCert>) -> Option<&'a AcmCert> {
    certs
        .iter()
        .filter(|c| c.kind == "AMAZON_ISSUED" && !acm::is_live_status(&c.status))
        .filter(|c| c.status == "FAILED" || c.status == "VALIDATION_TIMED_OUT")
        .filter(|c| current.is_none_or(|cur| c.created_at > cur.created_at))
        .max_by_key(|c| c.created_at)
}

/// What Route 53 holds at a validation record's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Found {
    Present,
    Missing,
    /// Something else is there (a CNAME to elsewhere, or other records):
    /// left alone, and the certificate cannot validate.
    Other(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordState {
    pub record: CnameRecord,
    pub zone: Zone,
    pub found: Found,
}

#[derive(Debug, Serialize)]
pub struct AcmObserved {
    pub name: String,
    /// The certificate in use (see [`pick`]).
    pub certificate: Option<AcmCert>,
    /// A newer certificate of webtier's that ACM could not issue.
    pub failed: Option<AcmCert>,
    /// webtier's certificates for the site that no longer match.
    pub stale: Vec<AcmCert>,
    /// The validation records of `certificate`, once ACM has published them.
    pub records: Vec<RecordState>,
    /// The ACM certificate the store's live set was exported from.
    pub exported: Option<AcmSource>,
    pub live: Option<CertInfo>,
}

/// The validation records of `cert` and what Route 53 holds at each name.
async fn record_states(
    clients: &Clients,
    zones: &[Zone],
    w: &AcmWanted,
    cert: &AcmCert,
) -> Result<Vec<RecordState>> {
    let mut states = Vec::new();
    for record in cert.records() {
        let zone = route53::zone_for(&record.name, w.zone_id.as_deref(), zones)
            .map_err(|e| anyhow!("validation record of {}: {e}", w.name))?;
        let (sets, _) = route53::records_of(clients, &zone, &record.name).await?;
        states.push(RecordState {
            found: found(&record, &sets),
            record,
            zone,
        });
    }
    Ok(states)
}

/// Pure: what the record sets at a validation record's name amount to.
pub fn found(record: &CnameRecord, sets: &[RecordSet]) -> Found {
    let plain = |v: &str| v.trim_end_matches('.').to_ascii_lowercase();
    match sets {
        [] => Found::Missing,
        [one]
            if one.rtype == "CNAME"
                && one
                    .values
                    .iter()
                    .map(|v| plain(v))
                    .eq([record.value.clone()]) =>
        {
            Found::Present
        }
        sets => Found::Other(
            sets.iter()
                .map(|s| format!("{} {}", s.rtype, s.values.join(" ")))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

pub async fn observe(
    clients: &Clients,
    config: &Config,
    zones: &[Zone],
    w: &AcmWanted,
) -> Result<AcmObserved> {
    let client = acm::client(clients, w.region.as_deref());
    let certs = acm::site_certificates(&client, &w.name, &config.dns.owner).await?;
    let certificate = pick(w, &certs).cloned();
    let records = match &certificate {
        Some(cert) => record_states(clients, zones, w, cert).await?,
        None => Vec::new(),
    };
    let live = Store::new(&config.state_dir).live(&w.name)?;
    Ok(AcmObserved {
        name: w.name.clone(),
        failed: last_failure(&certs, certificate.as_ref()).cloned(),
        stale: stale(w, &certs).into_iter().cloned().collect(),
        certificate,
        records,
        exported: live.as_ref().and_then(|l| l.meta.as_ref()?.acm.clone()),
        live: live.map(|l| l.info),
    })
}

/// Pure: why the store must take a new export of `cert`, if it must
/// (only an issued certificate can be exported).
pub fn export_due(
    w: &AcmWanted,
    cert: &AcmCert,
    exported: Option<&AcmSource>,
    live: Option<&CertInfo>,
) -> Option<String> {
    if w.mode != AcmMode::Export || cert.status != "ISSUED" {
        return None;
    }
    let Some(live) = live else {
        return Some("not exported yet".into());
    };
    let Some(exported) = exported else {
        return Some("the live certificate did not come from ACM".into());
    };
    if exported.arn != cert.arn {
        return Some(format!("the live certificate is from {}", exported.arn));
    }
    if exported.serial != cert.serial || exported.not_after != cert.not_after {
        return Some(format!(
            "ACM renewed it (serial {} → {})",
            exported.serial.as_deref().unwrap_or("?"),
            cert.serial.as_deref().unwrap_or("?")
        ));
    }
    let missing: Vec<&str> = w
        .names
        .iter()
        .filter(|n| !live.names.contains(n))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "the live certificate does not cover {}",
            missing.join(", ")
        ));
    }
    None
}

/// Pure: the change one ACM site needs, as an action and its detail.
pub fn diff(w: &AcmWanted, o: &AcmObserved) -> Option<(Action, String)> {
    let mut lines = vec![format!("names: {}", w.names.join(", "))];
    let Some(cert) = &o.certificate else {
        lines.push(format!(
            "request from ACM: DNS validation, {}, {}",
            w.key_algorithm,
            if w.exportable() {
                "exportable (charged per issuance and renewal)"
            } else {
                "not exportable (for a load balancer or CloudFront)"
            }
        ));
        if let Some(failed) = &o.failed {
            lines.push(format!(
                "the last request {}: {}",
                failed.arn,
                failed.failure()
            ));
        }
        lines.push(format!(
            "create its validation records in Route 53, wait up to {}s for ISSUED{}",
            w.validation_timeout,
            if w.exportable() {
                ", export it to the store"
            } else {
                ""
            }
        ));
        return Some((Action::Create, lines.join("\n")));
    };
    lines.push(format!("certificate: {} ({})", cert.arn, cert.status));
    let mut changes = 0;
    if !cert.records_published() {
        lines.push("create its validation records once ACM publishes them".into());
        changes += 1;
    }
    let missing: Vec<&RecordState> = o
        .records
        .iter()
        .filter(|r| r.found == Found::Missing)
        .collect();
    if !missing.is_empty() {
        for r in &missing {
            lines.push(format!(
                "+ CNAME {} → {} (zone {})",
                r.record.name, r.record.value, r.zone.name
            ));
        }
        changes += 1;
    }
    let exporting = export_due(w, cert, o.exported.as_ref(), o.live.as_ref());
    if let Some(why) = &exporting {
        lines.push(format!("export it to the store: {why}"));
        changes += 1;
    } else if w.exportable() && o.live.is_none() && cert.status == "PENDING_VALIDATION" {
        lines.push("wait for ISSUED, export it to the store".into());
        changes += 1;
    }
    if changes == 0 {
        return None;
    }
    let action = if o.live.is_none() && w.exportable() {
        Action::Create
    } else {
        Action::Update
    };
    Some((action, lines.join("\n")))
}

/// Pure: the certificates that no longer match and nothing uses: deleted
/// (after the one that matches is issued, in the same apply).
pub fn deletions(o: &AcmObserved) -> Vec<(String, String)> {
    o.stale
        .iter()
        .filter(|c| c.in_use_by.is_empty())
        .map(|c| {
            (
                c.arn.clone(),
                format!(
                    "{} ({}, {}): no longer matches the site's names, key or mode; nothing uses it",
                    c.names.join(", "),
                    c.status,
                    c.key_algorithm.as_deref().unwrap_or("?")
                ),
            )
        })
        .collect()
}

/// Pure: the validation records a site's certificate cannot use, and
/// certificates that no longer match but are still in use.
pub fn conflicts(o: &AcmObserved) -> Vec<Conflict> {
    let in_use = o.stale.iter().filter(|c| !c.in_use_by.is_empty()).map(|c| Conflict {
        resource: format!("ACM certificate {}", c.arn),
        reason: format!(
            "webtier's earlier certificate for {} ({}) no longer matches the site but is in use by {}; webtier leaves it — point them at the new one, then apply again to delete it",
            o.name,
            c.names.join(", "),
            c.in_use_by.join(", ")
        ),
    });
    o.records
        .iter()
        .filter_map(|r| match &r.found {
            Found::Other(what) => Some(Conflict {
                resource: format!("validation record {} (zone {})", r.record.name, r.zone.name),
                reason: format!(
                    "ACM needs CNAME {} there, but the zone has {what}; webtier leaves it alone — replace it, or ACM cannot validate {}",
                    r.record.value, o.name
                ),
            }),
            _ => None,
        })
        .chain(in_use)
        .collect()
}

/// How far a convergence may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// `apply`: request, create validation records, wait, export.
    Apply,
    /// `cert renew` (cron): export what ACM issued or renewed, nothing
    /// more. Requests (charged in export mode) and waits are for a
    /// planned `apply`.
    Renew { force: bool },
}

/// How long ACM may take to publish the validation records of a new
/// request (usually seconds).
const RECORDS_WAIT: Duration = Duration::from_secs(120);

/// Converges one ACM site: the certificate found or requested, its
/// validation records created, ISSUED waited for, and in export mode the
/// export installed when the store does not hold it (or, renewing with
/// `force`, whenever the mode is export). Returns the new live set when
/// one was installed. The caller holds the store's lock.
pub async fn converge(
    clients: &Clients,
    config: &Config,
    w: &AcmWanted,
    key_readers: Option<u32>,
    reach: Reach,
) -> Result<Option<Live>> {
    let client = acm::client(clients, w.region.as_deref());
    let certs = acm::site_certificates(&client, &w.name, &config.dns.owner).await?;
    let force = match reach {
        Reach::Apply => false,
        Reach::Renew { force } => {
            let Some(cert) = pick(w, &certs) else {
                bail!(
                    "no certificate in ACM matches the site's configuration — `webtier apply cert` requests one"
                );
            };
            if cert.status != "ISSUED" {
                tracing::info!(
                    "{}: {} is still {}; nothing to export yet",
                    w.name,
                    cert.arn,
                    cert.status
                );
                return Ok(None);
            }
            return export_if_due(&client, config, w, cert, key_readers, force).await;
        }
    };
    let mut cert = match pick(w, &certs) {
        Some(cert) => cert.clone(),
        None => {
            let failed = last_failure(&certs, None).map(|c| c.arn.as_str());
            let arn = acm::request(
                &client,
                &acm::Request {
                    site: &w.name,
                    owner: &config.dns.owner,
                    names: &w.names,
                    key_algorithm: &w.key_algorithm,
                    exportable: w.exportable(),
                    token: &w.token(failed),
                },
            )
            .await?;
            tracing::info!("{}: requested {arn} from ACM", w.name);
            describe_new(&client, &arn).await?
        }
    };
    cert = wait(
        &client,
        cert,
        "ACM to publish the validation records",
        RECORDS_WAIT,
        |c| c.records_published() || !acm::is_live_status(&c.status),
    )
    .await?;
    fail_unless_live(w, &cert)?;
    create_records(clients, w, &cert).await?;
    let timeout = Duration::from_secs(w.validation_timeout);
    cert = wait(
        &client,
        cert,
        "ACM to issue the certificate",
        timeout,
        |c| c.status != "PENDING_VALIDATION",
    )
    .await?;
    fail_unless_live(w, &cert)?;
    if cert.status != "ISSUED" {
        bail!(
            "ACM has not issued the certificate of {} ({}) after {}s; it is still {} — ACM keeps validating: run the same command later, or raise [site.acm] validation_timeout",
            w.name,
            cert.arn,
            w.validation_timeout,
            cert.status
        );
    }
    export_if_due(&client, config, w, &cert, key_readers, force).await
}

/// Exports `cert` into the store when the store does not hold it, ACM
/// renewed it, or `force` (export mode only).
async fn export_if_due(
    client: &aws_sdk_acm::Client,
    config: &Config,
    w: &AcmWanted,
    cert: &AcmCert,
    key_readers: Option<u32>,
    force: bool,
) -> Result<Option<Live>> {
    let store = Store::new(&config.state_dir);
    let live = store.live(&w.name)?;
    let exported = live.as_ref().and_then(|l| l.meta.as_ref()?.acm.as_ref());
    let due = export_due(w, cert, exported, live.as_ref().map(|l| &l.info));
    let Some(why) = due.or_else(|| (force && w.exportable()).then(|| "--force".to_string())) else {
        return Ok(None);
    };
    tracing::info!("{}: exporting {} ({why})", w.name, cert.arn);
    let pair = acm::export(client, &cert.arn).await?;
    let chain = format!(
        "{}\n{}",
        pair.certificate.trim_end(),
        pair.chain.trim_start()
    );
    let info = certstore::validate(&chain, &pair.key, &w.names)
        .with_context(|| format!("the certificate ACM exported for {} is not usable", w.name))?;
    let meta = Meta {
        names: w.names.clone(),
        directory: "acm".into(),
        key: info.key_type,
        profile: None,
        issued_at: super::now(),
        acm: Some(AcmSource {
            arn: cert.arn.clone(),
            serial: cert.serial.clone(),
            not_after: cert.not_after,
        }),
    };
    Ok(Some(store.install(
        &w.names,
        &chain,
        &pair.key,
        &meta,
        key_readers,
    )?))
}

/// Deletes webtier's certificate `arn` for the site when, looked at again
/// now, it is still webtier's, no longer matches, nothing uses it, and the
/// site has an issued certificate that matches.
pub async fn delete_stale(
    clients: &Clients,
    config: &Config,
    w: &AcmWanted,
    arn: &str,
) -> Result<()> {
    let client = acm::client(clients, w.region.as_deref());
    let certs = acm::site_certificates(&client, &w.name, &config.dns.owner).await?;
    let Some(old) = certs.iter().find(|c| c.arn == arn) else {
        return Ok(()); // gone already
    };
    if w.matches(old) {
        bail!("{arn} matches the site's configuration again — make a new plan");
    }
    if !old.in_use_by.is_empty() {
        bail!(
            "{arn} is now in use by {} — webtier leaves it; make a new plan",
            old.in_use_by.join(", ")
        );
    }
    if pick(w, &certs).is_none_or(|c| c.status != "ISSUED") {
        bail!(
            "{} has no issued certificate that matches yet; {arn} is kept until it has",
            w.name
        );
    }
    acm::delete(&client, arn).await?;
    tracing::info!("{}: deleted {arn}, which no longer matched", w.name);
    Ok(())
}

/// Describes a certificate just requested: ACM may not know the ARN it
/// gave for a moment (eventual consistency), so "not found" is asked
/// again for up to 30 s.
async fn describe_new(client: &aws_sdk_acm::Client, arn: &str) -> Result<AcmCert> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut pause = Duration::from_millis(500);
    loop {
        match acm::describe(client, arn).await {
            Err(e)
                if format!("{e:#}").contains("ResourceNotFoundException")
                    && Instant::now() + pause < deadline =>
            {
                tracing::info!("ACM does not know {arn} yet; asking again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// FAILED, VALIDATION_TIMED_OUT and the like end the run with ACM's reason.
fn fail_unless_live(w: &AcmWanted, cert: &AcmCert) -> Result<()> {
    if acm::is_live_status(&cert.status) {
        return Ok(());
    }
    bail!(
        "ACM could not issue the certificate of {} ({}): {}",
        w.name,
        cert.arn,
        cert.failure()
    )
}

/// Describes `cert` again until `done` says so or `timeout` passes;
/// returns the last description either way.
async fn wait(
    client: &aws_sdk_acm::Client,
    mut cert: AcmCert,
    what: &str,
    timeout: Duration,
    done: impl Fn(&AcmCert) -> bool,
) -> Result<AcmCert> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_secs(2);
    let mut said = false;
    while !done(&cert) {
        if Instant::now() + pause > deadline {
            break;
        }
        if !said {
            tracing::info!("waiting for {what} ({})", cert.arn);
            said = true;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(15));
        cert = acm::describe(client, &cert.arn).await?;
    }
    Ok(cert)
}

/// Creates the validation records Route 53 lacks (one batch per zone),
/// refusing to replace anything else at their names.
async fn create_records(clients: &Clients, w: &AcmWanted, cert: &AcmCert) -> Result<()> {
    let zones = route53::public_zones(clients).await?;
    let states = record_states(clients, &zones, w, cert).await?;
    let mut ops = Vec::new();
    for state in states {
        match state.found {
            Found::Present => {}
            Found::Other(what) => bail!(
                "ACM needs CNAME {} → {} to validate {}, but zone {} has {what} there; webtier leaves it alone — replace it and run again",
                state.record.name,
                state.record.value,
                w.name,
                state.zone.name
            ),
            Found::Missing => ops.push(RecordOp {
                zone_id: state.zone.id,
                action: RecordAction::Upsert,
                set: RecordSet {
                    name: state.record.name,
                    rtype: "CNAME".into(),
                    ttl: Some(300),
                    values: vec![state.record.value],
                    alias: None,
                    set_identifier: None,
                },
            }),
        }
    }
    for (zone, batch) in route53::by_zone(&ops) {
        tracing::info!(
            "{}: creating {} validation record(s) in zone {zone}",
            w.name,
            batch.len()
        );
        route53::submit(clients, zone, &batch, Duration::from_secs(300)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(mode: AcmMode) -> AcmWanted {
        AcmWanted {
            name: "a.example".into(),
            names: vec!["a.example".into(), "www.a.example".into()],
            mode,
            key_algorithm: "EC_prime256v1".into(),
            region: None,
            zone_id: None,
            validation_timeout: 900,
        }
    }

    fn cert(status: &str, serial: &str) -> AcmCert {
        AcmCert {
            arn: "arn:aws:acm:us-east-1:1:certificate/1".into(),
            status: status.into(),
            names: vec!["a.example".into(), "www.a.example".into()],
            kind: "AMAZON_ISSUED".into(),
            key_algorithm: Some("EC_prime256v1".into()),
            exportable: true,
            serial: Some(serial.into()),
            not_after: Some(2_000_000_000),
            created_at: Some(1),
            in_use_by: vec![],
            renewal_eligibility: None,
            renewal_status: None,
            failure_reason: None,
            validation: vec![acm::Validation {
                domain: "a.example".into(),
                record: Some(CnameRecord {
                    name: "_x.a.example".into(),
                    value: "_y.acm-validations.aws".into(),
                }),
                status: None,
            }],
        }
    }

    fn info(names: &[&str]) -> CertInfo {
        CertInfo {
            names: names.iter().map(|n| n.to_string()).collect(),
            serial: "01".into(),
            issuer: "CN=Amazon".into(),
            not_before: 0,
            not_after: 2_000_000_000,
            key_type: "ecdsa-p256".into(),
        }
    }

    #[test]
    fn only_a_certificate_for_exactly_this_site_matches() {
        let w = wanted(AcmMode::Export);
        assert!(w.matches(&cert("ISSUED", "1")));
        assert!(w.matches(&cert("PENDING_VALIDATION", "1")));
        assert!(!w.matches(&cert("FAILED", "1")));
        let mut other = cert("ISSUED", "1");
        other.names.pop();
        assert!(!w.matches(&other), "fewer names");
        let mut other = cert("ISSUED", "1");
        other.exportable = false;
        assert!(!w.matches(&other), "not exportable");
        let mut other = cert("ISSUED", "1");
        other.key_algorithm = Some("RSA_2048".into());
        assert!(!w.matches(&other), "another key type");
        let mut other = cert("ISSUED", "1");
        other.kind = "IMPORTED".into();
        assert!(!w.matches(&other), "imported");
        assert!(!wanted(AcmMode::Managed).matches(&cert("ISSUED", "1")));
    }

    #[test]
    fn an_issued_certificate_is_picked_before_a_pending_one() {
        let w = wanted(AcmMode::Export);
        let mut pending = cert("PENDING_VALIDATION", "2");
        pending.arn = "pending".into();
        pending.created_at = Some(9);
        let certs = [pending, cert("ISSUED", "1")];
        assert_eq!(pick(&w, &certs).unwrap().status, "ISSUED");
    }

    #[test]
    fn tokens_are_stable_and_change_after_a_failure() {
        let w = wanted(AcmMode::Export);
        assert_eq!(w.token(None), w.token(None));
        assert_eq!(w.token(None).len(), 32);
        assert!(w.token(None).chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(w.token(None), w.token(Some("arn:failed")));
        assert_ne!(w.token(None), wanted(AcmMode::Managed).token(None));
    }

    #[test]
    fn an_export_follows_acm_renewals() {
        let w = wanted(AcmMode::Export);
        let c = cert("ISSUED", "1");
        let names = ["a.example", "www.a.example"];
        let source = AcmSource {
            arn: c.arn.clone(),
            serial: Some("1".into()),
            not_after: Some(2_000_000_000),
        };
        assert_eq!(
            export_due(&w, &c, None, None).as_deref(),
            Some("not exported yet")
        );
        assert_eq!(export_due(&w, &c, Some(&source), Some(&info(&names))), None);
        let renewed = cert("ISSUED", "2");
        assert!(
            export_due(&w, &renewed, Some(&source), Some(&info(&names)))
                .unwrap()
                .contains("renewed")
        );
        let mut later = cert("ISSUED", "1");
        later.not_after = Some(2_100_000_000);
        assert!(export_due(&w, &later, Some(&source), Some(&info(&names))).is_some());
        assert!(
            export_due(&w, &c, None, Some(&info(&names)))
                .unwrap()
                .contains("did not come from ACM")
        );
        // Pending: nothing to export yet; managed: never.
        assert_eq!(
            export_due(&w, &cert("PENDING_VALIDATION", "1"), None, None),
            None
        );
        assert_eq!(export_due(&wanted(AcmMode::Managed), &c, None, None), None);
    }

    fn observed(cert: Option<AcmCert>, found: Found) -> AcmObserved {
        AcmObserved {
            name: "a.example".into(),
            records: cert
                .iter()
                .flat_map(|c| c.records())
                .map(|record| RecordState {
                    record,
                    zone: Zone::new("Z1", "a.example"),
                    found: found.clone(),
                })
                .collect(),
            certificate: cert,
            failed: None,
            stale: Vec::new(),
            exported: None,
            live: None,
        }
    }

    #[test]
    fn a_certificate_that_no_longer_matches_is_deleted_unless_in_use() {
        let w = wanted(AcmMode::Managed);
        let mut old = cert("ISSUED", "1");
        old.arn = "old".into();
        old.names.pop();
        let failed = cert("FAILED", "2");
        let certs = [old.clone(), failed];
        let found: Vec<&str> = stale(&w, &certs).iter().map(|c| c.arn.as_str()).collect();
        assert_eq!(found, ["old"], "failed ones are not charged and say why");
        let mut o = observed(None, Found::Missing);
        o.stale = vec![old.clone()];
        assert_eq!(deletions(&o).len(), 1);
        assert!(conflicts(&o).is_empty());
        old.in_use_by = vec!["arn:aws:elasticloadbalancing:x".into()];
        o.stale = vec![old];
        assert!(deletions(&o).is_empty());
        let c = conflicts(&o);
        assert_eq!(c.len(), 1);
        assert!(c[0].reason.contains("in use by"), "{}", c[0].reason);
    }

    #[test]
    fn a_managed_certificate_that_is_issued_with_its_records_needs_nothing() {
        let w = wanted(AcmMode::Managed);
        let mut c = cert("ISSUED", "1");
        c.exportable = false;
        assert_eq!(diff(&w, &observed(Some(c.clone()), Found::Present)), None);
        // Its records are needed for ACM's renewals too.
        let (action, detail) = diff(&w, &observed(Some(c.clone()), Found::Missing)).unwrap();
        assert_eq!(action, Action::Update);
        assert!(detail.contains("+ CNAME _x.a.example"), "{detail}");
        let (action, detail) = diff(&w, &observed(None, Found::Missing)).unwrap();
        assert_eq!(action, Action::Create);
        assert!(detail.contains("not exportable"), "{detail}");
        // Still validating, records in place: ACM is at work, no change.
        let mut pending = c;
        pending.status = "PENDING_VALIDATION".into();
        assert_eq!(diff(&w, &observed(Some(pending), Found::Present)), None);
    }

    #[test]
    fn an_exportable_certificate_not_in_the_store_is_a_change() {
        let w = wanted(AcmMode::Export);
        let (action, detail) =
            diff(&w, &observed(Some(cert("ISSUED", "1")), Found::Present)).unwrap();
        assert_eq!(action, Action::Create);
        assert!(detail.contains("not exported yet"), "{detail}");
        let (_, detail) = diff(
            &w,
            &observed(Some(cert("PENDING_VALIDATION", "1")), Found::Present),
        )
        .unwrap();
        assert!(detail.contains("wait for ISSUED"), "{detail}");
    }

    #[test]
    fn a_foreign_record_at_a_validation_name_is_a_conflict() {
        let record = CnameRecord {
            name: "_x.a.example".into(),
            value: "_y.acm-validations.aws".into(),
        };
        let set = |rtype: &str, value: &str| RecordSet {
            name: "_x.a.example".into(),
            rtype: rtype.into(),
            ttl: Some(300),
            values: vec![value.into()],
            alias: None,
            set_identifier: None,
        };
        assert_eq!(found(&record, &[]), Found::Missing);
        assert_eq!(
            found(&record, &[set("CNAME", "_Y.acm-validations.aws.")]),
            Found::Present
        );
        assert!(matches!(
            found(&record, &[set("CNAME", "elsewhere.example.")]),
            Found::Other(_)
        ));
        assert!(matches!(
            found(&record, &[set("TXT", "\"x\"")]),
            Found::Other(_)
        ));
        let o = observed(
            Some(cert("ISSUED", "1")),
            Found::Other("CNAME elsewhere.example.".into()),
        );
        let c = conflicts(&o);
        assert_eq!(c.len(), 1);
        assert!(c[0].reason.contains("leaves it alone"), "{}", c[0].reason);
    }
}
