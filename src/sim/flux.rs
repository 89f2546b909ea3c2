//! Flux's kustomize-controller applying what a Kustomization names, on any simulated
//! cluster running Flux (read from fluxcd/kustomize-controller and fluxcd/pkg/kustomize):
//!
//! - A Kustomization whose GitRepository is Ready builds `spec.path` of the source's
//!   artifact at its revision: a `kustomization.yaml` there lists (and orders) its
//!   `resources:` (files, or directories with a kustomization of their own), and sets
//!   `namespace:` when it names one; without one, kustomize-controller generates it from
//!   every YAML file of the directory tree that is a Kubernetes object, a sub-directory
//!   with a kustomization of its own being built by it (`generator.go`).
//! - The built objects get `spec.targetNamespace` as their namespace when it is set
//!   (namespaced kinds only) and the labels `kustomize.toolkit.fluxcd.io/name` and
//!   `…/namespace`; then they are applied. A namespaced object with no namespace, a
//!   namespace that does not exist, or a kind the cluster does not serve fails the whole
//!   apply with the controller's error, and nothing of it is applied.
//! - The Kustomization reports `Ready=True, ReconciliationSucceeded, "Applied revision:
//!   REV"`, `lastAppliedRevision` and its inventory, else `Ready=False` with the error.
//! - Applied GitRepositories and Kustomizations reconcile in turn (a bounded number of
//!   levels); applied Deployments roll out, their pods running when every ConfigMap key
//!   their containers read exists (else the pods wait in `CreateContainerConfigError`, as
//!   the kubelet leaves them).
//!
//! Like the Kalypso Scheduler's objects ([`super::kalypso`]), applied objects are derived
//! from the cluster and the simulated GitHub as they are now: deleting the Kustomization
//! (whose `prune: true` garbage-collects them) removes them, and a new commit changes them.
//! The chart's own `control-plane` Kustomization is left to [`super::kalypso`], which
//! derives what it applies; every other stored Kustomization is applied here, on the
//! management cluster as on any other.
//!
//! Not modelled: `spec.suspend`, `dependsOn`, health checks (`wait`, `healthChecks`),
//! patches and the other kustomize transformers, remote bases, and what an unpruned
//! Kustomization (`prune: false`) leaves behind when it is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use super::cluster;
use super::command::Ctx;
use super::git::{self, GitTreeEntry};
use super::kalypso::{parsed_objects, Objects};
use super::kube::{self, ResourceType};
use super::scheduling::{FLUX_NAMESPACE_LABEL, FLUX_OWNER_LABEL};
use super::world::node_names;

pub(crate) const GIT_REPOSITORIES: &str = "gitrepositories.source.toolkit.fluxcd.io";
pub(crate) const KUSTOMIZATIONS: &str = "kustomizations.kustomize.toolkit.fluxcd.io";
/// How many levels of Kustomizations applying Kustomizations are followed.
const MAX_LEVELS: usize = 8;
/// The file names kustomize reads as a directory's kustomization.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What Flux made of a cluster's Kustomizations.
#[derive(Default, PartialEq)]
pub(crate) struct Reconciled {
    /// The objects the Kustomizations applied (not those stored by a client), with the
    /// status their controllers report.
    pub applied: Objects,
    /// The status of each stored GitRepository and Kustomization, by qualified resource and
    /// object key.
    pub statuses: BTreeMap<(String, String), Value>,
}

/// Whether a stored Kustomization is the Kalypso chart's, whose content
/// [`super::kalypso`] derives.
fn is_kalypso_chart_kustomization(object: &Value) -> bool {
    object.pointer("/metadata/labels/app.kubernetes.io~1name") == Some(&json!("kalypso-scheduler"))
}

/// Everything Flux applied on `server`, and the statuses of its stored Flux objects.
pub(crate) fn reconcile(ctx: &Ctx<'_>, server: &str) -> Reconciled {
    let mut reconciled = Reconciled::default();
    if !cluster::flux_running(ctx, server) {
        return reconciled;
    }
    let Some(api) = ctx.world.kube.get(server) else {
        return reconciled;
    };
    if kube::resolve(api, KUSTOMIZATIONS).is_none() {
        return reconciled;
    }
    for _ in 0..MAX_LEVELS {
        let next = reconcile_once(ctx, server, &reconciled.applied);
        if next == reconciled {
            break;
        }
        reconciled = next;
    }
    finish_workloads(ctx, server, &mut reconciled.applied);
    reconciled
}

