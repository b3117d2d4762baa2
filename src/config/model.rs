//! The resolved configuration: validated, normalized (ASCII lowercase DNS
//! names, absolute paths, parsed addresses) and with every default filled
//! in. This is what the steps read and what `webtier config show` prints.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

pub use crate::proxy::config::{Balance, LogFormat, LogQuery, Timeouts};

pub const LETSENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
pub const LETSENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file this was read from (absolute).
    #[serde(skip)]
    pub source: PathBuf,
    pub state_dir: PathBuf,
    pub aws: Aws,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    pub acme: Acme,
    pub proxy: Proxy,
    pub dns: Dns,
    /// `[load_balancer]`: the ALB the `lb` step manages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<Alb>,
    #[serde(rename = "site")]
    pub sites: Vec<Site>,
}

impl Config {
    /// The firewall step runs when instances are targeted.
    pub fn has_firewall(&self) -> bool {
        self.target.is_some()
    }

    /// The dns step runs when records can point somewhere: at the targeted
    /// instances or at a load balancer.
    pub fn has_dns(&self) -> bool {
        self.target.is_some() || self.dns.load_balancer.is_some()
    }

    /// Whether the names get AAAA records: the ALB's address type with a
    /// `[load_balancer]`, else `[target] ipv6`.
    pub fn records_ipv6(&self) -> bool {
        match &self.load_balancer {
            Some(alb) => alb.ipv6,
            None => self.target.as_ref().is_some_and(|t| t.ipv6),
        }
    }

    /// The lb step runs with a `[load_balancer]` section.
    pub fn has_lb(&self) -> bool {
        self.load_balancer.is_some()
    }

    /// The sites whose certificate the cert step issues (ACME).
    pub fn acme_sites(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter().filter(|s| s.tls == Tls::Acme)
    }

    /// Where the running proxy keeps its pid, status and log files and
    /// its handover socket: owned by the proxy's user.
    pub fn proxy_run_dir(&self) -> PathBuf {
        self.state_dir.join("run")
    }

    /// Where the bundled proxy this configuration sets up writes its
    /// process id: `proxy-config` puts it in the proxy's file, and the cert
    /// step finds the running proxy there to reload it.
    pub fn proxy_pid_file(&self) -> PathBuf {
        self.proxy_run_dir().join("proxy.pid")
    }

    pub fn proxy_status_file(&self) -> PathBuf {
        self.proxy_run_dir().join("proxy.status.json")
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Aws {
    /// None: the standard chain decides (env, profile, IMDS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// `self` or EC2 instance ids.
    pub instances: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub ipv6: bool,
    pub ingress_cidrs: Vec<IpNet>,
    /// The security group to open; else each instance's own (see firewall).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dns {
    pub ttl: i64,
    /// Written into the ownership TXT record: `heritage=webtier,owner=<owner>`.
    pub owner: String,
    /// Seconds to wait for Route 53 to report a change INSYNC.
    pub wait_timeout: u64,
    /// Alias records to this load balancer instead of instance addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
}

/// `[load_balancer]`: an Application Load Balancer in front of the target
/// instances, which it reaches on plain HTTP at `target_port`, ending TLS
/// with the sites' ACM certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alb {
    /// The ALB's name; its target group and security group are named
    /// after it.
    pub name: String,
    pub subnets: Subnets,
    /// Dual-stack (IPv4 and IPv6) rather than IPv4 only; AAAA aliases.
    pub ipv6: bool,
    /// The HTTP listener (it redirects to HTTPS).
    pub http_port: u16,
    pub https_port: u16,
    /// Where the instances serve (the proxy's `http_port` by default).
    pub target_port: u16,
    pub idle_timeout_s: u32,
    pub deregistration_delay_s: u32,
    pub health_check: AlbHealthCheck,
}

/// The subnets the ALB's nodes live in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Subnets {
    /// The subnets of the target instances (`"instances"`).
    #[serde(serialize_with = "instances_word")]
    Instances,
    Ids(Vec<String>),
}

fn instances_word<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("instances")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlbHealthCheck {
    pub path: String,
    /// The site whose app the check reaches through the proxy (a site's
    /// domain); None: the first site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// HTTP codes that count as healthy: `200`, `200,204` or `200-399`.
    pub matcher: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub dns_name: String,
    /// The load balancer's canonical hosted zone id (not your zone's).
    pub zone_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Acme {
    /// The directory URL (presets resolved).
    pub directory: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub challenge: Challenge,
    pub key: KeyType,
    /// ACME profile asked for in orders (e.g. Let's Encrypt `tlsserver`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// An extra trust root for the ACME server's own HTTPS (test CAs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_root: Option<PathBuf>,
    /// External Account Binding, for CAs that require it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eab: Option<Eab>,
    /// What runs `webtier cert renew` (the `schedule` step).
    pub schedule: Schedule,
    /// Fetch each name's HTTP-01 challenge URL before asking the CA.
    pub preflight: bool,
}

/// What runs `webtier cert renew` twice a day (`[acme] schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// A systemd timer when the host runs systemd, else a cron entry.
    #[default]
    Auto,
    Systemd,
    Cron,
    /// You schedule `webtier cert renew` yourself: the step is left out.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Eab {
    pub kid: String,
    /// A file holding the CA's HMAC key, base64url as CAs hand it out.
    pub hmac_key_file: PathBuf,
}

