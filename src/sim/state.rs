//! The simulated world: what exists in Azure, in each Kubernetes cluster, in kubeconfig files
//! and on GitHub. Everything here is plain data, serialisable and comparable, so a
//! [`SimSnapshot`] taken before a run can be compared with one taken after its rollback.
//!
//! Secret values never live here: a GitHub Actions secret is recorded by name only, and a
//! token given to the Kalypso chart only as "set". The values sit in side tables of the
//! environment, outside every snapshot.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The whole observable state at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSnapshot {
    pub azure: AzureState,
    /// Kubernetes API servers by server URL.
    pub kube_clusters: BTreeMap<String, KubeCluster>,
    /// The contexts of every kubeconfig file the environment knows (written by
    /// `az aks get-credentials`, seeded, or its default file), by file path.
    pub kubeconfigs: BTreeMap<String, Vec<KubeContextEntry>>,
    pub github: GithubState,
}

/// The Azure subscription as seen through `az`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureState {
    /// `az login` done and the refresh token valid.
    pub signed_in: bool,
    pub account: Option<AzureAccount>,
    /// By lower-cased name (Azure resource group names are case-insensitive).
    pub resource_groups: BTreeMap<String, SimulatedResourceGroup>,
    /// By lower-cased `resource-group/name`.
    pub clusters: BTreeMap<String, SimulatedAks>,
    /// vCPU quotas by location, then family (`cores` is the regional total).
    pub quotas: BTreeMap<String, BTreeMap<String, Quota>>,
}

/// The signed-in identity and its subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureAccount {
    pub subscription_id: String,
    pub subscription_name: String,
    pub tenant_id: String,
    /// A user principal name or a service principal's application id.
    pub user_name: String,
    /// `user` or `servicePrincipal`.
    pub user_type: String,
    /// Built-in role names held on the subscription (`Owner`, `Contributor`, `Reader`, …).
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatedResourceGroup {
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    /// Set for the node resource group AKS manages (`MC_…`).
    pub managed_by: Option<String>,
    /// `Succeeded` or `Deleting`.
    pub provisioning_state: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatedAks {
    pub name: String,
    pub resource_group: String,
    pub location: String,
    /// The full patch version (`1.34.2`).
    pub kubernetes_version: String,
    pub node_count: u32,
    pub vm_size: String,
    pub network_plugin: String,
    pub dns_prefix: String,
    pub fqdn: String,
    pub node_resource_group: String,
    /// `Creating`, `Succeeded`, `Failed` or `Deleting`.
    pub provisioning_state: String,
    /// `Running` or `Stopped`.
    pub power_state: String,
    pub tags: BTreeMap<String, String>,
}

impl SimulatedAks {
    /// The API server URL written into kubeconfigs.
    pub fn server(&self) -> String {
        format!("https://{}:443", self.fqdn)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub limit: u64,
    /// Usage by resources outside the simulation (clusters inside it are added on top).
    pub base_usage: u64,
}

/// One Kubernetes API server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeCluster {
    pub server: String,
    /// `v1.34.2`.
    pub version: String,
    /// `resource-group/name` (lower case) when the cluster is an AKS cluster of the simulation.
    pub aks: Option<String>,
    /// Objects by qualified resource (`pods`, `deployments.apps`, `gitrepositories.source.toolkit.fluxcd.io`),
    /// then by `namespace/name` (namespaced) or `name` (cluster-scoped).
    pub objects: BTreeMap<String, BTreeMap<String, Value>>,
    /// Helm releases by `namespace/name`.
    pub releases: BTreeMap<String, HelmRelease>,
    /// What the Kalypso Scheduler's GitOpsRepo controller wrote into the status of each
    /// GitOpsRepo (`namespace/name`), kept by the API server across calls.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gitops_repo_status: BTreeMap<String, GitopsRepoStatus>,
}

/// The status fields the GitOpsRepo controller (`controllers/gitopsrepo_controller.go`)
/// keeps between reconciliations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitopsRepoStatus {
    /// `status.repoContentHash`: the content of the last pull request opened.
    pub repo_content_hash: String,
    /// When the `ReadyToPR` condition was set (the PR follows `prCreateTimeOut` later).
    pub ready_to_pr_since: Option<String>,
    /// The `Ready` condition: `(status, reason, message)`.
    pub ready: Option<(String, String, String)>,
}

