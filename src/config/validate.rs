//! Semantic checks: from `webtier.toml` as written to the resolved
//! [`Config`], collecting every problem rather than stopping at the first.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::diagnostic::Diagnostic;
use super::model::*;
use super::names;
use super::raw::*;

pub const DEFAULT_STATE_DIR: &str = "/var/lib/webtier";
const DEFAULT_PROXY_USER: &str = "webtier-proxy";
pub const DEFAULT_PROXY_CONFIG: &str = "/etc/webtier/proxy.toml";

struct Checker<'a> {
    file: &'a str,
    source: &'a str,
    /// Relative paths in the file are relative to the file's directory.
    base: &'a Path,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn problem(&mut self, span: Range<usize>, message: String) {
        self.problems
            .push(Diagnostic::at(self.file, self.source, Some(span), message));
    }

    fn path(&self, value: &S<String>) -> PathBuf {
        self.base.join(value.get_ref())
    }

    /// A path that must name an existing directory or file.
    fn existing(&mut self, value: &S<String>, key: &str, want_dir: bool) -> PathBuf {
        let path = self.path(value);
        let what = if want_dir { "directory" } else { "file" };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() == want_dir => {}
            Ok(_) => self.problem(
                value.span(),
                format!("{key} \"{}\" is not a {what}", value.get_ref()),
            ),
            Err(e) => self.problem(
                value.span(),
                format!(
                    "{key} \"{}\" cannot be read ({}) — create the {what} or fix the path",
                    value.get_ref(),
                    io_reason(&e)
                ),
            ),
        }
        path
    }

    fn port(&mut self, value: Option<&S<i64>>, key: &str, default: u16) -> u16 {
        let Some(value) = value else { return default };
        match u16::try_from(*value.get_ref()) {
            Ok(p) if p > 0 => p,
            _ => {
                self.problem(
                    value.span(),
                    format!("{key} = {} is not a port — use 1 to 65535", value.get_ref()),
                );
                default
            }
        }
    }

    fn upstreams(&mut self, list: &[S<String>]) -> Vec<Upstream> {
        list.iter()
            .filter_map(|u| match names::upstream(u.get_ref()) {
                Ok(up) => Some(up),
                Err(msg) => {
                    self.problem(u.span(), msg);
                    None
                }
            })
            .collect()
    }

    /// Client networks, in order: CIDR blocks, or single addresses
    /// (`allow`, `deny`).
    fn networks(&mut self, list: &[S<String>]) -> Vec<IpNet> {
        let mut nets = Vec::with_capacity(list.len());
        for item in list {
            match item.get_ref().parse::<std::net::IpAddr>() {
                Ok(ip) => nets.push(IpNet::from(ip)),
                Err(_) if item.get_ref().parse::<IpNet>().is_err() => self.problem(
                    item.span(),
                    format!(
                        "\"{}\" is neither an address nor a network — use one like \"203.0.113.7\" or \"203.0.113.0/24\"",
                        item.get_ref()
                    ),
                ),
                Err(_) => nets.extend(self.cidrs(std::slice::from_ref(item))),
            }
        }
        nets
    }

    /// CIDR blocks, each checked for host bits.
    fn cidrs(&mut self, list: &[S<String>]) -> Vec<IpNet> {
        list.iter()
            .filter_map(|s| match s.get_ref().parse::<IpNet>() {
                Ok(net) if net.trunc() == net => Some(net),
                Ok(net) => {
                    self.problem(
                        s.span(),
                        format!(
                            "\"{}\" has host bits set — did you mean \"{}\"?",
                            s.get_ref(),
                            net.trunc()
                        ),
                    );
                    None
                }
                Err(_) => {
                    self.problem(
                        s.span(),
                        format!(
                            "\"{}\" is not a CIDR block — use one like \"203.0.113.0/24\" or \"::/0\"",
                            s.get_ref()
                        ),
                    );
                    None
                }
            })
            .collect()
    }

    /// A whole number in `min..=max`, else a problem naming the key.
    fn number(
        &mut self,
        value: Option<&S<i64>>,
        key: &str,
        min: i64,
        max: i64,
        default: i64,
    ) -> i64 {
        let Some(value) = value else { return default };
        let n = *value.get_ref();
        if (min..=max).contains(&n) {
            n
        } else {
            self.problem(
                value.span(),
                format!("{key} = {n} is out of range — use {min} to {max}"),
            );
            default
        }
    }

    /// An absolute URL path for health checks.
    fn check_path(&mut self, value: Option<&S<String>>) -> Option<String> {
        let value = value?;
        let path = value.get_ref();
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            self.problem(
                value.span(),
                format!("health_check \"{path}\" must be a path like \"/health\""),
            );
            return None;
        }
        Some(path.clone())
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Resolves and checks a parsed file. `path` is the file's absolute path.
pub fn resolve(
    raw: RawConfig,
    file: &str,
    source: &str,
    path: &Path,
) -> Result<Config, Vec<Diagnostic>> {
    let base = path.parent().unwrap_or(Path::new("/"));
    let mut c = Checker {
        file,
        source,
        base,
        problems: Vec::new(),
    };

    let state_dir = raw
        .state_dir
        .as_ref()
        .map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), |s| c.path(s));
    let aws = resolve_aws(&mut c, raw.aws);
    let target = raw.target.map(|t| resolve_target(&mut c, t));
    let acme = resolve_acme(&mut c, raw.acme);
    let mut proxy = resolve_proxy(&mut c, raw.proxy, &state_dir, path, aws.region.is_some());
    let dns = resolve_dns(&mut c, raw.dns.unwrap_or_default());
    let sites = resolve_sites(&mut c, raw.site, acme.challenge);
    let load_balancer = raw.load_balancer.map(|lb| {
        let alb = resolve_alb(&mut c, lb.get_ref(), &proxy);
        if let Some(site) = lb.get_ref().health_check.as_ref().and_then(|h| h.site.as_ref())
            && !sites.iter().any(|s| s.domain == site.get_ref().to_ascii_lowercase())
        {
            c.problem(
                site.span(),
                format!(
                    "site \"{}\" is not the domain of a [[site]] — name the site whose app the health check reaches",
                    site.get_ref()
                ),
            );
        }
        let at = lb.span();
        check_alb_fits(&mut c, at.clone(), &target, &dns, &proxy, &aws, &sites);
        // Logins behind several instances need one session key for all:
        // kept in SSM unless the file names a parameter of its own.
        if sites.iter().any(|s| s.auth.is_some()) && proxy.session_key_parameter.is_none() {
            if aws.region.is_none() {
                c.problem(
                    at,
                    "with [load_balancer] a login site's session key is shared through SSM Parameter Store, in the region of [aws] — set region there, like region = \"eu-west-1\"".into(),
                );
            }
            proxy.session_key_parameter = Some(default_session_key_parameter(&dns.owner));
        }
        alb
    });

    if c.problems.is_empty() {
        Ok(Config {
            source: path.to_path_buf(),
            state_dir,
            aws,
            target,
            acme,
            proxy,
            dns,
            load_balancer,
            sites,
        })
    } else {
        let mut problems = c.problems;
        problems.sort_by_key(|d| (d.line, d.column));
        Err(problems)
    }
}

