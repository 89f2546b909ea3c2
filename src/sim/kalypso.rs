//! The Kalypso Scheduler's controllers acting on a simulated cluster and the simulated
//! GitHub, read from microsoft/kalypso-scheduler:
//!
//! - `controllers/environment_controller.go` (`Reconcile`) and `controllers/flux.go`
//!   (`CreateFluxReferenceResources`): for each Environment, a namespace named after it and
//!   a Flux GitRepository and Kustomization named after it in `flux-system` (URL and branch
//!   of `spec.controlPlane`, secret `gh-repo-secret`, interval 10s, the Kustomization's
//!   target namespace the environment's), then `Ready=True, FluxResourcesCreated`.
//! - `controllers/baserepo_controller.go`: for each BaseRepo, the Flux pair
//!   `<namespace>-<name>` for its repository (at `spec.commit` when it pins one), then
//!   `Ready=True, FluxResourcesCreated` (the BaseRepo itself never reports a fetch error:
//!   its GitRepository does). What that Kustomization applies (Templates, workload
//!   registrations, ConfigMaps of `main`) lands in the environment's namespace.
//! - `controllers/workloadregistration_controller.go`: for each WorkloadRegistration, the
//!   Flux pair `<namespace>-<name>` for its workload repository; its Kustomization applies
//!   the Workloads found there, labelled `kustomize.toolkit.fluxcd.io/name`.
//! - `controllers/workload_controller.go`, `schedulingpolicy_controller.go` with
//!   `scheduler/scheduler.go`, `assignment_controller.go` with `scheduler/templater.go`:
//!   DeploymentTargets, Assignments and AssignmentPackages (see [`super::scheduling`];
//!   the templates rendered by [`super::gotemplate`]); an Assignment that cannot be
//!   packaged is `Ready=False, UpdateFailed` with the error.
//! - `controllers/gitopsrepo_controller.go` (`Reconcile`) and `scheduler/githubrepo.go`
//!   (`CreatePR`, `getTree`, `addPromotedCommitId`, `cleanPullRequests`): once every
//!   SchedulingPolicy and Assignment of the namespace is Ready (`readyToPR`) and the
//!   content (cluster types, assignment packages, the `main` BaseRepo) differs from
//!   `status.repoContentHash`, the condition `ReadyToPR` is set; `prCreateTimeOut` (3 s)
//!   later the controller, signed in with the chart's `gh-repo-secret` token
//!   (`GITHUB_AUTH_TOKEN`), reads `refs/heads/<spec.branch>` of `spec.repo`, creates branch
//!   `deployment/<time>` from it with one commit (a README per cluster type;
//!   `reconciler.yaml`, `namespace.yaml` and `platform-config.yaml` (`.sh` for the `sh`
//!   content type) per deployment target; stale cluster-type and deployment-target folders
//!   deleted; `.github/tracking/Promoted_Commit_Id` when the `main` BaseRepo pins a commit
//!   other than the recorded one), deletes the branches of the open pull requests against
//!   `spec.branch` and closes them, and opens "Update manifests in <branch> from
//!   deployment/<time>", labelled `promoted` for a promotion. Any GitHub error becomes
//!   `Ready=False, UpdateFailed` with go-github's error text, and is retried.
//!
//! What is not modelled, and why:
//! - Config data from `azure-app-config…` ConfigMaps and ConfigSchema validation (JSON
//!   schema): an Assignment that would need them fails, naming it, rather than being
//!   packaged without them.
//! - Template constructs outside the subset [`super::gotemplate`] renders as Go does fail
//!   the same way.
//! - The GitHub issues the Assignment controller opens for a failure, the Workload
//!   controller's deletion of DeploymentTargets, and the controllers' own status writes
//!   between steps (`Rescheduling`, `RebuildingAssignmentPackage`, `CreatingPR`): the
//!   objects are derived as they are once the controllers have settled.
//! - Only plain path patterns of a `.sourceignore` are applied, and Flux's fetch of a
//!   BaseRepo source does not check that a pinned commit exists (its artifact reads as
//!   empty when it does not).
//!
//! The controllers' objects are derived from the cluster and GitHub as they are now (like
//! the Flux statuses of [`super::cluster::observed`]): they exist while the chart's
//! controller, Flux and the control-plane Kustomization do. The pull request is a change on
//! GitHub, made by [`reconcile`] before each simulated command.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{json, Value};

use super::cluster;
use super::command::Ctx;
use super::git;
use super::kube;
use super::scheduling::{self, FLUX_NAMESPACE_LABEL, FLUX_OWNER_LABEL};
use super::state::{key2, GithubPullRequest, GitopsRepoStatus};
use super::world::parse_repo_ref;

const GROUP: &str = "scheduler.kalypso.io";
const FLUX_NAMESPACE: &str = "flux-system";
const GIT_REPOSITORIES: &str = "gitrepositories.source.toolkit.fluxcd.io";
const KUSTOMIZATIONS: &str = "kustomizations.kustomize.toolkit.fluxcd.io";
/// `RepoSecretName` of `controllers/flux.go`.
const REPO_SECRET: &str = "gh-repo-secret";
const CHART_NAME: &str = "kalypso-scheduler";
const GITHUB_API: &str = "https://api.github.com";

/// What the controllers made, by qualified resource then object key.
pub(crate) type Objects = BTreeMap<String, BTreeMap<String, Value>>;

