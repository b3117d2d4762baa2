//! `proxy-config`: the bundled proxy's configuration file, rendered from
//! `webtier.toml`. Desired: the rendered text. Observed: the file on disk.
//! Change: replace it atomically (permissions kept).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::certstore::Store;
use crate::config::{Backend, Config, Site, Tls};
use crate::fsutil::atomic_write;
use crate::plan::StepName;
use crate::plan::{Action, Planned, Step};
use crate::proxy::config::{
    AccessLog, AuthConfig, Health, Limits, ProxyConfig, RouteConfig, SiteConfig, TlsFiles, VERSION,
};

pub struct ProxyConfigStep {
    path: PathBuf,
    content: String,
}

/// The file as found on disk.
#[derive(Debug, Serialize)]
pub struct FileState {
    pub path: PathBuf,
    /// None when the file does not exist.
    pub content: Option<Vec<u8>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WriteFile {
    pub path: PathBuf,
    pub content: String,
}

impl ProxyConfigStep {
    pub fn new(config: &Config) -> Result<ProxyConfigStep> {
        let content = render(config);
        // The daemon must be able to read what we write.
        ProxyConfig::from_toml(&content)
            .map_err(|e| anyhow!("the rendered proxy configuration does not parse back: {e}"))?;
        Ok(ProxyConfigStep {
            path: config.proxy.config_file.clone(),
            content,
        })
    }
}

/// The proxy's runtime configuration for `config`. Pure.
pub fn proxy_config(config: &Config) -> ProxyConfig {
    let p = &config.proxy;
    let listen = |port: u16| {
        vec![
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
        ]
    };
    let store = Store::new(&config.state_dir);
    let sites = config
        .sites
        .iter()
        .map(|site| site_config(site, &store))
        .collect();
    ProxyConfig {
        version: VERSION,
        http_listen: listen(config.proxy.http_port),
        https_listen: listen(config.proxy.https_port),
        challenge_dir: config.proxy.challenge_dir.clone(),
        workers: p.workers,
        pid_file: Some(config.proxy_pid_file()),
        admin_listen: p.admin_listen,
        hsts_max_age: p.hsts_max_age,
        tls_session_resumption: true,
        access_log: p.access_log.as_ref().map(|path| AccessLog {
            path: path.clone(),
            format: p.access_log_format,
            query: p.access_log_query,
        }),
        trusted_proxies: p.trusted_proxies.clone(),
        limits: Limits {
            max_connections: p.max_connections,
            max_body_bytes: p.max_body_bytes,
            http2_max_streams: p.http2_max_streams,
            ..Limits::default()
        },
        timeouts: p.timeouts.clone(),
        sites,
    }
}

/// One site: its names, its live certificate's files, its routes.
fn site_config(site: &Site, store: &Store) -> SiteConfig {
    let tls = (site.tls != Tls::None).then(|| {
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
            allowed_emails: a.allowed_emails.clone(),
        }),
    }
}

