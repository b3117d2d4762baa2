//! Connections to upstreams: opened plain or over TLS, and kept alive in a
//! per-thread idle pool. Each worker thread runs one event loop, so its
//! pool needs no lock; a connection goes back to the pool only once its
//! response body has been read to the end.

use std::cell::RefCell;
use std::pin::Pin;
// Looked up twice per proxied request: foldhash, not SipHash.
use foldhash::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use bytes::BytesMut;
use rustls_pki_types::ServerName;
use tokio::io::ReadBuf;
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;

use crate::proxy::body::BoxError;
use crate::proxy::clock::{ms_at, stamp_ms};
use crate::proxy::upstream::group::Upstream;

/// Idle connections kept per upstream and thread.
const MAX_IDLE: usize = 256;

/// What a new connection's read buffer starts with.
const READ_BUF: usize = 8 * 1024;

thread_local! {
    static IDLE: RefCell<HashMap<usize, Vec<Idle>>> = RefCell::new(HashMap::default());
}

struct Idle {
    base: Arc<str>,
    conn: UpstreamConn,
    /// When it was released, in [`stamp_ms`].
    since: u64,
}

/// A byte stream to an upstream: plain (left) or TLS (right).
pub type Stream = Either<TcpStream, Box<TlsStream<TcpStream>>>;

/// An open HTTP/1.1 connection: its stream, what has been read from it
/// but not yet parsed, and what each request reuses: the buffer its head
/// is written into and the timer of its response deadline. The timer stays
/// registered while the connection is idle; if no request pushes it later
/// first, it fires once at its last deadline, and wakes the task that last
/// waited on it for nothing.
pub struct UpstreamConn {
    pub stream: Stream,
    pub buf: BytesMut,
    pub head: Vec<u8>,
    pub timer: Option<Pin<Box<Sleep>>>,
}

impl UpstreamConn {
    /// Has the upstream stayed silent since the connection went idle? An
    /// idle HTTP/1.1 connection that turned readable was closed (or sent
    /// something it should not have). No system call unless the event loop
    /// saw the socket become readable.
    fn is_quiet(&self) -> bool {
        let tcp = match &self.stream {
            Either::Left(s) => s,
            Either::Right(s) => s.get_ref().0,
        };
        let mut cx = Context::from_waker(Waker::noop());
        let mut probe = [0u8; 1];
        matches!(
            tcp.poll_peek(&mut cx, &mut ReadBuf::new(&mut probe)),
            Poll::Pending
        )
    }
}

/// Where upstream connections come from: this thread's idle ones
/// ([`Pool::idle`]) or a new one ([`Pool::connect`]); cheap to clone.
#[derive(Clone)]
pub struct Pool {
    connect_timeout: Duration,
    idle_timeout: Duration,
    tls: TlsConnector,
}

/// A connection in use for one request.
pub struct Lease {
    /// Just opened, not taken from the pool.
    fresh: bool,
    key: usize,
    base: Arc<str>,
    pub conn: UpstreamConn,
    idle_timeout: Duration,
}

/// The pool key: the upstream's address in memory, checked against its
/// base URL on every hit (an upstream of an old configuration may share
/// an address with a new one).
fn key(up: &Upstream) -> usize {
    up as *const Upstream as usize
}

impl Pool {
    pub fn new(connect_timeout: Duration, idle_timeout: Duration) -> Result<Pool> {
        use hyper_rustls::ConfigBuilderExt;
        let config = rustls::ClientConfig::builder_with_provider(crate::proxy::tls::provider())
            .with_safe_default_protocol_versions()
            .context("the TLS provider offers no protocol versions")?
            .with_native_roots()
            .context("cannot load the system trust roots for https upstreams")?
            .with_no_client_auth();
        Ok(Pool {
            connect_timeout,
            idle_timeout,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// A pooled connection to `up` that is still open, newest first;
    /// `now` is the caller's clock reading.
    pub fn idle(&self, up: &Upstream, now: Instant) -> Option<Lease> {
        let k = key(up);
        let now = ms_at(now);
        let limit = self.idle_timeout.as_millis() as u64;
        IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            let list = idle.get_mut(&k)?;
            while let Some(entry) = list.pop() {
                if entry.base != up.base
                    || now.saturating_sub(entry.since) > limit
                    || !entry.conn.is_quiet()
                {
                    continue;
                }
                return Some(Lease {
                    fresh: false,
                    key: k,
                    base: entry.base,
                    conn: entry.conn,
                    idle_timeout: self.idle_timeout,
                });
            }
            None
        })
    }

    /// A new connection (TCP, and TLS for `https://`).
    pub async fn connect(&self, up: &Upstream) -> Result<Lease, BoxError> {
        let addr = &up.addr;
        let stream = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((addr.host.as_str(), addr.port)),
        )
        .await
        .map_err(|_| "connect timed out")??;
        stream.set_nodelay(true)?;
        let stream = if addr.tls {
            let name = ServerName::try_from(addr.host.clone())?;
            let tls = tokio::time::timeout(self.connect_timeout, self.tls.connect(name, stream))
                .await
                .map_err(|_| "TLS handshake timed out")??;
            Either::Right(Box::new(tls))
        } else {
            Either::Left(stream)
        };
        Ok(Lease {
            fresh: true,
            key: key(up),
            base: Arc::clone(&up.base),
            conn: UpstreamConn {
                stream,
                buf: BytesMut::with_capacity(READ_BUF),
                head: Vec::new(),
                timer: None,
            },
            idle_timeout: self.idle_timeout,
        })
    }
}

/// Closes this thread's pooled connections that have been idle longer
/// than `limit`; the worker calls it a few times per `limit`, so an idle
/// connection is closed soon after it expires (not only when it is next
/// taken), and an upstream is not left with connections it will never get
/// a request on.
pub fn close_expired(limit: Duration) {
    let now = stamp_ms();
    let limit = limit.as_millis() as u64;
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        idle.retain(|_, list| {
            drop_expired(list, now, limit);
            !list.is_empty()
        });
    });
}

/// Drops the entries of `list` (oldest first) idle for longer than
/// `limit` at `now`, looking at the front only.
fn drop_expired(list: &mut Vec<Idle>, now: u64, limit: u64) {
    let expired = list
        .iter()
        .take_while(|e| now.saturating_sub(e.since) > limit)
        .count();
    list.drain(..expired);
}

impl Lease {
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// The upstream's `scheme://host:port`, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Back to the pool, for the next request to the same upstream. Only
    /// a connection whose last response was read exactly to its end may
    /// be released.
    pub fn release(self) {
        if !self.conn.buf.is_empty() || self.idle_timeout.is_zero() {
            return;
        }
        IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            let list = idle.entry(self.key).or_default();
            // Oldest first: drop what has expired from the front only, so
            // a release looks at the clock once, not once per idle entry.
            let now = stamp_ms();
            drop_expired(list, now, self.idle_timeout.as_millis() as u64);
            if list.len() < MAX_IDLE {
                list.push(Idle {
                    base: self.base,
                    conn: self.conn,
                    since: now,
                });
            }
        });
    }
}
