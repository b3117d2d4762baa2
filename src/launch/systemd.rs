//! The proxy as a systemd service: `webtier-proxy.service`, rendered from
//! `templates/webtier-proxy.service`. The unit runs the daemon as its own
//! user with `CAP_NET_BIND_SERVICE` as its only capability and the file
//! system read-only except the run directory; `systemctl reload` sends
//! SIGHUP, and an upgrade sends SIGUSR2 to the main process, whose
//! successor reports itself with `MAINPID=` (`Type=notify`,
//! `NotifyAccess=all`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};

const TEMPLATE: &str = include_str!("../../templates/webtier-proxy.service");

pub const UNIT: &str = "webtier-proxy.service";

/// Where the unit is installed.
pub fn unit_path() -> PathBuf {
    PathBuf::from("/etc/systemd/system").join(UNIT)
}

/// systemd manages this host's services, and webtier may install units.
pub fn available() -> bool {
    Path::new("/run/systemd/system").is_dir() && rustix::process::geteuid().is_root()
}

/// What the unit is rendered from.
#[derive(Debug, Clone)]
pub struct Unit {
    pub binary: PathBuf,
    pub config: PathBuf,
    pub user: String,
    pub group: String,
    /// Writable by the service: pid, status and log files, the handover
    /// socket, and the access log's directory when there is one.
    pub writable: Vec<PathBuf>,
    pub stop_timeout_s: u64,
    pub nofile: u64,
}

impl Unit {
    pub fn render(&self) -> Result<String> {
        let mut env = Environment::new();
        env.add_template("unit", TEMPLATE)?;
        let writable: Vec<String> = self
            .writable
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let text = env.get_template("unit")?.render(context! {
            binary => self.binary.display().to_string(),
            config => self.config.display().to_string(),
            user => self.user,
            group => self.group,
            run_dir => writable.join(" "),
            stop_timeout_s => self.stop_timeout_s,
            nofile => self.nofile,
        })?;
        Ok(format!("{}\n", text.trim_end()))
    }
}

/// The unit as systemd sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// The installed unit file, if any.
    pub file: Option<String>,
    pub enabled: bool,
    pub active: bool,
    /// systemd's MainPID; `None` when it runs nothing.
    pub main_pid: Option<i32>,
}

pub fn observe() -> Result<Observed> {
    let file = match std::fs::read_to_string(unit_path()) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", unit_path().display())),
    };
    let show = systemctl_output(&["show", "--property=UnitFileState,ActiveState,MainPID", UNIT])?;
    let mut observed = Observed {
        file,
        ..Observed::default()
    };
    for line in show.lines() {
        match line.split_once('=') {
            Some(("UnitFileState", v)) => observed.enabled = v == "enabled",
            Some(("ActiveState", v)) => observed.active = v == "active" || v == "reloading",
            Some(("MainPID", v)) => observed.main_pid = v.parse().ok().filter(|p| *p > 0),
            _ => {}
        }
    }
    Ok(observed)
}

/// Runs `systemctl ARGS`; a failure is an error with what systemctl said.
pub fn systemctl(args: &[&str]) -> Result<()> {
    systemctl_output(args).map(|_| ())
}

fn systemctl_output(args: &[&str]) -> Result<String> {
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .context("cannot run systemctl")?;
    if !out.status.success() {
        bail!(
            "systemctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> Unit {
        Unit {
            binary: "/usr/local/bin/webtier".into(),
            config: "/etc/webtier/proxy.toml".into(),
            user: "webtier-proxy".into(),
            group: "webtier-proxy".into(),
            writable: vec!["/var/lib/webtier/run".into(), "/var/log/webtier".into()],
            stop_timeout_s: 40,
            nofile: 65536,
        }
    }

    #[test]
    fn the_unit_runs_the_proxy_as_its_user_with_one_capability() {
        let unit = unit().render().unwrap();
        for line in [
            "ExecStart=/usr/local/bin/webtier proxy run --file /etc/webtier/proxy.toml",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "Type=notify",
            "NotifyAccess=all",
            "User=webtier-proxy",
            "Group=webtier-proxy",
            "AmbientCapabilities=CAP_NET_BIND_SERVICE",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "ReadWritePaths=/var/lib/webtier/run /var/log/webtier",
            "Restart=on-failure",
            "LimitNOFILE=65536",
            "TimeoutStopSec=40",
            "WantedBy=multi-user.target",
        ] {
            assert!(
                unit.lines().any(|l| l == line),
                "missing {line:?} in\n{unit}"
            );
        }
    }

    /// systemd's own checker: every key known, every value valid, the
    /// program executable. (It reads the file only; it starts nothing.)
    #[test]
    fn systemd_analyze_verify_accepts_the_unit() {
        let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("systemd-analyze is missing: apt-get install -y systemd");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(UNIT);
        let unit = Unit {
            // An executable that exists, as verify checks it.
            binary: std::env::current_exe().unwrap(),
            ..unit()
        };
        std::fs::write(&path, unit.render().unwrap()).unwrap();
        let out = Command::new(analyze)
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.trim().is_empty(), "{said}");
    }
}
