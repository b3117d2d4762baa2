//! `webtier cert plan|apply|issue|renew|status`.

use anyhow::{Result, bail};
use serde_json::json;

use crate::acme;
use crate::certstore::{self, Live, Store};
use crate::cli::{CertCommand, GlobalArgs, HookOptions, RevokeReason, Scheduler};
use crate::config::{Acme, Config, LETSENCRYPT, LETSENCRYPT_STAGING};
use crate::exit;
use crate::plan::FORMAT_VERSION;
use crate::plan::StepName;
use crate::steps::cert::{self, Wanted};
use crate::ui::{Tone, Ui};

pub fn run(global: &GlobalArgs, command: &CertCommand, ui: &Ui) -> Result<u8> {
    match command {
        CertCommand::Plan(options) => super::plan::run(global, &[StepName::Cert], options, ui),
        CertCommand::Apply(change) => {
            super::apply::run_steps(global, &[StepName::Cert], *change, ui)
        }
        CertCommand::Issue { site, hooks } => {
            let config = crate::config::load(&global.config_path())?;
            let mut wanted = acme_sites(&config)?;
            if let Some(site) = site {
                wanted.retain(|w| w.names.iter().any(|n| n == &site.to_ascii_lowercase()));
                if wanted.is_empty() {
                    bail!("no site with tls = \"acme\" has the name {site}");
                }
            }
            obtain_all(
                &config,
                wanted,
                |_, _| Some("requested".to_string()),
                false,
                super::cert_acm::Scope::Imports,
                hooks,
                ui,
            )
        }
        CertCommand::Renew {
            force,
            dry_run,
            hooks,
        } => {
            let config = crate::config::load(&global.config_path())?;
            if !cert::configured(&config) {
                bail!(
                    "no [[site]] in {} has tls = \"acme\" or tls = \"acm\"",
                    config.source.display()
                );
            }
            let wanted = cert::wanted(&config);
            let key = config.acme.key.as_str();
            let now = cert::now();
            let force = *force;
            obtain_all(
                &config,
                wanted,
                |w, live| {
                    if force {
                        Some("--force".to_string())
                    } else {
                        cert::due(w, live, key, now)
                    }
                },
                *dry_run,
                super::cert_acm::Scope::All { force },
                hooks,
                ui,
            )
        }
        CertCommand::Status => status(global, ui),
        CertCommand::ImportToAcm { site } => {
            let config = crate::config::load(&global.config_path())?;
            let tally = super::cert_acm::import_to_acm(&config, site.as_deref(), ui)?;
            if ui.is_json() {
                ui.json(&json!({"format_version": FORMAT_VERSION, "imports": tally.results}))?;
            }
            Ok(if tally.failed > 0 {
                exit::ERROR
            } else {
                exit::SUCCESS
            })
        }
        CertCommand::Revoke { site, reason } => revoke(global, site, *reason, ui),
        CertCommand::Schedule {
            scheduler,
            print,
            root,
        } => schedule(global, *scheduler, *print, root, ui),
    }
}

fn revoke(global: &GlobalArgs, site: &str, reason: RevokeReason, ui: &Ui) -> Result<u8> {
    use instant_acme::RevocationReason as R;
    let config = crate::config::load(&global.config_path())?;
    let site = site.to_ascii_lowercase();
    let Some(w) = acme_sites(&config)?
        .into_iter()
        .find(|w| w.names.contains(&site))
    else {
        bail!("no site with tls = \"acme\" has the name {site}");
    };
    let store = Store::new(&config.state_dir);
    let Some(live) = store.live(&w.name)? else {
        bail!("{} has no live certificate to revoke", w.name);
    };
    let pem = std::fs::read_to_string(live.dir.join("fullchain.pem"))?;
    let der = certstore::leaf_der(&pem)?;
    let reason = match reason {
        RevokeReason::Unspecified => R::Unspecified,
        RevokeReason::KeyCompromise => R::KeyCompromise,
        RevokeReason::Superseded => R::Superseded,
        RevokeReason::CessationOfOperation => R::CessationOfOperation,
    };
    super::runtime()?.block_on(async {
        let account =
            acme::account(&store.account_file(&config.acme.directory), &config.acme).await?;
        acme::revoke(&account, der, reason).await
    })?;
    if ui.is_json() {
        ui.json(&json!({"format_version": FORMAT_VERSION, "revoked": w.name, "serial": live.info.serial}))?;
    }
    ui.out(&format!(
        "revoked {} (serial {}); it is still installed — replace it with `webtier cert issue {}`",
        w.name, live.info.serial, w.name
    ))?;
    Ok(exit::SUCCESS)
}