impl KeyType {
    /// ACM's name for a key type it issues; None for one it does not.
    pub fn acm_algorithm(self) -> Option<&'static str> {
        match self {
            KeyType::EcdsaP256 => Some("EC_prime256v1"),
            KeyType::EcdsaP384 => Some("EC_secp384r1"),
            KeyType::Rsa2048 => Some("RSA_2048"),
            KeyType::Rsa4096 => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Proxy {
    /// Where the generated proxy configuration is written.
    pub config_file: PathBuf,
    /// Served at /.well-known/acme-challenge/ over plain HTTP.
    pub challenge_dir: PathBuf,
    pub http_port: u16,
    pub https_port: u16,
    /// The addresses the listeners bind (all of IPv4 and IPv6 unless set).
    pub bind: Vec<std::net::IpAddr>,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Strict-Transport-Security max-age on HTTPS; 0 = off.
    pub hsts_max_age: u64,
    /// A file, or `-` for standard output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<PathBuf>,
    pub access_log_format: LogFormat,
    /// `masked` (secret parameters' values hidden) or `none` (paths only).
    pub access_log_query: LogQuery,
    /// Loopback address of the `/metrics` listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Peers whose X-Forwarded-* headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    pub max_connections: usize,
    /// Request bodies, unless a route sets its own.
    pub max_body_bytes: u64,
    /// Streams open at once on one HTTP/2 connection.
    pub http2_max_streams: u32,
    /// The system user the proxy serves as (created by the proxy step
    /// when webtier runs as root).
    pub user: String,
    /// How the `proxy` step runs the daemon.
    pub launch: Launch,
    /// `[proxy.timeouts]`, in milliseconds.
    pub timeouts: Timeouts,
    /// `cache_size_mb`, `cache_max_entry_kb`: the response cache's memory.
    pub cache: crate::proxy::config::CacheStore,
    /// The SSM parameter (in `[aws] region`) that holds the login session
    /// keys, shared by every instance of the sites; None: a file of this
    /// instance's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key_parameter: Option<String>,
    /// The `proxy-config` step puts a new key in the parameter when its
    /// value is older than this.
    pub session_key_rotate_days: u32,
}

/// How the `proxy` step runs the daemon (`[proxy] launch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Launch {
    /// systemd when the host runs it and webtier is root, else detached.
    #[default]
    Auto,
    Systemd,
    Detached,
    /// Something else runs `webtier proxy run` (a container's entry
    /// point, a unit of your own): the step is left out.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub domain: String,
    pub aliases: Vec<String>,
    pub tls: Tls,
    pub upstreams: Vec<Upstream>,
    #[serde(rename = "route")]
    pub routes: Vec<Route>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The Route 53 hosted zone for this site's names; else found by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// How the site's own upstreams are balanced and checked.
    pub balance: Balance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<String>,
    /// `[site.acm]`: a certificate from ACM (`tls = "acm"`), or an ACME
    /// certificate imported into ACM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acm: Option<Acm>,
    /// Which client addresses may use the site (`allow`, `deny`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// The name the site's other names redirect to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_host: Option<String>,
    /// `[[site.redirect]]`: first match wins.
    #[serde(rename = "redirect", skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<crate::proxy::config::RedirectConfig>,
    /// Requests per client, across the site's routes without their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::proxy::config::RateLimitConfig>,
    /// The response cache of the site's proxied routes without their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::proxy::config::CacheConfig>,
    /// Compression of the site's responses (routes without their own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress: Option<crate::proxy::config::CompressConfig>,
}

/// Client addresses: `deny` wins; a non-empty `allow` admits only its
/// networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<IpNet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<IpNet>,
}

/// How a site uses AWS Certificate Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acm {
    /// Set for `tls = "acm"`; None on an ACME site that imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<AcmMode>,
    /// The key ACM generates for a certificate it issues.
    pub key: KeyType,
    /// ACM's region when not `[aws] region` (CloudFront uses us-east-1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Seconds to wait for ISSUED after requesting.
    pub validation_timeout: u64,
    /// An ACME site: keep a copy of its certificate in ACM.
    pub import: bool,
}

/// Where an ACM-issued certificate is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcmMode {
    /// Requested exportable; the bundled proxy on the instance serves it.
    Export,
    /// Stays in ACM for a load balancer or CloudFront.
    Managed,
}

