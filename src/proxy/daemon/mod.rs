//! `webtier proxy run`: the listeners, one event loop per worker thread
//! (each with its own SO_REUSEPORT sockets and upstream pool, like nginx's
//! worker processes), and a control loop on the main thread for signals,
//! certificate-file changes, health checks, metrics and log flushing.

pub mod control;
pub mod drain;
pub mod send_timeout;
pub mod socket;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use arc_swap::ArcSwap;
use http::{Response, StatusCode};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::proxy::body::Body;
use crate::proxy::config::ProxyConfig;
use crate::proxy::daemon::drain::{Activity, Drain, Idle, Track};
use crate::proxy::daemon::send_timeout::SendTimeout;
use crate::proxy::daemon::socket::ClientSocket;
use crate::proxy::observe::access_log;
use crate::proxy::observe::metrics::Metrics;
use crate::proxy::request::{self, Conn, Open, Shared};
use crate::proxy::state::State;
use crate::proxy::tls;
use crate::proxy::upstream::forward;
use crate::proxy::upstream::pool::Connector;

/// How often certificate files are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

pub struct Options {
    pub config: PathBuf,
    /// Overrides the file's `workers`.
    pub workers: Option<usize>,
}

/// Runs until SIGTERM or SIGINT, then drains. Errors before the listeners
/// are up (bad configuration, a port in use) are returned.
pub fn run(options: &Options) -> Result<()> {
    let state = State::load(&options.config, None)?;
    let config = state.config.clone();
    let workers = match options.workers.unwrap_or(config.workers) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let access_log = config
        .access_log
        .as_ref()
        .map(access_log::Writer::open)
        .transpose()?
        .map(Arc::new);
    let state = Arc::new(ArcSwap::from_pointee(state));
    let metrics = Arc::new(Metrics::default());
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(
        Arc::clone(&state),
        config.tls_session_resumption,
    )?));

    // One set of trust roots for https upstreams; each thread keeps its own
    // idle connections.
    let client = Connector::new(
        Duration::from_millis(config.timeouts.upstream_connect_ms),
        Duration::from_millis(config.timeouts.upstream_idle_ms),
    )?;

    // Bind everything first, so a port in use fails the start, not a worker.
    let mut sockets = Vec::new();
    for _ in 0..workers {
        let mut mine = Vec::new();
        for addr in &config.http_listen {
            mine.push((bind(*addr)?, false));
        }
        for addr in &config.https_listen {
            mine.push((bind(*addr)?, true));
        }
        sockets.push(mine);
    }
    let admin = config
        .admin_listen
        .map(|addr| {
            let l = std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on admin_listen {addr}"))?;
            l.set_nonblocking(true)?;
            Ok::<_, anyhow::Error>(l)
        })
        .transpose()?;

    let pid_file = config.pid_file.as_deref().map(PidFile::write).transpose()?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for (i, listeners) in sockets.into_iter().enumerate() {
        let worker = Worker {
            shared: Arc::new(Shared {
                state: Arc::clone(&state),
                metrics: Arc::clone(&metrics),
                access_log: access_log.clone(),
            }),
            acceptor: acceptor.clone(),
            client: client.clone(),
            http1: http1_builder(&config, true),
            http1_tls: http1_builder(&config, false),
            http2: http2_builder(&config),
            connections: Arc::clone(&connections),
            max_connections: config.limits.max_connections,
            header_read: Duration::from_millis(config.timeouts.header_read_ms),
            send: Duration::from_millis(config.timeouts.send_ms),
            http2_idle: Duration::from_millis(config.timeouts.http2_idle_ms),
            upstream_idle: Duration::from_millis(config.timeouts.upstream_idle_ms),
        };
        let stop = stop_rx.clone();
        let drain = Duration::from_millis(config.timeouts.drain_ms);
        threads.push(
            std::thread::Builder::new()
                .name(format!("webtier-worker-{i}"))
                .spawn(move || worker.run(listeners, stop, drain))
                .context("cannot start a worker thread")?,
        );
    }
    tracing::info!(
        "webtier proxy serving {} site(s) on {} with {workers} worker(s)",
        config.sites.len(),
        listen_list(&config)
    );

    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the control loop")?;
    control.block_on(control_loop(
        &options.config,
        Arc::clone(&state),
        Arc::clone(&metrics),
        access_log.clone(),
        admin,
        client,
    ))?;

    let _ = stop_tx.send(true);
    for t in threads {
        let _ = t.join();
    }
    if let Some(log) = &access_log {
        log.flush();
    }
    drop(pid_file);
    tracing::info!("webtier proxy stopped");
    Ok(())
}

