//! The main thread's loop: signals, certificate changes, health checks,
//! the admin listener, log flushing; and reloads, which never take down
//! what is serving.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use tokio::net::TcpListener;

use crate::proxy::auth::key_source::{self, KeySource};
use crate::proxy::config::ProxyConfig;
use crate::proxy::observe::access_log;
use crate::proxy::observe::metrics::Metrics;
use crate::proxy::state::State;
use crate::proxy::upstream::health::run_checks;
use crate::proxy::upstream::pool::Pool;

use super::WATCH_INTERVAL;
use super::admin::admin_loop;
use super::handover;
use super::status::{self, LoadedFile, Status};

/// The signals the control loop acts on, watched from the start.
pub(super) struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (within the control loop's runtime).
    pub fn watch() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup()).context("cannot watch SIGHUP")?,
            term: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            usr2: signal(SignalKind::user_defined2()).context("cannot watch SIGUSR2")?,
        })
    }
}

/// What the control loop runs with.
pub(super) struct Control {
    pub signals: Signals,
    /// The configuration file, read again on SIGHUP.
    pub path: PathBuf,
    pub state: Arc<ArcSwap<State>>,
    pub metrics: Arc<Metrics>,
    pub access_log: Option<Arc<access_log::Writer>>,
    pub admin: Option<std::net::TcpListener>,
    pub pool: Pool,
    pub report: Report,
    /// Where the session keys come from when an SSM parameter holds them.
    pub keys: KeySources,
    pub upgrade: Upgrade,
}

/// The SSM parameter the running state's session keys come from, if any,
/// and the task that reads it again every refresh interval.
pub(super) struct KeySources {
    current: Option<Arc<KeySource>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl KeySources {
    pub fn new(current: Option<Arc<KeySource>>) -> KeySources {
        KeySources {
            current,
            task: None,
        }
    }

    /// Starts the refresh task (within the control loop's runtime).
    fn start_refreshing(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.task = (self.current.as_ref())
            .map(|source| tokio::spawn(Arc::clone(source).refresh_every_interval()));
    }

    /// The source of the keys of `config`, read now: the running one
    /// (whose keys stay when the read fails), or a new one, which must be
    /// read for the reload to go on.
    async fn for_config(&self, config: &ProxyConfig) -> Result<Option<Arc<KeySource>>> {
        let Some(wanted) = key_source::wanted(config) else {
            return Ok(None);
        };
        match &self.current {
            Some(current) if current.setting() == wanted => {
                current.refresh().await;
                Ok(Some(Arc::clone(current)))
            }
            _ => Ok(Some(Arc::new(KeySource::start(wanted).await?))),
        }
    }

    /// After a reload: the source the new state seals with.
    fn install(&mut self, source: Option<Arc<KeySource>>) {
        let same = match (&self.current, &source) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.current = source;
            self.start_refreshing();
        }
    }

    /// The keys of the running source, for a rebuild of the running
    /// configuration.
    fn running(&self) -> Option<Arc<KeySource>> {
        self.current.clone()
    }
}

/// The status file, kept up to date with every reload.
pub(super) struct Report {
    pub path: Option<PathBuf>,
    pub status: Status,
}

impl Report {
    pub fn write(&self) -> Result<()> {
        match &self.path {
            Some(path) => status::write(path, &self.status),
            None => Ok(()),
        }
    }

    /// After a reload: what it loaded, or why it was refused.
    fn reloaded(&mut self, outcome: Result<(&State, Option<String>), String>) {
        match outcome {
            Ok((state, digest)) => {
                if let Some(digest) = digest {
                    self.status.config_sha256 = digest;
                }
                self.status.loaded_at = status::unix_now();
                self.status.certificates = loaded_files(state);
                self.status.refused_sites = refused_lines(state);
                self.status.reload_error = None;
            }
            Err(why) => self.status.reload_error = Some(why),
        }
        if let Err(e) = self.write() {
            tracing::error!("{e:#}");
        }
    }
}

/// What a handover (SIGUSR2) needs.
pub(super) struct Upgrade {
    /// The binary's path when this process started.
    pub exe: PathBuf,
    pub pid_file: Option<PathBuf>,
    /// A copy of every listening socket.
    pub sockets: Vec<OwnedFd>,
}

/// The first names of the sites served.
pub(super) fn served_sites(state: &State) -> Vec<String> {
    state
        .config
        .sites
        .iter()
        .filter_map(|s| s.names.first())
        .filter(|name| !state.refused().iter().any(|r| &r.name == *name))
        .cloned()
        .collect()
}

/// The sites not served, one line per problem.
pub(super) fn refused_lines(state: &State) -> Vec<String> {
    state.refused().iter().flat_map(|r| r.lines()).collect()
}

/// The certificate and key files as loaded.
pub(super) fn loaded_files(state: &State) -> Vec<LoadedFile> {
    state
        .watched
        .iter()
        .map(|(path, when)| LoadedFile::new(path, *when))
        .collect()
}

/// The main thread's loop: signals, certificate changes, health checks,
/// the admin listener, log flushing. Returns on SIGTERM or SIGINT, or once
/// a new process serves after SIGUSR2.
/// How the control loop ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// SIGTERM or SIGINT.
    Stopped,
    /// A new process serves from the sockets (and owns the pid file).
    HandedOver,
}