fn check_region(c: &mut Checker<'_>, region: &S<String>) {
    let r = region.get_ref();
    let plausible = r.contains('-')
        && r.ends_with(|ch: char| ch.is_ascii_digit())
        && r.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
    if !plausible {
        c.problem(
            region.span(),
            format!("region \"{r}\" is not an AWS region name — use one like \"us-east-1\""),
        );
    }
}

fn resolve_aws(c: &mut Checker<'_>, raw: Option<RawAws>) -> Aws {
    let Some(raw) = raw else {
        return Aws::default();
    };
    if let Some(region) = &raw.region {
        check_region(c, region);
    }
    Aws {
        region: raw.region.map(|r| r.into_inner()),
        profile: raw.profile,
    }
}

fn resolve_target(c: &mut Checker<'_>, raw: RawTarget) -> Target {
    let instances: Vec<String> = match &raw.instances {
        // Tags alone select the instances.
        None if !raw.tags.is_empty() => Vec::new(),
        None => vec!["self".to_string()],
        Some(list) => {
            if list.get_ref().is_empty() && raw.tags.is_empty() {
                c.problem(
                    list.span(),
                    "instances is empty and no tags are set — name at least one instance, \"self\", or set tags".into(),
                );
            }
            for id in list.get_ref() {
                if let Err(msg) = names::instance(id.get_ref()) {
                    c.problem(id.span(), msg);
                }
            }
            list.get_ref().iter().map(|s| s.get_ref().clone()).collect()
        }
    };
    let ipv6 = raw.ipv6.unwrap_or(true);
    let ingress_cidrs = match raw.ingress_cidrs {
        None if ipv6 => vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()],
        None => vec!["0.0.0.0/0".parse().unwrap()],
        Some(list) => c.cidrs(&list),
    };
    if let Some(sg) = &raw.security_group
        && !is_aws_id(sg.get_ref(), "sg-")
    {
        c.problem(
            sg.span(),
            format!(
                "\"{}\" is not a security group id — use one like \"sg-0123456789abcdef0\"",
                sg.get_ref()
            ),
        );
    }
    Target {
        instances,
        tags: raw.tags,
        ipv6,
        ingress_cidrs,
        security_group: raw.security_group.map(|s| s.into_inner()),
    }
}

fn resolve_acme(c: &mut Checker<'_>, raw: Option<RawAcme>) -> Acme {
    let raw = raw.unwrap_or(RawAcme {
        directory: None,
        email: None,
        challenge: None,
        key: None,
        profile: None,
        ca_root: None,
        eab: None,
        schedule: None,
        preflight: None,
    });
    let directory = match &raw.directory {
        None => LETSENCRYPT.to_string(),
        Some(d) => match d.get_ref().as_str() {
            "letsencrypt" => LETSENCRYPT.to_string(),
            "letsencrypt-staging" => LETSENCRYPT_STAGING.to_string(),
            url if url.starts_with("https://") && url.len() > "https://".len() => url.to_string(),
            url if url.starts_with("http://") => {
                c.problem(
                    d.span(),
                    format!(
                        "directory \"{url}\" is plain HTTP — ACME servers are reached over https://"
                    ),
                );
                url.to_string()
            }
            other => {
                c.problem(
                    d.span(),
                    format!(
                        "directory \"{other}\" is neither a preset nor a URL — use \"letsencrypt\", \"letsencrypt-staging\" or an https:// URL"
                    ),
                );
                other.to_string()
            }
        },
    };
    if let Some(email) = &raw.email
        && let Err(msg) = names::email(email.get_ref())
    {
        c.problem(email.span(), msg);
    }
    if let Some(p) = &raw.profile
        && (p.get_ref().is_empty()
            || !p
                .get_ref()
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)))
    {
        c.problem(
            p.span(),
            format!(
                "profile \"{}\" is not a profile name, like \"tlsserver\"",
                p.get_ref()
            ),
        );
    }
    let ca_root = raw
        .ca_root
        .as_ref()
        .map(|r| c.existing(r, "ca_root", false));
    let eab = raw.eab.as_ref().map(|e| {
        if e.kid.get_ref().trim().is_empty() {
            c.problem(e.kid.span(), "eab kid is empty".into());
        }
        Eab {
            kid: e.kid.get_ref().clone(),
            hmac_key_file: c.existing(&e.hmac_key_file, "hmac_key_file", false),
        }
    });
    Acme {
        directory,
        email: raw.email.map(|e| e.into_inner()),
        challenge: raw.challenge.unwrap_or_default(),
        key: raw.key.unwrap_or_default(),
        profile: raw.profile.map(|p| p.into_inner()),
        ca_root,
        eab,
        schedule: raw.schedule.unwrap_or_default(),
        preflight: raw.preflight.unwrap_or(true),
    }
}

fn resolve_proxy(
    c: &mut Checker<'_>,
    raw: Option<RawProxy>,
    state_dir: &Path,
    source: &Path,
    has_region: bool,
) -> Proxy {
    let raw = raw.unwrap_or_default();
    let (http_port, https_port) = proxy_ports(c, &raw);
    let path_or = |c: &Checker<'_>, v: &Option<S<String>>, default: PathBuf| {
        v.as_ref().map_or(default, |s| c.path(s))
    };
    let config_file = path_or(c, &raw.config_file, PathBuf::from(DEFAULT_PROXY_CONFIG));
    if let Some(value) = &raw.config_file {
        check_proxy_config_file(c, value, &config_file, source);
    }
    let admin_listen = raw
        .admin_listen
        .as_ref()
        .and_then(|value| admin_listen(c, value));
    let defaults = crate::proxy::config::ProxyConfig::default();
    let trusted_proxies = raw
        .trusted_proxies
        .as_ref()
        .map_or_else(Vec::new, |list| c.cidrs(list));
    Proxy {
        config_file,
        challenge_dir: path_or(c, &raw.challenge_dir, state_dir.join("acme-challenge")),
        http_port,
        https_port,
        bind: bind_addresses(c, raw.bind.as_ref()),
        workers: c.number(raw.workers.as_ref(), "workers", 0, 1024, 0) as usize,
        hsts_max_age: c.number(
            raw.hsts_max_age.as_ref(),
            "hsts_max_age",
            0,
            i64::from(u32::MAX),
            defaults.hsts_max_age as i64,
        ) as u64,
        access_log: raw.access_log.as_ref().map(|p| {
            if p.get_ref() == "-" {
                PathBuf::from("-")
            } else {
                c.path(p)
            }
        }),
        access_log_format: raw.access_log_format.unwrap_or_default(),
        access_log_query: raw.access_log_query.unwrap_or_default(),
        admin_listen,
        trusted_proxies,
        max_connections: c.number(
            raw.max_connections.as_ref(),
            "max_connections",
            1,
            1_000_000,
            defaults.limits.max_connections as i64,
        ) as usize,
        max_body_bytes: c.number(
            raw.max_body_bytes.as_ref(),
            "max_body_bytes",
            0,
            i64::MAX,
            defaults.limits.max_body_bytes as i64,
        ) as u64,
        http2_max_streams: c.number(
            raw.http2_max_streams.as_ref(),
            "http2_max_streams",
            1,
            i64::from(u32::MAX),
            i64::from(defaults.limits.http2_max_streams),
        ) as u32,
        user: proxy_user(c, raw.user.as_ref()),
        launch: raw.launch.unwrap_or_default(),
        cache: cache_store(c, &raw, &defaults.cache),
        session_key_parameter: session_key_parameter(
            c,
            raw.session_key_parameter.as_ref(),
            has_region,
        ),
        session_key_rotate_days: c.number(
            raw.session_key_rotate_days.as_ref(),
            "session_key_rotate_days",
            1,
            365,
            30,
        ) as u32,
        timeouts: resolve_timeouts(c, raw.timeouts.unwrap_or_default(), &defaults.timeouts),
    }
}

