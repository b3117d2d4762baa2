//! The upstream's response head, parsed strictly, and how its body is
//! framed (RFC 9112 §6).

use bytes::{Buf, BytesMut};
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

use super::{Error, MAX_HEADERS};
use crate::proxy::http::chunked::Decoder;
use crate::proxy::http::hop_by_hop;

/// How the response body is delimited.
#[derive(Debug)]
pub enum Framing {
    /// No body: a response to HEAD, 1xx, 204, 304.
    Empty,
    /// `Content-Length`: this many bytes still to come.
    Length(u64),
    Chunked(Decoder),
    /// Everything until the upstream closes the connection.
    UntilClose,
}

/// A parsed response head and what follows from it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// May the connection take another request after this response?
    pub reusable: bool,
}

/// Parses a complete response head off the front of `buf` (skipping
/// interim 1xx responses other than 101); None while it is incomplete.
/// The headers go into `headers`, which is cleared first and taken.
pub(super) fn parse(
    buf: &mut BytesMut,
    request_is_head: bool,
    headers: &mut HeaderMap,
) -> Result<Option<Reply>, Error> {
    loop {
        let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Error::Invalid(format!("over {MAX_HEADERS} header lines")));
            }
            Err(e) => return Err(Error::Invalid(format!("{e}"))),
        };
        let code = resp.code.unwrap_or_default();
        let status =
            StatusCode::from_u16(code).map_err(|_| Error::Invalid(format!("status {code}")))?;
        let http11 = resp.version == Some(1);
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            buf.advance(len);
            continue;
        }
        // Spans into the head, so that the values can share its memory.
        let start = buf.as_ptr() as usize;
        let offset = |part: &[u8]| (part.as_ptr() as usize - start) as u32;
        // On the stack for the usual few headers (not 100 slots zeroed
        // per response), on the heap beyond 24.
        let spans: SmallVec<[(u32, u32, u32, u32); 24]> = resp
            .headers
            .iter()
            .map(|h| {
                let (name, value) = (offset(h.name.as_bytes()), offset(h.value));
                (
                    name,
                    name + h.name.len() as u32,
                    value,
                    value + h.value.len() as u32,
                )
            })
            .collect();
        let count = spans.len();
        let head = buf.split_to(len).freeze();
        let switching = status == StatusCode::SWITCHING_PROTOCOLS;
        let mut seen = Seen::default();
        headers.clear();
        headers.reserve(count);
        for &(n0, n1, v0, v1) in spans.iter() {
            let (n0, n1, v0, v1) = (n0 as usize, n1 as usize, v0 as usize, v1 as usize);
            let name = HeaderName::from_bytes(&head[n0..n1])
                .map_err(|_| Error::Invalid("a bad header name".into()))?;
            if !seen.keep(&name, &head[v0..v1], switching)? {
                continue;
            }
            let value = HeaderValue::from_maybe_shared(head.slice(v0..v1))
                .map_err(|_| Error::Invalid(format!("a bad {name} value")))?;
            headers.append(name, value);
        }
        for name in &seen.listed {
            headers.remove(name);
        }
        if switching {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
        let (framing, reusable) = seen.framing(status, http11, request_is_head)?;
        if seen.transfer_encoding.is_some() {
            // The body is re-framed for the client; this length would lie.
            headers.remove(header::CONTENT_LENGTH);
        }
        return Ok(Some(Reply {
            status,
            headers: std::mem::take(headers),
            framing,
            reusable,
        }));
    }
}

/// What the framing and connection headers of a response said, gathered
/// while its headers are copied.
#[derive(Default)]
struct Seen {
    close: bool,
    keep_alive: bool,
    /// Other names the `Connection` header lists: hop-by-hop as well.
    listed: Vec<HeaderName>,
    /// Some(is the last coding `chunked`) when `Transfer-Encoding` is sent.
    transfer_encoding: Option<bool>,
    content_length: Option<u64>,
}

impl Seen {
    /// Notes a framing or connection header; false for the headers a
    /// client never gets (hop-by-hop ones, RFC 9110 §7.6.1, and the
    /// upstream's `Server` and `X-Powered-By`).
    fn keep(&mut self, name: &HeaderName, value: &[u8], switching: bool) -> Result<bool, Error> {
        let tokens = || {
            value
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .filter(|t| !t.is_empty())
        };
        if name == header::CONNECTION {
            for token in tokens() {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                } else if let Ok(listed) = HeaderName::from_bytes(token)
                    && !(switching && listed == header::UPGRADE)
                {
                    self.listed.push(listed);
                }
            }
            return Ok(false);
        }
        if name == header::TRANSFER_ENCODING {
            if let Some(last) = tokens().next_back() {
                self.transfer_encoding = Some(last.eq_ignore_ascii_case(b"chunked"));
            }
            return Ok(false);
        }
        if name == header::CONTENT_LENGTH {
            for part in tokens() {
                let n = (part.iter().all(u8::is_ascii_digit))
                    .then(|| std::str::from_utf8(part).ok()?.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| Error::Invalid("a bad Content-Length".into()))?;
                if self.content_length.is_some_and(|l| l != n) {
                    return Err(Error::Invalid("conflicting Content-Length values".into()));
                }
                self.content_length = Some(n);
            }
            if value.trim_ascii().is_empty() {
                return Err(Error::Invalid("a bad Content-Length".into()));
            }
            return Ok(true);
        }
        let hop_by_hop =
            hop_by_hop::is_hop_by_hop(name) || (*name == header::UPGRADE && !switching);
        Ok(!(hop_by_hop || *name == header::SERVER || *name == hop_by_hop::X_POWERED_BY))
    }

    /// RFC 9112 §6.3: how the body is delimited, and whether the
    /// connection can be kept.
    fn framing(
        &self,
        status: StatusCode,
        http11: bool,
        request_is_head: bool,
    ) -> Result<(Framing, bool), Error> {
        let keep_alive = if http11 { !self.close } else { self.keep_alive };
        if request_is_head
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return Ok((Framing::Empty, keep_alive));
        }
        if let Some(chunked_last) = self.transfer_encoding {
            // Both framings in one message is a smuggling pattern: the body
            // is read chunked and the connection is not used again.
            let both = self.content_length.is_some();
            return Ok(if chunked_last && http11 {
                (Framing::Chunked(Decoder::new()), keep_alive && !both)
            } else {
                (Framing::UntilClose, false)
            });
        }
        Ok(match self.content_length {
            Some(n) => (Framing::Length(n), keep_alive),
            None => (Framing::UntilClose, false),
        })
    }
}

