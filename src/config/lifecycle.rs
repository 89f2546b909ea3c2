//! The configuration's life cycle, Uninitialized → Parsed → Validated → Confirmed → Active,
//! as a typestate: one type per state, each offering only its own forward transition and
//! consuming itself where the step cannot be undone. An illegal transition does not
//! compile, and a later state cannot be built except through the earlier ones (their
//! fields are private).
//!
//! - [`Uninitialized::parse`] reads the file and the environment and merges them with the
//!   flags. Fails only when the file cannot be used, with every problem of the file and
//!   every invalid flag or environment value.
//! - [`Parsed::validate`] applies every rule (borrowing, so the interactive front end can
//!   add answers with [`Parsed::with_answers`] and validate again).
//! - [`Validated::confirm`]: the user said yes (or confirmation is skipped).
//! - [`Confirmed::activate`]: the run starts acting on this configuration.
//!
//! The legal path compiles:
//! ```
//! use std::collections::HashMap;
//! use kalypso_bootstrap::config::{ConfigLayer, lifecycle::Uninitialized};
//! let mut flags = ConfigLayer::default();
//! flags.cluster.name = Some("demo".into());
//! let parsed = Uninitialized::new().parse(flags, None, &HashMap::new()).unwrap();
//! let active = parsed.validate(&[]).unwrap().confirm().activate();
//! assert_eq!(active.configuration().cluster_name(), Some("demo"));
//! ```
//! Confirming what was not validated does not:
//! ```compile_fail,E0599
//! use std::collections::HashMap;
//! use kalypso_bootstrap::config::{ConfigLayer, lifecycle::Uninitialized};
//! let parsed = Uninitialized::new().parse(ConfigLayer::default(), None, &HashMap::new()).unwrap();
//! let confirmed = parsed.confirm();
//! ```
//! Nor activating what was not confirmed:
//! ```compile_fail,E0599
//! use std::collections::HashMap;
//! use kalypso_bootstrap::config::{ConfigLayer, lifecycle::Uninitialized};
//! let parsed = Uninitialized::new().parse(ConfigLayer::default(), None, &HashMap::new()).unwrap();
//! let active = parsed.validate(&[]).unwrap().activate();
//! ```
//! Nor going back from Active:
//! ```compile_fail,E0599
//! use std::collections::HashMap;
//! use kalypso_bootstrap::config::{ConfigLayer, lifecycle::Uninitialized};
//! let mut flags = ConfigLayer::default();
//! flags.cluster.name = Some("demo".into());
//! let parsed = Uninitialized::new().parse(flags, None, &HashMap::new()).unwrap();
//! let active = parsed.validate(&[]).unwrap().confirm().activate();
//! let again = active.validate(&[]);
//! ```
//! Nor confirming twice (the step consumes the validated configuration):
//! ```compile_fail,E0382
//! use std::collections::HashMap;
//! use kalypso_bootstrap::config::{ConfigLayer, lifecycle::Uninitialized};
//! let mut flags = ConfigLayer::default();
//! flags.cluster.name = Some("demo".into());
//! let parsed = Uninitialized::new().parse(flags, None, &HashMap::new()).unwrap();
//! let validated = parsed.validate(&[]).unwrap();
//! let first = validated.confirm();
//! let second = validated.confirm();
//! ```
//! The engine acts only on an active configuration:
//! ```no_run
//! use kalypso_bootstrap::config::lifecycle::Active;
//! use kalypso_bootstrap::engine::{Bootstrap, EventSink, Plan};
//! use kalypso_bootstrap::tools::CancellationToken;
//! async fn act(bootstrap: &Bootstrap, active: &Active, plan: &Plan, cancel: &CancellationToken) {
//!     let (events, _) = EventSink::channel();
//!     bootstrap.run(active, plan, events, cancel).await;
//! }
//! ```
//! not on one that is merely validated (nobody confirmed it):
//! ```compile_fail,E0308
//! use kalypso_bootstrap::config::lifecycle::Validated;
//! use kalypso_bootstrap::engine::{Bootstrap, EventSink, Plan};
//! use kalypso_bootstrap::tools::CancellationToken;
//! async fn act(bootstrap: &Bootstrap, validated: &Validated, plan: &Plan, cancel: &CancellationToken) {
//!     let (events, _) = EventSink::channel();
//!     bootstrap.run(validated, plan, events, cancel).await;
//! }
//! ```
//! Nor forging a validated configuration:
//! ```compile_fail,E0451
//! use kalypso_bootstrap::config::lifecycle::Validated;
//! let forged = Validated { configuration: todo!(), provenance: Default::default() };
//! ```

use std::collections::HashMap;
use std::path::Path;

