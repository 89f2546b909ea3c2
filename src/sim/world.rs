//! The simulator's mutable world: the observable state plus what never appears in a
//! snapshot (secret values, pending provisioning timers, catalogs, id counters).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::catalog::{AzureCatalog, ChartCatalog, FluxVersion, FLUX_CRDS};
use super::kube::{self, Counter};
use super::latency::Latency;
use super::state::{AzureState, GithubPlan, GithubState, KubeCluster, Quota, SimulatedAks};

/// Who a `GH_TOKEN` belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenPolicy {
    /// Only tokens given to [`super::SimulatedEnvironment::seed_github_user`] are valid;
    /// any other token gets `HTTP 401: Bad credentials`.
    KnownTokensOnly,
    /// Any non-empty token not otherwise known authenticates as this login (demo mode:
    /// whatever token the user has, the simulated GitHub accepts it).
    AnyTokenIs(String),
}

/// What happens when a timer expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Pending {
    /// The AKS cluster becomes `Succeeded` and its API server appears.
    Provisioned,
    /// The AKS cluster (and its API server and node resource group) disappears.
    Deleted,
    /// The resource group and everything in it disappears.
    GroupDeleted,
}

pub(crate) struct World {
    pub azure: AzureState,
    pub kube: BTreeMap<String, KubeCluster>,
    pub github: GithubState,
    pub azure_catalog: AzureCatalog,
    pub charts: ChartCatalog,
    pub latency: Latency,
    pub counter: Counter,
    /// By cluster key (`rg/name`) or group key (`rg`), when the change happens.
    pub timers: BTreeMap<(String, PendingKey), (Instant, Pending)>,
    /// Token to login.
    pub tokens: Vec<(SecretString, String)>,
    pub token_policy: TokenPolicy,
    /// `(owner/name lower, secret name)` to value.
    pub gh_secret_values: HashMap<(String, String), SecretString>,
    /// `(owner/name lower, environment, secret name)` to value: the secrets of GitHub
    /// environments.
    pub gh_environment_secret_values: HashMap<(String, String, String), SecretString>,
    /// `(owner/name lower, environment or none, secret name)` to what a world restored from
    /// its file knows of an Actions secret whose value this process never saw (what GitHub
    /// Actions runs need of it; never the value of a token).
    pub gh_secret_restored: HashMap<(String, Option<String>, String), RestoredActionsSecret>,
    /// Per cluster, when the Kalypso Scheduler's GitOpsRepo controller (one worker, as
    /// controller-runtime runs it) is done with the GitHub calls of its last pull request:
    /// the next pull request of that cluster cannot start earlier. Not saved: a restored
    /// world starts with an idle worker.
    pub scheduler_worker_free_at: HashMap<String, time::OffsetDateTime>,
    /// `(server, namespace/name)` of a Flux GitRepository to the revision of the last
    /// artifact source-controller stored for it: a later failed fetch keeps that artifact,
    /// and the Kustomizations keep what they applied from it. Not saved: a restored world
    /// has fetched nothing yet.
    pub flux_artifacts: HashMap<(String, String), String>,
    /// `(server, namespace, Secret name)` to the Secret's data (key to decoded value). The
    /// stored Secret objects show every value masked.
    pub kube_secret_values: HashMap<(String, String, String), BTreeMap<String, KubeSecretValue>>,
    /// `(server, namespace/name)` of a Helm release to its user-supplied values as JSON,
    /// token included, as real helm keeps them in the release and prints them as `config`
    /// in `helm status -o json` and in `helm get values`. Held by this process only: the
    /// saved world keeps the release's values with secret-like ones masked.
    pub helm_release_config: HashMap<(String, String), SecretString>,
    /// Kubeconfig files written or seeded, reported in snapshots.
    pub kubeconfigs: BTreeSet<PathBuf>,
    pub next_github_id: u64,
    /// Set by `FaultKind`-independent state: the az refresh token expired.
    pub az_token_expired: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum PendingKey {
    Cluster,
    Group,
}

/// One value of a Kubernetes Secret, as far as the simulation knows it.
#[derive(Clone, Debug)]
pub(crate) enum KubeSecretValue {
    /// Written by a call in this process.
    Known(SecretString),
    /// Restored from a saved world, which never holds secret values: only the GitHub login
    /// the value authenticated as when it was saved and, for an SSH private key, its public
    /// key (all Flux's access checks need), and the value itself when it is public (a
    /// `known_hosts` or `identity.pub` entry).
    Restored {
        github_login: Option<String>,
        ssh_public_key: Option<String>,
        public_text: Option<String>,
    },
}

/// The keys of a Flux Secret whose values are public: kept whole in a saved world.
pub(crate) const PUBLIC_SECRET_KEYS: [&str; 2] = ["known_hosts", "identity.pub"];

/// An Actions secret of a world restored from its file, as far as the file keeps it: like
/// a [`KubeSecretValue::Restored`], a token only as the login it signed in as; a value
/// that names what the file holds anyway (a repository's `owner/name`, an environment of
/// the secret's repository) as that name; anything else not at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RestoredActionsSecret {
    Token { github_login: String },
    Name { name: String },
    Unknown,
}