fn schedule(
    global: &GlobalArgs,
    scheduler: Option<Scheduler>,
    print: bool,
    root: &std::path::Path,
    ui: &Ui,
) -> Result<u8> {
    use crate::steps::schedule::files as sched;
    let config = crate::config::load(&global.config_path())?;
    let binary = std::env::current_exe()?;
    let real_root = root == std::path::Path::new("/");
    let systemd = match scheduler {
        Some(Scheduler::Systemd) => true,
        Some(Scheduler::Cron) => false,
        None => sched::systemd_running(),
    };
    let files = sched::files(systemd, &binary, &config.source, &sched::host_name())?;
    if print {
        if ui.is_json() {
            let docs: Vec<_> = files
                .iter()
                .map(|f| json!({"path": std::path::Path::new("/").join(&f.path), "content": f.content}))
                .collect();
            ui.json(&json!({"format_version": FORMAT_VERSION, "files": docs}))?;
        }
        for f in &files {
            ui.out(&format!("# /{}\n{}", f.path.display(), f.content))?;
        }
        return Ok(exit::SUCCESS);
    }
    let installed = sched::install(root, &files)?;
    if systemd && real_root {
        for args in [
            &["daemon-reload"][..],
            &["enable", "--now", "webtier-renew.timer"],
        ] {
            let status = std::process::Command::new("systemctl")
                .args(args)
                .status()?;
            if !status.success() {
                bail!("systemctl {} failed ({status})", args.join(" "));
            }
        }
    }
    if ui.is_json() {
        ui.json(&json!({"format_version": FORMAT_VERSION, "installed": installed}))?;
    }
    for path in installed {
        ui.info(&format!("installed {}", path.display()))?;
    }
    Ok(exit::SUCCESS)
}

fn acme_sites(config: &Config) -> Result<Vec<Wanted>> {
    let wanted = cert::wanted(config);
    if wanted.is_empty() {
        bail!(
            "no [[site]] in {} has tls = \"acme\"",
            config.source.display()
        );
    }
    Ok(wanted)
}

/// A dry run orders from the staging CA instead of production; any other
/// directory (a test CA) is used as it is.
fn dry_run_acme(acme: &Acme) -> Acme {
    let mut acme = acme.clone();
    if acme.directory == LETSENCRYPT {
        acme.directory = LETSENCRYPT_STAGING.to_string();
    }
    acme
}

