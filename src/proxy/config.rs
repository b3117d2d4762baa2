//! The proxy's runtime configuration: generated from `webtier.toml` by the
//! `proxy-config` step and read by `webtier proxy run`. It is a complete,
//! explicit description (no defaults left to resolve) so the daemon needs
//! nothing but this file.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    #[serde(default, rename = "site")]
    pub sites: Vec<SiteConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Host names this site answers to (SNI and Host), ASCII lowercase.
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub path: String,
    /// Static files under this directory…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// …or a reverse proxy to these upstreams (`http://host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_file: PathBuf,
    pub allowed_emails: Vec<String>,
}

impl ProxyConfig {
    /// Parses the file text; errors name what is wrong.
    pub fn from_toml(text: &str) -> Result<ProxyConfig, String> {
        let config: ProxyConfig = toml::from_str(text).map_err(|e| e.message().to_string())?;
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
}