/// The session key parameter of a login site behind `[load_balancer]`
/// when the file names none: one per webtier owner.
pub fn default_session_key_parameter(owner: &str) -> String {
    format!("/webtier/{owner}/session-keys")
}

/// `session_key_parameter`: an SSM parameter name, in the region `[aws]`
/// names (the proxy reads it there, without webtier's configuration).
fn session_key_parameter(
    c: &mut Checker<'_>,
    value: Option<&S<String>>,
    has_region: bool,
) -> Option<String> {
    let value = value?;
    let name = value.get_ref();
    if let Some(problem) = crate::proxy::config::ssm_parameter_problem(name) {
        c.problem(value.span(), format!("session_key_parameter: {problem}"));
    } else if !has_region {
        c.problem(
            value.span(),
            "session_key_parameter needs region in [aws] (the proxy reads the parameter in that region) — set it, like region = \"eu-west-1\"".into(),
        );
    }
    Some(name.clone())
}

/// `cache_size_mb` and `cache_max_entry_kb`: the response cache's store.
fn cache_store(
    c: &mut Checker<'_>,
    raw: &RawProxy,
    defaults: &crate::proxy::config::CacheStore,
) -> crate::proxy::config::CacheStore {
    let store = crate::proxy::config::CacheStore {
        max_size_mb: c.number(
            raw.cache_size_mb.as_ref(),
            "cache_size_mb",
            1,
            1_048_576,
            defaults.max_size_mb as i64,
        ) as u64,
        max_entry_kb: c.number(
            raw.cache_max_entry_kb.as_ref(),
            "cache_max_entry_kb",
            1,
            1_048_576,
            defaults.max_entry_kb as i64,
        ) as u64,
    };
    if let Some(at) = raw
        .cache_max_entry_kb
        .as_ref()
        .or(raw.cache_size_mb.as_ref())
        && let Some(problem) = crate::proxy::config::cache_store_problems(&store).pop()
    {
        c.problem(
            at.span(),
            problem
                .replace("cache max_size_mb", "cache_size_mb")
                .replace("cache max_entry_kb", "cache_max_entry_kb")
                .replace("of max_size_mb", "of cache_size_mb"),
        );
    }
    store
}

/// A site's `cache`: it applies to its proxied routes without their own,
/// so it needs one.
fn site_cache(c: &mut Checker<'_>, site: &RawSite) -> Option<crate::proxy::config::CacheConfig> {
    let cache = site.cache.as_ref()?;
    let applies = !site.upstreams.is_empty()
        || (site.route.iter()).any(|r| r.upstreams.is_some() && r.cache.is_none());
    if cache.get_ref().enabled && !applies {
        c.problem(
            cache.span(),
            "the site's cache applies to its proxied routes without their own, and it has none — remove it, or set cache on a proxied route".into(),
        );
    }
    Some(cache.get_ref().clone())
}

/// A site's or route's `compress` table, its values in range.
fn compress(
    c: &mut Checker<'_>,
    raw: Option<&S<crate::proxy::config::CompressConfig>>,
) -> Option<crate::proxy::config::CompressConfig> {
    let raw = raw?;
    for problem in crate::proxy::config::compress_problems(raw.get_ref()) {
        c.problem(raw.span(), problem);
    }
    Some(raw.get_ref().clone())
}

/// `bind`: IP addresses, at least one, no repeats; both unspecified
/// addresses when unset.
fn bind_addresses(c: &mut Checker<'_>, list: Option<&S<Vec<S<String>>>>) -> Vec<std::net::IpAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let Some(list) = list else {
        return vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ];
    };
    let mut out: Vec<IpAddr> = Vec::new();
    for value in list.get_ref() {
        match value.get_ref().parse::<IpAddr>() {
            Ok(ip) if out.contains(&ip) => {
                c.problem(value.span(), format!("{ip} is listed twice in bind"))
            }
            Ok(ip) => out.push(ip),
            Err(_) => c.problem(
                value.span(),
                format!(
                    "{:?} is not an IP address — bind takes addresses such as \"0.0.0.0\", \"::\" or \"10.0.0.5\"",
                    value.get_ref()
                ),
            ),
        }
    }
    if list.get_ref().is_empty() {
        c.problem(
            list.span(),
            "bind is empty — list at least one address, or remove it to listen on all".into(),
        );
    }
    out
}

/// The proxy's system user: a plain user name, never root.
fn proxy_user(c: &mut Checker<'_>, value: Option<&S<String>>) -> String {
    let Some(value) = value else {
        return DEFAULT_PROXY_USER.to_string();
    };
    let name = value.get_ref();
    let plain = name.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_lowercase() || b == b'_' || (i > 0 && (b.is_ascii_digit() || b == b'-'))
    });
    if name == "root" {
        c.problem(
            value.span(),
            "user = \"root\" would serve as root — use an unprivileged user (the default webtier-proxy is created for you)".into(),
        );
    } else if name.is_empty() || name.len() > 32 || !plain {
        c.problem(
            value.span(),
            format!("user {name:?} is not a system user name (lowercase letters, digits, '-' and '_', at most 32, starting with a letter or '_')"),
        );
    }
    name.clone()
}

/// `http_port` and `https_port`, which must differ.
fn proxy_ports(c: &mut Checker<'_>, raw: &RawProxy) -> (u16, u16) {
    let http_port = c.port(raw.http_port.as_ref(), "http_port", 80);
    let https_port = c.port(raw.https_port.as_ref(), "https_port", 443);
    if http_port == https_port
        && let Some(p) = raw.https_port.as_ref().or(raw.http_port.as_ref())
    {
        c.problem(
            p.span(),
            format!("http_port and https_port are both {http_port} — they need different ports"),
        );
    }
    (http_port, https_port)
}