/// The namespace of a running Kalypso Scheduler controller (its Helm release's).
fn controller_namespace(ctx: &Ctx<'_>, server: &str) -> Option<String> {
    let api = ctx.world.kube.get(server)?;
    api.objects.get("deployments.apps")?.values().find_map(|d| {
        let name = kube::name_of(d)?;
        let chart = d
            .pointer("/metadata/labels/app.kubernetes.io~1name")?
            .as_str()?;
        (chart == CHART_NAME && name.ends_with("-controller-manager"))
            .then(|| kube::namespace_of(d).unwrap_or("default").to_string())
    })
}

fn is_ready(status: &Value) -> bool {
    status
        .pointer("/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn ready_condition(status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": "Ready", "status": status, "reason": reason, "message": message, "lastTransitionTime": now})
}

fn stamped(mut object: Value, now: &str) -> Value {
    let name = kube::name_of(&object).unwrap_or_default().to_string();
    let metadata = &mut object["metadata"];
    metadata["generation"] = json!(1);
    metadata["creationTimestamp"] = json!(now);
    metadata["uid"] = json!(format!("{:016x}", kube::fnv(&name)));
    metadata["resourceVersion"] = json!("1");
    object
}

/// The bare repository a GitHub URL names, if the simulated GitHub has it.
fn bare_of(ctx: &Ctx<'_>, url: &str) -> Option<std::path::PathBuf> {
    let (owner, name) = parse_repo_ref(url)?;
    let repo = ctx.world.github.repos.get(&key2(&owner, &name))?;
    Some(ctx.paths.bare_repo(&repo.owner, &repo.name))
}

/// The Kubernetes objects of the YAML files under `path` at `branch` (what
/// kustomize-controller builds from a directory without a kustomization.yaml). Files that
/// are not Kubernetes objects are left out.
fn manifests(bare: &Path, branch: &str, path: &str) -> Vec<Value> {
    objects_of_tree(bare, tree_of(bare, branch), path, true)
}

/// The Kubernetes objects of the YAML files under `path` of a tree, leaving out what the
/// tree's `.sourceignore` names when `sourceignore` (source-controller excludes it from
/// the artifact unless the GitRepository sets `spec.ignore`; only plain path patterns are
/// understood, wildcard lines are not applied).
fn objects_of_tree(
    bare: &Path,
    tree: Option<(String, Vec<git::GitTreeEntry>)>,
    path: &str,
    sourceignore: bool,
) -> Vec<Value> {
    let prefix = path.trim_start_matches("./").trim_matches('/');
    let prefix = if prefix == "." { "" } else { prefix };
    let Some((_, entries)) = tree else {
        return Vec::new();
    };
    let ignored: Vec<String> = entries
        .iter()
        .find(|e| sourceignore && e.path == ".sourceignore" && e.kind == "blob")
        .and_then(|e| git::blob(bare, &e.sha))
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty() && !l.starts_with('#') && !l.contains(['*', '?', '[', '!'])
                })
                .map(|l| l.trim_start_matches('/').to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut objects = Vec::new();
    for entry in entries {
        let in_path = prefix.is_empty() || entry.path.starts_with(&format!("{prefix}/"));
        let yaml = entry.path.ends_with(".yaml") || entry.path.ends_with(".yml");
        let is_ignored = ignored.iter().any(|pattern| {
            entry.path == pattern.trim_end_matches('/')
                || pattern.ends_with('/') && entry.path.starts_with(pattern.as_str())
        });
        if entry.kind != "blob" || !in_path || !yaml || is_ignored {
            continue;
        }
        objects.extend(parsed_objects(bare, &entry.sha));
    }
    objects
}

/// The Kubernetes objects of one YAML blob, parsed once per blob id (git never changes
/// what an id names; `derive` runs before every simulated command).
pub(crate) fn parsed_objects(bare: &Path, sha: &str) -> Vec<Value> {
    static PARSED: std::sync::OnceLock<std::sync::Mutex<HashMap<String, Vec<Value>>>> =
        std::sync::OnceLock::new();
    let cache = PARSED.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(sha) {
        return found.clone();
    }
    let Some(text) = git::blob(bare, sha) else {
        return Vec::new();
    };
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let Ok(value) = <Value as serde::Deserialize>::deserialize(document) else {
            continue;
        };
        if value.get("apiVersion").is_some() && value.get("kind").is_some() {
            objects.push(value);
        }
    }
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    // Bounded: a long test process simulates many repositories.
    if cache.len() > 5_000 {
        cache.clear();
    }
    cache.insert(sha.to_string(), objects.clone());
    objects
}

/// Like [`manifests`], at any revision (a BaseRepo may pin a commit).
fn manifests_at(bare: &Path, rev: &str, path: &str) -> Vec<Value> {
    match rev.strip_prefix("refs/heads/") {
        Some(branch) => manifests(bare, branch, path),
        None => objects_of_tree(bare, git::tree(bare, rev), path, true),
    }
}

fn tree_of(bare: &Path, branch: &str) -> Option<(String, Vec<git::GitTreeEntry>)> {
    git::tree(bare, &format!("refs/heads/{branch}"))
}

