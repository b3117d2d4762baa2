//! The one response body type: a buffer, a file streamed in chunks, or an
//! upstream's body passed through as it arrives (never buffered whole).

use std::fs::File;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;

use super::pool::Lease;
use super::upstream::InFlight;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Files are read this much at a time.
const CHUNK: usize = 64 * 1024;

pub enum Body {
    Full(Option<Bytes>),
    File(FileChunks),
    Upstream(FromUpstream),
}

/// An upstream's response body. It keeps the request counted
/// (least-connections) until it is passed on or dropped, and gives its
/// connection back to the pool once read to the end.
pub struct FromUpstream {
    body: Incoming,
    _in_flight: InFlight,
    lease: Option<Lease>,
}

impl FromUpstream {
    pub fn new(body: Incoming, in_flight: InFlight, lease: Lease) -> FromUpstream {
        FromUpstream {
            body,
            _in_flight: in_flight,
            lease: Some(lease),
        }
    }

    fn release(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release();
        }
    }
}

impl Drop for FromUpstream {
    fn drop(&mut self) {
        // Bodies that were empty from the start (HEAD, 204, 304) are never
        // polled; a body dropped half-read closes its connection.
        if self.body.is_end_stream() {
            self.release();
        }
    }
}

impl Body {
    pub fn empty() -> Body {
        Body::Full(None)
    }

    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body::Full((!bytes.is_empty()).then_some(bytes))
    }
}

/// `len` bytes of an open file from its current position. Reads block the
/// worker briefly, as nginx's do without aio: static files are expected to
/// sit in the page cache.
pub struct FileChunks {
    file: File,
    remaining: u64,
}

impl FileChunks {
    pub fn new(file: File, len: u64) -> FileChunks {
        FileChunks {
            file,
            remaining: len,
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::File(f) => {
                if f.remaining == 0 {
                    return Poll::Ready(None);
                }
                let want = f.remaining.min(CHUNK as u64) as usize;
                let mut buf = BytesMut::zeroed(want);
                match f.file.read(&mut buf) {
                    Ok(0) => Poll::Ready(Some(Err("the file shrank while it was sent".into()))),
                    Ok(n) => {
                        f.remaining -= n as u64;
                        buf.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
                    }
                    Err(e) => Poll::Ready(Some(Err(e.into()))),
                }
            }
            Body::Upstream(up) => {
                let frame = Pin::new(&mut up.body).poll_frame(cx);
                if let Poll::Ready(None) = frame {
                    up.release();
                }
                frame.map_err(Into::into)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(bytes) => bytes.is_none(),
            Body::File(f) => f.remaining == 0,
            Body::Upstream(up) => up.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::File(f) => SizeHint::with_exact(f.remaining),
            Body::Upstream(up) => up.body.size_hint(),
        }
    }
}
