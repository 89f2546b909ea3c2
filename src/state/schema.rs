//! The state file's shape. The contract fields (`version`, `timestamp`, `status`, `cluster`,
//! `repositories`, `installation`, `errors`) keep the upstream layout; `steps` and
//! `resources` carry what resume and rollback need.
//!
//! No field can hold a secret: there is no token, password or key field anywhere, and
//! Actions secrets are recorded by name only. Serialisation additionally passes through
//! [`crate::secrets::redact`] (see [`BootstrapState::to_json`]).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: &str = "1.0";

/// The (major, minor) of [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_PARTS: (u64, u64) = (1, 0);

/// A point in time, written as RFC 3339 (ISO 8601) in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The instant in UTC to the millisecond, so every timestamp in the file reads alike
    /// and survives a save/load round trip unchanged.
    pub fn new(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        let millis = utc.replace_nanosecond(utc.millisecond() as u32 * 1_000_000);
        Self(millis.unwrap_or(utc))
    }

    pub fn now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// RFC 3339 with exactly three fraction digits, e.g. `2025-11-11T10:30:45.120Z`, so
    /// every timestamp has the same width (the `Rfc3339` formatter drops trailing zeros).
    pub fn to_rfc3339(&self) -> String {
        let t = self.0;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// A form safe inside a file name: `20251111T103045Z`.
    pub fn to_file_name_part(&self) -> String {
        let t = self.0;
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::new(at)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(Timestamp::new)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time: {e}")))
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "RFC 3339 in UTC with milliseconds, e.g. 2025-11-11T10:30:45.120Z.",
            "type": "string",
            "format": "date-time",
        })
    }
}

/// The run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    InProgress,
    Completed,
    Failed,
    RolledBack,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::InProgress => "in_progress",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::RolledBack => "rolled_back",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Contract: `cluster{created,name,resourceGroup,region,kubeContext}`; unknown values are `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSummary {
    /// True when this tool created the cluster (false: an existing one was used).
    pub created: bool,
    pub name: Option<String>,
    pub resource_group: Option<String>,
    pub region: Option<String>,
    pub kube_context: Option<String>,
}

/// Contract: `{created,name,owner,url}` for one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositorySummary {
    /// True when this tool created the repository (false: an existing one was used).
    pub created: bool,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub url: Option<String>,
}

/// Contract: `repositories{controlPlane, gitops}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoriesSummary {
    pub control_plane: RepositorySummary,
    pub gitops: RepositorySummary,
}

/// Contract: `installation{namespace,helmRelease,version}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallationSummary {
    pub namespace: Option<String>,
    pub helm_release: Option<String>,
    /// The Kalypso chart version installed.
    pub version: Option<String>,
}

/// The phases of a run, named as in the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Prerequisites,
    Cluster,
    Repositories,
    Installation,
    /// Attaching workload clusters (`--workload-cluster`).
    Workloads,
    Validation,
    Rollback,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Prerequisites => "prerequisites",
            Phase::Cluster => "cluster",
            Phase::Repositories => "repositories",
            Phase::Installation => "installation",
            Phase::Workloads => "workloads",
            Phase::Validation => "validation",
            Phase::Rollback => "rollback",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    /// Whether a resumed run can leave this step alone.
    pub fn is_done(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Skipped)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of the plan and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRecord {
    pub id: String,
    pub phase: Phase,
    pub status: StepStatus,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub message: Option<String>,
}

/// Whether a resource is ours to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// This tool created it; rollback may remove it.
    CreatedByUs,
    /// It existed before; rollback never touches it.
    Reused,
}

impl Ownership {
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::CreatedByUs => "created_by_us",
            Ownership::Reused => "reused",
        }
    }
}

impl Ownership {
    /// The words for people (`--status`, the report); [`Self::as_str`] is the file's.
    pub fn label(self) -> &'static str {
        match self {
            Ownership::CreatedByUs => "created by this tool",
            Ownership::Reused => "existing, reused",
        }
    }
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a resource stands. A resource is recorded as soon as its creation starts
/// (`creating`), so a crash mid-creation still leaves rollback something to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Creating,
    Present,
    Deleted,
    DeleteFailed,
    /// Rollback left it alone: the live resource does not carry this installation's mark,
    /// so the state's claim that we created it is not proof enough to delete it.
    KeptNotOurs,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Creating => "creating",
            ResourceStatus::Present => "present",
            ResourceStatus::Deleted => "deleted",
            ResourceStatus::DeleteFailed => "delete_failed",
            ResourceStatus::KeptNotOurs => "kept_not_ours",
        }
    }
}

