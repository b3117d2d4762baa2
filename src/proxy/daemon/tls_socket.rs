//! A TLS client's stream as hyper's HTTP/1.1 connection reads and writes
//! it, so that the connection can be parked between requests like a
//! plain one (`park`): hyper's connection and its buffers go, the TLS
//! session (rustls's connection) and the socket stay.
//!
//! What a parked TLS connection still holds is rustls's: its session
//! state and its 4 KiB buffer of received records, which rustls keeps for
//! the connection's life.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::proxy::daemon::park::{HyperSide, Park, Waiting};

pub struct TlsSocket {
    stream: Box<TlsStream<TcpStream>>,
    side: HyperSide,
}

impl TlsSocket {
    /// hyper's side of a TLS stream, reading `leftover` (what a parked
    /// hyper connection had not parsed) first.
    pub fn resume(
        stream: Box<TlsStream<TcpStream>>,
        leftover: Bytes,
        park: Arc<Park>,
    ) -> TlsSocket {
        TlsSocket {
            stream,
            side: HyperSide::new(leftover, park),
        }
    }

    /// Back from a parked hyper connection: the TLS stream alone.
    pub fn into_stream(self) -> Box<TlsStream<TcpStream>> {
        self.stream
    }
}

/// What a parked TLS connection has to serve before its socket becomes
/// readable: records rustls received (a pipelined request, a key update)
/// and has not handed out yet.
pub fn waiting(stream: &mut TlsStream<TcpStream>) -> Waiting {
    let session = stream.get_mut().1;
    match session.process_new_packets() {
        Err(_) => Waiting::Closed,
        Ok(state) if state.peer_has_closed() => Waiting::Closed,
        Ok(state) if state.plaintext_bytes_to_read() > 0 || state.tls_bytes_to_write() > 0 => {
            Waiting::Ready
        }
        Ok(_) => Waiting::Nothing,
    }
}

impl AsyncRead for TlsSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.side.before_read(buf) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.side.read(buf.filled().len() - before);
        }
        read
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.side.wrote(&written);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.side.wrote(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.stream).poll_flush(cx);
        this.side.flushed(&flushed);
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Parking: hyper's connection ends, the client's does not (no
        // close_notify), once what hyper wrote is sent.
        if this.side.parking() {
            return Pin::new(&mut this.stream).poll_flush(cx);
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
