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

use crate::proxy::config::{Balance, Health, Invalid, ProxyConfig, parse_upstream};
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
        let mut old_groups: HashMap<GroupKey, Arc<Group>> = HashMap::new();
        if let Some(prev) = previous {
            for site in &prev.sites {
                for route in &site.routes {
                    if let RouteKind::Proxy(g) = &route.kind {
                        let key = (
                            g.upstreams.iter().map(|u| u.base.to_string()).collect(),
                            g.balance,
                            g.health.clone(),
                        );
                        old_groups.insert(key, Arc::clone(g));
                    }
                }
            }
        }

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
            let mut routes = Vec::new();
            for rc in &sc.routes {
                let kind = match &rc.root {
                    Some(root) => RouteKind::Static(StaticRoot::open(root).with_context(|| {
                        format!(
                            "site {} route {}: cannot open root {}",
                            sc.names[0],
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
                        let group = old_groups.get(&key).cloned().unwrap_or_else(|| {
                            Arc::new(Group::new(addrs, rc.balance, rc.health.clone()))
                        });
                        RouteKind::Proxy(group)
                    }
                };
                routes.push(Route {
                    prefix: rc.path.clone(),
                    kind,
                    max_body: rc.max_body_bytes.unwrap_or(config.limits.max_body_bytes),
                });
            }
            routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
            sites.push(Site {
                tls: sc.tls.is_some(),
                routes,
            });
        }

        if !config.challenge_dir.exists() {
            std::fs::create_dir_all(&config.challenge_dir).with_context(|| {
                format!(
                    "cannot create the challenge directory {}",
                    config.challenge_dir.display()
                )
            })?;
        }
        let challenge = StaticRoot::open(&config.challenge_dir).with_context(|| {
            format!(
                "cannot open the challenge directory {}",
                config.challenge_dir.display()
            )
        })?;
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
