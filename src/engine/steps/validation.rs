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
use crate::text::plural;
use crate::tools::kubectl::{FluxKind, FluxObject, KalypsoKind, KalypsoObject, KubectlContext};
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
    /// Every environment's Flux GitRepository and Kustomization, made by the scheduler's
    /// Environment controller, are Ready.
    EnvironmentFlux,
    /// Every environment's BaseRepo reports no error, and neither does its Flux source.
    BaseRepo,
    /// Every environment's GitOpsRepo reports no error.
    GitopsRepo,
    /// The scheduler opened a pull request against each environment's gitops branch.
    PullRequest,
}

/// What every check says before its first round.
pub const WAITING: &str = "waiting";

/// The pods check passing: every pod in `namespace` runs.
pub fn pods_running(count: usize, namespace: &str) -> String {
    format!("{} Running in {namespace}", plural(count, "pod"))
}

/// The pods check failing: each pod (name, phase or waiting reason) that does not run.
pub fn pods_not_running<'a>(pods: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pods.into_iter()
        .map(|(name, state)| format!("{name} is {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CRDs check passing: every Kalypso CRD is established.
pub fn crds_registered() -> String {
    format!(
        "all {} Kalypso CRDs registered",
        resources::KALYPSO_CRDS.len()
    )
}

/// The CRDs check failing: the Kalypso CRDs not established yet.
pub fn crds_not_registered(missing: &[&str]) -> String {
    format!("not registered: {}", missing.join(", "))
}

impl HealthCheck {
    pub const ALL: [HealthCheck; 11] = [
        HealthCheck::Pods,
        HealthCheck::Crds,
        HealthCheck::Controller,
        HealthCheck::Webhooks,
        HealthCheck::FluxSource,
        HealthCheck::FluxKustomization,
        HealthCheck::TestWorkload,
        HealthCheck::EnvironmentFlux,
        HealthCheck::BaseRepo,
        HealthCheck::GitopsRepo,
        HealthCheck::PullRequest,
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
            HealthCheck::EnvironmentFlux => "environment-flux",
            HealthCheck::BaseRepo => "baserepo",
            HealthCheck::GitopsRepo => "gitopsrepo",
            HealthCheck::PullRequest => "pull-request",
        }
    }

    /// Where the troubleshooting page explains this check's failure.
    pub fn topic(self) -> Topic {
        match self {
            HealthCheck::EnvironmentFlux => Topic::SchedulerEnvironment,
            HealthCheck::BaseRepo | HealthCheck::GitopsRepo => Topic::SchedulerRepositories,
            HealthCheck::PullRequest => Topic::SchedulerPullRequest,
            _ => Topic::HealthChecks,
        }
    }
}

/// The prefix of the branches the Kalypso Scheduler opens its pull requests from
/// (`scheduler/githubrepo.go` in microsoft/kalypso-scheduler).
pub const SCHEDULER_BRANCH_PREFIX: &str = "deployment/";

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
        // The reason says what the step does, not its own title again.
        let (action, reason) = installation::on_the_cluster(
            config,
            observed,
            StepId::HealthChecks,
            "health checks",
            "verify the install",
        );
        let host = &config.repositories.github_host;
        if host.is_github_com() || action == Action::Skip {
            (action, reason)
        } else {
            (
                action,
                format!("{reason}; warning: {}", enterprise_pull_requests(host)),
            )
        }
    };
    decisions.insert(StepId::HealthChecks, decision);
}

