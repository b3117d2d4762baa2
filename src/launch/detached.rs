//! The proxy as a detached process, where there is no systemd (containers,
//! CI, a shell): `proxy start` runs `webtier proxy run --detached`, which
//! starts a new session (no terminal can hang it up), with standard input
//! from /dev/null and standard output and error appended to `proxy.log`
//! next to the pid file. The daemon writes its own pid and status files;
//! `start` returns once the status file names the new process (its sockets
//! are listening), or fails with the end of the log when it exits first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::proxy::config::ProxyConfig;
use crate::proxy::daemon::control::{self, Reload, Signal};
use crate::proxy::daemon::status::{self, Status};

/// The environment a detached daemon keeps.
const KEPT_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ", "RUST_LOG", "RUST_BACKTRACE"];

/// How long a start may take before it is called failed.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a proxy keeps its files, from its configuration.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config: PathBuf,
    pub pid_file: PathBuf,
    pub status_file: PathBuf,
    pub log_file: PathBuf,
}

impl Paths {
    pub fn of(config_path: &Path, config: &ProxyConfig) -> Result<Paths> {
        let need = |key: &str| {
            anyhow!(
                "{} sets no {key}, so a detached proxy cannot be found; set it (the proxy-config step does)",
                config_path.display()
            )
        };
        let pid_file = config.pid_file.clone().ok_or_else(|| need("pid_file"))?;
        let status_file = config
            .status_file
            .clone()
            .ok_or_else(|| need("status_file"))?;
        Ok(Paths {
            config: config_path.to_path_buf(),
            log_file: pid_file.with_file_name("proxy.log"),
            pid_file,
            status_file,
        })
    }
}

/// The running proxy and what it serves, if it runs.
pub fn running(paths: &Paths) -> Result<Option<(i32, Option<Status>)>> {
    match control::find_running(&paths.pid_file)? {
        Reload::Signalled(pid) => {
            let status = status::read(&paths.status_file)?.filter(|s| s.pid as i32 == pid);
            Ok(Some((pid, status)))
        }
        Reload::NotRunning => Ok(None),
        // A pid file left by a proxy that is gone (a crash, a reboot): its
        // pid now names another process, which is left alone; a start
        // writes a new file.
        Reload::NotOurs(why) => {
            tracing::warn!("{why}");
            Ok(None)
        }
    }
}

/// Starts `exe proxy run --file CONFIG --detached` and waits until it
/// serves.
pub fn start(exe: &Path, paths: &Paths) -> Result<Status> {
    if let Some((pid, _)) = running(paths)? {
        bail!("the proxy already runs (pid {pid}); `webtier proxy stop` stops it");
    }
    let log = open_log(&paths.log_file)?;
    let offset = log.metadata().map_or(0, |m| m.len());
    // The daemon faces the network: it gets none of the caller's
    // environment (cloud credentials, a service manager's socket) but
    // what a program needs and what sets its log level.
    let mut command = std::process::Command::new(exe);
    command.env_clear();
    for (key, value) in std::env::vars_os() {
        if KEPT_ENV.iter().any(|k| key == *k) {
            command.env(key, value);
        }
    }
    let mut child = command
        .args(["proxy", "run", "--detached", "--file"])
        .arg(&paths.config)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let pid = child.id();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(exit) = child.try_wait()? {
            bail!(
                "the proxy exited ({exit}) before it was serving: {}",
                log_since(&paths.log_file, offset)
            );
        }
        if let Some(status) = status::read(&paths.status_file)?
            && status.pid == pid
        {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "the proxy was not serving after {START_TIMEOUT:?}, so it was stopped: {}",
                log_since(&paths.log_file, offset)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to the running proxy, then waits until it has drained and
/// exited. `None` when none was running.
pub fn stop(paths: &Paths, drain: Duration) -> Result<Option<i32>> {
    let pid = match control::signal_running(&paths.pid_file, Some(Signal::TERM))? {
        Reload::Signalled(pid) => pid,
        Reload::NotRunning => return Ok(None),
        Reload::NotOurs(why) => bail!(why),
    };
    let limit = drain + Duration::from_secs(10);
    wait_gone(pid, limit).with_context(|| {
        format!("the proxy (pid {pid}) was still running {limit:?} after SIGTERM")
    })?;
    Ok(Some(pid))
}

/// Waits until process `pid` has exited: its pidfd becomes readable
/// when it does (a zombie counts as exited).
pub fn wait_gone(pid: i32, limit: Duration) -> Result<()> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::process::{Pid, PidfdFlags, pidfd_open};
    let Some(pid) = Pid::from_raw(pid) else {
        return Ok(());
    };
    let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Ok(()),
        Err(e) => bail!("cannot watch pid {}: {e}", pid.as_raw_nonzero()),
    };
    let timeout = Timespec {
        tv_sec: limit.as_secs() as i64,
        tv_nsec: i64::from(limit.subsec_nanos()),
    };
    let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) => bail!("timed out"),
        Ok(_) => Ok(()),
        Err(e) => bail!("cannot watch pid {}: {e}", pid.as_raw_nonzero()),
    }
}

/// The log, opened for appending by webtier (possibly root) in a
/// directory the proxy's user owns: a symlink planted there is refused,
/// not followed, and so is anything but a regular file.
fn open_log(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NOCTTY).bits() as i32)
        .open(path)
        .with_context(|| {
            format!(
                "cannot open the proxy log {} (a symlink there is refused: remove it)",
                path.display()
            )
        })?;
    if !file.metadata()?.is_file() {
        bail!("{} is not a regular file: remove it", path.display());
    }
    Ok(file)
}

/// The last lines the proxy logged after `offset`, on one line.
fn log_since(path: &Path, offset: u64) -> String {
    use std::io::{Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return format!("see {}", path.display());
    };
    let _ = file.seek(SeekFrom::Start(offset));
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    if let Some(cause) = cause(&lines) {
        return format!("{cause} (the whole log: {})", path.display());
    }
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    if tail.is_empty() {
        format!("nothing was logged in {}", path.display())
    } else {
        tail
    }
}

/// Pure: the error the proxy ended with (its last `error:` line), which
/// is the cause of a failed start; the lines before it are context.
fn cause(lines: &[String]) -> Option<&str> {
    lines
        .iter()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("error: "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_start_is_told_by_the_error_it_ended_with() {
        let lines: Vec<String> = [
            " WARN site a.test refused: certificate missing",
            "error: cannot listen on 0.0.0.0:80: Address already in use (os error 98) — another program holds the port",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            cause(&lines),
            Some(
                "cannot listen on 0.0.0.0:80: Address already in use (os error 98) — another program holds the port"
            )
        );
        assert_eq!(cause(&lines[..1]), None);
    }
}
