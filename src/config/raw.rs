//! `webtier.toml` exactly as written: every key known (unknown keys are
//! errors), values that need checking kept with their position in the file.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::model::{AcmMode, Challenge, KeyType, Tls};
use crate::proxy::config::{Balance, LogFormat, LogQuery};

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub state_dir: Option<S<String>>,
    pub aws: Option<RawAws>,
    pub target: Option<RawTarget>,
    pub acme: Option<RawAcme>,
    pub proxy: Option<RawProxy>,
    pub dns: Option<RawDns>,
    pub load_balancer: Option<S<RawAlb>>,
    #[serde(default)]
    pub site: Vec<RawSite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    pub region: Option<S<String>>,
    pub profile: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub instances: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub ipv6: Option<bool>,
    pub ingress_cidrs: Option<Vec<S<String>>>,
    pub security_group: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    pub ttl: Option<S<i64>>,
    pub owner: Option<S<String>>,
    pub wait_timeout: Option<S<i64>>,
    pub load_balancer: Option<RawLoadBalancer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    pub dns_name: S<String>,
    pub zone_id: S<String>,
}

/// `[load_balancer]`: an Application Load Balancer webtier manages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlb {
    pub name: S<String>,
    pub subnets: Option<S<RawSubnets>>,
    pub ipv6: Option<bool>,
    pub http_port: Option<S<i64>>,
    pub https_port: Option<S<i64>>,
    pub target_port: Option<S<i64>>,
    pub idle_timeout_s: Option<S<i64>>,
    pub deregistration_delay_s: Option<S<i64>>,
    pub health_check: Option<RawAlbHealth>,
}

