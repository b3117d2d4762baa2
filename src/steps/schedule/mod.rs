//! `schedule`: what runs `webtier cert renew` twice a day, so that nobody
//! has to remember renewal. A systemd timer (and its service) when the
//! host runs systemd, else a cron entry; rendered by `files`, the same
//! files `webtier cert schedule` installs.
//!
//! Desired: the files with their rendered content (and, under systemd,
//! the timer enabled). Observed: the files on disk and the timer's state.
//! Changes: write a file atomically (0644); enable and start the timer.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Schedule};
use crate::plan::{Action, Planned, Step, StepName};
use files as render;

pub mod files;

const TIMER: &str = "webtier-renew.timer";

pub struct ScheduleStep {
    systemd: bool,
    files: Vec<(PathBuf, String)>,
    /// `webtier destroy`: webtier's files go and the timer is disabled.
    destroy: bool,
}

/// The first line of every file webtier installs here: a file at one of
/// these paths without it is not webtier's, and destroy leaves it.
const MARK: &str = "# Installed by webtier";

#[derive(Debug, Serialize)]
pub struct Observed {
    /// Each file's content on disk; None when absent.
    pub files: Vec<(PathBuf, Option<String>)>,
    /// systemd: whether the timer is enabled.
    pub timer_enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    Install {
        path: PathBuf,
        content: String,
    },
    EnableTimer,
    /// `webtier destroy`.
    DisableTimer,
    /// `webtier destroy`.
    Remove {
        path: PathBuf,
    },
}

impl ScheduleStep {
    pub fn new(config: &Config) -> Result<ScheduleStep> {
        let root = rustix::process::geteuid().is_root();
        let systemd = match config.acme.schedule {
            Schedule::Systemd if !(render::systemd_running() && root) => bail!(
                "[acme] schedule = \"systemd\", but this host does not run systemd or webtier does not run as root; use \"cron\" or \"auto\""
            ),
            Schedule::Systemd => true,
            Schedule::Cron => false,
            Schedule::Auto => render::systemd_running() && root,
            Schedule::None => bail!("[acme] schedule = \"none\": the schedule step is left out"),
        };
        let binary = std::env::current_exe().context("cannot tell which binary runs")?;
        let files = render::files(systemd, &binary, &config.source, &render::host_name())?
            .into_iter()
            .map(|f| (Path::new("/").join(f.path), f.content))
            .collect();
        Ok(ScheduleStep {
            systemd,
            files,
            destroy: false,
        })
    }

    /// The files and the timer as they are now.
    pub fn observe_now(&self) -> Result<Observed> {
        let mut files = Vec::new();
        for (path, _) in &self.files {
            let content = match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            files.push((path.clone(), content));
        }
        let timer_enabled = self.systemd.then(|| {
            std::process::Command::new("systemctl")
                .args(["is-enabled", "--quiet", TIMER])
                .status()
                .is_ok_and(|s| s.success())
        });
        Ok(Observed {
            files,
            timer_enabled,
        })
    }

    /// The files this step installs.
    pub fn paths(&self) -> Vec<&Path> {
        self.files.iter().map(|(p, _)| p.as_path()).collect()
    }

    /// The step of `webtier destroy`: it looks at the files of both
    /// schedulers, whatever `[acme] schedule` says now, and removes those
    /// webtier wrote.
    pub fn destroying(config: &Config) -> Result<ScheduleStep> {
        let binary = std::env::current_exe().context("cannot tell which binary runs")?;
        let host = render::host_name();
        let mut files = Vec::new();
        for systemd in [true, false] {
            files.extend(
                render::files(systemd, &binary, &config.source, &host)?
                    .into_iter()
                    .map(|f| (Path::new("/").join(f.path), f.content)),
            );
        }
        Ok(ScheduleStep {
            systemd: render::systemd_running(),
            files,
            destroy: true,
        })
    }
}

impl Step for ScheduleStep {
    type Observed = Observed;
    type Operation = Operation;

    fn name(&self) -> StepName {
        StepName::Schedule
    }

    async fn observe(&self) -> Result<Observed> {
        self.observe_now()
    }

    fn check_apply(&self) -> Result<()> {
        self.files
            .iter()
            .try_for_each(|(path, _)| crate::fsutil::check_writable(path))
    }

    fn diff(&self, observed: &Observed) -> Vec<Planned<Operation>> {
        if self.destroy {
            return teardown(observed);
        }
        diff(&self.files, observed)
    }

