//! `renewal-schedule`: the schedule step would change nothing: its files
//! (the systemd timer and service, or the cron entry, for this binary and
//! configuration) are in place with their content, and under systemd the
//! timer is enabled. `[acme] schedule = "none"` leaves renewal to the
//! user, and says so.

use super::Check;
use crate::config::{Config, Schedule};
use crate::plan::{Planned, Step};
use crate::steps::schedule::{Operation, ScheduleStep};

pub const NAME: &str = "renewal-schedule";

pub fn check(config: &Config) -> Check {
    if config.acme.schedule == Schedule::None {
        return Check::pass(
            NAME,
            "left to you ([acme] schedule = \"none\"): run `webtier cert renew` twice a day",
        );
    }
    let step = match ScheduleStep::new(config) {
        Ok(step) => step,
        Err(e) => return Check::fail(NAME, format!("{e:#}")),
    };
    match step.observe_now() {
        Ok(observed) => verdict(&step.diff(&observed), &step.paths()),
        Err(e) => Check::fail(NAME, format!("{e:#}")),
    }
}

/// Pure: installed when the step has nothing to change.
pub fn verdict(changes: &[Planned<Operation>], paths: &[&std::path::Path]) -> Check {
    if changes.is_empty() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Check::pass(
            NAME,
            format!(
                "installed ({}): `webtier cert renew` runs twice a day",
                paths.join(", ")
            ),
        );
    }
    let missing: Vec<&str> = changes.iter().map(|c| c.resource.as_str()).collect();
    Check::fail(
        NAME,
        format!(
            "not installed: {} — `webtier apply schedule` installs it",
            missing.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::plan::Action;

    #[test]
    fn installed_means_the_step_has_nothing_to_change() {
        let cron = Path::new("/etc/cron.d/webtier");
        let c = verdict(&[], &[cron]);
        assert!(c.ok, "{}", c.detail);
        assert_eq!(
            c.detail,
            "installed (/etc/cron.d/webtier): `webtier cert renew` runs twice a day"
        );
        let missing = Planned {
            action: Action::Create,
            resource: "file /etc/cron.d/webtier".into(),
            detail: String::new(),
            operation: Operation::Install {
                path: PathBuf::from(cron),
                content: "x\n".into(),
            },
        };
        let c = verdict(&[missing], &[cron]);
        assert!(!c.ok);
        assert_eq!(
            c.detail,
            "not installed: file /etc/cron.d/webtier — `webtier apply schedule` installs it"
        );
    }
}
