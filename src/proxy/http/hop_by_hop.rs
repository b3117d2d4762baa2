//! Hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy: the fixed
//! list and whatever `Connection` names, except what an Upgrade needs.
//! (Response headers are filtered as they are parsed, in
//! `upstream::http1`.)

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::http::header_map as map;

    /// The map as the upstream sees it: the client's headers that are
    /// left, and the written forwarding lines.

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
    fn an_upgrade_to_h2c_is_not_tunnelled() {
        let mut h = map(&[
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
        ]);
        assert!(!wants_upgrade(&h));
        strip_hop_by_hop(&mut h, false);
        assert!(h.is_empty(), "{h:?}");
    }
}