use super::configuration::Configuration;
use super::env;
use super::error::{ConfigErrors, FieldError, Problem};
use super::export;
use super::field::Field;
use super::load;
use super::merge::{merge, Merged};
use super::model::ConfigLayer;
use super::source::{Provenance, Source, SourcedLayer};
use super::validate::validate;

/// The life-cycle states, for reporting (each state type has a `STAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Uninitialized,
    Parsed,
    Validated,
    Confirmed,
    Active,
}

/// Nothing read yet.
#[derive(Debug, Default)]
pub struct Uninitialized {
    _private: (),
}

impl Uninitialized {
    pub const STAGE: Stage = Stage::Uninitialized;

    pub fn new() -> Uninitialized {
        Uninitialized { _private: () }
    }

    /// Read the config file (if any) and the environment, and merge them with the flags:
    /// defaults < file < environment < flags.
    pub fn parse(
        self,
        flags: ConfigLayer,
        config_file: Option<&Path>,
        environment: &HashMap<String, String>,
    ) -> Result<Parsed, ConfigErrors> {
        let file = match config_file {
            None => Ok(None),
            Some(path) => load::load_file_all(path).map(|values| {
                Some(SourcedLayer::uniform(
                    values,
                    Source::File {
                        path: path.to_path_buf(),
                    },
                ))
            }),
        };
        let env_layer = env::from_env(environment);
        let flags = SourcedLayer::from_flags(flags);
        // gh's own GH_HOST is the default host: below the file, above the built-in default.
        let mut layers: Vec<SourcedLayer> = env::gh_host_default(environment).into_iter().collect();
        let file_errors = match file {
            Ok(file) => {
                layers.extend(file);
                Vec::new()
            }
            Err(file_errors) => file_errors,
        };
        layers.push(env_layer.layer);
        layers.push(flags);
        let mut parsed = Parsed {
            layers,
            answers: ConfigLayer::default(),
            env_errors: env_layer.errors,
            merged: merge(&[]),
        };
        parsed.remerge();
        if file_errors.is_empty() {
            return Ok(parsed);
        }
        // The flags and the environment are still checked, so that one report lists every
        // problem. What the file would have set is unknown: a value missing without it may
        // not be missing, and the kubeconfig is consulted once the file is usable.
        let set_context: Vec<String> = parsed
            .merged
            .values
            .cluster
            .existing_context
            .iter()
            .cloned()
            .collect();
        let fields = match parsed.validate(&set_context) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .fields
                .into_iter()
                .filter(|e| e.problem != Problem::Missing)
                .collect(),
        };
        Err(ConfigErrors {
            file: file_errors,
            fields,
        })
    }
}

/// All layers read and merged; not yet checked.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// file (if any), environment, flags: lowest first.
    layers: Vec<SourcedLayer>,
    /// Interactive answers, above the flags.
    answers: ConfigLayer,
    /// Environment variables that could not be understood (bad boolean or number).
    env_errors: Vec<FieldError>,
    merged: Merged,
}

impl Parsed {
    pub const STAGE: Stage = Stage::Parsed;

    /// The effective values (defaults filled in) and their sources.
    pub fn merged(&self) -> &Merged {
        &self.merged
    }

    pub fn provenance(&self) -> &Provenance {
        &self.merged.provenance
    }

    /// Add answers from the interactive front end (highest precedence; later answers
    /// replace earlier ones for the same field).
    pub fn with_answers(mut self, answers: ConfigLayer) -> Parsed {
        for &field in Field::ALL {
            if let Some(value) = field.get(&answers) {
                let _ = field.set(&mut self.answers, Some(value));
            }
        }
        self.remerge();
        self
    }

    /// Defaults of this kind of run (the demo's cluster name), below the file: any layer
    /// overrides them, and their source stays [`Source::Default`] (never an answer).
    pub fn with_defaults(mut self, defaults: ConfigLayer) -> Parsed {
        self.layers
            .insert(0, SourcedLayer::uniform(defaults, Source::Default));
        self.remerge();
        self
    }

    /// Check every rule; on failure, every problem at once (environment errors included).
    pub fn validate(&self, kube_contexts: &[String]) -> Result<Validated, ConfigErrors> {
        // A bad environment value that a flag or answer overrides does not matter.
        let env_errors: Vec<FieldError> = self
            .env_errors
            .iter()
            .filter(|e| self.merged.source(e.field).rank() <= e.source.rank())
            .cloned()
            .collect();
        let result = validate(&self.merged, kube_contexts);
        let mut fields = env_errors.clone();
        if let Err(errors) = &result {
            // The fallback value of a field whose variable is bad is not worth a second error.
            fields.extend(
                errors
                    .iter()
                    .filter(|e| !env_errors.iter().any(|env| env.field == e.field))
                    .cloned(),
            );
        }
        fields.sort_by_key(|e| e.field);
        match result {
            Ok(configuration) if fields.is_empty() => Ok(Validated {
                configuration,
                provenance: self.merged.provenance.clone(),
            }),
            _ => Err(ConfigErrors {
                file: Vec::new(),
                fields,
            }),
        }
    }