impl ResourceStatus {
    /// The words for people (`--status`, the report); [`Self::as_str`] is the file's.
    pub fn label(self) -> &'static str {
        match self {
            ResourceStatus::Creating => "being created",
            ResourceStatus::Present => "present",
            ResourceStatus::Deleted => "removed",
            ResourceStatus::DeleteFailed => "removal failed",
            ResourceStatus::KeptNotOurs => "kept, not ours",
        }
    }
}

impl fmt::Display for ResourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource and what identifies it to the tool that removes it. Serialised as
/// `{"kind": "...", "identifiers": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(
    tag = "kind",
    content = "identifiers",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Resource {
    #[serde(rename_all = "camelCase")]
    ResourceGroup {
        name: String,
        subscription_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    AksCluster {
        name: String,
        resource_group: String,
        subscription_id: Option<String>,
    },
    /// An entry merged into the kubeconfig by `az aks get-credentials`.
    #[serde(rename_all = "camelCase")]
    KubeContext {
        name: String,
        /// The kubeconfig file written to, when not the default.
        kubeconfig: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Repository {
        owner: String,
        name: String,
        url: String,
    },
    /// A GitHub Actions secret, by name only: its value never enters the state.
    #[serde(rename_all = "camelCase")]
    RepoSecret { repository: String, name: String },
    #[serde(rename_all = "camelCase")]
    RepoLabel { repository: String, name: String },
    /// One commit we pushed to a branch of a repository the user gave, changing one file
    /// (the control plane's GitOpsRepo pointed at the gitops repository). Rollback pushes
    /// `previous_content` back, only while the file on the branch is still the blob we
    /// wrote (`written_blob`).
    #[serde(rename_all = "camelCase")]
    RepoFileCommit {
        repository: String,
        branch: String,
        path: String,
        commit: String,
        previous_blob: String,
        written_blob: String,
        previous_content: String,
    },
    /// A branch we created in a repository the user gave (an environment branch of an
    /// existing control plane): `commit` is the head we pushed. Rollback deletes the branch
    /// only while its live head is still that commit.
    #[serde(rename_all = "camelCase")]
    RepoBranch {
        repository: String,
        branch: String,
        commit: String,
    },
    /// A GitHub (deployment) environment we created in a repository the user gave.
    #[serde(rename_all = "camelCase")]
    RepoEnvironment { repository: String, name: String },
    /// A secret we set in a GitHub environment of a repository the user gave (its value
    /// never enters the state).
    #[serde(rename_all = "camelCase")]
    RepoEnvironmentSecret {
        repository: String,
        environment: String,
        name: String,
    },
    #[serde(rename_all = "camelCase")]
    Flux {
        kube_context: String,
        version: Option<String>,
        /// The manifest applied when it was not the release's install.yaml on github.com
        /// (`--flux-manifest`): rollback deletes what that same manifest names.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manifest: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Namespace { kube_context: String, name: String },
    #[serde(rename_all = "camelCase")]
    HelmRelease {
        kube_context: String,
        namespace: String,
        name: String,
    },
    /// The Kalypso CRDs, which Helm leaves behind on uninstall.
    #[serde(rename_all = "camelCase")]
    KalypsoCrds {
        kube_context: String,
        names: Vec<String>,
    },
    /// A Flux object (Kustomization, GitRepository) or the Secret of its credential that
    /// we applied on an attached workload cluster (`--workload-cluster`), carrying our
    /// mark. `kind` is the resource kubectl names it by (e.g.
    /// `kustomizations.kustomize.toolkit.fluxcd.io`, `secret`).
    #[serde(rename_all = "camelCase")]
    WorkloadObject {
        kube_context: String,
        kind: String,
        namespace: String,
        name: String,
    },
    /// A read-only deploy key we added to the gitops repository for one attached
    /// (cluster, environment). `id` is GitHub's, once it answered; `key` the public key
    /// (`ssh-ed25519 …`), by which, with the title, the live key is known as ours.
    #[serde(rename_all = "camelCase")]
    DeployKey {
        repository: String,
        title: String,
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
}

impl Resource {
    /// The `kind` as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::ResourceGroup { .. } => "resource_group",
            Resource::AksCluster { .. } => "aks_cluster",
            Resource::KubeContext { .. } => "kube_context",
            Resource::Repository { .. } => "repository",
            Resource::RepoSecret { .. } => "repo_secret",
            Resource::RepoLabel { .. } => "repo_label",
            Resource::RepoFileCommit { .. } => "repo_file_commit",
            Resource::RepoBranch { .. } => "repo_branch",
            Resource::RepoEnvironment { .. } => "repo_environment",
            Resource::RepoEnvironmentSecret { .. } => "repo_environment_secret",
            Resource::Flux { .. } => "flux",
            Resource::Namespace { .. } => "namespace",
            Resource::HelmRelease { .. } => "helm_release",
            Resource::KalypsoCrds { .. } => "kalypso_crds",
            Resource::WorkloadObject { .. } => "workload_object",
            Resource::DeployKey { .. } => "deploy_key",
        }
    }

    /// What the kind is called in text for people: `Helm release` for `helm_release`.
    pub fn kind_label(&self) -> &'static str {
        match self {
            Resource::ResourceGroup { .. } => "resource group",
            Resource::AksCluster { .. } => "AKS cluster",
            Resource::KubeContext { .. } => "kube context",
            Resource::Repository { .. } => "repository",
            Resource::RepoSecret { .. } => "Actions secret",
            Resource::RepoLabel { .. } => "label",
            Resource::RepoFileCommit { .. } => "commit",
            Resource::RepoBranch { .. } => "branch",
            Resource::RepoEnvironment { .. } => "GitHub environment",
            Resource::RepoEnvironmentSecret { .. } => "environment secret",
            Resource::Flux { .. } => "Flux",
            Resource::Namespace { .. } => "namespace",
            Resource::HelmRelease { .. } => "Helm release",
            Resource::KalypsoCrds { .. } => "Kalypso CRDs",
            Resource::WorkloadObject { .. } => "workload cluster object",
            Resource::DeployKey { .. } => "deploy key",
        }
    }

    /// The description events, JSON and the state carry, led by the stable [`Self::kind`]:
    /// `aks_cluster demo (resource group demo-rg)`. People read [`Self::label`].
    pub fn describe(&self) -> String {
        self.described_as(self.kind())
    }

    /// The description for people: `AKS cluster demo (resource group demo-rg)`.
    pub fn label(&self) -> String {
        self.described_as(self.kind_label())
    }

    fn described_as(&self, kind: &str) -> String {
        match self {
            Resource::ResourceGroup { name, .. } => format!("{kind} {name}"),
            Resource::AksCluster {
                name,
                resource_group,
                ..
            } => format!("{kind} {name} (resource group {resource_group})"),
            Resource::KubeContext { name, .. } => format!("{kind} {name}"),
            Resource::Repository { url, .. } => format!("{kind} {url}"),
            Resource::RepoSecret { repository, name } => format!("{kind} {name} on {repository}"),
            Resource::RepoLabel { repository, name } => format!("{kind} {name} on {repository}"),
            Resource::RepoFileCommit {
                repository,
                branch,
                path,
                commit,
                ..
            } => format!(
                "{kind} {} ({path} on {branch} of {repository})",
                commit.get(..12).unwrap_or(commit)
            ),
            Resource::RepoBranch {
                repository,
                branch,
                commit,
            } => format!(
                "{kind} {branch} of {repository} (head {})",
                commit.get(..12).unwrap_or(commit)
            ),
            Resource::RepoEnvironment { repository, name } => {
                format!("{kind} {name} of {repository}")
            }
            Resource::RepoEnvironmentSecret {
                repository,
                environment,
                name,
            } => format!("{kind} {name} of environment {environment} on {repository}"),
            Resource::Flux {
                kube_context,
                version,
                ..
            } => match version {
                Some(v) => format!("{kind} {v} in context {kube_context}"),
                None => format!("{kind} in context {kube_context}"),
            },
            Resource::Namespace { kube_context, name } => {
                format!("{kind} {name} in context {kube_context}")
            }
            Resource::HelmRelease {
                kube_context,
                namespace,
                name,
            } => format!("{kind} {name} in namespace {namespace}, context {kube_context}"),
            Resource::KalypsoCrds {
                kube_context,
                names,
            } => format!(
                "{kind} ({}) in context {kube_context}",
                crate::text::plural(names.len(), "CRD")
            ),
            Resource::WorkloadObject {
                kube_context,
                kind: object_kind,
                namespace,
                name,
            } => format!(
                "{kind} {object_kind}/{name} in namespace {namespace}, context {kube_context}"
            ),
            Resource::DeployKey {
                repository, title, ..
            } => format!("{kind} \"{title}\" on {repository}"),
        }
    }
}

/// `text` (made from [`Resource::describe`] and the state's identifiers, e.g. an event's
/// resource) in people's words: each `snake_case` resource kind becomes its label
/// (`helm_release` → `Helm release`), `created_by_us` becomes "created by this tool". The
/// identifiers with an underscore are never ordinary words, so nothing else changes. For the
/// front ends and the report; JSON keeps the identifiers.
pub fn in_human_words(text: &str) -> std::borrow::Cow<'_, str> {
    const WORDS: [(&str, &str); 12] = [
        // Longer identifiers first: `repo_environment` is the start of `repo_environment_secret`.
        ("repo_environment_secret", "environment secret"),
        ("repo_environment", "GitHub environment"),
        ("repo_branch", "branch"),
        ("resource_group", "resource group"),
        ("aks_cluster", "AKS cluster"),
        ("kube_context", "kube context"),
        ("repo_secret", "Actions secret"),
        ("repo_label", "label"),
        ("repo_file_commit", "commit"),
        ("helm_release", "Helm release"),
        ("kalypso_crds", "Kalypso CRDs"),
        ("created_by_us", "created by this tool"),
    ];
    if !WORDS.iter().any(|(id, _)| text.contains(id)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for (id, words) in WORDS {
        out = out.replace(id, words);
    }
    std::borrow::Cow::Owned(out)
}

/// One resource the run touched, in the order it was first recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRecord {
    pub resource: Resource,
    pub ownership: Ownership,
    pub status: ResourceStatus,
    /// The plan step that recorded it.
    pub step: Option<String>,
    pub recorded_at: Timestamp,
    /// The latest note, e.g. the result of a rollback attempt or the manual command to run.
    pub message: Option<String>,
    /// For a repository we created: its GitHub id and creation time, read right after the
    /// creation. Rollback deletes the repository only when the live one still has both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_identity: Option<RepositoryCreation>,
    /// For an Actions secret we set on a repository the user gave: its `updatedAt` as GitHub
    /// listed it right after. A secret carries no mark and shows no value: rollback deletes it
    /// only while the live one still has this time (nobody set it again since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_updated_at: Option<String>,
}

