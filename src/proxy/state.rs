//! Everything a request needs, compiled from one proxy configuration: the
//! sites by name, their routes longest prefix first, open static roots,
//! upstream groups, certificates. Built whole before it replaces the old
//! state, so a reload is all or nothing.
//!
//! # Refused sites
//!
//! The file's text is checked whole ([`ProxyConfig::problems`]): a file
//! with a problem is not used at all (`proxy run` exits 3, a reload is
//! refused). What the text names on disk is checked site by site: a site
//! whose certificate or key is missing, unreadable, mismatched, expired or
//! does not cover its names, or whose static root cannot be opened, is
//! *refused* ([`State::refused`]): its names answer nothing (a TLS
//! handshake for them fails, an HTTP request gets the unknown-host 404;
//! another site's wildcard does not take them over), while every other
//! site is served. Even when every site is refused the proxy serves: its
//! plain-HTTP listeners still answer ACME challenges, which is how a
//! missing certificate gets issued, and a refused site comes up by itself
//! once its certificate files change (they are watched) or on a reload.
//! A reload never takes down a site that is serving, though: a new state
//! that would refuse one is refused whole ([`State::keeps_serving`]), and
//! the running state goes on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};
use http::HeaderValue;

use crate::proxy::auth::basic::BasicAuth;
use crate::proxy::auth::keys::{Keys, SessionKeys};
use crate::proxy::auth::policy::Policy;
use crate::proxy::auth::provider::Provider;
use crate::proxy::config::{
    AccessConfig, Balance, Health, Invalid, ProxyConfig, RouteConfig, SiteConfig, TrailingSlash,
    parse_upstream,
};
use crate::proxy::files::StaticRoot;
use crate::proxy::request::cache::{RouteCache, Store};
use crate::proxy::request::compress::Compress;
use crate::proxy::request::limit::Limiter;
use crate::proxy::request::rewrite::{Redirect, Rewrite};
use crate::proxy::request::routing::{Names, longest_prefix};
use crate::proxy::tls::{Certs, load_certificate};
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
    /// The sites of the file that are not served.
    refused: Vec<RefusedSite>,
    /// About the served sites: a certificate that expires soon.
    warnings: Vec<String>,
    /// The response cache's store, when a route caches: the previous
    /// state's, kept across reloads while its size is unchanged.
    pub cache: Option<Arc<Store>>,
    /// `health_check`, when its site is served.
    pub health_check: Option<HealthRoute>,
}

/// A load balancer's health check, ready for routing: the path, and the
/// host it is served as (the configured name of a served site).
#[derive(Debug, Clone)]
pub struct HealthRoute {
    pub path: String,
    pub host: String,
    pub host_header: HeaderValue,
}

/// A site of the file that is not served, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedSite {
    /// Its first name, which messages call it by.
    pub name: String,
    /// Every problem found, each saying what to fix (without the site).
    pub reasons: Vec<String>,
    names: Vec<String>,
}

impl RefusedSite {
    /// `site NAME: REASON`, one line per reason.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.reasons
            .iter()
            .map(|reason| format!("site {}: {reason}", self.name))
    }
}

pub struct Site {
    pub tls: bool,
    /// Longest prefix first.
    pub routes: Vec<Route>,
    /// The site's login, when it has one.
    pub auth: Option<Arc<Provider>>,
    /// Which clients may use the site (its endpoints and the routes that
    /// set none of their own); None: every client.
    pub access: Option<Arc<AccessConfig>>,
    /// The name the other names redirect to.
    pub canonical_host: Option<String>,
    /// Redirect rules, first match wins.
    pub redirects: Vec<Redirect>,
    /// The site's limit (shared by its routes without their own).
    pub rate_limit: Option<Arc<Limiter>>,
    /// Paths are normalized before routing (`auth::path`): the site has
    /// a login, or routes guarded unlike the others.
    pub normalize: bool,
}

