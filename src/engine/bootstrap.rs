//! The engine's facade for the front ends: open the state, observe, plan, run, dry-run,
//! roll back and clean up, over whatever [`CommandRunner`] the caller gives (the real
//! processes, or the simulated environment in `--demo` and in tests).
//!
//! ```text
//! let bootstrap = Bootstrap::open(configuration, runner, token, paths, options)?;
//! let observed = bootstrap.observe(&cancel).await?;   // read-only queries + the state file
//! let plan = bootstrap.plan(&observed);
//! if dry_run { print(bootstrap.dry_run(&plan).to_text()) }
//! let outcome = bootstrap.run(&plan, events, &cancel).await;
//! if !outcome.is_success() && confirmed { bootstrap.rollback(events, &cancel).await; }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;

use super::context::EventSink;
use super::dry_run::DryRun;
use super::orchestrator::RunOutcome;
use super::plan::{Observed, Plan};
use super::rollback::{PlannedRemoval, RollbackReport};
use super::state_handle::StateHandle;
use super::step::{StepError, StepId};
use super::steps::StepTimings;
use crate::config::Configuration;
use crate::sim::SimulatedEnvironment;
use crate::state::StateError;
use crate::tools::git::GitEnv;
use crate::tools::{CancelToken, CommandRunner};

/// The files a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapPaths {
    /// The state file (`--state-file`, or the default under the home directory).
    pub state_file: PathBuf,
    /// The kubeconfig `az aks get-credentials` writes the new cluster's context into and
    /// kubectl/helm read: [`BootstrapPaths::default_kubeconfig`] in real runs, a file inside
    /// the simulated environment in `--demo` and tests.
    pub kubeconfig: PathBuf,
    /// Shown in the summary.
    pub log_file: Option<PathBuf>,
    /// Where short-lived work directories (git seeding) and the 0600 Helm values file
    /// are created; the system temporary directory in real runs.
    pub work_dir: PathBuf,
}

impl BootstrapPaths {
    /// The kubeconfig kubectl reads by default: the first path of `KUBECONFIG`, else
    /// `~/.kube/config`.
    pub fn default_kubeconfig(env: &HashMap<String, String>, home: &Path) -> PathBuf {
        let _ = (env, home);
        todo!()
    }
}

/// Settings of a run that do not come from the configuration.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// `AZURE_SUBSCRIPTION_ID`: every az call names it when known.
    pub subscription: Option<String>,
    /// The Flux release installed when the cluster has none (`--flux-version`).
    pub flux_version: String,
    /// Extra git configuration for the seeding pushes, applied after the gh credential
    /// helper (tests: nothing; the simulated environment adds its own `insteadOf`).
    pub git_env: GitEnv,
    /// The run is a `--demo` run (announced to the front ends).
    pub demo: bool,
    /// Waits, polls and retries.
    pub timings: StepTimings,
}

/// Why a bootstrap could not even start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    State(#[from] StateError),
}

/// One configured run of the engine. Holds the state file's lock while it lives.
pub struct Bootstrap {
    _private: (),
}

impl Bootstrap {
    /// Take the state file's lock and load it (a run that died is marked interrupted; a
    /// run that was rolled back starts afresh).
    pub fn open(
        configuration: Configuration,
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: BootstrapPaths,
        options: BootstrapOptions,
    ) -> Result<Bootstrap, BootstrapError> {
        let _ = (configuration, runner, github_token, paths, options);
        todo!()
    }

    /// `KALYPSO_DEMO_FAIL=<step id>`: make that step fail the way the real tools fail, by a
    /// fault injected into the simulated environment when the step starts.
    pub fn with_demo_failure(self, sim: SimulatedEnvironment, step: StepId) -> Bootstrap {
        let _ = (sim, step);
        todo!()
    }

    pub fn configuration(&self) -> &Configuration {
        todo!()
    }

    /// The run's state (saved at every change).
    pub fn state(&self) -> &StateHandle {
        todo!()
    }

    /// Read-only queries and the state file: what exists, and what is ours.
    pub async fn observe(&self, cancel: &CancelToken) -> Result<Observed, StepError> {
        let _ = cancel;
        todo!()
    }

    /// The plan for what [`Bootstrap::observe`] found.
    pub fn plan(&self, observed: &Observed) -> Plan {
        let _ = observed;
        todo!()
    }

    /// Every step of `plan` with the exact commands it would run (secrets as `***`).
    pub fn dry_run(&self, plan: &Plan) -> DryRun {
        let _ = plan;
        todo!()
    }

    /// Run the plan to its end, streaming events to `events`.
    pub async fn run(&self, plan: &Plan, events: EventSink, cancel: &CancelToken) -> RunOutcome {
        let _ = (plan, events, cancel);
        todo!()
    }

    /// What a rollback would remove (newest first), each with its manual command.
    pub fn rollback_preview(&self) -> Vec<PlannedRemoval> {
        todo!()
    }

    /// Remove what the state records as created by us, newest first.
    pub async fn rollback(&self, events: EventSink, cancel: &CancelToken) -> RollbackReport {
        let _ = (events, cancel);
        todo!()
    }
}

/// `--clean`: remove what a state file records as created by us, without a configuration.
pub struct Cleanup {
    _private: (),
}

impl Cleanup {
    /// Take the state file's lock and load it; `Ok(None)` when there is no state file.
    pub fn open(
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: BootstrapPaths,
        options: BootstrapOptions,
    ) -> Result<Option<Cleanup>, BootstrapError> {
        let _ = (runner, github_token, paths, options);
        todo!()
    }

    pub fn preview(&self) -> Vec<PlannedRemoval> {
        todo!()
    }

    pub async fn run(&self, events: EventSink, cancel: &CancelToken) -> RollbackReport {
        let _ = (events, cancel);
        todo!()
    }
}

/// The step named by `KALYPSO_DEMO_FAIL`, or a message listing the valid ids.
pub fn parse_demo_fail(value: &str) -> Result<StepId, String> {
    let _ = value;
    todo!()
}
