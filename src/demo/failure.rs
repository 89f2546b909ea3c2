//! `KALYPSO_DEMO_FAIL=<step id>`: in `--demo`, make one step fail the way it fails for
//! real. When the step starts, a fault is injected into the simulated environment that
//! the step's own commands then meet (a quota too small, a 403, a rate limit, ...), so
//! the error, its hint, the state and the rollback are exactly those of a real failure.
//! The engine knows none of this: [`fail_step`] is a [`StepWrapper`] around its steps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::{ClusterTarget, RepoTarget};
use crate::engine::context::{EventSink, StepContext};
use crate::engine::events::{EventKind, LogLevel};
use crate::engine::orchestrator::{StepOutcome, StepRunner};
use crate::engine::plan::{Plan, PlannedStep};
use crate::engine::step::{Action, StepId};
use crate::engine::steps::{repositories, resources, workloads, BootstrapSteps, StepEnv};
use crate::engine::StepWrapper;
use crate::sim::{Fault, FaultKind, SimulatedEnvironment};
use crate::templates::RepoKind;
use crate::tools::kubectl::FLUX_GITREPOSITORY_CRD;
use crate::tools::BoxFuture;
use crate::UserError;

use super::FAIL_VAR;

/// The step named by `KALYPSO_DEMO_FAIL`, or a message listing the valid ids.
pub fn parse_demo_fail(value: &str) -> Result<StepId, String> {
    StepId::parse(value.trim()).ok_or_else(|| {
        let ids: Vec<&str> = StepId::ALL.iter().map(|id| id.as_str()).collect();
        format!(
            "{FAIL_VAR}={value:?} names no step; valid ids: {}",
            ids.join(", ")
        )
    })
}

/// The wrapper that makes `step` fail once in `sim` (give it to
/// [`crate::engine::BootstrapOptions::step_wrapper`]).
pub fn fail_step(sim: SimulatedEnvironment, step: StepId) -> Arc<dyn StepWrapper> {
    Arc::new(FailStep { sim, step })
}

struct FailStep {
    sim: SimulatedEnvironment,
    step: StepId,
}

impl std::fmt::Debug for FailStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{FAIL_VAR}={}", self.step)
    }
}

impl StepWrapper for FailStep {
    fn wrap(
        &self,
        steps: Arc<BootstrapSteps>,
        plan: &Plan,
        events: &EventSink,
    ) -> Arc<dyn StepRunner> {
        let step = self.step;
        if plan.action(step) == Some(Action::Skip) {
            events.emit(EventKind::Log {
                level: LogLevel::Warn,
                phase: Some(step.phase()),
                step: Some(step),
                message: format!(
                    "{FAIL_VAR}={step}: that step is skipped by this plan, so nothing fails"
                ),
            });
        }
        Arc::new(DemoFailure::new(steps, self.sim.clone(), step))
    }
}

/// How a step is made to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sabotage {
    /// A fault rule for the step's command.
    Fault(Fault),
    /// The region's regional vCPU quota is used up (what the pre-flight checks).
    NoQuota { region: String },
}

