//! The listening sockets, bound before any worker starts.

use std::net::{SocketAddr, TcpListener};

use anyhow::{Context, Result, anyhow};

use crate::proxy::config::ProxyConfig;

pub(super) fn listen_list(config: &ProxyConfig) -> String {
    listen_urls(config).join(", ")
}

/// `http://ADDR` and `https://ADDR` for every listener.
pub(super) fn listen_urls(config: &ProxyConfig) -> Vec<String> {
    let http = config.http_listen.iter().map(|a| format!("http://{a}"));
    let https = config
        .https_listeners()
        .iter()
        .map(|a| format!("https://{a}"));
    http.chain(https).collect()
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

/// Every worker's listening sockets, and the admin listener; a port in
/// use fails here, before any worker starts. `handed` are sockets a
/// running proxy passed over (`handover`): each one whose address this
/// configuration listens on is served (every one of them, so that no
/// queued connection is left behind, spread over the workers) instead of
/// binding a new socket; the others are closed.
pub(super) fn bind_all(
    config: &ProxyConfig,
    workers: usize,
    handed: Vec<TcpListener>,
) -> Result<(Vec<Sockets>, Option<TcpListener>)> {
    let mut handed: Vec<(SocketAddr, TcpListener)> = handed
        .into_iter()
        .filter_map(|l| Some((l.local_addr().ok()?, l)))
        .collect();
    let mut take = |addr: SocketAddr| {
        let i = handed.iter().position(|(a, _)| *a == addr)?;
        Some(handed.swap_remove(i).1)
    };
    let listen = config
        .http_listen
        .iter()
        .map(|a| (*a, false))
        .chain(config.https_listeners().iter().map(|a| (*a, true)));
    let mut sockets: Vec<Sockets> = (0..workers).map(|_| Vec::new()).collect();
    for (addr, tls) in listen {
        // Fewer handed sockets than workers: the others share them (a new
        // SO_REUSEPORT socket would need the uid that bound the first
        // ones, root before the change of user).
        let mut shared: Vec<TcpListener> = Vec::new();
        for (i, mine) in sockets.iter_mut().enumerate() {
            let socket = match take(addr) {
                Some(socket) => {
                    shared.push(
                        socket
                            .try_clone()
                            .map_err(|e| anyhow!("cannot share {addr}: {e}"))?,
                    );
                    socket
                }
                None if !shared.is_empty() => shared[i % shared.len()]
                    .try_clone()
                    .map_err(|e| anyhow!("cannot share {addr}: {e}"))?,
                None => bind(addr)?,
            };
            mine.push((socket, tls));
        }
        // More handed sockets than workers: every one is still served.
        let mut worker = 0;
        while let Some(socket) = take(addr) {
            sockets[worker % workers].push((socket, tls));
            worker += 1;
        }
    }
    let admin = config
        .admin_listen
        .map(|addr| {
            let l = match take(addr) {
                Some(l) => l,
                None => TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on admin_listen {addr}"))?,
            };
            l.set_nonblocking(true)?;
            Ok::<_, anyhow::Error>(l)
        })
        .transpose()?;
    Ok((sockets, admin))
}