/// A Flux GitRepository and Kustomization pair as `CreateFluxReferenceResources` makes it.
fn flux_pair(
    name: &str,
    target_namespace: &str,
    url: &str,
    branch: &str,
    path: &str,
    commit: &str,
    now: &str,
) -> (Value, Value) {
    let mut reference = json!({"branch": branch});
    if !commit.is_empty() {
        reference["commit"] = json!(commit);
    }
    let source = stamped(
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1beta2",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": {"url": url, "ref": reference, "secretRef": {"name": REPO_SECRET}, "interval": "10s"},
        }),
        now,
    );
    let kustomization = stamped(
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": {"path": path, "prune": true, "interval": "10s", "sourceRef": {"kind": "GitRepository", "name": name}, "targetNamespace": target_namespace},
        }),
        now,
    );
    (source, kustomization)
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// One GitOpsRepo as its controller sees it.
struct GitopsRepo {
    server: String,
    namespace: String,
    name: String,
    repo: String,
    branch: String,
    /// The content a pull request would propose: the cluster types, the assignment
    /// packages, the commit the `main` BaseRepo pins (`addPromotedCommitId`).
    cluster_types: Vec<String>,
    packages: Vec<Package>,
    promoted_commit: String,
    /// `readyToPR`: every SchedulingPolicy and Assignment of the namespace is Ready.
    ready_to_pr: bool,
    /// The hash of that content (`getHashString` of the repo content).
    content_hash: String,
}

