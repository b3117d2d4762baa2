//! HTTP Basic auth for a route (stage 6, beside the OpenID login), from an
//! htpasswd file: bcrypt (`$2a$`, `$2b$`, `$2y$`) and argon2 (`$argon2id$`,
//! `$argon2i$`, `$argon2d$`) entries only. Plain, crypt, MD5 (`$apr1$`,
//! `$1$`), SHA (`{SHA}`, `$5$`, `$6$`) entries are refused at load with
//! the line that holds them: a route believed protected must not be
//! opened by a weak hash.
//!
//! A password hash costs tens of milliseconds by design, so it is never
//! checked on the event loop: checks run on the blocking pool, at most a
//! few at once (a burst of bad logins waits its turn; other requests do
//! not). A password that checked out is remembered per user as an
//! HMAC-SHA256 under a key made at load (the password itself is not
//! kept), compared in constant time, so a browser's repeated requests
//! cost one hash. An unknown user is checked against a dummy hash, so
//! the answer's timing does not tell which users exist.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::hmac;
use base64::Engine;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use tokio::sync::Semaphore;

use super::Pending;
use crate::proxy::body::Body;
use crate::proxy::request::pages;

/// How many password checks run at once.
const CHECKS_AT_ONCE: usize = 4;

/// How many may wait for a slot; more are answered 429 at once.
const MAX_WAITING: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hash {
    Bcrypt(String),
    Argon2(String),
}

/// One htpasswd file, loaded, with the route's realm.
pub struct BasicAuth {
    users: HashMap<String, Hash>,
    challenge: HeaderValue,
    /// The `Authorization` header goes upstream.
    pub forward_authorization: bool,
    key: hmac::Key,
    /// Per user, the HMAC of the last password that checked out.
    verified: Mutex<HashMap<String, hmac::Tag>>,
    checks: Arc<Semaphore>,
    /// Checks waiting for a slot.
    waiting: AtomicUsize,
    dummy: Hash,
}

/// Counts a check as waiting until it gets its slot (or is dropped).
struct Waiting(Arc<BasicAuth>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the stage says of a request.
#[allow(clippy::large_enum_variant)] // matched at once, never stored; boxing would allocate
pub enum Check {
    Pass,
    /// 401 with the challenge.
    Refuse(Response<Body>),
    /// A password hash to check first (off the event loop).
    Verify(Pending<Result<(), Response<Body>>>),
}

/// Pure: the entries of an htpasswd text, user → hash; the first problem
/// in words (with its line) when an entry is not one webtier accepts.
fn parse(text: &str) -> Result<HashMap<String, Hash>, String> {
    let mut users = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let at = n + 1;
        let Some((user, hash)) = line.split_once(':') else {
            return Err(format!("line {at} is not user:hash"));
        };
        if user.is_empty() {
            return Err(format!("line {at} has no user name"));
        }
        let weak = |kind: &str| {
            Err(format!(
                "line {at} (user {user}): {kind} hashes are refused — re-create the entry with bcrypt (`htpasswd -B`) or argon2"
            ))
        };
        let parsed = if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            hash.parse::<bcrypt::HashParts>()
                .map_err(|e| format!("line {at} (user {user}): not a bcrypt hash: {e}"))?;
            Hash::Bcrypt(hash.to_string())
        } else if ["$argon2id$", "$argon2i$", "$argon2d$"]
            .iter()
            .any(|p| hash.starts_with(p))
        {
            let parsed = argon2::PasswordHash::new(hash)
                .map_err(|e| format!("line {at} (user {user}): not an argon2 hash: {e}"))?;
            if parsed.salt.is_none() || parsed.hash.is_none() {
                return Err(format!(
                    "line {at} (user {user}): not an argon2 hash: no salt or no hash"
                ));
            }
            Hash::Argon2(hash.to_string())
        } else if hash.starts_with("$apr1$") || hash.starts_with("$1$") {
            return weak("MD5");
        } else if hash.starts_with("{SHA}") || hash.starts_with("$5$") || hash.starts_with("$6$") {
            return weak("SHA");
        } else if hash.len() == 13 && !hash.starts_with('$') {
            return weak("crypt (DES)");
        } else {
            return weak("plain-text or unknown");
        };
        if users.insert(user.to_string(), parsed).is_some() {
            return Err(format!("line {at}: user {user} is listed twice"));
        }
    }
    if users.is_empty() {
        return Err("it has no entries".into());
    }
    Ok(users)
}

/// Checks an htpasswd file as `webtier config check` does: every entry
/// accepted, or the first problem in words (the caller names the file).
pub fn check_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
    parse(&text).map(|_| ())
}

