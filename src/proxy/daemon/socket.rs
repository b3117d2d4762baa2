//! A plain-HTTP client's TCP socket, shared by hyper, which reads the
//! requests from it and writes the responses to it, and by the request
//! being served, which watches it for the client hanging up.
//!
//! hyper notices a hang-up by itself only by reading the socket in the
//! middle of every request (`half_close(false)`), and that read makes it
//! reallocate its 8 KiB read buffer for every request, because the request
//! still holds the old one. With `half_close(true)` hyper reads only
//! between requests, and a request that waits on its upstream asks
//! [`poll_gone`] instead, as nginx does (a one-byte `MSG_PEEK`): a client
//! that goes away still cancels its upstream request. Plain HTTP/1.1 only:
//! over TLS a client's close alert arrives before its FIN and a peek
//! cannot tell it from data, so TLS connections keep their own socket and
//! hyper's own check.
//!
//! It is also the stream a plain connection is parked with between
//! requests (`park`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::proxy::daemon::park::{HyperSide, Park};

/// Vectored writes up to this size are sent from one stack buffer.
const SMALL_WRITE: usize = 4 * 1024;

/// hyper's side of the shared socket.
pub struct ClientSocket {
    stream: Arc<TcpStream>,
    side: HyperSide,
}

impl ClientSocket {
    /// hyper's side of a connection's socket (shared with the requests,
    /// which watch it), reading `leftover` (what a parked hyper connection
    /// had not parsed) first.
    pub fn resume(stream: Arc<TcpStream>, leftover: Bytes, park: Arc<Park>) -> ClientSocket {
        ClientSocket {
            stream,
            side: HyperSide::new(leftover, park),
        }
    }

    /// Back from a parked hyper connection: the shared socket.
    pub fn into_stream(self) -> Arc<TcpStream> {
        self.stream
    }
}

/// Is the client gone? `Ready(true)`: it closed or reset the connection.
/// `Ready(false)`: bytes wait in the socket (the rest of a request body,
/// or a pipelined request), so a hang-up cannot be seen now, and nothing
/// was registered: ask again when something else wakes the task.
/// `Pending`: quiet, and this task is woken when that changes.
pub fn poll_gone(socket: &TcpStream, cx: &mut Context<'_>) -> Poll<bool> {
    let mut probe = [0u8; 1];
    match socket.poll_peek(cx, &mut ReadBuf::new(&mut probe)) {
        Poll::Pending => Poll::Pending,
        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Poll::Ready(true),
        Poll::Ready(Ok(_)) => Poll::Ready(false),
    }
}