impl Site {
    /// Whether the bundled proxy serves this site over TLS, from a
    /// certificate in the store (ACME, or exported from ACM).
    pub fn tls_on_instance(&self) -> bool {
        match self.tls {
            Tls::Acme => true,
            Tls::Acm => self.acm_mode() == Some(AcmMode::Export),
            Tls::None => false,
        }
    }

    /// The ACM mode of a `tls = "acm"` site.
    pub fn acm_mode(&self) -> Option<AcmMode> {
        self.acm.as_ref().and_then(|a| a.mode)
    }

    /// An ACME site whose certificate is kept imported into ACM.
    pub fn imports_to_acm(&self) -> bool {
        self.tls == Tls::Acme && self.acm.as_ref().is_some_and(|a| a.import)
    }

    /// The domain, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.domain.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// A path prefix, starting with `/`.
    pub path: String,
    pub backend: Backend,
    pub balance: Balance,
    /// Active health checks GET this path on each upstream.
    pub health_check: Option<String>,
    pub max_body_bytes: Option<u64>,
    /// Who may use the route on a site with a login: the site's policy
    /// (None), nobody needs to log in (`auth = false`), or its own.
    pub auth: Option<RouteAuth>,
    /// Client addresses for the route, replacing the site's.
    pub access: Option<Access>,
    /// A proxied route forwards dot segments (`/.git`) instead of 403.
    pub allow_dotfiles: bool,
    /// Proxied: the path the upstream receives.
    pub rewrite: Option<crate::proxy::config::RewriteConfig>,
    pub trailing_slash: Option<crate::proxy::config::TrailingSlash>,
    /// HTTP Basic auth (the htpasswd path made absolute).
    pub basic_auth: Option<crate::proxy::config::BasicAuthConfig>,
    /// Requests per client on this route, replacing the site's limit.
    pub rate_limit: Option<crate::proxy::config::RateLimitConfig>,
    /// Proxied: the route's own response cache, replacing the site's.
    pub cache: Option<crate::proxy::config::CacheConfig>,
    /// The route's own compression, replacing the site's.
    pub compress: Option<crate::proxy::config::CompressConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RouteAuth {
    Public(bool),
    Policy(Policy),
}

/// Who may use a route.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Policy {
    pub allowed_emails: Vec<String>,
    pub allowed_claims: std::collections::BTreeMap<String, Vec<String>>,
    pub public_paths: Vec<String>,
    pub login: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_audience: Option<String>,
    pub bearer_scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Static files under this directory.
    Root(PathBuf),
    /// Reverse proxy to these upstreams.
    Upstreams(Vec<Upstream>),
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Route", 13)?;
        st.serialize_field("path", &self.path)?;
        match &self.backend {
            Backend::Root(root) => st.serialize_field("root", root)?,
            Backend::Upstreams(ups) => {
                st.serialize_field("upstreams", ups)?;
                st.serialize_field("balance", &self.balance)?;
                if let Some(path) = &self.health_check {
                    st.serialize_field("health_check", path)?;
                }
            }
        }
        if let Some(max) = self.max_body_bytes {
            st.serialize_field("max_body_bytes", &max)?;
        }
        if let Some(auth) = &self.auth {
            st.serialize_field("auth", auth)?;
        }
        if let Some(access) = &self.access {
            if !access.allow.is_empty() {
                st.serialize_field("allow", &access.allow)?;
            }
            if !access.deny.is_empty() {
                st.serialize_field("deny", &access.deny)?;
            }
        }
        if self.allow_dotfiles {
            st.serialize_field("allow_dotfiles", &true)?;
        }
        if let Some(rewrite) = &self.rewrite {
            st.serialize_field("rewrite", rewrite)?;
        }
        if let Some(slash) = &self.trailing_slash {
            st.serialize_field("trailing_slash", slash)?;
        }
        if let Some(basic) = &self.basic_auth {
            st.serialize_field("basic_auth", basic)?;
        }
        if let Some(limit) = &self.rate_limit {
            st.serialize_field("rate_limit", limit)?;
        }
        if let Some(cache) = &self.cache {
            st.serialize_field("cache", cache)?;
        }
        if let Some(compress) = &self.compress {
            st.serialize_field("compress", compress)?;
        }
        st.end()
    }
}

/// `[site.auth]`: the site's OpenID client, and the policy of its routes.
#[derive(Debug, Clone, Serialize)]
pub struct Auth {
    pub issuer: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    pub scopes: Vec<String>,
    pub session_hours: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uri: Option<String>,
    pub forward_access_token: bool,
    #[serde(flatten)]
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub tls: bool,
    /// An IP address (without brackets) or a host name.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl Serialize for Upstream {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tls {
    #[default]
    #[serde(rename = "acme")]
    Acme,
    #[serde(rename = "acm")]
    Acm,
    #[serde(rename = "none")]
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Challenge {
    #[default]
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "dns-01")]
    Dns01,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KeyType {
    #[default]
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}
