//! Stopping one worker's connections gracefully: on SIGTERM every
//! connection finishes the request it is serving and closes, and the
//! worker waits for the last one.
//!
//! hyper-util's `GracefulShutdown` polls a watch channel every time a
//! connection is polled (a lock per poll, several polls per request). Here
//! a connection registers its waker once, and each poll reads one flag.
//!
//! The same loop keeps connections from idling. On HTTP/1.1 a client gets
//! `header_read_ms` from the connection's start, or from the end of the
//! last response, to send its next request head, or the connection is
//! dropped (slowloris, and idle keep-alive). On HTTP/2 a connection with no
//! open stream for `http2_idle_ms` gets a GOAWAY and is closed; the
//! client's pings do not count. hyper's own header timeout allocates and
//! registers a timer for every request; this one is a timer per
//! connection, re-armed only when it fires.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;

use crate::proxy::clock::{instant_at, stamp_ms};

/// Whether a connection is serving requests (streams, on HTTP/2), and
/// since when it has served none.
pub struct Activity {
    /// Requests being served: from the start of each until hyper drops its
    /// response body (or the request is dropped unanswered).
    open: AtomicU32,
    /// When the last one ended, in [`stamp_ms`] (never early, under 1 ms
    /// late at most, against a timeout of seconds).
    since: AtomicU64,
    /// A request has started on the connection.
    started: AtomicBool,
}

impl Activity {
    /// Idle from now: a new connection.
    pub fn idle_now() -> Activity {
        Activity {
            open: AtomicU32::new(0),
            since: AtomicU64::new(stamp_ms()),
            started: AtomicBool::new(false),
        }
    }

    pub fn busy(&self) {
        self.started.store(true, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a request has started on the connection yet.
    fn started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// A request ended (its response was sent, or it was dropped).
    pub fn idle(&self) {
        // The stamp first: once the count reads 0 it must be current.
        self.since.store(stamp_ms(), Ordering::Relaxed);
        self.open.fetch_sub(1, Ordering::Release);
    }

    /// When a parked connection times out: `limit` after it went idle.
    pub fn idle_until(&self, limit: Duration) -> tokio::time::Instant {
        let since = self.since.load(Ordering::Relaxed);
        tokio::time::Instant::from_std(instant_at(since)) + limit
    }

    /// When the connection times out if nothing starts before: `limit`
    /// after it went idle, or `limit` from now while busy.
    fn due(&self, limit: Duration, now: tokio::time::Instant) -> tokio::time::Instant {
        if self.open.load(Ordering::Acquire) > 0 {
            return now + limit;
        }
        let since = self.since.load(Ordering::Relaxed);
        tokio::time::Instant::from_std(instant_at(since)) + limit
    }
}

/// How long a connection may sit without a request, and what then.
pub struct Idle<'a> {
    pub activity: &'a Activity,
    pub limit: Duration,
    /// HTTP/2: say GOAWAY (the connection's graceful shutdown) and close
    /// once it is sent, within [`GOAWAY_GRACE`]. HTTP/1.1: drop at once
    /// (the client may be in the middle of a head).
    pub goaway: bool,
    /// HTTP/1.1: park the connection once idle long enough.
    pub park: Option<Parking<'a>>,
}

/// When to park an HTTP/1.1 connection (`park::Park`: its graceful
/// shutdown with the socket kept): idle `after` since its last request
/// and since this hyper connection began (`begun`), so that one resumed
/// for a client's bytes reads them before it can be parked again.
pub struct Parking<'a> {
    pub after: Duration,
    pub begun: tokio::time::Instant,
    pub park: &'a crate::proxy::daemon::park::Park,
}

/// How long an idle HTTP/2 connection is given to send its GOAWAY.
const GOAWAY_GRACE: Duration = Duration::from_secs(1);

/// When draining begins, how long an HTTP/1.1 connection that has not
/// started a request yet (just accepted, its request perhaps already in
/// the socket) is given to start one, which is then answered with
/// `Connection: close`. hyper's graceful shutdown closes such a
/// connection at once, and its client, which sent a request, sees a reset:
/// during a handover that is a failed request.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Drain {
    draining: AtomicBool,
    /// Wakes every watched connection once when draining begins.
    begin: Notify,
    open: AtomicUsize,
    /// Signalled when the last connection closes while draining.
    idle: Notify,
}

/// Counts a connection, from its accept (a TLS handshake included) until
/// it ends.
pub struct Track(Arc<Drain>);

