//! `cert`: a valid certificate for every site with TLS, covering all its
//! names.
//! - ACME sites: observed, the store's live certificates and whether each
//!   is due (missing, names or key type changed, or less than a third of
//!   its lifetime left); change, an ACME order, installed only when it
//!   checks out.
//! - ACM sites (`tls = "acm"`): [`acm`].
//! - ACME sites kept imported in ACM (`[site.acm] import = true`):
//!   [`acm_import`].

pub mod acm;
pub mod acm_import;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::acme::{self, dns01::Dns01, http01::Http01};
use crate::aws::Clients;
use crate::certstore::{self, AriState, CertInfo, LastAttempt, Live, Meta, Store};
use crate::config::{Acme, Challenge, Config};
use crate::plan::StepName;
use crate::plan::{Action, Conflict, Planned, Step};

/// One certificate webtier keeps: a site's names, named by its domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    pub name: String,
    pub names: Vec<String>,
}

impl Wanted {
    /// The names a certificate with `info` does not cover.
    pub fn missing_from<'a>(&'a self, info: &CertInfo) -> Vec<&'a str> {
        self.names
            .iter()
            .filter(|n| !info.names.contains(n))
            .map(String::as_str)
            .collect()
    }
}

/// Every ACME site's certificate.
pub fn wanted(config: &Config) -> Vec<Wanted> {
    config
        .acme_sites()
        .map(|s| Wanted {
            name: s.domain.clone(),
            names: s.names().map(str::to_string).collect(),
        })
        .collect()
}

/// Why `live` must be replaced now, if it must. `now` in Unix seconds.
pub fn due(wanted: &Wanted, live: Option<&Live>, key: &str, now: i64) -> Option<String> {
    let Some(live) = live else {
        return Some("no certificate yet".into());
    };
    let info = &live.info;
    let missing = wanted.missing_from(info);
    if !missing.is_empty() {
        return Some(format!("does not cover {}", missing.join(", ")));
    }
    if info.key_type != key {
        return Some(format!("key is {}, configured {key}", info.key_type));
    }
    let lifetime = (info.not_after - info.not_before).max(1);
    let left = info.not_after - now;
    if left < lifetime / 3 {
        return Some(if left <= 0 {
            "expired".to_string()
        } else {
            format!(
                "{} left of a {}-day lifetime",
                days(left),
                lifetime / 86_400
            )
        });
    }
    None
}

fn days(seconds: i64) -> String {
    let d = seconds / 86_400;
    if d == 1 {
        "1 day".into()
    } else {
        format!("{d} days")
    }
}

/// What the stored renewal information says for the live certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ari {
    /// The CA suggested renewing from this time, which has come.
    Due(String),
    /// The CA's window has not opened (or the CA offers no ARI).
    NotDue,
    /// Nothing current is stored: ask the CA.
    Ask,
}

/// Pure: the ARI decision for the certificate with `serial` at `now`.
pub fn ari_decision(state: Option<&AriState>, serial: &str, now: i64) -> Ari {
    match state {
        Some(s) if s.serial == serial && !s.supported => Ari::NotDue,
        Some(s) if s.serial == serial && now >= s.renew_at => Ari::Due(format!(
            "the CA's renewal window opened {}",
            time::OffsetDateTime::from_unix_timestamp(s.window_start)
                .map(|t| t.date().to_string())
                .unwrap_or_default()
        )),
        Some(s) if s.serial == serial && now < s.next_check => Ari::NotDue,
        _ => Ari::Ask,
    }
}

