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
    /// `NO_COLOR`, if set.
    pub no_color: Option<String>,
}

impl TerminalFacts {
    /// The real stdin and stdout, and `TERM`/`NO_COLOR` from `env`.
    pub fn detect(env: &HashMap<String, String>) -> Self {
        Self {
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            term: env.get("TERM").cloned(),
            no_color: env.get("NO_COLOR").cloned(),
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

/// Colour in the headless line output: not with `--no-color`, not when `NO_COLOR` is set to
/// anything non-empty (no-color.org), not when stdout is not a terminal or `TERM=dumb`.
pub fn headless_color(no_color_flag: bool, facts: &TerminalFacts) -> bool {
    let no_color_env = facts.no_color.as_deref().is_some_and(|v| !v.is_empty());
    !no_color_flag && !no_color_env && facts.stdout_is_terminal && !facts.is_dumb_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> TerminalFacts {
        TerminalFacts {
            stdin_is_terminal: true,
            stdout_is_terminal: true,
            term: Some("xterm-256color".into()),
            no_color: None,
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
    fn colour_needs_a_terminal_and_no_opt_out() {
        assert!(headless_color(false, &terminal()));
        assert!(!headless_color(true, &terminal()));
        let with = |facts: TerminalFacts| headless_color(false, &facts);
        assert!(!with(TerminalFacts {
            no_color: Some("1".into()),
            ..terminal()
        }));
        // no-color.org: an empty NO_COLOR does not count.
        assert!(with(TerminalFacts {
            no_color: Some(String::new()),
            ..terminal()
        }));
        assert!(!with(TerminalFacts {
            stdout_is_terminal: false,
            ..terminal()
        }));
        assert!(!with(TerminalFacts {
            term: Some("dumb".into()),
            ..terminal()
        }));
    }
}
