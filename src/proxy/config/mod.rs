//! The proxy's runtime configuration: generated from `webtier.toml` by the
//! `proxy-config` step and read by `webtier proxy run`. It is a complete,
//! explicit description so the daemon needs nothing but this file; keys
//! added after version 1 have defaults, so older files still load.

mod load;

pub use load::{
    cache_store_problems, compress_problems, issuer_allowed, loopback_url, parse_upstream, read,
    ssm_parameter_problem,
};

use std::net::SocketAddr;
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
    /// The daemon writes what it serves here (`daemon::status`), at start
    /// and after every reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_file: Option<PathBuf>,
    /// Started as root, the daemon binds its listeners and then serves as
    /// this user (and its primary group), never as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
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
    /// The keys that seal login sessions (`auth::keys`): created
    /// at first use; needed when a site has `auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key_file: Option<PathBuf>,
    /// Or the same keys in an SSM parameter (a SecureString), shared by
    /// every proxy of a site behind a load balancer (`auth::key_source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key_ssm: Option<SessionKeySsm>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// The response cache's store, shared by every site that caches.
    #[serde(default, skip_serializing_if = "is_default")]
    pub cache: CacheStore,
    /// A load balancer's health check (`request::routing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckRoute>,
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
            status_file: None,
            user: None,
            admin_listen: None,
            hsts_max_age: default_hsts(),
            tls_session_resumption: true,
            access_log: None,
            trusted_proxies: Vec::new(),
            session_key_file: None,
            session_key_ssm: None,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            cache: CacheStore::default(),
            health_check: None,
            sites: Vec::new(),
        }
    }
}

/// A load balancer checks an instance's health with the instance's own
/// address as `Host`, which names no site. A plain-HTTP GET or HEAD of
/// exactly `path` whose host names no site is served as the same request
/// to `site` (one of its names), so that the check reaches the app
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckRoute {
    pub path: String,
    pub site: String,
}

impl ProxyConfig {
    /// The HTTPS listeners the daemon opens: none while no site has TLS (a
    /// port that can only refuse handshakes is noise to users and
    /// scanners). The first TLS site is then a change of listeners, which
    /// a restart applies.
    pub fn https_listeners(&self) -> &[SocketAddr] {
        if self.sites.iter().any(|s| s.tls.is_some()) {
            &self.https_listen
        } else {
            &[]
        }
    }
}

/// `session_key_ssm = { parameter, region }`: the SSM parameter the
/// session keys are read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionKeySsm {
    /// Its name, like `/webtier/prod/session-keys`.
    pub parameter: String,
    pub region: String,
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
    /// Which client addresses may use the site (its routes' unless they
    /// set their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessConfig>,
    /// The name every other name of the site is redirected to (301/308).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_host: Option<String>,
    /// Redirect rules on the path, first match wins.
    #[serde(default, rename = "redirect", skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<RedirectConfig>,
    /// One budget per client across the site's routes (those without
    /// their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// The response cache of the site's proxied routes (those without
    /// their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheConfig>,
    /// Compression of the site's responses (routes without their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<CompressConfig>,
}

/// The memory the response cache may use, process-wide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheStore {
    /// Stored responses (heads and bodies) together, in MiB.
    pub max_size_mb: u64,
    /// A larger response is passed on, not stored, in KiB.
    pub max_entry_kb: u64,
}

impl Default for CacheStore {
    fn default() -> CacheStore {
        CacheStore {
            max_size_mb: 64,
            max_entry_kb: 1024,
        }
    }
}

/// A proxied route's response cache: RFC 9111's rules for a shared cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// `false` turns a site's cache off for one route.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How long a response that states no freshness (no `max-age`,
    /// `s-maxage` or `Expires`) of a status cacheable by default is
    /// fresh, in seconds; 0: only responses that say so are stored.
    #[serde(default, skip_serializing_if = "is_default")]
    pub default_ttl_s: u64,
    /// A response with `Set-Cookie` is stored without it (its own client
    /// still gets the cookie); off, such responses are not stored.
    #[serde(default, skip_serializing_if = "is_default")]
    pub strip_set_cookie: bool,
}