impl KubeSecretValue {
    /// The GitHub account this value signs in as, if it is a valid token.
    pub fn github_login(&self, world: &World) -> Option<String> {
        match self {
            KubeSecretValue::Known(value) => world.login_for_token(value.expose_secret()),
            KubeSecretValue::Restored { github_login, .. } => github_login.clone(),
        }
    }

    /// The public key (`TYPE BASE64`) of the OpenSSH private key this value holds, else
    /// the error Go's `ssh.ParsePrivateKey` gives.
    pub fn ssh_public_key(&self) -> Result<String, String> {
        match self {
            KubeSecretValue::Known(value) => {
                super::ssh::public_key_of_private(value.expose_secret())
            }
            KubeSecretValue::Restored { ssh_public_key, .. } => ssh_public_key
                .clone()
                .ok_or_else(|| "ssh: no key found".to_string()),
        }
    }

    /// The value, when it may be read whole: known to this process, or public.
    pub fn text(&self) -> Option<String> {
        match self {
            KubeSecretValue::Known(value) => Some(value.expose_secret().to_string()),
            KubeSecretValue::Restored { public_text, .. } => public_text.clone(),
        }
    }

    /// Whether the value is known to be exactly `value` (a restored one never is).
    pub fn is(&self, value: &str) -> bool {
        match self {
            KubeSecretValue::Known(known) => known.expose_secret() == value,
            KubeSecretValue::Restored { .. } => false,
        }
    }
}

impl World {
    pub fn new() -> Self {
        Self {
            azure: AzureState::default(),
            kube: BTreeMap::new(),
            github: GithubState::default(),
            azure_catalog: AzureCatalog::default(),
            charts: ChartCatalog::default(),
            latency: Latency::zero(),
            counter: Counter::default(),
            timers: BTreeMap::new(),
            tokens: Vec::new(),
            token_policy: TokenPolicy::KnownTokensOnly,
            gh_secret_values: HashMap::new(),
            gh_environment_secret_values: HashMap::new(),
            gh_secret_restored: HashMap::new(),
            scheduler_worker_free_at: HashMap::new(),
            flux_artifacts: HashMap::new(),
            kube_secret_values: HashMap::new(),
            helm_release_config: HashMap::new(),
            kubeconfigs: BTreeSet::new(),
            next_github_id: 100_000,
            az_token_expired: false,
        }
    }

    pub fn next_github_id(&mut self) -> u64 {
        self.next_github_id += 1;
        self.next_github_id
    }

