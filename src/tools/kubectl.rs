//! `kubectl`. Calls that reach a cluster go through a [`KubectlContext`], which names its
//! context on every call (`kubectl --context C …`), never whatever context happens to be
//! current; the client version needs no cluster.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretSlice;
use serde::{Deserialize, Deserializer, Serialize};

use super::classify::ToolKind;
use super::error::{
    delete_outcome, failure, none_if_not_found, output_excerpt, DeleteOutcome, ToolError,
};
use super::exec::Exec;
use super::runner::{CommandRunner, CommandSpec, RunControl};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "kubectl";

const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Applying Flux downloads its manifest and creates a few dozen objects.
const APPLY_TIMEOUT: Duration = Duration::from_secs(180);
/// How much longer than its own `--timeout` a `kubectl wait` may take before we stop it.
const WAIT_MARGIN: Duration = Duration::from_secs(30);

/// The Flux release installed when the cluster has none.
pub const FLUX_VERSION: &str = "v2.7.5";
/// The Flux CRDs Kalypso relies on (in `v1beta2`, removed by Flux 2.8).
pub const FLUX_GITREPOSITORY_CRD: &str = "gitrepositories.source.toolkit.fluxcd.io";
pub const FLUX_KUSTOMIZATION_CRD: &str = "kustomizations.kustomize.toolkit.fluxcd.io";
/// The namespace Flux's install manifest uses.
pub const FLUX_NAMESPACE: &str = "flux-system";
/// Kalypso's `Workload` resource, for the acceptance check.
pub const WORKLOAD_RESOURCE: &str = "workloads.scheduler.kalypso.io";

/// The install manifest of a Flux release (`v2.7.5` or `2.7.5`).
/// The label every Kubernetes object this tool creates carries (the recommended label).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "kalypso-bootstrap";
/// The label that names the installation; rollback removes an object only when it has it
/// with the state's installation id.
pub const INSTALLATION_LABEL: &str = "kalypso-bootstrap/installation";

/// Whether `labels` carry our mark with `installation_id`; otherwise why not.
pub fn check_mark(labels: &BTreeMap<String, String>, installation_id: &str) -> Result<(), String> {
    match labels.get(INSTALLATION_LABEL) {
        Some(value) if value == installation_id => Ok(()),
        Some(value) => Err(format!(
            "its label {INSTALLATION_LABEL} is {value:?}, not this installation's {installation_id:?}"
        )),
        None => Err(format!("it has no {INSTALLATION_LABEL} label")),
    }
}

pub fn flux_install_url(version: &str) -> String {
    let version = version.trim();
    let version = if version.starts_with('v') {
        version.to_string()
    } else {
        format!("v{version}")
    };
    format!("https://github.com/fluxcd/flux2/releases/download/{version}/install.yaml")
}

#[derive(Clone)]
pub struct Kubectl {
    exec: Exec,
}

impl Kubectl {
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

    /// Cluster calls, every one carrying `--context <context>`.
    pub fn with_context(&self, context: impl Into<String>) -> KubectlContext {
        KubectlContext {
            exec: self.exec.clone(),
            context: context.into(),
        }
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT)
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["version", "--client", "-o", "json"])
    }

    /// `kubectl version --client -o json`, `clientVersion.gitVersion`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        self.exec.version(self.version_spec(), parse_version).await
    }
}

/// How long the wizard's context list waits for each context's API server.
pub const REACHABILITY_WAIT: Duration = Duration::from_secs(5);

/// `kubectl` bound to one kube context.
#[derive(Clone)]
pub struct KubectlContext {
    exec: Exec,
    context: String,
}

// ---------------------------------------------------------------------------------------
// Kubernetes objects, as far as the engine reads them

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub generation: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
}

/// A status condition (`Ready`, `Available`, `Established`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

fn find_condition<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.kind == kind)
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct List<T> {
    /// `null` in an empty list from some servers.
    #[serde(default)]
    items: Option<Vec<T>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    metadata: ObjectMeta,
    #[serde(default)]
    spec: RawNodeSpec,
    #[serde(default)]
    status: RawNodeStatus,
}

