//! Which front end a run gets (full-screen TUI or headless lines) and whether the headless
//! output is coloured. Pure functions over the facts; [`TerminalFacts::detect`] is the only
//! place that looks at the real process.

use std::collections::HashMap;
use std::io::IsTerminal;

use crate::cli::OutputFormat;

/// What the decisions depend on that is not a flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalFacts {
    pub stdin_is_terminal: bool,
    pub stdout_is_terminal: bool,
    /// `TERM`, if set.
    pub term: Option<String>,
    /// Whether the colour conventions of the environment allow colour on stdout
    /// ([`crate::color::stream_wants_color`]: `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`,
    /// `FORCE_COLOR`, a terminal, `TERM`).
    pub stdout_color: bool,
}

impl TerminalFacts {
    /// The real stdin and stdout, `TERM` from `env`, and what the colour variables of the
    /// process's environment (the same as `env`'s) allow on stdout.
    pub fn detect(env: &HashMap<String, String>) -> Self {
        Self {
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            term: env.get("TERM").cloned(),
            stdout_color: crate::color::stream_wants_color(false, &std::io::stdout()),
        }
    }

    fn is_dumb_terminal(&self) -> bool {
        self.term.as_deref().map(str::trim) == Some("dumb")
    }
}

/// Why a run gets the headless front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadlessReason {
    NoTuiFlag,
    /// `--output json` is an output of the headless front end only.
    JsonOutput,
    StdinNotTerminal,
    StdoutNotTerminal,
    DumbTerminal,
}

impl HeadlessReason {
    pub fn describe(self) -> &'static str {
        match self {
            HeadlessReason::NoTuiFlag => "--no-tui was given",
            HeadlessReason::JsonOutput => "--output json was given",
            HeadlessReason::StdinNotTerminal => "stdin is not a terminal",
            HeadlessReason::StdoutNotTerminal => "stdout is not a terminal",
            HeadlessReason::DumbTerminal => "TERM is dumb",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontEnd {
    Tui,
    Headless(HeadlessReason),
}

impl FrontEnd {
    pub fn is_headless(self) -> bool {
        matches!(self, FrontEnd::Headless(_))
    }
}

/// Headless when `--no-tui` or `--output json` is given, stdin or stdout is not a terminal,
/// or `TERM=dumb`; the TUI otherwise. The first reason that applies is reported.
pub fn choose_front_end(no_tui: bool, output: OutputFormat, facts: &TerminalFacts) -> FrontEnd {
    let reason = if no_tui {
        Some(HeadlessReason::NoTuiFlag)
    } else if output == OutputFormat::Json {
        Some(HeadlessReason::JsonOutput)
    } else if !facts.stdin_is_terminal {
        Some(HeadlessReason::StdinNotTerminal)
    } else if !facts.stdout_is_terminal {
        Some(HeadlessReason::StdoutNotTerminal)
    } else if facts.is_dumb_terminal() {
        Some(HeadlessReason::DumbTerminal)
    } else {
        None
    };
    reason.map_or(FrontEnd::Tui, FrontEnd::Headless)
}

/// Colour in the headless line output: not with `--no-color`, otherwise as the environment's
/// colour conventions decide for stdout (see [`TerminalFacts::stdout_color`]).
pub fn headless_color(no_color_flag: bool, facts: &TerminalFacts) -> bool {
    !no_color_flag && facts.stdout_color
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> TerminalFacts {
        TerminalFacts {
            stdin_is_terminal: true,
            stdout_is_terminal: true,
            term: Some("xterm-256color".into()),
            stdout_color: true,
        }
    }

    #[test]
    fn a_full_terminal_gets_the_tui() {
        assert_eq!(
            choose_front_end(false, OutputFormat::Text, &terminal()),
            FrontEnd::Tui
        );
        let no_term = TerminalFacts {
            term: None,
            ..terminal()
        };
        assert_eq!(
            choose_front_end(false, OutputFormat::Text, &no_term),
            FrontEnd::Tui
        );
    }

    #[test]
    fn each_condition_alone_makes_the_run_headless() {
        let cases = [
            (
                true,
                OutputFormat::Text,
                terminal(),
                HeadlessReason::NoTuiFlag,
            ),
            (
                false,
                OutputFormat::Json,
                terminal(),
                HeadlessReason::JsonOutput,
            ),
            (
                false,
                OutputFormat::Text,
                TerminalFacts {
                    stdin_is_terminal: false,
                    ..terminal()
                },
                HeadlessReason::StdinNotTerminal,
            ),
            (
                false,
                OutputFormat::Text,
                TerminalFacts {
                    stdout_is_terminal: false,
                    ..terminal()
                },
                HeadlessReason::StdoutNotTerminal,
            ),
            (
                false,
                OutputFormat::Text,
                TerminalFacts {
                    term: Some("dumb".into()),
                    ..terminal()
                },
                HeadlessReason::DumbTerminal,
            ),
        ];
        for (no_tui, output, facts, reason) in cases {
            assert_eq!(
                choose_front_end(no_tui, output, &facts),
                FrontEnd::Headless(reason),
                "{facts:?}"
            );
        }
    }

    #[test]
    fn colour_needs_the_conventions_and_no_flag_against_it() {
        assert!(headless_color(false, &terminal()));
        assert!(!headless_color(true, &terminal()));
        assert!(!headless_color(
            false,
            &TerminalFacts {
                stdout_color: false,
                ..terminal()
            }
        ));
    }
}
