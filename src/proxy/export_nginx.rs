//! `webtier proxy export nginx`: the proxy file as an nginx main
//! configuration that serves the same thing, for operators who keep
//! nginx. The structure is `templates/nginx.conf`; this module turns a
//! [`ProxyConfig`] into the template's values, each quoted for nginx.
//!
//! Every key of the file is considered: [`export`] takes every struct of
//! the configuration apart without `..`, so a new key does not compile
//! until it is mapped here or named in a note (the notes are comments at
//! the top of the output, and README's "nginx export" lists them too).

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::proxy::config::{
    AccessConfig, AccessLog, AuthConfig, Balance, Health, Limits, LogFormat, LogQuery, ProxyConfig,
    RouteConfig, SiteConfig, Timeouts, TlsFiles, parse_upstream,
};
use crate::proxy::request::pages;

const TEMPLATE: &str = include_str!("../../templates/nginx.conf");

const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// Idle connections webtier keeps per upstream and worker (its pool's
/// limit); nginx's `keepalive` counts per upstream block.
const POOLED_PER_UPSTREAM: usize = 256;

/// Types that get `; charset=utf-8` from a static route: webtier gives
/// it to every `text/*` type and to JavaScript and JSON; nginx needs them
/// named (these are the text types of nginx's mime.types; text/html is
/// always one).
const CHARSET_TYPES: &str = "text/plain text/css text/xml text/javascript \
    application/javascript application/json text/mathml text/vnd.sun.j2me.app-descriptor \
    text/vnd.wap.wml text/x-component";

/// Request headers a client may not set unless it is a trusted proxy
/// (`X-Forwarded-*` beyond the five webtier writes), or ever
/// (`X-Auth-Request-*`): (header, whether a trusted proxy's passes).
const CLEARED_HEADERS: &[(&str, bool)] = &[
    ("X-Forwarded-Port", true),
    ("X-Forwarded-Prefix", true),
    ("X-Forwarded-Server", true),
    ("X-Forwarded-Ssl", true),
    ("X-Forwarded-Scheme", true),
    ("X-Forwarded-Uri", true),
    ("X-Forwarded-Method", true),
    ("X-Auth-Request-User", false),
    ("X-Auth-Request-Email", false),
    ("X-Auth-Request-Groups", false),
    ("X-Auth-Request-Preferred-Username", false),
    ("X-Auth-Request-Access-Token", false),
];

/// A configuration nginx cannot be given as it stands.
#[derive(Debug, thiserror::Error)]
#[error("cannot export to nginx: {0}")]
pub struct Unexportable(pub String);

