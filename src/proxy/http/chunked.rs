//! HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), both ways: a strict
//! decoder for upstream response bodies and the framing for request bodies
//! of unknown length. Pure functions over buffers, tested without sockets.
//!
//! The decoder refuses what a lenient one would have to guess at, since a
//! guess that differs from the upstream's is how responses get split: a
//! size with more than 16 hex digits, a bare LF, missing CRLF after chunk
//! data, and control lines or trailers over their limits.

use bytes::{Buf, Bytes, BytesMut};

/// A chunk-size line (with extensions) may be this long.
const MAX_LINE: usize = 4096;
/// All trailer lines together may be this long; trailers are dropped.
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

#[derive(Debug)]
pub struct Decoder {
    state: State,
    trailer_bytes: usize,
}

/// What [`Decoder::decode`] found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes, taken from the front of the buffer.
    Data(Bytes),
    /// The buffer ends inside the framing: read more and call again.
    NeedMore,
    /// The last chunk and the trailers have been read.
    Done,
}

/// The upstream's chunked framing is malformed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid chunked body: {0}")]
pub struct Invalid(&'static str);

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            state: State::Size,
            trailer_bytes: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes framing from the front of `buf` and returns the next piece
    /// of body, a need for more input, or the end of the body. Bytes after
    /// the end are left in `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Step, Invalid> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, MAX_LINE)? else {
                        return Ok(Step::NeedMore);
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let take = left.min(buf.len() as u64);
                    self.state = if take == left {
                        State::DataEnd
                    } else {
                        State::Data(left - take)
                    };
                    return Ok(Step::Data(buf.split_to(take as usize).freeze()));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(Invalid("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    let limit = MAX_TRAILERS.saturating_sub(self.trailer_bytes);
                    let Some(line) = take_line(buf, limit)? else {
                        return Ok(Step::NeedMore);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                    } else {
                        self.trailer_bytes += line.len() + 2;
                    }
                }
                State::Done => return Ok(Step::Done),
            }
        }
    }
}

/// One CRLF-terminated line off the front of `buf`, without its CRLF; None
/// while the line is incomplete.
fn take_line(buf: &mut BytesMut, limit: usize) -> Result<Option<BytesMut>, Invalid> {
    let Some(lf) = buf.iter().take(limit + 2).position(|&b| b == b'\n') else {
        if buf.len() > limit + 1 {
            return Err(Invalid("a control line or the trailers are too long"));
        }
        return Ok(None);
    };
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(Invalid("a line ends in a bare LF"));
    }
    let mut line = buf.split_to(lf + 1);
    line.truncate(lf - 1);
    Ok(Some(line))
}

/// `1*HEXDIG [BWS ";" ext]`; extensions are ignored.
fn chunk_size(line: &[u8]) -> Result<u64, Invalid> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(Invalid("a chunk size is not hexadecimal"));
    }
    if digits > 16 {
        return Err(Invalid("a chunk size is too large"));
    }
    let rest = &line[digits..];
    // BWS is spaces and tabs only: a bare CR (or a form feed) before the
    // `;` is not whitespace, and taking it for some is how two parsers
    // come to disagree about where a chunk ends.
    let after_ws = &rest[rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()..];
    if !(rest.is_empty() || after_ws.starts_with(b";")) {
        return Err(Invalid(
            "a chunk size is followed by something other than an extension",
        ));
    }
    if after_ws.iter().any(|&b| b == b'\r' || b == 0) {
        return Err(Invalid("a chunk extension holds a control character"));
    }
    let hex = std::str::from_utf8(&line[..digits]).map_err(|_| Invalid("not ASCII"))?;
    u64::from_str_radix(hex, 16).map_err(|_| Invalid("a chunk size is too large"))
}

/// The line that starts a chunk of `len` bytes.
pub fn chunk_header(len: usize) -> Bytes {
    Bytes::from(format!("{len:x}\r\n"))
}

/// What ends every chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";

