//! The other ways in: `--dry-run` (the exact commands, nothing changed), `--demo` with
//! `KALYPSO_DEMO_FAIL`, `--clean` from the state file, a rollback that cannot delete a
//! repository, and Ctrl+C while the cluster provisions.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::consented::{CleanupPreview, ConsentedBootstrap};
use crate::support::e2e::*;
use kalypso_bootstrap::demo::{demo_paths, fail_step, parse_demo_fail};
use kalypso_bootstrap::engine::{
    Bootstrap, BootstrapOptions, BootstrapPaths, Cleanup, EventKind, EventSink, RunEnd, StepId,
    StepTimings,
};
use kalypso_bootstrap::sim::{Fault, FaultKind, Latency, SimulatedEnvironment};
use kalypso_bootstrap::state::{
    InstallationWorld, Resource, ResourceStatus, RunStatus, StateStore,
};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::ExitCode;
use secrecy::SecretString;

/// A call's argv as the dry run lists it: the installation id (chosen by the run, as no
/// state file existed) reads as the dry run's placeholder.
fn argv(program: &str, args: &[String]) -> Vec<String> {
    let id = regex::Regex::new(r"=kb-[0-9a-f]{12}$").unwrap();
    let mut argv: Vec<String> = std::iter::once(program.to_string())
        .chain(
            args.iter()
                .map(|a| id.replace(a, "=<new-installation-id>").into_owned()),
        )
        .collect();
    // The dry run names the scheduler's pull request `<number>`: it is not open yet.
    if argv.len() > 3
        && argv[..3] == ["gh", "pr", "view"]
        && argv[3].chars().all(|c| c.is_ascii_digit())
    {
        argv[3] = "<number>".to_string();
    }
    argv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_lists_exactly_the_commands_a_run_then_runs_and_changes_nothing() {
    let harness = Harness::new();
    let config = all_new();
    let before = harness.sim.snapshot();
    let bootstrap = harness.open(&config);
    let cancel = CancellationToken::new();
    let observed = bootstrap.observe(&cancel).await.unwrap();
    let plan = bootstrap.plan(&observed);
    let dry = bootstrap.dry_run(&plan);
    drop(bootstrap);
    assert!(
        harness.sim.calls().iter().all(|c| !is_mutating(c)),
        "only read-only queries"
    );
    assert_eq!(harness.sim.snapshot(), before);

    // The JSON shape, in plan order.
    let json: serde_json::Value = serde_json::from_str(&dry.to_json()).unwrap();
    let steps = json["steps"].as_array().unwrap();
    // The same plan by resource, with its count, as data.
    assert_eq!(
        json["overview"]["counts"],
        serde_json::json!({"create": 15, "change": 0, "reuse": 0})
    );
    assert_eq!(json["overview"]["resources"][0]["change"], "create");
    let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = StepId::WITHOUT_WORKLOAD_CLUSTERS
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(ids, expected);
    let create = steps.iter().find(|s| s["id"] == "cluster.create").unwrap();
    assert_eq!(create["phase"], "cluster");
    assert_eq!(create["action"], "create");
    let aks_create: Vec<String> = create["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::from_value::<Vec<String>>(c.clone()).unwrap())
        .find(|c| c[1] == "aks" && c[2] == "create")
        .unwrap();
    assert_eq!(
        aks_create,
        [
            "az",
            "aks",
            "create",
            "--resource-group",
            RESOURCE_GROUP,
            "--name",
            CLUSTER,
            "--location",
            REGION,
            "--node-count",
            "3",
            "--node-vm-size",
            "Standard_DS2_v2",
            "--network-plugin",
            "azure",
            "--enable-managed-identity",
            "--no-ssh-key",
            "--tags",
            "kalypso-bootstrap=<new-installation-id>",
            "--no-wait",
            "-o",
            "json",
            "--subscription",
            SUBSCRIPTION,
        ]
    );
    let seed = steps
        .iter()
        .find(|s| s["id"] == "control-plane.seed")
        .unwrap();
    let pushes: Vec<String> = seed["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c[1] == "push")
        .map(|c| c[4].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pushes, ["main", "dev"], "main is pushed before dev");
    let text = dry.to_text();
    assert!(
        text.contains("$ az aks create --resource-group kalypso-rg"),
        "{text}"
    );
    assert!(
        text.contains("$ helm upgrade --install kalypso-scheduler kalypso-scheduler --repo"),
        "{text}"
    );
    assert!(!dry.to_json().contains(CANARY) && !text.contains(CANARY));
    // Each command's standard input beside it: the chart values of `helm … -f -`, exactly
    // what the run writes there, the token masked; nothing for the commands without one.
    let install = steps
        .iter()
        .find(|s| s["id"] == "installation.kalypso")
        .unwrap();
    let commands = install["commands"].as_array().unwrap();
    // The recovery of a release an interrupted helm left pending is named with its commands.
    assert!(
        install["notes"].as_array().unwrap().iter().any(|note| {
            let note = note.as_str().unwrap_or_default();
            note.contains("helm get metadata kalypso-scheduler")
                && note.contains("helm uninstall kalypso-scheduler")
        }),
        "{install}"
    );
    let stdin = install["stdin"].as_array().unwrap();
    assert_eq!(stdin.len(), commands.len(), "one stdin per command");
    let upgrade = commands
        .iter()
        .position(|c| c[1] == "upgrade")
        .expect("helm upgrade listed");
    assert_eq!(
        stdin[upgrade].as_str(),
        Some(
            format!(
                "controlPlaneURL: https://github.com/{ORG}/{CONTROL_PLANE}\ncontrolPlaneBranch: main\nghRepoToken: ***\n"
            )
            .as_str()
        )
    );
    assert!(stdin
        .iter()
        .enumerate()
        .all(|(i, s)| i == upgrade || s.is_null()));
    // The token secrets' values too, masked.
    let secrets = steps
        .iter()
        .find(|s| s["id"] == "control-plane.secrets")
        .unwrap();
    let secret_stdin: Vec<&str> = secrets["stdin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().expect("gh secret set reads its value"))
        .collect();
    assert_eq!(
        secret_stdin,
        [format!("{ORG}/{GITOPS}").as_str(), "***"],
        "GITOPS_REPO, GITOPS_REPO_TOKEN"
    );
    assert!(
        text.contains("      standard input:\n        controlPlaneURL: https://github.com/"),
        "{text}"
    );
    assert!(text.contains("        ghRepoToken: ***\n"), "{text}");

    const LIST_CRDS: [&str; 4] = ["get", "crd", "-o", "json"];
    // A second look at another moment is listed where it happens, as often as it runs:
    // the CRDs before and after the chart's install, then by the health checks.
    let is_crd_list = |argv: &Vec<String>| {
        argv.first().is_some_and(|p| p == "kubectl") && argv.ends_with(&LIST_CRDS.map(String::from))
    };
    let crd_lists_listed = dry
        .steps
        .iter()
        .flat_map(|s| s.commands.iter())
        .filter(|argv| is_crd_list(argv))
        .count();

    // A real run runs exactly what was listed (polling repeats some of it).
    let listed: BTreeSet<Vec<String>> = dry
        .steps
        .iter()
        .flat_map(|s| s.commands.iter().cloned())
        .collect();
    harness.sim.clear_calls();
    let run = harness.run(&config).await;
    run.assert_success();
    let observation_calls = 2; // the two `gh repo view` of observe()
    for call in harness.sim.calls().iter().skip(observation_calls) {
        let argv = argv(&call.program, &call.args);
        assert!(
            listed.contains(&argv),
            "ran but not listed by the dry run: {argv:?}"
        );
    }
    let crd_lists_run = harness
        .sim
        .calls()
        .iter()
        .filter(|call| is_crd_list(&argv(&call.program, &call.args)))
        .count();
    assert_eq!(
        (crd_lists_listed, crd_lists_run),
        (3, 3),
        "the CRD list: as often listed as run"
    );
}

fn demo_config() -> kalypso_bootstrap::config::Configuration {
    let mut config = all_new();
    config.repositories.github_org = Some("kalypso-demo-org".into());
    config
}

fn demo(dir: &tempfile::TempDir) -> (SimulatedEnvironment, BootstrapPaths, BootstrapOptions) {
    let sim = SimulatedEnvironment::demo(dir.path().join("demo")).unwrap();
    sim.set_latency(Latency::zero());
    let paths = demo_paths(&sim, None, None);
    let options = BootstrapOptions {
        timings: StepTimings::fast(),
        ..kalypso_bootstrap::demo::bootstrap_options()
    };
    (sim, paths, options)
}

fn open_demo(
    sim: &SimulatedEnvironment,
    paths: &BootstrapPaths,
    options: &BootstrapOptions,
) -> Bootstrap {
    Bootstrap::open(
        demo_config(),
        Arc::new(sim.clone()),
        // Any token is the demo user's.
        Some(SecretString::from(
            "gho_AnyDemoToken00000000000000000000000",
        )),
        paths.clone(),
        options.clone(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_inside_its_directory_and_a_demo_failure_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, paths, options) = demo(&dir);
    assert!(paths.state_file.starts_with(sim.root()));
    assert!(paths.kubeconfig.starts_with(sim.root()));
    let before = sim.snapshot();

    let failing_options = BootstrapOptions {
        step_wrapper: Some(fail_step(
            sim.clone(),
            parse_demo_fail("installation.kalypso").unwrap(),
        )),
        ..options.clone()
    };
    let failing = open_demo(&sim, &paths, &failing_options);
    let cancel = CancellationToken::new();
    let observed = failing.observe(&cancel).await.unwrap();
    let plan = failing.plan(&observed);
    let (events, mut receiver) = EventSink::channel();
    let active = activate(failing.configuration());
    let outcome = failing.run(&active, &plan, events, &cancel).await;
    let RunEnd::Failed { step, error, .. } = &outcome.end else {
        panic!("{:?}", outcome.end);
    };
    assert_eq!(*step, Some(StepId::InstallKalypso));
    assert_eq!(outcome.exit_code, ExitCode::InstallationFailed);
    assert!(
        error.message.contains("forbidden") || error.message.contains("Forbidden"),
        "{}",
        error.message
    );
    let mut demo_announced = false;
    while let Ok(event) = receiver.try_recv() {
        if let EventKind::RunStarted { demo, .. } = event.kind {
            demo_announced = demo;
        }
    }
    assert!(demo_announced, "the run is labelled DEMO");

    let preview = failing.rollback_preview();
    assert_eq!(
        preview.first().map(|p| p.resource.kind()),
        Some("helm_release"),
        "newest first: {preview:?}"
    );
    let (events, _receiver) = EventSink::channel();
    let report = failing.rollback(events, &cancel).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert!(report
        .removals
        .iter()
        .any(|r| r.asynchronous && r.resource.kind() == "aks_cluster"));
    drop(failing);
    sim.settle();
    assert_eq!(sim.snapshot(), before);

    // The same demo world completes without the failure.
    let bootstrap = open_demo(&sim, &paths, &options);
    let observed = bootstrap.observe(&cancel).await.unwrap();
    let plan = bootstrap.plan(&observed);
    let (events, _receiver) = EventSink::channel();
    let active = activate(bootstrap.configuration());
    let outcome = bootstrap.run(&active, &plan, events, &cancel).await;
    assert!(outcome.is_success(), "{:?}", outcome.end);
    assert_eq!(
        outcome.summary.state_file.as_deref(),
        Some(paths.state_file.display().to_string().as_str())
    );
}

#[test]
fn demo_fail_names_a_step_or_lists_the_valid_ones() {
    assert_eq!(parse_demo_fail("cluster.create"), Ok(StepId::ClusterCreate));
    assert_eq!(parse_demo_fail(" gitops.label "), Ok(StepId::GitopsLabel));
    let error = parse_demo_fail("cluster.nope").unwrap_err();
    assert!(
        error.contains("cluster.nope") && error.contains("validation.health"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_removes_what_the_state_file_records_and_nothing_else() {
    let harness = Harness::new();
    let paths = harness.paths();
    let runner: Arc<dyn kalypso_bootstrap::tools::CommandRunner> = Arc::new(harness.sim.clone());
    assert!(
        Cleanup::open(runner.clone(), None, &paths, InstallationWorld::Real)
            .unwrap()
            .is_none(),
        "no state file: nothing to clean"
    );

    let config = existing_cluster(all_new());
    let before = harness.settled();
    harness.run(&config).await.assert_success();

    let cleanup = Cleanup::open(
        runner,
        Some(SecretString::from(CANARY)),
        &paths,
        InstallationWorld::Real,
    )
    .unwrap()
    .unwrap();
    let preview = cleanup.preview();
    let commands: Vec<&str> = preview.iter().map(|p| p.manual_command.as_str()).collect();
    assert!(
        commands.contains(&"gh repo delete acme/kalypso-gitops --yes"),
        "{commands:#?}"
    );
    assert!(
        commands.contains(
            &"helm uninstall kalypso-scheduler -n kalypso-system --kube-context kind-dev"
        ),
        "{commands:#?}"
    );
    assert!(commands.iter().any(|c| c.starts_with("kubectl --context kind-dev delete -f https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml")), "{commands:#?}");
    assert!(
        preview
            .iter()
            .all(|p| !matches!(p.resource, Resource::KubeContext { .. })),
        "the existing context is not ours: {commands:#?}"
    );
    // The removal pipeline, consented by the flag (`--yes`).
    let mut consent = kalypso_bootstrap::engine::ConsentRule::new("--yes", true, None);
    let (events, _receiver) = EventSink::channel();
    let outcome = cleanup
        .removal()
        .run(&mut consent, events, &CancellationToken::new())
        .await;
    let kalypso_bootstrap::engine::RemovalOutcome::Removed(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_eq!(harness.settled(), before);
    let state = StateStore::at_custom(&paths.state_file)
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(state.status, RunStatus::RolledBack);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_that_cannot_be_deleted_is_left_with_the_scope_hint_and_its_command() {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    harness.run(&config).await.assert_success();
    harness
        .sim
        .inject(Fault::new(FaultKind::Forbidden, "gh repo delete"));
    let report = harness.rollback(&config).await;
    assert!(!report.is_complete());
    assert_eq!(report.leftovers.len(), 2, "{:#?}", report.leftovers);
    for leftover in &report.leftovers {
        assert!(
            leftover.contains("gh auth refresh -h github.com -s delete_repo"),
            "{leftover}"
        );
        assert!(leftover.contains("gh repo delete acme/"), "{leftover}");
    }
    let state = StateStore::at_custom(harness.paths().state_file)
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(state.status, RunStatus::Failed);
    let failed: Vec<_> = state
        .resources
        .iter()
        .filter(|r| r.status == ResourceStatus::DeleteFailed)
        .map(|r| r.resource.kind())
        .collect();
    assert_eq!(failed, ["repository", "repository"]);
    // Everything else went.
    let api = &harness.sim.snapshot().kube_clusters[EXISTING_SERVER];
    assert!(api.releases.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_the_cluster_provisions_keeps_it_recorded_for_rollback() {
    let harness = Harness::new();
    let mut latency = Latency::zero();
    latency.aks_provisioning = Duration::from_secs(60);
    harness.sim.set_latency(latency);
    let config = all_new();
    let before = harness.settled();
    let bootstrap = harness.open(&config);
    let cancel = CancellationToken::new();
    let observed = bootstrap.observe(&cancel).await.unwrap();
    let plan = bootstrap.plan(&observed);
    let (events, mut receiver) = EventSink::channel();
    let watch = async {
        while let Some(event) = receiver.recv().await {
            if let EventKind::StepProgress {
                step: StepId::ClusterCreate,
                transition: Some(t),
                ..
            } = &event.kind
            {
                if t == "Creating" {
                    // Once `az aks create --no-wait` has reached Azure, press Ctrl+C.
                    crate::support::process::wait_until_async(
                        "the cluster's creation in Azure",
                        || {
                            harness
                                .sim
                                .snapshot()
                                .azure
                                .clusters
                                .values()
                                .any(|c| c.name == CLUSTER)
                        },
                    )
                    .await;
                    cancel.cancel();
                    return;
                }
            }
        }
    };
    let active = activate(bootstrap.configuration());
    let (outcome, ()) = tokio::join!(bootstrap.run(&active, &plan, events, &cancel), watch);
    assert!(
        matches!(outcome.end, RunEnd::Cancelled { .. }),
        "{:?}",
        outcome.end
    );
    assert_eq!(outcome.exit_code, ExitCode::Cancelled);
    let state = bootstrap.state().snapshot();
    assert_eq!(state.status, RunStatus::Failed);
    assert!(
        state
            .resources
            .iter()
            .any(|r| r.resource.kind() == "aks_cluster"),
        "the cluster was recorded when its creation started"
    );
    let clusters = harness.sim.snapshot().azure.clusters;
    let cluster = clusters
        .values()
        .find(|c| c.name == CLUSTER)
        .expect("creation started");
    assert_eq!(cluster.provisioning_state, "Creating", "still provisioning");
    let (events, _receiver) = EventSink::channel();
    let report = bootstrap.rollback(events, &CancellationToken::new()).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    drop(bootstrap);
    harness.sim.set_latency(Latency::zero());
    assert_eq!(harness.settled(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_refuses_a_state_of_another_installation_or_world_before_taking_its_lock() {
    let harness = Harness::new();
    let paths = harness.paths();
    let runner: Arc<dyn kalypso_bootstrap::tools::CommandRunner> = Arc::new(harness.sim.clone());
    harness.run(&all_new()).await.assert_success();
    let recorded = harness
        .state()
        .identity
        .expect("the run records its identity");
    assert_eq!(recorded.world, InstallationWorld::Real);
    assert_eq!(recorded.subscription.as_deref(), Some(SUBSCRIPTION));
    assert_eq!(recorded.repositories.gitops.owner.as_deref(), Some(ORG));
    let lock = StateStore::at_custom(&paths.state_file).lock_path();
    std::fs::remove_file(&lock).unwrap();
    let before = std::fs::read(&paths.state_file).unwrap();

    // Another cluster: the same repositories and namespace do not make it the same one.
    let mut other = all_new();
    if let kalypso_bootstrap::config::ClusterTarget::Create(new) = &mut other.cluster {
        new.name = "other".into();
        new.resource_group = "other-rg".into();
    }
    let refused = Bootstrap::open(
        other,
        runner.clone(),
        None,
        paths.clone(),
        harness.options(),
    )
    .err()
    .expect("another installation is refused");
    assert_eq!(refused.exit_code(), ExitCode::ConfigInvalid, "{refused}");
    assert!(refused.to_string().contains("AKS other"), "{refused}");
    // Another subscription.
    let mut options = harness.options();
    options.subscription = Some("99999999-2222-3333-4444-555555555555".into());
    let refused = Bootstrap::open(all_new(), runner.clone(), None, paths.clone(), options)
        .err()
        .expect("another subscription is refused");
    assert_eq!(refused.exit_code(), ExitCode::ConfigInvalid, "{refused}");
    // The demo world, by a run and by --clean.
    let refused = Bootstrap::open(
        all_new(),
        runner.clone(),
        None,
        paths.clone(),
        BootstrapOptions {
            demo: true,
            ..harness.options()
        },
    )
    .err()
    .expect("a demo run refuses a real state");
    assert_eq!(refused.exit_code(), ExitCode::ConfigInvalid, "{refused}");
    let refused = Cleanup::open(runner.clone(), None, &paths, InstallationWorld::Demo)
        .err()
        .expect("a demo clean refuses a real state");
    assert_eq!(refused.exit_code(), ExitCode::ConfigInvalid, "{refused}");

    assert_eq!(std::fs::read(&paths.state_file).unwrap(), before);
    assert!(!lock.exists(), "a refused open takes no lock");

    // A node count is not part of the identity.
    let mut bigger = all_new();
    if let kalypso_bootstrap::config::ClusterTarget::Create(new) = &mut bigger.cluster {
        new.node_count += 2;
    }
    let bootstrap = Bootstrap::open(bigger, runner, None, paths.clone(), harness.options())
        .expect("the same installation opens");
    assert_eq!(bootstrap.installation_id(), Some(recorded.id));
}
