//! `webtier proxy run`: the listeners, one event loop per worker thread
//! (each with its own SO_REUSEPORT sockets and upstream pool, like nginx's
//! worker processes), and a control loop on the main thread for signals,
//! certificate-file changes, health checks, metrics and log flushing.
//!
//! Start: load the file, bind (or take the sockets over from a running
//! proxy: `handover`), stop being root (`privileges`), write the pid file,
//! start the workers, write the status file (`status`), tell systemd.

pub mod control;
pub mod drain;
pub mod handover;
pub mod park;
pub mod privileges;
pub mod send_timeout;
pub mod socket;
pub mod status;
pub mod tls_socket;

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

use crate::proxy::auth::key_source::{self, KeySource};
use crate::proxy::observe::access_log;
use crate::proxy::observe::metrics::Metrics;
use crate::proxy::request::Shared;
use crate::proxy::state::State;
use crate::proxy::tls;
use crate::proxy::upstream::pool::Pool;
use listen::{bind_all, listen_list, listen_urls};
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

/// Runs until SIGTERM or SIGINT, or until a new process took over after
/// SIGUSR2 (`handover`), then drains. Errors before the listeners are up
/// (bad configuration, a port in use) are returned.
pub fn run(options: &Options) -> Result<()> {
    let mut takeover = std::env::var_os(handover::TAKEOVER_ENV)
        .map(|path| handover::Takeover::connect(std::path::Path::new(&path)))
        .transpose()?;
    let served = serve(options, &mut takeover);
    if let (Err(e), Some(takeover)) = (&served, takeover) {
        takeover.failed(&format!("{e:#}"));
    }
    served
}

