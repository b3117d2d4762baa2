//! The listening sockets, bound before any worker starts.

use std::net::{SocketAddr, TcpListener};

use anyhow::{Context, Result, anyhow};

use crate::proxy::config::ProxyConfig;

pub(super) fn listen_list(config: &ProxyConfig) -> String {
    let http = config.http_listen.iter().map(|a| format!("http://{a}"));
    let https = config.https_listen.iter().map(|a| format!("https://{a}"));
    http.chain(https).collect::<Vec<_>>().join(", ")
}

/// A listening socket shared by the workers through SO_REUSEPORT (the
/// kernel spreads new connections); IPv6 sockets are IPv6-only so
/// `0.0.0.0` and `::` can both be bound.
fn bind(addr: SocketAddr) -> Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let fail = |e: std::io::Error| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => " — another program holds the port",
            std::io::ErrorKind::PermissionDenied => {
                " — ports below 1024 need root or CAP_NET_BIND_SERVICE"
            }
            std::io::ErrorKind::AddrNotAvailable => " — no interface has that address",
            _ => "",
        };
        anyhow!("cannot listen on {addr}: {e}{hint}")
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.set_reuse_port(true).map_err(fail)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(fail)?;
    }
    socket.set_nonblocking(true).map_err(fail)?;
    socket.set_tcp_nodelay(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(4096).map_err(fail)?;
    Ok(socket.into())
}

/// One worker's listening sockets; `true`: TLS.
pub(super) type Sockets = Vec<(TcpListener, bool)>;

/// Every worker's listening sockets, and the admin
/// listener; a port in use fails here, before any worker starts.
pub(super) fn bind_all(
    config: &ProxyConfig,
    workers: usize,
) -> Result<(Vec<Sockets>, Option<TcpListener>)> {
    let mut sockets = Vec::new();
    for _ in 0..workers {
        let mut mine = Vec::new();
        for addr in &config.http_listen {
            mine.push((bind(*addr)?, false));
        }
        for addr in &config.https_listen {
            mine.push((bind(*addr)?, true));
        }
        sockets.push(mine);
    }
    let admin = config
        .admin_listen
        .map(|addr| {
            let l = TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on admin_listen {addr}"))?;
            l.set_nonblocking(true)?;
            Ok::<_, anyhow::Error>(l)
        })
        .transpose()?;
    Ok((sockets, admin))
}
