//! Exit codes, as documented in the README and `webtier --help`.

use std::process::ExitCode;

use crate::config::Invalid;
use crate::plan::saved::StalePlan;

pub const SUCCESS: u8 = 0;
pub const ERROR: u8 = 1;
/// Only with `plan --detailed-exitcode`: the plan has changes.
pub const CHANGES: u8 = 2;
pub const CONFIG_INVALID: u8 = 3;
pub const STALE_PLAN: u8 = 4;

/// The exit code an error stands for.
pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<Invalid>().is_some()
        || err
            .downcast_ref::<crate::proxy::config::Invalid>()
            .is_some()
    {
        CONFIG_INVALID
    } else if err.downcast_ref::<StalePlan>().is_some() {
        STALE_PLAN
    } else {
        ERROR
    }
}

pub fn code(value: u8) -> ExitCode {
    ExitCode::from(value)
}