/// What the health checks run, for the dry run: one round, as [`run_round`] runs it
/// (every round repeats the queries until all pass).
pub fn commands(env: &StepEnv, planned: &PlannedStep, preview: &Preview) -> StepCommands {
    let tools = env.tools();
    let context = env.kube_context();
    let kubectl = tools.kubectl.with_context(&context);
    let namespace = env.configuration.installation.namespace.as_str();
    let mut listed = StepCommands::default();
    let (gitrepository, kustomization) = flux_objects();
    let (environment, gitops) = match preview.context {
        Some(context) => (
            context.first_environment().to_string(),
            context.gitops.slug(),
        ),
        None => (
            env.configuration.environments.first().to_string(),
            repo_slug(&env.configuration.repositories.gitops, preview.owner),
        ),
    };
    for spec in [
        kubectl.get_pods_spec(namespace),
        kubectl.list_crds_spec(),
        kubectl.get_deployments_spec(namespace),
        kubectl.get_validating_webhooks_spec(),
        kubectl.get_flux_object_spec(gitrepository.0, gitrepository.1, gitrepository.2),
        kubectl.get_flux_object_spec(kustomization.0, kustomization.1, kustomization.2),
        kubectl.list_flux_objects_spec(FluxKind::GitRepository, resources::FLUX_NAMESPACE),
        kubectl.list_flux_objects_spec(FluxKind::Kustomization, resources::FLUX_NAMESPACE),
        kubectl.list_kalypso_objects_spec(KalypsoKind::BaseRepo, &environment),
        kubectl.list_kalypso_objects_spec(KalypsoKind::GitOpsRepo, &environment),
        kubectl.list_kalypso_objects_spec(KalypsoKind::WorkloadRegistration, &environment),
        kubectl.list_kalypso_objects_spec(KalypsoKind::SchedulingPolicy, &environment),
        kubectl.list_kalypso_objects_spec(KalypsoKind::Assignment, &environment),
        tools.gh.pr_list_spec(&gitops, &environment),
        // The number is the scheduler's pull request's, known once it is open.
        tools.gh.pr_files_spec(&gitops, "<number>"),
        tools.gh.repo_tree_spec(&gitops, &environment),
    ] {
        listed.push(spec);
    }
    for other in env.configuration.environments.names().iter().skip(1) {
        listed.push(kubectl.list_kalypso_objects_spec(KalypsoKind::BaseRepo, other));
        listed.push(kubectl.list_kalypso_objects_spec(KalypsoKind::GitOpsRepo, other));
        listed.push(kubectl.list_kalypso_objects_spec(KalypsoKind::WorkloadRegistration, other));
        listed.push(kubectl.list_kalypso_objects_spec(KalypsoKind::SchedulingPolicy, other));
        listed.push(kubectl.list_kalypso_objects_spec(KalypsoKind::Assignment, other));
        listed.push(tools.gh.pr_list_spec(&gitops, other));
        listed.push(tools.gh.pr_files_spec(&gitops, "<number>"));
        listed.push(tools.gh.repo_tree_spec(&gitops, other));
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

/// `OWNER/NAME` of a repository target: an existing one names its owner, a new one
/// belongs to `owner`.
pub(crate) fn repo_slug(target: &crate::config::RepoTarget, owner: &str) -> String {
    match target {
        crate::config::RepoTarget::Existing(existing) => {
            format!("{}/{}", existing.owner(), existing.name())
        }
        crate::config::RepoTarget::Create { name } => format!("{owner}/{name}"),
    }
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
    /// Rounds run so far.
    rounds: u32,
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
    let template = steps.template_context(ctx).await?;
    let scheduler = Arc::new(SchedulerTarget {
        verified_earlier: planned.action != Action::Create,
        environment: template.first_environment().to_string(),
        environments: template.environments.clone(),
        gitops: template.gitops.slug(),
        gh: tools.gh.clone(),
    });
    // A re-run of a verified installation changes nothing: the test Workload is not
    // applied again.
    let apply_workload = planned.action == Action::Create;
    let board = Arc::new(Mutex::new(Board::default()));
    for check in HealthCheck::ALL {
        ctx.health(check.name(), HealthStatus::Pending, WAITING);
    }

    let step = ctx.step();
    let result = poll_step(ctx, &env.timings.health, "health checks", || {
        let kubectl = kubectl.clone();
        let namespace = namespace.clone();
        let board = Arc::clone(&board);
        let scheduler = Arc::clone(&scheduler);
        async move {
            let verified = lock(&board).workload_verified;
            let round = run_round(
                step,
                &kubectl,
                &scheduler,
                &namespace,
                apply_workload,
                verified,
            )
            .await?;
            let mut board = lock(&board);
            board.rounds += 1;
            board.hints = round.hints;
            for (check, status, message) in round.results {
                let changed = board
                    .checks
                    .get(&check)
                    .is_none_or(|previous| previous.status != status);
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
            let bound = env
                .timings
                .health
                .timeout
                .map(crate::text::format_duration)
                .unwrap_or_else(|| "the wait".to_string());
            let mut first_failing = None;
            for check in HealthCheck::ALL {
                if let Some(observation) = board.checks.get(&check) {
                    if observation.status != HealthStatus::Passing {
                        first_failing.get_or_insert(check);
                        // Each check's own last observation, with the bound it had.
                        ctx.health(
                            check.name(),
                            HealthStatus::Failing,
                            format!(
                                "{} (gave up after the {bound} bound, {} rounds)",
                                observation.message, board.rounds
                            ),
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
                (None, None) => match first_failing {
                    Some(check) if check.topic() != Topic::HealthChecks => check
                        .topic()
                        .hint(scheduler_advice(check, &scheduler, &context)),
                    _ => Topic::HealthChecks.hint(inspect),
                },
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

/// What the scheduler's checks look at: every environment's Flux objects, BaseRepos,
/// GitOpsRepos, and pull request in the gitops repository.
struct SchedulerTarget {
    /// A re-run of an installation an earlier run verified: its pull request may have been
    /// merged since, and the controller opens the next one only when the content changes.
    verified_earlier: bool,
    /// The first environment.
    environment: String,
    /// Every environment, in promotion order.
    environments: Vec<String>,
    /// `OWNER/NAME`.
    gitops: String,
    gh: crate::tools::gh::Gh,
}

/// Why the scheduler's pull requests cannot appear on a GitHub Enterprise Server: the
/// Kalypso Scheduler's GitHub client is `github.NewClient` (`getGitHubClient` in
/// scheduler/githubrepo.go of microsoft/kalypso-scheduler), which always calls
/// api.github.com, whatever host the GitOpsRepo names.
pub fn enterprise_pull_requests(host: &crate::config::GitHubHost) -> String {
    format!("the Kalypso Scheduler opens its pull requests through api.github.com only (github.NewClient in its scheduler/githubrepo.go), not through {host}: on this GitHub Enterprise Server its GitOpsRepo reports a GitHub error and no pull request appears, so the gitopsrepo and pull-request health checks fail until a scheduler release can reach {host}")
}

/// What to look at when a scheduler check gave up.
fn scheduler_advice(check: HealthCheck, target: &SchedulerTarget, context: &str) -> String {
    let environment = &target.environment;
    let environments = target.environments.join(", ");
    let flux = resources::FLUX_NAMESPACE;
    let host = target.gh.host();
    let gitops_arg = host.gh_repo_arg(&target.gitops);
    if !host.is_github_com() && matches!(check, HealthCheck::GitopsRepo | HealthCheck::PullRequest)
    {
        return format!(
            "{}; the rest of the installation is in place (kubectl --context {context} get gitopsrepoes -n {environment} -o yaml shows the error)",
            enterprise_pull_requests(host)
        );
    }
    match check {
        HealthCheck::EnvironmentFlux => format!(
            "the Kalypso Scheduler creates a GitRepository and a Kustomization named after each environment ({environments}) in {flux} from its Environment on the control plane's main branch; inspect them (kubectl --context {context} get gitrepositories,kustomizations -n {flux}), fix the cause, then run again to resume at the health checks"
        ),
        HealthCheck::BaseRepo | HealthCheck::GitopsRepo => format!(
            "read the conditions (kubectl --context {context} get baserepoes,gitopsrepoes -n {environment} -o yaml, kubectl --context {context} get gitrepositories -n {flux}): the repositories and branches they name must exist, the chart's token must read them and, for the GitOpsRepo, have the repo scope and write access to {gitops}; fix it, then run again to resume at the health checks",
            gitops = target.gitops
        ),
        _ => {
            let conditions: Vec<String> = target
                .environments
                .iter()
                .map(|environment| {
                    format!("kubectl --context {context} get gitopsrepoes -n {environment} -o yaml")
                })
                .collect();
            let pulls: Vec<String> = target
                .environments
                .iter()
                .map(|environment| format!("gh pr list --repo {gitops_arg} --base {environment}"))
                .collect();
            format!(
                "the scheduler opens one per environment with the chart's token, which needs the repo scope and write access to {gitops}; see why in the GitOpsRepo's Ready condition ({}) and the open pull requests ({}), fix it, then run again to resume at the health checks",
                conditions.join("; "),
                pulls.join("; "),
                gitops = target.gitops
            )
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
    scheduler: &SchedulerTarget,
    namespace: &str,
    apply_workload: bool,
    workload_verified: bool,
) -> Result<Round, UserError> {
    let mut results = Vec::new();
    let mut hints = Vec::new();
    let probe_workload = apply_workload && !workload_verified;
    let (gitrepository, kustomization) = flux_objects();
    let environment = scheduler.environment.as_str();
    let (
        (pods, crds, deployments, webhooks, source, kustomization, workload),
        (flux_sources, flux_kustomizations, base_repos, gitops_repos, first_pull),
        further,
    ) = tokio::join!(
        async {
            tokio::join!(
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
            )
        },
        async {
            tokio::join!(
                kubectl.list_flux_objects(FluxKind::GitRepository, resources::FLUX_NAMESPACE),
                kubectl.list_flux_objects(FluxKind::Kustomization, resources::FLUX_NAMESPACE),
                kubectl.list_kalypso_objects(KalypsoKind::BaseRepo, environment),
                kubectl.list_kalypso_objects(KalypsoKind::GitOpsRepo, environment),
                observe_pull_request(kubectl, scheduler, environment),
            )
        },
        // The BaseRepos, GitOpsRepos and pull requests of the further environments, one
        // environment after the other while the queries above run.
        async {
            let mut further = Vec::new();
            for other in scheduler.environments.iter().skip(1) {
                let (base, gitops, pull) = tokio::join!(
                    kubectl.list_kalypso_objects(KalypsoKind::BaseRepo, other),
                    kubectl.list_kalypso_objects(KalypsoKind::GitOpsRepo, other),
                    observe_pull_request(kubectl, scheduler, other),
                );
                further.push((other.clone(), base, gitops, pull));
            }
            further
        },
    );
    let mut base_repos = vec![(environment.to_string(), base_repos)];
    let mut gitops_repos = vec![(environment.to_string(), gitops_repos)];
    let mut pull_requests = vec![first_pull];
    for (other, base, gitops, pull) in further {
        base_repos.push((other.clone(), base));
        gitops_repos.push((other, gitops));
        pull_requests.push(pull);
    }
    let scheduler_results = scheduler_checks(
        step,
        scheduler,
        SchedulerObservations {
            flux_sources,
            flux_kustomizations,
            base_repos,
            gitops_repos,
            pull_requests,
        },
        &mut hints,
    )?;
    results.extend(scheduler_results);

    let pods = match pods {
        Ok(pods) if pods.is_empty() => (
            HealthStatus::Failing,
            format!("no pods in namespace {namespace} yet"),
        ),
        Ok(pods) => {
            let not_running: Vec<(&str, &str)> = pods
                .iter()
                .filter(|p| !p.is_running())
                .map(|p| {
                    (
                        p.name.as_str(),
                        p.waiting_reason.as_deref().unwrap_or(&p.phase),
                    )
                })
                .collect();
            if not_running.is_empty() {
                (HealthStatus::Passing, pods_running(pods.len(), namespace))
            } else {
                (HealthStatus::Failing, pods_not_running(not_running))
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
                (HealthStatus::Passing, crds_registered())
            } else {
                (HealthStatus::Failing, crds_not_registered(&missing))
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

/// What one round read of the scheduler's work.
struct SchedulerObservations {
    flux_sources: Result<Vec<FluxObject>, ToolError>,
    flux_kustomizations: Result<Vec<FluxObject>, ToolError>,
    /// The BaseRepos and GitOpsRepos of each environment's namespace, the first first.
    base_repos: Vec<(String, Result<Vec<KalypsoObject>, ToolError>)>,
    gitops_repos: Vec<(String, Result<Vec<KalypsoObject>, ToolError>)>,
    /// What each environment's pull request check reads, in promotion order.
    pull_requests: Vec<PullRequestObservations>,
}

/// What one round read for one environment's pull request: the scheduler proposes to the
/// gitops repository's `<environment>` branch what the environment's namespace schedules.
struct PullRequestObservations {
    environment: String,
    /// The open pull requests against the environment's branch.
    pulls: Result<Vec<crate::tools::gh::PullRequest>, ToolError>,
    registrations: Result<Vec<KalypsoObject>, ToolError>,
    policies: Result<Vec<KalypsoObject>, ToolError>,
    assignments: Result<Vec<KalypsoObject>, ToolError>,
    /// The files the scheduler's pull request leaves on the branch once merged: those it
    /// changes (`gh pr view N --json files`) and those the branch already has (its tree),
    /// read when it is open and there are Assignments.
    pull_files: Option<Result<Vec<String>, ToolError>>,
}

/// Reads what the pull request check of `environment` needs: the open pull requests
/// against its branch and its namespace's scheduling, then the files of the scheduler's
/// pull request when there are Assignments to look for.
async fn observe_pull_request(
    kubectl: &KubectlContext,
    scheduler: &SchedulerTarget,
    environment: &str,
) -> PullRequestObservations {
    // The branch's tree is read with the rest (one query a round, whatever it finds), so
    // that the dry run, which lists it, shows exactly what runs.
    let (pulls, registrations, policies, assignments, tree) = tokio::join!(
        scheduler.gh.pr_list(&scheduler.gitops, environment),
        kubectl.list_kalypso_objects(KalypsoKind::WorkloadRegistration, environment),
        kubectl.list_kalypso_objects(KalypsoKind::SchedulingPolicy, environment),
        kubectl.list_kalypso_objects(KalypsoKind::Assignment, environment),
        scheduler.gh.repo_tree(&scheduler.gitops, environment),
    );
    let scheduler_pull = pulls.as_ref().ok().and_then(|all| {
        all.iter()
            .find(|p| p.head_ref_name.starts_with(SCHEDULER_BRANCH_PREFIX))
            .map(|p| p.number)
    });
    let has_assignments = assignments.as_ref().is_ok_and(|a| !a.is_empty());
    let pull_files = match scheduler_pull {
        Some(number) if has_assignments => {
            let changed = scheduler.gh.pr_files(&scheduler.gitops, number).await;
            // GitHub lists only the files a pull request changes: after a merge (ours, by
            // `validation.first-workload`, or yours) the scheduler's next one changes only
            // what differs, e.g. the promoted commit, and the folders it carried before are
            // on the branch.
            Some(changed.and_then(|mut files| {
                files.extend(tree?.into_iter().flatten().map(|entry| entry.path));
                Ok(files)
            }))
        }
        _ => None,
    };
    PullRequestObservations {
        environment: environment.to_string(),
        pulls,
        registrations,
        policies,
        assignments,
        pull_files,
    }
}

type CheckResult = (HealthCheck, HealthStatus, String);

/// A failed query of a scheduler check. A transient failure, or an answer of the tool this
/// program does not know (`the server doesn't have a resource type` while the CRDs are not
/// served yet), is a check not passing yet, its reason kept; so is a Flux object list not
/// found when `not_found_waits` (Flux makes them in its own time). Anything else (the tool
/// missing, sign-in, permission, a repository not found) ends the checks at once with the
/// tool's hint: waiting five minutes mends none of them.
fn scheduler_query_failure(
    step: StepId,
    what: &str,
    error: &ToolError,
    hints: &mut Vec<Hint>,
    not_found_waits: bool,
) -> Result<(HealthStatus, String), UserError> {
    let unknown_answer = error.class() == ErrorClass::Other && error.tool_message().is_some();
    if error.is_transient() {
        hints.push(error.hint());
        Ok((
            HealthStatus::Pending,
            format!("{what}: {error} (will retry)"),
        ))
    } else if unknown_answer || (not_found_waits && error.is_not_found_resource()) {
        Ok((HealthStatus::Failing, format!("{what}: {error}")))
    } else {
        Err(tool_error(step, what, error))
    }
}

/// One check over several environments: failing if one fails, else pending if one is, else
/// passing; the message of each environment, named when there are several.
fn combined(checks: Vec<(String, (HealthStatus, String))>) -> (HealthStatus, String) {
    let status = if checks.iter().any(|(_, c)| c.0 == HealthStatus::Failing) {
        HealthStatus::Failing
    } else if checks.iter().any(|(_, c)| c.0 != HealthStatus::Passing) {
        HealthStatus::Pending
    } else {
        HealthStatus::Passing
    };
    let message = match checks.as_slice() {
        [(_, (_, only))] => only.clone(),
        _ => checks
            .iter()
            .map(|(environment, (_, message))| format!("{environment}: {message}"))
            .collect::<Vec<_>>()
            .join("; "),
    };
    (status, message)
}

/// The BaseRepos of one environment's namespace, and the Flux source of each.
fn base_repo_check(
    step: StepId,
    environment: &str,
    repos: Result<Vec<KalypsoObject>, ToolError>,
    sources: &Result<Vec<FluxObject>, (HealthStatus, String)>,
    hints: &mut Vec<Hint>,
) -> Result<(HealthStatus, String), UserError> {
    let flux = resources::FLUX_NAMESPACE;
    let find = |name: &str| {
        sources
            .as_ref()
            .ok()
            .and_then(|objects| objects.iter().find(|o| o.name == name).cloned())
    };
    Ok(match repos {
        Err(e) => scheduler_query_failure(
            step,
            &format!("list the BaseRepos in namespace {environment}"),
            &e,
            hints,
            false,
        )?,
        Ok(repos) if repos.is_empty() => (
            HealthStatus::Failing,
            format!("no BaseRepo in namespace {environment} yet"),
        ),
        Ok(repos) => {
            let mut problems = Vec::new();
            let mut fine = Vec::new();
            for repo in &repos {
                let source_name = format!("{environment}-{}", repo.name);
                let names = format!(
                    "BaseRepo {} ({}@{})",
                    repo.name,
                    repo.repo.as_deref().unwrap_or("?"),
                    repo.branch.as_deref().unwrap_or("?")
                );
                if !repo.ready.as_ref().is_some_and(|c| c.is_true()) {
                    problems.push(format!("{names}: {}", describe_ready(&repo.ready)));
                    continue;
                }
                match (sources, find(&source_name)) {
                    (Err(failure), _) => problems.push(failure.1.clone()),
                    (Ok(_), None) => problems.push(format!(
                        "{names}: its GitRepository {flux}/{source_name} not created yet"
                    )),
                    (Ok(_), Some(source)) if source.is_ready() => fine.push(names),
                    (Ok(_), Some(source)) => problems.push(format!(
                        "{names}: its GitRepository {source_name}: {}",
                        describe_ready(&source.ready)
                    )),
                }
            }
            if problems.is_empty() {
                (
                    HealthStatus::Passing,
                    format!("{} Ready, its source fetched", fine.join(", ")),
                )
            } else {
                (HealthStatus::Failing, problems.join("; "))
            }
        }
    })
}

/// The GitOpsRepos of one environment's namespace; true when each reports the pull
/// request of its current content created.
fn gitops_repo_check(
    step: StepId,
    environment: &str,
    repos: Result<Vec<KalypsoObject>, ToolError>,
    hints: &mut Vec<Hint>,
) -> Result<((HealthStatus, String), bool), UserError> {
    Ok(match repos {
        Err(e) => (
            scheduler_query_failure(
                step,
                &format!("list the GitOpsRepos in namespace {environment}"),
                &e,
                hints,
                false,
            )?,
            false,
        ),
        Ok(repos) if repos.is_empty() => (
            (
                HealthStatus::Failing,
                format!("no GitOpsRepo in namespace {environment} yet"),
            ),
            false,
        ),
        Ok(repos) => {
            let described: Vec<String> = repos
                .iter()
                .map(|r| {
                    format!(
                        "GitOpsRepo {} ({}@{}): {}",
                        r.name,
                        r.repo.as_deref().unwrap_or("?"),
                        r.branch.as_deref().unwrap_or("?"),
                        describe_ready(&r.ready)
                    )
                })
                .collect();
            // The controller reports an error as Ready=False; until its first pull request
            // it has no Ready condition, or Ready=False with reason CreatingPR.
            let failed = repos.iter().any(|r| {
                r.ready
                    .as_ref()
                    .is_some_and(|c| !c.is_true() && c.reason.as_deref() != Some("CreatingPR"))
            });
            let all_ready = repos
                .iter()
                .all(|r| r.ready.as_ref().is_some_and(|c| c.is_true()));
            let proposed = repos.iter().all(|r| {
                r.ready
                    .as_ref()
                    .is_some_and(|c| c.is_true() && c.reason.as_deref() == Some("PRCreated"))
            });
            let status = if all_ready {
                HealthStatus::Passing
            } else if failed {
                HealthStatus::Failing
            } else {
                HealthStatus::Pending
            };
            ((status, described.join("; ")), proposed)
        }
    })
}

/// `Ready=False, reason R: message` or `no Ready condition yet`.
fn describe_ready(ready: &Option<crate::tools::kubectl::Condition>) -> String {
    match ready {
        Some(c) => format!(
            "Ready={}, reason {}{}",
            c.status,
            c.reason.as_deref().unwrap_or("none"),
            c.message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        None => "no Ready condition yet".to_string(),
    }
}

/// The checks of what the scheduler made of the control plane, after its controllers
/// (microsoft/kalypso-scheduler `controllers/environment_controller.go`,
/// `baserepo_controller.go`, `gitopsrepo_controller.go`, `scheduler/githubrepo.go`).
fn scheduler_checks(
    step: StepId,
    target: &SchedulerTarget,
    observed: SchedulerObservations,
    hints: &mut Vec<Hint>,
) -> Result<Vec<CheckResult>, UserError> {
    let flux = resources::FLUX_NAMESPACE;
    let mut results = Vec::new();

    let sources = match observed.flux_sources {
        Ok(list) => Ok(list),
        Err(e) => Err(scheduler_query_failure(
            step,
            &format!("list the Flux GitRepositories in {flux}"),
            &e,
            hints,
            true,
        )?),
    };
    let kustomizations = match observed.flux_kustomizations {
        Ok(list) => Ok(list),
        Err(e) => Err(scheduler_query_failure(
            step,
            &format!("list the Flux Kustomizations in {flux}"),
            &e,
            hints,
            true,
        )?),
    };
    let find = |list: &Result<Vec<FluxObject>, (HealthStatus, String)>, name: &str| {
        list.as_ref()
            .ok()
            .and_then(|objects| objects.iter().find(|o| o.name == name).cloned())
    };

    // The Environment controller's GitRepository and Kustomization, both named after it,
    // for every environment.
    let environment_flux = match (&sources, &kustomizations) {
        (Err(failure), _) | (_, Err(failure)) => failure.clone(),
        _ => {
            let mut problems = Vec::new();
            let mut ready = Vec::new();
            for environment in &target.environments {
                let mut fine = true;
                for (label, object) in [
                    ("GitRepository", find(&sources, environment)),
                    ("Kustomization", find(&kustomizations, environment)),
                ] {
                    match object {
                        None => {
                            fine = false;
                            problems.push(format!(
                                "{label} {flux}/{environment} not created yet (the scheduler makes it for Environment {environment})"
                            ));
                        }
                        Some(object) if object.is_ready() => {}
                        Some(object) => {
                            fine = false;
                            problems.push(format!(
                                "{label} {environment}: {}",
                                describe_ready(&object.ready)
                            ));
                        }
                    }
                }
                if fine {
                    let revision = find(&kustomizations, environment)
                        .and_then(|k| k.ready)
                        .and_then(|c| c.message)
                        .unwrap_or_default();
                    ready.push(format!(
                        "GitRepository and Kustomization {environment} Ready: {revision}"
                    ));
                }
            }
            if problems.is_empty() {
                (HealthStatus::Passing, ready.join("; "))
            } else {
                (HealthStatus::Failing, problems.join("; "))
            }
        }
    };
    results.push((
        HealthCheck::EnvironmentFlux,
        environment_flux.0,
        environment_flux.1,
    ));

    // BaseRepo: its own condition, and the Flux source its controller makes for it
    // (`<namespace>-<name>`), where a repository it cannot fetch shows; in every environment.
    let mut base_repo_checks = Vec::new();
    for (environment, repos) in observed.base_repos {
        let check = base_repo_check(step, &environment, repos, &sources, hints)?;
        base_repo_checks.push((environment, check));
    }
    let base_repo = combined(base_repo_checks);
    results.push((HealthCheck::BaseRepo, base_repo.0, base_repo.1));

    // GitOpsRepo, in every environment; whether the controller reports the pull request of
    // its current content as created, and whether it is still to report, per environment
    // (each environment's pull request is checked).
    let mut gitops_states = BTreeMap::new();
    let mut gitops_repo_checks = Vec::new();
    for (environment, repos) in observed.gitops_repos {
        let (check, made) = gitops_repo_check(step, &environment, repos, hints)?;
        gitops_states.insert(
            environment.clone(),
            (made, check.0 == HealthStatus::Pending),
        );
        gitops_repo_checks.push((environment, check));
    }
    let gitops_repo = combined(gitops_repo_checks);
    results.push((HealthCheck::GitopsRepo, gitops_repo.0, gitops_repo.1));

    // The scheduler's pull request to each environment's branch.
    let mut pull_request_checks = Vec::new();
    for observed in observed.pull_requests {
        let environment = observed.environment.clone();
        let (proposed, gitops_pending) = gitops_states
            .get(&environment)
            .copied()
            .unwrap_or((false, false));
        let check = pull_request_check(
            step,
            target,
            &sources,
            observed,
            proposed,
            gitops_pending,
            hints,
        )?;
        pull_request_checks.push((environment, check));
    }
    let pull_request = combined(pull_request_checks);
    results.push((HealthCheck::PullRequest, pull_request.0, pull_request.1));
    Ok(results)
}

/// The scheduler's pull request to one environment's branch of the gitops repository:
/// open, from the scheduler, carrying a folder for every Assignment of the environment.
/// `proposed`: the environment's GitOpsRepo reports the pull request of its current
/// content as created; `gitops_pending`: it has reported nothing yet.
fn pull_request_check(
    step: StepId,
    target: &SchedulerTarget,
    sources: &Result<Vec<FluxObject>, (HealthStatus, String)>,
    observed: PullRequestObservations,
    proposed: bool,
    gitops_pending: bool,
    hints: &mut Vec<Hint>,
) -> Result<(HealthStatus, String), UserError> {
    let environment = observed.environment.as_str();
    let flux = resources::FLUX_NAMESPACE;
    let gitops = &target.gitops;
    // What the scheduler made of the registered workloads: the Assignments the pull
    // request must carry, or why there are none.
    let mut scheduling = match scheduling_state(
        step,
        environment,
        flux,
        sources,
        observed.registrations,
        observed.policies,
        observed.assignments,
        hints,
    )? {
        Ok(state) => state,
        Err(failure) => return Ok(failure),
    };
    // The first environment is where the registered workloads are expected to land: no
    // Assignment there is a problem. A later one may select nothing (the default policy
    // places the sample's dev and stage targets; other environment names have none).
    if environment == target.environment {
        scheduling.nothing_selected = false;
    }
    let pull_request = match observed.pulls {
        Err(e) => scheduler_query_failure(
            step,
            &format!("list the pull requests of {gitops}"),
            &e,
            hints,
            false,
        )?,
        // Only the scheduler's own: it proposes from `deployment/…` branches
        // (`scheduler/githubrepo.go`); anyone else's pull request proves nothing.
        Ok(all_pulls) => match all_pulls
            .iter()
            .find(|pull| pull.head_ref_name.starts_with(SCHEDULER_BRANCH_PREFIX))
        {
            // On a re-run the earlier run saw the pull request open; the user may have
            // merged it since, and the GitOpsRepo still says it was created.
            None if target.verified_earlier && proposed => (
                HealthStatus::Passing,
                format!(
                    "none open against {environment} in {gitops} now; the GitOpsRepo reports PRCreated (the pull request the earlier run saw was merged or closed since)"
                ),
            ),
            // Not there yet while the controller has reported nothing (it waits a moment
            // before it opens one); failing once it reports an error, or something else.
            None => (
                if gitops_pending && (scheduling.problem.is_none() || scheduling.nothing_selected) {
                    HealthStatus::Pending
                } else {
                    HealthStatus::Failing
                },
                format!(
                    "no open pull request from the scheduler (a {SCHEDULER_BRANCH_PREFIX}… branch) against {environment} in {gitops}; last look: {} open, none from the scheduler{}",
                    all_pulls.len(),
                    scheduling
                        .problem
                        .as_ref()
                        .map(|p| format!("; {p}"))
                        .unwrap_or_default()
                ),
            ),
            Some(pull) => {
                let described = format!(
                    "#{} \"{}\" from {}{} ({} open against {environment})",
                    pull.number,
                    pull.title,
                    pull.head_ref_name,
                    pull.author
                        .as_ref()
                        .map(|a| format!(" by {}", a.login))
                        .unwrap_or_default(),
                    all_pulls.len()
                );
                pull_request_content(
                    step,
                    pull.number,
                    described,
                    gitops,
                    &scheduling,
                    observed.pull_files,
                    hints,
                )?
            }
        },
    };
    Ok(pull_request)
}

/// What the verification read of the scheduling of the environment's workloads.
struct SchedulingState {
    /// No WorkloadRegistration in the namespace: a control plane without workloads.
    no_workloads: bool,
    /// The Assignments, all Ready: `(name, cluster type, deployment target)`.
    assignments: Vec<(String, String, String)>,
    /// Why the registered workloads are not (yet) all scheduled.
    problem: Option<String>,
    /// No Assignment only because every SchedulingPolicy is Ready and selected no
    /// deployment target: the workloads name none for this environment that the policies
    /// match (the sample workload has targets for dev and stage only).
    nothing_selected: bool,
}

/// Reads the WorkloadRegistrations, SchedulingPolicies and Assignments of the
/// environment: `Err` is the check's result when a query failed.
#[allow(clippy::too_many_arguments)]
fn scheduling_state(
    step: StepId,
    environment: &str,
    flux: &str,
    sources: &Result<Vec<FluxObject>, (HealthStatus, String)>,
    registrations: Result<Vec<KalypsoObject>, ToolError>,
    policies: Result<Vec<KalypsoObject>, ToolError>,
    assignments: Result<Vec<KalypsoObject>, ToolError>,
    hints: &mut Vec<Hint>,
) -> Result<Result<SchedulingState, (HealthStatus, String)>, UserError> {
    let read = |what: &str,
                list: Result<Vec<KalypsoObject>, ToolError>,
                hints: &mut Vec<Hint>|
     -> Result<Result<Vec<KalypsoObject>, (HealthStatus, String)>, UserError> {
        Ok(match list {
            Ok(list) => Ok(list),
            Err(e) => Err(scheduler_query_failure(
                step,
                &format!("list the {what} in namespace {environment}"),
                &e,
                hints,
                false,
            )?),
        })
    };
    let registrations = match read("WorkloadRegistrations", registrations, hints)? {
        Ok(list) => list,
        Err(failure) => return Ok(Err(failure)),
    };
    if registrations.is_empty() {
        return Ok(Ok(SchedulingState {
            no_workloads: true,
            assignments: Vec::new(),
            problem: None,
            nothing_selected: false,
        }));
    }
    let assignments = match read("Assignments", assignments, hints)? {
        Ok(list) => list,
        Err(failure) => return Ok(Err(failure)),
    };
    let policies = match read("SchedulingPolicies", policies, hints)? {
        Ok(list) => list,
        Err(failure) => return Ok(Err(failure)),
    };
    let mut problems = Vec::new();
    let mut nothing_selected = false;
    for assignment in &assignments {
        if !assignment.ready.as_ref().is_some_and(|c| c.is_true()) {
            problems.push(format!(
                "Assignment {}: {}",
                assignment.name,
                describe_ready(&assignment.ready)
            ));
        }
    }
    if assignments.is_empty() {
        // Why: a registration whose workload cannot be fetched, a policy that failed, or
        // policies that selected nothing.
        let mut why = Vec::new();
        let mut other_cause = policies.is_empty();
        for registration in &registrations {
            let source_name = format!("{environment}-{}", registration.name);
            let names = format!(
                "WorkloadRegistration {} ({}@{})",
                registration.name,
                registration.repo.as_deref().unwrap_or("?"),
                registration.branch.as_deref().unwrap_or("?")
            );
            match sources
                .as_ref()
                .ok()
                .and_then(|list| list.iter().find(|o| o.name == source_name))
            {
                None => {
                    other_cause = true;
                    why.push(format!(
                        "{names}: its GitRepository {flux}/{source_name} not created yet"
                    ))
                }
                Some(source) if !source.is_ready() => {
                    other_cause = true;
                    why.push(format!(
                        "{names}: its GitRepository {source_name}: {}",
                        describe_ready(&source.ready)
                    ))
                }
                Some(_) => {}
            }
        }
        if policies.is_empty() {
            why.push(format!("no SchedulingPolicy in namespace {environment}"));
        }
        for policy in &policies {
            match &policy.ready {
                Some(c) if c.is_true() => why.push(format!(
                    "SchedulingPolicy {} selected no deployment target (Ready, reason {})",
                    policy.name,
                    c.reason.as_deref().unwrap_or("none")
                )),
                ready => {
                    other_cause = true;
                    why.push(format!(
                        "SchedulingPolicy {}: {}",
                        policy.name,
                        describe_ready(ready)
                    ))
                }
            }
        }
        nothing_selected = !other_cause;
        problems.push(format!("no Assignment: {}", why.join("; ")));
    }
    Ok(Ok(SchedulingState {
        no_workloads: false,
        assignments: assignments
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.cluster_type.clone().unwrap_or_default(),
                    a.deployment_target.clone().unwrap_or_default(),
                )
            })
            .collect(),
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
        nothing_selected,
    }))
}

/// The scheduler's open pull request against what it should carry: a
/// `<cluster type>/<deployment target>/reconciler.yaml` for every Assignment.
fn pull_request_content(
    step: StepId,
    number: u64,
    described: String,
    gitops: &str,
    scheduling: &SchedulingState,
    files: Option<Result<Vec<String>, ToolError>>,
    hints: &mut Vec<Hint>,
) -> Result<(HealthStatus, String), UserError> {
    if scheduling.no_workloads {
        return Ok((
            HealthStatus::Passing,
            format!("{described}; no workload is registered (no WorkloadRegistration), so it carries the cluster types only"),
        ));
    }
    // A later environment whose Ready policies select nothing is proposed its cluster
    // types only, as the scheduler does.
    if scheduling.nothing_selected {
        return Ok((
            HealthStatus::Passing,
            format!(
                "{described}; it carries the cluster types only: {}",
                scheduling.problem.as_deref().unwrap_or_default()
            ),
        ));
    }
    if let Some(problem) = &scheduling.problem {
        // The cause first: a screen that can show only the start of the reason shows why.
        return Ok((
            HealthStatus::Failing,
            format!("{problem}; the pull request: {described}"),
        ));
    }
    let files = match files {
        Some(Ok(files)) => files,
        Some(Err(e)) => {
            return scheduler_query_failure(
                step,
                &format!("read the files of pull request #{number} of {gitops}"),
                &e,
                hints,
                false,
            )
        }
        None => Vec::new(),
    };
    let missing: Vec<String> = scheduling
        .assignments
        .iter()
        .filter(|(_, cluster_type, target)| {
            !files.contains(&format!("{cluster_type}/{target}/reconciler.yaml"))
        })
        .map(|(name, cluster_type, target)| {
            format!(
                "pull request #{number} (with what its branch has) has no folder for assignment {name} (cluster type {cluster_type}, deployment target {target})"
            )
        })
        .collect();
    if missing.is_empty() {
        let scheduled: Vec<String> = scheduling
            .assignments
            .iter()
            .map(|(_, cluster_type, target)| format!("{cluster_type}/{target}"))
            .collect();
        Ok((
            HealthStatus::Passing,
            format!("{described} schedules {}", scheduled.join(", ")),
        ))
    } else {
        Ok((HealthStatus::Failing, missing.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::gh::{Gh, PullRequest, PullRequestAuthor};
    use crate::tools::kubectl::Condition;
    use crate::tools::runner::ProcessRunner;

    const GITOPS: &str = "contoso/platform-gitops";

    fn ready() -> Option<Condition> {
        Some(Condition {
            kind: "Ready".into(),
            status: "True".into(),
            reason: Some("PRCreated".into()),
            message: None,
        })
    }

    fn object(kind: KalypsoKind, name: &str, branch: &str) -> KalypsoObject {
        KalypsoObject {
            kind,
            name: name.into(),
            repo: Some(format!("https://github.com/{GITOPS}")),
            branch: Some(branch.into()),
            workload: None,
            cluster_type: None,
            deployment_target: None,
            ready: ready(),
        }
    }

    fn flux(kind: FluxKind, name: &str) -> FluxObject {
        FluxObject {
            kind,
            name: name.into(),
            namespace: Some(resources::FLUX_NAMESPACE.into()),
            ready: Some(Condition {
                kind: "Ready".into(),
                status: "True".into(),
                reason: Some("Succeeded".into()),
                message: Some("stored".into()),
            }),
            generation: Some(1),
            observed_generation: Some(1),
            last_applied_revision: None,
        }
    }

    fn scheduler_pull(number: u64, environment: &str) -> PullRequest {
        PullRequest {
            number,
            title: format!("Update manifests in {environment}"),
            head_ref_name: format!("deployment/2026-12-07-09-0{number}-00"),
            base_ref_name: environment.into(),
            author: Some(PullRequestAuthor {
                login: "alice".into(),
            }),
            url: format!("https://github.com/{GITOPS}/pull/{number}"),
        }
    }

    /// Three environments whose GitOpsRepos all report PRCreated; `pulls` gives each
    /// environment's open pull requests.
    fn checks_of(pulls: &[(&str, Vec<PullRequest>)]) -> CheckResult {
        checks_with_unselected(pulls, &[])
    }

    /// Like [`checks_of`]; the environments of `unselected` register a workload whose
    /// deployment targets their Ready SchedulingPolicy does not select (no Assignment).
    fn checks_with_unselected(
        pulls: &[(&str, Vec<PullRequest>)],
        unselected: &[&str],
    ) -> CheckResult {
        let environments: Vec<String> = pulls.iter().map(|(e, _)| e.to_string()).collect();
        let target = SchedulerTarget {
            verified_earlier: false,
            environment: environments[0].clone(),
            environments: environments.clone(),
            gitops: GITOPS.into(),
            gh: Gh::new(Arc::new(ProcessRunner::new())),
        };
        let sources: Vec<FluxObject> = environments
            .iter()
            .flat_map(|e| {
                [
                    flux(FluxKind::GitRepository, e),
                    flux(FluxKind::GitRepository, &format!("{e}-main")),
                    flux(FluxKind::GitRepository, &format!("{e}-hello-world-app")),
                ]
            })
            .collect();
        let observed = SchedulerObservations {
            flux_sources: Ok(sources),
            flux_kustomizations: Ok(environments
                .iter()
                .map(|e| flux(FluxKind::Kustomization, e))
                .collect()),
            base_repos: environments
                .iter()
                .map(|e| {
                    (
                        e.clone(),
                        Ok(vec![object(KalypsoKind::BaseRepo, "main", "main")]),
                    )
                })
                .collect(),
            gitops_repos: environments
                .iter()
                .map(|e| (e.clone(), Ok(vec![object(KalypsoKind::GitOpsRepo, e, e)])))
                .collect(),
            pull_requests: pulls
                .iter()
                .map(|(environment, pulls)| PullRequestObservations {
                    environment: environment.to_string(),
                    pulls: Ok(pulls.clone()),
                    registrations: Ok(if unselected.contains(environment) {
                        vec![object(
                            KalypsoKind::WorkloadRegistration,
                            "hello-world-app",
                            "main",
                        )]
                    } else {
                        Vec::new()
                    }),
                    policies: Ok(if unselected.contains(environment) {
                        vec![object(KalypsoKind::SchedulingPolicy, "default-policy", "")]
                    } else {
                        Vec::new()
                    }),
                    assignments: Ok(Vec::new()),
                    pull_files: None,
                })
                .collect(),
        };
        let mut hints = Vec::new();
        scheduler_checks(StepId::HealthChecks, &target, observed, &mut hints)
            .expect("no query failed")
            .into_iter()
            .find(|(check, _, _)| *check == HealthCheck::PullRequest)
            .expect("a pull-request check")
    }

    #[test]
    fn each_environments_pull_request_is_checked() {
        let (_, status, message) = checks_of(&[
            ("dev", vec![scheduler_pull(1, "dev")]),
            ("stage", vec![scheduler_pull(2, "stage")]),
            ("prod", vec![scheduler_pull(3, "prod")]),
        ]);
        assert_eq!(status, HealthStatus::Passing, "{message}");
        for (environment, number) in [("dev", 1), ("stage", 2), ("prod", 3)] {
            assert!(
                message.contains(&format!("{environment}: #{number} ")),
                "{message}"
            );
        }
    }

    #[test]
    fn a_missing_pull_request_of_a_later_environment_fails_the_check_naming_it() {
        let someone_elses = PullRequest {
            head_ref_name: "docs-typo".into(),
            ..scheduler_pull(7, "stage")
        };
        let (_, status, message) = checks_of(&[
            ("dev", vec![scheduler_pull(1, "dev")]),
            ("stage", vec![someone_elses]),
            ("prod", vec![scheduler_pull(3, "prod")]),
        ]);
        assert_eq!(status, HealthStatus::Failing, "{message}");
        assert!(
            message.contains(
                "stage: no open pull request from the scheduler (a deployment/… branch) against stage in contoso/platform-gitops"
            ),
            "{message}"
        );
        assert!(message.contains("dev: #1 "), "{message}");
        assert!(message.contains("prod: #3 "), "{message}");
    }

    #[test]
    fn a_later_environment_whose_policies_select_nothing_is_proposed_its_cluster_types_only() {
        let pulls = [
            ("dev", vec![scheduler_pull(1, "dev")]),
            ("stage", vec![scheduler_pull(2, "stage")]),
        ];
        let (_, status, message) = checks_with_unselected(&pulls, &["stage"]);
        assert_eq!(status, HealthStatus::Passing, "{message}");
        assert!(
            message.contains("stage: #2 ")
                && message.contains("carries the cluster types only")
                && message
                    .contains("SchedulingPolicy default-policy selected no deployment target"),
            "{message}"
        );
        // In the first environment the registered workload is expected to be scheduled.
        let (_, status, message) = checks_with_unselected(&pulls, &["dev"]);
        assert_eq!(status, HealthStatus::Failing, "{message}");
        assert!(
            // The cause first, then the pull request (the dashboard cuts long reasons).
            message.contains("dev: no Assignment: ") && message.contains("the pull request: #1 "),
            "{message}"
        );
    }
}
