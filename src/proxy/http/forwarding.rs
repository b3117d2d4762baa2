//! The forwarding headers an upstream receives (`X-Forwarded-For`,
//! `-Proto`, `-Host`, `X-Real-IP`, `Forwarded`): the client's own are
//! believed only from trusted proxies.

use std::borrow::Cow;
use std::net::IpAddr;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::proxy::request::routing::normalize_host;

/// Identity headers an edge login sets; never taken from clients.
const AUTH_PREFIX: &str = "x-auth-request-";

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

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

/// The `X-Forwarded-For` entries of `h`, left to right, as written
/// (bytes: a value that is not text is still a list of entries).
fn forwarded_for(h: &HeaderMap) -> impl DoubleEndedIterator<Item = &[u8]> {
    h.get_all(&X_FORWARDED_FOR)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty())
}

/// Pure: an address as a proxy may write it in `X-Forwarded-For`: bare,
/// `1.2.3.4:5678`, or `[2001:db8::1]:5678` / `[2001:db8::1]`.
pub fn entry_address(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?;
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return port_ok.then(|| address.parse().ok()).flatten();
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    // IPv4 with a port (an IPv6 address without brackets has several ':').
    let (host, port) = text.split_once(':')?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .then(|| host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4))
        .flatten()
}

/// Who the original client of a chain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Original {
    /// The right-most address that is not itself a trusted proxy.
    Address(IpAddr),
    /// The right-most untrusted entry is not an address: the client is
    /// not known (and never taken to be the proxy).
    Unknown,
    /// No entry, or only trusted proxies.
    Absent,
}

/// The original client in a chain, read from the right: trusted proxies
/// are passed over; the first other entry decides.
fn rightmost_untrusted<'s>(
    chain: impl DoubleEndedIterator<Item = &'s [u8]>,
    trusted_proxies: &[IpNet],
) -> Original {
    for entry in chain.rev() {
        match entry_address(entry) {
            Some(ip) if trusted(ip, trusted_proxies) => continue,
            Some(ip) => return Original::Address(ip),
            None => return Original::Unknown,
        }
    }
    Original::Absent
}

