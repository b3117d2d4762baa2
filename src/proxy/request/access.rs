//! Stage 5, access control: which clients may use a site or route (by
//! network: `deny` wins, a non-empty `allow` admits only its own), and,
//! on proxied routes, paths with a dot segment (`/.git/config`, `/.env`,
//! `/.svn/`), refused with 403 unless the route allows them; `.well-known`
//! passes. Static routes refuse dotfiles themselves (`files`).
//!
//! The client is the socket peer, or from a trusted proxy the right-most
//! untrusted `X-Forwarded-For` address ([`forwarding::client_ip`]).

use std::net::IpAddr;

use crate::proxy::config::AccessConfig;
#[cfg(doc)]
use crate::proxy::http::forwarding;

/// Whether `client` may use what `access` guards. A client whose address
/// is not known (a trusted proxy named something else) is not admitted.
pub fn admits(access: &AccessConfig, client: Option<IpAddr>) -> bool {
    let Some(client) = client else {
        return false;
    };
    if access.deny.iter().any(|n| n.contains(&client)) {
        return false;
    }
    access.allow.is_empty() || access.allow.iter().any(|n| n.contains(&client))
}

/// Whether `path` (as sent, percent-encoded) has a segment that starts
/// with a dot once decoded (`.git`, `%2eenv`, `..`), other than
/// `.well-known`. Segments are split where an upstream might split them:
/// at `/`, and at `\` and encoded `%2F`/`%5C`.
pub fn hidden(path: &str) -> bool {
    segments(path).any(|s| s.starts_with('.') && s != ".well-known")
}

/// Whether `path` has a `.` or `..` segment (decoded and split as in
/// [`hidden`]): refused even where dotfiles are allowed, since an
/// upstream that resolves it would serve a path the route never saw.
pub fn dot_segment(path: &str) -> bool {
    segments(path).any(|s| s == "." || s == "..")
}

/// The decoded segments of `path`; none when it has no dot, escape or
/// backslash at all (most paths: no copy).
fn segments(path: &str) -> impl Iterator<Item = String> {
    let suspect = path.bytes().any(|b| b == b'.' || b == b'%' || b == b'\\');
    let decoded = if suspect { decode(path) } else { String::new() };
    decoded
        .split(['/', '\\'])
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

/// A path with its percent escapes decoded (bytes that are not UTF-8 are
/// kept as U+FFFD: only dots and separators matter here).
fn decode(path: &str) -> String {
    if !path.contains('%') {
        return path.to_string();
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn access(allow: &[&str], deny: &[&str]) -> AccessConfig {
        AccessConfig {
            allow: allow.iter().map(|n| n.parse().unwrap()).collect(),
            deny: deny.iter().map(|n| n.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn deny_wins_and_an_allow_list_admits_only_its_own() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = access(&["10.0.0.0/8"], &["10.1.0.0/16"]);
        assert!(admits(&a, Some(ip("10.2.3.4"))));
        assert!(!admits(&a, Some(ip("10.1.3.4"))), "deny wins");
        assert!(!admits(&a, Some(ip("192.0.2.1"))), "not in the allow list");
        let open = access(&[], &["192.0.2.0/24"]);
        assert!(admits(&open, Some(ip("198.51.100.1"))));
        assert!(!admits(&open, Some(ip("192.0.2.9"))));
        assert!(!admits(&open, None), "an unknown client is not admitted");
        let v6 = access(&["2001:db8::/32"], &[]);
        assert!(admits(&v6, Some(ip("2001:db8::1"))));
        assert!(!admits(&v6, Some(ip("2001:db9::1"))));
    }

    #[test]
    fn dot_segments_are_hidden_but_well_known() {
        for path in [
            "/.git/config",
            "/.env",
            "/app/.svn/entries",
            "/%2egit/HEAD",
            "/%2Eenv",
            "/a/../.git",
            "/a/..",
            "/.htaccess",
            "/static%2F.env",
            "/%2F.env",
            "/a\\.git\\config",
            "/a%5C.git",
        ] {
            assert!(hidden(path), "{path}");
        }
        for path in [
            "/",
            "/index.html",
            "/a.b/c.d",
            "/.well-known/security.txt",
            "/api/v1.2/x",
            "/%41bc",
        ] {
            assert!(!hidden(path), "{path}");
        }
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(512))]

        /// A segment that decodes to a leading dot is hidden wherever it
        /// is, however its dot and the separator before it are spelled; the
        /// same path without it is not.
        #[test]
        fn a_dot_segment_is_found_however_it_is_spelled(
            before in proptest::collection::vec("[a-z0-9_-]{1,8}", 0..4),
            after in proptest::collection::vec("[a-z0-9_.-]{1,8}", 0..4),
            name in "[a-z]{1,8}",
            dot in prop::sample::select(vec![".", "%2e", "%2E"]),
            separator in prop::sample::select(vec!["/", "%2F", "%2f", "\\", "%5C", "%5c"]),
        ) {
            let mut path = format!("/{}", before.join("/"));
            if !before.is_empty() {
                path.push_str(separator);
            }
            path.push_str(&format!("{dot}{name}"));
            for a in &after {
                path.push('/');
                path.push_str(a);
            }
            prop_assert!(hidden(&path), "{}", path);
            let mut plain = before;
            plain.push(name);
            let plain = format!("/{}", plain.join("/"));
            prop_assert!(!hidden(&plain), "{}", plain);
        }
    }
}
