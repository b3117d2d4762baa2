//! Which site and route a request is for. Pure: host names and paths in,
//! indices out.

use std::borrow::Cow;
// Names are looked up on every request: foldhash (seeded per process).
use foldhash::HashMap;

/// The one host a request names: the absolute-form target's or HTTP/2's
/// `:authority` when there is one, else the `Host` header; port dropped,
/// ASCII lowercase, trailing dot removed. `None` (answered 400) when
/// absent or malformed, and when a `Host` header names another host than
/// the authority (RFC 9113 §8.3.1; RFC 9112 §3.2.2 lets a server ignore it,
/// but the upstream would then read one name while routing used the
/// other). Two `Host` headers are the caller's to refuse (RFC 9112 §3.2).
pub fn request_host<'a>(
    authority: Option<&'a str>,
    host_header: Option<&'a [u8]>,
) -> Option<Cow<'a, str>> {
    let header = host_header.map(std::str::from_utf8);
    let Some(authority) = authority else {
        return normalize_host(header?.ok()?);
    };
    let host = normalize_host(authority)?;
    match header {
        None => Some(host),
        Some(Ok(named)) if normalize_host(named).as_deref() == Some(&*host) => Some(host),
        Some(_) => None,
    }
}

/// Whether a request is a load balancer's health check, to be served as
/// a request to the configured site: plain HTTP, GET or HEAD, exactly the
/// path, and a host that names no site (an instance's address).
pub fn is_health_check(
    check_path: &str,
    tls: bool,
    method: &http::Method,
    path: &str,
    host_is_a_site: bool,
) -> bool {
    !tls && (*method == http::Method::GET || *method == http::Method::HEAD)
        && path == check_path
        && !host_is_a_site
}

/// Borrowed when already canonical (the usual case), so most requests
/// allocate nothing for it.
pub fn normalize_host(raw: &str) -> Option<Cow<'_, str>> {
    let raw = raw.trim();
    let digits = |port: &str| port.bytes().all(|b| b.is_ascii_digit());
    let (host, literal) = if let Some(v6) = raw.strip_prefix('[') {
        // [::1]:443 — keep the brackets off, the name is the address.
        // Nothing but a port may follow: `[::1]";for=…` is no host.
        let (address, after) = v6.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(digits)) {
            return None;
        }
        (address, true)
    } else {
        match raw.rsplit_once(':') {
            Some((h, port)) if digits(port) => (h, false),
            Some(_) => return None,
            None => (raw, false),
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    // A colon belongs in an IP literal only (`a:b:80` is not a name).
    if host.is_empty()
        || !host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || (literal && b == b':')
        })
    {
        return None;
    }
    Some(if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    })
}

/// Site names to site indices; `*.example.com` matches one extra label.
/// A refused name (its site is not served) matches nothing, and keeps a
/// wildcard of another site from answering for it.
#[derive(Debug, Default)]
pub struct Names {
    exact: HashMap<String, Option<usize>>,
    wildcard: HashMap<String, Option<usize>>,
}

impl Names {
    pub fn insert(&mut self, name: &str, site: usize) {
        self.set(name, Some(site));
    }

    /// `name` answers to no site, not even through a wildcard.
    pub fn refuse(&mut self, name: &str) {
        self.set(name, None);
    }

    fn set(&mut self, name: &str, site: Option<usize>) {
        match name.strip_prefix("*.") {
            Some(parent) => self.wildcard.insert(parent.to_string(), site),
            None => self.exact.insert(name.to_string(), site),
        };
    }

    pub fn lookup(&self, host: &str) -> Option<usize> {
        if let Some(&site) = self.exact.get(host) {
            return site;
        }
        let (_, parent) = host.split_once('.')?;
        self.wildcard.get(parent).copied().flatten()
    }
}

/// The route whose prefix is the longest match for `path`. `prefixes`
/// must be sorted longest first. A prefix matches when the path starts
/// with it; `/static/` also matches `/static` itself, so the directory
/// redirect can happen.
pub fn longest_prefix<'a, I>(prefixes: I, path: &str) -> Option<usize>
where
    I: IntoIterator<Item = &'a str>,
{
    prefixes.into_iter().position(|prefix| {
        path.starts_with(prefix)
            || (prefix.len() > 1 && prefix.ends_with('/') && path == &prefix[..prefix.len() - 1])
    })
}

/// Where an HTTP request for a TLS site is sent: the same host and path
/// on HTTPS (the port only when it is not 443).
/// `http://host[:port]/path?query` for the plain-HTTP listener's port.
pub fn http_location(host: &str, http_port: u16, path_and_query: &str) -> String {
    location("http", host, http_port, 80, path_and_query)
}

pub fn https_location(host: &str, https_port: u16, path_and_query: &str) -> String {
    location("https", host, https_port, 443, path_and_query)
}

