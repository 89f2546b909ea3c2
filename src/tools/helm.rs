//! `helm` (3 and 4). Calls that reach a cluster go through a [`HelmContext`], which names its
//! context on every call (`--kube-context`); the version and chart lookups need no cluster.
//!
//! Our values (including the GitHub token) reach helm only on its standard input
//! (`-f -`, [`KalypsoValues::to_stdin`]): no file ever holds the token, not even briefly,
//! and never `--set` (argv is world-readable).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};

pub use crate::config::configuration::HelmChart;

use super::error::{delete_outcome, none_if_not_found, output_excerpt, DeleteOutcome, ToolError};
use super::exec::Exec;
use super::runner::{CommandRunner, CommandSpec, RunControl};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "helm";

/// The release name of the Kalypso Scheduler.
pub const RELEASE_NAME: &str = "kalypso-scheduler";

const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How much longer than its own `--timeout` an install may take before we stop it
/// (downloading the chart, creating the namespace, hooks).
const INSTALL_MARGIN: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct Helm {
    exec: Exec,
}

/// `helm show chart`: the chart's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartInfo {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub app_version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A chart and the version wanted of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartRef {
    pub chart: HelmChart,
    /// Passed as `--version` for a published chart; a local chart is what it is.
    pub version: String,
}

impl ChartRef {
    /// `CHART [--repo URL] [--version V]` as helm takes them.
    fn args(&self) -> Vec<String> {
        match &self.chart {
            HelmChart::Published { repo_url, name } => vec![
                name.clone(),
                "--repo".to_string(),
                repo_url.clone(),
                "--version".to_string(),
                self.version.clone(),
            ],
            HelmChart::Local(path) => vec![path.to_string_lossy().into_owned()],
        }
    }
}

/// The values this program sets on the chart.
pub struct KalypsoValues {
    /// `https://github.com/OWNER/NAME` of the control-plane repository.
    pub control_plane_url: String,
    /// Always `main`.
    pub control_plane_branch: String,
    /// The token Kalypso uses to read the control-plane and write the gitops repository.
    pub gh_repo_token: SecretString,
}

/// The keys the published chart 1.1.2-alpha reads (its `templates/controlplanerepo.yaml`:
/// `required` on the URL and branch), and only those: a key the chart does not read would
/// only put the token in one more place.
#[derive(Serialize)]
struct ValuesYaml<'a> {
    #[serde(rename = "controlPlaneURL")]
    control_plane_url: &'a str,
    #[serde(rename = "controlPlaneBranch")]
    control_plane_branch: &'a str,
    #[serde(rename = "ghRepoToken")]
    gh_repo_token: &'a str,
}

impl KalypsoValues {
    /// The values as the YAML document helm reads from stdin for `-f -`.
    pub fn to_stdin(&self) -> Result<SecretSlice<u8>, serde_yaml::Error> {
        let yaml = serde_yaml::to_string(&ValuesYaml {
            control_plane_url: &self.control_plane_url,
            control_plane_branch: &self.control_plane_branch,
            gh_repo_token: self.gh_repo_token.expose_secret(),
        })?;
        Ok(SecretSlice::from(yaml.into_bytes()))
    }
}

/// `-f -`: helm 3 (since 3.0.0, `pkg/cli/values/options.go` `readFile`) and helm 4 read
/// a values file named `-` from standard input.
pub const VALUES_FROM_STDIN: &str = "-";

/// What `helm upgrade --install` is given.
#[derive(Clone, Debug)]
pub struct InstallParams {
    pub release: String,
    pub chart: ChartRef,
    pub namespace: String,
    /// Our values ([`KalypsoValues::to_stdin`]), written to helm's stdin and named `-f -`
    /// first, so the user's files override them.
    pub our_values: SecretSlice<u8>,
    /// The user's values files, applied in order after ours (later files win).
    pub values_files: Vec<PathBuf>,
    /// `--wait --timeout`.
    pub timeout: Duration,
    /// The value of the release label [`crate::tools::kubectl::INSTALLATION_LABEL`]: our
    /// mark on the release, read back by `helm get metadata`.
    pub installation_id: String,
}

/// `helm get metadata -o json` (the fields the engine reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReleaseMetadata {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// `helm status -o json` (the fields the engine reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReleaseStatus {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The revision.
    #[serde(default)]
    pub version: Option<u32>,
    pub info: ReleaseInfo,
    #[serde(default)]
    pub chart: Option<ReleaseChart>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReleaseInfo {
    /// `deployed`, `failed`, `pending-install`, `pending-upgrade`, `superseded`, ...
    pub status: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReleaseChart {
    pub metadata: ChartInfo,
}

impl ReleaseStatus {
    pub fn is_deployed(&self) -> bool {
        self.info.status == "deployed"
    }

    /// `pending-install`, `pending-upgrade` or `pending-rollback`: an operation started and
    /// never finished (helm was killed). helm refuses any upgrade of such a release with
    /// "another operation (install/upgrade/rollback) is in progress".
    pub fn is_pending(&self) -> bool {
        self.info.status.starts_with("pending-")
    }

    pub fn chart_version(&self) -> Option<&str> {
        self.chart.as_ref().map(|c| c.metadata.version.as_str())
    }
}

/// One element of `helm list -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReleaseSummary {
    pub name: String,
    pub namespace: String,
    /// helm prints the revision as a string.
    pub revision: String,
    pub status: String,
    /// `NAME-VERSION`, e.g. `kalypso-scheduler-1.1.2-alpha`.
    pub chart: String,
    #[serde(default)]
    pub app_version: Option<String>,
}

