//! Seeding: what exists before a run (accounts, resource groups, clusters, kube contexts,
//! repositories with content, organisations, quotas), and read-only helpers for tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use super::catalog::{AzureCatalog, ChartCatalog, FluxVersion};
use super::distributions::{self, KubeFlavour};
use super::git;
use super::kube::{self};
use super::kubeconfig::{merge_entry, Kubeconfig, Named};
use super::state::{
    default_labels, key2, AzureAccount, GithubOrg, GithubPlan, GithubRepo, GithubUser, KubeCluster,
    Quota, SimulatedAks, SimulatedResourceGroup,
};
use super::world::{now_timestamp, put, TokenPolicy};
use super::SimulatedEnvironment;

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot seed the simulated environment: {0}")]
pub struct SeedRefused(pub String);

/// An AKS cluster that exists (provisioned) before the run.
#[derive(Clone, Debug)]
pub struct SeedAksCluster {
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub node_count: u32,
    pub vm_size: String,
    /// A minor (`1.34`) or patch version; the catalog default when `None`.
    pub kubernetes_version: Option<String>,
    pub network_plugin: String,
}

impl SeedAksCluster {
    pub fn new(resource_group: &str, name: &str, location: &str) -> Self {
        Self {
            resource_group: resource_group.to_string(),
            name: name.to_string(),
            location: location.to_string(),
            node_count: 3,
            vm_size: "Standard_DS2_v2".to_string(),
            kubernetes_version: None,
            network_plugin: "azure".to_string(),
        }
    }
}

/// A repository that exists before the run, with its git content.
#[derive(Clone, Debug)]
pub struct SeedRepo {
    pub owner: String,
    pub name: String,
    /// `PRIVATE`, `PUBLIC` or `INTERNAL`.
    pub visibility: String,
    pub description: String,
    /// Branch to (path to bytes). Empty: an empty repository.
    pub branches: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Names of Actions secrets already set (with a placeholder value).
    pub secrets: Vec<String>,
    /// Labels besides GitHub's defaults: `(name, colour, description)`.
    pub labels: Vec<(String, String, String)>,
    /// Logins besides the owner (and org members) who can access it.
    pub collaborators: Vec<String>,
    /// `(branch, path)` of files committed with mode 100755.
    pub executables: BTreeSet<(String, String)>,
    /// Open pull requests someone made: `(head branch, base branch, title, author)`; the
    /// head branch is one of `branches`.
    pub open_pulls: Vec<(String, String, String, String)>,
    /// A local git repository or bundle whose branches are fetched with their history
    /// (commit ids kept, so that a BaseRepo pinning one of them still finds it); the files
    /// of `branches` are then what those branches hold.
    pub history: Option<std::path::PathBuf>,
}

impl SeedRepo {
    pub fn new(owner: &str, name: &str) -> Self {
        Self {
            owner: owner.to_string(),
            name: name.to_string(),
            visibility: "PRIVATE".to_string(),
            description: String::new(),
            branches: BTreeMap::new(),
            secrets: Vec::new(),
            labels: Vec::new(),
            collaborators: Vec::new(),
            executables: BTreeSet::new(),
            open_pulls: Vec::new(),
            history: None,
        }
    }

    /// An open pull request from `head` (a branch of this seed) into `base`, by `author`.
    pub fn with_open_pull_request(
        mut self,
        head: &str,
        base: &str,
        title: &str,
        author: &str,
    ) -> Self {
        self.open_pulls.push((
            head.to_string(),
            base.to_string(),
            title.to_string(),
            author.to_string(),
        ));
        self
    }

    pub fn public(mut self) -> Self {
        self.visibility = "PUBLIC".to_string();
        self
    }

    pub fn with_file(mut self, branch: &str, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.branches
            .entry(branch.to_string())
            .or_default()
            .insert(path.to_string(), content.into());
        self
    }

    /// Like [`SeedRepo::with_file`], committed executable (mode 100755).
    pub fn with_executable(self, branch: &str, path: &str, content: impl Into<Vec<u8>>) -> Self {
        let mut seed = self.with_file(branch, path, content);
        seed.executables
            .insert((branch.to_string(), path.to_string()));
        seed
    }

