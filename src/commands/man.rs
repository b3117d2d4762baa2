//! `webtier man [--dir DIR]`: webtier(1) on stdout, or every page
//! (webtier(1) and one per subcommand, which it refers to) written to DIR.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::exit;
use crate::plan::FORMAT_VERSION;
use crate::ui::Ui;

pub fn run(dir: Option<&Path>, ui: &Ui) -> Result<u8> {
    let Some(dir) = dir else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(command()).render(&mut buf)?;
        ui.raw(&String::from_utf8(buf)?)?;
        return Ok(exit::SUCCESS);
    };
    if !dir.is_dir() {
        bail!(
            "cannot write the man pages: directory {} {}",
            dir.display(),
            if dir.exists() {
                "is not a directory"
            } else {
                "does not exist — create it first"
            }
        );
    }
    let mut written = Vec::new();
    write_pages(command(), dir, &mut written)
        .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
    if ui.is_json() {
        ui.json(&json!({"format_version": FORMAT_VERSION, "written": written}))?;
    } else {
        for path in &written {
            ui.info(&format!("wrote {}", path.display()))?;
        }
    }
    Ok(exit::SUCCESS)
}

/// The command tree as the pages show it: built, so that each subcommand
/// has its full name (`webtier-proxy-run`), and without `help`, which has
/// no page of its own.
fn command() -> clap::Command {
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The page of `cmd` and of every visible subcommand below it, the ones
/// each page lists under SUBCOMMANDS.
fn write_pages(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    written.push(clap_mangen::Man::new(cmd.clone()).generate_to(dir)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    Ok(())
}