/// A time in [start, end] that is the same for the same certificate, spread
/// across certificates (RFC 9773 asks for a random point in the window).
pub fn point_in_window(serial: &str, start: i64, end: i64) -> i64 {
    use sha2::{Digest, Sha256};
    let span = (end - start).max(0) as u64;
    if span == 0 {
        return start;
    }
    let digest = Sha256::digest(serial.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    start + (u64::from_le_bytes(n) % (span + 1)) as i64
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The group that may read private keys: the proxy user's, when webtier
/// runs as root and that user exists (the proxy serves as it).
pub fn key_readers(config: &Config) -> Option<u32> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    nix::unistd::User::from_name(&config.proxy.user)
        .ok()
        .flatten()
        .map(|u| u.gid.as_raw())
}

/// Issues (or renews) one certificate and makes it live. The live set is
/// untouched unless the new one checks out. Records the attempt.
pub async fn obtain(
    config: &Config,
    acme: &Acme,
    wanted: &Wanted,
    install: bool,
) -> Result<Option<Live>> {
    let store = Store::new(&config.state_dir);
    let result = async {
        let account = acme::account(&store.account_file(&acme.directory), acme).await?;
        let mut responder = match acme.challenge {
            Challenge::Http01 => acme::Responder::Http(
                Http01::start(&config.proxy.challenge_dir, config.proxy.http_port).await?,
            ),
            Challenge::Dns01 => acme::Responder::Dns(Box::new(Dns01::new(config).await?)),
        };
        if let acme::Responder::Http(_) = &responder
            && config.acme.preflight
        {
            acme::preflight::check(
                &config.proxy.challenge_dir,
                config.proxy.http_port,
                &wanted.names,
            )
            .await?;
        }
        // Tell the CA which certificate this one replaces, when it keeps
        // renewal information (RFC 9773 §5).
        let replaces = match (store.live(&wanted.name).ok().flatten(), install) {
            (Some(old), true)
                if store
                    .ari(&wanted.name)
                    .is_some_and(|a| a.supported && a.serial == old.info.serial) =>
            {
                std::fs::read_to_string(old.dir.join("fullchain.pem"))
                    .ok()
                    .and_then(|pem| certstore::leaf_der(&pem).ok())
                    .and_then(|der| acme::certificate_id(&der).ok())
            }
            _ => None,
        };
        let ordered = acme::order(&account, acme, &wanted.names, replaces, &mut responder).await;
        if let acme::Responder::Dns(dns) = &mut responder {
            dns.cleanup().await;
        }
        drop(responder);
        let (chain, key) = ordered?;
        if !install {
            certstore::validate(&chain, &key, &wanted.names)?;
            return Ok(None);
        }
        let meta = Meta {
            names: wanted.names.clone(),
            directory: acme.directory.clone(),
            key: acme.key.as_str().to_string(),
            profile: acme.profile.clone(),
            issued_at: now(),
            acm: None,
        };
        let live = store.install(&wanted.names, &chain, &key, &meta, key_readers(config))?;
        if let Err(e) =
            remember_window(&store, &account, &wanted.name, &live.info.serial, &chain).await
        {
            tracing::info!("{}: no renewal information stored: {e:#}", wanted.name);
        }
        Ok(Some(live))
    }
    .await;
    if install {
        record(&store, &wanted.name, &result, "issued");
    }
    result
}

/// Fetches and stores the CA's renewal window for a certificate.
async fn remember_window(
    store: &Store,
    account: &instant_acme::Account,
    name: &str,
    serial: &str,
    chain_pem: &str,
) -> Result<AriState> {
    let state = match acme::renewal_window(account, &certstore::leaf_der(chain_pem)?).await? {
        None => AriState {
            serial: serial.to_string(),
            supported: false,
            window_start: 0,
            window_end: 0,
            renew_at: 0,
            next_check: 0,
            explanation: None,
        },
        Some((info, retry_after)) => {
            let start = info.suggested_window.start.unix_timestamp();
            let end = info.suggested_window.end.unix_timestamp();
            AriState {
                serial: serial.to_string(),
                supported: true,
                window_start: start,
                window_end: end,
                renew_at: point_in_window(serial, start, end),
                next_check: now() + retry_after.as_secs().clamp(60, 7 * 86_400) as i64,
                explanation: info.explanation_url,
            }
        }
    };
    store.save_ari(name, &state)?;
    Ok(state)
}

/// The renewal-information verdict for a live certificate that the
/// lifetime rule does not find due: from what is stored, asking the CA
/// only when that is out of date. A failed question is not an error (the
/// lifetime rule still protects the certificate).
pub async fn ari_reason(store: &Store, acme: &Acme, name: &str, live: &Live) -> Option<String> {
    let now = now();
    match ari_decision(store.ari(name).as_ref(), &live.info.serial, now) {
        Ari::Due(reason) => Some(reason),
        Ari::NotDue => None,
        Ari::Ask => {
            let asked = async {
                let account = acme::account(&store.account_file(&acme.directory), acme).await?;
                let pem = std::fs::read_to_string(live.dir.join("fullchain.pem"))?;
                remember_window(store, &account, name, &live.info.serial, &pem).await
            }
            .await;
            match asked {
                Ok(state) => match ari_decision(Some(&state), &live.info.serial, now) {
                    Ari::Due(reason) => Some(reason),
                    _ => None,
                },
                Err(e) => {
                    tracing::info!("{name}: cannot ask the CA for renewal information: {e:#}");
                    None
                }
            }
        }
    }
}

pub struct CertStep {
    config: Config,
    /// For ACM sites and imports; None when the configuration has neither.
    clients: Option<Arc<Clients>>,
    /// `webtier destroy`: certificates are kept, or with `--revoke`
    /// revoked at the CA and taken out of `live/` (the archive keeps them).
    destroy: Option<Revoke>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    Keep,
    Revoke,
}

/// One change of the cert step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum CertOp {
    /// Order the certificate and make it live.
    Obtain(Wanted),
    /// `webtier destroy --revoke`: revoke the live certificate of `name`
    /// (serial `serial`) and take it out of `live/`.
    Revoke { name: String, serial: String },
    /// Converge an ACM site's certificate (see [`acm::converge`]).
    Acm(acm::AcmWanted),
    /// Delete webtier's certificate `arn` for the site, which no longer
    /// matches it (see [`acm::delete_stale`]).
    AcmDelete { site: acm::AcmWanted, arn: String },
    /// Import the live certificate into ACM, or re-import it to the same ARN.
    ImportToAcm(acm_import::ImportWanted),
}

