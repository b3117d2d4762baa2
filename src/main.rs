//! webtier: takes an application on AWS EC2 to a secure public HTTPS site
//! and keeps it there. See README.md and `webtier --help`.

#![forbid(unsafe_code)]

mod acme;
mod aws;
mod certstore;
mod cli;
mod commands;
mod config;
mod exit;
mod fsutil;
mod iam;
mod init;
mod launch;
#[cfg(test)]
mod layering;
mod plan;
mod proxy;
mod status;
mod steps;
mod ui;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;

use crate::cli::{Cli, GlobalArgs};
use crate::ui::Ui;

/// jemalloc, with its background thread returning freed memory to the
/// system while the process is idle (bench/README-attack.md: glibc's
/// malloc kept the proxy at its peak RSS after an attack).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                return exit::code(exit::SUCCESS); // --help, --version
            }
            if json_requested() {
                let message = e.render().to_string();
                let doc = serde_json::json!({
                    "format_version": plan::FORMAT_VERSION,
                    "error": {
                        "message": message.lines().next().unwrap_or_default().trim_start_matches("error: "),
                        "exit_code": exit::ERROR,
                        "problems": null,
                    }
                });
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{doc:#}");
            }
            // Usage errors exit 1, never 2: with --detailed-exitcode, 2
            // means "the plan has changes".
            return exit::code(exit::ERROR);
        }
    };
    let ui = Ui::new(cli.global.ui_options());
    // The daemon reports starts, reloads and stops; commands stay quiet.
    let daemon = matches!(
        cli.command,
        cli::Command::Proxy(cli::ProxyCommand::Run { .. })
    );
    init_logging(&cli.global, &ui, daemon);
    match commands::run(&cli, &ui) {
        Ok(code) => exit::code(code),
        Err(err) => {
            commands::report_error(&ui, &err);
            exit::code(exit::code_for(&err))
        }
    }
}

/// Whether the raw arguments ask for JSON output (for errors that happen
/// before they could be parsed).
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--json"
            || a == "--output=json"
            || (a == "--output" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// Logs go to stderr: warnings by default, more with -v, errors only with -q.
/// The AWS SDK's own logs only from -vv: its warnings are multi-line debug
/// dumps of what webtier's error then says in one line.
fn init_logging(global: &GlobalArgs, ui: &Ui, daemon: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match (global.quiet, global.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) if daemon => LevelFilter::INFO,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    let sdk = if level >= LevelFilter::DEBUG {
        level
    } else {
        LevelFilter::OFF
    };
    // A prefix of the target: aws_config, aws_smithy_*, aws_sdk_*, …
    let filter = Targets::new().with_default(level).with_target("aws_", sdk);
    tracing_subscriber::fmt()
        .with_writer(ui::LogWriter)
        .with_max_level(level)
        .with_ansi(ui.color_stderr())
        .with_target(global.verbose > 1)
        .finish()
        .with(filter)
        .init();
}