/// What makes `step` fail, given the owner of new repositories.
pub fn sabotage(env: &StepEnv, step: StepId, owner: &str) -> Sabotage {
    let forbidden = |command: &str| Fault::new(FaultKind::Forbidden, command);
    let slug = |kind: RepoKind| {
        let target = match kind {
            RepoKind::ControlPlane => &env.configuration.repositories.control_plane,
            RepoKind::Gitops => &env.configuration.repositories.gitops,
        };
        let (owner, name) = resources::repo_slug(target, owner);
        format!("{owner}/{name}")
    };
    let repo_kind = repositories::repo_kind;
    let fault = match step {
        StepId::ClusterPreflight => {
            let region = match &env.configuration.cluster {
                ClusterTarget::Create(new) => new.region.clone(),
                ClusterTarget::Existing(_) => String::new(),
            };
            return Sabotage::NoQuota { region };
        }
        StepId::ClusterResourceGroup => forbidden("az group create"),
        StepId::ClusterCreate => Fault::new(FaultKind::QuotaExceeded, "az aks create"),
        StepId::ClusterCredentials => forbidden("az aks get-credentials"),
        StepId::ClusterReady => forbidden("kubectl get nodes"),
        StepId::ControlPlaneRepo | StepId::GitopsRepo => {
            let kind = repo_kind(step);
            match env_target(env, kind) {
                RepoTarget::Create { .. } => forbidden("gh repo create").with_arg(slug(kind)),
                RepoTarget::Existing(_) => {
                    Fault::new(FaultKind::NotFound, "gh repo view").with_arg(slug(kind))
                }
            }
        }
        StepId::ControlPlaneSeed | StepId::GitopsSeed => {
            // GitHub's secondary rate limit, lifting in an hour: too long to wait for.
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs()
                + 3600;
            Fault::new(
                FaultKind::RateLimited {
                    status: 403,
                    reset_epoch: reset,
                },
                "gh repo view",
            )
            .with_arg(slug(repo_kind(step)))
        }
        StepId::ControlPlaneSecrets | StepId::GitopsSecrets => {
            forbidden("gh secret set").with_arg(slug(repo_kind(step)))
        }
        StepId::GitopsLabel => forbidden("gh label create").with_arg(slug(RepoKind::Gitops)),
        StepId::InstallFlux => forbidden("kubectl get crd").with_arg(FLUX_GITREPOSITORY_CRD),
        StepId::InstallKalypso => forbidden("helm upgrade"),
        StepId::HealthChecks => forbidden("kubectl get").with_arg(resources::CONTROL_PLANE_SOURCE),
        // The first attached context reached by name: its API server refuses us.
        StepId::WorkloadPreflight => match first_named_context(env) {
            Some(context) => forbidden("kubectl version").with_arg(context),
            None => forbidden("kubectl get secret").with_arg(workloads::credential_secret_name(
                first_attached_environment(env),
            )),
        },
        // Flux's manifest refused on the first named workload cluster.
        StepId::WorkloadFlux => match first_named_context(env) {
            Some(context) => forbidden("kubectl apply").with_arg(context),
            None => forbidden("kubectl apply"),
        },
        // Everything of the first attachment created, then its GitRepository unreadable.
        StepId::WorkloadSource => forbidden("kubectl get")
            .with_arg(workloads::source_name(first_attached_environment(env))),
        // The merge refused (a protection rule, a token without write access); under
        // --no-merge nothing is merged: the scheduler's pull requests may not be listed.
        StepId::FirstWorkload if env.configuration.options.no_merge => {
            forbidden("gh pr list").with_arg(crate::tools::gh::SCHEDULER_PULL_FIELDS)
        }
        StepId::FirstWorkload => forbidden("gh pr merge"),
    };
    // Once: the step fails, and a resumed run (or the rollback) meets no fault.
    Sabotage::Fault(fault.nth(1))
}

/// The first attached workload cluster reached through a context of its own.
fn first_named_context(env: &StepEnv) -> Option<String> {
    env.configuration
        .workload_clusters
        .iter()
        .find_map(|cluster| match &cluster.context {
            crate::config::WorkloadContext::Named(name) => Some(name.clone()),
            crate::config::WorkloadContext::Management => None,
        })
}

/// The environment of the first attached workload cluster.
fn first_attached_environment(env: &StepEnv) -> &str {
    env.configuration.workload_clusters.first().map_or_else(
        || env.configuration.environments.first(),
        |c| c.environment.as_str(),
    )
}

fn env_target(env: &StepEnv, kind: RepoKind) -> &RepoTarget {
    repositories::target(env, kind)
}

/// Runs the real steps, sabotaging one of them once.
pub struct DemoFailure {
    steps: Arc<BootstrapSteps>,
    sim: SimulatedEnvironment,
    target: StepId,
    armed: AtomicBool,
}

impl DemoFailure {
    pub fn new(steps: Arc<BootstrapSteps>, sim: SimulatedEnvironment, target: StepId) -> Self {
        Self {
            steps,
            sim,
            target,
            armed: AtomicBool::new(true),
        }
    }

    async fn arm(&self, ctx: &StepContext) -> Result<(), UserError> {
        let owner = match self.steps.known_owner() {
            Some(owner) => owner,
            None => self.steps.step_owner(ctx).await?,
        };
        match sabotage(self.steps.env(), self.target, &owner) {
            Sabotage::Fault(fault) => {
                self.sim.inject(fault);
            }
            Sabotage::NoQuota { region } => {
                self.sim
                    .set_quota(&region, crate::tools::az::REGIONAL_VCPUS, 0, 0);
            }
        }
        Ok(())
    }
}

impl StepRunner for DemoFailure {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            if step.id == self.target && self.armed.swap(false, Ordering::SeqCst) {
                self.arm(&ctx).await?;
            }
            self.steps.run_step(step, ctx).await
        })
    }
}
