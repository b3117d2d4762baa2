//! Reading the proxy file: TOML in, every setting checked (versions,
//! listeners, sites, routes, upstreams), errors naming the line or the key.

use std::net::IpAddr;

use super::*;

impl ProxyConfig {
    /// Parses and checks the file text; the error lists every problem,
    /// one a line.
    pub fn from_toml(text: &str) -> Result<ProxyConfig, String> {
        let config = ProxyConfig::parse(text)?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The file text as TOML of this version, not yet checked
    /// ([`problems`](ProxyConfig::problems) does that): a syntax error, an
    /// unknown key or another version ends the reading, one error.
    pub fn parse(text: &str) -> Result<ProxyConfig, String> {
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
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the proxy configuration always serializes")
    }

    /// What the types cannot say, every problem of the text (not of the
    /// files it names), one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.settings_problems(&mut problems);
        listen_problems(self, &mut problems);
        duplicate_names(&self.sites, &mut problems);
        for site in &self.sites {
            site_problems(site, !self.https_listen.is_empty(), &mut problems);
            auth_problems(site, self, &mut problems);
        }
        problems
    }

    /// The settings outside the sites.
    fn settings_problems(&self, problems: &mut Vec<String>) {
        if let Some(admin) = self.admin_listen
            && !admin.ip().is_loopback()
        {
            problems.push(format!(
                "admin_listen {admin} is not a loopback address — use 127.0.0.1 or [::1]"
            ));
        }
        problems.extend(cache_store_problems(&self.cache));
        if let Some(hc) = &self.health_check {
            problems.extend(health_check_problems(hc, &self.sites));
        }
        if let Some(ssm) = &self.session_key_ssm {
            if self.session_key_file.is_some() {
                problems.push(
                    "session_key_file and session_key_ssm are both set — keep one (session_key_ssm shares the keys between proxies)".into(),
                );
            }
            if let Some(problem) = ssm_parameter_problem(&ssm.parameter) {
                problems.push(format!("session_key_ssm.parameter: {problem}"));
            }
            if ssm.region.is_empty()
                || !(ssm.region.chars())
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                problems.push(format!(
                    "session_key_ssm.region \"{}\" is not an AWS region name — use one like \"eu-west-1\"",
                    ssm.region
                ));
            }
        }
        if self.limits.max_header_bytes < 8192 {
            problems.push("limits.max_header_bytes must be at least 8192".into());
        }
        if self.limits.max_connections == 0 {
            problems.push("limits.max_connections must be at least 1".into());
        }
        if self.limits.http2_max_streams == 0 {
            problems.push("limits.http2_max_streams must be at least 1".into());
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
                problems.push(format!("timeouts.{name} must be at least 1"));
            }
        }
    }
}

