//! Kubernetes objects inside one simulated API server: resource types (built-in and those
//! defined by CRDs), object keys, and builders for the objects a real cluster would hold
//! (nodes, system pods, deployments with their pods, CRDs).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::state::KubeCluster;

/// Whether `name` is a DNS-1123 subdomain of at most `max_len` characters, as Kubernetes
/// checks object names and label prefixes (and helm checks release names, with 53).
pub fn is_dns_subdomain(name: &str, max_len: usize) -> bool {
    !name.is_empty()
        && name.len() <= max_len
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// A resource type the API server serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
    pub namespaced: bool,
    pub short_names: Vec<String>,
}

impl ResourceType {
    /// `pods`, `deployments.apps`: the name in kubectl's messages and in the object store.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `pod`, `deployment.apps`: the prefix of `kubectl apply` output lines.
    pub fn qualified_singular(&self) -> String {
        let singular = self.kind.to_ascii_lowercase();
        if self.group.is_empty() {
            singular
        } else {
            format!("{singular}.{}", self.group)
        }
    }

    pub fn api_version(&self) -> String {
        let version = self.versions.first().map(String::as_str).unwrap_or("v1");
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// Whether `name` (as typed on a kubectl command line) designates this type:
    /// plural, singular, short name or kind, optionally followed by `.group` or
    /// `.version.group`.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let (resource, suffix) = match name.split_once('.') {
            Some((resource, suffix)) => (resource.to_string(), Some(suffix.to_string())),
            None => (name.clone(), None),
        };
        let names_match = resource == self.plural
            || resource == self.singular
            || resource == self.kind.to_ascii_lowercase()
            || self.short_names.contains(&resource);
        if !names_match {
            return false;
        }
        match suffix {
            None => true,
            Some(suffix) => {
                suffix == self.group
                    || self
                        .versions
                        .iter()
                        .any(|v| suffix == format!("{v}.{}", self.group))
            }
        }
    }
}

fn builtin(
    plural: &str,
    kind: &str,
    group: &str,
    version: &str,
    namespaced: bool,
    short: &[&str],
) -> ResourceType {
    ResourceType {
        plural: plural.to_string(),
        singular: kind.to_ascii_lowercase(),
        kind: kind.to_string(),
        group: group.to_string(),
        versions: vec![version.to_string()],
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
    }
}

/// The built-in types the simulation knows.
pub fn builtin_types() -> Vec<ResourceType> {
    vec![
        builtin("namespaces", "Namespace", "", "v1", false, &["ns"]),
        builtin("nodes", "Node", "", "v1", false, &["no"]),
        builtin("pods", "Pod", "", "v1", true, &["po"]),
        builtin("services", "Service", "", "v1", true, &["svc"]),
        builtin("serviceaccounts", "ServiceAccount", "", "v1", true, &["sa"]),
        builtin("secrets", "Secret", "", "v1", true, &[]),
        builtin("configmaps", "ConfigMap", "", "v1", true, &["cm"]),
        builtin(
            "resourcequotas",
            "ResourceQuota",
            "",
            "v1",
            true,
            &["quota"],
        ),
        builtin("deployments", "Deployment", "apps", "v1", true, &["deploy"]),
        builtin(
            "customresourcedefinitions",
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            "v1",
            false,
            &["crd", "crds"],
        ),
        builtin(
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            "admissionregistration.k8s.io",
            "v1",
            false,
            &[],
        ),
        builtin(
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            "admissionregistration.k8s.io",
            "v1",
            false,
            &[],
        ),
        builtin(
            "clusterroles",
            "ClusterRole",
            "rbac.authorization.k8s.io",
            "v1",
            false,
            &[],
        ),
        builtin(
            "clusterrolebindings",
            "ClusterRoleBinding",
            "rbac.authorization.k8s.io",
            "v1",
            false,
            &[],
        ),
        builtin(
            "roles",
            "Role",
            "rbac.authorization.k8s.io",
            "v1",
            true,
            &[],
        ),
        builtin(
            "rolebindings",
            "RoleBinding",
            "rbac.authorization.k8s.io",
            "v1",
            true,
            &[],
        ),
        builtin(
            "networkpolicies",
            "NetworkPolicy",
            "networking.k8s.io",
            "v1",
            true,
            &["netpol"],
        ),
    ]
}

