//! Talking to a simulated API server: finding it from kubeconfig and context (as kubectl and
//! helm do), storing and deleting objects with the server's side effects (namespace and CRD
//! cascades, deployments rolling out, Secret values kept out of the object store), and the
//! status Flux's controllers would report for GitRepository and Kustomization objects.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde_json::{json, Value};

use super::command::Ctx;
use super::flux;
use super::git;
use super::kube::{self, ResourceType};
use super::kubeconfig::{files_for, MergedKubeconfig};
use super::seed::is_upstream_sample;
use super::ssh;
use super::state::key2;
use super::world::{node_names, parse_repo_ref, put, KubeSecretValue};

/// A resolved connection.
pub(crate) struct Connection {
    pub server: String,
    /// The context's namespace, if it sets one.
    pub namespace: Option<String>,
}

/// Why no API server could be reached.
pub(crate) enum ConnectError {
    /// No context named and no current context.
    NoContext,
    ContextNotFound(String),
    /// The kubeconfig could not be read.
    Config(String),
    /// The context's server does not answer (`host` as in the URL).
    Unreachable(String),
}

impl ConnectError {
    /// kubectl's wording.
    pub fn kubectl_message(&self) -> String {
        match self {
            ConnectError::NoContext => {
                "The connection to the server localhost:8080 was refused - did you specify the right host or port?".to_string()
            }
            ConnectError::ContextNotFound(c) => {
                format!("Error in configuration: context was not found for specified context: {c}")
            }
            ConnectError::Config(message) => format!("error: {message}"),
            ConnectError::Unreachable(host) => format!(
                "Unable to connect to the server: dial tcp: lookup {host} on 127.0.0.53:53: no such host"
            ),
        }
    }

    /// helm's wording.
    pub fn helm_message(&self) -> String {
        match self {
            ConnectError::NoContext => {
                "Error: Kubernetes cluster unreachable: Get \"http://localhost:8080/version\": dial tcp 127.0.0.1:8080: connect: connection refused".to_string()
            }
            ConnectError::ContextNotFound(c) => format!(
                "Error: Kubernetes cluster unreachable: context \"{c}\" does not exist"
            ),
            ConnectError::Config(message) => format!("Error: {message}"),
            ConnectError::Unreachable(host) => format!(
                "Error: Kubernetes cluster unreachable: Get \"https://{host}/version\": dial tcp: lookup {host} on 127.0.0.53:53: no such host"
            ),
        }
    }
}

/// The kubeconfig files a call reads.
pub(crate) fn kubeconfig_files(ctx: &Ctx<'_>, flag: Option<&str>) -> Vec<PathBuf> {
    let flag = flag.map(|p| ctx.inv.resolve_path(p).display().to_string());
    files_for(
        flag.as_deref(),
        ctx.inv.env("KUBECONFIG"),
        &ctx.paths.default_kubeconfig,
    )
}

pub(crate) fn connect(
    ctx: &Ctx<'_>,
    context: Option<&str>,
    kubeconfig: Option<&str>,
) -> Result<Connection, ConnectError> {
    let files = kubeconfig_files(ctx, kubeconfig);
    if let Some(explicit) = kubeconfig {
        let path = ctx.inv.resolve_path(explicit);
        if !path.exists() {
            return Err(ConnectError::Config(format!(
                "stat {}: no such file or directory",
                path.display()
            )));
        }
    }
    let merged = MergedKubeconfig::load(&files).map_err(|e| ConnectError::Config(e.to_string()))?;
    let context = match context.filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None => merged.current_context().ok_or(ConnectError::NoContext)?,
    };
    if !merged.has_context(&context) {
        return Err(ConnectError::ContextNotFound(context));
    }
    let server = merged.server_of(&context).ok_or_else(|| {
        ConnectError::Config(format!(
            "context \"{context}\" names a cluster with no server"
        ))
    })?;
    if !ctx.world.kube.contains_key(&server) {
        let host = server
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split([':', '/'])
            .next()
            .unwrap_or(&server)
            .to_string();
        return Err(ConnectError::Unreachable(host));
    }
    let namespace = merged
        .files
        .iter()
        .find_map(|(_, f)| f.context(&context))
        .and_then(|c| c.field("context", "namespace"));
    Ok(Connection { server, namespace })
}