#[derive(Default, Deserialize)]
struct RawNodeSpec {
    #[serde(default)]
    unschedulable: bool,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNodeStatus {
    #[serde(default, deserialize_with = "null_as_default")]
    conditions: Vec<Condition>,
    #[serde(default)]
    node_info: Option<RawNodeInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNodeInfo {
    #[serde(default)]
    kubelet_version: Option<String>,
}

/// A node of `kubectl get nodes -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// The `Ready` condition's reason when not ready.
    pub reason: Option<String>,
    pub kubelet_version: Option<String>,
    pub unschedulable: bool,
}

impl From<RawNode> for Node {
    fn from(raw: RawNode) -> Self {
        let ready = find_condition(&raw.status.conditions, "Ready");
        Node {
            name: raw.metadata.name,
            ready: ready.is_some_and(Condition::is_true),
            reason: ready.and_then(|c| c.reason.clone()),
            kubelet_version: raw.status.node_info.and_then(|i| i.kubelet_version),
            unschedulable: raw.spec.unschedulable,
        }
    }
}

#[derive(Deserialize)]
struct RawPod {
    metadata: ObjectMeta,
    #[serde(default)]
    status: RawPodStatus,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPodStatus {
    #[serde(default)]
    phase: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    container_statuses: Vec<RawContainerStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContainerStatus {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    restart_count: u32,
    #[serde(default)]
    state: Option<serde_json::Value>,
}

/// A pod of `kubectl get pods -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pod {
    pub name: String,
    pub namespace: Option<String>,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    pub phase: String,
    /// Every container reports ready (false without containers).
    pub ready: bool,
    pub restarts: u32,
    /// A waiting container's reason (`CrashLoopBackOff`, `ImagePullBackOff`, ...).
    pub waiting_reason: Option<String>,
}

impl Pod {
    pub fn is_running(&self) -> bool {
        self.phase == "Running"
    }
}

impl From<RawPod> for Pod {
    fn from(raw: RawPod) -> Self {
        let statuses = &raw.status.container_statuses;
        let waiting_reason = statuses.iter().find_map(|s| {
            s.state
                .as_ref()?
                .get("waiting")?
                .get("reason")?
                .as_str()
                .map(str::to_string)
        });
        Pod {
            name: raw.metadata.name,
            namespace: raw.metadata.namespace,
            phase: raw.status.phase.unwrap_or_else(|| "Unknown".to_string()),
            ready: !statuses.is_empty() && statuses.iter().all(|s| s.ready),
            restarts: statuses.iter().map(|s| s.restart_count).sum(),
            waiting_reason,
        }
    }
}

#[derive(Deserialize)]
struct RawCrd {
    metadata: ObjectMeta,
    spec: RawCrdSpec,
    #[serde(default)]
    status: Option<RawConditions>,
}

#[derive(Deserialize)]
struct RawCrdSpec {
    group: String,
    names: RawCrdNames,
    #[serde(default, deserialize_with = "null_as_default")]
    versions: Vec<CrdVersion>,
}

#[derive(Deserialize)]
struct RawCrdNames {
    kind: String,
}

#[derive(Default, Deserialize)]
struct RawConditions {
    #[serde(default, deserialize_with = "null_as_default")]
    conditions: Vec<Condition>,
}

/// One version of a CRD.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct CrdVersion {
    pub name: String,
    #[serde(default)]
    pub served: bool,
    #[serde(default)]
    pub storage: bool,
}

/// A CustomResourceDefinition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Crd {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub versions: Vec<CrdVersion>,
    /// The `Established` condition is `True`.
    pub established: bool,
    pub labels: BTreeMap<String, String>,
}

impl Crd {
    /// Whether the API server still serves `version` (e.g. `v1beta2`).
    pub fn serves(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v.name == version && v.served)
    }
}

impl From<RawCrd> for Crd {
    fn from(raw: RawCrd) -> Self {
        let conditions = raw.status.unwrap_or_default().conditions;
        Crd {
            name: raw.metadata.name,
            group: raw.spec.group,
            kind: raw.spec.names.kind,
            versions: raw.spec.versions,
            established: find_condition(&conditions, "Established").is_some_and(Condition::is_true),
            labels: raw.metadata.labels,
        }
    }
}

