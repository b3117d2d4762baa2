//! The bundled proxy's configuration file as `webtier.toml` renders it:
//! what the `proxy-config` step writes, the `proxy` step expects the
//! daemon to run, and `webtier proxy config` prints. Pure.

use std::net::SocketAddr;

use crate::certstore::Store;
use crate::config::{AcmMode, Backend, Config, Policy, RouteAuth as Access, Site};
use crate::proxy::config::{
    AccessConfig, AccessLog, AuthConfig, Health, HealthCheckRoute, Limits, ProxyConfig, RouteAuth,
    RouteConfig, SessionKeySsm, SiteConfig, TlsFiles, VERSION,
};

/// The proxy's runtime configuration for `config`. Pure.
pub fn proxy_config(config: &Config) -> ProxyConfig {
    let p = &config.proxy;
    let listen = |port: u16| {
        p.bind
            .iter()
            .map(|ip| SocketAddr::new(*ip, port))
            .collect::<Vec<_>>()
    };
    let store = Store::new(&config.state_dir);
    let sites: Vec<SiteConfig> = config
        .sites
        .iter()
        .map(|site| site_config(site, &store))
        .collect();
    // No TLS site, no HTTPS listener (the daemon would not open one).
    let https_listen = if sites.iter().any(|s| s.tls.is_some()) {
        listen(config.proxy.https_port)
    } else {
        Vec::new()
    };
    let logins = config.sites.iter().any(|s| s.auth.is_some());
    let ssm = (p.session_key_parameter.as_ref()).map(|parameter| SessionKeySsm {
        parameter: parameter.clone(),
        // Refused at load without a region.
        region: config.aws.region.clone().unwrap_or_default(),
    });
    ProxyConfig {
        version: VERSION,
        http_listen: listen(config.proxy.http_port),
        https_listen,
        challenge_dir: config.proxy.challenge_dir.clone(),
        workers: p.workers,
        pid_file: Some(config.proxy_pid_file()),
        status_file: Some(config.proxy_status_file()),
        user: Some(config.proxy.user.clone()),
        admin_listen: p.admin_listen,
        hsts_max_age: p.hsts_max_age,
        tls_session_resumption: true,
        access_log: p.access_log.as_ref().map(|path| AccessLog {
            path: path.clone(),
            format: p.access_log_format,
            query: p.access_log_query,
        }),
        trusted_proxies: p.trusted_proxies.clone(),
        session_key_file: (logins && ssm.is_none())
            // The proxy's own directory: writable by it under systemd's
            // ProtectSystem=strict, owned by its user.
            .then(|| config.proxy_run_dir().join("session.keys")),
        session_key_ssm: ssm.filter(|_| logins),
        limits: Limits {
            max_connections: p.max_connections,
            max_body_bytes: p.max_body_bytes,
            http2_max_streams: p.http2_max_streams,
            ..Limits::default()
        },
        timeouts: p.timeouts.clone(),
        // Behind webtier's ALB: its health check reaches the configured
        // site (the first one unless named).
        health_check: config.load_balancer.as_ref().and_then(|alb| {
            Some(HealthCheckRoute {
                path: alb.health_check.path.clone(),
                site: alb
                    .health_check
                    .site
                    .clone()
                    .or_else(|| config.sites.first().map(|s| s.domain.clone()))?,
            })
        }),
        cache: p.cache.clone(),
        sites,
    }
}