/// What `helm` remembers of an installed release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelmRelease {
    pub name: String,
    pub namespace: String,
    pub chart: String,
    pub chart_version: String,
    pub app_version: String,
    pub revision: u32,
    /// `deployed` or `failed`.
    pub status: String,
    /// The merged user-supplied values, with token-like values replaced by `(set)`: the
    /// form the saved world keeps (`World::helm_release_config` holds them whole).
    pub values: Value,
    /// The objects the release owns (`resource`, `namespace/name` or `name`).
    pub resources: Vec<(String, String)>,
    pub first_deployed: String,
    pub last_deployed: String,
    /// Release labels (`--labels`), merged on upgrade; shown by `helm get metadata`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One context of a kubeconfig file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeContextEntry {
    pub name: String,
    pub cluster: String,
    pub user: String,
    /// The server of the context's cluster entry, when the file has one.
    pub server: Option<String>,
    pub namespace: Option<String>,
}

/// GitHub as seen through `gh` and git.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubState {
    /// By lower-cased login.
    pub users: BTreeMap<String, GithubUser>,
    /// By lower-cased login.
    pub orgs: BTreeMap<String, GithubOrg>,
    /// By lower-cased `owner/name`.
    pub repos: BTreeMap<String, GithubRepo>,
    /// The account `gh auth token` returns (gh's stored login), if any.
    pub stored_login: Option<String>,
    /// Whether GitHub Actions runs workflows in this world's repositories. GitHub lets an
    /// enterprise, organisation or repository owner disable Actions; a world is made with
    /// them disabled everywhere (so a world that does not ask for runs has none) and
    /// [`super::SimulatedEnvironment::set_github_actions_enabled`] enables them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub actions_enabled: bool,
    /// The host this GitHub answers on; `None`: github.com. A GitHub Enterprise Server
    /// world answers only on its host: gh and git calls to any other fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl GithubState {
    /// The host this GitHub answers on: github.com, or an Enterprise Server's.
    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("github.com")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubUser {
    pub login: String,
    pub id: u64,
    pub name: Option<String>,
    /// OAuth scopes of the user's token (`repo`, `workflow`, `read:org`, `delete_repo`, …).
    pub scopes: Vec<String>,
    /// The plan of the repositories the user owns.
    #[serde(default)]
    pub plan: GithubPlan,
}

/// A GitHub account's billing plan, as far as it decides what a repository may use: on
/// GitHub Free, environments (and their secrets) exist only in public repositories
/// ("For access to environments, environment secrets, and deployment branches in private
/// or internal repositories, you must use GitHub Pro, GitHub Team, or GitHub Enterprise":
/// docs.github.com, REST API endpoints for deployment environments). New accounts are on
/// Free. A GitHub Enterprise Server has no such plans: everything is available there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GithubPlan {
    #[default]
    Free,
    Pro,
    Team,
    Enterprise,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubOrg {
    pub login: String,
    pub id: u64,
    /// Member login (lower case) to role: `admin` or `member`.
    pub members: BTreeMap<String, String>,
    /// Whether plain members may create repositories.
    pub members_can_create_repositories: bool,
    /// The plan of the organisation's repositories.
    #[serde(default)]
    pub plan: GithubPlan,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubRepo {
    pub owner: String,
    pub name: String,
    pub id: u64,
    /// `PRIVATE`, `PUBLIC` or `INTERNAL`.
    pub visibility: String,
    pub description: String,
    /// Names of the Actions secrets that are set (never their values).
    pub secrets: BTreeSet<String>,
    /// When each secret set through the simulation was last set (GitHub's `updatedAt`, to
    /// the second); a secret seeded without one shows a fixed earlier time.
    #[serde(default)]
    pub secret_updated_at: BTreeMap<String, String>,
    pub labels: BTreeMap<String, Label>,
    /// Branch heads of the repository's git content (`branch` to commit id), read from the
    /// bare repository when the snapshot is taken.
    pub heads: BTreeMap<String, String>,
    /// Logins (lower case) granted access besides the owner and org members.
    pub collaborators: BTreeSet<String>,
    /// When GitHub created it (`created_at` of the REST API, RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// Its topics, lower case, in the order added (`gh repo edit --add-topic`).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Its GitHub (deployment) environments: each one's secrets, by name, with when each
    /// was last set (never their values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, BTreeMap<String, String>>,
    /// Its pull requests, by number (opened by the simulated Kalypso Scheduler).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pulls: Vec<GithubPullRequest>,
    /// Its deploy keys, in the order added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploy_keys: Vec<DeployKey>,
    /// Its GitHub Actions workflow runs, oldest first (see [`super::actions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflow_runs: Vec<WorkflowRun>,
    /// The branch heads GitHub Actions has seen (`branch` to commit): a head that differs
    /// from the bare repository's is a push not yet delivered to the workflows. `None`
    /// until Actions first looks at the repository (what it holds then is no push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_heads: Option<BTreeMap<String, String>>,
    /// The commit statuses set on its commits (`POST /repos/O/R/statuses/SHA`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commit_statuses: Vec<CommitStatus>,
}

/// A repository's deploy key, as GitHub's REST API describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployKey {
    pub id: u64,
    /// `TYPE BASE64`, without the comment (GitHub drops it).
    pub key: String,
    pub title: String,
    pub read_only: bool,
    pub created_at: String,
    /// The login that added it.
    pub added_by: String,
}