/// Why `name` is not an SSM parameter name webtier accepts, if it is not:
/// a path (`/` first) of letters, digits and `_.-/`, at most 1011
/// characters.
pub fn ssm_parameter_problem(name: &str) -> Option<String> {
    const MAX: usize = 1011;
    if !name.starts_with('/') {
        return Some(format!(
            "\"{name}\" must start with / — like \"/webtier/prod/session-keys\""
        ));
    }
    if name.len() > MAX {
        return Some(format!(
            "the name has {} characters, at most {MAX} are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c)))
    {
        return Some(format!(
            "\"{name}\" has {c:?}: use letters, digits and _ . - / only"
        ));
    }
    None
}

/// Each listener needs an address of its own: two sockets of one process
/// share a port through SO_REUSEPORT without complaint, and the kernel
/// would then deal HTTPS connections to the HTTP listener.
fn listen_problems(config: &ProxyConfig, problems: &mut Vec<String>) {
    let mut seen: Vec<(SocketAddr, &str)> = Vec::new();
    let listeners = (config.http_listen.iter().map(|a| (*a, "http_listen")))
        .chain(config.https_listen.iter().map(|a| (*a, "https_listen")))
        .chain(config.admin_listen.map(|a| (a, "admin_listen")));
    for (addr, key) in listeners {
        match seen.iter().find(|(other, _)| *other == addr) {
            Some((_, first)) => problems.push(format!(
                "{addr} is in {first} and {key} — give each listener its own address"
            )),
            None => seen.push((addr, key)),
        }
    }
}

/// No name (compared without case) belongs to two sites.
fn duplicate_names(sites: &[SiteConfig], problems: &mut Vec<String>) {
    let mut owner = std::collections::HashMap::new();
    for site in sites {
        let Some(first) = site.names.first() else {
            continue;
        };
        for name in &site.names {
            match owner.entry(name.to_ascii_lowercase()) {
                std::collections::hash_map::Entry::Occupied(o) if o.get() == first => problems
                    .push(format!(
                        "site {first} lists the name {name} twice — remove one"
                    )),
                std::collections::hash_map::Entry::Occupied(o) => problems.push(format!(
                    "the name {name} belongs to site {} and to site {first} — keep it in one of them",
                    o.get()
                )),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(first.clone());
                }
            }
        }
    }
}

/// One site's names, TLS, auth and routes.
/// `health_check`: a path, and a plain-HTTP site of the file.
pub fn health_check_problems(hc: &HealthCheckRoute, sites: &[SiteConfig]) -> Vec<String> {
    let mut out = Vec::new();
    if !hc.path.starts_with('/')
        || hc.path.len() > 1024
        || hc.path.contains('?')
        || hc
            .path
            .contains(|c: char| c.is_whitespace() || c.is_control())
    {
        out.push(format!(
            "health_check.path \"{}\" must be a path like \"/health\" (no query, at most 1024 characters)",
            hc.path
        ));
    }
    match sites.iter().find(|s| s.names.contains(&hc.site)) {
        None => out.push(format!(
            "health_check.site \"{}\" is not a name of a site in this file — name one",
            hc.site
        )),
        Some(site) if site.tls.is_some() => out.push(format!(
            "health_check.site \"{}\" serves HTTPS here: the check comes over plain HTTP and would only get a redirect — name a plain-HTTP site",
            hc.site
        )),
        Some(_) => {}
    }
    out
}

fn site_problems(site: &SiteConfig, has_https: bool, problems: &mut Vec<String>) {
    let Some(first) = site.names.first() else {
        problems.push("a site has no names — give it names = [\"example.com\"]".into());
        return;
    };
    if site.tls.is_some() && !has_https {
        problems.push(format!(
            "site {first} has TLS but there is no https_listen address"
        ));
    }
    if site.cache.as_ref().is_some_and(|c| c.enabled)
        && !site
            .routes
            .iter()
            .any(|r| r.root.is_none() && r.cache.is_none())
    {
        problems.push(format!(
            "site {first}: cache applies to proxied routes without their own, and it has none — remove it, or set it on a proxied route"
        ));
    }
    for problem in (site.compress.iter()).flat_map(compress_problems) {
        problems.push(format!("site {first}: {problem}"));
    }
    let mut prefixes = std::collections::HashSet::new();
    for route in &site.routes {
        if !route.path.starts_with('/') {
            problems.push(format!(
                "route \"{}\" of site {first} must start with /",
                route.path
            ));
        }
        if !prefixes.insert(route.path.as_str()) {
            problems.push(format!(
                "site {first} has two routes for \"{}\" — merge them or change one's path",
                route.path
            ));
        }
        if matches!(
            (&route.root, route.upstreams.is_empty()),
            (Some(_), false) | (None, true)
        ) {
            problems.push(format!(
                "route \"{}\" of site {first} needs exactly one of root or upstreams",
                route.path
            ));
        }
        for up in &route.upstreams {
            if let Err(e) = parse_upstream(up) {
                problems.push(format!("route \"{}\" of site {first}: {e}", route.path));
            }
        }
        if let Some(path) = &route.health.check_path
            && !path.starts_with('/')
        {
            problems.push(format!("health check_path \"{path}\" must start with /"));
        }
        if route.trailing_slash == Some(crate::proxy::config::TrailingSlash::Remove)
            && route.root.is_some()
        {
            problems.push(format!(
                "route \"{}\" of site {first}: trailing_slash = \"remove\" on static files loops with their directory redirect",
                route.path
            ));
        }
        if let Some(cache) = &route.cache
            && cache.enabled
            && route.root.is_some()
        {
            problems.push(format!(
                "route \"{}\" of site {first}: cache is for proxied routes; static files are read from the page cache",
                route.path
            ));
        }
        for problem in (route.compress.iter()).flat_map(compress_problems) {
            problems.push(format!(
                "route \"{}\" of site {first}: {problem}",
                route.path
            ));
        }
        if route.allow_dotfiles && route.root.is_some() {
            problems.push(format!(
                "route \"{}\" of site {first}: allow_dotfiles is for proxied routes; static routes never serve dotfiles",
                route.path
            ));
        }
        if let Some(rewrite) = &route.rewrite {
            if route.root.is_some() {
                problems.push(format!(
                    "route \"{}\" of site {first}: rewrite is for proxied routes",
                    route.path
                ));
            }
            if let Err(e) = crate::proxy::rewrite::Rewrite::compile(rewrite) {
                problems.push(format!("route \"{}\" of site {first}: {e}", route.path));
            }
        }
    }
    redirect_problems(site, first, problems);
    for (what, limit) in std::iter::once(("site".to_string(), &site.rate_limit)).chain(
        site.routes
            .iter()
            .map(|r| (format!("route \"{}\"", r.path), &r.rate_limit)),
    ) {
        if let Some(limit) = limit
            && let Err(e) = crate::proxy::request::limit::Limiter::new(limit)
        {
            problems.push(format!("{what} of site {first}: {e}"));
        }
    }
    for route in &site.routes {
        if route.basic_auth.is_some() && site.auth.is_some() && route.auth.is_some() {
            problems.push(format!(
                "route \"{}\" of site {first}: basic_auth and the site's login both guard it — give the route auth = false to use basic_auth alone",
                route.path
            ));
        }
    }
}

/// A site's canonical host and redirect rules: compiled, and no loop.
fn redirect_problems(site: &SiteConfig, first: &str, problems: &mut Vec<String>) {
    use crate::proxy::rewrite;
    if let Some(host) = &site.canonical_host
        && !site.names.contains(host)
    {
        problems.push(format!(
            "site {first}: canonical_host \"{host}\" is not one of its names"
        ));
    }
    let mut compiled = Vec::new();
    for rc in &site.redirects {
        match rewrite::Redirect::compile(rc) {
            Ok(r) => compiled.push(r),
            Err(e) => problems.push(format!("site {first}: {e}")),
        }
    }
    if let Some(found) = rewrite::find_loop(&rewrite::Site {
        names: &site.names,
        redirects: &compiled,
        routes: site
            .routes
            .iter()
            .map(|r| (r.path.as_str(), r.trailing_slash))
            .collect(),
    }) {
        problems.push(format!("site {first}: {}", found.1));
    }
}

/// A site's login client and its routes' policies.
fn auth_problems(site: &SiteConfig, config: &ProxyConfig, problems: &mut Vec<String>) {
    let Some(first) = site.names.first() else {
        return;
    };
    let mut say = |what: String| problems.push(format!("site {first}: {what}"));
    let Some(auth) = &site.auth else {
        for route in site.routes.iter().filter(|r| r.auth.is_some()) {
            say(format!(
                "route \"{}\" has auth but the site has no [site.auth] (issuer, client_id) to log in with",
                route.path
            ));
        }
        return;
    };
    if config.session_key_file.is_none() && config.session_key_ssm.is_none() {
        say("auth needs session_key_file or session_key_ssm (where the keys that seal sessions are kept)".into());
    }
    if !issuer_allowed(&auth.issuer) {
        say(format!(
            "auth.issuer \"{}\" must be an https:// URL (http:// only for a loopback issuer)",
            auth.issuer
        ));
    }
    if auth.client_id.trim().is_empty() {
        say("auth.client_id is empty".into());
    }
    if auth.client_secret_file.is_some() && auth.client_secret_env.is_some() {
        say("auth has both client_secret_file and client_secret_env — keep one".into());
    }
    if auth
        .client_secret_env
        .as_deref()
        .is_some_and(|e| e.is_empty() || e.contains('='))
    {
        say("auth.client_secret_env must be an environment variable's name".into());
    }
    for scope in &auth.scopes {
        if scope.is_empty() || scope.contains(|c: char| c.is_whitespace() || c.is_control()) {
            say(format!(
                "auth.scopes: \"{scope}\" is not a scope (one word each)"
            ));
        }
    }
    if !(1..=31 * 86_400).contains(&auth.session_lifetime_s) {
        say("auth.session_lifetime_s must be between 1 and 2678400 (31 days)".into());
    }
    for (key, uri) in [
        ("redirect_uri", &auth.redirect_uri),
        ("post_logout_redirect_uri", &auth.post_logout_redirect_uri),
    ] {
        let Some(uri) = uri else { continue };
        match url::Url::parse(uri) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() && u.fragment().is_none() => {
                if key == "redirect_uri" && (u.path() != "/auth/callback" || u.query().is_some()) {
                    say(format!(
                        "auth.redirect_uri \"{uri}\" must end in /auth/callback (where the proxy takes the login back)"
                    ));
                }
            }
            _ => say(format!("auth.{key} \"{uri}\" must be an https:// URL")),
        }
    }
    if site.tls.is_none() && auth.redirect_uri.is_none() {
        say("auth needs TLS: give the site a certificate, or set auth.redirect_uri to the https:// address of the load balancer in front that terminates TLS".into());
    }
    for route in &site.routes {
        let Some(policy) = &route.auth else { continue };
        let mut say =
            |what: String| problems.push(format!("site {first}: route \"{}\": {what}", route.path));
        if !policy.login && policy.bearer_audience.is_none() {
            say("auth admits no one: set login = true or a bearer_audience".into());
        }
        if policy.login && policy.allowed_emails.is_empty() && policy.allowed_claims.is_empty() {
            say("auth has no allowed_emails or allowed_claims — anyone with an account at the issuer could log in".into());
        }
        for email in &policy.allowed_emails {
            if let Err(e) = email_pattern_problem(email) {
                say(e);
            }
        }
        for (claim, values) in &policy.allowed_claims {
            if claim.is_empty() || values.is_empty() {
                say(format!(
                    "auth.allowed_claims.{claim} needs a claim name and at least one value"
                ));
            }
        }
        for path in &policy.public_paths {
            if !path.starts_with('/') {
                say(format!("auth.public_paths: \"{path}\" must start with /"));
            }
        }
        if policy.bearer_audience.as_deref().is_some_and(str::is_empty) {
            say("auth.bearer_audience is empty".into());
        }
        if !policy.bearer_scopes.is_empty() && policy.bearer_audience.is_none() {
            say("auth.bearer_scopes without bearer_audience — set the audience bearer tokens must be for".into());
        }
        for scope in &policy.bearer_scopes {
            if scope.is_empty() || scope.contains(char::is_whitespace) {
                say(format!("auth.bearer_scopes: \"{scope}\" is not a scope"));
            }
        }
    }
}

/// An issuer a login may use: `https://`, or `http://` on a loopback
/// address (a provider on this machine, as in tests). webtier.toml's check
/// and the proxy's say the same through this.
pub fn issuer_allowed(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| match u.scheme() {
        "https" => u.host().is_some(),
        "http" => loopback_url(&u),
        _ => false,
    })
}

