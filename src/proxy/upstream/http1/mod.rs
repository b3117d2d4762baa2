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
use std::task::Poll;

use bytes::{Buf, Bytes, BytesMut};
use http::Method;
use http::header::HeaderMap;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::proxy::body::BoxError;
use crate::proxy::http::chunked::{self};
use crate::proxy::http::forwarding::Forwarding;
use crate::proxy::upstream::pool::{Stream, UpstreamConn};

mod body;
#[cfg(test)]
mod properties;
mod response;

pub use body::ResponseBody;
use response::parse;
pub use response::{Framing, Reply};

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
    conn: &mut UpstreamConn,
    body: Option<(&mut RequestBody, Sending)>,
    request_is_head: bool,
    deadline: Instant,
    headers: &mut HeaderMap,
) -> Result<Reply, Error> {
    let UpstreamConn {
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

#[cfg(test)]
mod tests {
    use http::header::{self, HeaderValue};

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
}