pub struct Route {
    pub prefix: String,
    pub kind: RouteKind,
    pub max_body: u64,
    /// Who may use the route (on a site with a login); None: everyone.
    pub auth: Option<Policy>,
    /// Which clients may use the route: its own list, else the site's.
    pub access: Option<Arc<AccessConfig>>,
    /// Proxied: dot segments are forwarded rather than refused.
    pub allow_dotfiles: bool,
    /// Proxied: the path the upstream receives.
    pub rewrite: Option<Rewrite>,
    pub trailing_slash: Option<TrailingSlash>,
    /// HTTP Basic auth, its htpasswd file loaded.
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// Requests per client: the route's own limit, else the site's.
    pub rate_limit: Option<Arc<Limiter>>,
    /// Proxied: the response cache, the route's own or the site's.
    pub cache: Option<Arc<RouteCache>>,
    /// Compression, the route's own or the site's.
    pub compress: Option<Arc<Compress>>,
}

pub enum RouteKind {
    Static(StaticRoot),
    Proxy(Arc<Group>),
}

impl Site {
    pub fn route(&self, path: &str) -> Option<&Route> {
        longest_prefix(self.routes.iter().map(|r| r.prefix.as_str()), path).map(|i| &self.routes[i])
    }

    /// Each route's prefix and policy (for a login's callback, which
    /// checks the policy of the path the login began at).
    pub fn policies(&self) -> Vec<(String, Option<Policy>)> {
        self.routes
            .iter()
            .map(|r| (r.prefix.clone(), r.auth.clone()))
            .collect()
    }
}

/// Groups are kept across reloads when their definition is unchanged, so
/// an ejected upstream stays ejected and counters stay meaningful.
type GroupKey = (Vec<String>, Balance, Health);

pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl State {
    /// Reads and compiles the file at `path`; a file with problems is
    /// [`Invalid`], all of them listed.
    pub fn load(path: &Path, previous: Option<&State>) -> Result<State> {
        State::load_with_digest(path, previous).map(|(state, _)| state)
    }

    /// `load`, with the `sha256:` digest of the bytes it compiled (the
    /// daemon's status file names the configuration it runs by it).
    pub fn load_with_digest(path: &Path, previous: Option<&State>) -> Result<(State, String)> {
        let (config, digest) = State::read(path)?;
        Ok((State::build(config, previous)?, digest))
    }

    /// The file at `path`, checked whole, and the `sha256:` digest of its
    /// bytes; a file with problems is [`Invalid`], all of them listed.
    pub fn read(path: &Path) -> Result<(ProxyConfig, String)> {
        let text = crate::proxy::config::read(path)?;
        let config = ProxyConfig::parse(&text).map_err(|e| Invalid::in_file(path, &[e]))?;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(Invalid::in_file(path, &problems).into());
        }
        let digest = crate::proxy::daemon::status::digest(text.as_bytes());
        Ok((config, digest))
    }

    /// Compiles `config`, refusing the sites whose files cannot be served.
    /// Fails only when the challenge directory cannot be opened.
    pub fn build(config: ProxyConfig, previous: Option<&State>) -> Result<State> {
        State::build_with_keys(config, previous, None)
    }

    /// `build`, the logins sealing with `ssm_keys`: the keys the daemon
    /// read from the file's `session_key_ssm` (`auth::key_source`).
    pub fn build_with_keys(
        config: ProxyConfig,
        previous: Option<&State>,
        ssm_keys: Option<&Arc<SessionKeys>>,
    ) -> Result<State> {
        let old_groups = previous.map(groups_by_key).unwrap_or_default();
        let now = unix_now();
        let logins = Logins {
            keys: session_keys(&config, true, ssm_keys),
            previous: previous.map(providers_by_site).unwrap_or_default(),
            https_port: https_port(&config),
        };

        let mut names = Names::default();
        let mut certs = Certs::default();
        let mut watched = Vec::new();
        let mut sites = Vec::new();
        let mut refused = Vec::new();
        let mut warnings = Vec::new();
        for sc in &config.sites {
            if let Some(tls) = &sc.tls {
                // A refused site's files too: it comes up once they change.
                for file in [&tls.cert, &tls.key] {
                    watched.push((file.clone(), modified(file)));
                }
            }
            let compiled = compile_site(sc, &config, &old_groups, &logins, now);
            warnings
                .extend((compiled.warnings.iter()).map(|w| format!("site {}: {w}", sc.names[0])));
            match compiled.site {
                Ok((site, key)) => {
                    let index = sites.len();
                    for name in &sc.names {
                        names.insert(name, index);
                    }
                    if let Some(key) = key {
                        certs.add(&sc.names, key);
                    }
                    sites.push(site);
                }
                Err(reasons) => {
                    for name in &sc.names {
                        names.refuse(name);
                        certs.refuse(name);
                    }
                    refused.push(RefusedSite {
                        name: sc.names[0].clone(),
                        reasons,
                        names: sc.names.clone(),
                    });
                }
            }
        }

        let challenge = open_challenge_dir(&config.challenge_dir)?;
        let hsts = (config.hsts_max_age > 0).then(|| {
            HeaderValue::from_str(&format!("max-age={}", config.hsts_max_age))
                .expect("digits are a header value")
        });
        let https_port = https_port(&config);
        let default_tls_site = sites.iter().position(|s| s.tls);
        let health_check = config.health_check.as_ref().and_then(|hc| {
            names.lookup(&hc.site)?;
            Some(HealthRoute {
                path: hc.path.clone(),
                host: hc.site.clone(),
                host_header: HeaderValue::from_str(&hc.site).ok()?,
            })
        });
        let caches = (sites.iter())
            .flat_map(|s: &Site| s.routes.iter())
            .any(|r| r.cache.is_some());
        let cache = caches.then(|| match previous.and_then(|p| p.cache.as_ref()) {
            Some(store) if store.settings == config.cache => Arc::clone(store),
            _ => Arc::new(Store::new(&config.cache)),
        });
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
            refused,
            warnings,
            cache,
            health_check,
        })
    }

    /// The fingerprints of the routes that cache (entries of others are
    /// dropped after a reload).
    pub fn cached_routes(&self) -> std::collections::HashSet<u64> {
        (self.sites.iter())
            .flat_map(|s| s.routes.iter())
            .filter_map(|r| r.cache.as_ref().map(|c| c.fingerprint))
            .collect()
    }

    /// The sites of the file that are not served, each with why.
    pub fn refused(&self) -> &[RefusedSite] {
        &self.refused
    }

    /// Writes the refused sites (an error line per reason) and the
    /// warnings to the log.
    pub fn log_problems(&self) {
        for site in &self.refused {
            for reason in &site.reasons {
                tracing::error!("site {} is not served: {reason}", site.name);
            }
        }
        for warning in &self.warnings {
            tracing::warn!("{warning}");
        }
        if self.sites.is_empty() && !self.refused.is_empty() {
            tracing::warn!(
                "every site is refused: only ACME challenges are answered until a site's files are fixed"
            );
        }
    }

    /// Whether this state, replacing `running`, keeps serving every name
    /// `running` serves; if not, which sites it would refuse, and why.
    pub fn keeps_serving(&self, running: &State) -> Result<()> {
        let lost: Vec<String> = (self.refused.iter())
            .filter(|site| site.names.iter().any(|n| running.names.lookup(n).is_some()))
            .flat_map(RefusedSite::lines)
            .collect();
        if lost.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("it would stop serving a site: {}", lost.join("; ")))
        }
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

    /// The logins of the served sites (for discovery).
    pub fn providers(&self) -> impl Iterator<Item = Arc<Provider>> + '_ {
        self.sites.iter().filter_map(|s| s.auth.clone())
    }

    /// Every rate limiter (a site's once), for forgetting idle clients and
    /// the metrics.
    pub fn limiters(&self) -> Vec<Arc<Limiter>> {
        let mut all: Vec<Arc<Limiter>> = Vec::new();
        for site in &self.sites {
            for l in site
                .rate_limit
                .iter()
                .chain(site.routes.iter().filter_map(|r| r.rate_limit.as_ref()))
            {
                if !all.iter().any(|a| Arc::ptr_eq(a, l)) {
                    all.push(Arc::clone(l));
                }
            }
        }
        all
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

fn https_port(config: &ProxyConfig) -> u16 {
    config.https_listen.first().map_or(443, |a| a.port())
}

/// What the sites' logins are built with.
struct Logins {
    /// The session keys, or why they cannot be had (every login site is
    /// then refused).
    keys: Option<Result<Arc<SessionKeys>, String>>,
    /// The providers of the state being replaced, by site, so that a
    /// reload keeps what discovery found.
    previous: HashMap<String, Arc<Provider>>,
    https_port: u16,
}

fn providers_by_site(state: &State) -> HashMap<String, Arc<Provider>> {
    state.providers().map(|p| (p.site.clone(), p)).collect()
}

/// The session key file's keys, when a site has a login. `create`: made
/// at first use (the daemon); else a missing file is fine (`validate`:
/// the daemon will create it) and one-off keys stand in. With
/// `session_key_ssm`, the keys the daemon read (`ssm_keys`); without
/// them, one-off keys for `validate`, none for the daemon.
fn session_keys(
    config: &ProxyConfig,
    create: bool,
    ssm_keys: Option<&Arc<SessionKeys>>,
) -> Option<Result<Arc<SessionKeys>, String>> {
    if config.sites.iter().all(|s| s.auth.is_none()) {
        return None;
    }
    if let Some(ssm) = &config.session_key_ssm {
        return Some(match (ssm_keys, create) {
            (Some(keys), _) => Ok(Arc::clone(keys)),
            (None, true) => Err(format!(
                "the session keys of SSM parameter {} were not read",
                ssm.parameter
            )),
            (None, false) => Ok(Arc::new(SessionKeys::new(Keys::ephemeral()))),
        });
    }
    let Some(path) = config.session_key_file.as_ref() else {
        // A problem of the text, which `ProxyConfig::problems` names; the
        // daemon never builds such a file, and would refuse its sites.
        return Some(match create {
            true => Err("no session_key_file".into()),
            false => Ok(Arc::new(SessionKeys::new(Keys::ephemeral()))),
        });
    };
    let keys = if create || path.exists() {
        Keys::load_or_create(path, owner(config))
    } else {
        Ok(Keys::ephemeral())
    };
    Some(
        keys.map(|k| Arc::new(SessionKeys::new(k)))
            .map_err(|e| format!("{e:#}")),
    )
}

/// Who a new session key file belongs to: the user the daemon serves as,
/// when it starts as root (it creates the file before dropping to it).
fn owner(config: &ProxyConfig) -> Option<(u32, u32)> {
    let user = config.user.as_deref()?;
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let entry = nix::unistd::User::from_name(user).ok()??;
    Some((entry.uid.as_raw(), entry.gid.as_raw()))
}

/// A site compiled: ready to serve with its certificate, or every reason
/// it cannot be; the warnings either way.
struct Compiled {
    site: Result<(Site, Option<rustls::sign::CertifiedKey>), Vec<String>>,
    warnings: Vec<String>,
}

fn compile_site(
    sc: &SiteConfig,
    config: &ProxyConfig,
    old_groups: &HashMap<GroupKey, Arc<Group>>,
    logins: &Logins,
    now: i64,
) -> Compiled {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut key = None;
    if let Some(tls) = &sc.tls {
        let loaded = load_certificate(tls, &sc.names, now);
        warnings = loaded.warnings;
        match loaded.key {
            Ok(loaded) => key = Some(loaded),
            Err(reasons) => problems.extend(reasons),
        }
    }
    let site_access = sc.access.clone().map(Arc::new);
    let site_limit = match sc.rate_limit.as_ref().map(Limiter::new).transpose() {
        Ok(l) => l.map(Arc::new),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let redirects: Vec<Redirect> = sc
        .redirects
        .iter()
        .filter_map(|rc| Redirect::compile(rc).map_err(|e| problems.push(e)).ok())
        .collect();
    let mut routes = Vec::new();
    for rc in &sc.routes {
        match route(
            rc,
            sc,
            site_access.as_ref(),
            site_limit.as_ref(),
            config,
            old_groups,
        ) {
            Ok(route) => routes.push(route),
            Err(reason) => problems.push(reason),
        }
    }
    let auth = sc.auth.as_ref().and_then(|auth| match &logins.keys {
        Some(Ok(keys)) => {
            let mut claim_names: Vec<String> = routes
                .iter()
                .filter_map(|r| r.auth.as_ref())
                .flat_map(|p| p.claim_names().map(str::to_string))
                .collect();
            claim_names.sort();
            claim_names.dedup();
            let first = &sc.names[0];
            match Provider::new(
                first,
                auth,
                logins.https_port,
                Arc::clone(keys),
                claim_names,
                logins.previous.get(first).map(|p| &**p),
            ) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    problems.push(format!("login: {e:#}"));
                    None
                }
            }
        }
        Some(Err(e)) => {
            problems.push(format!("login: {e}"));
            None
        }
        None => {
            problems.push("login: no session_key_file".into());
            None
        }
    });
    let site = if problems.is_empty() {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        let tls = sc.tls.is_some();
        Ok((
            Site {
                tls,
                routes,
                auth,
                access: site_access,
                canonical_host: sc.canonical_host.clone(),
                redirects,
                rate_limit: site_limit,
                normalize: sc.auth.is_some()
                    || sc.routes.iter().any(|r| {
                        r.access.is_some() || r.basic_auth.is_some() || r.rate_limit.is_some()
                    }),
            },
            key,
        ))
    } else {
        Err(problems)
    };
    Compiled { site, warnings }
}

