//! What the program prints about itself for the shell and the user, without reading any
//! configuration or state and without running a tool: the completion script
//! (`--completions SHELL`), the man page (`--man`) and the version (`--version`, with
//! `--verbose` the pinned versions, tool minimums and build commit).
//!
//! Completion is dynamic (clap_complete's `CompleteEnv` engine): the script a shell sources
//! only registers a function that calls this binary back, with [`COMPLETE_VAR`] set, on every
//! TAB. That is what lets `--cluster-existing` offer the contexts of the kubeconfig as it is
//! when the user presses TAB, through the same reader that validates the value
//! ([`crate::config::kubeconfig`]), in every shell clap_complete supports; a static script
//! could only offer values fixed when it was generated. The candidates of each flag are
//! beside the flags, in [`crate::cli::candidates`].

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::env::{EnvCompleter, Shells};

use crate::cli::{candidates::CompletionShell, Cli};
use crate::config::defaults;
use crate::prereq::tools::TOOL_REQUIREMENTS;
use crate::tools::kubectl::FLUX_VERSION;
use crate::ExitCode;

/// The variable that turns a run of the binary into a completion request. Our own name,
/// not clap_complete's default `COMPLETE`, so a `COMPLETE` the user set for another tool
/// never turns a real run into a completion.
pub const COMPLETE_VAR: &str = "KALYPSO_BOOTSTRAP_COMPLETE";

/// The name the completion is registered for (the installed binary's name).
const BIN_NAME: &str = "kalypso-bootstrap";

/// The commit the binary was built from, when build.rs knew it.
pub const BUILD_COMMIT: Option<&str> = option_env!("KALYPSO_BUILD_COMMIT");

/// Answers a completion request (the shell's function calling back with [`COMPLETE_VAR`]
/// set) and exits; returns at once on every other run. Call it before anything is printed.
pub fn complete_if_requested() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_VAR)
        .bin(BIN_NAME)
        .complete();
}

/// `--completions`, `--man` and `--version` print and exit before anything else runs
/// (like `--help`); `None` for every other command line.
pub fn print_requested(cli: &Cli) -> Option<ExitCode> {
    let mut out = Vec::new();
    if let Some(shell) = cli.completions {
        let completer = completer_path(std::env::args_os().next(), std::env::current_dir().ok());
        write_completion_script(shell, &completer, &mut out).expect("writing to memory");
    } else if cli.man {
        write_man_page(&mut out).expect("writing to memory");
    } else if cli.version {
        out = version_text(cli.verbose).into_bytes();
    } else {
        return None;
    }
    let mut stdout = std::io::stdout().lock();
    Some(match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::Success,
        Err(error) => {
            eprintln!("kalypso-bootstrap: cannot write to standard output: {error}");
            ExitCode::General
        }
    })
}

/// The program the script calls back: as it was invoked, made absolute when it was invoked
/// by a relative path (`./kalypso-bootstrap` must still be found from another directory); a
/// bare name is left to the shell's PATH, so the script survives an upgrade that moves the
/// binary.
pub fn completer_path(argv0: Option<OsString>, current_dir: Option<PathBuf>) -> String {
    let invoked = PathBuf::from(argv0.unwrap_or_else(|| BIN_NAME.into()));
    let path = match current_dir {
        Some(dir) if invoked.components().count() > 1 => dir.join(invoked),
        _ => invoked,
    };
    path.to_string_lossy().into_owned()
}

/// The script that registers completion of `kalypso-bootstrap` in `shell`, calling
/// `completer` back for the candidates.
pub fn write_completion_script(
    shell: CompletionShell,
    completer: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let shells = Shells::builtins();
    let adapter: &dyn EnvCompleter = shells
        .completer(shell.name())
        .expect("every CompletionShell is a clap_complete built-in shell");
    let command = Cli::command();
    adapter.write_registration(COMPLETE_VAR, command.get_name(), BIN_NAME, completer, out)
}

