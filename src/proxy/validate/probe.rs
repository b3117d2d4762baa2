//! `--probe`: whether each upstream accepts a TCP connection within
//! [`TIMEOUT`], all probed at once. Only the connection is tried: nothing
//! is sent, so an application sees a connection that closes at once.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::proxy::config::UpstreamAddr;

pub const TIMEOUT: Duration = Duration::from_secs(3);

/// For each upstream, in order: Ok when one of its addresses accepted a
/// connection, else why not (to follow "upstream URL").
pub fn probe(upstreams: &[&UpstreamAddr]) -> Vec<Result<(), String>> {
    std::thread::scope(|scope| {
        let probes: Vec<_> = upstreams
            .iter()
            .map(|up| scope.spawn(move || connect(up)))
            .collect();
        probes
            .into_iter()
            .map(|p| {
                p.join()
                    .unwrap_or_else(|_| Err("could not be probed".into()))
            })
            .collect()
    })
}

fn connect(up: &UpstreamAddr) -> Result<(), String> {
    let addrs: Vec<_> = (up.host.as_str(), up.port)
        .to_socket_addrs()
        .map_err(|e| format!("has a host that does not resolve ({e})"))?
        .collect();
    let mut why = format!("has a host ({}) with no address", up.host);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => why = reason(&e),
        }
    }
    Err(why)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => "refuses connections".into(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => format!(
            "does not accept a connection within {} s",
            TIMEOUT.as_secs()
        ),
        _ => format!("cannot be connected to ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::config::parse_upstream;

    #[test]
    fn a_listening_upstream_passes_and_a_closed_port_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = parse_upstream(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        // A port that was free a moment ago: nothing listens there.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            parse_upstream(&format!("http://{}", l.local_addr().unwrap())).unwrap()
        };
        let unresolvable = parse_upstream("http://no-such-host.invalid:80").unwrap();
        let outcomes = probe(&[&open, &closed, &unresolvable]);
        assert_eq!(outcomes[0], Ok(()));
        assert_eq!(outcomes[1], Err("refuses connections".to_string()));
        let err = outcomes[2].clone().unwrap_err();
        assert!(
            err.starts_with("has a host that does not resolve ("),
            "{err}"
        );
    }
}