/// Everything the controllers made on `server`, and the GitOpsRepos they act on.
fn derive(ctx: &Ctx<'_>, server: &str) -> (Objects, Vec<GitopsRepo>) {
    let mut made = Objects::new();
    let mut gitops = Vec::new();
    let Some(release_namespace) = controller_namespace(ctx, server) else {
        return (made, gitops);
    };
    if !cluster::flux_running(ctx, server) {
        return (made, gitops);
    }
    let Some(api) = ctx.world.kube.get(server) else {
        return (made, gitops);
    };
    let now = ctx.timestamp.clone();
    let stored = |resource: &str, key: &str| api.objects.get(resource)?.get(key).cloned();
    // The chart's control-plane Kustomization applies the Environments.
    let Some(control_plane) = stored(KUSTOMIZATIONS, "flux-system/control-plane") else {
        return (made, gitops);
    };
    // Flux's CRDs may be gone while its controllers still run (someone deleted them).
    let Some(kustomization_type) = kube::resolve(api, KUSTOMIZATIONS) else {
        return (made, gitops);
    };
    if !is_ready(&cluster::observed(ctx, server, &kustomization_type, &control_plane)["status"]) {
        return (made, gitops);
    }
    let (source_ns, source_name) = cluster::kustomization_source(&control_plane);
    let Some(source) = stored(GIT_REPOSITORIES, &format!("{source_ns}/{source_name}")) else {
        return (made, gitops);
    };
    let Some(bare) = bare_of(ctx, text(&source, "/spec/url")) else {
        return (made, gitops);
    };
    let environment_namespace = control_plane
        .pointer("/spec/targetNamespace")
        .and_then(Value::as_str)
        .unwrap_or(&release_namespace)
        .to_string();
    // The chart's GitRepository sets `spec.ignore` (only `.environments`), which replaces
    // the repository's `.sourceignore`.
    let environments: Vec<Value> = objects_of_tree(
        &bare,
        tree_of(&bare, text(&source, "/spec/ref/branch")),
        text(&control_plane, "/spec/path"),
        source.pointer("/spec/ignore").is_none(),
    )
    .into_iter()
    .filter(|o| o["kind"] == "Environment" && text(o, "/apiVersion").starts_with(GROUP))
    .collect();
    let insert = |made: &mut Objects, resource: &str, object: Value| {
        let namespace = kube::namespace_of(&object).map(str::to_string);
        let name = kube::name_of(&object).unwrap_or_default().to_string();
        let key = kube::object_key(
            namespace.is_some(),
            namespace.as_deref().unwrap_or(""),
            &name,
        );
        made.entry(resource.to_string())
            .or_default()
            .insert(key, object);
    };
    for mut environment in environments {
        let Some(ty) = kube::resolve_kind(api, text(&environment, "/apiVersion"), "Environment")
        else {
            continue;
        };
        let name = kube::name_of(&environment).unwrap_or_default().to_string();
        if name.is_empty() {
            continue;
        }
        environment["metadata"]["namespace"] = json!(environment_namespace);
        environment["metadata"]["labels"] = json!({"kustomize.toolkit.fluxcd.io/name": "control-plane", "kustomize.toolkit.fluxcd.io/namespace": FLUX_NAMESPACE});
        environment["status"] =
            json!({"conditions": [ready_condition("True", "FluxResourcesCreated", "", &now)]});
        let repo = text(&environment, "/spec/controlPlane/repo").to_string();
        let branch = text(&environment, "/spec/controlPlane/branch").to_string();
        let path = text(&environment, "/spec/controlPlane/path").to_string();
        insert(&mut made, &ty.qualified(), stamped(environment, &now));
        insert(
            &mut made,
            "namespaces",
            stamped(kube::namespace(&name, &[]), &now),
        );
        let (mut env_source, mut env_kustomization) =
            flux_pair(&name, &name, &repo, &branch, &path, "", &now);
        env_source["status"] = cluster::git_repository_status(ctx, server, &env_source);
        env_kustomization["status"] = cluster::kustomization_status_from(
            ctx,
            server,
            &env_kustomization,
            Some(env_source.clone()),
        );
        let applied = is_ready(&env_kustomization["status"]);
        insert(&mut made, GIT_REPOSITORIES, env_source);
        insert(&mut made, KUSTOMIZATIONS, env_kustomization);
        if !applied {
            continue;
        }
        let Some(env_bare) = bare_of(ctx, &repo) else {
            continue;
        };
        // What the environment's Kustomization applies into the environment's namespace,
        // then what the BaseRepos' Kustomizations apply there (Templates, workload
        // registrations from `main`).
        let mut applied: Vec<(String, Value)> = Vec::new();
        let apply = |applied: &mut Vec<(String, Value)>, objects: Vec<Value>, owner: &str| {
            for mut object in objects {
                let kind = text(&object, "/kind").to_string();
                let Some(ty) = kube::resolve_kind(api, text(&object, "/apiVersion"), &kind) else {
                    continue;
                };
                if !ty.namespaced {
                    continue;
                }
                object["metadata"]["namespace"] = json!(name);
                object["metadata"]["labels"][FLUX_OWNER_LABEL] = json!(owner);
                object["metadata"]["labels"][FLUX_NAMESPACE_LABEL] = json!(FLUX_NAMESPACE);
                applied.push((ty.qualified(), object));
            }
        };
        apply(&mut applied, manifests(&env_bare, &branch, &path), &name);
        let base_repos: Vec<Value> = applied
            .iter()
            .filter(|(_, o)| o["kind"] == "BaseRepo")
            .map(|(_, o)| o.clone())
            .collect();
        for base in &base_repos {
            let base_name = format!("{name}-{}", kube::name_of(base).unwrap_or_default());
            let (mut base_source, mut base_kustomization) = flux_pair(
                &base_name,
                &name,
                text(base, "/spec/repo"),
                text(base, "/spec/branch"),
                text(base, "/spec/path"),
                text(base, "/spec/commit"),
                &now,
            );
            base_source["status"] = cluster::git_repository_status(ctx, server, &base_source);
            base_kustomization["status"] = cluster::kustomization_status_from(
                ctx,
                server,
                &base_kustomization,
                Some(base_source.clone()),
            );
            let base_applied = is_ready(&base_kustomization["status"]);
            insert(&mut made, GIT_REPOSITORIES, base_source);
            insert(&mut made, KUSTOMIZATIONS, base_kustomization);
            if !base_applied {
                continue;
            }
            if let Some(base_bare) = bare_of(ctx, text(base, "/spec/repo")) {
                let rev = match text(base, "/spec/commit") {
                    "" => format!("refs/heads/{}", text(base, "/spec/branch")),
                    commit => commit.to_string(),
                };
                let objects = manifests_at(&base_bare, &rev, text(base, "/spec/path"))
                    .into_iter()
                    // The environment's own Flux objects apply Environments; a base
                    // repository's `.sourceignore` leaves them out.
                    .filter(|o| o["kind"] != "Environment")
                    .collect();
                apply(&mut applied, objects, &base_name);
            }
        }
        // The workload registrations: a Flux pair each, whose Kustomization applies the
        // Workloads of the workload's repository into the namespace.
        let registrations: Vec<Value> = applied
            .iter()
            .filter(|(_, o)| o["kind"] == "WorkloadRegistration")
            .map(|(_, o)| o.clone())
            .collect();
        for registration in &registrations {
            let flux_name = format!("{name}-{}", kube::name_of(registration).unwrap_or_default());
            let repo = text(registration, "/spec/workload/repo").to_string();
            let branch = text(registration, "/spec/workload/branch").to_string();
            let path = text(registration, "/spec/workload/path").to_string();
            let (mut source, mut kustomization) =
                flux_pair(&flux_name, &name, &repo, &branch, &path, "", &now);
            source["status"] = cluster::git_repository_status(ctx, server, &source);
            kustomization["status"] = cluster::kustomization_status_from(
                ctx,
                server,
                &kustomization,
                Some(source.clone()),
            );
            let workload_applied = is_ready(&kustomization["status"]);
            insert(&mut made, GIT_REPOSITORIES, source);
            insert(&mut made, KUSTOMIZATIONS, kustomization);
            if !workload_applied {
                continue;
            }
            if let Some(workload_bare) = bare_of(ctx, &repo) {
                let workloads = manifests(&workload_bare, &branch, &path)
                    .into_iter()
                    .filter(|o| o["kind"] == "Workload")
                    .collect();
                apply(&mut applied, workloads, &flux_name);
            }
        }
        let scheduled = schedule_namespace(&name, &applied, &now);
        let cluster_types: Vec<String> = applied
            .iter()
            .filter(|(_, o)| o["kind"] == "ClusterType")
            .filter_map(|(_, o)| kube::name_of(o).map(str::to_string))
            .collect();
        let main_base_repo = applied
            .iter()
            .find(|(_, o)| o["kind"] == "BaseRepo" && kube::name_of(o) == Some("main"))
            .map(|(_, o)| o["spec"].clone())
            .unwrap_or(Value::Null);
        for (qualified, mut object) in applied {
            let object_name = kube::name_of(&object).unwrap_or_default().to_string();
            match text(&object, "/kind") {
                "BaseRepo" | "WorkloadRegistration" => {
                    object["status"] = json!({"conditions": [ready_condition("True", "FluxResourcesCreated", "", &now)]});
                }
                "Workload" => {
                    object["status"] = match scheduled.workload_errors.get(&object_name) {
                        None => {
                            json!({"conditions": [ready_condition("True", "DeploymentTargetsCreated", "", &now)]})
                        }
                        Some(error) => {
                            json!({"conditions": [ready_condition("False", "UpdateFailed", error, &now)]})
                        }
                    };
                }
                "SchedulingPolicy" => {
                    object["status"] = match scheduled.policy_errors.get(&object_name) {
                        None => {
                            json!({"conditions": [ready_condition("True", "AssignmentsCreated", "", &now)]})
                        }
                        Some(error) => {
                            json!({"conditions": [ready_condition("False", "UpdateFailed", error, &now)]})
                        }
                    };
                }
                "GitOpsRepo" => {
                    let content = json!({
                        "clusterTypes": cluster_types,
                        "packages": scheduled.packages.iter().map(|p| json!([p.cluster_type, p.deployment_target, p.spec])).collect::<Vec<_>>(),
                        "baseRepo": main_base_repo,
                    });
                    let repo = GitopsRepo {
                        server: server.to_string(),
                        namespace: name.clone(),
                        name: object_name.clone(),
                        repo: text(&object, "/spec/repo").to_string(),
                        branch: text(&object, "/spec/branch").to_string(),
                        cluster_types: cluster_types.clone(),
                        packages: scheduled.packages.clone(),
                        promoted_commit: text(&main_base_repo, "/commit").to_string(),
                        ready_to_pr: scheduled.ready_to_pr,
                        content_hash: format!("{:016x}", kube::fnv(&content.to_string())),
                    };
                    let key = format!("{name}/{object_name}");
                    let status = api
                        .gitops_repo_status
                        .get(&key)
                        .cloned()
                        .unwrap_or_default();
                    object["status"] = gitops_repo_status_json(&status, &now);
                    gitops.push(repo);
                }
                _ => {}
            }
            insert(&mut made, &qualified, stamped(object, &now));
        }
        for object in scheduled.made {
            let kind = text(&object, "/kind").to_string();
            if let Some(ty) = kube::resolve_kind(api, text(&object, "/apiVersion"), &kind) {
                insert(&mut made, &ty.qualified(), stamped(object, &now));
            }
        }
    }
    (made, gitops)
}

