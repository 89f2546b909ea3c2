//! The Configuration entity: load the layers, merge them (flags > env > file > defaults),
//! validate with field-level errors, export back to YAML.
//!
//! Entry point for `main`: [`build`]. In short:
//! ```no_run
//! # use std::collections::HashMap;
//! # use kalypso_bootstrap::config;
//! # let cli_layer = config::ConfigLayer::default();
//! # let config_path: Option<std::path::PathBuf> = None;
//! let env = config::env::snapshot();
//! let contexts = config::kubeconfig::contexts_from_env(&env).unwrap_or_default();
//! match config::build(cli_layer, config_path.as_deref(), &env, &contexts) {
//!     Ok(validated) => { /* validated.configuration(), validated.provenance() */ }
//!     Err(errors) => {
//!         eprintln!("{errors}");
//!         std::process::exit(errors.exit_code().code()); // 3
//!     }
//! }
//! ```
//! An interactive front end uses the steps of [`lifecycle`] instead, to ask for
//! [`ConfigErrors::missing`] fields and validate again with [`lifecycle::Parsed::with_answers`].

pub mod configuration;
pub mod defaults;
pub mod env;
pub mod error;
pub mod export;
pub mod field;
pub mod github_host;
pub mod kubeconfig;
pub mod lifecycle;
pub mod load;
pub mod merge;
pub mod model;
pub mod regions;
pub mod repo_url;
pub mod rules;
pub mod source;
pub mod validate;

use std::collections::HashMap;
use std::path::Path;

pub use configuration::{
    ClusterTarget, Configuration, Environments, ExistingCluster, FluxManifest, GitHubRepo,
    HelmChart, Installation, NetworkPlugin, NewCluster, Options, RepoTarget, Repositories,
    Verbosity, Visibility, WorkloadCluster, WorkloadContext,
};
pub use defaults::HELM_REPO_URL;
pub use error::{ConfigErrors, FieldError, Problem};
pub use field::Field;
pub use github_host::GitHubHost;
pub use lifecycle::{Stage, Validated};
pub use load::LoadError;
pub use model::ConfigLayer;
pub use source::{Provenance, Source};

/// Build the validated configuration in one call: read `config_file` (if any), take the
/// `KALYPSO_*` / `DEBUG` / `NO_COLOR` variables from `env`, put `flags` (from
/// `Cli::to_layer`) on top, and check every rule. `kube_contexts` are the context names of
/// the user's kubeconfig ([`kubeconfig::contexts_from_env`]); they matter only when an
/// existing cluster is used.
///
/// On success the [`Validated`] state holds the [`Configuration`] and the [`Provenance`]
/// of every value (`into_parts()` gives both). On failure, [`ConfigErrors`] lists every
/// problem at once; print it with `Display` and exit with [`ConfigErrors::exit_code`] (3).
pub fn build(
    flags: ConfigLayer,
    config_file: Option<&Path>,
    env: &HashMap<String, String>,
    kube_contexts: &[String],
) -> Result<Validated, ConfigErrors> {
    lifecycle::Uninitialized::new()
        .parse(flags, config_file, env)?
        .validate(kube_contexts)
}
