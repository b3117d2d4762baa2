//! A request path made relative to a static root: percent-decoded once,
//! segment by segment, with every escape from the root and every hidden
//! file refused before any I/O.

/// Why a path is refused before touching the disk.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Malformed: NUL, backslash, bad escapes, encoded slashes, `..`.
    BadRequest,
    /// Hidden files (a segment starting with `.`).
    NotFound,
}

/// The path under the root for the part of the URL path after the route's
/// prefix (still percent-encoded). Pure. Empty segments collapse; `.` and
/// `..` segments are refused outright rather than resolved.
pub fn relative_path(rest: &str) -> Result<String, Refused> {
    let mut out = String::with_capacity(rest.len());
    for raw in rest.split('/') {
        if raw.is_empty() {
            continue;
        }
        let decoded = percent_decode(raw).ok_or(Refused::BadRequest)?;
        if decoded.contains(['/', '\\', '\0']) || decoded == "." || decoded == ".." {
            return Err(Refused::BadRequest);
        }
        if decoded.starts_with('.') {
            return Err(Refused::NotFound);
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&decoded);
    }
    if rest.ends_with('/') && !out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Percent-decoding to UTF-8; `None` for a broken escape or bytes that are
/// not UTF-8. (The crate passes a `%` that starts no escape through as it
/// is; here it is refused.)
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let broken = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if broken {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
    Some(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_and_empty_segments_collapse() {
        assert_eq!(relative_path("a/b.css").unwrap(), "a/b.css");
        assert_eq!(relative_path("a//b").unwrap(), "a/b");
        assert_eq!(relative_path("dir/").unwrap(), "dir/");
        assert_eq!(relative_path("").unwrap(), "");
        assert_eq!(relative_path("caf%C3%A9.txt").unwrap(), "café.txt");
        assert_eq!(relative_path("a%20b").unwrap(), "a b");
    }

    #[test]
    fn escapes_from_the_root_are_refused_before_any_io() {
        for bad in [
            "..",
            "../etc/passwd",
            "a/../../b",
            "%2e%2e/x",
            "%2E%2E%2Fetc",
            ".%2e/x",
            "a%2fb",
            "a%5cb",
            "..%5c..%5cwin.ini",
            "a\\..\\b",
            "x%00.html",
            "%",
            "%zz",
            "%c0%ae%c0%ae/",
            "./a",
            "%+5",
            "a%-1",
        ] {
            assert_eq!(relative_path(bad), Err(Refused::BadRequest), "{bad}");
        }
        for hidden in [".git/config", ".env", "a/.htpasswd", "%2egit/HEAD"] {
            assert_eq!(relative_path(hidden), Err(Refused::NotFound), "{hidden}");
        }
    }
}

/// Property tests: `relative_path` never yields a path that leaves the
/// root or names a hidden file, decodes any well-encoded path back to its
/// segments and agrees with a reference written from its contract.
#[cfg(test)]
mod properties {
    use std::path::{Component, Path};

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// The contract of `relative_path`, written plainly: segment by
    /// segment, left to right; each `%` must start two hex digits; a
    /// segment must decode to UTF-8 that is not `.` or `..` and holds no
    /// `/`, `\` or NUL (else 400), nor starts with `.` (else 404).
    fn reference_path(rest: &str) -> Result<String, Refused> {
        let mut segments = Vec::new();
        for raw in rest.split('/').filter(|s| !s.is_empty()) {
            let raw = raw.as_bytes();
            let mut bytes = Vec::new();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] != b'%' {
                    bytes.push(raw[i]);
                    i += 1;
                    continue;
                }
                let digit = |j: usize| raw.get(j).and_then(|&b| (b as char).to_digit(16));
                let (Some(hi), Some(lo)) = (digit(i + 1), digit(i + 2)) else {
                    return Err(Refused::BadRequest);
                };
                bytes.push((hi * 16 + lo) as u8);
                i += 3;
            }
            let name = String::from_utf8(bytes).map_err(|_| Refused::BadRequest)?;
            let bad = name == "." || name == ".." || name.contains('/');
            if bad || name.contains('\\') || name.contains('\0') {
                return Err(Refused::BadRequest);
            }
            if name.starts_with('.') {
                return Err(Refused::NotFound);
            }
            segments.push(name);
        }
        let mut out = segments.join("/");
        if rest.ends_with('/') && !out.is_empty() {
            out.push('/');
        }
        Ok(out)
    }

    /// Checks what may never come out: anything but plain names under the
    /// root.
    fn stays_beneath(out: &str) -> Result<(), TestCaseError> {
        prop_assert!(!out.contains(['\\', '\0']), "{out:?}");
        prop_assert!(!out.starts_with('/') && !out.contains("//"), "{out:?}");
        for c in Path::new(out).components() {
            prop_assert!(matches!(c, Component::Normal(_)), "{out:?}: {c:?}");
        }
        for segment in out.split('/').filter(|s| !s.is_empty()) {
            prop_assert!(!segment.starts_with('.'), "{out:?}");
        }
        Ok(())
    }

    /// Characters that matter to paths and their escapes.
    fn path_char() -> impl Strategy<Value = char> {
        prop_oneof![
            6 => prop::sample::select("aB./\\%2eEfF5c0+- ".chars().collect::<Vec<_>>()),
            1 => any::<char>(),
        ]
    }

    /// `s` with each byte percent-encoded where `mask` says (always for
    /// `%`), in either case of hex.
    fn encode(s: &str, mask: &[bool], upper: bool) -> String {
        let mut out = String::new();
        for (i, b) in s.bytes().enumerate() {
            if b == b'%' || b >= 0x80 || mask.get(i % mask.len().max(1)).copied().unwrap_or(false) {
                if upper {
                    out.push_str(&format!("%{b:02X}"));
                } else {
                    out.push_str(&format!("%{b:02x}"));
                }
            } else {
                out.push(b as char);
            }
        }
        out
    }

    /// A name that is fine as a path segment.
    fn plain_segment() -> impl Strategy<Value = String> {
        vec(path_char(), 1..12)
            .prop_map(|cs| {
                cs.into_iter()
                    .filter(|c| !matches!(c, '/' | '\\' | '\0'))
                    .collect::<String>()
            })
            .prop_filter("a plain name", |s| !s.is_empty() && !s.starts_with('.'))
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(512))]

        #[test]
        fn no_path_leaves_the_root(
            rest in prop_oneof![
                any::<String>(),
                vec(path_char(), 0..40).prop_map(String::from_iter),
            ],
        ) {
            if let Ok(out) = relative_path(&rest) {
                stays_beneath(&out)?;
            }
        }

        #[test]
        fn paths_agree_with_the_reference(
            rest in vec(path_char(), 0..40).prop_map(String::from_iter),
        ) {
            prop_assert_eq!(relative_path(&rest), reference_path(&rest), "{:?}", rest);
        }

        #[test]
        fn a_well_encoded_path_decodes_back_to_its_segments(
            segments in vec(plain_segment(), 0..6),
            slashes in vec(1..3usize, 7),
            mask in vec(any::<bool>(), 1..8),
            upper in any::<bool>(),
            trailing in any::<bool>(),
        ) {
            let mut rest = "/".repeat(slashes[6] - 1);
            for (i, segment) in segments.iter().enumerate() {
                if i > 0 {
                    rest.push_str(&"/".repeat(slashes[i]));
                }
                rest.push_str(&encode(segment, &mask, upper));
            }
            if trailing {
                rest.push('/');
            }
            let mut want = segments.join("/");
            if trailing && !want.is_empty() {
                want.push('/');
            }
            prop_assert_eq!(relative_path(&rest), Ok(want), "{:?}", rest);
        }

        #[test]
        fn a_dot_segment_however_encoded_is_refused(
            before in vec(plain_segment(), 0..3),
            dots in prop::sample::select(&[".", ".."][..]),
            mask in vec(any::<bool>(), 1..4),
            upper in any::<bool>(),
            after in vec(plain_segment(), 0..3),
        ) {
            let plain = |s: &String| encode(s, &[false], false);
            let mut segments: Vec<String> = before.iter().map(plain).collect();
            segments.push(encode(dots, &mask, upper));
            segments.extend(after.iter().map(plain));
            let rest = segments.join("/");
            prop_assert_eq!(relative_path(&rest), Err(Refused::BadRequest), "{:?}", rest);
        }
    }
}