pub(super) fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// Orders every certificate `reason` says is due; one line per result.
/// Then `acm`: exports what ACM renewed (`renew`), and keeps imports
/// current. A failure is reported and the others still go ahead;
/// exit 1 if any failed. Nothing due: no output, no ACME request, exit 0.
fn obtain_all(
    config: &Config,
    wanted: Vec<Wanted>,
    reason: impl Fn(&Wanted, Option<&Live>) -> Option<String>,
    dry_run: bool,
    acm: super::cert_acm::Scope,
    hooks: &HookOptions,
    ui: &Ui,
) -> Result<u8> {
    let store = Store::new(&config.state_dir);
    let rt = super::runtime()?;
    let mut results = Vec::new();
    let mut failed = 0;
    let mut issued = 0;
    let mut tally = super::cert_acm::Tally::default();
    rt.block_on(async {
        // One writer at a time; a concurrent run waits here. The lock is
        // taken before looking, so the second run sees the first's result.
        let _lock = if dry_run { None } else { Some(store.lock()?) };
        let acme = if dry_run {
            dry_run_acme(&config.acme)
        } else {
            config.acme.clone()
        };
        for w in &wanted {
            let live = match store.live(&w.name) {
                Ok(live) => live,
                Err(e) => {
                    ui.error(&format!("{}: {e:#}", w.name));
                    failed += 1;
                    continue;
                }
            };
            // Not due by its lifetime: the CA may still say so (not asked
            // in a dry run).
            let why = match (reason(w, live.as_ref()), &live) {
                (None, Some(l)) if !dry_run => cert::ari_reason(&store, &acme, &w.name, l).await,
                (why, _) => why,
            };
            let Some(why) = why else {
                tracing::info!(
                    "{}: not due (valid until {})",
                    w.name,
                    live.as_ref()
                        .map_or(String::new(), |l| date(l.info.not_after))
                );
                continue;
            };
            let outcome = cert::obtain(config, &acme, w, !dry_run).await;
            let (ordered, result) = report_order(ui, &acme.directory, w, why, outcome)?;
            results.push(result);
            match ordered {
                Ordered::Issued => {
                    issued += 1;
                    if let Some(hook) = &hooks.deploy_hook
                        && let Err(e) = run_hook(config, hook, w)
                    {
                        ui.error(&format!("{}: {e:#}", w.name));
                        failed += 1;
                    }
                }
                Ordered::DryRun => {}
                Ordered::Failed => failed += 1,
            }
        }
        // After the ACME orders, so that an import takes the new ones.
        {
            super::cert_acm::renew(
                config,
                acm,
                dry_run,
                hooks.deploy_hook.as_deref(),
                ui,
                &mut tally,
            )
            .await?;
        }
        anyhow::Ok(())
    })?;
    results.append(&mut tally.results);
    failed += tally.failed;
    issued += tally.installed;
    if issued > 0 {
        // The running proxy serves the new certificates now rather than at
        // its next look at the files.
        if let Err(e) = cert::reload_proxy(config) {
            ui.error(&format!("the new certificates are live, but {e:#}"));
            failed += 1;
        }
    }
    if ui.is_json() {
        ui.json(&json!({"format_version": FORMAT_VERSION, "certificates": results}))?;
    }
    Ok(if failed > 0 {
        exit::ERROR
    } else {
        exit::SUCCESS
    })
}

/// How one order of `obtain_all` ended.
enum Ordered {
    Issued,
    DryRun,
    Failed,
}

/// Reports one order's outcome (a line on stdout, or an error) and gives
/// its entry for the JSON document.
fn report_order(
    ui: &Ui,
    directory: &str,
    w: &Wanted,
    why: String,
    outcome: Result<Option<Live>>,
) -> Result<(Ordered, serde_json::Value)> {
    Ok(match outcome {
        Ok(Some(new)) => {
            ui.out(&format!(
                "{} {} ({why}); valid until {}",
                ui.paint(Tone::Good, "issued"),
                w.name,
                date(new.info.not_after)
            ))?;
            let result =
                json!({"name": w.name, "ok": true, "reason": why, "not_after": new.info.not_after});
            (Ordered::Issued, result)
        }
        Ok(None) => {
            ui.out(&format!(
                "dry run: {} would be issued ({why}); the order against {directory} succeeded, nothing was installed",
                w.name
            ))?;
            let result = json!({"name": w.name, "ok": true, "reason": why, "dry_run": true});
            (Ordered::DryRun, result)
        }
        Err(e) => {
            ui.error(&format!("cannot issue {}: {e:#}", w.name));
            let result =
                json!({"name": w.name, "ok": false, "reason": why, "error": format!("{e:#}")});
            (Ordered::Failed, result)
        }
    })
}

/// Runs the deploy hook with the certificate's paths in the environment.
pub(super) fn run_hook(config: &Config, hook: &str, w: &Wanted) -> Result<()> {
    let live = Store::new(&config.state_dir).live_files(&w.name);
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(hook)
        .env("WEBTIER_CERT_NAME", &w.name)
        .env("WEBTIER_CERT_DIR", live.dir)
        .env("WEBTIER_FULLCHAIN", live.fullchain)
        .env("WEBTIER_PRIVKEY", live.privkey)
        .env("WEBTIER_NAMES", w.names.join(" "))
        .status()?;
    if !status.success() {
        bail!("the deploy hook failed ({status}); the new certificate is live");
    }
    Ok(())
}

