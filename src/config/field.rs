//! The one table of configuration fields: each field's key path in the YAML file, its
//! environment variable, its command-line flag, its value kind, and how to read and write
//! it in a [`ConfigLayer`]. Environment parsing, merging, provenance and error messages all
//! go through this table, so a field cannot be known to one of them and missing from another.

use std::fmt;

use super::model::ConfigLayer;

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Number,
}

/// A field value, independent of the field's Rust type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Bool(bool),
    Number(u32),
}

impl Value {
    pub fn kind(&self) -> Kind {
        match self {
            Value::Text(_) => Kind::Text,
            Value::Bool(_) => Kind::Bool,
            Value::Number(_) => Kind::Number,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => f.write_str(text),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
        }
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(n)
    }
}

/// Conversion back from [`Value`] into a field's Rust type; `None` on a kind mismatch.
trait FromValue: Sized {
    fn from_value(value: Value) -> Option<Self>;
}
impl FromValue for String {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}
impl FromValue for u32 {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// A value whose kind does not match the field it was written to (a programming error,
/// reported instead of panicking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindMismatch {
    pub field: Field,
    pub value: Value,
}

macro_rules! field_table {
    ($( $variant:ident => $path:literal, $env:literal, $flag:literal, $kind:ident, $($access:ident).+ ;)*) => {
        /// Every configuration field, in file order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($variant),*
        }

        impl Field {
            /// All fields, in the order they appear in the configuration file.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The key path in the YAML file, e.g. `cluster.nodeCount`.
            pub fn path(self) -> &'static str {
                match self { $(Field::$variant => $path),* }
            }

            /// The `KALYPSO_*` environment variable that sets this field.
            pub fn env_var(self) -> &'static str {
                match self { $(Field::$variant => $env),* }
            }

            /// The command-line flag that sets this field.
            pub fn flag(self) -> &'static str {
                match self { $(Field::$variant => $flag),* }
            }

            pub fn kind(self) -> Kind {
                match self { $(Field::$variant => Kind::$kind),* }
            }

            /// This field's value in a layer, if the layer sets it.
            pub fn get(self, layer: &ConfigLayer) -> Option<Value> {
                match self { $(Field::$variant => layer.$($access).+.clone().map(Value::from)),* }
            }

            /// Whether a layer sets this field.
            pub fn is_set(self, layer: &ConfigLayer) -> bool {
                match self { $(Field::$variant => layer.$($access).+.is_some()),* }
            }

            /// Set (or with `None`, unset) this field in a layer.
            pub fn set(self, layer: &mut ConfigLayer, value: Option<Value>) -> Result<(), KindMismatch> {
                match self {
                    $(Field::$variant => {
                        layer.$($access).+ = match value {
                            None => None,
                            Some(value) => Some(FromValue::from_value(value.clone())
                                .ok_or(KindMismatch { field: self, value })?),
                        };
                    })*
                }
                Ok(())
            }
        }
    };
}

