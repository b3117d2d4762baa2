//! HTTP/1.1 to upstreams, spoken inside the request's own task: the request
//! head and body are written to the pooled connection, the response head is
//! parsed with httparse, and the response body is read straight from the
//! connection as the client's side asks for it.
//!
//! Why not hyper's client: it runs every connection in a task of its own
//! and hands each request over and the response back through channels, so
//! a proxied request costs several task wake-ups and allocations that
//! nginx's single event loop does not have. That was the largest part of
//! the gap to nginx in `bench/proxy.sh`. The client side here only has to
//! understand the responses of the upstreams it was configured for, and
//! it reads them strictly: a head it cannot parse, a conflicting
//! `Content-Length` or a bad chunk ends in 502 and a closed connection,
//! never a guess.

use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use smallvec::SmallVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::proxy::body::BoxError;
use crate::proxy::http::chunked::{self, Decoder, Step};
use crate::proxy::http::headers::{self, Forwarding};
use crate::proxy::upstream::group::InFlight;
use crate::proxy::upstream::pool::{Conn, Lease, Stream};

/// A response head may be this long.
const MAX_HEAD: usize = 64 * 1024;
/// A response head may have this many header lines (hyper's default).
const MAX_HEADERS: usize = 100;
/// A read is given at least this much room...
const MIN_ROOM: usize = 4 * 1024;
/// ...by growing the buffer this much when it has less.
const READ_RESERVE: usize = 16 * 1024;

/// Makes room to read into. The buffer is grown only when short, so the
/// memory of earlier responses (shared with bodies already passed on) is
/// reused once they are gone instead of reallocated per response.
fn make_room(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < MIN_ROOM {
        buf.reserve(READ_RESERVE);
    }
}

/// A client's request body on its way upstream, limited to the route's
/// maximum.
pub type RequestBody = Limited<Incoming>;

/// How a request body is delimited on its way upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// As the client declared it in `Content-Length`: exactly this many
    /// bytes, counted as they are sent.
    Length(u64),
    /// Of unknown length: chunked.
    Chunked,
}

/// Why an exchange with an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection closed (or was reset) before a byte of the response
    /// came back. On a pooled connection the upstream has most likely just
    /// closed it while it was idle.
    #[error("the connection closed before a response")]
    Closed,
    /// The client's body went over the route's limit.
    #[error("the request body is over the limit")]
    TooLarge,
    /// The client's body could not be read (the client went away or sent
    /// bad framing).
    #[error("the client's body failed: {0}")]
    ClientBody(BoxError),
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The client's body was longer or shorter than its `Content-Length`
    /// said (whatever the server in front let through): the upstream
    /// connection is closed, never reused.
    #[error("the request body was {sent} bytes where Content-Length said {declared}")]
    BodyLength { declared: u64, sent: u64 },
    /// The upstream did not answer within the read timeout.
    #[error("no response within the read timeout")]
    TimedOut,
    /// The upstream does not speak HTTP/1.1 correctly.
    #[error("invalid response: {0}")]
    Invalid(String),
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

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