/// A site's routes sorted by path, with its own upstreams at `/` unless a
/// route already takes `/`.
fn routes(site: &Site) -> Vec<RouteConfig> {
    let mut routes: Vec<RouteConfig> = site
        .routes
        .iter()
        .map(|r| match &r.backend {
            Backend::Root(root) => RouteConfig {
                path: r.path.clone(),
                root: Some(root.clone()),
                max_body_bytes: r.max_body_bytes,
                ..RouteConfig::default()
            },
            Backend::Upstreams(ups) => RouteConfig {
                path: r.path.clone(),
                upstreams: ups.iter().map(ToString::to_string).collect(),
                balance: r.balance,
                health: health(r.health_check.as_deref()),
                max_body_bytes: r.max_body_bytes,
                ..RouteConfig::default()
            },
        })
        .collect();
    if !site.upstreams.is_empty() && !routes.iter().any(|r| r.path == "/") {
        routes.push(RouteConfig {
            path: "/".into(),
            upstreams: site.upstreams.iter().map(ToString::to_string).collect(),
            balance: site.balance,
            health: health(site.health_check.as_deref()),
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

impl Step for ProxyConfigStep {
    type Observed = FileState;
    type Operation = WriteFile;

    fn name(&self) -> StepName {
        StepName::ProxyConfig
    }

    async fn observe(&self) -> Result<FileState> {
        let content = match std::fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        Ok(FileState {
            path: self.path.clone(),
            content,
        })
    }

    fn diff(&self, observed: &FileState) -> Vec<Planned<WriteFile>> {
        diff_file(&self.path, &self.content, observed.content.as_deref())
    }

    async fn apply(&self, op: &WriteFile) -> Result<()> {
        // A saved plan only writes where the configuration says.
        if op.path != self.path {
            anyhow::bail!(
                "the plan writes {}, but the configuration's proxy config_file is {} — make a new plan",
                op.path.display(),
                self.path.display()
            );
        }
        atomic_write(&op.path, op.content.as_bytes(), 0o644)
    }
}

/// Pure: the change that makes `path` hold `desired`, with a unified diff.
pub fn diff_file(path: &Path, desired: &str, current: Option<&[u8]>) -> Vec<Planned<WriteFile>> {
    if current == Some(desired.as_bytes()) {
        return Vec::new();
    }
    let old = current.map(String::from_utf8_lossy).unwrap_or_default();
    let shown = path.display().to_string();
    let detail = similar::TextDiff::from_lines(old.as_ref(), desired)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{shown} (on disk)"), &format!("{shown} (planned)"))
        .to_string();
    vec![Planned {
        action: if current.is_some() {
            Action::Update
        } else {
            Action::Create
        },
        resource: format!("file {shown}"),
        detail,
        operation: WriteFile {
            path: path.to_path_buf(),
            content: desired.to_string(),
        },
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_means_no_change() {
        assert!(diff_file(Path::new("/p"), "a\n", Some(b"a\n")).is_empty());
    }

    #[test]
    fn missing_file_is_created() {
        let changes = diff_file(Path::new("/p"), "a\n", None);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Create);
        assert!(changes[0].detail.contains("+a"));
    }

    #[test]
    fn different_content_is_an_update_with_a_unified_diff() {
        let changes = diff_file(Path::new("/p"), "a\nb\n", Some(b"a\nc\n"));
        assert_eq!(changes[0].action, Action::Update);
        let d = &changes[0].detail;
        assert!(
            d.contains("--- /p (on disk)") && d.contains("+++ /p (planned)"),
            "{d}"
        );
        assert!(d.contains("-c\n") && d.contains("+b\n"), "{d}");
    }

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
    fn proxy_settings_reach_the_daemon_configuration() {
        let text = "[proxy]\nworkers = 2\nhsts_max_age = 0\naccess_log = \"-\"\naccess_log_format = \"json\"\naccess_log_query = \"none\"\nadmin_listen = \"127.0.0.1:9100\"\ntrusted_proxies = [\"10.0.0.0/8\"]\nmax_body_bytes = 1024\nhttp2_max_streams = 64\n[proxy.timeouts]\nheader_read_ms = 1001\nsend_ms = 1002\nhttp2_idle_ms = 1003\ntunnel_idle_ms = 1004\nupstream_connect_ms = 1005\nupstream_read_ms = 1006\nupstream_idle_ms = 0\ndrain_ms = 1008\n[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\", \"127.0.0.1:8001\"]\nbalance = \"least-connections\"\nhealth_check = \"/health\"\n[[site.route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:9000\"]\nmax_body_bytes = 99\n";
        let config =
            crate::config::parse("w.toml", text, Path::new("/etc/webtier/webtier.toml")).unwrap();
        let p = ProxyConfig::from_toml(&render(&config)).unwrap();
        assert_eq!(p.workers, 2);
        assert_eq!(p.hsts_max_age, 0);
        assert_eq!(
            p.pid_file.as_deref(),
            Some(Path::new("/var/lib/webtier/proxy.pid"))
        );
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
