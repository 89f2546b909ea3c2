//! How adapters run their commands: one runner plus the controls (output streaming,
//! cancellation) that every call of an adapter instance uses.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::error::{parse_json, run_checked_with, ToolError};
use super::runner::{run_logged, CommandOutput, CommandRunner, CommandSpec, RunControl, RunError};
use super::version::{Version, VersionParseError};

#[derive(Clone)]
pub(crate) struct Exec {
    runner: Arc<dyn CommandRunner>,
    control: RunControl,
}

impl Exec {
    pub(crate) fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            runner,
            control: RunControl::default(),
        }
    }

    pub(crate) fn with_control(mut self, control: RunControl) -> Self {
        self.control = control;
        self
    }

    /// Run to completion; a non-zero exit is for the caller to interpret.
    pub(crate) async fn output(&self, spec: CommandSpec) -> Result<CommandOutput, RunError> {
        run_logged(self.runner.as_ref(), spec, self.control.clone()).await
    }

    /// Run; a non-zero exit is a classified [`ToolError`].
    pub(crate) async fn checked(&self, spec: CommandSpec) -> Result<CommandOutput, ToolError> {
        run_checked_with(self.runner.as_ref(), spec, self.control.clone()).await
    }

    /// Run and parse stdout as JSON into `T`; `what` names the expected shape.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        spec: CommandSpec,
        what: &str,
    ) -> Result<T, ToolError> {
        let command = spec.display();
        let stdout_is_secret = spec.stdout_is_secret;
        let output = self.checked(spec).await?;
        if stdout_is_secret {
            // Not even an excerpt of it in the error: `helm status -o json` prints the
            // release's values, the token among them.
            return serde_json::from_str(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
                command,
                reason: format!(
                    "not {what} (line {}, column {}; the output is not shown: it may hold secrets)",
                    e.line(),
                    e.column()
                ),
            });
        }
        parse_json(&command, &output.stdout, what)
    }

    /// Run a version query and read the version from stdout with `parse`.
    pub(crate) async fn version(
        &self,
        spec: CommandSpec,
        parse: fn(&str) -> Result<Version, VersionParseError>,
    ) -> Result<Version, ToolError> {
        let command = spec.display();
        let output = self.checked(spec).await?;
        parse(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: e.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::BoxFuture;

    /// Prints the same malformed JSON, with a secret in it, for any command.
    struct MalformedWithSecret;

    impl CommandRunner for MalformedWithSecret {
        fn run_with(
            &self,
            _spec: CommandSpec,
            _control: RunControl,
        ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
            Box::pin(async {
                Ok(CommandOutput {
                    exit_code: Some(0),
                    stdout: "{\"config\": {\"token\": \"unregistered-secret-value\"".into(),
                    stderr: String::new(),
                    duration: std::time::Duration::ZERO,
                })
            })
        }
    }

    #[tokio::test]
    async fn a_secret_stdout_that_does_not_parse_is_not_quoted_in_the_error() {
        let exec = Exec::new(Arc::new(MalformedWithSecret));
        let quoted = exec
            .json::<serde_json::Value>(CommandSpec::new("helm"), "a release status")
            .await
            .unwrap_err()
            .to_string();
        assert!(quoted.contains("unregistered-secret-value"), "{quoted}");
        let hidden = exec
            .json::<serde_json::Value>(CommandSpec::new("helm").secret_stdout(), "a release status")
            .await
            .unwrap_err()
            .to_string();
        assert!(!hidden.contains("unregistered-secret-value"), "{hidden}");
        assert!(hidden.contains("a release status"), "{hidden}");
    }
}