/// Whether `u` names a loopback host (an address, or `localhost`).
pub fn loopback_url(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `user@domain` or `*@domain`.
fn email_pattern_problem(pattern: &str) -> Result<(), String> {
    match pattern.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && (local == "*" || !local.contains('*'))
                && !domain.is_empty()
                && !domain.contains(['@', '*'])
                && !pattern.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "auth.allowed_emails: \"{pattern}\" is neither an address nor \"*@domain\""
        )),
    }
}

impl Invalid {
    /// The problems of the file at `path`, one line each, naming it.
    pub fn in_file<S: AsRef<str>>(path: &std::path::Path, problems: &[S]) -> Invalid {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", path.display(), p.as_ref()))
            .collect();
        Invalid(lines.join("\n"))
    }
}

/// The proxy file's text; a missing file names the command that writes it.
/// A file that cannot be read is [`Invalid`] (exit 3), as an unreadable
/// webtier.toml is: one rule for every configuration file.
pub fn read(path: &std::path::Path) -> Result<String, Invalid> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Invalid(format!(
            "the proxy configuration {} does not exist — generate it from webtier.toml with `webtier apply proxy-config`",
            path.display()
        )),
        _ => Invalid(format!(
            "cannot read the proxy configuration {}: {e}",
            path.display()
        )),
    })
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

