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
        let output = self.checked(spec).await?;
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
