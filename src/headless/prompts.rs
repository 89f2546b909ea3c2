//! The questions a headless interactive run asks on stdin: proceed with the plan, and roll
//! back after a failure. Behind a trait so tests (and other front ends) supply the answers.
//!
//! Both questions default to No: an empty line, end of input, an unreadable stdin or any
//! answer other than `y`/`yes` declines. Non-interactive runs never ask; they use
//! [`NoPrompts`], which gives that same default without reading anything.

use std::io::{self, BufRead, Write};

use crate::secrets::{self, Redactor};

/// Answers to the questions of a headless run. Blocking: call from a blocking context
/// (e.g. `tokio::task::spawn_blocking`) when inside the runtime.
pub trait Prompts: Send {
    /// Ask `question` (shown as given, e.g. `Proceed? [y/N]`); true only for y/yes.
    fn confirm_plan(&mut self, question: &str) -> bool;

    /// "Roll back the resources created by this run?" listing `resources`; true only for
    /// y/yes. With nothing to roll back, nothing is asked and the answer is no.
    fn ask_rollback(&mut self, resources: &[String]) -> bool;

    /// `--clean`: "Remove them?" listing what the state file records as created by this
    /// tool (by any earlier run); true only for y/yes.
    fn ask_clean(&mut self, resources: &[String]) -> bool;
}

/// The non-interactive answers: never asks, always no.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrompts;

impl Prompts for NoPrompts {
    fn confirm_plan(&mut self, _question: &str) -> bool {
        false
    }

    fn ask_rollback(&mut self, _resources: &[String]) -> bool {
        false
    }

    fn ask_clean(&mut self, _resources: &[String]) -> bool {
        false
    }
}

/// Where answers are read from.
enum Input {
    /// The process's stdin, read a line at a time through its own buffer, so nothing beyond
    /// the answer is taken from it.
    Stdin(io::Stdin),
    Reader(Box<dyn BufRead + Send>),
}

impl Input {
    fn read_line(&mut self, line: &mut String) -> io::Result<usize> {
        match self {
            Input::Stdin(stdin) => stdin.read_line(line),
            Input::Reader(reader) => reader.read_line(line),
        }
    }
}

/// Asks on `output` and reads one line per answer from the input.
pub struct LinePrompts<W: Write + Send> {
    input: Input,
    output: W,
    redactor: &'static Redactor,
}

impl LinePrompts<io::Stderr> {
    /// Questions on stderr (stdout stays the event stream, which matters for
    /// `--output json`), answers from stdin.
    pub fn stdio() -> Self {
        Self {
            input: Input::Stdin(io::stdin()),
            output: io::stderr(),
            redactor: secrets::global(),
        }
    }
}

impl<W: Write + Send> LinePrompts<W> {
    /// Answers from `input`, questions to `output`; text is redacted through
    /// [`secrets::global`].
    pub fn new(input: impl BufRead + Send + 'static, output: W) -> Self {
        Self {
            input: Input::Reader(Box::new(input)),
            output,
            redactor: secrets::global(),
        }
    }

    /// Redact with `redactor` instead of the process-wide one.
    pub fn with_redactor(mut self, redactor: &'static Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    fn ask(&mut self, text: &str) -> bool {
        // Resource names in the question come from the state file: shown, not obeyed.
        let redacted = self.redactor.redact(text);
        let shown = crate::text::escape_controls(&redacted);
        // A question nobody can see cannot be answered: treat it like an unreadable stdin.
        if write!(self.output, "{shown} ")
            .and_then(|_| self.output.flush())
            .is_err()
        {
            return false;
        }
        let mut answer = String::new();
        match self.input.read_line(&mut answer) {
            Ok(0) => {
                // End of input: nothing echoed a newline, so end the question's line.
                let _ = writeln!(self.output);
                let _ = self.output.flush();
                false
            }
            Ok(_) => is_yes(&answer),
            Err(_) => false,
        }
    }
}

impl<W: Write + Send> Prompts for LinePrompts<W> {
    fn confirm_plan(&mut self, question: &str) -> bool {
        self.ask(question)
    }

    fn ask_rollback(&mut self, resources: &[String]) -> bool {
        self.ask_about_list(
            "This run created:",
            resources,
            "Roll back the resources created by this run? [y/N]",
        )
    }

    fn ask_clean(&mut self, resources: &[String]) -> bool {
        self.ask_about_list(
            "The state file records these resources as created by kalypso-bootstrap:",
            resources,
            "Remove them? [y/N]",
        )
    }
}

impl<W: Write + Send> LinePrompts<W> {
    /// `heading`, the resources one per line, then `question`; nothing to list, no question.
    fn ask_about_list(&mut self, heading: &str, resources: &[String], question: &str) -> bool {
        if resources.is_empty() {
            return false;
        }
        let mut text = format!("{heading}\n");
        for resource in resources {
            text.push_str("  - ");
            text.push_str(resource);
            text.push('\n');
        }
        text.push_str(question);
        self.ask(&text)
    }
}

/// Whether an answer means yes: `y` or `yes` in any case, surrounding blanks ignored.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_and_yes_mean_yes() {
        for yes in ["y", "Y", "yes", "YES", " Yes \n", "y\r\n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yeah", "ye", "y y", "1", "true"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