fn serve(options: &Options, takeover: &mut Option<handover::Takeover>) -> Result<()> {
    let started_at = status::unix_now();
    raise_open_files_limit();
    // The path the binary has now; an upgrade puts the new one there.
    let exe = std::env::current_exe().context("cannot tell which binary runs")?;
    // The control loop's runtime, which first reads the session keys
    // from SSM when the file says so: a start without them fails.
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the control loop")?;
    let (config, digest) = State::read(&options.config)?;
    let key_source = match key_source::wanted(&config) {
        Some(ssm) => Some(Arc::new(control.block_on(KeySource::start(ssm))?)),
        None => None,
    };
    let state = State::build_with_keys(config, None, key_source.as_ref().map(|k| &k.keys))?;
    state.log_problems();
    if let Some(takeover) = takeover.as_ref() {
        // As a reload: a restart does not stop serving a site that is
        // served now.
        let lost: Vec<String> = state
            .refused()
            .iter()
            .filter(|r| takeover.served.contains(&r.name))
            .flat_map(|r| r.lines())
            .collect();
        if !lost.is_empty() {
            anyhow::bail!(
                "the new process would stop serving what the old one serves: {}",
                lost.join("; ")
            );
        }
    }
    let served = state.sites.len();
    let config = state.config.clone();
    let workers = match options.workers.unwrap_or(config.workers) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };

    // Bind everything first, so a port in use fails the start, not a
    // worker; then stop being root before anything else is opened.
    let handed = takeover
        .as_mut()
        .map(|t| std::mem::take(&mut t.listeners))
        .unwrap_or_default();
    let (sockets, admin) = bind_all(&config, workers, handed)?;
    let handover_fds = duplicates(&sockets, admin.as_ref())?;
    match privileges::drop_to(config.user.as_deref())? {
        privileges::Serving::Changed { user, uid } => {
            tracing::info!("serving as user {user} (uid {uid})")
        }
        privileges::Serving::AsRoot => tracing::warn!(
            "serving as root: set `user` in {} so that the proxy serves as an unprivileged user",
            options.config.display()
        ),
        privileges::Serving::Unchanged { .. } => {}
    }

    let access_log = config
        .access_log
        .as_ref()
        .map(access_log::Writer::open)
        .transpose()?
        .map(Arc::new);
    let certificates = supervise::loaded_files(&state);
    let refused_sites = supervise::refused_lines(&state);
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

    // The signals are handled from here on (their default action would
    // end the process), before anything announces it.
    let signals = control.block_on(async { supervise::Signals::watch() })?;
    // A process taking over writes the pid file only once the old one has
    // handed over: if it fails before that, the file still names the old.
    let mut pid_file = match takeover {
        None => config.pid_file.as_deref().map(PidFile::write).transpose()?,
        Some(_) => None,
    };

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
    let report = supervise::Report {
        path: config.status_file.clone(),
        status: status::Status {
            pid: std::process::id(),
            started_at,
            exe: exe.clone(),
            config_file: options.config.clone(),
            config_sha256: digest,
            loaded_at: status::unix_now(),
            listen: listen_urls(&config),
            admin_listen: config.admin_listen,
            workers,
            certificates,
            refused_sites,
            reload_error: None,
        },
    };
    // The status file names this process only once it serves for good:
    // after a handover, once the old process has been told (and the pid
    // file names this one), so whoever waits on the file for the new pid
    // (`apply`'s restart) sees the handover finished, not begun.
    let took_over = takeover.is_some();
    if !took_over {
        report.write()?;
    }
    // Under systemd (Type=notify): ready, and after a handover, this
    // process is the service's main process now; systemd must know that
    // before the old one exits, or it takes the service for stopped.
    let systemd = match took_over {
        true => vec![
            sd_notify::NotifyState::MainPid(std::process::id()),
            sd_notify::NotifyState::Ready,
        ],
        false => vec![sd_notify::NotifyState::Ready],
    };
    if let Err(e) = sd_notify::notify(false, &systemd).and_then(|()| systemd_barrier()) {
        tracing::warn!("cannot tell systemd that the proxy is ready: {e}");
    }
    if let Some(takeover) = takeover.take() {
        takeover.ready()?;
        pid_file = config.pid_file.as_deref().map(PidFile::write).transpose()?;
        // The old process is on its way out: a status file that cannot be
        // written must not take this one down too.
        if let Err(e) = report.write() {
            tracing::warn!("{e:#}");
        }
    }

    let ended = control.block_on(control_loop(supervise::Control {
        signals,
        path: options.config.clone(),
        state: Arc::clone(&state),
        metrics: Arc::clone(&metrics),
        access_log: access_log.clone(),
        admin,
        pool,
        report,
        keys: supervise::KeySources::new(key_source),
        upgrade: supervise::Upgrade {
            exe,
            pid_file: config.pid_file.clone(),
            sockets: handover_fds,
        },
    }))?;

    let _ = stop_tx.send(true);
    for t in threads {
        let _ = t.join();
    }
    if let Some(log) = &access_log {
        log.flush();
    }
    match (ended, pid_file) {
        (supervise::Ended::HandedOver, Some(pid_file)) => pid_file.release(),
        (_, pid_file) => drop(pid_file),
    }
    tracing::info!("webtier proxy stopped");
    Ok(())
}

/// Raises the soft limit on open files to the hard one: each connection
/// is a file, and the usual soft limit (1024) is below `max_connections`.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!("cannot raise the open-files limit: {e}");
        }
    }
}

/// Waits until systemd has handled the notifications sent before
/// (`BARRIER=1` with a pipe it closes once it has), at most 5 s.
fn systemd_barrier() -> std::io::Result<()> {
    use std::io::Read;
    use std::os::fd::AsFd;
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return Ok(());
    }
    let (mut read, write) = std::io::pipe()?;
    sd_notify::notify_with_fds(
        false,
        &[sd_notify::NotifyState::Custom("BARRIER=1")],
        &[write.as_fd()],
    )?;
    drop(write);
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(read.read(&mut [0u8; 1]));
    });
    match wait.recv_timeout(Duration::from_secs(5)) {
        Ok(_) => Ok(()),
        Err(_) => Err(std::io::Error::other(
            "systemd did not answer BARRIER=1 within 5 s",
        )),
    }
}

/// Copies of every listening socket, kept by the main thread for a
/// handover after the workers own theirs.
fn duplicates(
    sockets: &[listen::Sockets],
    admin: Option<&std::net::TcpListener>,
) -> Result<Vec<std::os::fd::OwnedFd>> {
    sockets
        .iter()
        .flatten()
        .map(|(socket, _)| socket)
        .chain(admin)
        .map(|socket| {
            socket
                .try_clone()
                .map(std::os::fd::OwnedFd::from)
                .context("cannot duplicate a listening socket")
        })
        .collect()
}