    async fn apply(&self, op: &Operation) -> Result<()> {
        match op {
            Operation::Install { path, content } => {
                // A saved plan writes only the files this configuration names.
                if !self.files.iter().any(|(p, _)| p == path) {
                    bail!(
                        "the plan installs {}, which this configuration's schedule does not name — make a new plan",
                        path.display()
                    );
                }
                crate::fsutil::atomic_write_with_mode(path, content.as_bytes(), 0o644)
                    .with_context(|| {
                        format!(
                            "cannot install {} — run as root, or set [acme] schedule = \"none\" and run `webtier cert renew` from a scheduler of your own",
                            path.display()
                        )
                    })
            }
            Operation::EnableTimer => {
                crate::launch::systemd::systemctl(&["daemon-reload"])?;
                crate::launch::systemd::systemctl(&["enable", "--now", TIMER])
            }
            Operation::DisableTimer => {
                crate::launch::systemd::systemctl(&["disable", "--now", TIMER])
            }
            Operation::Remove { path } => {
                if !self.files.iter().any(|(p, _)| p == path) {
                    bail!(
                        "the plan removes {}, which this configuration's schedule does not name — make a new plan",
                        path.display()
                    );
                }
                match std::fs::remove_file(path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(e).with_context(|| format!("cannot remove {}", path.display()))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Pure: the writes that make the files hold their content, then the
/// timer's enabling when systemd runs it and it is not enabled (or a
/// file changed, so that systemd reads it again).
fn diff(files: &[(PathBuf, String)], observed: &Observed) -> Vec<Planned<Operation>> {
    let mut out = Vec::new();
    for (path, content) in files {
        let current = observed
            .files
            .iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, c)| c.as_deref());
        if let Some((action, resource, detail)) =
            crate::plan::render::file_change(path, content, current.map(str::as_bytes))
        {
            out.push(Planned {
                action,
                resource,
                detail,
                operation: Operation::Install {
                    path: path.clone(),
                    content: content.clone(),
                },
            });
        }
    }
    if let Some(enabled) = observed.timer_enabled
        && (!enabled || !out.is_empty())
    {
        out.push(Planned {
            action: if enabled {
                Action::Update
            } else {
                Action::Create
            },
            resource: format!("systemd timer {TIMER}"),
            detail: "systemctl daemon-reload; systemctl enable --now".into(),
            operation: Operation::EnableTimer,
        });
    }
    out
}

/// Pure: the timer disabled, then webtier's own files removed (a file at
/// one of the paths that webtier did not write is left).
fn teardown(observed: &Observed) -> Vec<Planned<Operation>> {
    let mut out = Vec::new();
    if observed.timer_enabled == Some(true) {
        out.push(Planned {
            action: Action::Delete,
            resource: format!("systemd timer {TIMER}"),
            detail: "systemctl disable --now".into(),
            operation: Operation::DisableTimer,
        });
    }
    for (path, content) in &observed.files {
        if content.as_deref().is_some_and(|c| c.starts_with(MARK)) {
            out.push(Planned {
                action: Action::Delete,
                resource: format!("file {}", path.display()),
                detail: String::new(),
                operation: Operation::Remove { path: path.clone() },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(PathBuf, String)> {
        vec![(
            PathBuf::from("/etc/cron.d/webtier"),
            "0 1,13 * * * root w\n".into(),
        )]
    }

    #[test]
    fn a_missing_entry_is_installed_and_a_current_one_left_alone() {
        let missing = Observed {
            files: vec![(PathBuf::from("/etc/cron.d/webtier"), None)],
            timer_enabled: None,
        };
        let plan = diff(&files(), &missing);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].action, Action::Create);
        assert_eq!(plan[0].resource, "file /etc/cron.d/webtier");
        let current = Observed {
            files: vec![(
                PathBuf::from("/etc/cron.d/webtier"),
                Some("0 1,13 * * * root w\n".into()),
            )],
            timer_enabled: None,
        };
        assert!(diff(&files(), &current).is_empty());
    }

    #[test]
    fn destroy_removes_only_files_webtier_wrote() {
        let observed = Observed {
            files: vec![
                (
                    PathBuf::from("/etc/cron.d/webtier"),
                    Some(format!("{MARK} (the schedule step)\n0 1 * * * root w\n")),
                ),
                (
                    PathBuf::from("/etc/systemd/system/x"),
                    Some("mine\n".into()),
                ),
                (PathBuf::from("/etc/systemd/system/y"), None),
            ],
            timer_enabled: Some(true),
        };
        let plan = teardown(&observed);
        let ops: Vec<&Operation> = plan.iter().map(|p| &p.operation).collect();
        assert!(
            matches!(ops[..], [Operation::DisableTimer, Operation::Remove { path }] if path == Path::new("/etc/cron.d/webtier")),
            "{ops:?}"
        );
        // Every template starts with the mark.
        for f in render::files(false, Path::new("/w"), Path::new("/c"), "h")
            .unwrap()
            .into_iter()
            .chain(render::files(true, Path::new("/w"), Path::new("/c"), "h").unwrap())
        {
            assert!(f.content.starts_with(MARK), "{}", f.path.display());
        }
    }

    #[test]
    fn systemd_enables_the_timer_when_it_is_off_or_its_files_changed() {
        let timer = vec![(PathBuf::from("/t"), "x\n".into())];
        let off = Observed {
            files: vec![(PathBuf::from("/t"), Some("x\n".into()))],
            timer_enabled: Some(false),
        };
        let plan = diff(&timer, &off);
        assert!(matches!(
            plan[..],
            [Planned {
                operation: Operation::EnableTimer,
                ..
            }]
        ));
        let on_but_changed = Observed {
            files: vec![(PathBuf::from("/t"), Some("old\n".into()))],
            timer_enabled: Some(true),
        };
        let plan = diff(&timer, &on_but_changed);
        assert_eq!(plan.len(), 2);
        assert!(matches!(plan[1].operation, Operation::EnableTimer));
        let on = Observed {
            files: vec![(PathBuf::from("/t"), Some("x\n".into()))],
            timer_enabled: Some(true),
        };
        assert!(diff(&timer, &on).is_empty());
    }
}