/// source-controller storing an artifact for every GitRepository it can fetch now (stored
/// or applied, on every cluster running Flux), and dropping those of GitRepositories that
/// are gone. Runs before each simulated command, as the controllers run on their own.
pub(crate) fn store_artifacts(ctx: &mut Ctx<'_>) {
    let servers: Vec<String> = ctx.world.kube.keys().cloned().collect();
    let mut fetched: Vec<((String, String), String)> = Vec::new();
    let mut existing: BTreeSet<(String, String)> = BTreeSet::new();
    for server in servers {
        if !cluster::flux_running(ctx, &server) {
            continue;
        }
        let mut sources = ctx.world.kube[&server]
            .objects
            .get(GIT_REPOSITORIES)
            .cloned()
            .unwrap_or_default();
        for (key, object) in reconcile(ctx, &server)
            .applied
            .remove(GIT_REPOSITORIES)
            .unwrap_or_default()
        {
            sources.entry(key).or_insert(object);
        }
        for (key, object) in sources {
            let slot = (server.clone(), key);
            if let Ok(revision) = cluster::fetch_source(ctx, &server, &object) {
                fetched.push((slot.clone(), revision));
            }
            existing.insert(slot);
        }
    }
    let artifacts = &mut ctx.world.flux_artifacts;
    artifacts.retain(|slot, _| existing.contains(slot));
    artifacts.extend(fetched);
}

/// The objects of `resource` Flux applied on `server`, by object key.
pub(crate) fn applied(ctx: &Ctx<'_>, server: &str, resource: &str) -> BTreeMap<String, Value> {
    reconcile(ctx, server)
        .applied
        .remove(resource)
        .unwrap_or_default()
}

/// The status Flux reports for a stored GitRepository or Kustomization.
pub(crate) fn stored_status(
    ctx: &Ctx<'_>,
    server: &str,
    resource: &str,
    key: &str,
) -> Option<Value> {
    reconcile(ctx, server)
        .statuses
        .remove(&(resource.to_string(), key.to_string()))
}

/// One pass: every Kustomization (stored, or applied by the previous pass) applied over
/// the sources and namespaces of the previous pass.
fn reconcile_once(ctx: &Ctx<'_>, server: &str, previous: &Objects) -> Reconciled {
    let api = &ctx.world.kube[server];
    let now = &ctx.timestamp;
    let stored = |resource: &str| api.objects.get(resource).cloned().unwrap_or_default();
    let mut out = Reconciled::default();
    // The sources Flux sees: stored ones first (a client's apply wins over a Kustomization's).
    let mut sources: BTreeMap<String, Value> =
        previous.get(GIT_REPOSITORIES).cloned().unwrap_or_default();
    for (key, object) in stored(GIT_REPOSITORIES) {
        let status = cluster::git_repository_status(ctx, server, &object);
        out.statuses
            .insert((GIT_REPOSITORIES.to_string(), key.clone()), status.clone());
        let mut object = object;
        object["status"] = status;
        sources.insert(key, object);
    }
    let mut namespaces: BTreeSet<String> = stored("namespaces").keys().cloned().collect();
    if let Some(applied) = previous.get("namespaces") {
        namespaces.extend(applied.keys().cloned());
    }
    let stored_kustomizations = stored(KUSTOMIZATIONS);
    let mut kustomizations: Vec<(String, Value, bool)> = stored_kustomizations
        .iter()
        .map(|(k, o)| (k.clone(), o.clone(), true))
        .collect();
    for (key, object) in previous.get(KUSTOMIZATIONS).into_iter().flatten() {
        if !stored_kustomizations.contains_key(key) {
            kustomizations.push((key.clone(), object.clone(), false));
        }
    }
    let is_stored = |resource: &str, key: &str| {
        api.objects
            .get(resource)
            .is_some_and(|objects| objects.contains_key(key))
    };
    for (key, object, from_client) in kustomizations {
        let (source_ns, source_name) = cluster::kustomization_source(&object);
        let source = sources.get(&format!("{source_ns}/{source_name}")).cloned();
        let result = apply_kustomization(ctx, server, &object, source, &namespaces);
        let status = match &result {
            Ok((revision, objects)) => applied_status(revision, objects, now),
            Err(status) => status.clone(),
        };
        if from_client {
            out.statuses
                .insert((KUSTOMIZATIONS.to_string(), key.clone()), status.clone());
        } else {
            let mut object = object.clone();
            object["status"] = status;
            out.applied
                .entry(KUSTOMIZATIONS.to_string())
                .or_default()
                .insert(key.clone(), object);
        }
        if from_client && is_kalypso_chart_kustomization(&object) {
            continue;
        }
        let Ok((_, objects)) = result else {
            continue;
        };
        for (ty, object_key, mut object) in objects {
            let resource = ty.qualified();
            // What a client stored stays as stored; a Kustomization's is the first's.
            if is_stored(&resource, &object_key)
                || out
                    .applied
                    .get(&resource)
                    .is_some_and(|o| o.contains_key(&object_key))
            {
                continue;
            }
            match ty.kind.as_str() {
                "GitRepository" => {
                    object["status"] = cluster::git_repository_status(ctx, server, &object);
                }
                // Its status is set when it is reconciled, in the next pass.
                "Kustomization" => {
                    if let Some(earlier) = previous
                        .get(KUSTOMIZATIONS)
                        .and_then(|o| o.get(&object_key))
                    {
                        object["status"] = earlier["status"].clone();
                    }
                }
                _ => {}
            }
            out.applied
                .entry(resource)
                .or_default()
                .insert(object_key, object);
        }
    }
    out
}

