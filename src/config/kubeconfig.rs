//! Context names from the kubeconfig, for validating `cluster.existingContext`. Follows
//! kubectl: `KUBECONFIG` is a list of paths (`:`-separated on Unix), missing files in it
//! are skipped, the first file naming a context wins; without it, `~/.kube/config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const KUBECONFIG_VAR: &str = "KUBECONFIG";

/// A kubeconfig file that exists but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("kubeconfig {}: cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("kubeconfig {}: is not a valid kubeconfig: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize)]
struct KubeconfigFile {
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
    #[serde(default)]
    clusters: Option<Vec<NamedCluster>>,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: Option<ContextEntry>,
}

#[derive(Deserialize)]
struct ContextEntry {
    #[serde(default)]
    cluster: Option<String>,
}

#[derive(Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: Option<ClusterEntry>,
}

#[derive(Deserialize)]
struct ClusterEntry {
    #[serde(default)]
    server: Option<String>,
}

/// The kubeconfig files to read: the entries of `kubeconfig_var` (empty entries ignored),
/// or `HOME/.kube/config` when the variable is unset or empty.
pub fn kubeconfig_paths(kubeconfig_var: Option<&str>, home: Option<&Path>) -> Vec<PathBuf> {
    match kubeconfig_var.filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => home
            .map(|h| vec![h.join(".kube").join("config")])
            .unwrap_or_default(),
    }
}

/// The context names in `paths`, in order, without duplicates. A missing file contributes
/// nothing; an unreadable or malformed one is an error.
pub fn read_contexts(paths: &[PathBuf]) -> Result<Vec<String>, KubeconfigError> {
    let mut names: Vec<String> = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(KubeconfigError::Unreadable {
                    path: path.clone(),
                    source,
                })
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let file: KubeconfigFile =
            serde_yaml::from_str(&text).map_err(|e| KubeconfigError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
        for context in file.contexts.unwrap_or_default() {
            if !names.contains(&context.name) {
                names.push(context.name);
            }
        }
    }
    Ok(names)
}

/// The API server of each context in `paths` that names a cluster with a server, merged as
/// kubectl merges them (the first file naming a context, or a cluster, wins). Unreadable or
/// malformed files contribute nothing: this only adds detail to the context list.
pub fn read_context_servers(paths: &[PathBuf]) -> HashMap<String, String> {
    let files: Vec<KubeconfigFile> = paths
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|text| !text.trim().is_empty())
        .filter_map(|text| serde_yaml::from_str(&text).ok())
        .collect();
    let mut context_cluster: HashMap<String, Option<String>> = HashMap::new();
    let mut cluster_server: HashMap<String, Option<String>> = HashMap::new();
    for file in files {
        for context in file.contexts.unwrap_or_default() {
            context_cluster
                .entry(context.name)
                .or_insert_with(|| context.context.and_then(|c| c.cluster));
        }
        for cluster in file.clusters.unwrap_or_default() {
            cluster_server
                .entry(cluster.name)
                .or_insert_with(|| cluster.cluster.and_then(|c| c.server));
        }
    }
    context_cluster
        .into_iter()
        .filter_map(|(context, cluster)| {
            let server = cluster_server.get(&cluster?)?.clone()?;
            Some((context, server))
        })
        .collect()
}

