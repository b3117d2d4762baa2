//! Runs steps: observe and diff into a plan, then apply its changes in order.

use std::future::Future;
use std::pin::Pin;

use anyhow::{Context, Result};

use super::{Change, Planned, Step, StepPlan, fingerprint};
use crate::plan::StepName;
use crate::ui::Ui;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A step with its types erased, so steps of every kind run in one list.
pub trait AnyStep: Send + Sync {
    fn name(&self) -> StepName;
    fn plan(&self) -> BoxFuture<'_, Result<StepPlan>>;
    fn apply<'a>(&'a self, changes: &'a [Change]) -> BoxFuture<'a, Result<()>>;
    fn check_apply(&self) -> Result<()>;
}

impl<S: Step> AnyStep for S {
    fn name(&self) -> StepName {
        Step::name(self)
    }

    fn check_apply(&self) -> Result<()> {
        Step::check_apply(self)
    }

    fn plan(&self) -> BoxFuture<'_, Result<StepPlan>> {
        Box::pin(async move {
            let observed = self
                .observe()
                .await
                .with_context(|| format!("{}: cannot observe live state", Step::name(self)))?;
            let changes = self
                .diff(&observed)
                .into_iter()
                .map(|p: Planned<S::Operation>| {
                    Ok(Change {
                        action: p.action,
                        resource: p.resource,
                        detail: p.detail,
                        operation: serde_json::to_value(&p.operation)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(StepPlan {
                step: Step::name(self),
                fingerprint: fingerprint(&observed)?,
                changes,
                conflicts: self.conflicts(&observed),
            })
        })
    }

    fn apply<'a>(&'a self, changes: &'a [Change]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ops = changes
                .iter()
                .map(|c| serde_json::from_value::<S::Operation>(c.operation.clone()))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| {
                    format!(
                        "{}: the plan holds an operation this webtier cannot read",
                        Step::name(self)
                    )
                })?;
            self.apply_all(&ops).await
        })
    }
}

/// Observes every step (in order) and collects their changes.
pub async fn plan_steps(steps: &[Box<dyn AnyStep>], ui: &Ui) -> Result<Vec<StepPlan>> {
    let mut plans = Vec::with_capacity(steps.len());
    for step in steps {
        let progress = ui.progress(&format!("{}: observing", step.name()));
        let plan = step.plan().await;
        progress.finish();
        plans.push(plan?);
    }
    Ok(plans)
}

/// One change done, for the apply report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub step: StepName,
    pub action: super::Action,
    pub resource: String,
}

/// Applies the changes of `plans` step by step, stopping at the first
/// failure. Every change is idempotent, so after a failure a new plan shows
/// exactly what remains and a re-run converges.
pub async fn apply_plans(
    steps: &[Box<dyn AnyStep>],
    plans: &[StepPlan],
    ui: &Ui,
    applied: &mut Vec<Applied>,
) -> Result<()> {
    for plan in plans.iter().filter(|p| !p.changes.is_empty()) {
        if let Some(step) = steps.iter().find(|s| s.name() == plan.step) {
            step.check_apply()
                .with_context(|| format!("{}: cannot apply (nothing was changed)", plan.step))?;
        }
    }
    for plan in plans.iter().filter(|p| !p.changes.is_empty()) {
        let step = steps
            .iter()
            .find(|s| s.name() == plan.step)
            .with_context(|| format!("step {} is not configured", plan.step))?;
        let n = plan.changes.len();
        let progress = ui.change_progress(&format!(
            "{}: applying {n} change{}",
            plan.step,
            if n == 1 { "" } else { "s" }
        ));
        let result = step.apply(&plan.changes).await;
        progress.finish();
        result.with_context(|| {
            format!(
                "{}: apply failed (changes of this step may be partly applied; `webtier plan` shows what remains)",
                plan.step
            )
        })?;
        for change in &plan.changes {
            ui.info(&format!(
                "{}: {} {}",
                plan.step,
                past_tense(change.action),
                change.resource
            ))?;
            applied.push(Applied {
                step: plan.step,
                action: change.action,
                resource: change.resource.clone(),
            });
        }
    }
    Ok(())
}

fn past_tense(action: super::Action) -> &'static str {
    match action {
        super::Action::Create => "created",
        super::Action::Update => "updated",
        super::Action::Delete => "deleted",
    }
}