/// Runs `attempt`'s I/O with the readiness bookkeeping tokio's own
/// `TcpStream` does: an operation that moved less than it was offered
/// drained the socket (or filled its buffer), so the readiness is cleared
/// and the next one waits for the event loop instead of making a system
/// call that would only return `EAGAIN`. The readiness cleared is the one
/// seen before the operation, so an event that arrives after it is kept.
fn poll_io(
    socket: &TcpStream,
    cx: &mut Context<'_>,
    interest: Interest,
    mut attempt: impl FnMut() -> io::Result<(usize, bool)>,
) -> Poll<io::Result<usize>> {
    loop {
        if interest.is_readable() {
            ready!(socket.poll_read_ready(cx))?;
        } else {
            ready!(socket.poll_write_ready(cx))?;
        }
        let mut moved = 0;
        let outcome = socket.try_io(interest, || {
            let (n, short) = attempt()?;
            moved = n;
            if short {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        match outcome {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && moved > 0 => {
                return Poll::Ready(Ok(moved));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

impl AsyncRead for ClientSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.side.before_read(buf) {
            return Poll::Ready(Ok(()));
        }
        let room = buf.remaining();
        let socket = &*this.stream;
        let read = poll_io(socket, cx, Interest::READABLE, || {
            let n = socket.try_read_buf(buf)?;
            Ok((n, n > 0 && n < room))
        });
        if let Poll::Ready(Ok(n)) = read {
            this.side.read(n);
        }
        read.map_ok(|_| ())
    }
}

impl AsyncWrite for ClientSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let socket = &*self.stream;
        let written = poll_io(socket, cx, Interest::WRITABLE, || {
            let n = socket.try_write(buf)?;
            Ok((n, n > 0 && n < buf.len()))
        });
        self.side.wrote(&written);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let socket = &*self.stream;
        let offered: usize = bufs.iter().map(|b| b.len()).sum();
        let written = if bufs.len() > 1 && offered <= SMALL_WRITE {
            // A small response (head and body, say) is copied into one
            // buffer on the stack: one plain `send` costs the kernel less
            // than a `writev` of its pieces.
            let mut flat = [0u8; SMALL_WRITE];
            let mut len = 0;
            for b in bufs {
                flat[len..len + b.len()].copy_from_slice(b);
                len += b.len();
            }
            poll_io(socket, cx, Interest::WRITABLE, || {
                let n = socket.try_write(&flat[..len])?;
                Ok((n, n > 0 && n < len))
            })
        } else {
            poll_io(socket, cx, Interest::WRITABLE, || {
                let n = socket.try_write_vectored(bufs)?;
                Ok((n, n > 0 && n < offered))
            })
        };
        self.side.wrote(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Parking: hyper's connection ends, the client's does not.
        if self.side.parking() {
            return Poll::Ready(Ok(()));
        }
        let done = socket2::SockRef::from(&*self.stream).shutdown(std::net::Shutdown::Write);
        Poll::Ready(match done {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicI64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (ClientSocket, Arc<TcpStream>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let shared = Arc::new(server);
        let socket =
            ClientSocket::resume(Arc::clone(&shared), Bytes::new(), Park::new(Arc::default()));
        (socket, shared, client)
    }

    fn now(socket: &TcpStream) -> Poll<bool> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        poll_gone(socket, &mut cx)
    }

    #[tokio::test]
    async fn a_parked_connection_keeps_its_socket_and_its_unparsed_bytes() {
        let buffered = Arc::new(AtomicI64::new(0));
        let park = Park::new(Arc::clone(&buffered));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let shared = Arc::new(server);
        let mut socket = ClientSocket::resume(Arc::clone(&shared), Bytes::new(), Arc::clone(&park));
        assert!(park.clean(), "nothing read yet");
        client.write_all(b"GET / HT").await.unwrap();
        let mut buf = vec![0u8; 64];
        assert_eq!(socket.read(&mut buf).await.unwrap(), 8);
        assert!(!park.clean(), "a head begun");
        assert_eq!(
            buffered.load(Ordering::Relaxed),
            64,
            "the room offered is counted"
        );
        socket.write_all(b"answer").await.unwrap();
        assert!(park.clean(), "answered");
        // Parking: the shutdown leaves the client's connection open, and
        // the read buffer is no longer counted.
        park.begin();
        socket.shutdown().await.unwrap();
        drop(socket);
        assert_eq!(buffered.load(Ordering::Relaxed), 0);
        let mut got = [0u8; 6];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"answer");
        // The next hyper connection reads what the parked one had not
        // parsed, then the socket.
        let mut socket = ClientSocket::resume(shared, Bytes::from_static(b"GET / HT"), park);
        client.write_all(b"TP/1.1").await.unwrap();
        let mut text = Vec::new();
        while text.len() < 14 {
            let n = socket.read(&mut buf).await.unwrap();
            text.extend_from_slice(&buf[..n]);
        }
        assert_eq!(text, b"GET / HTTP/1.1");
        // Not parking: the shutdown reaches the client.
        socket.shutdown().await.unwrap();
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_short_read_leaves_the_next_read_waiting_without_losing_data() {
        let (mut socket, _, mut client) = pair().await;
        client.write_all(b"first").await.unwrap();
        let mut buf = vec![0u8; 64];
        assert_eq!(socket.read(&mut buf).await.unwrap(), 5);
        // Data that arrives after the short read is still read.
        client.write_all(b"second").await.unwrap();
        let n = socket.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"second");
        socket.write_all(b"answer").await.unwrap();
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"answer");
    }

    #[tokio::test]
    async fn vectored_writes_small_and_large_arrive_whole_and_in_order() {
        let (mut socket, _, mut client) = pair().await;
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n".to_vec();
        let big: Vec<u8> = (0..3 * SMALL_WRITE).map(|i| (i % 251) as u8).collect();
        let mut sent = Vec::new();
        for pieces in [vec![&head[..], b"abc"], vec![&head[..], &big[..]]] {
            let mut slices: Vec<io::IoSlice> = pieces.iter().map(|p| io::IoSlice::new(p)).collect();
            let mut slices = &mut slices[..];
            while !slices.is_empty() {
                let n = socket.write_vectored(slices).await.unwrap();
                io::IoSlice::advance_slices(&mut slices, n);
            }
            sent.extend(pieces.concat());
        }
        drop(socket);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, sent);
    }

    #[tokio::test]
    async fn a_quiet_client_is_there_a_closed_one_is_gone() {
        let (_socket, shared, client) = pair().await;
        assert!(now(&shared).is_pending());
        drop(client);
        let gone = poll_fn(|cx| poll_gone(&shared, cx)).await;
        assert!(gone);
    }

    #[tokio::test]
    async fn a_client_that_sent_more_cannot_be_judged() {
        let (_socket, shared, mut client) = pair().await;
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let more = poll_fn(|cx| poll_gone(&shared, cx)).await;
        assert!(!more, "data waiting is not a hang-up");
    }
}