pub const CRD_RESOURCE: &str = "customresourcedefinitions.apiextensions.k8s.io";

/// The types defined by the cluster's CRDs (only served versions count).
pub fn crd_types(cluster: &KubeCluster) -> Vec<ResourceType> {
    let Some(crds) = cluster.objects.get(CRD_RESOURCE) else {
        return Vec::new();
    };
    crds.values().filter_map(type_of_crd).collect()
}

fn type_of_crd(crd: &Value) -> Option<ResourceType> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let mut versions: Vec<(bool, String)> = spec
        .get("versions")?
        .as_array()?
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| {
            let storage = v.get("storage").and_then(Value::as_bool) == Some(true);
            Some((storage, text(v, "name")?))
        })
        .collect();
    // The storage version is the preferred one.
    versions.sort_by_key(|(storage, _)| !*storage);
    let kind = text(names, "kind")?;
    Some(ResourceType {
        plural: text(names, "plural")?,
        singular: text(names, "singular").unwrap_or_else(|| kind.to_ascii_lowercase()),
        kind,
        group: text(spec, "group")?,
        versions: versions.into_iter().map(|(_, v)| v).collect(),
        namespaced: text(spec, "scope").as_deref() != Some("Cluster"),
        short_names: names
            .get("shortNames")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Every type the cluster serves.
pub fn all_types(cluster: &KubeCluster) -> Vec<ResourceType> {
    let mut types = builtin_types();
    types.extend(crd_types(cluster));
    types
}

/// The type a kubectl resource argument names.
pub fn resolve(cluster: &KubeCluster, name: &str) -> Option<ResourceType> {
    all_types(cluster).into_iter().find(|t| t.matches(name))
}

/// The type of an object from its `apiVersion` and `kind`. `Err` carries whether the kind
/// exists at all (for "no matches for kind" messages the version matters too).
pub fn resolve_kind(cluster: &KubeCluster, api_version: &str, kind: &str) -> Option<ResourceType> {
    let (group, version) = match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    };
    all_types(cluster)
        .into_iter()
        .find(|t| t.kind == kind && t.group == group && t.versions.iter().any(|v| v == version))
}

/// The store key of an object: `namespace/name` or `name`.
pub fn object_key(namespaced: bool, namespace: &str, name: &str) -> String {
    if namespaced {
        format!("{namespace}/{name}")
    } else {
        name.to_string()
    }
}

/// Cluster-unique counters for uids and resource versions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    next: u64,
}

impl Counter {
    pub fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A deterministic, well-formed uid.
    pub fn uid(&mut self) -> String {
        let n = self.next();
        format!("5e1a0000-0000-4000-8000-{n:012x}")
    }
}

/// Fill `metadata` the way the API server does on creation.
pub fn stamp(object: &mut Value, counter: &mut Counter, now: &str) {
    let uid = counter.uid();
    let version = counter.next();
    let metadata = object
        .as_object_mut()
        .expect("objects are JSON objects")
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.insert("uid".into(), json!(uid));
        metadata.insert("resourceVersion".into(), json!(version.to_string()));
        metadata.insert("creationTimestamp".into(), json!(now));
        metadata.entry("generation").or_insert(json!(1));
    }
}

pub fn name_of(object: &Value) -> Option<&str> {
    object.pointer("/metadata/name").and_then(Value::as_str)
}

pub fn namespace_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
}

fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

