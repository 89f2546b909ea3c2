//! The first workload delivered (`validation.first-workload`): with workload clusters
//! attached, the run waits, within a bound, for the scheduler's pull request to each
//! attached environment branch, merges it with consent (`--no-merge` leaves it), and sees
//! each attached cluster's Kustomization Ready at the merged commit with the sample
//! workload's objects present.

use super::{BootstrapSteps, Preview, StepCommands, StepEnv};
use crate::config::Configuration;
use crate::engine::context::StepContext;
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::{Decisions, Observed, PlannedStep};
use crate::engine::step::{Action, StepId};
use crate::UserError;

/// The verification's action; nothing when no cluster is attached (see
/// [`crate::engine::plan::is_part_of`]).
pub(crate) fn plan(config: &Configuration, _observed: &Observed, decisions: &mut Decisions) {
    if config.workload_clusters.is_empty() {
        return;
    }
    decisions.insert(
        StepId::FirstWorkload,
        (
            Action::Create,
            "wait for the first workload on the workload clusters".to_string(),
        ),
    );
}

/// What the verification runs, for the dry run.
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
        "verifying the first workload is not built yet",
    ))
}
