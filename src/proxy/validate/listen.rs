//! Whether the proxy could listen on its addresses: each is free, or held
//! by the running proxy (the process its pid file names, while it still is
//! the process that wrote it: `daemon::control::find_running`). A port
//! held by anything else names the holder when `/proc` shows it.
//!
//! The address is tried with a bind of our own (SO_REUSEADDR, so sockets
//! in TIME_WAIT do not count, but not SO_REUSEPORT, which the proxy's
//! listeners use and which would let us share their port); who holds it
//! is then read from `/proc/net/tcp{,6}` (listening sockets and their
//! inodes) and `/proc/PID/fd` (which process has that inode open).

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::proxy::config::ProxyConfig;

/// What became of one address.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Free, or the running proxy's.
    Usable,
    /// Usable, but something to know (to follow "KEY ADDR: ").
    Warning(String),
    /// Not usable; what to do (to follow "KEY ADDR: ").
    Problem(String),
}

/// Every listener the file opens, with its key.
pub fn addresses(config: &ProxyConfig) -> Vec<(SocketAddr, &'static str)> {
    (config.http_listen.iter().map(|a| (*a, "http_listen")))
        .chain(
            config
                .https_listeners()
                .iter()
                .map(|a| (*a, "https_listen")),
        )
        .chain(config.admin_listen.map(|a| (a, "admin_listen")))
        .collect()
}

/// A process holding a listening socket, as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    pid: u32,
    /// `/proc/PID/comm`.
    name: String,
}

/// Whether the proxy could listen on `addr`; `proxy`: the running
/// proxy's pid.
pub fn check(addr: SocketAddr, proxy: Option<u32>) -> Outcome {
    match try_bind(addr) {
        Ok(()) => Outcome::Usable,
        Err(e) => match e.kind() {
            ErrorKind::AddrInUse => held(&holders(addr), proxy, true),
            // Not ours to bind here (a port below 1024): still, nothing
            // else may hold it.
            ErrorKind::PermissionDenied => match held(&holders(addr), proxy, false) {
                Outcome::Usable => Outcome::Warning(
                    "this user may not bind it (ports below 1024 need root or CAP_NET_BIND_SERVICE); the proxy will need that right".into(),
                ),
                other => other,
            },
            ErrorKind::AddrNotAvailable => Outcome::Problem(
                "no interface of this machine has that address — use one it has, or 0.0.0.0 / [::]"
                    .into(),
            ),
            _ => Outcome::Problem(format!("cannot be bound ({e})")),
        },
    }
}

/// The verdict on an address held by `holders`; `in_use`: a bind failed
/// because it is.
fn held(holders: &[Process], proxy: Option<u32>, in_use: bool) -> Outcome {
    let fix = "stop it or choose another address";
    match holders.iter().find(|p| Some(p.pid) != proxy) {
        Some(other) => Outcome::Problem(format!(
            "is in use by pid {} ({}) — {fix}",
            other.pid, other.name
        )),
        None if holders.is_empty() && in_use => {
            Outcome::Problem(format!("is in use by another program — {fix}"))
        }
        None => Outcome::Usable,
    }
}

fn try_bind(addr: SocketAddr) -> std::io::Result<()> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // As the proxy's own listeners.
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())
}

/// The processes with a listening socket that keeps `addr` from being
/// bound, as far as `/proc` lets this user see.
fn holders(addr: SocketAddr) -> Vec<Process> {
    let mut inodes = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        inodes.extend(
            listening(&text, v6)
                .into_iter()
                .filter(|(theirs, _)| conflicts(addr, *theirs))
                .map(|(_, inode)| inode),
        );
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .ok()
                .and_then(|link| socket_inode(&link.to_string_lossy()))
                .is_some_and(|inode| inodes.contains(&inode))
        });
        if holds {
            let comm = std::fs::read(entry.path().join("comm")).unwrap_or_default();
            found.push(Process {
                pid,
                name: String::from_utf8_lossy(&comm).trim().to_string(),
            });
        }
    }
    found
}