/// The nginx configuration for `config`, read from `source` (named in
/// the header). Pure.
pub fn export(config: &ProxyConfig, source: &Path) -> Result<String, Unexportable> {
    let ProxyConfig {
        version,
        http_listen,
        // What the proxy opens: none without a TLS site.
        https_listen: _,
        challenge_dir,
        workers,
        pid_file,
        status_file,
        user,
        admin_listen,
        hsts_max_age,
        tls_session_resumption,
        access_log,
        trusted_proxies,
        // Only with a login, which is refused below.
        session_key_file: _,
        session_key_ssm: _,
        limits,
        timeouts,
        // Only with a cache, which is refused below.
        cache: _,
        health_check,
        sites,
    } = config;
    if let Some(hc) = health_check {
        return Err(Unexportable(format!(
            "health_check (GET {} of any host served as {}) is not exported — in nginx, give the default server a location for it that proxies to the site's upstream",
            hc.path, hc.site
        )));
    }
    let Limits {
        max_connections,
        max_header_bytes,
        max_headers,
        max_body_bytes,
        http2_max_streams,
    } = limits;
    let Timeouts {
        header_read_ms,
        send_ms,
        http2_idle_ms,
        tunnel_idle_ms,
        upstream_connect_ms,
        upstream_read_ms,
        upstream_idle_ms,
        drain_ms,
    } = timeouts;
    let https_listen = config.https_listeners();

    let mut notes = Vec::new();
    let mut note = |key: &str, text: String| notes.push(wrap(&format!("{key}: {text}"), 72));
    if let Some(pid_file) = pid_file {
        note(
            "pid_file",
            format!(
                "nginx keeps its own pid file (its `pid` directive), not {}, so webtier never signals nginx.",
                pid_file.display()
            ),
        );
    }
    if let Some(status_file) = status_file {
        note(
            "status_file",
            format!(
                "nginx writes no status file like {}; `nginx -T` shows the configuration it runs.",
                status_file.display()
            ),
        );
    }
    if let Some(user) = user {
        note(
            "user",
            format!(
                "webtier serves as {user} after binding its ports; nginx's workers run as the user of its `user` directive (default nobody): add `user {user} GROUP;` to run them as {user}."
            ),
        );
    }
    if let Some(admin) = admin_listen {
        note(
            "admin_listen",
            format!(
                "webtier's Prometheus /metrics on {admin} has no nginx equivalent (stub_status counts connections only)."
            ),
        );
    }
    note(
        "limits.max_connections",
        format!(
            "{max_connections} open client connections in all; nginx's worker_connections is per worker and counts upstream connections too."
        ),
    );
    note(
        "limits.max_header_bytes",
        format!(
            "a request head of {max_header_bytes} bytes; nginx bounds each header line by its buffer (large_client_header_buffers), not the head as a whole."
        ),
    );
    note(
        "limits.max_headers",
        format!("at most {max_headers} request headers: nginx has no such limit."),
    );
    if http2_idle_ms != header_read_ms {
        note(
            "timeouts.http2_idle_ms",
            format!(
                "{http2_idle_ms}ms for an idle HTTP/2 connection: nginx times idle HTTP/1.1 and HTTP/2 connections alike (keepalive_timeout, here header_read_ms)."
            ),
        );
    }
    if tunnel_idle_ms != upstream_read_ms {
        note(
            "timeouts.tunnel_idle_ms",
            format!(
                "{tunnel_idle_ms}ms for an idle WebSocket tunnel: nginx times tunnels with proxy_read_timeout (here upstream_read_ms)."
            ),
        );
    }
    if let Some(AccessLog {
        path: _,
        format: _,
        query,
    }) = access_log
    {
        let what = match query {
            LogQuery::Masked => {
                "webtier logs queries with secret values masked; nginx cannot mask single parameters, so queries are left out."
            }
            LogQuery::Omitted => "queries are left out, as in webtier.",
        };
        note("access_log.query", what.to_string());
    }
    let all_routes = || sites.iter().flat_map(|s| s.routes.iter());
    if all_routes().any(|r| r.root.is_none()) {
        note(
            "site.route.health",
            "active checks (check_path, check_interval_ms) are nginx Plus only; the passive ones map to max_fails and fail_timeout, which nginx counts within fail_timeout rather than in a row.".to_string(),
        );
    }
    if all_routes().any(|r| r.root.is_some()) {
        note(
            "site.route.root",
            "precompressed .br siblings need the ngx_brotli module (brotli_static on); .gz ones are served (gzip_static). Content types come from nginx's mime.types, webtier's from mime_guess: common types agree. A directory without index.html is 403 in nginx, 404 in webtier.".to_string(),
        );
    }
    if sites.iter().any(|s| s.tls.is_some()) {
        note(
            "site.tls",
            "a client without SNI gets the first TLS site's certificate from webtier; nginx refuses its handshake.".to_string(),
        );
    }
    if !http_listen.is_empty() {
        note(
            "http_listen",
            "redirects (301, 308) carry nginx's own short page; every other page nginx answers itself is webtier's.".to_string(),
        );
    }
    let groups = provider_names();
    if !groups.unmapped_groups.is_empty() {
        note(
            "(TLS key exchange)",
            format!(
                "webtier also offers {}, which ssl_ecdh_curve may list with OpenSSL 3.5 or newer.",
                groups.unmapped_groups.join(", ")
            ),
        );
    }

    let peer = if trusted_proxies.is_empty() {
        "$remote_addr"
    } else {
        "$realip_remote_addr"
    };
    let mut upstreams = Vec::new();
    let mut site_servers = Vec::new();
    let mut sni_sites = Vec::new();
    let mut wildcard_sni = Vec::new();
    for (index, site) in sites.iter().enumerate() {
        let SiteConfig {
            names,
            tls,
            routes,
            auth,
            access,
            canonical_host,
            redirects,
            rate_limit,
            cache,
            compress,
        } = site;
        let id = index + 1;
        // The cache's rules (Vary variants, coalescing, purge) and the
        // codings are webtier's own; nginx's equivalents are configured
        // differently enough that an approximation would surprise.
        let caching =
            |c: &Option<crate::proxy::config::CacheConfig>| c.as_ref().is_some_and(|c| c.enabled);
        if caching(cache) || routes.iter().any(|r| caching(&r.cache)) {
            return Err(Unexportable(format!(
                "site {}: the response cache is not exported — write proxy_cache_path and proxy_cache by hand",
                names[0]
            )));
        }
        let compressing = |c: &Option<crate::proxy::config::CompressConfig>| {
            c.as_ref().is_some_and(|c| c.enabled)
        };
        if compressing(compress) || routes.iter().any(|r| compressing(&r.compress)) {
            return Err(Unexportable(format!(
                "site {}: compression is not exported — write nginx's gzip directives by hand",
                names[0]
            )));
        }
        // Rust's regex syntax is not PCRE's, and a redirect left out would
        // serve what the site redirects away: refused, not approximated.
        if rate_limit.is_some() || routes.iter().any(|r| r.rate_limit.is_some()) {
            return Err(Unexportable(format!(
                "site {}: rate limits are not exported (nginx's limit_req counts its burst differently) — write limit_req_zone and limit_req by hand",
                names[0]
            )));
        }
        if canonical_host.is_some() || !redirects.is_empty() {
            return Err(Unexportable(format!(
                "site {}: canonical_host and redirect rules are not exported — write nginx's `return`/`rewrite` for them by hand",
                names[0]
            )));
        }
        if let Some(AuthConfig { .. }) = auth {
            // The proxy refuses it too: a site believed to be behind a
            // login would be served to everyone.
            return Err(Unexportable(format!(
                "site {}: auth (OIDC login) has no nginx equivalent here, and without it the site would be served to everyone",
                names[0]
            )));
        }
        let mut server_names = Vec::new();
        for name in names {
            check_name(name)?;
            match name.strip_prefix("*.") {
                Some(parent) => {
                    let pattern = format!("^[^.]+\\.{}$", regex_escape(parent));
                    server_names.push(quote_raw(&format!("~{pattern}"))?);
                    wildcard_sni.push(SniEntry {
                        pattern: quote_raw(&format!("~*{pattern}"))?,
                        site: id,
                    });
                }
                None => {
                    server_names.push(name.clone());
                    sni_sites.push(SniEntry {
                        pattern: quote_raw(&format!("~*^{}$", regex_escape(name)))?,
                        site: id,
                    });
                }
            }
        }
        let tls = match tls {
            Some(TlsFiles { cert, key }) => Some(TlsView {
                cert: quote_path(cert)?,
                key: quote_path(key)?,
            }),
            None => None,
        };
        let mut route_views = Vec::new();
        for (r, route) in routes.iter().enumerate() {
            route_views.push(route_view(
                route,
                route.access.as_ref().or(access.as_ref()),
                &format!("webtier_site{id}_route{}", r + 1),
                &names[0],
                *upstream_idle_ms,
                &mut upstreams,
            )?);
        }
        let has_root_route = routes.iter().any(|r| r.path == "/");
        let title = format!("Site {id}: {}", names.join(" "));
        if !http_listen.is_empty() {
            let tls = tls.is_some();
            site_servers.push(ServerView {
                comment: format!("{title}, plain HTTP"),
                listens: http_listen.iter().map(ToString::to_string).collect(),
                names: server_names.join(" "),
                challenge: true,
                fallback: if tls {
                    "redirect"
                } else if has_root_route {
                    ""
                } else {
                    "none"
                },
                routes: if tls {
                    Vec::new()
                } else {
                    route_views
                        .iter()
                        .map(|r| RouteView {
                            skipped: r.path.starts_with(CHALLENGE_PREFIX),
                            ..r.clone()
                        })
                        .collect()
                },
                ..ServerView::default()
            });
        }
        if tls.is_some() {
            site_servers.push(ServerView {
                comment: format!("{title}, HTTPS"),
                listens: https_listen
                    .iter()
                    .map(|a| format!("{a} ssl http2"))
                    .collect(),
                names: server_names.join(" "),
                tls,
                site: id,
                hsts: *hsts_max_age > 0,
                fallback: if has_root_route { "" } else { "none" },
                routes: route_views,
                ..ServerView::default()
            });
        }
    }
    sni_sites.extend(wildcard_sni);

    let mut servers = Vec::new();
    if !http_listen.is_empty() {
        servers.push(ServerView {
            comment:
                "Plain HTTP for names no site has: ACME challenges, else 404 (400 without a Host)."
                    .into(),
            listens: http_listen
                .iter()
                .map(|a| format!("{a} default_server"))
                .collect(),
            names: "\"\"".into(),
            challenge: true,
            fallback: "unknown",
            ..ServerView::default()
        });
    }
    if !https_listen.is_empty() {
        servers.push(ServerView {
            comment: "HTTPS for names no site has: no handshake; a request on another site's connection gets 421 (404 for unknown names).".into(),
            listens: https_listen
                .iter()
                .map(|a| format!("{a} ssl http2 default_server"))
                .collect(),
            names: "\"\"".into(),
            reject_handshake: true,
            fallback: "misdirected",
            ..ServerView::default()
        });
    }
    servers.extend(site_servers);

    let https_port = https_listen.first().map_or(443, |a| a.port());
    let redirect = if https_port == 443 {
        "https://$host".to_string()
    } else {
        format!("https://$host:{https_port}")
    };
    let access_log = match access_log {
        Some(AccessLog {
            path,
            format,
            query: _,
        }) => Some(LogView {
            path: if path == Path::new("-") {
                quote("/dev/stdout")?
            } else {
                quote_path(path)?
            },
            json: *format == LogFormat::Json,
        }),
        None => None,
    };
    // Redirects keep nginx's own body: `return 301 TEXT` takes TEXT for
    // the Location.
    let error_pages = pages::pages()
        .filter(|&(code, _)| code >= 400)
        .map(|(code, html)| {
            let text = std::str::from_utf8(html)
                .map_err(|_| Unexportable(format!("the {code} page is not UTF-8")))?;
            Ok(ErrorPage {
                code,
                body: quote(text)?,
            })
        })
        .collect::<Result<Vec<_>, Unexportable>>()?;

    let view = View {
        source: source.display().to_string(),
        version: *version,
        notes,
        workers: if *workers == 0 {
            "auto".into()
        } else {
            workers.to_string()
        },
        drain: ms(*drain_ms),
        worker_connections: *max_connections,
        max_body: max_body_bytes.to_string(),
        header_buffer: max_header_bytes.to_string(),
        http2_max_streams: *http2_max_streams,
        header_read: ms(*header_read_ms),
        send: ms(*send_ms),
        upstream_connect: ms(*upstream_connect_ms),
        upstream_read: ms(*upstream_read_ms),
        access_log,
        ssl_ciphers: groups.tls12_ciphers.join(":"),
        ssl_ecdh_curve: groups.groups.join(":"),
        session_resumption: *tls_session_resumption,
        trusted_proxies: trusted_proxies.iter().map(ToString::to_string).collect(),
        peer,
        cleared_headers: CLEARED_HEADERS
            .iter()
            .map(|&(header, passes)| ClearedHeader {
                header,
                var: header.to_ascii_lowercase().replace('-', "_"),
                trusted: if passes {
                    format!("$http_{}", header.to_ascii_lowercase().replace('-', "_"))
                } else {
                    "\"\"".into()
                },
            })
            .collect(),
        error_pages,
        sni_sites,
        upstreams,
        hsts: (*hsts_max_age > 0).then(|| format!("\"max-age={hsts_max_age}\"")),
        challenge_dir: quote_raw(&format!(
            "{}/$webtier_token",
            plain_path(challenge_dir)?.trim_end_matches('/')
        ))?,
        charset_types: CHARSET_TYPES,
        redirect,
        servers,
    };
    render(&view)
}