    /// `owner/name` with every branch of the local git repository or bundle at `source`
    /// (regular and executable files; symlinks and submodules are left out).
    pub fn from_git(owner: &str, name: &str, source: &Path) -> Result<Self, SeedRefused> {
        let branches = git::read_branches(source).map_err(|e| {
            SeedRefused(format!(
                "cannot read git repository {}: git {}: {}",
                source.display(),
                e.args,
                e.message
            ))
        })?;
        if branches.is_empty() {
            return Err(SeedRefused(format!("{} has no branches", source.display())));
        }
        let mut seed = Self::new(owner, name);
        for (branch, files) in branches {
            for file in files {
                seed = if file.executable {
                    seed.with_executable(&branch, &file.path, file.content)
                } else {
                    seed.with_file(&branch, &file.path, file.content)
                };
            }
        }
        Ok(seed)
    }

    /// Like [`SeedRepo::from_git`], the branches fetched with their history (commit ids
    /// kept, so a BaseRepo pinning one of them finds it, as on GitHub). The files read are
    /// then for reading only: changing them changes nothing seeded.
    pub fn from_git_keeping_history(
        owner: &str,
        name: &str,
        source: &Path,
    ) -> Result<Self, SeedRefused> {
        let mut seed = Self::from_git(owner, name, source)?;
        seed.history = Some(source.to_path_buf());
        Ok(seed)
    }

    pub fn with_secret(mut self, name: &str) -> Self {
        self.secrets.push(name.to_string());
        self
    }

    pub fn with_label(mut self, name: &str, color: &str, description: &str) -> Self {
        self.labels
            .push((name.to_string(), color.to_string(), description.to_string()));
        self
    }

    pub fn with_collaborator(mut self, login: &str) -> Self {
        self.collaborators.push(login.to_string());
        self
    }
}

impl SimulatedEnvironment {
    /// Signed in to Azure as `account`.
    pub fn seed_azure_account(&self, account: AzureAccount) {
        let mut world = self.world();
        world.azure.account = Some(account);
        world.azure.signed_in = true;
        world.az_token_expired = false;
    }

    /// Sign in or out of Azure (the account stays known, so `az login` works again).
    pub fn set_azure_signed_in(&self, signed_in: bool) {
        self.world().azure.signed_in = signed_in;
    }

    /// Every az call needing a sign-in fails with `AADSTS700082` until `az login`.
    pub fn expire_azure_token(&self) {
        self.world().az_token_expired = true;
    }

    pub fn seed_resource_group(&self, name: &str, location: &str) {
        self.world().azure.resource_groups.insert(
            name.to_ascii_lowercase(),
            SimulatedResourceGroup {
                name: name.to_string(),
                location: location.to_ascii_lowercase(),
                tags: BTreeMap::new(),
                managed_by: None,
                provisioning_state: "Succeeded".to_string(),
            },
        );
    }

    /// A provisioned AKS cluster (its resource group is created if missing). Returns its
    /// API server URL.
    pub fn seed_aks_cluster(&self, seed: SeedAksCluster) -> Result<String, SeedRefused> {
        let has_group = self
            .world()
            .azure
            .resource_groups
            .contains_key(&seed.resource_group.to_ascii_lowercase());
        if !has_group {
            self.seed_resource_group(&seed.resource_group, &seed.location);
        }
        let mut world = self.world();
        let version = world
            .azure_catalog
            .resolve_kubernetes_version(seed.kubernetes_version.as_deref())
            .ok_or_else(|| {
                SeedRefused(format!(
                    "Kubernetes version {:?} is not in the catalog",
                    seed.kubernetes_version
                ))
            })?;
        let sub = world
            .azure
            .account
            .as_ref()
            .map(|a| a.subscription_id.clone())
            .unwrap_or_default();
        let hash = kube::fnv(&format!("{sub}/{}/{}", seed.resource_group, seed.name)) & 0xffff_ffff;
        let dns_prefix = format!("{}-{}", seed.name, seed.resource_group).to_ascii_lowercase();
        let location = seed.location.to_ascii_lowercase();
        let node_resource_group = format!("MC_{}_{}_{location}", seed.resource_group, seed.name);
        let cluster = SimulatedAks {
            name: seed.name.clone(),
            resource_group: seed.resource_group.clone(),
            location: location.clone(),
            kubernetes_version: version,
            node_count: seed.node_count,
            vm_size: seed.vm_size.clone(),
            network_plugin: seed.network_plugin.clone(),
            fqdn: format!("{dns_prefix}-{hash:08x}.hcp.{location}.azmk8s.io"),
            dns_prefix,
            node_resource_group: node_resource_group.clone(),
            provisioning_state: "Succeeded".to_string(),
            power_state: "Running".to_string(),
            tags: BTreeMap::new(),
        };
        world.azure.resource_groups.insert(
            node_resource_group.to_ascii_lowercase(),
            SimulatedResourceGroup {
                name: node_resource_group,
                location,
                tags: BTreeMap::new(),
                managed_by: Some(format!("/subscriptions/{sub}/resourcegroups/{}/providers/Microsoft.ContainerService/managedClusters/{}", seed.resource_group, seed.name)),
                provisioning_state: "Succeeded".to_string(),
            },
        );
        world
            .azure
            .clusters
            .insert(key2(&seed.resource_group, &seed.name), cluster.clone());
        world.add_aks_api_server(&cluster, &now_timestamp());
        Ok(cluster.server())
    }

