//! The proxy's runtime configuration: generated from `webtier.toml` by the
//! `proxy-config` step and read by `webtier proxy run`. It is a complete,
//! explicit description so the daemon needs nothing but this file; keys
//! added after version 1 have defaults, so older files still load.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Bumped when the meaning of the file changes; the daemon refuses files of
/// another version.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    pub version: u32,
    /// Plain-HTTP listeners: ACME challenges, redirects to HTTPS, and sites
    /// without TLS.
    pub http_listen: Vec<SocketAddr>,
    pub https_listen: Vec<SocketAddr>,
    /// Served at `/.well-known/acme-challenge/` on the HTTP listeners.
    pub challenge_dir: PathBuf,
    /// Worker threads, each with its own event loop; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
    /// The daemon writes its process id here (for `webtier proxy reload`
    /// and reloads after certificate renewal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_file: Option<PathBuf>,
    /// The metrics listener (`/metrics`); must be a loopback address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// `Strict-Transport-Security: max-age=…` on HTTPS responses; 0 = off.
    #[serde(default = "default_hsts")]
    pub hsts_max_age: u64,
    /// TLS session resumption (session IDs and TLS 1.3 tickets); off makes
    /// every handshake a full one.
    #[serde(default = "default_true")]
    pub tls_session_resumption: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLog>,
    /// Peers whose `X-Forwarded-*` headers are believed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<IpNet>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default, rename = "site")]
    pub sites: Vec<SiteConfig>,
}

fn default_hsts() -> u64 {
    31_536_000
}

fn default_true() -> bool {
    true
}

impl Default for ProxyConfig {
    /// No listeners and no sites; every setting at its default.
    fn default() -> ProxyConfig {
        ProxyConfig {
            version: VERSION,
            http_listen: Vec::new(),
            https_listen: Vec::new(),
            challenge_dir: PathBuf::from("/var/lib/webtier/acme-challenge"),
            workers: 0,
            pid_file: None,
            admin_listen: None,
            hsts_max_age: default_hsts(),
            tls_session_resumption: true,
            access_log: None,
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            sites: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLog {
    /// A file (appended to), or `-` for standard output.
    pub path: PathBuf,
    #[serde(default)]
    pub format: LogFormat,
    /// What of a request's query string is logged.
    #[serde(default)]
    pub query: LogQuery,
}

/// The query string in the access log (of the target and the Referer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogQuery {
    /// Logged, with the values of parameters that carry secrets (`code`,
    /// `state`, `token`, `password`, …) replaced by `***`.
    #[default]
    Masked,
    /// Not logged: paths only.
    #[serde(rename = "none")]
    Omitted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// The Apache/nginx "combined" format.
    #[default]
    Combined,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Open client connections; beyond this new ones are refused (plain
    /// HTTP gets a 503, TLS a closed connection).
    pub max_connections: usize,
    /// Request line plus headers, in bytes (at least 8192).
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Request bodies, unless a route sets its own.
    pub max_body_bytes: u64,
    /// Streams open at once on one HTTP/2 connection (nginx's
    /// `http2_max_concurrent_streams`).
    pub http2_max_streams: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 10_000,
            max_header_bytes: 16_384,
            max_headers: 100,
            max_body_bytes: 10 * 1024 * 1024,
            http2_max_streams: 128,
        }
    }
}

/// All in milliseconds. Every client connection is bounded by one of them
/// at every moment: reading a request head (`header_read_ms`), idle
/// between requests (`header_read_ms` on HTTP/1.1, `http2_idle_ms` on
/// HTTP/2), sending a response (`send_ms` without progress), waiting on an
/// upstream (`upstream_read_ms`), tunnelling (`tunnel_idle_ms`), draining
/// (`drain_ms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// A client must send a whole request head within this (slowloris);
    /// an idle keep-alive connection is closed after it too.
    pub header_read_ms: u64,
    /// A response that makes no progress this long (the client stopped
    /// reading) is cut and its connection closed (nginx's `send_timeout`).
    pub send_ms: u64,
    /// An HTTP/2 connection with no open stream this long gets a GOAWAY
    /// and is closed; pings do not keep it open (nginx's
    /// `keepalive_timeout` for HTTP/2).
    pub http2_idle_ms: u64,
    /// A WebSocket (or other upgraded) tunnel that carries no byte either
    /// way this long is closed (nginx's `proxy_read_timeout` for them).
    pub tunnel_idle_ms: u64,
    pub upstream_connect_ms: u64,
    /// Waiting for the upstream's response head.
    pub upstream_read_ms: u64,
    /// Pooled upstream connections are closed after this long unused.
    pub upstream_idle_ms: u64,
    /// On SIGTERM, in-flight requests get this long to finish.
    pub drain_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header_read_ms: 20_000,
            send_ms: 60_000,
            http2_idle_ms: 75_000,
            tunnel_idle_ms: 60_000,
            upstream_connect_ms: 5_000,
            upstream_read_ms: 60_000,
            upstream_idle_ms: 60_000,
            drain_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Host names this site answers to (SNI and Host), ASCII lowercase; a
    /// leading `*.` matches one label.
    pub names: Vec<String>,
    /// Certificate and key; absent for plain-HTTP sites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// Longest matching prefix wins.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub path: String,
    /// Static files under this directory…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// …or a reverse proxy to these upstreams (`http://host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub balance: Balance,
    #[serde(default, skip_serializing_if = "is_default")]
    pub health: Health,
    /// Overrides `limits.max_body_bytes` for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    #[default]
    RoundRobin,
    LeastConnections,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    /// Consecutive failed connections (or timeouts) that eject an upstream…
    pub fail_after: u32,
    /// …for this long.
    pub eject_ms: u64,
    /// Active checks: GET this path on each upstream; any 2xx/3xx is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_path: Option<String>,
    pub check_interval_ms: u64,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            fail_after: 3,
            eject_ms: 10_000,
            check_path: None,
            check_interval_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_file: PathBuf,
    pub allowed_emails: Vec<String>,
}