impl BasicAuth {
    pub fn load(
        path: &Path,
        realm: &str,
        forward_authorization: bool,
    ) -> Result<BasicAuth, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the htpasswd file {}: {e}", path.display()))?;
        let users = parse(&text).map_err(|e| format!("htpasswd file {}: {e}", path.display()))?;
        let realm = realm.replace(['"', '\\'], "");
        let challenge =
            HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
                .map_err(|_| format!("realm \"{realm}\" cannot go in a header"))?;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "no randomness for the credential cache key".to_string())?;
        // An unknown user's password is checked against the first entry's
        // hash (the same cost, so the same time); a match does not let an
        // unknown user in.
        let dummy = users
            .values()
            .next()
            .cloned()
            .unwrap_or(Hash::Bcrypt(String::new()));
        Ok(BasicAuth {
            users,
            challenge,
            forward_authorization,
            key,
            verified: Mutex::new(HashMap::new()),
            checks: Arc::new(Semaphore::new(CHECKS_AT_ONCE)),
            waiting: AtomicUsize::new(0),
            dummy,
        })
    }

    /// 429 when too many checks wait: try again in a second.
    fn busy(&self) -> Response<Body> {
        let mut resp = pages::error(StatusCode::TOO_MANY_REQUESTS);
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        resp
    }

    fn refuse(&self) -> Response<Body> {
        let mut resp = pages::error(StatusCode::UNAUTHORIZED);
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, self.challenge.clone());
        resp
    }

    fn tag(&self, user: &str, password: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(user.as_bytes());
        ctx.update(&[0]);
        ctx.update(password);
        ctx.sign()
    }

    /// The stage's word on a request with these headers.
    pub fn check(self: &Arc<Self>, headers: &HeaderMap) -> Check {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Check::Refuse(self.refuse());
        };
        let Some((user, password)) = credentials(value.as_bytes()) else {
            return Check::Refuse(self.refuse());
        };
        let tag = self.tag(&user, &password);
        let known = self
            .verified
            .lock()
            .map(|v| {
                v.get(&user).is_some_and(|t| {
                    aws_lc_rs::constant_time::verify_slices_are_equal(t.as_ref(), tag.as_ref())
                        .is_ok()
                })
            })
            .unwrap_or(false);
        if known {
            return Check::Pass;
        }
        // Checks waiting beyond a bound are answered at once: a flood of
        // guesses cannot queue first logins behind it without end.
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Check::Refuse(self.busy());
        }
        let waiting = Waiting(Arc::clone(self));
        let me = Arc::clone(self);
        Check::Verify(Box::pin(async move {
            let Ok(permit) = me.checks.clone().acquire_owned().await else {
                return Err(me.refuse());
            };
            drop(waiting);
            let hash = me.users.get(&user).cloned();
            let checked = {
                let hash = hash.clone().unwrap_or_else(|| me.dummy.clone());
                let password = zeroize::Zeroizing::new(password);
                // The permit goes with the hash: a request that is dropped
                // (a reset HTTP/2 stream) does not free a slot while its
                // hash still runs.
                tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    verify(&hash, &password)
                })
                .await
            };
            match (hash, checked) {
                (Some(_), Ok(true)) => {
                    if let Ok(mut v) = me.verified.lock() {
                        v.insert(user, tag);
                    }
                    Ok(())
                }
                _ => Err(me.refuse()),
            }
        }))
    }
}

/// Checks a password against a hash (slow by design: the blocking pool).
fn verify(hash: &Hash, password: &[u8]) -> bool {
    match hash {
        Hash::Bcrypt(h) => bcrypt::verify(password, h).unwrap_or(false),
        Hash::Argon2(h) => {
            use argon2::PasswordVerifier;
            argon2::PasswordHash::new(h).is_ok_and(|parsed| {
                argon2::Argon2::default()
                    .verify_password(password, &parsed)
                    .is_ok()
            })
        }
    }
}

/// Pure: the user and password of `Basic <base64(user:password)>`.
fn credentials(value: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A bcrypt hash (cost 4, for speed) of a password no test uses.
    fn bcrypt_hash() -> String {
        bcrypt::hash("not used", 4).unwrap()
    }

    #[test]
    fn weak_and_malformed_entries_are_refused_with_their_line() {
        let cases = [
            ("bob:$apr1$abc$def", "MD5"),
            ("bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "SHA"),
            ("bob:abJnggxhB/yWI", "crypt"),
            ("bob:secret", "plain-text"),
            ("bob:$6$salt$hash", "SHA"),
            ("just-a-line", "not user:hash"),
            ("bob:$2y$04$short", "not a bcrypt hash"),
            ("bob:$argon2id$v=19$nonsense", "not an argon2 hash"),
        ];
        for (text, words) in cases {
            let text = format!("# staff\n\n{text}\n");
            let err = parse(&text).unwrap_err();
            assert!(
                err.contains(words) && err.contains("line 3"),
                "{text}: {err}"
            );
        }
        let hash = bcrypt_hash();
        let twice = format!("a:{hash}\na:{hash}\n");
        assert!(parse(&twice).unwrap_err().contains("twice"));
        assert!(
            parse("# only comments\n")
                .unwrap_err()
                .contains("no entries")
        );
        assert_eq!(parse(&format!("ann:{hash}\r\n")).unwrap().len(), 1);
    }

    #[test]
    fn credentials_are_read_from_the_basic_scheme_only() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ann:pa:ss")
        );
        assert_eq!(
            credentials(header.as_bytes()),
            Some(("ann".into(), b"pa:ss".to_vec()))
        );
        assert_eq!(credentials(b"Bearer abc"), None);
        assert_eq!(credentials(b"Basic !!!"), None);
        let no_colon = format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode("ann")
        );
        assert_eq!(credentials(no_colon.as_bytes()), None);
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(256))]

        /// Whatever the header holds, reading it never panics, and what is
        /// encoded is read back exactly.
        #[test]
        fn any_header_is_read_safely(
            raw in proptest::collection::vec(any::<u8>(), 0..80),
            user in "[a-zA-Z0-9._-]{1,12}",
            password in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            let _ = credentials(&raw);
            let mut plain = user.clone().into_bytes();
            plain.push(b':');
            plain.extend_from_slice(&password);
            let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&plain));
            prop_assert_eq!(credentials(header.as_bytes()), Some((user, password)));
        }

        /// Any line of text is accepted only as a bcrypt or argon2 entry.
        #[test]
        fn only_strong_hashes_are_accepted(line in "[ -~]{0,60}") {
            if let Ok(users) = parse(&line) {
                prop_assert!(users.values().all(|h| matches!(h, Hash::Bcrypt(_) | Hash::Argon2(_))));
            }
        }
    }
}
