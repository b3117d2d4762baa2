//! The HTTP-01 preflight: before the CA is asked to validate a name,
//! webtier fetches its own challenge URL for that name, as the CA will,
//! and stops with the exact cause when that would fail. A failed
//! validation counts against the CA's limit (Let's Encrypt: 5 per
//! account, name and hour); a failed preflight costs nothing.
//!
//! A probe file with a random token goes into the challenge directory.
//! For each name it is fetched twice:
//! 1. on loopback, with the name as Host: whoever holds the HTTP port on
//!    this machine must serve the challenge directory (else another
//!    server holds the port, named when /proc tells which process);
//! 2. at every address the system resolver gives for the name: the name
//!    must resolve, the port must be open there, and the answer must be
//!    this machine's probe (else the name points elsewhere).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;

use super::http01::PREFIX;
use crate::fsutil::atomic_write_with_mode;

/// How long one fetch may take (connect and answer).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks every name; the first name that would fail ends the check with
/// its cause. Wildcards are left out (they validate through DNS-01).
pub async fn check(dir: &Path, port: u16, names: &[String]) -> Result<()> {
    let probe = Probe::write(dir)?;
    for name in names.iter().filter(|n| !n.starts_with("*.")) {
        check_name(&probe, port, name).await?;
    }
    Ok(())
}

/// The probe file, removed on drop.
struct Probe {
    path: PathBuf,
    token: String,
}

impl Probe {
    fn write(dir: &Path) -> Result<Probe> {
        use base64::Engine;
        let mut bytes = [0u8; 24];
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("no random numbers for the preflight token"))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let content = format!("webtier-preflight.{token}");
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the challenge directory {}", dir.display()))?;
        let path = dir.join(&token);
        atomic_write_with_mode(&path, content.as_bytes(), 0o644)?;
        Ok(Probe { path, token })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What one fetch of the probe found.
#[derive(Debug, PartialEq, Eq)]
enum Fetched {
    /// The probe's exact content.
    Probe,
    /// Something else answered: the status and the start of the body.
    Other(u16, String),
    /// No connection: refused, unreachable or timed out.
    Closed(String),
}

async fn check_name(probe: &Probe, port: u16, name: &str) -> Result<()> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match fetch(loopback, name, &probe.token).await {
        Fetched::Probe => {}
        Fetched::Other(status, _) => bail!(
            "preflight for {name}: {} answers on port {port} of this machine but does not serve webtier's challenge directory (HTTP {status} for a probe file) — stop it and let webtier's proxy take port {port}, or serve {} at {PREFIX} from it",
            holder(port).unwrap_or_else(|| "another server".into()),
            probe.path.parent().unwrap_or(Path::new("")).display()
        ),
        Fetched::Closed(why) => {
            bail!("preflight for {name}: nothing answers on port {port} of this machine ({why})")
        }
    }
    let lookup = tokio::time::timeout(FETCH_TIMEOUT, tokio::net::lookup_host((name, port)))
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer from the resolver within {FETCH_TIMEOUT:?}"),
            ))
        });
    let addrs: Vec<IpAddr> = match lookup {
        Ok(found) => {
            let mut ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
            ips.sort();
            ips.dedup();
            ips
        }
        Err(e) => bail!(
            "preflight for {name}: the name does not resolve ({e}) — the CA could not find it either; check its records (`webtier plan dns`) or wait for DNS propagation"
        ),
    };
    if addrs.is_empty() {
        bail!(
            "preflight for {name}: the name has no address — check its records (`webtier plan dns`) or wait for DNS propagation"
        );
    }
    for ip in addrs {
        match fetch(SocketAddr::new(ip, port), name, &probe.token).await {
            Fetched::Probe => {}
            Fetched::Other(status, _) => bail!(
                "preflight for {name}: the name resolves to {ip}, which answers on port {port} but not with this machine's challenge file (HTTP {status}) — the name points at another server: check its records (`webtier plan dns`) or wait for DNS propagation"
            ),
            Fetched::Closed(why) => bail!(
                "preflight for {name}: the name resolves to {ip}, where port {port} does not answer ({why}) — open tcp/{port} to the world in the security group (`webtier apply firewall`), or check that {ip} is this machine's public address"
            ),
        }
    }
    Ok(())
}

/// GET the probe from `addr` with `name` as Host.
async fn fetch(addr: SocketAddr, name: &str, token: &str) -> Fetched {
    match tokio::time::timeout(FETCH_TIMEOUT, fetch_once(addr, name, token)).await {
        Ok(Ok((status, body))) => {
            if status == 200 && body == format!("webtier-preflight.{token}") {
                Fetched::Probe
            } else {
                Fetched::Other(status, body.chars().take(80).collect())
            }
        }
        Ok(Err(why)) => Fetched::Closed(why),
        Err(_) => Fetched::Closed(format!("no answer within {FETCH_TIMEOUT:?}")),
    }
}

async fn fetch_once(
    addr: SocketAddr,
    name: &str,
    token: &str,
) -> std::result::Result<(u16, String), String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            _ => e.to_string(),
        })?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
    // Aborted however this future ends (the caller's timeout drops it).
    let driver = AbortOnDrop(tokio::spawn(conn));
    let request = http::Request::get(format!("{PREFIX}{token}"))
        .header(http::header::HOST, name)
        .header(http::header::USER_AGENT, "webtier-preflight")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), 4096)
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
    .await;
    drop(driver);
    result
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The process listening on TCP `port` on this machine, as `NAME (pid
/// N)`, when /proc tells (as root: any process; else only one's own).
fn holder(port: u16) -> Option<String> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && wanted.iter().any(|w| target.as_os_str() == w.as_str())
            {
                let comm = std::fs::read_to_string(entry.path().join("comm"))
                    .map(|c| c.trim().to_string())
                    .unwrap_or_else(|_| "a process".into());
                return Some(format!("{comm} (pid {pid})"));
            }
        }
    }
    None
}

/// Pure: the socket inodes in a /proc/net/tcp{,6} table that listen on
/// `port`.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            let listening = *f.get(3)? == "0A";
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| f.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_found_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
";
        assert_eq!(listening_inodes(table, 80), vec![4242]);
        assert_eq!(listening_inodes(table, 8080), vec![4444]);
        assert!(listening_inodes(table, 443).is_empty());
    }

    #[tokio::test]
    async fn a_listener_of_this_process_is_named() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let named = holder(port).expect("this process's listener is found");
        assert!(
            named.contains(&format!("(pid {})", std::process::id())),
            "{named}"
        );
    }
}
