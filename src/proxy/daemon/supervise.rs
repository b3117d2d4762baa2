//! The main thread's loop: signals, certificate changes, health checks,
//! the admin listener, log flushing; and reloads, which never take down
//! what is serving.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use tokio::net::TcpListener;

use crate::proxy::config::ProxyConfig;
use crate::proxy::observe::access_log;
use crate::proxy::observe::metrics::Metrics;
use crate::proxy::state::State;
use crate::proxy::upstream::health::run_checks;
use crate::proxy::upstream::pool::Pool;

use super::WATCH_INTERVAL;
use super::admin::admin_loop;

/// The main thread's loop: signals, certificate changes, health checks,
/// the admin listener, log flushing. Returns on SIGTERM or SIGINT.
pub(super) async fn control_loop(
    path: &Path,
    state: Arc<ArcSwap<State>>,
    metrics: Arc<Metrics>,
    access_log: Option<Arc<access_log::Writer>>,
    admin: Option<std::net::TcpListener>,
    pool: Pool,
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
                run_checks(&state, &pool, &mut last_checks);
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
    match built.and_then(|new| new.keeps_serving(&current).map(|()| new)) {
        Ok(new) => {
            new.log_problems();
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