fn render(view: &View) -> Result<String, Unexportable> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_template("nginx.conf", TEMPLATE)
        .map_err(|e| Unexportable(format!("templates/nginx.conf: {e}")))?;
    let text = env
        .get_template("nginx.conf")
        .and_then(|t| t.render(view))
        .map_err(|e| Unexportable(format!("templates/nginx.conf: {e}")))?;
    Ok(squeeze_blank_lines(&text))
}

/// nginx's `deny`/`allow` lines for client addresses: the first match
/// wins there, so denials come first and, when there is an allow list,
/// a final `deny all`.
fn access_lines(access: Option<&AccessConfig>) -> Vec<String> {
    let Some(access) = access else {
        return Vec::new();
    };
    let mut lines: Vec<String> = access.deny.iter().map(|n| format!("deny {n};")).collect();
    lines.extend(access.allow.iter().map(|n| format!("allow {n};")));
    if !access.allow.is_empty() {
        lines.push("deny all;".into());
    }
    lines
}

/// One route as a location: static files from an alias, or a proxy to an
/// upstream block (added to `upstreams`).
fn route_view(
    route: &RouteConfig,
    access: Option<&AccessConfig>,
    name: &str,
    site: &str,
    upstream_idle_ms: u64,
    upstreams: &mut Vec<UpstreamView>,
) -> Result<RouteView, Unexportable> {
    let RouteConfig {
        path,
        root,
        upstreams: addresses,
        balance,
        health,
        max_body_bytes,
        // Only on a site with a login, which is refused.
        auth: _,
        // The site's or its own: `access`.
        access: _,
        allow_dotfiles,
        rewrite,
        trailing_slash,
        basic_auth,
        // Refused with the site's (above).
        rate_limit: _,
        cache: _,
        compress: _,
    } = route;
    if basic_auth.is_some() {
        // Refused rather than left out: the route would be open.
        return Err(Unexportable(format!(
            "route \"{path}\" of site {site}: basic_auth is not exported (nginx checks htpasswd hashes with the system's crypt(3), which may not know bcrypt or argon2) — write auth_basic by hand"
        )));
    }
    if rewrite.is_some() || trailing_slash.is_some() {
        return Err(Unexportable(format!(
            "route \"{path}\" of site {site}: rewrite and trailing_slash are not exported — write nginx's `rewrite` for them by hand"
        )));
    }
    let Health {
        fail_after,
        eject_ms,
        check_path,
        check_interval_ms,
    } = health;
    check_prefix(path, site)?;
    let mut view = RouteView {
        path: path.clone(),
        location: quote(path)?,
        skipped: false,
        root: None,
        hidden: quote_raw(&format!("^{}(?:.*/)?\\.", regex_escape(path)))?,
        hidden_proxied: (!allow_dotfiles)
            .then(|| {
                quote_raw(&format!(
                    "^{}(?:.*/)?\\.(?!well-known(?:/|$))",
                    regex_escape(path)
                ))
            })
            .transpose()?,
        access: access_lines(access),
        slashless: None,
        max_body: max_body_bytes.map(|n| n.to_string()),
        proxy_pass: None,
        ssl_name: None,
    };
    if let Some(root) = root {
        view.root = Some(quote(&format!(
            "{}/",
            plain_path(root)?.trim_end_matches('/')
        ))?);
        if path.len() > 1 && path.ends_with('/') {
            view.slashless = Some(quote(&path[..path.len() - 1])?);
        }
        return Ok(view);
    }
    let parsed = addresses
        .iter()
        .map(|a| parse_upstream(a).map_err(Unexportable))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = parsed.first().is_some_and(|a| a.tls);
    if parsed.iter().any(|a| a.tls != tls) {
        return Err(Unexportable(format!(
            "route \"{path}\" of site {site} mixes http:// and https:// upstreams, and nginx's proxy_pass has one scheme per location"
        )));
    }
    let servers: Vec<String> = parsed
        .iter()
        .map(|a| {
            if a.host.contains(':') {
                format!("[{}]:{}", a.host, a.port)
            } else {
                format!("{}:{}", a.host, a.port)
            }
        })
        .collect();
    for server in &servers {
        if !server
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        {
            return Err(Unexportable(format!(
                "upstream {server} of site {site} is not a plain host name or address"
            )));
        }
    }
    let mut comment = format!("{site} {path}");
    if eject_ms % 1000 != 0 {
        comment.push_str(&format!(
            " (webtier ejects for {eject_ms}ms; nginx's fail_timeout is in seconds)"
        ));
    }
    if let Some(check) = check_path {
        comment.push_str(&format!(
            " (webtier checks GET {check} every {check_interval_ms}ms; nginx Plus only)"
        ));
    }
    if tls && parsed.iter().any(|a| a.host != parsed[0].host) {
        comment.push_str(&format!(
            " (nginx verifies every upstream's certificate for {}, webtier each for its own name)",
            parsed[0].host
        ));
    }
    upstreams.push(UpstreamView {
        name: name.to_string(),
        comment,
        least_conn: *balance == Balance::LeastConnections,
        keepalive: (upstream_idle_ms > 0).then_some(POOLED_PER_UPSTREAM * servers.len()),
        keepalive_timeout: ms(upstream_idle_ms),
        servers,
        max_fails: *fail_after,
        // nginx takes whole seconds here.
        fail_timeout: format!("{}s", eject_ms.div_ceil(1000).max(1)),
    });
    view.proxy_pass = Some(format!("{}://{name}", if tls { "https" } else { "http" }));
    if tls {
        view.ssl_name = Some(parsed[0].host.clone());
    }
    Ok(view)
}