    /// A Kubernetes API server that is not an AKS cluster of the simulation, with AKS's
    /// nodes and kube-system pods (an AKS cluster reached through its own context): system
    /// namespaces, `nodes` Ready nodes, running kube-system pods. For a kind or k3d cluster,
    /// [`Self::seed_kube_cluster_as`].
    pub fn seed_kube_cluster(&self, server: &str, kubernetes_version: &str, nodes: u32) {
        self.seed_kube_cluster_as(server, KubeFlavour::Aks, kubernetes_version, nodes);
    }

    /// A Kubernetes API server as `flavour` (AKS, kind, k3d) creates it, with `nodes` Ready
    /// nodes and that tool's system pods running.
    pub fn seed_kube_cluster_as(
        &self,
        server: &str,
        flavour: KubeFlavour,
        kubernetes_version: &str,
        nodes: u32,
    ) {
        let mut world = self.world();
        let mut api = KubeCluster {
            server: server.to_string(),
            version: flavour.server_version(kubernetes_version),
            ..KubeCluster::default()
        };
        let mut counter = std::mem::take(&mut world.counter);
        distributions::populate(&mut api, &mut counter, flavour, nodes, &now_timestamp());
        world.counter = counter;
        world.kube.insert(server.to_string(), api);
    }

    /// A kind cluster beside whatever else the world has, as `kind create cluster --name
    /// CLUSTER` makes it (`nodes` nodes, no Flux), answering on `server`, with its context
    /// `kind-CLUSTER` added to the default kubeconfig. Unlike kind, which makes its
    /// context the current one, an existing current context is kept (the management
    /// cluster stays the default). Returns the context name. For a workload cluster to attach, e.g.
    /// `seed_kind_cluster("workload", "https://127.0.0.1:37443", 2)` gives `kind-workload`.
    pub fn seed_kind_cluster(
        &self,
        cluster: &'static str,
        server: &str,
        nodes: u32,
    ) -> Result<String, SeedRefused> {
        if self.world().kube.contains_key(server) {
            return Err(SeedRefused(format!(
                "an API server already answers on {server}"
            )));
        }
        self.seed_kube_cluster_as(
            server,
            KubeFlavour::Kind { cluster },
            KIND_KUBERNETES,
            nodes,
        );
        let context = format!("kind-{cluster}");
        self.seed_kube_context(&context, server)?;
        Ok(context)
    }

    /// Whether an API server answers on `server`.
    pub fn kube_server_answers(&self, server: &str) -> bool {
        self.world().kube.contains_key(server)
    }

    /// Make a seeded API server stop answering (or answer again).
    pub fn remove_kube_cluster(&self, server: &str) -> Option<KubeCluster> {
        self.world().kube.remove(server)
    }

    /// A context `context` for `server` in the default kubeconfig (cluster and user entries
    /// named after the context). The first context seeded becomes the current one.
    pub fn seed_kube_context(&self, context: &str, server: &str) -> Result<(), SeedRefused> {
        let path = self.default_kubeconfig();
        self.seed_kube_context_in(&path, context, server)
    }

