//! The upstream's response body, read from the pooled connection as the
//! client's side asks for it; the connection goes back to the pool once the
//! body was read exactly to its end.

use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::AsyncReadExt;

use super::{Framing, make_room};
use crate::proxy::body::BoxError;
use crate::proxy::http::chunked::Step;
use crate::proxy::upstream::group::InFlight;
use crate::proxy::upstream::pool::{Lease, UpstreamConn};

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
fn buffered(framing: &mut Framing, conn: &mut UpstreamConn) -> Result<Option<Bytes>, BoxError> {
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