/// `subnets = "instances"` or a list of subnet ids.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSubnets {
    Word(String),
    // Spans do not survive an untagged enum: problems point at the list.
    List(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlbHealth {
    pub path: Option<S<String>>,
    pub site: Option<S<String>>,
    pub interval_s: Option<S<i64>>,
    pub timeout_s: Option<S<i64>>,
    pub healthy_threshold: Option<S<i64>>,
    pub unhealthy_threshold: Option<S<i64>>,
    pub matcher: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcme {
    pub directory: Option<S<String>>,
    pub email: Option<S<String>>,
    pub challenge: Option<Challenge>,
    pub key: Option<KeyType>,
    pub profile: Option<S<String>>,
    pub ca_root: Option<S<String>>,
    pub eab: Option<RawEab>,
    pub schedule: Option<crate::config::Schedule>,
    pub preflight: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEab {
    pub kid: S<String>,
    pub hmac_key_file: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct RawProxy {
    pub config_file: Option<S<String>>,
    pub challenge_dir: Option<S<String>>,
    pub http_port: Option<S<i64>>,
    pub https_port: Option<S<i64>>,
    pub workers: Option<S<i64>>,
    pub hsts_max_age: Option<S<i64>>,
    pub access_log: Option<S<String>>,
    pub access_log_format: Option<LogFormat>,
    pub access_log_query: Option<LogQuery>,
    pub admin_listen: Option<S<String>>,
    pub trusted_proxies: Option<Vec<S<String>>>,
    pub max_connections: Option<S<i64>>,
    pub max_body_bytes: Option<S<i64>>,
    pub http2_max_streams: Option<S<i64>>,
    pub cache_size_mb: Option<S<i64>>,
    pub cache_max_entry_kb: Option<S<i64>>,
    pub user: Option<S<String>>,
    pub launch: Option<crate::config::Launch>,
    pub bind: Option<S<Vec<S<String>>>>,
    pub session_key_parameter: Option<S<String>>,
    pub session_key_rotate_days: Option<S<i64>>,
    pub timeouts: Option<RawTimeouts>,
}

/// `[proxy.timeouts]`, in milliseconds: the proxy file's `[timeouts]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub header_read_ms: Option<S<i64>>,
    pub send_ms: Option<S<i64>>,
    pub http2_idle_ms: Option<S<i64>>,
    pub tunnel_idle_ms: Option<S<i64>>,
    pub upstream_connect_ms: Option<S<i64>>,
    pub upstream_read_ms: Option<S<i64>>,
    pub upstream_idle_ms: Option<S<i64>>,
    pub drain_ms: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub domain: S<String>,
    #[serde(default)]
    pub aliases: Vec<S<String>>,
    pub tls: Option<S<Tls>>,
    #[serde(default)]
    pub upstreams: Vec<S<String>>,
    #[serde(default)]
    pub route: Vec<RawRoute>,
    pub auth: Option<RawAuth>,
    pub zone_id: Option<S<String>>,
    pub balance: Option<Balance>,
    pub health_check: Option<S<String>>,
    pub acm: Option<S<RawAcm>>,
    pub allow: Option<S<Vec<S<String>>>>,
    pub deny: Option<Vec<S<String>>>,
    pub canonical_host: Option<S<String>>,
    #[serde(default)]
    pub redirect: Vec<RawRedirect>,
    pub rate_limit: Option<S<RawRateLimit>>,
    pub cache: Option<S<crate::proxy::config::CacheConfig>>,
    pub compress: Option<S<crate::proxy::config::CompressConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub per_second: S<f64>,
    pub burst: Option<S<i64>>,
    pub delay: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedirect {
    pub from: S<String>,
    pub to: S<String>,
    pub status: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRewrite {
    pub from: S<String>,
    pub to: S<String>,
}

/// `[site.acm]`: how the site uses AWS Certificate Manager.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcm {
    pub mode: Option<S<AcmMode>>,
    pub key: Option<S<KeyType>>,
    pub region: Option<S<String>>,
    pub validation_timeout: Option<S<i64>>,
    pub import: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub path: S<String>,
    pub root: Option<S<String>>,
    pub upstreams: Option<Vec<S<String>>>,
    pub balance: Option<Balance>,
    pub health_check: Option<S<String>>,
    pub max_body_bytes: Option<S<i64>>,
    /// `false` (public), or who may use the route.
    pub auth: Option<RawRouteAuth>,
    pub allow: Option<S<Vec<S<String>>>>,
    pub deny: Option<Vec<S<String>>>,
    pub allow_dotfiles: Option<S<bool>>,
    pub rewrite: Option<S<RawRewrite>>,
    pub trailing_slash: Option<S<crate::proxy::config::TrailingSlash>>,
    pub basic_auth: Option<S<RawBasicAuth>>,
    pub rate_limit: Option<S<RawRateLimit>>,
    pub cache: Option<S<crate::proxy::config::CacheConfig>>,
    pub compress: Option<S<crate::proxy::config::CompressConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBasicAuth {
    pub htpasswd_file: S<String>,
    pub realm: Option<S<String>>,
    pub forward_authorization: Option<bool>,
}

/// A route's `auth`: `false`, or a policy replacing the site's.
#[derive(Debug)]
pub enum RawRouteAuth {
    Switch(bool),
    Policy(RawPolicy),
}

impl<'de> Deserialize<'de> for RawRouteAuth {
    /// By the value's type (serde's untagged enums lose the spans the
    /// policy's values carry).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawRouteAuth, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawRouteAuth;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("false, or a table of who may use the route")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawRouteAuth, E> {
                Ok(RawRouteAuth::Switch(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawRouteAuth, A::Error> {
                RawPolicy::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawRouteAuth::Policy)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Who may use a route.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    #[serde(default)]
    pub allowed_emails: Vec<S<String>>,
    #[serde(default)]
    pub allowed_claims: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub public_paths: Vec<S<String>>,
    pub login: Option<bool>,
    pub bearer_audience: Option<S<String>>,
    #[serde(default)]
    pub bearer_scopes: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub issuer: S<String>,
    pub client_id: S<String>,
    pub client_secret_file: Option<S<String>>,
    pub client_secret_env: Option<S<String>>,
    pub scopes: Option<Vec<S<String>>>,
    pub session_hours: Option<S<i64>>,
    pub redirect_uri: Option<S<String>>,
    pub post_logout_redirect_uri: Option<S<String>>,
    #[serde(default)]
    pub forward_access_token: bool,
    // The site's policy (its routes' unless they set their own).
    #[serde(default)]
    pub allowed_emails: Vec<S<String>>,
    #[serde(default)]
    pub allowed_claims: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub public_paths: Vec<S<String>>,
    pub login: Option<bool>,
    pub bearer_audience: Option<S<String>>,
    #[serde(default)]
    pub bearer_scopes: Vec<S<String>>,
}
