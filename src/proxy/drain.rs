//! Stopping one worker's connections gracefully: on SIGTERM every
//! connection finishes the request it is serving and closes, and the
//! worker waits for the last one.
//!
//! hyper-util's `GracefulShutdown` polls a watch channel every time a
//! connection is polled (a lock per poll, several polls per request). Here
//! a connection registers its waker once, and each poll reads one flag.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Default)]
pub struct Drain {
    draining: AtomicBool,
    /// Wakes every watched connection once when draining begins.
    begin: Notify,
    open: AtomicUsize,
    /// Signalled when the last connection closes while draining.
    idle: Notify,
}

/// Counts a watched connection until it ends.
struct Open<'a>(&'a Drain);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1
            && self.0.draining.load(Ordering::Acquire)
        {
            self.0.idle.notify_waiters();
        }
    }
}

impl Drain {
    /// Drives `conn` to its end; once draining begins, `shutdown` is
    /// called on it once (hyper's `graceful_shutdown`: finish the request
    /// in flight, take no more).
    pub async fn watch<C: Future>(&self, conn: C, shutdown: impl Fn(Pin<&mut C>)) -> C::Output {
        self.open.fetch_add(1, Ordering::AcqRel);
        let _open = Open(self);
        let mut conn = pin!(conn);
        let mut begin = pin!(self.begin.notified());
        let (mut registered, mut stopped) = (false, false);
        poll_fn(|cx| {
            if !stopped {
                // Polled once to leave this task's waker with the Notify;
                // after that the flag says whether draining has begun.
                let woken = !registered && begin.as_mut().poll(cx).is_ready();
                registered = true;
                if woken || self.draining.load(Ordering::Acquire) {
                    shutdown(conn.as_mut());
                    stopped = true;
                }
            }
            conn.as_mut().poll(cx)
        })
        .await
    }

    /// Connections being watched.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Tells every connection to finish, and waits until all have.
    pub async fn shutdown(&self) {
        self.draining.store(true, Ordering::Release);
        self.begin.notify_waiters();
        loop {
            let idle = self.idle.notified();
            let mut idle = pin!(idle);
            idle.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Poll;
    use std::time::Duration;

    /// A connection that ends once told to, like an idle keep-alive one.
    struct Idle(bool);

    impl Future for Idle {
        type Output = &'static str;
        fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<&'static str> {
            if self.0 {
                Poll::Ready("closed")
            } else {
                Poll::Pending
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn watched_connections_are_told_once_and_waited_for() {
        let drain = Arc::new(Drain::default());
        let told = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (drain, told) = (Arc::clone(&drain), Arc::clone(&told));
            tasks.push(tokio::spawn(async move {
                drain
                    .watch(Idle(false), |mut c| {
                        told.fetch_add(1, Ordering::Relaxed);
                        c.0 = true;
                    })
                    .await
            }));
        }
        tokio::task::yield_now().await;
        assert_eq!(drain.open(), 3);
        tokio::time::timeout(Duration::from_secs(5), drain.shutdown())
            .await
            .expect("every connection closed");
        for task in tasks {
            assert_eq!(task.await.unwrap(), "closed");
        }
        assert_eq!(told.load(Ordering::Relaxed), 3);
        assert_eq!(drain.open(), 0);
        // A connection that starts after draining began is told at once.
        let late = drain.watch(Idle(false), |mut c| c.0 = true).await;
        assert_eq!(late, "closed");
    }
}