fn status(global: &GlobalArgs, ui: &Ui) -> Result<u8> {
    let config = crate::config::load(&global.config_path())?;
    if !cert::configured(&config) {
        bail!(
            "no [[site]] in {} has tls = \"acme\" or tls = \"acm\"",
            config.source.display()
        );
    }
    let store = Store::new(&config.state_dir);
    let now = cert::now();
    let mut rows = Vec::new();
    for w in cert::wanted(&config) {
        let live = store.live(&w.name)?;
        let last = store.last_attempt(&w.name);
        let due = cert::due(&w, live.as_ref(), config.acme.key.as_str(), now);
        rows.push((w, live, last, due));
    }
    // ACM unreachable: the store's certificates are still shown.
    let (acm_rows, acm_error) =
        match super::runtime()?.block_on(super::cert_acm::status_rows(&config)) {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(format!("{e:#}"))),
        };
    let exit_code = if acm_error.is_some() {
        exit::ERROR
    } else {
        exit::SUCCESS
    };
    if ui.is_json() {
        let certs: Vec<_> = rows
            .iter()
            .map(|(w, live, last, due)| {
                json!({
                    "name": w.name,
                    "names": w.names,
                    "live": live.as_ref().map(|l| &l.info),
                    "days_left": live.as_ref().map(|l| (l.info.not_after - now) / 86_400),
                    "due": due,
                    "renewal_info": store.ari(&w.name),
                    "last_attempt": last,
                })
            })
            .collect();
        let acm: Vec<_> = acm_rows
            .iter()
            .map(|r| {
                let live = store.live(&r.name).ok().flatten();
                json!({
                    "name": r.name,
                    "role": r.role,
                    "certificate": r.certificate,
                    "live": live.as_ref().filter(|_| r.role == "export").map(|l| &l.info),
                    "last_attempt": store.last_attempt(&r.name),
                })
            })
            .collect();
        ui.json(&json!({"format_version": FORMAT_VERSION, "certificates": certs, "acm": acm, "acm_error": acm_error}))?;
        return Ok(exit_code);
    }
    if !rows.is_empty() {
        ui.out(&format!(
            "{:<28} {:<11} {:>5}  {:<11} {:<8} {}",
            "NAME", "EXPIRES", "DAYS", "KEY", "LAST", "ISSUER / NOTE"
        ))?;
    }
    for (w, live, last, due) in rows {
        let last = last.map_or("-".to_string(), |a| {
            if a.ok { "ok".into() } else { "failed".into() }
        });
        let line = match live {
            Some(l) => format!(
                "{:<28} {:<11} {:>5}  {:<11} {:<8} {}{}",
                w.name,
                date(l.info.not_after),
                (l.info.not_after - now) / 86_400,
                l.info.key_type,
                last,
                l.info.issuer,
                due.map(|d| format!(" (due: {d})")).unwrap_or_default()
            ),
            None => format!(
                "{:<28} {:<11} {:>5}  {:<11} {:<8} no certificate yet",
                w.name, "-", "-", "-", last
            ),
        };
        ui.out(&line)?;
    }
    if !acm_rows.is_empty() {
        ui.out(&format!(
            "{:<28} {:<8} {:<19} {:<11} {:<7} {:<12} {}",
            "ACM", "ROLE", "STATUS", "EXPIRES", "EXPORT", "RENEWAL", "ARN / IN USE BY"
        ))?;
    }
    for r in &acm_rows {
        let line = match &r.certificate {
            Some(c) => format!(
                "{:<28} {:<8} {:<19} {:<11} {:<7} {:<12} {}{}",
                r.name,
                r.role,
                c.status,
                c.not_after.map_or("-".to_string(), date),
                if c.exportable { "yes" } else { "no" },
                c.renewal_eligibility.as_deref().unwrap_or("-"),
                c.arn,
                if c.in_use_by.is_empty() {
                    String::new()
                } else {
                    format!(" (in use by {})", c.in_use_by.join(", "))
                }
            ),
            None => format!(
                "{:<28} {:<8} {:<19} {:<11} {:<7} {:<12} {}",
                r.name,
                r.role,
                "-",
                "-",
                "-",
                "-",
                if r.role == "import" {
                    "not imported yet"
                } else {
                    "not requested yet"
                }
            ),
        };
        ui.out(&line)?;
    }
    if let Some(e) = acm_error {
        ui.error(&format!("cannot show the ACM certificates: {e}"));
    }
    Ok(exit_code)
}
