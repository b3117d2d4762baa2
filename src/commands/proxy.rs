//! `webtier proxy run|validate|reload|export`.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use crate::cli::{ExportCommand, GlobalArgs, ProxyCommand, ProxyFile};
use crate::exit;
use crate::proxy::daemon::control::Reload;
use crate::proxy::daemon::{self, Options};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, command: &ProxyCommand, ui: &Ui) -> Result<u8> {
    match command {
        ProxyCommand::Run { file, workers } => {
            let config = config_file(global, file)?;
            daemon::run(&Options {
                config,
                workers: *workers,
            })?;
            Ok(exit::SUCCESS)
        }
        ProxyCommand::Validate { file } => {
            let path = config_file(global, file)?;
            let state = crate::proxy::State::load(&path, None)?;
            let sites = state.config.sites.len();
            ui.out(&format!("{}: valid ({sites} site(s))", path.display()))?;
            Ok(exit::SUCCESS)
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
        ProxyCommand::Export(ExportCommand::Nginx { file, out }) => {
            super::export::nginx(&config_file(global, file)?, out.as_deref(), ui)
        }
    }
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
