//! `webtier proxy run|start|stop|status|validate|reload|purge-cache|config|export`.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::cli::{ExportCommand, GlobalArgs, ProxyCommand, ProxyFile};
use crate::exit;
use crate::launch::detached;
use crate::proxy::daemon::control::Reload;
use crate::proxy::daemon::{self, Options};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, command: &ProxyCommand, ui: &Ui) -> Result<u8> {
    match command {
        ProxyCommand::Run {
            file,
            workers,
            detached,
        } => {
            let config = config_file(global, file)?;
            if *detached {
                // No terminal can hang up a process in its own session.
                rustix::process::setsid().context("cannot start a new session")?;
            }
            daemon::run(&Options {
                config,
                workers: *workers,
            })?;
            Ok(exit::SUCCESS)
        }
        ProxyCommand::Start { file } => {
            let paths = detached_paths(global, file)?;
            let exe = std::env::current_exe().context("cannot tell which binary runs")?;
            let status = detached::start(&exe, &paths)?;
            ui.out(&format!(
                "the proxy serves (pid {}) on {}; log: {}",
                status.pid,
                status.listen.join(", "),
                paths.log_file.display()
            ))?;
            Ok(exit::SUCCESS)
        }
        ProxyCommand::Stop { file } => {
            let paths = detached_paths(global, file)?;
            let drain = loaded(&paths.config)?.timeouts.drain_ms;
            match detached::stop(&paths, std::time::Duration::from_millis(drain))? {
                Some(pid) => ui.out(&format!("the proxy (pid {pid}) drained and stopped"))?,
                None => ui.out("the proxy was not running")?,
            }
            Ok(exit::SUCCESS)
        }
        ProxyCommand::Status { file } => status(global, file, ui),
        ProxyCommand::Validate { file, probe } => {
            super::proxy_validate::run(&config_file(global, file)?, *probe, ui)
        }
        ProxyCommand::Reload { file } => {
            let path = config_file(global, file)?;
            // The new file is checked here first, so a typo is reported to
            // the operator, not only to the daemon's log.
            let state = crate::proxy::State::load(&path, None)?;
            let pid_file = state.config.pid_file.clone().ok_or_else(|| {
                anyhow!(
                    "{} sets no pid_file, so the running proxy cannot be found",
                    path.display()
                )
            })?;
            match crate::proxy::daemon::control::reload_running(&pid_file)? {
                Reload::Signalled(pid) => {
                    ui.out(&format!("asked the proxy (pid {pid}) to reload"))?;
                    Ok(exit::SUCCESS)
                }
                Reload::NotRunning => Err(anyhow!(
                    "the proxy is not running (no live process in {}) — start it with `webtier proxy run`",
                    pid_file.display()
                )),
                Reload::NotOurs(why) => Err(anyhow!(why)),
            }
        }
        ProxyCommand::PurgeCache { file, key, prefix } => {
            let path = config_file(global, file)?;
            let config = loaded(&path)?;
            let admin = config.admin_listen.ok_or_else(|| {
                anyhow!(
                    "{} sets no admin_listen, through which the cache is purged — set [proxy] admin_listen in webtier.toml (like \"127.0.0.1:9100\") and apply",
                    path.display()
                )
            })?;
            if key.as_deref() == Some("") || prefix.as_deref() == Some("") {
                return Err(anyhow!(
                    "--key and --prefix need a value (like example.com/blog/); without either, everything is purged"
                ));
            }
            let query = match (key, prefix) {
                (Some(k), _) => format!(
                    "?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("key", k)
                        .finish()
                ),
                (_, Some(p)) => format!(
                    "?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("prefix", p)
                        .finish()
                ),
                _ => String::new(),
            };
            let purged = purge_cache(admin, &query)?;
            ui.out(&format!("purged {purged} cached key(s)"))?;
            Ok(exit::SUCCESS)
        }
        ProxyCommand::RotateSessionKey { file } => {
            let path = config_file(global, file)?;
            let config =
                crate::proxy::config::ProxyConfig::from_toml(&crate::proxy::config::read(&path)?)
                    .map_err(|e| crate::proxy::config::Invalid::in_file(&path, &[e]))?;
            match (&config.session_key_ssm, &config.session_key_file) {
                (Some(ssm), _) => {
                    let id = super::runtime()?.block_on(async {
                        let clients = crate::aws::Clients::connect(&crate::config::Aws {
                            region: Some(ssm.region.clone()),
                            profile: None,
                        })
                        .await?;
                        crate::steps::proxy_config::rotate(&clients.ssm, &ssm.parameter).await
                    })?;
                    ui.out(&format!(
                        "new session key {id} in SSM parameter {}; sessions made with the two keys before it stay valid, and the proxies seal with it once every one has read it ({} s)",
                        ssm.parameter,
                        2 * crate::proxy::auth::key_source::REFRESH_INTERVAL.as_secs()
                    ))?;
                }
                (None, Some(keys)) => {
                    let id = crate::proxy::auth::keys::rotate(keys)?;
                    ui.out(&format!(
                        "new session key {id} in {}; sessions made with the two keys before it stay valid",
                        keys.display()
                    ))?;
                }
                (None, None) => {
                    return Err(anyhow!(
                        "{} sets no session_key_file or session_key_ssm (no site has a login)",
                        path.display()
                    ));
                }
            }
            match config
                .pid_file
                .as_deref()
                .map(crate::proxy::daemon::control::reload_running)
                .transpose()?
            {
                Some(Reload::Signalled(pid)) => {
                    ui.out(&format!("asked the proxy (pid {pid}) to reload"))?
                }
                Some(Reload::NotOurs(why)) => return Err(anyhow!(why)),
                _ => ui.out("the proxy is not running: it uses the new key when it starts")?,
            }
            Ok(exit::SUCCESS)
        }
        ProxyCommand::Config { file } => super::proxy_config::run(global, file.as_deref(), ui),
        ProxyCommand::Export(ExportCommand::Nginx { file, out }) => {
            super::export::nginx(&config_file(global, file)?, out.as_deref(), ui)
        }
    }
}

