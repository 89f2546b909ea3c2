//! Merging the layers: defaults < file < environment < flags (< interactive answers), per
//! field, remembering where each effective value came from. A layer that sets a field
//! always wins over lower layers, even with an empty string: blank is a value (which
//! validation rejects), never "unset", so a file cannot silently blank a flag.

use super::defaults;
use super::field::{Field, Value};
use super::model::ConfigLayer;
use super::source::{Provenance, Source, SourcedLayer};

/// The effective (not yet validated) values and their sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub values: ConfigLayer,
    pub provenance: Provenance,
}

impl Merged {
    pub fn source(&self, field: Field) -> &Source {
        self.provenance.get(field)
    }

    pub fn get(&self, field: Field) -> Option<Value> {
        field.get(&self.values)
    }
}

/// Merge `layers`, given lowest precedence first, over the built-in defaults. Defaults
/// derived from the cluster name (`{cluster-name}-rg`, …) are filled in last, from the
/// effective name.
pub fn merge(layers: &[&SourcedLayer]) -> Merged {
    let mut values = defaults::fixed();
    let mut provenance = Provenance::default();
    for layer in layers {
        for &field in Field::ALL {
            if let Some(value) = field.get(&layer.values) {
                // Same field on both sides: the kinds match.
                let _ = field.set(&mut values, Some(value));
                let source = layer.sources.get(&field).cloned();
                provenance.set(field, source.unwrap_or(Source::Default));
            }
        }
    }
    if let Some(name) = values.cluster.name.clone() {
        for field in defaults::DERIVED {
            if !field.is_set(&values) {
                let _ = field.set(
                    &mut values,
                    defaults::derived(field, &name).map(Value::Text),
                );
            }
        }
    }
    Merged { values, provenance }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file_layer(values: ConfigLayer) -> SourcedLayer {
        SourcedLayer::uniform(values, file_source())
    }

    fn file_source() -> Source {
        Source::File {
            path: PathBuf::from("c.yaml"),
        }
    }

    /// One representative field of each kind (and one with a default, one without),
    /// set in every combination of flag / env / file; the highest layer present must win
    /// and be recorded as the source, else the default.
    #[test]
    fn precedence_matrix() {
        struct Case {
            field: Field,
            flag: Value,
            env: Value,
            file: Value,
            default: Option<Value>,
        }
        let text = |s: &str| Value::Text(s.to_string());
        let cases = [
            Case {
                field: Field::ClusterName,
                flag: text("from-flag"),
                env: text("from-env"),
                file: text("from-file"),
                default: None,
            },
            Case {
                field: Field::ClusterRegion,
                flag: text("westus"),
                env: text("westus2"),
                file: text("westus3"),
                default: Some(text("eastus")),
            },
            Case {
                field: Field::ClusterNodeCount,
                flag: Value::Number(5),
                env: Value::Number(7),
                file: Value::Number(9),
                default: Some(Value::Number(3)),
            },
            Case {
                field: Field::Verbose,
                flag: Value::Bool(true),
                env: Value::Bool(false),
                file: Value::Bool(true),
                default: Some(Value::Bool(false)),
            },
            Case {
                field: Field::ControlPlaneCreate,
                flag: Value::Bool(false),
                env: Value::Bool(true),
                file: Value::Bool(false),
                default: Some(Value::Bool(true)),
            },
        ];
        for case in &cases {
            for mask in 0..8u8 {
                let (in_flag, in_env, in_file) = (mask & 4 != 0, mask & 2 != 0, mask & 1 != 0);
                let mut flags = ConfigLayer::default();
                let mut env = ConfigLayer::default();
                let mut file = ConfigLayer::default();
                if in_flag {
                    case.field.set(&mut flags, Some(case.flag.clone())).unwrap();
                }
                if in_env {
                    case.field.set(&mut env, Some(case.env.clone())).unwrap();
                }
                if in_file {
                    case.field.set(&mut file, Some(case.file.clone())).unwrap();
                }
                let env_layer = SourcedLayer::uniform(env, Source::env(case.field.env_var()));
                let merged = merge(&[
                    &file_layer(file),
                    &env_layer,
                    &SourcedLayer::from_flags(flags),
                ]);
                let (expected_value, expected_source) = if in_flag {
                    (Some(case.flag.clone()), Source::flag(case.field.flag()))
                } else if in_env {
                    (Some(case.env.clone()), Source::env(case.field.env_var()))
                } else if in_file {
                    (Some(case.file.clone()), file_source())
                } else {
                    (case.default.clone(), Source::Default)
                };
                let label = format!("{} flag={in_flag} env={in_env} file={in_file}", case.field);
                assert_eq!(merged.get(case.field), expected_value, "{label}");
                assert_eq!(merged.source(case.field), &expected_source, "{label}");
            }
        }
    }

    #[test]
    fn a_blank_file_value_cannot_blank_a_flag() {
        let mut file = ConfigLayer::default();
        file.cluster.name = Some(String::new());
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("demo".into());
        let merged = merge(&[&file_layer(file), &SourcedLayer::from_flags(flags)]);
        assert_eq!(merged.values.cluster.name.as_deref(), Some("demo"));
        assert_eq!(
            merged.source(Field::ClusterName),
            &Source::flag("--cluster-name")
        );
    }

    #[test]
    fn a_blank_value_overrides_lower_layers_and_is_kept_for_validation() {
        let mut file = ConfigLayer::default();
        file.cluster.region = Some("westus".into());
        let mut env = ConfigLayer::default();
        env.cluster.region = Some(String::new());
        let env = SourcedLayer::uniform(env, Source::env("KALYPSO_CLUSTER_REGION"));
        let merged = merge(&[&file_layer(file), &env]);
        assert_eq!(merged.values.cluster.region.as_deref(), Some(""));
        assert_eq!(
            merged.source(Field::ClusterRegion),
            &Source::env("KALYPSO_CLUSTER_REGION")
        );
    }

    #[test]
    fn derived_defaults_use_the_effective_cluster_name() {
        let mut file = ConfigLayer::default();
        file.cluster.name = Some("from-file".into());
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("demo".into());
        flags.repositories.gitops.name = Some("my-gitops".into());
        let merged = merge(&[&file_layer(file), &SourcedLayer::from_flags(flags)]);
        assert_eq!(
            merged.values.cluster.resource_group.as_deref(),
            Some("demo-rg")
        );
        assert_eq!(merged.source(Field::ClusterResourceGroup), &Source::Default);
        assert_eq!(
            merged.values.repositories.control_plane.name.as_deref(),
            Some("demo-control-plane")
        );
        assert_eq!(
            merged.values.repositories.gitops.name.as_deref(),
            Some("my-gitops")
        );
    }

    #[test]
    fn without_a_cluster_name_nothing_is_derived() {
        let merged = merge(&[]);
        assert_eq!(merged.values.cluster.resource_group, None);
        assert_eq!(merged.values.repositories.control_plane.name, None);
        assert_eq!(merged.values.cluster.create, Some(true));
    }

    #[test]
    fn an_existing_context_in_the_file_implies_create_false_unless_a_higher_layer_says_create() {
        let mut file = ConfigLayer::default();
        file.cluster.existing_context = Some("kind-dev".into());
        let merged = merge(&[&file_layer(file.clone())]);
        assert_eq!(merged.values.cluster.create, Some(false));
        assert_eq!(merged.source(Field::ClusterCreate), &file_source());

        let mut flags = ConfigLayer::default();
        flags.cluster.create = Some(true);
        let merged = merge(&[&file_layer(file), &SourcedLayer::from_flags(flags)]);
        assert_eq!(merged.values.cluster.create, Some(true));
        assert_eq!(
            merged.source(Field::ClusterCreate),
            &Source::flag("--cluster-create")
        );
    }

    #[test]
    fn a_flagged_existing_context_beats_a_file_that_says_create() {
        let mut file = ConfigLayer::default();
        file.cluster.create = Some(true);
        let mut flags = ConfigLayer::default();
        flags.cluster.existing_context = Some("kind-dev".into());
        flags.cluster.create = Some(false);
        let merged = merge(&[&file_layer(file), &SourcedLayer::from_flags(flags)]);
        assert_eq!(merged.values.cluster.create, Some(false));
        assert_eq!(
            merged.source(Field::ClusterCreate),
            &Source::flag("--cluster-existing")
        );
    }
}