/// nginx's names for what rustls offers: the TLS 1.2 suites in order,
/// the key-exchange groups nginx's OpenSSL knows, and those it may not.
struct ProviderNames {
    tls12_ciphers: Vec<&'static str>,
    groups: Vec<&'static str>,
    unmapped_groups: Vec<String>,
}

fn provider_names() -> ProviderNames {
    let provider = crate::proxy::tls::provider();
    let mut names = ProviderNames {
        tls12_ciphers: Vec::new(),
        groups: Vec::new(),
        unmapped_groups: Vec::new(),
    };
    for suite in &provider.cipher_suites {
        if suite.version() == &rustls::version::TLS12 {
            let iana = format!("{:?}", suite.suite());
            // Every TLS 1.2 suite webtier offers has an OpenSSL name (a
            // unit test checks it), so none is left out silently.
            if let Some(openssl) = openssl_cipher(&iana) {
                names.tls12_ciphers.push(openssl);
            }
        }
    }
    for group in &provider.kx_groups {
        let name = format!("{:?}", group.name());
        match openssl_group(&name) {
            Some(openssl) => names.groups.push(openssl),
            None => names.unmapped_groups.push(name),
        }
    }
    names
}

/// OpenSSL's name of a TLS 1.2 suite given by its IANA name.
fn openssl_cipher(iana: &str) -> Option<&'static str> {
    Some(match iana {
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-RSA-CHACHA20-POLY1305",
        _ => return None,
    })
}

/// OpenSSL's name of a key-exchange group every OpenSSL 1.1.1+ knows.
fn openssl_group(name: &str) -> Option<&'static str> {
    Some(match name {
        "X25519" => "X25519",
        "secp256r1" => "prime256v1",
        "secp384r1" => "secp384r1",
        _ => return None,
    })
}