/// `proxy status`: text or JSON; exit 1 when the proxy does not run.
fn status(global: &GlobalArgs, file: &ProxyFile, ui: &Ui) -> Result<u8> {
    let paths = detached_paths(global, file)?;
    let found = detached::running(&paths)?;
    let now = crate::proxy::daemon::status::unix_now();
    if ui.is_json() {
        let (pid, status) = match &found {
            Some((pid, status)) => (Some(*pid), status.as_ref()),
            None => (None, None),
        };
        ui.json(&serde_json::json!({
            "format_version": crate::plan::FORMAT_VERSION,
            "running": found.is_some(),
            "pid": pid,
            "uptime_s": status.map(|s| now.saturating_sub(s.started_at)),
            "status": status,
        }))?;
    } else {
        match &found {
            None => ui.out(&format!(
                "not running (no live proxy in {})",
                paths.pid_file.display()
            ))?,
            Some((pid, None)) => ui.out(&format!(
                "running (pid {pid}), but {} does not describe it",
                paths.status_file.display()
            ))?,
            Some((pid, Some(s))) => {
                ui.out(&format!(
                    "running (pid {pid}) for {}",
                    duration(now.saturating_sub(s.started_at))
                ))?;
                ui.out(&format!(
                    "configuration: {} ({}), loaded {} ago",
                    s.config_file.display(),
                    &s.config_sha256[..s.config_sha256.len().min(19)],
                    duration(now.saturating_sub(s.loaded_at))
                ))?;
                ui.out(&format!("listening: {}", s.listen.join(", ")))?;
                if let Some(admin) = s.admin_listen {
                    ui.out(&format!("metrics: http://{admin}/metrics"))?;
                }
                ui.out(&format!(
                    "workers: {}; binary: {}",
                    s.workers,
                    s.exe.display()
                ))?;
                for line in &s.refused_sites {
                    ui.out(&format!("not served: {line}"))?;
                }
                if let Some(e) = &s.reload_error {
                    ui.out(&format!("last reload refused: {e}"))?;
                }
            }
        }
    }
    // Running, and serving every site.
    let healthy = matches!(&found, Some((_, Some(s))) if s.refused_sites.is_empty());
    Ok(if healthy { exit::SUCCESS } else { exit::ERROR })
}

/// `1h 2m 3s`, the largest units only.
fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

/// The proxy file, parsed and checked (a missing one names the command
/// that writes it).
fn loaded(path: &std::path::Path) -> Result<crate::proxy::config::ProxyConfig> {
    use crate::proxy::config::{Invalid, ProxyConfig, read};
    ProxyConfig::from_toml(&read(path)?).map_err(|e| Invalid::in_file(path, &[e]).into())
}

/// The detached proxy's files, from its configuration.
fn detached_paths(global: &GlobalArgs, file: &ProxyFile) -> Result<detached::Paths> {
    let path = config_file(global, file)?;
    detached::Paths::of(&path, &loaded(&path)?)
}

/// `--file`, else webtier.toml's `[proxy] config_file`.
fn config_file(global: &GlobalArgs, file: &ProxyFile) -> Result<PathBuf> {
    match &file.path {
        Some(path) => Ok(path.clone()),
        None => Ok(crate::config::load(&global.config_path())?
            .proxy
            .config_file),
    }
}

/// `POST /cache/purge` on the admin listener; how many keys went.
fn purge_cache(admin: std::net::SocketAddr, query: &str) -> Result<u64> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&admin, timeout).map_err(|e| {
        anyhow!("cannot reach the proxy's admin listener {admin}: {e} — is the proxy running (`webtier proxy status`)?")
    })?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "POST /cache/purge{query} HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .with_context(|| format!("the admin listener {admin} did not answer"))?;
    let status = answer.split(' ').nth(1).unwrap_or("");
    match status {
        "200" => {}
        "404" => return Err(anyhow!("no route of the running proxy has a cache")),
        other => {
            return Err(anyhow!(
                "the admin listener {admin} answered {other} to the purge"
            ));
        }
    }
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(body.trim())
        .with_context(|| format!("the admin listener {admin} answered {body:?}"))?;
    value["purged"]
        .as_u64()
        .ok_or_else(|| anyhow!("the admin listener {admin} answered {body:?}"))
}
