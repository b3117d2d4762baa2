//! `webtier cert schedule`: the systemd timer or cron entry that runs
//! `webtier cert renew`, rendered from templates/. The minute is derived
//! from the host name and configuration path: spread across hosts like
//! certbot's random minute, yet the same on every run, so scheduling again
//! changes nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use minijinja::{Environment, context};

const SERVICE: &str = include_str!("../../../templates/webtier-renew.service");
const TIMER: &str = include_str!("../../../templates/webtier-renew.timer");
const CRON: &str = include_str!("../../../templates/webtier-renew.cron");

/// A file to install: path under the root, content, mode.
pub struct File {
    pub path: PathBuf,
    pub content: String,
}

/// (minute, hour) for this host and configuration. Pure.
pub fn slot(host: &str, config: &Path) -> (u32, u32) {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{host}\0{}", config.display()).as_bytes());
    (u32::from(digest[0]) % 60, u32::from(digest[1]) % 12)
}

fn render(template: &str, binary: &Path, config: &Path, minute: u32, hour: u32) -> Result<String> {
    let mut env = Environment::new();
    env.add_template("t", template)?;
    let text = env.get_template("t")?.render(context! {
        binary => binary.display().to_string(),
        config => config.display().to_string(),
        minute => format!("{minute:02}"),
        hour => hour,
    })?;
    Ok(format!("{}\n", text.trim_end()))
}

pub fn files(systemd: bool, binary: &Path, config: &Path, host: &str) -> Result<Vec<File>> {
    let (minute, hour) = slot(host, config);
    Ok(if systemd {
        vec![
            File {
                path: PathBuf::from("etc/systemd/system/webtier-renew.service"),
                content: render(SERVICE, binary, config, minute, hour)?,
            },
            File {
                path: PathBuf::from("etc/systemd/system/webtier-renew.timer"),
                content: render(TIMER, binary, config, minute, hour)?,
            },
        ]
    } else {
        vec![File {
            path: PathBuf::from("etc/cron.d/webtier"),
            content: render(CRON, binary, config, minute, hour)?,
        }]
    })
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

pub fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Writes the files under `root` (atomically, mode 0644).
pub fn install(root: &Path, files: &[File]) -> Result<Vec<PathBuf>> {
    files
        .iter()
        .map(|f| {
            let path = root.join(&f.path);
            crate::fsutil::atomic_write_with_mode(&path, f.content.as_bytes(), 0o644)
                .with_context(|| format!("cannot install {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_is_stable_and_spread() {
        let a = slot("web-1", Path::new("/etc/webtier/webtier.toml"));
        assert_eq!(a, slot("web-1", Path::new("/etc/webtier/webtier.toml")));
        let slots: std::collections::HashSet<_> = (0..50)
            .map(|i| slot(&format!("web-{i}"), Path::new("/w.toml")))
            .collect();
        assert!(
            slots.len() > 30,
            "hosts spread over the hour: {}",
            slots.len()
        );
    }

    #[test]
    fn cron_entry_runs_renew_twice_a_day() {
        let files = files(
            false,
            Path::new("/usr/local/bin/webtier"),
            Path::new("/etc/webtier/webtier.toml"),
            "h",
        )
        .unwrap();
        let (m, h) = slot("h", Path::new("/etc/webtier/webtier.toml"));
        let line = files[0].content.lines().last().unwrap();
        assert_eq!(
            line,
            format!(
                "{m:02} {h},{} * * * root /usr/local/bin/webtier --config /etc/webtier/webtier.toml cert renew",
                h + 12
            )
        );
        let timer = &super::files(true, Path::new("/w"), Path::new("/c"), "h").unwrap()[1].content;
        assert!(
            timer.contains("OnCalendar=*-*-* ") && timer.contains("Persistent=true"),
            "{timer}"
        );
    }
}
