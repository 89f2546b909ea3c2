//! The vocabulary of steps: their ids, the action the plan chose, and how a step fails.

use std::fmt;

use serde::Serialize;

use crate::state::Phase;
use crate::user_error::UserError;
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
    /// Each attached workload cluster checked before anything is created: the context
    /// answers, its Flux (if any) is compatible, none of our names are taken.
    WorkloadPreflight,
    /// Flux on each attached workload cluster that lacks it.
    WorkloadFlux,
    /// On each attached workload cluster: a read-only credential for the gitops
    /// repository, and a GitRepository and Kustomization on its environment branch.
    WorkloadSource,
    /// The first workload delivered: the scheduler's pull request, merged with consent,
    /// reconciled by each attached cluster, its objects present.
    FirstWorkload,
}

impl StepId {
    pub const ALL: [StepId; 19] = [
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
        StepId::WorkloadPreflight,
        StepId::WorkloadFlux,
        StepId::WorkloadSource,
        StepId::FirstWorkload,
    ];

    /// The steps of every plan: all but those of attached workload clusters, which a plan
    /// has only when a cluster is attached (see [`crate::engine::plan::is_part_of`]).
    pub const WITHOUT_WORKLOAD_CLUSTERS: [StepId; 15] = [
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

    /// Whether this step attaches or verifies workload clusters (`--workload-cluster`).
    pub fn attaches_workload_clusters(self) -> bool {
        matches!(
            self,
            StepId::WorkloadPreflight
                | StepId::WorkloadFlux
                | StepId::WorkloadSource
                | StepId::FirstWorkload
        )
    }

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
            StepId::WorkloadPreflight => "workloads.preflight",
            StepId::WorkloadFlux => "workloads.flux",
            StepId::WorkloadSource => "workloads.gitops-source",
            StepId::FirstWorkload => "validation.first-workload",
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
            StepId::WorkloadPreflight | StepId::WorkloadFlux | StepId::WorkloadSource => {
                Phase::Workloads
            }
            StepId::HealthChecks | StepId::FirstWorkload => Phase::Validation,
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
            StepId::WorkloadPreflight => "Workload cluster checks",
            StepId::WorkloadFlux => "Flux on workload clusters",
            StepId::WorkloadSource => "Workload GitOps sources",
            StepId::FirstWorkload => "First workload",
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

/// A step id is one of [`StepId::ALL`]'s dotted names: the schema lists them, so a new step
/// changes the published schemas (and the test comparing them fails until regenerated).
impl schemars::JsonSchema for StepId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StepId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = StepId::ALL.iter().map(|id| id.as_str()).collect();
        schemars::json_schema!({
            "description": "A plan step's stable id.",
            "type": "string",
            "enum": names,
        })
    }
}

/// What the plan decided for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
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

/// A step's failures are the program's one [`UserError`]; a step adds only which exit
/// code its phase ends the run with.
impl UserError {
    /// A failure of `step`, exiting with the code of its phase (4 cluster, 5 repositories,
    /// 6 installation and validation).
    pub fn in_step(step: StepId, message: impl Into<String>) -> Self {
        UserError::new(exit_code_for(step.phase()), message)
    }
}

/// The exit code of a run that failed in `phase`.
pub fn exit_code_for(phase: Phase) -> ExitCode {
    match phase {
        Phase::Prerequisites => ExitCode::PrerequisitesFailed,
        Phase::Cluster => ExitCode::ClusterFailed,
        Phase::Repositories => ExitCode::RepositoryFailed,
        Phase::Installation | Phase::Workloads | Phase::Validation => ExitCode::InstallationFailed,
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
            UserError::in_step(StepId::ClusterCreate, "x").exit_code,
            ExitCode::ClusterFailed
        );
        assert_eq!(
            UserError::in_step(StepId::GitopsLabel, "x").exit_code,
            ExitCode::RepositoryFailed
        );
        assert_eq!(
            UserError::in_step(StepId::InstallKalypso, "x").exit_code,
            ExitCode::InstallationFailed
        );
        assert_eq!(
            UserError::in_step(StepId::HealthChecks, "x").exit_code,
            ExitCode::InstallationFailed
        );
    }
}