    /// Like [`SimulatedEnvironment::seed_kube_context`] in a given kubeconfig file.
    pub fn seed_kube_context_in(
        &self,
        path: &Path,
        context: &str,
        server: &str,
    ) -> Result<(), SeedRefused> {
        let mut config = Kubeconfig::load(path).map_err(|e| SeedRefused(e.to_string()))?;
        let mut cluster = serde_yaml::Mapping::new();
        cluster.insert("server".into(), server.into());
        let mut ctx = serde_yaml::Mapping::new();
        ctx.insert("cluster".into(), context.into());
        ctx.insert("user".into(), format!("{context}-user").into());
        let mut user = serde_yaml::Mapping::new();
        user.insert("token".into(), "simulated-kube-token".into());
        let overwrite = true;
        let _ = merge_entry(
            &mut config.clusters,
            Named::new("cluster", context, cluster.into()),
            overwrite,
        );
        let _ = merge_entry(
            &mut config.contexts,
            Named::new("context", context, ctx.into()),
            overwrite,
        );
        let _ = merge_entry(
            &mut config.users,
            Named::new("user", &format!("{context}-user"), user.into()),
            overwrite,
        );
        if config.current_context.is_empty() {
            config.current_context = context.to_string();
        }
        config.save(path).map_err(|e| SeedRefused(e.to_string()))?;
        self.world().kubeconfigs.insert(path.to_path_buf());
        Ok(())
    }

    /// Report this kubeconfig file's contexts in snapshots.
    pub fn track_kubeconfig(&self, path: &Path) {
        self.world().kubeconfigs.insert(path.to_path_buf());
    }

    /// Install Flux (as `kubectl apply -f <install.yaml>` would) into a seeded cluster.
    pub fn seed_flux(&self, server: &str, version: &str) -> Result<(), SeedRefused> {
        let version = FluxVersion::parse(version)
            .ok_or_else(|| SeedRefused(format!("unknown Flux version {version}")))?;
        let mut world = self.world();
        if !world.kube.contains_key(server) {
            return Err(SeedRefused(format!("no API server {server}")));
        }
        world.install_flux(server, version, &now_timestamp());
        Ok(())
    }

    /// Put any object into a cluster (its type must be served: built in or from a CRD).
    pub fn seed_kube_object(&self, server: &str, object: Value) -> Result<(), SeedRefused> {
        let mut world = self.world();
        let mut counter = std::mem::take(&mut world.counter);
        let result = (|| {
            let api = world
                .kube
                .get_mut(server)
                .ok_or_else(|| SeedRefused(format!("no API server {server}")))?;
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ty = kube::resolve_kind(api, api_version, kind)
                .ok_or_else(|| SeedRefused(format!("no type {kind} in {api_version}")))?;
            put(api, &mut counter, &ty.qualified(), object, &now_timestamp());
            Ok(())
        })();
        world.counter = counter;
        result
    }

    /// A GitHub user whose token is `token` (kept out of snapshots), with OAuth `scopes`.
    pub fn seed_github_user(&self, login: &str, token: &str, scopes: &[&str]) {
        let mut world = self.world();
        let id = world.next_github_id();
        world.github.users.insert(
            login.to_ascii_lowercase(),
            GithubUser {
                login: login.to_string(),
                id,
                name: Some(login.to_string()),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                plan: GithubPlan::default(),
            },
        );
        world.tokens.retain(|(_, l)| !l.eq_ignore_ascii_case(login));
        world
            .tokens
            .push((SecretString::from(token.to_string()), login.to_string()));
    }

    /// Merge pull request `number` of `owner/name` as GitHub's merge button does when the
    /// base branch has not moved since the head branched off: the base fast-forwards to
    /// the head's commit and the pull request is `MERGED`. Refused otherwise.
    pub fn merge_pull_request(
        &self,
        owner: &str,
        name: &str,
        number: u64,
    ) -> Result<(), SeedRefused> {
        let mut world = self.world();
        let key = key2(owner, name);
        let Some(repo) = world.github.repos.get_mut(&key) else {
            return Err(SeedRefused(format!("no repository {owner}/{name}")));
        };
        let bare = self.inner.paths.bare_repo(&repo.owner, &repo.name);
        let Some(pull) = repo
            .pulls
            .iter_mut()
            .find(|p| p.number == number && p.state == "OPEN")
        else {
            return Err(SeedRefused(format!(
                "no open pull request #{number} in {owner}/{name}"
            )));
        };
        let head = git::rev_parse(&bare, &format!("refs/heads/{}", pull.head))
            .ok_or_else(|| SeedRefused(format!("the head branch {} is gone", pull.head)))?;
        let base = git::rev_parse(&bare, &format!("refs/heads/{}", pull.base))
            .ok_or_else(|| SeedRefused(format!("the base branch {} is gone", pull.base)))?;
        if !git::is_ancestor(&bare, &base, &head) {
            return Err(SeedRefused(format!(
                "{} moved since {} branched off",
                pull.base, pull.head
            )));
        }
        git::set_branch(&bare, &pull.base, &head).map_err(|e| SeedRefused(format!("git: {e}")))?;
        pull.state = "MERGED".to_string();
        Ok(())
    }