/// What GitHub says identifies a repository: a repository deleted and created again under
/// the same name has another id and creation time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryCreation {
    pub id: u64,
    pub created_at: String,
}

/// Whether an installation lives in the real world or in `--demo`'s simulated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstallationWorld {
    /// Real Azure, GitHub and clusters, through the real tools.
    Real,
    /// `--demo`: the simulated Azure, GitHub and cluster kept beside the state file.
    Demo,
}

impl InstallationWorld {
    /// `Demo` for a `--demo` run.
    pub fn of_demo_flag(demo: bool) -> Self {
        if demo {
            InstallationWorld::Demo
        } else {
            InstallationWorld::Real
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InstallationWorld::Real => "real",
            InstallationWorld::Demo => "demo",
        }
    }
}

impl fmt::Display for InstallationWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cluster an installation is on: an AKS cluster (created or found by name), or an
/// existing kube context.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ClusterIdentity {
    /// `{"aks": {"resourceGroup": "...", "name": "..."}}`
    #[serde(rename_all = "camelCase")]
    Aks {
        resource_group: String,
        name: String,
    },
    /// `{"kubeContext": "..."}`
    KubeContext(String),
}

/// One repository of an installation. `owner` is `null` while unknown: a repository to
/// create without `--github-org` belongs to the GitHub account, known after sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryIdentity {
    pub owner: Option<String>,
    pub name: String,
}