/// A duration for nginx: `NNNms`.
fn ms(value: u64) -> String {
    format!("{value}ms")
}

/// `text` as one double-quoted nginx token. nginx reads `\"`, `\\`, `\n`
/// and `\t` inside quotes; a `$` would start a variable and has no escape,
/// so text with one cannot be written.
fn quote(text: &str) -> Result<String, Unexportable> {
    if text.contains('$') {
        return Err(Unexportable(format!(
            "\"{text}\" contains '$', which nginx would read as a variable"
        )));
    }
    quote_raw(text)
}

/// [`quote`] for text that holds variables, or a regular expression's
/// `$`, on purpose.
fn quote_raw(text: &str) -> Result<String, Unexportable> {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                return Err(Unexportable(format!(
                    "{text:?} contains a control character"
                )));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A file or directory path as text nginx can hold (UTF-8, no `$`).
fn plain_path(path: &Path) -> Result<&str, Unexportable> {
    let text = path
        .to_str()
        .ok_or_else(|| Unexportable(format!("{} is not UTF-8", path.display())))?;
    if text.contains('$') {
        return Err(Unexportable(format!(
            "{text} contains '$', which nginx would read as a variable"
        )));
    }
    Ok(text)
}

fn quote_path(path: &Path) -> Result<String, Unexportable> {
    quote(plain_path(path)?)
}

/// A regular expression that matches `text` literally.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if "\\.^$*+?()[]{}|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Site names as the proxy file holds them: ASCII lowercase letters,
/// digits, `-`, `.`, `_`, and a leading `*.`.
fn check_name(name: &str) -> Result<(), Unexportable> {
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let ok = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Unexportable(format!("\"{name}\" is not a host name")))
    }
}

/// Route prefixes are compared with the request path as it was sent
/// (still percent-encoded) by webtier and with the decoded path by nginx:
/// the two agree only for prefixes without escapes or characters that
/// nginx's configuration syntax would need quoted apart.
fn check_prefix(path: &str, site: &str) -> Result<(), Unexportable> {
    let ok = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~!&()*+,=:@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Unexportable(format!(
            "route \"{path}\" of site {site}: nginx matches decoded paths, so a prefix with '%', quotes, '$', ';', '{{', '}}' or spaces cannot mean the same"
        )))
    }
}

/// `text` in lines of at most `width` characters (longer words alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// No runs of blank lines (the template's conditionals leave them).
fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let is_blank = line.trim().is_empty();
        if !(is_blank && blank) {
            out.push_str(if is_blank { "" } else { line });
            out.push('\n');
        }
        blank = is_blank;
    }
    out
}

#[derive(Serialize)]
struct View {
    source: String,
    version: u32,
    notes: Vec<Vec<String>>,
    workers: String,
    drain: String,
    worker_connections: usize,
    max_body: String,
    header_buffer: String,
    http2_max_streams: u32,
    header_read: String,
    send: String,
    upstream_connect: String,
    upstream_read: String,
    access_log: Option<LogView>,
    ssl_ciphers: String,
    ssl_ecdh_curve: String,
    session_resumption: bool,
    trusted_proxies: Vec<String>,
    /// The variable that holds the peer's address.
    peer: &'static str,
    cleared_headers: Vec<ClearedHeader>,
    error_pages: Vec<ErrorPage>,
    sni_sites: Vec<SniEntry>,
    upstreams: Vec<UpstreamView>,
    /// `Strict-Transport-Security`'s value, quoted.
    hsts: Option<String>,
    /// The challenge location's alias, quoted, ending in the token.
    challenge_dir: String,
    charset_types: &'static str,
    /// `https://$host[:port]`, followed by `$request_uri`.
    redirect: String,
    servers: Vec<ServerView>,
}

#[derive(Serialize)]
struct LogView {
    path: String,
    json: bool,
}

#[derive(Serialize)]
struct ClearedHeader {
    header: &'static str,
    var: String,
    /// What a trusted proxy's header becomes.
    trusted: String,
}

#[derive(Serialize)]
struct ErrorPage {
    code: u16,
    body: String,
}

#[derive(Serialize)]
struct SniEntry {
    pattern: String,
    site: usize,
}

#[derive(Serialize)]
struct UpstreamView {
    name: String,
    comment: String,
    least_conn: bool,
    servers: Vec<String>,
    max_fails: u32,
    fail_timeout: String,
    keepalive: Option<usize>,
    keepalive_timeout: String,
}

/// One nginx `server`: a site on one kind of listener, or the default
/// server of that kind.
#[derive(Serialize, Default)]
struct ServerView {
    comment: String,
    /// `listen`'s arguments.
    listens: Vec<String>,
    /// `server_name`'s arguments.
    names: String,
    reject_handshake: bool,
    tls: Option<TlsView>,
    /// The site's number in the SNI map.
    site: usize,
    hsts: bool,
    challenge: bool,
    /// What `location /` does when no route has `/`: `unknown` (the plain
    /// default server), `misdirected` (the HTTPS one), `redirect` (to
    /// HTTPS), `none` (404); empty when a route has `/`.
    fallback: &'static str,
    routes: Vec<RouteView>,
}

#[derive(Serialize)]
struct TlsView {
    cert: String,
    key: String,
}

#[derive(Serialize, Clone)]
struct RouteView {
    path: String,
    /// `deny`/`allow` lines: the route's client addresses.
    access: Vec<String>,
    /// Proxied: the regex of dot segments refused with 403, unless the
    /// route allows them.
    hidden_proxied: Option<String>,
    /// The prefix, quoted.
    location: String,
    /// Left out: on plain HTTP its paths are ACME challenges.
    skipped: bool,
    /// Static: the alias, quoted, with a trailing slash.
    root: Option<String>,
    /// Static: the regex of dotfiles under the prefix.
    hidden: String,
    /// Static `/dir/`: `/dir`, redirected to the prefix.
    slashless: Option<String>,
    max_body: Option<String>,
    proxy_pass: Option<String>,
    /// An https upstream's name for SNI and verification.
    ssl_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::config::{AccessLog, LogFormat};

