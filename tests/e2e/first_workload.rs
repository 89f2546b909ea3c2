//! The first workload delivered (`validation.first-workload`, issue 18 §2, §3): the
//! scheduler's pull request merged (or left under `--no-merge`), each attached cluster's
//! Kustomization Ready at the merged commit, the sample workload's objects there, and a
//! promotion from dev to stage through the simulated GitHub Actions.
//!
//! The attach steps (`workloads.*`) are another part's; until the engine has them, these
//! tests attach the cluster the way the contract says they do (GitRepository and
//! Kustomization `kalypso-gitops-ENV` in flux-system on `./CLUSTER_TYPE`), through the
//! simulated world's kubectl, with a token Secret for the private gitops repository.

use std::sync::Arc;

use crate::support::e2e::*;
use crate::support::sim::kubectl;
use kalypso_bootstrap::config::{Configuration, WorkloadCluster, WorkloadContext};
use kalypso_bootstrap::engine::bootstrap::StepWrapper;
use kalypso_bootstrap::engine::events::{ChainLink, LinkStatus};
use kalypso_bootstrap::engine::{
    BootstrapSteps, EventKind, EventSink, Plan, PlannedStep, StepContext, StepId, StepOutcome,
    StepRunner,
};
use kalypso_bootstrap::tools::{BoxFuture, CommandSpec};
use kalypso_bootstrap::UserError;

/// The namespace the sample's dev target (functional-test) gets on a cluster of type
/// `default`, as the scheduler's default template names it.
const DEV_NAMESPACE: &str = "dev-default-hello-world-app-functional-test";
const STAGE_NAMESPACE: &str = "stage-default-hello-world-app-uat-test";

fn attached(environments: &[&str]) -> Configuration {
    let mut configuration = existing_cluster(all_new());
    configuration.environments =
        kalypso_bootstrap::config::rules::environments(&environments.join(",")).expect("valid");
    configuration.workload_clusters = environments
        .iter()
        .map(|environment| WorkloadCluster {
            context: WorkloadContext::Management,
            cluster_type: "default".into(),
            environment: environment.to_string(),
        })
        .collect();
    configuration
}

/// The real steps, with `workloads.*` done as the contract says (see the module's
/// documentation).
#[derive(Debug)]
struct AttachByContract {
    sim: kalypso_bootstrap::sim::SimulatedEnvironment,
    kubeconfig: String,
    /// Another wrapper around the real steps (the demo's deliberate failure).
    inner: Option<Arc<dyn StepWrapper>>,
}

struct Attaching {
    configuration: Configuration,
    steps: Arc<dyn StepRunner>,
    sim: kalypso_bootstrap::sim::SimulatedEnvironment,
    kubeconfig: String,
}

impl StepWrapper for AttachByContract {
    fn wrap(
        &self,
        steps: Arc<BootstrapSteps>,
        plan: &Plan,
        events: &EventSink,
    ) -> Arc<dyn StepRunner> {
        let configuration = steps.env().configuration.clone();
        let steps: Arc<dyn StepRunner> = match &self.inner {
            Some(inner) => inner.wrap(steps, plan, events),
            None => steps,
        };
        let attaching = Arc::new(Attaching {
            configuration,
            steps,
            sim: self.sim.clone(),
            kubeconfig: self.kubeconfig.clone(),
        });
        SeedAlone.wrap_runner(attaching)
    }
}

/// Runs the control plane's seed with no other step beside it: see [`with_actions`].
#[derive(Debug)]
struct SeedAlone;

struct SeedAloneSteps {
    steps: Arc<dyn StepRunner>,
    /// Held for writing by the control plane's seed, for reading by every other step.
    seed_alone: tokio::sync::RwLock<()>,
}

impl SeedAlone {
    fn wrap_runner(&self, steps: Arc<dyn StepRunner>) -> Arc<dyn StepRunner> {
        Arc::new(SeedAloneSteps {
            steps,
            seed_alone: tokio::sync::RwLock::new(()),
        })
    }
}

impl StepWrapper for SeedAlone {
    fn wrap(
        &self,
        steps: Arc<BootstrapSteps>,
        _plan: &Plan,
        _events: &EventSink,
    ) -> Arc<dyn StepRunner> {
        self.wrap_runner(steps)
    }
}

