//! `webtier init`: writes `webtier.toml` from flags, detection and (on a
//! terminal) a few questions, then runs the whole pipeline as `webtier
//! apply` does: the plan of every step, one confirmation, then firewall →
//! dns → proxy-config → proxy → cert → schedule.
//!
//! Run again with the same answers, it finds the file as it would write it
//! and goes on with the pipeline, so after a failure (fixed) the same
//! command picks up where it stopped. A file that differs is kept unless
//! `--force`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::{ChangeOptions, GlobalArgs, InitArgs, InitTls};
use crate::init::{self, Answers, detect};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: &InitArgs, ui: &Ui) -> Result<u8> {
    let path = global.config_path();
    let mut answers = Answers {
        domain: args.domain.clone(),
        aliases: args.aliases.clone(),
        email: args.email.clone(),
        upstream: args.upstream.clone(),
        instance: args.instance.clone(),
        tls: args.tls.map(|t| {
            match t {
                InitTls::Acme => "acme",
                InitTls::AcmExport => "acm-export",
                InitTls::AcmManaged => "acm-managed",
                InitTls::None => "none",
            }
            .to_string()
        }),
        region: args.region.clone(),
        acme_directory: args.acme_directory.clone(),
        ca_root: args
            .ca_root
            .as_deref()
            .map(|p| {
                std::path::absolute(p)
                    .with_context(|| format!("cannot resolve {}", p.display()))
                    .map(|p| p.display().to_string())
            })
            .transpose()?,
    };
    let ask = ui.stdin_is_terminal() && !global.yes && !ui.is_json();
    let rt = super::runtime()?;

    let app = match answers.upstream {
        Some(_) => None,
        None => rt.block_on(detect::app()),
    };
    if let Some(app) = &app {
        ui.info(&format!("found an app listening on {app}"))?;
    }
    if answers.instance.is_none() {
        match rt.block_on(detect::instance()) {
            Some(id) => {
                ui.info(&format!("this machine is EC2 instance {id}"))?;
                answers.instance = Some("self".into());
            }
            None if ask => {
                let id: String =
                    dialoguer::Input::with_theme(&dialoguer::theme::ColorfulTheme::default())
                        .with_prompt("EC2 instance id (this machine is not one)")
                        .validate_with(|s: &String| crate::config::names::instance(s.trim()))
                        .interact_text()?;
                answers.instance = Some(id.trim().to_string());
            }
            None => bail!(
                "this machine is not an EC2 instance (the instance metadata service did not answer): give --instance i-…"
            ),
        }
    }
    if ask {
        init::wizard::ask(&mut answers, app)?;
        if let Some(domain) = &answers.domain {
            match rt.block_on(detect::zone(domain, answers.region.as_deref())) {
                Ok(zone) => ui.info(&format!("Route 53 hosted zone for {domain}: {zone}"))?,
                Err(why) => ui.warning(&format!("no Route 53 zone found for {domain} yet: {why}")),
            }
        }
    } else if answers.upstream.is_none() {
        answers.upstream = app;
    }
    let missing = answers.missing();
    if !missing.is_empty() {
        bail!(
            "init needs {}{}",
            missing.join(" and "),
            if answers.upstream.is_none() {
                " (nothing listens on 127.0.0.1:8000)"
            } else {
                ""
            }
        );
    }
    let text = init::render(&answers)?;
    write_config(&path, &text, args.force, ui)?;
    drop(rt);
    super::apply::run_steps(global, &[], ChangeOptions::default(), ui).map_err(|e| {
        anyhow::anyhow!(
            "{e:#} — {} is kept: once that is fixed, run this `webtier init` again (or `webtier apply`) to go on from where it stopped",
            path.display()
        )
    })
}

/// Writes the configuration atomically after validating it as `webtier
/// config check` would; the same content already there is left as it is,
/// different content only with `force`.
fn write_config(path: &Path, text: &str, force: bool, ui: &Ui) -> Result<()> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    // Named as what it is: the file these answers would make, not yet on
    // disk (its line numbers are those of that text).
    crate::config::parse(
        &format!("{} (as init would write it)", path.display()),
        text,
        &absolute,
    )?;
    match std::fs::read(path) {
        Ok(existing) if existing == text.as_bytes() => {
            ui.info(&format!("{} is as these answers make it", path.display()))?;
            return Ok(());
        }
        Ok(_) if !force => bail!(
            "{} exists and differs from what these answers make — run `webtier apply` to use it, or `webtier init --force` to replace it",
            path.display()
        ),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = absolute.parent()
        && !dir.is_dir()
    {
        bail!(
            "directory {} does not exist — create it first",
            dir.display()
        );
    }
    crate::fsutil::atomic_write_with_mode(path, text.as_bytes(), 0o644)?;
    ui.info(&format!("wrote {}", path.display()))?;
    Ok(())
}