/// What storing an object did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    Created,
    Configured,
    Unchanged,
}

/// Store `object` of type `ty` with the API server's side effects.
pub(crate) fn store(
    ctx: &mut Ctx<'_>,
    server: &str,
    ty: &ResourceType,
    mut object: Value,
) -> Stored {
    let now = ctx.timestamp.clone();
    let name = kube::name_of(&object).unwrap_or_default().to_string();
    let namespace = kube::namespace_of(&object).unwrap_or_default().to_string();
    let key = kube::object_key(ty.namespaced, &namespace, &name);
    if ty.kind == "Secret" {
        let mut values = BTreeMap::new();
        if let Some(data) = object.get("data").and_then(Value::as_object) {
            for (k, v) in data {
                let decoded = v
                    .as_str()
                    .and_then(|s| {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.decode(s).ok()
                    })
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                values.insert(
                    k.clone(),
                    KubeSecretValue::Known(SecretString::from(decoded)),
                );
            }
        }
        if let Some(data) = object.get("stringData").and_then(Value::as_object) {
            for (k, v) in data {
                values.insert(
                    k.clone(),
                    KubeSecretValue::Known(SecretString::from(
                        v.as_str().unwrap_or_default().to_string(),
                    )),
                );
            }
        }
        let masked: serde_json::Map<String, Value> =
            values.keys().map(|k| (k.clone(), json!("Kioq"))).collect();
        if let Some(map) = object.as_object_mut() {
            map.remove("stringData");
            map.insert("data".into(), Value::Object(masked));
            map.entry("type").or_insert(json!("Opaque"));
        }
        ctx.world.kube_secret_values.insert(
            (server.to_string(), namespace.clone(), name.clone()),
            values,
        );
    }
    if ty.qualified() == kube::CRD_RESOURCE {
        if let Some(spec) = object.get("spec").cloned() {
            let names = spec.get("names").cloned().unwrap_or(json!({}));
            let storage = spec
                .get("versions")
                .and_then(Value::as_array)
                .and_then(|vs| vs.iter().find(|v| v.get("storage") == Some(&json!(true))))
                .and_then(|v| v.get("name").cloned())
                .unwrap_or(json!("v1"));
            object["status"] = json!({
                "acceptedNames": names,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
                ],
                "storedVersions": [storage],
            });
        }
    }
    let api = ctx
        .world
        .kube
        .get_mut(server)
        .expect("connected server exists");
    let existing = api
        .objects
        .get(&ty.qualified())
        .and_then(|objects| objects.get(&key))
        .cloned();
    if let Some(existing) = &existing {
        let same = [
            "spec",
            "data",
            "metadata/labels",
            "metadata/annotations",
            "rules",
            "subjects",
            "roleRef",
            "webhooks",
        ]
        .iter()
        .all(|field| {
            let pointer = format!("/{field}");
            existing.pointer(&pointer) == object.pointer(&pointer)
        });
        if same {
            return Stored::Unchanged;
        }
        // Keep identity; bump the generation and resource version.
        let generation = existing
            .pointer("/metadata/generation")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            + 1;
        let mut merged = object.clone();
        if let (Some(meta), Some(old)) = (
            merged.get_mut("metadata").and_then(Value::as_object_mut),
            existing.get("metadata"),
        ) {
            for keep in ["uid", "creationTimestamp"] {
                if let Some(v) = old.get(keep) {
                    meta.insert(keep.into(), v.clone());
                }
            }
            meta.insert("generation".into(), json!(generation));
            meta.insert(
                "resourceVersion".into(),
                json!(ctx.world.counter.next().to_string()),
            );
        }
        if ty.kind == "Deployment" {
            roll_out(&mut merged, &now);
        }
        api.objects
            .entry(ty.qualified())
            .or_default()
            .insert(key, merged);
        return Stored::Configured;
    }
    if ty.kind == "Deployment" {
        roll_out(&mut object, &now);
        let replicas = object
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let selector = object
            .pointer("/spec/selector/matchLabels")
            .cloned()
            .unwrap_or(json!({}));
        let image = object
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .unwrap_or("busybox")
            .to_string();
        let nodes = node_names(api);
        for pod in
            kube::deployment_pods(&namespace, &name, replicas, &selector, &image, &nodes, &now)
        {
            put(api, &mut ctx.world.counter, "pods", pod, &now);
        }
    }
    if object
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .is_none()
        && ty.namespaced
    {
        object["metadata"]["namespace"] = json!(namespace);
    }
    put(api, &mut ctx.world.counter, &ty.qualified(), object, &now);
    Stored::Created
}