/// The generated proxy file (`path`, as `value` resolves) must be a file
/// of its own: not a directory, not webtier.toml itself.
fn check_proxy_config_file(c: &mut Checker<'_>, value: &S<String>, path: &Path, source: &Path) {
    let same = std::fs::canonicalize(path).is_ok_and(|p| p == source);
    if value.get_ref().is_empty() || path.is_dir() {
        c.problem(
            value.span(),
            "config_file must name a file, not a directory — like \"/etc/webtier/proxy.toml\""
                .into(),
        );
    } else if same {
        c.problem(
            value.span(),
            "config_file is this webtier.toml itself — the generated proxy configuration needs a file of its own".into(),
        );
    }
}

/// `admin_listen`: a loopback address and port.
fn admin_listen(c: &mut Checker<'_>, value: &S<String>) -> Option<std::net::SocketAddr> {
    match value.get_ref().parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() => Some(addr),
        _ => {
            c.problem(
                value.span(),
                format!(
                    "admin_listen \"{}\" must be a loopback address and port, like \"127.0.0.1:9100\"",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

/// `[proxy.timeouts]`: each at least 1 ms (0 for the upstream pool: no
/// pool; and for the drain: none), at most a day.
fn resolve_timeouts(c: &mut Checker<'_>, raw: RawTimeouts, d: &Timeouts) -> Timeouts {
    const DAY: i64 = 86_400_000;
    let mut ms = |value: Option<S<i64>>, key: &str, min: i64, default: u64| {
        c.number(value.as_ref(), key, min, DAY, default as i64) as u64
    };
    Timeouts {
        header_read_ms: ms(raw.header_read_ms, "header_read_ms", 1, d.header_read_ms),
        send_ms: ms(raw.send_ms, "send_ms", 1, d.send_ms),
        http2_idle_ms: ms(raw.http2_idle_ms, "http2_idle_ms", 1, d.http2_idle_ms),
        tunnel_idle_ms: ms(raw.tunnel_idle_ms, "tunnel_idle_ms", 1, d.tunnel_idle_ms),
        upstream_connect_ms: ms(
            raw.upstream_connect_ms,
            "upstream_connect_ms",
            1,
            d.upstream_connect_ms,
        ),
        upstream_read_ms: ms(
            raw.upstream_read_ms,
            "upstream_read_ms",
            1,
            d.upstream_read_ms,
        ),
        upstream_idle_ms: ms(
            raw.upstream_idle_ms,
            "upstream_idle_ms",
            0,
            d.upstream_idle_ms,
        ),
        drain_ms: ms(raw.drain_ms, "drain_ms", 0, d.drain_ms),
    }
}

fn is_aws_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// `[load_balancer]` on its own: names, ports, timings.
fn resolve_alb(c: &mut Checker<'_>, raw: &RawAlb, proxy: &Proxy) -> Alb {
    let name = raw.name.get_ref();
    let valid_name = (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-");
    if !valid_name {
        c.problem(
            raw.name.span(),
            format!(
                "name \"{name}\" is not a load balancer name — use 1 to 32 letters, digits and '-', not starting or ending with '-' or starting with \"internal-\""
            ),
        );
    }
    let subnets = match raw.subnets.as_ref() {
        None => Subnets::Instances,
        Some(s) => match s.get_ref() {
            RawSubnets::Word(w) if w == "instances" => Subnets::Instances,
            RawSubnets::Word(w) => {
                c.problem(
                    s.span(),
                    format!(
                        "subnets = \"{w}\" — use \"instances\" (the target instances' subnets) or a list of subnet ids"
                    ),
                );
                Subnets::Instances
            }
            RawSubnets::List(list) => {
                for id in list {
                    if !is_aws_id(id, "subnet-") {
                        c.problem(
                            s.span(),
                            format!(
                                "\"{id}\" is not a subnet id — use one like \"subnet-0123456789abcdef0\""
                            ),
                        );
                    }
                }
                let mut ids: Vec<String> = list.clone();
                ids.sort();
                ids.dedup();
                if ids.len() < 2 {
                    c.problem(
                        s.span(),
                        "an ALB needs subnets in at least two Availability Zones — list two or more, or use \"instances\"".into(),
                    );
                }
                Subnets::Ids(ids)
            }
        },
    };
    let http_port = c.port(raw.http_port.as_ref(), "http_port", 80);
    let https_port = c.port(raw.https_port.as_ref(), "https_port", 443);
    if http_port == https_port
        && let Some(p) = raw.https_port.as_ref().or(raw.http_port.as_ref())
    {
        c.problem(
            p.span(),
            format!("http_port and https_port are both {http_port} — the ALB needs one port for each listener"),
        );
    }
    let target_port = c.port(raw.target_port.as_ref(), "target_port", proxy.http_port);
    let idle_timeout_s =
        c.number(raw.idle_timeout_s.as_ref(), "idle_timeout_s", 1, 4000, 60) as u32;
    let deregistration_delay_s = c.number(
        raw.deregistration_delay_s.as_ref(),
        "deregistration_delay_s",
        0,
        3600,
        300,
    ) as u32;
    let health_check = alb_health_check(c, raw.health_check.as_ref());
    Alb {
        name: name.clone(),
        subnets,
        ipv6: raw.ipv6.unwrap_or(false),
        http_port,
        https_port,
        target_port,
        idle_timeout_s,
        deregistration_delay_s,
        health_check,
    }
}

fn alb_health_check(c: &mut Checker<'_>, raw: Option<&RawAlbHealth>) -> AlbHealthCheck {
    let none = RawAlbHealth {
        path: None,
        site: None,
        interval_s: None,
        timeout_s: None,
        healthy_threshold: None,
        unhealthy_threshold: None,
        matcher: None,
    };
    let raw = raw.unwrap_or(&none);
    let path = match &raw.path {
        None => "/".to_string(),
        Some(p) => {
            let text = p.get_ref();
            if !text.starts_with('/')
                || text.len() > 1024
                || text.chars().any(|ch| ch.is_whitespace() || ch.is_control())
            {
                c.problem(
                    p.span(),
                    format!(
                        "path \"{text}\" must be a path like \"/health\" (at most 1024 characters)"
                    ),
                );
            }
            if text.contains('?') {
                c.problem(
                    p.span(),
                    format!("path \"{text}\" must be a path without a query"),
                );
            }
            text.clone()
        }
    };
    let interval_s = c.number(raw.interval_s.as_ref(), "interval_s", 5, 300, 30) as u32;
    let timeout_s = c.number(raw.timeout_s.as_ref(), "timeout_s", 2, 120, 5) as u32;
    if timeout_s >= interval_s
        && let Some(t) = raw.timeout_s.as_ref().or(raw.interval_s.as_ref())
    {
        c.problem(
            t.span(),
            format!("timeout_s = {timeout_s} must be shorter than interval_s = {interval_s}"),
        );
    }
    let healthy_threshold = c.number(
        raw.healthy_threshold.as_ref(),
        "healthy_threshold",
        2,
        10,
        5,
    ) as u32;
    let unhealthy_threshold = c.number(
        raw.unhealthy_threshold.as_ref(),
        "unhealthy_threshold",
        2,
        10,
        2,
    ) as u32;
    let matcher = match &raw.matcher {
        // What an app's page answers, redirects included (a login).
        None => "200-399".to_string(),
        Some(m) => {
            if let Err(msg) = names::http_codes(m.get_ref()) {
                c.problem(m.span(), msg);
            }
            m.get_ref().clone()
        }
    };
    AlbHealthCheck {
        site: raw.site.as_ref().map(|s| s.get_ref().to_ascii_lowercase()),
        path,
        interval_s,
        timeout_s,
        healthy_threshold,
        unhealthy_threshold,
        matcher,
    }
}

/// `[load_balancer]` with the rest of the file: what it needs, and what
/// cannot go with it.
fn check_alb_fits(
    c: &mut Checker<'_>,
    at: Range<usize>,
    target: &Option<Target>,
    dns: &Dns,
    proxy: &Proxy,
    aws: &Aws,
    sites: &[Site],
) {
    if target.is_none() {
        c.problem(
            at.clone(),
            "[load_balancer] needs a [target] section: the instances the ALB sends requests to"
                .into(),
        );
    }
    if dns.load_balancer.is_some() {
        c.problem(
            at.clone(),
            "[load_balancer] and [dns] load_balancer both say where the names point — keep [load_balancer] (webtier fills the alias from the ALB it manages) and remove [dns] load_balancer".into(),
        );
    }
    for site in sites {
        if site.tls != Tls::Acm || site.acm_mode() != Some(AcmMode::Managed) {
            c.problem(
                at.clone(),
                format!(
                    "with [load_balancer] the ALB ends TLS: site \"{}\" needs tls = \"acm\" and [site.acm] mode = \"managed\"",
                    site.domain
                ),
            );
        } else if let (Some(acm), Some(region)) = (
            site.acm.as_ref().and_then(|a| a.region.as_ref()),
            &aws.region,
        ) && acm != region
        {
            c.problem(
                at.clone(),
                format!(
                    "site \"{}\" asks ACM in {acm}, but an ALB in {region} can use only certificates of its own region — remove [site.acm] region",
                    site.domain
                ),
            );
        }
    }
    if proxy.launch != Launch::None && proxy.trusted_proxies.is_empty() {
        c.problem(
            at,
            "with [load_balancer] every request reaches the proxy from the ALB — set [proxy] trusted_proxies to the VPC's CIDR (for example [\"10.0.0.0/16\"]) so that client addresses come from the ALB's X-Forwarded-For".into(),
        );
    }
}

/// A Route 53 zone id, with or without the `/hostedzone/` prefix.
fn zone_id(c: &mut Checker<'_>, value: &S<String>) -> String {
    let id = value.get_ref().trim_start_matches("/hostedzone/");
    if id.is_empty()
        || id.len() > 32
        || !id
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
    {
        c.problem(
            value.span(),
            format!(
                "\"{}\" is not a Route 53 hosted zone id — use one like \"Z0123456789ABCDEFGHIJ\"",
                value.get_ref()
            ),
        );
    }
    id.to_string()
}

fn resolve_dns(c: &mut Checker<'_>, raw: RawDns) -> Dns {
    let ttl = match &raw.ttl {
        None => 300,
        Some(t) if (1..=2_147_483_647).contains(t.get_ref()) => *t.get_ref(),
        Some(t) => {
            c.problem(
                t.span(),
                format!(
                    "ttl = {} is out of range — use 1 to 2147483647 seconds",
                    t.get_ref()
                ),
            );
            300
        }
    };
    let owner = match &raw.owner {
        None => "webtier".to_string(),
        Some(o) => {
            let ok = !o.get_ref().is_empty()
                && o.get_ref().len() <= 64
                && o.get_ref()
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
            if !ok {
                c.problem(
                    o.span(),
                    format!(
                        "owner \"{}\" must be 1 to 64 letters, digits, '-', '_' or '.'",
                        o.get_ref()
                    ),
                );
            }
            o.get_ref().clone()
        }
    };
    let wait_timeout = match &raw.wait_timeout {
        None => 300,
        Some(t) if (1..=86_400).contains(t.get_ref()) => *t.get_ref() as u64,
        Some(t) => {
            c.problem(
                t.span(),
                format!(
                    "wait_timeout = {} is out of range — use 1 to 86400 seconds",
                    t.get_ref()
                ),
            );
            300
        }
    };
    let load_balancer = raw.load_balancer.map(|lb| {
        if let Err(msg) = names::dns_name(lb.dns_name.get_ref()) {
            c.problem(lb.dns_name.span(), msg);
        }
        LoadBalancer {
            dns_name: lb.dns_name.get_ref().to_ascii_lowercase(),
            zone_id: zone_id(c, &lb.zone_id),
        }
    });
    Dns {
        ttl,
        owner,
        wait_timeout,
        load_balancer,
    }
}

fn resolve_sites(c: &mut Checker<'_>, raw: Vec<RawSite>, challenge: Challenge) -> Vec<Site> {
    if raw.is_empty() {
        c.problems.push(Diagnostic::at(
            c.file,
            c.source,
            None,
            "no [[site]] is defined — add one with at least domain and upstreams".into(),
        ));
    }
    // Every name may belong to one site only: name -> line where first seen.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut sites = Vec::with_capacity(raw.len());
    for site in raw {
        let tls = site.tls.as_ref().map_or(Tls::default(), |t| *t.get_ref());
        let names_of_site = site_names(c, &site, tls, challenge, &mut seen);
        let upstreams = c.upstreams(&site.upstreams);
        let routes = resolve_routes(c, &site.route);
        let health_check = c.check_path(site.health_check.as_ref());
        if !site.upstreams.is_empty()
            && let Some(root) = site.route.iter().find(|r| r.path.get_ref() == "/")
        {
            c.problem(
                root.path.span(),
                "a route for \"/\" replaces the site's upstreams — remove one of them (site upstreams are the \"/\" route)".into(),
            );
        }
        if site.upstreams.is_empty() && site.route.is_empty() {
            c.problem(
                site.domain.span(),
                format!(
                    "site \"{}\" serves nothing — add upstreams = [\"127.0.0.1:8000\"] or a [[site.route]]",
                    site.domain.get_ref()
                ),
            );
        }
        let acm = resolve_acm(c, &site, tls);
        if site.auth.is_some() {
            for raw in &site.route {
                let Some(route) = routes.iter().find(|r| r.path == *raw.path.get_ref()) else {
                    continue;
                };
                if let (Some(b), None | Some(RouteAuth::Policy(_))) = (&raw.basic_auth, &route.auth)
                {
                    c.problem(
                        b.span(),
                        format!("route \"{}\" would be guarded by both basic_auth and the site's login — give it auth = false to use basic_auth alone", route.path),
                    );
                }
            }
        }
        let (canonical_host, redirects) = redirects(c, &site, &names_of_site, &routes);
        let auth_at = site.auth.as_ref().map(|a| a.issuer.span());
        let cache = site_cache(c, &site);
        let auth = site.auth.map(|a| resolve_auth(c, a));
        if let (Some(at), Some(auth)) = (auth_at, &auth)
            && tls == Tls::None
            && auth.redirect_uri.is_none()
        {
            c.problem(
                at,
                "a login needs TLS (its cookies are Secure): give the site tls = \"acme\", or set redirect_uri to the https:// address of the load balancer in front that terminates TLS".into(),
            );
        }
        let zone = site.zone_id.as_ref().map(|z| zone_id(c, z));
        let mut names_iter = names_of_site.into_iter();
        sites.push(Site {
            domain: names_iter.next().unwrap_or_default(),
            aliases: names_iter.collect(),
            tls,
            upstreams,
            routes,
            auth,
            zone_id: zone,
            balance: site.balance.unwrap_or_default(),
            health_check,
            acm,
            access: access(c, &site.allow, &site.deny),
            canonical_host,
            redirects,
            rate_limit: rate_limit(c, site.rate_limit.as_ref()),
            cache,
            compress: compress(c, site.compress.as_ref()),
        });
    }
    sites
}

/// A site's domain and aliases, normalized, each checked: a valid DNS
/// name, a wildcard only where dns-01 can validate it, and listed once in
/// the whole file (`seen`: name -> line where first seen).
fn site_names(
    c: &mut Checker<'_>,
    site: &RawSite,
    tls: Tls,
    challenge: Challenge,
    seen: &mut HashMap<String, usize>,
) -> Vec<String> {
    let mut names_of_site = Vec::new();
    for (i, name) in std::iter::once(&site.domain)
        .chain(&site.aliases)
        .enumerate()
    {
        let key = if i == 0 { "domain" } else { "alias" };
        let normalized = match names::dns_name(name.get_ref()) {
            Ok(n) => n,
            Err(msg) => {
                c.problem(name.span(), msg);
                continue;
            }
        };
        if normalized.starts_with("*.") && tls == Tls::Acme && challenge != Challenge::Dns01 {
            c.problem(
                name.span(),
                format!(
                    "wildcard {key} \"{}\" needs the dns-01 challenge — set challenge = \"dns-01\" in [acme] (http-01 cannot validate wildcards)",
                    name.get_ref()
                ),
            );
        }
        let line = c.source[..name.span().start].matches('\n').count() + 1;
        match seen.get(&normalized) {
            Some(_) if names_of_site.contains(&normalized) => c.problem(
                name.span(),
                format!("name \"{normalized}\" is listed twice in this site — remove one"),
            ),
            Some(first) => c.problem(
                name.span(),
                format!(
                    "name \"{normalized}\" is already used at line {first} — each name belongs to one site"
                ),
            ),
            None => {
                seen.insert(normalized.clone(), line);
            }
        }
        names_of_site.push(normalized);
    }
    names_of_site
}

/// `[site.acm]`: required by `tls = "acm"` (which must choose a mode: an
/// exportable certificate is charged, so it is never a silent default),
/// allowed on an ACME site only to import its certificate into ACM.
fn resolve_acm(c: &mut Checker<'_>, site: &RawSite, tls: Tls) -> Option<Acm> {
    let raw = site.acm.as_ref();
    match (tls, raw) {
        (Tls::Acm, None) => {
            let span = site.tls.as_ref().map_or(site.domain.span(), |t| t.span());
            c.problem(
                span,
                "tls = \"acm\" needs [site.acm] mode = \"export\" (ACM issues an exportable certificate, charged per issuance and renewal, and the proxy on this instance serves it) or mode = \"managed\" (the certificate stays in ACM for a load balancer or CloudFront)".into(),
            );
            return None;
        }
        (_, None) => return None,
        (Tls::None, Some(raw)) => {
            c.problem(
                raw.span(),
                "[site.acm] is for a site with tls = \"acm\" or tls = \"acme\" — remove it or give the site TLS".into(),
            );
            return None;
        }
        _ => {}
    }
    let raw = raw?.get_ref();
    let mode = raw.mode.as_ref().map(|m| *m.get_ref());
    match (tls, &raw.mode) {
        (Tls::Acm, None) => {
            let span = site.acm.as_ref().map_or(0..0, |a| a.span());
            c.problem(
                span,
                "[site.acm] needs mode = \"export\" or mode = \"managed\"".into(),
            );
        }
        (Tls::Acme, Some(m)) => c.problem(
            m.span(),
            "mode is for tls = \"acm\"; an ACME site keeps its own certificate — use import = true to keep a copy in ACM".into(),
        ),
        _ => {}
    }
    if let Some(key) = &raw.key {
        if tls == Tls::Acme {
            c.problem(
                key.span(),
                "key is for tls = \"acm\"; an ACME site's key is [acme] key".into(),
            );
        } else if key.get_ref().acm_algorithm().is_none() {
            c.problem(
                key.span(),
                format!(
                    "ACM does not issue {} keys — use \"ecdsa-p256\" (the default), \"ecdsa-p384\" or \"rsa-2048\"",
                    key.get_ref().as_str()
                ),
            );
        }
    }
    if let Some(import) = &raw.import
        && *import.get_ref()
        && tls == Tls::Acm
    {
        c.problem(
            import.span(),
            "import = true is for an ACME site; an ACM certificate is in ACM already".into(),
        );
    }
    if let Some(region) = &raw.region {
        check_region(c, region);
    }
    if tls == Tls::Acme && raw.validation_timeout.is_some() {
        let span = raw.validation_timeout.as_ref().map_or(0..0, |t| t.span());
        c.problem(
            span,
            "validation_timeout is for tls = \"acm\" (how long to wait for ACM to issue)".into(),
        );
    }
    let validation_timeout = c.number(
        raw.validation_timeout.as_ref(),
        "validation_timeout",
        10,
        86_400,
        900,
    ) as u64;
    Some(Acm {
        mode,
        key: raw
            .key
            .as_ref()
            .map_or(KeyType::EcdsaP256, |k| *k.get_ref()),
        region: raw.region.as_ref().map(|r| r.get_ref().clone()),
        validation_timeout,
        import: raw.import.as_ref().is_some_and(|i| *i.get_ref()),
    })
}

fn resolve_routes(c: &mut Checker<'_>, raw: &[RawRoute]) -> Vec<Route> {
    let mut seen = HashMap::new();
    let mut routes = Vec::new();
    for route in raw {
        let path = route.path.get_ref();
        if !path.starts_with('/') {
            c.problem(
                route.path.span(),
                format!("route path \"{path}\" must start with '/', like \"/static/\""),
            );
        } else if path.split('/').any(|seg| seg == ".." || seg == ".") {
            c.problem(
                route.path.span(),
                format!("route path \"{path}\" contains '.' or '..' segments"),
            );
        }
        if seen.insert(path.clone(), ()).is_some() {
            c.problem(
                route.path.span(),
                format!("route path \"{path}\" appears twice in this site"),
            );
        }
        let backend = match (&route.root, &route.upstreams) {
            (Some(root), None) => Backend::Root(c.existing(root, "root", true)),
            (None, Some(ups)) if !ups.is_empty() => Backend::Upstreams(c.upstreams(ups)),
            (Some(_), Some(_)) => {
                c.problem(
                    route.path.span(),
                    format!("route \"{path}\" has both root and upstreams — keep one"),
                );
                continue;
            }
            (None, _) => {
                c.problem(
                    route.path.span(),
                    format!(
                        "route \"{path}\" needs root = \"DIR\" (static files) or upstreams = [\"HOST:PORT\"]"
                    ),
                );
                continue;
            }
        };
        let health_check = c.check_path(route.health_check.as_ref());
        if matches!(backend, Backend::Root(_))
            && (route.balance.is_some() || route.health_check.is_some())
        {
            c.problem(
                route.path.span(),
                format!(
                    "route \"{path}\" serves files — balance and health_check are for upstreams"
                ),
            );
        }
        let max_body_bytes = route
            .max_body_bytes
            .as_ref()
            .map(|v| c.number(Some(v), "max_body_bytes", 0, i64::MAX, 0) as u64);
        let auth = route.auth.as_ref().map(|a| match a {
            RawRouteAuth::Switch(on) => {
                if *on {
                    c.problem(
                        route.path.span(),
                        format!("route \"{path}\": auth = true means nothing — routes use [site.auth]'s policy unless they set auth = false or a table of their own"),
                    );
                }
                RouteAuth::Public(false)
            }
            RawRouteAuth::Policy(p) => {
                RouteAuth::Policy(resolve_policy(c, p, route.path.span()))
            }
        });
        let access = access(c, &route.allow, &route.deny);
        let rewrite = route.rewrite.as_ref().and_then(|r| {
            let raw = r.get_ref();
            if matches!(backend, Backend::Root(_)) {
                c.problem(
                    r.span(),
                    format!("route \"{path}\" serves files — rewrite is for proxied routes (a redirect rule sends clients elsewhere)"),
                );
                return None;
            }
            let config = crate::proxy::config::RewriteConfig {
                from: raw.from.get_ref().clone(),
                to: raw.to.get_ref().clone(),
            };
            match crate::proxy::rewrite::Rewrite::compile(&config) {
                Ok(_) => Some(config),
                Err(e) => {
                    let span = if e.starts_with("rewrite from") {
                        raw.from.span()
                    } else {
                        raw.to.span()
                    };
                    c.problem(span, e);
                    None
                }
            }
        });
        let trailing_slash = route.trailing_slash.as_ref().map(|t| *t.get_ref());
        if let Some(t) = &route.trailing_slash
            && *t.get_ref() == crate::proxy::config::TrailingSlash::Remove
            && matches!(backend, Backend::Root(_))
        {
            c.problem(
                t.span(),
                format!("route \"{path}\" serves files, whose directories are redirected to their / — trailing_slash = \"remove\" would loop"),
            );
        }
        let basic_auth = route.basic_auth.as_ref().map(|b| {
            let raw = b.get_ref();
            let htpasswd = c.existing(&raw.htpasswd_file, "htpasswd_file", false);
            if htpasswd.is_file()
                && let Err(e) = crate::proxy::auth::basic::check_file(&htpasswd)
            {
                c.problem(
                    raw.htpasswd_file.span(),
                    format!("htpasswd_file \"{}\": {e}", raw.htpasswd_file.get_ref()),
                );
            }
            crate::proxy::config::BasicAuthConfig {
                htpasswd_file: htpasswd,
                realm: raw
                    .realm
                    .as_ref()
                    .map_or_else(|| "webtier".to_string(), |r| r.get_ref().clone()),
                forward_authorization: raw.forward_authorization.unwrap_or(false),
            }
        });
        if let Some(cache) = &route.cache
            && cache.get_ref().enabled
            && matches!(backend, Backend::Root(_))
        {
            c.problem(
                cache.span(),
                format!("route \"{path}\" serves files, which are read from the page cache — cache is for proxied routes"),
            );
        }
        let allow_dotfiles = route.allow_dotfiles.as_ref().is_some_and(|a| *a.get_ref());
        if let Some(flag) = &route.allow_dotfiles
            && matches!(backend, Backend::Root(_))
        {
            c.problem(
                flag.span(),
                format!("route \"{path}\" serves files, which never include dotfiles — allow_dotfiles is for proxied routes"),
            );
        }
        routes.push(Route {
            path: path.clone(),
            backend,
            balance: route.balance.unwrap_or_default(),
            health_check,
            max_body_bytes,
            auth,
            access,
            allow_dotfiles,
            rewrite,
            trailing_slash,
            basic_auth,
            rate_limit: rate_limit(c, route.rate_limit.as_ref()),
            cache: route.cache.as_ref().map(|c| c.get_ref().clone()),
            compress: compress(c, route.compress.as_ref()),
        });
    }
    routes
}

/// A site's canonical host and redirect rules: the host one of its names,
/// each pattern compiled, each status a redirect, and no loop that the
/// rules and the routes' trailing-slash policies show.
fn redirects(
    c: &mut Checker<'_>,
    site: &RawSite,
    names: &[String],
    routes: &[Route],
) -> (Option<String>, Vec<crate::proxy::config::RedirectConfig>) {
    use crate::proxy::rewrite;
    let canonical = site.canonical_host.as_ref().and_then(|h| {
        let host = h.get_ref().trim_end_matches('.').to_ascii_lowercase();
        if names.contains(&host) {
            Some(host)
        } else {
            c.problem(
                h.span(),
                format!(
                    "canonical_host \"{}\" is not a name of this site — use one of {}",
                    h.get_ref(),
                    names.join(", ")
                ),
            );
            None
        }
    });
    let mut configs = Vec::new();
    let mut compiled = Vec::new();
    for raw in &site.redirect {
        let status = match &raw.status {
            None => 301,
            Some(s) => u16::try_from(*s.get_ref()).unwrap_or(0),
        };
        let config = crate::proxy::config::RedirectConfig {
            from: raw.from.get_ref().clone(),
            to: raw.to.get_ref().clone(),
            status,
        };
        match rewrite::Redirect::compile(&config) {
            Ok(r) => {
                compiled.push(r);
                configs.push(config);
            }
            Err(e) => {
                let span = match &raw.status {
                    Some(s) if e.contains("status") => s.span(),
                    _ if e.contains("empty target") => raw.to.span(),
                    _ => raw.from.span(),
                };
                c.problem(span, e);
            }
        }
    }
    let found = rewrite::find_loop(&rewrite::Site {
        names,
        redirects: &compiled,
        routes: routes
            .iter()
            .map(|r| (r.path.as_str(), r.trailing_slash))
            .collect(),
    });
    // `compiled` holds the rules that compiled, in order: find the raw
    // rule of the same pattern for the span.
    if let Some((index, problem)) = found
        && let Some(raw) = site
            .redirect
            .iter()
            .find(|r| *r.from.get_ref() == configs[index].from)
    {
        c.problem(raw.from.span(), problem);
    }
    (canonical, configs)
}

/// A site's or route's `rate_limit`, each number in range.
fn rate_limit(
    c: &mut Checker<'_>,
    raw: Option<&S<RawRateLimit>>,
) -> Option<crate::proxy::config::RateLimitConfig> {
    let raw = raw?.get_ref();
    let per_second = *raw.per_second.get_ref();
    if !(per_second.is_finite() && per_second > 0.0 && per_second <= 1_000_000.0) {
        c.problem(
            raw.per_second.span(),
            format!("per_second = {per_second} is out of range — use a number above 0, up to 1000000 (0.5 is one request every two seconds)"),
        );
    }
    let burst = c.number(raw.burst.as_ref(), "burst", 1, 1_000_000, 1) as u32;
    let delay = c.number(raw.delay.as_ref(), "delay", 0, 1_000_000, 0) as u32;
    Some(crate::proxy::config::RateLimitConfig {
        per_second,
        burst,
        delay,
    })
}

/// `allow` and `deny` of a site or route; None when neither is set.
fn access(
    c: &mut Checker<'_>,
    allow: &Option<S<Vec<S<String>>>>,
    deny: &Option<Vec<S<String>>>,
) -> Option<Access> {
    if allow.is_none() && deny.is_none() {
        return None;
    }
    if let Some(list) = allow
        && list.get_ref().is_empty()
    {
        // Read as "nobody" by some, "everybody" here: said, not guessed.
        c.problem(
            list.span(),
            "allow = [] admits everyone — remove it, or list the networks to admit".into(),
        );
    }
    Some(Access {
        allow: allow
            .as_ref()
            .map_or(Vec::new(), |l| c.networks(l.get_ref())),
        deny: deny.as_deref().map_or(Vec::new(), |l| c.networks(l)),
    })
}

fn resolve_auth(c: &mut Checker<'_>, raw: RawAuth) -> Auth {
    let issuer = raw.issuer.get_ref();
    if !crate::proxy::config::issuer_allowed(issuer) {
        c.problem(
            raw.issuer.span(),
            format!("issuer \"{issuer}\" must be an https:// URL"),
        );
    }
    if raw.client_id.get_ref().trim().is_empty() {
        c.problem(raw.client_id.span(), "client_id is empty".into());
    }
    let client_secret_file = raw
        .client_secret_file
        .as_ref()
        .map(|f| c.existing(f, "client_secret_file", false));
    if let (Some(_), Some(env)) = (&raw.client_secret_file, &raw.client_secret_env) {
        c.problem(
            env.span(),
            "client_secret_file and client_secret_env are both set — keep one".into(),
        );
    }
    for (key, uri) in [
        ("redirect_uri", &raw.redirect_uri),
        ("post_logout_redirect_uri", &raw.post_logout_redirect_uri),
    ] {
        if let Some(uri) = uri
            && !uri.get_ref().starts_with("https://")
        {
            c.problem(
                uri.span(),
                format!("{key} \"{}\" must be an https:// URL", uri.get_ref()),
            );
        }
    }
    if let Some(uri) = &raw.redirect_uri
        && url::Url::parse(uri.get_ref())
            .is_ok_and(|u| u.path() != crate::proxy::auth::CALLBACK || u.query().is_some())
    {
        c.problem(
            uri.span(),
            "redirect_uri must end in /auth/callback (where the proxy takes the login back)".into(),
        );
    }
    let session_hours = c.number(raw.session_hours.as_ref(), "session_hours", 1, 744, 8) as u64;
    let scopes = match &raw.scopes {
        Some(list) => list.iter().map(|s| s.get_ref().clone()).collect(),
        None => vec!["openid".into(), "email".into()],
    };
    let policy = RawPolicy {
        allowed_emails: raw.allowed_emails,
        allowed_claims: raw.allowed_claims,
        public_paths: raw.public_paths,
        login: raw.login,
        bearer_audience: raw.bearer_audience,
        bearer_scopes: raw.bearer_scopes,
    };
    let policy = resolve_policy(c, &policy, raw.issuer.span());
    Auth {
        issuer: raw.issuer.into_inner(),
        client_id: raw.client_id.into_inner(),
        client_secret_file,
        client_secret_env: raw.client_secret_env.map(S::into_inner),
        scopes,
        session_hours,
        redirect_uri: raw.redirect_uri.map(S::into_inner),
        post_logout_redirect_uri: raw.post_logout_redirect_uri.map(S::into_inner),
        forward_access_token: raw.forward_access_token,
        policy,
    }
}

/// A policy: its email patterns checked, and someone admitted, but not
/// anyone (`at`: where to point when that is wrong). The proxy's own check
/// of its file (`ProxyConfig::problems`) says the same.
fn resolve_policy(c: &mut Checker<'_>, raw: &RawPolicy, at: Range<usize>) -> Policy {
    for pattern in &raw.allowed_emails {
        if let Err(msg) = names::email_pattern(pattern.get_ref()) {
            c.problem(pattern.span(), msg);
        }
    }
    for path in &raw.public_paths {
        if !path.get_ref().starts_with('/') {
            c.problem(
                path.span(),
                format!("public path \"{}\" must start with /", path.get_ref()),
            );
        }
    }
    let login = raw.login.unwrap_or(true);
    if login && raw.allowed_emails.is_empty() && raw.allowed_claims.is_empty() {
        c.problem(
            at.clone(),
            "auth has no allowed_emails or allowed_claims — anyone with an account at the issuer could log in; list addresses or \"*@your-domain\"".into(),
        );
    }
    if !login && raw.bearer_audience.is_none() {
        c.problem(
            at.clone(),
            "auth admits no one: login = false and no bearer_audience — set one of them".into(),
        );
    }
    for (claim, values) in &raw.allowed_claims {
        if claim.is_empty() || values.is_empty() {
            c.problem(
                at.clone(),
                format!("allowed_claims.{claim} needs a claim name and at least one value"),
            );
        }
    }
    if !raw.bearer_scopes.is_empty() && raw.bearer_audience.is_none() {
        c.problem(
            at,
            "bearer_scopes without bearer_audience — set the audience bearer tokens must be for"
                .into(),
        );
    }
    Policy {
        allowed_emails: raw
            .allowed_emails
            .iter()
            .map(|e| e.get_ref().to_ascii_lowercase())
            .collect(),
        allowed_claims: raw.allowed_claims.clone(),
        public_paths: raw
            .public_paths
            .iter()
            .map(|p| p.get_ref().clone())
            .collect(),
        login,
        bearer_audience: raw.bearer_audience.as_ref().map(|b| b.get_ref().clone()),
        bearer_scopes: raw
            .bearer_scopes
            .iter()
            .map(|s| s.get_ref().clone())
            .collect(),
    }
}