/// The status of a Kustomization that applied `objects` at `revision`.
fn applied_status(revision: &str, objects: &[(ResourceType, String, Value)], now: &str) -> Value {
    let entries: Vec<Value> = objects
        .iter()
        .map(|(ty, _, object)| {
            let namespace = if ty.namespaced {
                kube::namespace_of(object).unwrap_or_default()
            } else {
                ""
            };
            let name = kube::name_of(object).unwrap_or_default();
            let version = ty.api_version();
            let version = version.rsplit('/').next().unwrap_or_default().to_string();
            json!({"id": format!("{namespace}_{name}_{}_{}", ty.group, ty.kind), "v": version})
        })
        .collect();
    json!({
        "conditions": cluster::flux_condition(true, "ReconciliationSucceeded", &format!("Applied revision: {revision}"), now),
        "inventory": {"entries": entries},
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "observedGeneration": 1,
    })
}

/// `Ok((revision, objects to apply))`, else the Kustomization's failed status.
#[allow(clippy::type_complexity)]
fn apply_kustomization(
    ctx: &Ctx<'_>,
    server: &str,
    object: &Value,
    source: Option<Value>,
    namespaces: &BTreeSet<String>,
) -> Result<(String, Vec<(ResourceType, String, Value)>), Value> {
    let now = &ctx.timestamp;
    let failed = |reason: &str, message: &str, revision: Option<&str>| {
        let mut status = json!({"conditions": cluster::flux_condition(false, reason, message, now), "observedGeneration": 1});
        if let Some(revision) = revision {
            status["lastAttemptedRevision"] = json!(revision);
        }
        status
    };
    let status = cluster::kustomization_status_from(ctx, server, object, source.clone());
    let Some(revision) = status
        .get("lastAppliedRevision")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(status);
    };
    let source = source.expect("a Ready Kustomization has its source");
    let Some((bare, entries)) = source_tree(ctx, &source, &revision) else {
        return Err(failed(
            "ArtifactFailed",
            "Source artifact not found, retrying in 30s",
            None,
        ));
    };
    let path = object
        .pointer("/spec/path")
        .and_then(Value::as_str)
        .unwrap_or("./");
    let built = build(&bare, &entries, &normalise(path), 0)
        .map_err(|message| failed("BuildFailed", &message, Some(&revision)))?;
    let api = &ctx.world.kube[server];
    let name = kube::name_of(object).unwrap_or_default();
    let namespace = kube::namespace_of(object).unwrap_or("default");
    let target_namespace = object
        .pointer("/spec/targetNamespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    // Namespaces the apply itself creates (Flux applies them first).
    let mut available = namespaces.clone();
    for built in &built {
        if built["kind"] == "Namespace" && built["apiVersion"] == "v1" {
            if let Some(name) = kube::name_of(built) {
                available.insert(name.to_string());
            }
        }
    }
    let mut objects = Vec::new();
    for mut built in built {
        let api_version = built["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = built["kind"].as_str().unwrap_or_default().to_string();
        let object_name = kube::name_of(&built).unwrap_or_default().to_string();
        let Some(ty) = kube::resolve_kind(api, &api_version, &kind) else {
            return Err(failed(
                "ReconciliationFailed",
                &format!("{kind}/{object_name} dry-run failed: no matches for kind \"{kind}\" in version \"{api_version}\""),
                Some(&revision),
            ));
        };
        let metadata = built["metadata"].as_object_mut();
        let Some(metadata) = metadata else {
            continue;
        };
        if ty.namespaced {
            if let Some(target) = target_namespace {
                metadata.insert("namespace".into(), json!(target));
            }
        } else {
            metadata.remove("namespace");
        }
        let object_namespace = ty
            .namespaced
            .then(|| kube::namespace_of(&built).unwrap_or_default().to_string());
        match &object_namespace {
            Some(ns) if ns.is_empty() => {
                return Err(failed(
                    "ReconciliationFailed",
                    &format!("{kind}/{object_name} namespace not specified: the server could not find the requested resource"),
                    Some(&revision),
                ));
            }
            Some(ns) if !available.contains(ns) => {
                return Err(failed(
                    "ReconciliationFailed",
                    &format!("{kind}/{ns}/{object_name} dry-run failed (NotFound): namespaces \"{ns}\" not found"),
                    Some(&revision),
                ));
            }
            _ => {}
        }
        built["metadata"]["labels"][FLUX_OWNER_LABEL] = json!(name);
        built["metadata"]["labels"][FLUX_NAMESPACE_LABEL] = json!(namespace);
        stamp(&mut built, &format!("{server}/{}", ty.qualified()), now);
        let key = kube::object_key(
            ty.namespaced,
            object_namespace.as_deref().unwrap_or_default(),
            &object_name,
        );
        objects.push((ty, key, built));
    }
    Ok((revision, objects))
}

/// The metadata the API server gives a created object (stable across reads).
fn stamp(object: &mut Value, scope: &str, now: &str) {
    let name = kube::name_of(object).unwrap_or_default().to_string();
    let namespace = kube::namespace_of(object).unwrap_or_default().to_string();
    let hash = kube::fnv(&format!("{scope}/{namespace}/{name}"));
    let metadata = &mut object["metadata"];
    metadata["uid"] = json!(format!(
        "f1a0{:04x}-{:04x}-4000-8000-{:012x}",
        (hash >> 48) & 0xffff,
        (hash >> 32) & 0xffff,
        hash & 0xffff_ffff_ffff
    ));
    metadata["generation"] = json!(1);
    metadata["resourceVersion"] = json!("1");
    metadata["creationTimestamp"] = json!(now);
}

/// The bare repository and the files of the source's artifact at `revision`
/// (`BRANCH@sha1:SHA`).
fn source_tree(
    ctx: &Ctx<'_>,
    source: &Value,
    revision: &str,
) -> Option<(PathBuf, Vec<GitTreeEntry>)> {
    let url = source.pointer("/spec/url").and_then(Value::as_str)?;
    let bare = cluster::source_bare(ctx, url)?;
    let (branch, commit) = revision.split_once("@sha1:")?;
    // The branch's tree is cached by its head; a pinned older commit is read as it is.
    let head = git::tree(&bare, &format!("refs/heads/{branch}"));
    let (_, entries) = match head {
        Some(tree)
            if git::rev_parse(&bare, &format!("refs/heads/{branch}")).as_deref()
                == Some(commit) =>
        {
            tree
        }
        _ => git::tree(&bare, commit)?,
    };
    Some((bare, entries))
}

/// A path of the artifact without `./` and trailing slashes (`""`: the root), with `..`
/// resolved.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        normalise(path)
    } else {
        normalise(&format!("{dir}/{path}"))
    }
}