pub(super) async fn control_loop(mut control: Control) -> Result<Ended> {
    let Signals {
        mut hup,
        mut term,
        mut int,
        mut usr2,
    } = control.signals;
    let (state, metrics) = (Arc::clone(&control.state), Arc::clone(&control.metrics));

    if let Some(admin) = control.admin.take() {
        let listener = TcpListener::from_std(admin).context("cannot use the admin listener")?;
        tokio::spawn(admin_loop(
            listener,
            Arc::clone(&state),
            Arc::clone(&metrics),
        ));
    }
    control.keys.start_refreshing();
    let mut last_checks: std::collections::HashMap<usize, Instant> = Default::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_watch = Instant::now();
    let mut refused = None;
    let mut ended = Ended::Stopped;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                reload(&control.path, &state, &metrics, true, &mut control.report, &mut control.keys).await;
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr2.recv() => {
                if upgrade(&control.upgrade, &mut control.report, &served_sites(&state.load())).await {
                    ended = Ended::HandedOver;
                    break;
                }
            }
            _ = tick.tick() => {
                if last_watch.elapsed() >= WATCH_INTERVAL {
                    last_watch = Instant::now();
                    // Files that failed to load are retried only once they
                    // change again.
                    let now = state.load().certificate_times();
                    if state.load().loaded_times() != now && refused.as_ref() != Some(&now) {
                        tracing::warn!("certificate files changed; reloading them");
                        let ok = reload(&control.path, &state, &metrics, false, &mut control.report, &mut control.keys).await;
                        refused = (!ok).then_some(now);
                    }
                    if let Some(log) = &control.access_log {
                        log.flush();
                    }
                    // Rate limits keep no client whose budget has refilled.
                    for limiter in state.load().limiters() {
                        limiter.forget_idle();
                    }
                }
                run_checks(&state, &control.pool, &mut last_checks);
                crate::proxy::auth::provider::discover_due(state.load().providers());
            }
        }
    }
    tracing::info!("stopping: no new connections; draining in-flight requests");
    Ok(ended)
}

/// SIGUSR2: a new process from the binary's path takes the sockets over.
/// True once it serves (this process then drains and exits).
async fn upgrade(upgrade: &Upgrade, report: &mut Report, served: &[String]) -> bool {
    let Some(pid_file) = &upgrade.pid_file else {
        tracing::error!("SIGUSR2 ignored: a handover needs `pid_file` set in the configuration");
        return false;
    };
    tracing::info!(
        "SIGUSR2: starting {} to take over the listening sockets",
        upgrade.exe.display()
    );
    match handover::hand_over(&upgrade.exe, pid_file, &upgrade.sockets, served).await {
        Ok(pid) => {
            tracing::info!("the new proxy (pid {pid}) serves; this one drains and exits");
            true
        }
        Err(e) => {
            tracing::error!("handover failed, this proxy keeps serving: {e:#}");
            // The pid file names this process again, whatever the failed
            // one did to it.
            let text = super::control::pid_file_text();
            if let Err(e) = crate::fsutil::atomic_write(pid_file, text.as_bytes(), 0o644) {
                tracing::error!("cannot write the pid file {}: {e:#}", pid_file.display());
            }
            report.status.reload_error = Some(format!("handover failed: {e:#}"));
            if let Err(e) = report.write() {
                tracing::error!("{e:#}");
            }
            false
        }
    }
}

/// Replaces the state with one built from the file (`from_file`, the
/// session keys read again from SSM when it names a parameter) or from
/// the current configuration with freshly read certificates. A state that
/// fails to build is refused and the old one keeps serving.
async fn reload(
    path: &Path,
    state: &ArcSwap<State>,
    metrics: &Metrics,
    from_file: bool,
    report: &mut Report,
    keys: &mut KeySources,
) -> bool {
    let current = state.load_full();
    let built = if from_file {
        match State::read(path) {
            Ok((config, digest)) => match keys.for_config(&config).await {
                Ok(source) => {
                    State::build_with_keys(config, Some(&current), source.as_ref().map(|s| &s.keys))
                        .and_then(|new| {
                            restart_only_changes(&current.config, &new.config)?;
                            Ok((new, Some(digest), source))
                        })
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    } else {
        let source = keys.running();
        State::build_with_keys(
            current.config.clone(),
            Some(&current),
            source.as_ref().map(|s| &s.keys),
        )
        .map(|new| (new, None, source))
    };
    let built = built.and_then(|(new, digest, source)| {
        new.keeps_serving(&current).map(|()| (new, digest, source))
    });
    match built {
        Ok((new, digest, source)) => {
            keys.install(source);
            new.log_problems();
            report.reloaded(Ok((&new, digest)));
            if let Some(cache) = &new.cache {
                // What was stored for routes now served otherwise goes.
                let dropped = cache.keep_routes(&new.cached_routes());
                if dropped > 0 {
                    tracing::info!("dropped {dropped} cached key(s) of routes the reload changed");
                }
            }
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
            report.reloaded(Err(format!("{e:#}")));
            false
        }
    }
}

/// Settings bound at start are refused by a reload.
fn restart_only_changes(old: &ProxyConfig, new: &ProxyConfig) -> Result<()> {
    let changed = crate::proxy::config::restart_only_changes(old, new);
    if changed.is_empty() {
        Ok(())
    } else {
        bail!(
            "{} changed; these take effect only when the proxy is restarted (`webtier apply proxy` restarts it without downtime)",
            changed.join(", ")
        )
    }
}