/// On-the-fly compression of a site's or route's responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressConfig {
    /// `false` turns a site's compression off for one route.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Offered in this order of preference when the client accepts
    /// several equally.
    #[serde(default = "default_encodings")]
    pub encodings: Vec<Encoding>,
    /// Responses of a known length below this are sent as they are.
    #[serde(default = "default_min_bytes")]
    pub min_bytes: u64,
    /// Media types compressed (`text/*` names a whole type); the
    /// parameters of a response's `Content-Type` are ignored.
    #[serde(default = "default_compress_types")]
    pub types: Vec<String>,
    /// 1 (fastest) to 9.
    #[serde(default = "default_level_one")]
    pub gzip_level: u32,
    /// 0 (fastest) to 11.
    #[serde(default = "default_level_one")]
    pub br_level: u32,
    /// 1 (fastest) to 19.
    #[serde(default = "default_level_one")]
    pub zstd_level: u32,
}

impl Default for CompressConfig {
    fn default() -> CompressConfig {
        CompressConfig {
            enabled: true,
            encodings: default_encodings(),
            min_bytes: default_min_bytes(),
            types: default_compress_types(),
            gzip_level: 1,
            br_level: 1,
            zstd_level: 1,
        }
    }
}

/// A content coding the proxy can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Br,
    Zstd,
    Gzip,
}

impl Encoding {
    /// Its name in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }
}

fn default_encodings() -> Vec<Encoding> {
    vec![Encoding::Br, Encoding::Zstd, Encoding::Gzip]
}

fn default_min_bytes() -> u64 {
    1024
}

fn default_level_one() -> u32 {
    1
}

/// Text, and the structured types that compress well; never images,
/// audio, video or archives, which are compressed already.
pub fn default_compress_types() -> Vec<String> {
    [
        "text/*",
        "application/json",
        "application/javascript",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/manifest+json",
        "application/ld+json",
        "application/problem+json",
        "application/wasm",
        "image/svg+xml",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect()
}

/// An external redirect: a path matching `from` (a regex) is sent to `to`
/// (a path or URL, with `$1`/`${name}` captures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectConfig {
    pub from: String,
    pub to: String,
    /// 301, 302, 307 or 308.
    #[serde(default = "default_redirect_status")]
    pub status: u16,
}

fn default_redirect_status() -> u16 {
    301
}

/// A rewrite of the path a proxied route's upstream receives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteConfig {
    pub from: String,
    pub to: String,
}

/// A route's trailing-slash policy (a redirect, 301 for GET and HEAD,
/// 308 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrailingSlash {
    /// `/docs` → `/docs/` (a last segment with a dot is a file: left alone).
    Add,
    /// `/docs/` → `/docs`.
    Remove,
}

/// Client addresses by network: `deny` wins; a non-empty `allow` admits
/// only its networks. The client is the socket peer, or from a trusted
/// proxy the right-most untrusted `X-Forwarded-For` address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<IpNet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<IpNet>,
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
    /// Who may use this route, when its site has `auth`; without it the
    /// route is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<RouteAuth>,
    /// Client addresses for this route, replacing the site's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessConfig>,
    /// A proxied route forwards paths with a segment that starts with a
    /// dot (`/.git/config`, `/.env`); by default they get 403, except
    /// `/.well-known/`. Static routes never serve them.
    #[serde(default, skip_serializing_if = "is_default")]
    pub allow_dotfiles: bool,
    /// Proxied: the path the upstream receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<RewriteConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing_slash: Option<TrailingSlash>,
    /// HTTP Basic auth from an htpasswd file (bcrypt or argon2 entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthConfig>,
    /// The route's own rate limit per client, replacing the site's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// Proxied: the route's own response cache, replacing the site's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheConfig>,
    /// The route's own compression, replacing the site's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<CompressConfig>,
}

/// Requests per client address: `per_second` on average, `burst` at
/// once, and `delay` more held until their turn rather than refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub per_second: f64,
    #[serde(default = "one")]
    pub burst: u32,
    #[serde(default)]
    pub delay: u32,
}

fn one() -> u32 {
    1
}

impl Eq for RateLimitConfig {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    pub htpasswd_file: PathBuf,
    #[serde(default = "default_realm")]
    pub realm: String,
    /// The client's `Authorization` header goes upstream (off: removed).
    #[serde(default)]
    pub forward_authorization: bool,
}