/// The last chunk, with no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes: the body and what
    /// was left after it.
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), Invalid> {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match dec.decode(&mut buf)? {
                Step::Data(d) => body.extend_from_slice(&d),
                Step::Done => return Ok((body, buf.to_vec())),
                Step::NeedMore => {
                    assert!(fed < input.len(), "ran out of input: {body:?}");
                    let end = (fed + step).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn a_body_decodes_the_same_however_it_is_split() {
        let input = b"5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        for step in 1..input.len() {
            let (body, rest) = decode_in_steps(input, step).unwrap();
            assert_eq!(body, b"hello, world", "step {step}");
            assert!(b"NEXT".starts_with(&rest), "step {step}: {rest:?}");
        }
    }

    #[test]
    fn upper_case_hex_and_whitespace_before_an_extension_are_accepted() {
        let (body, _) = decode_in_steps(b"A \t;x\r\n0123456789\r\n0\r\n\r\n", 64).unwrap();
        assert_eq!(body, b"0123456789");
    }

    #[test]
    fn malformed_framing_is_an_error_not_a_guess() {
        let cases: &[(&[u8], &str)] = &[
            (b"5\nhello\r\n0\r\n\r\n", "bare LF"),
            (b"5\r\nhelloXX0\r\n\r\n", "not followed by CRLF"),
            (b"zz\r\n", "not hexadecimal"),
            (b"\r\n", "not hexadecimal"),
            (b"-5\r\n", "not hexadecimal"),
            (b"+5\r\n", "not hexadecimal"),
            (b"5 5\r\n", "other than an extension"),
            (b"0x5\r\n", "other than an extension"),
            (b"10000000000000000\r\n", "too large"),
            (b"5;a\rb\r\n", "control character"),
            (b"5\r;a\r\n", "other than an extension"),
            (b"5\x0c;a\r\n", "other than an extension"),
        ];
        for (input, want) in cases {
            let mut buf = BytesMut::from(&input[..]);
            let mut dec = Decoder::new();
            let err = loop {
                match dec.decode(&mut buf) {
                    Ok(Step::Data(_)) => continue,
                    Ok(other) => panic!("{input:?}: {other:?}"),
                    Err(e) => break e,
                }
            };
            assert!(err.to_string().contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn a_size_line_that_never_ends_is_refused_at_the_limit() {
        let mut buf = BytesMut::from(&b"5;"[..]);
        buf.extend_from_slice(&vec![b'a'; MAX_LINE]);
        assert!(Decoder::new().decode(&mut buf).is_err());
        let mut short = BytesMut::from(&b"5;aaaa"[..]);
        assert_eq!(Decoder::new().decode(&mut short), Ok(Step::NeedMore));
    }

    #[test]
    fn endless_trailers_are_refused() {
        let mut input = b"0\r\n".to_vec();
        for _ in 0..2000 {
            input.extend_from_slice(b"x-t: 0123456789\r\n");
        }
        input.extend_from_slice(b"\r\n");
        assert!(decode_in_steps(&input, 512).is_err());
    }

    #[test]
    fn the_largest_16_digit_size_is_read_without_overflow() {
        let mut buf = BytesMut::from(&b"ffffffffffffffff\r\nab"[..]);
        let mut dec = Decoder::new();
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Step::Data(Bytes::from_static(b"ab")))
        );
        assert_eq!(dec.state, State::Data(u64::MAX - 2));
    }

    #[test]
    fn encoded_chunks_decode_back() {
        let mut wire = BytesMut::new();
        for part in [&b"abc"[..], &[7u8; 300][..]] {
            wire.extend_from_slice(&chunk_header(part.len()));
            wire.extend_from_slice(part);
            wire.extend_from_slice(CHUNK_END);
        }
        wire.extend_from_slice(LAST_CHUNK);
        let (body, rest) = decode_in_steps(&wire, 7).unwrap();
        assert_eq!(body.len(), 303);
        assert!(rest.is_empty());
    }
}

/// Property tests: no input panics the decoder, how the input is split
/// never changes what it decodes to, the encoder's framing decodes back,
/// and a size line means what it means to httparse.
#[cfg(test)]
mod properties {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// How a run over some input ended.
    #[derive(Debug, PartialEq, Eq)]
    enum End {
        /// The body ended this many bytes into the input.
        Done(usize),
        Invalid(Invalid),
        /// All of the input was taken and more is wanted.
        Incomplete,
    }

    /// Decodes `input` fed in pieces that end at `cuts` (taken modulo the
    /// length, in any order): the body and how it ended.
    fn run(input: &[u8], cuts: &[usize]) -> (Vec<u8>, End) {
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        ends.push(input.len());
        ends.sort_unstable();
        let mut ends = ends.into_iter();
        let (mut dec, mut buf, mut body, mut fed) = (Decoder::new(), BytesMut::new(), vec![], 0);
        loop {
            match dec.decode(&mut buf) {
                Err(e) => return (body, End::Invalid(e)),
                Ok(Step::Done) => {
                    let at = fed - buf.len();
                    // Done stays done and takes nothing more.
                    assert_eq!(dec.decode(&mut buf), Ok(Step::Done));
                    assert_eq!(fed - buf.len(), at);
                    return (body, End::Done(at));
                }
                Ok(Step::Data(data)) => {
                    assert!(!data.is_empty(), "an empty piece of body");
                    body.extend_from_slice(&data);
                }
                Ok(Step::NeedMore) => {
                    let Some(to) = ends.find(|&end| end > fed) else {
                        return (body, End::Incomplete);
                    };
                    buf.extend_from_slice(&input[fed..to]);
                    fed = to;
                }
            }
        }
    }

    /// Bytes that mean something to the framing, and some that do not.
    fn framing_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            4 => prop::sample::select(&b"0123456789abcdefABCDEF \t;=\"\r\n\0\x0cxz-"[..]),
            1 => any::<u8>(),
        ]
    }

    /// A well-formed chunked body with everything RFC 9112 allows in it
    /// (hex in either case, leading zeros, extensions, trailers), and the
    /// body it carries.
    fn valid_wire() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let chunk = (
            vec(any::<u8>(), 1..80),
            any::<bool>(),
            0..3usize,
            prop::option::of("[ \t]{0,2};[ \t]{0,2}[a-z]{1,5}(=([a-z0-9]{1,5}|\"[ a-z;]{0,5}\"))?"),
        );
        let trailers = vec("[A-Za-z-]{1,8}: [ -~]{0,20}", 0..3);
        (vec(chunk, 0..6), "(;[a-z]{1,4})?", trailers).prop_map(|(chunks, last_ext, trailers)| {
            let (mut wire, mut body) = (Vec::new(), Vec::new());
            for (data, upper, zeros, ext) in chunks {
                let size = match upper {
                    true => format!("{:X}", data.len()),
                    false => format!("{:x}", data.len()),
                };
                wire.extend_from_slice("0".repeat(zeros).as_bytes());
                wire.extend_from_slice(size.as_bytes());
                wire.extend_from_slice(ext.unwrap_or_default().as_bytes());
                wire.extend_from_slice(b"\r\n");
                wire.extend_from_slice(&data);
                wire.extend_from_slice(b"\r\n");
                body.extend_from_slice(&data);
            }
            wire.extend_from_slice(format!("0{last_ext}\r\n").as_bytes());
            for trailer in trailers {
                wire.extend_from_slice(trailer.as_bytes());
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"\r\n");
            (wire, body)
        })
    }

    /// Where our size line is stricter than httparse's, on purpose:
    /// RFC 9112 wants at least one digit, and whitespace only before an
    /// extension; a NUL (or a bare LF) is refused anywhere in the line.
    fn stricter_on_purpose(line: &[u8]) -> bool {
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let rest = &line[digits..];
        digits == 0
            || line.contains(&0)
            || line.contains(&b'\n')
            || (!rest.is_empty() && rest.iter().all(|&b| b == b' ' || b == b'\t'))
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(256))]

        #[test]
        fn any_bytes_decode_the_same_however_they_are_split(
            input in prop_oneof![vec(framing_byte(), 0..200), vec(any::<u8>(), 0..200)],
            cuts in vec(any::<usize>(), 0..12),
        ) {
            let (body, end) = run(&input, &cuts);
            prop_assert!(body.len() <= input.len());
            prop_assert_eq!((body, end), run(&input, &[]));
        }

        #[test]
        fn a_valid_body_decodes_back_however_it_is_split(
            (wire, want) in valid_wire(),
            next in vec(any::<u8>(), 0..8),
            cuts in vec(any::<usize>(), 0..12),
        ) {
            let input = [&wire[..], &next[..]].concat();
            prop_assert_eq!(run(&input, &cuts), (want, End::Done(wire.len())));
        }

        #[test]
        fn the_encoders_framing_decodes_back(
            parts in vec(vec(any::<u8>(), 0..300), 0..8),
            cuts in vec(any::<usize>(), 0..12),
        ) {
            // As `client::write_body` frames a request body: empty pieces
            // are skipped (a zero-size chunk would end the body).
            let mut wire = Vec::new();
            for part in parts.iter().filter(|p| !p.is_empty()) {
                wire.extend_from_slice(&chunk_header(part.len()));
                wire.extend_from_slice(part);
                wire.extend_from_slice(CHUNK_END);
            }
            wire.extend_from_slice(LAST_CHUNK);
            prop_assert_eq!(run(&wire, &cuts), (parts.concat(), End::Done(wire.len())));
        }

        #[test]
        fn a_size_line_agrees_with_httparse(
            line in prop_oneof![
                vec(framing_byte(), 0..40),
                // Digits, what may or may not pass for whitespace, and
                // maybe an extension.
                (
                    vec(prop::sample::select(&b"0fF9aA"[..]), 0..20),
                    prop::sample::select(
                        &["", " ", "\t", " \t", "\r", "\x0c", " \r", "\x0b", "\0"][..],
                    ),
                    prop::option::of(vec(framing_byte(), 0..12)),
                )
                    .prop_map(|(digits, ws, ext)| {
                        let ext = ext.map(|e| [&b";"[..], &e].concat()).unwrap_or_default();
                        [&digits[..], ws.as_bytes(), &ext].concat()
                    }),
            ],
        ) {
            let input = [&line[..], b"\r\n"].concat();
            let mut buf = BytesMut::from(&input[..]);
            let ours = take_line(&mut buf, MAX_LINE)
                .and_then(|l| chunk_size(&l.expect("the line is complete")))
                .map(|size| (input.len() - buf.len(), size));
            let theirs = match httparse::parse_chunk_size(&input) {
                Ok(httparse::Status::Complete(parsed)) => Ok(parsed),
                Ok(httparse::Status::Partial) => Err("partial"),
                Err(_) => Err("invalid"),
            };
            match (ours, theirs) {
                (Ok(ours), theirs) => prop_assert_eq!(Ok(ours), theirs),
                (Err(_), Ok(_)) => prop_assert!(stricter_on_purpose(&line), "{line:?}"),
                (Err(_), Err(_)) => {}
            }
        }
    }
}