/// One AssignmentPackage as the GitOpsRepo controller proposes it: cluster type,
/// deployment target, spec.
#[derive(Clone, Debug)]
struct Package {
    cluster_type: String,
    deployment_target: String,
    spec: Value,
}

/// What the Workload, SchedulingPolicy and Assignment controllers made in one namespace.
#[derive(Default)]
struct NamespaceSchedule {
    /// DeploymentTargets, Assignments (with their status), AssignmentPackages.
    made: Vec<Value>,
    workload_errors: BTreeMap<String, String>,
    policy_errors: BTreeMap<String, String>,
    packages: Vec<Package>,
    /// `readyToPR` of the GitOpsRepo controller.
    ready_to_pr: bool,
}

/// The controllers of `scheduling` over the objects applied into `namespace`.
fn schedule_namespace(
    namespace: &str,
    applied: &[(String, Value)],
    now: &str,
) -> NamespaceSchedule {
    let mut out = NamespaceSchedule::default();
    let objects: Vec<Value> = applied.iter().map(|(_, o)| o.clone()).collect();
    let registrations: Vec<Value> = objects
        .iter()
        .filter(|o| o["kind"] == "WorkloadRegistration")
        .cloned()
        .collect();
    let mut targets = Vec::new();
    for workload in objects.iter().filter(|o| o["kind"] == "Workload") {
        match scheduling::deployment_targets(workload, namespace, &registrations) {
            Ok(made) => targets.extend(made),
            Err(error) => {
                out.workload_errors
                    .insert(scheduling::name(workload).to_string(), error);
            }
        }
    }
    // Two Workloads may name the same DeploymentTarget: the first is created, the
    // other updates it (last writer wins in the real controllers; here the last one).
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    for target in targets {
        by_name.insert(scheduling::name(&target).to_string(), target);
    }
    let targets: Vec<Value> = by_name.into_values().collect();
    let cluster_types: Vec<Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ClusterType")
        .cloned()
        .collect();
    let mut assignments: BTreeMap<String, Value> = BTreeMap::new();
    let mut policies_ready = true;
    for policy in objects.iter().filter(|o| o["kind"] == "SchedulingPolicy") {
        let policy_name = scheduling::name(policy).to_string();
        let scheduled = scheduling::schedule(policy, &cluster_types, &targets, namespace);
        if let Some(error) = scheduled.error {
            policies_ready = false;
            out.policy_errors.insert(policy_name.clone(), error);
        }
        for assignment in scheduled.assignments {
            // A second policy making the same Assignment fails to create it.
            let assignment_name = scheduling::name(&assignment).to_string();
            if assignments.contains_key(&assignment_name) {
                policies_ready = false;
                out.policy_errors.insert(
                    policy_name.clone(),
                    format!(
                        "assignments.scheduler.kalypso.io \"{assignment_name}\" already exists"
                    ),
                );
                continue;
            }
            assignments.insert(assignment_name, assignment);
        }
    }
    let mut all_with_targets = objects.clone();
    all_with_targets.extend(targets.iter().cloned());
    let mut assignments_ready = true;
    // Rendering is the costly part of `derive`, which runs before every simulated command:
    // each package is rendered once per content of the namespace.
    let content = serde_json::to_string(&all_with_targets).unwrap_or_default();
    for (_, mut assignment) in assignments {
        let key = kube::fnv(&format!("{content}\n{assignment}"));
        match rendered_package(key, || {
            scheduling::assignment_package(&assignment, &all_with_targets)
        }) {
            Ok(package) => {
                assignment["status"] = json!({"conditions": [ready_condition("True", "AssignmentPackageCreated", "", now)]});
                out.packages.push(Package {
                    cluster_type: text(&assignment, "/spec/clusterType").to_string(),
                    deployment_target: text(&assignment, "/spec/deploymentTarget").to_string(),
                    spec: package["spec"].clone(),
                });
                out.made.push(package);
            }
            Err(error) => {
                assignments_ready = false;
                assignment["status"] =
                    json!({"conditions": [ready_condition("False", "UpdateFailed", &error, now)]});
            }
        }
        out.made.push(assignment);
    }
    for mut target in targets {
        target["status"] = json!({});
        out.made.push(target);
    }
    out.ready_to_pr = policies_ready && assignments_ready;
    out
}