fn default_realm() -> String {
    "webtier".into()
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

/// A site's OpenID Connect client: the login at the edge (DESIGN §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `https://`, or `http://` on a loopback address; its
    /// `/.well-known/openid-configuration` is read at start.
    pub issuer: String,
    pub client_id: String,
    /// The client secret, read from this file…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// …or from this environment variable of the proxy; neither makes a
    /// public client (PKCE alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// Asked for at login; `openid` is always asked for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// A session lasts this long from its login, in seconds.
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime_s: u64,
    /// The exact redirect URI registered at the provider; by default
    /// `https://<first name>[:<https port>]/auth/callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Where the provider sends the browser after a logout; by default
    /// the site's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uri: Option<String>,
    /// Sends the access token upstream in `X-Auth-Request-Access-Token`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward_access_token: bool,
}

impl AuthConfig {
    /// A client of `issuer` with every other setting at its default.
    #[cfg(test)]
    pub fn new(issuer: &str, client_id: &str) -> AuthConfig {
        AuthConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret_file: None,
            client_secret_env: None,
            scopes: default_scopes(),
            session_lifetime_s: default_session_lifetime(),
            redirect_uri: None,
            post_logout_redirect_uri: None,
            forward_access_token: false,
        }
    }
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into()]
}

fn default_session_lifetime() -> u64 {
    8 * 3600
}

/// Who may use one route of a site with `auth`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAuth {
    /// Addresses (`alice@example.com`) or domains (`*@example.com`),
    /// compared without case; only a verified email counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_emails: Vec<String>,
    /// A claim of the ID token and the values that let a user in (any
    /// one; the claim may be a string or an array of strings).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub allowed_claims: std::collections::BTreeMap<String, Vec<String>>,
    /// Paths that need no login: exact, or every path under one that ends
    /// with `/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_paths: Vec<String>,
    /// Browsers without a session are sent to the login; false answers
    /// them 401 like any other client.
    #[serde(default = "default_true", skip_serializing_if = "Clone::clone")]
    pub login: bool,
    /// Bearer JWT access tokens (RFC 9068) from the issuer are accepted
    /// when their `aud` holds this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_audience: Option<String>,
    /// The scopes a bearer token must carry, every one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bearer_scopes: Vec<String>,
}

impl Default for RouteAuth {
    /// Nobody allowed yet; browsers sent to the login.
    fn default() -> RouteAuth {
        RouteAuth {
            allowed_emails: Vec::new(),
            allowed_claims: Default::default(),
            public_paths: Vec::new(),
            login: true,
            bearer_audience: None,
            bearer_scopes: Vec::new(),
        }
    }
}

/// A proxy configuration file that cannot be used as written (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

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

/// The settings that differ between `old` and `new` and are bound at
/// start (sockets, threads, the user, connection parameters), so that a
/// reload cannot apply them: a restart must.
pub fn restart_only_changes(old: &ProxyConfig, new: &ProxyConfig) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.http_listen != new.http_listen || old.https_listeners() != new.https_listeners() {
        changed.push("http_listen/https_listen");
    }
    if old.workers != new.workers {
        changed.push("workers");
    }
    if old.admin_listen != new.admin_listen {
        changed.push("admin_listen");
    }
    if old.user != new.user {
        changed.push("user");
    }
    if old.pid_file != new.pid_file || old.status_file != new.status_file {
        changed.push("pid_file/status_file");
    }
    if old.access_log != new.access_log {
        changed.push("access_log");
    }
    if old.tls_session_resumption != new.tls_session_resumption {
        changed.push("tls_session_resumption");
    }
    if old.limits.max_connections != new.limits.max_connections
        || old.limits.max_header_bytes != new.limits.max_header_bytes
        || old.limits.max_headers != new.limits.max_headers
        || old.limits.http2_max_streams != new.limits.http2_max_streams
    {
        changed.push("limits (connections, headers, http2 streams)");
    }
    let (a, b) = (&old.timeouts, &new.timeouts);
    if a.header_read_ms != b.header_read_ms
        || a.send_ms != b.send_ms
        || a.http2_idle_ms != b.http2_idle_ms
        || a.upstream_connect_ms != b.upstream_connect_ms
        || a.upstream_idle_ms != b.upstream_idle_ms
        || a.drain_ms != b.drain_ms
    {
        changed.push(
            "timeouts (header_read, send, http2_idle, upstream_connect, upstream_idle, drain)",
        );
    }
    changed
}
