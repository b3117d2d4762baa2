//! The ACM side of `webtier cert renew`, `cert status` and `webtier cert
//! import-to-acm`: ACM sites converged (ACM renews by itself; the store
//! follows its renewals), imports kept current, ACM's view of each.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::aws::Clients;
use crate::aws::acm::{self, AcmCert};
use crate::certstore::Store;
use crate::config::{Config, Tls};
use crate::steps::cert::{self, Wanted, acm as site_acm, acm_import};
use crate::ui::{Tone, Ui};

/// What a run did, for its exit code and JSON document.
#[derive(Default)]
pub struct Tally {
    pub results: Vec<Value>,
    pub failed: usize,
    /// New certificates in the store (the proxy reloads).
    pub installed: usize,
}

/// Which ACM work a run of `cert issue` or `cert renew` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `cert issue`: keep imports current (a new ACME certificate).
    Imports,
    /// `cert renew`: also export what ACM issued or renewed.
    All { force: bool },
}

/// `cert renew`: exports what ACM issued or renewed for every ACM site,
/// and re-imports every import whose certificate changed (`cert issue`:
/// the imports only). Silent when nothing changes. With `dry_run`, only
/// says what would change.
pub async fn renew(
    config: &Config,
    scope: Scope,
    dry_run: bool,
    deploy_hook: Option<&str>,
    ui: &Ui,
    tally: &mut Tally,
) -> Result<()> {
    let (sites, force) = match scope {
        Scope::Imports => (Vec::new(), false),
        Scope::All { force } => (site_acm::wanted(config), force),
    };
    let imports = acm_import::wanted(config);
    if sites.is_empty() && imports.is_empty() {
        return Ok(());
    }
    let clients = match Clients::connect(&config.aws).await {
        Ok(c) => c,
        Err(e) => {
            ui.error(&format!("cannot reach ACM: {e:#}"));
            tally.failed += 1;
            return Ok(());
        }
    };
    if dry_run {
        return say_what_would_change(&clients, config, &sites, &imports, ui, tally).await;
    }
    let store = Store::new(&config.state_dir);
    for w in &sites {
        let progress = ui.progress(&format!("ACM certificate of {}", w.name));
        let result = site_acm::converge(
            &clients,
            config,
            w,
            cert::key_readers(config),
            site_acm::Reach::Renew { force },
        )
        .await;
        progress.finish();
        cert::record(&store, &w.name, &result, "exported from ACM");
        match result {
            Ok(Some(live)) => {
                let arn = live
                    .meta
                    .as_ref()
                    .and_then(|m| m.acm.as_ref())
                    .map_or("", |a| &a.arn);
                ui.out(&format!(
                    "{} {} from ACM ({arn}); valid until {}",
                    ui.paint(Tone::Good, "exported"),
                    w.name,
                    super::cert::date(live.info.not_after)
                ))?;
                tally.installed += 1;
                tally.results.push(json!({"name": w.name, "ok": true, "provider": "acm", "exported": arn, "not_after": live.info.not_after}));
                let hook_wanted = Wanted {
                    name: w.name.clone(),
                    names: w.names.clone(),
                };
                if let Some(hook) = deploy_hook
                    && let Err(e) = super::cert::run_hook(config, hook, &hook_wanted)
                {
                    ui.error(&format!("{}: {e:#}", w.name));
                    tally.failed += 1;
                }
            }
            Ok(None) => tracing::info!("{}: the ACM certificate is current", w.name),
            Err(e) => {
                ui.error(&format!("ACM certificate of {}: {e:#}", w.name));
                tally.failed += 1;
                tally.results.push(json!({"name": w.name, "ok": false, "provider": "acm", "error": format!("{e:#}")}));
            }
        }
    }
    for w in &imports {
        import_one(&clients, config, w, force, ui, tally).await?;
    }
    Ok(())
}

async fn say_what_would_change(
    clients: &Clients,
    config: &Config,
    sites: &[site_acm::AcmWanted],
    imports: &[acm_import::ImportWanted],
    ui: &Ui,
    tally: &mut Tally,
) -> Result<()> {
    let zones = if sites.is_empty() {
        Vec::new()
    } else {
        crate::aws::route53::public_zones(clients).await?
    };
    for w in sites {
        match site_acm::observe(clients, config, &zones, w).await {
            Ok(o) => {
                let change = site_acm::diff(w, &o);
                let said = match &change {
                    Some((_, detail)) => format!(
                        "dry run: ACM certificate {}: {}",
                        w.name,
                        detail.lines().skip(1).collect::<Vec<_>>().join("; ")
                    ),
                    None => format!("dry run: ACM certificate {} needs nothing", w.name),
                };
                ui.out(&said)?;
                tally.results.push(json!({"name": w.name, "ok": true, "provider": "acm", "dry_run": true, "change": change.map(|c| c.1)}));
            }
            Err(e) => {
                ui.error(&format!("ACM certificate of {}: {e:#}", w.name));
                tally.failed += 1;
            }
        }
    }
    for w in imports {
        match acm_import::observe(clients, config, w).await {
            Ok(o) => {
                let said = match o.current {
                    Some(true) => "ACM holds the live certificate",
                    Some(false) => "would be imported",
                    None => "no live certificate to import yet",
                };
                ui.out(&format!("dry run: ACM import {}: {said}", w.name))?;
            }
            Err(e) => {
                ui.error(&format!("ACM import of {}: {e:#}", w.name));
                tally.failed += 1;
            }
        }
    }
    Ok(())
}