pub fn namespace(name: &str, extra_labels: &[(&str, &str)]) -> Value {
    let mut all = vec![("kubernetes.io/metadata.name", name)];
    all.extend_from_slice(extra_labels);
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(&all)},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// An AKS node (agent pool `nodepool1`).
pub fn node(name: &str, kubelet: &str, vm_size: &str, region: &str, now: &str) -> Value {
    node_of(
        name,
        json!({
            "agentpool": "nodepool1",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.azure.com/mode": "system",
            "node.kubernetes.io/instance-type": vm_size,
            "topology.kubernetes.io/region": region,
        }),
        &format!("azure:///subscriptions/sim/resourceGroups/sim/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"),
        NodeInfo {
            kubelet,
            os_image: "Ubuntu 22.04.5 LTS",
            kernel: "5.15.0-1092-azure",
            runtime: "containerd://1.7.27-1",
        },
        now,
    )
}

/// What a node reports of its software (`status.nodeInfo`).
pub struct NodeInfo<'a> {
    pub kubelet: &'a str,
    pub os_image: &'a str,
    pub kernel: &'a str,
    pub runtime: &'a str,
}

/// A Ready node with these labels and provider id.
pub fn node_of(
    name: &str,
    labels: Value,
    provider_id: &str,
    info: NodeInfo<'_>,
    now: &str,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"providerID": provider_id},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": info.runtime,
                "kernelVersion": info.kernel,
                "kubeletVersion": info.kubelet,
                "operatingSystem": "linux",
                "osImage": info.os_image,
            },
        },
    })
}

/// A running pod owned by a workload (deployment or daemon set).
pub fn running_pod(
    namespace: &str,
    name: &str,
    app_labels: &Value,
    image: &str,
    node: &str,
    now: &str,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": app_labels},
        "spec": {"containers": [{"name": "manager", "image": image}], "nodeName": node},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [{"name": "manager", "image": image, "ready": true, "restartCount": 0, "started": true, "state": {"running": {"startedAt": now}}}],
            "startTime": now,
        },
    })
}

/// The pod of a Job that ran to completion (phase `Succeeded`, its container terminated
/// with reason `Completed`, not ready), as `kubectl get pods` still lists it.
pub fn completed_pod(
    namespace: &str,
    name: &str,
    labels: &Value,
    image: &str,
    node: &str,
    now: &str,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "helm", "image": image}], "nodeName": node, "restartPolicy": "OnFailure"},
        "status": {
            "phase": "Succeeded",
            "conditions": [
                {"type": "Initialized", "status": "True", "reason": "PodCompleted", "lastTransitionTime": now},
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [{"name": "helm", "image": image, "ready": false, "restartCount": 0, "started": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}}],
            "startTime": now,
        },
    })
}

/// A deployment whose replicas are all available.
pub fn available_deployment(
    namespace: &str,
    name: &str,
    replicas: u64,
    selector: &Value,
    image: &str,
    now: &str,
) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": selector},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": selector}, "spec": {"containers": [{"name": "manager", "image": image}]}},
        },
        "status": available_deployment_status(name, replicas, now),
    })
}

/// The status of a deployment `name` whose `replicas` are all available (what the
/// deployment controller writes once its ReplicaSet has progressed).
pub fn available_deployment_status(name: &str, replicas: u64, now: &str) -> Value {
    json!({
        "observedGeneration": 1,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastTransitionTime": now, "lastUpdateTime": now},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{name}-7d9f8c6b5\" has successfully progressed."), "lastTransitionTime": now, "lastUpdateTime": now},
        ],
    })
}

/// The pods of a deployment built by [`available_deployment`].
pub fn deployment_pods(
    namespace: &str,
    name: &str,
    replicas: u64,
    selector: &Value,
    image: &str,
    nodes: &[String],
    now: &str,
) -> Vec<Value> {
    (0..replicas)
        .map(|i| {
            let node = nodes
                .get(i as usize % nodes.len().max(1))
                .cloned()
                .unwrap_or_default();
            running_pod(
                namespace,
                &format!("{name}-7d9f8c6b5-{}", pod_suffix(name, i)),
                selector,
                image,
                &node,
                now,
            )
        })
        .collect()
}

