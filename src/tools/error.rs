//! What an adapter call can fail with, and the shared "run and require success" step.

use crate::secrets;
use crate::troubleshooting::{Hint, Topic};

use super::classify::{classify, ErrorClass, ToolKind};
use super::runner::{run_logged, CommandOutput, CommandRunner, CommandSpec, RunControl, RunError};

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
        /// What kind of failure it was (never [`ErrorClass::NotAuthenticated`]: that is
        /// [`ToolError::NotAuthenticated`]).
        class: ErrorClass,
        /// The tool's own message (redacted excerpt of stderr).
        message: String,
    },
    /// The tool succeeded but printed something we cannot read.
    #[error("could not read the output of `{command}`: {reason}")]
    UnexpectedOutput { command: String, reason: String },
}

/// How GitHub refuses a feature of a private repository that the owner's plan lacks
/// (GitHub Free: environments, branch protection, rulesets).
pub const GITHUB_PLAN_GATE: &str = "Upgrade to GitHub Pro or make this repository public";

impl ToolError {
    /// The program was not installed.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ToolError::Run(RunError::NotFound { .. }))
    }

    /// What kind of failure this is. A command stopped by our own time limit is a
    /// [`ErrorClass::Timeout`]; other failures to run at all are [`ErrorClass::Other`].
    pub fn class(&self) -> ErrorClass {
        match self {
            ToolError::Run(RunError::TimedOut { .. }) => ErrorClass::Timeout,
            ToolError::Run(_) | ToolError::UnexpectedOutput { .. } => ErrorClass::Other,
            ToolError::NotAuthenticated { .. } => ErrorClass::NotAuthenticated,
            ToolError::Failed { class, .. } => class.clone(),
        }
    }

    /// Whether trying again may succeed (see [`ErrorClass::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.class().is_transient()
    }

    /// What the user can do about it, tailored to the tool that failed.
    pub fn hint(&self) -> Hint {
        match self {
            ToolError::Run(RunError::NotFound { program }) => Topic::ToolMissing.hint(format!(
                "install `{program}` and make sure it is on PATH (run the prerequisite check)"
            )),
            ToolError::Run(RunError::Cancelled { .. }) => {
                Topic::Cancelled.hint("the command was cancelled")
            }
            ToolError::Run(RunError::SecretInArgv { .. }) => Topic::InternalError
                .hint("this is a bug in kalypso-bootstrap: a secret reached a command line"),
            // The scope advice names the host gh was talking to (an Enterprise Server's).
            ToolError::Failed {
                command,
                class:
                    ErrorClass::PermissionDenied {
                        missing_scope: Some(scope),
                    },
                message,
                ..
            } if super::classify::github_host_of(command, message).is_some() => {
                let host = super::classify::github_host_of(command, message).unwrap_or_default();
                super::classify::scope_hint(scope, &host)
            }
            // GitHub Free keeps some features (environments and their secrets, branch
            // protection) to public repositories: no scope or role gives them.
            ToolError::Failed { message, .. } if message.contains(GITHUB_PLAN_GATE) => {
                Topic::GithubPlan.hint(
                    "the repository is private and its owner's GitHub plan (Free) has no environments for private repositories: run again with --repo-visibility public (new repositories), make the repository public, or use an account or organization on GitHub Pro, Team or Enterprise",
                )
            }
            ToolError::UnexpectedOutput { .. } => Topic::ToolOutput.hint(
                "the tool printed something unexpected: check its version against the prerequisites",
            ),
            other => other.class().hint(other.tool()),
        }
    }

    /// The tool that failed, from the command line.
    pub fn tool(&self) -> ToolKind {
        let command = match self {
            ToolError::Run(RunError::NotFound { program }) => program.as_str(),
            ToolError::Run(RunError::TimedOut { command, .. })
            | ToolError::Run(RunError::Cancelled { command })
            | ToolError::Run(RunError::SecretInArgv { command })
            | ToolError::Run(RunError::Io { command, .. })
            | ToolError::NotAuthenticated { command, .. }
            | ToolError::Failed { command, .. }
            | ToolError::UnexpectedOutput { command, .. } => command.as_str(),
        };
        // A shown command may start with the variables it needs (`GH_HOST=HOST gh …`).
        let program = command
            .split_whitespace()
            .find(|word| !is_assignment(word))
            .unwrap_or("");
        ToolKind::from_program(program)
    }

    /// Whether the tool said the resource does not exist.
    pub fn is_not_found_resource(&self) -> bool {
        self.class() == ErrorClass::NotFound
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

/// Run `spec`; a non-zero exit becomes a classified [`ToolError::Failed`] (or
/// [`ToolError::NotAuthenticated`]) carrying the tool's message.
pub(crate) async fn run_checked(
    runner: &dyn CommandRunner,
    spec: CommandSpec,
) -> Result<CommandOutput, ToolError> {
    run_checked_with(runner, spec, RunControl::default()).await
}

/// [`run_checked`] with output streaming and cancellation.
pub(crate) async fn run_checked_with(
    runner: &dyn CommandRunner,
    spec: CommandSpec,
    control: RunControl,
) -> Result<CommandOutput, ToolError> {
    let command = spec.display();
    let tool = ToolKind::from_program(&spec.program);
    let output = run_logged(runner, spec, control).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(failure(tool, command, &output))
    }
}

