//! Reading the proxy file: TOML in, every setting checked (versions,
//! listeners, sites, routes, upstreams), errors naming the line or the key.

use std::net::IpAddr;

use super::*;

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
    /// tests/it/proxy.rs). A key added to the types without being enforced
    /// fails `every_key_is_enforced_or_refused`: carry it out and list it
    /// here, or refuse it in `check` and list it in `REFUSED`.
    const ENFORCED: &[&str] = &[
        "version",
        "http_listen",
        "https_listen",
        "challenge_dir",
        "workers",
        "pid_file",
        "status_file",
        "user",
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
            status_file: Some("/run/p.json".into()),
            user: Some("webtier-proxy".into()),
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
