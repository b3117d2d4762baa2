//! Talking to a running proxy the way an operator would: its pid file and
//! a signal.
//!
//! The pid file says which process is the proxy, and who that is:
//!
//! ```text
//! 12345
//! start_time=8812345
//! boot_id=5f0c3d1e-6a7b-4c2d-9e8f-0a1b2c3d4e5f
//! exe=/usr/local/bin/webtier
//! ```
//!
//! The first line is the bare pid, so `kill -HUP $(head -n1 FILE)` and
//! tools that read only a number keep working; the `key=value` lines after
//! it are the process's start time (field 22 of `/proc/PID/stat`, clock
//! ticks since boot), the kernel's boot id and the binary it runs.
//!
//! After a crash or a reboot the pid can belong to any other process, and
//! SIGHUP's default action kills it. So nothing is signalled unless the
//! process still is the one that wrote the file: same boot, same start
//! time (a pid is never reused by a process started in the same tick), and,
//! when its binary can be read, the same one. A file written by an older
//! webtier holds the pid alone; it is trusted only when that process runs
//! this very webtier binary (the same file, or the same path once an
//! upgrade replaced it) as `proxy run`: that is the old proxy still
//! running across an upgrade, and any other process is left alone.
//! The signal goes through a pidfd opened before the checks, so the
//! process checked is the process signalled.

use std::path::Path;

use anyhow::{Result, anyhow};
pub use rustix::process::Signal;
use rustix::process::{Pid, PidfdFlags};

/// What a request to the running proxy came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// The proxy with this pid was sent the signal (or, for `find`, is
    /// running).
    Signalled(i32),
    /// No pid file, or its process is gone.
    NotRunning,
    /// The pid file names a process that is not webtier's proxy; nothing
    /// was signalled. The one-line explanation.
    NotOurs(String),
}

/// The pid file's text for the calling process.
pub fn pid_file_text() -> String {
    let pid = std::process::id();
    let mut text = format!("{pid}\n");
    if let Some(start) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| start_time(&stat))
    {
        text.push_str(&format!("start_time={start}\n"));
    }
    if let Some(boot) = boot_id() {
        text.push_str(&format!("boot_id={boot}\n"));
    }
    if let Ok(exe) = std::fs::read_link("/proc/self/exe") {
        // Written again after a failed upgrade, when the file it runs has
        // been replaced: the path, as it was.
        let exe = exe.to_string_lossy();
        text.push_str(&format!("exe={}\n", without_deleted(&exe)));
    }
    text
}

/// The pid on the file's first line.
pub fn pid_of(text: &str) -> Option<i32> {
    text.lines().next()?.trim().parse().ok()
}

/// Sends SIGHUP to the proxy named in `pid_file`, once it is sure the
/// process is that proxy.
pub fn reload_running(pid_file: &Path) -> Result<Reload> {
    signal_running(pid_file, Some(Signal::HUP))
}

/// Whether the proxy named in `pid_file` runs (`Signalled` = it does);
/// nothing is sent.
pub fn find_running(pid_file: &Path) -> Result<Reload> {
    signal_running(pid_file, None)
}

