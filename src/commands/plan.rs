//! `webtier plan [STEP]... [--out FILE] [--detailed-exitcode]`.

use anyhow::Result;

use crate::cli::{GlobalArgs, PlanOptions};
use crate::exit;
use crate::plan::StepName;
use crate::plan::{Plan, engine, render, saved};
use crate::steps;
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, names: &[StepName], args: &PlanOptions, ui: &Ui) -> Result<u8> {
    let config = crate::config::load(&global.config_path())?;
    // Before observing: a wrong --out should not cost a round of AWS calls.
    if let Some(out) = &args.out {
        saved::check_destination(out)?;
    }
    let rt = super::runtime()?;
    let steps = rt.block_on(steps::build(&config, names, args.change.steps()))?;
    let plans = rt.block_on(engine::plan_steps(&steps, ui))?;
    let mut plan = Plan::new(config.source.clone(), plans);
    plan.destroy = args.change.destroy;
    if let Some(out) = &args.out {
        saved::save(out, &plan)?;
    }
    if ui.is_json() {
        ui.json(&plan)?;
    } else {
        for line in render::plan_text(&plan, ui) {
            ui.out(&line)?;
        }
        if let Some(out) = &args.out {
            ui.info("")?;
            ui.info(&format!(
                "Saved the plan to {}. To perform exactly these actions, run: webtier apply {}",
                out.display(),
                out.display()
            ))?;
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::SUCCESS
    })
}
