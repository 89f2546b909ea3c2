//! The validated, typed configuration: what the rest of the program works from. It can
//! only be obtained through validation (see [`super::lifecycle`]).

use std::fmt;
use std::path::PathBuf;

use super::defaults::HELM_REPO_URL;
pub use super::github_host::GitHubHost;

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub cluster: ClusterTarget,
    pub repositories: Repositories,
    pub environments: Environments,
    pub installation: Installation,
    /// The clusters that reconcile the gitops repository (`--workload-cluster`), in the
    /// order given; empty when none is attached.
    pub workload_clusters: Vec<WorkloadCluster>,
    pub options: Options,
}

impl Configuration {
    /// The cluster's name: always present for a new cluster; for an existing one only if
    /// given.
    pub fn cluster_name(&self) -> Option<&str> {
        match &self.cluster {
            ClusterTarget::Create(new) => Some(&new.name),
            ClusterTarget::Existing(existing) => existing.name.as_deref(),
        }
    }

    /// Whether this run involves Azure at all. Only creating an AKS cluster does: with an
    /// existing kube context (AKS, kind, k3d, any cluster) the plan has no az step, the
    /// repositories, Flux and Helm need nothing from Azure, and the prerequisite check
    /// neither requires nor runs az. The one place that decides it.
    pub fn involves_azure(&self) -> bool {
        cluster_involves_azure(self.cluster.create_flag())
    }
}

impl ClusterTarget {
    /// `cluster.create` as the configuration says it.
    fn create_flag(&self) -> Option<bool> {
        Some(matches!(self, ClusterTarget::Create(_)))
    }
}

/// [`Configuration::involves_azure`] from `cluster.create` as merged (with the defaults)
/// before the configuration is complete (`--validate-only` without names): only `false`
/// (`--cluster-existing`) leaves Azure out; unset means the default, a new AKS cluster.
pub fn cluster_involves_azure(create: Option<bool>) -> bool {
    create != Some(false)
}

/// The environments, in promotion order: each has its branch in both repositories, and
/// each but the last promotes to the one after it. Only validation builds one (names that
/// are lower-case DNS labels, not `main`, unique, 1 to [`Environments::MAX`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Environments(Vec<String>);

impl Environments {
    /// The most environments one bootstrap creates.
    pub const MAX: usize = 8;

    /// Only [`super::rules::environments`] builds these, after checking every name.
    pub(crate) fn new(names: Vec<String>) -> Environments {
        debug_assert!(!names.is_empty());
        Environments(names)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The first environment: where ci.yaml promotes every push to main.
    pub fn first(&self) -> &str {
        &self.0[0]
    }

    /// The environment `environment` promotes to (its `NEXT_ENVIRONMENT`), `None` for the last.
    pub fn next_after(&self, environment: &str) -> Option<&str> {
        let index = self.0.iter().position(|name| name == environment)?;
        self.0.get(index + 1).map(String::as_str)
    }
}

impl Default for Environments {
    fn default() -> Self {
        Environments(vec![super::defaults::ENVIRONMENTS.to_string()])
    }
}

impl fmt::Display for Environments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

/// A cluster attached to reconcile one environment branch of the gitops repository at
/// `./<cluster type>`, where the scheduler writes that cluster type's deployment targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkloadCluster {
    pub context: WorkloadContext,
    /// The cluster type whose folder it reconciles (default: the one the tool creates).
    pub cluster_type: String,
    /// The environment branch it reconciles (default: the first environment).
    pub environment: String,
}

/// Which kube context a workload cluster is reached through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorkloadContext {
    /// `self`: the management cluster itself (a one-cluster trial, e.g. on kind).
    Management,
    /// A context of the kubeconfig.
    Named(String),
}

impl WorkloadContext {
    /// The word `--workload-cluster` takes for the management cluster.
    pub const MANAGEMENT_WORD: &'static str = "self";
}

/// Create an AKS cluster, or use an existing kube context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterTarget {
    Create(NewCluster),
    Existing(ExistingCluster),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCluster {
    pub name: String,
    pub region: String,
    pub resource_group: String,
    pub node_count: u32,
    pub vm_size: String,
    /// `None`: the AKS default version.
    pub kubernetes_version: Option<String>,
    pub network_plugin: NetworkPlugin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingCluster {
    /// A context present in the kubeconfig.
    pub context: String,
    /// Optional with an existing cluster (used for naming and the state file).
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkPlugin {
    #[default]
    Azure,
    Kubenet,
}

impl NetworkPlugin {
    pub const ALL: [NetworkPlugin; 2] = [NetworkPlugin::Azure, NetworkPlugin::Kubenet];

    /// The value `az aks create --network-plugin` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkPlugin::Azure => "azure",
            NetworkPlugin::Kubenet => "kubenet",
        }
    }

    pub fn parse(text: &str) -> Option<NetworkPlugin> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl fmt::Display for NetworkPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repositories {
    pub control_plane: RepoTarget,
    pub gitops: RepoTarget,
    /// Owner of new repositories; `None`: the authenticated user.
    pub github_org: Option<String>,
    pub visibility: Visibility,
    /// github.com or a GitHub Enterprise Server: where both repositories live.
    pub github_host: GitHubHost,
}

/// Create a repository (owner: the org, or the authenticated user), or use an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoTarget {
    Create { name: String },
    Existing(GitHubRepo),
}