field_table! {
    ClusterName => "cluster.name", "KALYPSO_CLUSTER_NAME", "--cluster-name", Text, cluster.name;
    ClusterCreate => "cluster.create", "KALYPSO_CLUSTER_CREATE", "--cluster-create", Bool, cluster.create;
    ClusterExistingContext => "cluster.existingContext", "KALYPSO_CLUSTER_EXISTING", "--cluster-existing", Text, cluster.existing_context;
    ClusterRegion => "cluster.region", "KALYPSO_CLUSTER_REGION", "--cluster-region", Text, cluster.region;
    ClusterResourceGroup => "cluster.resourceGroup", "KALYPSO_CLUSTER_RESOURCE_GROUP", "--cluster-resource-group", Text, cluster.resource_group;
    ClusterNodeCount => "cluster.nodeCount", "KALYPSO_CLUSTER_NODES", "--cluster-nodes", Number, cluster.node_count;
    ClusterVmSize => "cluster.vmSize", "KALYPSO_CLUSTER_VM_SIZE", "--cluster-vm-size", Text, cluster.vm_size;
    ClusterKubernetesVersion => "cluster.kubernetesVersion", "KALYPSO_CLUSTER_K8S_VERSION", "--cluster-k8s-version", Text, cluster.kubernetes_version;
    ClusterNetworkPlugin => "cluster.networkPlugin", "KALYPSO_CLUSTER_NETWORK_PLUGIN", "--cluster-network-plugin", Text, cluster.network_plugin;
    ControlPlaneCreate => "repositories.controlPlane.create", "KALYPSO_CONTROL_PLANE_CREATE", "--control-plane-create", Bool, repositories.control_plane.create;
    ControlPlaneName => "repositories.controlPlane.name", "KALYPSO_CONTROL_PLANE_NAME", "--control-plane-name", Text, repositories.control_plane.name;
    ControlPlaneUrl => "repositories.controlPlane.url", "KALYPSO_CONTROL_PLANE_REPO", "--control-plane-repo", Text, repositories.control_plane.url;
    GitopsCreate => "repositories.gitops.create", "KALYPSO_GITOPS_CREATE", "--gitops-create", Bool, repositories.gitops.create;
    GitopsName => "repositories.gitops.name", "KALYPSO_GITOPS_NAME", "--gitops-name", Text, repositories.gitops.name;
    GitopsUrl => "repositories.gitops.url", "KALYPSO_GITOPS_REPO", "--gitops-repo", Text, repositories.gitops.url;
    GithubHost => "repositories.githubHost", "KALYPSO_GITHUB_HOST", "--github-host", Text, repositories.github_host;
    GithubOrg => "repositories.githubOrg", "KALYPSO_GITHUB_ORG", "--github-org", Text, repositories.github_org;
    Visibility => "repositories.visibility", "KALYPSO_REPO_VISIBILITY", "--repo-visibility", Text, repositories.visibility;
    Environments => "environments", "KALYPSO_ENVIRONMENTS", "--environments", Text, environments;
    Namespace => "installation.namespace", "KALYPSO_NAMESPACE", "--namespace", Text, installation.namespace;
    HelmChart => "installation.helmChart", "KALYPSO_HELM_CHART", "--helm-chart", Text, installation.helm_chart;
    HelmVersion => "installation.helmVersion", "KALYPSO_HELM_VERSION", "--helm-version", Text, installation.helm_version;
    HelmValues => "installation.helmValues", "KALYPSO_HELM_VALUES", "--helm-values", Text, installation.helm_values;
    FluxManifest => "installation.fluxManifest", "KALYPSO_FLUX_MANIFEST", "--flux-manifest", Text, installation.flux_manifest;
    SkipInstall => "installation.skipInstall", "KALYPSO_SKIP_INSTALL", "--skip-install", Bool, installation.skip_install;
    WorkloadClusters => "workloadClusters", "KALYPSO_WORKLOAD_CLUSTERS", "--workload-cluster", Text, workload_clusters;
    NonInteractive => "options.nonInteractive", "KALYPSO_NON_INTERACTIVE", "--non-interactive", Bool, options.non_interactive;
    AutoRollback => "options.autoRollback", "KALYPSO_AUTO_ROLLBACK", "--auto-rollback", Bool, options.auto_rollback;
    SkipValidation => "options.skipValidation", "KALYPSO_SKIP_VALIDATION", "--skip-validation", Bool, options.skip_validation;
    SkipConfirmation => "options.skipConfirmation", "KALYPSO_SKIP_CONFIRMATION", "--skip-confirmation", Bool, options.skip_confirmation;
    Verbose => "options.verbose", "KALYPSO_VERBOSE", "--verbose", Bool, options.verbose;
    Quiet => "options.quiet", "KALYPSO_QUIET", "--quiet", Bool, options.quiet;
    NoColor => "options.noColor", "KALYPSO_NO_COLOR", "--no-color", Bool, options.no_color;
    Force => "options.force", "KALYPSO_FORCE", "--force", Bool, options.force;
    NoMerge => "options.noMerge", "KALYPSO_NO_MERGE", "--no-merge", Bool, options.no_merge;
}