    /// Apply every timer due at `now`.
    pub fn advance(&mut self, now: Instant) {
        let due: Vec<(String, PendingKey)> = self
            .timers
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            if let Some((_, pending)) = self.timers.remove(&key) {
                self.complete(&key.0, pending);
            }
        }
    }

    /// Apply every timer at once, whatever its time.
    pub fn settle(&mut self) {
        let all: Vec<(String, PendingKey)> = self.timers.keys().cloned().collect();
        for key in all {
            if let Some((_, pending)) = self.timers.remove(&key) {
                self.complete(&key.0, pending);
            }
        }
    }

    pub fn schedule(&mut self, key: &str, kind: PendingKey, at: Instant, pending: Pending) {
        self.timers.insert((key.to_string(), kind), (at, pending));
    }

    fn complete(&mut self, key: &str, pending: Pending) {
        let now = now_timestamp();
        match pending {
            Pending::Provisioned => {
                if let Some(cluster) = self.azure.clusters.get_mut(key) {
                    if cluster.provisioning_state == "Creating" {
                        cluster.provisioning_state = "Succeeded".to_string();
                        let cluster = cluster.clone();
                        self.add_aks_api_server(&cluster, &now);
                    }
                }
            }
            Pending::Deleted => self.remove_aks_cluster(key),
            Pending::GroupDeleted => {
                let clusters: Vec<String> = self
                    .azure
                    .clusters
                    .iter()
                    .filter(|(_, c)| c.resource_group.eq_ignore_ascii_case(key))
                    .map(|(k, _)| k.clone())
                    .collect();
                for cluster in clusters {
                    self.timers.remove(&(cluster.clone(), PendingKey::Cluster));
                    self.remove_aks_cluster(&cluster);
                }
                self.azure.resource_groups.remove(key);
            }
        }
    }

    pub fn remove_aks_cluster(&mut self, key: &str) {
        if let Some(cluster) = self.azure.clusters.remove(key) {
            self.kube.remove(&cluster.server());
            self.azure
                .resource_groups
                .remove(&cluster.node_resource_group.to_ascii_lowercase());
            let server = cluster.server();
            self.kube_secret_values.retain(|(s, _, _), _| *s != server);
            self.helm_release_config.retain(|(s, _), _| *s != server);
        }
    }

    /// The API server of a freshly provisioned AKS cluster: system namespaces, Ready nodes,
    /// running kube-system pods.
    pub fn add_aks_api_server(&mut self, cluster: &SimulatedAks, now: &str) {
        let hash = kube::fnv(&format!("{}/{}", cluster.resource_group, cluster.name));
        let nodes: Vec<String> = (0..cluster.node_count)
            .map(|i| format!("aks-nodepool1-{:08}-vmss{:06}", hash % 100_000_000, i))
            .collect();
        let mut api = KubeCluster {
            server: cluster.server(),
            version: format!("v{}", cluster.kubernetes_version),
            aks: Some(super::state::key2(&cluster.resource_group, &cluster.name)),
            ..KubeCluster::default()
        };
        populate_system(
            &mut api,
            &mut self.counter,
            &nodes,
            &cluster.vm_size,
            &cluster.location,
            cluster.network_plugin == "azure",
            now,
        );
        // AKS installs an admission webhook of its own in every cluster.
        let webhook = json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "aks-node-validating-webhook", "labels": {"kubernetes.azure.com/managedby": "aks"}},
            "webhooks": [{
                "name": "aks-node-validating-webhook.azmk8s.io",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"url": "https://aks-node-validating-webhook.kube-system.svc:443/validate"},
                "failurePolicy": "Ignore",
                "sideEffects": "None",
                "timeoutSeconds": 3,
            }],
        });
        put(
            &mut api,
            &mut self.counter,
            "validatingwebhookconfigurations.admissionregistration.k8s.io",
            webhook,
            now,
        );
        self.kube.insert(api.server.clone(), api);
    }

    /// vCPUs in use in `location` for `family` (or all families for `cores`) by simulated
    /// clusters, plus the configured base usage.
    pub fn quota_usage(&self, location: &str, family: &str) -> (u64, u64) {
        let quota = self.quota(location, family);
        let in_clusters: u64 = self
            .azure
            .clusters
            .values()
            .filter(|c| c.location.eq_ignore_ascii_case(location))
            .filter_map(|c| {
                let sku = self.azure_catalog.sku(&c.vm_size)?;
                (family == "cores" || sku.family == family)
                    .then_some(u64::from(sku.vcpus) * u64::from(c.node_count))
            })
            .sum();
        (quota.base_usage + in_clusters, quota.limit)
    }

    pub fn quota(&self, location: &str, family: &str) -> Quota {
        self.azure
            .quotas
            .get(&location.to_ascii_lowercase())
            .and_then(|families| families.get(family))
            .copied()
            .unwrap_or(Quota {
                limit: if family == "cores" {
                    self.azure_catalog.default_regional_limit
                } else {
                    self.azure_catalog.default_family_limit
                },
                base_usage: 0,
            })
    }

    /// The login a token belongs to.
    pub fn login_for_token(&self, token: &str) -> Option<String> {
        if token.is_empty() {
            return None;
        }
        if let Some((_, login)) = self
            .tokens
            .iter()
            .find(|(known, _)| known.expose_secret() == token)
        {
            return Some(login.clone());
        }
        match &self.token_policy {
            TokenPolicy::AnyTokenIs(login) => Some(login.clone()),
            TokenPolicy::KnownTokensOnly => None,
        }
    }

    /// The stored token of a login (`gh auth token`).
    pub fn token_of(&self, login: &str) -> Option<&SecretString> {
        self.tokens
            .iter()
            .find(|(_, l)| l.eq_ignore_ascii_case(login))
            .map(|(t, _)| t)
    }

    /// Whether `login` may see `owner/name`.
    pub fn can_read_repo(&self, login: &str, repo_key: &str) -> bool {
        let Some(repo) = self.github.repos.get(repo_key) else {
            return false;
        };
        let login = login.to_ascii_lowercase();
        repo.visibility == "PUBLIC"
            || repo.owner.eq_ignore_ascii_case(&login)
            || repo.collaborators.contains(&login)
            || self
                .github
                .orgs
                .get(&repo.owner.to_ascii_lowercase())
                .is_some_and(|org| org.members.contains_key(&login))
    }

    /// Whether `login` may push to `owner/name`: its owner, a member of the owning org, or
    /// a collaborator (the simulation grants members and collaborators write).
    pub fn can_write_repo(&self, login: &str, repo_key: &str) -> bool {
        let Some(repo) = self.github.repos.get(repo_key) else {
            return false;
        };
        let login = login.to_ascii_lowercase();
        repo.owner.eq_ignore_ascii_case(&login)
            || repo.collaborators.contains(&login)
            || self
                .github
                .orgs
                .get(&repo.owner.to_ascii_lowercase())
                .is_some_and(|org| org.members.contains_key(&login))
    }

    /// Whether `login` administers `owner/name` (owner, or admin of the owning org).
    pub fn can_admin_repo(&self, login: &str, repo_key: &str) -> bool {
        let Some(repo) = self.github.repos.get(repo_key) else {
            return false;
        };
        let login = login.to_ascii_lowercase();
        repo.owner.eq_ignore_ascii_case(&login)
            || self
                .github
                .orgs
                .get(&repo.owner.to_ascii_lowercase())
                .is_some_and(|org| org.members.get(&login).map(String::as_str) == Some("admin"))
    }

    /// Whether the repository `repo_key` may have GitHub environments: public, on an
    /// Enterprise Server, or owned by an account on a paid plan ([`GithubPlan`]).
    pub fn environments_available(&self, repo_key: &str) -> bool {
        let Some(repo) = self.github.repos.get(repo_key) else {
            return false;
        };
        let owner = repo.owner.to_ascii_lowercase();
        let plan = self
            .github
            .users
            .get(&owner)
            .map(|user| user.plan)
            .or_else(|| self.github.orgs.get(&owner).map(|org| org.plan))
            .unwrap_or_default();
        repo.visibility == "PUBLIC" || self.github.host.is_some() || plan != GithubPlan::Free
    }

    /// Install Flux's controllers and CRDs (what the release's install.yaml creates) into a
    /// cluster; returns `kubectl apply` style object names (`singular.group/name`).
    pub fn install_flux(&mut self, server: &str, version: FluxVersion, now: &str) -> Vec<String> {
        let Some(api) = self.kube.get_mut(server) else {
            return Vec::new();
        };
        let tag = version.tag();
        let labels = [
            ("app.kubernetes.io/instance", "flux-system"),
            ("app.kubernetes.io/part-of", "flux"),
            ("app.kubernetes.io/version", tag.as_str()),
        ];
        let nodes = node_names(api);
        let mut lines = Vec::new();
        for item in flux_manifest(version) {
            let object = match item.resource.as_str() {
                "namespaces" => kube::namespace(&item.name, &labels),
                kube::CRD_RESOURCE => {
                    let crd = FLUX_CRDS
                        .iter()
                        .find(|c| format!("{}.{}", c.plural, c.group) == item.name)
                        .expect("manifest CRDs come from FLUX_CRDS");
                    kube::crd(
                        crd.plural,
                        crd.group,
                        crd.kind,
                        &version.served_versions(crd),
                        true,
                        &labels,
                        now,
                    )
                }
                "deployments.apps" => {
                    let selector = json!({"app": item.name});
                    let image = format!("ghcr.io/fluxcd/{}:{tag}", item.name);
                    for pod in kube::deployment_pods(
                        "flux-system",
                        &item.name,
                        1,
                        &selector,
                        &image,
                        &nodes,
                        now,
                    ) {
                        put(api, &mut self.counter, "pods", pod, now);
                    }
                    kube::available_deployment("flux-system", &item.name, 1, &selector, &image, now)
                }
                resource => {
                    let ty = kube::builtin_types()
                        .into_iter()
                        .find(|t| t.qualified() == resource)
                        .expect("manifest kinds are built in");
                    let mut metadata = json!({"name": item.name, "labels": label_map(&labels)});
                    if let Some(ns) = &item.namespace {
                        metadata["namespace"] = json!(ns);
                    }
                    json!({"apiVersion": ty.api_version(), "kind": ty.kind, "metadata": metadata})
                }
            };
            put(api, &mut self.counter, &item.resource, object, now);
            lines.push(format!("{}/{}", item.singular, item.name));
        }
        lines
    }
}

