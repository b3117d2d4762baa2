//! `webtier proxy validate`: everything that keeps a proxy file from
//! serving as written, every problem listed (not only the first), each a
//! line saying what to fix:
//!
//! 1. the text ([`ProxyConfig::parse`], then [`ProxyConfig::problems`]:
//!    settings, names claimed by two sites, two routes of a site on one
//!    prefix, upstream addresses, listeners named twice);
//! 2. each site's files, exactly as the daemon loads them
//!    ([`state::site_problems`]): the certificate parses, fits its key,
//!    covers the site's names and has not expired (a warning under
//!    7 days left); static roots exist and are directories;
//! 3. the challenge directory is one, when it exists;
//! 4. the listen addresses are free or held by the running proxy
//!    ([`listen`]);
//! 5. with `--probe`, every upstream accepts a TCP connection ([`probe`]).
//!
//! The daemon runs 1 and 2 on start and on every reload: a file with a
//! problem of the text is not used; a site with a problem of its files is
//! refused alone (see [`crate::proxy::state`]). It binds its listeners at
//! start, which is 4's check.

mod listen;
mod probe;

use std::path::Path;

use anyhow::Result;

use crate::proxy::config::{ProxyConfig, UpstreamAddr, parse_upstream};
use crate::proxy::state;

/// What validation found.
#[derive(Debug, Default)]
pub struct Report {
    /// Each problem, one line; none when the file is valid.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Sites in the file.
    pub sites: usize,
}

/// Validates the proxy file at `path`; `probe`: connect to every
/// upstream. Fails only when the file cannot be read.
pub fn validate(path: &Path, probe: bool) -> Result<Report> {
    let text = crate::proxy::config::read(path)?;
    let config = match ProxyConfig::parse(&text) {
        Ok(config) => config,
        Err(e) => {
            return Ok(Report {
                errors: vec![e],
                ..Report::default()
            });
        }
    };
    Ok(validate_config(&config, probe))
}

/// Validates a parsed proxy configuration (the `proxy` step checks the
/// one it is about to run this way).
pub fn validate_config(config: &ProxyConfig, probe: bool) -> Report {
    let mut report = Report {
        errors: config.problems(),
        warnings: Vec::new(),
        sites: config.sites.len(),
    };
    for site in &config.sites {
        if site.names.is_empty() {
            continue; // a problem of the text, reported above
        }
        let (errors, warnings) = state::site_problems(site, config);
        let name = &site.names[0];
        report
            .errors
            .extend(errors.iter().map(|e| format!("site {name}: {e}")));
        report
            .warnings
            .extend(warnings.iter().map(|w| format!("site {name}: {w}")));
    }
    if config.challenge_dir.exists() && !config.challenge_dir.is_dir() {
        report.errors.push(format!(
            "challenge_dir {} is not a directory — name a directory (it is created when missing)",
            config.challenge_dir.display()
        ));
    }
    // The running proxy, checked as before a signal (same process that
    // wrote the pid file); its own listeners do not count as in use.
    let proxy = config.pid_file.as_deref().and_then(|pid_file| {
        match crate::proxy::daemon::control::find_running(pid_file) {
            Ok(crate::proxy::daemon::control::Reload::Signalled(pid)) => u32::try_from(pid).ok(),
            _ => None,
        }
    });
    for (addr, key) in listen::addresses(config) {
        match listen::check(addr, proxy) {
            listen::Outcome::Usable => {}
            listen::Outcome::Warning(w) => report.warnings.push(format!("{key} {addr}: {w}")),
            listen::Outcome::Problem(e) => report.errors.push(format!("{key} {addr}: {e}")),
        }
    }
    if probe {
        let upstreams = upstreams(config);
        let addrs: Vec<&UpstreamAddr> = upstreams.iter().map(|u| &u.addr).collect();
        for (up, outcome) in upstreams.iter().zip(probe::probe(&addrs)) {
            if let Err(why) = outcome {
                report.errors.push(format!(
                    "site {}: route {}: upstream {} {why} — start it or correct the address",
                    up.site, up.route, up.text
                ));
            }
        }
    }
    report
}

/// An upstream as the file names it, with the first site and route that
/// do.
struct Upstream {
    text: String,
    addr: UpstreamAddr,
    site: String,
    route: String,
}

/// Every upstream of the file, once.
fn upstreams(config: &ProxyConfig) -> Vec<Upstream> {
    let mut found: Vec<Upstream> = Vec::new();
    for site in &config.sites {
        let Some(name) = site.names.first() else {
            continue;
        };
        for route in &site.routes {
            for text in &route.upstreams {
                if found.iter().any(|u| &u.text == text) {
                    continue;
                }
                if let Ok(addr) = parse_upstream(text) {
                    found.push(Upstream {
                        text: text.clone(),
                        addr,
                        site: name.clone(),
                        route: route.path.clone(),
                    });
                }
            }
        }
    }
    found
}
