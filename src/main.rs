//! Entry point: parse the command line, set up logging, pick a front end.

use std::process::ExitCode as ProcessExitCode;

use kalypso_bootstrap::cli::Cli;
use kalypso_bootstrap::{shell_integration, ExitCode};

fn main() -> ProcessExitCode {
    // A TAB in a shell with our completion script calls us back: answer and exit before
    // anything else reads the environment or prints.
    shell_integration::complete_if_requested();
    kalypso_bootstrap::color::apply_force_color();
    let cli = match Cli::try_parse_checked() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err).into(),
    };
    if let Some(code) = shell_integration::print_requested(&cli) {
        return code.into();
    }
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
