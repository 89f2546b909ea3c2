//! The validation phase: health checks, each reported on its own, until all pass or the
//! bounded wait (5 minutes by default) ends with the last observed reason of each check
//! still failing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{
    installation, resources, tool_error, BootstrapSteps, Preview, StepCommands, StepEnv, Tools,
};
use crate::config::Configuration;
use crate::engine::context::{fact, StepContext};
use crate::engine::events::HealthStatus;
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::PlannedStep;
use crate::engine::plan::{Decisions, Observed};
use crate::engine::retry::poll_step;
use crate::engine::step::{Action, StepId};
use crate::tools::kubectl::{FluxKind, KubectlContext};
use crate::tools::retry::Poll;
use crate::tools::{ErrorClass, ToolError};
use crate::troubleshooting::{Hint, Topic};
use crate::UserError;

/// The checks, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HealthCheck {
    Pods,
    Crds,
    Controller,
    Webhooks,
    FluxSource,
    FluxKustomization,
    TestWorkload,
}

impl HealthCheck {
    pub const ALL: [HealthCheck; 7] = [
        HealthCheck::Pods,
        HealthCheck::Crds,
        HealthCheck::Controller,
        HealthCheck::Webhooks,
        HealthCheck::FluxSource,
        HealthCheck::FluxKustomization,
        HealthCheck::TestWorkload,
    ];

    /// The name in `health_check` events.
    pub fn name(self) -> &'static str {
        match self {
            HealthCheck::Pods => "pods",
            HealthCheck::Crds => "crds",
            HealthCheck::Controller => "controller",
            HealthCheck::Webhooks => "webhooks",
            HealthCheck::FluxSource => "flux-gitrepository",
            HealthCheck::FluxKustomization => "flux-kustomization",
            HealthCheck::TestWorkload => "test-workload",
        }
    }
}

/// The name of the Workload applied (and deleted again) to prove the API accepts it.
pub const TEST_WORKLOAD: &str = "kalypso-bootstrap-check";

/// The test Workload: no deployment targets, so the scheduler has nothing to act on.
pub fn test_workload_manifest(namespace: &str) -> String {
    format!(
        "apiVersion: {group}/v1alpha1\nkind: Workload\nmetadata:\n  name: {TEST_WORKLOAD}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/managed-by: kalypso-bootstrap\nspec:\n  deploymentTargets: []\n",
        group = resources::KALYPSO_GROUP
    )
}

/// The health checks' action: skipped with `--skip-install` (nothing is installed to
/// check), reused when an earlier run verified the installation on a cluster that still
/// exists. `--skip-validation` skips the prerequisite checks before the run, never the
/// health checks that prove the installation works. Pure, like [`crate::engine::plan::plan`].
pub(crate) fn plan(config: &Configuration, observed: &Observed, decisions: &mut Decisions) {
    let decision = if config.installation.skip_install {
        (Action::Skip, "--skip-install".to_string())
    } else {
        installation::on_the_cluster(config, observed, StepId::HealthChecks, "health checks")
    };
    decisions.insert(StepId::HealthChecks, decision);
}

/// What the health checks run, for the dry run: one round, as [`run_round`] runs it
/// (every round repeats the queries until all pass).
pub fn commands(env: &StepEnv, planned: &PlannedStep, _preview: &Preview) -> StepCommands {
    let tools = env.tools();
    let context = env.kube_context();
    let kubectl = tools.kubectl.with_context(&context);
    let namespace = env.configuration.installation.namespace.as_str();
    let mut listed = StepCommands::default();
    let (gitrepository, kustomization) = flux_objects();
    for spec in [
        kubectl.get_pods_spec(namespace),
        kubectl.list_crds_spec(),
        kubectl.get_deployments_spec(namespace),
        kubectl.get_validating_webhooks_spec(),
        kubectl.get_flux_object_spec(gitrepository.0, gitrepository.1, gitrepository.2),
        kubectl.get_flux_object_spec(kustomization.0, kustomization.1, kustomization.2),
    ] {
        listed.push(spec);
    }
    if planned.action == Action::Create {
        listed.push(kubectl.apply_stdin_spec(&test_workload_manifest(namespace)));
        listed.push(kubectl.delete_workload_spec(TEST_WORKLOAD, namespace));
        listed.note(format!(
            "the test Workload {TEST_WORKLOAD} is given to kubectl apply on stdin"
        ));
    }
    listed
}

