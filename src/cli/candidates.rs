//! What TAB offers for a flag's value (`--completions`, clap_complete's dynamic engine):
//! each function is attached to its flag in [`super::Cli`] and runs only in a completion
//! request, when the user presses TAB.

use std::path::PathBuf;

use clap::ValueEnum;
use clap_complete::engine::CompletionCandidate;

use crate::config::configuration::{NetworkPlugin, Visibility};
use crate::config::kubeconfig::{self, KUBECONFIG_VAR};
use crate::config::regions;
use crate::text::escape_controls;
use crate::troubleshooting::Topic;

/// The shells `--completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl CompletionShell {
    pub fn name(self) -> &'static str {
        match self {
            CompletionShell::Bash => "bash",
            CompletionShell::Zsh => "zsh",
            CompletionShell::Fish => "fish",
            CompletionShell::Powershell => "powershell",
            CompletionShell::Elvish => "elvish",
        }
    }
}

/// `--cluster-region`: the Azure regions the configuration accepts.
pub fn region_candidates() -> Vec<CompletionCandidate> {
    regions::AZURE_REGIONS
        .iter()
        .map(|region| CompletionCandidate::new(*region))
        .collect()
}

/// `--cluster-existing`: the contexts of the kubeconfig (`KUBECONFIG`, else
/// `~/.kube/config`), each with its API server as help where the shell shows one. An
/// unreadable kubeconfig offers nothing: a TAB has nowhere to report an error.
pub fn kube_context_candidates() -> Vec<CompletionCandidate> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let var = std::env::var(KUBECONFIG_VAR).ok();
    kube_contexts_in(&kubeconfig::kubeconfig_paths(
        var.as_deref(),
        home.as_deref(),
    ))
}

/// `--workload-cluster`: `self` (the management cluster), then the kubeconfig's contexts.
pub fn workload_context_candidates() -> Vec<CompletionCandidate> {
    let mut candidates =
        vec![
            CompletionCandidate::new(crate::config::WorkloadContext::MANAGEMENT_WORD)
                .help(Some("the management cluster".into())),
        ];
    candidates.extend(kube_context_candidates());
    candidates
}

fn kube_contexts_in(paths: &[PathBuf]) -> Vec<CompletionCandidate> {
    let Ok(contexts) = kubeconfig::read_contexts(paths) else {
        return Vec::new();
    };
    let servers = kubeconfig::read_context_servers(paths);
    contexts
        .into_iter()
        // The shell inserts a candidate as it is: one with a control character (a terminal
        // escape in someone's kubeconfig) could not be inserted escaped, so it is left out.
        .filter(|context| !has_control_characters(context))
        .map(|context| {
            // The shells' protocol separates candidates by newlines and a candidate from
            // its help by a tab: neither may come through from the file.
            let server = servers
                .get(&context)
                .map(|server| escape_controls(server).replace(|c: char| c.is_control(), " "));
            CompletionCandidate::new(context).help(server.map(Into::into))
        })
        .collect()
}

/// Any control character, newline and tab included (`escape_controls` keeps those two:
/// here they would split one candidate into several).
fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// `--cluster-network-plugin`.
pub fn network_plugin_candidates() -> Vec<CompletionCandidate> {
    NetworkPlugin::ALL
        .iter()
        .map(|plugin| CompletionCandidate::new(plugin.as_str()))
        .collect()
}

/// `--repo-visibility`.
pub fn visibility_candidates() -> Vec<CompletionCandidate> {
    Visibility::ALL
        .iter()
        .map(|visibility| CompletionCandidate::new(visibility.as_str()))
        .collect()
}

/// `--explain`: the troubleshooting topics.
pub fn topic_candidates() -> Vec<CompletionCandidate> {
    Topic::ALL
        .iter()
        .map(|topic| CompletionCandidate::new(topic.anchor()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn paths(list: &[&Path]) -> Vec<PathBuf> {
        list.iter().map(|p| p.to_path_buf()).collect()
    }

    fn values(candidates: &[CompletionCandidate]) -> Vec<String> {
        candidates
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn kube_contexts_come_with_their_server_escaped_and_broken_or_hostile_ones_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("config");
        std::fs::write(
            &good,
            "clusters:\n- name: c\n  cluster: {server: https://10.0.0.1:6443}\n\
             contexts:\n- name: kind-dev\n  context: {cluster: c}\n- name: aks-prod\n",
        )
        .unwrap();
        let candidates = kube_contexts_in(&paths(&[&good]));
        assert_eq!(values(&candidates), ["kind-dev", "aks-prod"]);
        assert_eq!(
            candidates[0].get_help().map(ToString::to_string).as_deref(),
            Some("https://10.0.0.1:6443")
        );
        assert_eq!(candidates[1].get_help(), None);
        let hostile = dir.path().join("hostile");
        std::fs::write(
            &hostile,
            "clusters:\n- name: c\n  cluster: {server: \"https://x\\e]0;owned\\a\"}\n\
             contexts:\n- name: \"evil\\e[2J\"\n- name: fine\n  context: {cluster: c}\n",
        )
        .unwrap();
        let candidates = kube_contexts_in(&paths(&[&hostile]));
        assert_eq!(values(&candidates), ["fine"]);
        assert_eq!(
            candidates[0].get_help().map(ToString::to_string).as_deref(),
            Some("https://x\\u001b]0;owned\\u0007")
        );
        // A newline or a tab would split one candidate into several, or into a value and a
        // help, in the shells' protocol.
        let split = dir.path().join("split");
        std::fs::write(
            &split,
            "clusters:\n- name: c\n  cluster: {server: \"https://a\\nfake\\tx\"}\n\
             contexts:\n- name: \"two\\nnames\"\n- name: \"tab\\there\"\n- name: ok\n  context: {cluster: c}\n",
        )
        .unwrap();
        let candidates = kube_contexts_in(&paths(&[&split]));
        assert_eq!(values(&candidates), ["ok"]);
        assert_eq!(
            candidates[0].get_help().map(ToString::to_string).as_deref(),
            Some("https://a fake x")
        );
        let broken = dir.path().join("broken");
        std::fs::write(&broken, "contexts: [name: {\n").unwrap();
        assert!(kube_contexts_in(&paths(&[&broken])).is_empty());
    }

    #[test]
    fn workload_clusters_complete_self_first() {
        let candidates = workload_context_candidates();
        assert_eq!(values(&candidates)[0], "self");
    }

    #[test]
    fn fixed_value_candidates_are_the_values_the_configuration_accepts() {
        assert_eq!(values(&network_plugin_candidates()), ["azure", "kubenet"]);
        assert_eq!(values(&visibility_candidates()), ["private", "public"]);
        let regions = values(&region_candidates());
        assert_eq!(regions.len(), regions::AZURE_REGIONS.len());
        assert!(regions.iter().all(|r| regions::is_known(r)));
        assert_eq!(topic_candidates().len(), Topic::ALL.len());
    }
}