impl RepoTarget {
    pub fn name(&self) -> &str {
        match self {
            RepoTarget::Create { name } => name,
            RepoTarget::Existing(repo) => repo.name(),
        }
    }
}

/// A repository on the GitHub host, from a URL normalised to `https://HOST/OWNER/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitHubRepo {
    host: GitHubHost,
    owner: String,
    name: String,
}

impl GitHubRepo {
    /// A repository on github.com. Only [`super::repo_url::parse`] builds these (and
    /// [`GitHubRepo::on_host`]), after checking both parts.
    #[cfg(test)]
    pub(crate) fn new(owner: String, name: String) -> GitHubRepo {
        Self::on_host(GitHubHost::default(), owner, name)
    }

    pub(crate) fn on_host(host: GitHubHost, owner: String, name: String) -> GitHubRepo {
        GitHubRepo { host, owner, name }
    }

    pub fn host(&self) -> &GitHubHost {
        &self.host
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `OWNER/NAME`, as `gh` takes it.
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The normalised URL, `https://HOST/OWNER/NAME`.
    pub fn url(&self) -> String {
        self.host.repo_url(&self.owner, &self.name)
    }
}

impl fmt::Display for GitHubRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    Private,
    Public,
}

impl Visibility {
    pub const ALL: [Visibility; 2] = [Visibility::Private, Visibility::Public];

    /// The word `gh repo create --private/--public` is built from.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Option<Visibility> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub namespace: String,
    pub chart: HelmChart,
    pub version: String,
    /// Extra values file, applied after ours.
    pub values: Option<PathBuf>,
    /// Where Flux's install manifest comes from (`--flux-manifest`); `None`: the release's
    /// `install.yaml` on github.com for the Flux version.
    pub flux_manifest: Option<FluxManifest>,
    pub skip_install: bool,
}

/// A Flux install manifest given instead of the release asset on github.com: for a
/// machine (often with a GitHub Enterprise Server) that cannot reach github.com.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FluxManifest {
    /// An `https://` URL kubectl downloads (a mirror).
    Url(String),
    /// A local file (`kubectl apply -f FILE`).
    File(PathBuf),
}

impl FluxManifest {
    /// What `kubectl apply -f` and `kubectl delete -f` take.
    pub fn kubectl_filename(&self) -> String {
        match self {
            FluxManifest::Url(url) => url.clone(),
            FluxManifest::File(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// The Kalypso chart: the published one from a Helm repository, or a local chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelmChart {
    Published {
        repo_url: String,
        name: String,
    },
    /// A chart directory (with `Chart.yaml`) or a packaged `.tgz`.
    Local(PathBuf),
}

impl HelmChart {
    pub fn published(name: &str) -> HelmChart {
        HelmChart::Published {
            repo_url: HELM_REPO_URL.to_string(),
            name: name.to_string(),
        }
    }

    /// The text the configuration file uses for this chart.
    pub fn as_config_value(&self) -> String {
        match self {
            HelmChart::Published { name, .. } => name.clone(),
            HelmChart::Local(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// How much the console shows; one type for the configuration and the logging.
pub use crate::logging::Verbosity;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub non_interactive: bool,
    /// `--no-merge`: leave the scheduler's first pull request for a human to merge; the
    /// verification of the first workload then stops at that pull request.
    pub no_merge: bool,
    pub auto_rollback: bool,
    pub skip_validation: bool,
    pub skip_confirmation: bool,
    pub verbosity: Verbosity,
    pub no_color: bool,
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_their_own_words_only() {
        for plugin in NetworkPlugin::ALL {
            assert_eq!(NetworkPlugin::parse(plugin.as_str()), Some(plugin));
        }
        assert_eq!(NetworkPlugin::parse("Azure"), None);
        assert_eq!(NetworkPlugin::parse("cilium"), None);
        for visibility in Visibility::ALL {
            assert_eq!(Visibility::parse(visibility.as_str()), Some(visibility));
        }
        assert_eq!(Visibility::parse("internal"), None);
    }

    #[test]
    fn repo_forms() {
        let repo = GitHubRepo::new("acme".into(), "cp".into());
        assert_eq!(repo.url(), "https://github.com/acme/cp");
        let enterprise = GitHubHost::parse("ghe.example.test").unwrap();
        let on_enterprise = GitHubRepo::on_host(enterprise, "acme".into(), "cp".into());
        assert_eq!(on_enterprise.url(), "https://ghe.example.test/acme/cp");
        assert_eq!(on_enterprise.host().as_str(), "ghe.example.test");
        assert_eq!(repo.slug(), "acme/cp");
        assert_eq!(RepoTarget::Existing(repo).name(), "cp");
    }
}