/// One object of Flux's install manifest.
pub(crate) struct ManifestItem {
    /// Qualified plural (`deployments.apps`).
    pub resource: String,
    /// Qualified singular as kubectl prints it (`deployment.apps`).
    pub singular: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// The objects of `install.yaml` for a Flux release, in manifest order.
pub(crate) fn flux_manifest(version: FluxVersion) -> Vec<ManifestItem> {
    let item = |resource: &str, singular: &str, namespaced: bool, name: &str| ManifestItem {
        resource: resource.to_string(),
        singular: singular.to_string(),
        namespace: namespaced.then(|| "flux-system".to_string()),
        name: name.to_string(),
    };
    let mut items = vec![item("namespaces", "namespace", false, "flux-system")];
    items.push(item(
        "resourcequotas",
        "resourcequota",
        true,
        "critical-pods-flux-system",
    ));
    for crd in FLUX_CRDS.iter() {
        if !version.served_versions(crd).is_empty() {
            items.push(item(
                kube::CRD_RESOURCE,
                "customresourcedefinition.apiextensions.k8s.io",
                false,
                &format!("{}.{}", crd.plural, crd.group),
            ));
        }
    }
    for name in [
        "crd-controller-flux-system",
        "flux-edit-flux-system",
        "flux-view-flux-system",
    ] {
        items.push(item(
            "clusterroles.rbac.authorization.k8s.io",
            "clusterrole.rbac.authorization.k8s.io",
            false,
            name,
        ));
    }
    for name in [
        "cluster-reconciler-flux-system",
        "crd-controller-flux-system",
    ] {
        items.push(item(
            "clusterrolebindings.rbac.authorization.k8s.io",
            "clusterrolebinding.rbac.authorization.k8s.io",
            false,
            name,
        ));
    }
    for controller in version.controllers() {
        items.push(item("serviceaccounts", "serviceaccount", true, controller));
    }
    for name in [
        "notification-controller",
        "source-controller",
        "webhook-receiver",
    ] {
        items.push(item("services", "service", true, name));
    }
    for controller in version.controllers() {
        items.push(item(
            "deployments.apps",
            "deployment.apps",
            true,
            controller,
        ));
    }
    for name in ["allow-egress", "allow-scraping", "allow-webhooks"] {
        items.push(item(
            "networkpolicies.networking.k8s.io",
            "networkpolicy.networking.k8s.io",
            true,
            name,
        ));
    }
    items
}

/// Insert (or replace) an object, stamping its metadata.
pub(crate) fn put(
    api: &mut KubeCluster,
    counter: &mut Counter,
    resource: &str,
    mut object: Value,
    now: &str,
) {
    let namespaced = object.pointer("/metadata/namespace").is_some();
    let name = kube::name_of(&object).unwrap_or_default().to_string();
    let namespace = kube::namespace_of(&object).unwrap_or_default().to_string();
    kube::stamp(&mut object, counter, now);
    api.objects
        .entry(resource.to_string())
        .or_default()
        .insert(kube::object_key(namespaced, &namespace, &name), object);
}

pub(crate) fn node_names(api: &KubeCluster) -> Vec<String> {
    api.objects
        .get("nodes")
        .map(|nodes| nodes.keys().cloned().collect())
        .unwrap_or_default()
}

fn label_map(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

/// System namespaces, nodes and kube-system workloads of a new cluster.
pub(crate) fn populate_system(
    api: &mut KubeCluster,
    counter: &mut Counter,
    nodes: &[String],
    vm_size: &str,
    region: &str,
    azure_cni: bool,
    now: &str,
) {
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        put(api, counter, "namespaces", kube::namespace(ns, &[]), now);
    }
    let version = api.version.clone();
    for node in nodes {
        put(
            api,
            counter,
            "nodes",
            kube::node(node, &version, vm_size, region, now),
            now,
        );
    }
    for (name, replicas, image) in [
        ("coredns", 2, "mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.12.1-1"),
        ("coredns-autoscaler", 1, "mcr.microsoft.com/oss/v2/kubernetes/autoscaler/cluster-proportional-autoscaler:v1.9.0-1"),
        ("konnectivity-agent", 2, "mcr.microsoft.com/oss/v2/kubernetes/apiserver-network-proxy/agent:v0.31.4-1"),
        ("metrics-server", 2, "mcr.microsoft.com/oss/v2/kubernetes/metrics-server:v0.7.2-3"),
    ] {
        let selector = json!({"k8s-app": name});
        put(api, counter, "deployments.apps", kube::available_deployment("kube-system", name, replicas, &selector, image, now), now);
        for pod in kube::deployment_pods("kube-system", name, replicas, &selector, image, nodes, now) {
            put(api, counter, "pods", pod, now);
        }
    }
    let mut daemons = vec!["azure-ip-masq-agent", "cloud-node-manager", "kube-proxy"];
    if azure_cni {
        daemons.push("azure-cns");
    }
    for daemon in daemons {
        for (i, node) in nodes.iter().enumerate() {
            let selector = json!({"k8s-app": daemon});
            let name = format!("{daemon}-{}", kube::pod_suffix(node, i as u64));
            let image = format!("mcr.microsoft.com/oss/v2/kubernetes/{daemon}:v1");
            put(
                api,
                counter,
                "pods",
                kube::running_pod("kube-system", &name, &selector, &image, node, now),
                now,
            );
        }
    }
}

/// Kubernetes' timestamp format, to the second, UTC.
pub(crate) fn now_timestamp() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// Where things live on disk.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    pub root: PathBuf,
    pub default_kubeconfig: PathBuf,
}