/// `scheme://host[:port]target`, the port left out when it is the
/// scheme's own; IPv6 literals in brackets.
fn location(scheme: &str, host: &str, port: u16, default: u16, target: &str) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    if port == default {
        format!("{scheme}://{host}{target}")
    } else {
        format!("{scheme}://{host}:{port}{target}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(
            normalize_host("Example.COM:8443").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            normalize_host("example.com.").as_deref(),
            Some("example.com")
        );
        assert_eq!(normalize_host("[::1]:443").as_deref(), Some("::1"));
        assert_eq!(normalize_host("a b"), None);
        assert_eq!(normalize_host("evil.com/x"), None);
        assert_eq!(normalize_host("a:b"), None);
        assert_eq!(normalize_host(""), None);
        assert_eq!(normalize_host("[::1]\";for=6.6.6.6"), None);
        assert_eq!(normalize_host("[::1]x"), None);
        assert_eq!(normalize_host("[::1]:"), Some("::1".into()));
        assert_eq!(normalize_host("a:b:80"), None);
        assert_eq!(normalize_host("::1"), None);
        assert_eq!(
            request_host(Some("h2.test"), None).as_deref(),
            Some("h2.test")
        );
        // An authority and a Host header must agree (port and case aside).
        assert_eq!(request_host(Some("h2.test"), Some(b"other.test")), None);
        assert_eq!(request_host(Some("h2.test"), Some(b"bad host")), None);
        assert_eq!(
            request_host(Some("h2.test:8443"), Some(b"H2.test")).as_deref(),
            Some("h2.test")
        );
        assert_eq!(
            request_host(None, Some(b"a.test")).as_deref(),
            Some("a.test")
        );
        assert_eq!(request_host(None, None), None);
    }

    #[test]
    fn exact_names_win_over_wildcards_and_wildcards_match_one_label() {
        let mut n = Names::default();
        n.insert("*.example.com", 0);
        n.insert("www.example.com", 1);
        assert_eq!(n.lookup("www.example.com"), Some(1));
        assert_eq!(n.lookup("api.example.com"), Some(0));
        assert_eq!(n.lookup("a.b.example.com"), None);
        assert_eq!(n.lookup("example.com"), None);
    }

    #[test]
    fn a_refused_name_matches_nothing_not_even_a_wildcard() {
        let mut n = Names::default();
        n.insert("*.example.com", 0);
        n.refuse("shop.example.com");
        n.refuse("*.other.test");
        n.insert("a.other.test", 1);
        assert_eq!(n.lookup("shop.example.com"), None);
        assert_eq!(n.lookup("www.example.com"), Some(0));
        assert_eq!(n.lookup("x.other.test"), None);
        assert_eq!(n.lookup("a.other.test"), Some(1));
    }

    #[test]
    fn longest_prefix_wins() {
        let prefixes = ["/static/img/", "/static/", "/"];
        assert_eq!(longest_prefix(prefixes, "/static/img/a.png"), Some(0));
        assert_eq!(longest_prefix(prefixes, "/static/a.css"), Some(1));
        assert_eq!(longest_prefix(prefixes, "/static"), Some(1));
        assert_eq!(longest_prefix(prefixes, "/staticky"), Some(2));
        assert_eq!(longest_prefix(["/api/"], "/other"), None);
    }

    #[test]
    fn https_location_keeps_path_and_query() {
        assert_eq!(
            https_location("a.test", 443, "/x?y=1"),
            "https://a.test/x?y=1"
        );
        assert_eq!(https_location("a.test", 8443, "/"), "https://a.test:8443/");
    }
}

/// Property tests of `normalize_host`: no string panics it, and it agrees
/// with a reference written from RFC 9110 §7.2's `uri-host [ ":" port ]`.
#[cfg(test)]
mod properties {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// `Host = uri-host [ ":" port ]` with the names webtier serves:
    /// around it optional whitespace; the host either an IP literal in
    /// brackets (its text kept, without them) or a name of letters,
    /// digits, `-`, `.` and `_`; the port any digits. One trailing dot
    /// goes; letters are lowercased.
    fn reference(raw: &str) -> Option<String> {
        let raw = raw.trim();
        let name_char = |c: char| c.is_ascii_alphanumeric() || "-._".contains(c);
        let port_ok = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        let host = if let Some(rest) = raw.strip_prefix('[') {
            let close = rest.find(']')?;
            let (inside, after) = (&rest[..close], &rest[close + 1..]);
            match after.strip_prefix(':') {
                Some(port) if port_ok(port) => {}
                None if after.is_empty() => {}
                _ => return None,
            }
            let inside = inside.strip_suffix('.').unwrap_or(inside);
            if !inside.chars().all(|c| name_char(c) || c == ':') {
                return None;
            }
            inside
        } else {
            let host = match raw.find(':') {
                Some(colon) if port_ok(&raw[colon + 1..]) => &raw[..colon],
                Some(_) => return None,
                None => raw,
            };
            let host = host.strip_suffix('.').unwrap_or(host);
            if !host.chars().all(name_char) {
                return None;
            }
            host
        };
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    }

    fn host_char() -> impl Strategy<Value = char> {
        prop_oneof![
            8 => prop::sample::select("aZ09.-_:[] \t\";/@".chars().collect::<Vec<_>>()),
            1 => any::<char>(),
        ]
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(1000))]

        #[test]
        fn hosts_agree_with_the_reference(raw in prop_oneof![
            any::<String>(),
            vec(host_char(), 0..16).prop_map(String::from_iter),
            (vec(host_char(), 0..8), vec(host_char(), 0..8))
                .prop_map(|(a, b)| format!("[{}]{}", String::from_iter(a), String::from_iter(b))),
        ]) {
            let (ours, want) = (normalize_host(&raw), reference(&raw));
            prop_assert_eq!(ours.as_deref(), want.as_deref(), "{:?}", raw);
            if let Some(host) = ours {
                let canonical =
                    |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._:".contains(&b);
                prop_assert!(host.bytes().all(canonical), "{:?}", host);
            }
        }
    }
}