/// Five lowercase alphanumerics derived from a name, like a replica set's pod suffix.
pub fn pod_suffix(seed: &str, index: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash = fnv(seed) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(hash % ALPHABET.len() as u64) as usize] as char;
            hash /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// FNV-1a: deterministic ids and suffixes from names.
pub fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A CRD serving `versions` (storage first), established.
pub fn crd(
    plural: &str,
    group: &str,
    kind: &str,
    versions: &[&str],
    namespaced: bool,
    extra_labels: &[(&str, &str)],
    now: &str,
) -> Value {
    let singular = kind.to_ascii_lowercase();
    let names = json!({"kind": kind, "listKind": format!("{kind}List"), "plural": plural, "singular": singular});
    let versions_json: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "name": v,
                "served": true,
                "storage": i == 0,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            })
        })
        .collect();
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}"), "labels": labels(extra_labels)},
        "spec": {
            "group": group,
            "names": names,
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "versions": versions_json,
        },
        "status": {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
            "storedVersions": [versions.first().copied().unwrap_or("v1")],
        },
    })
}

/// `true` when every `key=value` (or `key!=value`, or bare `key`) of a label selector holds.
pub fn selector_matches(object: &Value, selector: &str) -> bool {
    let labels = object.pointer("/metadata/labels");
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
    selector
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .all(|term| {
            if let Some((key, value)) = term.split_once("!=") {
                label(key.trim()) != Some(value.trim())
            } else if let Some((key, value)) =
                term.split_once("==").or_else(|| term.split_once('='))
            {
                label(key.trim()) == Some(value.trim())
            } else if let Some(key) = term.strip_prefix('!') {
                label(key.trim()).is_none()
            } else {
                label(term).is_some()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_resolve_like_kubectl() {
        let cluster = KubeCluster::default();
        for name in [
            "deploy",
            "deployment",
            "deployments",
            "Deployment",
            "deployments.apps",
            "deployment.v1.apps",
        ] {
            assert_eq!(
                resolve(&cluster, name).map(|t| t.qualified()),
                Some("deployments.apps".to_string()),
                "{name}"
            );
        }
        assert_eq!(resolve(&cluster, "ns").unwrap().qualified(), "namespaces");
        assert_eq!(resolve(&cluster, "crd").unwrap().qualified(), CRD_RESOURCE);
        assert!(resolve(&cluster, "gitrepositories.source.toolkit.fluxcd.io").is_none());
    }

    #[test]
    fn crds_add_their_served_versions_only() {
        let mut cluster = KubeCluster::default();
        let mut object = crd(
            "gitrepositories",
            "source.toolkit.fluxcd.io",
            "GitRepository",
            &["v1", "v1beta2"],
            true,
            &[],
            "now",
        );
        object["spec"]["versions"][1]["served"] = json!(false);
        cluster
            .objects
            .entry(CRD_RESOURCE.to_string())
            .or_default()
            .insert("gitrepositories.source.toolkit.fluxcd.io".into(), object);
        let t = resolve(&cluster, "gitrepositories.source.toolkit.fluxcd.io").unwrap();
        assert_eq!(t.versions, ["v1"]);
        assert!(resolve_kind(&cluster, "source.toolkit.fluxcd.io/v1", "GitRepository").is_some());
        assert!(resolve_kind(
            &cluster,
            "source.toolkit.fluxcd.io/v1beta2",
            "GitRepository"
        )
        .is_none());
    }

    #[test]
    fn label_selectors() {
        let object = json!({"metadata": {"labels": {"app": "x", "tier": "web"}}});
        assert!(selector_matches(&object, "app=x"));
        assert!(selector_matches(&object, "app=x,tier"));
        assert!(selector_matches(&object, "app==x,tier!=db,!missing"));
        assert!(!selector_matches(&object, "app=y"));
    }
}