    /// An organisation with members (`(login, "admin" | "member")`).
    pub fn seed_github_org(&self, org: &str, members: &[(&str, &str)]) {
        let mut world = self.world();
        let id = world.next_github_id();
        world.github.orgs.insert(
            org.to_ascii_lowercase(),
            GithubOrg {
                login: org.to_string(),
                id,
                members: members
                    .iter()
                    .map(|(login, role)| (login.to_ascii_lowercase(), role.to_string()))
                    .collect(),
                members_can_create_repositories: true,
                plan: GithubPlan::default(),
            },
        );
    }

    /// Whether plain members of `org` may create repositories.
    pub fn set_org_members_can_create_repositories(&self, org: &str, allowed: bool) {
        if let Some(org) = self.world().github.orgs.get_mut(&org.to_ascii_lowercase()) {
            org.members_can_create_repositories = allowed;
        }
    }

    /// The billing plan of a user or organisation `account` (seeded before).
    pub fn set_github_plan(&self, account: &str, plan: GithubPlan) {
        let mut world = self.world();
        let account = account.to_ascii_lowercase();
        if let Some(user) = world.github.users.get_mut(&account) {
            user.plan = plan;
        }
        if let Some(org) = world.github.orgs.get_mut(&account) {
            org.plan = plan;
        }
    }

    /// The account `gh auth token` answers with (gh's stored login), or none.
    pub fn set_github_stored_login(&self, login: Option<&str>) {
        self.world().github.stored_login = login.map(str::to_string);
    }

    pub fn set_token_policy(&self, policy: TokenPolicy) {
        self.world().token_policy = policy;
    }

