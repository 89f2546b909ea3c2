//! `kubectl`. Calls that reach a cluster name the context explicitly (`--context`), never
//! whatever context happens to be current; the client version needs no cluster.

use std::sync::Arc;
use std::time::Duration;

use super::error::{output_excerpt, run_checked, ToolError};
use super::runner::{CommandRunner, CommandSpec};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "kubectl";

const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Kubectl {
    runner: Arc<dyn CommandRunner>,
    context: Option<String>,
}

impl Kubectl {
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            runner,
            context: None,
        }
    }

    /// Cluster calls will carry `--context <context>`.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT)
    }

    /// A call against the cluster: `--context` appended when known.
    pub fn cluster(&self, args: &[&str]) -> CommandSpec {
        let spec = Self::base(args);
        match &self.context {
            Some(context) => spec.args(["--context", context.as_str()]),
            None => spec,
        }
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["version", "--client", "-o", "json"])
    }

    /// `kubectl version --client -o json`, `clientVersion.gitVersion`.
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

/// The client version from `kubectl version --client -o json`: `clientVersion.gitVersion`
/// (`v1.32.4`, `v1.30.2-eks-…`), falling back to `major`/`minor` (`"1"`, `"32+"`).
pub fn parse_version(stdout: &str) -> Result<Version, VersionParseError> {
    let value: serde_json::Value = serde_json::from_str(stdout).map_err(|e| {
        VersionParseError::new(format!("not JSON ({e}): {}", output_excerpt(stdout)))
    })?;
    let client = value
        .get("clientVersion")
        .ok_or_else(|| VersionParseError::new("no \"clientVersion\" in the version object"))?;
    if let Some(git_version) = client.get("gitVersion").and_then(|v| v.as_str()) {
        return git_version.parse();
    }
    let number = |key: &str| -> Option<u64> {
        client
            .get(key)?
            .as_str()?
            .trim_end_matches('+')
            .parse()
            .ok()
    };
    match (number("major"), number("minor")) {
        (Some(major), Some(minor)) => Ok(Version::new(major, minor, 0)),
        _ => Err(VersionParseError::new(
            "\"clientVersion\" has neither \"gitVersion\" nor numeric \"major\"/\"minor\"",
        )),
    }
}