impl Track {
    pub fn drain(&self) -> &Drain {
        &self.0
    }
}

impl Drop for Track {
    fn drop(&mut self) {
        let drain = &self.0;
        if drain.open.fetch_sub(1, Ordering::AcqRel) == 1 && drain.draining.load(Ordering::Acquire)
        {
            drain.idle.notify_waiters();
        }
    }
}

impl Drain {
    /// Counts a new connection until the returned guard is dropped.
    pub fn track(self: &Arc<Self>) -> Track {
        self.open.fetch_add(1, Ordering::AcqRel);
        Track(Arc::clone(self))
    }

    /// Drives `conn` to its end; once draining begins, `shutdown` is
    /// called on it once (hyper's `graceful_shutdown`: finish the request
    /// in flight, take no more). With `idle`, a connection idle for its
    /// limit is dropped (None), or on HTTP/2 told to go away first.
    pub async fn watch<C: Future>(
        &self,
        conn: C,
        shutdown: impl Fn(Pin<&mut C>),
        idle: Option<Idle<'_>>,
    ) -> Option<C::Output> {
        let mut conn = pin!(conn);
        let mut begin = pin!(self.begin.notified());
        let (mut registered, mut stopped) = (false, false);
        // Set once an idle HTTP/2 connection was told to go away.
        let mut closing = false;
        let limit = idle.as_ref().map_or(Duration::ZERO, |i| i.limit);
        let mut idle_timer = pin!(tokio::time::sleep(limit));
        // HTTP/1.1 only: a fresh connection gets FIRST_REQUEST_GRACE.
        let fresh = |idle: &Option<Idle<'_>>| {
            idle.as_ref()
                .is_some_and(|i| !i.goaway && !i.activity.started())
        };
        let mut grace = pin!(tokio::time::sleep(FIRST_REQUEST_GRACE));
        let (mut grace_armed, mut grace_over) = (false, false);
        poll_fn(|cx| {
            if !stopped {
                // Polled once to leave this task's waker with the Notify;
                // after that the flag says whether draining has begun.
                let woken = !registered && begin.as_mut().poll(cx).is_ready();
                if woken || self.draining.load(Ordering::Acquire) {
                    if fresh(&idle) {
                        if !grace_armed {
                            grace
                                .as_mut()
                                .reset(tokio::time::Instant::now() + FIRST_REQUEST_GRACE);
                            grace_armed = true;
                        }
                        // Over: decided after the connection's own poll
                        // below, which reads a request already waiting in
                        // the socket (a starved process finds the timer
                        // and the request ready at once).
                        if grace.as_mut().poll(cx).is_ready() {
                            grace_over = true;
                        }
                    } else {
                        shutdown(conn.as_mut());
                        stopped = true;
                    }
                }
            }
            if let Some(idle) = &idle {
                // Also polled only when first armed and when it fired.
                if !registered || idle_timer.is_elapsed() {
                    let now = tokio::time::Instant::now();
                    if closing {
                        // The GOAWAY could not be sent in time.
                        return Poll::Ready(None);
                    }
                    let mut due = idle.activity.due(idle.limit, now);
                    // Parking comes first, when idle long enough.
                    if let Some(Parking { after, begun, park }) = idle.park
                        && !stopped
                        && !park.parking()
                    {
                        let park_due = idle.activity.due(after, now).max(begun + after);
                        if park_due > now {
                            due = due.min(park_due);
                        } else if due > now && park.clean() {
                            park.begin();
                            shutdown(conn.as_mut());
                            stopped = true;
                        } else if due > now {
                            // In the middle of a head: look again later.
                            due = due.min(now + after);
                        }
                    }
                    if due <= now {
                        if !idle.goaway {
                            return Poll::Ready(None);
                        }
                        if !stopped {
                            shutdown(conn.as_mut());
                            stopped = true;
                        }
                        closing = true;
                        due = now + GOAWAY_GRACE;
                    }
                    idle_timer.as_mut().reset(due);
                    let _ = idle_timer.as_mut().poll(cx);
                }
            }
            registered = true;
            let polled = conn.as_mut().poll(cx);
            if polled.is_pending() && grace_armed && !stopped && (grace_over || !fresh(&idle)) {
                // The first request started in that poll (it is the last),
                // or the grace is over with none.
                shutdown(conn.as_mut());
                stopped = true;
                return conn.as_mut().poll(cx).map(Some);
            }
            polled.map(Some)
        })
        .await
    }

    /// A parked connection's wait for its next request, holding no
    /// buffer: true when the client sent something; false when it hung
    /// up, the idle `limit` ran out, or draining began (an idle
    /// connection is closed at once then, as nginx closes its idle
    /// keep-alive connections).
    pub async fn parked(
        &self,
        socket: &tokio::net::TcpStream,
        activity: &Activity,
        limit: Duration,
    ) -> bool {
        let begin = self.begin.notified();
        if self.draining.load(Ordering::Acquire) {
            return false;
        }
        tokio::select! {
            sent = crate::proxy::daemon::park::readable(socket) => sent,
            _ = tokio::time::sleep_until(activity.idle_until(limit)) => false,
            _ = begin => false,
        }
    }

    /// Connections tracked.
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
    use std::time::Instant;

    /// A connection that ends once told to, like an idle keep-alive one.
    struct Open(bool);

    impl Future for Open {
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
                let _track = drain.track();
                drain
                    .watch(
                        Open(false),
                        |mut c| {
                            told.fetch_add(1, Ordering::Relaxed);
                            c.0 = true;
                        },
                        None,
                    )
                    .await
            }));
        }
        tokio::task::yield_now().await;
        assert_eq!(drain.open(), 3);
        tokio::time::timeout(Duration::from_secs(5), drain.shutdown())
            .await
            .expect("every connection closed");
        for task in tasks {
            assert_eq!(task.await.unwrap(), Some("closed"));
        }
        assert_eq!(told.load(Ordering::Relaxed), 3);
        assert_eq!(drain.open(), 0);
        // A connection tracked (in its TLS handshake, say) is waited for.
        let track = drain.track();
        let waited = tokio::time::timeout(Duration::from_millis(100), drain.shutdown()).await;
        assert!(
            waited.is_err(),
            "shutdown waited for the tracked connection"
        );
        drop(track);
        tokio::time::timeout(Duration::from_secs(5), drain.shutdown())
            .await
            .expect("done once it ended");
        // A connection that starts after draining began is told at once.
        let late = drain.watch(Open(false), |mut c| c.0 = true, None).await;
        assert_eq!(late, Some("closed"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_idle_connection_is_dropped_and_a_busy_one_is_not() {
        let drain = Drain::default();
        let limit = Duration::from_millis(100);
        let idle = Activity::idle_now();
        let started = Instant::now();
        let cut = drain
            .watch(Open(false), |_| {}, Some(hold(&idle, limit, false)))
            .await;
        assert_eq!(cut, None);
        assert!(started.elapsed() >= limit, "{:?}", started.elapsed());

        // Busy for three limits, then idle: dropped a limit after that.
        let activity = Activity::idle_now();
        activity.busy();
        let started = Instant::now();
        let served = async {
            tokio::time::sleep(limit * 3).await;
            activity.idle();
        };
        let (cut, ()) = tokio::join!(
            drain.watch(Open(false), |_| {}, Some(hold(&activity, limit, false))),
            served
        );
        assert_eq!(cut, None);
        assert!(started.elapsed() >= limit * 4, "{:?}", started.elapsed());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_idle_http2_connection_is_told_to_go_away_and_overlapping_streams_keep_it() {
        let drain = Drain::default();
        let limit = Duration::from_millis(100);
        // Two streams overlap; the connection is idle only once both end.
        let activity = Activity::idle_now();
        activity.busy();
        let started = Instant::now();
        let served = async {
            tokio::time::sleep(limit).await;
            activity.busy();
            activity.idle();
            tokio::time::sleep(limit * 2).await;
            activity.idle();
        };
        let told = AtomicUsize::new(0);
        let (closed, ()) = tokio::join!(
            drain.watch(
                Open(false),
                |mut c| {
                    told.fetch_add(1, Ordering::Relaxed);
                    c.0 = true;
                },
                Some(hold(&activity, limit, true)),
            ),
            served
        );
        assert_eq!(closed, Some("closed"), "ended by its GOAWAY, not dropped");
        assert_eq!(told.load(Ordering::Relaxed), 1);
        assert!(started.elapsed() >= limit * 4, "{:?}", started.elapsed());
        // One that does not finish after its GOAWAY is dropped.
        let stuck = Activity::idle_now();
        let cut = drain
            .watch(Open(false), |_| {}, Some(hold(&stuck, limit, true)))
            .await;
        assert_eq!(cut, None);
    }

    fn hold(activity: &Activity, limit: Duration, goaway: bool) -> super::Idle<'_> {
        super::Idle {
            activity,
            limit,
            goaway,
            park: None,
        }
    }
}