/// The client's address for access control and rate limits: the socket
/// peer, or, when the peer is a trusted proxy, the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy (what the upstream
/// gets as `X-Real-IP`). None when that entry is not an address: such a
/// client matches no allow list. IPv4-mapped IPv6 addresses are given as
/// IPv4.
pub fn client_ip(peer: IpAddr, h: &HeaderMap, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let ip = if trusted(peer, trusted_proxies) {
        match rightmost_untrusted(forwarded_for(h), trusted_proxies) {
            Original::Address(ip) => ip,
            Original::Unknown => return None,
            Original::Absent => peer,
        }
    } else {
        peer
    };
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
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

/// Whether a header name with `_` is, read with `-` for `_`, one of the
/// names [`Forwarding::take`] takes out.
fn underscored(name: &str, from_trusted: bool) -> bool {
    let dashed = name.replace('_', "-");
    [
        X_FORWARDED_FOR.as_str(),
        X_FORWARDED_PROTO.as_str(),
        X_FORWARDED_HOST.as_str(),
        X_REAL_IP.as_str(),
    ]
    .contains(&dashed.as_str())
        || dashed.starts_with(AUTH_PREFIX)
        || (!from_trusted && dashed.starts_with("x-forwarded-"))
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
                // `X_Auth_Request_User`: CGI-style servers (WSGI, PHP) read
                // `_` and `-` alike, so these are the same header to them.
                || (k.as_str().contains('_') && underscored(k.as_str(), from_trusted))
        };
        if !h.keys().any(theirs) {
            return forwarding;
        }
        if from_trusted {
            let chain: Vec<&str> = forwarded_for(h)
                .filter_map(|e| std::str::from_utf8(e).ok())
                .collect();
            let real = match rightmost_untrusted(forwarded_for(h), trusted_proxies) {
                Original::Address(ip) => Some(ip),
                Original::Unknown | Original::Absent => None,
            };
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
    use crate::proxy::http::header_map as map;

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
    fn the_same_headers_spelt_with_underscores_go_too() {
        for trusted in [false, true] {
            let mut h = map(&[
                ("x_auth_request_user", "admin"),
                ("x-auth-request_email", "admin@a.test"),
                ("x_forwarded_for", "1.2.3.4"),
                ("x_real_ip", "1.2.3.4"),
                ("x_custom", "kept"),
            ]);
            let proxies: Vec<IpNet> = match trusted {
                true => vec!["203.0.113.0/24".parse().unwrap()],
                false => vec![],
            };
            forward(&mut h, &client("203.0.113.9"), &proxies);
            for gone in [
                "x_auth_request_user",
                "x-auth-request_email",
                "x_forwarded_for",
                "x_real_ip",
            ] {
                assert!(!h.contains_key(gone), "{gone} (trusted: {trusted})");
            }
            assert_eq!(h["x_custom"], "kept");
        }
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

/// Property tests of the forwarding headers: whatever a client sends, the
/// written block is valid header syntax with exactly its five lines,
/// `X-Forwarded-For` ends with the peer, `Forwarded` has exactly its
/// three parameters, and an untrusted peer's own forwarding headers never
/// survive.
#[cfg(test)]
mod properties {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// The lines the block holds, in order.
    const WRITTEN: [&str; 5] = [
        "x-real-ip",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "forwarded",
    ];

    fn peer() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            Just(IpAddr::from([10, 0, 0, 2])),
            any::<[u16; 8]>().prop_map(IpAddr::from),
            any::<[u8; 4]>().prop_map(|o| IpAddr::V6(Ipv4Addr::from(o).to_ipv6_mapped())),
            Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ]
    }

    /// Names a client might send, forwarding ones above all.
    const NAMES: &[&str] = &[
        "x-forwarded-for",
        "X-Forwarded-For",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-real-ip",
        "forwarded",
        "x-auth-request-user",
        "x-auth-request-email",
        "accept",
        "x-other",
    ];

    /// A header value as a client can send one (visible ASCII, spaces,
    /// tabs, obs-text), with the troublesome ones often.
    fn value() -> impl Strategy<Value = HeaderValue> {
        let byte = prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff];
        prop_oneof![
            3 => vec(byte, 0..24).prop_map(|v| HeaderValue::from_bytes(&v).unwrap()),
            1 => prop::sample::select(&[
                "1.2.3.4", "198.51.100.7, 10.0.0.5", "::1", "https", "http", "a.test",
                "A.Test:8443", "[::1]\";for=6.6.6.6", "[::1]:443", "a.test\";for=6.6.6.6",
                "a.test\r", "for=1.2.3.4;proto=http", "\"", "[", "[x]y",
            ][..]).prop_filter_map("a valid value", |v| HeaderValue::from_str(v).ok()),
        ]
    }

    /// An `X-Forwarded-Host` a trusted proxy might pass on, or a forger
    /// try: host-like text, brackets and quoted-string breakers.
    fn forwarded_host() -> impl Strategy<Value = HeaderValue> {
        let text = |max| {
            vec(prop::sample::select(&b"a.Z09:-_[]\";=, /"[..]), 0..max)
                .prop_map(|v| String::from_utf8(v).unwrap())
        };
        prop_oneof![
            text(16),
            (text(8), text(10)).prop_map(|(a, b)| format!("[{a}]{b}")),
        ]
        .prop_map(|v| HeaderValue::from_str(&v).unwrap())
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,2}",
            Just("::1".to_string())
        ]
    }

    /// Is `ip` (unmapped from IPv6) in one of `nets`?
    fn is_trusted(ip: IpAddr, nets: &[IpNet]) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        nets.iter().any(|n| n.contains(&ip))
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(256))]

        #[test]
        fn the_forwarding_block_is_valid_and_cannot_be_forged(
            peer in peer(),
            trust_peer in any::<bool>(),
            host in host(),
            https in any::<bool>(),
            forwarded_host in prop::option::of(forwarded_host()),
            sent in vec((prop::sample::select(NAMES), value()), 0..8),
        ) {
            let mut trusted: Vec<IpNet> =
                vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
            if trust_peer {
                trusted.push(IpNet::from(peer));
            }
            let from_trusted = is_trusted(peer, &trusted);
            let proto = if https { "https" } else { "http" };
            let client = Client { peer, proto, host: &host };
            let mut h = HeaderMap::new();
            if let Some(value) = forwarded_host {
                h.insert(X_FORWARDED_HOST, value);
            }
            for (name, value) in &sent {
                h.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.clone());
            }

            let forwarding = Forwarding::take(&mut h, &client, &trusted);
            let mut block = Vec::new();
            forwarding.write(&mut block);
            prop_assert!(block.len() <= forwarding.len());

            // The block inside a whole request head parses, to its end.
            let mut head = b"GET / HTTP/1.1\r\n".to_vec();
            for (name, value) in &h {
                head.extend_from_slice(format!("{name}: ").as_bytes());
                head.extend_from_slice(value.as_bytes());
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(&block);
            head.extend_from_slice(b"\r\n");
            let mut slots = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut slots);
            prop_assert_eq!(req.parse(&head), Ok(httparse::Status::Complete(head.len())));

            // Exactly five lines, no CR or LF inside any of them.
            let text = std::str::from_utf8(&block).unwrap();
            let lines: Vec<(&str, &str)> = text
                .strip_suffix("\r\n")
                .unwrap()
                .split("\r\n")
                .map(|l| l.split_once(": ").unwrap())
                .collect();
            let names: Vec<&str> = lines.iter().map(|l| l.0).collect();
            prop_assert_eq!(names, WRITTEN);
            for (_, value) in &lines {
                prop_assert!(!value.contains(['\r', '\n']));
            }
            let [real, xff, xfp, xfh, fwd] = [0, 1, 2, 3, 4].map(|i| lines[i].1);

            let peer_text = peer.to_string();
            prop_assert!(xff == peer_text || xff.ends_with(&format!(", {peer_text}")), "{xff}");
            prop_assert!(xfp == "http" || xfp == "https");
            // The forwarded host is a quoted-string that nothing escapes.
            prop_assert!(!xfh.contains(['"', '\\']), "{xfh:?}");
            let node = match peer.is_ipv6() {
                true => format!("\"[{peer_text}]\""),
                false => peer_text.clone(),
            };
            prop_assert_eq!(fwd, format!("for={node};proto={xfp};host=\"{xfh}\""));

            // The client's identity headers never pass; nor, from an
            // untrusted peer, anything of its forwarding.
            for name in h.keys() {
                let name = name.as_str();
                prop_assert!(!name.starts_with("x-auth-request-"), "{name}");
                prop_assert!(!WRITTEN.contains(&name), "{name}");
                prop_assert!(from_trusted || !name.starts_with("x-forwarded-"), "{name}");
            }
            if !from_trusted {
                prop_assert_eq!(real, &peer_text);
                prop_assert_eq!(xff, &peer_text);
                prop_assert_eq!(xfp, proto);
                prop_assert_eq!(xfh, &host);
            }
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_entry_with_or_without_a_port() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let with = |xff: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(X_FORWARDED_FOR, HeaderValue::from_bytes(xff).unwrap());
            client_ip(peer, &h, &trusted)
        };
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(with(b"203.0.113.9"), ip("203.0.113.9"));
        // A forged entry on the left does not count; ports are read.
        assert_eq!(with(b"10.1.2.3, 203.0.113.9:5123"), ip("203.0.113.9"));
        assert_eq!(with(b"[2001:db8::1]:443, 10.0.0.7"), ip("2001:db8::1"));
        assert_eq!(with(b"2001:db8::2"), ip("2001:db8::2"));
        assert_eq!(with(b"::ffff:192.0.2.1"), ip("192.0.2.1"));
        // Something else in that place: unknown, never the proxy itself.
        assert_eq!(with(b"unknown"), None);
        assert_eq!(with(b"\x80, 203.0.113.9"), ip("203.0.113.9"));
        assert_eq!(with(b"203.0.113.9, \x80"), None);
        // Only trusted proxies, or no header: the peer.
        assert_eq!(with(b"10.9.9.9"), Some(peer));
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), Some(peer));
        // From an untrusted peer the header means nothing.
        let untrusted: IpAddr = "198.51.100.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("203.0.113.9"));
        assert_eq!(client_ip(untrusted, &h, &trusted), Some(untrusted));
    }
}
