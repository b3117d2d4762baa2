//! RFC 9111's rules for a shared cache, as pure functions of headers and
//! times: which responses may be stored, for how long they are fresh, how
//! old they are, and how long they may be served stale (RFC 5861's
//! `stale-while-revalidate` and `stale-if-error`).

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

/// Durations are held to this many seconds (68 years; RFC 9111 §1.2.2
/// has caches read larger values as 2^31), so that no arithmetic on them
/// overflows.
pub const MAX_SECONDS: u64 = 1 << 31;

/// The `Cache-Control` directives the cache acts on. A qualified
/// `private="…"` or `no-cache="…"` counts as the unqualified one: the
/// whole response is kept private or revalidated, never a part stripped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Directives {
    pub no_store: bool,
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    pub must_revalidate: bool,
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    pub stale_while_revalidate: Option<u64>,
    pub stale_if_error: Option<u64>,
}

impl Directives {
    /// Every `Cache-Control` line of `headers`; a directive named twice
    /// keeps its first value, a malformed value is no directive (except
    /// that a malformed `max-age` or `s-maxage` makes the response stale,
    /// RFC 9111 §4.2.1).
    pub fn of(headers: &HeaderMap) -> Directives {
        let mut d = Directives::default();
        for line in headers.get_all(header::CACHE_CONTROL) {
            let Ok(line) = line.to_str() else { continue };
            for item in split_directives(line) {
                let (name, value) = match item.split_once('=') {
                    Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                    None => (item.trim(), None),
                };
                let seconds = || value.map(|v| v.parse::<u64>().unwrap_or(0).min(MAX_SECONDS));
                match name.to_ascii_lowercase().as_str() {
                    "no-store" => d.no_store = true,
                    "no-cache" => d.no_cache = true,
                    "private" => d.private = true,
                    "public" => d.public = true,
                    "must-revalidate" | "proxy-revalidate" => d.must_revalidate = true,
                    "max-age" if d.max_age.is_none() => d.max_age = Some(seconds().unwrap_or(0)),
                    "s-maxage" if d.s_maxage.is_none() => d.s_maxage = Some(seconds().unwrap_or(0)),
                    "stale-while-revalidate" if d.stale_while_revalidate.is_none() => {
                        d.stale_while_revalidate = value
                            .and_then(|v| v.parse::<u64>().ok())
                            .map(|v| v.min(MAX_SECONDS))
                    }
                    "stale-if-error" if d.stale_if_error.is_none() => {
                        d.stale_if_error = value
                            .and_then(|v| v.parse::<u64>().ok())
                            .map(|v| v.min(MAX_SECONDS))
                    }
                    _ => {}
                }
            }
        }
        d
    }
}

/// The comma-separated items of a `Cache-Control` line, commas inside a
/// quoted string kept (`private="a, b"`).
fn split_directives(line: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut start = 0;
    let bytes = line.as_bytes();
    let mut items = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                items.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&line[start..]);
    items.into_iter().filter(|i| !i.trim().is_empty())
}

