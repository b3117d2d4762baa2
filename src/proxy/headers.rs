//! Request header rewriting on the way to an upstream. Pure functions on
//! header maps: hop-by-hop headers never cross, and the client's
//! forwarding headers are believed only from trusted proxies. (Response
//! headers are filtered as they are parsed, in `client`.)

use std::borrow::Cow;
use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
pub const X_POWERED_BY: HeaderName = HeaderName::from_static("x-powered-by");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Is this one of the fixed hop-by-hop headers (RFC 9110 §7.6.1)? `Upgrade`
/// and the names `Connection` lists are the caller's to judge.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

/// Identity headers an edge login sets; never taken from clients.
const AUTH_PREFIX: &str = "x-auth-request-";

/// Removes the hop-by-hop headers (RFC 9110 §7.6.1), including those the
/// `Connection` header lists. With `keep_upgrade`, `Connection: upgrade`
/// and `Upgrade` survive so a WebSocket handshake can be passed on.
pub fn strip_hop_by_hop(h: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages carry none of them: one cheap pass over the names
    // (standard names compare as enums) saves a hash lookup per name.
    let any = h
        .keys()
        .any(|k| is_hop_by_hop(k) || (!keep_upgrade && k == header::UPGRADE));
    if !any && !keep_upgrade {
        return;
    }
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .filter(|name| !(keep_upgrade && name == header::UPGRADE))
        .collect();
    for name in listed {
        h.remove(name);
    }
    for name in &HOP_BY_HOP {
        h.remove(name);
    }
    if keep_upgrade {
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        h.remove(header::UPGRADE);
    }
}

/// Is this an HTTP/1.1 Upgrade (WebSocket) request?
pub fn wants_upgrade(h: &HeaderMap) -> bool {
    h.contains_key(header::UPGRADE)
        && h.get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Who the client is and how it reached us.
pub struct Client<'a> {
    pub peer: IpAddr,
    /// `https` or `http` on the listener that took the request.
    pub proto: &'static str,
    pub host: &'a str,
}

fn trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    trusted.iter().any(|net| net.contains(&ip))
}

/// An address as text; IPv4 without the formatting machinery (this runs
/// for every proxied request).
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut s = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if octet >= 100 {
            s.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            s.push(char::from(b'0' + octet / 10 % 10));
        }
        s.push(char::from(b'0' + octet % 10));
    }
    s
}

/// Sets the forwarding headers for the upstream. From an untrusted peer
/// every client-supplied `X-Forwarded-*`, `X-Real-IP` and `Forwarded` is
/// replaced; from a trusted proxy the chain is extended and the original
/// client taken from it (the rightmost address that is not itself a
/// trusted proxy).
pub fn set_forwarding(h: &mut HeaderMap, client: &Client<'_>, trusted_proxies: &[IpNet]) {
    let peer = ip_text(client.peer);
    // From a trusted proxy: the chain so far, the original client, and
    // what the proxy said of protocol and host.
    let (prior, real, proto, host) = if trusted(client.peer, trusted_proxies) {
        let prior: Vec<String> = h
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let real = prior
            .iter()
            .rev()
            .filter_map(|s| s.parse::<IpAddr>().ok())
            .find(|ip| !trusted(*ip, trusted_proxies))
            .map(|ip| ip.to_string());
        let proto = match h.get(&X_FORWARDED_PROTO).map(HeaderValue::as_bytes) {
            Some(b"https") => "https",
            Some(b"http") => "http",
            _ => client.proto,
        };
        let host = h
            .get(&X_FORWARDED_HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(client.host)
            .to_string();
        (prior, real, proto, Cow::Owned(host))
    } else {
        // The usual case: the peer is the client; nothing it sent counts.
        (Vec::new(), None, client.proto, Cow::Borrowed(client.host))
    };
    let value = |s: &str| HeaderValue::from_str(s).ok();
    let forwarded = {
        let mut f = String::with_capacity(peer.len() + host.len() + 32);
        f.push_str("for=");
        if client.peer.is_ipv6() {
            f.push_str("\"[");
            f.push_str(&peer);
            f.push_str("]\"");
        } else {
            f.push_str(&peer);
        }
        f.push_str(";proto=");
        f.push_str(proto);
        f.push_str(";host=\"");
        f.push_str(&host);
        f.push('"');
        f
    };
    let real_ip = value(real.as_deref().unwrap_or(&peer));
    let chain = if prior.is_empty() {
        peer
    } else {
        format!("{}, {peer}", prior.join(", "))
    };
    // `insert` replaces every value the client sent under the name.
    match (value(&chain), real_ip) {
        (Some(chain), Some(real)) => {
            h.insert(X_REAL_IP, real);
            h.insert(X_FORWARDED_FOR, chain);
        }
        _ => {
            h.remove(X_FORWARDED_FOR);
            h.remove(X_REAL_IP);
        }
    }
    h.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    // Usually the client's own Host value: shared, not copied.
    let host_value = match h.get(header::HOST) {
        Some(v) if v.as_bytes() == host.as_bytes() => Some(v.clone()),
        _ => value(&host),
    };
    match host_value {
        Some(v) => h.insert(X_FORWARDED_HOST, v),
        None => h.remove(X_FORWARDED_HOST),
    };
    match value(&forwarded) {
        Some(v) => h.insert(FORWARDED, v),
        None => h.remove(FORWARDED),
    };

    if h.keys().any(|k| k.as_str().starts_with(AUTH_PREFIX)) {
        let auth: Vec<HeaderName> = h
            .keys()
            .filter(|k| k.as_str().starts_with(AUTH_PREFIX))
            .cloned()
            .collect();
        for name in auth {
            h.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn client(peer: &str) -> Client<'static> {
        Client {
            peer: peer.parse().unwrap(),
            proto: "https",
            host: "a.test",
        }
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_lists_are_removed() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn an_upgrade_keeps_upgrade_and_connection() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        assert!(wants_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
    }

    #[test]
    fn untrusted_clients_cannot_forge_their_address() {
        let mut h = map(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "evil.test"),
            ("forwarded", "for=1.2.3.4"),
            ("x-auth-request-email", "admin@a.test"),
        ]);
        set_forwarding(&mut h, &client("203.0.113.9"), &[]);
        assert_eq!(h["x-forwarded-for"], "203.0.113.9");
        assert_eq!(h["x-real-ip"], "203.0.113.9");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "a.test");
        assert_eq!(
            h["forwarded"],
            "for=203.0.113.9;proto=https;host=\"a.test\""
        );
        assert!(!h.contains_key("x-auth-request-email"));
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "10.0.0.5",
            "192.168.100.255",
            "8.8.8.8",
            "::1",
            "2001:db8::7",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn a_trusted_proxy_extends_the_chain() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = map(&[
            ("x-forwarded-for", "198.51.100.7, 10.0.0.5"),
            ("x-forwarded-proto", "http"),
        ]);
        set_forwarding(&mut h, &client("10.0.0.2"), &trusted);
        assert_eq!(h["x-forwarded-for"], "198.51.100.7, 10.0.0.5, 10.0.0.2");
        assert_eq!(h["x-real-ip"], "198.51.100.7");
        assert_eq!(h["x-forwarded-proto"], "http");
    }
}
