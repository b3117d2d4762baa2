//! `renewal-schedule`: the files `webtier cert schedule` installs for this
//! binary and configuration are at their paths with that content, and
//! under systemd the timer is enabled. The scheduler expected is the one
//! `cert schedule` picks by default; the other one's files count too
//! (`cert schedule --with cron` on a systemd host).

use std::path::{Path, PathBuf};

use super::Check;
use crate::config::Config;
use crate::steps::schedule::files as schedule;

pub const NAME: &str = "renewal-schedule";

const TIMER: &str = "webtier-renew.timer";

pub fn check(config: &Config) -> Check {
    let binary = match std::env::current_exe() {
        Ok(b) => b,
        Err(e) => return Check::fail(NAME, format!("cannot tell which binary runs: {e}")),
    };
    let host = schedule::host_name();
    let systemd = schedule::systemd_running();
    // (verdict, whether any of its files is there) for one scheduler.
    let judge = |with_systemd: bool| -> (Check, bool) {
        let files = match schedule::files(with_systemd, &binary, &config.source, &host) {
            Ok(files) => files,
            Err(e) => {
                return (
                    Check::fail(NAME, format!("cannot render the schedule: {e:#}")),
                    true,
                );
            }
        };
        let expected: Vec<(PathBuf, String)> = files
            .into_iter()
            .map(|f| (Path::new("/").join(f.path), f.content))
            .collect();
        let found: Vec<Option<String>> = expected
            .iter()
            .map(|(path, _)| std::fs::read_to_string(path).ok())
            .collect();
        let timer = (with_systemd && systemd).then(timer_enabled);
        let any = found.iter().any(Option::is_some);
        (verdict(&expected, &found, timer), any)
    };
    let (default, found) = judge(systemd);
    if default.ok || found {
        return default;
    }
    match judge(!systemd) {
        (other, true) => other,
        // Neither is installed: say what the default one lacks.
        (_, false) => default,
    }
}

/// Whether systemd has the renewal timer enabled.
fn timer_enabled() -> bool {
    std::process::Command::new("systemctl")
        .args(["is-enabled", "--quiet", TIMER])
        .status()
        .is_ok_and(|s| s.success())
}

/// Pure: installed when every expected file is found with its content
/// (and the timer, when there is one to check, is enabled).
pub fn verdict(
    expected: &[(PathBuf, String)],
    found: &[Option<String>],
    timer: Option<bool>,
) -> Check {
    let paths = expected
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut problems = Vec::new();
    for ((path, content), found) in expected.iter().zip(found) {
        match found {
            None => problems.push(format!("{} is missing", path.display())),
            Some(text) if text != content => problems.push(format!(
                "{} differs from what this webtier installs (another binary or configuration path?)",
                path.display()
            )),
            Some(_) => {}
        }
    }
    if timer == Some(false) {
        problems.push(format!("{TIMER} is not enabled"));
    }
    if problems.is_empty() {
        let how = if timer.is_some() {
            format!("installed ({paths}), {TIMER} enabled")
        } else {
            format!("installed ({paths})")
        };
        Check::pass(
            NAME,
            format!("{how}: `webtier cert renew` runs twice a day"),
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "not installed: {} — `webtier cert schedule` installs it",
                problems.join("; ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_means_every_file_with_its_content_and_the_timer_enabled() {
        let expected = vec![
            (
                PathBuf::from("/etc/systemd/system/webtier-renew.service"),
                "s\n".to_string(),
            ),
            (
                PathBuf::from("/etc/systemd/system/webtier-renew.timer"),
                "t\n".to_string(),
            ),
        ];
        let all = vec![Some("s\n".to_string()), Some("t\n".to_string())];
        let c = verdict(&expected, &all, Some(true));
        assert!(c.ok, "{}", c.detail);
        assert!(
            c.detail.contains("webtier-renew.timer enabled"),
            "{}",
            c.detail
        );

        let c = verdict(&expected, &all, Some(false));
        assert!(!c.ok);
        assert!(
            c.detail.contains("webtier-renew.timer is not enabled"),
            "{}",
            c.detail
        );

        let c = verdict(
            &expected,
            &[Some("s\n".into()), Some("old\n".into())],
            Some(true),
        );
        assert!(!c.ok);
        assert!(
            c.detail.contains("webtier-renew.timer differs"),
            "{}",
            c.detail
        );

        let cron = vec![(
            PathBuf::from("/etc/cron.d/webtier"),
            "0 1 * * *\n".to_string(),
        )];
        let c = verdict(&cron, &[None], None);
        assert!(!c.ok);
        assert_eq!(
            c.detail,
            "not installed: /etc/cron.d/webtier is missing — `webtier cert schedule` installs it"
        );
    }
}
