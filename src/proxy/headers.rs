//! Request header rewriting on the way to an upstream, as pure functions:
//! hop-by-hop headers never cross, and the client's forwarding headers are
//! believed only from trusted proxies. (Response
//! headers are filtered as they are parsed, in `client`.)

use std::borrow::Cow;
use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use super::routing::normalize_host;

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

/// Is this an HTTP/1.1 Upgrade (WebSocket) request? An upgrade to `h2c` is
/// not: its requests would reach the upstream in a tunnel, past every
/// header rule here.
pub fn wants_upgrade(h: &HeaderMap) -> bool {
    let h2c = h
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("h2c"));
    h.contains_key(header::UPGRADE)
        && !h2c
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

/// Appends an address as text; IPv4 without the formatting machinery
/// (this runs for every proxied request).
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    let IpAddr::V4(v4) = ip else {
        out.extend_from_slice(ip.to_string().as_bytes());
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        if octet >= 100 {
            out.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            out.push(b'0' + octet / 10 % 10);
        }
        out.push(b'0' + octet % 10);
    }
}

/// The forwarding headers for the upstream. From an untrusted peer every
/// client-supplied `X-Forwarded-*`, `X-Real-IP` and `Forwarded` is
/// replaced; from a trusted proxy the chain is extended and the original
/// client taken from it (the rightmost address that is not itself a
/// trusted proxy). They are written straight into the upstream request's
/// head ([`Forwarding::write`]): this runs for every proxied request, and
/// five header values in the map would be five allocations and a regrown
/// map.
pub struct Forwarding<'a> {
    peer: IpAddr,
    /// From a trusted proxy: the `X-Forwarded-For` chain so far, and the
    /// original client found in it.
    prior: Option<(String, Option<IpAddr>)>,
    proto: &'static str,
    host: Cow<'a, str>,
}