/// What is wrong with the cache's store, each saying what to use.
pub fn cache_store_problems(store: &CacheStore) -> Vec<String> {
    let mut problems = Vec::new();
    if !(1..=1_048_576).contains(&store.max_size_mb) {
        problems.push(format!(
            "cache max_size_mb = {} is out of range — use 1 to 1048576 (MiB of memory)",
            store.max_size_mb
        ));
    } else if store.max_entry_kb == 0
        || store.max_entry_kb.saturating_mul(1024) > store.max_size_mb * 1024 * 1024 / 32
    {
        // The store is split into 16 shards, each of which must hold the
        // largest entry with its compressed copies (`request::cache`).
        problems.push(format!(
            "cache max_entry_kb = {} must be at least 1 and at most a thirty-second of max_size_mb ({} KiB)",
            store.max_entry_kb,
            store.max_size_mb * 1024 / 32
        ));
    }
    problems
}

/// What is wrong with a `compress` table, each saying what to use.
pub fn compress_problems(c: &CompressConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if c.enabled && c.encodings.is_empty() {
        problems.push(
            "compress encodings = [] compresses nothing — list some of \"br\", \"zstd\", \"gzip\", or set enabled = false".into(),
        );
    }
    for (i, e) in c.encodings.iter().enumerate() {
        if c.encodings[..i].contains(e) {
            problems.push(format!("compress encodings lists \"{}\" twice", e.token()));
        }
    }
    for (name, level, range) in [
        ("gzip_level", c.gzip_level, 1..=9),
        ("br_level", c.br_level, 0..=11),
        ("zstd_level", c.zstd_level, 1..=19),
    ] {
        if !range.contains(&level) {
            problems.push(format!(
                "compress {name} = {level} is out of range — use {} (fastest) to {}",
                range.start(),
                range.end()
            ));
        }
    }
    for t in &c.types {
        if !media_range(t) {
            problems.push(format!(
                "compress types: \"{t}\" is not a media type — use lower-case \"type/subtype\" or \"type/*\", like \"application/json\" or \"text/*\""
            ));
        }
    }
    if c.enabled && c.types.is_empty() {
        problems.push(
            "compress types = [] compresses nothing — list media types, or set enabled = false"
                .into(),
        );
    }
    problems
}