impl StepRunner for SeedAloneSteps {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            if step.id == StepId::ControlPlaneSeed {
                let _alone = self.seed_alone.write().await;
                return self.steps.run_step(step, ctx).await;
            }
            let _beside_no_seed = self.seed_alone.read().await;
            self.steps.run_step(step, ctx).await
        })
    }
}

impl StepRunner for Attaching {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            match step.id {
                StepId::WorkloadPreflight | StepId::WorkloadFlux => Ok(StepOutcome::succeeded(
                    "attached by the test (management cluster)",
                )),
                StepId::WorkloadSource => {
                    let configuration = &self.configuration;
                    for cluster in &configuration.workload_clusters {
                        let manifest = attach_manifest(&cluster.environment, &cluster.cluster_type);
                        let spec: CommandSpec =
                            kubectl(&self.kubeconfig, EXISTING_CONTEXT, &["apply", "-f", "-"])
                                .stdin_bytes(manifest.into_bytes());
                        let out = kalypso_bootstrap::tools::CommandRunner::run(&self.sim, spec)
                            .await
                            .expect("kubectl runs");
                        assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
                    }
                    Ok(StepOutcome::succeeded("attached by the test"))
                }
                _ => self.steps.run_step(step, ctx).await,
            }
        })
    }
}

/// The contract's objects for `environment`: a token Secret (the test's stand-in for the
/// attach steps' read credential), the GitRepository on the environment branch and the
/// Kustomization on `./CLUSTER_TYPE`.
fn attach_manifest(environment: &str, cluster_type: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kalypso-gitops-{environment}-auth\n  namespace: flux-system\nstringData:\n  username: git\n  password: {CANARY}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: kalypso-gitops-{environment}\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: https://github.com/{ORG}/{GITOPS}\n  ref:\n    branch: {environment}\n  secretRef:\n    name: kalypso-gitops-{environment}-auth\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: kalypso-gitops-{environment}\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  path: ./{cluster_type}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: kalypso-gitops-{environment}\n"
    )
}

/// The real steps of `configuration` (wrapped by `inner`, when given), with the
/// `workloads.*` steps done by contract. The engine's own run: the orchestrator over the
/// plan with the harness's state file (the session's way needs the configuration to
/// survive the flags' round trip, whose `--workload-cluster` is another part's).
async fn run_wrapped(
    harness: &Harness,
    configuration: &Configuration,
    inner: Option<Arc<dyn StepWrapper>>,
) -> Run {
    with_actions(harness);
    let mut env = harness.step_env(configuration);
    // The chain waits for Actions runs (a second each, below) and the scheduler.
    env.timings.first_workload.timeout = Some(std::time::Duration::from_secs(60));
    env.timings.health.timeout = Some(std::time::Duration::from_secs(30));
    let steps = Arc::new(BootstrapSteps::new(env));
    let wrapper = AttachByContract {
        sim: harness.sim.clone(),
        kubeconfig: harness.sim.default_kubeconfig().display().to_string(),
        inner,
    };
    let plan = kalypso_bootstrap::engine::plan(configuration, &Default::default());
    let (events, _unread) = EventSink::channel();
    let runner = wrapper.wrap(steps, &plan, &events);
    harness.run_steps(configuration, runner).await
}

/// GitHub Actions on, each run taking a second. The control plane's seed pushes main and
/// then the environment branches (main first: it becomes the default branch), and cd, run
/// by ci on main, checks out the environment branch: on GitHub, where ci alone takes half a
/// minute, it is there. Here Actions look at the pushes before each simulated command
/// (git is none), and the seed runs alone (no other step's command beside it, see
/// [`SeedAlone`]): ci starts only after the seed has pushed every branch, however slowly
/// a loaded machine runs git.
fn with_actions(harness: &Harness) {
    harness.sim.set_github_actions_enabled(true);
    // GitHub's API answers in 150 ms: the scheduler's pull requests of the environments,
    // each ten calls, then start in different seconds and so on branches of their own
    // (those proposed within one second share one, as the real scheduler's do).
    harness.sim.set_latency(
        kalypso_bootstrap::sim::Latency::zero()
            .with_command("gh api", std::time::Duration::from_millis(150))
            .with_actions_run(std::time::Duration::from_secs(1)),
    );
}

async fn run(harness: &Harness, configuration: &Configuration) -> Run {
    run_wrapped(harness, configuration, None).await
}

