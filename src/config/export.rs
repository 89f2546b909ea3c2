//! `--export-config`: the effective configuration as YAML that `--config` reads back to the
//! same [`Configuration`]. Every value is written out (defaults included), so the file
//! does not depend on the defaults of the version that reads it.

use super::configuration::{ClusterTarget, Configuration, RepoTarget, Verbosity, WorkloadContext};
use super::model::{
    ClusterLayer, ConfigLayer, InstallationLayer, OptionsLayer, RepoLayer, RepositoriesLayer,
};

const HEADER: &str =
    "# kalypso-bootstrap configuration (exported). Use it with: kalypso-bootstrap --config FILE\n";

/// The configuration as a file layer.
pub fn to_layer(config: &Configuration) -> ConfigLayer {
    let cluster = match &config.cluster {
        ClusterTarget::Create(new) => ClusterLayer {
            name: Some(new.name.clone()),
            create: Some(true),
            existing_context: None,
            region: Some(new.region.clone()),
            resource_group: Some(new.resource_group.clone()),
            node_count: Some(new.node_count),
            vm_size: Some(new.vm_size.clone()),
            kubernetes_version: new.kubernetes_version.clone(),
            network_plugin: Some(new.network_plugin.as_str().to_string()),
        },
        ClusterTarget::Existing(existing) => ClusterLayer {
            name: existing.name.clone(),
            create: Some(false),
            existing_context: Some(existing.context.clone()),
            ..ClusterLayer::default()
        },
    };
    let repo = |target: &RepoTarget| match target {
        RepoTarget::Create { name } => RepoLayer {
            create: Some(true),
            name: Some(name.clone()),
            url: None,
        },
        RepoTarget::Existing(repo) => RepoLayer {
            create: Some(false),
            name: None,
            url: Some(repo.url()),
        },
    };
    let repositories = &config.repositories;
    let installation = &config.installation;
    let options = &config.options;
    ConfigLayer {
        cluster,
        repositories: RepositoriesLayer {
            control_plane: repo(&repositories.control_plane),
            gitops: repo(&repositories.gitops),
            github_host: Some(repositories.github_host.to_string()),
            github_org: repositories.github_org.clone(),
            visibility: Some(repositories.visibility.as_str().to_string()),
        },
        environments: Some(config.environments.names().join(",")),
        workload_clusters: (!config.workload_clusters.is_empty()).then(|| {
            config
                .workload_clusters
                .iter()
                .map(|cluster| {
                    let context = match &cluster.context {
                        WorkloadContext::Management => WorkloadContext::MANAGEMENT_WORD,
                        WorkloadContext::Named(name) => name.as_str(),
                    };
                    format!("{context}={}={}", cluster.cluster_type, cluster.environment)
                })
                .collect::<Vec<_>>()
                .join(",")
        }),
        installation: InstallationLayer {
            namespace: Some(installation.namespace.clone()),
            helm_chart: Some(installation.chart.as_config_value()),
            helm_version: Some(installation.version.clone()),
            helm_values: installation
                .values
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            flux_manifest: installation
                .flux_manifest
                .as_ref()
                .map(|m| m.kubectl_filename()),
            skip_install: Some(installation.skip_install),
        },
        options: OptionsLayer {
            non_interactive: Some(options.non_interactive),
            auto_rollback: Some(options.auto_rollback),
            skip_validation: Some(options.skip_validation),
            skip_confirmation: Some(options.skip_confirmation),
            verbose: Some(options.verbosity == Verbosity::Verbose),
            quiet: Some(options.verbosity == Verbosity::Quiet),
            no_color: Some(options.no_color),
            force: Some(options.force),
            no_merge: Some(options.no_merge),
        },
    }
}

/// The configuration as YAML, with a header comment.
pub fn to_yaml(config: &Configuration) -> Result<String, serde_yaml::Error> {
    Ok(format!(
        "{HEADER}{}",
        serde_yaml::to_string(&to_layer(config))?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::parse_str;
    use std::path::Path;

    #[test]
    fn the_exported_yaml_parses_back_to_the_same_layer() {
        let config = crate::config::build(
            {
                let mut flags = ConfigLayer::default();
                flags.cluster.name = Some("demo".into());
                flags.cluster.kubernetes_version = Some("1.30".into());
                flags
            },
            None,
            &Default::default(),
            &[],
        )
        .unwrap();
        let yaml = to_yaml(config.configuration()).unwrap();
        assert!(yaml.starts_with("# kalypso-bootstrap configuration"));
        assert!(yaml.contains("kubernetesVersion: '1.30'"), "{yaml}");
        let layer = parse_str(&yaml, Path::new("export.yaml")).unwrap();
        assert_eq!(layer, to_layer(config.configuration()));
    }
}
