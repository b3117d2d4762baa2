//! The path a site with a login decides on. A route's policy and its
//! public paths are matched against the request's path, and an upstream
//! (uvicorn, nginx, most frameworks) decodes `%XX`, merges `//` and
//! resolves `..` before its own routing: `/echo/%73taff/`,
//! `/echo%2Fstaff/` or `/assets/../admin/` would pass a check made on the
//! raw text and reach what the check was meant to guard. So on such sites
//! the path is normalized first and then used for routing, for the auth
//! stage and for the upstream alike: escapes of unreserved characters
//! decoded, `//` merged; an escaped `/`, `\` or control character, a raw
//! `\`, a malformed escape, or a `.` or `..` segment refuses the request
//! (400), as there is no one reading of it.

/// What became of a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Normal {
    /// Already normal.
    Same,
    Changed(String),
    Refused,
}

/// Normalizes a request path (without its query).
pub fn normalize(path: &str) -> Normal {
    let bytes = path.as_bytes();
    // Most paths have nothing to decode, merge or refuse but for their
    // dot segments: no copy for them (this runs for every request of a
    // site with a login).
    if !bytes.iter().any(|b| matches!(b, b'%' | b'\\')) && !path.contains("//") {
        return match path.split('/').any(|seg| seg == "." || seg == "..") {
            true => Normal::Refused,
            false => Normal::Same,
        };
    }
    let mut out: Vec<u8> = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => return Normal::Refused,
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Normal::Refused;
                };
                let v = (hi * 16 + lo) as u8;
                if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                    out.push(v);
                } else if v == b'/' || v == b'\\' || v < 0x20 || v == 0x7f {
                    return Normal::Refused;
                } else {
                    out.extend_from_slice(&bytes[i..i + 3]);
                }
                i += 3;
                continue;
            }
            b'/' if out.last() == Some(&b'/') => {}
            // Other bytes as they are (UTF-8 included).
            _ => out.push(b),
        }
        i += 1;
    }
    let Ok(out) = String::from_utf8(out) else {
        return Normal::Refused;
    };
    if out.split('/').any(|seg| seg == "." || seg == "..") {
        return Normal::Refused;
    }
    if out == path {
        Normal::Same
    } else {
        Normal::Changed(out)
    }
}

/// Puts `path` (normalized) in the request's URI, its query kept.
pub fn set<B>(req: &mut http::Request<B>, path: &str) {
    let mut parts = req.uri().clone().into_parts();
    let target = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    if let Ok(pq) = http::uri::PathAndQuery::try_from(target) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_an_upstream_would_read_otherwise_is_normalized_or_refused() {
        assert_eq!(normalize("/echo/staff/x"), Normal::Same);
        assert_eq!(normalize("/a%20b"), Normal::Same);
        assert_eq!(
            normalize("/echo/%73taff/x"),
            Normal::Changed("/echo/staff/x".into())
        );
        assert_eq!(
            normalize("//echo//staff/"),
            Normal::Changed("/echo/staff/".into())
        );
        for refused in [
            "/echo%2Fstaff/x",
            "/echo/staff%2fx",
            "/a%5Cb",
            "/a\\b",
            "/a%00",
            "/a%0a",
            "/assets/../admin/",
            "/assets/%2e%2e/admin/",
            "/assets/.%2E/admin",
            "/./a",
            "/a/.",
            "/a%",
            "/a%zz",
            "/a%4",
        ] {
            assert_eq!(normalize(refused), Normal::Refused, "{refused}");
        }
        assert_eq!(normalize("/a..b/.c/..."), Normal::Same, "dots inside names");
        assert_eq!(
            normalize("/caf\u{e9}/x"),
            Normal::Same,
            "UTF-8 stays as it is"
        );
        assert_eq!(
            normalize("/caf\u{e9}//%78"),
            Normal::Changed("/caf\u{e9}/x".into())
        );
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(512))]

        /// A normalized path is a fixed point, has no empty, `.` or `..`
        /// segment inside, and no escape an upstream would decode into
        /// something that changes its routing.
        #[test]
        fn normal_paths_are_fixed_points(path in "/[a-zA-Z0-9/%._~\u{e9}\u{4e2d}-]{0,30}") {
            let normal = match normalize(&path) {
                Normal::Same => path.clone(),
                Normal::Changed(p) => p,
                Normal::Refused => return Ok(()),
            };
            prop_assert_eq!(normalize(&normal), Normal::Same);
            prop_assert!(!normal.contains("//"));
            prop_assert!(!normal.split('/').any(|s| s == "." || s == ".."));
            let decoded = percent_encoding::percent_decode_str(&normal).decode_utf8_lossy();
            prop_assert!(!decoded.contains("//"), "{}", decoded);
            prop_assert!(!decoded.split('/').any(|s| s == "." || s == ".."), "{}", decoded);
        }
    }
}
