//! Talking to a running proxy the way an operator would: its pid file and
//! a signal.

use std::path::Path;

use anyhow::{Result, anyhow};
use rustix::process::{Pid, Signal, kill_process};

/// Sends SIGHUP to the proxy named in `pid_file`. `Ok(None)` when no proxy
/// runs (no pid file, or its process is gone); `Ok(Some(pid))` when it was
/// asked to reload.
pub fn reload_running(pid_file: &Path) -> Result<Option<i32>> {
    let text = match std::fs::read_to_string(pid_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("cannot read {}: {e}", pid_file.display())),
    };
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| anyhow!("{} does not hold a process id", pid_file.display()))?;
    match kill_process(pid, Signal::HUP) {
        Ok(()) => Ok(Some(pid.as_raw_nonzero().get())),
        Err(rustix::io::Errno::SRCH) => Ok(None),
        Err(e) => Err(anyhow!(
            "cannot signal the proxy (pid {pid:?} from {}): {e}",
            pid_file.display()
        )),
    }
}