/// An upstream's response body, read from its connection as the client
/// takes it (never buffered whole). It keeps the request counted for
/// least-connections until it ends or is dropped, and gives the connection
/// back to the pool once read exactly to its end; dropped half-read, the
/// connection closes.
#[cfg(test)]
mod tests {
    use super::*;

    fn reply(wire: &str, head_request: bool) -> Result<Option<Reply>, Error> {
        let mut buf = BytesMut::from(wire.as_bytes());
        parse(&mut buf, head_request, &mut HeaderMap::new())
    }

    fn framing_of(wire: &str) -> (String, bool) {
        let r = reply(wire, false).unwrap().unwrap();
        (format!("{:?}", r.framing), r.reusable)
    }
    #[test]
    fn a_head_split_anywhere_parses_once_complete() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi";
        for cut in 0..wire.len() - 2 {
            let mut buf = BytesMut::from(&wire.as_bytes()[..cut]);
            let none = parse(&mut buf, false, &mut HeaderMap::new()).unwrap();
            assert!(none.is_none(), "cut {cut}");
        }
        let mut buf = BytesMut::from(wire.as_bytes());
        let r = parse(&mut buf, false, &mut HeaderMap::new())
            .unwrap()
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["x-a"], "b");
        assert_eq!(&buf[..], b"hi");
    }

    #[test]
    fn a_head_with_more_headers_than_the_stack_slots_keeps_them_all() {
        let many: String = (0..60).map(|i| format!("x-{i}: v{i}\r\n")).collect();
        let mut map = HeaderMap::new();
        map.insert("x-left-over", HeaderValue::from_static("from the request"));
        let wire = format!("HTTP/1.1 200 OK\r\n{many}Content-Length: 0\r\n\r\n");
        let mut buf = BytesMut::from(wire.as_bytes());
        let r = parse(&mut buf, false, &mut map).unwrap().unwrap();
        assert_eq!(r.headers.len(), 61);
        assert_eq!(r.headers["x-59"], "v59");
        assert!(!r.headers.contains_key("x-left-over"));
    }

    #[test]
    fn interim_responses_are_skipped_but_101_is_kept() {
        let r = reply(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n\r\n",
            false,
        );
        assert_eq!(r.unwrap().unwrap().status, 201);
        let r = reply(
            "HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n",
            false,
        );
        assert_eq!(r.unwrap().unwrap().status, 101);
    }

    #[test]
    fn the_body_framing_follows_rfc_9112() {
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            ("Length(5)".into(), true)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
            ("Length(5)".into(), true)
        );
        assert!(framing_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").1);
        // No length: until close, and never reused.
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\n\r\n"),
            ("UntilClose".into(), false)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
            ("UntilClose".into(), false)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"),
            ("Length(5)".into(), false)
        );
        assert_eq!(
            framing_of("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n"),
            ("Length(5)".into(), false)
        );
        assert_eq!(
            framing_of("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n"),
            ("Length(5)".into(), true)
        );
        for status in ["204 No Content", "304 Not Modified"] {
            let wire = format!("HTTP/1.1 {status}\r\nContent-Length: 9\r\n\r\n");
            assert_eq!(framing_of(&wire), ("Empty".into(), true));
        }
        let head = reply("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true);
        let head = head.unwrap().unwrap();
        assert!(matches!(head.framing, Framing::Empty));
        assert_eq!(head.headers["content-length"], "9", "HEAD keeps the length");
    }

    #[test]
    fn hop_by_hop_and_identity_headers_never_reach_the_client() {
        let r = reply(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n\
             Keep-Alive: timeout=5\r\nServer: uvicorn\r\nX-Powered-By: PHP/8\r\n\
             Upgrade: h2c\r\nTrailer: x\r\nContent-Type: text/plain\r\n\
             Content-Length: 0\r\n\r\n",
            false,
        );
        let r = r.unwrap().unwrap();
        let mut names: Vec<&str> = r.headers.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-length", "content-type"]);
        assert!(r.reusable);
        let up = reply(
            "HTTP/1.1 101 Switching\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            false,
        );
        let up = up.unwrap().unwrap();
        assert_eq!(up.headers["upgrade"], "websocket");
        assert_eq!(up.headers["connection"], "upgrade");
    }

    #[test]
    fn chunked_with_a_content_length_is_read_chunked_and_not_reused() {
        let r = reply(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
        );
        let r = r.unwrap().unwrap();
        assert!(matches!(r.framing, Framing::Chunked(_)));
        assert!(!r.reusable);
        assert!(!r.headers.contains_key(header::CONTENT_LENGTH));
    }

    #[test]
    fn responses_that_cannot_be_framed_safely_are_errors() {
        for wire in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert!(reply(wire, false).is_err(), "{wire:?}");
        }
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
        assert!(reply(&format!("HTTP/1.1 200 OK\r\n{many}\r\n"), false).is_err());
    }
}