/// Imports one site's live certificate; one line unless ACM had it.
async fn import_one(
    clients: &Clients,
    config: &Config,
    w: &acm_import::ImportWanted,
    force: bool,
    ui: &Ui,
    tally: &mut Tally,
) -> Result<()> {
    match acm_import::import(clients, config, w, force).await {
        Ok(done) => {
            let (word, line) = match &done {
                acm_import::Imported::Created(arn) => (
                    "created",
                    Some(format!(
                        "{} {} into ACM as {arn}",
                        ui.paint(Tone::Good, "imported"),
                        w.name
                    )),
                ),
                acm_import::Imported::Reimported(arn) => (
                    "reimported",
                    Some(format!(
                        "{} {} to {arn}",
                        ui.paint(Tone::Good, "re-imported"),
                        w.name
                    )),
                ),
                acm_import::Imported::Current(arn) => {
                    tracing::info!("{}: ACM holds the live certificate ({arn})", w.name);
                    ("current", None)
                }
            };
            if let Some(line) = line {
                ui.out(&line)?;
            }
            tally
                .results
                .push(json!({"name": w.name, "ok": true, "import": word, "arn": done.arn()}));
        }
        Err(e) => {
            ui.error(&format!("cannot import {} into ACM: {e:#}", w.name));
            tally.failed += 1;
            tally.results.push(
                json!({"name": w.name, "ok": false, "import": "failed", "error": format!("{e:#}")}),
            );
        }
    }
    Ok(())
}

/// `webtier cert import-to-acm [SITE]`.
pub fn import_to_acm(config: &Config, site: Option<&str>, ui: &Ui) -> Result<Tally> {
    let wanted = match site {
        Some(name) => {
            let name = name.to_ascii_lowercase();
            let Some(s) = config.sites.iter().find(|s| s.names().any(|n| n == name)) else {
                bail!(
                    "no [[site]] in {} has the name {name}",
                    config.source.display()
                );
            };
            if s.tls != Tls::Acme {
                bail!(
                    "{} does not have tls = \"acme\": only an ACME certificate is imported (an ACM one is in ACM already)",
                    s.domain
                );
            }
            vec![acm_import::for_site(s)]
        }
        None => {
            let wanted = acm_import::wanted(config);
            if wanted.is_empty() {
                bail!(
                    "no [[site]] in {} has [site.acm] import = true — name the site: `webtier cert import-to-acm example.com`",
                    config.source.display()
                );
            }
            wanted
        }
    };
    let mut tally = Tally::default();
    super::runtime()?.block_on(async {
        let store = Store::new(&config.state_dir);
        let _lock = store.lock()?;
        let clients = Clients::connect(&config.aws).await?;
        for w in &wanted {
            import_one(&clients, config, w, false, ui, &mut tally).await?;
        }
        anyhow::Ok(())
    })?;
    Ok(tally)
}

/// One ACM row of `cert status`.
pub struct Row {
    pub name: String,
    /// "export", "managed" or "import".
    pub role: &'static str,
    pub certificate: Option<AcmCert>,
}

/// ACM's view of every ACM site and import (`cert status`).
pub async fn status_rows(config: &Config) -> Result<Vec<Row>> {
    let sites = site_acm::wanted(config);
    let imports = acm_import::wanted(config);
    if sites.is_empty() && imports.is_empty() {
        return Ok(Vec::new());
    }
    let clients = Clients::connect(&config.aws).await?;
    let mut rows = Vec::new();
    for w in &sites {
        let client = acm::client(&clients, w.region.as_deref());
        let certs = acm::site_certificates(&client, &w.name, &config.dns.owner).await?;
        let certificate = site_acm::pick(w, &certs).cloned().or_else(|| {
            certs
                .into_iter()
                .filter(|c| c.kind == "AMAZON_ISSUED")
                .max_by_key(|c| c.created_at)
        });
        rows.push(Row {
            name: w.name.clone(),
            role: match w.mode {
                crate::config::AcmMode::Export => "export",
                crate::config::AcmMode::Managed => "managed",
            },
            certificate,
        });
    }
    for w in &imports {
        let o = acm_import::observe(&clients, config, w).await?;
        rows.push(Row {
            name: w.name.clone(),
            role: "import",
            certificate: o.certificate,
        });
    }
    Ok(rows)
}