/// The request head in wire form (origin-form target, HTTP/1.1), written
/// over `out` (a connection's head buffer, reused from request to
/// request). With `chunked`, the body of unknown length is sent chunked.
pub fn encode_head(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    forwarding: Option<&Forwarding<'_>>,
    chunked: bool,
) {
    const TE_CHUNKED: &[u8] = b"transfer-encoding: chunked\r\n";
    let size = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + method.as_str().len()
        + target.len()
        + 13
        + TE_CHUNKED.len()
        + forwarding.map_or(0, Forwarding::len);
    out.clear();
    out.reserve(size);
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(forwarding) = forwarding {
        forwarding.write(out);
    }
    if chunked {
        out.extend_from_slice(TE_CHUNKED);
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the request (the head in `conn.head`, then `body`: as it is
/// with a `Content-Length` in the head, else chunked) and reads the
/// response head, all by `deadline`. The response's headers are parsed
/// into `headers` (the request's map, cleared: hyper hands the response's
/// map back for the next request, so no map is allocated per request).
pub async fn exchange(
    conn: &mut Conn,
    body: Option<(&mut RequestBody, Sending)>,
    request_is_head: bool,
    deadline: Instant,
    headers: &mut HeaderMap,
) -> Result<Reply, Error> {
    let Conn {
        stream,
        buf,
        head,
        timer,
    } = conn;
    // One timer per connection: pushing a registered timer later is an
    // atomic store, where a new one per request takes the timer wheel's
    // lock twice (register, cancel).
    let timer = match timer {
        Some(timer) => {
            timer.as_mut().reset(deadline);
            timer
        }
        None => timer.insert(Box::pin(tokio::time::sleep_until(deadline))),
    };
    let mut work = pin!(talk(stream, buf, head, body, request_is_head, headers));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = work.as_mut().poll(cx) {
            return Poll::Ready(done);
        }
        // Outside the task's co-op budget, as `tokio::time::timeout` polls
        // its timer: an exchange that used up the budget must not keep
        // its deadline from firing.
        match Pin::new(&mut tokio::task::unconstrained(timer.as_mut())).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Error::TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

async fn talk(
    stream: &mut Stream,
    buf: &mut BytesMut,
    head: &[u8],
    body: Option<(&mut RequestBody, Sending)>,
    request_is_head: bool,
    headers: &mut HeaderMap,
) -> Result<Reply, Error> {
    let written = async {
        stream.write_all(head).await?;
        if let Some((body, sending)) = body {
            write_body(stream, body, sending).await?;
        }
        stream.flush().await?;
        Ok::<(), Error>(())
    };
    // An upstream may answer (a 413, say) and close before it has read
    // the whole request: its answer is still read, if it came.
    let cut_off = match written.await {
        Ok(()) => false,
        Err(Error::Io(e)) if is_closed(&e) => true,
        Err(e) => return Err(e),
    };
    let mut received = false;
    loop {
        if !buf.is_empty() {
            received = true;
            if let Some(mut reply) = parse(buf, request_is_head, headers)? {
                reply.reusable &= !cut_off;
                return Ok(reply);
            }
            if buf.len() >= MAX_HEAD {
                return Err(Error::Invalid("a response head over 64 KiB".into()));
            }
        }
        make_room(buf);
        match stream.read_buf(buf).await {
            Ok(0) if received => {
                return Err(Error::Invalid("closed in the middle of the head".into()));
            }
            Ok(0) => return Err(Error::Closed),
            Ok(_) => {}
            Err(e) if !received && is_closed(&e) => return Err(Error::Closed),
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

/// Sends the client's body: chunked, or counted against its declared
/// length, so that a body longer or shorter than declared ends the
/// exchange (and the connection) instead of running into the next request
/// on it.
async fn write_body<W, B>(stream: &mut W, body: &mut B, sending: Sending) -> Result<(), Error>
where
    W: tokio::io::AsyncWrite + Unpin,
    B: http_body::Body<Data = Bytes, Error = BoxError> + Unpin,
{
    let mut sent: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Error::TooLarge
            } else {
                Error::ClientBody(e)
            }
        })?;
        let Ok(mut data) = frame.into_data() else {
            // Trailers are not passed on.
            continue;
        };
        if data.is_empty() {
            continue;
        }
        match sending {
            Sending::Chunked => {
                let mut framed = chunked::chunk_header(data.len())
                    .chain(data)
                    .chain(chunked::CHUNK_END);
                stream.write_all_buf(&mut framed).await?;
            }
            Sending::Length(declared) => {
                sent += data.len() as u64;
                if sent > declared {
                    return Err(Error::BodyLength { declared, sent });
                }
                stream.write_all_buf(&mut data).await?;
            }
        }
    }
    match sending {
        Sending::Chunked => stream.write_all(chunked::LAST_CHUNK).await?,
        Sending::Length(declared) if sent != declared => {
            return Err(Error::BodyLength { declared, sent });
        }
        Sending::Length(_) => {}
    }
    Ok(())
}

/// Parses a complete response head off the front of `buf` (skipping
/// interim 1xx responses other than 101); None while it is incomplete.
/// The headers go into `headers`, which is cleared first and taken.
fn parse(
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
        let hop_by_hop = headers::is_hop_by_hop(name) || (*name == header::UPGRADE && !switching);
        Ok(!(hop_by_hop || *name == header::SERVER || *name == headers::X_POWERED_BY))
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
pub struct ResponseBody {
    lease: Option<Lease>,
    framing: Framing,
    reusable: bool,
    _in_flight: Option<InFlight>,
    /// How long the upstream may go without sending a byte of the body.
    read_timeout: Duration,
    /// Armed the first time a read has to wait, and pushed back after
    /// every read that brings data; a body that arrives with its head
    /// never needs it.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl ResponseBody {
    /// The body `framing` announces; `reusable` is the reply's.
    pub fn new(
        lease: Lease,
        framing: Framing,
        reusable: bool,
        in_flight: Option<InFlight>,
        read_timeout: Duration,
    ) -> ResponseBody {
        let mut body = ResponseBody {
            lease: Some(lease),
            framing,
            reusable,
            _in_flight: in_flight,
            read_timeout,
            stall: None,
        };
        if matches!(body.framing, Framing::Empty | Framing::Length(0)) {
            body.finish();
        }
        body
    }

    fn finish(&mut self) {
        self.framing = Framing::Empty;
        if let Some(lease) = self.lease.take()
            && self.reusable
        {
            lease.release();
        }
    }

    /// Gives up on the body: its connection closes, and the client's
    /// response ends short (hyper aborts it), so the reason is logged here.
    fn fail(&mut self, e: BoxError) -> BoxError {
        if let Some(lease) = self.lease.take() {
            tracing::warn!("upstream {} {e}; the response was cut short", lease.base());
        }
        e
    }

    fn at_end(&self) -> bool {
        match &self.framing {
            Framing::Empty | Framing::Length(0) => true,
            Framing::Chunked(decoder) => decoder.is_done(),
            Framing::Length(_) | Framing::UntilClose => false,
        }
    }
}

/// Takes the next piece of body from what has been read, without reading.
fn buffered(framing: &mut Framing, conn: &mut Conn) -> Result<Option<Bytes>, BoxError> {
    let data = match framing {
        Framing::Empty => return Ok(None),
        Framing::Length(left) => {
            if conn.buf.is_empty() {
                return Ok(None);
            }
            let take = (*left).min(conn.buf.len() as u64);
            *left -= take;
            conn.buf.split_to(take as usize).freeze()
        }
        Framing::Chunked(decoder) => match decoder.decode(&mut conn.buf)? {
            Step::Data(data) => data,
            Step::NeedMore | Step::Done => return Ok(None),
        },
        Framing::UntilClose => {
            if conn.buf.is_empty() {
                return Ok(None);
            }
            conn.buf.split().freeze()
        }
    };
    Ok(Some(data))
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(lease) = this.lease.as_mut() else {
                return Poll::Ready(None);
            };
            match buffered(&mut this.framing, &mut lease.conn) {
                Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
                Ok(Some(data)) => {
                    if this.at_end() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(None) if this.at_end() => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(None) => {}
            }
            let Some(lease) = this.lease.as_mut() else {
                return Poll::Ready(None);
            };
            let conn = &mut lease.conn;
            make_room(&mut conn.buf);
            let read = match pin!(conn.stream.read_buf(&mut conn.buf)).poll(cx) {
                Poll::Ready(read) => read,
                Poll::Pending => {
                    let timeout = this.read_timeout;
                    let stall = this
                        .stall
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                    if stall.as_mut().poll(cx).is_ready() {
                        let ms = timeout.as_millis();
                        let e = format!("sent nothing of the body for {ms}ms").into();
                        return Poll::Ready(Some(Err(this.fail(e))));
                    }
                    return Poll::Pending;
                }
            };
            if let Some(stall) = this.stall.as_mut() {
                stall
                    .as_mut()
                    .reset(tokio::time::Instant::now() + this.read_timeout);
            }
            match read {
                Ok(0) if matches!(this.framing, Framing::UntilClose) => {
                    this.reusable = false;
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    let e = "closed the connection before the end of the body".into();
                    return Poll::Ready(Some(Err(this.fail(e))));
                }
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(this.fail(e.into())))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.lease.is_none() || self.at_end()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.framing {
            Framing::Empty => SizeHint::with_exact(0),
            Framing::Length(n) => SizeHint::with_exact(*n),
            Framing::Chunked(_) | Framing::UntilClose => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &'static str) -> impl http_body::Body<Data = Bytes, Error = BoxError> + Unpin {
        http_body_util::Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never: std::convert::Infallible| -> BoxError { match never {} })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_body_is_counted_against_its_declared_length() {
        let mut out = Vec::new();
        write_body(&mut out, &mut body("hello"), Sending::Length(5))
            .await
            .unwrap();
        assert_eq!(out, b"hello");
        // Longer than declared: refused before a byte of it is sent, so
        // nothing can run on into a next request on the connection.
        let mut out = Vec::new();
        let err = write_body(&mut out, &mut body("hello world"), Sending::Length(5))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::BodyLength {
                    declared: 5,
                    sent: 11
                }
            ),
            "{err}"
        );
        assert!(out.is_empty());
        // Shorter: the exchange ends in an error (the connection is not
        // kept, the upstream waits for bytes that never come).
        let err = write_body(&mut Vec::new(), &mut body("hi"), Sending::Length(5))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::BodyLength {
                    declared: 5,
                    sent: 2
                }
            ),
            "{err}"
        );
        let mut out = Vec::new();
        write_body(&mut out, &mut body("hello"), Sending::Chunked)
            .await
            .unwrap();
        assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
    }

    fn reply(wire: &str, head_request: bool) -> Result<Option<Reply>, Error> {
        let mut buf = BytesMut::from(wire.as_bytes());
        parse(&mut buf, head_request, &mut HeaderMap::new())
    }

    fn framing_of(wire: &str) -> (String, bool) {
        let r = reply(wire, false).unwrap().unwrap();
        (format!("{:?}", r.framing), r.reusable)
    }

    #[test]
    fn the_head_is_encoded_in_origin_form_with_every_header() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("a.test"));
        h.append("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        let mut wire = b"left from the last request".to_vec();
        encode_head(&mut wire, &Method::POST, "/p?q=1", &h, None, true);
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nhost: a.test\r\nx-a: 1\r\nx-a: 2\r\n\
             transfer-encoding: chunked\r\n\r\n"
        );
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

    /// Property tests of `parse`: no input panics it, how the input is
    /// split never changes the outcome, and a head built from random
    /// valid parts parses back to those parts.
    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::*;

        /// A parsed reply in a form two runs can be compared by: status,
        /// headers, framing, reusable, and what is left after the head.
        type Summary = (u16, HeaderMap, String, bool, Vec<u8>);

        /// Parses `input` fed in pieces that end at `cuts` (modulo the
        /// length, any order), calling `parse` after each piece as `talk`
        /// does after each read.
        fn parse_split(
            input: &[u8],
            cuts: &[usize],
            head: bool,
        ) -> Result<Option<Summary>, String> {
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
            let name =
                (vec(any::<u8>(), 1..12), any::<u8>()).prop_map(|(bytes, pick)| {
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
                    wire.extend_from_slice(
                        format!("HTTP/{version} {status} {reason}\r\n").as_bytes(),
                    );
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
                vec(head_byte(), 0..300)
                    .prop_map(|tail| [&b"HTTP/1.1 200 OK\r\n"[..], &tail].concat()),
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
    }
}
