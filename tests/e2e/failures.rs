//! Failures end to end: a failure injected at every step (the way `KALYPSO_DEMO_FAIL`
//! does it: the step's own command meets a realistic error), then rollback restores the
//! simulated world exactly; or a re-run resumes and completes.

use std::sync::Arc;

use crate::support::e2e::*;
use kalypso_bootstrap::engine::{Action, RunEnd, StepId};
use kalypso_bootstrap::sim::{CallOutcome, Fault, FaultKind, SeedRepo, SimSnapshot};
use kalypso_bootstrap::state::{RunStatus, StateStore};
use kalypso_bootstrap::templates::RepoKind;
use kalypso_bootstrap::ExitCode;

pub(crate) fn assert_same(before: &SimSnapshot, after: &SimSnapshot, what: &str) {
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
    // No workload cluster is attached here: the plans have no workload steps.
    let existing = StepId::WITHOUT_WORKLOAD_CLUSTERS
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
        (
            "all new",
            all_new(),
            StepId::WITHOUT_WORKLOAD_CLUSTERS.to_vec(),
        ),
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
            seed_bystanders(&harness);
            let before = harness.settled();
            let run = harness.run_failing(&config, step).await;
            assert_failed_at(&run, step);

            let report = harness.rollback(&config).await;
            assert!(
                report.is_complete(),
                "{name}, {step}: left {:?}, kept {:?}",
                report.leftovers,
                report.kept
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
            // A failure before anything was created leaves nothing to remove: the pipeline
            // then asks nothing and leaves the failed run's state as it is.
            let expected = if report.removals.is_empty() {
                RunStatus::Failed
            } else {
                RunStatus::RolledBack
            };
            assert_eq!(state.status, expected, "{name}, {step}");
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
                "{name}, {step}: left {:?}, kept {:?}",
                report.leftovers,
                report.kept
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

/// Steps whose control-plane seed meets a repository rule rejecting `dev` (a hook
/// installed into the bare repository just before the seed): `main` goes out, `dev` not.
fn rejecting_dev_push(
    harness: &Harness,
    config: &kalypso_bootstrap::config::Configuration,
) -> BeforeStep {
    let hook = harness
        .bare(ORG, CONTROL_PLANE)
        .join("hooks")
        .join("pre-receive");
    BeforeStep::new(
        harness.step_env(config),
        StepId::ControlPlaneSeed,
        move || {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
            std::fs::write(&hook, REJECT_DEV).unwrap();
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_stopped_between_main_and_dev_resumes_with_dev_only() {
    let harness = Harness::new();
    let config = all_new();
    let bare = harness.bare(ORG, CONTROL_PLANE);
    let run = harness
        .run_steps(&config, Arc::new(rejecting_dev_push(&harness, &config)))
        .await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::ControlPlaneSeed));
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
    // The session refuses the plan before anything is asked or run.
    let error = harness.refused(&all_new()).await;
    assert_eq!(error.exit_code, ExitCode::ConfigInvalid);
    assert!(
        error
            .hint_text()
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

/// Resources of others that a run and its rollback must leave alone: a resource group, a
/// namespace on the existing cluster, and a repository in the organisation.
fn seed_bystanders(harness: &Harness) {
    harness.sim.seed_resource_group("team-rg", REGION);
    harness
        .sim
        .seed_kube_object(
            EXISTING_SERVER,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "team-a", "labels": {"team": "a"}},
            }),
        )
        .expect("seeded namespace");
    harness
        .sim
        .seed_repo(SeedRepo::new(ORG, "team-service").with_file(
            "main",
            "README.md",
            "# team service\n",
        ))
        .expect("seeded repository");
}

/// Whether a call of `program` whose command words start with `words` succeeded.
fn succeeded(harness: &Harness, program: &str, words: &[&str], arg: &str) -> bool {
    harness.sim.calls().iter().any(|c| {
        c.program == program
            && c.outcome == CallOutcome::Exited(0)
            && c.words
                .iter()
                .map(String::as_str)
                .take(words.len())
                .eq(words.iter().copied())
            && c.args.iter().any(|a| a == arg)
    })
}

/// Run `config` with `fault` injected; it must fail in one of `steps` after `mutated`
/// (program, leading words, an argument) took effect; then the rollback restores the
/// world exactly, bystanders included.
async fn fail_part_way_then_roll_back(
    harness: &Harness,
    config: &kalypso_bootstrap::config::Configuration,
    fault: Fault,
    steps: &[StepId],
    mutated: (&str, &[&str], &str),
) -> Run {
    let before = harness.settled();
    harness.sim.inject(fault);
    let run = harness.run(config).await;
    let (step, error) = run.failure();
    assert!(
        step.is_some_and(|s| steps.contains(&s)),
        "failed at {step:?}: {}",
        error.message
    );
    assert_failed_at(&run, step.unwrap());
    let (program, words, arg) = mutated;
    assert!(
        succeeded(harness, program, words, arg),
        "the step failed part-way, after `{program} {} … {arg}` took effect",
        words.join(" ")
    );
    harness.sim.clear_faults();
    let report = harness.rollback(config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_same(&before, &harness.settled(), "failed part-way, rolled back");
    assert_eq!(harness.state().status, RunStatus::RolledBack);
    assert_no_canary(&harness.sim.calls());
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_applied_then_its_wait_failing_is_rolled_back_to_the_world_before() {
    let harness = Harness::new();
    seed_bystanders(&harness);
    let config = existing_cluster(all_new());
    let wait_fails = Fault::new(
        FaultKind::Failure {
            exit_code: 1,
            stderr: "error: timed out waiting for the condition on deployments/source-controller"
                .into(),
        },
        "kubectl wait",
    );
    let run = fail_part_way_then_roll_back(
        &harness,
        &config,
        wait_fails,
        &[StepId::InstallFlux],
        ("kubectl", &["apply"], "--server-side"),
    )
    .await;
    let (_, error) = run.failure();
    assert!(
        error.message.contains("timed out waiting"),
        "{}",
        error.message
    );
    // The rollback removed the Flux this run applied, by its manifest.
    assert!(succeeded(&harness, "kubectl", &["delete"], "-f"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_pushed_then_the_dev_push_failing_is_rolled_back_to_the_world_before() {
    let harness = Harness::new();
    seed_bystanders(&harness);
    let config = existing_cluster(all_new());
    let dev_rejected = Fault::new(
        FaultKind::Failure {
            exit_code: 1,
            stderr: "remote: error: GH013: Repository rule violations found for refs/heads/dev.\nerror: failed to push some refs".into(),
        },
        "git push",
    )
    .with_arg("dev");
    let run = fail_part_way_then_roll_back(
        &harness,
        &config,
        dev_rejected,
        &[StepId::ControlPlaneSeed, StepId::GitopsSeed],
        ("git", &["push"], "main"),
    )
    .await;
    assert!(run.failure().1.message.contains("GH013"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_workload_applied_then_its_delete_failing_is_rolled_back_to_the_world_before() {
    let harness = Harness::new();
    seed_bystanders(&harness);
    // The installation's namespace exists already: it is used, and outlives the rollback.
    harness
        .sim
        .seed_kube_object(
            EXISTING_SERVER,
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        )
        .expect("seeded namespace");
    let config = existing_cluster(all_new());
    let delete_refused = Fault::new(
        FaultKind::Forbidden,
        "kubectl delete workloads.scheduler.kalypso.io",
    );
    let run = fail_part_way_then_roll_back(
        &harness,
        &config,
        delete_refused,
        &[StepId::HealthChecks],
        ("kubectl", &["apply"], "-"),
    )
    .await;
    assert!(
        run.failure().1.message.contains("delete the test Workload"),
        "{}",
        run.failure().1.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_of_someone_else_stops_the_run_asking_to_pass_it_as_existing() {
    let harness = Harness::new();
    harness
        .sim
        .seed_repo(SeedRepo::new(ORG, GITOPS).with_file("main", "README.md", "theirs\n"))
        .expect("seeded repository");
    let before = harness.settled();
    let config = existing_cluster(all_new());
    // The session refuses the plan before anything is asked or run.
    let error = harness.refused(&config).await;
    assert_eq!(error.exit_code, ExitCode::RepositoryFailed);
    assert!(
        error.message.contains(&format!("{ORG}/{GITOPS}"))
            && error.message.contains("did not create it"),
        "{}",
        error.message
    );
    assert!(
        error
            .hint_text()
            .unwrap_or_default()
            .contains(&format!("--gitops-repo https://github.com/{ORG}/{GITOPS}")),
        "{error:?}"
    );
    let mutating: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .filter(|c| is_mutating(c))
        .map(|c| c.command_line())
        .collect();
    assert!(mutating.is_empty(), "{mutating:#?}");
    assert_same(&before, &harness.settled(), "foreign repository");
}

/// The removal pipeline's preview is what runs: after a failure, the plan's commands are
/// run, in the plan's order, by the removal it was consented for; without consent nothing
/// runs at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_removal_plan_shows_exactly_the_commands_the_removal_runs() {
    use kalypso_bootstrap::engine::{ConsentRule, EventSink, RemovalOutcome};
    use kalypso_bootstrap::tools::{CancellationToken, CommandSpec};

    let harness = Harness::new();
    let run = harness
        .run_failing(&all_new(), StepId::InstallKalypso)
        .await;
    assert_eq!(run.outcome.exit_code, ExitCode::InstallationFailed);
    let bootstrap = harness.open(&all_new());
    let removal = bootstrap.removal();
    let plan = removal.plan();
    assert!(plan.len() >= 8, "{:?}", plan.descriptions());

    // No flag and nobody to ask: nothing runs.
    harness.sim.clear_calls();
    let mut nobody = ConsentRule::new("--yes", false, None);
    let (events, _receiver) = EventSink::channel();
    let outcome = removal
        .run(&mut nobody, events, &CancellationToken::new())
        .await;
    assert_eq!(outcome, RemovalOutcome::NoConsent(plan.clone()));
    assert!(
        harness.sim.calls().iter().all(|c| !is_mutating(c)),
        "{:?}",
        harness.sim.calls()
    );

    // Consent: each planned command runs, in the plan's order.
    harness.sim.clear_calls();
    let mut flagged = ConsentRule::new("--yes", true, None);
    let (events, _receiver) = EventSink::channel();
    let outcome = removal
        .run(&mut flagged, events, &CancellationToken::new())
        .await;
    let RemovalOutcome::Removed(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(report.is_complete(), "{:?}", report.leftovers);
    let ran: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .map(|call| {
            CommandSpec::new(call.program.clone())
                .args(call.args.clone())
                .display()
        })
        .collect();
    let mut position = 0;
    for planned in plan.removals() {
        let found = ran[position..]
            .iter()
            .position(|command| *command == planned.manual_command)
            .unwrap_or_else(|| {
                panic!(
                    "{:?} did not run (after the earlier ones); ran: {ran:#?}",
                    planned.manual_command
                )
            });
        position += found + 1;
    }
}

/// Raw terminal controls anywhere in `text` (ESC, BEL, CSI as C1, carriage return).
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect()
}

/// A tool's stderr that tries to act on the terminal (a title change, a CSI as one C1
/// character, a bell, a carriage return) reaches the headless text and JSON printers and
/// the run report as visible text only (issue 12, item 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tools_control_characters_reach_no_printer_raw() {
    use kalypso_bootstrap::cli::OutputFormat;
    use kalypso_bootstrap::engine::report::{render, ReportInput};
    use kalypso_bootstrap::headless::{HeadlessPrinter, PrinterSettings};
    use kalypso_bootstrap::logging::Verbosity;

    let harness = Harness::new();
    let config = existing_cluster(all_new());
    harness.sim.inject(Fault::new(
        FaultKind::Failure {
            exit_code: 1,
            stderr: "error: \u{1b}]0;OWNED\u{7}\u{9b}2Jwait failed\rfake line\u{1b}[31m\n```\n# Forged heading\n"
                .into(),
        },
        "kubectl wait",
    ));
    let run = harness.run(&config).await;
    let (_, error) = run.failure();
    assert!(error.message.contains("OWNED"), "{}", error.message);

    for format in [OutputFormat::Text, OutputFormat::Json] {
        let mut printer =
            HeadlessPrinter::new(PrinterSettings::new(format, Verbosity::Verbose), Vec::new());
        for event in &run.events {
            printer.handle(event).unwrap();
        }
        let out = String::from_utf8(printer.into_inner()).unwrap();
        assert!(out.contains("OWNED"), "{format:?}: {out}");
        assert_eq!(raw_controls(&out), Vec::<char>::new(), "{format:?}: {out}");
        if format == OutputFormat::Json {
            // Still JSON, and the message reads back as the tool wrote it.
            let messages: Vec<String> = out
                .lines()
                .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
                .filter_map(|value| value["message"].as_str().map(str::to_string))
                .collect();
            assert!(
                messages.iter().any(|m| m.contains("\u{9b}2Jwait failed")),
                "{messages:?}"
            );
        } else {
            assert!(out.contains("\\u001b]0;OWNED\\u0007\\u009b2J"), "{out}");
        }
    }

    let state = harness.state();
    let report = render(&ReportInput {
        demo: false,
        configuration: &config,
        state: &state,
        events: &run.events,
        state_file: &harness.paths().state_file,
        log_file: None,
        resume: &kalypso_bootstrap::engine::Resume::default(),
    });
    assert!(report.contains("OWNED"), "{report}");
    assert_eq!(raw_controls(&report), Vec::<char>::new(), "{report}");
    // The tool's text stays inside its line: it opens no code block, makes no heading.
    assert!(report.contains("Forged heading"), "{report}");
    assert!(
        !report
            .lines()
            .any(|line| line.starts_with("```") || line.starts_with("# Forged")),
        "{report}"
    );
}

/// The one session the front ends share: an `Ask` that counts its questions and answers
/// as told.
struct CountingAsk {
    asked: Arc<std::sync::atomic::AtomicUsize>,
    answer: bool,
}

impl kalypso_bootstrap::engine::Ask for CountingAsk {
    fn ask<'a>(
        &'a mut self,
        plan: &'a kalypso_bootstrap::engine::RemovalPlan,
    ) -> kalypso_bootstrap::tools::BoxFuture<'a, bool> {
        assert!(!plan.is_empty(), "asked about nothing");
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = self.answer;
        Box::pin(async move { answer })
    }
}

fn open_session(
    harness: &Harness,
    config: &kalypso_bootstrap::config::Configuration,
    fail: Option<StepId>,
    access: kalypso_bootstrap::engine::Access,
    notices: &std::sync::Mutex<Vec<String>>,
) -> kalypso_bootstrap::engine::Session {
    let mut options = harness.options();
    options.step_wrapper =
        fail.map(|step| kalypso_bootstrap::demo::fail_step(harness.sim.clone(), step));
    kalypso_bootstrap::engine::Session::open(
        config.clone(),
        Arc::new(harness.sim.clone()),
        Some(secrecy::SecretString::from(CANARY)),
        harness.paths(),
        options,
        access,
        &|notice| notices.lock().unwrap().push(notice.to_string()),
    )
    .expect("the session opens")
}

/// Run `config` to its end in a session, `fail` failing, answering `answer` when asked.
async fn session_run(
    harness: &Harness,
    config: &kalypso_bootstrap::config::Configuration,
    fail: StepId,
    answer: bool,
) -> (kalypso_bootstrap::engine::SessionOutcome, usize) {
    use kalypso_bootstrap::engine::{Access, AfterFailure, EventSink};
    use kalypso_bootstrap::tools::CancellationToken;
    let notices = std::sync::Mutex::new(Vec::new());
    let session = open_session(harness, config, Some(fail), Access::Run, &notices);
    let cancel = CancellationToken::new();
    let (events, _unread) = EventSink::channel();
    let plan = session.plan(&cancel, &events).await.expect("a plan");
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ask = CountingAsk {
        asked: Arc::clone(&asked),
        answer,
    };
    let outcome = session
        .run_to_end(
            &activate(config),
            &plan,
            events,
            &cancel,
            AfterFailure::new(Some(Box::new(ask)), CancellationToken::new),
        )
        .await;
    assert!(notices.lock().unwrap().is_empty(), "{notices:?}");
    (outcome, asked.load(std::sync::atomic::Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failure_the_session_asks_once_and_removes_only_on_yes() {
    use kalypso_bootstrap::engine::RemovalOutcome;
    let config = existing_cluster(all_new());

    let harness = Harness::new();
    let before = harness.settled();
    let (outcome, asked) = session_run(&harness, &config, StepId::GitopsLabel, true).await;
    assert_eq!(outcome.exit_code(), ExitCode::RepositoryFailed);
    assert_eq!(asked, 1);
    match &outcome.removal {
        Some(RemovalOutcome::Removed(report)) => assert!(report.is_complete(), "{report:?}"),
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_same(&before, &harness.settled(), "rolled back by the session");

    let harness = Harness::new();
    let before = harness.settled();
    let (outcome, asked) = session_run(&harness, &config, StepId::GitopsLabel, false).await;
    assert_eq!(asked, 1);
    assert!(
        matches!(outcome.removal, Some(RemovalOutcome::Declined(_))),
        "{:?}",
        outcome.removal
    );
    assert_ne!(before, harness.settled(), "what the run created is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_non_interactive_the_session_asks_nobody_and_keeps_everything() {
    use kalypso_bootstrap::engine::RemovalOutcome;
    let mut config = existing_cluster(all_new());
    config.options.non_interactive = true;
    let harness = Harness::new();
    let (outcome, asked) = session_run(&harness, &config, StepId::GitopsLabel, true).await;
    assert_eq!(asked, 0, "a yes that nobody may give is never asked for");
    assert!(
        matches!(outcome.removal, Some(RemovalOutcome::NoConsent(_))),
        "{:?}",
        outcome.removal
    );

    let mut config = existing_cluster(all_new());
    config.options.auto_rollback = true;
    let harness = Harness::new();
    let (outcome, asked) = session_run(&harness, &config, StepId::GitopsLabel, false).await;
    assert_eq!(asked, 0, "--auto-rollback is the consent");
    assert!(
        matches!(&outcome.removal, Some(RemovalOutcome::Removed(report)) if report.is_complete()),
        "{:?}",
        outcome.removal
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_refuses_a_conflicting_plan_and_tells_of_a_state_file_moved_aside() {
    use kalypso_bootstrap::engine::Access;
    use kalypso_bootstrap::engine::EventSink;
    use kalypso_bootstrap::tools::CancellationToken;
    let harness = Harness::new();
    harness
        .sim
        .seed_repo(SeedRepo::new(ORG, GITOPS).with_file("main", "README.md", "theirs\n"))
        .expect("seeded repository");
    let mut config = existing_cluster(all_new());
    let state_file = harness.paths().state_file;

    // A dry-run session only reads: no lock, no directory.
    let notices = std::sync::Mutex::new(Vec::new());
    let session = open_session(&harness, &config, None, Access::DryRun, &notices);
    let (events, _unread) = EventSink::channel();
    let refused = session
        .plan(&CancellationToken::new(), &events)
        .await
        .expect_err("someone else's repository stops the plan");
    assert_eq!(refused.exit_code, ExitCode::RepositoryFailed);
    assert!(refused.message.contains("did not create it"), "{refused:?}");
    drop(session);
    assert!(
        !state_file.parent().unwrap().exists(),
        "the dry run wrote nothing"
    );

    // An unusable state file, --force: moved aside, and the front end is told.
    std::fs::create_dir_all(state_file.parent().unwrap()).unwrap();
    std::fs::write(&state_file, "not a state file").unwrap();
    config.options.force = true;
    let session = open_session(&harness, &config, None, Access::Run, &notices);
    let told = notices.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("--force moved it to"), "{told:?}");
    drop(session);
}

struct CountingProceed {
    asked: usize,
    answer: bool,
}

impl kalypso_bootstrap::engine::Proceed for CountingProceed {
    fn proceed<'a>(
        &'a mut self,
        preview: &'a kalypso_bootstrap::engine::DryRun,
    ) -> kalypso_bootstrap::tools::BoxFuture<'a, bool> {
        assert!(
            preview.to_text().contains("gh repo create"),
            "the preview shows the commands"
        );
        self.asked += 1;
        let answer = self.answer;
        Box::pin(async move { answer })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_asks_to_proceed_unless_skipped_or_nobody_can_be_asked() {
    use kalypso_bootstrap::config::lifecycle::{Uninitialized, Validated};
    use kalypso_bootstrap::engine::{Access, EventSink, Proceed};
    use kalypso_bootstrap::tools::CancellationToken;
    let validated = |config: &kalypso_bootstrap::config::Configuration| -> Validated {
        let contexts = vec![EXISTING_CONTEXT.to_string()];
        Uninitialized::new()
            .parse(
                kalypso_bootstrap::config::export::to_layer(config),
                None,
                &std::collections::HashMap::new(),
            )
            .expect("the configuration parses")
            .validate(&contexts)
            .unwrap_or_else(|errors| panic!("{errors}"))
    };
    let harness = Harness::new();
    let notices = std::sync::Mutex::new(Vec::new());
    for (skip, answer, asked_to, proceeds) in [
        (false, true, Some(1), true),
        (false, false, Some(1), false),
        (true, false, Some(0), true),
        (false, false, None, true),
    ] {
        let mut config = existing_cluster(all_new());
        config.options.skip_confirmation = skip;
        let session = open_session(&harness, &config, None, Access::DryRun, &notices);
        let (events, _unread) = EventSink::channel();
        let plan = session
            .plan(&CancellationToken::new(), &events)
            .await
            .expect("a plan");
        let mut proceed = CountingProceed { asked: 0, answer };
        let asker = asked_to.map(|_| &mut proceed as &mut dyn Proceed);
        let active = session.confirm(validated(&config), &plan, asker).await;
        assert_eq!(
            active
                .expect("no refusal: nothing changes a given repository")
                .is_some(),
            proceeds,
            "skip={skip} answer={answer}"
        );
        assert_eq!(proceed.asked, asked_to.unwrap_or(0), "skip={skip}");
    }
    assert!(
        harness.sim.calls().iter().all(|c| !is_mutating(c)),
        "confirming changes nothing"
    );
}
