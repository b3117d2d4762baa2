//! A client connection's writes are bounded in time: a response that
//! makes no progress for `send_ms` (the client stopped reading, and its
//! socket buffer is full) fails the connection, which closes it and frees
//! what the response held: the file, the buffers, the upstream connection
//! (nginx's `send_timeout`). The timer is armed only when a write has to
//! wait, and one timer is kept per connection, so a client that reads
//! costs a branch per write.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::rt::{Read, ReadBufCursor, Write};
use tokio::time::{Instant, Sleep};

pub struct SendTimeout<I> {
    io: I,
    limit: Duration,
    /// Armed while a write waits.
    armed: bool,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<I> SendTimeout<I> {
    pub fn new(io: I, limit: Duration) -> SendTimeout<I> {
        SendTimeout {
            io,
            limit,
            armed: false,
            timer: None,
        }
    }

    /// The stream, once its connection is done with it (parked).
    pub fn into_inner(self) -> I {
        self.io
    }

    /// A write had to wait: fails once it has waited `limit` in all.
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.armed {
            self.armed = true;
            let deadline = Instant::now() + self.limit;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let timer = self.timer.as_mut().expect("armed above");
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing of the response within send_ms",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(
        &mut self,
        polled: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => self.waiting(cx),
            ready => {
                self.armed = false;
                ready
            }
        }
    }
}

impl<I: Read + Unpin> Read for SendTimeout<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: Write + Unpin> Write for SendTimeout<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progressed(polled, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progressed(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.progressed(polled, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_shutdown(cx);
        this.progressed(polled, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::rt::TokioIo;

    async fn write<I: Write + Unpin>(io: &mut SendTimeout<I>, data: &[u8]) -> io::Result<usize> {
        let mut io = Pin::new(io);
        std::future::poll_fn(move |cx| io.as_mut().poll_write(cx, data)).await
    }

    /// Fills the window (16 bytes), then a write waits for a reader that
    /// never comes: it fails with TimedOut exactly `limit` later.
    async fn fails_after_the_limit<I: Write + Unpin>(io: &mut SendTimeout<I>, limit: Duration) {
        assert_eq!(write(io, b"0123456789abcdef").await.unwrap(), 16);
        let started = Instant::now();
        let err = write(io, b"more").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let waited = started.elapsed();
        assert!(
            waited >= limit && waited <= limit + Duration::from_millis(1),
            "{waited:?}"
        );
    }

    // On tokio's paused clock: the waits below take no real time and the
    // timer fires exactly when due, whatever the machine is doing.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_write_that_waits_too_long_fails_and_progress_resets_the_clock() {
        let limit = Duration::from_millis(100);
        let (near, mut far) = tokio::io::duplex(16);
        let mut io = SendTimeout::new(TokioIo::new(near), limit);
        // A reader that keeps up, slower than the limit in all.
        for _ in 0..4 {
            assert_eq!(write(&mut io, b"0123456789abcdef").await.unwrap(), 16);
            tokio::time::sleep(limit / 2).await;
            let mut sink = [0u8; 16];
            tokio::io::AsyncReadExt::read_exact(&mut far, &mut sink)
                .await
                .unwrap();
        }
        // One that stops reading.
        fails_after_the_limit(&mut io, limit).await;
    }

    // A client that pauses longer than the limit in all, but never for the
    // limit at once, is not cut: each wait is timed from its own start,
    // even when the timer was set by an earlier wait and fires early.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn each_wait_is_timed_from_its_own_start() {
        let limit = Duration::from_millis(100);
        let (near, mut far) = tokio::io::duplex(16);
        let mut io = SendTimeout::new(TokioIo::new(near), limit);
        let mut sink = [0u8; 16];
        for _ in 0..3 {
            assert_eq!(write(&mut io, b"0123456789abcdef").await.unwrap(), 16);
            // This write waits 60% of the limit for the reader.
            let reader = async {
                tokio::time::sleep(limit * 6 / 10).await;
                tokio::io::AsyncReadExt::read_exact(&mut far, &mut sink)
                    .await
                    .unwrap();
            };
            let (written, ()) = tokio::join!(write(&mut io, b"x"), reader);
            assert_eq!(written.unwrap(), 1);
            // Drain the byte and idle past the first wait's deadline.
            tokio::io::AsyncReadExt::read_exact(&mut far, &mut sink[..1])
                .await
                .unwrap();
            tokio::time::sleep(limit / 2).await;
        }
        // And a wait that does last the limit still fails on time.
        fails_after_the_limit(&mut io, limit).await;
    }
}
