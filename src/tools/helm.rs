//! `helm` (3 and 4). Calls that reach a cluster name the context explicitly
//! (`--kube-context`); the version needs no cluster.

use std::sync::Arc;
use std::time::Duration;

use super::error::{output_excerpt, run_checked, ToolError};
use super::runner::{CommandRunner, CommandSpec};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "helm";

const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Helm {
    runner: Arc<dyn CommandRunner>,
    kube_context: Option<String>,
}

impl Helm {
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            runner,
            kube_context: None,
        }
    }

    /// Cluster calls will carry `--kube-context <context>`.
    pub fn with_kube_context(mut self, context: impl Into<String>) -> Self {
        self.kube_context = Some(context.into());
        self
    }

    pub fn kube_context(&self) -> Option<&str> {
        self.kube_context.as_deref()
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT)
    }

    /// A call against the cluster: `--kube-context` appended when known.
    pub fn cluster(&self, args: &[&str]) -> CommandSpec {
        let spec = Self::base(args);
        match &self.kube_context {
            Some(context) => spec.args(["--kube-context", context.as_str()]),
            None => spec,
        }
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["version", "--short"])
    }

    /// `helm version --short`.
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

/// The version from `helm version --short`: `v3.17.0+g301108e` (helm 3 and 4); helm 2
/// printed `Client: v2.17.0+ga690bad`, which parses too (and is then too old).
pub fn parse_version(stdout: &str) -> Result<Version, VersionParseError> {
    let line = stdout
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| VersionParseError::new("empty output"))?;
    let token = line.strip_prefix("Client:").unwrap_or(line).trim();
    if !token.starts_with('v') {
        return Err(VersionParseError::new(format!(
            "expected \"vX.Y.Z+gCOMMIT\", got {}",
            output_excerpt(stdout)
        )));
    }
    token.parse()
}