/// The chain's events: (environment, link, status).
fn chain(run: &Run) -> Vec<(String, ChainLink, LinkStatus)> {
    run.events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::WorkloadChain {
                environment,
                link,
                status,
                ..
            } => Some((environment.clone(), *link, *status)),
            _ => None,
        })
        .collect()
}

fn finished_message(run: &Run, step: StepId) -> String {
    run.events
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::StepFinished {
                step: s, message, ..
            } if *s == step => Some(message.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{step} did not finish"))
}

fn next_steps(run: &Run) -> Vec<String> {
    run.events
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::RunFinished { summary, .. } => Some(summary.next_steps.clone()),
            _ => None,
        })
        .expect("the run finished")
}

async fn pods(harness: &Harness, namespace: &str) -> Vec<String> {
    let kubeconfig = harness.sim.default_kubeconfig().display().to_string();
    let spec = kubectl(
        &kubeconfig,
        EXISTING_CONTEXT,
        &["get", "pods", "-n", namespace, "-o", "json"],
    );
    let out = kalypso_bootstrap::tools::CommandRunner::run(&harness.sim, spec)
        .await
        .expect("kubectl runs");
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pod| {
            pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn pull_states(harness: &Harness, environment: &str) -> Vec<(u64, String, Vec<String>)> {
    let snapshot = harness.sim.snapshot();
    let repo = &snapshot.github.repos[&format!("{ORG}/{GITOPS}")];
    repo.pulls
        .iter()
        .filter(|pull| pull.base == environment && pull.head.starts_with("deployment/"))
        .map(|pull| (pull.number, pull.state.clone(), pull.labels.clone()))
        .collect()
}

#[tokio::test]
async fn one_attached_cluster_gets_the_merged_workload_and_the_summary_ends_with_its_pods() {
    let harness = Harness::new();
    let configuration = attached(&["dev"]);
    let run = run(&harness, &configuration).await;
    run.assert_success();
    let links: Vec<(ChainLink, LinkStatus)> = chain(&run)
        .into_iter()
        .filter(|(_, _, status)| *status != LinkStatus::Waiting)
        .map(|(_, link, status)| (link, status))
        .collect();
    assert_eq!(
        links,
        [
            (ChainLink::PullRequest, LinkStatus::Done),
            (ChainLink::Merged, LinkStatus::Done),
            (ChainLink::Reconciled, LinkStatus::Done),
            (ChainLink::Running, LinkStatus::Done),
        ]
    );
    let merged: Vec<_> = pull_states(&harness, "dev")
        .into_iter()
        .filter(|(_, state, _)| state == "MERGED")
        .collect();
    assert_eq!(merged.len(), 1, "{:?}", pull_states(&harness, "dev"));
    assert!(
        !pods(&harness, DEV_NAMESPACE).await.is_empty(),
        "the sample's pods run"
    );
    let message = finished_message(&run, StepId::FirstWorkload);
    assert!(
        message.contains(&format!("dev: pull request #{} merged as", merged[0].0))
            && message.contains(&format!("{EXISTING_CONTEXT} runs {DEV_NAMESPACE}")),
        "{message}"
    );
    let next = next_steps(&run);
    assert_eq!(
        next.last().map(String::as_str),
        Some(format!("kubectl --context {EXISTING_CONTEXT} get pods -n {DEV_NAMESPACE}").as_str()),
        "{next:#?}"
    );
}

#[tokio::test]
async fn no_merge_leaves_the_pull_request_open_and_says_how_to_merge_it() {
    let harness = Harness::new();
    let mut configuration = attached(&["dev"]);
    configuration.options.no_merge = true;
    let run = run(&harness, &configuration).await;
    run.assert_success();
    let open: Vec<_> = pull_states(&harness, "dev")
        .into_iter()
        .filter(|(_, state, _)| state == "OPEN")
        .collect();
    assert_eq!(open.len(), 1, "the pull request is left open");
    assert!(pull_states(&harness, "dev")
        .iter()
        .all(|(_, state, _)| state != "MERGED"));
    let message = finished_message(&run, StepId::FirstWorkload);
    let number = open[0].0;
    assert!(
        message.contains(&format!("pull request #{number} (")),
        "{message}"
    );
    let command = message
        .split("merge it with: ")
        .nth(1)
        .and_then(|rest| rest.split("; ").next())
        .expect("the merge command")
        .to_string();
    assert!(
        command.starts_with(&format!(
            "gh pr merge {number} --repo {ORG}/{GITOPS} --merge --match-head-commit "
        )),
        "{command}"
    );
    assert!(next_steps(&run).iter().any(|step| step.contains(&command)));
    assert!(chain(&run).contains(&("dev".to_string(), ChainLink::Merged, LinkStatus::Left)));

    // The command works when copied: run as printed (the user's gh has their token).
    // (Its words need no quoting: a number, a slug, a commit.)
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "gh");
    let spec = crate::support::sim::gh(CANARY, &words[1..]);
    let out = kalypso_bootstrap::tools::CommandRunner::run(&harness.sim, spec)
        .await
        .expect("gh runs");
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    assert!(pull_states(&harness, "dev")
        .iter()
        .any(|(n, state, _)| *n == number && state == "MERGED"));
}

#[tokio::test]
async fn two_environments_reach_dev_then_stage_through_the_promotion() {
    let harness = Harness::new();
    let configuration = attached(&["dev", "stage"]);
    let run = run(&harness, &configuration).await;
    run.assert_success();
    // The upstream sample has no uat-test folder on its stage branch: the workload's own
    // Kustomization fails there, a warning naming it (the workload repository's problem).
    let reached: Vec<(String, LinkStatus)> = chain(&run)
        .into_iter()
        .filter(|(_, link, status)| *link == ChainLink::Running && *status != LinkStatus::Waiting)
        .map(|(environment, _, status)| (environment, status))
        .collect();
    assert_eq!(
        reached,
        [
            ("dev".to_string(), LinkStatus::Done),
            ("stage".to_string(), LinkStatus::Warning)
        ],
        "dev first, then stage"
    );
    let warned = run
        .events
        .iter()
        .any(|event| matches!(&event.kind, EventKind::WorkloadChain { environment, status: LinkStatus::Warning, message, .. }
            if environment == "stage" && message.contains(&format!("the workload's own Kustomization flux-system/{STAGE_NAMESPACE} fails"))));
    assert!(warned);
    // Each environment's merged pull request is a promotion; stage's carries what dev's did.
    for environment in ["dev", "stage"] {
        let merged: Vec<_> = pull_states(&harness, environment)
            .into_iter()
            .filter(|(_, state, _)| state == "MERGED")
            .collect();
        assert_eq!(merged.len(), 1, "{environment}: {merged:?}");
        assert!(
            merged[0].2.iter().any(|label| label == "promoted"),
            "{environment}: {merged:?}"
        );
    }
    let runs: Vec<String> = harness
        .sim
        .workflow_runs(ORG, CONTROL_PLANE)
        .iter()
        .filter(|run| run.path.ends_with("cd.yaml"))
        .filter_map(|run| run.inputs.get("environment").cloned())
        .collect();
    assert!(
        runs.iter().any(|e| e == "stage"),
        "cd ran for stage: {runs:?}"
    );
    assert!(!pods(&harness, DEV_NAMESPACE).await.is_empty());
    let message = finished_message(&run, StepId::FirstWorkload);
    assert!(
        message.contains("stage: pull request #")
            && message.contains(&format!(
                "{EXISTING_CONTEXT} runs {STAGE_NAMESPACE} (warning: "
            )),
        "{message}"
    );
    let next = next_steps(&run);
    let promote = next
        .iter()
        .find(|step| step.starts_with("gh workflow run cd.yaml"))
        .unwrap_or_else(|| panic!("{next:#?}"));
    assert!(
        promote.starts_with(&format!("gh workflow run cd.yaml --repo {ORG}/{CONTROL_PLANE} --ref main -f environment=stage -f promoted_commit_id=")),
        "{promote}"
    );
    assert!(next.iter().any(|step| step
        .contains("labelled promoted in dev runs the gitops repository's check-promote.yaml")));
}

/// A run through the session every front end runs (the real attach steps, the
/// harness's state file, which a re-run resumes from), with the chain's bounds of
/// [`run_wrapped`]. GitHub Actions stay off: with them, the control plane's cd.yaml pins
/// the environment after the merge and the scheduler proposes that as a new pull request
/// (labelled `promoted`), which a re-run rightly takes first.
async fn run_session(harness: &Harness, configuration: &Configuration) -> Run {
    let mut options = harness.options();
    options.timings.first_workload.timeout = Some(std::time::Duration::from_secs(60));
    options.timings.health.timeout = Some(std::time::Duration::from_secs(30));
    options.step_wrapper = Some(Arc::new(SeedAlone));
    let session = harness.session(configuration, Arc::new(harness.sim.clone()), options);
    harness.run_with(session).await
}

/// The gitops repository's `gh pr merge` calls so far.
fn merge_calls(harness: &Harness) -> usize {
    harness
        .sim
        .calls()
        .iter()
        .filter(|call| {
            call.program == "gh" && call.words.starts_with(&["pr".into(), "merge".into()])
        })
        .count()
}

/// A run that fails after the merge (the cluster's Kustomization cannot be read once)
/// leaves the scheduler nothing new to propose: the re-run takes the pull request merged
/// before as the merged link, waits for no new one, merges nothing, and completes at the
/// clusters. (Before, it waited for a new pull request until the step's bound.)
#[tokio::test]
async fn a_rerun_after_a_failure_past_the_merge_resumes_at_the_clusters_without_merging_again() {
    let harness = Harness::new();
    let configuration = attached(&["dev"]);
    fail_once_reading_the_dev_kustomization(&harness);
    let failed = run_session(&harness, &configuration).await;
    let (step, error) = failed.failure();
    assert_eq!(step, Some(StepId::FirstWorkload), "{error:?}");
    assert!(
        error
            .message
            .contains("read Kustomization kalypso-gitops-dev"),
        "{}",
        error.message
    );
    assert!(chain(&failed).contains(&("dev".to_string(), ChainLink::Merged, LinkStatus::Done)));
    let after_first = pull_states(&harness, "dev");
    let merged: Vec<u64> = after_first
        .iter()
        .filter(|(_, state, _)| state == "MERGED")
        .map(|(number, _, _)| *number)
        .collect();
    assert_eq!(merged.len(), 1, "{after_first:?}");
    let merges_before = merge_calls(&harness);
    assert_eq!(merges_before, 1, "the first run merged once");

    harness.sim.clear_faults();
    let resumed = run_session(&harness, &configuration).await;
    resumed.assert_success();
    assert_eq!(
        pull_states(&harness, "dev"),
        after_first,
        "no new pull request, nothing else merged"
    );
    assert_eq!(
        merge_calls(&harness),
        merges_before,
        "the re-run merges nothing"
    );
    let links: Vec<(ChainLink, LinkStatus)> = chain(&resumed)
        .into_iter()
        .filter(|(_, _, status)| *status != LinkStatus::Waiting)
        .map(|(_, link, status)| (link, status))
        .collect();
    assert_eq!(
        links,
        [
            (ChainLink::PullRequest, LinkStatus::Done),
            (ChainLink::Merged, LinkStatus::Done),
            (ChainLink::Reconciled, LinkStatus::Done),
            (ChainLink::Running, LinkStatus::Done),
        ]
    );
    let message = finished_message(&resumed, StepId::FirstWorkload);
    assert!(
        message.contains(&format!("dev: pull request #{} merged as", merged[0]))
            && message.contains(&format!("{EXISTING_CONTEXT} runs {DEV_NAMESPACE}")),
        "{message}"
    );
    assert!(!pods(&harness, DEV_NAMESPACE).await.is_empty());
}

#[tokio::test]
async fn a_failure_at_the_first_workload_is_rolled_back_to_the_world_before() {
    let harness = Harness::new();
    let configuration = attached(&["dev"]);
    with_actions(&harness);
    // Actions look at every repository before the next command: once, before the world
    // is taken as it was.
    let _ = kalypso_bootstrap::tools::CommandRunner::run(
        &harness.sim,
        crate::support::sim::gh(CANARY, &["api", "user"]),
    )
    .await;
    let before = harness.settled();
    let fail = kalypso_bootstrap::demo::fail_step(harness.sim.clone(), StepId::FirstWorkload);
    let run = run_wrapped(&harness, &configuration, Some(fail)).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::FirstWorkload), "{error:?}");
    assert!(
        error
            .message
            .contains("merge the scheduler's pull request #"),
        "a real fault of the merge: {}",
        error.message
    );
    assert!(chain(&run).contains(&("dev".to_string(), ChainLink::Merged, LinkStatus::Failed)));
    assert!(pull_states(&harness, "dev")
        .iter()
        .all(|(_, state, _)| state != "MERGED"));

    let report = harness.rollback(&configuration).await;
    assert!(
        report.is_complete(),
        "left {:?}, kept {:?}",
        report.leftovers,
        report.kept
    );
    crate::support::sim::assert_same_state(&before, &harness.settled());
}