/// The error for a command that exited unsuccessfully, classified by its output.
pub fn failure(tool: ToolKind, command: String, output: &CommandOutput) -> ToolError {
    let message = message_excerpt(output);
    match classify(tool, output.exit_code, &output.stderr, &output.stdout) {
        ErrorClass::NotAuthenticated => ToolError::NotAuthenticated { command, message },
        class => ToolError::Failed {
            command,
            exit_code: output.exit_code,
            class,
            message,
        },
    }
}

/// Parse `stdout` as JSON into `T`; `what` names the expected shape in the error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    command: &str,
    stdout: &str,
    what: &str,
) -> Result<T, ToolError> {
    serde_json::from_str(stdout).map_err(|e| ToolError::UnexpectedOutput {
        command: command.to_string(),
        reason: format!("not {what} ({e}): {}", output_excerpt(stdout)),
    })
}

/// `Ok(None)` for a "not found" failure, the error otherwise: for `show`-style queries.
pub(crate) fn none_if_not_found<T>(result: Result<T, ToolError>) -> Result<Option<T>, ToolError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_not_found_resource() => Ok(None),
        Err(err) => Err(err),
    }
}

/// The result of a delete that tolerates an absent target (rollback must be repeatable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteOutcome {
    /// Deleted, or deletion accepted (asynchronous deletes: `--no-wait`, `--wait=false`).
    Deleted,
    /// There was nothing to delete.
    NotFound,
}

/// Map a delete's result: "not found" becomes [`DeleteOutcome::NotFound`].
pub(crate) fn delete_outcome<T>(result: Result<T, ToolError>) -> Result<DeleteOutcome, ToolError> {
    match none_if_not_found(result)? {
        Some(_) => Ok(DeleteOutcome::Deleted),
        None => Ok(DeleteOutcome::NotFound),
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
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        // Transport detail and repeats are not the tool's message (the log keeps the
        // whole output; the classifier reads the raw one).
        if line.is_empty() || is_http_header(line) || lines.contains(&line) {
            continue;
        }
        lines.push(line);
    }
    let joined = lines.join(" | ");
    if joined.is_empty() {
        return "no error message".to_string();
    }
    truncate_chars(&joined, EXCERPT_CHARS)
}

/// An HTTP status or response header line (`HTTP/2.0 403 Forbidden`,
/// `X-RateLimit-Remaining: 0`, `Retry-After: 30`), as gh and az print with their errors:
/// a header name is hyphenated capitalised words.
fn is_http_header(line: &str) -> bool {
    if line.starts_with("HTTP/1.") || line.starts_with("HTTP/2") {
        return true;
    }
    let Some((name, _)) = line.split_once(": ") else {
        return false;
    };
    let words: Vec<&str> = name.split('-').collect();
    words.len() >= 2
        && words.iter().all(|word| {
            word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && word.chars().all(|c| c.is_ascii_alphanumeric())
        })
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

/// `NAME=VALUE`, as a shell reads a variable assignment before a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gh command of a GitHub Enterprise Server is shown with its `GH_HOST`: it is still
    /// gh's failure, and the scope advice names the server, as gh's own message does.
    #[test]
    fn an_enterprise_server_command_is_gh_s_and_its_scope_hint_names_the_server() {
        let error = ToolError::Failed {
            command: "GH_HOST=ghe.example.test gh repo delete acme/cp --yes".to_string(),
            exit_code: Some(1),
            class: ErrorClass::PermissionDenied {
                missing_scope: Some("delete_repo".to_string()),
            },
            message: "HTTP 403: Must have admin rights to Repository. (https://ghe.example.test/api/v3/repos/acme/cp) | This API operation needs the \"delete_repo\" scope. To request it, run:  gh auth refresh -h ghe.example.test -s delete_repo".to_string(),
        };
        assert_eq!(error.tool(), ToolKind::Gh);
        assert!(
            error
                .hint()
                .text()
                .contains("run `gh auth refresh -h ghe.example.test -s delete_repo`"),
            "{}",
            error.hint().text()
        );
        let on_github_com = ToolError::Failed {
            command: "gh repo delete acme/cp --yes".to_string(),
            exit_code: Some(1),
            class: ErrorClass::PermissionDenied {
                missing_scope: Some("delete_repo".to_string()),
            },
            message: "HTTP 403: Must have admin rights to Repository.".to_string(),
        };
        assert!(on_github_com
            .hint()
            .text()
            .contains("-h github.com -s delete_repo"));
        assert!(!is_assignment("--repo=acme/cp") && is_assignment("GH_HOST=x"));
    }

    #[test]
    fn headers_and_repeated_lines_are_left_out_of_the_message() {
        let output = CommandOutput {
            exit_code: Some(1),
            stdout: String::new(),
            stderr: "HTTP 403: API rate limit exceeded for user ID 1. (https://api.github.com/user)\n\
                     X-RateLimit-Limit: 5000\nX-RateLimit-Remaining: 0\nX-RateLimit-Reset: 1767225600\n\
                     Retry-After: 60\nHTTP/2.0 403 Forbidden\n\
                     HTTP 403: API rate limit exceeded for user ID 1. (https://api.github.com/user)\n\
                     Error: Content-Type mismatch: stays"
                .to_string(),
            duration: std::time::Duration::ZERO,
        };
        assert_eq!(
            message_excerpt(&output),
            "HTTP 403: API rate limit exceeded for user ID 1. (https://api.github.com/user) | Error: Content-Type mismatch: stays"
        );
    }
}