fn kustomization_file<'a>(entries: &'a [GitTreeEntry], dir: &str) -> Option<&'a GitTreeEntry> {
    KUSTOMIZATION_FILES.iter().find_map(|file| {
        let path = join(dir, file);
        entries.iter().find(|e| e.kind == "blob" && e.path == path)
    })
}

fn is_dir(entries: &[GitTreeEntry], dir: &str) -> bool {
    dir.is_empty() || entries.iter().any(|e| e.kind == "tree" && e.path == dir)
}

/// What kustomize builds from `dir` (kustomize-controller's generated kustomization when
/// the directory has none).
fn build(
    bare: &std::path::Path,
    entries: &[GitTreeEntry],
    dir: &str,
    depth: usize,
) -> Result<Vec<Value>, String> {
    let artifact = "/tmp/kustomization-2718281828";
    if depth > MAX_LEVELS {
        return Err(format!(
            "kustomize build failed: accumulating resources: cycle detected at {artifact}/{dir}"
        ));
    }
    if let Some(file) = kustomization_file(entries, dir) {
        let text = git::blob(bare, &file.sha).unwrap_or_default();
        let kustomization: Value = serde_yaml::from_str(&text)
            .map_err(|e| format!("kustomize build failed: invalid Kustomization: {e}"))?;
        let mut objects = Vec::new();
        let resources = kustomization["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for resource in resources.iter().filter_map(Value::as_str) {
            let path = join(dir, resource);
            let missing = || {
                format!("kustomize build failed: accumulating resources: accumulation err='accumulating resources from '{resource}': open {artifact}/{path}: no such file or directory'")
            };
            if resource.contains("://") || resource.starts_with("github.com/") {
                return Err(format!("kustomize build failed: accumulating resources from '{resource}': remote bases are not simulated"));
            }
            if let Some(blob) = entries.iter().find(|e| e.kind == "blob" && e.path == path) {
                objects.extend(parsed_objects(bare, &blob.sha));
            } else if is_dir(entries, &path) {
                if kustomization_file(entries, &path).is_none() {
                    return Err(format!("kustomize build failed: accumulating resources: accumulation err='accumulating resources from '{resource}': unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{artifact}/{path}''"));
                }
                objects.extend(build(bare, entries, &path, depth + 1)?);
            } else {
                return Err(missing());
            }
        }
        if let Some(namespace) = kustomization["namespace"].as_str() {
            for object in &mut objects {
                if object["kind"] != "Namespace" {
                    object["metadata"]["namespace"] = json!(namespace);
                }
            }
        }
        return Ok(objects);
    }
    // The generated kustomization: YAML files of the tree, and sub-directories with a
    // kustomization of their own built by it.
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut objects = Vec::new();
    let mut built_dirs: BTreeSet<String> = BTreeSet::new();
    for entry in entries
        .iter()
        .filter(|e| e.kind == "blob" && e.path.starts_with(&prefix))
    {
        let relative = &entry.path[prefix.len()..];
        let mut owner = None;
        let mut walked = dir.to_string();
        for part in relative
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            walked = join(&walked, part);
            if kustomization_file(entries, &walked).is_some() {
                owner = Some(walked.clone());
                break;
            }
        }
        match owner {
            Some(sub) => {
                if built_dirs.insert(sub.clone()) {
                    objects.extend(build(bare, entries, &sub, depth + 1)?);
                }
            }
            None => {
                let yaml = entry.path.ends_with(".yaml") || entry.path.ends_with(".yml");
                if yaml {
                    objects.extend(parsed_objects(bare, &entry.sha));
                }
            }
        }
    }
    Ok(objects)
}