    fn remerge(&mut self) {
        let answers = SourcedLayer::uniform(self.answers.clone(), Source::Prompt);
        let mut layers: Vec<&SourcedLayer> = self.layers.iter().collect();
        layers.push(&answers);
        self.merged = merge(&layers);
    }
}

/// Every rule holds; the typed configuration is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    configuration: Configuration,
    provenance: Provenance,
}

impl Validated {
    pub const STAGE: Stage = Stage::Validated;

    pub fn configuration(&self) -> &Configuration {
        &self.configuration
    }

    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// Whether the user must be asked before acting: not with `--skip-confirmation`, and
    /// never with `--non-interactive` (nobody is there to answer).
    pub fn needs_confirmation(&self) -> bool {
        let options = &self.configuration.options;
        !(options.skip_confirmation || options.non_interactive)
    }

    /// The effective configuration as YAML that `--config` reads back to the same result.
    pub fn export_yaml(&self) -> Result<String, serde_yaml::Error> {
        export::to_yaml(&self.configuration)
    }

    /// The user confirmed the plan (or confirmation is not needed).
    pub fn confirm(self) -> Confirmed {
        Confirmed {
            configuration: self.configuration,
            provenance: self.provenance,
        }
    }

    pub fn into_parts(self) -> (Configuration, Provenance) {
        (self.configuration, self.provenance)
    }
}

/// Confirmed by the user; nothing done yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    configuration: Configuration,
    provenance: Provenance,
}

impl Confirmed {
    pub const STAGE: Stage = Stage::Confirmed;

    pub fn configuration(&self) -> &Configuration {
        &self.configuration
    }

    /// The run starts acting on this configuration; from here on it does not change.
    pub fn activate(self) -> Active {
        Active {
            configuration: self.configuration,
            provenance: self.provenance,
        }
    }
}

/// The configuration a run is acting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    configuration: Configuration,
    provenance: Provenance,
}

impl Active {
    pub const STAGE: Stage = Stage::Active;

    pub fn configuration(&self) -> &Configuration {
        &self.configuration
    }

    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::error::Problem;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn named_flags() -> ConfigLayer {
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("demo".into());
        flags
    }

    #[test]
    fn phases_are_ordered_along_the_legal_path() {
        assert!(Uninitialized::STAGE < Parsed::STAGE);
        assert!(Parsed::STAGE < Validated::STAGE);
        assert!(Validated::STAGE < Confirmed::STAGE);
        assert!(Confirmed::STAGE < Active::STAGE);
    }

    #[test]
    fn the_legal_path_carries_configuration_and_provenance_through() {
        let parsed = Uninitialized::new()
            .parse(named_flags(), None, &env(&[("KALYPSO_CLUSTER_NODES", "5")]))
            .unwrap();
        let validated = parsed.validate(&[]).unwrap();
        assert!(validated.needs_confirmation());
        let active = validated.confirm().activate();
        assert_eq!(active.configuration().cluster_name(), Some("demo"));
        assert_eq!(
            active.provenance().get(Field::ClusterNodeCount),
            &Source::env("KALYPSO_CLUSTER_NODES")
        );
    }

    #[test]
    fn validation_failure_leaves_the_parsed_state_usable_for_answers() {
        let parsed = Uninitialized::new()
            .parse(ConfigLayer::default(), None, &HashMap::new())
            .unwrap();
        let errors = parsed.validate(&[]).unwrap_err();
        assert!(errors.only_missing());
        assert_eq!(errors.missing(), vec![Field::ClusterName]);
        let mut answers = ConfigLayer::default();
        answers.cluster.name = Some("answered".into());
        let parsed = parsed.with_answers(answers);
        let validated = parsed.validate(&[]).unwrap();
        assert_eq!(validated.configuration().cluster_name(), Some("answered"));
        assert_eq!(
            validated.provenance().get(Field::ClusterName),
            &Source::Prompt
        );
    }

