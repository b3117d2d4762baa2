//! `webtier proxy export nginx`: the proxy file as an nginx configuration,
//! on standard output or written atomically to a file.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::exit;
use crate::fsutil::atomic_write;
use crate::plan::FORMAT_VERSION;
use crate::proxy::config::{Invalid, ProxyConfig};
use crate::proxy::export_nginx;
use crate::ui::Ui;

pub fn nginx(path: &Path, out: Option<&Path>, ui: &Ui) -> Result<u8> {
    let text = crate::proxy::config::read(path)?;
    let config =
        ProxyConfig::from_toml(&text).map_err(|e| Invalid(format!("{}: {e}", path.display())))?;
    let conf = export_nginx::export(&config, path)?;
    match out {
        Some(out) => {
            atomic_write(out, conf.as_bytes(), 0o644)?;
            if ui.is_json() {
                ui.json(&json!({"format_version": FORMAT_VERSION, "written": out}))?;
            }
            ui.info(&format!(
                "wrote {} (check it with `nginx -t -c {}`)",
                out.display(),
                out.display()
            ))?;
        }
        None if ui.is_json() => {
            ui.json(&json!({"format_version": FORMAT_VERSION, "content": conf}))?;
        }
        None => ui.raw(&conf)?,
    }
    Ok(exit::SUCCESS)
}