/// The inode of a `/proc/PID/fd` link to a socket: `socket:[12345]`.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The listening sockets in the text of `/proc/net/tcp` (`v6`: `tcp6`)
/// with their inodes. Addresses are hex words in the kernel's byte order,
/// ports hex in network order.
fn listening(text: &str, v6: bool) -> Vec<(SocketAddr, u64)> {
    const LISTEN: &str = "0A";
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&LISTEN) {
                return None;
            }
            let (ip, port) = fields.get(1)?.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let words = (0..ip.len() / 8)
                .map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
                .collect::<Option<Vec<u32>>>()?;
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
            let ip = match (v6, bytes.len()) {
                (false, 4) => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
                (true, 16) => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
                _ => return None,
            };
            let inode = fields.get(9)?.parse().ok()?;
            Some((SocketAddr::new(ip, port), inode))
        })
        .collect()
}

/// Whether a socket listening on `theirs` keeps ours from binding `ours`
/// (an IPv6-only socket, as the proxy's are): the same port, and the same
/// address or either a wildcard. An IPv6 wildcard may be dual-stack and
/// so also hold IPv4 addresses; a v4-mapped IPv6 address is its IPv4 one.
fn conflicts(ours: SocketAddr, theirs: SocketAddr) -> bool {
    if ours.port() != theirs.port() {
        return false;
    }
    let canonical = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (a, b) = (canonical(ours.ip()), canonical(theirs.ip()));
    match (a, b) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            a == b || a.is_unspecified() || b.is_unspecified()
        }
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6 == Ipv6Addr::UNSPECIFIED,
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn listening_sockets_are_read_from_proc_net_tcp() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
            \x20  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n\
            \x20  1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1\n\
            \x20  2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(
            listening(tcp, false),
            [(addr("127.0.0.1:8080"), 4242), (addr("0.0.0.0:80"), 17)]
        );
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
            \x20  0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening(tcp6, true), [(addr("[::1]:443"), 99)]);
        assert!(listening("header only\n", false).is_empty());
    }

    #[test]
    fn this_process_is_found_holding_its_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = listener.local_addr().unwrap();
        let me = std::process::id();
        let holders = holders(ours);
        assert!(holders.iter().any(|p| p.pid == me), "{holders:?}");
        // A bind fails, and the holder is named.
        match check(ours, None) {
            Outcome::Problem(text) => {
                assert!(
                    text.starts_with(&format!("is in use by pid {me} (")),
                    "{text}"
                );
                assert!(
                    text.ends_with(") — stop it or choose another address"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
        // The running proxy holding it is fine.
        assert_eq!(check(ours, Some(me)), Outcome::Usable);
        drop(listener);
        assert_eq!(check(ours, None), Outcome::Usable, "free once closed");
    }

    fn process(pid: u32, name: &str) -> Process {
        Process {
            pid,
            name: name.into(),
        }
    }

    #[test]
    fn the_verdict_names_the_first_holder_that_is_not_the_proxy() {
        let proxy = Some(42);
        let nginx = process(77, "nginx");
        assert_eq!(
            held(&[process(42, "webtier")], proxy, true),
            Outcome::Usable
        );
        assert_eq!(
            held(&[process(42, "webtier"), nginx.clone()], proxy, true),
            Outcome::Problem(
                "is in use by pid 77 (nginx) — stop it or choose another address".into()
            )
        );
        assert_eq!(
            held(&[], proxy, true),
            Outcome::Problem(
                "is in use by another program — stop it or choose another address".into()
            )
        );
        assert_eq!(held(&[], None, false), Outcome::Usable);
    }

    #[test]
    fn addresses_conflict_on_one_port_when_equal_or_a_wildcard() {
        let cases = [
            ("127.0.0.1:80", "127.0.0.1:80", true),
            ("127.0.0.1:80", "127.0.0.1:81", false),
            ("127.0.0.1:80", "0.0.0.0:80", true),
            ("0.0.0.0:80", "10.0.0.1:80", true),
            ("127.0.0.1:80", "10.0.0.1:80", false),
            ("127.0.0.1:80", "[::]:80", true),
            ("127.0.0.1:80", "[::ffff:127.0.0.1]:80", true),
            ("[::1]:80", "[::]:80", true),
            ("[::1]:80", "0.0.0.0:80", false),
            ("[::1]:80", "[::2]:80", false),
        ];
        for (ours, theirs, want) in cases {
            assert_eq!(
                conflicts(addr(ours), addr(theirs)),
                want,
                "{ours} vs {theirs}"
            );
        }
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[1]"), None);
    }
}
