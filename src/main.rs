//! Entry point: parse the command line, set up logging, pick a front end.

use std::process::ExitCode as ProcessExitCode;

use kalypso_bootstrap::cli::Cli;
use kalypso_bootstrap::ExitCode;

fn main() -> ProcessExitCode {
    kalypso_bootstrap::color::apply_force_color();
    let cli = match Cli::try_parse_checked() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err).into(),
    };
    kalypso_bootstrap::app::run(cli)
}

/// `--help` and `--version` are successes; every other clap error is invalid syntax (64).
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = err.print();
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::Success,
        _ => ExitCode::Usage,
    }
}
