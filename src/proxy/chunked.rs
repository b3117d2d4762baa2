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
    let after_ws = rest.trim_ascii_start();
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
