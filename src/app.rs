//! Chooses what to do for a parsed command line and maps every outcome to an exit code.

use crate::cli::Cli;
use crate::ExitCode;

pub fn run(_cli: Cli) -> ExitCode {
    eprintln!("kalypso-bootstrap: nothing wired yet");
    ExitCode::General
}
