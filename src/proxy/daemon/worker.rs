//! One worker thread: its own event loop, accepting on its own
//! SO_REUSEPORT sockets, serving each connection (HTTP/1.1 or HTTP/2, plain
//! or TLS) within the connection limits and timeouts, and draining on stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::proxy::config::ProxyConfig;
use crate::proxy::daemon::drain::{Activity, Drain, Idle, Parking, Track};
use crate::proxy::daemon::park::{PARK_AFTER, Park, Waiting};
use crate::proxy::daemon::send_timeout::SendTimeout;
use crate::proxy::daemon::socket::ClientSocket;
use crate::proxy::daemon::tls_socket::{self, TlsSocket};
use crate::proxy::observe::metrics::ConnectionKind;
use crate::proxy::request::{self, ClientConn, Open, Shared};
use crate::proxy::upstream::pool::Pool;

/// HTTP/1.1: plain listeners (`plain`), and TLS connections that did not
/// choose h2.
pub(super) fn http1_builder(config: &ProxyConfig, plain: bool) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        // The header-read timeout is the connection's (`Drain::watch`),
        // not a timer per request.
        .header_read_timeout(None)
        // Plain: hyper reads only between requests, and a request waiting
        // on its upstream watches for the client hanging up itself
        // (`request::until_gone`), sparing hyper a read-buffer
        // reallocation per request. Over TLS hyper's own mid-request read
        // is kept (see `socket`).
        .half_close(plain)
        .max_buf_size(config.limits.max_header_bytes.max(8192))
        .max_headers(config.limits.max_headers)
        .keep_alive(true);
    builder
}

/// HTTP/2, for TLS connections that chose it by ALPN.
pub(super) fn http2_builder(config: &ProxyConfig) -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(config.limits.max_header_bytes as u32)
        .max_concurrent_streams(config.limits.http2_max_streams)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    pub(super) acceptor: TlsAcceptor,
    pub(super) pool: Pool,
    pub(super) http1: http1::Builder,
    pub(super) http1_tls: http1::Builder,
    pub(super) http2: http2::Builder<TokioExecutor>,
    pub(super) connections: Arc<AtomicUsize>,
    pub(super) max_connections: usize,
    /// For a TLS handshake, and for each HTTP/1.1 request head.
    pub(super) header_read: Duration,
    /// A response may make no progress for this long.
    pub(super) send: Duration,
    /// An HTTP/2 connection may have no open stream for this long.
    pub(super) http2_idle: Duration,
    /// Pooled upstream connections are closed after this long unused.
    pub(super) upstream_idle: Duration,
}

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nToo many connections";

impl Worker {
    pub(super) fn run(
        self,
        listeners: Vec<(std::net::TcpListener, bool)>,
        stop: watch::Receiver<bool>,
        drain: Duration,
    ) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!("cannot start a worker's event loop: {e}");
                return;
            }
        };
        runtime.block_on(async move {
            let worker = Arc::new(self);
            let drain_all = Arc::new(Drain::default());
            // Idle upstream connections are closed when they expire, not
            // only when next taken from the pool.
            if !worker.upstream_idle.is_zero() {
                let limit = worker.upstream_idle;
                let every = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        crate::proxy::upstream::pool::close_expired(limit);
                    }
                });
            }
            let mut loops = Vec::new();
            for (listener, tls) in listeners {
                let listener = match TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("cannot use a listening socket: {e}");
                        continue;
                    }
                };
                loops.push(tokio::spawn(accept_loop(
                    listener,
                    tls,
                    Arc::clone(&worker),
                    Arc::clone(&drain_all),
                    stop.clone(),
                )));
            }
            for l in loops {
                let _ = l.await;
            }
            let open = drain_all.open();
            if tokio::time::timeout(drain, drain_all.shutdown()).await.is_err() {
                tracing::warn!(
                    "{open} connection(s) were still busy after the {}ms drain timeout and were closed",
                    drain.as_millis()
                );
            }
        });
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: bool,
    worker: Arc<Worker>,
    drain: Arc<Drain>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let (mut stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off, go on.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let w = &*worker;
        if w.connections.fetch_add(1, Relaxed) >= w.max_connections {
            w.connections.fetch_sub(1, Relaxed);
            w.shared.metrics.refused_connections.fetch_add(1, Relaxed);
            if !tls {
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(REFUSAL))
                        .await;
                });
            }
            continue;
        }
        w.shared.metrics.connections.fetch_add(1, Relaxed);
        let open = Open(Arc::clone(&w.connections), Arc::clone(&w.shared.metrics));
        let _ = stream.set_nodelay(true);
        let track = drain.track();
        let worker = Arc::clone(&worker);
        tokio::spawn(async move {
            let counted = (open, track);
            if tls {
                // Boxed: the handshake's state (rustls's connection) is
                // no part of a plain connection's task.
                Box::pin(handshake_and_serve(stream, peer, &worker, counted)).await;
            } else {
                let conn = ClientConn {
                    peer,
                    tls: false,
                    sni: None,
                };
                // Shared: hyper reads and writes it, requests watch it.
                let socket = Arc::new(stream);
                Box::pin(serve_http1(socket, conn, &worker, counted)).await;
            }
        });
    }
}