type FluxObjectAddress = (FluxKind, &'static str, &'static str);

/// The Flux objects the chart makes for the control plane: kind, name, namespace.
fn flux_objects() -> (FluxObjectAddress, FluxObjectAddress) {
    (
        (
            FluxKind::GitRepository,
            resources::CONTROL_PLANE_SOURCE,
            resources::FLUX_NAMESPACE,
        ),
        (
            FluxKind::Kustomization,
            resources::CONTROL_PLANE_SOURCE,
            resources::FLUX_NAMESPACE,
        ),
    )
}

#[derive(Debug, Clone)]
struct Observation {
    status: HealthStatus,
    message: String,
}

/// What the checks found so far, shared by the rounds of the poll.
#[derive(Default)]
struct Board {
    checks: BTreeMap<HealthCheck, Observation>,
    workload_verified: bool,
    /// What to do about the transient failures of the last round (a rate limit, a
    /// network problem), should the wait end on them.
    hints: Vec<Hint>,
}

struct Round {
    results: Vec<(HealthCheck, HealthStatus, String)>,
    hints: Vec<Hint>,
}

/// Run the checks until all pass, or the bounded wait ends.
pub async fn health(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let context = ctx
        .facts()
        .get(fact::KUBE_CONTEXT)
        .unwrap_or_else(|| env.kube_context());
    let kubectl = tools.kubectl.with_context(&context);
    let namespace = env.configuration.installation.namespace.clone();
    // A re-run of a verified installation changes nothing: the test Workload is not
    // applied again.
    let apply_workload = planned.action == Action::Create;
    let board = Arc::new(Mutex::new(Board::default()));
    for check in HealthCheck::ALL {
        ctx.health(check.name(), HealthStatus::Pending, "waiting");
    }

    let step = ctx.step();
    let result = poll_step(ctx, &env.timings.health, "health checks", || {
        let kubectl = kubectl.clone();
        let namespace = namespace.clone();
        let board = Arc::clone(&board);
        async move {
            let verified = lock(&board).workload_verified;
            let round = run_round(step, &kubectl, &namespace, apply_workload, verified).await?;
            let mut board = lock(&board);
            board.hints = round.hints;
            for (check, status, message) in round.results {
                let changed = board
                    .checks
                    .get(&check)
                    .map_or(true, |previous| previous.status != status);
                if changed {
                    ctx.health(check.name(), status, message.clone());
                }
                if check == HealthCheck::TestWorkload && status == HealthStatus::Passing {
                    board.workload_verified = true;
                }
                board.checks.insert(check, Observation { status, message });
            }
            let failing: Vec<String> = HealthCheck::ALL
                .iter()
                .filter_map(|check| {
                    let observation = board.checks.get(check)?;
                    (observation.status != HealthStatus::Passing)
                        .then(|| format!("{}: {}", check.name(), observation.message))
                })
                .collect();
            if failing.is_empty() {
                Ok(Poll::Ready(()))
            } else {
                Ok(Poll::Pending(failing.join("; ")))
            }
        }
    })
    .await;

    match result {
        Ok(()) => {
            ctx.transition("Healthy");
            ctx.transition("Verified");
            let message = if apply_workload {
                format!("all {} health checks passed", HealthCheck::ALL.len())
            } else {
                format!(
                    "all {} health checks passed (the test Workload was verified by an earlier run)",
                    HealthCheck::ALL.len()
                )
            };
            Ok(if apply_workload {
                StepOutcome::succeeded(message)
            } else {
                StepOutcome::reused(message)
            })
        }
        Err(error) => {
            let board = lock(&board);
            for check in HealthCheck::ALL {
                if let Some(observation) = board.checks.get(&check) {
                    if observation.status != HealthStatus::Passing {
                        ctx.health(
                            check.name(),
                            HealthStatus::Failing,
                            observation.message.clone(),
                        );
                    }
                }
            }
            let inspect = format!(
                "inspect the installation (kubectl --context {context} get pods,deployments -n {namespace}; kubectl --context {context} get gitrepositories,kustomizations -n {}), fix the cause, then run again to resume at the health checks",
                resources::FLUX_NAMESPACE
            );
            let mut hints = board.hints.clone();
            hints.dedup();
            let hint = match (error.hint.clone(), hints.first()) {
                (Some(hint), _) => hint,
                (None, None) => Topic::HealthChecks.hint(inspect),
                // What the queries that kept failing suggest, under the first one's topic.
                (None, Some(first)) => {
                    let advice: Vec<&str> = hints.iter().map(Hint::text).collect();
                    first
                        .topic()
                        .hint(format!("{}; {inspect}", advice.join("; ")))
                }
            };
            Err(error.with_hint(hint))
        }
    }
}