impl Field {
    /// The field with this key path, e.g. `cluster.nodeCount`.
    pub fn from_path(path: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.path() == path)
    }

    /// The `create` fields, each paired with the field that names an existing resource.
    pub const CREATE_PAIRS: [(Field, Field); 3] = [
        (Field::ClusterCreate, Field::ClusterExistingContext),
        (Field::ControlPlaneCreate, Field::ControlPlaneUrl),
        (Field::GitopsCreate, Field::GitopsUrl),
    ];
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn paths_env_vars_and_flags_are_unique() {
        let paths: HashSet<_> = Field::ALL.iter().map(|f| f.path()).collect();
        let envs: HashSet<_> = Field::ALL.iter().map(|f| f.env_var()).collect();
        let flags: HashSet<_> = Field::ALL.iter().map(|f| f.flag()).collect();
        assert_eq!(paths.len(), Field::ALL.len());
        assert_eq!(envs.len(), Field::ALL.len());
        assert_eq!(flags.len(), Field::ALL.len());
        assert_eq!(Field::ALL.len(), 35);
    }

    #[test]
    fn set_then_get_round_trips_for_every_field_and_touches_only_that_field() {
        for &field in Field::ALL {
            let value = match field.kind() {
                Kind::Text => Value::Text(format!("v-{}", field.path())),
                Kind::Bool => Value::Bool(true),
                Kind::Number => Value::Number(7),
            };
            let mut layer = ConfigLayer::default();
            field.set(&mut layer, Some(value.clone())).unwrap();
            assert_eq!(field.get(&layer), Some(value), "{field}");
            for &other in Field::ALL {
                assert_eq!(
                    other.is_set(&layer),
                    other == field,
                    "{field} leaked into {other}"
                );
            }
            field.set(&mut layer, None).unwrap();
            assert!(layer.is_empty());
        }
    }

    #[test]
    fn the_table_path_matches_the_yaml_key_of_the_accessed_member() {
        // Serialising a layer with one field set must produce exactly that key path.
        for &field in Field::ALL {
            let value = match field.kind() {
                Kind::Text => Value::Text("x".into()),
                Kind::Bool => Value::Bool(false),
                Kind::Number => Value::Number(1),
            };
            let mut layer = ConfigLayer::default();
            field.set(&mut layer, Some(value)).unwrap();
            let yaml: serde_yaml::Value = serde_yaml::to_value(&layer).unwrap();
            let mut node = &yaml;
            for key in field.path().split('.') {
                node = node
                    .get(key)
                    .unwrap_or_else(|| panic!("{} missing in {yaml:?}", field.path()));
            }
            assert!(!node.is_mapping(), "{} is not a leaf", field.path());
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused_not_stored() {
        let mut layer = ConfigLayer::default();
        let err = Field::ClusterNodeCount
            .set(&mut layer, Some(Value::Text("three".into())))
            .unwrap_err();
        assert_eq!(err.field, Field::ClusterNodeCount);
        assert!(layer.is_empty());
    }

    /// Each field's flag, given on the command line, sets exactly that field (and, for an
    /// existing resource, the implied `create: false`).
    #[test]
    fn each_flag_sets_its_field_through_the_cli_layer() {
        use clap::Parser;
        for &field in Field::ALL {
            let mut argv = vec!["kalypso-bootstrap".to_string(), field.flag().to_string()];
            match field.kind() {
                Kind::Text => argv.push("some-value".into()),
                Kind::Number => argv.push("4".into()),
                Kind::Bool => {}
            }
            let layer = crate::cli::Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
                .to_layer();
            let expected = match field.kind() {
                Kind::Text => Value::Text("some-value".into()),
                Kind::Number => Value::Number(4),
                Kind::Bool => Value::Bool(true),
            };
            assert_eq!(field.get(&layer), Some(expected), "{}", field.flag());
            let implied: Vec<Field> = Field::CREATE_PAIRS
                .iter()
                .filter(|(_, existing)| *existing == field)
                .map(|(create, _)| *create)
                .collect();
            for &other in Field::ALL {
                if other != field && !implied.contains(&other) {
                    assert!(!other.is_set(&layer), "{} also set {other}", field.flag());
                }
            }
        }
    }

    #[test]
    fn from_path_finds_each_field() {
        for &field in Field::ALL {
            assert_eq!(Field::from_path(field.path()), Some(field));
        }
        assert_eq!(Field::from_path("cluster.nodeCont"), None);
    }
}
