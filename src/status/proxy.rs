//! `proxy`: the bundled proxy runs (the live process its pid file names,
//! described by its status file) and serves the site (the site is not
//! among those it refused to load).

use super::Check;
use crate::config::{Config, Site};
use crate::launch::detached::{self, Paths};
use crate::proxy::daemon::status::{Status, digest, unix_now};

pub const NAME: &str = "proxy";

pub fn check(config: &Config, site: &Site) -> Check {
    let rendered = crate::config::proxy_file::render(config);
    let paths = match crate::proxy::config::ProxyConfig::from_toml(&rendered)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .and_then(|c| Paths::of(&config.proxy.config_file, &c))
    {
        Ok(paths) => paths,
        Err(e) => return Check::fail(NAME, format!("{e:#}")),
    };
    match detached::running(&paths) {
        Ok(found) => verdict(
            &site.domain,
            &paths,
            found.as_ref(),
            &digest(rendered.as_bytes()),
            unix_now(),
        ),
        Err(e) => Check::fail(NAME, format!("cannot tell whether it runs: {e:#}")),
    }
}

/// Pure: the verdict on what runs (`found`: pid and status file) for the
/// site `domain`; `rendered_sha` is the digest of the configuration
/// webtier.toml renders now.
pub fn verdict(
    domain: &str,
    paths: &Paths,
    found: Option<&(i32, Option<Status>)>,
    rendered_sha: &str,
    now: u64,
) -> Check {
    let (pid, status) = match found {
        None => {
            return Check::fail(
                NAME,
                format!(
                    "not running (no live proxy in {}) — `webtier apply proxy` starts it",
                    paths.pid_file.display()
                ),
            );
        }
        Some((pid, None)) => {
            return Check::fail(
                NAME,
                format!(
                    "a process (pid {pid}) holds {}, but {} does not describe it",
                    paths.pid_file.display(),
                    paths.status_file.display()
                ),
            );
        }
        Some((pid, Some(status))) => (*pid, status),
    };
    let running = format!(
        "running (pid {pid}) for {}",
        uptime(now.saturating_sub(status.started_at))
    );
    let prefix = format!("site {domain}:");
    let refused: Vec<&str> = status
        .refused_sites
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
        .collect();
    if !refused.is_empty() {
        return Check::fail(
            NAME,
            format!(
                "{running}, but does not serve {domain}: {}",
                refused.join("; ")
            ),
        );
    }
    let listen = status.listen.join(", ");
    let outdated = if status.config_sha256 != rendered_sha {
        " (its configuration is not the one webtier.toml renders now: `webtier apply` updates it)"
    } else {
        ""
    };
    Check::pass(NAME, format!("{running}, on {listen}{outdated}"))
}

/// `3s`, `2m 5s`, `4h 2m`, `3d 4h`.
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn paths() -> Paths {
        Paths {
            config: "/etc/webtier/proxy.toml".into(),
            pid_file: "/var/lib/webtier/run/proxy.pid".into(),
            status_file: "/var/lib/webtier/run/proxy.status.json".into(),
            log_file: "/var/lib/webtier/run/proxy.log".into(),
        }
    }

    fn status(refused: &[&str]) -> Status {
        Status {
            pid: 42,
            started_at: 1000,
            exe: PathBuf::from("/usr/local/bin/webtier"),
            config_file: PathBuf::from("/etc/webtier/proxy.toml"),
            config_sha256: "sha256:aa".into(),
            loaded_at: 1000,
            listen: vec!["http://127.0.0.1:80".into(), "https://127.0.0.1:443".into()],
            admin_listen: None,
            workers: 1,
            certificates: vec![],
            refused_sites: refused.iter().map(|s| s.to_string()).collect(),
            reload_error: None,
        }
    }

    #[test]
    fn running_serving_refusing_and_stopped() {
        let p = paths();
        let c = verdict(
            "a.example",
            &p,
            Some(&(42, Some(status(&[])))),
            "sha256:aa",
            4723,
        );
        assert!(c.ok);
        assert_eq!(
            c.detail,
            "running (pid 42) for 1h 2m, on http://127.0.0.1:80, https://127.0.0.1:443"
        );
        let c = verdict(
            "a.example",
            &p,
            Some(&(
                42,
                Some(status(&["site a.example: certificate /x does not exist"])),
            )),
            "sha256:aa",
            1003,
        );
        assert!(!c.ok);
        assert!(
            c.detail
                .ends_with("does not serve a.example: certificate /x does not exist"),
            "{}",
            c.detail
        );
        // Another site's refusal is not this one's.
        let c = verdict(
            "a.example",
            &p,
            Some(&(
                42,
                Some(status(&["site b.example: certificate /x does not exist"])),
            )),
            "sha256:bb",
            1003,
        );
        assert!(c.ok);
        assert!(
            c.detail.contains("not the one webtier.toml renders"),
            "{}",
            c.detail
        );
        let c = verdict("a.example", &p, None, "sha256:aa", 0);
        assert!(!c.ok);
        assert!(
            c.detail
                .starts_with("not running (no live proxy in /var/lib/webtier/run/proxy.pid)")
        );
        assert_eq!(uptime(3 * 86_400 + 4 * 3600 + 5), "3d 4h");
    }
}
