//! `proxy`: the bundled proxy daemon, running the configuration that
//! `proxy-config` renders. Under systemd when this host has it and webtier
//! runs as root (the `webtier-proxy.service` unit), else as a detached
//! process (`webtier proxy start`). The plan says which.
//!
//! Desired: the daemon runs the rendered configuration (by SHA-256), the
//! certificates on disk, and the binary at its path; as root, it serves as
//! the proxy user, whose group may read the private keys.
//!
//! Observed: the proxy user, the run directory, the unit (systemd), the
//! running daemon's status file (pid, configuration digest, certificate
//! files as loaded) and whether the file at its binary's path is still
//! the file it runs.
//!
//! Changes, in order: create the user; create the run directory; let the
//! group read the keys; install the unit; then one of start / reload (the
//! configuration or certificates changed) / restart (the binary was
//! replaced, or a setting that only a restart applies changed). A restart
//! hands the listening sockets to the new process (`daemon::handover`), so
//! no connection is refused.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Launch};
use crate::launch::detached::{self, Paths};
use crate::launch::systemd;
use crate::plan::{Action, Planned, Step, StepName};
use crate::proxy::config::{ProxyConfig, restart_only_changes};
use crate::proxy::daemon::control::{self, Reload, Signal};
use crate::proxy::daemon::status::{self, Status};

const RUN_DIR: &str = "pid, status and log files of the proxy";

/// How long a reload or a restart may take to show in the status file.
const SETTLE: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Systemd,
    Detached,
}

pub struct ProxyStep {
    mode: Mode,
    /// webtier runs as root: it creates the user and hands files to it.
    root: bool,
    user: String,
    rendered: ProxyConfig,
    rendered_sha: String,
    paths: Paths,
    run_dir: PathBuf,
    /// The binary a start runs (this webtier).
    binary: PathBuf,
    /// systemd mode: the unit file's text.
    unit: Option<String>,
    /// The certificate files that the cert step issues (after this step,
    /// in apply order).
    issued_later: Vec<PathBuf>,
    /// `webtier destroy`: the daemon stops and its unit goes.
    destroy: bool,
}

impl ProxyStep {
    pub fn new(config: &Config) -> Result<ProxyStep> {
        let text = crate::config::proxy_file::render(config);
        let rendered = ProxyConfig::from_toml(&text)
            .map_err(|e| anyhow!("the rendered proxy configuration does not parse back: {e}"))?;
        let paths = Paths::of(&config.proxy.config_file, &rendered)?;
        let binary = std::env::current_exe().context("cannot tell which binary runs")?;
        let mode = match config.proxy.launch {
            Launch::Systemd if !systemd::available() => bail!(
                "[proxy] launch = \"systemd\", but this host does not run systemd or webtier does not run as root; use launch = \"detached\" or \"auto\""
            ),
            Launch::Systemd => Mode::Systemd,
            Launch::Detached => Mode::Detached,
            Launch::Auto if systemd::available() => Mode::Systemd,
            Launch::Auto => Mode::Detached,
            Launch::None => bail!("[proxy] launch = \"none\": the proxy step is left out"),
        };
        let run_dir = config.proxy_run_dir();
        let unit = match mode {
            Mode::Systemd => {
                let mut writable = vec![run_dir.clone()];
                if let Some(log) = &rendered.access_log
                    && let Some(dir) = log.path.parent()
                    && log.path != Path::new("-")
                {
                    writable.push(dir.to_path_buf());
                }
                Some(
                    systemd::Unit {
                        binary: binary.clone(),
                        config: config.proxy.config_file.clone(),
                        user: config.proxy.user.clone(),
                        group: primary_group(&config.proxy.user),
                        writable,
                        stop_timeout_s: rendered.timeouts.drain_ms / 1000 + 10,
                        nofile: 65536,
                    }
                    .render()?,
                )
            }
            Mode::Detached => None,
        };
        Ok(ProxyStep {
            mode,
            root: rustix::process::geteuid().is_root(),
            user: config.proxy.user.clone(),
            rendered_sha: status::digest(text.as_bytes()),
            rendered,
            paths,
            run_dir,
            binary,
            unit,
            issued_later: config
                .sites
                .iter()
                .filter(|s| s.tls_on_instance())
                .map(|s| {
                    crate::certstore::Store::new(&config.state_dir)
                        .live_files(&s.domain)
                        .fullchain
                })
                .collect(),
            destroy: false,
        })
    }

