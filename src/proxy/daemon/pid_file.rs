//! The pid file of a running proxy (its format is `control`'s).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The process id and what identifies the process (see `control`),
/// written atomically at start and removed at exit while it is still ours.
pub(super) struct PidFile(PathBuf);

impl PidFile {
    pub(super) fn write(path: &Path) -> Result<PidFile> {
        let text = crate::proxy::daemon::control::pid_file_text();
        crate::fsutil::atomic_write(path, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl PidFile {
    /// Leaves the file alone at exit: a new process took over and writes
    /// its own (removing it here could race with that write).
    pub(super) fn release(mut self) {
        self.0 = PathBuf::new();
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() {
            return;
        }
        let ours = std::fs::read_to_string(&self.0).is_ok_and(|t| {
            crate::proxy::daemon::control::pid_of(&t) == Some(std::process::id() as i32)
        });
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