/// The man page, roff: clap_mangen's sections, then EXIT STATUS from [`ExitCode::ALL`] and
/// ENVIRONMENT from the help's closing text, in place of clap_mangen's untitled "EXTRA".
pub fn write_man_page(out: &mut dyn Write) -> std::io::Result<()> {
    use roff::{bold, roman, Roff};
    let command = Cli::command();
    let after_help = command
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    let man = clap_mangen::Man::new(command);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for code in ExitCode::ALL {
        roff.control("TP", []);
        roff.text([bold(code.code().to_string())]);
        roff.text([roman(code.meaning())]);
    }
    if let Some((_, environment)) = after_help.split_once("Environment: ") {
        roff.control("SH", ["ENVIRONMENT"]);
        roff.text([roman(environment.trim())]);
    }
    roff.to_writer(out)?;
    man.render_version_section(out)
}

/// `--version`: one line. With `verbose`, also what this build installs and needs.
pub fn version_text(verbose: bool) -> String {
    let mut text = format!("{BIN_NAME} {}\n", env!("CARGO_PKG_VERSION"));
    if !verbose {
        return text;
    }
    text.push_str(&format!(
        "commit: {}\n",
        BUILD_COMMIT.unwrap_or("unknown (not built from a git checkout)")
    ));
    text.push_str(&format!(
        "flux: {FLUX_VERSION} (installed on a cluster without Flux; --flux-version)\n"
    ));
    text.push_str(&format!(
        "chart: {} {} (--helm-version)\n",
        defaults::HELM_CHART,
        defaults::HELM_VERSION
    ));
    let minimums: Vec<String> = TOOL_REQUIREMENTS
        .iter()
        .filter_map(|tool| Some(format!("{} {}", tool.name, tool.minimum()?)))
        .collect();
    text.push_str(&format!("minimum tool versions: {}\n", minimums.join(", ")));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn version_is_one_line_and_verbose_adds_the_pinned_versions_and_minimums() {
        let short = version_text(false);
        assert_eq!(
            short,
            format!("kalypso-bootstrap {}\n", env!("CARGO_PKG_VERSION"))
        );
        let long = version_text(true);
        assert!(long.starts_with(&short), "{long}");
        assert!(long.contains(&format!("flux: {FLUX_VERSION} ")), "{long}");
        assert!(long.contains(defaults::HELM_VERSION), "{long}");
        for tool in TOOL_REQUIREMENTS.iter().filter(|t| t.required()) {
            let minimum = format!("{} {}", tool.name, tool.minimum().unwrap());
            assert!(long.contains(&minimum), "{minimum} missing from {long}");
        }
    }

    #[test]
    fn completer_is_made_absolute_only_when_invoked_by_a_relative_path() {
        let cwd = Some(PathBuf::from("/home/u/src"));
        assert_eq!(
            completer_path(Some("kalypso-bootstrap".into()), cwd.clone()),
            "kalypso-bootstrap"
        );
        assert_eq!(
            completer_path(Some("./target/kalypso-bootstrap".into()), cwd.clone()),
            "/home/u/src/./target/kalypso-bootstrap"
        );
        assert_eq!(
            completer_path(Some("/usr/bin/kalypso-bootstrap".into()), cwd),
            "/usr/bin/kalypso-bootstrap"
        );
        assert_eq!(completer_path(None, None), "kalypso-bootstrap");
    }

    #[test]
    fn every_shell_gets_a_script_that_calls_back_with_our_variable() {
        for shell in CompletionShell::value_variants() {
            let mut out = Vec::new();
            write_completion_script(*shell, "/opt/bin/kalypso-bootstrap", &mut out).unwrap();
            let script = String::from_utf8(out).unwrap();
            assert!(script.contains(COMPLETE_VAR), "{shell:?}: {script}");
            assert!(
                script.contains("/opt/bin/kalypso-bootstrap"),
                "{shell:?}: {script}"
            );
        }
    }
}