#[derive(Deserialize)]
struct RawNamespace {
    metadata: ObjectMeta,
    #[serde(default)]
    status: Option<RawNamespaceStatus>,
}

#[derive(Deserialize)]
struct RawNamespaceStatus {
    #[serde(default)]
    phase: Option<String>,
}

/// A namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Namespace {
    pub name: String,
    /// `Active` or `Terminating`.
    pub phase: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl Namespace {
    pub fn is_terminating(&self) -> bool {
        self.phase.as_deref() == Some("Terminating")
    }
}

#[derive(Deserialize)]
struct RawDeployment {
    metadata: ObjectMeta,
    #[serde(default)]
    spec: RawDeploymentSpec,
    #[serde(default)]
    status: RawDeploymentStatus,
}

#[derive(Default, Deserialize)]
struct RawDeploymentSpec {
    #[serde(default)]
    replicas: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDeploymentStatus {
    #[serde(default)]
    ready_replicas: u32,
    #[serde(default)]
    available_replicas: u32,
    #[serde(default)]
    updated_replicas: u32,
}

/// A deployment and its replica counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deployment {
    pub name: String,
    pub namespace: Option<String>,
    /// Desired replicas (`spec.replicas`, 1 when unset).
    pub replicas: u32,
    pub ready_replicas: u32,
    pub available_replicas: u32,
    pub updated_replicas: u32,
}

impl Deployment {
    /// As many replicas available as desired.
    pub fn is_available(&self) -> bool {
        self.available_replicas >= self.replicas
    }
}

impl From<RawDeployment> for Deployment {
    fn from(raw: RawDeployment) -> Self {
        Deployment {
            name: raw.metadata.name,
            namespace: raw.metadata.namespace,
            replicas: raw.spec.replicas.unwrap_or(1),
            ready_replicas: raw.status.ready_replicas,
            available_replicas: raw.status.available_replicas,
            updated_replicas: raw.status.updated_replicas,
        }
    }
}

/// A `ValidatingWebhookConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct WebhookConfiguration {
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub webhooks: Vec<Webhook>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub name: String,
    #[serde(default)]
    pub client_config: WebhookClientConfig,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct WebhookClientConfig {
    #[serde(default)]
    pub service: Option<ServiceReference>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServiceReference {
    pub namespace: String,
    pub name: String,
}

/// The Flux objects the validation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FluxKind {
    GitRepository,
    Kustomization,
}

impl FluxKind {
    /// The fully qualified resource, unambiguous even next to other `Kustomization` kinds.
    pub fn resource(self) -> &'static str {
        match self {
            FluxKind::GitRepository => FLUX_GITREPOSITORY_CRD,
            FluxKind::Kustomization => FLUX_KUSTOMIZATION_CRD,
        }
    }
}

#[derive(Deserialize)]
struct RawFluxObject {
    metadata: ObjectMeta,
    #[serde(default)]
    status: Option<RawFluxStatus>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFluxStatus {
    #[serde(default, deserialize_with = "null_as_default")]
    conditions: Vec<Condition>,
    #[serde(default)]
    observed_generation: Option<i64>,
    /// A Kustomization's `status.lastAppliedRevision` (`BRANCH@sha1:SHA`).
    #[serde(default)]
    last_applied_revision: Option<String>,
}

/// A Flux GitRepository or Kustomization and its readiness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FluxObject {
    pub kind: FluxKind,
    pub name: String,
    pub namespace: Option<String>,
    /// The `Ready` condition, once the controller has reported one.
    pub ready: Option<Condition>,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// A Kustomization's last applied revision (`BRANCH@sha1:SHA`), once it applied one.
    pub last_applied_revision: Option<String>,
}

impl FluxObject {
    /// Ready and reconciled at the current generation.
    pub fn is_ready(&self) -> bool {
        self.ready.as_ref().is_some_and(Condition::is_true)
            && (self.generation.is_none() || self.generation == self.observed_generation)
    }
}

/// The Kalypso kinds the verification reads, whose controllers report a `Ready` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KalypsoKind {
    BaseRepo,
    GitOpsRepo,
    /// The workload registrations of an environment (`spec.workload.repo`/`branch`).
    WorkloadRegistration,
    /// The scheduler's Assignments (`spec.clusterType`, `deploymentTarget`, `workload`).
    Assignment,
    /// The scheduling policies of an environment.
    SchedulingPolicy,
}