/// The process id and what identifies the process (see `control`),
/// written atomically at start and removed at exit while it is still ours.
struct PidFile(PathBuf);

impl PidFile {
    fn write(path: &Path) -> Result<PidFile> {
        let text = crate::proxy::daemon::control::pid_file_text();
        crate::fsutil::atomic_write(path, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.0).is_ok_and(|t| {
            crate::proxy::daemon::control::pid_of(&t) == Some(std::process::id() as i32)
        });
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn listen_list(config: &ProxyConfig) -> String {
    let http = config.http_listen.iter().map(|a| format!("http://{a}"));
    let https = config.https_listen.iter().map(|a| format!("https://{a}"));
    http.chain(https).collect::<Vec<_>>().join(", ")
}

/// A listening socket shared by the workers through SO_REUSEPORT (the
/// kernel spreads new connections); IPv6 sockets are IPv6-only so
/// `0.0.0.0` and `::` can both be bound.
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let fail = |e: std::io::Error| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => " — another program holds the port",
            std::io::ErrorKind::PermissionDenied => {
                " — ports below 1024 need root or CAP_NET_BIND_SERVICE"
            }
            std::io::ErrorKind::AddrNotAvailable => " — no interface has that address",
            _ => "",
        };
        anyhow!("cannot listen on {addr}: {e}{hint}")
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.set_reuse_port(true).map_err(fail)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(fail)?;
    }
    socket.set_nonblocking(true).map_err(fail)?;
    socket.set_tcp_nodelay(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(4096).map_err(fail)?;
    Ok(socket.into())
}

/// HTTP/1.1: plain listeners (`plain`), and TLS connections that did not
/// choose h2.
fn http1_builder(config: &ProxyConfig, plain: bool) -> http1::Builder {
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
fn http2_builder(config: &ProxyConfig) -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(config.limits.max_header_bytes as u32)
        .max_concurrent_streams(config.limits.http2_max_streams)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

struct Worker {
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    client: Connector,
    http1: http1::Builder,
    http1_tls: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    connections: Arc<AtomicUsize>,
    max_connections: usize,
    /// For a TLS handshake, and for each HTTP/1.1 request head.
    header_read: Duration,
    /// A response may make no progress for this long.
    send: Duration,
    /// An HTTP/2 connection may have no open stream for this long.
    http2_idle: Duration,
    /// Pooled upstream connections are closed after this long unused.
    upstream_idle: Duration,
}

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nToo many connections";

impl Worker {
    fn run(
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
            let w = &*worker;
            if tls {
                let handshake =
                    tokio::time::timeout(w.header_read, w.acceptor.accept(stream)).await;
                let Ok(Ok(stream)) = handshake else {
                    return;
                };
                let session = stream.get_ref().1;
                let sni = session.server_name().map(str::to_ascii_lowercase);
                let h2 = session.alpn_protocol() == Some(b"h2");
                let conn = Conn {
                    peer,
                    tls: true,
                    sni,
                };
                let protocol = if h2 {
                    Protocol::Http2
                } else {
                    Protocol::Http1Tls
                };
                serve(TokioIo::new(stream), conn, protocol, &worker, counted).await;
            } else {
                let conn = Conn {
                    peer,
                    tls: false,
                    sni: None,
                };
                // Shared: hyper reads and writes it, requests watch it.
                let (stream, socket) = ClientSocket::new(stream);
                let protocol = Protocol::Http1(socket);
                serve(TokioIo::new(stream), conn, protocol, &worker, counted).await;
            }
        });
    }
}