impl Paths {
    pub fn github_dir(&self) -> PathBuf {
        self.root.join("github")
    }

    /// The bare repository of `owner/name`, spelled as the repository was created (git
    /// URLs reach it only with that spelling, unlike GitHub's case-insensitive ones).
    pub fn bare_repo(&self, owner: &str, name: &str) -> PathBuf {
        self.github_dir().join(owner).join(format!("{name}.git"))
    }
}

/// A GitHub repository address (`OWNER/NAME`, `github.com/OWNER/NAME`, or an https URL of
/// any host: callers check the host).
pub(crate) fn parse_repo_ref(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let text = match text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    {
        Some(rest) => rest.split_once('/')?.1,
        None => text.strip_prefix("github.com/").unwrap_or(text),
    };
    let text = text.trim_end_matches('/');
    let text = text.strip_suffix(".git").unwrap_or(text);
    let (owner, name) = text.split_once('/')?;
    if owner.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    Some((owner.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_refs_in_every_form() {
        for text in [
            "acme/cp",
            "github.com/acme/cp",
            "https://github.com/acme/cp",
            "https://github.com/acme/cp.git",
            "https://github.com/acme/cp/",
            "https://ghe.example.test/acme/cp",
        ] {
            assert_eq!(
                parse_repo_ref(text),
                Some(("acme".to_string(), "cp".to_string())),
                "{text}"
            );
        }
        assert_eq!(parse_repo_ref("acme"), None);
        assert_eq!(parse_repo_ref("a/b/c"), None);
    }
}