impl KalypsoKind {
    pub fn resource(self) -> &'static str {
        match self {
            KalypsoKind::BaseRepo => "baserepoes.scheduler.kalypso.io",
            KalypsoKind::GitOpsRepo => "gitopsrepoes.scheduler.kalypso.io",
            KalypsoKind::WorkloadRegistration => "workloadregistrations.scheduler.kalypso.io",
            KalypsoKind::Assignment => "assignments.scheduler.kalypso.io",
            KalypsoKind::SchedulingPolicy => "schedulingpolicies.scheduler.kalypso.io",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KalypsoKind::BaseRepo => "BaseRepo",
            KalypsoKind::GitOpsRepo => "GitOpsRepo",
            KalypsoKind::WorkloadRegistration => "WorkloadRegistration",
            KalypsoKind::Assignment => "Assignment",
            KalypsoKind::SchedulingPolicy => "SchedulingPolicy",
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRepoSpec {
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    /// An Assignment's workload name, or a WorkloadRegistration's `{repo, branch, path}`.
    #[serde(default)]
    workload: Option<serde_json::Value>,
    #[serde(default)]
    cluster_type: Option<String>,
    #[serde(default)]
    deployment_target: Option<String>,
}

#[derive(Deserialize)]
struct RawKalypsoObject {
    metadata: ObjectMeta,
    #[serde(default)]
    spec: RawRepoSpec,
    #[serde(default)]
    status: Option<RawFluxStatus>,
}

/// A BaseRepo or GitOpsRepo: the repository it names and its controller's `Ready`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KalypsoObject {
    pub kind: KalypsoKind,
    pub name: String,
    pub repo: Option<String>,
    pub branch: Option<String>,
    /// An Assignment's workload, cluster type and deployment target.
    pub workload: Option<String>,
    pub cluster_type: Option<String>,
    pub deployment_target: Option<String>,
    /// The `Ready` condition, once the controller has reported one.
    pub ready: Option<Condition>,
}

/// The `serverVersion` of `kubectl version -o json`.
pub fn parse_server_version(stdout: &str) -> Result<Version, VersionParseError> {
    let value: serde_json::Value = serde_json::from_str(stdout).map_err(|e| {
        VersionParseError::new(format!("not JSON ({e}): {}", output_excerpt(stdout)))
    })?;
    value
        .get("serverVersion")
        .and_then(|v| v.get("gitVersion"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            VersionParseError::new("no \"serverVersion.gitVersion\" in the version object")
        })?
        .parse()
}

impl KubectlContext {
    /// Every call of the returned adapter streams its output to `control.sink` and stops
    /// when `control.cancel` is cancelled (the children are killed).
    pub fn with_control(mut self, control: RunControl) -> Self {
        self.exec = self.exec.with_control(control);
        self
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// `kubectl --context C <args>`.
    pub fn cluster(&self, args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(["--context", self.context.as_str()])
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT)
    }

    async fn list<R, T>(&self, spec: CommandSpec, what: &str) -> Result<Vec<T>, ToolError>
    where
        R: serde::de::DeserializeOwned,
        T: From<R>,
    {
        let list: List<R> = self.exec.json(spec, what).await?;
        Ok(list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(T::from)
            .collect())
    }

    pub fn server_version_spec(&self) -> CommandSpec {
        self.cluster(&["version", "-o", "json"])
    }

    /// The API server's version: proves the server answers with these credentials.
    pub async fn server_version(&self) -> Result<Version, ToolError> {
        let spec = self.server_version_spec();
        let command = spec.display();
        let output = self.exec.checked(spec).await?;
        parse_server_version(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: e.reason,
        })
    }

    /// `kubectl --context C --request-timeout 5s version -o json`: whether the context's API
    /// server answers within [`REACHABILITY_WAIT`] (kubectl's own request timeout; the
    /// child is also stopped a little after it).
    pub fn reachability_spec(&self) -> CommandSpec {
        let wait = format!("{}s", REACHABILITY_WAIT.as_secs());
        CommandSpec::new(PROGRAM)
            .args(["--context", self.context.as_str(), "--request-timeout"])
            .arg(wait)
            .args(["version", "-o", "json"])
            .timeout(REACHABILITY_WAIT + Duration::from_secs(5))
    }