/// A TLS connection: its handshake (bounded by the header-read timeout),
/// then HTTP/2 or HTTP/1.1 as ALPN chose.
async fn handshake_and_serve(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    worker: &Arc<Worker>,
    counted: (Open, Track),
) {
    // The handshake's future (rustls's connection and its handshake
    // state) is boxed and freed once done, and the TLS stream boxed once:
    // inline, each would keep room in this connection's future for its
    // whole life (a parked TLS connection's future was 9.8 KB).
    let handshake = Box::pin(tokio::time::timeout(
        worker.header_read,
        worker.acceptor.accept(stream),
    ));
    let Ok(Ok(stream)) = handshake.await else {
        return;
    };
    let stream = Box::new(stream);
    let session = stream.get_ref().1;
    let sni = session.server_name().map(str::to_ascii_lowercase);
    let h2 = session.alpn_protocol() == Some(b"h2");
    let conn = ClientConn {
        peer,
        tls: true,
        sni,
    };
    // Each boxed: an HTTP/1.1 connection keeps no room for HTTP/2's
    // state, nor the other way round.
    if h2 {
        Box::pin(serve_http2(TokioIo::new(stream), conn, worker, counted)).await;
    } else {
        Box::pin(serve_http1(stream, conn, worker, counted)).await;
    }
}

/// A client's connection that HTTP/1.1 is spoken on and that can be
/// parked between requests (`park`): a plain socket, or a TLS stream.
trait Parkable: Sized {
    /// The stream a hyper connection reads and writes.
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    const KIND: ConnectionKind;
    fn builder(worker: &Worker) -> &http1::Builder;
    /// hyper's stream over it, which reads `leftover` first.
    fn resume(self, leftover: Bytes, park: &Arc<Park>) -> Self::Io;
    /// Back from a parked hyper connection's stream.
    fn unwrap(io: Self::Io) -> Self;
    /// The socket a request watches for the client hanging up.
    fn watched(&self) -> Option<Arc<TcpStream>>;
    fn tcp(&self) -> &TcpStream;
    /// What it holds that is to be served before the socket is readable.
    fn waiting(&mut self) -> Waiting;
}

/// Plain HTTP/1.1: hyper's stream and the requests share the socket.
impl Parkable for Arc<TcpStream> {
    type Io = ClientSocket;
    const KIND: ConnectionKind = ConnectionKind::Http1;
    fn builder(worker: &Worker) -> &http1::Builder {
        &worker.http1
    }
    fn resume(self, leftover: Bytes, park: &Arc<Park>) -> ClientSocket {
        ClientSocket::resume(self, leftover, Arc::clone(park))
    }
    fn unwrap(io: ClientSocket) -> Self {
        io.into_stream()
    }
    fn watched(&self) -> Option<Arc<TcpStream>> {
        Some(Arc::clone(self))
    }
    fn tcp(&self) -> &TcpStream {
        self
    }
    fn waiting(&mut self) -> Waiting {
        Waiting::Nothing
    }
}

/// HTTP/1.1 over TLS: a parked connection keeps its TLS session.
impl Parkable for Box<TlsStream<TcpStream>> {
    type Io = TlsSocket;
    const KIND: ConnectionKind = ConnectionKind::Http1Tls;
    fn builder(worker: &Worker) -> &http1::Builder {
        &worker.http1_tls
    }
    fn resume(self, leftover: Bytes, park: &Arc<Park>) -> TlsSocket {
        TlsSocket::resume(self, leftover, Arc::clone(park))
    }
    fn unwrap(io: TlsSocket) -> Self {
        io.into_stream()
    }
    fn watched(&self) -> Option<Arc<TcpStream>> {
        None
    }
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
    fn waiting(&mut self) -> Waiting {
        tls_socket::waiting(self)
    }
}

