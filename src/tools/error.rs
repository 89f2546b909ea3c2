//! What an adapter call can fail with, and the shared "run and require success" step.

use crate::secrets;

use super::runner::{CommandOutput, CommandRunner, CommandSpec, RunError};

/// Longest stderr excerpt kept in an error: enough for the tool's message, not a dump.
const EXCERPT_CHARS: usize = 600;

/// Why an adapter call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The command could not be run at all (missing, timed out, cancelled, ...).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The tool says the user is not signed in (or the credentials were rejected).
    #[error("`{command}`: not signed in: {message}")]
    NotAuthenticated { command: String, message: String },
    /// The tool ran and exited unsuccessfully.
    #[error("`{command}` failed ({}): {message}", exit_label(*exit_code))]
    Failed {
        command: String,
        exit_code: Option<i32>,
        /// The tool's own message (redacted excerpt of stderr).
        message: String,
    },
    /// The tool succeeded but printed something we cannot read.
    #[error("could not read the output of `{command}`: {reason}")]
    UnexpectedOutput { command: String, reason: String },
}

impl ToolError {
    /// The program was not installed.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ToolError::Run(RunError::NotFound { .. }))
    }

    /// The tool's own message, when it produced one.
    pub fn tool_message(&self) -> Option<&str> {
        match self {
            ToolError::NotAuthenticated { message, .. } | ToolError::Failed { message, .. } => {
                Some(message)
            }
            _ => None,
        }
    }
}

fn exit_label(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_string(),
    }
}

/// Run `spec`; a non-zero exit becomes [`ToolError::Failed`] carrying the tool's message.
pub(crate) async fn run_checked(
    runner: &dyn CommandRunner,
    spec: CommandSpec,
) -> Result<CommandOutput, ToolError> {
    let command = spec.display();
    let output = runner.run(spec).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(ToolError::Failed {
            command,
            exit_code: output.exit_code,
            message: message_excerpt(&output),
        })
    }
}

/// The useful part of a failed command's output: stderr (or stdout when stderr is empty),
/// trimmed, redacted and bounded.
pub(crate) fn message_excerpt(output: &CommandOutput) -> String {
    let text = if output.stderr.trim().is_empty() {
        output.stdout.trim()
    } else {
        output.stderr.trim()
    };
    let text = secrets::redact(text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join(" | ");
    if joined.is_empty() {
        return "no error message".to_string();
    }
    truncate_chars(&joined, EXCERPT_CHARS)
}

/// A bounded, redacted excerpt of arbitrary output, for "could not read" messages.
pub(crate) fn output_excerpt(text: &str) -> String {
    let text = secrets::redact(text.trim());
    if text.is_empty() {
        return "(empty output)".to_string();
    }
    format!("{:?}", truncate_chars(&text, 120))
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}
