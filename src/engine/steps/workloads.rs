//! Attaching workload clusters (`--workload-cluster`): each attached cluster is checked
//! before anything is created (`workloads.preflight`), gets Flux when it lacks it
//! (`workloads.flux`), then a read-only credential for the gitops repository and a
//! GitRepository and Kustomization on its environment branch at `./<cluster type>`
//! (`workloads.gitops-source`), where the scheduler writes that cluster type's deployment
//! targets (`scheduler/githubrepo.go` in microsoft/kalypso-scheduler).

use super::{BootstrapSteps, Preview, StepCommands, StepEnv};
use crate::config::Configuration;
use crate::engine::context::StepContext;
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::{Decisions, Observed, PlannedStep};
use crate::engine::step::{Action, StepId};
use crate::UserError;

/// The workload steps' actions; nothing when no cluster is attached (the plan then has
/// no workload steps, see [`crate::engine::plan::is_part_of`]).
pub(crate) fn plan(config: &Configuration, _observed: &Observed, decisions: &mut Decisions) {
    if config.workload_clusters.is_empty() {
        return;
    }
    for id in [
        StepId::WorkloadPreflight,
        StepId::WorkloadFlux,
        StepId::WorkloadSource,
    ] {
        decisions.insert(
            id,
            (Action::Create, "attach the workload clusters".to_string()),
        );
    }
}

/// What the workload steps run, for the dry run.
pub fn commands(_env: &StepEnv, _planned: &PlannedStep, _preview: &Preview) -> StepCommands {
    StepCommands::default()
}

pub(crate) async fn run(
    _steps: &BootstrapSteps,
    planned: &PlannedStep,
    _ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    Err(UserError::in_step(
        planned.id,
        "attaching workload clusters is not built yet",
    ))
}