/// The installation's two repositories, and the GitHub host both live on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoriesIdentity {
    pub control_plane: RepositoryIdentity,
    pub gitops: RepositoryIdentity,
    /// `github.com` or a GitHub Enterprise Server's host name; a state written before
    /// the host was recorded was on github.com.
    #[serde(default = "default_github_host")]
    pub github_host: String,
}

fn default_github_host() -> String {
    crate::config::github_host::DEFAULT_HOST.to_string()
}

/// Which installation a state file belongs to (see `docs/reference.md#installation-identity`):
/// a run whose configuration names another installation, or another world, is refused
/// before anything changes. Everything else (node count, VM size, region, chart version,
/// ...) may change between runs of one installation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallationIdentity {
    /// `kb-` and 12 random hex digits, made when the state is first created; the mark
    /// put on what this installation creates. Empty in an identity a configuration
    /// names, until a state adopts it.
    pub id: String,
    pub world: InstallationWorld,
    /// The Azure subscription of an AKS cluster (`AZURE_SUBSCRIPTION_ID`, else the
    /// signed-in account's); `null` for a kube context, or while unknown.
    pub subscription: Option<String>,
    pub cluster: ClusterIdentity,
    pub repositories: RepositoriesIdentity,
    /// The namespace Kalypso is installed in.
    pub namespace: String,
    /// The environments, in promotion order. Absent in a state of the one default
    /// environment (`dev`), so that such files read as they always did.
    #[serde(
        default = "default_environments",
        skip_serializing_if = "is_default_environments"
    )]
    pub environments: Vec<String>,
}

/// The environments of an identity that records none: the one default environment.
pub fn default_environments() -> Vec<String> {
    vec![crate::config::defaults::ENVIRONMENTS.to_string()]
}