fn lock(board: &Mutex<Board>) -> std::sync::MutexGuard<'_, Board> {
    board
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A query failure: a transient one is a check not passing yet (its hint kept in
/// `hints`); a permanent one ends the checks at once (retrying a permission error for
/// five minutes helps nobody).
fn query_failure(
    step: StepId,
    what: &str,
    error: &ToolError,
    hints: &mut Vec<Hint>,
) -> Result<(HealthStatus, String), UserError> {
    if error.is_transient() {
        hints.push(error.hint());
        Ok((
            HealthStatus::Pending,
            format!("{what}: {error} (will retry)"),
        ))
    } else {
        Err(tool_error(step, what, error))
    }
}

/// A failure that no amount of waiting mends: the user must act (sign in, get a
/// permission or a quota, install the tool).
fn needs_the_user(error: &ToolError) -> bool {
    error.is_not_found()
        || matches!(
            error.class(),
            ErrorClass::NotAuthenticated
                | ErrorClass::PermissionDenied { .. }
                | ErrorClass::QuotaExceeded
                | ErrorClass::Usage
        )
}

/// Why the test Workload's round trip stopped.
enum WorkloadFailure {
    Apply(ToolError),
    Delete(ToolError),
}

/// Apply the test Workload and delete it again.
async fn workload_round_trip(
    kubectl: &KubectlContext,
    namespace: &str,
) -> Result<(), WorkloadFailure> {
    kubectl
        .apply_stdin(&test_workload_manifest(namespace))
        .await
        .map_err(WorkloadFailure::Apply)?;
    kubectl
        .delete_workload(TEST_WORKLOAD, namespace)
        .await
        .map(drop)
        .map_err(WorkloadFailure::Delete)
}

/// One round of every check. The queries run at once, and so does the test Workload's
/// round trip (the API itself says whether it accepts a Workload yet): a round takes as
/// long as its slowest check, not the sum of them.
async fn run_round(
    step: StepId,
    kubectl: &KubectlContext,
    namespace: &str,
    apply_workload: bool,
    workload_verified: bool,
) -> Result<Round, UserError> {
    let mut results = Vec::new();
    let mut hints = Vec::new();
    let probe_workload = apply_workload && !workload_verified;
    let (gitrepository, kustomization) = flux_objects();
    let (pods, crds, deployments, webhooks, source, kustomization, workload) = tokio::join!(
        kubectl.get_pods(namespace),
        kubectl.list_crds(),
        kubectl.get_deployments(namespace),
        kubectl.get_validating_webhooks(),
        kubectl.get_flux_object(gitrepository.0, gitrepository.1, gitrepository.2),
        kubectl.get_flux_object(kustomization.0, kustomization.1, kustomization.2),
        async {
            if probe_workload {
                Some(workload_round_trip(kubectl, namespace).await)
            } else {
                None
            }
        },
    );

    let pods = match pods {
        Ok(pods) if pods.is_empty() => (
            HealthStatus::Failing,
            format!("no pods in namespace {namespace} yet"),
        ),
        Ok(pods) => {
            let not_running: Vec<String> = pods
                .iter()
                .filter(|p| !p.is_running())
                .map(|p| {
                    format!(
                        "{} is {}",
                        p.name,
                        p.waiting_reason.as_deref().unwrap_or(&p.phase)
                    )
                })
                .collect();
            if not_running.is_empty() {
                (
                    HealthStatus::Passing,
                    format!("{} pods Running in {namespace}", pods.len()),
                )
            } else {
                (HealthStatus::Failing, not_running.join(", "))
            }
        }
        Err(e) => query_failure(
            step,
            &format!("list the pods in {namespace}"),
            &e,
            &mut hints,
        )?,
    };
    results.push((HealthCheck::Pods, pods.0, pods.1));

    let crds = match crds {
        Ok(crds) => {
            let missing: Vec<&str> = resources::KALYPSO_CRDS
                .iter()
                .copied()
                .filter(|name| !crds.iter().any(|c| c.name == *name && c.established))
                .collect();
            if missing.is_empty() {
                (
                    HealthStatus::Passing,
                    format!(
                        "all {} Kalypso CRDs registered",
                        resources::KALYPSO_CRDS.len()
                    ),
                )
            } else {
                (
                    HealthStatus::Failing,
                    format!("not registered: {}", missing.join(", ")),
                )
            }
        }
        Err(e) => query_failure(step, "list the CRDs", &e, &mut hints)?,
    };
    let crds_ready = crds.0 == HealthStatus::Passing;
    results.push((HealthCheck::Crds, crds.0, crds.1));

    let controller = match deployments {
        Ok(deployments) => match deployments
            .iter()
            .find(|d| d.name == resources::CONTROLLER_DEPLOYMENT)
        {
            Some(d) if d.is_available() => (
                HealthStatus::Passing,
                format!(
                    "{} has {}/{} replicas available",
                    d.name, d.available_replicas, d.replicas
                ),
            ),
            Some(d) => (
                HealthStatus::Failing,
                format!(
                    "{} has {}/{} replicas available",
                    d.name, d.available_replicas, d.replicas
                ),
            ),
            None => (
                HealthStatus::Failing,
                format!(
                    "deployment {} not found in {namespace}",
                    resources::CONTROLLER_DEPLOYMENT
                ),
            ),
        },
        Err(e) => query_failure(
            step,
            &format!("list the deployments in {namespace}"),
            &e,
            &mut hints,
        )?,
    };
    let controller_ready = controller.0 == HealthStatus::Passing;
    results.push((HealthCheck::Controller, controller.0, controller.1));

    // Webhooks answer on admission: the test Workload's apply goes through them.
    let webhooks = match webhooks {
        Ok(configurations) => configurations
            .iter()
            .flat_map(|c| c.webhooks.iter())
            .filter(|w| {
                w.client_config
                    .service
                    .as_ref()
                    .is_some_and(|s| s.namespace == namespace)
            })
            .map(|w| w.name.clone())
            .collect::<Vec<_>>(),
        Err(e) => {
            let (status, message) =
                query_failure(step, "list the validating webhooks", &e, &mut hints)?;
            results.push((HealthCheck::Webhooks, status, message));
            Vec::new()
        }
    };

    for (check, kind, label, found) in [
        (
            HealthCheck::FluxSource,
            FluxKind::GitRepository,
            "GitRepository",
            source,
        ),
        (
            HealthCheck::FluxKustomization,
            FluxKind::Kustomization,
            "Kustomization",
            kustomization,
        ),
    ] {
        let observation = match found {
            Ok(None) => (
                HealthStatus::Failing,
                format!(
                    "{label} {}/{} not found (`{}`)",
                    resources::FLUX_NAMESPACE,
                    resources::CONTROL_PLANE_SOURCE,
                    kubectl
                        .get_flux_object_spec(
                            kind,
                            resources::CONTROL_PLANE_SOURCE,
                            resources::FLUX_NAMESPACE
                        )
                        .display()
                ),
            ),
            Ok(Some(object)) if object.is_ready() => (
                HealthStatus::Passing,
                format!(
                    "{label} {} Ready: {}",
                    resources::CONTROL_PLANE_SOURCE,
                    object.ready.and_then(|c| c.message).unwrap_or_default()
                ),
            ),
            Ok(Some(object)) => {
                let reason = object
                    .ready
                    .map(|c| {
                        format!(
                            "{}: {}",
                            c.reason.unwrap_or_default(),
                            c.message.unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| "no Ready condition yet".to_string());
                (
                    HealthStatus::Failing,
                    format!(
                        "{label} {} not Ready ({reason})",
                        resources::CONTROL_PLANE_SOURCE
                    ),
                )
            }
            Err(e) => query_failure(
                step,
                &format!("read Flux {label} {}", resources::CONTROL_PLANE_SOURCE),
                &e,
                &mut hints,
            )?,
        };
        results.push((check, observation.0, observation.1));
    }

    let workload = match workload {
        None => (
            HealthStatus::Passing,
            "accepted and deleted again".to_string(),
        ),
        Some(Ok(())) => (
            HealthStatus::Passing,
            "accepted and deleted again".to_string(),
        ),
        Some(Err(WorkloadFailure::Delete(e))) => query_failure(
            step,
            &format!("delete the test Workload {TEST_WORKLOAD}"),
            &e,
            &mut hints,
        )?,
        // Refused while the CRDs or the controller (its webhooks) are not there yet:
        // nothing to judge until they are.
        Some(Err(WorkloadFailure::Apply(_))) if !(crds_ready && controller_ready) => (
            HealthStatus::Pending,
            "waiting for the CRDs and the controller".to_string(),
        ),
        Some(Err(WorkloadFailure::Apply(e))) if e.is_transient() => {
            hints.push(e.hint());
            (
                HealthStatus::Pending,
                format!("not accepted yet: {e} (will retry)"),
            )
        }
        Some(Err(WorkloadFailure::Apply(e))) if needs_the_user(&e) => {
            return Err(tool_error(
                step,
                &format!("apply the test Workload {TEST_WORKLOAD}"),
                &e,
            ))
        }
        Some(Err(WorkloadFailure::Apply(e))) => (
            HealthStatus::Failing,
            format!("rejected: {}", e.tool_message().unwrap_or(&e.to_string())),
        ),
    };
    let workload_passed = workload.0 == HealthStatus::Passing;
    results.push((HealthCheck::TestWorkload, workload.0, workload.1));

    if !results.iter().any(|(c, _, _)| *c == HealthCheck::Webhooks) {
        let observation = if webhooks.is_empty() {
            (
                HealthStatus::Passing,
                format!("no validating webhooks configured for {namespace}"),
            )
        } else if workload_passed {
            (
                HealthStatus::Passing,
                format!(
                    "{} answered on admission of the test Workload",
                    webhooks.join(", ")
                ),
            )
        } else {
            (
                HealthStatus::Pending,
                format!(
                    "{} configured; checked with the test Workload",
                    webhooks.join(", ")
                ),
            )
        };
        results.push((HealthCheck::Webhooks, observation.0, observation.1));
    }
    results.sort_by_key(|(check, _, _)| *check);
    Ok(Round { results, hints })
}