/// Whether the configuration has certificates that live in AWS (ACM
/// sites, imports), so the step needs AWS clients.
pub fn needs_aws(config: &Config) -> bool {
    !acm::wanted(config).is_empty() || !acm_import::wanted(config).is_empty()
}

/// Whether the step has anything to do for this configuration.
pub fn configured(config: &Config) -> bool {
    !wanted(config).is_empty() || needs_aws(config)
}

/// Whether something local must be renewed on a schedule: an ACME
/// certificate, or an ACM export (ACM renews; the store must follow).
pub fn scheduled(config: &Config) -> bool {
    !wanted(config).is_empty()
        || acm::wanted(config)
            .iter()
            .any(|w| w.mode == crate::config::AcmMode::Export)
}

impl CertStep {
    pub fn new(config: &Config, clients: Option<Arc<Clients>>) -> CertStep {
        CertStep {
            config: config.clone(),
            clients,
            destroy: None,
        }
    }

    /// The step of `webtier destroy`.
    pub fn destroying(self, revoke: Revoke) -> CertStep {
        CertStep {
            destroy: Some(revoke),
            ..self
        }
    }

    fn clients(&self) -> Result<&Clients> {
        self.clients
            .as_deref()
            .context("the cert step has no AWS clients for its ACM certificates")
    }
}

#[derive(Debug, Serialize)]
pub struct Observed {
    pub name: String,
    pub live: Option<CertInfo>,
    /// Why it must be (re)issued now; None when it is good.
    pub due: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CertState {
    pub certs: Vec<Observed>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acm: Vec<acm::AcmObserved>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<acm_import::ImportObserved>,
}

impl Step for CertStep {
    type Observed = CertState;
    type Operation = CertOp;

    fn name(&self) -> StepName {
        StepName::Cert
    }