/// Under `--no-merge` nothing is merged: the demo's failure of the step is the scheduler's
/// pull requests refused to the listing, a real fault the step reports.
#[tokio::test]
async fn with_no_merge_the_steps_deliberate_failure_is_the_listing() {
    let harness = Harness::new();
    let mut configuration = attached(&["dev"]);
    configuration.options.no_merge = true;
    let fail = kalypso_bootstrap::demo::fail_step(harness.sim.clone(), StepId::FirstWorkload);
    let run = run_wrapped(&harness, &configuration, Some(fail)).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::FirstWorkload), "{error:?}");
    assert!(
        error
            .message
            .contains("list the pull requests against dev of acme/kalypso-gitops"),
        "{}",
        error.message
    );
}

/// Merging the scheduler's pull request is a change on the user's account: nobody to ask
/// and no `--yes` refuses the plan before anything is created (naming `--yes` and
/// `--no-merge`); `--no-merge` needs no consent.
#[tokio::test]
async fn without_consent_the_merge_is_refused_before_anything_is_created_unless_no_merge() {
    let harness = Harness::new();
    let mut configuration = attached(&["dev"]);
    configuration.options.non_interactive = true;
    let before = harness.settled();
    let session = harness.session(
        &configuration,
        Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let (warnings, _unread) = EventSink::channel();
    let plan = session
        .plan(
            &kalypso_bootstrap::tools::CancellationToken::new(),
            &warnings,
        )
        .await
        .expect("the plan may be shown");
    let step = plan.step(StepId::FirstWorkload).expect("planned");
    assert!(
        step.info()
            .consequences
            .iter()
            .any(|c| c.contains("merged on your account (gh pr merge)")),
        "{:?}",
        step.info().consequences
    );
    let error = session
        .refuse_unconsented_changes(&plan)
        .expect_err("no consent");
    assert_eq!(error.exit_code.code(), 5);
    assert!(
        error.message.starts_with("this run would merge a pull request of the scheduler on your account, which needs your consent"),
        "{}",
        error.message
    );
    let hint = error.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("--yes") && hint.contains("--no-merge"),
        "{hint}"
    );
    drop(session);
    assert_eq!(harness.settled(), before, "nothing changed");

    configuration.options.no_merge = true;
    let session = harness.session(
        &configuration,
        Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let plan = session
        .plan(
            &kalypso_bootstrap::tools::CancellationToken::new(),
            &warnings,
        )
        .await
        .expect("the plan");
    assert!(session.refuse_unconsented_changes(&plan).is_ok());
}

/// With GitHub Actions on, the merge makes cd.yaml run again (the gitops check-promote hands
/// the promotion back) and the scheduler's next pull request changes only what differs from
/// the merged branch: a re-run's health checks take the folders the branch already has, so
/// the run resumes at the clusters. (Before, the pull-request check read only the files
/// the new pull request changed and failed for every folder merged before.)
#[tokio::test]
async fn a_rerun_after_the_merge_with_actions_on_passes_the_health_checks_on_what_the_branch_has() {
    let harness = Harness::new();
    with_actions(&harness);
    let configuration = attached(&["dev"]);
    fail_once_reading_the_dev_kustomization(&harness);
    let failed = run_session(&harness, &configuration).await;
    let (step, error) = failed.failure();
    assert_eq!(step, Some(StepId::FirstWorkload), "{error:?}");
    assert!(chain(&failed).contains(&("dev".to_string(), ChainLink::Merged, LinkStatus::Done)));
    harness.sim.clear_faults();
    let resumed = run_session(&harness, &configuration).await;
    resumed.assert_success();
    assert!(!pods(&harness, DEV_NAMESPACE).await.is_empty());
}

/// The workload cluster refuses, once, the read of its Kustomization `kalypso-gitops-dev`:
/// a run fails after the merge.
fn fail_once_reading_the_dev_kustomization(harness: &Harness) {
    harness.sim.inject(
        kalypso_bootstrap::sim::Fault::new(
            kalypso_bootstrap::sim::FaultKind::Forbidden,
            &format!(
                "kubectl get {}",
                kalypso_bootstrap::tools::kubectl::FLUX_KUSTOMIZATION_CRD
            ),
        )
        .with_arg("kalypso-gitops-dev")
        .nth(1),
    );
}
