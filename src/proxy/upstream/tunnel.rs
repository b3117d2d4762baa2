//! An upgraded connection (WebSocket): bytes copied both ways between the
//! client and the upstream until either closes, or until nothing has
//! moved either way for the idle limit (nginx closes them after
//! `proxy_read_timeout` the same way).

use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::proxy::clock::{instant_at, stamp_ms};

/// Copies between `client` and `upstream`; an error when the tunnel was
/// idle for `idle` (both ends are then closed by the caller dropping them).
pub async fn run<A, B>(client: &mut A, upstream: &mut B, idle: Duration) -> io::Result<()>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    // When a byte last arrived from either side, in `stamp_ms` (never
    // early): one atomic store per read.
    let last = AtomicU64::new(stamp_ms());
    let mut client = Stamped {
        io: client,
        last: &last,
    };
    let mut upstream = Stamped {
        io: upstream,
        last: &last,
    };
    let mut copy = pin!(tokio::io::copy_bidirectional(&mut client, &mut upstream));
    loop {
        let due = tokio::time::Instant::from_std(instant_at(last.load(Relaxed))) + idle;
        tokio::select! {
            done = &mut copy => return done.map(drop),
            () = tokio::time::sleep_until(due) => {
                let due = instant_at(last.load(Relaxed)) + idle;
                if due <= std::time::Instant::now() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("idle for {} ms", idle.as_millis()),
                    ));
                }
            }
        }
    }
}

/// A stream that notes when it last read something.
struct Stamped<'a, T> {
    io: &'a mut T,
    last: &'a AtomicU64,
}

impl<T: AsyncRead + Unpin> AsyncRead for Stamped<'_, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut *this.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.last.store(stamp_ms(), Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stamped<'_, T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(flavor = "current_thread")]
    async fn a_busy_tunnel_lives_and_an_idle_one_is_closed() {
        let idle = Duration::from_millis(200);
        let (mut client, mut client_end) = tokio::io::duplex(64);
        let (mut upstream, mut upstream_end) = tokio::io::duplex(64);
        let tunnel =
            tokio::spawn(async move { run(&mut client_end, &mut upstream_end, idle).await });
        // Traffic for three idle limits keeps it open…
        let started = std::time::Instant::now();
        while started.elapsed() < idle * 3 {
            client.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            upstream.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            tokio::time::sleep(idle / 4).await;
        }
        assert!(!tunnel.is_finished());
        // …and silence closes it.
        let ended = tokio::time::timeout(Duration::from_secs(5), tunnel)
            .await
            .expect("closed once idle")
            .unwrap();
        assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }
}
