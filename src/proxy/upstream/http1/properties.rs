//! Property tests of `parse`: no input panics it, how the input is
//! split never changes the outcome, and a head built from random
//! valid parts parses back to those parts.

use proptest::collection::vec;
use proptest::prelude::*;

use bytes::BytesMut;
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

use super::response::parse;

/// A parsed reply in a form two runs can be compared by: status,
/// headers, framing, reusable, and what is left after the head.
type Summary = (u16, HeaderMap, String, bool, Vec<u8>);

/// Parses `input` fed in pieces that end at `cuts` (modulo the
/// length, any order), calling `parse` after each piece as `talk`
/// does after each read.
fn parse_split(input: &[u8], cuts: &[usize], head: bool) -> Result<Option<Summary>, String> {
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    ends.push(input.len());
    ends.sort_unstable();
    let (mut buf, mut fed) = (BytesMut::new(), 0);
    for end in ends {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        let mut map = HeaderMap::new();
        match parse(&mut buf, head, &mut map) {
            Ok(None) => {}
            Ok(Some(r)) => {
                let rest = [&buf[..], &input[fed..]].concat();
                let framing = format!("{:?}", r.framing);
                return Ok(Some((
                    r.status.as_u16(),
                    r.headers,
                    framing,
                    r.reusable,
                    rest,
                )));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(None)
}

/// Header names that `parse` treats specially.
const SPECIAL: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "server",
    "x-powered-by",
    "content-length",
];

/// A header line's name (a token; sometimes a common one in any
/// case) and value (visible ASCII, obs-text, inner spaces and
/// tabs). Bytes are mapped onto tables rather than drawn from
/// per-byte strategies, which are slow in a debug build.
fn header_line() -> impl Strategy<Value = (String, Vec<u8>)> {
    const TCHAR: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
    const COMMON: &[&str] = &[
        "Content-Type",
        "set-cookie",
        "ETAG",
        "Cache-Control",
        "vary",
    ];
    let name = (vec(any::<u8>(), 1..12), any::<u8>()).prop_map(|(bytes, pick)| {
        match COMMON.get(pick as usize) {
            Some(common) => common.to_string(),
            None => bytes
                .iter()
                .map(|&b| TCHAR[b as usize % TCHAR.len()] as char)
                .collect(),
        }
    });
    let name = name.prop_filter("special names have their own tests", |n| {
        !SPECIAL.contains(&n.to_ascii_lowercase().as_str())
    });
    let value = vec(any::<u8>(), 0..30).prop_map(|v| {
        let byte = |b: u8| match b {
            0x21..=0x7e | 0x80..=0xff => b,
            _ if b.is_multiple_of(2) => b' ',
            _ => b'\t',
        };
        v.into_iter()
            .map(byte)
            .collect::<Vec<u8>>()
            .trim_ascii()
            .to_vec()
    });
    (name, value)
}

/// A response head from random valid parts (after 0-2 interim
/// 100s), a body, and the reply it should parse to.
fn response() -> impl Strategy<Value = (Vec<u8>, Summary)> {
    (
        0..3usize,
        200u16..=599,
        "[A-Za-z ]{0,12}",
        any::<bool>(),
        vec(header_line(), 0..30),
        prop::option::of(0u64..1000),
        vec(any::<u8>(), 0..20),
    )
        .prop_map(|(interim, status, reason, http11, lines, length, body)| {
            let mut wire = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(interim);
            let version = if http11 { "1.1" } else { "1.0" };
            wire.extend_from_slice(format!("HTTP/{version} {status} {reason}\r\n").as_bytes());
            let mut want = HeaderMap::new();
            let mut lines = lines;
            if let Some(n) = length {
                lines.push(("Content-Length".into(), n.to_string().into_bytes()));
            }
            for (name, value) in &lines {
                wire.extend_from_slice(format!("{name}: ").as_bytes());
                wire.extend_from_slice(value);
                wire.extend_from_slice(b"\r\n");
                want.append(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_bytes(value).unwrap(),
                );
            }
            wire.extend_from_slice(b"\r\n");
            wire.extend_from_slice(&body);
            let empty = status == 204 || status == 304;
            let framing = match length {
                _ if empty => "Empty".to_string(),
                Some(n) => format!("Length({n})"),
                None => "UntilClose".to_string(),
            };
            let reusable = http11 && (empty || length.is_some());
            (wire, (status, want, framing, reusable, body))
        })
}

/// Bytes a response head is made of, and some others.
fn head_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(
            &b"HTTP/1.0 12345:;, \t\r\n\r\nConnection: close\r\n\
               Content-Length: 7\r\nTransfer-Encoding: chunked\r\n"[..],
        ),
        1 => any::<u8>(),
    ]
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..200),
        vec(head_byte(), 0..300).prop_map(|tail| [&b"HTTP/1.1 200 OK\r\n"[..], &tail].concat()),
        (response(), 0..6usize, any::<u8>()).prop_map(|((wire, _), n, b)| {
            // A valid response with one byte changed.
            let mut wire = wire;
            let at = (n * 7919) % wire.len();
            wire[at] = b;
            wire
        }),
    ]
}

proptest! {
    #![proptest_config(crate::proxy::properties(256))]

    #[test]
    fn any_bytes_parse_the_same_however_they_are_split(
        input in any_input(),
        cuts in vec(any::<usize>(), 0..12),
        head in any::<bool>(),
    ) {
        prop_assert_eq!(parse_split(&input, &cuts, head), parse_split(&input, &[], head));
    }

    #[test]
    fn a_head_of_valid_parts_parses_back_to_them(
        (wire, want) in response(),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        prop_assert_eq!(parse_split(&wire, &cuts, false), Ok(Some(want)));
    }
}
