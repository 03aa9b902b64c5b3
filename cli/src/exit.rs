//! The exit statuses of `ferry`, documented in the README. A script can tell "try again
//! later" (budget) from "fix access first" (permissions) from "look at the report"
//! (records failed or did not verify) without reading the output.

use ferry_core::steps::StepError;
use std::process::ExitCode;

/// An error stopped the command (network, Salesforce, disk, a bad argument file).
pub const ERROR: u8 = 1;
/// The command line is wrong (also clap's own status), or names an object the org does not
/// have.
pub const USAGE: u8 = 2;
/// The daily API budget cannot fit the run above the reserve: try later or lower the reserve.
pub const BUDGET: u8 = 3;
/// The integration user cannot read what the run needs.
pub const PERMISSION: u8 = 4;
/// The run finished, but some records failed, some links stayed unresolved, the counts
/// do not add up, or (a full run) an object's exact count in Salesforce differs from the
/// records the run accounted for: the report says which.
pub const INCOMPLETE: u8 = 5;
/// Interrupted (Ctrl-C); the next `ferry migrate` resumes.
pub const INTERRUPTED: u8 = 130;

/// The exit status for an error that stopped a run.
pub fn for_step_error(error: &StepError) -> ExitCode {
    ExitCode::from(match error {
        StepError::Budget(_) => BUDGET,
        StepError::Permission { .. } => PERMISSION,
        StepError::Selection { .. } => USAGE,
        _ => ERROR,
    })
}
