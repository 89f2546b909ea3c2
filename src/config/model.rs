//! The configuration file's shape (camelCase YAML). Every field is optional so that a
//! layer (file, environment, flags) can say only what it sets; merging fills the rest
//! from the layers below and the defaults.

use serde::{Deserialize, Deserializer, Serialize};

/// A section written with nothing under it (`cluster:` with every key commented out) is
/// YAML null; treat it as an empty section rather than a type error.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigLayer {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "ClusterLayer::is_empty"
    )]
    #[schemars(with = "Option<ClusterLayer>")]
    pub cluster: ClusterLayer,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "RepositoriesLayer::is_empty"
    )]
    #[schemars(with = "Option<RepositoriesLayer>")]
    pub repositories: RepositoriesLayer,
    /// The environments, in promotion order. The file holds a list (`environments: [dev,
    /// stage, prod]`); the layer keeps them as the flag and the variable give them,
    /// comma-separated, so that every layer and the field table treat it as one text value.
    #[serde(
        default,
        with = "environment_list",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<environment_list::Given>")]
    pub environments: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "InstallationLayer::is_empty"
    )]
    #[schemars(with = "Option<InstallationLayer>")]
    pub installation: InstallationLayer,
    /// The clusters attached to reconcile the gitops repository. The file holds a list of
    /// `{context, clusterType, environment}`; the layer keeps them as the flag and the
    /// variable give them, comma-separated `CONTEXT[=CLUSTER_TYPE[=ENVIRONMENT]]` (see
    /// [`split_workload_clusters`]), so that every layer treats it as one text value.
    #[serde(
        default,
        with = "workload_cluster_list",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Vec<workload_cluster_list::WorkloadClusterEntry>>")]
    pub workload_clusters: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "OptionsLayer::is_empty"
    )]
    #[schemars(with = "Option<OptionsLayer>")]
    pub options: OptionsLayer,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// `azure` or `kubenet`; kept as text so a bad value gets a field-level error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_plugin: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoriesLayer {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "RepoLayer::is_empty"
    )]
    #[schemars(with = "Option<RepoLayer>")]
    pub control_plane: RepoLayer,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "RepoLayer::is_empty"
    )]
    #[schemars(with = "Option<RepoLayer>")]
    pub gitops: RepoLayer,
    /// The GitHub host: github.com or a GitHub Enterprise Server's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_org: Option<String>,
    /// `private` or `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepoLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallationLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux_manifest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_install: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionsLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_interactive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_confirmation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbose: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_color: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_merge: Option<bool>,
}

/// `environments` in the file: a YAML list of names, kept in the layer comma-separated.
mod environment_list {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(text) => serializer.collect_seq(super::split_environments(text)),
            None => serializer.serialize_none(),
        }
    }

    /// A list, or (as the flag takes it) one comma-separated text.
    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(untagged)]
    #[schemars(rename = "EnvironmentList")]
    pub(super) enum Given {
        List(Vec<String>),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        let names = match Option::<Given>::deserialize(deserializer) {
            Ok(None) => return Ok(None),
            Ok(Some(Given::Text(text))) => return Ok(Some(text)),
            Ok(Some(Given::List(names))) => names,
            Err(_) => {
                return Err(D::Error::custom(
                    "expected a list of environment names, e.g. [dev, stage, prod]",
                ))
            }
        };
        // A comma inside one entry would read back as two names.
        if let Some(name) = names.iter().find(|name| name.contains(',')) {
            return Err(D::Error::custom(format!(
                "environment name {name:?} contains ','; give each environment as its own list entry"
            )));
        }
        Ok(Some(names.join(",")))
    }
}

/// `workloadClusters` in the file: a list of `{context, clusterType, environment}`, kept in
/// the layer as the flag's comma-separated text.
pub(crate) mod workload_cluster_list {
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    /// One attached cluster as the file writes it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct WorkloadClusterEntry {
        /// A context of the kubeconfig, or `self` for the management cluster.
        pub context: String,
        /// The cluster type whose folder of the gitops repository it reconciles
        /// (default: the one the tool creates, `default`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cluster_type: Option<String>,
        /// The environment branch it reconciles (default: the first environment; for
        /// `self`, every environment).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub environment: Option<String>,
    }

    pub fn serialize<S: Serializer>(
        value: &Option<String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(text) => {
                serializer.collect_seq(super::split_workload_clusters(text).into_iter().map(
                    |given| WorkloadClusterEntry {
                        context: given.context.to_string(),
                        cluster_type: given.cluster_type.map(str::to_string),
                        environment: given.environment.map(str::to_string),
                    },
                ))
            }
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        let Some(entries) = Option::<Vec<WorkloadClusterEntry>>::deserialize(deserializer).map_err(|e| {
            D::Error::custom(format!(
                "expected a list of {{context, clusterType, environment}}, e.g. [{{context: kind-workload}}]: {e}"
            ))
        })?
        else {
            return Ok(None);
        };
        let mut texts = Vec::with_capacity(entries.len());
        for entry in entries {
            // The separators of the flag's form would read back as other entries or parts.
            for part in [
                Some(&entry.context),
                entry.cluster_type.as_ref(),
                entry.environment.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                if part.contains(',') || part.contains('=') {
                    return Err(D::Error::custom(format!(
                        "workload cluster value {part:?} contains ',' or '=', which no kube context, cluster type or environment this tool accepts may hold"
                    )));
                }
            }
            let cluster_type = entry.cluster_type.as_deref().unwrap_or("");
            texts.push(match (&entry.cluster_type, &entry.environment) {
                (_, Some(environment)) => format!("{}={cluster_type}={environment}", entry.context),
                (Some(cluster_type), None) => format!("{}={cluster_type}", entry.context),
                (None, None) => entry.context.clone(),
            });
        }
        Ok(Some(texts.join(",")))
    }
}

/// One `CONTEXT[=CLUSTER_TYPE[=ENVIRONMENT]]` of a workload-cluster list; an empty
/// cluster type before an environment (`ctx==stage`, the file's form without a cluster
/// type) is no cluster type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenWorkloadCluster<'a> {
    pub context: &'a str,
    pub cluster_type: Option<&'a str>,
    pub environment: Option<&'a str>,
}

/// The entries of a comma-separated workload-cluster list, each trimmed.
pub fn split_workload_clusters(text: &str) -> Vec<GivenWorkloadCluster<'_>> {
    text.split(',')
        .map(str::trim)
        .map(|entry| {
            let mut parts = entry.splitn(3, '=');
            let context = parts.next().unwrap_or_default();
            let cluster_type = parts.next();
            let environment = parts.next();
            GivenWorkloadCluster {
                context,
                cluster_type: cluster_type.filter(|t| !(t.is_empty() && environment.is_some())),
                environment,
            }
        })
        .collect()
}

/// The environment names of a comma-separated `environments` value, each trimmed (an
/// empty text gives one empty name, which validation refuses).
pub fn split_environments(text: &str) -> Vec<&str> {
    text.split(',').map(str::trim).collect()
}

macro_rules! impl_is_empty {
    ($($ty:ty),*) => {$(
        impl $ty {
            pub fn is_empty(&self) -> bool {
                *self == Self::default()
            }
        }
    )*};
}
impl_is_empty!(
    ClusterLayer,
    RepositoriesLayer,
    RepoLayer,
    InstallationLayer,
    OptionsLayer,
    ConfigLayer
);