/// How a connection is spoken.
enum Protocol {
    /// Plain HTTP/1.1 (with upgrades; plain listeners speak HTTP/1.1 only,
    /// as nginx's do by default), with its socket for the requests to
    /// watch for the client hanging up.
    Http1(Arc<TcpStream>),
    /// HTTP/1.1 over TLS: hyper notices a hang-up itself.
    Http1Tls,
    /// HTTP/2, when TLS chose it by ALPN.
    Http2,
}

/// Serves one connection.
async fn serve<I>(
    io: I,
    conn: Conn,
    protocol: Protocol,
    worker: &Arc<Worker>,
    counted: (Open, Track),
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let io = SendTimeout::new(io, worker.send);
    let (socket, http1) = match protocol {
        Protocol::Http1(socket) => (Some(socket), Some(&worker.http1)),
        Protocol::Http1Tls => (None, Some(&worker.http1_tls)),
        Protocol::Http2 => (None, None),
    };
    // One shared handle per connection: one reference count per request.
    let cx = Arc::new(request::Context {
        shared: Arc::clone(&worker.shared),
        client: worker.client.clone(),
        conn,
        activity: Activity::idle_now(),
        socket,
        counted,
    });
    let watched = Arc::clone(&cx);
    let drain = watched.counted.1.drain();
    let service = service_fn(move |req| request::handle(req, Arc::clone(&cx)));
    if let Some(http1) = http1 {
        let connection = http1.serve_connection(io, service).with_upgrades();
        let idle = Idle {
            activity: &watched.activity,
            limit: worker.header_read,
            goaway: false,
        };
        let _ = drain
            .watch(connection, |c| c.graceful_shutdown(), Some(idle))
            .await;
    } else {
        let connection = worker.http2.serve_connection(io, service);
        let idle = Idle {
            activity: &watched.activity,
            limit: worker.http2_idle,
            goaway: true,
        };
        let _ = drain
            .watch(connection, |c| c.graceful_shutdown(), Some(idle))
            .await;
    }
}

/// The main thread's loop: signals, certificate changes, health checks,
/// the admin listener, log flushing. Returns on SIGTERM or SIGINT.
async fn control_loop(
    path: &Path,
    state: Arc<ArcSwap<State>>,
    metrics: Arc<Metrics>,
    access_log: Option<Arc<access_log::Writer>>,
    admin: Option<std::net::TcpListener>,
    checker_client: Connector,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;

    if let Some(admin) = admin {
        let listener = TcpListener::from_std(admin).context("cannot use the admin listener")?;
        tokio::spawn(admin_loop(
            listener,
            Arc::clone(&state),
            Arc::clone(&metrics),
        ));
    }
    let mut last_checks: std::collections::HashMap<usize, Instant> = Default::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_watch = Instant::now();
    let mut refused = None;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                reload(path, &state, &metrics, true);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = tick.tick() => {
                if last_watch.elapsed() >= WATCH_INTERVAL {
                    last_watch = Instant::now();
                    // Files that failed to load are retried only once they
                    // change again.
                    let now = state.load().certificate_times();
                    if state.load().loaded_times() != now && refused.as_ref() != Some(&now) {
                        tracing::warn!("certificate files changed; reloading them");
                        refused = (!reload(path, &state, &metrics, false)).then_some(now);
                    }
                    if let Some(log) = &access_log {
                        log.flush();
                    }
                }
                run_checks(&state, &checker_client, &mut last_checks);
            }
        }
    }
    tracing::info!("stopping: no new connections; draining in-flight requests");
    Ok(())
}

/// Replaces the state with one built from the file (`from_file`) or from
/// the current configuration with freshly read certificates. A state that
/// fails to build is refused and the old one keeps serving.
fn reload(path: &Path, state: &ArcSwap<State>, metrics: &Metrics, from_file: bool) -> bool {
    let current = state.load_full();
    let built = if from_file {
        State::load(path, Some(&current)).and_then(|new| {
            restart_only_changes(&current.config, &new.config)?;
            Ok(new)
        })
    } else {
        State::build(current.config.clone(), Some(&current))
    };
    match built {
        Ok(new) => {
            state.store(Arc::new(new));
            metrics.reloads.fetch_add(1, Relaxed);
            let what = if from_file {
                "configuration and certificates"
            } else {
                "certificates"
            };
            tracing::info!("reloaded {what}");
            true
        }
        Err(e) => {
            metrics.failed_reloads.fetch_add(1, Relaxed);
            tracing::error!("reload refused, the running configuration keeps serving: {e:#}");
            false
        }
    }
}