    /// A file with every key set, and none at its default.
    fn everything() -> ProxyConfig {
        ProxyConfig {
            http_listen: vec!["0.0.0.0:80".parse().unwrap(), "[::]:80".parse().unwrap()],
            https_listen: vec!["0.0.0.0:8443".parse().unwrap()],
            challenge_dir: "/var/lib/webtier/acme-challenge/".into(),
            workers: 3,
            pid_file: Some("/run/webtier.pid".into()),
            status_file: Some("/run/webtier.status.json".into()),
            user: Some("www-proxy".into()),
            admin_listen: Some("127.0.0.1:9100".parse().unwrap()),
            hsts_max_age: 600,
            tls_session_resumption: false,
            access_log: Some(AccessLog {
                path: "/var/log/webtier/access.log".into(),
                format: LogFormat::Json,
                query: LogQuery::Masked,
            }),
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            limits: Limits {
                max_connections: 500,
                max_header_bytes: 32_768,
                max_headers: 50,
                max_body_bytes: 1_000,
                http2_max_streams: 64,
            },
            timeouts: Timeouts {
                header_read_ms: 1_001,
                send_ms: 1_002,
                http2_idle_ms: 1_003,
                tunnel_idle_ms: 1_004,
                upstream_connect_ms: 1_005,
                upstream_read_ms: 1_006,
                upstream_idle_ms: 1_007,
                drain_ms: 1_008,
            },
            sites: vec![
                SiteConfig {
                    names: vec!["a.test".into(), "*.a.test".into()],
                    tls: Some(TlsFiles {
                        cert: "/live/a/fullchain.pem".into(),
                        key: "/live/a/privkey.pem".into(),
                    }),
                    routes: vec![
                        RouteConfig {
                            path: "/static/".into(),
                            root: Some("/srv/www".into()),
                            ..RouteConfig::default()
                        },
                        RouteConfig {
                            path: "/".into(),
                            upstreams: vec![
                                "http://127.0.0.1:8000".into(),
                                "http://[::1]:8001".into(),
                            ],
                            balance: Balance::LeastConnections,
                            health: Health {
                                fail_after: 7,
                                eject_ms: 2_500,
                                check_path: Some("/health".into()),
                                check_interval_ms: 900,
                            },
                            max_body_bytes: Some(99),
                            ..RouteConfig::default()
                        },
                        RouteConfig {
                            path: "/dav/".into(),
                            upstreams: vec!["http://127.0.0.1:8000".into()],
                            access: Some(AccessConfig {
                                allow: vec!["203.0.113.0/24".parse().unwrap()],
                                deny: Vec::new(),
                            }),
                            allow_dotfiles: true,
                            ..RouteConfig::default()
                        },
                    ],
                    auth: None,
                    access: Some(AccessConfig {
                        allow: Vec::new(),
                        deny: vec!["192.0.2.0/24".parse().unwrap()],
                    }),
                    canonical_host: None,
                    redirects: Vec::new(),
                    rate_limit: None,
                    cache: None,
                    compress: None,
                },
                SiteConfig {
                    names: vec!["p.test".into()],
                    tls: None,
                    routes: vec![RouteConfig {
                        path: "/app".into(),
                        root: Some("/srv/app".into()),
                        ..RouteConfig::default()
                    }],
                    auth: None,
                    access: None,
                    canonical_host: None,
                    redirects: Vec::new(),
                    rate_limit: None,
                    cache: None,
                    compress: None,
                },
            ],
            ..ProxyConfig::default()
        }
    }

    fn exported(config: &ProxyConfig) -> String {
        export(config, Path::new("/etc/webtier/proxy.toml")).unwrap()
    }