/// A duration as Go prints it (`5m0s`, `1h0m0s`, `45s`), the form helm's flags take.
pub fn go_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, (total % 3600) / 60, total % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

impl Helm {
    /// Every call of the returned adapter streams its output to `control.sink` and stops
    /// when `control.cancel` is cancelled (the children are killed).
    pub fn with_control(mut self, control: RunControl) -> Self {
        self.exec = self.exec.with_control(control);
        self
    }

    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            exec: Exec::new(runner),
        }
    }

    /// Cluster calls, every one carrying `--kube-context <context>`.
    pub fn with_kube_context(&self, context: impl Into<String>) -> HelmContext {
        HelmContext {
            exec: self.exec.clone(),
            kube_context: context.into(),
        }
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT)
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["version", "--short"])
    }

    /// `helm version --short`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        self.exec.version(self.version_spec(), parse_version).await
    }

    pub fn show_chart_spec(&self, chart: &ChartRef) -> CommandSpec {
        Self::base(&["show", "chart"]).args(chart.args())
    }

    /// The chart's metadata; `None` when the chart or that version does not exist (the
    /// repository itself being unreachable is an error).
    pub async fn show_chart(&self, chart: &ChartRef) -> Result<Option<ChartInfo>, ToolError> {
        let spec = self.show_chart_spec(chart);
        let command = spec.display();
        let output = match self.exec.checked(spec).await {
            Ok(output) => output,
            Err(err) if err.is_not_found_resource() => return Ok(None),
            Err(err) => return Err(err),
        };
        serde_yaml::from_str(&output.stdout)
            .map(Some)
            .map_err(|e| ToolError::UnexpectedOutput {
                command,
                reason: format!(
                    "not chart metadata ({e}): {}",
                    output_excerpt(&output.stdout)
                ),
            })
    }
}

/// `helm` bound to one kube context.
#[derive(Clone)]
pub struct HelmContext {
    exec: Exec,
    kube_context: String,
}

impl HelmContext {
    /// Every call of the returned adapter streams its output to `control.sink` and stops
    /// when `control.cancel` is cancelled (the children are killed).
    pub fn with_control(mut self, control: RunControl) -> Self {
        self.exec = self.exec.with_control(control);
        self
    }

    pub fn kube_context(&self) -> &str {
        &self.kube_context
    }

    /// `helm <args> --kube-context C`.
    pub fn cluster(&self, args: &[&str]) -> CommandSpec {
        Helm::base(args).args(["--kube-context", self.kube_context.as_str()])
    }

    pub fn upgrade_install_spec(&self, params: &InstallParams) -> CommandSpec {
        let mut spec = Helm::base(&["upgrade", "--install", params.release.as_str()])
            .args(params.chart.args())
            .args([
                "--namespace",
                params.namespace.as_str(),
                "--create-namespace",
                "-f",
                VALUES_FROM_STDIN,
            ])
            .secret_stdin(params.our_values.clone());
        for file in &params.values_files {
            spec = spec.args(["-f".to_string(), file.to_string_lossy().into_owned()]);
        }
        spec = spec.args([
            "--labels".to_string(),
            format!(
                "{}={}",
                crate::tools::kubectl::INSTALLATION_LABEL,
                params.installation_id
            ),
        ]);
        spec.args([
            "--wait".to_string(),
            "--timeout".to_string(),
            go_duration(params.timeout),
            "--kube-context".to_string(),
            self.kube_context.clone(),
        ])
        .timeout(params.timeout + INSTALL_MARGIN)
    }

    /// Install or upgrade the release and wait for its resources.
    pub async fn upgrade_install(&self, params: &InstallParams) -> Result<(), ToolError> {
        let spec = self.upgrade_install_spec(params);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn status_spec(&self, release: &str, namespace: &str) -> CommandSpec {
        // The JSON holds the release's values, our token among them: never streamed.
        self.cluster(&["status", release, "-n", namespace, "-o", "json"])
            .secret_stdout()
    }

    /// The release, or `None` when it is not installed.
    pub async fn status(
        &self,
        release: &str,
        namespace: &str,
    ) -> Result<Option<ReleaseStatus>, ToolError> {
        let spec = self.status_spec(release, namespace);
        none_if_not_found(self.exec.json(spec, "a release status").await)
    }

    pub fn metadata_spec(&self, release: &str, namespace: &str) -> CommandSpec {
        self.cluster(&["get", "metadata", release, "-n", namespace, "-o", "json"])
    }

    /// The release's metadata (its labels among them), or `None` when it is not installed.
    pub async fn metadata(
        &self,
        release: &str,
        namespace: &str,
    ) -> Result<Option<ReleaseMetadata>, ToolError> {
        let spec = self.metadata_spec(release, namespace);
        none_if_not_found(self.exec.json(spec, "release metadata").await)
    }

    pub fn list_spec(&self, namespace: &str) -> CommandSpec {
        self.cluster(&["list", "-n", namespace, "-o", "json"])
    }

    pub async fn list(&self, namespace: &str) -> Result<Vec<ReleaseSummary>, ToolError> {
        let spec = self.list_spec(namespace);
        self.exec.json(spec, "a release list").await
    }

    pub fn uninstall_spec(&self, release: &str, namespace: &str) -> CommandSpec {
        self.cluster(&["uninstall", release, "-n", namespace])
    }

    /// Uninstall the release (its CRDs stay: Helm never deletes CRDs).
    pub async fn uninstall(
        &self,
        release: &str,
        namespace: &str,
    ) -> Result<DeleteOutcome, ToolError> {
        let spec = self.uninstall_spec(release, namespace);
        delete_outcome(self.exec.checked(spec).await)
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