    /// The demo's cluster name is a default nobody typed: its source says so, and any
    /// layer overrides it.
    #[test]
    fn run_defaults_are_defaults_not_answers() {
        let mut demo = ConfigLayer::default();
        demo.cluster.name = Some("kalypso-demo".into());
        let parsed = Uninitialized::new()
            .parse(ConfigLayer::default(), None, &HashMap::new())
            .unwrap()
            .with_defaults(demo.clone());
        let validated = parsed.validate(&[]).unwrap();
        assert_eq!(
            validated.configuration().cluster_name(),
            Some("kalypso-demo")
        );
        assert_eq!(
            validated.provenance().get(Field::ClusterName),
            &Source::Default
        );
        assert_eq!(Source::Default.origin(), "default");
        assert_eq!(Source::Prompt.origin(), "typed");
        let flagged = Uninitialized::new()
            .parse(named_flags(), None, &HashMap::new())
            .unwrap()
            .with_defaults(demo);
        let validated = flagged.validate(&[]).unwrap();
        assert_ne!(
            validated.configuration().cluster_name(),
            Some("kalypso-demo")
        );
        assert_eq!(
            validated.provenance().get(Field::ClusterName),
            &Source::flag("--cluster-name")
        );
    }

    #[test]
    fn answers_accumulate_and_override_flags() {
        let parsed = Uninitialized::new()
            .parse(named_flags(), None, &HashMap::new())
            .unwrap();
        let mut first = ConfigLayer::default();
        first.cluster.region = Some("westus".into());
        let mut second = ConfigLayer::default();
        second.cluster.name = Some("other".into());
        let parsed = parsed.with_answers(first).with_answers(second);
        assert_eq!(
            parsed.merged().values.cluster.region.as_deref(),
            Some("westus")
        );
        assert_eq!(
            parsed.merged().values.cluster.name.as_deref(),
            Some("other")
        );
    }

    #[test]
    fn environment_errors_are_reported_with_validation_errors() {
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("Bad_Name".into());
        let parsed = Uninitialized::new()
            .parse(flags, None, &env(&[("KALYPSO_CLUSTER_NODES", "lots")]))
            .unwrap();
        let errors = parsed.validate(&[]).unwrap_err();
        let fields: Vec<Field> = errors.fields.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec![Field::ClusterName, Field::ClusterNodeCount]);
        assert_eq!(
            errors.fields[1].source,
            Source::env("KALYPSO_CLUSTER_NODES")
        );
        assert_eq!(errors.fields[1].problem, Problem::Invalid);
    }

    #[test]
    fn an_environment_error_alone_still_fails() {
        let parsed = Uninitialized::new()
            .parse(named_flags(), None, &env(&[("KALYPSO_FORCE", "perhaps")]))
            .unwrap();
        let errors = parsed.validate(&[]).unwrap_err();
        assert_eq!(errors.fields.len(), 1);
        assert_eq!(errors.fields[0].field, Field::Force);
    }

    #[test]
    fn a_flag_overriding_a_bad_environment_value_makes_it_irrelevant() {
        let mut flags = named_flags();
        flags.cluster.node_count = Some(4);
        let parsed = Uninitialized::new()
            .parse(flags, None, &env(&[("KALYPSO_CLUSTER_NODES", "lots")]))
            .unwrap();
        parsed.validate(&[]).unwrap();
    }

    #[test]
    fn a_bad_create_variable_is_reported_even_when_an_existing_context_implies_create() {
        let parsed = Uninitialized::new()
            .parse(
                named_flags(),
                None,
                &env(&[
                    ("KALYPSO_CLUSTER_CREATE", "nope"),
                    ("KALYPSO_CLUSTER_EXISTING", "kind-dev"),
                ]),
            )
            .unwrap();
        let errors = parsed.validate(&["kind-dev".to_string()]).unwrap_err();
        assert_eq!(errors.fields.len(), 1, "{errors}");
        assert_eq!(errors.fields[0].field, Field::ClusterCreate);
    }

    #[test]
    fn a_file_error_comes_with_the_environment_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, "cluster:\n  nodeCont: 3\n").unwrap();
        let errors = Uninitialized::new()
            .parse(
                ConfigLayer::default(),
                Some(&path),
                &env(&[("KALYPSO_QUIET", "loud")]),
            )
            .unwrap_err();
        assert_eq!(
            errors.file.first().and_then(|e| e.key_path()),
            Some("cluster.nodeCont")
        );
        assert_eq!(errors.fields.len(), 1);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.exit_code().code(), 3);
    }

    #[test]
    fn confirmation_is_not_needed_when_skipped_or_non_interactive() {
        for option in [Field::SkipConfirmation, Field::NonInteractive] {
            let mut flags = named_flags();
            option.set(&mut flags, Some(true.into())).unwrap();
            let validated = Uninitialized::new()
                .parse(flags, None, &HashMap::new())
                .unwrap()
                .validate(&[])
                .unwrap();
            assert!(!validated.needs_confirmation(), "{option}");
        }
    }
}
