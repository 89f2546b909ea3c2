//! `git`.

use std::sync::Arc;
use std::time::Duration;

use super::error::{output_excerpt, run_checked, ToolError};
use super::runner::{CommandRunner, CommandSpec};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "git";

const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Git {
    runner: Arc<dyn CommandRunner>,
}

impl Git {
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self { runner }
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT)
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["--version"])
    }

    /// `git --version`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        let spec = self.version_spec();
        let command = spec.display();
        let output = run_checked(self.runner.as_ref(), spec).await?;
        parse_version(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: e.reason,
        })
    }
}

/// The version from `git --version`: `git version 2.47.3`, also with vendor suffixes
/// (`2.39.3 (Apple Git-146)`, `2.43.0.windows.1`).
pub fn parse_version(stdout: &str) -> Result<Version, VersionParseError> {
    let first = stdout.lines().next().unwrap_or("").trim();
    let rest = first.strip_prefix("git version ").ok_or_else(|| {
        VersionParseError::new(format!(
            "expected \"git version X.Y.Z\", got {}",
            output_excerpt(stdout)
        ))
    })?;
    rest.split_whitespace().next().unwrap_or("").parse()
}
