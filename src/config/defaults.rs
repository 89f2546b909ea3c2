//! Built-in defaults: the lowest configuration layer.

use super::field::Field;
use super::github_host::DEFAULT_HOST;
use super::model::RepositoriesLayer;
use super::model::{ClusterLayer, ConfigLayer, InstallationLayer, OptionsLayer, RepoLayer};

/// The Helm repository that publishes the Kalypso Scheduler chart.
pub const HELM_REPO_URL: &str = "https://microsoft.github.io/kalypso-scheduler";
/// The chart's name in [`HELM_REPO_URL`].
pub const HELM_CHART: &str = "kalypso-scheduler";
/// The pinned chart version.
pub const HELM_VERSION: &str = "1.1.2-alpha";
pub const REGION: &str = "eastus";
pub const NODE_COUNT: u32 = 3;
pub const VM_SIZE: &str = "Standard_DS2_v2";
pub const NETWORK_PLUGIN: &str = "azure";
pub const VISIBILITY: &str = "private";
pub const NAMESPACE: &str = "kalypso-system";
/// The one environment bootstrapped unless `environments` says otherwise.
pub const ENVIRONMENTS: &str = "dev";

/// Defaults that do not depend on other fields. Fields absent here have no fixed default:
/// either derived from the cluster name ([`derived`]), optional (`kubernetesVersion`,
/// `githubOrg`, `helmValues`), or required when needed (`name`, `existingContext`, `url`).
pub fn fixed() -> ConfigLayer {
    let create = || RepoLayer {
        create: Some(true),
        name: None,
        url: None,
    };
    ConfigLayer {
        cluster: ClusterLayer {
            name: None,
            create: Some(true),
            existing_context: None,
            region: Some(REGION.into()),
            resource_group: None,
            node_count: Some(NODE_COUNT),
            vm_size: Some(VM_SIZE.into()),
            kubernetes_version: None,
            network_plugin: Some(NETWORK_PLUGIN.into()),
        },
        repositories: RepositoriesLayer {
            control_plane: create(),
            gitops: create(),
            github_host: Some(DEFAULT_HOST.into()),
            github_org: None,
            visibility: Some(VISIBILITY.into()),
        },
        environments: Some(ENVIRONMENTS.into()),
        installation: InstallationLayer {
            namespace: Some(NAMESPACE.into()),
            helm_chart: Some(HELM_CHART.into()),
            helm_version: Some(HELM_VERSION.into()),
            helm_values: None,
            flux_manifest: None,
            skip_install: Some(false),
        },
        workload_clusters: None,
        options: OptionsLayer {
            non_interactive: Some(false),
            auto_rollback: Some(false),
            skip_validation: Some(false),
            skip_confirmation: Some(false),
            verbose: Some(false),
            quiet: Some(false),
            no_color: Some(false),
            force: Some(false),
            no_merge: Some(false),
        },
    }
}

/// Fields whose default is built from `cluster.name`.
pub const DERIVED: [Field; 3] = [
    Field::ClusterResourceGroup,
    Field::ControlPlaneName,
    Field::GitopsName,
];

/// The default of a derived field for a given cluster name.
pub fn derived(field: Field, cluster_name: &str) -> Option<String> {
    match field {
        Field::ClusterResourceGroup => Some(format!("{cluster_name}-rg")),
        Field::ControlPlaneName => Some(format!("{cluster_name}-control-plane")),
        Field::GitopsName => Some(format!("{cluster_name}-gitops")),
        _ => None,
    }
}

/// The default in words, for hints (`None` when the field has no default).
pub fn describe(field: Field) -> Option<String> {
    match field {
        Field::ClusterResourceGroup => Some("{cluster-name}-rg".into()),
        Field::ControlPlaneName => Some("{cluster-name}-control-plane".into()),
        Field::GitopsName => Some("{cluster-name}-gitops".into()),
        Field::ClusterKubernetesVersion => Some("the AKS default version".into()),
        Field::GithubOrg => Some("the authenticated GitHub user".into()),
        Field::GithubHost => Some(format!("GH_HOST if set, else {DEFAULT_HOST}")),
        Field::FluxManifest => Some(format!(
            "{} (the release of --flux-version, from github.com)",
            crate::tools::kubectl::flux_install_url(crate::tools::kubectl::FLUX_VERSION)
        )),
        _ => field.get(&fixed()).map(|v| v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults() {
        let d = fixed();
        assert_eq!(d.cluster.create, Some(true));
        assert_eq!(d.cluster.region.as_deref(), Some("eastus"));
        assert_eq!(d.cluster.node_count, Some(3));
        assert_eq!(d.cluster.vm_size.as_deref(), Some("Standard_DS2_v2"));
        assert_eq!(d.cluster.kubernetes_version, None);
        assert_eq!(d.cluster.network_plugin.as_deref(), Some("azure"));
        assert_eq!(d.repositories.control_plane.create, Some(true));
        assert_eq!(d.repositories.gitops.create, Some(true));
        assert_eq!(d.repositories.github_org, None);
        assert_eq!(d.repositories.visibility.as_deref(), Some("private"));
        assert_eq!(d.installation.namespace.as_deref(), Some("kalypso-system"));
        assert_eq!(
            d.installation.helm_chart.as_deref(),
            Some("kalypso-scheduler")
        );
        assert_eq!(d.installation.helm_version.as_deref(), Some("1.1.2-alpha"));
        assert_eq!(d.installation.skip_install, Some(false));
        assert!(Field::ALL
            .iter()
            .filter(|f| f.path().starts_with("options."))
            .all(|f| f.get(&d) == Some(false.into())));
        assert_eq!(
            HELM_REPO_URL,
            "https://microsoft.github.io/kalypso-scheduler"
        );
    }

    #[test]
    fn derived_defaults_follow_the_cluster_name() {
        assert_eq!(
            derived(Field::ClusterResourceGroup, "demo").unwrap(),
            "demo-rg"
        );
        assert_eq!(
            derived(Field::ControlPlaneName, "demo").unwrap(),
            "demo-control-plane"
        );
        assert_eq!(derived(Field::GitopsName, "demo").unwrap(), "demo-gitops");
        assert_eq!(derived(Field::ClusterRegion, "demo"), None);
        assert_eq!(describe(Field::ClusterRegion).as_deref(), Some("eastus"));
        assert_eq!(describe(Field::ClusterName), None);
    }
}