/// The result of `render` for `key`, computed once (bounded).
fn rendered_package(
    key: u64,
    render: impl FnOnce() -> Result<Value, String>,
) -> Result<Value, String> {
    type Rendered = HashMap<u64, Result<Value, String>>;
    static RENDERED: std::sync::OnceLock<std::sync::Mutex<Rendered>> = std::sync::OnceLock::new();
    let cache = RENDERED.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return found.clone();
    }
    let result = render();
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 2_000 {
        cache.clear();
    }
    cache.insert(key, result.clone());
    result
}

fn gitops_repo_status_json(status: &GitopsRepoStatus, now: &str) -> Value {
    let mut conditions = Vec::new();
    if let Some((state, reason, message)) = &status.ready {
        conditions.push(ready_condition(state, reason, message, now));
    }
    if let Some(since) = &status.ready_to_pr_since {
        conditions.push(json!({"type": "ReadyToPR", "status": "True", "reason": "ReadyForPR", "message": "", "lastTransitionTime": since}));
    }
    let mut value = json!({"conditions": conditions});
    if !status.repo_content_hash.is_empty() {
        value["repoContentHash"] = json!(status.repo_content_hash);
    }
    value
}

/// The objects of `resource` the controllers made on `server`, by object key.
pub(crate) fn derived(ctx: &Ctx<'_>, server: &str, resource: &str) -> BTreeMap<String, Value> {
    let made_by_controllers = [GIT_REPOSITORIES, KUSTOMIZATIONS, "namespaces"].contains(&resource)
        || resource.ends_with(&format!(".{GROUP}"));
    if !made_by_controllers || controller_namespace(ctx, server).is_none() {
        return BTreeMap::new();
    }
    derive(ctx, server).0.remove(resource).unwrap_or_default()
}

/// Let the controllers of every cluster act: each GitOpsRepo ready for a pull request gets
/// one (or the error GitHub answered) once its wait is over.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let servers: Vec<String> = ctx
        .world
        .kube
        .keys()
        .filter(|server| controller_namespace(ctx, server).is_some())
        .cloned()
        .collect();
    for server in servers {
        let (_, repos) = derive(ctx, &server);
        let keys: Vec<String> = repos
            .iter()
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect();
        if let Some(api) = ctx.world.kube.get_mut(&server) {
            // The status goes with its GitOpsRepo.
            api.gitops_repo_status.retain(|key, _| keys.contains(key));
        }
        for repo in repos {
            reconcile_gitops_repo(ctx, &repo);
        }
    }
    // A cluster without the controller keeps no GitOpsRepo status.
    let without: Vec<String> = ctx
        .world
        .kube
        .keys()
        .filter(|server| controller_namespace(ctx, server).is_none())
        .cloned()
        .collect();
    for server in without {
        if let Some(api) = ctx.world.kube.get_mut(&server) {
            api.gitops_repo_status.clear();
        }
    }
}

fn reconcile_gitops_repo(ctx: &mut Ctx<'_>, repo: &GitopsRepo) {
    let key = format!("{}/{}", repo.namespace, repo.name);
    let now = ctx.timestamp.clone();
    let mut status = ctx.world.kube[&repo.server]
        .gitops_repo_status
        .get(&key)
        .cloned()
        .unwrap_or_default();
    if !repo.ready_to_pr {
        // `readyToPR` false: the controller changes nothing until every SchedulingPolicy
        // and Assignment is Ready.
    } else if status.repo_content_hash == repo.content_hash {
        status.ready_to_pr_since = None;
    } else {
        match &status.ready_to_pr_since {
            None => status.ready_to_pr_since = Some(now.clone()),
            Some(since) if waited(since, &now, ctx.world.latency.scheduler_pull_request) => {
                let started = worker_start(ctx, &repo.server, &now);
                match create_pr(ctx, repo, &started) {
                    Ok(()) => {
                        status.ready = Some(("True".into(), "PRCreated".into(), String::new()));
                        status.ready_to_pr_since = None;
                        status.repo_content_hash = repo.content_hash.clone();
                    }
                    // `manageFailure`: the condition set, ReadyToPR kept, retried.
                    Err(message) => {
                        status.ready = Some(("False".into(), "UpdateFailed".into(), message));
                    }
                }
            }
            Some(_) => {}
        }
    }
    if let Some(api) = ctx.world.kube.get_mut(&repo.server) {
        api.gitops_repo_status.insert(key, status);
    }
}

/// The GitHub calls of one `CreatePR` (`scheduler/githubrepo.go`), made one after the
/// other: GetRef of the base and of the head, CreateRef, GetTree, CreateTree, GetCommit,
/// CreateCommit, UpdateRef, the list of open pull requests, and Create.
const CREATE_PR_GITHUB_CALLS: u32 = 10;