    /// A repository with content, created as a real bare repository.
    pub fn seed_repo(&self, seed: SeedRepo) -> Result<(), SeedRefused> {
        let _building = git::building_a_world();
        let path = self.bare_repo_path(&seed.owner, &seed.name);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| SeedRefused(e.to_string()))?;
        }
        git::init_bare(&path).map_err(|e| SeedRefused(e.to_string()))?;
        if let Some(source) = &seed.history {
            git::fetch_branches(&path, source).map_err(|e| SeedRefused(e.to_string()))?;
        } else if !seed.branches.is_empty() {
            git::seed_content_with_modes(&path, &seed.branches, &seed.executables)
                .map_err(|e| SeedRefused(e.to_string()))?;
        }
        self.register_repo(seed);
        Ok(())
    }

    /// The GitHub record of a seeded repository whose bare repository is in place.
    fn register_repo(&self, seed: SeedRepo) {
        let mut world = self.world();
        let id = world.next_github_id();
        let key = key2(&seed.owner, &seed.name);
        for secret in &seed.secrets {
            world.gh_secret_values.insert(
                (key.clone(), secret.to_ascii_uppercase()),
                SecretString::from("seeded-value".to_string()),
            );
        }
        world.github.repos.insert(
            key,
            GithubRepo {
                owner: seed.owner,
                name: seed.name,
                id,
                visibility: seed.visibility,
                description: seed.description,
                environments: BTreeMap::new(),
                secret_updated_at: BTreeMap::new(),
                secrets: seed
                    .secrets
                    .iter()
                    .map(|s| s.to_ascii_uppercase())
                    .collect(),
                labels: {
                    let mut labels = default_labels();
                    for (name, color, description) in &seed.labels {
                        labels.insert(
                            name.clone(),
                            crate::sim::state::Label {
                                name: name.clone(),
                                color: color.clone(),
                                description: description.clone(),
                            },
                        );
                    }
                    labels
                },
                heads: BTreeMap::new(),
                collaborators: seed
                    .collaborators
                    .iter()
                    .map(|c| c.to_ascii_lowercase())
                    .collect::<BTreeSet<_>>(),
                created_at: crate::sim::world::now_timestamp(),
                topics: Vec::new(),
                deploy_keys: Vec::new(),
                pulls: seed
                    .open_pulls
                    .iter()
                    .enumerate()
                    .map(|(index, (head, base, title, author))| {
                        crate::sim::state::GithubPullRequest {
                            number: index as u64 + 1,
                            title: title.clone(),
                            body: String::new(),
                            head: head.clone(),
                            base: base.clone(),
                            state: "OPEN".to_string(),
                            author: author.clone(),
                            created_at: crate::sim::world::now_timestamp(),
                            labels: Vec::new(),
                            ..Default::default()
                        }
                    })
                    .collect(),
                workflow_runs: Vec::new(),
                actions_heads: None,
                commit_statuses: Vec::new(),
            },
        );
    }

    /// The vCPU quota of a family (or `cores`, the regional total) in a region, and how much
    /// of it resources outside the simulation already use.
    pub fn set_quota(&self, location: &str, family: &str, limit: u64, base_usage: u64) {
        self.world()
            .azure
            .quotas
            .entry(location.to_ascii_lowercase())
            .or_default()
            .insert(family.to_string(), Quota { limit, base_usage });
    }

    pub fn set_azure_catalog(&self, catalog: AzureCatalog) {
        self.world().azure_catalog = catalog;
    }

    pub fn azure_catalog(&self) -> AzureCatalog {
        self.world().azure_catalog.clone()
    }

    /// `az vm list-skus` shows the size restricted in the region; `az aks create` refuses it.
    pub fn restrict_vm_size(&self, location: &str, size: &str) {
        self.world()
            .azure_catalog
            .restricted_skus
            .push((location.to_ascii_lowercase(), size.to_string()));
    }

    pub fn set_chart_catalog(&self, catalog: ChartCatalog) {
        self.world().charts = catalog;
    }

    /// Whether the Actions secret `secret` of `owner/name` holds exactly `value`.
    pub fn github_secret_is(&self, owner: &str, name: &str, secret: &str, value: &str) -> bool {
        self.world()
            .gh_secret_values
            .get(&(key2(owner, name), secret.to_ascii_uppercase()))
            .is_some_and(|v| v.expose_secret() == value)
    }

    /// Whether the secret `secret` of the GitHub environment `environment` of a repository
    /// holds exactly `value`.
    pub fn github_environment_secret_is(
        &self,
        owner: &str,
        name: &str,
        environment: &str,
        secret: &str,
        value: &str,
    ) -> bool {
        self.world()
            .gh_environment_secret_values
            .get(&(
                key2(owner, name),
                environment.to_string(),
                secret.to_ascii_uppercase(),
            ))
            .is_some_and(|v| v.expose_secret() == value)
    }

    /// Whether a Kubernetes Secret's key holds exactly `value` (Secret values are masked in
    /// the object store and snapshots).
    pub fn kube_secret_is(
        &self,
        server: &str,
        namespace: &str,
        name: &str,
        key: &str,
        value: &str,
    ) -> bool {
        self.world()
            .kube_secret_values
            .get(&(server.to_string(), namespace.to_string(), name.to_string()))
            .and_then(|data| data.get(key))
            .is_some_and(|v| v.is(value))
    }

    /// An object as stored (without the status controllers would report).
    pub fn kube_object(
        &self,
        server: &str,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let world = self.world();
        let api = world.kube.get(server)?;
        let ty = kube::resolve(api, resource)?;
        let key = kube::object_key(ty.namespaced, namespace.unwrap_or("default"), name);
        api.objects.get(&ty.qualified())?.get(&key).cloned()
    }

    /// The API server URL of an AKS cluster of the simulation.
    pub fn aks_server(&self, resource_group: &str, name: &str) -> Option<String> {
        let mut world = self.world();
        world.advance(Instant::now());
        world
            .azure
            .clusters
            .get(&key2(resource_group, name))
            .map(SimulatedAks::server)
    }

    /// The public repositories of `microsoft` that sample WorkloadRegistrations point at:
    /// `kalypso-app-src` (this tool's generated control plane registers its `./workload`)
    /// and `kalypso-svc-src` (microsoft/kalypso-control-plane registers its
    /// `./workloads`), and `kalypso-app-gitops`, whose `dev` and `stage` branches hold the
    /// manifests the sample workload's deployment targets point at (what a workload
    /// cluster's Flux applies), each with only the files the simulation reads (vendored
    /// in `src/sim/upstream/`, see the README there). Every world has them, as GitHub
    /// does; they are not the user's, and nothing of this tool records them.
    pub(crate) fn seed_upstream_workload_repos(&self) -> Result<(), SeedRefused> {
        // git's processes would dominate the making of a world, so each repository is
        // built once per process and later worlds copy the last world's, checked against
        // what was built (the same files, the same head), else built again.
        static BUILT: Mutex<BTreeMap<String, BuiltRepo>> = Mutex::new(BTreeMap::new());
        let _building = git::building_a_world();
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        for seed in upstream_workload_seeds() {
            let path = self.bare_repo_path(&seed.owner, &seed.name);
            let copied = built.get(&seed.name).is_some_and(|earlier| {
                let _ = std::fs::remove_dir_all(&path);
                copy_dir(&earlier.path, &path).is_ok()
                    && count_files(&path) == earlier.files
                    && git::rev_parse(&path, "refs/heads/main").as_deref()
                        == Some(earlier.head.as_str())
            });
            if copied {
                self.register_repo(seed);
                continue;
            }
            let name = seed.name.clone();
            // By `init` and `fast-import`, never a push: a world is made before any run,
            // and a `git` stand-in on PATH (the crash and lock tests) must see only the
            // run's pushes.
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| SeedRefused(e.to_string()))?;
            }
            git::init_bare(&path).map_err(|e| SeedRefused(e.to_string()))?;
            git::seed_content_with_modes(&path, &seed.branches, &seed.executables)
                .map_err(|e| SeedRefused(e.to_string()))?;
            self.register_repo(seed);
            if let Some(head) = git::rev_parse(&path, "refs/heads/main") {
                built.insert(
                    name,
                    BuiltRepo {
                        files: count_files(&path),
                        path,
                        head,
                    },
                );
            }
        }
        Ok(())
    }
}