/// A deployment's status once its replicas are up (the simulated scheduler never fails).
fn roll_out(object: &mut Value, now: &str) {
    let replicas = object
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    object["status"] = json!({
        "observedGeneration": object.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastTransitionTime": now, "lastUpdateTime": now},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed.", "lastTransitionTime": now, "lastUpdateTime": now},
        ],
    });
}

/// Delete one object and what the server deletes with it. `false` when it did not exist.
pub(crate) fn delete(
    ctx: &mut Ctx<'_>,
    server: &str,
    ty: &ResourceType,
    namespace: &str,
    name: &str,
) -> bool {
    let key = kube::object_key(ty.namespaced, namespace, name);
    let qualified = ty.qualified();
    let api = ctx
        .world
        .kube
        .get_mut(server)
        .expect("connected server exists");
    let removed = api
        .objects
        .get_mut(&qualified)
        .and_then(|objects| objects.remove(&key));
    let Some(removed) = removed else {
        return false;
    };
    match (qualified.as_str(), ty.kind.as_str()) {
        ("namespaces", _) => {
            let prefix = format!("{name}/");
            for objects in api.objects.values_mut() {
                objects.retain(|k, _| !k.starts_with(&prefix));
            }
            api.releases.retain(|k, _| !k.starts_with(&prefix));
            ctx.world
                .kube_secret_values
                .retain(|(s, ns, _), _| !(s == server && ns == name));
        }
        (kube::CRD_RESOURCE, _) => {
            if let Some(defined) = kube_type_of(&removed) {
                api.objects.remove(&defined);
            }
        }
        (_, "Deployment") => {
            if let Some(selector) = removed
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
            {
                let terms: Vec<String> = selector
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect();
                let selector = terms.join(",");
                if let Some(pods) = api.objects.get_mut("pods") {
                    let prefix = format!("{namespace}/");
                    pods.retain(|k, pod| {
                        !(k.starts_with(&prefix) && kube::selector_matches(pod, &selector))
                    });
                }
            }
        }
        (_, "Secret") => {
            ctx.world.kube_secret_values.remove(&(
                server.to_string(),
                namespace.to_string(),
                name.to_string(),
            ));
        }
        _ => {}
    }
    true
}

fn kube_type_of(crd: &Value) -> Option<String> {
    let group = crd.pointer("/spec/group")?.as_str()?;
    let plural = crd.pointer("/spec/names/plural")?.as_str()?;
    Some(format!("{plural}.{group}"))
}

/// The object as the API returns it: with the status controllers would have written.
pub(crate) fn observed(ctx: &Ctx<'_>, server: &str, ty: &ResourceType, object: &Value) -> Value {
    let mut object = object.clone();
    let flux_group = ty.group.ends_with(".toolkit.fluxcd.io");
    if !flux_group || !flux_running(ctx, server) {
        return object;
    }
    let status = match ty.kind.as_str() {
        "GitRepository" => git_repository_status(ctx, server, &object),
        "Kustomization" => {
            let key = kube::object_key(
                true,
                kube::namespace_of(&object).unwrap_or("default"),
                kube::name_of(&object).unwrap_or_default(),
            );
            // What kustomize-controller made of it (its source may be one a
            // Kustomization applied).
            match flux::stored_status(ctx, server, &ty.qualified(), &key) {
                Some(status) => status,
                None => kustomization_status(ctx, server, &object),
            }
        }
        _ => return object,
    };
    object["status"] = status;
    object
}

pub(crate) fn flux_running(ctx: &Ctx<'_>, server: &str) -> bool {
    ctx.world.kube.get(server).is_some_and(|api| {
        api.objects
            .get("deployments.apps")
            .is_some_and(|d| d.contains_key("flux-system/source-controller"))
    })
}

/// The `Ready` condition list Flux's controllers write.
pub(crate) fn flux_condition(ready: bool, reason: &str, message: &str, now: &str) -> Value {
    json!([{
        "type": "Ready",
        "status": if ready { "True" } else { "False" },
        "reason": reason,
        "message": message,
        "lastTransitionTime": now,
        "observedGeneration": 1,
    }])
}