/// `type/subtype` or `type/*`, lower-case token characters.
fn media_range(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        Some((ty, "*")) => token(ty),
        Some((ty, sub)) => token(ty) && token(sub),
        None => false,
    }
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
    fn every_problem_of_the_text_is_listed() {
        let text = format!(
            "{MINIMAL}admin_listen = \"127.0.0.1:80\"\n\
             [limits]\nmax_connections = 0\n\
             [[site]]\nnames = [\"a.test\", \"A.test\"]\n\
             [[site.route]]\npath = \"/api/\"\nupstreams = [\"http://127.0.0.1:8000\"]\n\
             [[site.route]]\npath = \"/api/\"\nroot = \"/srv\"\n\
             [[site]]\nnames = [\"b.test\", \"a.test\"]\ntls = {{ cert = \"/c\", key = \"/k\" }}\n\
             [[site.route]]\npath = \"x\"\nupstreams = [\"ftp://x:1\"]\n"
        );
        let config = ProxyConfig::parse(&text).unwrap();
        assert_eq!(
            config.problems(),
            [
                "limits.max_connections must be at least 1",
                "127.0.0.1:80 is in http_listen and admin_listen — give each listener its own address",
                "site a.test lists the name A.test twice — remove one",
                "the name a.test belongs to site a.test and to site b.test — keep it in one of them",
                "site a.test has two routes for \"/api/\" — merge them or change one's path",
                "site b.test has TLS but there is no https_listen address",
                "route \"x\" of site b.test must start with /",
                "route \"x\" of site b.test: upstream \"ftp://x:1\" must be http://HOST:PORT or https://HOST:PORT",
            ]
        );
        let err = ProxyConfig::from_toml(&text).unwrap_err();
        assert_eq!(err.lines().count(), 8, "{err}");
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
        "health_check.path",
        "health_check.site",
        "session_key_file",
        "session_key_ssm.parameter",
        "session_key_ssm.region",
        "site.auth.issuer",
        "site.auth.client_id",
        "site.auth.client_secret_file",
        "site.auth.scopes",
        "site.auth.session_lifetime_s",
        "site.auth.redirect_uri",
        "site.auth.post_logout_redirect_uri",
        "site.auth.forward_access_token",
        "site.route.auth.allowed_emails",
        "site.route.auth.allowed_claims.groups",
        "site.route.auth.public_paths",
        "site.route.auth.login",
        "site.route.auth.bearer_audience",
        "site.route.auth.bearer_scopes",
    ];

    /// Parsed, not yet carried out, and so refused at load (fail closed).
    const REFUSED: &[&str] = &[];

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
            session_key_file: Some("/var/lib/webtier/session.keys".into()),
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
                    auth: Some(RouteAuth {
                        allowed_emails: vec!["*@example.com".into()],
                        allowed_claims: [("groups".to_string(), vec!["admins".to_string()])].into(),
                        public_paths: vec!["/healthz".into()],
                        login: false,
                        bearer_audience: Some("https://api.a.test".into()),
                        bearer_scopes: vec!["admin".into()],
                    }),
                    ..RouteConfig::default()
                },
            ],
            auth: Some(AuthConfig {
                client_secret_file: Some("/s".into()),
                redirect_uri: Some("https://a.test/auth/callback".into()),
                post_logout_redirect_uri: Some("https://a.test/".into()),
                forward_access_token: true,
                session_lifetime_s: 3600,
                ..AuthConfig::new("https://id.example", "c")
            }),
            access: None,
            canonical_host: None,
            redirects: Vec::new(),
            rate_limit: None,
            cache: None,
            compress: None,
        });
        config
    }

    #[test]
    fn every_key_is_enforced_or_refused() {
        let config = everything();
        // The keys' other home, which excludes the file; and a load
        // balancer's health check, which needs a plain-HTTP site.
        let mut ssm = ProxyConfig {
            session_key_file: None,
            session_key_ssm: Some(SessionKeySsm {
                parameter: "/webtier/prod/session-keys".into(),
                region: "eu-west-1".into(),
            }),
            health_check: Some(HealthCheckRoute {
                path: "/health".into(),
                site: "b.test".into(),
            }),
            ..everything()
        };
        ssm.sites.push(SiteConfig {
            names: vec!["b.test".into()],
            routes: vec![RouteConfig {
                path: "/".into(),
                upstreams: vec!["http://127.0.0.1:8000".into()],
                ..RouteConfig::default()
            }],
            ..ssm.sites[0].clone()
        });
        ssm.sites[1].tls = None;
        ssm.sites[1].auth = None;
        let mut found = std::collections::BTreeSet::new();
        for config in [&config, &ssm] {
            keys("", &toml::Table::try_from(config).unwrap(), &mut found);
        }
        ProxyConfig::from_toml(&ssm.to_toml()).expect("it loads");
        let known: std::collections::BTreeSet<String> = ENFORCED
            .iter()
            .chain(REFUSED)
            .map(|k| k.to_string())
            .collect();
        assert_eq!(
            found, known,
            "a key is neither enforced nor refused (or a listed key is gone)"
        );
        ProxyConfig::from_toml(&config.to_toml()).expect("it loads");
    }

    #[test]
    fn ssm_parameter_names_are_paths_of_plain_characters() {
        assert_eq!(
            ssm_parameter_problem("/webtier/prod/session-keys_1.v2"),
            None
        );
        let long = format!("/{}", "a".repeat(1010));
        assert_eq!(ssm_parameter_problem(&long), None);
        let too_long = format!("{long}a");
        assert!(
            ssm_parameter_problem(&too_long)
                .unwrap()
                .contains("at most 1011")
        );
        assert!(
            ssm_parameter_problem("webtier/keys")
                .unwrap()
                .contains("must start with /")
        );
        assert!(
            ssm_parameter_problem("")
                .unwrap()
                .contains("must start with /")
        );
        assert!(ssm_parameter_problem("/web tier").unwrap().contains("' '"));
        assert!(ssm_parameter_problem("/webtier/ключ").is_some());
    }

    #[test]
    fn the_session_keys_have_one_home() {
        let mut config = everything();
        config.session_key_ssm = Some(SessionKeySsm {
            parameter: "keys".into(),
            region: "EU".into(),
        });
        let problems = config.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("both set — keep one"), "{problems:?}");
        assert!(
            problems[1].starts_with("session_key_ssm.parameter: \"keys\" must start with /"),
            "{problems:?}"
        );
        assert!(
            problems[2].starts_with("session_key_ssm.region \"EU\""),
            "{problems:?}"
        );
        config.session_key_ssm = None;
        config.session_key_file = None;
        assert_eq!(
            config.problems(),
            [
                "site a.test: auth needs session_key_file or session_key_ssm (where the keys that seal sessions are kept)"
            ]
        );
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