fn is_default_environments(environments: &Vec<String>) -> bool {
    *environments == default_environments()
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootstrapState {
    pub version: String,
    /// When the state last changed.
    pub timestamp: Timestamp,
    pub status: RunStatus,
    /// The installation this state belongs to; `null` in a state written before
    /// identities were recorded (the next run with a configuration adopts its own).
    #[serde(default)]
    pub identity: Option<InstallationIdentity>,
    pub cluster: ClusterSummary,
    pub repositories: RepositoriesSummary,
    pub installation: InstallationSummary,
    pub errors: Vec<String>,
    /// Absent in files written by tools that only know the contract fields.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// In creation order; rollback walks it backwards.
    #[serde(default)]
    pub resources: Vec<ResourceRecord>,
}

impl BootstrapState {
    /// A fresh, empty, in-progress state.
    pub fn new(now: Timestamp) -> Self {
        Self {
            version: SCHEMA_VERSION.to_string(),
            timestamp: now,
            status: RunStatus::InProgress,
            identity: None,
            cluster: ClusterSummary::default(),
            repositories: RepositoriesSummary::default(),
            installation: InstallationSummary::default(),
            errors: Vec::new(),
            steps: Vec::new(),
            resources: Vec::new(),
        }
    }

    /// The id this installation's marks carry ([`InstallationIdentity::id`]); `None` in a
    /// state written before identities were recorded, whose resources carry no mark.
    pub fn installation_id(&self) -> Option<&str> {
        self.identity.as_ref().map(|identity| identity.id.as_str())
    }

    /// Remember when GitHub says an Actions secret we just set was updated.
    pub fn set_secret_updated_at(
        &mut self,
        resource: &Resource,
        updated_at: String,
        now: Timestamp,
    ) -> bool {
        let Some(record) = self.resources.iter_mut().find(|r| &r.resource == resource) else {
            return false;
        };
        record.secret_updated_at = Some(updated_at);
        self.touch(now);
        true
    }

    /// Remember the GitHub id and creation time of a repository we just created.
    pub fn set_repository_identity(
        &mut self,
        resource: &Resource,
        identity: RepositoryCreation,
        now: Timestamp,
    ) -> bool {
        let Some(record) = self.resources.iter_mut().find(|r| &r.resource == resource) else {
            return false;
        };
        record.repository_identity = Some(identity);
        self.touch(now);
        true
    }

    /// The indented JSON written to disk, with every registered secret masked.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, enums and options cannot fail.
        let json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("state serialisation failed: {e}"));
        let mut text = crate::secrets::redact(&json).into_owned();
        text.push('\n');
        text
    }

    pub fn touch(&mut self, now: Timestamp) {
        self.timestamp = now;
    }

    pub fn set_status(&mut self, status: RunStatus, now: Timestamp) {
        self.status = status;
        self.touch(now);
    }

    /// Append an error message (redacted) to `errors`.
    pub fn push_error(&mut self, message: &str, now: Timestamp) {
        self.errors
            .push(crate::secrets::redact(message.trim_end()).into_owned());
        self.touch(now);
    }

    // ---- steps ----

    pub fn step(&self, id: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The step's status, `None` when the step was never recorded.
    pub fn step_status(&self, id: &str) -> Option<StepStatus> {
        self.step(id).map(|s| s.status)
    }

    /// Whether a resumed run may skip the step (it succeeded or was skipped before).
    pub fn is_step_done(&self, id: &str) -> bool {
        self.step_status(id).is_some_and(StepStatus::is_done)
    }

    /// Record a step as pending unless it is already recorded (keeps earlier progress).
    pub fn ensure_step(&mut self, id: &str, phase: Phase) {
        if self.step(id).is_none() {
            self.steps.push(StepRecord {
                id: id.to_string(),
                phase,
                status: StepStatus::Pending,
                started_at: None,
                finished_at: None,
                message: None,
            });
        }
    }

    pub fn step_started(&mut self, id: &str, phase: Phase, now: Timestamp) {
        let step = self.step_entry(id, phase);
        step.status = StepStatus::Running;
        step.started_at = Some(now);
        step.finished_at = None;
        step.message = None;
        self.touch(now);
    }

    pub fn step_succeeded(
        &mut self,
        id: &str,
        phase: Phase,
        message: Option<&str>,
        now: Timestamp,
    ) {
        self.finish_step(id, phase, StepStatus::Succeeded, message, now);
    }

    pub fn step_failed(&mut self, id: &str, phase: Phase, message: &str, now: Timestamp) {
        self.finish_step(id, phase, StepStatus::Failed, Some(message), now);
    }

    pub fn step_skipped(&mut self, id: &str, phase: Phase, reason: &str, now: Timestamp) {
        self.finish_step(id, phase, StepStatus::Skipped, Some(reason), now);
    }

    /// After loading the state of a run that died (crash, kill): steps still `running`
    /// become `failed`, and an `in_progress` run becomes `failed`. Returns the ids changed.
    pub fn mark_interrupted(&mut self, now: Timestamp) -> Vec<String> {
        let mut changed = Vec::new();
        for step in self
            .steps
            .iter_mut()
            .filter(|s| s.status == StepStatus::Running)
        {
            step.status = StepStatus::Failed;
            step.finished_at = Some(now);
            step.message = Some("interrupted: the previous run stopped during this step".into());
            changed.push(step.id.clone());
        }
        if self.status == RunStatus::InProgress {
            self.status = RunStatus::Failed;
        }
        self.touch(now);
        changed
    }

    fn finish_step(
        &mut self,
        id: &str,
        phase: Phase,
        status: StepStatus,
        message: Option<&str>,
        now: Timestamp,
    ) {
        let step = self.step_entry(id, phase);
        step.status = status;
        step.finished_at = Some(now);
        step.message = message.map(|m| crate::secrets::redact(m).into_owned());
        self.touch(now);
    }

    fn step_entry(&mut self, id: &str, phase: Phase) -> &mut StepRecord {
        self.ensure_step(id, phase);
        let index = self
            .steps
            .iter()
            .position(|s| s.id == id)
            .unwrap_or_else(|| unreachable!("step {id} was just ensured"));
        let step = &mut self.steps[index];
        step.phase = phase;
        step
    }

    // ---- resources ----

    pub fn resource(&self, resource: &Resource) -> Option<&ResourceRecord> {
        self.resources.iter().find(|r| &r.resource == resource)
    }

    /// Whether the state records this resource as created by us (and not yet removed).
    pub fn is_ours(&self, resource: &Resource) -> bool {
        self.resource(resource).is_some_and(|r| {
            r.ownership == Ownership::CreatedByUs && r.status != ResourceStatus::Deleted
        })
    }

    /// Record a resource, or update the record of one already known (a resumed run).
    /// A resource once recorded as created by us stays ours: a resumed run that finds
    /// it existing is finding what it made. A removed resource recorded again moves to
    /// the end, keeping the list in creation order.
    pub fn record_resource(
        &mut self,
        resource: Resource,
        ownership: Ownership,
        status: ResourceStatus,
        step: Option<&str>,
        now: Timestamp,
    ) {
        match self.resources.iter().position(|r| r.resource == resource) {
            Some(index) if self.resources[index].status != ResourceStatus::Deleted => {
                let record = &mut self.resources[index];
                if record.ownership == Ownership::Reused {
                    record.ownership = ownership;
                }
                record.status = status;
                if let Some(step) = step {
                    record.step = Some(step.to_string());
                }
            }
            existing => {
                if let Some(index) = existing {
                    self.resources.remove(index);
                }
                self.resources.push(ResourceRecord {
                    resource,
                    ownership,
                    status,
                    step: step.map(str::to_string),
                    recorded_at: now,
                    message: None,
                    repository_identity: None,
                    secret_updated_at: None,
                });
            }
        }
        self.touch(now);
    }

    /// Update a recorded resource's status and note; false when it is not recorded.
    pub fn set_resource_status(
        &mut self,
        resource: &Resource,
        status: ResourceStatus,
        message: Option<&str>,
        now: Timestamp,
    ) -> bool {
        let Some(record) = self.resources.iter_mut().find(|r| &r.resource == resource) else {
            return false;
        };
        record.status = status;
        record.message = message.map(|m| crate::secrets::redact(m).into_owned());
        self.touch(now);
        true
    }

    /// Drop the record of a creation that found the resource already there: it is
    /// someone else's, and a rollback must never remove it. Only a record still
    /// `creating` and created by us is dropped.
    pub fn forget_creation(&mut self, resource: &Resource, now: Timestamp) -> bool {
        let before = self.resources.len();
        self.resources.retain(|r| {
            !(&r.resource == resource
                && r.ownership == Ownership::CreatedByUs
                && r.status == ResourceStatus::Creating)
        });
        let forgotten = self.resources.len() != before;
        if forgotten {
            self.touch(now);
        }
        forgotten
    }

    /// What rollback must remove: resources created by us and not yet deleted, newest first.
    pub fn rollback_candidates(&self) -> Vec<&ResourceRecord> {
        self.resources
            .iter()
            .rev()
            .filter(|r| {
                r.ownership == Ownership::CreatedByUs && r.status != ResourceStatus::Deleted
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn t(minute: u8) -> Timestamp {
        Timestamp::new(
            datetime!(2025-11-11 10:00 UTC)
                .replace_minute(minute)
                .unwrap(),
        )
    }

    fn rg(name: &str) -> Resource {
        Resource::ResourceGroup {
            name: name.into(),
            subscription_id: None,
        }
    }

    #[test]
    fn new_state_serialises_with_the_contract_keys() {
        let json: serde_json::Value =
            serde_json::from_str(&BootstrapState::new(t(0)).to_json()).unwrap();
        assert_eq!(json["version"], "1.0");
        assert_eq!(json["timestamp"], "2025-11-11T10:00:00.000Z");
        assert_eq!(json["status"], "in_progress");
        for key in ["created", "name", "resourceGroup", "region", "kubeContext"] {
            assert!(json["cluster"].get(key).is_some(), "cluster.{key}");
        }
        for repo in ["controlPlane", "gitops"] {
            for key in ["created", "name", "owner", "url"] {
                assert!(
                    json["repositories"][repo].get(key).is_some(),
                    "{repo}.{key}"
                );
            }
        }
        for key in ["namespace", "helmRelease", "version"] {
            assert!(
                json["installation"].get(key).is_some(),
                "installation.{key}"
            );
        }
        assert!(json["errors"].as_array().unwrap().is_empty());
    }

    #[test]
    fn timestamps_are_written_in_utc() {
        let local = datetime!(2025-11-11 12:30:45 +02:00);
        assert_eq!(
            Timestamp::new(local).to_rfc3339(),
            "2025-11-11T10:30:45.000Z"
        );
        assert_eq!(
            Timestamp::new(local).to_file_name_part(),
            "20251111T103045Z"
        );
        let precise = datetime!(2025-11-11 10:30:45.123456789 UTC);
        assert_eq!(
            Timestamp::new(precise).to_rfc3339(),
            "2025-11-11T10:30:45.123Z"
        );
        let parsed: Timestamp = serde_json::from_str("\"2025-11-11T11:30:45.123+01:00\"").unwrap();
        assert_eq!(parsed, Timestamp::new(precise));
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }

    #[test]
    fn resource_serialises_with_kind_and_identifiers() {
        let record = ResourceRecord {
            resource: Resource::AksCluster {
                name: "demo".into(),
                resource_group: "demo-rg".into(),
                subscription_id: Some("sub".into()),
            },
            ownership: Ownership::CreatedByUs,
            status: ResourceStatus::Creating,
            step: Some("cluster.create".into()),
            recorded_at: t(1),
            message: None,
            repository_identity: None,
            secret_updated_at: None,
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["resource"]["kind"], "aks_cluster");
        assert_eq!(json["resource"]["identifiers"]["resourceGroup"], "demo-rg");
        assert_eq!(json["ownership"], "created_by_us");
        assert_eq!(json["status"], "creating");
        let back: ResourceRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn step_lifecycle_and_resume_queries() {
        let mut s = BootstrapState::new(t(0));
        s.ensure_step("cluster.create", Phase::Cluster);
        assert_eq!(s.step_status("cluster.create"), Some(StepStatus::Pending));
        s.step_started("cluster.create", Phase::Cluster, t(1));
        assert_eq!(s.step("cluster.create").unwrap().started_at, Some(t(1)));
        s.step_succeeded("cluster.create", Phase::Cluster, Some("ok"), t(2));
        assert!(s.is_step_done("cluster.create"));
        s.step_failed("repo.gitops", Phase::Repositories, "boom", t(3));
        assert!(!s.is_step_done("repo.gitops"));
        assert_eq!(s.step("repo.gitops").unwrap().finished_at, Some(t(3)));
        assert_eq!(s.timestamp, t(3));
        // ensure_step keeps progress already made
        s.ensure_step("cluster.create", Phase::Cluster);
        assert_eq!(s.step_status("cluster.create"), Some(StepStatus::Succeeded));
    }

    #[test]
    fn interrupted_run_turns_running_steps_into_failures() {
        let mut s = BootstrapState::new(t(0));
        s.step_started("install.helm", Phase::Installation, t(1));
        s.step_succeeded("cluster.create", Phase::Cluster, None, t(1));
        assert_eq!(s.mark_interrupted(t(5)), vec!["install.helm".to_string()]);
        assert_eq!(s.step_status("install.helm"), Some(StepStatus::Failed));
        assert_eq!(s.step_status("cluster.create"), Some(StepStatus::Succeeded));
        assert_eq!(s.status, RunStatus::Failed);
    }

    #[test]
    fn rollback_candidates_are_ours_newest_first_and_skip_deleted() {
        let mut s = BootstrapState::new(t(0));
        s.record_resource(
            rg("a"),
            Ownership::CreatedByUs,
            ResourceStatus::Present,
            None,
            t(1),
        );
        s.record_resource(
            rg("b"),
            Ownership::Reused,
            ResourceStatus::Present,
            None,
            t(2),
        );
        s.record_resource(
            rg("c"),
            Ownership::CreatedByUs,
            ResourceStatus::Creating,
            None,
            t(3),
        );
        s.record_resource(
            rg("d"),
            Ownership::CreatedByUs,
            ResourceStatus::Present,
            None,
            t(4),
        );
        assert!(s.set_resource_status(&rg("d"), ResourceStatus::Deleted, Some("gone"), t(5)));
        let names: Vec<_> = s
            .rollback_candidates()
            .iter()
            .map(|r| r.resource.describe())
            .collect();
        assert_eq!(names, vec!["resource_group c", "resource_group a"]);
        let labels: Vec<_> = s
            .rollback_candidates()
            .iter()
            .map(|r| r.resource.label())
            .collect();
        assert_eq!(labels, vec!["resource group c", "resource group a"]);
        assert!(s.is_ours(&rg("a")));
        assert!(!s.is_ours(&rg("b")));
        assert!(!s.is_ours(&rg("d")));
    }

    #[test]
    fn recording_again_updates_in_place_and_keeps_ownership() {
        let mut s = BootstrapState::new(t(0));
        s.record_resource(
            rg("a"),
            Ownership::CreatedByUs,
            ResourceStatus::Creating,
            Some("s1"),
            t(1),
        );
        s.record_resource(
            rg("b"),
            Ownership::CreatedByUs,
            ResourceStatus::Present,
            None,
            t(2),
        );
        // A resumed run finds "a" existing: it stays ours and keeps its place.
        s.record_resource(
            rg("a"),
            Ownership::Reused,
            ResourceStatus::Present,
            None,
            t(3),
        );
        assert_eq!(s.resources.len(), 2);
        assert_eq!(s.resources[0].resource, rg("a"));
        assert_eq!(s.resources[0].ownership, Ownership::CreatedByUs);
        assert_eq!(s.resources[0].status, ResourceStatus::Present);
        assert_eq!(s.resources[0].recorded_at, t(1));
        // Deleted then created again: moves to the end (creation order).
        s.set_resource_status(&rg("a"), ResourceStatus::Deleted, None, t(4));
        s.record_resource(
            rg("a"),
            Ownership::CreatedByUs,
            ResourceStatus::Present,
            None,
            t(5),
        );
        assert_eq!(s.resources.len(), 2);
        assert_eq!(s.resources[1].resource, rg("a"));
        assert_eq!(s.resources[1].recorded_at, t(5));
    }

    #[test]
    fn the_mark_id_is_the_identity_id_and_a_state_without_an_identity_has_none() {
        let mut state = BootstrapState::new(t(0));
        assert_eq!(
            state.installation_id(),
            None,
            "chosen when a run adopts the state"
        );
        state.identity = Some(InstallationIdentity {
            id: "kb-0123456789ab".into(),
            world: InstallationWorld::Demo,
            subscription: None,
            cluster: ClusterIdentity::KubeContext("kind-kind".into()),
            repositories: RepositoriesIdentity {
                control_plane: RepositoryIdentity {
                    owner: None,
                    name: "cp".into(),
                },
                gitops: RepositoryIdentity {
                    owner: None,
                    name: "gitops".into(),
                },
                github_host: "github.com".into(),
            },
            namespace: "kalypso-system".into(),
            environments: vec!["dev".into()],
        });
        assert_eq!(state.installation_id(), Some("kb-0123456789ab"));
        let json: serde_json::Value = serde_json::from_str(&state.to_json()).unwrap();
        assert_eq!(json["identity"]["id"], "kb-0123456789ab");
        let back: BootstrapState = serde_json::from_str(&state.to_json()).unwrap();
        assert_eq!(
            back.installation_id(),
            Some("kb-0123456789ab"),
            "kept across saves"
        );

        // A file written before identities: no id, so none of its resources can be shown
        // to carry our mark, and a mark check keeps them.
        let mut old = json;
        old.as_object_mut().unwrap().remove("identity");
        let loaded: BootstrapState = serde_json::from_value(old).unwrap();
        assert_eq!(loaded.installation_id(), None);
    }

    #[test]
    fn errors_are_redacted_when_appended() {
        let secret = "ghp_schemaUnitCanary0123456789";
        crate::secrets::register(secret);
        let mut s = BootstrapState::new(t(0));
        s.push_error(&format!("push failed with {secret}\n"), t(1));
        assert_eq!(s.errors, vec!["push failed with ***".to_string()]);
        assert_eq!(s.timestamp, t(1));
    }
}

#[cfg(test)]
mod timestamp_width_tests {
    use super::*;

    #[test]
    fn rfc3339_always_has_three_fraction_digits_and_parses_back() {
        for nanos in [0u32, 320_000_000, 5_000_000, 999_000_000] {
            let at = time::macros::datetime!(2025-11-11 10:30:45 UTC)
                .replace_nanosecond(nanos)
                .unwrap();
            let text = Timestamp::new(at).to_rfc3339();
            assert_eq!(text.len(), "2025-11-11T10:30:45.123Z".len(), "{text}");
            let parsed = OffsetDateTime::parse(&text, &Rfc3339).unwrap();
            assert_eq!(Timestamp::new(parsed), Timestamp::new(at));
        }
    }
}