/// One site: its names, its live certificate's files, its routes.
fn site_config(site: &Site, store: &Store) -> SiteConfig {
    let tls = site.tls_on_instance().then(|| {
        let live = store.live_files(&site.domain);
        TlsFiles {
            cert: live.fullchain,
            key: live.privkey,
        }
    });
    SiteConfig {
        names: site.names().map(str::to_string).collect(),
        tls,
        routes: routes(site),
        auth: site.auth.as_ref().map(|a| AuthConfig {
            issuer: a.issuer.clone(),
            client_id: a.client_id.clone(),
            client_secret_file: a.client_secret_file.clone(),
            client_secret_env: a.client_secret_env.clone(),
            scopes: a.scopes.clone(),
            session_lifetime_s: a.session_hours * 3600,
            // Managed by ACM: the load balancer in front terminates TLS
            // for the site's names.
            redirect_uri: a.redirect_uri.clone().or_else(|| {
                (site.acm_mode() == Some(AcmMode::Managed))
                    .then(|| format!("https://{}/auth/callback", site.domain))
            }),
            post_logout_redirect_uri: a.post_logout_redirect_uri.clone(),
            forward_access_token: a.forward_access_token,
        }),
        access: site.access.as_ref().map(access),
        canonical_host: site.canonical_host.clone(),
        redirects: site.redirects.clone(),
        rate_limit: site.rate_limit.clone(),
        cache: site.cache.clone(),
        compress: site.compress.clone(),
    }
}

fn access(a: &crate::config::Access) -> AccessConfig {
    AccessConfig {
        allow: a.allow.clone(),
        deny: a.deny.clone(),
    }
}

fn route_auth(p: &Policy) -> RouteAuth {
    RouteAuth {
        allowed_emails: p.allowed_emails.clone(),
        allowed_claims: p.allowed_claims.clone(),
        public_paths: p.public_paths.clone(),
        login: p.login,
        bearer_audience: p.bearer_audience.clone(),
        bearer_scopes: p.bearer_scopes.clone(),
    }
}

/// A site's routes sorted by path, with its own upstreams at `/` unless a
/// route already takes `/`.
fn routes(site: &Site) -> Vec<RouteConfig> {
    let site_policy = site.auth.as_ref().map(|a| route_auth(&a.policy));
    let mut routes: Vec<RouteConfig> = site
        .routes
        .iter()
        .map(|r| {
            let auth = match &r.auth {
                None => site_policy.clone(),
                Some(Access::Public(_)) => None,
                Some(Access::Policy(p)) => Some(route_auth(p)),
            };
            match &r.backend {
                Backend::Root(root) => RouteConfig {
                    path: r.path.clone(),
                    root: Some(root.clone()),
                    max_body_bytes: r.max_body_bytes,
                    auth,
                    access: r.access.as_ref().map(access),
                    trailing_slash: r.trailing_slash,
                    basic_auth: r.basic_auth.clone(),
                    rate_limit: r.rate_limit.clone(),
                    compress: r.compress.clone(),
                    ..RouteConfig::default()
                },
                Backend::Upstreams(ups) => RouteConfig {
                    path: r.path.clone(),
                    upstreams: ups.iter().map(ToString::to_string).collect(),
                    balance: r.balance,
                    health: health(r.health_check.as_deref()),
                    max_body_bytes: r.max_body_bytes,
                    auth,
                    access: r.access.as_ref().map(access),
                    allow_dotfiles: r.allow_dotfiles,
                    rewrite: r.rewrite.clone(),
                    trailing_slash: r.trailing_slash,
                    basic_auth: r.basic_auth.clone(),
                    rate_limit: r.rate_limit.clone(),
                    cache: r.cache.clone(),
                    compress: r.compress.clone(),
                    ..RouteConfig::default()
                },
            }
        })
        .collect();
    if !site.upstreams.is_empty() && !routes.iter().any(|r| r.path == "/") {
        routes.push(RouteConfig {
            path: "/".into(),
            upstreams: site.upstreams.iter().map(ToString::to_string).collect(),
            balance: site.balance,
            health: health(site.health_check.as_deref()),
            auth: site_policy,
            ..RouteConfig::default()
        });
    }
    routes.sort_by(|a, b| a.path.cmp(&b.path));
    routes
}

/// Active checks on `path`, passive ejection at its defaults.
fn health(path: Option<&str>) -> Health {
    Health {
        check_path: path.map(str::to_string),
        ..Health::default()
    }
}