/// One run of a GitHub Actions workflow, as `gh run list --json` describes it, with what
/// the simulation knows of how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// `databaseId`.
    pub id: u64,
    /// The workflow file (`.github/workflows/cd.yaml`).
    pub path: String,
    /// The workflow's `name:` (`workflowName`; the file's path when it has none).
    pub workflow_name: String,
    /// `push` or `workflow_dispatch`.
    pub event: String,
    pub head_branch: String,
    pub head_sha: String,
    /// The `workflow_dispatch` inputs, defaults applied.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// `in_progress` or `completed`.
    pub status: String,
    /// `success` or `failure` once completed; empty before.
    pub conclusion: String,
    /// `displayTitle`: the head commit's subject for a push, the workflow's name for a
    /// dispatch.
    pub display_title: String,
    pub created_at: String,
    /// When it completes (RFC 3339, to the millisecond).
    pub completes_at: String,
    /// What it printed that matters: its `::error::` message when it failed, else its
    /// last notice.
    #[serde(default)]
    pub message: String,
}

/// A commit status (`kalypso/ENVIRONMENT` on a promoted commit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatus {
    pub sha: String,
    pub context: String,
    /// `pending`, `success`, `failure` or `error`.
    pub state: String,
    pub description: String,
    pub created_at: String,
}

/// A pull request, as GitHub's API describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubPullRequest {
    pub number: u64,
    pub title: String,
    pub body: String,
    /// The branch it merges from, in the same repository.
    pub head: String,
    /// The branch it merges into.
    pub base: String,
    /// `OPEN` or `CLOSED`.
    pub state: String,
    /// The login that opened it.
    pub author: String,
    pub created_at: String,
    /// Its labels (the scheduler adds `promoted` to a promotion).
    #[serde(default)]
    pub labels: Vec<String>,
    /// The head's commit when it was closed or merged (`headRefOid`; an open one's is
    /// read from its branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_oid: Option<String>,
    /// When it was merged (`mergedAt`); `state` is then `MERGED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<String>,
    /// The merge commit on the base branch (`mergeCommit.oid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit: Option<String>,
    /// Who merged it (`mergedBy.login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_by: Option<String>,
}

impl GithubRepo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    pub color: String,
    pub description: String,
}

/// The labels GitHub gives every new repository.
pub fn default_labels() -> BTreeMap<String, Label> {
    [
        ("bug", "d73a4a", "Something isn't working"),
        (
            "documentation",
            "0075ca",
            "Improvements or additions to documentation",
        ),
        (
            "duplicate",
            "cfd3d7",
            "This issue or pull request already exists",
        ),
        ("enhancement", "a2eeef", "New feature or request"),
        ("good first issue", "7057ff", "Good for newcomers"),
        ("help wanted", "008672", "Extra attention is needed"),
        ("invalid", "e4e669", "This doesn't seem right"),
        ("question", "d876e3", "Further information is requested"),
        ("wontfix", "ffffff", "This will not be worked on"),
    ]
    .into_iter()
    .map(|(name, color, description)| {
        (
            name.to_string(),
            Label {
                name: name.to_string(),
                color: color.to_string(),
                description: description.to_string(),
            },
        )
    })
    .collect()
}

/// Lower-cased `a/b` key.
pub fn key2(a: &str, b: &str) -> String {
    format!("{}/{}", a.to_ascii_lowercase(), b.to_ascii_lowercase())
}