    async fn observe(&self) -> Result<CertState> {
        let store = Store::new(&self.config.state_dir);
        let now = now();
        let mut certs = Vec::new();
        for w in wanted(&self.config) {
            let live = store.live(&w.name)?;
            // Plans never ask the CA; stored renewal information counts.
            let ari = live.as_ref().and_then(|l| {
                match ari_decision(store.ari(&w.name).as_ref(), &l.info.serial, now) {
                    Ari::Due(reason) => Some(reason),
                    _ => None,
                }
            });
            certs.push(Observed {
                due: due(&w, live.as_ref(), self.config.acme.key.as_str(), now).or(ari),
                live: live.map(|l| l.info),
                name: w.name,
            });
        }
        // What is in ACM is webtier's to converge, not to destroy:
        // `destroy` leaves ACM certificates (and their records) in place.
        if self.destroy.is_some() {
            return Ok(CertState {
                certs,
                acm: Vec::new(),
                imports: Vec::new(),
            });
        }
        let mut acm_sites = Vec::new();
        let acm_wanted = acm::wanted(&self.config);
        if !acm_wanted.is_empty() {
            let clients = self.clients()?;
            let zones = crate::aws::route53::public_zones(clients).await?;
            for w in &acm_wanted {
                acm_sites.push(acm::observe(clients, &self.config, &zones, w).await?);
            }
        }
        let mut imports = Vec::new();
        for w in acm_import::wanted(&self.config) {
            imports.push(acm_import::observe(self.clients()?, &self.config, &w).await?);
        }
        Ok(CertState {
            certs,
            acm: acm_sites,
            imports,
        })
    }

    fn diff(&self, observed: &CertState) -> Vec<Planned<CertOp>> {
        match self.destroy {
            None => {}
            Some(Revoke::Keep) => return Vec::new(),
            Some(Revoke::Revoke) => {
                return observed
                    .certs
                    .iter()
                    .filter_map(|o| {
                        let live = o.live.as_ref()?;
                        Some(Planned {
                            action: Action::Delete,
                            resource: format!("certificate {}", o.name),
                            detail: format!(
                                "revoked at the CA (serial {}); the files stay in the archive",
                                live.serial
                            ),
                            operation: CertOp::Revoke {
                                name: o.name.clone(),
                                serial: live.serial.clone(),
                            },
                        })
                    })
                    .collect();
            }
        }
        let wanted = wanted(&self.config);
        let mut changes: Vec<Planned<CertOp>> = observed
            .certs
            .iter()
            .filter_map(|o| {
                let reason = o.due.as_ref()?;
                let w = wanted.iter().find(|w| w.name == o.name)?;
                Some(Planned {
                    action: if o.live.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    resource: format!("certificate {}", o.name),
                    detail: format!("names: {}\nreason: {reason}", w.names.join(", ")),
                    operation: CertOp::Obtain(w.clone()),
                })
            })
            .collect();
        let acm_wanted = acm::wanted(&self.config);
        for o in &observed.acm {
            let Some(w) = acm_wanted.iter().find(|w| w.name == o.name) else {
                continue;
            };
            if let Some((action, detail)) = acm::diff(w, o) {
                changes.push(Planned {
                    action,
                    resource: format!("ACM certificate {}", o.name),
                    detail,
                    operation: CertOp::Acm(w.clone()),
                });
            }
            for (arn, detail) in acm::deletions(o) {
                changes.push(Planned {
                    action: Action::Delete,
                    resource: format!("ACM certificate {arn}"),
                    detail: format!("{detail}\ndeleted once the site's new certificate is issued"),
                    operation: CertOp::AcmDelete {
                        site: w.clone(),
                        arn,
                    },
                });
            }
        }
        let imports = acm_import::wanted(&self.config);
        for o in &observed.imports {
            let Some(w) = imports.iter().find(|w| w.name == o.name) else {
                continue;
            };
            // A certificate ordered in this run is imported after it.
            let ordered = changes
                .iter()
                .any(|c| matches!(&c.operation, CertOp::Obtain(x) if x.name == o.name));
            let reason = match (&o.certificate, o.current) {
                _ if ordered => "the certificate ordered above",
                (None, Some(false)) => "not in ACM yet",
                (Some(_), Some(false)) => "ACM holds an older certificate",
                _ => continue,
            };
            changes.push(Planned {
                action: if o.certificate.is_some() {
                    Action::Update
                } else {
                    Action::Create
                },
                resource: format!("ACM import {}", o.name),
                detail: match &o.certificate {
                    Some(c) => format!("re-import to {} ({reason})", c.arn),
                    None => format!("import, tagged managed-by=webtier ({reason})"),
                },
                operation: CertOp::ImportToAcm(w.clone()),
            });
        }
        changes
    }