    /// The API server's version when it answers within [`REACHABILITY_WAIT`].
    pub async fn reachable(&self) -> Result<Version, ToolError> {
        let spec = self.reachability_spec();
        let command = spec.display();
        let output = self.exec.checked(spec).await?;
        parse_server_version(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: e.reason,
        })
    }

    pub fn get_nodes_spec(&self) -> CommandSpec {
        self.cluster(&["get", "nodes", "-o", "json"])
    }

    pub async fn get_nodes(&self) -> Result<Vec<Node>, ToolError> {
        self.list::<RawNode, Node>(self.get_nodes_spec(), "a node list")
            .await
    }

    pub fn get_pods_spec(&self, namespace: &str) -> CommandSpec {
        self.cluster(&["get", "pods", "-n", namespace, "-o", "json"])
    }

    pub async fn get_pods(&self, namespace: &str) -> Result<Vec<Pod>, ToolError> {
        self.list::<RawPod, Pod>(self.get_pods_spec(namespace), "a pod list")
            .await
    }

    pub fn get_crd_spec(&self, name: &str) -> CommandSpec {
        self.cluster(&["get", "crd", name, "-o", "json"])
    }

    /// The CRD, or `None` when it is not installed.
    pub async fn get_crd(&self, name: &str) -> Result<Option<Crd>, ToolError> {
        let spec = self.get_crd_spec(name);
        let raw = none_if_not_found(self.exec.json::<RawCrd>(spec, "a CRD").await)?;
        Ok(raw.map(Crd::from))
    }

    pub fn list_crds_spec(&self) -> CommandSpec {
        self.cluster(&["get", "crd", "-o", "json"])
    }

    pub async fn list_crds(&self) -> Result<Vec<Crd>, ToolError> {
        self.list::<RawCrd, Crd>(self.list_crds_spec(), "a CRD list")
            .await
    }

    pub fn apply_server_side_url_spec(&self, url: &str) -> CommandSpec {
        self.cluster(&["apply", "--server-side", "-f", url])
            .timeout(APPLY_TIMEOUT)
    }

    /// Server-side apply of a manifest URL (the Flux install manifest).
    pub async fn apply_server_side_url(&self, url: &str) -> Result<(), ToolError> {
        let spec = self.apply_server_side_url_spec(url);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn apply_stdin_spec(&self, manifest: &str) -> CommandSpec {
        self.cluster(&["apply", "-f", "-"])
            .stdin_bytes(manifest.as_bytes().to_vec())
    }

    /// Apply a manifest given on stdin.
    pub async fn apply_stdin(&self, manifest: &str) -> Result<(), ToolError> {
        let spec = self.apply_stdin_spec(manifest);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn wait_deployments_available_spec(
        &self,
        namespace: &str,
        timeout: Duration,
    ) -> CommandSpec {
        let timeout_flag = format!("--timeout={}s", timeout.as_secs().max(1));
        self.cluster(&[
            "wait",
            "--for=condition=Available",
            "deployment",
            "--all",
            "-n",
            namespace,
            &timeout_flag,
        ])
        .timeout(timeout + WAIT_MARGIN)
    }

    /// Wait until every deployment in `namespace` is Available (a [`super::ErrorClass::Timeout`]
    /// error when `timeout` passes first).
    pub async fn wait_deployments_available(
        &self,
        namespace: &str,
        timeout: Duration,
    ) -> Result<(), ToolError> {
        let spec = self.wait_deployments_available_spec(namespace, timeout);
        self.exec.checked(spec).await.map(drop)
    }

    /// `kubectl get configmap NAME -n NAMESPACE -o json`.
    pub fn get_config_map_spec(&self, name: &str, namespace: &str) -> CommandSpec {
        self.cluster(&["get", "configmap", name, "-n", namespace, "-o", "json"])
    }

    /// Whether ConfigMap `name` exists in `namespace`.
    pub async fn config_map_exists(&self, name: &str, namespace: &str) -> Result<bool, ToolError> {
        let spec = self.get_config_map_spec(name, namespace);
        let raw = none_if_not_found(
            self.exec
                .json::<serde_json::Value>(spec, "a ConfigMap")
                .await,
        )?;
        Ok(raw.is_some())
    }

    pub fn get_namespace_spec(&self, namespace: &str) -> CommandSpec {
        self.cluster(&["get", "namespace", namespace, "-o", "json"])
    }

    pub async fn get_namespace(&self, namespace: &str) -> Result<Option<Namespace>, ToolError> {
        let spec = self.get_namespace_spec(namespace);
        let raw = none_if_not_found(self.exec.json::<RawNamespace>(spec, "a namespace").await)?;
        Ok(raw.map(|raw| Namespace {
            name: raw.metadata.name,
            phase: raw.status.and_then(|s| s.phase),
            labels: raw.metadata.labels,
        }))
    }

    /// `kubectl label TYPE NAME... managed-by=kalypso-bootstrap installation=<id>`: our
    /// mark on objects this run created. `--overwrite` only matters on a resumed run that
    /// labels its own objects again.
    pub fn label_mark_spec(
        &self,
        kind: &str,
        names: &[&str],
        installation_id: &str,
    ) -> CommandSpec {
        let mut args = vec!["label", kind];
        args.extend_from_slice(names);
        let managed_by = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}");
        let installation = format!("{INSTALLATION_LABEL}={installation_id}");
        args.extend([managed_by.as_str(), installation.as_str(), "--overwrite"]);
        self.cluster(&args)
    }

    /// Put our mark on objects this run created (never on ones that were there before).
    pub async fn label_mark(
        &self,
        kind: &str,
        names: &[&str],
        installation_id: &str,
    ) -> Result<(), ToolError> {
        let spec = self.label_mark_spec(kind, names, installation_id);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn create_namespace_spec(&self, namespace: &str) -> CommandSpec {
        self.cluster(&["create", "namespace", namespace])
    }

    /// Create the namespace ([`super::ErrorClass::AlreadyExists`] when it exists).
    pub async fn create_namespace(&self, namespace: &str) -> Result<(), ToolError> {
        let spec = self.create_namespace_spec(namespace);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn delete_namespace_spec(&self, namespace: &str) -> CommandSpec {
        self.cluster(&["delete", "namespace", namespace, "--wait=false"])
    }

    /// Start deleting the namespace (it terminates asynchronously).
    pub async fn delete_namespace(&self, namespace: &str) -> Result<DeleteOutcome, ToolError> {
        let spec = self.delete_namespace_spec(namespace);
        delete_outcome(self.exec.checked(spec).await)
    }

    pub fn get_deployments_spec(&self, namespace: &str) -> CommandSpec {
        self.cluster(&["get", "deployment", "-n", namespace, "-o", "json"])
    }

    pub async fn get_deployments(&self, namespace: &str) -> Result<Vec<Deployment>, ToolError> {
        self.list::<RawDeployment, Deployment>(
            self.get_deployments_spec(namespace),
            "a deployment list",
        )
        .await
    }

    pub fn get_validating_webhooks_spec(&self) -> CommandSpec {
        self.cluster(&["get", "validatingwebhookconfigurations", "-o", "json"])
    }

    pub async fn get_validating_webhooks(&self) -> Result<Vec<WebhookConfiguration>, ToolError> {
        self.list::<WebhookConfiguration, WebhookConfiguration>(
            self.get_validating_webhooks_spec(),
            "a webhook configuration list",
        )
        .await
    }

    pub fn get_flux_object_spec(&self, kind: FluxKind, name: &str, namespace: &str) -> CommandSpec {
        self.cluster(&["get", kind.resource(), name, "-n", namespace, "-o", "json"])
    }

    /// The Flux object, or `None` when it does not exist.
    pub async fn get_flux_object(
        &self,
        kind: FluxKind,
        name: &str,
        namespace: &str,
    ) -> Result<Option<FluxObject>, ToolError> {
        let spec = self.get_flux_object_spec(kind, name, namespace);
        let raw = none_if_not_found(self.exec.json::<RawFluxObject>(spec, "a Flux object").await)?;
        Ok(raw.map(|raw| {
            let status = raw.status.unwrap_or_default();
            FluxObject {
                kind,
                ready: find_condition(&status.conditions, "Ready").cloned(),
                name: raw.metadata.name,
                namespace: raw.metadata.namespace,
                generation: raw.metadata.generation,
                observed_generation: status.observed_generation,
                last_applied_revision: status.last_applied_revision,
            }
        }))
    }

    pub fn list_flux_objects_spec(&self, kind: FluxKind, namespace: &str) -> CommandSpec {
        self.cluster(&["get", kind.resource(), "-n", namespace, "-o", "json"])
    }

    /// Every Flux object of `kind` in `namespace`.
    pub async fn list_flux_objects(
        &self,
        kind: FluxKind,
        namespace: &str,
    ) -> Result<Vec<FluxObject>, ToolError> {
        let spec = self.list_flux_objects_spec(kind, namespace);
        let list: List<RawFluxObject> = self.exec.json(spec, "a list of Flux objects").await?;
        Ok(list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|raw| {
                let status = raw.status.unwrap_or_default();
                FluxObject {
                    kind,
                    ready: find_condition(&status.conditions, "Ready").cloned(),
                    name: raw.metadata.name,
                    namespace: raw.metadata.namespace,
                    generation: raw.metadata.generation,
                    observed_generation: status.observed_generation,
                    last_applied_revision: status.last_applied_revision,
                }
            })
            .collect())
    }

    pub fn list_kalypso_objects_spec(&self, kind: KalypsoKind, namespace: &str) -> CommandSpec {
        self.cluster(&["get", kind.resource(), "-n", namespace, "-o", "json"])
    }

    /// Every Kalypso object of `kind` (a repository reference) in `namespace`.
    pub async fn list_kalypso_objects(
        &self,
        kind: KalypsoKind,
        namespace: &str,
    ) -> Result<Vec<KalypsoObject>, ToolError> {
        let spec = self.list_kalypso_objects_spec(kind, namespace);
        let list: List<RawKalypsoObject> =
            self.exec.json(spec, "a list of Kalypso objects").await?;
        Ok(list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|raw| {
                let status = raw.status.unwrap_or_default();
                KalypsoObject {
                    kind,
                    ready: find_condition(&status.conditions, "Ready").cloned(),
                    name: raw.metadata.name,
                    // A WorkloadRegistration names its repository under `spec.workload`.
                    repo: raw.spec.repo.or_else(|| {
                        raw.spec
                            .workload
                            .as_ref()?
                            .get("repo")?
                            .as_str()
                            .map(str::to_string)
                    }),
                    branch: raw.spec.branch.or_else(|| {
                        raw.spec
                            .workload
                            .as_ref()?
                            .get("branch")?
                            .as_str()
                            .map(str::to_string)
                    }),
                    workload: raw
                        .spec
                        .workload
                        .as_ref()
                        .and_then(|w| w.as_str())
                        .map(str::to_string),
                    cluster_type: raw.spec.cluster_type,
                    deployment_target: raw.spec.deployment_target,
                }
            })
            .collect())
    }

    pub fn delete_workload_spec(&self, name: &str, namespace: &str) -> CommandSpec {
        self.cluster(&["delete", WORKLOAD_RESOURCE, name, "-n", namespace])
    }

    /// Delete the test `Workload`.
    pub async fn delete_workload(
        &self,
        name: &str,
        namespace: &str,
    ) -> Result<DeleteOutcome, ToolError> {
        let spec = self.delete_workload_spec(name, namespace);
        delete_outcome(self.exec.checked(spec).await)
    }

    pub fn delete_crds_spec(&self, names: &[&str]) -> CommandSpec {
        let mut args = vec!["delete", "crd"];
        args.extend_from_slice(names);
        self.cluster(&args).timeout(APPLY_TIMEOUT)
    }

    /// Delete CRDs (and with them every object of their kinds). CRDs already gone are not
    /// an error; any other failure is.
    pub async fn delete_crds(&self, names: &[&str]) -> Result<(), ToolError> {
        if names.is_empty() {
            return Ok(());
        }
        let spec = self.delete_crds_spec(names);
        self.run_tolerating_not_found(spec).await
    }

    /// `kubectl --context C apply -f -` of a manifest holding a secret: on stdin only,
    /// masked wherever the command is shown.
    /// Server-side: a client-side apply would copy the whole manifest, secret values
    /// included, into the object's `kubectl.kubernetes.io/last-applied-configuration`
    /// annotation.
    pub fn apply_secret_stdin_spec(&self, manifest: SecretSlice<u8>) -> CommandSpec {
        self.cluster(&["apply", "--server-side", "-f", "-"])
            .secret_stdin(manifest)
    }

    /// Apply a manifest that holds a secret, given on stdin.
    pub async fn apply_secret_stdin(&self, manifest: SecretSlice<u8>) -> Result<(), ToolError> {
        let spec = self.apply_secret_stdin_spec(manifest);
        self.exec.checked(spec).await.map(drop)
    }

    /// `kubectl --context C get RESOURCE NAME -n NS -o json`.
    pub fn get_object_spec(&self, resource: &str, name: &str, namespace: &str) -> CommandSpec {
        self.cluster(&["get", resource, name, "-n", namespace, "-o", "json"])
    }

    /// The labels of an object, `None` when it does not exist. For a Secret only its
    /// metadata is read: the command's output (its data) is treated as a secret.
    pub async fn object_labels(
        &self,
        resource: &str,
        name: &str,
        namespace: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ToolError> {
        #[derive(Deserialize)]
        struct Object {
            metadata: ObjectMeta,
        }
        let spec = self
            .get_object_spec(resource, name, namespace)
            .secret_stdout();
        let object: Option<Object> =
            none_if_not_found(self.exec.json(spec, "a Kubernetes object").await)?;
        Ok(object.map(|o| o.metadata.labels))
    }

    /// `kubectl --context C delete RESOURCE NAME -n NS --ignore-not-found`.
    pub fn delete_object_spec(&self, resource: &str, name: &str, namespace: &str) -> CommandSpec {
        self.cluster(&[
            "delete",
            resource,
            name,
            "-n",
            namespace,
            "--ignore-not-found",
        ])
        .timeout(APPLY_TIMEOUT)
    }

    /// Delete one object; one already gone is no error.
    pub async fn delete_object(
        &self,
        resource: &str,
        name: &str,
        namespace: &str,
    ) -> Result<(), ToolError> {
        let spec = self.delete_object_spec(resource, name, namespace);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn delete_url_spec(&self, url: &str) -> CommandSpec {
        self.cluster(&["delete", "-f", url]).timeout(APPLY_TIMEOUT)
    }

    /// Delete what a manifest URL created (Flux). Objects already gone are not an error.
    pub async fn delete_url(&self, url: &str) -> Result<(), ToolError> {
        let spec = self.delete_url_spec(url);
        self.run_tolerating_not_found(spec).await
    }

    /// `kubectl config delete-context C --kubeconfig PATH` (a local file edit: no
    /// `--context` needed, the context is the argument).
    pub fn delete_context_spec(&self, kubeconfig: &Path) -> CommandSpec {
        let kubeconfig = kubeconfig.to_string_lossy();
        CommandSpec::new(PROGRAM)
            .args([
                "config",
                "delete-context",
                self.context.as_str(),
                "--kubeconfig",
                &kubeconfig,
            ])
            .timeout(QUERY_TIMEOUT)
    }

    /// Remove the context from `kubeconfig`.
    pub async fn delete_context(&self, kubeconfig: &Path) -> Result<DeleteOutcome, ToolError> {
        let spec = self.delete_context_spec(kubeconfig);
        delete_outcome(self.exec.checked(spec).await)
    }

    /// A multi-object delete fails when any object is missing, after deleting the others:
    /// succeed when every error line is a "not found".
    async fn run_tolerating_not_found(&self, spec: CommandSpec) -> Result<(), ToolError> {
        let command = spec.display();
        let output = self.exec.output(spec).await?;
        if output.success() {
            return Ok(());
        }
        let only_not_found = output
            .stderr
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .all(|line| line.contains("(NotFound)") || line.ends_with("not found"));
        if only_not_found && !output.stderr.trim().is_empty() {
            Ok(())
        } else {
            Err(failure(ToolKind::Kubectl, command, &output))
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
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