/// What keeps `sc` from being served, and the warnings about it, as
/// [`State::build`] finds them: the daemon and `proxy validate` agree.
pub fn site_problems(sc: &SiteConfig, config: &ProxyConfig) -> (Vec<String>, Vec<String>) {
    // An upstream that does not parse is a problem of the text, which
    // `ProxyConfig::problems` lists; only the files are checked here.
    let mut files = sc.clone();
    files
        .routes
        .retain(|r| r.upstreams.iter().all(|u| parse_upstream(u).is_ok()));
    let logins = Logins {
        keys: session_keys(config, false, None),
        previous: HashMap::new(),
        https_port: https_port(config),
    };
    let compiled = compile_site(&files, config, &HashMap::new(), &logins, unix_now());
    (compiled.site.err().unwrap_or_default(), compiled.warnings)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// One route: its static root opened, or its upstream group (the old
/// state's when unchanged).
fn route(
    rc: &RouteConfig,
    sc: &SiteConfig,
    site_access: Option<&Arc<AccessConfig>>,
    site_limit: Option<&Arc<Limiter>>,
    config: &ProxyConfig,
    old_groups: &HashMap<GroupKey, Arc<Group>>,
) -> Result<Route, String> {
    let kind = match &rc.root {
        Some(root) => RouteKind::Static(StaticRoot::open(root).map_err(|e| {
            let root = root.display();
            let fix = "create it or correct the route's root";
            match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!(
                        "route {}: static root {root} does not exist — {fix}",
                        rc.path
                    )
                }
                std::io::ErrorKind::NotADirectory => {
                    format!(
                        "route {}: static root {root} is not a directory — {fix}",
                        rc.path
                    )
                }
                _ => format!(
                    "route {}: cannot open static root {root}: {e} — let the proxy's user read it",
                    rc.path
                ),
            }
        })?),
        None => {
            let addrs = rc
                .upstreams
                .iter()
                .map(|u| parse_upstream(u))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("route {}: {e}", rc.path))?;
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
    let kind_is_proxy = matches!(kind, RouteKind::Proxy(_));
    Ok(Route {
        prefix: rc.path.clone(),
        kind,
        max_body: rc.max_body_bytes.unwrap_or(config.limits.max_body_bytes),
        auth: rc.auth.as_ref().map(Policy::new),
        access: match &rc.access {
            Some(own) => Some(Arc::new(own.clone())),
            None => site_access.cloned(),
        },
        allow_dotfiles: rc.allow_dotfiles,
        rewrite: rc
            .rewrite
            .as_ref()
            .map(Rewrite::compile)
            .transpose()
            .map_err(|e| format!("route {}: {e}", rc.path))?,
        trailing_slash: rc.trailing_slash,
        basic_auth: rc
            .basic_auth
            .as_ref()
            .map(|b| {
                BasicAuth::load(&b.htpasswd_file, &b.realm, b.forward_authorization).map(Arc::new)
            })
            .transpose()
            .map_err(|e| format!("route {}: {e}", rc.path))?,
        rate_limit: match &rc.rate_limit {
            Some(own) => Some(Arc::new(
                Limiter::new(own).map_err(|e| format!("route {}: {e}", rc.path))?,
            )),
            None => site_limit.cloned(),
        },
        cache: (rc.cache.as_ref().or(sc.cache.as_ref()))
            .filter(|_| kind_is_proxy)
            .and_then(|c| RouteCache::compile(c, &sc.names[0], rc)),
        compress: (rc.compress.as_ref().or(sc.compress.as_ref())).and_then(Compress::compile),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::proxy::config::TlsFiles;

    /// A certificate for `names` and its key, written into `dir`.
    fn certificate(dir: &Path, stem: &str, names: &[&str]) -> TlsFiles {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let files = TlsFiles {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }

    fn site(names: &[&str], tls: Option<TlsFiles>, root: PathBuf) -> SiteConfig {
        SiteConfig {
            names: names.iter().map(|n| n.to_string()).collect(),
            tls,
            routes: vec![RouteConfig {
                path: "/".into(),
                root: Some(root),
                ..RouteConfig::default()
            }],
            auth: None,
            access: None,
            canonical_host: None,
            redirects: Vec::new(),
            rate_limit: None,
            cache: None,
            compress: None,
        }
    }

    fn config(dir: &Path, sites: Vec<SiteConfig>) -> ProxyConfig {
        ProxyConfig {
            https_listen: vec!["127.0.0.1:8443".parse().unwrap()],
            challenge_dir: dir.join("challenge"),
            sites,
            ..ProxyConfig::default()
        }
    }

    #[test]
    fn a_site_with_a_missing_certificate_is_refused_and_the_others_served() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let wildcard = certificate(d, "wild", &["*.a.test"]);
        let mut missing = certificate(d, "shop", &["shop.a.test"]);
        missing.cert = d.join("nowhere.crt");
        let state = State::build(
            config(
                d,
                vec![
                    site(&["shop.a.test"], Some(missing), d.to_path_buf()),
                    site(&["*.a.test"], Some(wildcard), d.to_path_buf()),
                ],
            ),
            None,
        )
        .unwrap();
        assert_eq!(state.refused().len(), 1);
        let refused = &state.refused()[0];
        assert_eq!(refused.name, "shop.a.test");
        assert_eq!(
            refused.lines().collect::<Vec<_>>(),
            [format!(
                "site shop.a.test: certificate {} does not exist — issue it (`webtier cert issue`), or correct the path in the site's tls",
                d.join("nowhere.crt").display()
            )]
        );
        // Its names get nothing, not even the other site's wildcard; the
        // other site is served, and is the one without SNI.
        assert_eq!(state.names.lookup("shop.a.test"), None);
        assert!(state.certs.lookup(Some("shop.a.test")).is_none());
        assert_eq!(state.names.lookup("www.a.test"), Some(0));
        assert!(state.certs.lookup(Some("www.a.test")).is_some());
        assert_eq!(state.default_tls_site, Some(0));
        assert!(state.certs.lookup(None).is_some());
        // Its files are watched, so that it comes up once they appear.
        assert!(
            state
                .watched
                .iter()
                .any(|(p, _)| p == &d.join("nowhere.crt"))
        );
    }

    #[test]
    fn every_problem_of_a_site_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut files = certificate(d, "a", &["a.test"]);
        files.key = certificate(d, "b", &["b.test"]).key;
        let state = State::build(
            config(
                d,
                vec![site(&["a.test", "www.a.test"], Some(files), d.join("gone"))],
            ),
            None,
        )
        .unwrap();
        let reasons = &state.refused()[0].reasons;
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(
            reasons[0].contains("does not cover www.a.test"),
            "{reasons:?}"
        );
        assert!(reasons[1].starts_with("private key"), "{reasons:?}");
        assert!(
            reasons[1].contains("does not match certificate"),
            "{reasons:?}"
        );
        assert_eq!(
            reasons[2],
            format!(
                "route /: static root {} does not exist — create it or correct the route's root",
                d.join("gone").display()
            )
        );
    }

    #[test]
    fn with_every_site_refused_the_state_still_builds() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = State::build(
            config(d, vec![site(&["a.test"], None, d.join("gone"))]),
            None,
        )
        .unwrap();
        assert!(state.sites.is_empty());
        assert_eq!(state.refused().len(), 1);
        assert!(d.join("challenge").is_dir(), "challenges are still served");
    }

    #[test]
    fn a_reload_may_not_take_down_a_serving_site_but_may_refuse_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let served = site(&["a.test"], None, d.to_path_buf());
        let running = State::build(config(d, vec![served.clone()]), None).unwrap();

        let broken = site(&["a.test"], None, d.join("gone"));
        let next = State::build(config(d, vec![broken]), Some(&running)).unwrap();
        let err = next.keeps_serving(&running).unwrap_err().to_string();
        assert!(
            err.starts_with("it would stop serving a site: site a.test: route /: static root"),
            "{err}"
        );

        let added = site(&["b.test"], None, d.join("gone"));
        let next = State::build(config(d, vec![served, added]), Some(&running)).unwrap();
        next.keeps_serving(&running).unwrap();
        assert_eq!(next.refused()[0].name, "b.test");
    }
}
