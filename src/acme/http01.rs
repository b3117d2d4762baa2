//! HTTP-01 challenge responses: token files in the challenge directory,
//! which the bundled proxy serves at `/.well-known/acme-challenge/`. When
//! nothing listens on the HTTP port, webtier serves that directory itself
//! from a listener that lives only as long as the order.

use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::fsutil::atomic_write_with_mode;

pub const PREFIX: &str = "/.well-known/acme-challenge/";

pub struct Http01 {
    dir: PathBuf,
    written: Vec<PathBuf>,
    servers: Vec<JoinHandle<()>>,
}

/// ACME tokens are base64url; anything else is refused before it can name
/// a path.
pub fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 256
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Http01 {
    /// Prepares the challenge directory; starts a listener on `port` when
    /// nothing answers there on loopback.
    pub async fn start(dir: &Path, port: u16) -> Result<Http01> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the challenge directory {}", dir.display()))?;
        let mut servers = Vec::new();
        let taken = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok();
        if taken {
            tracing::info!(
                "port {port} answers: the running proxy serves the challenges from {}",
                dir.display()
            );
        } else {
            let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
                .await
                .map_err(|e| listen_error(port, &e))?;
            servers.push(tokio::spawn(serve(v4, dir.to_path_buf())));
            // IPv6 too where the host has it; IPv4 alone still validates.
            if let Ok(v6) = bind_v6_only(port) {
                servers.push(tokio::spawn(serve(v6, dir.to_path_buf())));
            }
            tracing::info!("serving HTTP-01 challenges on port {port} until the order ends");
        }
        Ok(Http01 {
            dir: dir.to_path_buf(),
            written: Vec::new(),
            servers,
        })
    }

    /// Publishes one challenge response.
    pub fn add(&mut self, token: &str, key_authorization: &str) -> Result<()> {
        if !valid_token(token) {
            bail!("the ACME server sent an invalid challenge token");
        }
        let path = self.dir.join(token);
        atomic_write_with_mode(&path, key_authorization.as_bytes(), 0o644)?;
        self.written.push(path);
        Ok(())
    }
}

impl Drop for Http01 {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
        for path in &self.written {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn listen_error(port: u16, e: &std::io::Error) -> anyhow::Error {
    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
        " — run as root or with CAP_NET_BIND_SERVICE, or start the bundled proxy first"
    } else {
        ""
    };
    anyhow::anyhow!("cannot listen on port {port} to answer HTTP-01 challenges: {e}{hint}")
}

fn bind_v6_only(port: u16) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)?;
    socket.set_only_v6(true)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
    socket.listen(128)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

async fn serve(listener: TcpListener, dir: PathBuf) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let dir = dir.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, dir.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    dir: PathBuf,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let found = match (req.method(), req.uri().path().strip_prefix(PREFIX)) {
        (&Method::GET | &Method::HEAD, Some(token)) if valid_token(token) => {
            tokio::fs::read(dir.join(token)).await.ok()
        }
        _ => None,
    };
    let response = match found {
        Some(body) => Response::builder()
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from(body))),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"not found\n"))),
    };
    Ok(response.expect("static response parts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cannot_name_other_paths() {
        assert!(valid_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        for bad in ["", "../etc/passwd", "a/b", "a.b", "%2e%2e", "a\0b"] {
            assert!(!valid_token(bad), "{bad:?}");
        }
    }
}