/// Statuses a cache may store without explicit freshness (RFC 9110
/// §15.1, "heuristically cacheable").
fn heuristic_status(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Why a response is not stored, or that it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storable {
    Yes,
    No(&'static str),
}

/// What the route's configuration lets the cache do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Freshness for a response that states none, in seconds.
    pub default_ttl: u64,
    /// Responses with `Set-Cookie` are stored without it.
    pub strip_set_cookie: bool,
}

/// Whether a response to a GET may be stored by a shared cache
/// (RFC 9111 §3), `authorized` telling whether the request carried
/// credentials.
pub fn storable(
    method: &Method,
    authorized: bool,
    request: &Directives,
    status: StatusCode,
    headers: &HeaderMap,
    response: &Directives,
    rules: Rules,
) -> Storable {
    if method != Method::GET {
        return Storable::No("not a GET");
    }
    if request.no_store || response.no_store {
        return Storable::No("no-store");
    }
    if response.private {
        return Storable::No("private");
    }
    if authorized && !(response.public || response.s_maxage.is_some() || response.must_revalidate) {
        // RFC 9111 §3.5.
        return Storable::No("a response to credentials");
    }
    if headers.contains_key(header::SET_COOKIE) && !rules.strip_set_cookie {
        return Storable::No("Set-Cookie");
    }
    let Some(varies) = vary_names(headers) else {
        return Storable::No("Vary: *");
    };
    if varies.iter().any(|n| set_by_the_proxy(n.as_str())) {
        // The key would hold the client's value, the upstream saw the
        // proxy's: one client's answer would reach the others.
        return Storable::No("Vary names a header the proxy sets");
    }
    let explicit = response.s_maxage.is_some()
        || response.max_age.is_some()
        || headers.contains_key(header::EXPIRES);
    let validators =
        headers.contains_key(header::ETAG) || headers.contains_key(header::LAST_MODIFIED);
    let understood = heuristic_status(status) || matches!(status.as_u16(), 302 | 307);
    if !understood {
        return Storable::No("status");
    }
    if response.no_cache {
        // Stored only to be revalidated every time: worth it with a
        // validator.
        return if validators {
            Storable::Yes
        } else {
            Storable::No("no-cache without a validator")
        };
    }
    if explicit || (rules.default_ttl > 0 && heuristic_status(status)) {
        Storable::Yes
    } else {
        Storable::No("no freshness")
    }
}

/// Headers the proxy replaces before the upstream sees them (forwarding,
/// a login's identity).
fn set_by_the_proxy(name: &str) -> bool {
    matches!(name, "forwarded" | "x-real-ip")
        || name.starts_with("x-forwarded-")
        || name.starts_with("x-auth-request-")
}

/// The header names a response varies by (lower-case); None for
/// `Vary: *`, which no request can match.
pub fn vary_names(headers: &HeaderMap) -> Option<Vec<http::HeaderName>> {
    let mut names = Vec::new();
    for line in headers.get_all(header::VARY) {
        let Ok(line) = line.to_str() else { return None };
        for name in line.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return None;
            }
            let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else {
                return None;
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Some(names)
}

/// How long a stored response is fresh, in seconds (RFC 9111 §4.2.1).
pub fn freshness(headers: &HeaderMap, d: &Directives, default_ttl: u64) -> u64 {
    if d.no_cache {
        return 0;
    }
    if let Some(s) = d.s_maxage.or(d.max_age) {
        return s;
    }
    if let Some(expires) = headers.get(header::EXPIRES) {
        // An Expires that does not parse ("0") is in the past.
        let Some(expires) = http_date(expires) else {
            return 0;
        };
        let date = headers.get(header::DATE).and_then(http_date);
        let from = date.unwrap_or_else(std::time::SystemTime::now);
        return (expires.duration_since(from)).map_or(0, |d| d.as_secs().min(MAX_SECONDS));
    }
    default_ttl.min(MAX_SECONDS)
}

/// The age of a response as it arrived, in seconds (RFC 9111 §4.2.3):
/// the larger of what its `Date` says (less the second its granularity
/// may add) and its `Age` plus the time the exchange took.
pub fn initial_age(headers: &HeaderMap, requested: u64, received: u64) -> u64 {
    let age_value = headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .min(MAX_SECONDS);
    let apparent = headers
        .get(header::DATE)
        .and_then(http_date)
        .and_then(|date| {
            let received = std::time::UNIX_EPOCH + std::time::Duration::from_secs(received);
            received.duration_since(date).ok()
        })
        .map_or(0, |d| d.as_secs().min(MAX_SECONDS))
        // `Date` has whole seconds: a response made in the second before
        // it arrived is not a second old.
        .saturating_sub(1);
    apparent.max(age_value + received.saturating_sub(requested))
}

fn http_date(value: &HeaderValue) -> Option<std::time::SystemTime> {
    httpdate::parse_http_date(value.to_str().ok()?).ok()
}

/// Whether the request carries a validator that matches the stored
/// response: `If-None-Match` (weak comparison), else
/// `If-Modified-Since` against its `Last-Modified`.
pub fn not_modified(request: &HeaderMap, stored: &HeaderMap) -> bool {
    if let Some(inm) = request.get(header::IF_NONE_MATCH) {
        let Some(etag) = stored.get(header::ETAG).and_then(|e| e.to_str().ok()) else {
            return false;
        };
        let Ok(inm) = inm.to_str() else { return false };
        let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
        return inm.trim() == "*" || inm.split(',').any(|t| opaque(t) == opaque(etag));
    }
    match (
        request.get(header::IF_MODIFIED_SINCE).and_then(http_date),
        stored.get(header::LAST_MODIFIED).and_then(http_date),
    ) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn cc(v: &str) -> Directives {
        Directives::of(&headers(&[("cache-control", v)]))
    }

    #[test]
    fn directives_are_read_without_case_across_lines_with_quoted_commas() {
        let d = Directives::of(&headers(&[
            ("cache-control", "Public, MAX-AGE=60"),
            (
                "cache-control",
                "private=\"set-cookie, x\", s-maxage=\"30\"",
            ),
        ]));
        assert!(d.public && d.private);
        assert_eq!(d.max_age, Some(60));
        assert_eq!(d.s_maxage, Some(30));
        assert_eq!(cc("max-age=abc").max_age, Some(0));
        assert_eq!(cc("max-age=5, max-age=100").max_age, Some(5));
        assert_eq!(
            cc("max-age=18446744073709551615").max_age,
            Some(MAX_SECONDS)
        );
        assert_eq!(cc("s-maxage=99999999999999999999").s_maxage, Some(0));
        let huge = cc("stale-if-error=18446744073709551615");
        assert_eq!(huge.stale_if_error, Some(MAX_SECONDS));
        assert_eq!(
            cc("stale-while-revalidate=30, stale-if-error=600").stale_if_error,
            Some(600)
        );
        assert!(cc("proxy-revalidate").must_revalidate);
        assert_eq!(cc(""), Directives::default());
    }

    fn store(req: &[(&str, &str)], status: u16, resp: &[(&str, &str)], rules: Rules) -> Storable {
        let req = headers(req);
        let resp = headers(resp);
        storable(
            &Method::GET,
            req.contains_key(header::AUTHORIZATION),
            &Directives::of(&req),
            StatusCode::from_u16(status).unwrap(),
            &resp,
            &Directives::of(&resp),
            rules,
        )
    }

    #[test]
    fn only_what_a_shared_cache_may_keep_is_stored() {
        let r = Rules::default();
        let fresh = [("cache-control", "max-age=60")];
        assert_eq!(store(&[], 200, &fresh, r), Storable::Yes);
        assert_eq!(
            store(&[], 200, &[("cache-control", "private, max-age=60")], r),
            Storable::No("private")
        );
        assert_eq!(
            store(&[], 200, &[("cache-control", "no-store, max-age=60")], r),
            Storable::No("no-store")
        );
        assert_eq!(
            store(&[("cache-control", "no-store")], 200, &fresh, r),
            Storable::No("no-store")
        );
        assert_eq!(
            store(
                &[],
                200,
                &[("cache-control", "max-age=60"), ("set-cookie", "a=b")],
                r
            ),
            Storable::No("Set-Cookie")
        );
        let strip = Rules {
            strip_set_cookie: true,
            ..r
        };
        assert_eq!(
            store(
                &[],
                200,
                &[("cache-control", "max-age=60"), ("set-cookie", "a=b")],
                strip
            ),
            Storable::Yes
        );
        assert_eq!(
            store(
                &[],
                200,
                &[("cache-control", "max-age=60"), ("vary", "a, *")],
                r
            ),
            Storable::No("Vary: *")
        );
        for name in [
            "X-Real-IP",
            "x-forwarded-for",
            "Forwarded",
            "X-Auth-Request-Email",
        ] {
            assert_eq!(
                store(
                    &[],
                    200,
                    &[("cache-control", "public, max-age=60"), ("vary", name)],
                    r
                ),
                Storable::No("Vary names a header the proxy sets"),
                "{name}"
            );
        }
        assert_eq!(store(&[], 200, &[], r), Storable::No("no freshness"));
        assert_eq!(
            store(
                &[],
                200,
                &[],
                Rules {
                    default_ttl: 5,
                    ..r
                }
            ),
            Storable::Yes
        );
        // A default ttl does not make a 302 cacheable; explicit freshness does.
        assert_eq!(
            store(
                &[],
                302,
                &[],
                Rules {
                    default_ttl: 5,
                    ..r
                }
            ),
            Storable::No("no freshness")
        );
        assert_eq!(store(&[], 302, &fresh, r), Storable::Yes);
        assert_eq!(store(&[], 500, &fresh, r), Storable::No("status"));
        assert_eq!(store(&[], 206, &fresh, r), Storable::No("status"));
        // Credentials: only what says it may be shared.
        let auth = [("authorization", "Bearer x")];
        assert_eq!(
            store(&auth, 200, &fresh, r),
            Storable::No("a response to credentials")
        );
        assert_eq!(
            store(&auth, 200, &[("cache-control", "public, max-age=60")], r),
            Storable::Yes
        );
        assert_eq!(
            store(&auth, 200, &[("cache-control", "s-maxage=60")], r),
            Storable::Yes
        );
        // no-cache: kept to revalidate, when there is something to do it with.
        assert_eq!(
            store(&[], 200, &[("cache-control", "no-cache")], r),
            Storable::No("no-cache without a validator")
        );
        assert_eq!(
            store(
                &[],
                200,
                &[("cache-control", "no-cache"), ("etag", "\"a\"")],
                r
            ),
            Storable::Yes
        );
    }

    #[test]
    fn freshness_prefers_s_maxage_then_max_age_then_expires() {
        let h = headers(&[("cache-control", "max-age=10, s-maxage=20")]);
        assert_eq!(freshness(&h, &Directives::of(&h), 0), 20);
        let h = headers(&[
            ("date", "Sat, 05 Dec 2026 10:00:00 GMT"),
            ("expires", "Sat, 05 Dec 2026 10:01:40 GMT"),
        ]);
        assert_eq!(freshness(&h, &Directives::of(&h), 0), 100);
        let h = headers(&[("expires", "0")]);
        assert_eq!(freshness(&h, &Directives::of(&h), 50), 0);
        let h = headers(&[("cache-control", "no-cache, max-age=60")]);
        assert_eq!(freshness(&h, &Directives::of(&h), 0), 0);
        assert_eq!(freshness(&HeaderMap::new(), &Directives::default(), 7), 7);
    }

    #[test]
    fn age_is_the_larger_of_date_and_age_plus_the_exchange() {
        let at = 1_796_464_800; // Sat, 05 Dec 2026 10:00:00 GMT
        let h = headers(&[("date", "Sat, 05 Dec 2026 09:59:50 GMT")]);
        assert_eq!(initial_age(&h, at - 1, at), 9);
        let h = headers(&[("date", "Sat, 05 Dec 2026 09:59:59 GMT")]);
        assert_eq!(initial_age(&h, at, at), 0);
        let h = headers(&[("age", "30"), ("date", "Sat, 05 Dec 2026 09:59:50 GMT")]);
        assert_eq!(initial_age(&h, at - 2, at), 32);
        assert_eq!(initial_age(&HeaderMap::new(), at, at), 0);
    }

    #[test]
    fn validators_match_weakly_or_by_date() {
        let stored = headers(&[
            ("etag", "\"v1\""),
            ("last-modified", "Sat, 05 Dec 2026 10:00:00 GMT"),
        ]);
        assert!(not_modified(
            &headers(&[("if-none-match", "W/\"v1\"")]),
            &stored
        ));
        assert!(not_modified(
            &headers(&[("if-none-match", "\"v0\", \"v1\"")]),
            &stored
        ));
        assert!(!not_modified(
            &headers(&[("if-none-match", "\"v2\"")]),
            &stored
        ));
        assert!(not_modified(
            &headers(&[("if-modified-since", "Sat, 05 Dec 2026 10:00:00 GMT")]),
            &stored
        ));
        assert!(!not_modified(
            &headers(&[("if-modified-since", "Sat, 05 Dec 2026 09:00:00 GMT")]),
            &stored
        ));
        // If-None-Match wins over If-Modified-Since.
        assert!(!not_modified(
            &headers(&[
                ("if-none-match", "\"v2\""),
                ("if-modified-since", "Sat, 05 Dec 2026 10:00:00 GMT")
            ]),
            &stored
        ));
        assert!(!not_modified(&HeaderMap::new(), &stored));
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(512))]

        #[test]
        fn any_cache_control_line_parses_without_panicking(line in "[ -~]{0,80}") {
            if let Ok(v) = HeaderValue::from_str(&line) {
                let mut h = HeaderMap::new();
                h.insert(header::CACHE_CONTROL, v);
                let d = Directives::of(&h);
                // A directive not named is never set.
                prop_assert!(!d.no_store || line.to_ascii_lowercase().contains("no-store"));
                prop_assert!(!d.private || line.to_ascii_lowercase().contains("private"));
            }
        }

        #[test]
        fn written_directives_are_read_back(max_age in 0u64..1_000_000, swr in 0u64..1000, private: bool) {
            let line = format!("{}max-age={max_age}, stale-while-revalidate=\"{swr}\"", if private { "private, " } else { "" });
            let d = cc(&line);
            prop_assert_eq!(d.max_age, Some(max_age));
            prop_assert_eq!(d.stale_while_revalidate, Some(swr));
            prop_assert_eq!(d.private, private);
        }
    }
}
