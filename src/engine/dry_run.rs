//! `--dry-run`: every step of a plan with the exact argv of every command it would run.

use serde::Serialize;

use super::step::{Action, StepId};
use crate::state::Phase;

/// One step of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRunStep {
    pub phase: Phase,
    pub id: StepId,
    pub action: Action,
    /// Why the plan chose the action.
    pub reason: String,
    /// Each command's argv, secrets as `***`.
    pub commands: Vec<Vec<String>>,
}

/// What `--dry-run` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRun {
    pub steps: Vec<DryRunStep>,
}
