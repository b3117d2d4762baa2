//! `webtier proxy config`: the proxy file that webtier.toml renders (what
//! the `proxy-config` step writes), printed instead of written; or, with
//! `--file`, a proxy file as the proxy reads it.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::exit;
use crate::plan::FORMAT_VERSION;
use crate::proxy::config::{Invalid, ProxyConfig};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, file: Option<&Path>, ui: &Ui) -> Result<u8> {
    let (path, text) = match file {
        None => {
            let config = crate::config::load(&global.config_path())?;
            let text = crate::config::proxy_file::render(&config);
            (config.proxy.config_file, text)
        }
        Some(path) => {
            let text = crate::proxy::config::read(path)?;
            let config = ProxyConfig::from_toml(&text).map_err(|problems| {
                Invalid::in_file(path, &problems.lines().collect::<Vec<_>>())
            })?;
            (path.to_path_buf(), config.to_toml())
        }
    };
    if ui.is_json() {
        ui.json(&json!({
            "format_version": FORMAT_VERSION,
            "file": path,
            "content": text,
        }))?;
    } else {
        ui.raw(&text)?;
    }
    Ok(exit::SUCCESS)
}