    fn conflicts(&self, observed: &CertState) -> Vec<Conflict> {
        observed.acm.iter().flat_map(acm::conflicts).collect()
    }

    async fn apply(&self, op: &CertOp) -> Result<()> {
        let store = Store::new(&self.config.state_dir);
        let _lock = store.lock()?;
        match op {
            CertOp::Obtain(wanted) => {
                obtain(&self.config, &self.config.acme, wanted, true).await?;
                if reload_proxy(&self.config)? {
                    wait_served(&self.config, &wanted.name)?;
                }
            }
            CertOp::Acm(wanted) => {
                // A saved plan converges only this configuration's sites.
                if !acm::wanted(&self.config).contains(wanted) {
                    bail!(
                        "the plan converges the ACM certificate of {} as this configuration no longer describes it — make a new plan",
                        wanted.name
                    );
                }
                let result = acm::converge(
                    self.clients()?,
                    &self.config,
                    wanted,
                    key_readers(&self.config),
                    acm::Reach::Apply,
                )
                .await;
                record(&store, &wanted.name, &result, "exported from ACM");
                if result?.is_some() && reload_proxy(&self.config)? {
                    wait_served(&self.config, &wanted.name)?;
                }
            }
            CertOp::AcmDelete { site, arn } => {
                if !acm::wanted(&self.config).contains(site) {
                    bail!(
                        "the plan deletes an ACM certificate of {} as this configuration no longer describes the site — make a new plan",
                        site.name
                    );
                }
                acm::delete_stale(self.clients()?, &self.config, site, arn).await?;
            }
            CertOp::ImportToAcm(wanted) => {
                if !acm_import::wanted(&self.config).contains(wanted) {
                    bail!(
                        "the plan imports {} into ACM, which this configuration does not ask for — make a new plan",
                        wanted.name
                    );
                }
                let imported =
                    acm_import::import(self.clients()?, &self.config, wanted, false).await?;
                tracing::info!("{}: ACM holds it as {}", wanted.name, imported.arn());
            }
            CertOp::Revoke { name, serial } => {
                // A saved plan revokes only this configuration's names.
                if !wanted(&self.config).iter().any(|w| &w.name == name) {
                    bail!(
                        "the plan revokes {name}, which no site of this configuration has — make a new plan"
                    );
                }
                let Some(live) = store.live(name)? else {
                    return Ok(()); // already out of live/
                };
                if &live.info.serial != serial {
                    bail!(
                        "the live certificate of {name} is serial {}, not {serial} as planned — make a new plan",
                        live.info.serial
                    );
                }
                // An expired certificate needs no revoking (CAs refuse
                // to), nor does one revoked already (by `cert revoke`, or
                // by a run that stopped before taking it out of live/).
                if live.info.not_after > now() {
                    let pem = std::fs::read_to_string(live.dir.join("fullchain.pem"))?;
                    let account = acme::account(
                        &store.account_file(&self.config.acme.directory),
                        &self.config.acme,
                    )
                    .await?;
                    let revoked = acme::revoke(
                        &account,
                        certstore::leaf_der(&pem)?,
                        instant_acme::RevocationReason::CessationOfOperation,
                    )
                    .await;
                    match revoked {
                        Err(e) if format!("{e:#}").contains("alreadyRevoked") => {
                            tracing::info!("{name}: already revoked");
                        }
                        other => other?,
                    }
                }
                store.retire(name)?;
            }
        }
        Ok(())
    }
}

/// Records how an attempt for `name` ended (for `cert status`).
pub fn record<T>(store: &Store, name: &str, result: &Result<T>, success: &str) {
    let attempt = LastAttempt {
        at: now(),
        ok: result.is_ok(),
        message: match result {
            Ok(_) => success.into(),
            Err(e) => format!("{e:#}"),
        },
    };
    if let Err(e) = store.record_attempt(name, &attempt) {
        tracing::warn!("cannot record the attempt for {name}: {e:#}");
    }
}

/// Waits until the reloaded proxy serves the certificate just installed
/// for `name`: its status file lists the certificate as loaded, unchanged
/// since, and does not refuse the site. So the apply that issued it ends
/// with the site on HTTPS, and the next plan finds nothing to reload.
fn wait_served(config: &Config, name: &str) -> Result<()> {
    let cert = Store::new(&config.state_dir).live_files(name).fullchain;
    // Only a proxy whose configuration serves this certificate can be
    // waited for (a site added to webtier.toml is in the proxy's file only
    // once proxy-config has run).
    let status_file = config.proxy_status_file();
    let serves_it = crate::proxy::daemon::status::read(&status_file)?
        .and_then(|s| std::fs::read_to_string(&s.config_file).ok())
        .and_then(|text| crate::proxy::config::ProxyConfig::from_toml(&text).ok())
        .is_some_and(|p| {
            p.sites
                .iter()
                .any(|site| site.tls.as_ref().is_some_and(|t| t.cert == cert))
        });
    if !serves_it {
        tracing::info!(
            "the running proxy's configuration does not serve {name} yet; `webtier apply proxy-config proxy` adds it"
        );
        return Ok(());
    }
    let refused = format!("site {name}:");
    let log = config.proxy_run_dir().join("proxy.log");
    crate::proxy::daemon::status::wait_for(
        &status_file,
        &format!("certificate of {name} as loaded"),
        &log,
        std::time::Duration::from_secs(40),
        |s| {
            let loaded = s
                .certificates
                .iter()
                .any(|f| f.path == cert && !f.changed());
            let served = !s.refused_sites.iter().any(|l| l.starts_with(&refused));
            match &s.reload_error {
                _ if loaded && served => Some(Ok(())),
                Some(e) if loaded => Some(Err(anyhow::anyhow!(
                    "the proxy refused to serve the new certificate of {name}: {e}"
                ))),
                _ => None,
            }
        },
    )
}

/// Asks the running bundled proxy (found through the pid file that
/// `proxy-config` gives it: `Config::proxy_pid_file`) to reload, so it
/// serves new certificates at once. No proxy running is not an error, nor
/// is a stale pid file naming another process (that is left alone, with a
/// warning).
/// True when a proxy was asked.
pub fn reload_proxy(config: &Config) -> Result<bool> {
    use crate::proxy::daemon::control::Reload;
    Ok(
        match crate::proxy::daemon::control::reload_running(&config.proxy_pid_file())? {
            Reload::Signalled(pid) => {
                tracing::info!("asked the proxy (pid {pid}) to reload");
                true
            }
            Reload::NotRunning => {
                tracing::info!("no proxy is running; nothing to reload");
                false
            }
            Reload::NotOurs(why) => {
                tracing::warn!("{why}");
                false
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn live(names: &[&str], not_before: i64, not_after: i64) -> Live {
        Live {
            info: CertInfo {
                names: names.iter().map(|n| n.to_string()).collect(),
                serial: "01".into(),
                issuer: "CN=test".into(),
                not_before,
                not_after,
                key_type: "ecdsa-p256".into(),
            },
            meta: None,
            dir: PathBuf::from("/x"),
        }
    }

    #[test]
    fn renewal_follows_the_lifetime() {
        let w = Wanted {
            name: "a.example".into(),
            names: vec!["a.example".into()],
        };
        let day = 86_400;
        // 90-day certificate: due with less than 30 days left.
        let l = live(&["a.example"], 0, 90 * day);
        assert_eq!(due(&w, Some(&l), "ecdsa-p256", 59 * day), None);
        assert!(
            due(&w, Some(&l), "ecdsa-p256", 61 * day)
                .unwrap()
                .contains("29 days left")
        );
        // 6-day certificate: due with less than 2 days left.
        let l = live(&["a.example"], 0, 6 * day);
        assert_eq!(due(&w, Some(&l), "ecdsa-p256", 3 * day), None);
        assert!(due(&w, Some(&l), "ecdsa-p256", 5 * day).is_some());
        assert_eq!(due(&w, Some(&l), "ecdsa-p256", 7 * day).unwrap(), "expired");
    }

    fn ari(serial: &str, supported: bool, renew_at: i64, next_check: i64) -> AriState {
        AriState {
            serial: serial.into(),
            supported,
            window_start: renew_at - 10,
            window_end: renew_at + 10,
            renew_at,
            next_check,
            explanation: None,
        }
    }

    #[test]
    fn renewal_information_decides_between_checks() {
        assert_eq!(ari_decision(None, "01", 100), Ari::Ask);
        assert_eq!(
            ari_decision(Some(&ari("01", false, 0, 0)), "01", 100),
            Ari::NotDue
        );
        assert_eq!(
            ari_decision(Some(&ari("01", true, 500, 200)), "01", 100),
            Ari::NotDue
        );
        assert_eq!(
            ari_decision(Some(&ari("01", true, 500, 200)), "01", 300),
            Ari::Ask
        );
        assert!(matches!(
            ari_decision(Some(&ari("01", true, 500, 200)), "01", 600),
            Ari::Due(_)
        ));
        // A stored answer about another (older) certificate is not used.
        assert_eq!(
            ari_decision(Some(&ari("00", true, 0, 9999)), "01", 100),
            Ari::Ask
        );
    }

    #[test]
    fn the_point_in_the_window_is_stable_and_inside() {
        let p = point_in_window("abc", 1000, 2000);
        assert_eq!(p, point_in_window("abc", 1000, 2000));
        assert!((1000..=2000).contains(&p));
        assert_eq!(point_in_window("abc", 5, 5), 5);
        let spread: std::collections::HashSet<i64> = (0..20)
            .map(|i| point_in_window(&i.to_string(), 0, 1_000_000))
            .collect();
        assert!(spread.len() > 15);
    }

    #[test]
    fn recorded_renewal_info_parses() {
        // A response as RFC 9773 shows it.
        let body = r#"{"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},"explanationURL":"https://acme.example.com/docs/ari"}"#;
        let info: instant_acme::RenewalInfo = serde_json::from_str(body).unwrap();
        assert_eq!(info.suggested_window.start.unix_timestamp(), 1_735_790_400);
        assert_eq!(
            info.explanation_url.as_deref(),
            Some("https://acme.example.com/docs/ari")
        );
    }

    #[test]
    fn new_names_and_key_types_are_due() {
        let w = Wanted {
            name: "a.example".into(),
            names: vec!["a.example".into(), "b.example".into()],
        };
        let l = live(&["a.example"], 0, 1_000_000_000);
        assert!(
            due(&w, Some(&l), "ecdsa-p256", 10)
                .unwrap()
                .contains("b.example")
        );
        let w1 = Wanted {
            name: "a.example".into(),
            names: vec!["a.example".into()],
        };
        assert!(
            due(&w1, Some(&l), "rsa-2048", 10)
                .unwrap()
                .contains("configured rsa-2048")
        );
        assert_eq!(
            due(&w1, None, "ecdsa-p256", 10).unwrap(),
            "no certificate yet"
        );
    }
}