/// When the GitOpsRepo controller's one worker starts a pull request asked for at `now`:
/// not before it finished the GitHub calls of its previous one (controller-runtime's default
/// of one reconcile at a time). Each call takes what a `gh api` call takes in this world.
/// The time names the branch (`deployment/<time>`, to the second), so pull requests of
/// several environments share a branch exactly when the real ones would: all proposed
/// within one second.
fn worker_start(ctx: &mut Ctx<'_>, server: &str, now: &str) -> String {
    let format = time::format_description::well_known::Rfc3339;
    let Ok(now_time) = time::OffsetDateTime::parse(now, &format) else {
        return now.to_string();
    };
    let per_call = ctx
        .world
        .latency
        .for_command(&["gh".to_string(), "api".to_string()]);
    let free_at = ctx.world.scheduler_worker_free_at.get(server).copied();
    let (start, done) = worker_slot(free_at, now_time, per_call);
    ctx.world
        .scheduler_worker_free_at
        .insert(server.to_string(), done);
    let whole_seconds =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    start
        .format(&whole_seconds)
        .unwrap_or_else(|_| now.to_string())
}

/// When the worker, free at `free_at`, starts a pull request asked for at `now`, and when
/// it is done with it (its [`CREATE_PR_GITHUB_CALLS`] calls of `per_call` each).
fn worker_slot(
    free_at: Option<time::OffsetDateTime>,
    now: time::OffsetDateTime,
    per_call: std::time::Duration,
) -> (time::OffsetDateTime, time::OffsetDateTime) {
    let start = free_at.filter(|free| *free > now).unwrap_or(now);
    (start, start + per_call * CREATE_PR_GITHUB_CALLS)
}

/// Whether `wait` has passed from `since` to `now` (Kubernetes timestamps, to the second).
fn waited(since: &str, now: &str, wait: std::time::Duration) -> bool {
    let format = time::format_description::well_known::Rfc3339;
    match (
        time::OffsetDateTime::parse(since, &format),
        time::OffsetDateTime::parse(now, &format),
    ) {
        (Ok(since), Ok(now)) => now - since >= wait,
        _ => true,
    }
}

/// `githubRepo.CreatePR` as the chart's token: go-github's error text on failure.
fn create_pr(ctx: &mut Ctx<'_>, repo: &GitopsRepo, now: &str) -> Result<(), String> {
    // `parseRepoURL`: the path's first two segments, whatever the host.
    let Some((owner, name)) = parse_repo_ref(&repo.repo) else {
        return Err("invalid repo url".to_string());
    };
    let api_url = format!("{GITHUB_API}/repos/{owner}/{name}");
    let get_ref = format!("GET {api_url}/git/ref/heads/{}", repo.branch);
    // `getGitHubClient` is `github.NewClient`: always api.github.com, never the host of the
    // GitOpsRepo's URL. A token of a GitHub Enterprise Server means nothing there.
    if ctx.world.github.host() != "github.com" {
        return Err(format!("{get_ref}: 401 Bad credentials []"));
    }
    let release_namespace = controller_namespace(ctx, &repo.server).unwrap_or_default();
    // GITHUB_AUTH_TOKEN: the `token` key of the chart's gh-repo-secret in its namespace.
    let token = ctx
        .world
        .kube_secret_values
        .get(&(
            repo.server.clone(),
            release_namespace,
            REPO_SECRET.to_string(),
        ))
        .and_then(|data| data.get("token"));
    let Some(login) = token.and_then(|t| t.github_login(ctx.world)) else {
        return Err(format!("{get_ref}: 401 Bad credentials []"));
    };
    let scopes = ctx
        .world
        .github
        .users
        .get(&login.to_ascii_lowercase())
        .map(|u| u.scopes.clone())
        .unwrap_or_default();
    let key = key2(&owner, &name);
    let Some(target) = ctx.world.github.repos.get(&key).cloned() else {
        return Err(format!("{get_ref}: 404 Not Found []"));
    };
    let public = target.visibility == "PUBLIC";
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    // A classic token reads a private repository only with the `repo` scope.
    if !ctx.world.can_read_repo(&login, &key) || !public && !has("repo") {
        return Err(format!("{get_ref}: 404 Not Found []"));
    }
    let bare = ctx.paths.bare_repo(&target.owner, &target.name);
    let Some(base) = git::rev_parse(&bare, &format!("refs/heads/{}", repo.branch)) else {
        return Err(format!("{get_ref}: 404 Not Found []"));
    };
    let head = format!("deployment/{}", deployment_time(now));
    let may_write =
        ctx.world.can_write_repo(&login, &key) && (has("repo") || public && has("public_repo"));
    if !may_write {
        // `getBranch` creates the head branch: the first write.
        return Err(format!(
            "POST {api_url}/git/refs: 403 Resource not accessible by personal access token []"
        ));
    }
    // `getBranch`: a head branch that exists already (another GitOpsRepo of this
    // repository proposed within the same second) is reused as it is, and the commit goes
    // on top of it.
    let start = git::rev_parse(&bare, &format!("refs/heads/{head}")).unwrap_or(base);
    let PullRequestTree {
        files,
        deletions,
        promoted,
    } = pull_request_tree(&bare, &start, repo);
    git::commit_changes_on(
        &bare,
        &start,
        &head,
        &files,
        &deletions,
        "Kalypso Scheduler commit",
    )
    .map_err(|e| format!("POST {api_url}/git/commits: 500 {e} []"))?;
    let target = ctx
        .world
        .github
        .repos
        .get_mut(&key)
        .expect("the repository was read above");
    // `cleanPullRequests`: the open ones against the branch are closed, their branches gone.
    let mut stale = Vec::new();
    for pull in target.pulls.iter_mut() {
        if pull.state == "OPEN" && pull.base == repo.branch {
            pull.state = "CLOSED".to_string();
            pull.head_oid = git::rev_parse(&bare, &format!("refs/heads/{}", pull.head));
            stale.push(pull.head.clone());
        }
    }
    let number = target.pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1;
    target.pulls.push(GithubPullRequest {
        number,
        title: format!("Update manifests in {} from {head}", repo.branch),
        body: "This PR updates the manifests in GitOps Repo".to_string(),
        head: head.clone(),
        base: repo.branch.clone(),
        state: "OPEN".to_string(),
        author: login,
        created_at: now.to_string(),
        labels: if promoted {
            vec![PROMOTED_LABEL.to_string()]
        } else {
            Vec::new()
        },
        ..Default::default()
    });
    for branch in stale.into_iter().filter(|b| *b != head) {
        let _ = git::delete_branch(&bare, &branch);
    }
    Ok(())
}

