//! The login session and the short-lived login in progress, each kept in
//! the browser as a sealed cookie (`keys`): HttpOnly, Secure,
//! SameSite=Lax, `__Host-` (this host only, path `/`). A session too large
//! for one cookie is split over several.

use http::HeaderMap;
use http::header::{self, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::proxy::auth::provider::Provider;

pub const SESSION_COOKIE: &str = "__Host-webtier-session";
pub const LOGIN_COOKIE: &str = "__Host-webtier-login-";
/// Every cookie of ours starts with this; none reaches the upstream.
pub const OURS: &str = "__Host-webtier-";
/// A login must come back within this.
pub const LOGIN_TTL_S: u64 = 600;
/// Logins in progress a browser keeps (tabs); with more, a new login
/// clears the others.
pub const LOGINS_KEPT: usize = 4;
/// Room for one cookie's value (browsers keep at least 4096 bytes a
/// cookie, name and attributes included).
const PART: usize = 3800;
/// A session is split over at most this many cookies: with more, a
/// browser's requests would near the proxy's default head limit
/// (`limits.max_header_bytes`, 16 KiB) and be refused, logout included.
const MAX_PARTS: usize = 3;

/// Who logged in, until when, and how to renew it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub sub: String,
    /// A verified email (an unverified one is not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The claims the allow-lists name, as strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<(String, Vec<String>)>,
    /// The session ends then (unix seconds), whatever the tokens say.
    pub expires: u64,
    /// When the tokens must be refreshed (the ID token's expiry), if a
    /// refresh token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// How many times it was refreshed.
    #[serde(default)]
    pub refreshes: u32,
    /// Kept only when it is forwarded upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// A login in progress, from the redirect to the provider until its
/// callback.
#[derive(Debug, Serialize, Deserialize)]
pub struct Login {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Path and query to go back to: always a path of this site.
    pub back: String,
    /// When it started (unix seconds).
    pub at: u64,
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The values of the request's cookies named `name`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    cookies(headers).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// The `name=value` pairs of the request's Cookie headers, as bytes (RFC
/// 6265 §4.2.1: separated by `;`; a browser may send a value in UTF-8, or
/// any bytes, which must not hide the pairs beside it).
fn pairs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
        .map(<[u8]>::trim_ascii)
        .filter(|pair| !pair.is_empty())
}

/// Every `name=value` pair of the request's Cookie headers whose name and
/// value are text (ours always are), the value's quotes taken off.
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    pairs(headers).filter_map(|pair| {
        let at = pair.iter().position(|b| *b == b'=')?;
        let name = std::str::from_utf8(pair[..at].trim_ascii()).ok()?;
        let value = std::str::from_utf8(pair[at + 1..].trim_ascii()).ok()?;
        Some((name, value.trim_matches('"')))
    })
}

/// The session a request carries, if it opens and has not expired.
pub fn read(provider: &Provider, headers: &HeaderMap) -> Option<Session> {
    let sealed = match cookie(headers, SESSION_COOKIE) {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => {
            let mut joined = String::new();
            for n in 1..=MAX_PARTS {
                match cookie(headers, &format!("{SESSION_COOKIE}-{n}")) {
                    Some(part) => joined.push_str(part),
                    None => break,
                }
            }
            if joined.is_empty() {
                return None;
            }
            std::borrow::Cow::Owned(joined)
        }
    };
    let plain = provider.keys.open(&provider.session_aad, &sealed)?;
    let session: Session = serde_json::from_slice(&plain).ok()?;
    (session.expires > now()).then_some(session)
}

/// A session larger than [`MAX_PARTS`] cookies hold (its sealed size).
#[derive(Debug, thiserror::Error)]
#[error(
    "the session would take {0} bytes, more than three cookies hold: the claims the allow-lists name (or the tokens kept) are too large — name a claim with fewer values"
)]
pub struct TooLarge(pub usize);

/// The Set-Cookie headers that store `session`, and clear the parts of a
/// larger one the request carried.
pub fn store(
    provider: &Provider,
    session: &Session,
    request: &HeaderMap,
) -> Result<Vec<HeaderValue>, TooLarge> {
    let plain = serde_json::to_vec(session).expect("a session serializes");
    let sealed = provider.keys.seal(&provider.session_aad, &plain);
    if sealed.len() > PART * MAX_PARTS {
        return Err(TooLarge(sealed.len()));
    }
    let max_age = session.expires.saturating_sub(now());
    let mut out = Vec::new();
    let parts: Vec<&str> = if sealed.len() <= PART {
        vec![sealed.as_str()]
    } else {
        sealed
            .as_bytes()
            .chunks(PART)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect()
    };
    if parts.len() == 1 {
        out.push(set(SESSION_COOKIE, parts[0], max_age));
    } else {
        for (i, part) in parts.iter().enumerate() {
            out.push(set(&format!("{SESSION_COOKIE}-{}", i + 1), part, max_age));
        }
        if cookie(request, SESSION_COOKIE).is_some() {
            out.push(clear(SESSION_COOKIE));
        }
    }
    let used = if parts.len() == 1 { 0 } else { parts.len() };
    for n in used + 1..=MAX_PARTS {
        let name = format!("{SESSION_COOKIE}-{n}");
        if cookie(request, &name).is_some() {
            out.push(clear(&name));
        }
    }
    Ok(out)
}

