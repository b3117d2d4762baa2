//! `webtier proxy run`: the listeners, one event loop per worker thread
//! (each with its own SO_REUSEPORT sockets and upstream pool, like nginx's
//! worker processes), and a control loop on the main thread for signals,
//! certificate-file changes, health checks, metrics and log flushing.

pub mod control;
pub mod drain;
pub mod send_timeout;
pub mod socket;

mod admin;
mod listen;
mod pid_file;
mod supervise;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::proxy::observe::access_log;
use crate::proxy::observe::metrics::Metrics;
use crate::proxy::request::Shared;
use crate::proxy::state::State;
use crate::proxy::tls;
use crate::proxy::upstream::pool::Pool;
use listen::{bind_all, listen_list};
use pid_file::PidFile;
use supervise::control_loop;
use worker::{Worker, http1_builder, http2_builder};

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
    state.log_problems();
    let served = state.sites.len();
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
    let pool = Pool::new(
        Duration::from_millis(config.timeouts.upstream_connect_ms),
        Duration::from_millis(config.timeouts.upstream_idle_ms),
    )?;

    // Bind everything first, so a port in use fails the start, not a worker.
    let (sockets, admin) = bind_all(&config, workers)?;

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
            pool: pool.clone(),
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
        "webtier proxy serving {served} site(s) on {} with {workers} worker(s)",
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
        pool,
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