impl<'a> Forwarding<'a> {
    /// Takes what counts of the client's forwarding headers out of `h`, and
    /// the client's `X-Auth-Request-*` identity headers with them.
    pub fn take(
        h: &mut HeaderMap,
        client: &Client<'a>,
        trusted_proxies: &[IpNet],
    ) -> Forwarding<'a> {
        let mut forwarding = Forwarding {
            peer: client.peer,
            prior: None,
            proto: client.proto,
            host: Cow::Borrowed(client.host),
        };
        let from_trusted = trusted(client.peer, trusted_proxies);
        // Most requests carry none of them: one pass over the names first.
        // From an untrusted peer every `X-Forwarded-*` goes (`-Port`,
        // `-Prefix` and the like too); a trusted proxy's others pass.
        let theirs = |k: &HeaderName| {
            k == X_FORWARDED_FOR
                || k == X_FORWARDED_PROTO
                || k == X_FORWARDED_HOST
                || k == X_REAL_IP
                || k == FORWARDED
                || k.as_str().starts_with(AUTH_PREFIX)
                || (!from_trusted && k.as_str().starts_with("x-forwarded-"))
        };
        if !h.keys().any(theirs) {
            return forwarding;
        }
        if from_trusted {
            let chain: Vec<&str> = h
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let real = chain
                .iter()
                .rev()
                .filter_map(|s| s.parse::<IpAddr>().ok())
                .find(|ip| !trusted(*ip, trusted_proxies));
            if !chain.is_empty() {
                forwarding.prior = Some((chain.join(", "), real));
            }
            match h.get(&X_FORWARDED_PROTO).map(HeaderValue::as_bytes) {
                Some(b"https") => forwarding.proto = "https",
                Some(b"http") => forwarding.proto = "http",
                _ => {}
            }
            // Only what routing would take for a host is believed: the
            // value is quoted into `Forwarded`, so a `"` or `;` could add
            // parameters to it.
            if let Some(host) = h
                .get(&X_FORWARDED_HOST)
                .and_then(|v| v.to_str().ok())
                .filter(|v| normalize_host(v).is_some())
            {
                forwarding.host = Cow::Owned(host.to_string());
            }
        }
        let names: Vec<HeaderName> = h.keys().filter(|k| theirs(k)).cloned().collect();
        for name in names {
            h.remove(name);
        }
        forwarding
    }

    /// An upper bound of what [`Forwarding::write`] writes: the names, and
    /// three addresses of at most 45 bytes (IPv6) each.
    pub fn len(&self) -> usize {
        let prior = self.prior.as_ref().map_or(0, |(chain, _)| chain.len() + 2);
        256 + prior + 2 * self.host.len()
    }

    /// Appends the header lines. Every value comes from an address, a
    /// fixed string or a header value that was valid as such, so none can
    /// break the head.
    pub fn write(&self, out: &mut Vec<u8>) {
        let real = match &self.prior {
            Some((_, Some(real))) => *real,
            _ => self.peer,
        };
        out.extend_from_slice(b"x-real-ip: ");
        write_ip(out, real);
        out.extend_from_slice(b"\r\nx-forwarded-for: ");
        if let Some((chain, _)) = &self.prior {
            out.extend_from_slice(chain.as_bytes());
            out.extend_from_slice(b", ");
        }
        write_ip(out, self.peer);
        out.extend_from_slice(b"\r\nx-forwarded-proto: ");
        out.extend_from_slice(self.proto.as_bytes());
        out.extend_from_slice(b"\r\nx-forwarded-host: ");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\r\nforwarded: for=");
        if self.peer.is_ipv6() {
            out.extend_from_slice(b"\"[");
            write_ip(out, self.peer);
            out.extend_from_slice(b"]\"");
        } else {
            write_ip(out, self.peer);
        }
        out.extend_from_slice(b";proto=");
        out.extend_from_slice(self.proto.as_bytes());
        out.extend_from_slice(b";host=\"");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\"\r\n");
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

    /// The map as the upstream sees it: the client's headers that are
    /// left, and the written forwarding lines.
    fn forward(h: &mut HeaderMap, client: &Client<'_>, trusted: &[IpNet]) {
        let forwarding = Forwarding::take(h, client, trusted);
        let mut out = Vec::new();
        forwarding.write(&mut out);
        assert!(out.len() <= forwarding.len());
        let text = String::from_utf8(out).unwrap();
        let lines = text.strip_suffix("\r\n").unwrap();
        for line in lines.split("\r\n") {
            let (name, value) = line.split_once(": ").unwrap();
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
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
        forward(&mut h, &client("203.0.113.9"), &[]);
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
            let mut out = Vec::new();
            write_ip(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
        }
    }

    #[test]
    fn untrusted_forwarding_extras_go_and_a_forged_host_cannot_add_parameters() {
        let mut h = map(&[("x-forwarded-port", "1"), ("x-forwarded-prefix", "/admin")]);
        forward(&mut h, &client("203.0.113.9"), &[]);
        assert!(!h.contains_key("x-forwarded-port") && !h.contains_key("x-forwarded-prefix"));

        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = map(&[
            ("x-forwarded-host", "a.test\";for=6.6.6.6"),
            ("x-forwarded-port", "443"),
        ]);
        forward(&mut h, &client("10.0.0.2"), &trusted);
        assert_eq!(h["x-forwarded-host"], "a.test", "the proxy's own host");
        assert_eq!(h["forwarded"], "for=10.0.0.2;proto=https;host=\"a.test\"");
        assert_eq!(
            h["x-forwarded-port"], "443",
            "a trusted proxy's extras pass"
        );
    }

    #[test]
    fn an_upgrade_to_h2c_is_not_tunnelled() {
        let mut h = map(&[
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
        ]);
        assert!(!wants_upgrade(&h));
        strip_hop_by_hop(&mut h, false);
        assert!(h.is_empty(), "{h:?}");
    }

    #[test]
    fn a_trusted_proxy_extends_the_chain() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = map(&[
            ("x-forwarded-for", "198.51.100.7, 10.0.0.5"),
            ("x-forwarded-proto", "http"),
        ]);
        forward(&mut h, &client("10.0.0.2"), &trusted);
        assert_eq!(h["x-forwarded-for"], "198.51.100.7, 10.0.0.5, 10.0.0.2");
        assert_eq!(h["x-real-ip"], "198.51.100.7");
        assert_eq!(h["x-forwarded-proto"], "http");
    }
}