/// Applied Deployments rolled out: their pods, running when the ConfigMaps they read are
/// there (stored or applied).
fn finish_workloads(ctx: &Ctx<'_>, server: &str, applied: &mut Objects) {
    let api = &ctx.world.kube[server];
    let now = &ctx.timestamp;
    let nodes = node_names(api);
    let config_map = |namespace: &str, name: &str| -> Option<Value> {
        let key = format!("{namespace}/{name}");
        api.objects
            .get("configmaps")
            .and_then(|o| o.get(&key))
            .or_else(|| applied.get("configmaps").and_then(|o| o.get(&key)))
            .cloned()
    };
    let mut pods = Vec::new();
    let mut deployments = applied.get("deployments.apps").cloned().unwrap_or_default();
    for deployment in deployments.values_mut() {
        let namespace = kube::namespace_of(deployment)
            .unwrap_or_default()
            .to_string();
        let name = kube::name_of(deployment).unwrap_or_default().to_string();
        let replicas = deployment
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let labels = deployment
            .pointer("/spec/template/metadata/labels")
            .or_else(|| deployment.pointer("/spec/selector/matchLabels"))
            .cloned()
            .unwrap_or(json!({}));
        let containers = deployment
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let image = containers
            .first()
            .and_then(|c| c["image"].as_str())
            .unwrap_or("busybox")
            .to_string();
        let config_error = containers
            .iter()
            .find_map(|c| missing_config(c, &namespace, &config_map));
        let mut made =
            kube::deployment_pods(&namespace, &name, replicas, &labels, &image, &nodes, now);
        for pod in &mut made {
            let container = containers
                .first()
                .and_then(|c| c["name"].as_str())
                .unwrap_or("manager");
            pod["spec"]["containers"] = json!(containers);
            pod["metadata"]["labels"] = labels.clone();
            pod["status"]["containerStatuses"][0]["name"] = json!(container);
            if let Some(message) = &config_error {
                pod["status"]["phase"] = json!("Pending");
                pod["status"]["conditions"] = json!([
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": format!("containers with unready status: [{container}]"), "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "message": format!("containers with unready status: [{container}]"), "lastTransitionTime": now},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                ]);
                pod["status"]["containerStatuses"] = json!([{"name": container, "image": image, "ready": false, "restartCount": 0, "started": false, "state": {"waiting": {"reason": "CreateContainerConfigError", "message": message}}}]);
            }
            stamp(pod, &format!("{server}/pods"), now);
        }
        pods.extend(made);
        deployment["status"] = match &config_error {
            None => kube::available_deployment_status(&name, replicas, now),
            Some(_) => json!({
                "observedGeneration": 1,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "unavailableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.", "lastTransitionTime": now, "lastUpdateTime": now},
                    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{name}-7d9f8c6b5\" is progressing."), "lastTransitionTime": now, "lastUpdateTime": now},
                ],
            }),
        };
    }
    if !deployments.is_empty() {
        applied.insert("deployments.apps".to_string(), deployments);
    }
    for pod in pods {
        let key = format!(
            "{}/{}",
            kube::namespace_of(&pod).unwrap_or_default(),
            kube::name_of(&pod).unwrap_or_default()
        );
        applied
            .entry("pods".to_string())
            .or_default()
            .insert(key, pod);
    }
}

