//! What a freshly created local cluster holds, as kind and k3d make it: their node names,
//! labels and provider ids, and the system pods of their published manifests. Not AKS: no
//! `agentpool` or `kubernetes.azure.com/*` label, no konnectivity or Azure agents. The
//! sources are listed in `tests/fixtures/clusters/README.md`.

use serde_json::{json, Value};

use super::kube::{self, Counter, NodeInfo};
use super::state::KubeCluster;
use super::world::{populate_system, put};

/// Which tool made a cluster the simulation serves through a kube context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeFlavour {
    /// An AKS cluster reached through its context: AKS nodes and kube-system pods.
    Aks,
    /// `kind create cluster --name NAME`: `NAME-control-plane` (and `NAME-worker`,
    /// `NAME-worker2`, … for more nodes), kindnet, kube-proxy, the control plane's static
    /// pods, and local-path-provisioner in `local-path-storage`.
    Kind { cluster: &'static str },
    /// `k3d cluster create NAME`: `k3d-NAME-server-0` (and `k3d-NAME-agent-0`, …), with
    /// k3s's packaged components in kube-system: coredns, local-path-provisioner,
    /// metrics-server, traefik (installed by helm-install jobs) and its svclb pods.
    K3d { cluster: &'static str },
}

impl KubeFlavour {
    /// The server version this tool reports for `kubernetes_version` (`1.31.5` becomes
    /// `v1.31.5+k3s1` on k3s).
    pub fn server_version(self, kubernetes_version: &str) -> String {
        let version = kubernetes_version.trim_start_matches('v');
        match self {
            KubeFlavour::K3d { .. } => format!("v{version}+k3s1"),
            KubeFlavour::Aks | KubeFlavour::Kind { .. } => format!("v{version}"),
        }
    }
}

/// Fill `api` as `flavour` makes a new cluster of `nodes` nodes (at least one).
pub(crate) fn populate(
    api: &mut KubeCluster,
    counter: &mut Counter,
    flavour: KubeFlavour,
    nodes: u32,
    now: &str,
) {
    let nodes = nodes.max(1);
    match flavour {
        KubeFlavour::Aks => {
            let names: Vec<String> = (1..=nodes).map(|i| format!("node-{i}")).collect();
            populate_system(api, counter, &names, "Standard_D2s_v5", "local", false, now);
        }
        KubeFlavour::Kind { cluster } => populate_kind(api, counter, cluster, nodes, now),
        KubeFlavour::K3d { cluster } => populate_k3d(api, counter, cluster, nodes, now),
    }
}

fn namespaces(api: &mut KubeCluster, counter: &mut Counter, extra: &[&str], now: &str) {
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"]
        .iter()
        .chain(extra)
    {
        put(api, counter, "namespaces", kube::namespace(ns, &[]), now);
    }
}

/// A deployment and its running pods.
#[allow(clippy::too_many_arguments)]
fn deployment(
    api: &mut KubeCluster,
    counter: &mut Counter,
    namespace: &str,
    name: &str,
    replicas: u64,
    selector: Value,
    image: &str,
    nodes: &[String],
    now: &str,
) {
    let deployment = kube::available_deployment(namespace, name, replicas, &selector, image, now);
    put(api, counter, "deployments.apps", deployment, now);
    for pod in kube::deployment_pods(namespace, name, replicas, &selector, image, nodes, now) {
        put(api, counter, "pods", pod, now);
    }
}

/// One running pod of a daemon set on every node.
fn daemon_pods(
    api: &mut KubeCluster,
    counter: &mut Counter,
    daemon: &str,
    selector: Value,
    image: &str,
    nodes: &[String],
    now: &str,
) {
    for (i, node) in nodes.iter().enumerate() {
        let name = format!("{daemon}-{}", kube::pod_suffix(node, i as u64));
        let pod = kube::running_pod("kube-system", &name, &selector, image, node, now);
        put(api, counter, "pods", pod, now);
    }
}

fn populate_kind(
    api: &mut KubeCluster,
    counter: &mut Counter,
    cluster: &str,
    nodes: u32,
    now: &str,
) {
    namespaces(api, counter, &["local-path-storage"], now);
    let control_plane = format!("{cluster}-control-plane");
    let names: Vec<String> = std::iter::once(control_plane.clone())
        .chain((1..nodes).map(|i| match i {
            1 => format!("{cluster}-worker"),
            i => format!("{cluster}-worker{i}"),
        }))
        .collect();
    let version = api.version.clone();
    for name in &names {
        let mut labels = json!({
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
        });
        if *name == control_plane {
            labels["node-role.kubernetes.io/control-plane"] = json!("");
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
        }
        let node = kube::node_of(
            name,
            labels,
            &format!("kind://docker/{cluster}/{name}"),
            NodeInfo {
                kubelet: &version,
                os_image: "Debian GNU/Linux 12 (bookworm)",
                kernel: "6.8.0-57-generic",
                runtime: "containerd://2.0.3",
            },
            now,
        );
        put(api, counter, "nodes", node, now);
    }
    // The control plane's static pods, named after their node (kubeadm).
    for component in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        let labels = json!({"component": component, "tier": "control-plane"});
        let image = format!("registry.k8s.io/{component}:{version}");
        let pod = kube::running_pod(
            "kube-system",
            &format!("{component}-{control_plane}"),
            &labels,
            &image,
            &control_plane,
            now,
        );
        put(api, counter, "pods", pod, now);
    }
    deployment(
        api,
        counter,
        "kube-system",
        "coredns",
        2,
        json!({"k8s-app": "kube-dns"}),
        "registry.k8s.io/coredns/coredns:v1.12.0",
        &names,
        now,
    );
    daemon_pods(
        api,
        counter,
        "kindnet",
        json!({"app": "kindnet", "k8s-app": "kindnet", "tier": "node"}),
        "docker.io/kindest/kindnetd:v20250214-acbabc1a",
        &names,
        now,
    );
    daemon_pods(
        api,
        counter,
        "kube-proxy",
        json!({"k8s-app": "kube-proxy"}),
        &format!("registry.k8s.io/kube-proxy:{version}"),
        &names,
        now,
    );
    deployment(
        api,
        counter,
        "local-path-storage",
        "local-path-provisioner",
        1,
        json!({"app": "local-path-provisioner"}),
        "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a",
        &names,
        now,
    );
}