/// `getTree` of `scheduler/githubrepo.go`: the files to write (a README per cluster
/// type, the manifests per deployment target, `.github/tracking/Promoted_Commit_Id` when
/// the `main` BaseRepo pins a commit that differs from the recorded one), the files to
/// delete (those under a cluster-type or deployment-target folder no longer proposed;
/// dot folders and root files are kept), and whether the commit is a promotion.
fn pull_request_tree(bare: &Path, base: &str, repo: &GitopsRepo) -> PullRequestTree {
    let existing = git::tree(bare, base).map(|(_, e)| e).unwrap_or_default();
    let mut deletions = Vec::new();
    for entry in existing.iter().filter(|e| e.kind == "blob") {
        let parts: Vec<&str> = entry.path.split('/').collect();
        if parts.len() < 2 || parts[0].starts_with('.') {
            continue;
        }
        // `content.ClusterTypes`: every ClusterType, and the cluster type of every package.
        let known_type = repo.cluster_types.iter().any(|c| c == parts[0])
            || repo.packages.iter().any(|p| p.cluster_type == parts[0]);
        let kept = known_type
            && (parts[1] == README
                || repo
                    .packages
                    .iter()
                    .any(|p| p.cluster_type == parts[0] && p.deployment_target == parts[1]));
        if !kept {
            deletions.push(entry.path.clone());
        }
    }
    let mut files = Vec::new();
    let mut promoted = false;
    if !repo.promoted_commit.is_empty() {
        let recorded = existing
            .iter()
            .find(|e| e.kind == "blob" && e.path == PROMOTED_COMMIT_PATH)
            .and_then(|e| git::blob(bare, &e.sha));
        if recorded.as_deref() != Some(repo.promoted_commit.as_str()) {
            files.push((
                PROMOTED_COMMIT_PATH.to_string(),
                repo.promoted_commit.as_bytes().to_vec(),
            ));
            promoted = true;
        }
    }
    let mut cluster_types: Vec<&String> = repo.cluster_types.iter().collect();
    for package in &repo.packages {
        if !cluster_types.contains(&&package.cluster_type) {
            cluster_types.push(&package.cluster_type);
        }
        for (path, content) in scheduling::package_files(
            &package.cluster_type,
            &package.deployment_target,
            &package.spec,
        ) {
            files.push((path, content.into_bytes()));
        }
    }
    for cluster_type in cluster_types {
        files.push((
            format!("{cluster_type}/{README}"),
            README_CONTENT.as_bytes().to_vec(),
        ));
    }
    PullRequestTree {
        files,
        deletions,
        promoted,
    }
}

/// What [`pull_request_tree`] puts in the scheduler's commit.
struct PullRequestTree {
    files: Vec<(String, Vec<u8>)>,
    deletions: Vec<String>,
    promoted: bool,
}

/// `readmeFilename`, `readmeContent`, `Promoted_Commit_Id_Path`, `prometedLabel`.
const README: &str = "README.md";
const README_CONTENT: &str =
    "This folder contains deployment targets scheduled on the cluster type";
const PROMOTED_COMMIT_PATH: &str = ".github/tracking/Promoted_Commit_Id";
const PROMOTED_LABEL: &str = "promoted";

/// `time.Now().Format("2006-01-02-15-04-05")` from a Kubernetes timestamp.
fn deployment_time(now: &str) -> String {
    now.trim_end_matches('Z').replace(['T', ':'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pull requests asked for at once start one after the other, each after the GitHub
    /// calls of the one before: with GitHub answering in 150 ms, a second and a half apart
    /// (branches of their own); with an instant GitHub, in the same second (one branch,
    /// as the real scheduler's would share).
    #[test]
    fn the_one_worker_opens_pull_requests_one_after_the_other() {
        let now = time::macros::datetime!(2026-12-07 08:00:00.2 UTC);
        let per_call = std::time::Duration::from_millis(150);
        let (first, free) = worker_slot(None, now, per_call);
        assert_eq!(first, now);
        assert_eq!(free, now + std::time::Duration::from_millis(1500));
        let (second, free) = worker_slot(Some(free), now, per_call);
        assert_eq!(second, now + std::time::Duration::from_millis(1500));
        assert_ne!(second.second(), first.second());
        let (third, _) = worker_slot(Some(free), now, per_call);
        assert_ne!(third.second(), second.second());
        // Free since before the request: it starts at once.
        let later = now + std::time::Duration::from_secs(10);
        assert_eq!(worker_slot(Some(free), later, per_call).0, later);
        // An instant GitHub: all in the same second.
        let (a, free) = worker_slot(None, now, std::time::Duration::ZERO);
        let (b, _) = worker_slot(Some(free), now, std::time::Duration::ZERO);
        assert_eq!(a.second(), b.second());
    }
}
