//! Everything a request needs, compiled from one proxy configuration: the
//! sites by name, their routes longest prefix first, open static roots,
//! upstream groups, certificates. Built whole before it replaces the old
//! state, so a reload is all or nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};
use http::HeaderValue;

use crate::proxy::config::{Balance, Health, Invalid, ProxyConfig, RouteConfig, parse_upstream};
use crate::proxy::files::StaticRoot;
use crate::proxy::request::routing::{Names, longest_prefix};
use crate::proxy::tls::{Certs, load_key_pair};
use crate::proxy::upstream::group::Group;

pub struct State {
    pub config: ProxyConfig,
    pub names: Names,
    pub sites: Vec<Site>,
    pub certs: Certs,
    pub challenge: StaticRoot,
    pub hsts: Option<HeaderValue>,
    /// The port HTTP requests are redirected to.
    pub https_port: u16,
    /// The site whose certificate a TLS client without SNI gets.
    pub default_tls_site: Option<usize>,
    /// Certificate and key files with the modification time they had when
    /// loaded; a change triggers a reload.
    pub watched: Vec<(PathBuf, Option<SystemTime>)>,
}

pub struct Site {
    pub tls: bool,
    /// Longest prefix first.
    pub routes: Vec<Route>,
}

pub struct Route {
    pub prefix: String,
    pub kind: RouteKind,
    pub max_body: u64,
}

pub enum RouteKind {
    Static(StaticRoot),
    Proxy(Arc<Group>),
}

impl Site {
    pub fn route(&self, path: &str) -> Option<&Route> {
        longest_prefix(self.routes.iter().map(|r| r.prefix.as_str()), path).map(|i| &self.routes[i])
    }
}

/// Groups are kept across reloads when their definition is unchanged, so
/// an ejected upstream stays ejected and counters stay meaningful.
type GroupKey = (Vec<String>, Balance, Health);

pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl State {
    /// Reads and compiles the file at `path`.
    pub fn load(path: &Path, previous: Option<&State>) -> Result<State> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the proxy configuration {}", path.display()))?;
        let config = ProxyConfig::from_toml(&text)
            .map_err(|e| Invalid(format!("{}: {e}", path.display())))?;
        State::build(config, previous)
    }

    pub fn build(config: ProxyConfig, previous: Option<&State>) -> Result<State> {
        let old_groups = previous.map(groups_by_key).unwrap_or_default();

        let mut names = Names::default();
        let mut certs = Certs::default();
        let mut watched = Vec::new();
        let mut sites = Vec::new();
        for (index, sc) in config.sites.iter().enumerate() {
            for name in &sc.names {
                names.insert(name, index);
            }
            if let Some(tls) = &sc.tls {
                let pair = load_key_pair(&tls.cert, &tls.key)
                    .with_context(|| format!("site {}", sc.names[0]))?;
                certs.add(&sc.names, pair);
                for file in [&tls.cert, &tls.key] {
                    watched.push((file.clone(), modified(file)));
                }
            }
            let mut routes = sc
                .routes
                .iter()
                .map(|rc| route(&sc.names[0], rc, &config, &old_groups))
                .collect::<Result<Vec<_>>>()?;
            routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
            sites.push(Site {
                tls: sc.tls.is_some(),
                routes,
            });
        }

        let challenge = open_challenge_dir(&config.challenge_dir)?;
        let hsts = (config.hsts_max_age > 0).then(|| {
            HeaderValue::from_str(&format!("max-age={}", config.hsts_max_age))
                .expect("digits are a header value")
        });
        let https_port = config.https_listen.first().map_or(443, |a| a.port());
        let default_tls_site = sites.iter().position(|s| s.tls);
        Ok(State {
            config,
            names,
            sites,
            certs,
            challenge,
            hsts,
            https_port,
            default_tls_site,
            watched,
        })
    }

    /// The certificate files' modification times when they were loaded…
    pub fn loaded_times(&self) -> Vec<Option<SystemTime>> {
        self.watched.iter().map(|(_, when)| *when).collect()
    }

    /// …and now.
    pub fn certificate_times(&self) -> Vec<Option<SystemTime>> {
        self.watched
            .iter()
            .map(|(path, _)| modified(path))
            .collect()
    }

    /// Every upstream group, for health checks and metrics.
    pub fn groups(&self) -> impl Iterator<Item = &Arc<Group>> {
        self.sites
            .iter()
            .flat_map(|s| s.routes.iter())
            .filter_map(|r| match &r.kind {
                RouteKind::Proxy(g) => Some(g),
                RouteKind::Static(_) => None,
            })
    }
}

/// The upstream groups of a state by what they are, so that a reload keeps
/// the health, counters and pool keys of the groups it does not change.
fn groups_by_key(state: &State) -> HashMap<GroupKey, Arc<Group>> {
    let mut groups = HashMap::new();
    for site in &state.sites {
        for route in &site.routes {
            if let RouteKind::Proxy(g) = &route.kind {
                let key = (
                    g.upstreams.iter().map(|u| u.base.to_string()).collect(),
                    g.balance,
                    g.health.clone(),
                );
                groups.insert(key, Arc::clone(g));
            }
        }
    }
    groups
}

/// One route of site `site`: its static root opened, or its upstream group
/// (the old state's when unchanged).
fn route(
    site: &str,
    rc: &RouteConfig,
    config: &ProxyConfig,
    old_groups: &HashMap<GroupKey, Arc<Group>>,
) -> Result<Route> {
    let kind = match &rc.root {
        Some(root) => RouteKind::Static(StaticRoot::open(root).with_context(|| {
            format!(
                "site {site} route {}: cannot open root {}",
                rc.path,
                root.display()
            )
        })?),
        None => {
            let addrs = rc
                .upstreams
                .iter()
                .map(|u| parse_upstream(u))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow!(e))?;
            let key: GroupKey = (
                addrs.iter().map(|a| a.base()).collect(),
                rc.balance,
                rc.health.clone(),
            );
            let group = old_groups
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Arc::new(Group::new(addrs, rc.balance, rc.health.clone())));
            RouteKind::Proxy(group)
        }
    };
    Ok(Route {
        prefix: rc.path.clone(),
        kind,
        max_body: rc.max_body_bytes.unwrap_or(config.limits.max_body_bytes),
    })
}

/// The directory HTTP-01 challenge files are served from, created if missing.
fn open_challenge_dir(dir: &Path) -> Result<StaticRoot> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the challenge directory {}", dir.display()))?;
    }
    StaticRoot::open(dir)
        .with_context(|| format!("cannot open the challenge directory {}", dir.display()))
}