/// The kubelet's error for the first ConfigMap (or key of one) a container reads that is
/// not there; `None` when all are.
fn missing_config(
    container: &Value,
    namespace: &str,
    config_map: &dyn Fn(&str, &str) -> Option<Value>,
) -> Option<String> {
    for env in container["env"].as_array().into_iter().flatten() {
        let Some(reference) = env.pointer("/valueFrom/configMapKeyRef") else {
            continue;
        };
        if reference["optional"] == json!(true) {
            continue;
        }
        let name = reference["name"].as_str().unwrap_or_default();
        let key = reference["key"].as_str().unwrap_or_default();
        match config_map(namespace, name) {
            None => return Some(format!("configmap \"{name}\" not found")),
            Some(map)
                if map
                    .pointer(&format!(
                        "/data/{}",
                        key.replace('~', "~0").replace('/', "~1")
                    ))
                    .is_none() =>
            {
                return Some(format!(
                    "couldn't find key {key} in ConfigMap {namespace}/{name}"
                ))
            }
            Some(_) => {}
        }
    }
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let Some(reference) = source.get("configMapRef") else {
            continue;
        };
        let name = reference["name"].as_str().unwrap_or_default();
        if reference["optional"] != json!(true) && config_map(namespace, name).is_none() {
            return Some(format!("configmap \"{name}\" not found"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_the_artifact_are_normalised() {
        assert_eq!(normalise("./"), "");
        assert_eq!(normalise("./default/"), "default");
        assert_eq!(normalise("a/../b/./c"), "b/c");
        assert_eq!(join("a/b", "../c.yaml"), "a/c.yaml");
        assert_eq!(join("", "./x"), "x");
    }

    #[test]
    fn a_container_runs_only_with_the_config_it_reads() {
        let container = json!({"env": [{"name": "R", "valueFrom": {"configMapKeyRef": {"name": "platform-config", "key": "REGION"}}}]});
        let none = |_: &str, _: &str| None;
        assert_eq!(
            missing_config(&container, "ns", &none).as_deref(),
            Some("configmap \"platform-config\" not found")
        );
        let without_key = |_: &str, _: &str| Some(json!({"data": {"OTHER": "x"}}));
        assert_eq!(
            missing_config(&container, "ns", &without_key).as_deref(),
            Some("couldn't find key REGION in ConfigMap ns/platform-config")
        );
        let with_key = |_: &str, _: &str| Some(json!({"data": {"REGION": "West"}}));
        assert_eq!(missing_config(&container, "ns", &with_key), None);
    }
}