/// Sends `signal` (SIGHUP reloads, SIGTERM drains and stops, SIGUSR2
/// hands over to a new process) to the proxy named in `pid_file`, once it
/// is sure the process is that proxy; `None` only checks.
pub fn signal_running(pid_file: &Path, signal: Option<Signal>) -> Result<Reload> {
    let text = match std::fs::read_to_string(pid_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reload::NotRunning),
        Err(e) => return Err(anyhow!("cannot read {}: {e}", pid_file.display())),
    };
    let recorded = Recorded::parse(&text)
        .ok_or_else(|| anyhow!("{} does not hold a process id", pid_file.display()))?;
    let pid = recorded.pid;
    let not_ours = |why: &str| {
        Reload::NotOurs(format!(
            "pid {} in {} is not webtier's proxy ({why}); not signalling — remove the stale pid file or start the proxy",
            pid.as_raw_nonzero(),
            pid_file.display()
        ))
    };
    // Held from before the checks to the signal: if the process exits and
    // its pid is reused meanwhile, the signal fails instead of reaching
    // the newcomer. Kernels before 5.3 have no pidfd; there the window is
    // the few microseconds between the checks and kill().
    let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(rustix::io::Errno::SRCH) => return Ok(Reload::NotRunning),
        Err(_) => None,
    };
    let proc_dir = format!("/proc/{}", pid.as_raw_nonzero());
    let stat = match std::fs::read_to_string(format!("{proc_dir}/stat")) {
        Ok(stat) => stat,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reload::NotRunning),
        Err(e) => return Ok(not_ours(&format!("cannot read {proc_dir}/stat: {e}"))),
    };
    let exe = |path: &str| {
        std::fs::read_link(path)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    };
    let observed = Observed {
        start_time: start_time(&stat),
        boot_id: boot_id(),
        exe: exe(&format!("{proc_dir}/exe")),
        own_exe: exe("/proc/self/exe"),
        cmdline: std::fs::read(format!("{proc_dir}/cmdline"))
            .map(|raw| {
                raw.split(|b| *b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default(),
    };
    if let Err(why) = recorded.check(&observed) {
        return Ok(not_ours(&why));
    }
    let Some(signal) = signal else {
        return Ok(Reload::Signalled(pid.as_raw_nonzero().get()));
    };
    let sent = match &pidfd {
        Some(fd) => rustix::process::pidfd_send_signal(fd, signal),
        None => rustix::process::kill_process(pid, signal),
    };
    match sent {
        Ok(()) => Ok(Reload::Signalled(pid.as_raw_nonzero().get())),
        Err(rustix::io::Errno::SRCH) => Ok(Reload::NotRunning),
        Err(e) => Err(anyhow!(
            "cannot signal the proxy (pid {} from {}): {e}",
            pid.as_raw_nonzero(),
            pid_file.display()
        )),
    }
}

/// What the pid file says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    pid: Pid,
    start_time: Option<u64>,
    boot_id: Option<String>,
    exe: Option<String>,
}

/// What `/proc` says about the process holding the pid now.
#[derive(Debug, Clone, Default)]
struct Observed {
    start_time: Option<u64>,
    /// This boot's id.
    boot_id: Option<String>,
    /// Its binary (`/proc/PID/exe`); unreadable for a process of another
    /// user, or one that holds capabilities.
    exe: Option<String>,
    /// The calling webtier's own binary.
    own_exe: Option<String>,
    cmdline: Vec<String>,
}

impl Recorded {
    fn parse(text: &str) -> Option<Recorded> {
        let mut recorded = Recorded {
            pid: Pid::from_raw(pid_of(text)?)?,
            start_time: None,
            boot_id: None,
            exe: None,
        };
        for line in text.lines().skip(1) {
            match line.split_once('=') {
                Some(("start_time", v)) => recorded.start_time = v.trim().parse().ok(),
                Some(("boot_id", v)) => recorded.boot_id = Some(v.trim().to_string()),
                Some(("exe", v)) => recorded.exe = Some(v.to_string()),
                _ => {}
            }
        }
        Some(recorded)
    }

    /// Whether the observed process is the one that wrote the file; if
    /// not, why, in a few words.
    fn check(&self, now: &Observed) -> Result<(), String> {
        let Some(start) = self.start_time else {
            return self.check_older_file(now);
        };
        if let (Some(recorded), Some(booted)) = (&self.boot_id, &now.boot_id)
            && recorded != booted
        {
            return Err("the pid file is from before the last reboot".into());
        }
        if now.start_time != Some(start) {
            return Err("started at another time".into());
        }
        // The pid file is written by the proxy's own (unprivileged) user,
        // while the signal may come from root: whatever the file claims,
        // only a `proxy run` process is signalled.
        if !is_proxy_run(&now.cmdline) {
            return Err("it is not `webtier proxy run`".into());
        }
        if let (Some(recorded), Some(running)) = (&self.exe, &now.exe)
            && recorded != without_deleted(running)
        {
            return Err(format!("it runs {running}"));
        }
        Ok(())
    }

    /// A pid-only file, from a webtier before this format: only this
    /// binary running `proxy run` qualifies.
    fn check_older_file(&self, now: &Observed) -> Result<(), String> {
        let older = "the pid file has no start time to check";
        let Some(exe) = &now.exe else {
            return Err(format!("{older} and its program cannot be read"));
        };
        if now.own_exe.as_deref().map(without_deleted) != Some(without_deleted(exe)) {
            return Err(format!("it runs {exe}"));
        }
        if !is_proxy_run(&now.cmdline) {
            return Err(format!("{older} and it is not `webtier proxy run`"));
        }
        Ok(())
    }
}

fn is_proxy_run(cmdline: &[String]) -> bool {
    cmdline.windows(2).any(|w| w[0] == "proxy" && w[1] == "run")
}

/// The path of a binary that was replaced or removed since it started, as
/// it was.
fn without_deleted(exe: &str) -> &str {
    exe.strip_suffix(" (deleted)").unwrap_or(exe)
}

/// Field 22 of `/proc/PID/stat`: the start time in clock ticks since boot.
/// The command name (field 2) is in parentheses and may hold spaces and
/// parentheses itself, so fields are counted from its last `)`.
fn start_time(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (web tier) (x) S 1 4242 4242 0 -1 4194560 500 0 0 0 3 1 0 0 20 0 3 0 8812345 12345678 900 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

    fn recorded(text: &str) -> Recorded {
        Recorded::parse(text).unwrap()
    }

    fn the_proxy() -> Observed {
        Observed {
            start_time: Some(8812345),
            boot_id: Some("b1".into()),
            exe: Some("/usr/local/bin/webtier".into()),
            own_exe: Some("/usr/local/bin/webtier".into()),
            cmdline: [
                "webtier",
                "proxy",
                "run",
                "--file",
                "/etc/webtier/proxy.toml",
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    const CURRENT: &str = "4242\nstart_time=8812345\nboot_id=b1\nexe=/usr/local/bin/webtier\n";

    #[test]
    fn the_start_time_is_field_22_even_with_parentheses_in_the_name() {
        assert_eq!(start_time(STAT), Some(8812345));
        assert_eq!(start_time("garbage"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(start_time(&own).is_some());
    }

    #[test]
    fn the_pid_file_starts_with_the_bare_pid() {
        let text = pid_file_text();
        assert_eq!(pid_of(&text), Some(std::process::id() as i32));
        let mine = recorded(&text);
        assert!(mine.start_time.is_some() && mine.boot_id.is_some() && mine.exe.is_some());
        assert_eq!(recorded(CURRENT).start_time, Some(8812345));
        assert_eq!(recorded(" 77 \n").start_time, None);
        assert!(Recorded::parse("x\n").is_none());
    }

    #[test]
    fn only_the_process_that_wrote_the_file_is_signalled() {
        let file = recorded(CURRENT);
        assert_eq!(file.check(&the_proxy()), Ok(()));
        // Replaced by an upgrade while running: still the same process.
        let upgraded = Observed {
            exe: Some("/usr/local/bin/webtier (deleted)".into()),
            ..the_proxy()
        };
        assert_eq!(file.check(&upgraded), Ok(()));
        // Its binary unreadable (capabilities): the start time decides.
        let unreadable = Observed {
            exe: None,
            ..the_proxy()
        };
        assert_eq!(file.check(&unreadable), Ok(()));

        let cases = [
            (
                Observed {
                    start_time: Some(99),
                    ..the_proxy()
                },
                "started at another time",
            ),
            (
                Observed {
                    boot_id: Some("b2".into()),
                    ..the_proxy()
                },
                "the pid file is from before the last reboot",
            ),
            (
                Observed {
                    exe: Some("/usr/bin/sleep".into()),
                    ..the_proxy()
                },
                "it runs /usr/bin/sleep",
            ), // A file forged by the proxy's user to name another process,
            // with its start time (readable by anyone), and no exe line.
            (
                Observed {
                    exe: None,
                    cmdline: vec!["/usr/sbin/sshd".into(), "-D".into()],
                    ..the_proxy()
                },
                "it is not `webtier proxy run`",
            ),
        ];
        for (observed, why) in cases {
            assert_eq!(file.check(&observed), Err(why.to_string()));
        }
    }

    #[test]
    fn a_pid_only_file_is_trusted_only_for_this_binary_running_the_proxy() {
        let old = recorded("4242\n");
        assert_eq!(old.check(&the_proxy()), Ok(()));
        let upgraded = Observed {
            exe: Some("/usr/local/bin/webtier (deleted)".into()),
            ..the_proxy()
        };
        assert_eq!(old.check(&upgraded), Ok(()));
        let sleep = Observed {
            exe: Some("/usr/bin/sleep".into()),
            cmdline: vec!["sleep".into(), "600".into()],
            ..the_proxy()
        };
        assert_eq!(old.check(&sleep), Err("it runs /usr/bin/sleep".into()));
        let renew = Observed {
            cmdline: ["webtier", "cert", "renew"].map(String::from).to_vec(),
            ..the_proxy()
        };
        assert!(old.check(&renew).is_err());
        let unreadable = Observed {
            exe: None,
            ..the_proxy()
        };
        assert!(old.check(&unreadable).is_err());
    }
}