/// Settings bound at start (sockets, threads, connection parameters).
fn restart_only_changes(old: &ProxyConfig, new: &ProxyConfig) -> Result<()> {
    let mut changed = Vec::new();
    if old.http_listen != new.http_listen || old.https_listen != new.https_listen {
        changed.push("http_listen/https_listen");
    }
    if old.workers != new.workers {
        changed.push("workers");
    }
    if old.admin_listen != new.admin_listen {
        changed.push("admin_listen");
    }
    if old.access_log != new.access_log {
        changed.push("access_log");
    }
    if old.tls_session_resumption != new.tls_session_resumption {
        changed.push("tls_session_resumption");
    }
    if old.limits.max_connections != new.limits.max_connections
        || old.limits.max_header_bytes != new.limits.max_header_bytes
        || old.limits.max_headers != new.limits.max_headers
        || old.limits.http2_max_streams != new.limits.http2_max_streams
    {
        changed.push("limits (connections, headers, http2 streams)");
    }
    let (a, b) = (&old.timeouts, &new.timeouts);
    if a.header_read_ms != b.header_read_ms
        || a.send_ms != b.send_ms
        || a.http2_idle_ms != b.http2_idle_ms
        || a.upstream_connect_ms != b.upstream_connect_ms
        || a.upstream_idle_ms != b.upstream_idle_ms
        || a.drain_ms != b.drain_ms
    {
        changed.push(
            "timeouts (header_read, send, http2_idle, upstream_connect, upstream_idle, drain)",
        );
    }
    if changed.is_empty() {
        Ok(())
    } else {
        bail!(
            "{} changed; these take effect only when the proxy is restarted",
            changed.join(", ")
        )
    }
}

/// Starts the active checks that are due (one GET per upstream).
fn run_checks(
    state: &ArcSwap<State>,
    client: &Connector,
    last: &mut std::collections::HashMap<usize, Instant>,
) {
    let current = state.load_full();
    // Groups a reload dropped take their check times with them.
    let live: std::collections::HashSet<usize> =
        current.groups().map(|g| Arc::as_ptr(g) as usize).collect();
    last.retain(|key, _| live.contains(key));
    for group in current.groups() {
        let Some(path) = group.health.check_path.clone() else {
            continue;
        };
        let key = Arc::as_ptr(group) as usize;
        let interval = Duration::from_millis(group.health.check_interval_ms.max(100));
        if last.get(&key).is_some_and(|t| t.elapsed() < interval) {
            continue;
        }
        last.insert(key, Instant::now());
        for index in 0..group.upstreams.len() {
            let group = Arc::clone(group);
            let client = client.clone();
            let path = path.clone();
            let timeout = interval.min(Duration::from_secs(5));
            tokio::spawn(async move {
                let upstream = &group.upstreams[index];
                let base = &upstream.base;
                let ok = forward::check(&client, upstream, &path, timeout).await;
                let was = group.upstreams[index].available(crate::proxy::clock::now_ms());
                group.checked(index, ok);
                if was != ok {
                    if ok {
                        tracing::warn!("upstream {base} passes its health check again");
                    } else {
                        tracing::warn!("upstream {base} fails its health check ({path})");
                    }
                }
            });
        }
    }
}

/// `/metrics` on the loopback admin listener.
async fn admin_loop(listener: TcpListener, state: Arc<ArcSwap<State>>, metrics: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = Arc::clone(&state);
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let state = Arc::clone(&state);
                let metrics = Arc::clone(&metrics);
                async move {
                    let resp = if req.uri().path() == "/metrics" {
                        let text = metrics.render(&state.load());
                        let mut r = Response::new(Body::full(text));
                        r.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("text/plain; version=0.0.4"),
                        );
                        r
                    } else {
                        crate::proxy::request::pages::error(StatusCode::NOT_FOUND)
                    };
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