/// A proxy configuration file that cannot be used as written (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl ProxyConfig {
    /// Parses and checks the file text; errors name what is wrong.
    pub fn from_toml(text: &str) -> Result<ProxyConfig, String> {
        let config: ProxyConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start].matches('\n').count() + 1;
                    format!("line {line}: {message}")
                }
                None => message,
            }
        })?;
        if config.version != VERSION {
            return Err(format!(
                "proxy configuration version {} is not supported (this webtier reads version {VERSION})",
                config.version
            ));
        }
        config.check()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the proxy configuration always serializes")
    }

    /// What the types cannot say.
    fn check(&self) -> Result<(), String> {
        if let Some(admin) = self.admin_listen
            && !admin.ip().is_loopback()
        {
            return Err(format!(
                "admin_listen {admin} is not a loopback address — use 127.0.0.1 or [::1]"
            ));
        }
        if self.limits.max_header_bytes < 8192 {
            return Err("limits.max_header_bytes must be at least 8192".into());
        }
        if self.limits.max_connections == 0 {
            return Err("limits.max_connections must be at least 1".into());
        }
        if self.limits.http2_max_streams == 0 {
            return Err("limits.http2_max_streams must be at least 1".into());
        }
        let t = &self.timeouts;
        for (name, ms) in [
            ("header_read_ms", t.header_read_ms),
            ("send_ms", t.send_ms),
            ("http2_idle_ms", t.http2_idle_ms),
            ("tunnel_idle_ms", t.tunnel_idle_ms),
            ("upstream_connect_ms", t.upstream_connect_ms),
            ("upstream_read_ms", t.upstream_read_ms),
        ] {
            if ms == 0 {
                return Err(format!("timeouts.{name} must be at least 1"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for site in &self.sites {
            if site.names.is_empty() {
                return Err("a site has no names".into());
            }
            for name in &site.names {
                if !seen.insert(name.as_str()) {
                    return Err(format!("the name {name} belongs to two sites"));
                }
            }
            if site.auth.is_some() {
                // Fail closed: a site its owner believes is behind a login
                // would be served to everyone.
                return Err(format!(
                    "site {}: auth (OIDC login) is not enforced by this version of the proxy, which would serve the site to everyone — remove its [site.auth]",
                    site.names[0]
                ));
            }
            if site.tls.is_some() && self.https_listen.is_empty() {
                return Err(format!(
                    "site {} has TLS but there is no https_listen address",
                    site.names[0]
                ));
            }
            for route in &site.routes {
                if !route.path.starts_with('/') {
                    return Err(format!(
                        "route \"{}\" of site {} must start with /",
                        route.path, site.names[0]
                    ));
                }
                match (&route.root, route.upstreams.is_empty()) {
                    (Some(_), false) | (None, true) => {
                        return Err(format!(
                            "route \"{}\" of site {} needs exactly one of root or upstreams",
                            route.path, site.names[0]
                        ));
                    }
                    _ => {}
                }
                for up in &route.upstreams {
                    parse_upstream(up).map_err(|e| {
                        format!("route \"{}\" of site {}: {e}", route.path, site.names[0])
                    })?;
                }
                if let Some(path) = &route.health.check_path
                    && !path.starts_with('/')
                {
                    return Err(format!("health check_path \"{path}\" must start with /"));
                }
            }
        }
        Ok(())
    }
}

/// An upstream address from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAddr {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl UpstreamAddr {
    /// `scheme://host:port`, for request URIs.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// `http://host:port` or `https://host:port`; names are resolved by the
/// daemon when it connects.
pub fn parse_upstream(text: &str) -> Result<UpstreamAddr, String> {
    let (tls, rest) = if let Some(rest) = text.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = text.strip_prefix("https://") {
        (true, rest)
    } else {
        return Err(format!(
            "upstream \"{text}\" must be http://HOST:PORT or https://HOST:PORT"
        ));
    };
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("upstream \"{text}\" has no port"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("upstream \"{text}\" has a bad port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') {
        return Err(format!("upstream \"{text}\" has a bad host"));
    }
    if host.contains(':') && host.parse::<IpAddr>().is_err() {
        return Err(format!("upstream \"{text}\" has a bad IPv6 address"));
    }
    Ok(UpstreamAddr {
        tls,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "version = 1\nhttp_listen = [\"127.0.0.1:80\"]\nhttps_listen = []\nchallenge_dir = \"/c\"\n";

    #[test]
    fn a_version_1_file_without_the_newer_keys_loads_with_defaults() {
        let c = ProxyConfig::from_toml(MINIMAL).unwrap();
        assert_eq!(c.workers, 0);
        assert_eq!(c.hsts_max_age, 31_536_000);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.timeouts.header_read_ms, 20_000);
    }

    #[test]
    fn admin_listener_must_be_loopback() {
        let text = format!("{MINIMAL}admin_listen = \"0.0.0.0:9000\"\n");
        let err = ProxyConfig::from_toml(&text).unwrap_err();
        assert!(err.contains("not a loopback address"), "{err}");
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let text = format!("{MINIMAL}wrokers = 2\n");
        let err = ProxyConfig::from_toml(&text).unwrap_err();
        assert!(err.starts_with("line 5:"), "{err}");
    }

    #[test]
    fn a_route_needs_root_or_upstreams() {
        let text =
            format!("{MINIMAL}[[site]]\nnames = [\"a.test\"]\n[[site.route]]\npath = \"/\"\n");
        let err = ProxyConfig::from_toml(&text).unwrap_err();
        assert!(err.contains("exactly one of root or upstreams"), "{err}");
    }

    /// Every key the file can hold, each carried out by the proxy (the
    /// test that shows it is named in README's proxy section and
    /// tests/proxy.rs). A key added to the types without being enforced
    /// fails `every_key_is_enforced_or_refused`: carry it out and list it
    /// here, or refuse it in `check` and list it in `REFUSED`.
    const ENFORCED: &[&str] = &[
        "version",
        "http_listen",
        "https_listen",
        "challenge_dir",
        "workers",
        "pid_file",
        "admin_listen",
        "hsts_max_age",
        "tls_session_resumption",
        "access_log.path",
        "access_log.format",
        "access_log.query",
        "trusted_proxies",
        "limits.max_connections",
        "limits.max_header_bytes",
        "limits.max_headers",
        "limits.max_body_bytes",
        "limits.http2_max_streams",
        "timeouts.header_read_ms",
        "timeouts.send_ms",
        "timeouts.http2_idle_ms",
        "timeouts.tunnel_idle_ms",
        "timeouts.upstream_connect_ms",
        "timeouts.upstream_read_ms",
        "timeouts.upstream_idle_ms",
        "timeouts.drain_ms",
        "site.names",
        "site.tls.cert",
        "site.tls.key",
        "site.route.path",
        "site.route.root",
        "site.route.upstreams",
        "site.route.balance",
        "site.route.health.fail_after",
        "site.route.health.eject_ms",
        "site.route.health.check_path",
        "site.route.health.check_interval_ms",
        "site.route.max_body_bytes",
    ];

    /// Parsed, not yet carried out, and so refused at load (fail closed).
    const REFUSED: &[&str] = &[
        "site.auth.issuer",
        "site.auth.client_id",
        "site.auth.client_secret_file",
        "site.auth.allowed_emails",
    ];

    fn keys(prefix: &str, table: &toml::Table, out: &mut std::collections::BTreeSet<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(t) => keys(&path, t, out),
                toml::Value::Array(items)
                    if items.iter().all(toml::Value::is_table) && !items.is_empty() =>
                {
                    for item in items {
                        keys(&path, item.as_table().expect("a table"), out);
                    }
                }
                _ => {
                    out.insert(path);
                }
            }
        }
    }

    /// A file with every key set.
    fn everything() -> ProxyConfig {
        let mut config = ProxyConfig {
            http_listen: vec!["127.0.0.1:80".parse().unwrap()],
            https_listen: vec!["127.0.0.1:443".parse().unwrap()],
            pid_file: Some("/run/p.pid".into()),
            admin_listen: Some("127.0.0.1:9100".parse().unwrap()),
            access_log: Some(AccessLog {
                path: "-".into(),
                format: LogFormat::Json,
                query: LogQuery::Omitted,
            }),
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..ProxyConfig::default()
        };
        config.sites.push(SiteConfig {
            names: vec!["a.test".into()],
            tls: Some(TlsFiles {
                cert: "/c".into(),
                key: "/k".into(),
            }),
            routes: vec![
                RouteConfig {
                    path: "/s/".into(),
                    root: Some("/srv".into()),
                    ..RouteConfig::default()
                },
                RouteConfig {
                    path: "/".into(),
                    upstreams: vec!["http://127.0.0.1:8000".into()],
                    balance: Balance::LeastConnections,
                    health: Health {
                        check_path: Some("/health".into()),
                        ..Health::default()
                    },
                    max_body_bytes: Some(1),
                    ..RouteConfig::default()
                },
            ],
            auth: Some(AuthConfig {
                issuer: "https://id.example".into(),
                client_id: "c".into(),
                client_secret_file: "/s".into(),
                allowed_emails: vec!["*@example.com".into()],
            }),
        });
        config
    }

    #[test]
    fn every_key_is_enforced_or_refused() {
        let config = everything();
        let table = toml::Table::try_from(&config).unwrap();
        let mut found = std::collections::BTreeSet::new();
        keys("", &table, &mut found);
        let known: std::collections::BTreeSet<String> = ENFORCED
            .iter()
            .chain(REFUSED)
            .map(|k| k.to_string())
            .collect();
        assert_eq!(
            found, known,
            "a key is neither enforced nor refused (or a listed key is gone)"
        );
        // The refused ones are refused, with a line that says why.
        let err = ProxyConfig::from_toml(&config.to_toml()).unwrap_err();
        assert!(err.contains("auth (OIDC login) is not enforced"), "{err}");
        let mut without = config;
        without.sites[0].auth = None;
        ProxyConfig::from_toml(&without.to_toml()).expect("the rest loads");
    }

    #[test]
    fn upstreams_parse() {
        let up = parse_upstream("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            (up.tls, up.host.as_str(), up.port),
            (false, "127.0.0.1", 8000)
        );
        assert_eq!(up.base(), "http://127.0.0.1:8000");
        let up = parse_upstream("https://[::1]:8443").unwrap();
        assert_eq!(up.base(), "https://[::1]:8443");
        assert!(parse_upstream("ftp://a:1").is_err());
        assert!(parse_upstream("http://a").is_err());
        assert!(parse_upstream("http://a:0").is_err());
    }
}