    /// The step that stops the daemon and removes its unit (`webtier
    /// destroy`). The proxy user and its directories are left.
    pub fn destroying(self) -> ProxyStep {
        ProxyStep {
            destroy: true,
            ..self
        }
    }

    /// Pure: the stop of a running daemon, then the removal of its unit.
    fn teardown(&self, o: &Observed) -> Vec<Planned<Operation>> {
        let mut out = Vec::new();
        if let Some(r) = &o.running {
            out.push(Planned {
                action: Action::Delete,
                resource: format!("proxy daemon (pid {}, {})", r.pid, mode_name(self.mode)),
                detail: "stop: in-flight requests drain, then it exits".into(),
                operation: Operation::Stop {
                    mode: self.mode,
                    pid: r.pid,
                },
            });
        }
        if o.unit.as_ref().is_some_and(|u| u.file.is_some()) {
            out.push(Planned {
                action: Action::Delete,
                resource: format!("systemd unit {}", systemd::UNIT),
                detail: format!("disabled and removed: {}", systemd::unit_path().display()),
                operation: Operation::RemoveUnit,
            });
        }
        out
    }

    /// Sites whose certificate the cert step has not issued yet, by first
    /// name: the proxy refuses them alone until it has (they are not
    /// problems of the configuration), and serves them once the cert step
    /// installs the certificate and reloads it.
    fn pending(&self) -> Vec<String> {
        self.rendered
            .sites
            .iter()
            .filter(|s| {
                s.tls
                    .as_ref()
                    .is_some_and(|tls| self.issued_later.contains(&tls.cert) && !tls.cert.exists())
            })
            .filter_map(|s| s.names.first().cloned())
            .collect()
    }

    /// The directories the daemon writes, each with what for: its run
    /// directory and the access log's.
    fn writable_dirs(&self) -> Vec<(PathBuf, &'static str)> {
        let mut dirs = vec![(
            self.run_dir.clone(),
            "pid, status and log files of the proxy",
        )];
        if let Some(log) = &self.rendered.access_log
            && log.path != Path::new("-")
            && let Some(dir) = log.path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            dirs.push((dir.to_path_buf(), "the access log"));
        }
        dirs
    }

    /// Private keys of the rendered TLS sites.
    fn key_files(&self) -> Vec<PathBuf> {
        self.rendered
            .sites
            .iter()
            .filter_map(|s| s.tls.as_ref().map(|t| t.key.clone()))
            .collect()
    }
}

/// What the step sees.
#[derive(Debug, Serialize)]
pub struct Observed {
    pub mode: Mode,
    /// As root: the proxy user's uid and gid, when it exists.
    pub user: Option<Option<(u32, u32)>>,
    /// The owner uid of each directory the daemon writes, when it exists.
    pub dir_owners: Vec<Option<u32>>,
    /// Private keys with their group and mode (as root).
    pub keys: Vec<KeyAccess>,
    pub unit: Option<systemd::Observed>,
    pub running: Option<Running>,
    /// What `webtier proxy validate` finds in the rendered configuration
    /// (a refused site is served nothing; the others are served).
    pub problems: Vec<String>,
    /// Sites waiting for the cert step to issue their certificate.
    pub pending: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAccess {
    pub path: PathBuf,
    pub gid: u32,
    pub mode: u32,
}

#[derive(Debug, Serialize)]
pub struct Running {
    pub pid: i32,
    pub config_sha256: String,
    /// The configuration it runs, when the file on disk is still that one.
    pub loaded: Option<ProxyConfig>,
    /// Certificate or key files changed since it loaded them.
    pub certificates_changed: Vec<PathBuf>,
    /// The file at its binary's path is not the file it runs (an upgrade).
    pub binary_replaced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    CreateUser {
        name: String,
    },
    /// A directory the daemon writes, mode 0750.
    Directory {
        path: PathBuf,
        /// The owner, as root.
        user: Option<String>,
    },
    /// Root-owned, readable by the proxy user's group (0640).
    KeyAccess {
        path: PathBuf,
        user: String,
    },
    InstallUnit {
        content: String,
    },
    Start {
        mode: Mode,
    },
    Reload {
        mode: Mode,
        config_sha256: String,
    },
    Restart {
        mode: Mode,
        from_pid: i32,
    },
    /// Stop, then start: for what a handover cannot do.
    Replace {
        mode: Mode,
        from_pid: i32,
    },
    /// `webtier destroy`: stop the daemon.
    Stop {
        mode: Mode,
        pid: i32,
    },
    /// `webtier destroy`: disable and remove the unit.
    RemoveUnit,
}

impl Step for ProxyStep {
    type Observed = Observed;
    type Operation = Operation;

