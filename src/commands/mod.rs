//! One function per command: read the arguments, do the work, print
//! through [`Ui`], return the exit code.

mod apply;
mod cert;
mod cert_acm;
mod config;
mod export;
mod init;
mod man;
mod plan;
mod proxy;
mod proxy_config;
mod proxy_validate;
mod status;

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::{ChangeOptions, Cli, Command, ConfigCommand, GlobalArgs, StepAction};
use crate::config::Invalid;
use crate::exit;
use crate::plan::StepName;
use crate::ui::Ui;

pub fn run(cli: &Cli, ui: &Ui) -> Result<u8> {
    match &cli.command {
        Command::Init(args) => init::run(&cli.global, args, ui),
        Command::Plan(args) => {
            let mut options = args.options.clone();
            options.change.destroy = args.destroy.then_some(crate::plan::Destroy {
                revoke: args.revoke,
            });
            plan::run(&cli.global, &args.steps, &options, ui)
        }
        Command::Destroy(args) => {
            let change = ChangeOptions {
                destroy: Some(crate::plan::Destroy {
                    revoke: args.revoke,
                }),
                ..ChangeOptions::default()
            };
            apply::run_steps(&cli.global, &[], change, ui)
        }
        Command::Apply(args) => apply::run(&cli.global, &args.targets, args.change, ui),
        Command::Status => status::run(&cli.global, ui),
        Command::Firewall(action) => step_action(&cli.global, StepName::Firewall, action, ui),
        Command::Dns(action) => step_action(&cli.global, StepName::Dns, action, ui),
        Command::Cert(command) => cert::run(&cli.global, command, ui),
        Command::IamPolicy => {
            let config = crate::config::load(&cli.global.config_path())?;
            ui.json(&crate::iam::policy(&config))?;
            Ok(exit::SUCCESS)
        }
        Command::Proxy(command) => proxy::run(&cli.global, command, ui),
        Command::Config(ConfigCommand::Check) => config::check(&cli.global, ui),
        Command::Config(ConfigCommand::Show) => config::show(&cli.global, ui),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut crate::cli::command(), "webtier", &mut buf);
            ui.raw(&String::from_utf8(buf)?)?;
            Ok(exit::SUCCESS)
        }
        Command::Man { dir } => man::run(dir.as_deref(), ui),
    }
}

pub(crate) fn step_action(
    global: &GlobalArgs,
    step: StepName,
    action: &StepAction,
    ui: &Ui,
) -> Result<u8> {
    match action {
        StepAction::Plan(options) => plan::run(global, &[step], options, ui),
        StepAction::Apply(change) => apply::run_steps(global, &[step], *change, ui),
    }
}

/// The async runtime for commands that talk to the network. One thread:
/// webtier waits on remote APIs, it does not compute.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Prints a configuration's problems on stderr, each with its source line.
pub fn print_problems(ui: &Ui, invalid: &Invalid) {
    for d in &invalid.problems {
        ui.diagnostic(d);
    }
    if invalid.problems.len() > 1 {
        ui.error(&format!(
            "{} has {} problems",
            invalid.file,
            invalid.problems.len()
        ));
    }
}

/// Reports a failed command: one line on stderr (every problem for an
/// invalid configuration) and, with --output json, one JSON document.
pub fn report_error(ui: &Ui, err: &anyhow::Error) {
    let invalid = err.downcast_ref::<Invalid>();
    match invalid {
        Some(inv) => print_problems(ui, inv),
        None => ui.error(&format!("{err:#}")),
    }
    if ui.is_json() {
        let doc = json!({
            "format_version": crate::plan::FORMAT_VERSION,
            "error": {
                "message": format!("{err:#}"),
                "exit_code": exit::code_for(err),
                "problems": invalid.map(|i| &i.problems),
            }
        });
        let _ = ui.json(&doc);
    }
}
