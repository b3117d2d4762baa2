//! `upstream`: every upstream of the site answers, asked directly (not
//! through the proxy): a TCP connection, or, for a route with a
//! `health_check` path, a GET of that path answered 2xx or 3xx, which is
//! what the proxy's own active checks count as healthy. A site that only
//! serves files has no upstream check.

use std::time::Duration;

use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::Check;
use crate::config::{Backend, Site, Upstream};

pub const NAME: &str = "upstream";

const TIMEOUT: Duration = Duration::from_secs(3);

pub async fn check(site: &Site) -> Option<Check> {
    let targets = targets(site);
    if targets.is_empty() {
        return None;
    }
    let mut ok = true;
    let mut details = Vec::new();
    for (upstream, path) in targets {
        match probe(upstream, path).await {
            Ok(how) => details.push(format!("{upstream} {how}")),
            Err(why) => {
                ok = false;
                details.push(format!("{upstream} {why}"));
            }
        }
    }
    let detail = details.join("; ");
    Some(if ok {
        Check::pass(NAME, detail)
    } else {
        Check::fail(NAME, detail)
    })
}

/// Pure: each upstream of the site once, with the health-check path of
/// the first route that names it (the site's own upstreams serve `/`).
pub fn targets(site: &Site) -> Vec<(&Upstream, Option<&str>)> {
    let mut out: Vec<(&Upstream, Option<&str>)> = Vec::new();
    let site_own = site
        .upstreams
        .iter()
        .map(|u| (u, site.health_check.as_deref()));
    let routes = site.routes.iter().flat_map(|r| match &r.backend {
        Backend::Upstreams(ups) => ups
            .iter()
            .map(|u| (u, r.health_check.as_deref()))
            .collect::<Vec<_>>(),
        Backend::Root(_) => Vec::new(),
    });
    for (u, path) in site_own.chain(routes) {
        if !out.iter().any(|(seen, _)| *seen == u) {
            out.push((u, path));
        }
    }
    out
}

/// How the upstream answered (`accepts connections`, `answers GET /health
/// with 200 OK`), or why it did not.
async fn probe(up: &Upstream, path: Option<&str>) -> Result<String, String> {
    let connect = tokio::net::TcpStream::connect((up.host.as_str(), up.port));
    let tcp = match tokio::time::timeout(TIMEOUT, connect).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return Err(match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "refuses connections".into(),
                _ => format!("cannot be connected to ({e})"),
            });
        }
        Err(_) => {
            return Err(format!(
                "does not accept a connection within {} s",
                TIMEOUT.as_secs()
            ));
        }
    };
    let Some(path) = path else {
        return Ok("accepts connections".into());
    };
    let asked = async {
        if up.tls {
            get(tls(up, tcp).await?, up, path).await
        } else {
            get(tcp, up, path).await
        }
    };
    let status = match tokio::time::timeout(TIMEOUT, asked).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(format!(
                "does not answer GET {path} within {} s",
                TIMEOUT.as_secs()
            ));
        }
    };
    let answer = format!("answers GET {path} with {status}");
    if status.is_success() || status.is_redirection() {
        Ok(answer)
    } else {
        Err(answer)
    }
}

async fn tls(
    up: &Upstream,
    tcp: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    use hyper_rustls::ConfigBuilderExt;
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_native_roots()
    .map_err(|e| format!("cannot load the system trust roots: {e}"))?
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(up.host.clone())
        .map_err(|e| format!("has a host that is no TLS server name ({e})"))?;
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("fails the TLS handshake ({e})"))
}

async fn get<IO>(io: IO, up: &Upstream, path: &str) -> Result<http::StatusCode, String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("cannot speak HTTP/1.1 ({e})"))?;
    tokio::spawn(conn);
    let host = if up.host.contains(':') {
        format!("[{}]:{}", up.host, up.port)
    } else {
        format!("{}:{}", up.host, up.port)
    };
    let request = http::Request::get(path)
        .header(http::header::HOST, host)
        .header(http::header::USER_AGENT, "webtier-status")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| format!("cannot ask for {path} ({e})"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("does not answer GET {path} ({e})"))?;
    Ok(response.status())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Route;

    fn up(port: u16) -> Upstream {
        Upstream {
            tls: false,
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn each_upstream_once_with_its_routes_health_path() {
        let config = crate::config::parse(
            "webtier.toml",
            "state_dir = \"/tmp/s\"\n[[site]]\ndomain = \"a.example\"\ntls = \"none\"\nupstreams = [\"127.0.0.1:8000\"]\n",
            std::path::Path::new("/tmp/webtier.toml"),
        )
        .unwrap();
        let mut site = config.sites[0].clone();
        site.routes.push(Route {
            path: "/api/".into(),
            backend: Backend::Upstreams(vec![up(8000), up(9000)]),
            balance: site.balance,
            health_check: Some("/health".into()),
            max_body_bytes: None,
            auth: None,
            access: None,
            allow_dotfiles: false,
            rewrite: None,
            trailing_slash: None,
            basic_auth: None,
            rate_limit: None,
            cache: None,
            compress: None,
        });
        let found: Vec<(u16, Option<&str>)> = targets(&site)
            .into_iter()
            .map(|(u, p)| (u.port, p))
            .collect();
        assert_eq!(found, [(8000, None), (9000, Some("/health"))]);
        site.upstreams.clear();
        site.routes.clear();
        assert!(targets(&site).is_empty());
    }

    #[tokio::test]
    async fn a_closed_port_refuses_and_a_listener_accepts() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = up(listener.local_addr().unwrap().port());
        assert_eq!(probe(&open, None).await.unwrap(), "accepts connections");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            up(l.local_addr().unwrap().port())
        };
        assert_eq!(
            probe(&closed, None).await.unwrap_err(),
            "refuses connections"
        );
    }
}
