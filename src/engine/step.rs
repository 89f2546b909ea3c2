//! The vocabulary of steps: their ids, the action the plan chose, and how a step fails.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::state::Phase;
use crate::troubleshooting::Hint;
use crate::ExitCode;

/// Every step the engine knows. The string ids are part of the contract: they appear in the
/// state file, the JSON event stream, `--dry-run` and `KALYPSO_DEMO_FAIL=<step id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepId {
    /// AKS pre-flight: region, VM size, Kubernetes version, vCPU quota, name not taken.
    ClusterPreflight,
    ClusterResourceGroup,
    /// `az aks create --no-wait`, then poll until `Succeeded`.
    ClusterCreate,
    ClusterCredentials,
    /// Existing cluster: the context exists and the API server answers. New: nodes Ready,
    /// kube-system pods running.
    ClusterReady,
    ControlPlaneRepo,
    ControlPlaneSeed,
    ControlPlaneSecrets,
    GitopsRepo,
    GitopsSeed,
    GitopsSecrets,
    GitopsLabel,
    InstallFlux,
    InstallKalypso,
    HealthChecks,
}

impl StepId {
    pub const ALL: [StepId; 15] = [
        StepId::ClusterPreflight,
        StepId::ClusterResourceGroup,
        StepId::ClusterCreate,
        StepId::ClusterCredentials,
        StepId::ClusterReady,
        StepId::ControlPlaneRepo,
        StepId::ControlPlaneSeed,
        StepId::ControlPlaneSecrets,
        StepId::GitopsRepo,
        StepId::GitopsSeed,
        StepId::GitopsSecrets,
        StepId::GitopsLabel,
        StepId::InstallFlux,
        StepId::InstallKalypso,
        StepId::HealthChecks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepId::ClusterPreflight => "cluster.preflight",
            StepId::ClusterResourceGroup => "cluster.resource-group",
            StepId::ClusterCreate => "cluster.create",
            StepId::ClusterCredentials => "cluster.credentials",
            StepId::ClusterReady => "cluster.ready",
            StepId::ControlPlaneRepo => "control-plane.repo",
            StepId::ControlPlaneSeed => "control-plane.seed",
            StepId::ControlPlaneSecrets => "control-plane.secrets",
            StepId::GitopsRepo => "gitops.repo",
            StepId::GitopsSeed => "gitops.seed",
            StepId::GitopsSecrets => "gitops.secrets",
            StepId::GitopsLabel => "gitops.label",
            StepId::InstallFlux => "installation.flux",
            StepId::InstallKalypso => "installation.kalypso",
            StepId::HealthChecks => "validation.health",
        }
    }

    pub fn parse(text: &str) -> Option<StepId> {
        StepId::ALL.into_iter().find(|id| id.as_str() == text)
    }

    pub fn phase(self) -> Phase {
        match self {
            StepId::ClusterPreflight
            | StepId::ClusterResourceGroup
            | StepId::ClusterCreate
            | StepId::ClusterCredentials
            | StepId::ClusterReady => Phase::Cluster,
            StepId::ControlPlaneRepo
            | StepId::ControlPlaneSeed
            | StepId::ControlPlaneSecrets
            | StepId::GitopsRepo
            | StepId::GitopsSeed
            | StepId::GitopsSecrets
            | StepId::GitopsLabel => Phase::Repositories,
            StepId::InstallFlux | StepId::InstallKalypso => Phase::Installation,
            StepId::HealthChecks => Phase::Validation,
        }
    }

    /// A short human title for screens and line output.
    pub fn title(self) -> &'static str {
        match self {
            StepId::ClusterPreflight => "AKS pre-flight checks",
            StepId::ClusterResourceGroup => "Resource group",
            StepId::ClusterCreate => "AKS cluster",
            StepId::ClusterCredentials => "Cluster credentials",
            StepId::ClusterReady => "Cluster ready",
            StepId::ControlPlaneRepo => "Control-plane repository",
            StepId::ControlPlaneSeed => "Control-plane content",
            StepId::ControlPlaneSecrets => "Control-plane secrets",
            StepId::GitopsRepo => "GitOps repository",
            StepId::GitopsSeed => "GitOps content",
            StepId::GitopsSecrets => "GitOps secrets",
            StepId::GitopsLabel => "GitOps 'promoted' label",
            StepId::InstallFlux => "Flux",
            StepId::InstallKalypso => "Kalypso Scheduler (Helm)",
            StepId::HealthChecks => "Health checks",
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StepId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What the plan decided for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Make something that does not exist yet (or finish making what we started).
    Create,
    /// Use what exists (given by the user, or completed by an earlier run), checking it.
    Reuse,
    /// Not part of this configuration (e.g. `--skip-install`).
    Skip,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Reuse => "reuse",
            Action::Skip => "skip",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a step failed, for the user: what happened, what to do, and how the run exits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub message: String,
    /// What the user can do about it, with its troubleshooting link (shown under the
    /// error, and in the run report).
    pub hint: Option<Hint>,
    /// Worth trying again after a wait (rate limit, timeout, 5xx).
    pub transient: bool,
    /// How long the service asked us to wait before trying again (e.g. a rate limit's
    /// reset time); only meaningful for transient errors.
    pub retry_after: Option<Duration>,
    pub exit_code: ExitCode,
}

impl StepError {
    /// A failure of `step`, exiting with the code of its phase (4 cluster, 5 repositories,
    /// 6 installation and validation).
    pub fn in_step(step: StepId, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            transient: false,
            retry_after: None,
            exit_code: exit_code_for(step.phase()),
        }
    }

    /// Every hint names its troubleshooting topic: make it with [`Topic::hint`].
    ///
    /// [`Topic::hint`]: crate::troubleshooting::Topic::hint
    pub fn with_hint(mut self, hint: Hint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The hint as events and front ends show it (with its link).
    pub fn hint_text(&self) -> Option<String> {
        self.hint.as_ref().map(Hint::to_string)
    }

    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Transient, and the service said when to try again (a rate limit's reset time).
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.transient = true;
        self.retry_after = Some(wait);
        self
    }

    pub fn with_exit_code(mut self, code: ExitCode) -> Self {
        self.exit_code = code;
        self
    }
}

/// The exit code of a run that failed in `phase`.
pub fn exit_code_for(phase: Phase) -> ExitCode {
    match phase {
        Phase::Prerequisites => ExitCode::PrerequisitesFailed,
        Phase::Cluster => ExitCode::ClusterFailed,
        Phase::Repositories => ExitCode::RepositoryFailed,
        Phase::Installation | Phase::Validation => ExitCode::InstallationFailed,
        Phase::Rollback => ExitCode::General,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in StepId::ALL {
            assert_eq!(StepId::parse(id.as_str()), Some(id));
            assert!(seen.insert(id.as_str()), "duplicate id {id}");
        }
        assert_eq!(StepId::parse("cluster.nope"), None);
    }

    #[test]
    fn failures_exit_with_the_code_of_their_phase() {
        assert_eq!(
            StepError::in_step(StepId::ClusterCreate, "x").exit_code,
            ExitCode::ClusterFailed
        );
        assert_eq!(
            StepError::in_step(StepId::GitopsLabel, "x").exit_code,
            ExitCode::RepositoryFailed
        );
        assert_eq!(
            StepError::in_step(StepId::InstallKalypso, "x").exit_code,
            ExitCode::InstallationFailed
        );
        assert_eq!(
            StepError::in_step(StepId::HealthChecks, "x").exit_code,
            ExitCode::InstallationFailed
        );
    }
}