    fn name(&self) -> StepName {
        StepName::Proxy
    }

    async fn observe(&self) -> Result<Observed> {
        let user = if self.root {
            Some(
                nix::unistd::User::from_name(&self.user)
                    .with_context(|| format!("cannot look up user {}", self.user))?
                    .map(|u| (u.uid.as_raw(), u.gid.as_raw())),
            )
        } else {
            None
        };
        let keys = if self.root {
            self.key_files()
                .into_iter()
                .filter_map(|path| {
                    let meta = std::fs::metadata(&path).ok()?;
                    Some(KeyAccess {
                        path,
                        gid: meta.gid(),
                        mode: meta.mode() & 0o7777,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let unit = match self.mode {
            Mode::Systemd => Some(systemd::observe()?),
            Mode::Detached => None,
        };
        let running = match detached::running(&self.paths)? {
            Some((pid, Some(status))) => Some(running(pid, &status, &self.paths.config)),
            Some((pid, None)) => bail!(
                "the proxy (pid {pid}) runs but {} does not describe it; it was started by an older webtier or by hand — stop it (`webtier proxy stop`) and apply again",
                self.paths.status_file.display()
            ),
            None => None,
        };
        let pending = self.pending();
        let mut checked = self.rendered.clone();
        checked
            .sites
            .retain(|s| s.names.first().is_none_or(|n| !pending.contains(n)));
        let report = crate::proxy::validate::validate_config(&checked, false);
        let problems = report.errors.into_iter().chain(report.warnings).collect();
        Ok(Observed {
            problems,
            pending,
            mode: self.mode,
            user,
            dir_owners: self
                .writable_dirs()
                .iter()
                .map(|(dir, _)| std::fs::metadata(dir).ok().map(|m| m.uid()))
                .collect(),
            keys,
            unit,
            running,
        })
    }

    fn diff(&self, o: &Observed) -> Vec<Planned<Operation>> {
        if self.destroy {
            return self.teardown(o);
        }
        let mut out = Vec::new();
        let change = |action, resource: String, detail: String, operation| Planned {
            action,
            resource,
            detail,
            operation,
        };
        if o.user == Some(None) {
            out.push(change(
                Action::Create,
                format!("user {}", self.user),
                "a system user with its own group, no home and no shell; the proxy serves as it"
                    .into(),
                Operation::CreateUser {
                    name: self.user.clone(),
                },
            ));
        }
        let owner = o.user.flatten().map(|(uid, _)| uid);
        let wanted_owner = if self.root { owner } else { None };
        for ((dir, what), now) in self.writable_dirs().into_iter().zip(&o.dir_owners) {
            let ok = match (now, wanted_owner, o.user) {
                (None, _, _) => false,
                (Some(_), _, _) if what != RUN_DIR => true,
                (Some(_), _, Some(None)) => false,
                (Some(now), Some(want), _) => *now == want,
                (Some(_), None, _) => true,
            };
            if ok {
                continue;
            }
            let owned = if self.root {
                format!(", owned by {}", self.user)
            } else {
                String::new()
            };
            out.push(change(
                if now.is_none() {
                    Action::Create
                } else {
                    Action::Update
                },
                format!("directory {}", dir.display()),
                format!("{what}{owned}"),
                Operation::Directory {
                    path: dir,
                    user: self.root.then(|| self.user.clone()),
                },
            ));
        }
        let group = o.user.flatten().map(|(_, gid)| gid);
        for key in &o.keys {
            if group != Some(key.gid) || key.mode != 0o640 {
                out.push(change(
                    Action::Update,
                    format!("key {}", key.path.display()),
                    format!(
                        "readable by group {} (0640), not by others; was mode {:04o}",
                        self.user, key.mode
                    ),
                    Operation::KeyAccess {
                        path: key.path.clone(),
                        user: self.user.clone(),
                    },
                ));
            }
        }
        let mut unit_changed = false;
        if let (Some(unit), Some(seen)) = (&self.unit, &o.unit)
            && seen.file.as_deref() != Some(unit.as_str())
        {
            unit_changed = seen.file.is_some();
            out.push(change(
                if seen.file.is_some() {
                    Action::Update
                } else {
                    Action::Create
                },
                format!("unit {}", systemd::unit_path().display()),
                crate::plan::render::unified_diff(
                    &systemd::unit_path().display().to_string(),
                    seen.file.as_deref().unwrap_or(""),
                    unit,
                ),
                Operation::InstallUnit {
                    content: unit.clone(),
                },
            ));
        }
        let mode = self.mode;
        let daemon = |pid: i32| format!("proxy daemon (pid {pid}, {})", mode_name(mode));
        match &o.running {
            None => out.push(change(
                Action::Create,
                format!("proxy daemon ({})", mode_name(mode)),
                format!(
                    "start: serves {}{}",
                    self.paths.config.display(),
                    waiting(&o.pending)
                ),
                Operation::Start { mode },
            )),
            Some(r) => {
                // A handover keeps every connection, but the new process
                // is started by the old one, as its user and without root:
                // what needs root or a new unit takes a stop and a start.
                let mut restart = Vec::new();
                let mut cold = Vec::new();
                if r.binary_replaced {
                    restart.push("the binary was replaced".to_string());
                }
                if unit_changed {
                    cold.push(
                        "the unit changed (systemd applies it to a process it starts)".to_string(),
                    );
                }
                if r.config_sha256 != self.rendered_sha {
                    match &r.loaded {
                        Some(old) => {
                            for setting in restart_only_changes(old, &self.rendered) {
                                let needs_root = setting == "user"
                                    || (setting == "http_listen/https_listen"
                                        && self.root
                                        && mode == Mode::Detached);
                                if needs_root {
                                    cold.push(format!(
                                        "{setting} changed (binding or changing user needs root)"
                                    ));
                                } else {
                                    restart.push(format!("{setting} changed"));
                                }
                            }
                        }
                        None => restart.push(
                            "the configuration it runs is no longer on disk to compare".into(),
                        ),
                    }
                }
                if !cold.is_empty() {
                    cold.extend(restart);
                    out.push(change(
                        Action::Update,
                        daemon(r.pid),
                        format!(
                            "stop and start (connections in flight are drained, new ones refused meanwhile): {}",
                            cold.join("; ")
                        ),
                        Operation::Replace {
                            mode,
                            from_pid: r.pid,
                        },
                    ));
                } else if !restart.is_empty() {
                    out.push(change(
                        Action::Update,
                        daemon(r.pid),
                        format!(
                            "restart without downtime (the new process takes the sockets over): {}",
                            restart.join("; ")
                        ),
                        Operation::Restart {
                            mode,
                            from_pid: r.pid,
                        },
                    ));
                } else if r.config_sha256 != self.rendered_sha || !r.certificates_changed.is_empty()
                {
                    let mut why = Vec::new();
                    if r.config_sha256 != self.rendered_sha {
                        why.push("the configuration changed".to_string());
                    }
                    if !r.certificates_changed.is_empty() {
                        why.push(format!(
                            "certificates changed ({})",
                            r.certificates_changed
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    out.push(change(
                        Action::Update,
                        daemon(r.pid),
                        format!("reload: {}", why.join("; ")),
                        Operation::Reload {
                            mode,
                            config_sha256: self.rendered_sha.clone(),
                        },
                    ));
                }
            }
        }
        out
    }

    fn check_apply(&self) -> Result<()> {
        crate::fsutil::check_writable(&self.run_dir.join("proxy.pid"))
    }

    fn conflicts(&self, o: &Observed) -> Vec<crate::plan::Conflict> {
        if self.destroy {
            return Vec::new();
        }
        o.problems
            .iter()
            .map(|reason| crate::plan::Conflict {
                resource: format!("proxy file {}", self.paths.config.display()),
                reason: reason.clone(),
            })
            .collect()
    }

    async fn apply(&self, op: &Operation) -> Result<()> {
        match op {
            Operation::CreateUser { name } => create_user(name),
            Operation::Directory { path, user } => directory(path, user.as_deref()),
            Operation::KeyAccess { path, user } => key_access(path, user),
            Operation::InstallUnit { content } => {
                let path = systemd::unit_path();
                crate::fsutil::atomic_write_with_mode(&path, content.as_bytes(), 0o644)
                    .with_context(|| format!("cannot install {}", path.display()))?;
                systemd::systemctl(&["daemon-reload"])?;
                systemd::systemctl(&["enable", systemd::UNIT])
            }
            Operation::Start { mode } => match mode {
                Mode::Systemd => systemd::systemctl(&["start", systemd::UNIT]),
                Mode::Detached => detached::start(&self.binary, &self.paths).map(|_| ()),
            },
            Operation::Reload {
                mode,
                config_sha256,
            } => self.reload(*mode, config_sha256),
            Operation::Restart { mode, from_pid } => self.restart(*mode, *from_pid),
            Operation::Replace { mode, from_pid } => self.replace(*mode, *from_pid),
            Operation::Stop { mode, pid } => self.stop(*mode, *pid),
            Operation::RemoveUnit => {
                systemd::systemctl(&["disable", systemd::UNIT])?;
                let path = systemd::unit_path();
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).with_context(|| format!("cannot remove {}", path.display()));
                    }
                    _ => {}
                }
                systemd::systemctl(&["daemon-reload"])
            }
        }
    }
}

impl ProxyStep {
    fn stop(&self, mode: Mode, pid: i32) -> Result<()> {
        match mode {
            Mode::Systemd => systemd::systemctl(&["stop", systemd::UNIT]),
            Mode::Detached => {
                let drain = Duration::from_millis(self.rendered.timeouts.drain_ms);
                match detached::stop(&self.paths, drain)? {
                    Some(stopped) if stopped != pid => bail!(
                        "the proxy's pid was {stopped}, not {pid} as planned; it is stopped all the same"
                    ),
                    _ => Ok(()),
                }
            }
        }
    }

    fn reload(&self, mode: Mode, want: &str) -> Result<()> {
        let on_disk = std::fs::read(&self.paths.config)
            .with_context(|| format!("cannot read {}", self.paths.config.display()))?;
        if status::digest(&on_disk) != want {
            bail!(
                "{} is not the configuration planned; apply the proxy-config step with this one (`webtier apply proxy-config proxy`)",
                self.paths.config.display()
            );
        }
        let before = status::read(&self.paths.status_file)?;
        match mode {
            Mode::Systemd => systemd::systemctl(&["reload", systemd::UNIT])?,
            Mode::Detached => match control::reload_running(&self.paths.pid_file)? {
                Reload::Signalled(_) => {}
                Reload::NotRunning => bail!("the proxy stopped before it could be reloaded"),
                Reload::NotOurs(why) => bail!(why),
            },
        }
        let before_loaded = before
            .as_ref()
            .map(|s| (s.loaded_at, s.reload_error.clone()));
        settle(&self.paths, "reload", |s| {
            if s.config_sha256 == want && s.reload_error.is_none() {
                return Some(Ok(()));
            }
            match &s.reload_error {
                Some(e) if before_loaded.as_ref().map(|b| &b.1) != Some(&s.reload_error) => {
                    Some(Err(anyhow!("the proxy refused the reload: {e}")))
                }
                _ => None,
            }
        })
    }

    fn replace(&self, mode: Mode, from_pid: i32) -> Result<()> {
        match mode {
            Mode::Systemd => systemd::systemctl(&["restart", systemd::UNIT]),
            Mode::Detached => {
                let drain = Duration::from_millis(self.rendered.timeouts.drain_ms);
                match detached::stop(&self.paths, drain)? {
                    Some(pid) if pid != from_pid => bail!(
                        "the proxy's pid was {pid}, not {from_pid} as planned; it is stopped: apply again"
                    ),
                    _ => detached::start(&self.binary, &self.paths).map(|_| ()),
                }
            }
        }
    }

    fn restart(&self, mode: Mode, from_pid: i32) -> Result<()> {
        let before = status::read(&self.paths.status_file)?.and_then(|s| s.reload_error);
        match mode {
            Mode::Systemd => {
                systemd::systemctl(&["kill", "--kill-who=main", "--signal=SIGUSR2", systemd::UNIT])?
            }
            Mode::Detached => {
                match control::signal_running(&self.paths.pid_file, Some(Signal::USR2))? {
                    Reload::Signalled(pid) if pid == from_pid => {}
                    Reload::Signalled(pid) => {
                        bail!("the proxy's pid is {pid} now, not {from_pid} as planned; plan again")
                    }
                    Reload::NotRunning => bail!("the proxy stopped before it could be restarted"),
                    Reload::NotOurs(why) => bail!(why),
                }
            }
        }
        settle(&self.paths, "restart", |s| {
            if s.pid as i32 != from_pid {
                return Some(Ok(()));
            }
            match &s.reload_error {
                Some(e) if Some(e) != before.as_ref() => Some(Err(anyhow!(
                    "the restart failed, the old proxy keeps serving: {e}"
                ))),
                _ => None,
            }
        })
    }
}

/// Waits for the status file to show what `done` looks for.
fn settle(
    paths: &Paths,
    what: &str,
    done: impl FnMut(&Status) -> Option<Result<()>>,
) -> Result<()> {
    status::wait_for(&paths.status_file, what, &paths.log_file, SETTLE, done)
}

/// The plan's note on sites that wait for their certificate.
fn waiting(pending: &[String]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    format!(
        "\nserves {} over HTTPS once the cert step has issued {} certificate (until then it answers their ACME challenges over HTTP)",
        pending.join(", "),
        if pending.len() == 1 { "its" } else { "their" }
    )
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Systemd => "systemd unit webtier-proxy.service",
        Mode::Detached => "detached",
    }
}

/// What the step knows of the running daemon from its status file.
fn running(pid: i32, status: &Status, config_path: &Path) -> Running {
    let loaded = std::fs::read(config_path)
        .ok()
        .filter(|bytes| status::digest(bytes) == status.config_sha256)
        .and_then(|bytes| ProxyConfig::from_toml(&String::from_utf8_lossy(&bytes)).ok());
    Running {
        pid,
        config_sha256: status.config_sha256.clone(),
        loaded,
        certificates_changed: status
            .certificates
            .iter()
            .filter(|f| f.changed())
            .map(|f| f.path.clone())
            .collect(),
        binary_replaced: binary_replaced(pid, &status.exe),
    }
}

/// Whether the file at `exe` is another file than the one process `pid`
/// runs (same device and inode = same file).
fn binary_replaced(pid: i32, exe: &Path) -> bool {
    let running = std::fs::metadata(format!("/proc/{pid}/exe"));
    let on_disk = std::fs::metadata(exe);
    match (running, on_disk) {
        (Ok(r), Ok(d)) => (r.dev(), r.ino()) != (d.dev(), d.ino()),
        // Unreadable: assume it is unchanged rather than restart forever.
        _ => false,
    }
}

fn create_user(name: &str) -> Result<()> {
    if nix::unistd::User::from_name(name)?.is_some() {
        return Ok(());
    }
    let out = std::process::Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output()
        .context("cannot run useradd (Debian/Ubuntu package passwd)")?;
    if !out.status.success() {
        bail!(
            "useradd {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The user's primary group by name; before the step creates the user,
/// the group `useradd --user-group` will create, of the same name.
fn primary_group(user: &str) -> String {
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .and_then(|u| nix::unistd::Group::from_gid(u.gid).ok().flatten())
        .map_or_else(|| user.to_string(), |g| g.name)
}

fn lookup(user: &str) -> Result<nix::unistd::User> {
    nix::unistd::User::from_name(user)?
        .ok_or_else(|| anyhow!("user {user} does not exist; apply the proxy step to create it"))
}

fn directory(path: &Path, user: Option<&str>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    if let Some(user) = user {
        let u = lookup(user)?;
        std::os::unix::fs::chown(path, Some(u.uid.as_raw()), Some(u.gid.as_raw()))
            .with_context(|| format!("cannot give {} to {user}", path.display()))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

fn key_access(path: &Path, user: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let u = lookup(user)?;
    std::os::unix::fs::chown(path, Some(0), Some(u.gid.as_raw()))
        .with_context(|| format!("cannot give {} to group {user}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rendered: ProxyConfig, root: bool) -> ProxyStep {
        let text = rendered.to_toml();
        ProxyStep {
            mode: Mode::Detached,
            root,
            user: "webtier-proxy".into(),
            rendered_sha: status::digest(text.as_bytes()),
            paths: Paths::of(Path::new("/etc/webtier/proxy.toml"), &rendered).unwrap(),
            rendered,
            run_dir: "/var/lib/webtier/run".into(),
            binary: "/usr/local/bin/webtier".into(),
            unit: None,
            issued_later: Vec::new(),
            destroy: false,
        }
    }

    fn config(workers: usize, user: &str, port: u16) -> ProxyConfig {
        ProxyConfig {
            workers,
            user: Some(user.into()),
            http_listen: vec![([0, 0, 0, 0], port).into()],
            pid_file: Some("/var/lib/webtier/run/proxy.pid".into()),
            status_file: Some("/var/lib/webtier/run/proxy.status.json".into()),
            ..ProxyConfig::default()
        }
    }

    fn observed(running: Option<Running>) -> Observed {
        Observed {
            mode: Mode::Detached,
            user: Some(Some((999, 999))),
            dir_owners: vec![Some(999)],
            keys: Vec::new(),
            unit: None,
            running,
            problems: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn running(loaded: ProxyConfig, binary_replaced: bool) -> Running {
        Running {
            pid: 42,
            config_sha256: status::digest(loaded.to_toml().as_bytes()),
            loaded: Some(loaded),
            certificates_changed: Vec::new(),
            binary_replaced,
        }
    }

    fn ops(step: &ProxyStep, o: &Observed) -> Vec<String> {
        step.diff(o)
            .into_iter()
            .map(|p| {
                let op = serde_json::to_value(&p.operation).unwrap();
                op["op"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn a_site_whose_certificate_the_cert_step_issues_later_waits_and_is_no_problem() {
        use crate::proxy::config::{SiteConfig, TlsFiles};
        let dir = tempfile::tempdir().unwrap();
        let site = |name: &str, cert: PathBuf| SiteConfig {
            names: vec![name.into()],
            tls: Some(TlsFiles {
                key: cert.with_file_name("privkey.pem"),
                cert,
            }),
            routes: Vec::new(),
            auth: None,
            access: None,
            canonical_host: None,
            redirects: Vec::new(),
            rate_limit: None,
            cache: None,
            compress: None,
        };
        let issued = dir.path().join("live/a.test/fullchain.pem");
        let present = dir.path().join("live/b.test/fullchain.pem");
        std::fs::create_dir_all(present.parent().unwrap()).unwrap();
        std::fs::write(&present, "x").unwrap();
        let by_hand = dir.path().join("own/c.pem");
        let mut rendered = config(1, "webtier-proxy", 80);
        rendered.sites = vec![
            site("a.test", issued.clone()),
            site("b.test", present.clone()),
            site("c.test", by_hand),
        ];
        let mut step = step(rendered, false);
        step.issued_later = vec![issued, present];
        // a.test waits for the cert step; b.test has its certificate; a
        // missing certificate that webtier does not issue stays a problem.
        assert_eq!(step.pending(), vec!["a.test".to_string()]);
        let mut o = observed(None);
        o.pending = step.pending();
        let plan = step.diff(&o);
        let start = plan
            .iter()
            .find(|p| matches!(p.operation, Operation::Start { .. }))
            .unwrap();
        assert!(
            start
                .detail
                .contains("serves a.test over HTTPS once the cert step has issued its certificate"),
            "{}",
            start.detail
        );
    }

    #[test]
    fn the_plan_starts_reloads_restarts_or_replaces_as_the_change_needs() {
        let now = config(2, "webtier-proxy", 80);
        let root = step(now.clone(), true);
        assert_eq!(ops(&root, &observed(None)), ["start"]);
        assert!(ops(&root, &observed(Some(running(now.clone(), false)))).is_empty());
        // Another route: a reload.
        let mut routed = now.clone();
        routed.hsts_max_age = 1;
        assert_eq!(
            ops(
                &step(routed, true),
                &observed(Some(running(now.clone(), false)))
            ),
            ["reload"]
        );
        // A new binary, or more workers: a handover.
        assert_eq!(
            ops(&root, &observed(Some(running(now.clone(), true)))),
            ["restart"]
        );
        assert_eq!(
            ops(
                &step(config(4, "webtier-proxy", 80), true),
                &observed(Some(running(now.clone(), false)))
            ),
            ["restart"]
        );
        // Another user, or (as root, detached) other ports: only a new
        // start can do it.
        assert_eq!(
            ops(
                &step(config(2, "www", 80), true),
                &observed(Some(running(now.clone(), false)))
            ),
            ["replace"]
        );
        assert_eq!(
            ops(
                &step(config(2, "webtier-proxy", 81), true),
                &observed(Some(running(now.clone(), false)))
            ),
            ["replace"]
        );
        assert_eq!(
            ops(&step(config(2, "webtier-proxy", 8081), false), &{
                let mut o = observed(Some(running(config(2, "webtier-proxy", 8080), false)));
                o.user = None;
                o
            }),
            ["restart"],
            "not root: the new process binds as the old one did"
        );
        // As root, a missing user is created first.
        let mut fresh = observed(None);
        fresh.user = Some(None);
        assert_eq!(ops(&root, &fresh), ["create_user", "directory", "start"]);
        // An access log in a directory that is not there yet.
        let mut logged = now.clone();
        logged.access_log = Some(crate::proxy::config::AccessLog {
            path: "/var/log/webtier/access.log".into(),
            format: crate::proxy::config::LogFormat::Combined,
            query: crate::proxy::config::LogQuery::Masked,
        });
        let mut o = observed(None);
        o.dir_owners = vec![Some(999), None];
        let logging = step(logged, true);
        let step_with_log_in = |o: &Observed| logging.diff(o);
        let planned = step_with_log_in(&o);
        assert_eq!(planned[0].resource, "directory /var/log/webtier");
        assert_eq!(planned[0].detail, "the access log, owned by webtier-proxy");
        // An existing one (/var/log itself, say) is never given away.
        o.dir_owners = vec![Some(999), Some(0)];
        let planned = step_with_log_in(&o);
        assert!(
            planned.iter().all(|p| !p.resource.starts_with("directory")),
            "{:?}",
            planned.iter().map(|p| &p.resource).collect::<Vec<_>>()
        );
    }
}