/// The Set-Cookie headers that end the session the request carries.
pub fn end(request: &HeaderMap) -> Vec<HeaderValue> {
    let mut out = vec![clear(SESSION_COOKIE)];
    for n in 1..=MAX_PARTS {
        let name = format!("{SESSION_COOKIE}-{n}");
        if cookie(request, &name).is_some() {
            out.push(clear(&name));
        }
    }
    out
}

/// The names of the login cookies a request carries.
pub fn logins(headers: &HeaderMap) -> Vec<String> {
    cookies(headers)
        .filter(|(n, _)| n.starts_with(LOGIN_COOKIE))
        .map(|(n, _)| n.to_string())
        .collect()
}

/// The login cookie's name for a login's `state` (which must be
/// [`is_token`]): each login in progress has its own (two tabs may log in
/// at once).
pub fn login_cookie(state: &str) -> String {
    let short: String = state.chars().take(12).collect();
    format!("{LOGIN_COOKIE}{short}")
}

/// A Set-Cookie value. Names and values are ours: our fixed names with a
/// base64url suffix, base64url values (`is_token` holds for them).
pub fn set(name: &str, value: &str, max_age: u64) -> HeaderValue {
    debug_assert!(is_token(name) && is_token(value));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .expect("names and values of base64url characters are header-safe")
}

pub fn clear(name: &str) -> HeaderValue {
    set(name, "", 0)
}

/// Only characters of base64url (and our names' `_` and `-`): what may
/// go into a cookie's name or value unquoted, and into a header.
pub fn is_token(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The request's Cookie headers without ours (for the upstream); None when
/// they hold none of ours (nothing to change).
pub fn without_ours(headers: &HeaderMap) -> Option<Option<HeaderValue>> {
    // Any case: ours differ from an upstream's by their prefix only.
    let ours = |pair: &[u8]| {
        pair.len() >= OURS.len() && pair[..OURS.len()].eq_ignore_ascii_case(OURS.as_bytes())
    };
    if !pairs(headers).any(ours) {
        return None;
    }
    let kept: Vec<&[u8]> = pairs(headers).filter(|pair| !ours(pair)).collect();
    Some(if kept.is_empty() {
        None
    } else {
        HeaderValue::from_bytes(&kept.join(&b"; "[..])).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn our_cookies_never_reach_the_upstream() {
        let h = headers("a=1; __Host-webtier-session=xyz; b=2");
        assert_eq!(
            without_ours(&h),
            Some(Some(HeaderValue::from_static("a=1; b=2")))
        );
        assert_eq!(
            without_ours(&headers("__Host-webtier-session-1=x")),
            Some(None)
        );
        assert_eq!(without_ours(&headers("a=1")), None);
        assert_eq!(
            without_ours(&headers("__HOST-WEBTIER-session=x; b=2")),
            Some(Some(HeaderValue::from_static("b=2")))
        );
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(256))]

        /// Whatever the header holds, the cookies found are the pairs
        /// that were put in, and ours are always taken out.
        #[test]
        fn cookie_pairs_are_found_and_ours_removed(
            pairs in proptest::collection::vec(("[A-Za-z_][A-Za-z0-9_-]{0,12}", "[A-Za-z0-9_-]{0,20}"), 0..6),
            ours in "[A-Za-z0-9_-]{1,30}",
        ) {
            let mut text: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
            text.insert(text.len() / 2, format!("{SESSION_COOKIE}={ours}"));
            let h = headers(&text.join("; "));
            prop_assert_eq!(cookie(&h, SESSION_COOKIE), Some(ours.as_str()));
            for (n, v) in &pairs {
                let found = cookie(&h, n);
                prop_assert!(found.is_some());
                if pairs.iter().filter(|(m, _)| m == n).count() == 1 {
                    prop_assert_eq!(found, Some(v.as_str()));
                }
            }
            let stripped = without_ours(&h).expect("ours was there");
            let rest = stripped.map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            prop_assert!(!rest.contains(OURS));
        }
    }
}