    #[test]
    fn every_key_is_mapped_or_named() {
        let text = exported(&everything());
        // (key, what shows that it was carried over)
        let mapped = [
            ("version", "webtier proxy file version 1"),
            ("http_listen", "listen [::]:80 default_server;"),
            ("https_listen", "listen 0.0.0.0:8443 ssl http2;"),
            (
                "https_listen (redirects)",
                "return 301 https://$host:8443$request_uri;",
            ),
            (
                "challenge_dir",
                "alias \"/var/lib/webtier/acme-challenge/$webtier_token\";",
            ),
            ("workers", "worker_processes 3;"),
            (
                "hsts_max_age",
                "add_header Strict-Transport-Security \"max-age=600\" always;",
            ),
            ("tls_session_resumption", "ssl_session_cache off;"),
            (
                "access_log.path",
                "access_log \"/var/log/webtier/access.log\" webtier",
            ),
            ("access_log.format", "log_format webtier escape=json"),
            ("trusted_proxies", "set_real_ip_from 10.0.0.0/8;"),
            ("limits.max_connections", "worker_connections 500;"),
            (
                "limits.max_header_bytes",
                "large_client_header_buffers 1 32768;",
            ),
            ("limits.max_body_bytes", "client_max_body_size 1000;"),
            (
                "limits.http2_max_streams",
                "http2_max_concurrent_streams 64;",
            ),
            ("timeouts.header_read_ms", "client_header_timeout 1001ms;"),
            ("timeouts.header_read_ms", "keepalive_timeout 1001ms;"),
            ("timeouts.send_ms", "send_timeout 1002ms;"),
            (
                "timeouts.upstream_connect_ms",
                "proxy_connect_timeout 1005ms;",
            ),
            ("timeouts.upstream_read_ms", "proxy_read_timeout 1006ms;"),
            ("timeouts.upstream_idle_ms", "keepalive_timeout 1007ms;"),
            ("timeouts.drain_ms", "worker_shutdown_timeout 1008ms;"),
            (
                "site.names",
                "server_name a.test \"~^[^.]+\\\\.a\\\\.test$\";",
            ),
            (
                "site.tls.cert",
                "ssl_certificate \"/live/a/fullchain.pem\";",
            ),
            (
                "site.tls.key",
                "ssl_certificate_key \"/live/a/privkey.pem\";",
            ),
            ("site.route.path", "location \"/static/\" {"),
            ("site.route.root", "alias \"/srv/www/\";"),
            (
                "site.route.upstreams",
                "server [::1]:8001 max_fails=7 fail_timeout=3s;",
            ),
            ("site.route.balance", "least_conn;"),
            ("site.route.health.fail_after", "max_fails=7"),
            ("site.route.health.eject_ms", "fail_timeout=3s"),
            ("site.route.health.eject_ms", "webtier ejects for 2500ms"),
            ("site.route.max_body_bytes", "client_max_body_size 99;"),
            ("site.access.deny", "deny 192.0.2.0/24;"),
            (
                "site.route.access.allow",
                "location \"/dav/\" {\n            allow 203.0.113.0/24;\n            deny all;",
            ),
            (
                "site.route.allow_dotfiles (false)",
                "location ~ \"^/(?:.*/)?\\\\.(?!well-known(?:/|$))\" {\n                return 403;",
            ),
        ];
        for (key, directive) in mapped {
            assert!(
                text.contains(directive),
                "{key}: no {directive:?} in\n{text}"
            );
        }
        // Named in the notes at the top, each with its value.
        let named = [
            ("pid_file", "/run/webtier.pid"),
            ("status_file", "/run/webtier.status.json"),
            ("user", "user www-proxy GROUP;"),
            ("admin_listen", "127.0.0.1:9100"),
            ("limits.max_connections", "500"),
            ("limits.max_header_bytes", "32768"),
            ("limits.max_headers", "50"),
            ("timeouts.http2_idle_ms", "1003ms"),
            ("timeouts.tunnel_idle_ms", "1004ms"),
            ("access_log.query", "masked"),
            ("site.route.health", "check_path"),
        ];
        // Each note, its continuation lines joined: "key: text".
        let mut notes: Vec<String> = Vec::new();
        for line in text.lines().take_while(|l| l.starts_with('#')) {
            if let Some(first) = line.strip_prefix("# - ") {
                notes.push(first.to_string());
            } else if let (Some(more), Some(last)) = (line.strip_prefix("#   "), notes.last_mut()) {
                last.push(' ');
                last.push_str(more);
            }
        }
        for (key, value) in named {
            let note = notes
                .iter()
                .find(|n| n.starts_with(&format!("{key}: ")))
                .unwrap_or_else(|| panic!("{key} is not named in the notes: {notes:#?}"));
            assert!(note.contains(value), "{key}: {value} not in {note}");
        }
        // The health check is also said at its upstream block.
        assert!(
            text.contains("webtier checks GET /health every 900ms"),
            "{text}"
        );
    }

    #[test]
    fn a_routes_own_access_list_replaces_the_sites_and_dotfiles_follow_the_route() {
        let text = exported(&everything());
        let dav = &text[text.find("location \"/dav/\" {").unwrap()..];
        let dav = &dav[..dav.find("\n        }").unwrap()];
        assert!(!dav.contains("192.0.2.0/24"), "{dav}");
        assert!(!dav.contains("well-known"), "allows dotfiles: {dav}");
        let root = &text[text.find("location \"/\" {").unwrap()..];
        let root = &root[..root.find("proxy_pass").unwrap()];
        assert!(root.contains("deny 192.0.2.0/24;"), "{root}");
        assert!(!root.contains("deny all;"), "no allow list: {root}");
    }

    #[test]
    fn defaults_map_without_notes_for_timeouts_nginx_shares() {
        let mut config = everything();
        config.timeouts = Timeouts::default();
        let text = exported(&config);
        // http2_idle_ms (75 s) differs from header_read_ms (20 s) by
        // default; the tunnel and upstream read timeouts agree.
        assert!(text.contains("- timeouts.http2_idle_ms"), "{text}");
        assert!(!text.contains("- timeouts.tunnel_idle_ms"), "{text}");
        assert!(text.contains("keepalive_timeout 60000ms;"), "{text}");
        assert!(text.contains("proxy_read_timeout 60000ms;"), "{text}");
        // Session resumption on, HSTS at a year, no trusted proxies.
        let mut config = ProxyConfig::default();
        config.http_listen.push("127.0.0.1:80".parse().unwrap());
        let text = exported(&config);
        assert!(
            text.contains("ssl_session_cache shared:webtier:10m;"),
            "{text}"
        );
        assert!(!text.contains("set_real_ip_from"), "{text}");
        assert!(
            text.contains("geo $remote_addr $webtier_trusted {"),
            "{text}"
        );
        assert!(text.contains("access_log off;"), "{text}");
        assert!(text.contains("worker_processes auto;"), "{text}");
        // No HTTPS listener: no TLS server at all.
        assert!(!text.contains("ssl_reject_handshake"), "{text}");
    }

    #[test]
    fn a_tls_site_redirects_plain_http_and_binds_its_connections() {
        let text = exported(&everything());
        assert!(
            text.contains("if ($request_method !~ ^(GET|HEAD)$) {\n                return 308 https://$host:8443$request_uri;"),
            "{text}"
        );
        assert!(text.contains("if ($webtier_sni_site != \"1\") {"), "{text}");
        // Exact names come before wildcards in the SNI map, and a wildcard
        // matches one label.
        let exact = text.find("\"~*^a\\\\.test$\" 1;").expect("exact name");
        let wildcard = text
            .find("\"~*^[^.]+\\\\.a\\\\.test$\" 1;")
            .expect("wildcard");
        assert!(exact < wildcard, "{text}");
        // The plain site has no TLS server and no HSTS in its locations.
        let plain = &text[text.find("# Site 2: p.test, plain HTTP").unwrap()..];
        assert!(!plain.contains("Strict-Transport-Security"), "{plain}");
        assert!(!plain.contains("# Site 2: p.test, HTTPS"), "{plain}");
    }