/// The revision of the artifact Flux has for a GitRepository: what it fetches now, else
/// the last artifact it stored for it (source-controller keeps it through failed fetches),
/// else why it could not fetch.
pub(crate) fn source_revision(
    ctx: &Ctx<'_>,
    server: &str,
    object: &Value,
) -> Result<String, String> {
    fetch_source(ctx, server, object)
        .or_else(|error| last_artifact(ctx, server, object).ok_or(error))
}

/// The revision of the last artifact stored for a GitRepository, if any.
fn last_artifact(ctx: &Ctx<'_>, server: &str, object: &Value) -> Option<String> {
    let key = format!(
        "{}/{}",
        kube::namespace_of(object).unwrap_or("default"),
        kube::name_of(object).unwrap_or_default()
    );
    ctx.world
        .flux_artifacts
        .get(&(server.to_string(), key))
        .cloned()
}

/// `Ok(revision)` when Flux could fetch the source, else the reason it could not.
pub(crate) fn fetch_source(ctx: &Ctx<'_>, server: &str, object: &Value) -> Result<String, String> {
    let url = object
        .pointer("/spec/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let branch = object
        .pointer("/spec/ref/branch")
        .and_then(Value::as_str)
        .unwrap_or("master");
    let namespace = kube::namespace_of(object).unwrap_or("default");
    let clone_error = |why: &str| {
        format!("failed to checkout and determine revision: unable to clone '{url}': {why}")
    };
    // The cluster reaches the world's GitHub, and github.com for the public upstream
    // samples (a cluster beside an Enterprise Server still has its internet egress).
    let host = ctx.world.github.host().to_string();
    if let Some(address) = url.strip_prefix("ssh://") {
        return fetch_over_ssh(ctx, server, object, address, &host).and_then(|key| {
            let repo = &ctx.world.github.repos[&key];
            let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
            revision_of(&bare, object, branch, &clone_error)
        });
    }
    let reachable = |prefix: &str| url.strip_prefix(prefix).and_then(|_| parse_repo_ref(url));
    let Some((owner, name)) = reachable(&format!("https://{host}/")).or_else(|| {
        reachable("https://github.com/").filter(|(owner, name)| is_upstream_sample(owner, name))
    }) else {
        return Err(clone_error(&format!(
            "the simulated network reaches only https://{host}/ and ssh://git@{host}/"
        )));
    };
    let key = key2(&owner, &name);
    let Some(repo) = ctx.world.github.repos.get(&key) else {
        return Err(clone_error("repository not found"));
    };
    if repo.visibility != "PUBLIC" {
        let secret = object
            .pointer("/spec/secretRef/name")
            .and_then(Value::as_str);
        let token = secret.and_then(|s| {
            ctx.world
                .kube_secret_values
                .get(&(server.to_string(), namespace.to_string(), s.to_string()))
                .and_then(|data| data.get("password").or_else(|| data.get("token")))
        });
        let login = token.and_then(|t| t.github_login(ctx.world));
        if !login.is_some_and(|l| ctx.world.can_read_repo(&l, &key)) {
            return Err(clone_error(
                "authentication required: Repository not found.",
            ));
        }
    }
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    revision_of(&bare, object, branch, &clone_error)
}

/// A Git-over-SSH fetch of `ssh://ADDRESS` (`git@HOST/OWNER/NAME.git`) with the Secret of
/// `spec.secretRef` (`identity`, `known_hosts`), as source-controller makes it: the
/// repository's key (`owner/name`, lower case) when GitHub lets the identity read it, else
/// Flux's error.
fn fetch_over_ssh(
    ctx: &Ctx<'_>,
    server: &str,
    object: &Value,
    address: &str,
    github_host: &str,
) -> Result<String, String> {
    let url = object
        .pointer("/spec/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = kube::namespace_of(object).unwrap_or("default");
    let clone_error = |why: &str| {
        format!("failed to checkout and determine revision: unable to clone '{url}': {why}")
    };
    let (authority, path) = address.split_once('/').unwrap_or((address, ""));
    let (user, host) = authority.split_once('@').unwrap_or(("", authority));
    let host = host.strip_suffix(":22").unwrap_or(host);
    let (owner, name) = repo_of_url(url).unwrap_or_default();
    let reachable = host.eq_ignore_ascii_case(github_host)
        || host.eq_ignore_ascii_case("github.com") && is_upstream_sample(&owner, &name);
    if !reachable || path.is_empty() {
        return Err(clone_error(&format!(
            "dial tcp: lookup {host}: no such host (the simulated network reaches only https://{github_host}/ and ssh://git@{github_host}/)"
        )));
    }
    let unable = |methods: &str| {
        clone_error(&format!(
            "ssh: handshake failed: ssh: unable to authenticate, attempted methods [{methods}], no supported methods remain"
        ))
    };
    let Some(secret) = object
        .pointer("/spec/secretRef/name")
        .and_then(Value::as_str)
    else {
        return Err(unable("none"));
    };
    let Some(data) = ctx.world.kube_secret_values.get(&(
        server.to_string(),
        namespace.to_string(),
        secret.to_string(),
    )) else {
        return Err(format!(
            "failed to get secret '{namespace}/{secret}': secrets \"{secret}\" not found"
        ));
    };
    let required = |key: &str| {
        format!("failed to configure authentication options: invalid 'ssh' auth option: '{key}' is required")
    };
    let identity = data.get("identity").ok_or_else(|| required("identity"))?;
    let known_hosts = data
        .get("known_hosts")
        .and_then(KubeSecretValue::text)
        .ok_or_else(|| required("known_hosts"))?;
    let public_key = identity.ssh_public_key().map_err(|e| clone_error(&e))?;
    ssh::check_known_hosts(&known_hosts, host, &ssh::host_keys(host))
        .map_err(|e| clone_error(&format!("ssh: handshake failed: {e}")))?;
    // GitHub authenticates any key it knows, then the key must open this repository.
    let known_anywhere = ctx
        .world
        .github
        .repos
        .values()
        .any(|r| r.deploy_keys.iter().any(|k| k.key == public_key));
    if !known_anywhere || user != "git" {
        return Err(unable("none publickey"));
    }
    let key = key2(&owner, &name);
    let opens = ctx
        .world
        .github
        .repos
        .get(&key)
        .is_some_and(|r| r.deploy_keys.iter().any(|k| k.key == public_key));
    if !opens {
        return Err(clone_error("repository not found"));
    }
    Ok(key)
}

/// The revision Flux records for `branch` (and `spec.ref.commit`) of `bare`.
fn revision_of(
    bare: &std::path::Path,
    object: &Value,
    branch: &str,
    clone_error: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let Some(head) = git::rev_parse(bare, &format!("refs/heads/{branch}")) else {
        return Err(clone_error(&format!(
            "couldn't find remote ref \"refs/heads/{branch}\""
        )));
    };
    // `spec.ref.commit` with a branch: source-controller clones the branch and checks the
    // commit out, so the commit must be in the branch's history.
    match object.pointer("/spec/ref/commit").and_then(Value::as_str) {
        Some(commit) if !commit.is_empty() => {
            if git::is_ancestor(bare, commit, &head) {
                Ok(format!("{branch}@sha1:{commit}"))
            } else {
                Err(format!(
                    "failed to checkout and determine revision: unable to resolve commit object for '{commit}': object not found"
                ))
            }
        }
        _ => Ok(format!("{branch}@sha1:{head}")),
    }
}

pub(crate) fn git_repository_status(ctx: &Ctx<'_>, server: &str, object: &Value) -> Value {
    let now = &ctx.timestamp;
    match fetch_source(ctx, server, object) {
        Ok(revision) => json!({
            "artifact": {"revision": revision, "lastUpdateTime": now, "path": "gitrepository/x/control-plane/artifact.tar.gz"},
            "conditions": flux_condition(true, "Succeeded", &format!("stored artifact for revision '{revision}'"), now),
            "observedGeneration": 1,
        }),
        Err(message) => {
            let mut status = json!({
                "conditions": flux_condition(false, "GitOperationFailed", &message, now),
                "observedGeneration": 1,
            });
            if let Some(revision) = last_artifact(ctx, server, object) {
                status["artifact"] = json!({"revision": revision, "lastUpdateTime": now, "path": "gitrepository/x/control-plane/artifact.tar.gz"});
            }
            status
        }
    }
}

fn kustomization_status(ctx: &Ctx<'_>, server: &str, object: &Value) -> Value {
    let (source_ns, source_name) = kustomization_source(object);
    let source = ctx
        .world
        .kube
        .get(server)
        .and_then(|api| api.objects.get("gitrepositories.source.toolkit.fluxcd.io"))
        .and_then(|objects| objects.get(&format!("{source_ns}/{source_name}")))
        .cloned();
    kustomization_status_from(ctx, server, object, source)
}

/// `(namespace, name)` of the GitRepository a Kustomization applies.
pub(crate) fn kustomization_source(object: &Value) -> (String, String) {
    let namespace = kube::namespace_of(object).unwrap_or("default");
    let source_ns = object
        .pointer("/spec/sourceRef/namespace")
        .and_then(Value::as_str)
        .unwrap_or(namespace);
    let source_name = object
        .pointer("/spec/sourceRef/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    (source_ns.to_string(), source_name.to_string())
}

/// The status kustomize-controller reports for `object`, whose source is `source` (`None`:
/// the GitRepository does not exist).
pub(crate) fn kustomization_status_from(
    ctx: &Ctx<'_>,
    server: &str,
    object: &Value,
    source: Option<Value>,
) -> Value {
    let now = &ctx.timestamp;
    let (_, source_name) = kustomization_source(object);
    let failed = |reason: &str, message: &str| json!({"conditions": flux_condition(false, reason, message, now), "observedGeneration": 1});
    let Some(source) = source else {
        return failed(
            "ArtifactFailed",
            &format!("GitRepository.source.toolkit.fluxcd.io \"{source_name}\" not found"),
        );
    };
    let revision = match source_revision(ctx, server, &source) {
        Ok(revision) => revision,
        Err(_) => {
            return failed(
                "ArtifactFailed",
                "Source artifact not found, retrying in 30s",
            )
        }
    };
    let path = object
        .pointer("/spec/path")
        .and_then(Value::as_str)
        .unwrap_or("./");
    let url = source
        .pointer("/spec/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bare = source_bare(ctx, url).unwrap_or_else(|| {
        let (owner, name) = repo_of_url(url).unwrap_or_default();
        ctx.paths.bare_repo(&owner, &name)
    });
    let (branch, commit) = revision.split_once("@sha1:").unwrap_or((&revision, ""));
    let rev = match git::rev_parse(&bare, &format!("refs/heads/{branch}")) {
        Some(head) if head == commit => format!("refs/heads/{branch}"),
        _ => commit.to_string(),
    };
    if !git::path_exists(&bare, &rev, path) {
        return failed(
            "ReconciliationFailed",
            &format!("kustomization path not found: stat /tmp/kustomization-2718281828/{}: no such file or directory", path.trim_start_matches("./")),
        );
    }
    json!({
        "conditions": flux_condition(true, "ReconciliationSucceeded", &format!("Applied revision: {revision}"), now),
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "observedGeneration": 1,
    })
}

/// `(owner, name)` of a Git URL Flux fetches: `https://HOST/OWNER/NAME[.git]` or
/// `ssh://git@HOST/OWNER/NAME.git`.
pub(crate) fn repo_of_url(url: &str) -> Option<(String, String)> {
    match url.strip_prefix("ssh://") {
        Some(rest) => {
            let (_, path) = rest.split_once('/')?;
            parse_repo_ref(&format!("https://host/{path}"))
        }
        None => parse_repo_ref(url),
    }
}

/// The bare repository of the simulated GitHub a source URL names, if it has it.
pub(crate) fn source_bare(ctx: &Ctx<'_>, url: &str) -> Option<PathBuf> {
    let (owner, name) = repo_of_url(url)?;
    let repo = ctx.world.github.repos.get(&key2(&owner, &name))?;
    Some(ctx.paths.bare_repo(&repo.owner, &repo.name))
}

/// Whether a condition of the observed object holds (`Available`, `Ready`, `Established`…).
pub(crate) fn condition_holds(object: &Value, wanted: &str) -> bool {
    if wanted.eq_ignore_ascii_case("Ready") && object.get("kind") == Some(&json!("Pod")) {
        return object.pointer("/status/phase") == Some(&json!("Running"));
    }
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(wanted))
                    && c.get("status") == Some(&json!("True"))
            })
        })
}
