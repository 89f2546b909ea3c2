//! The orchestrator over fake steps: concurrency, failure, cancellation, state saving,
//! resume, facts, skips and conflicts.

use kalypso_bootstrap::UserError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::engine::*;
use crate::support::process::HANG_GUARD;
use kalypso_bootstrap::config::configuration::{ClusterTarget, ExistingCluster};
use kalypso_bootstrap::engine::plan::{
    succeeded_steps, ObservedCluster, ObservedRepo, ObservedResourceGroup,
};
use kalypso_bootstrap::engine::{
    fact, plan, Action, EventKind, Observed, Outcome, Plan, PlannedStep, RunEnd, RunOptions, StepId,
};
use kalypso_bootstrap::state::{
    Ownership, Phase, ResourceStatus, RunStatus, StateStore, StepStatus,
};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::troubleshooting::Topic;
use kalypso_bootstrap::ExitCode;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn full_plan() -> Plan {
    plan(&config(), &Observed::default())
}

fn is_cluster(id: StepId) -> bool {
    id.phase() == Phase::Cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_completes_and_reports_every_transition() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(5));
    let (orchestrator, mut events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;

    assert_eq!(outcome.end, RunEnd::Completed);
    assert_eq!(outcome.exit_code, ExitCode::Success);
    assert_eq!(
        runner.calls().len(),
        StepId::WITHOUT_WORKLOAD_CLUSTERS.len()
    );

    let events = drain(&mut events);
    assert!(
        matches!(events.first(), Some(EventKind::RunStarted { steps, .. }) if steps.len() == 15)
    );
    assert!(matches!(events.last(), Some(EventKind::RunFinished { .. })));
    // One PhaseStarted per phase, before any step of that phase starts.
    let mut phases_started = Vec::new();
    for event in &events {
        match event {
            EventKind::PhaseStarted { phase } => phases_started.push(*phase),
            EventKind::StepStarted { phase, .. } | EventKind::StepFinished { phase, .. } => {
                assert!(
                    phases_started.contains(phase),
                    "{phase} step before its PhaseStarted"
                );
            }
            _ => {}
        }
    }
    let unique: HashSet<_> = phases_started.iter().collect();
    assert_eq!(unique.len(), phases_started.len(), "{phases_started:?}");
    assert_eq!(unique.len(), 4);
    // Every step starts, then finishes succeeded, with a duration.
    for id in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        let started = events
            .iter()
            .position(|e| matches!(e, EventKind::StepStarted { step, .. } if *step == id))
            .unwrap_or_else(|| panic!("{id} never started"));
        let finished = events
            .iter()
            .position(|e| matches!(e, EventKind::StepFinished { step, outcome: Outcome::Succeeded, .. } if *step == id))
            .unwrap_or_else(|| panic!("{id} never finished"));
        assert!(started < finished, "{id}");
    }
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::StepProgress { step: StepId::ClusterCreate, transition: Some(t), .. } if t == "Creating"
    )));
    if let Some(EventKind::RunFinished { summary, .. }) = events.last() {
        let phases: Vec<_> = summary.phase_durations_ms.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            phases,
            vec![
                Phase::Cluster,
                Phase::Repositories,
                Phase::Installation,
                Phase::Validation
            ]
        );
        assert_eq!(
            summary.state_file.as_deref(),
            Some(state.path().to_str().unwrap())
        );
    }

    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::Completed);
    for id in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        let record = saved.step(id.as_str()).unwrap();
        assert_eq!(record.status, StepStatus::Succeeded, "{id}");
        assert!(
            record.started_at.is_some() && record.finished_at.is_some(),
            "{id}"
        );
        assert!(record.started_at <= record.finished_at);
    }
    assert!(saved.errors.is_empty());
    assert_eq!(saved.resources.len(), 10);
    assert!(saved
        .resources
        .iter()
        .all(|r| r.status == ResourceStatus::Present));
}

