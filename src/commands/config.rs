//! `webtier config check | show`.

use anyhow::Result;
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::exit;
use crate::plan::FORMAT_VERSION;
use crate::ui::{Tone, Ui};

pub fn check(global: &GlobalArgs, ui: &Ui) -> Result<u8> {
    let file = global.config_path().display().to_string();
    match crate::config::load(&global.config_path()) {
        Ok(config) => {
            let names: usize = config.sites.iter().map(|s| s.names().count()).sum();
            if ui.is_json() {
                ui.json(&json!({
                    "format_version": FORMAT_VERSION,
                    "file": file,
                    "valid": true,
                    "problems": [],
                }))?;
            }
            ui.info(&format!(
                "{file}: {} ({} {}, {names} {})",
                ui.paint(Tone::Good, "configuration is valid"),
                config.sites.len(),
                plural(config.sites.len(), "site", "sites"),
                plural(names, "name", "names"),
            ))?;
            Ok(exit::SUCCESS)
        }
        Err(invalid) => {
            super::print_problems(ui, &invalid);
            if ui.is_json() {
                ui.json(&json!({
                    "format_version": FORMAT_VERSION,
                    "file": file,
                    "valid": false,
                    "problems": invalid.problems,
                }))?;
            }
            Ok(exit::CONFIG_INVALID)
        }
    }
}

pub fn show(global: &GlobalArgs, ui: &Ui) -> Result<u8> {
    let config = crate::config::load(&global.config_path())?;
    if ui.is_json() {
        ui.json(&json!({
            "format_version": FORMAT_VERSION,
            "file": config.source,
            "config": config,
        }))?;
    } else {
        let text = toml::to_string_pretty(&config)?;
        ui.out(&format!(
            "# {} resolved: defaults filled in, names normalized, paths absolute.\n\n{}",
            config.source.display(),
            text.trim_end()
        ))?;
    }
    Ok(exit::SUCCESS)
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