    #[test]
    fn static_routes_map_to_alias_with_redirects_and_no_dotfiles() {
        let text = exported(&everything());
        assert!(
            text.contains("location = \"/static\" {\n            return 301 \"/static/\";"),
            "{text}"
        );
        assert!(
            text.contains("location ~ \"^/static/(?:.*/)?\\\\.\" {"),
            "{text}"
        );
        // Without a trailing slash the prefix is replaced as webtier does:
        // /app/x and /appx both map under the root.
        assert!(
            text.contains("location \"/app\" {\n            alias \"/srv/app/\";"),
            "{text}"
        );
        assert!(!text.contains("location = \"/ap\""), "{text}");
        // A site without a route at / answers 404 there.
        let plain = &text[text.find("# Site 2: p.test, plain HTTP").unwrap()..];
        assert!(
            plain.contains("location / {\n            return 404;"),
            "{plain}"
        );
    }

    #[test]
    fn error_pages_are_webtiers_own() {
        let text = exported(&everything());
        for (code, html) in pages::pages().filter(|&(code, _)| code >= 400) {
            assert!(
                text.contains(&format!("error_page {code} @webtier_{code};")),
                "{code}"
            );
            let body = quote(std::str::from_utf8(html).unwrap()).unwrap();
            assert!(text.contains(&format!("return {code} {body};")), "{code}");
        }
        assert!(
            !text.contains("error_page 301"),
            "redirects keep nginx's body"
        );
    }

    #[test]
    fn what_nginx_cannot_mean_the_same_is_refused() {
        let mut config = everything();
        config.sites[0].auth = Some(AuthConfig::new("https://id.example", "c"));
        let err = export(&config, Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("would be served to everyone"), "{err}");

        let mut config = everything();
        config.sites[0].routes[1]
            .upstreams
            .push("https://app.example:443".into());
        let err = export(&config, Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("mixes http:// and https://"), "{err}");

        let mut config = everything();
        config.sites[0].routes[0].root = Some("/srv/$HOME".into());
        let err = export(&config, Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("read as a variable"), "{err}");

        let mut config = everything();
        config.sites[0].routes[0].path = "/a%20b/".into();
        let err = export(&config, Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("nginx matches decoded paths"), "{err}");

        // The traffic policy that has no faithful nginx form: refused, so
        // that the nginx site is never more open than webtier's.
        type Set = fn(&mut ProxyConfig);
        let policies: [(Set, &str); 5] = [
            (
                |c| {
                    c.sites[0].routes[1].basic_auth = Some(crate::proxy::config::BasicAuthConfig {
                        htpasswd_file: "/etc/htpasswd".into(),
                        realm: "x".into(),
                        forward_authorization: false,
                    })
                },
                "basic_auth",
            ),
            (
                |c| {
                    c.sites[0].rate_limit = Some(crate::proxy::config::RateLimitConfig {
                        per_second: 1.0,
                        burst: 1,
                        delay: 0,
                    })
                },
                "rate limits",
            ),
            (
                |c| c.sites[0].canonical_host = Some("a.test".into()),
                "canonical_host",
            ),
            (
                |c| {
                    c.sites[0].routes[1].rewrite = Some(crate::proxy::config::RewriteConfig {
                        from: "^/(.*)$".into(),
                        to: "/x/$1".into(),
                    })
                },
                "rewrite",
            ),
            (
                |c| {
                    c.sites[0].routes[1].trailing_slash =
                        Some(crate::proxy::config::TrailingSlash::Add)
                },
                "trailing_slash",
            ),
        ];
        for (set, words) in policies {
            let mut config = everything();
            set(&mut config);
            let err = export(&config, Path::new("f")).unwrap_err().to_string();
            assert!(
                err.contains(words) && err.contains("by hand"),
                "{words}: {err}"
            );
        }
    }

    #[test]
    fn https_upstreams_are_verified_by_name() {
        let mut config = everything();
        config.sites[0].routes[1].upstreams = vec!["https://app.example:8443".into()];
        let text = exported(&config);
        assert!(
            text.contains("proxy_pass https://webtier_site1_route2;"),
            "{text}"
        );
        assert!(text.contains("proxy_ssl_name app.example;"), "{text}");
        assert!(text.contains("proxy_ssl_verify on;"), "{text}");
    }

    #[test]
    fn quoting_escapes_what_nginx_unescapes_and_refuses_variables() {
        assert_eq!(quote("a b").unwrap(), "\"a b\"");
        assert_eq!(quote("say \"hi\"\n").unwrap(), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(quote("back\\slash").unwrap(), "\"back\\\\slash\"");
        assert!(quote("$uri").is_err());
        assert!(quote("bell\u{7}").is_err());
        assert_eq!(quote_raw("~^a$").unwrap(), "\"~^a$\"");
        assert_eq!(regex_escape("/a.b+(c)/"), "/a\\.b\\+\\(c\\)/");
    }

    #[test]
    fn every_tls12_suite_webtier_offers_has_an_openssl_name() {
        let provider = crate::proxy::tls::provider();
        let tls12: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .collect();
        assert!(!tls12.is_empty());
        for suite in tls12 {
            let iana = format!("{:?}", suite.suite());
            assert!(
                openssl_cipher(&iana).is_some(),
                "{iana} has no OpenSSL name here"
            );
        }
        let names = provider_names();
        assert_eq!(names.groups, ["X25519", "prime256v1", "secp384r1"]);
        assert!(names.tls12_ciphers[0].starts_with("ECDHE-ECDSA-AES256"));
    }

    #[test]
    fn notes_wrap_at_word_boundaries() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a-very-long-word b", 4), ["a-very-long-word", "b"]);
        assert!(wrap("", 10).is_empty());
        assert_eq!(squeeze_blank_lines("a\n\n\n  \nb\n"), "a\n\nb\n");
    }
}