/// On a paused clock, which moves only when every step waits: the run's time is what its
/// steps take, free of the machine's load (the bench measures the real clock).
#[tokio::test(start_paused = true)]
async fn independent_steps_run_concurrently_so_wall_time_is_the_critical_path() {
    let state = TempState::new();
    let mut runner = FakeSteps::new(MS(100));
    for id in StepId::WITHOUT_WORKLOAD_CLUSTERS
        .into_iter()
        .filter(|id| is_cluster(*id))
    {
        runner = runner.with(id, Behaviour::Work(MS(300)));
    }
    let (orchestrator, _events) = orchestrator(runner, &state);
    let started = tokio::time::Instant::now();
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    let wall = started.elapsed();
    assert!(outcome.is_success());

    // Longest chain: 5 cluster steps, Flux, Kalypso, health checks.
    let critical_path = MS(5 * 300 + 3 * 100);
    let sequential_sum = MS(5 * 300 + 10 * 100);
    assert_eq!(
        wall, critical_path,
        "no step waited for more than its dependencies"
    );
    assert!(wall < sequential_sum);
}

#[tokio::test(start_paused = true)]
async fn dependants_start_the_moment_their_dependencies_finish_with_no_phase_barrier() {
    let state = TempState::new();
    // Overlaps that only a schedule without phase barriers allows (each waiting step fails
    // if the other never starts): the resource group waits for the gitops repository
    // to start, and gitops.secrets waits for Flux, which needs the whole cluster chain.
    let runner = FakeSteps::new(MS(20))
        .with(
            StepId::ClusterResourceGroup,
            Behaviour::WaitFor(StepId::GitopsRepo, Duration::from_secs(5)),
        )
        .with(
            StepId::GitopsSecrets,
            Behaviour::WaitFor(StepId::InstallFlux, Duration::from_secs(5)),
        );
    let (orchestrator, _events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    assert!(outcome.is_success(), "{:?}", outcome.end);

    let call = |id| runner.call(id).unwrap();
    assert!(
        call(StepId::ControlPlaneRepo).started
            < call(StepId::ClusterResourceGroup).finished.unwrap()
    );
    // ...but only after the pre-flight: nothing is created before it passes.
    assert!(
        call(StepId::ClusterPreflight).finished.unwrap() <= call(StepId::ControlPlaneRepo).started
    );
    assert!(call(StepId::InstallFlux).started < call(StepId::GitopsLabel).started);

    // Scheduling latency, as the orchestrator saw it: a dependant starts as soon as its
    // last dependency finished.
    let report = |id| outcome.step(id).unwrap().clone();
    let latency = |id: StepId, dependencies: &[StepId]| {
        let last = dependencies
            .iter()
            .map(|d| report(*d).finished.unwrap())
            .max()
            .unwrap();
        let started = report(id).started.unwrap();
        assert!(
            started >= last,
            "{id} started before its dependencies finished"
        );
        started - last
    };
    for (id, dependencies) in [
        (StepId::InstallFlux, vec![StepId::ClusterReady]),
        (
            StepId::InstallKalypso,
            kalypso_bootstrap::engine::plan::dependencies(StepId::InstallKalypso),
        ),
        (StepId::HealthChecks, vec![StepId::InstallKalypso]),
        (StepId::GitopsLabel, vec![StepId::GitopsSecrets]),
    ] {
        let gap = latency(id, &dependencies);
        // On the paused clock, no time passes between the two.
        assert_eq!(
            gap,
            Duration::ZERO,
            "{id} started {gap:?} after its last dependency"
        );
    }
    let flux = report(StepId::InstallFlux);
    assert_eq!(flux.outcome, Some(Outcome::Succeeded));
    assert!(flux.duration().unwrap() >= MS(20));
}

#[tokio::test(start_paused = true)]
async fn a_failure_starts_nothing_new_cancels_running_steps_and_exits_with_its_phase_code() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(10))
        .with(
            StepId::ClusterCreate,
            Behaviour::Work(Duration::from_secs(5)),
        )
        .with(
            StepId::GitopsSeed,
            Behaviour::FailAfter(
                MS(50),
                UserError::in_step(StepId::GitopsSeed, "push of main was rejected")
                    .with_hint(Topic::GithubScopes.hint("check the token's repo scope")),
            ),
        );
    let (orchestrator, mut events) = orchestrator(runner.clone(), &state);
    let started = tokio::time::Instant::now();
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    let wall = started.elapsed();

    assert_eq!(outcome.exit_code, ExitCode::RepositoryFailed);
    match &outcome.end {
        RunEnd::Failed { phase, step, error } => {
            assert_eq!(*phase, Phase::Repositories);
            assert_eq!(*step, Some(StepId::GitopsSeed));
            assert_eq!(error.message, "push of main was rejected");
        }
        other => panic!("{other:?}"),
    }
    // The 5-second cluster creation was cancelled, not waited for (on the paused clock the
    // run takes what its steps took: 70 ms to the failure).
    assert!(wall < Duration::from_secs(5), "{wall:?}");
    let create = runner.call(StepId::ClusterCreate).unwrap();
    assert!(create.cancelled);
    // Nothing started after the failure.
    let called: HashSet<_> = runner.calls().into_iter().map(|c| c.id).collect();
    for id in [
        StepId::GitopsSecrets,
        StepId::GitopsLabel,
        StepId::ClusterCredentials,
        StepId::InstallFlux,
    ] {
        assert!(!called.contains(&id), "{id} started after the failure");
    }
    assert_eq!(outcome.step(StepId::GitopsSecrets).unwrap().outcome, None);
    assert_eq!(
        outcome.step(StepId::ClusterCreate).unwrap().outcome,
        Some(Outcome::Cancelled)
    );

    let events = drain(&mut events);
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::StepFinished { step: StepId::GitopsSeed, outcome: Outcome::Failed, hint: Some(h), .. }
            if h == "check the token's repo scope; run kalypso-bootstrap --explain github-token-lacks-a-scope"
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::StepFinished {
            step: StepId::ClusterCreate,
            outcome: Outcome::Cancelled,
            ..
        }
    )));
    match events.last() {
        Some(EventKind::RunFailed {
            exit_code,
            step,
            phase,
            ..
        }) => {
            assert_eq!(*exit_code, 5);
            assert_eq!(*step, Some(StepId::GitopsSeed));
            assert_eq!(*phase, Phase::Repositories);
        }
        other => panic!("{other:?}"),
    }

    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::Failed);
    assert_eq!(
        saved.errors,
        vec!["gitops.seed: push of main was rejected".to_string()]
    );
    assert_eq!(saved.step_status("gitops.seed"), Some(StepStatus::Failed));
    assert_eq!(
        saved.step_status("cluster.create"),
        Some(StepStatus::Failed)
    );
    assert!(saved
        .step("cluster.create")
        .unwrap()
        .message
        .as_deref()
        .unwrap()
        .contains("cancelled"));
    assert_eq!(
        saved.step_status("gitops.secrets"),
        Some(StepStatus::Pending)
    );
    // What the cancelled step started is recorded, so rollback can remove it.
    let cluster = saved
        .resources
        .iter()
        .find(|r| r.resource.kind() == "aks_cluster")
        .expect("the cluster is recorded");
    assert_eq!(cluster.ownership, Ownership::CreatedByUs);
    assert_eq!(cluster.status, ResourceStatus::Creating);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_phase_fails_with_its_own_exit_code() {
    for (id, expected) in [
        (StepId::ClusterCredentials, ExitCode::ClusterFailed),
        (StepId::ControlPlaneSecrets, ExitCode::RepositoryFailed),
        (StepId::InstallFlux, ExitCode::InstallationFailed),
        (StepId::HealthChecks, ExitCode::InstallationFailed),
    ] {
        let state = TempState::new();
        let runner = FakeSteps::new(MS(1)).with(
            id,
            Behaviour::FailAfter(MS(1), UserError::in_step(id, "boom")),
        );
        let (orchestrator, mut events) = orchestrator(runner, &state);
        let outcome = orchestrator
            .run(&full_plan(), &CancellationToken::new())
            .await;
        assert_eq!(outcome.exit_code, expected, "{id}");
        assert!(matches!(
            drain(&mut events).last(),
            Some(EventKind::RunFailed { exit_code, .. }) if *exit_code == expected.code()
        ));
        assert_eq!(state.on_disk().status, RunStatus::Failed);
    }
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_run_stops_running_steps_saves_failed_and_exits_7() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(10))
        .with(
            StepId::ClusterCreate,
            Behaviour::Work(Duration::from_secs(5)),
        )
        .with(StepId::GitopsSeed, Behaviour::Work(Duration::from_secs(5)));
    let (orchestrator, mut events) = orchestrator(runner.clone(), &state);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let watched = runner.clone();
    // Ctrl+C once both long steps are under way.
    tokio::spawn(async move {
        while watched.call(StepId::ClusterCreate).is_none()
            || watched.call(StepId::GitopsSeed).is_none()
        {
            tokio::time::sleep(MS(5)).await;
        }
        tokio::time::sleep(MS(20)).await;
        trigger.cancel();
    });
    let started = tokio::time::Instant::now();
    let outcome = orchestrator.run(&full_plan(), &cancel).await;
    let wall = started.elapsed();

    assert_eq!(outcome.exit_code, ExitCode::Cancelled);
    assert!(
        matches!(
            outcome.end,
            RunEnd::Cancelled {
                phase: Phase::Cluster,
                step: Some(StepId::ClusterCreate)
            }
        ),
        "{:?}",
        outcome.end
    );
    assert!(wall < Duration::from_secs(2), "{wall:?}");
    assert!(runner.call(StepId::ClusterCreate).unwrap().cancelled);
    assert!(runner.call(StepId::GitopsSeed).unwrap().cancelled);
    assert!(runner.call(StepId::GitopsSecrets).is_none());

    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::Failed);
    assert_eq!(
        saved.step_status("cluster.create"),
        Some(StepStatus::Failed)
    );
    assert_eq!(saved.step_status("gitops.seed"), Some(StepStatus::Failed));
    let error = saved.errors.last().unwrap();
    assert!(
        error.contains("cancelled by the user") && error.contains("cluster.create"),
        "{error}"
    );
    assert!(matches!(
        drain(&mut events).last(),
        Some(EventKind::RunFailed { exit_code: 7, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_before_any_step_starts_runs_nothing() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(10));
    let (orchestrator, _events) = orchestrator(runner.clone(), &state);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = orchestrator.run(&full_plan(), &cancel).await;
    assert_eq!(outcome.exit_code, ExitCode::Cancelled);
    assert!(runner.calls().is_empty());
    assert_eq!(state.on_disk().status, RunStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_step_ignoring_cancellation_is_aborted_after_the_grace_period() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(5))
        .with(
            StepId::ClusterResourceGroup,
            Behaviour::Stubborn(Duration::from_secs(10)),
        )
        .with(
            StepId::GitopsRepo,
            Behaviour::FailAfter(MS(20), UserError::in_step(StepId::GitopsRepo, "name taken")),
        );
    let (events, _receiver) = kalypso_bootstrap::engine::EventSink::channel();
    let orchestrator = kalypso_bootstrap::engine::Orchestrator::new(
        Arc::new(runner.clone()),
        state.handle.clone(),
        events,
    )
    .with_options(RunOptions {
        cancel_grace: MS(200),
        ..RunOptions::default()
    });
    let started = tokio::time::Instant::now();
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    let wall = started.elapsed();
    assert_eq!(outcome.exit_code, ExitCode::RepositoryFailed);
    assert!(wall >= MS(200) && wall < Duration::from_secs(2), "{wall:?}");
    let report = outcome.step(StepId::ClusterResourceGroup).unwrap();
    assert_eq!(report.outcome, Some(Outcome::Cancelled));
    assert!(
        report.message.as_deref().unwrap().contains("did not stop"),
        "{report:?}"
    );
    assert_eq!(
        state.on_disk().step_status("cluster.resource-group"),
        Some(StepStatus::Failed)
    );
    assert!(runner.call(StepId::ClusterCreate).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_step_fails_the_run_with_its_phase_code() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(5)).with(StepId::InstallKalypso, Behaviour::Panic);
    let (orchestrator, _events) = orchestrator(runner, &state);
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    assert_eq!(outcome.exit_code, ExitCode::InstallationFailed);
    assert!(
        matches!(&outcome.end, RunEnd::Failed { error, .. } if error.message.contains("panicked"))
    );
    assert_eq!(outcome.step(StepId::HealthChecks).unwrap().outcome, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_on_disk_follows_every_transition() {
    let state = TempState::new();
    let path = state.path();
    let probe_path = path.clone();
    let runner = FakeSteps::new(MS(5)).with_probe(
        StepId::GitopsLabel,
        Arc::new(move |ctx| {
            let load = || StateStore::at_custom(&probe_path).load().unwrap().unwrap();
            // The step's start is saved in the background as it begins: it reaches the
            // disk without anything else happening.
            // Waited for under the hang guard: when it lands depends on the machine.
            let deadline = Instant::now() + HANG_GUARD;
            let mut before = load();
            while before.step_status("gitops.label") != Some(StepStatus::Running)
                && Instant::now() < deadline
            {
                std::thread::sleep(MS(2));
                before = load();
            }
            if before.step_status("gitops.label") != Some(StepStatus::Running) {
                return Err(format!(
                    "hang guard: own step is still {:?} on disk after {HANG_GUARD:?}",
                    before.step_status("gitops.label")
                ));
            }
            if before.step_status("gitops.secrets") != Some(StepStatus::Succeeded) {
                return Err("the dependency is not recorded as succeeded".into());
            }
            if before.status != RunStatus::InProgress {
                return Err(format!("run is {}", before.status));
            }
            let marker = kalypso_bootstrap::state::Resource::RepoSecret {
                repository: "acme/demo-gitops".into(),
                name: "PROBE".into(),
            };
            ctx.record(
                marker.clone(),
                Ownership::CreatedByUs,
                ResourceStatus::Creating,
            )
            .map_err(|e| e.message)?;
            let after = load();
            match after.resource(&marker) {
                Some(record) if record.step.as_deref() == Some("gitops.label") => Ok(()),
                other => Err(format!("recorded resource not on disk: {other:?}")),
            }
        }),
    );
    let (orchestrator, _events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    assert!(outcome.is_success());
    assert_eq!(runner.probe_results(), vec![(StepId::GitopsLabel, Ok(()))]);
    // The previous version is kept as the backup, so saves happened more than once.
    assert!(path.with_file_name("state.json.bak").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_learned_by_one_step_reach_later_steps_and_the_summary() {
    let state = TempState::new();
    let runner = FakeSteps::new(MS(2))
        .with_probe(
            StepId::ClusterCredentials,
            Arc::new(|ctx| {
                ctx.facts()
                    .set(fact::KUBE_CONTEXT, "demo-admin".to_string());
                Ok(())
            }),
        )
        .with_probe(
            StepId::InstallFlux,
            Arc::new(|ctx| match ctx.facts().get(fact::KUBE_CONTEXT) {
                Some(context) if context == "demo-admin" => Ok(()),
                other => Err(format!("kube context fact: {other:?}")),
            }),
        );
    let (orchestrator, mut events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    assert!(outcome.is_success());
    assert!(
        runner.probe_results().iter().all(|(_, r)| r.is_ok()),
        "{:?}",
        runner.probe_results()
    );
    assert_eq!(outcome.summary.kube_context.as_deref(), Some("demo-admin"));
    assert!(matches!(
        drain(&mut events).last(),
        Some(EventKind::RunFinished { summary, .. }) if summary.kube_context.as_deref() == Some("demo-admin")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_steps_are_not_run_and_release_their_dependants() {
    let mut cfg = config();
    cfg.installation.skip_install = true;
    cfg.cluster = ClusterTarget::Existing(ExistingCluster {
        context: "kind-dev".into(),
        name: None,
    });
    let plan = plan(&cfg, &Observed::default());
    let state = TempState::new();
    let runner = FakeSteps::new(MS(2));
    let (orchestrator, mut events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator.run(&plan, &CancellationToken::new()).await;
    assert!(outcome.is_success());

    let called: Vec<_> = runner
        .calls()
        .into_iter()
        .map(|c| (c.id, c.action))
        .collect();
    assert!(called.contains(&(StepId::ClusterReady, Action::Reuse)));
    for id in [
        StepId::ClusterCreate,
        StepId::InstallFlux,
        StepId::InstallKalypso,
        StepId::HealthChecks,
    ] {
        assert!(!called.iter().any(|(c, _)| *c == id), "{id} ran");
        assert_eq!(outcome.step(id).unwrap().outcome, Some(Outcome::Skipped));
    }
    let events = drain(&mut events);
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::StepFinished { step: StepId::InstallFlux, outcome: Outcome::Skipped, message, .. }
            if message == "--skip-install"
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::StepFinished {
            step: StepId::ClusterReady,
            outcome: Outcome::Reused,
            ..
        }
    )));
    // Every step of the installation and validation was skipped: the summary's timings
    // leave those phases out, rather than "installation 0ms".
    let Some(EventKind::RunFinished { summary, .. }) = events.last() else {
        panic!("the run finished: {events:?}");
    };
    let timed: Vec<Phase> = summary.phase_durations_ms.iter().map(|(p, _)| *p).collect();
    assert_eq!(timed, vec![Phase::Cluster, Phase::Repositories]);
    let saved = state.on_disk();
    assert_eq!(
        saved.step_status("installation.flux"),
        Some(StepStatus::Skipped)
    );
    assert_eq!(
        saved.step_status("cluster.ready"),
        Some(StepStatus::Succeeded)
    );
    assert_eq!(saved.status, RunStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_failure_reuses_what_succeeded_and_completes() {
    // First run: everything but the gitops chain finishes quickly; gitops.secrets fails.
    let first = TempState::new();
    let failing = FakeSteps::new(MS(1)).with(
        StepId::GitopsSecrets,
        Behaviour::FailAfter(
            MS(300),
            UserError::in_step(StepId::GitopsSecrets, "HTTP 502").transient(),
        ),
    );
    let (orchestrator_one, _events) = orchestrator(failing, &first);
    let outcome = orchestrator_one
        .run(&full_plan(), &CancellationToken::new())
        .await;
    assert_eq!(outcome.exit_code, ExitCode::RepositoryFailed);
    let recorded = first.on_disk();
    let done_before: HashSet<StepId> = succeeded_steps(&recorded).into_iter().collect();
    let expected_done: HashSet<StepId> = StepId::WITHOUT_WORKLOAD_CLUSTERS
        .into_iter()
        .filter(|id| {
            is_cluster(*id)
                || matches!(
                    id,
                    StepId::InstallFlux
                        | StepId::ControlPlaneRepo
                        | StepId::ControlPlaneSeed
                        | StepId::ControlPlaneSecrets
                        | StepId::GitopsRepo
                        | StepId::GitopsSeed
                )
        })
        .collect();
    assert_eq!(done_before, expected_done);

    // What read-only queries find now: everything created so far exists and is ours.
    let ours_repo = |slug: &str| ObservedRepo {
        slug: slug.into(),
        empty: false,
        ours: true,
    };
    let observed = Observed {
        cluster: Some(ObservedCluster {
            ours: true,
            provisioning_state: Some("Succeeded".into()),
        }),
        resource_group: Some(ObservedResourceGroup { ours: true }),
        control_plane: Some(ours_repo("acme/demo-control-plane")),
        gitops: Some(ours_repo("acme/demo-gitops")),
        control_plane_check: None,
        control_plane_environments: Vec::new(),
        control_plane_templates: Vec::new(),
        gitops_url: None,
        missing_on_existing: Default::default(),
        unchecked_on_existing: Default::default(),
        user_pull_requests: Vec::new(),
        unreachable_existing: Default::default(),
        succeeded_steps: succeeded_steps(&recorded),
    };
    let resumed_plan = plan(&config(), &observed);
    assert!(resumed_plan.conflicts.is_empty());

    let second = TempState::with(recorded.clone());
    let runner = FakeSteps::new(MS(1));
    let (orchestrator_two, _events) = orchestrator(runner.clone(), &second);
    let outcome = orchestrator_two
        .run(&resumed_plan, &CancellationToken::new())
        .await;
    assert!(outcome.is_success(), "{:?}", outcome.end);

    // Done steps are only checked (reuse); the pre-flight is moot; the rest is done now.
    let mut calls: Vec<(StepId, Action)> = runner
        .calls()
        .into_iter()
        .map(|c| (c.id, c.action))
        .collect();
    calls.sort_by_key(|(id, _)| *id);
    let mut expected: Vec<(StepId, Action)> = StepId::WITHOUT_WORKLOAD_CLUSTERS
        .into_iter()
        .filter(|id| *id != StepId::ClusterPreflight)
        .map(|id| {
            let action = if done_before.contains(&id) {
                Action::Reuse
            } else {
                Action::Create
            };
            (id, action)
        })
        .collect();
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(calls, expected);
    assert_eq!(
        outcome.step(StepId::ClusterPreflight).unwrap().outcome,
        Some(Outcome::Skipped)
    );

    let saved = second.on_disk();
    assert_eq!(saved.status, RunStatus::Completed);
    for id in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        assert!(saved.is_step_done(id.as_str()), "{id}");
    }
    // Resources from the first run keep their place and ownership; none is duplicated.
    let kinds: Vec<_> = saved
        .resources
        .iter()
        .map(|r| r.resource.describe())
        .collect();
    let unique: HashSet<_> = kinds.iter().collect();
    assert_eq!(unique.len(), kinds.len(), "{kinds:?}");
    for (index, record) in recorded.resources.iter().enumerate() {
        assert_eq!(saved.resources[index].resource, record.resource);
        assert_eq!(saved.resources[index].ownership, Ownership::CreatedByUs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_a_conflict_runs_nothing_and_leaves_the_state_alone() {
    let observed = Observed {
        cluster: Some(ObservedCluster {
            ours: false,
            provisioning_state: Some("Succeeded".into()),
        }),
        ..Observed::default()
    };
    let plan = plan(&config(), &observed);
    let state = TempState::new();
    let runner = FakeSteps::new(MS(1));
    let (orchestrator, mut events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator.run(&plan, &CancellationToken::new()).await;
    assert_eq!(outcome.exit_code, ExitCode::ConfigInvalid);
    assert!(runner.calls().is_empty());
    assert!(!state.path().exists(), "the state file was written");
    match drain(&mut events).as_slice() {
        [EventKind::RunFailed {
            exit_code: 3,
            hint: Some(hint),
            ..
        }] => {
            assert!(hint.contains("--cluster-existing"), "{hint}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_plan_is_refused() {
    let plan = Plan::new(vec![PlannedStep::new(
        StepId::GitopsSeed,
        Action::Create,
        vec![StepId::GitopsRepo],
        "test",
    )]);
    let state = TempState::new();
    let runner = FakeSteps::new(MS(1));
    let (orchestrator, _events) = orchestrator(runner.clone(), &state);
    let outcome = orchestrator.run(&plan, &CancellationToken::new()).await;
    assert_eq!(outcome.exit_code, ExitCode::General);
    assert!(runner.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_cannot_be_saved_stops_the_run_before_any_step() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "a file").unwrap();
    let handle = kalypso_bootstrap::engine::StateHandle::new(
        kalypso_bootstrap::state::BootstrapState::new(kalypso_bootstrap::state::Timestamp::now()),
        StateStore::at_custom(blocker.join("state.json")),
    );
    let runner = FakeSteps::new(MS(1));
    let (events, mut receiver) = kalypso_bootstrap::engine::EventSink::channel();
    let orchestrator =
        kalypso_bootstrap::engine::Orchestrator::new(Arc::new(runner.clone()), handle, events);
    let outcome = orchestrator
        .run(&full_plan(), &CancellationToken::new())
        .await;
    assert_eq!(outcome.exit_code, ExitCode::General);
    assert!(runner.calls().is_empty());
    match drain(&mut receiver).last() {
        Some(EventKind::RunFailed {
            message,
            exit_code: 1,
            ..
        }) => {
            assert!(message.contains("could not save the state"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Recorded by the orchestrator itself (in memory: on disk with the next save that
    // works), each once, with no logging subscriber installed.
    let errors = orchestrator.state().snapshot().errors;
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("could not save the state: "),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("could not save the final state: "),
        "{errors:#?}"
    );
}
