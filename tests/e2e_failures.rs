//! Failures end to end: a failure injected at every step (the way `KALYPSO_DEMO_FAIL`
//! does it: the step's own command meets a realistic error), then rollback restores the
//! simulated world exactly; or a re-run resumes and completes.

mod e2e_support;

use std::sync::Arc;

use e2e_support::*;
use kalypso_bootstrap::engine::{
    plan, Action, BootstrapSteps, EventSink, Observed, Orchestrator, PlannedStep, RunEnd,
    StateHandle, StepContext, StepEnv, StepError, StepId, StepOutcome, StepRunner, StepTimings,
};
use kalypso_bootstrap::sim::{CallOutcome, SimSnapshot};
use kalypso_bootstrap::state::{BootstrapState, RunStatus, StateStore, Timestamp};
use kalypso_bootstrap::templates::RepoKind;
use kalypso_bootstrap::tools::{BoxFuture, CancelToken};
use kalypso_bootstrap::ExitCode;
use secrecy::SecretString;

fn assert_same(before: &SimSnapshot, after: &SimSnapshot, what: &str) {
    if before == after {
        return;
    }
    let a = serde_json::to_value(before).unwrap();
    let b = serde_json::to_value(after).unwrap();
    let mut differences = Vec::new();
    diff("", &a, &b, &mut differences);
    panic!("{what}: the world differs from before the run at {differences:#?}");
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                diff(
                    &format!("{path}/{key}"),
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}

fn expected_exit(step: StepId) -> ExitCode {
    match step.phase() {
        kalypso_bootstrap::state::Phase::Cluster => ExitCode::ClusterFailed,
        kalypso_bootstrap::state::Phase::Repositories => ExitCode::RepositoryFailed,
        _ => ExitCode::InstallationFailed,
    }
}

/// The configurations and the steps that run in them (skipped steps cannot fail).
fn cases() -> Vec<(
    &'static str,
    kalypso_bootstrap::config::Configuration,
    Vec<StepId>,
)> {
    let existing = StepId::ALL
        .into_iter()
        .filter(|id| {
            !matches!(
                id,
                StepId::ClusterPreflight
                    | StepId::ClusterResourceGroup
                    | StepId::ClusterCreate
                    | StepId::ClusterCredentials
            )
        })
        .collect();
    vec![
        ("all new", all_new(), StepId::ALL.to_vec()),
        ("existing cluster", existing_cluster(all_new()), existing),
    ]
}

fn assert_failed_at(run: &Run, step: StepId) {
    match &run.outcome.end {
        RunEnd::Failed {
            step: Some(failed),
            error,
            ..
        } => {
            assert_eq!(*failed, step, "failed elsewhere: {}", error.message);
            assert!(
                error.hint.is_some(),
                "{step}: a failure says what to do: {error:?}"
            );
            assert!(!error.message.contains(CANARY));
        }
        other => panic!("{step}: expected a failure, got {other:?}"),
    }
    assert_eq!(run.outcome.exit_code, expected_exit(step), "{step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_step_of_an_all_new_run_then_rollback_leaves_the_world_as_it_was() {
    fail_then_roll_back(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_step_on_an_existing_cluster_then_rollback_leaves_it_as_it_was() {
    fail_then_roll_back(1).await;
}

async fn fail_then_roll_back(case: usize) {
    {
        let (name, config, steps) = cases().swap_remove(case);
        for step in steps {
            let harness = Harness::new();
            let before = harness.settled();
            let run = harness.run_failing(&config, step).await;
            assert_failed_at(&run, step);

            let report = harness.rollback(&config).await;
            assert!(
                report.is_complete(),
                "{name}, {step}: {:?}",
                report.leftovers
            );
            // Undo the sabotage of the pre-flight (a quota used up).
            harness.sim.set_quota(REGION, "cores", 100, 0);
            assert_same(
                &before,
                &harness.settled(),
                &format!("{name}, failure at {step}, rolled back"),
            );
            let state = StateStore::at_custom(harness.paths().state_file)
                .load()
                .unwrap()
                .unwrap();
            assert_eq!(state.status, RunStatus::RolledBack, "{name}, {step}");
            assert_no_canary(&harness.sim.calls());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_a_failure_of_an_all_new_run_resumes_and_completes() {
    fail_then_resume(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_a_failure_on_an_existing_cluster_resumes_and_completes() {
    fail_then_resume(1).await;
}

async fn fail_then_resume(case: usize) {
    {
        let (name, config, steps) = cases().swap_remove(case);
        for step in steps {
            let harness = Harness::new();
            let before = harness.settled();
            let failed = harness.run_failing(&config, step).await;
            assert_failed_at(&failed, step);
            // The cause goes away (a permission granted, a quota raised, a rate limit lifted).
            harness.sim.clear_faults();
            harness.sim.set_quota(REGION, "cores", 100, 0);

            let resumed = harness.run(&config).await;
            resumed.assert_success();
            // The failed step runs again (for an existing cluster, readiness is a check).
            let expected = if step == StepId::ClusterReady && name == "existing cluster" {
                Action::Reuse
            } else {
                Action::Create
            };
            assert_eq!(
                resumed.plan.action(step),
                Some(expected),
                "{name}: {step} is done again"
            );
            let calls = harness.sim.calls();
            let count = |program: &str, words: &[&str]| {
                calls
                    .iter()
                    .filter(|c| c.outcome == CallOutcome::Exited(0))
                    .filter(|c| {
                        c.program == program
                            && c.args
                                .iter()
                                .take(words.len())
                                .map(String::as_str)
                                .eq(words.iter().copied())
                    })
                    .count()
            };
            assert!(
                count("gh", &["repo", "create"]) <= 2,
                "{name}, {step}: a repository was created twice: {:#?}",
                calls
                    .iter()
                    .filter(|c| c.program == "gh")
                    .map(|c| (c.command_line(), c.outcome.clone()))
                    .collect::<Vec<_>>()
            );
            // At most once each (a creation cancelled after it took effect is reused).
            assert!(
                count("az", &["aks", "create"]) <= 1,
                "{name}, {step}: the cluster was created twice"
            );
            assert!(
                count("helm", &["upgrade", "--install"]) <= 1,
                "{name}, {step}: installed twice"
            );
            assert_pushed_exactly(
                &harness,
                &config,
                RepoKind::ControlPlane,
                ORG,
                CONTROL_PLANE,
            );
            assert_pushed_exactly(&harness, &config, RepoKind::Gitops, ORG, GITOPS);
            assert_no_canary(&calls);

            // And what the two runs made together is still removed completely.
            let report = harness.rollback(&config).await;
            assert!(
                report.is_complete(),
                "{name}, {step}: {:?}",
                report.leftovers
            );
            assert_same(
                &before,
                &harness.settled(),
                &format!("{name}, resumed after {step}, rolled back"),
            );
        }
    }
}

/// Rejects pushes of `dev`, as a repository rule would.
const REJECT_DEV: &str = "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/heads/dev ]; then\n    echo \"error: GH013: Repository rule violations found for refs/heads/dev.\" >&2\n    exit 1\n  fi\ndone\nexit 0\n";

/// Installs the rejecting hook into the control-plane repository just before its seed.
struct RejectDevPush {
    steps: Arc<BootstrapSteps>,
    hook: std::path::PathBuf,
}

impl StepRunner for RejectDevPush {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, StepError>> {
        Box::pin(async move {
            if step.id == StepId::ControlPlaneSeed {
                use std::os::unix::fs::PermissionsExt;
                std::fs::create_dir_all(self.hook.parent().unwrap()).unwrap();
                std::fs::write(&self.hook, REJECT_DEV).unwrap();
                std::fs::set_permissions(&self.hook, std::fs::Permissions::from_mode(0o755))
                    .unwrap();
            }
            self.steps.run_step(step, ctx).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_stopped_between_main_and_dev_resumes_with_dev_only() {
    let harness = Harness::new();
    let config = all_new();
    let paths = harness.paths();
    std::fs::create_dir_all(&paths.work_dir).unwrap();
    let mut env = StepEnv::new(
        config.clone(),
        Arc::new(harness.sim.clone()),
        Some(SecretString::from(CANARY)),
        paths.kubeconfig.clone(),
        paths.work_dir.clone(),
    );
    env.subscription = Some(SUBSCRIPTION.to_string());
    env.timings = StepTimings::fast();
    let bare = harness.bare(ORG, CONTROL_PLANE);
    let runner = RejectDevPush {
        steps: Arc::new(BootstrapSteps::new(env)),
        hook: bare.join("hooks").join("pre-receive"),
    };
    let state = StateHandle::new(
        BootstrapState::new(Timestamp::now()),
        StateStore::at_custom(&paths.state_file),
    );
    let (events, _receiver) = EventSink::channel();
    let outcome = Orchestrator::new(Arc::new(runner), state, events)
        .run(&plan(&config, &Observed::default()), &CancelToken::new())
        .await;
    let RunEnd::Failed { step, error, .. } = &outcome.end else {
        panic!("{:?}", outcome.end);
    };
    assert_eq!(*step, Some(StepId::ControlPlaneSeed));
    assert!(error.message.contains("GH013"), "{}", error.message);
    // main went out, dev did not.
    assert_eq!(branches(&bare), vec!["main".to_string()]);
    let main_head = git(&bare, &["rev-parse", "main"]);

    std::fs::remove_file(bare.join("hooks").join("pre-receive")).unwrap();
    let resumed = harness.run(&config).await;
    resumed.assert_success();
    assert_eq!(
        resumed.plan.action(StepId::ControlPlaneRepo),
        Some(Action::Reuse)
    );
    assert_eq!(
        resumed.plan.action(StepId::ControlPlaneSeed),
        Some(Action::Create)
    );
    assert_eq!(
        git(&bare, &["rev-parse", "main"]),
        main_head,
        "main is not pushed again"
    );
    assert_pushed_exactly(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        CONTROL_PLANE,
    );
    let seed = resumed.outcome.step(StepId::ControlPlaneSeed).unwrap();
    let message = seed.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("pushed dev") && !message.contains("main"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_is_not_ours_is_a_configuration_error_and_is_never_touched() {
    let harness = Harness::new();
    seed_foreign_cluster(&harness);
    let before = harness.settled();
    let run = harness.run(&all_new()).await;
    assert_eq!(run.outcome.exit_code, ExitCode::ConfigInvalid);
    let RunEnd::Failed { error, .. } = &run.outcome.end else {
        panic!("{:?}", run.outcome.end);
    };
    assert!(
        error
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("--cluster-existing"),
        "{error:?}"
    );
    // Nothing ran: only the read-only observation.
    assert!(harness.sim.calls().iter().all(|c| !is_mutating(c)));
    let report = harness.rollback(&all_new()).await;
    assert!(report.removals.is_empty(), "{:?}", report.removals);
    assert_same(&before, &harness.settled(), "foreign cluster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_the_token_cannot_use_is_an_error_not_a_fallback() {
    let harness = Harness::new();
    harness.sim.seed_github_org("other-org", &[]);
    let mut config = all_new();
    config.repositories.github_org = Some("other-org".into());
    config.cluster = existing_cluster(config.clone()).cluster;
    let run = harness.run(&config).await;
    let RunEnd::Failed { step, error, .. } = &run.outcome.end else {
        panic!("{:?}", run.outcome.end);
    };
    assert!(
        matches!(step, Some(StepId::ControlPlaneRepo | StepId::GitopsRepo)),
        "{step:?}"
    );
    assert!(
        error
            .message
            .contains("not a member of organization other-org"),
        "{}",
        error.message
    );
    let repos = harness.sim.snapshot().github.repos;
    assert!(
        repos.keys().all(|k| !k.starts_with("alice/")),
        "no silent fallback to the user: {:?}",
        repos.keys()
    );
    assert_eq!(run.outcome.exit_code, ExitCode::RepositoryFailed);
}