/// An upstream repository as it was built, for the next world to copy.
struct BuiltRepo {
    path: PathBuf,
    files: usize,
    head: String,
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(kind) if kind.is_dir() => count_files(&e.path()),
                    Ok(kind) if kind.is_file() => 1,
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `source` copied to `target` (files and directories only).
fn copy_dir(source: &Path, target: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(target)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let to = target.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// Whether `OWNER/NAME` is one of the public upstream sample repositories, which live on
/// github.com whatever host the world's GitHub answers on.
pub(crate) fn is_upstream_sample(owner: &str, name: &str) -> bool {
    owner.eq_ignore_ascii_case(UPSTREAM_OWNER)
        && upstream_workload_seeds()
            .iter()
            .any(|seed| seed.name.eq_ignore_ascii_case(name))
}

/// The files of microsoft/kalypso-app-gitops the sample workload's deployment targets read
/// (`branch`, path, content): the `dev` branch's `functional-test/` and
/// `performance-test/`, and what the `stage` branch has (no `uat-test/`, as on GitHub).
const APP_GITOPS_FILES: [(&str, &str, &str); 14] = [
    (
        "dev",
        "functional-test/README.md",
        include_str!("upstream/kalypso-app-gitops/dev/functional-test/README.md"),
    ),
    (
        "dev",
        "functional-test/gen_manifests.yaml",
        include_str!("upstream/kalypso-app-gitops/dev/functional-test/gen_manifests.yaml"),
    ),
    (
        "dev",
        "functional-test/kustomization.yaml",
        include_str!("upstream/kalypso-app-gitops/dev/functional-test/kustomization.yaml"),
    ),
    (
        "dev",
        "functional-test/functional-test/gen_manifests.yaml",
        include_str!(
            "upstream/kalypso-app-gitops/dev/functional-test/functional-test/gen_manifests.yaml"
        ),
    ),
    (
        "dev",
        "functional-test/functional-test/kustomization.yaml",
        include_str!(
            "upstream/kalypso-app-gitops/dev/functional-test/functional-test/kustomization.yaml"
        ),
    ),
    (
        "dev",
        "functional-test/performance-test/gen_manifests.yaml",
        include_str!(
            "upstream/kalypso-app-gitops/dev/functional-test/performance-test/gen_manifests.yaml"
        ),
    ),
    (
        "dev",
        "functional-test/performance-test/kustomization.yaml",
        include_str!(
            "upstream/kalypso-app-gitops/dev/functional-test/performance-test/kustomization.yaml"
        ),
    ),
    (
        "dev",
        "performance-test/README.md",
        include_str!("upstream/kalypso-app-gitops/dev/performance-test/README.md"),
    ),
    (
        "dev",
        "performance-test/gen_manifests.yaml",
        include_str!("upstream/kalypso-app-gitops/dev/performance-test/gen_manifests.yaml"),
    ),
    (
        "dev",
        "performance-test/kustomization.yaml",
        include_str!("upstream/kalypso-app-gitops/dev/performance-test/kustomization.yaml"),
    ),
    (
        "stage",
        "functional-test/README.md",
        include_str!("upstream/kalypso-app-gitops/stage/functional-test/README.md"),
    ),
    (
        "stage",
        "functional-test/gen_manifests.yaml",
        include_str!("upstream/kalypso-app-gitops/stage/functional-test/gen_manifests.yaml"),
    ),
    (
        "stage",
        "functional-test/kustomization.yaml",
        include_str!("upstream/kalypso-app-gitops/stage/functional-test/kustomization.yaml"),
    ),
    (
        "stage",
        "performance-test/README.md",
        include_str!("upstream/kalypso-app-gitops/stage/performance-test/README.md"),
    ),
];

/// The upstream repositories of [`SimulatedEnvironment::seed_upstream_workload_repos`].
fn upstream_workload_seeds() -> [SeedRepo; 3] {
    let mut app_gitops = SeedRepo::new(UPSTREAM_OWNER, "kalypso-app-gitops")
        .public()
        .with_file(
            "main",
            "LICENSE",
            include_str!("upstream/kalypso-app-gitops/LICENSE"),
        );
    for (branch, path, content) in APP_GITOPS_FILES {
        app_gitops = app_gitops.with_file(branch, path, content);
    }
    [
        SeedRepo::new(UPSTREAM_OWNER, "kalypso-app-src")
            .public()
            .with_file(
                "main",
                "workload/workload.yaml",
                include_str!("upstream/kalypso-app-src/workload/workload.yaml"),
            )
            .with_file(
                "main",
                "LICENSE",
                include_str!("upstream/kalypso-app-src/LICENSE"),
            ),
        SeedRepo::new(UPSTREAM_OWNER, "kalypso-svc-src")
            .public()
            .with_file(
                "main",
                "workloads/observability.yaml",
                include_str!("upstream/kalypso-svc-src/workloads/observability.yaml"),
            )
            .with_file(
                "main",
                "LICENSE",
                include_str!("upstream/kalypso-svc-src/LICENSE"),
            ),
        app_gitops,
    ]
}

impl SimulatedEnvironment {
    /// The demo world: an Azure subscription (Owner), a GitHub user with a token that `gh
    /// auth token` returns (any other token is accepted as the same user), an organisation
    /// the user administers (both on paid plans), generous quotas.
    pub fn seed_demo_world(&self) {
        self.seed_azure_account(AzureAccount {
            subscription_id: "5f3c1a2b-7d4e-4f60-9a8b-1c2d3e4f5a6b".to_string(),
            subscription_name: "Kalypso Demo Subscription".to_string(),
            tenant_id: "0e1d2c3b-4a59-4687-8766-554433221100".to_string(),
            user_name: "platform.engineer@contoso.example".to_string(),
            user_type: "user".to_string(),
            roles: vec!["Owner".to_string()],
        });
        self.seed_github_user(
            DEMO_LOGIN,
            DEMO_TOKEN,
            &["repo", "workflow", "read:org", "delete_repo"],
        );
        self.seed_github_org(DEMO_ORG, &[(DEMO_LOGIN, "admin")]);
        // Paid plans, so that `--environments` works with the default private repositories
        // (on GitHub Free it needs `--repo-visibility public`, as on GitHub).
        self.set_github_plan(DEMO_LOGIN, GithubPlan::Pro);
        self.set_github_plan(DEMO_ORG, GithubPlan::Team);
        self.set_github_stored_login(Some(DEMO_LOGIN));
        self.set_token_policy(TokenPolicy::AnyTokenIs(DEMO_LOGIN.to_string()));
    }

    /// The demo user's stored token (`gh auth token`) in a restored demo world, where no
    /// token was saved.
    pub(crate) fn remember_demo_token(&self) {
        let mut world = self.world();
        world
            .tokens
            .retain(|(_, l)| !l.eq_ignore_ascii_case(DEMO_LOGIN));
        world.tokens.push((
            SecretString::from(DEMO_TOKEN.to_string()),
            DEMO_LOGIN.to_string(),
        ));
    }
}

/// The Kubernetes version of the kind clusters [`SimulatedEnvironment::seed_kind_cluster`]
/// makes (kind v0.29's default node image).
const KIND_KUBERNETES: &str = "1.33.1";

/// The owner of the upstream sample repositories every simulated world has.
pub const UPSTREAM_OWNER: &str = "microsoft";

/// The GitHub account of the demo world, and the fixed token `gh` has stored for it.
pub const DEMO_LOGIN: &str = "kalypso-demo";
/// The organisation the demo account administers.
pub const DEMO_ORG: &str = "kalypso-demo-org";
const DEMO_TOKEN: &str = "gho_SimulatedDemoToken0000000000000000000";
