//! `webtier apply [STEP]... [PLANFILE] [--yes]`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::json;

use crate::cli::{ChangeOptions, GlobalArgs};
use crate::exit;
use crate::plan::StepName;
use crate::plan::engine::{self, Applied};
use crate::plan::{FORMAT_VERSION, Plan, Summary, render, saved};
use crate::steps;
use crate::ui::{Tone, Ui};

pub fn run(global: &GlobalArgs, targets: &[String], change: ChangeOptions, ui: &Ui) -> Result<u8> {
    let (names, planfile) = split_targets(targets)?;
    match planfile {
        Some(path) => apply_saved(global, &path, ui),
        None => run_steps(global, &names, change, ui),
    }
}

/// Each argument is a step name or, alone, the path of a saved plan.
fn split_targets(targets: &[String]) -> Result<(Vec<StepName>, Option<PathBuf>)> {
    let mut names = Vec::new();
    let mut files = Vec::new();
    for t in targets {
        match StepName::parse(t) {
            Some(name) => names.push(name),
            None => files.push(PathBuf::from(t)),
        }
    }
    match files.as_slice() {
        [] => Ok((names, None)),
        [file] if names.is_empty() => {
            if !file.exists() {
                let steps: Vec<&str> = StepName::ALL.iter().map(|s| s.as_str()).collect();
                bail!(
                    "\"{}\" is neither a step ({}) nor a plan file",
                    file.display(),
                    steps.join(", ")
                );
            }
            Ok((names, Some(file.clone())))
        }
        [_] => bail!("give either steps or a saved plan file, not both"),
        _ => bail!("give at most one saved plan file"),
    }
}

/// Plans the steps, shows the plan, asks, and applies it.
pub fn run_steps(
    global: &GlobalArgs,
    names: &[StepName],
    change: ChangeOptions,
    ui: &Ui,
) -> Result<u8> {
    let config = crate::config::load(&global.config_path())?;
    let rt = super::runtime()?;
    let steps = rt.block_on(steps::build(&config, names, change.steps()))?;
    let mut plan = Plan::new(
        config.source.clone(),
        rt.block_on(engine::plan_steps(&steps, ui))?,
    );
    plan.destroy = change.destroy;
    // The plan is shown for review; with -q only when there is a prompt.
    let review = plan.has_changes() && !global.yes;
    if !ui.is_json() && (review || !ui.is_quiet()) {
        for line in render::plan_text(&plan, ui) {
            ui.out(&line)?;
        }
    }
    if !plan.has_changes() {
        return report(ui, &plan, &[]);
    }
    if !global.yes {
        if ui.is_json() {
            bail!(
                "refusing to apply without confirmation: with --output json the plan is not shown for review — review with `webtier plan`, then run `webtier apply --yes`"
            );
        }
        if !ui.stdin_is_terminal() {
            bail!(
                "refusing to apply without confirmation: stdin is not a terminal — review with `webtier plan`, then run `webtier apply --yes`"
            );
        }
        if !ui.confirm("Do you want to perform these actions?")? {
            bail!("apply cancelled: nothing was changed");
        }
    }
    let mut applied = Vec::new();
    rt.block_on(engine::apply_plans(&steps, &plan.steps, ui, &mut applied))?;
    report(ui, &plan, &applied)
}

/// Applies exactly the changes of a saved plan, after checking that the
/// live state is still what the plan saw. A saved plan was reviewed when
/// it was made, so there is no prompt.
fn apply_saved(global: &GlobalArgs, path: &std::path::Path, ui: &Ui) -> Result<u8> {
    let saved_plan = saved::load(path)?;
    // The plan names its configuration; a different one given now is a
    // mistake, not an override.
    if let Some(given) = &global.config {
        let given_abs = std::fs::canonicalize(given).unwrap_or_else(|_| given.clone());
        if given_abs != saved_plan.config {
            bail!(
                "{} was made from {}, not {} — apply it without --config/WEBTIER_CONFIG, or make a new plan",
                path.display(),
                saved_plan.config.display(),
                given.display()
            );
        }
    }
    let config = crate::config::load(&saved_plan.config)?;
    let names: Vec<StepName> = saved_plan.steps.iter().map(|s| s.step).collect();
    let rt = super::runtime()?;
    let options = ChangeOptions {
        destroy: saved_plan.destroy,
        ..ChangeOptions::default()
    };
    let steps = rt.block_on(steps::build(&config, &names, options.steps()))?;
    let current = rt.block_on(engine::plan_steps(&steps, ui))?;
    saved::check_fresh(&saved_plan, &current)?;
    if !ui.is_json() && !ui.is_quiet() {
        for line in render::plan_text(&saved_plan, ui) {
            ui.out(&line)?;
        }
    }
    let mut applied = Vec::new();
    rt.block_on(engine::apply_plans(
        &steps,
        &saved_plan.steps,
        ui,
        &mut applied,
    ))?;
    report(ui, &saved_plan, &applied)
}

fn report(ui: &Ui, plan: &Plan, applied: &[Applied]) -> Result<u8> {
    let summary = Summary {
        add: applied
            .iter()
            .filter(|a| a.action == crate::plan::Action::Create)
            .count(),
        change: applied
            .iter()
            .filter(|a| a.action == crate::plan::Action::Update)
            .count(),
        destroy: applied
            .iter()
            .filter(|a| a.action == crate::plan::Action::Delete)
            .count(),
    };
    if ui.is_json() {
        ui.json(&json!({
            "format_version": FORMAT_VERSION,
            "config": plan.config,
            "applied": applied,
            "summary": summary,
        }))?;
    } else if !applied.is_empty() {
        ui.info("")?;
        // The result: printed with -q too.
        ui.out(&format!(
            "{} Resources: {} added, {} changed, {} destroyed.",
            ui.paint(Tone::Good, "Apply complete!"),
            summary.add,
            summary.change,
            summary.destroy
        ))?;
    }
    Ok(exit::SUCCESS)
}