/// Serves one HTTP/1.1 connection (with upgrades; plain listeners speak
/// HTTP/1.1 only, as nginx's do by default). Between requests it is
/// parked after `PARK_AFTER` (`park`): hyper's connection and its
/// buffers go, the socket (and TLS session) stays, and a new hyper
/// connection serves the next request.
async fn serve_http1<S: Parkable>(
    mut stream: S,
    conn: ClientConn,
    worker: &Arc<Worker>,
    counted: (Open, Track),
) {
    let metrics = Arc::clone(&worker.shared.metrics);
    let _counted = metrics.count_connection(S::KIND);
    let park = Park::new(Arc::clone(&metrics.read_buffer_bytes));
    // One shared handle per connection: one reference count per request.
    let cx = Arc::new(request::Connection {
        shared: Arc::clone(&worker.shared),
        pool: worker.pool.clone(),
        conn,
        activity: Activity::idle_now(),
        socket: stream.watched(),
        counted,
    });
    let drain = cx.counted.1.drain();
    let mut leftover = Bytes::new();
    loop {
        let Some(parked) = serve_until_parked(stream, leftover, &park, &cx, worker).await else {
            return;
        };
        (stream, leftover) = parked;
        // A head begun before the park waits for its rest like any.
        let _parked = metrics.count_parked();
        match stream.waiting() {
            Waiting::Closed => return,
            Waiting::Ready => continue,
            Waiting::Nothing => {}
        }
        if !drain
            .parked(stream.tcp(), &cx.activity, worker.header_read)
            .await
        {
            return;
        }
    }
}

/// Serves requests on one hyper connection over `stream`, which reads
/// `leftover` first, until it ends (None) or is parked: then the stream
/// and the bytes hyper had read and not parsed, copied (hyper's
/// `read_buf` is a view of its whole read buffer). Everything else of
/// the hyper connection, its buffers and its box, is dropped when this
/// returns, before the parked wait.
async fn serve_until_parked<S: Parkable>(
    stream: S,
    leftover: Bytes,
    park: &Arc<Park>,
    cx: &Arc<request::Connection>,
    worker: &Arc<Worker>,
) -> Option<(S, Bytes)> {
    let handle = Arc::clone(cx);
    let service = service_fn(move |req| request::handle(req, Arc::clone(&handle)));
    let io = SendTimeout::new(TokioIo::new(stream.resume(leftover, park)), worker.send);
    // Boxed, so that a parked connection's future keeps no room for it.
    let mut connection = Box::new(
        S::builder(worker)
            .serve_connection(io, service)
            .with_upgrades(),
    );
    let idle = Idle {
        activity: &cx.activity,
        limit: worker.header_read,
        goaway: false,
        park: Some(Parking {
            after: PARK_AFTER,
            begun: tokio::time::Instant::now(),
            park,
        }),
    };
    let ended = cx
        .counted
        .1
        .drain()
        .watch(
            std::pin::Pin::new(&mut *connection),
            |mut c| c.as_mut().get_mut().as_mut().graceful_shutdown(),
            Some(idle),
        )
        .await;
    if !park.parking() || !matches!(ended, Some(Ok(()))) {
        return None;
    }
    let parts = (*connection).into_parts()?;
    let unparsed = Bytes::copy_from_slice(&parts.read_buf);
    Some((S::unwrap(parts.io.into_inner().into_inner()), unparsed))
}

/// Serves one HTTP/2 connection (TLS, chosen by ALPN).
async fn serve_http2<I>(io: I, conn: ClientConn, worker: &Arc<Worker>, counted: (Open, Track))
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let io = SendTimeout::new(io, worker.send);
    let _counted = worker
        .shared
        .metrics
        .count_connection(ConnectionKind::Http2);
    // One shared handle per connection: one reference count per request.
    let cx = Arc::new(request::Connection {
        shared: Arc::clone(&worker.shared),
        pool: worker.pool.clone(),
        conn,
        activity: Activity::idle_now(),
        socket: None,
        counted,
    });
    let watched = Arc::clone(&cx);
    let drain = watched.counted.1.drain();
    // Boxed: hyper moves each stream's future into a task of its own, and
    // `request::handle`'s future is kilobytes (room for the cache lookup
    // and the upstream wait, even for a static file), copied several times
    // on the way; boxed, one copy. HTTP/2 1 KiB static file, two full runs
    // of `bench/proxy.sh`: 7.3 and 7.0 µs of CPU per request against 7.6
    // and 7.3 inline. HTTP/1.1 keeps it inline: hyper holds it in one slot
    // per connection (boxing there cost the reverse proxy 1-5%). See
    // `bench/README-proxy.md`.
    let service = service_fn(move |req| Box::pin(request::handle(req, Arc::clone(&cx))));
    let connection = worker.http2.serve_connection(io, service);
    let idle = Idle {
        activity: &watched.activity,
        limit: worker.http2_idle,
        goaway: true,
        park: None,
    };
    let _ = drain
        .watch(connection, |c| c.graceful_shutdown(), Some(idle))
        .await;
}
