//! `webtier proxy validate`: every problem of a proxy file, one line each
//! on stderr (exit 3), warnings, or the line saying it is valid.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::exit;
use crate::plan::FORMAT_VERSION;
use crate::proxy::validate::validate;
use crate::ui::{Tone, Ui};

pub fn run(path: &Path, probe: bool, ui: &Ui) -> Result<u8> {
    let report = validate(path, probe)?;
    let file = path.display();
    for error in &report.errors {
        ui.error(&format!("{file}: {error}"));
    }
    for warning in &report.warnings {
        ui.warning(&format!("{file}: {warning}"));
    }
    if report.errors.len() > 1 {
        ui.error(&format!("{file} has {} problems", report.errors.len()));
    }
    let valid = report.errors.is_empty();
    if ui.is_json() {
        ui.json(&json!({
            "format_version": FORMAT_VERSION,
            "file": file.to_string(),
            "valid": valid,
            "problems": report.errors,
            "warnings": report.warnings,
        }))?;
    }
    if !valid {
        return Ok(exit::CONFIG_INVALID);
    }
    let sites = if report.sites == 1 { "site" } else { "sites" };
    ui.out(&format!(
        "{file}: {} ({} {sites})",
        ui.paint(Tone::Good, "valid"),
        report.sites
    ))?;
    Ok(exit::SUCCESS)
}