fn populate_k3d(
    api: &mut KubeCluster,
    counter: &mut Counter,
    cluster: &str,
    nodes: u32,
    now: &str,
) {
    namespaces(api, counter, &[], now);
    let server = format!("k3d-{cluster}-server-0");
    let names: Vec<String> = std::iter::once(server.clone())
        .chain((1..nodes).map(|i| format!("k3d-{cluster}-agent-{}", i - 1)))
        .collect();
    let version = api.version.clone();
    for name in &names {
        let mut labels = json!({
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": "k3s",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": "k3s",
        });
        if *name == server {
            labels["node-role.kubernetes.io/control-plane"] = json!("true");
            labels["node-role.kubernetes.io/master"] = json!("true");
        }
        let node = kube::node_of(
            name,
            labels,
            &format!("k3s://{name}"),
            NodeInfo {
                kubelet: &version,
                os_image: "K3s v1.31.5+k3s1",
                kernel: "6.8.0-57-generic",
                runtime: "containerd://1.7.23-k3s2",
            },
            now,
        );
        put(api, counter, "nodes", node, now);
    }
    for (name, selector, image) in [
        (
            "coredns",
            json!({"k8s-app": "kube-dns"}),
            "rancher/mirrored-coredns-coredns:1.12.0",
        ),
        (
            "local-path-provisioner",
            json!({"app": "local-path-provisioner"}),
            "rancher/local-path-provisioner:v0.0.30",
        ),
        (
            "metrics-server",
            json!({"k8s-app": "metrics-server"}),
            "rancher/mirrored-metrics-server:v0.7.2",
        ),
        (
            "traefik",
            json!({"app.kubernetes.io/instance": "traefik-kube-system", "app.kubernetes.io/name": "traefik"}),
            "rancher/mirrored-library-traefik:3.3.2",
        ),
    ] {
        deployment(
            api,
            counter,
            "kube-system",
            name,
            1,
            selector,
            image,
            &names,
            now,
        );
    }
    // k3s's helm-controller installs traefik through two Jobs, whose pods stay listed as
    // Completed; servicelb runs a pod per node for traefik's LoadBalancer service.
    for job in ["helm-install-traefik-crd", "helm-install-traefik"] {
        let labels = json!({"helmcharts.helm.cattle.io/chart": job.trim_start_matches("helm-install-"), "job-name": job});
        let pod = kube::completed_pod(
            "kube-system",
            &format!("{job}-{}", kube::pod_suffix(job, 0)),
            &labels,
            "rancher/klipper-helm:v0.9.4-build20250113",
            &server,
            now,
        );
        put(api, counter, "pods", pod, now);
    }
    daemon_pods(
        api,
        counter,
        &format!(
            "svclb-traefik-{}",
            &format!("{:08x}", kube::fnv(cluster))[..8]
        ),
        json!({"app": "svclb-traefik", "svccontroller.k3s.cattle.io/svcname": "traefik"}),
        "rancher/klipper-lb:v0.4.9",
        &names,
        now,
    );
}
