//! The running proxy's status file: which process serves, since when, from
//! which configuration (by SHA-256 of the file's bytes) and on which
//! addresses, and how the last reload went.
//!
//! Written atomically (write, fsync, rename) when the proxy starts serving
//! and after every reload, by the process that serves, so a reader sees
//! the whole of one version or the whole of the next. `webtier proxy start`
//! waits for it to name the new process; `proxy status` and the `proxy`
//! step read it to tell what the proxy runs without asking the proxy.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    /// The binary the process runs, as it was named when it started.
    pub exe: PathBuf,
    pub config_file: PathBuf,
    /// `sha256:<hex>` of the configuration file as loaded.
    pub config_sha256: String,
    /// When that configuration was loaded (seconds since the epoch).
    pub loaded_at: u64,
    /// `http://ADDR` and `https://ADDR` for every listener.
    pub listen: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<std::net::SocketAddr>,
    pub workers: usize,
    /// Certificate and key files with their modification time when loaded
    /// (nanoseconds since the epoch; `None` when it could not be read).
    #[serde(default)]
    pub certificates: Vec<LoadedFile>,
    /// Sites of the configuration that are not served, one line per
    /// problem (`site NAME: what to fix`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_sites: Vec<String>,
    /// The last reload that was refused, when the most recent one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub modified_ns: Option<u128>,
}

impl LoadedFile {
    pub fn new(path: &Path, modified: Option<SystemTime>) -> LoadedFile {
        LoadedFile {
            path: path.to_path_buf(),
            modified_ns: modified.map(nanos),
        }
    }

    /// True when the file on disk is not the one loaded.
    pub fn changed(&self) -> bool {
        let now = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()
            .map(nanos);
        now != self.modified_ns
    }
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `sha256:<hex>` of a configuration file's bytes.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

pub fn write(path: &Path, status: &Status) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(status).expect("a status serializes");
    text.push(b'\n');
    crate::fsutil::atomic_write(path, &text, 0o644)
        .with_context(|| format!("cannot write the status file {}", path.display()))
}

/// The status file, if there is one. A file that does not parse is an
/// error naming it.
pub fn read(path: &Path) -> Result<Option<Status>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a webtier proxy status file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Reads the status file until `done` decides, or `within` passes (then
/// an error naming `what` and the proxy's log). The proxy rewrites the
/// file after each start and reload, so this waits on that event.
pub fn wait_for(
    path: &Path,
    what: &str,
    log: &Path,
    within: std::time::Duration,
    mut done: impl FnMut(&Status) -> Option<Result<()>>,
) -> Result<()> {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(status) = read(path)?
            && let Some(result) = done(&status)
        {
            return result;
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "the proxy did not report the {what} within {within:?}; see {}",
                log.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_round_trips_and_a_changed_file_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "a").unwrap();
        let modified = std::fs::metadata(&cert).unwrap().modified().unwrap();
        let status = Status {
            pid: 42,
            started_at: 1,
            exe: PathBuf::from("/usr/local/bin/webtier"),
            config_file: PathBuf::from("/etc/webtier/proxy.toml"),
            config_sha256: digest(b"version = 1\n"),
            loaded_at: 2,
            listen: vec!["http://127.0.0.1:80".into()],
            admin_listen: None,
            workers: 2,
            certificates: vec![LoadedFile::new(&cert, Some(modified))],
            refused_sites: vec!["site b.test: certificate /c does not exist".into()],
            reload_error: None,
        };
        let path = dir.path().join("proxy.status.json");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, &status).unwrap();
        assert_eq!(read(&path).unwrap(), Some(status.clone()));
        assert!(!status.certificates[0].changed());
        let later = modified + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&cert)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(status.certificates[0].changed());

        std::fs::write(&path, "{").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("is not a webtier proxy status file"), "{err}");
    }

    #[test]
    fn the_digest_is_sha256_of_the_bytes() {
        assert_eq!(
            digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
