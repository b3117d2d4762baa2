//! The one response body type: a buffer, a file streamed in chunks, or an
//! upstream's body passed through as it arrives (never buffered whole).

use std::fs::File;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body::{Frame, SizeHint};

use crate::proxy::read_buffers;
use crate::proxy::request::cache::Recording;
use crate::proxy::request::compress::Compressing;
use crate::proxy::upstream::http1::ResponseBody;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub enum Body {
    Full(Option<Bytes>),
    File(FileChunks),
    Upstream(ResponseBody),
    /// Compressed as it streams (`request::compress`).
    Compressed(Box<Compressing>),
    /// Passed on and kept for the cache (`request::cache`).
    Recorded(Box<Recording>),
}

impl Body {
    pub fn empty() -> Body {
        Body::Full(None)
    }

    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// A response with this body, status and headers.
    pub fn respond(self, status: StatusCode, headers: HeaderMap) -> Response<Body> {
        let mut resp = Response::new(self);
        *resp.status_mut() = status;
        *resp.headers_mut() = headers;
        resp
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
                let want = f.remaining.min(read_buffers::CHUNK as u64) as usize;
                match read_buffers::read(&mut f.file, want) {
                    Ok(chunk) if chunk.is_empty() => {
                        Poll::Ready(Some(Err("the file shrank while it was sent".into())))
                    }
                    Ok(chunk) => {
                        f.remaining -= chunk.len() as u64;
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                    Err(e) => Poll::Ready(Some(Err(e.into()))),
                }
            }
            Body::Upstream(up) => Pin::new(up).poll_frame(cx),
            Body::Compressed(c) => c.poll_frame(cx),
            Body::Recorded(r) => r.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(bytes) => bytes.is_none(),
            Body::File(f) => f.remaining == 0,
            Body::Upstream(up) => up.is_end_stream(),
            Body::Compressed(c) => c.is_end_stream(),
            Body::Recorded(r) => r.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::File(f) => SizeHint::with_exact(f.remaining),
            Body::Upstream(up) => up.size_hint(),
            Body::Compressed(c) => c.size_hint(),
            Body::Recorded(r) => r.size_hint(),
        }
    }
}