/// The context names, locating the kubeconfig from `KUBECONFIG` and `HOME` in `env`.
pub fn contexts_from_env(env: &HashMap<String, String>) -> Result<Vec<String>, KubeconfigError> {
    let home = env.get("HOME").map(PathBuf::from);
    let paths = kubeconfig_paths(env.get(KUBECONFIG_VAR).map(String::as_str), home.as_deref());
    read_contexts(&paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
apiVersion: v1
kind: Config
current-context: kind-dev
clusters:
- name: kind-dev
  cluster: {server: https://127.0.0.1:6443}
contexts:
- name: kind-dev
  context: {cluster: kind-dev, user: kind-dev}
- name: aks-prod
  context: {cluster: aks-prod, user: clusterUser}
users:
- name: kind-dev
  user: {token: abc}
";

    #[test]
    fn each_context_has_the_server_of_its_cluster_first_file_winning() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        std::fs::write(&first, SAMPLE).unwrap();
        std::fs::write(
            &second,
            "contexts:\n- name: kind-dev\n  context: {cluster: other}\n- name: k3d-lab\n  context: {cluster: k3d-lab}\nclusters:\n- name: aks-prod\n  cluster: {server: https://aks-prod.hcp.eastus.azmk8s.io:443}\n- name: other\n  cluster: {server: https://other:6443}\n- name: k3d-lab\n  cluster: {server: https://0.0.0.0:41234}\n",
        )
        .unwrap();
        let servers = read_context_servers(&[first, second, dir.path().join("missing")]);
        assert_eq!(servers["kind-dev"], "https://127.0.0.1:6443");
        assert_eq!(
            servers["aks-prod"],
            "https://aks-prod.hcp.eastus.azmk8s.io:443"
        );
        assert_eq!(servers["k3d-lab"], "https://0.0.0.0:41234");
        assert_eq!(servers.len(), 3);
    }

    #[test]
    fn kubeconfig_is_a_colon_separated_list_or_the_home_default() {
        let home = Path::new("/home/u");
        assert_eq!(
            kubeconfig_paths(Some("/a/config:/b/config::"), Some(home)),
            vec![PathBuf::from("/a/config"), PathBuf::from("/b/config")]
        );
        assert_eq!(
            kubeconfig_paths(None, Some(home)),
            vec![PathBuf::from("/home/u/.kube/config")]
        );
        assert_eq!(
            kubeconfig_paths(Some(""), Some(home)),
            vec![PathBuf::from("/home/u/.kube/config")]
        );
        assert!(kubeconfig_paths(None, None).is_empty());
    }

    #[test]
    fn contexts_are_merged_in_order_without_duplicates_and_missing_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a");
        let second = dir.path().join("b");
        std::fs::write(&first, SAMPLE).unwrap();
        std::fs::write(
            &second,
            "contexts:\n- name: aks-prod\n  context: {}\n- name: minikube\n",
        )
        .unwrap();
        let names = read_contexts(&[first, dir.path().join("missing"), second]).unwrap();
        assert_eq!(names, vec!["kind-dev", "aks-prod", "minikube"]);
    }

    #[test]
    fn empty_files_and_files_without_contexts_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        let none = dir.path().join("none");
        std::fs::write(&none, "apiVersion: v1\ncontexts: null\n").unwrap();
        assert!(read_contexts(&[empty, none]).unwrap().is_empty());
    }

    #[test]
    fn malformed_or_unreadable_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "contexts: [name: {\n").unwrap();
        assert!(matches!(
            read_contexts(&[bad]).unwrap_err(),
            KubeconfigError::Invalid { .. }
        ));
        assert!(matches!(
            read_contexts(&[dir.path().to_path_buf()]).unwrap_err(),
            KubeconfigError::Unreadable { .. }
        ));
    }

    #[test]
    fn from_env_uses_kubeconfig_then_home() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".kube")).unwrap();
        std::fs::write(dir.path().join(".kube").join("config"), SAMPLE).unwrap();
        let mut env = HashMap::new();
        env.insert(
            "HOME".to_string(),
            dir.path().to_string_lossy().into_owned(),
        );
        assert_eq!(
            contexts_from_env(&env).unwrap(),
            vec!["kind-dev", "aks-prod"]
        );
        let other = dir.path().join("other");
        std::fs::write(&other, "contexts:\n- name: only\n").unwrap();
        env.insert(
            KUBECONFIG_VAR.to_string(),
            other.to_string_lossy().into_owned(),
        );
        assert_eq!(contexts_from_env(&env).unwrap(), vec!["only"]);
    }
}
