//! Saved plans: `plan --out FILE` writes one, `apply FILE` applies exactly
//! its changes, but only while the live state is still what was observed.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{FORMAT_VERSION, Plan, StepPlan};
use crate::fsutil::atomic_write_with_mode;
use crate::plan::StepName;

/// The live state changed since the plan was made (exit 4).
#[derive(Debug, thiserror::Error)]
#[error(
    "saved plan is stale: the live state of {step} changed since the plan was made — run `webtier plan --out FILE` again and review it"
)]
pub struct StalePlan {
    pub step: StepName,
}

/// Refuses a destination whose directory is missing: webtier often runs
/// as root, and a typo in `--out` must not create directories anywhere.
pub fn check_destination(path: &Path) -> Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.is_dir() {
        let what = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist — create it first"
        };
        bail!(
            "cannot save the plan to {}: directory {} {what}",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Writes the plan, readable only by its owner (plans hold the full new
/// content of files), into a directory that exists.
pub fn save(path: &Path, plan: &Plan) -> Result<()> {
    check_destination(path)?;
    let text = serde_json::to_string_pretty(plan)?;
    atomic_write_with_mode(path, format!("{text}\n").as_bytes(), 0o600)
        .with_context(|| format!("cannot save the plan to {}", path.display()))
}

pub fn load(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read plan file {}", path.display()))?;
    let head: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a webtier plan (not JSON) — make one with `webtier plan --out FILE`",
            path.display()
        )
    })?;
    match head.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => bail!(
            "{} is a plan of format version {v}; this webtier reads version {FORMAT_VERSION} — make a new plan",
            path.display()
        ),
        None => bail!(
            "{} is not a webtier plan (no format_version) — make one with `webtier plan --out FILE`",
            path.display()
        ),
    }
    let plan: Plan = serde_json::from_value(head)
        .with_context(|| format!("{} is not a valid webtier plan", path.display()))?;
    let ours = env!("CARGO_PKG_VERSION");
    if plan.webtier_version != ours {
        bail!(
            "{} was made by webtier {}; this is webtier {ours} — make a new plan with this version",
            path.display(),
            plan.webtier_version
        );
    }
    Ok(plan)
}

/// Refuses a saved plan whose observed state no longer matches.
pub fn check_fresh(saved: &Plan, current: &[StepPlan]) -> Result<(), StalePlan> {
    for old in &saved.steps {
        let fresh = current.iter().find(|c| c.step == old.step);
        if fresh.is_none_or(|c| c.fingerprint != old.fingerprint) {
            return Err(StalePlan { step: old.step });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change};

    fn step_plan(fingerprint: &str) -> StepPlan {
        StepPlan {
            step: StepName::ProxyConfig,
            fingerprint: fingerprint.into(),
            changes: vec![Change {
                action: Action::Create,
                resource: "file /x".into(),
                detail: String::new(),
                operation: serde_json::json!({"path": "/x"}),
            }],
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn round_trip_and_staleness() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let plan = Plan::new("/w.toml".into(), vec![step_plan("sha256:aa")]);
        save(&path, &plan).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded, plan);
        assert_eq!(loaded.summary.add, 1);
        assert!(check_fresh(&loaded, &[step_plan("sha256:aa")]).is_ok());
        let stale = check_fresh(&loaded, &[step_plan("sha256:bb")]).unwrap_err();
        assert_eq!(stale.step, StepName::ProxyConfig);
    }

    #[test]
    fn foreign_files_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "hello").unwrap();
        assert!(format!("{:#}", load(&path).unwrap_err()).contains("not JSON"));
        std::fs::write(&path, r#"{"format_version": 99}"#).unwrap();
        assert!(format!("{:#}", load(&path).unwrap_err()).contains("format version 99"));
    }
}