/// The file text: a header naming the source, then the configuration.
pub fn render(config: &Config) -> String {
    format!(
        "# Generated by webtier from {}.\n# Do not edit: `webtier apply` rewrites this file.\n\n{}",
        config.source.display(),
        proxy_config(config).to_toml()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rendered_config_routes_site_upstreams_at_root_and_parses_back() {
        let text = "[[site]]\ndomain = \"example.com\"\naliases = [\"www.example.com\"]\nupstreams = [\"127.0.0.1:8000\"]\n[[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\n";
        let config =
            crate::config::parse("w.toml", text, Path::new("/etc/webtier/webtier.toml")).unwrap();
        let rendered = render(&config);
        assert!(rendered.starts_with("# Generated by webtier from /etc/webtier/webtier.toml."));
        let parsed = ProxyConfig::from_toml(&rendered).unwrap();
        assert_eq!(parsed, proxy_config(&config));
        let site = &parsed.sites[0];
        assert_eq!(site.names, ["example.com", "www.example.com"]);
        assert_eq!(site.routes[0].path, "/");
        assert_eq!(site.routes[0].upstreams, ["http://127.0.0.1:8000"]);
        assert_eq!(site.routes[1].upstreams, ["http://127.0.0.1:9000"]);
        let tls = site.tls.as_ref().unwrap();
        assert_eq!(
            tls.cert,
            Path::new("/var/lib/webtier/live/example.com/fullchain.pem")
        );
    }

    #[test]
    fn client_address_lists_reach_the_daemon() {
        let text = "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\nallow = [\"10.0.0.0/8\", \"203.0.113.7\"]\ndeny = [\"10.9.0.0/16\"]\n[[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\ndeny = [\"2001:db8::/32\"]\nallow_dotfiles = true\n";
        let config =
            crate::config::parse("w.toml", text, Path::new("/etc/webtier/webtier.toml")).unwrap();
        let parsed = ProxyConfig::from_toml(&render(&config)).unwrap();
        let site = &parsed.sites[0];
        let access = site.access.as_ref().unwrap();
        let nets = |v: &[ipnet::IpNet]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(nets(&access.allow), ["10.0.0.0/8", "203.0.113.7/32"]);
        assert_eq!(nets(&access.deny), ["10.9.0.0/16"]);
        // The site's upstreams (the "/" route) keep the site's list; the
        // route's own replaces it.
        assert_eq!(site.routes[0].path, "/");
        assert!(site.routes[0].access.is_none() && !site.routes[0].allow_dotfiles);
        let api = &site.routes[1];
        assert_eq!(nets(&api.access.as_ref().unwrap().deny), ["2001:db8::/32"]);
        assert!(api.access.as_ref().unwrap().allow.is_empty());
        assert!(api.allow_dotfiles);
    }

    #[test]
    fn cache_and_compression_reach_the_daemon() {
        let text = "[proxy]\ncache_size_mb = 32\ncache_max_entry_kb = 512\n[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\ncache = { default_ttl_s = 30, strip_set_cookie = true }\ncompress = { encodings = [\"gzip\"], min_bytes = 10, gzip_level = 6 }\n[[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\ncache = { enabled = false }\ncompress = { enabled = false }\n";
        let config =
            crate::config::parse("w.toml", text, Path::new("/etc/webtier/webtier.toml")).unwrap();
        let parsed = ProxyConfig::from_toml(&render(&config)).unwrap();
        assert!(parsed.problems().is_empty(), "{:?}", parsed.problems());
        assert_eq!(
            (parsed.cache.max_size_mb, parsed.cache.max_entry_kb),
            (32, 512)
        );
        let site = &parsed.sites[0];
        let cache = site.cache.as_ref().unwrap();
        assert_eq!((cache.default_ttl_s, cache.strip_set_cookie), (30, true));
        let compress = site.compress.as_ref().unwrap();
        assert_eq!(compress.encodings, [crate::proxy::config::Encoding::Gzip]);
        assert_eq!((compress.min_bytes, compress.gzip_level), (10, 6));
        let api = site.routes.iter().find(|r| r.path == "/api/").unwrap();
        assert!(!api.cache.as_ref().unwrap().enabled);
        assert!(!api.compress.as_ref().unwrap().enabled);
    }

    #[test]
    fn redirects_and_rewrites_reach_the_daemon() {
        let text = "[[site]]\ndomain = \"example.com\"\naliases = [\"www.example.com\"]\nupstreams = [\"127.0.0.1:8000\"]\ncanonical_host = \"Example.com\"\n[[site.redirect]]\nfrom = \"^/old/(.*)$\"\nto = \"/new/$1\"\nstatus = 308\n[[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\nrewrite = { from = \"^/api/(.*)$\", to = \"/v2/$1\" }\ntrailing_slash = \"remove\"\n";
        let config =
            crate::config::parse("w.toml", text, Path::new("/etc/webtier/webtier.toml")).unwrap();
        let parsed = ProxyConfig::from_toml(&render(&config)).unwrap();
        assert!(parsed.problems().is_empty(), "{:?}", parsed.problems());
        let site = &parsed.sites[0];
        assert_eq!(site.canonical_host.as_deref(), Some("example.com"));
        assert_eq!(site.redirects.len(), 1);
        assert_eq!(site.redirects[0].status, 308);
        let api = &site.routes[1];
        assert_eq!(api.rewrite.as_ref().unwrap().to, "/v2/$1");
        assert_eq!(
            api.trailing_slash,
            Some(crate::proxy::config::TrailingSlash::Remove)
        );
    }

    #[test]
    fn a_login_reaches_the_daemon_with_each_routes_policy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        let text = "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n\
            [site.auth]\nissuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n\
            session_hours = 2\nallowed_emails = [\"*@Example.com\"]\npublic_paths = [\"/healthz\"]\n\
            [[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\n\
            [site.route.auth]\nlogin = false\nbearer_audience = \"https://api.example.com\"\nbearer_scopes = [\"admin\"]\n\
            [[site.route]]\npath = \"/open/\"\nupstreams = [\"127.0.0.1:9001\"]\nauth = false\n";
        let config =
            crate::config::parse("w.toml", text, &dir.path().join("webtier.toml")).unwrap();
        let p = ProxyConfig::from_toml(&render(&config)).unwrap();
        assert_eq!(
            p.session_key_file.as_deref(),
            Some(Path::new("/var/lib/webtier/run/session.keys"))
        );
        let site = &p.sites[0];
        let auth = site.auth.as_ref().unwrap();
        assert_eq!(auth.session_lifetime_s, 7200);
        assert_eq!(
            auth.client_secret_file.as_deref(),
            Some(&*dir.path().join("secret"))
        );
        let policy = |path: &str| {
            site.routes
                .iter()
                .find(|r| r.path == path)
                .unwrap()
                .auth
                .clone()
        };
        let root = policy("/").expect("the site's policy on its own upstreams");
        assert_eq!(root.allowed_emails, ["*@example.com"]);
        assert_eq!(root.public_paths, ["/healthz"]);
        let api = policy("/api/").expect("the route's own policy");
        assert!(!api.login && api.allowed_emails.is_empty());
        assert_eq!(api.bearer_scopes, ["admin"]);
        assert_eq!(policy("/open/"), None, "auth = false: public");
        // Without a login, no key file.
        let plain = crate::config::parse(
            "w.toml",
            "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n",
            Path::new("/etc/webtier/webtier.toml"),
        )
        .unwrap();
        assert_eq!(proxy_config(&plain).session_key_file, None);
    }

    #[test]
    fn a_session_key_parameter_replaces_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        let login = "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n\
            [site.auth]\nissuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\nallowed_emails = [\"*@example.com\"]\n";
        let settings = "[aws]\nregion = \"eu-west-1\"\n[proxy]\nsession_key_parameter = \"/webtier/prod/session-keys\"\nsession_key_rotate_days = 7\n";
        let parse = |text: &str| {
            crate::config::parse("w.toml", text, &dir.path().join("webtier.toml")).unwrap()
        };
        let config = parse(&format!("{settings}{login}"));
        assert_eq!(config.proxy.session_key_rotate_days, 7);
        let p = ProxyConfig::from_toml(&render(&config)).unwrap();
        assert_eq!(p.session_key_file, None);
        assert_eq!(
            p.session_key_ssm,
            Some(SessionKeySsm {
                parameter: "/webtier/prod/session-keys".into(),
                region: "eu-west-1".into(),
            })
        );
        // Without a login, neither.
        let plain = parse(&format!(
            "{settings}[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n"
        ));
        let p = proxy_config(&plain);
        assert_eq!((p.session_key_file, p.session_key_ssm), (None, None));
        assert_eq!(
            parse(login).proxy.session_key_rotate_days,
            30,
            "the default"
        );
    }

    #[test]
    fn proxy_settings_reach_the_daemon_configuration() {
        let text = "[proxy]\nworkers = 2\nuser = \"www-proxy\"\nbind = [\"10.0.0.5\", \"::1\"]\nhttp_port = 8080\nhsts_max_age = 0\naccess_log = \"-\"\naccess_log_format = \"json\"\naccess_log_query = \"none\"\nadmin_listen = \"127.0.0.1:9100\"\ntrusted_proxies = [\"10.0.0.0/8\"]\nmax_body_bytes = 1024\nhttp2_max_streams = 64\n[proxy.timeouts]\nheader_read_ms = 1001\nsend_ms = 1002\nhttp2_idle_ms = 1003\ntunnel_idle_ms = 1004\nupstream_connect_ms = 1005\nupstream_read_ms = 1006\nupstream_idle_ms = 0\ndrain_ms = 1008\n[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\", \"127.0.0.1:8001\"]\nbalance = \"least-connections\"\nhealth_check = \"/health\"\n[[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\nmax_body_bytes = 99\n";
        let config =
            crate::config::parse("w.toml", text, Path::new("/etc/webtier/webtier.toml")).unwrap();
        let p = ProxyConfig::from_toml(&render(&config)).unwrap();
        assert_eq!(p.workers, 2);
        assert_eq!(p.hsts_max_age, 0);
        assert_eq!(
            p.pid_file.as_deref(),
            Some(Path::new("/var/lib/webtier/run/proxy.pid"))
        );
        assert_eq!(
            p.status_file.as_deref(),
            Some(Path::new("/var/lib/webtier/run/proxy.status.json"))
        );
        assert_eq!(p.user.as_deref(), Some("www-proxy"));
        let listen =
            |v: &[std::net::SocketAddr]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(listen(&p.http_listen), ["10.0.0.5:8080", "[::1]:8080"]);
        assert_eq!(listen(&p.https_listen), ["10.0.0.5:443", "[::1]:443"]);
        let log = p.access_log.unwrap();
        assert_eq!(
            (log.path.as_path(), log.format, log.query),
            (
                Path::new("-"),
                crate::proxy::config::LogFormat::Json,
                crate::proxy::config::LogQuery::Omitted
            )
        );
        assert_eq!(p.admin_listen, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(
            p.trusted_proxies,
            ["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()]
        );
        assert_eq!(p.limits.max_body_bytes, 1024);
        assert_eq!(p.limits.http2_max_streams, 64);
        // Every [proxy.timeouts] key reaches the proxy's [timeouts].
        assert_eq!(
            p.timeouts,
            crate::proxy::config::Timeouts {
                header_read_ms: 1001,
                send_ms: 1002,
                http2_idle_ms: 1003,
                tunnel_idle_ms: 1004,
                upstream_connect_ms: 1005,
                upstream_read_ms: 1006,
                upstream_idle_ms: 0,
                drain_ms: 1008,
            }
        );
        let root = &p.sites[0].routes[0];
        assert_eq!(
            root.balance,
            crate::proxy::config::Balance::LeastConnections
        );
        assert_eq!(root.health.check_path.as_deref(), Some("/health"));
        assert_eq!(p.sites[0].routes[1].max_body_bytes, Some(99));
    }
}
