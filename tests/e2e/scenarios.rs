//! End to end on the simulated environment with real git: the configurations of the
//! issue run to completion, push exactly the rendered templates, install and verify
//! Kalypso; a re-run changes nothing; no token reaches an argv.

use crate::support::consented::ConsentedBootstrap;
use crate::support::e2e::*;
use kalypso_bootstrap::config::FluxManifest;
use kalypso_bootstrap::engine::overview::Change;
use kalypso_bootstrap::engine::{Action, StepId};
use kalypso_bootstrap::state::{Ownership, Resource, RunStatus, StateStore};
use kalypso_bootstrap::templates::RepoKind;
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::ExitCode;

fn kalypso_is_installed(harness: &Harness, server: &str) {
    let snapshot = harness.sim.snapshot();
    let api = &snapshot.kube_clusters[server];
    let release = api
        .releases
        .values()
        .find(|r| r.name == "kalypso-scheduler")
        .expect("the Kalypso release");
    assert_eq!(release.namespace, NAMESPACE);
    assert_eq!(release.status, "deployed");
    assert_eq!(release.chart_version, "1.1.2-alpha");
    // The chart's token is in the cluster (for Flux and the controller), never shown.
    assert!(harness.sim.kube_secret_is(
        server,
        "flux-system",
        "gh-repo-secret",
        "password",
        CANARY
    ));
    assert!(harness
        .sim
        .kube_secret_is(server, NAMESPACE, "gh-repo-secret", "token", CANARY));
}

fn all_checks_passed(run: &Run) {
    let checks = run.health_checks();
    for name in [
        "pods",
        "crds",
        "controller",
        "webhooks",
        "flux-gitrepository",
        "flux-kustomization",
        "test-workload",
        "environment-flux",
        "baserepo",
        "gitopsrepo",
        "pull-request",
    ] {
        let last = checks
            .iter()
            .rev()
            .find(|(check, _)| check == name)
            .unwrap_or_else(|| panic!("no {name} check in {checks:?}"));
        assert_eq!(last.1, "Passing", "{name}: {checks:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_new_creates_everything_and_a_rerun_changes_nothing() {
    let harness = Harness::new();
    let config = all_new();
    let run = harness.run(&config).await;
    run.assert_success();
    for step in &run.plan.steps {
        assert_eq!(step.action, Action::Create, "{}", step.id);
    }

    // Azure: the resource group and the cluster, with the context in our kubeconfig.
    let snapshot = harness.sim.snapshot();
    assert!(snapshot.azure.resource_groups.contains_key(RESOURCE_GROUP));
    let server = harness
        .sim
        .aks_server(RESOURCE_GROUP, CLUSTER)
        .expect("cluster");
    let contexts = &snapshot.kubeconfigs[&harness.sim.default_kubeconfig().display().to_string()];
    assert!(contexts
        .iter()
        .any(|c| c.name == CLUSTER && c.server.as_deref() == Some(server.as_str())));
    assert_eq!(
        run.transitions(StepId::ClusterCreate),
        vec!["Not Exists", "Creating", "Running"]
    );
    // The cluster goes through the data model's whole chain, in order, across its steps.
    let cluster: Vec<String> = [
        StepId::ClusterCreate,
        StepId::ClusterCredentials,
        StepId::ClusterReady,
    ]
    .into_iter()
    .flat_map(|step| run.transitions(step))
    .collect();
    assert_eq!(
        cluster,
        vec!["Not Exists", "Creating", "Running", "Accessible", "Ready"]
    );
    assert_eq!(
        run.transitions(StepId::ClusterResourceGroup),
        vec!["Creating"]
    );

    // GitHub: both repositories with exactly the rendered templates, secrets, label.
    assert_pushed_exactly(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        CONTROL_PLANE,
    );
    assert_pushed_exactly(&harness, &config, RepoKind::Gitops, ORG, GITOPS);
    assert!(harness.sim.github_secret_is(
        ORG,
        CONTROL_PLANE,
        "GITOPS_REPO",
        &format!("{ORG}/{GITOPS}")
    ));
    assert!(harness
        .sim
        .github_secret_is(ORG, CONTROL_PLANE, "GITOPS_REPO_TOKEN", CANARY));
    assert!(harness
        .sim
        .github_secret_is(ORG, GITOPS, "CONTROL_PLANE_TOKEN", CANARY));
    let gitops = &snapshot.github.repos[&format!("{ORG}/{GITOPS}")];
    assert!(
        gitops.labels.values().any(|l| l.name == "promoted"),
        "{:?}",
        gitops.labels
    );
    assert_eq!(gitops.visibility, "PRIVATE");
    // Each repository: Creating → Empty → Initialized → Ready, across its steps.
    for steps in [
        &[
            StepId::ControlPlaneRepo,
            StepId::ControlPlaneSeed,
            StepId::ControlPlaneSecrets,
        ][..],
        &[
            StepId::GitopsRepo,
            StepId::GitopsSeed,
            StepId::GitopsSecrets,
            StepId::GitopsLabel,
        ][..],
    ] {
        let chain: Vec<String> = steps.iter().flat_map(|s| run.transitions(*s)).collect();
        assert_eq!(
            chain,
            vec!["Creating", "Empty", "Initialized", "Ready"],
            "{steps:?}"
        );
    }
    assert_eq!(
        run.transitions(StepId::ControlPlaneRepo),
        vec!["Creating", "Empty"]
    );
    assert_eq!(
        run.transitions(StepId::ControlPlaneSeed),
        vec!["Initialized"]
    );

    // Kubernetes: Flux, the chart, every health check.
    kalypso_is_installed(&harness, &server);
    all_checks_passed(&run);
    assert_eq!(
        run.transitions(StepId::InstallFlux),
        vec!["Installing", "Running"]
    );
    // The installation: Installing → Deployed → Running → Healthy → Verified.
    let installation: Vec<String> = [StepId::InstallKalypso, StepId::HealthChecks]
        .into_iter()
        .flat_map(|step| run.transitions(step))
        .collect();
    assert_eq!(
        installation,
        vec!["Installing", "Deployed", "Running", "Healthy", "Verified"]
    );
    // The test Workload was deleted again.
    let api = &snapshot.kube_clusters[&server];
    assert!(!api.objects.contains_key("workloads.scheduler.kalypso.io"));

    // The state: completed, everything ours, the summary filled in.
    let state = StateStore::at_custom(harness.paths().state_file)
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(state.status, RunStatus::Completed);
    assert!(state.cluster.created);
    assert_eq!(state.cluster.kube_context.as_deref(), Some(CLUSTER));
    assert_eq!(
        state.repositories.gitops.url.as_deref(),
        Some(format!("https://github.com/{ORG}/{GITOPS}").as_str())
    );
    assert_eq!(state.installation.version.as_deref(), Some("1.1.2-alpha"));
    for kind in [
        "resource_group",
        "aks_cluster",
        "kube_context",
        "repository",
        "flux",
        "namespace",
        "helm_release",
        "kalypso_crds",
    ] {
        let record = state
            .resources
            .iter()
            .find(|r| r.resource.kind() == kind)
            .unwrap_or_else(|| panic!("{kind} not recorded"));
        assert_eq!(record.ownership, Ownership::CreatedByUs, "{kind}");
    }
    assert!(!state.to_json().contains(CANARY));

    // Every az call named the subscription; every kubectl/helm call the context.
    let calls = harness.sim.calls();
    for call in &calls {
        match call.program.as_str() {
            "az" => assert!(
                call.args.iter().any(|a| a == SUBSCRIPTION),
                "{}",
                call.command_line()
            ),
            "kubectl" if call.args.first().map(String::as_str) != Some("config") => {
                assert_eq!(
                    call.args[..2],
                    ["--context".to_string(), CLUSTER.to_string()],
                    "{}",
                    call.command_line()
                )
            }
            "helm" if !call.args.starts_with(&["show".to_string()]) => {
                assert!(
                    call.args
                        .windows(2)
                        .any(|w| w[0] == "--kube-context" && w[1] == CLUSTER),
                    "{}",
                    call.command_line()
                )
            }
            _ => {}
        }
    }
    assert_no_canary(&calls);
    // The token travels by environment (gh, and git's credential helper) and stdin only.
    for call in calls
        .iter()
        .filter(|c| c.program == "gh" || c.program == "git")
    {
        if call.program == "git" && call.args.first().map(String::as_str) != Some("push") {
            continue;
        }
        assert!(
            call.env_keys.iter().any(|k| k == "GH_TOKEN"),
            "{}",
            call.command_line()
        );
    }
    for call in calls
        .iter()
        .filter(|c| c.program == "git" && c.args.first().map(String::as_str) == Some("push"))
    {
        assert!(
            call.env_keys.iter().any(|k| k == "GIT_CONFIG_COUNT"),
            "credential helper by environment"
        );
    }
    for call in calls.iter().filter(|c| {
        c.args
            .starts_with(&["secret".to_string(), "set".to_string()])
    }) {
        assert!(
            call.stdin_len.unwrap_or(0) > 0,
            "secret values on stdin: {}",
            call.command_line()
        );
    }
    // Nothing is left in the work directory: the values file and the seeding work trees
    // are removed.
    let leftovers: Vec<_> = std::fs::read_dir(harness.paths().work_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let before = harness.sim.snapshot();

    // A re-run reuses everything and creates nothing.
    harness.sim.clear_calls();
    let rerun = harness.run(&config).await;
    rerun.assert_success();
    assert!(
        rerun.plan.steps.iter().all(|s| s.action != Action::Create),
        "{:?}",
        rerun
            .plan
            .steps
            .iter()
            .map(|s| (s.id, s.action))
            .collect::<Vec<_>>()
    );
    let mutating: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .filter(|c| is_mutating(c))
        .map(|c| c.command_line())
        .collect();
    assert!(
        mutating.is_empty(),
        "a re-run changed something: {mutating:#?}"
    );
    assert_eq!(harness.sim.snapshot(), before);
    assert_no_canary(&harness.sim.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_cluster_with_new_repositories() {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    let before = harness.sim.snapshot();
    let run = harness.run(&config).await;
    run.assert_success();
    for id in [
        StepId::ClusterPreflight,
        StepId::ClusterResourceGroup,
        StepId::ClusterCreate,
        StepId::ClusterCredentials,
    ] {
        assert_eq!(run.plan.action(id), Some(Action::Skip), "{id}");
    }
    assert_eq!(run.plan.action(StepId::ClusterReady), Some(Action::Reuse));
    // No Azure call at all; nothing in Azure changed.
    let calls = harness.sim.calls();
    assert!(
        calls.iter().all(|c| c.program != "az"),
        "{:?}",
        calls
            .iter()
            .filter(|c| c.program == "az")
            .map(|c| c.command_line())
            .collect::<Vec<_>>()
    );
    assert_eq!(harness.sim.snapshot().azure, before.azure);
    for call in calls.iter().filter(|c| c.program == "kubectl") {
        assert!(
            call.args
                .windows(2)
                .any(|w| w[0] == "--context" && w[1] == EXISTING_CONTEXT),
            "{}",
            call.command_line()
        );
    }
    assert_pushed_exactly(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        CONTROL_PLANE,
    );
    assert_pushed_exactly(&harness, &config, RepoKind::Gitops, ORG, GITOPS);
    kalypso_is_installed(&harness, EXISTING_SERVER);
    all_checks_passed(&run);
    let state = harness.open(&config).state().snapshot();
    assert!(!state.cluster.created);
    let context = state
        .resources
        .iter()
        .find(|r| matches!(r.resource, Resource::KubeContext { .. }))
        .unwrap();
    assert_eq!(
        context.ownership,
        Ownership::Reused,
        "an existing context is never ours"
    );
    assert_no_canary(&calls);

    // Rolling back removes what we created on the existing cluster, and leaves the
    // cluster, its context and everything else as it was.
    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_eq!(harness.settled(), before);
}

/// The "Cluster ready" checks work on any conformant cluster: an existing kind, k3d or AKS
/// cluster (each with the nodes, labels and system pods its tool makes; see
/// tests/fixtures/clusters) is found ready, and Kalypso is installed and verified on it
/// without a single az call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kalypso_installs_on_an_existing_kind_k3d_or_aks_cluster_without_azure() {
    use kalypso_bootstrap::config::{ClusterTarget, ExistingCluster};
    use kalypso_bootstrap::sim::KubeFlavour;
    for (context, server, flavour) in [
        (
            "kind-laptop",
            "https://127.0.0.1:40111",
            KubeFlavour::Kind { cluster: "laptop" },
        ),
        (
            "k3d-laptop",
            "https://0.0.0.0:40222",
            KubeFlavour::K3d { cluster: "laptop" },
        ),
        (
            "aks-own",
            "https://aks-own-dns-1a2b3c4d.hcp.eastus.azmk8s.io:443",
            KubeFlavour::Aks,
        ),
    ] {
        let harness = Harness::new();
        harness
            .sim
            .seed_kube_cluster_as(server, flavour, "1.31.5", 2);
        harness.sim.seed_kube_context(context, server).unwrap();
        let mut config = all_new();
        config.cluster = ClusterTarget::Existing(ExistingCluster {
            context: context.into(),
            name: None,
        });
        let run = harness.run(&config).await;
        run.assert_success();
        let ready = run.outcome.step(StepId::ClusterReady).unwrap();
        assert_eq!(
            ready.message.as_deref(),
            Some(format!("kube context {context}: 2 nodes Ready").as_str()),
            "{flavour:?}"
        );
        let calls = harness.sim.calls();
        assert!(
            calls.iter().all(|c| c.program != "az"),
            "{flavour:?}: {:?}",
            calls
                .iter()
                .filter(|c| c.program == "az")
                .map(|c| c.command_line())
                .collect::<Vec<_>>()
        );
        kalypso_is_installed(&harness, server);
        all_checks_passed(&run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_cluster_with_existing_repositories() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane = existing_repo("https://github.com/acme/platform-cp");
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops.git");
    seed_valid_repo(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        "platform-cp",
    );
    seed_valid_repo(&harness, &config, RepoKind::Gitops, ORG, "platform-gitops");
    let before = harness.sim.snapshot();
    let run = harness.run(&config).await;
    run.assert_success();
    assert_eq!(
        run.plan.action(StepId::ControlPlaneRepo),
        Some(Action::Reuse)
    );
    assert_eq!(run.plan.action(StepId::GitopsLabel), Some(Action::Skip));
    assert_eq!(
        run.transitions(StepId::ControlPlaneRepo),
        vec!["Validating", "Valid"]
    );
    // The repositories were only read by the tool; the scheduler it installed opened its
    // pull request against dev on the gitops repository (the health checks wait for it).
    let after = harness.sim.snapshot();
    let pulls = &after.github.repos["acme/platform-gitops"].pulls;
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(
        (pulls[0].base.as_str(), pulls[0].state.as_str()),
        ("dev", "OPEN")
    );
    assert!(pulls[0].head.starts_with("deployment/"), "{pulls:?}");
    assert_eq!(
        without_scheduler_pull_requests(after.github.clone()),
        before.github
    );
    assert!(harness.sim.calls().iter().all(|c| c.program != "git"));
    let server = harness.sim.aks_server(RESOURCE_GROUP, CLUSTER).unwrap();
    kalypso_is_installed(&harness, &server);
    all_checks_passed(&run);

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    // The scheduler's pull request is not ours: the rollback leaves it.
    let mut settled = harness.settled();
    settled.github = without_scheduler_pull_requests(settled.github);
    assert_eq!(
        settled, before,
        "the given repositories are untouched, the rest is gone"
    );
}

/// A repository URL the user gave is looked up live (`gh repo view`) before the plan marks
/// it as reused: one that does not exist is never `=`, and every such URL is reported at
/// once, before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_repository_urls_that_do_not_exist_are_all_reported_and_never_reused() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane = existing_repo("https://github.com/acme/no-such-cp");
    config.repositories.gitops = existing_repo("https://github.com/acme/no-such-gitops");
    let before = harness.sim.snapshot();

    let bootstrap = harness.open(&config);
    let observed = bootstrap.observe(&CancellationToken::new()).await.unwrap();
    let plan = bootstrap.plan(&observed);
    let overview = bootstrap.overview(&plan);
    drop(bootstrap);
    for id in [StepId::ControlPlaneRepo, StepId::GitopsRepo] {
        assert_ne!(plan.action(id), Some(Action::Reuse), "{id}");
    }
    assert!(
        overview
            .resources
            .iter()
            .filter(|r| r.resource.contains("no-such"))
            .all(|r| r.change != Change::Reuse && r.steps.iter().all(|s| s.change != Change::Reuse)),
        "{overview:#?}"
    );

    let error = harness.refused(&config).await;
    assert_eq!(error.exit_code, ExitCode::RepositoryFailed);
    for url in [
        "https://github.com/acme/no-such-cp",
        "https://github.com/acme/no-such-gitops",
    ] {
        assert!(
            error
                .message
                .contains(&format!("repository {url} is not reachable")),
            "{}",
            error.message
        );
    }
    assert!(harness.sim.calls().iter().all(|c| !is_mutating(c)));
    assert_eq!(harness.sim.snapshot(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_control_plane_with_a_new_gitops_repository() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane = existing_repo("https://github.com/acme/platform-cp");
    seed_valid_repo(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        "platform-cp",
    );
    let run = harness.run(&config).await;
    run.assert_success();
    assert_eq!(
        run.plan.action(StepId::ControlPlaneSeed),
        Some(Action::Skip)
    );
    assert_eq!(run.plan.action(StepId::GitopsSeed), Some(Action::Create));
    assert_pushed_exactly(&harness, &config, RepoKind::Gitops, ORG, GITOPS);
    // The new gitops templates name the existing control plane.
    let readme = &branch_files(&harness.bare(ORG, GITOPS), "main")["README.md"].1;
    assert!(String::from_utf8_lossy(readme).contains("acme/platform-cp"));
    assert!(harness
        .sim
        .github_secret_is(ORG, GITOPS, "CONTROL_PLANE_TOKEN", CANARY));
    // Nothing is set on the repository the user gave: it has what its workflows need.
    let cp = &harness.sim.snapshot().github.repos["acme/platform-cp"];
    assert_eq!(
        cp.secrets.iter().map(String::as_str).collect::<Vec<_>>(),
        ["GITOPS_REPO", "GITOPS_REPO_TOKEN"]
    );
    assert!(!harness
        .sim
        .github_secret_is(ORG, "platform-cp", "GITOPS_REPO_TOKEN", CANARY));
    all_checks_passed(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_existing_repository_is_reported_with_exactly_what_is_missing() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane = existing_repo("https://github.com/acme/half-cp");
    harness
        .sim
        .seed_repo(
            kalypso_bootstrap::sim::SeedRepo::new(ORG, "half-cp")
                .with_file("main", ".github/workflows/ci.yaml", "on: push\n")
                .with_file("main", ".environments/dev.yaml", "kind: Environment\n"),
        )
        .unwrap();
    // The plan refuses it: the check reads the repository before any step runs.
    let error = harness.refused(&config).await;
    assert_eq!(
        error.exit_code,
        kalypso_bootstrap::ExitCode::RepositoryFailed
    );
    // Checked by kind: a file without apiVersion scheduler.kalypso.io is no Environment.
    for missing in [
        "on main: no Environment (scheduler.kalypso.io) under .environments/",
        "branch dev is missing",
    ] {
        assert!(
            error.message.contains(missing),
            "{missing} not in {}",
            error.message
        );
    }
    // Workflows and helper scripts are warnings, never failures.
    assert!(
        !error.message.contains(".github/workflows/"),
        "workflow files are not failures: {}",
        error.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_interactive_run_from_a_configuration_file() {
    let harness = Harness::new();
    let file = harness.dir.path().join("kalypso.yaml");
    let user_values = harness.dir.path().join("my-values.yaml");
    std::fs::write(&user_values, "controllerManager:\n  replicas: 2\n").unwrap();
    std::fs::write(
        &file,
        format!("cluster:\n  existingContext: kind-dev\n  name: dev\nrepositories:\n  githubOrg: acme\n  visibility: public\n  controlPlane:\n    name: file-cp\n  gitops:\n    name: file-gitops\ninstallation:\n  namespace: kalypso-file\n  helmValues: {}\noptions:\n  nonInteractive: true\n  autoRollback: true\n", user_values.display()),
    )
    .unwrap();
    let validated = kalypso_bootstrap::config::build(
        kalypso_bootstrap::config::ConfigLayer::default(),
        Some(&file),
        &Default::default(),
        &[EXISTING_CONTEXT.to_string()],
    )
    .expect("the file is valid");
    let config = validated.configuration().clone();
    assert!(config.options.non_interactive);
    let run = harness.run(&config).await;
    run.assert_success();
    assert_pushed_exactly(&harness, &config, RepoKind::ControlPlane, ORG, "file-cp");
    assert_pushed_exactly(&harness, &config, RepoKind::Gitops, ORG, "file-gitops");
    let snapshot = harness.sim.snapshot();
    assert_eq!(snapshot.github.repos["acme/file-cp"].visibility, "PUBLIC");
    let api = &snapshot.kube_clusters[EXISTING_SERVER];
    assert!(
        api.releases.contains_key("kalypso-file/kalypso-scheduler"),
        "{:?}",
        api.releases.keys()
    );
    all_checks_passed(&run);
    // The user's values file comes after ours (on stdin), and wins.
    let calls = harness.sim.calls();
    let install = calls
        .iter()
        .find(|c| c.program == "helm" && c.args.first().map(String::as_str) == Some("upgrade"))
        .unwrap();
    let files: Vec<&String> = install
        .args
        .windows(2)
        .filter(|w| w[0] == "-f")
        .map(|w| &w[1])
        .collect();
    assert_eq!(files.len(), 2, "{}", install.command_line());
    assert_eq!(*files[0], "-", "ours come on stdin: {files:?}");
    assert!(install.stdin_len.is_some_and(|n| n > 0), "{install:?}");
    assert_eq!(*files[1], user_values.display().to_string());
    let deployment = harness
        .sim
        .kube_object(
            EXISTING_SERVER,
            "deployments.apps",
            Some("kalypso-file"),
            "kalypso-scheduler-controller-manager",
        )
        .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_no_canary(&calls);
}

/// Everything an all-new run creates carries this installation's mark, read live: the
/// Azure tag, the repository topic and id, the Kubernetes and Helm labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_run_creates_carries_the_installation_mark() {
    let harness = Harness::new();
    let config = all_new();
    harness.run(&config).await.assert_success();
    let state = harness.state();
    let id = state
        .installation_id()
        .expect("a run records its installation")
        .to_string();
    assert!(
        id.len() == 15 && id.starts_with("kb-") && id[3..].chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    let world = harness.settled();
    let tag =
        |tags: &std::collections::BTreeMap<String, String>| tags.get("kalypso-bootstrap").cloned();
    assert_eq!(
        tag(&world.azure.resource_groups[RESOURCE_GROUP].tags),
        Some(id.clone())
    );
    let cluster = world
        .azure
        .clusters
        .values()
        .find(|c| c.name == CLUSTER)
        .expect("the cluster");
    assert_eq!(tag(&cluster.tags), Some(id.clone()));
    for name in [CONTROL_PLANE, GITOPS] {
        let repo = &world.github.repos[&format!("{ORG}/{name}")];
        assert_eq!(repo.topics, vec!["kalypso-bootstrap".to_string()], "{name}");
        let record = state
            .resources
            .iter()
            .find(|r| matches!(&r.resource, Resource::Repository { name: n, .. } if n == name))
            .expect("recorded");
        let identity = record
            .repository_identity
            .as_ref()
            .expect("identity recorded");
        assert_eq!(identity.id, repo.id, "{name}");
        assert_eq!(identity.created_at, repo.created_at, "{name}");
    }
    let kube = world
        .kube_clusters
        .values()
        .find(|k| {
            k.releases
                .contains_key(&format!("{NAMESPACE}/kalypso-scheduler"))
        })
        .expect("the new cluster");
    let label = |resource: &str, name: &str| {
        kube.objects[resource][name]["metadata"]["labels"]["kalypso-bootstrap/installation"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(label("namespaces", NAMESPACE), Some(id.clone()));
    assert_eq!(label("namespaces", "flux-system"), Some(id.clone()));
    assert_eq!(
        kube.objects["namespaces"][NAMESPACE]["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kalypso-bootstrap"
    );
    assert_eq!(
        label(
            "customresourcedefinitions.apiextensions.k8s.io",
            "workloads.scheduler.kalypso.io"
        ),
        Some(id.clone())
    );
    assert_eq!(
        kube.releases[&format!("{NAMESPACE}/kalypso-scheduler")].labels
            ["kalypso-bootstrap/installation"],
        id
    );
}

/// Issue 12: a state file edited to claim a reused repository and a reused resource group
/// as `created_by_us` must not make a rollback delete them: the live resources lack the
/// mark. The rollback keeps them, says why, and is not complete (exit 1 for `--clean`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_edited_to_claim_reused_resources_does_not_get_them_deleted() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane = existing_repo("https://github.com/acme/platform-cp");
    seed_valid_repo(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        "platform-cp",
    );
    harness.sim.seed_resource_group(RESOURCE_GROUP, REGION);
    harness.run(&config).await.assert_success();

    let mut state = harness.state();
    let mut claimed = 0;
    for record in &mut state.resources {
        let reused_repo =
            matches!(&record.resource, Resource::Repository { name, .. } if name == "platform-cp");
        let reused_group = matches!(&record.resource, Resource::ResourceGroup { .. });
        if reused_repo || reused_group {
            assert_eq!(record.ownership, Ownership::Reused, "{:?}", record.resource);
            record.ownership = Ownership::CreatedByUs;
            claimed += 1;
        }
    }
    assert_eq!(claimed, 2);
    StateStore::at_custom(harness.paths().state_file)
        .save(&state)
        .unwrap();

    let report = harness.rollback(&config).await;
    assert!(!report.is_complete(), "{:?}", report.removals);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    assert_eq!(report.kept.len(), 2, "{:?}", report.kept);
    assert!(
        report
            .kept
            .iter()
            .any(|k| k.contains("acme/platform-cp") && k.contains("no GitHub id")),
        "{:?}",
        report.kept
    );
    assert!(
        report
            .kept
            .iter()
            .any(|k| k.contains(RESOURCE_GROUP) && k.contains("no kalypso-bootstrap tag")),
        "{:?}",
        report.kept
    );

    let world = harness.settled();
    assert!(world.github.repos.contains_key("acme/platform-cp"));
    assert!(world.azure.resource_groups.contains_key(RESOURCE_GROUP));
    // What the run did create is gone.
    assert!(!world.github.repos.contains_key(&format!("{ORG}/{GITOPS}")));
    assert!(
        world.azure.clusters.is_empty(),
        "{:?}",
        world.azure.clusters.keys()
    );

    let state = harness.state();
    assert_eq!(state.status, RunStatus::Failed);
    let kept: Vec<_> = state
        .resources
        .iter()
        .filter(|r| r.status == kalypso_bootstrap::state::ResourceStatus::KeptNotOurs)
        .map(|r| r.resource.kind())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
}

/// A repository deleted and created again under the same name (by someone else) has
/// another GitHub id: a rollback keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_recreated_under_the_same_name_is_kept() {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    harness.run(&config).await.assert_success();
    let gh = kalypso_bootstrap::tools::gh::Gh::new(std::sync::Arc::new(harness.sim.clone()))
        .with_token(secrecy::SecretString::from(CANARY));
    gh.repo_delete(&format!("{ORG}/{GITOPS}")).await.unwrap();
    harness
        .sim
        .seed_repo(
            kalypso_bootstrap::sim::SeedRepo::new(ORG, GITOPS).with_file(
                "main",
                "README.md",
                "# theirs\n",
            ),
        )
        .unwrap();
    let report = harness.rollback(&config).await;
    assert!(!report.is_complete());
    assert_eq!(report.kept.len(), 1, "{:?}", report.kept);
    assert!(report.kept[0].contains("GitHub id"), "{}", report.kept[0]);
    assert!(harness
        .settled()
        .github
        .repos
        .contains_key(&format!("{ORG}/{GITOPS}")));
}

/// A kubeconfig that already has a context named like the new cluster stops the run
/// before anything is created (exit 3): the credentials would replace the user's context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kube_context_named_like_the_new_cluster_stops_the_run_before_anything_is_created() {
    let harness = Harness::new();
    harness
        .sim
        .seed_kube_context(CLUSTER, EXISTING_SERVER)
        .unwrap();
    let before = harness.settled();
    let bootstrap = harness.open(&all_new());
    let error = bootstrap
        .observe(&kalypso_bootstrap::tools::CancellationToken::new())
        .await
        .expect_err("the collision is found by the observation");
    assert_eq!(error.exit_code, kalypso_bootstrap::ExitCode::ConfigInvalid);
    assert!(
        error
            .message
            .contains("already has a context named kalypso"),
        "{}",
        error.message
    );
    assert!(error
        .hint
        .as_deref()
        .unwrap_or_default()
        .contains("kube-context-already-in-the-kubeconfig"));
    drop(bootstrap);
    assert_eq!(before, harness.settled(), "nothing changed");
}

/// The reference control plane (microsoft/kalypso-control-plane, vendored as a git bundle with
/// branches main, dev and stage) seeded as `acme/<name>`.
/// The URLs of the upstream repositories the reference control plane names (its
/// Environments, BaseRepos and GitOpsRepos).
const UPSTREAM_CONTROL_PLANE: &str = "https://github.com/microsoft/kalypso-control-plane";
const UPSTREAM_GITOPS: &str = "https://github.com/microsoft/kalypso-gitops";

/// The reference control plane as a user keeps it in `acme/{name}`: its Environments and
/// BaseRepo name that repository, as its README asks; its GitOpsRepo still names
/// Microsoft's gitops repository (what a run with a new gitops repository points elsewhere).
fn seed_reference_control_plane(harness: &Harness, name: &str, drop: Option<(&str, &str)>) {
    let url = format!("https://github.com/{ORG}/{name}");
    seed_reference_control_plane_pointing(harness, name, drop, Some(&url), None);
}

/// The reference control plane; `control_plane` and `gitops` replace the upstream
/// repository URLs it names (its copy as a user adopts it); `None` keeps them verbatim.
fn seed_reference_control_plane_pointing(
    harness: &Harness,
    name: &str,
    drop: Option<(&str, &str)>,
    control_plane: Option<&str>,
    gitops: Option<&str>,
) {
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let mut seed = kalypso_bootstrap::sim::SeedRepo::from_git(ORG, name, &bundle)
        .expect("the vendored bundle reads");
    assert_eq!(
        seed.branches.keys().collect::<Vec<_>>(),
        ["dev", "main", "stage"]
    );
    if let Some((branch, path)) = drop {
        let removed = seed.branches.get_mut(branch).unwrap().remove(path);
        assert!(removed.is_some(), "{path} is on {branch} of the reference");
    }
    for (upstream, adopted) in [
        (UPSTREAM_CONTROL_PLANE, control_plane),
        (UPSTREAM_GITOPS, gitops),
    ] {
        let Some(adopted) = adopted else { continue };
        let mut replaced = 0;
        for files in seed.branches.values_mut() {
            for bytes in files.values_mut() {
                let text = String::from_utf8_lossy(bytes).into_owned();
                let changed = text.replace(upstream, adopted);
                if changed != text {
                    replaced += 1;
                    *bytes = changed.into_bytes();
                }
            }
        }
        assert!(replaced > 0, "the reference names {upstream}");
    }
    harness.sim.seed_repo(seed).expect("seeded repository");
    // Its files are new commits now: the BaseRepo's pin moves to them.
    if drop != Some(("dev", "base-repo.yaml")) {
        pin_base_repo_to_main(harness, name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_control_plane_passes_the_existing_control_plane_path() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    // Adopted as its README asks: its Environments, BaseRepos and GitOpsRepos name the
    // user's repositories (copied verbatim, they name Microsoft's: see the next test).
    seed_reference_control_plane_pointing(
        &harness,
        "kalypso-control-plane",
        None,
        Some("https://github.com/acme/kalypso-control-plane"),
        Some(&format!("https://github.com/{ORG}/{GITOPS}")),
    );
    let run = harness.run(&config).await;
    run.assert_success();
    assert_eq!(
        run.transitions(StepId::ControlPlaneRepo),
        vec!["Validating", "Valid"]
    );
    // Its helpers differ from ours (no promote.sh, check-manifests.py, verify-deployment.sh):
    // warnings in the step's result, with what they mean for promotions.
    let message = run
        .outcome
        .step(StepId::ControlPlaneRepo)
        .and_then(|step| step.message.clone())
        .expect("the repository step has a result");
    for helper in [
        ".github/workflows/utils/promote.sh",
        ".github/workflows/utils/check-manifests.py",
        ".github/workflows/utils/verify-deployment.sh",
    ] {
        assert!(message.contains(helper), "{helper} not in {message}");
    }
    assert!(message.contains("promotions"), "{message}");
    // The plan lists them too, before anything runs.
    let planned = run
        .plan
        .steps
        .iter()
        .find(|step| step.id == StepId::ControlPlaneRepo)
        .expect("planned");
    assert!(
        planned
            .reason
            .contains(".github/workflows/utils/promote.sh"),
        "{}",
        planned.reason
    );
    // Present helpers are no warning.
    assert!(!message.contains("update-status.sh"), "{message}");
    all_checks_passed(&run);
}

/// The reference control plane registers microsoft/kalypso-svc-src's `observability`
/// workload for the platform-team workspace; its policy places what carries
/// `stack: observability` on cluster types labelled `size: large`: the `large` cluster
/// type only (not `small`, `drone`, `command-center`). The pull request carries that folder,
/// rendered from the reference's own templates and platform configs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_control_plane_schedules_observability_onto_the_large_cluster_type() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    seed_reference_control_plane_pointing(
        &harness,
        "kalypso-control-plane",
        None,
        Some("https://github.com/acme/kalypso-control-plane"),
        Some(&format!("https://github.com/{ORG}/{GITOPS}")),
    );
    // The seeding pinned the BaseRepo to the copy's main (see `pin_base_repo_to_main`).
    let main = String::from_utf8(git(
        &harness.bare(ORG, "kalypso-control-plane"),
        &["rev-parse", "refs/heads/main"],
    ))
    .unwrap()
    .trim()
    .to_string();
    let run = harness.run(&config).await;
    run.assert_success();
    let files = scheduler_pull_request_files(&harness, ORG, GITOPS);
    let scheduled: Vec<&String> = files
        .keys()
        .filter(|path| path.ends_with("/reconciler.yaml"))
        .collect();
    assert_eq!(
        scheduled,
        ["large/observability-prometheus/reconciler.yaml"],
        "{:?}",
        files.keys()
    );
    let reconciler = &files["large/observability-prometheus/reconciler.yaml"];
    // The reference's arc-flux template, for the prometheus deployment target.
    assert!(
        reconciler.contains("url: \"https://github.com/microsoft/kalypso-svc-gitops\""),
        "{reconciler}"
    );
    assert!(
        reconciler.contains("targetNamespace: \"dev-large-observability-prometheus\""),
        "{reconciler}"
    );
    // Its platform configs for a large cluster type in west-us, in the dev environment.
    let config_map = &files["large/observability-prometheus/platform-config.yaml"];
    for line in [
        "CLUSTER_NAME: Large",
        "DATABASE_URL: mysql://west:8806/mysql2",
        "ENVIRONMENT: Dev",
        "REGION: West US",
        "SOME_COMMON_ENVIRONMENT_VARIABLE: \"false\"",
    ] {
        assert!(config_map.contains(line), "{line} not in {config_map}");
    }
    // Every cluster type has its folder's README.
    for cluster_type in ["large", "small", "drone", "command-center"] {
        assert!(files.contains_key(&format!("{cluster_type}/README.md")));
    }
    // `addPromotedCommitId`: the pinned commit is recorded, and the pull request labelled.
    assert_eq!(files[".github/tracking/Promoted_Commit_Id"], main.trim());
    let snapshot = harness.sim.snapshot();
    let pull = snapshot.github.repos[&format!("{ORG}/{GITOPS}").to_lowercase()]
        .pulls
        .iter()
        .find(|p| p.state == "OPEN")
        .cloned()
        .unwrap();
    assert_eq!(pull.labels, ["promoted"]);
}

/// The adopted copy's BaseRepo pins a commit of the reference's history, which the changed
/// copy does not have (its files are new commits): the pin moves to the copy's `main`, as
/// the reference's cd workflow pins the commit it promotes.
fn pin_base_repo_to_main(harness: &Harness, name: &str) -> String {
    let bare = harness.bare(ORG, name);
    let main = String::from_utf8(git(&bare, &["rev-parse", "refs/heads/main"])).unwrap();
    assert!(
        git_fails(&bare, &["cat-file", "-e", REFERENCE_PINNED_COMMIT]),
        "the changed copy does not have the reference's history"
    );
    pin_base_repo(&bare, main.trim());
    main.trim().to_string()
}

/// Point the BaseRepo of `dev:base-repo.yaml` at `commit`, in a commit of its own.
fn pin_base_repo(bare: &std::path::Path, commit: &str) {
    edit_file(bare, "dev", "base-repo.yaml", |text| {
        regex::Regex::new(r"commit: [0-9a-f]{40}")
            .unwrap()
            .replace(text, format!("commit: {commit}").as_str())
            .into_owned()
    });
}

/// The commit the reference control plane's BaseRepo pins on `dev` (in its `main` history).
const REFERENCE_PINNED_COMMIT: &str = "5523a85f37d12c0c7c10ab6616644db089fcd6f7";

fn git_fails(bare: &std::path::Path, args: &[&str]) -> bool {
    !std::process::Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(args)
        .output()
        .expect("git runs")
        .status
        .success()
}

/// A repository seeded from a bundle keeps its history: the reference's pinned commit is
/// there, as on GitHub.
#[test]
fn a_repository_seeded_from_the_reference_bundle_keeps_its_history() {
    let harness = Harness::new();
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let seed =
        kalypso_bootstrap::sim::SeedRepo::from_git_keeping_history(ORG, "reference", &bundle)
            .expect("the vendored bundle reads");
    harness.sim.seed_repo(seed).expect("seeded");
    let bare = harness.bare(ORG, "reference");
    assert!(!git_fails(
        &bare,
        &["cat-file", "-e", REFERENCE_PINNED_COMMIT]
    ));
    assert!(!git_fails(
        &bare,
        &[
            "merge-base",
            "--is-ancestor",
            REFERENCE_PINNED_COMMIT,
            "refs/heads/main"
        ]
    ));
    let base_repo = String::from_utf8(git(&bare, &["show", "dev:base-repo.yaml"])).unwrap();
    assert!(base_repo.contains(REFERENCE_PINNED_COMMIT), "{base_repo}");
}

/// A BaseRepo pinning a commit its branch does not have: Flux cannot check it out, and the
/// run's checks report source-controller's error (the simulator does not fall back to the
/// branch's tip).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_repo_pinning_a_commit_its_branch_lacks_fails_the_checks_with_fluxs_error() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    seed_reference_control_plane_pointing(
        &harness,
        "kalypso-control-plane",
        None,
        Some("https://github.com/acme/kalypso-control-plane"),
        Some(&format!("https://github.com/{ORG}/{GITOPS}")),
    );
    // The pin as the reference has it: a commit of the reference's history, which this
    // copy (new commits) does not have.
    let bare = harness.bare(ORG, "kalypso-control-plane");
    pin_base_repo(&bare, REFERENCE_PINNED_COMMIT);
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    assert!(
        error.message.contains(&format!(
            "unable to resolve commit object for '{REFERENCE_PINNED_COMMIT}'"
        )),
        "{}",
        error.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_control_plane_copied_verbatim_is_refused_naming_what_to_point_at_it() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    // Copied as it is: its Environment and BaseRepo name microsoft/kalypso-control-plane,
    // so the scheduler would follow Microsoft's repository, never the user's copy.
    seed_reference_control_plane_pointing(&harness, "kalypso-control-plane", None, None, None);
    let before = harness.sim.snapshot();
    let error = harness.refused(&config).await;
    assert_eq!(
        error.exit_code,
        kalypso_bootstrap::ExitCode::RepositoryFailed
    );
    for part in [
        "repository https://github.com/acme/kalypso-control-plane tells the scheduler to follow another repository",
        "on main, .environments/dev.yaml (Environment dev) has spec.controlPlane.repo https://github.com/microsoft/kalypso-control-plane",
        "change: set spec.controlPlane.repo to https://github.com/acme/kalypso-control-plane",
        "on dev, base-repo.yaml (BaseRepo main) has spec.repo https://github.com/microsoft/kalypso-control-plane",
        "change: set spec.repo to https://github.com/acme/kalypso-control-plane",
    ] {
        assert!(error.message.contains(part), "{part} not in {}", error.message);
    }
    assert!(error.hint.as_ref().is_some_and(|hint| hint
        .to_string()
        .contains("--explain control-plane-follows-another-repository")));
    // Nothing was created or changed.
    assert_eq!(harness.settled(), before);
}

/// A BaseRepo naming another repository while the Environment names this one can be a
/// choice (workloads and templates kept elsewhere): a warning in the plan, not a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_repo_kept_in_another_repository_is_a_warning_in_the_plan() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    // The Environment adopted, the BaseRepo (and the GitOpsRepo) left as the reference has them.
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let mut seed =
        kalypso_bootstrap::sim::SeedRepo::from_git(ORG, "kalypso-control-plane", &bundle)
            .expect("the vendored bundle reads");
    let environment = seed
        .branches
        .get_mut("main")
        .unwrap()
        .get_mut(".environments/dev.yaml")
        .expect("the reference's Environment dev");
    let adopted = String::from_utf8_lossy(environment).replace(
        UPSTREAM_CONTROL_PLANE,
        "https://github.com/acme/kalypso-control-plane",
    );
    *environment = adopted.into_bytes();
    harness.sim.seed_repo(seed).expect("seeded repository");

    let plan = harness.planned(&config).await;
    let reason = &plan
        .steps
        .iter()
        .find(|step| step.id == StepId::ControlPlaneRepo)
        .expect("planned")
        .reason;
    assert!(
        reason.contains("on dev, base-repo.yaml (BaseRepo main) has spec.repo https://github.com/microsoft/kalypso-control-plane: the scheduler reads the workload registrations and templates from that repository"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_control_plane_without_its_base_repo_fails_naming_exactly_that() {
    let harness = Harness::new();
    // A new cluster: the check runs in the plan, before any step creates anything.
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    seed_reference_control_plane(
        &harness,
        "kalypso-control-plane",
        Some(("dev", "base-repo.yaml")),
    );
    let before = harness.sim.snapshot();
    let error = harness.refused(&config).await;
    assert_eq!(error.exit_code.code(), 5);
    assert!(
        error.message.ends_with(
            "lacks what Kalypso needs (1 problem): on dev: no BaseRepo (scheduler.kalypso.io)"
        ),
        "{}",
        error.message
    );
    // Nothing was created: no cluster, no gitops repository.
    assert_eq!(harness.settled(), before);
}

/// The reference control plane's GitOpsRepo on `dev` as the vendored bundle has it.
const REFERENCE_GITOPS_REPO: &str = "https://github.com/microsoft/kalypso-gitops";

fn file_on(harness: &Harness, name: &str, branch: &str, path: &str) -> String {
    let files = branch_files(&harness.bare(ORG, name), branch);
    String::from_utf8(files[path].1.clone()).expect("utf-8")
}

/// Someone else's commit to `branch` of a simulated repository, changing `path`.
fn push_their_change(harness: &Harness, name: &str, branch: &str, path: &str, content: &str) {
    let work = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=them", "-c", "user.email=them@example.com"])
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let bare = harness.bare(ORG, name).display().to_string();
    run(&["clone", "--quiet", "--branch", branch, &bare, "clone"]);
    std::fs::write(work.path().join("clone").join(path), content).unwrap();
    run(&["-C", "clone", "commit", "--quiet", "-am", "theirs"]);
    run(&["-C", "clone", "push", "--quiet", "origin", branch]);
}

fn reference_with_new_gitops() -> kalypso_bootstrap::config::Configuration {
    let mut config = all_new();
    config.repositories.control_plane =
        existing_repo("https://github.com/acme/kalypso-control-plane");
    config
}

/// Pointing the GitOpsRepo elsewhere leaves a `GITOPS_REPO` that exists untouched (its
/// value is never shown): the plan warns that it may still name the old repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_gitops_repo_secret_is_flagged_when_the_gitops_repo_is_repointed() {
    let harness = Harness::new();
    seed_adopted_reference_with_secrets(&harness, &["GITOPS_REPO", "GITOPS_REPO_TOKEN"], |_| {});
    let plan = harness.planned(&reference_with_new_gitops()).await;
    let secrets = plan.step(StepId::ControlPlaneSecrets).unwrap();
    assert_eq!(secrets.action, Action::Skip, "{}", secrets.reason);
    assert!(
        secrets.reason.contains(&format!(
            "its GITOPS_REPO secret exists and is not read (GitHub never shows a value); if it still names {REFERENCE_GITOPS_REPO}, which the GitOpsRepo named, the promotion workflows go there: set it to {ORG}/{GITOPS} (gh secret set GITOPS_REPO --repo {ORG}/{CONTROL_PLANE})"
        )),
        "{}",
        secrets.reason
    );
}

/// The secrets the dry run sets on an existing repository are the plan's data (the step's
/// `secrets`), not words found in its reason: the warning about an existing `GITOPS_REPO`
/// names it, yet only the missing `GITOPS_REPO_TOKEN` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_sets_only_the_secrets_the_plan_found_missing() {
    let harness = Harness::new();
    seed_adopted_reference_with_secrets(&harness, &["GITOPS_REPO"], |_| {});
    let config = reference_with_new_gitops();
    let plan = harness.planned(&config).await;
    let secrets = plan.step(StepId::ControlPlaneSecrets).unwrap();
    assert_eq!(secrets.action, Action::Create, "{}", secrets.reason);
    assert_eq!(secrets.secrets, ["GITOPS_REPO_TOKEN"]);
    assert!(
        secrets.reason.contains("GITOPS_REPO secret exists"),
        "{}",
        secrets.reason
    );
    let bootstrap = harness.open(&config);
    let dry = bootstrap.dry_run(&plan);
    let json: serde_json::Value = serde_json::from_str(&dry.to_json()).unwrap();
    let step = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == StepId::ControlPlaneSecrets.as_str())
        .unwrap()
        .clone();
    let set: Vec<String> = step["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::from_value::<Vec<String>>(c.clone()).unwrap())
        .filter(|c| {
            c.get(1).map(String::as_str) == Some("secret")
                && c.get(2).map(String::as_str) == Some("set")
        })
        .map(|c| c[3].clone())
        .collect();
    assert_eq!(set, ["GITOPS_REPO_TOKEN"], "{step}");
}

/// The reference control plane as a user adopts it (its own URL where upstream's was), with
/// `edit` applied to its branches' files before it is seeded.
fn seed_adopted_reference(
    harness: &Harness,
    edit: impl FnOnce(
        &mut std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<u8>>>,
    ),
) {
    seed_adopted_reference_with_secrets(harness, &[], edit);
}

/// [`seed_adopted_reference`] with these Actions secrets already set on it.
fn seed_adopted_reference_with_secrets(
    harness: &Harness,
    secrets: &[&str],
    edit: impl FnOnce(
        &mut std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<u8>>>,
    ),
) {
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let mut seed = kalypso_bootstrap::sim::SeedRepo::from_git(ORG, CONTROL_PLANE, &bundle)
        .expect("the vendored bundle reads");
    for secret in secrets {
        seed = seed.with_secret(secret);
    }
    let own = format!("https://github.com/{ORG}/{CONTROL_PLANE}");
    for files in seed.branches.values_mut() {
        for bytes in files.values_mut() {
            *bytes = String::from_utf8_lossy(bytes)
                .replace(UPSTREAM_CONTROL_PLANE, &own)
                .into_bytes();
        }
    }
    edit(&mut seed.branches);
    harness.sim.seed_repo(seed).expect("seeded repository");
}

/// Two GitOpsRepos on `dev` while a new gitops repository is configured: pointing both at
/// it would be wrong and pointing one would leave the other, so the plan refuses (exit 5)
/// naming each and its file, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_gitops_repos_on_the_environment_branch_are_refused_naming_each() {
    let harness = Harness::new();
    seed_adopted_reference(&harness, |branches| {
        let second = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: GitOpsRepo\nmetadata:\n  name: dev-extra\nspec:\n  repo: https://github.com/acme/other-gitops\n  branch: dev\n  path: .\n";
        branches.get_mut("dev").unwrap().insert(
            "extra/second-gitops.yaml".into(),
            second.as_bytes().to_vec(),
        );
    });
    let before = harness.sim.snapshot();
    let error = harness.refused(&reference_with_new_gitops()).await;
    assert_eq!(error.exit_code.code(), 5);
    for part in [
        "2 GitOpsRepo resources",
        "dev in gitops-repo.yaml (spec.repo https://github.com/microsoft/kalypso-gitops)",
        "dev-extra in extra/second-gitops.yaml (spec.repo https://github.com/acme/other-gitops)",
    ] {
        assert!(
            error.message.contains(part),
            "{part} not in {}",
            error.message
        );
    }
    assert_eq!(harness.settled(), before);
}

/// A BaseRepo on `dev` named other than `main`: the controller reads the promoted commit only
/// from `main`, so the plan warns (it does not refuse) that promotion tracking will not work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_repo_not_named_main_is_a_plan_warning_about_promotion_tracking() {
    let harness = Harness::new();
    seed_adopted_reference(&harness, |branches| {
        let file = branches
            .get_mut("dev")
            .unwrap()
            .get_mut("base-repo.yaml")
            .unwrap();
        *file = String::from_utf8_lossy(file)
            .replace("name: main", "name: platform")
            .into_bytes();
    });
    let plan = harness.planned(&reference_with_new_gitops()).await;
    let repo = plan.step(StepId::ControlPlaneRepo).unwrap();
    for part in [
        "no BaseRepo is named main (found platform in base-repo.yaml)",
        "promotion tracking (.github/tracking/Promoted_Commit_Id, the promoted label) will not work",
        "fix: set metadata.name: main",
    ] {
        assert!(repo.reason.contains(part), "{part} not in {}", repo.reason);
    }
}

fn recorded_file_commit(harness: &Harness) -> Resource {
    let state = harness.state();
    let records: Vec<_> = state
        .resources
        .iter()
        .filter(|r| r.resource.kind() == "repo_file_commit")
        .collect();
    assert_eq!(records.len(), 1, "{:?}", state.resources);
    assert_eq!(records[0].ownership, Ownership::CreatedByUs);
    records[0].resource.clone()
}

/// An existing control plane (the reference) with a NEW gitops repository: its GitOpsRepo
/// names upstream's gitops repository, so the plan shows the change, the run makes it in one
/// commit (recorded as ours), and the rollback puts the file back as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_control_plane_is_pointed_at_the_new_gitops_repository_and_back() {
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let original = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    assert!(original.contains(REFERENCE_GITOPS_REPO), "{original}");
    let new_gitops = format!("https://github.com/{ORG}/{GITOPS}");

    let run = harness.run(&config).await;
    run.assert_success();
    let planned = run.plan.step(StepId::ControlPlaneSeed).unwrap();
    assert_eq!(planned.action, Action::Create);
    for part in [
        "gitops-repo.yaml",
        "branch dev",
        "spec.repo",
        REFERENCE_GITOPS_REPO,
        new_gitops.as_str(),
    ] {
        assert!(
            planned.reason.contains(part),
            "{part} not in {}",
            planned.reason
        );
    }
    // The file on dev points at the new repository; nothing else of it changed.
    let pointed = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    assert_eq!(
        pointed,
        original.replace(REFERENCE_GITOPS_REPO, &new_gitops)
    );
    // One commit, recorded with what it replaced.
    let head = String::from_utf8(git(
        &harness.bare(ORG, CONTROL_PLANE),
        &["rev-parse", "dev"],
    ))
    .unwrap();
    let Resource::RepoFileCommit {
        repository,
        branch,
        path,
        commit,
        previous_content,
        ..
    } = recorded_file_commit(&harness)
    else {
        unreachable!()
    };
    assert_eq!(
        (repository.as_str(), branch.as_str(), path.as_str()),
        ("acme/kalypso-control-plane", "dev", "gitops-repo.yaml")
    );
    assert_eq!(commit, head.trim());
    assert_eq!(previous_content, original);
    let parents = String::from_utf8(git(
        &harness.bare(ORG, CONTROL_PLANE),
        &["rev-list", "--count", &format!("{commit}^..{commit}")],
    ))
    .unwrap();
    assert_eq!(parents.trim(), "1", "one commit");
    // The control plane lacked its secrets: set (the token on stdin only) and recorded.
    assert!(harness
        .sim
        .github_secret_is(ORG, CONTROL_PLANE, "GITOPS_REPO_TOKEN", CANARY));
    assert!(harness.sim.github_secret_is(
        ORG,
        CONTROL_PLANE,
        "GITOPS_REPO",
        &format!("{ORG}/{GITOPS}")
    ));
    assert_no_canary(&harness.sim.calls());
    let state_text = std::fs::read_to_string(harness.paths().state_file).unwrap();
    assert!(!state_text.contains(CANARY));

    let report = harness.rollback(&config).await;
    assert!(
        report.is_complete(),
        "{:?} {:?}",
        report.leftovers,
        report.kept
    );
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        original
    );
    let cp = &harness.settled().github.repos["acme/kalypso-control-plane"];
    assert!(cp.secrets.is_empty(), "{:?}", cp.secrets);
}

/// A GitOpsRepo file someone changed after our commit is not ours any more: the rollback
/// leaves it in place, saying why, and never force-pushes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitops_repo_file_changed_since_our_commit_is_left_in_place() {
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    harness.run(&config).await.assert_success();
    let theirs = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml")
        .replace("path: .", "path: ./clusters");
    push_their_change(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml", &theirs);

    let report = harness.rollback(&config).await;
    assert!(!report.is_complete());
    assert_eq!(report.kept.len(), 1, "{:?}", report.kept);
    assert!(
        report.kept[0].contains("gitops-repo.yaml"),
        "{}",
        report.kept[0]
    );
    assert!(
        report.kept[0].contains("changed since"),
        "{}",
        report.kept[0]
    );
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        theirs
    );
}

/// Without consent (`--non-interactive`, no `--yes`), the same configuration stops before
/// anything is created, naming the file, the branch, the key and the value to set, and the
/// exact `gh` commands for the missing secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_the_pointer_change_is_refused_before_anything_is_created() {
    let harness = Harness::new();
    let mut config = reference_with_new_gitops();
    config.options.non_interactive = true;
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let before = harness.settled();
    let session = harness.session(
        &config,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let (warnings, _unread) = kalypso_bootstrap::engine::EventSink::channel();
    let plan = session
        .plan(
            &kalypso_bootstrap::tools::CancellationToken::new(),
            &warnings,
        )
        .await
        .expect("the plan itself may be shown (and dry-run)");
    let error = session
        .confirm(harness.validated(&config), &plan, None)
        .await
        .expect_err("no consent");
    assert_eq!(error.exit_code.code(), 5);
    for part in [
        "gitops-repo.yaml",
        "branch dev",
        "spec.repo",
        "set spec.repo to https://github.com/acme/kalypso-gitops",
        "gh secret set GITOPS_REPO --repo acme/kalypso-control-plane",
        "gh secret set GITOPS_REPO_TOKEN --repo acme/kalypso-control-plane",
        "--yes",
    ] {
        assert!(
            error.message.contains(part),
            "{part} not in {}",
            error.message
        );
    }
    assert!(error
        .hint
        .as_deref()
        .unwrap_or_default()
        .contains("existing-repository-needs-changes"));
    drop(session);
    assert_eq!(harness.settled(), before, "nothing changed");
    assert_no_canary(&harness.sim.calls());

    // `--yes` is the consent.
    config.options.skip_confirmation = true;
    let session = harness.session(
        &config,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let active = session
        .confirm(harness.validated(&config), &plan, None)
        .await;
    assert!(matches!(active, Ok(Some(_))), "consented");
}

/// An existing gitops repository with a user's open pull request against `dev` (and one of
/// the scheduler's own, `deployment/…`): the scheduler closes every open pull request against
/// the branch when it opens its own, so the plan lists the user's one (only it) as a
/// consequence; without consent the run stops before anything is created (exit 5), saying
/// what would be closed and what to do; `--yes` is the consent, and the run proceeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_open_pull_request_on_an_existing_gitops_repository_needs_consent() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops");
    config.options.non_interactive = true;
    let mut seed = rendered_seed(&config, RepoKind::Gitops, ORG, "platform-gitops")
        .with_secret("CONTROL_PLANE_TOKEN")
        .with_file("docs-typo", "README.md", "a fix\n")
        .with_file("deployment/2026-01-01-00-00-00", "README.md", "generated\n")
        .with_open_pull_request("docs-typo", "dev", "Fix a typo\u{1b}[2J", "bob")
        .with_open_pull_request(
            "deployment/2026-01-01-00-00-00",
            "dev",
            "Update manifests in dev from deployment/2026-01-01-00-00-00",
            "kalypso-bot",
        );
    seed.labels.push((
        "promoted".into(),
        kalypso_bootstrap::tools::gh::PROMOTED_LABEL_COLOR.into(),
        "Promoted by the Kalypso Scheduler".into(),
    ));
    harness.sim.seed_repo(seed).unwrap();
    let before = harness.settled();

    let session = harness.session(
        &config,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let (warnings, _unread) = kalypso_bootstrap::engine::EventSink::channel();
    let plan = session
        .plan(
            &kalypso_bootstrap::tools::CancellationToken::new(),
            &warnings,
        )
        .await
        .expect("the plan itself may be shown");
    let step = plan.step(StepId::GitopsRepo).unwrap();
    let closed: Vec<(u64, &str, &str)> = step
        .pull_requests_closed
        .iter()
        .map(|p| (p.number, p.head.as_str(), p.base.as_str()))
        .collect();
    assert_eq!(closed, [(1, "docs-typo", "dev")]);
    let listed = "#1 \"Fix a typo\\u001b[2J\" (branch docs-typo into dev, by bob)";
    assert!(step.reason.contains(listed), "{}", step.reason);
    assert!(!step.reason.contains("deployment/"), "{}", step.reason);
    assert!(!step.reason.contains('\u{1b}'), "escaped: {}", step.reason);
    let info = step.info();
    assert_eq!(info.consequences.len(), 1, "{:?}", info.consequences);
    assert!(
        info.consequences[0].contains(listed),
        "{:?}",
        info.consequences
    );
    // The dry run shows it (the step's reason is in it).
    let dry = session.bootstrap().dry_run(&plan);
    assert!(dry.to_text().contains(listed), "{}", dry.to_text());

    let error = session
        .confirm(harness.validated(&config), &plan, None)
        .await
        .expect_err("no consent");
    assert_eq!(error.exit_code.code(), 5);
    for part in [
        "close 1 open pull request of others",
        listed,
        "merge or close",
        "--yes",
    ] {
        let text = format!(
            "{} {}",
            error.message,
            error.hint.as_deref().unwrap_or_default()
        );
        assert!(text.contains(part), "{part} not in {text}");
    }
    assert!(error
        .hint
        .as_deref()
        .unwrap_or_default()
        .contains("scheduler-would-close-open-pull-requests"));
    drop(session);
    assert_eq!(harness.settled(), before, "nothing changed");

    // `--yes` is the consent: the run proceeds.
    config.options.skip_confirmation = true;
    let session = harness.session(
        &config,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let active = session
        .confirm(harness.validated(&config), &plan, None)
        .await;
    assert!(matches!(active, Ok(Some(_))), "consented");
    drop(session);
    harness.run(&config).await.assert_success();
}

/// An existing gitops repository without `CONTROL_PLANE_TOKEN` and the `promoted` label:
/// the plan reports both; with consent they are set and recorded; the rollback removes
/// exactly them; without consent the run stops before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_gitops_repository_gets_its_missing_secret_and_label_and_loses_them_on_rollback(
) {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops");
    let seed = rendered_seed(&config, RepoKind::Gitops, ORG, "platform-gitops");
    harness.sim.seed_repo(seed).unwrap();
    let labels_before = harness.sim.snapshot().github.repos["acme/platform-gitops"]
        .labels
        .clone();

    // Without consent: refused, naming the commands.
    let mut refused = config.clone();
    refused.options.non_interactive = true;
    let before = harness.settled();
    let session = harness.session(
        &refused,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let (warnings, _unread) = kalypso_bootstrap::engine::EventSink::channel();
    let plan = session
        .plan(
            &kalypso_bootstrap::tools::CancellationToken::new(),
            &warnings,
        )
        .await
        .unwrap();
    let error = session
        .confirm(harness.validated(&refused), &plan, None)
        .await
        .expect_err("no consent");
    assert_eq!(error.exit_code.code(), 5);
    assert!(error
        .message
        .contains("gh secret set CONTROL_PLANE_TOKEN --repo acme/platform-gitops"));
    assert!(error.message.contains(
        "gh label create promoted --repo acme/platform-gitops --color 0E8A16 --description 'Promotion to the next environment (Kalypso)'"
    ), "{}", error.message);
    drop(session);
    assert_eq!(harness.settled(), before, "nothing changed");

    // With consent.
    let run = harness.run(&config).await;
    run.assert_success();
    for step in [StepId::GitopsSecrets, StepId::GitopsLabel] {
        assert_eq!(run.plan.action(step), Some(Action::Create), "{step}");
    }
    assert!(run
        .plan
        .step(StepId::GitopsSecrets)
        .unwrap()
        .reason
        .contains("lacks the Actions secret CONTROL_PLANE_TOKEN"));
    assert!(harness
        .sim
        .github_secret_is(ORG, "platform-gitops", "CONTROL_PLANE_TOKEN", CANARY));
    let gitops = &harness.sim.snapshot().github.repos["acme/platform-gitops"];
    assert!(gitops.labels.contains_key("promoted"));
    let recorded: Vec<String> = harness
        .state()
        .resources
        .iter()
        .filter(|r| r.ownership == Ownership::CreatedByUs)
        .filter(|r| {
            matches!(
                r.resource,
                Resource::RepoSecret { .. } | Resource::RepoLabel { .. }
            )
        })
        .map(|r| r.resource.describe())
        .collect();
    assert_eq!(
        recorded,
        [
            "repo_secret CONTROL_PLANE_TOKEN on acme/platform-gitops",
            "repo_label promoted on acme/platform-gitops"
        ]
    );
    assert_no_canary(&harness.sim.calls());

    let report = harness.rollback(&config).await;
    assert!(
        report.is_complete(),
        "{:?} {:?}",
        report.leftovers,
        report.kept
    );
    let gitops = &harness.settled().github.repos["acme/platform-gitops"];
    assert!(gitops.secrets.is_empty(), "{:?}", gitops.secrets);
    assert_eq!(gitops.labels, labels_before, "only our label is gone");
}

/// Consent covers the change the plan showed: when the GitOpsRepo moves to another file
/// between the plan and the run, the run changes nothing and asks for a new plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitops_repo_moved_since_the_plan_is_not_changed() {
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let original = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    let session = harness.session(
        &config,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let run = harness
        .run_observed(session, |_| {
            let bare = harness.bare(ORG, CONTROL_PLANE);
            commit_file(&bare, "dev", "repos/gitops.yaml", &original);
            commit_file(
                &bare,
                "dev",
                "gitops-repo.yaml",
                "# moved to repos/gitops.yaml\n",
            );
        })
        .await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::ControlPlaneSeed), "{}", error.message);
    assert_eq!(error.exit_code.code(), 5);
    assert!(
        error.message.contains(
            "is in repos/gitops.yaml now, not in gitops-repo.yaml as the plan showed; nothing was changed"
        ),
        "{}",
        error.message
    );
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "repos/gitops.yaml"),
        original,
        "the moved GitOpsRepo is untouched"
    );
}

/// A secret we set on a repository the user gave carries no mark and shows no value: the
/// rollback deletes it only while GitHub still shows the time we set it. Set again since
/// (by its owner), it is kept, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_set_again_since_we_set_it_is_kept_by_the_rollback() {
    use kalypso_bootstrap::tools::{CommandRunner, CommandSpec};
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops");
    let seed = rendered_seed(&config, RepoKind::Gitops, ORG, "platform-gitops");
    harness.sim.seed_repo(seed).unwrap();
    harness.run(&config).await.assert_success();
    let ours = harness
        .state()
        .resources
        .iter()
        .find(|r| matches!(r.resource, Resource::RepoSecret { .. }))
        .and_then(|r| r.secret_updated_at.clone())
        .expect("the time GitHub showed right after we set it is recorded");

    // Its owner sets it again, a second later at least (GitHub's times are to the second).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = CommandSpec::new("gh")
        .args([
            "secret",
            "set",
            "CONTROL_PLANE_TOKEN",
            "--repo",
            "acme/platform-gitops",
        ])
        .secret_env("GH_TOKEN", secrecy::SecretString::from(CANARY))
        .secret_stdin(secrecy::SecretSlice::from(b"their own token".to_vec()));
    let output = harness.sim.run(again).await.expect("runs");
    assert_eq!(output.exit_code, Some(0), "{}", output.stderr);

    let report = harness.rollback(&config).await;
    assert!(
        report
            .kept
            .iter()
            .any(|kept| kept.contains("CONTROL_PLANE_TOKEN")
                && kept.contains("was set again since")
                && kept.contains(&ours)),
        "{:?} {:?}",
        report.kept,
        report.leftovers
    );
    assert!(harness.sim.github_secret_is(
        ORG,
        "platform-gitops",
        "CONTROL_PLANE_TOKEN",
        "their own token"
    ));
}

/// The command a removal plan prints for the GitOpsRepo commit (what to run by hand when a
/// rollback cannot) works when copied: run in a shell, it puts the file back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manual_revert_of_the_gitops_repo_commit_works_when_copied() {
    use kalypso_bootstrap::engine::rollback::ResourceRemover;
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let original = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    harness.run(&config).await.assert_success();
    let remover = kalypso_bootstrap::engine::EngineRemover::new(
        std::sync::Arc::new(harness.sim.clone()),
        Some(secrecy::SecretString::from(CANARY)),
        harness.paths().kubeconfig,
    );
    let command = remover.manual_command(&recorded_file_commit(&harness));
    assert!(
        command.starts_with("git clone --quiet --branch dev"),
        "{command}"
    );
    assert!(!command.contains(CANARY), "{command}");
    let out = run_copied(&harness, &command);
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        original
    );
}

/// `command` run by `sh` in a fresh directory as a user would, with their own identity, the
/// simulated GitHub reached through the tests' `insteadOf`.
fn run_copied(harness: &Harness, command: &str) -> std::process::Output {
    let work = tempfile::tempdir().unwrap();
    std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(work.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", work.path())
        .env("GIT_AUTHOR_NAME", "you")
        .env("GIT_AUTHOR_EMAIL", "you@example.com")
        .env("GIT_COMMITTER_NAME", "you")
        .env("GIT_COMMITTER_EMAIL", "you@example.com")
        .envs(harness.sim.git_env())
        .output()
        .unwrap()
}

/// The copied revert refuses, pushing nothing, when the file changed since our commit: its
/// check (`git diff --quiet COMMIT HEAD -- PATH`) fails before anything is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copied_revert_changes_nothing_when_the_file_changed_since() {
    use kalypso_bootstrap::engine::rollback::ResourceRemover;
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    harness.run(&config).await.assert_success();
    let theirs = "# theirs now\n";
    push_their_change(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml", theirs);
    let head = git(&harness.bare(ORG, CONTROL_PLANE), &["rev-parse", "dev"]);
    let remover = kalypso_bootstrap::engine::EngineRemover::new(
        std::sync::Arc::new(harness.sim.clone()),
        Some(secrecy::SecretString::from(CANARY)),
        harness.paths().kubeconfig,
    );
    let command = remover.manual_command(&recorded_file_commit(&harness));
    let out = run_copied(&harness, &command);
    assert_eq!(out.status.code(), Some(1), "{command}");
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        theirs
    );
    assert_eq!(
        git(&harness.bare(ORG, CONTROL_PLANE), &["rev-parse", "dev"]),
        head,
        "nothing pushed"
    );
}

/// Someone else pushes to `dev` right before the revert clones it (after the live check
/// through the API saw our blob): the revert's own check in the clone fails, nothing is
/// committed or pushed, and the file is left in place, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_between_the_live_check_and_the_clone_is_left_in_place() {
    use kalypso_bootstrap::engine::rollback::ResourceRemover;
    use kalypso_bootstrap::tools::{
        BoxFuture, CommandOutput, CommandRunner, CommandSpec, RunControl, RunError,
    };

    /// The simulated world, where another actor pushes once, right before the revert's clone.
    struct PushBeforeClone {
        sim: kalypso_bootstrap::sim::SimulatedEnvironment,
        before_clone: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    }
    impl CommandRunner for PushBeforeClone {
        fn run_with(
            &self,
            spec: CommandSpec,
            control: RunControl,
        ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
            if spec.program == "git" && spec.args.first().map(String::as_str) == Some("clone") {
                if let Some(push) = self.before_clone.lock().unwrap().take() {
                    push();
                }
            }
            self.sim.run_with(spec, control)
        }
    }

    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    harness.run(&config).await.assert_success();
    let theirs = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml")
        .replace("path: .", "path: ./clusters");
    let bare = harness.bare(ORG, CONTROL_PLANE);
    let push = {
        let theirs = theirs.clone();
        let bare = bare.clone();
        move || {
            let work = tempfile::tempdir().unwrap();
            let git = |args: &[&str]| {
                let out = std::process::Command::new("git")
                    .args(["-c", "user.name=them", "-c", "user.email=them@example.com"])
                    .args(args)
                    .current_dir(work.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            git(&[
                "clone",
                "--quiet",
                "--branch",
                "dev",
                &bare.display().to_string(),
                "clone",
            ]);
            std::fs::write(work.path().join("clone/gitops-repo.yaml"), &theirs).unwrap();
            git(&["-C", "clone", "commit", "--quiet", "-am", "theirs"]);
            git(&["-C", "clone", "push", "--quiet", "origin", "dev"]);
        }
    };
    let runner = PushBeforeClone {
        sim: harness.sim.clone(),
        before_clone: std::sync::Mutex::new(Some(Box::new(push))),
    };
    let remover = kalypso_bootstrap::engine::EngineRemover::new(
        std::sync::Arc::new(runner),
        Some(secrecy::SecretString::from(CANARY)),
        harness.paths().kubeconfig,
    );
    let head_before = git(&bare, &["rev-parse", "dev"]);
    let note = remover
        .remove(&recorded_file_commit(&harness))
        .await
        .expect("a refusal, not an error");
    assert!(note.kept, "{}", note.message);
    assert!(
        note.message.contains("changed since our commit"),
        "{}",
        note.message
    );
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        theirs
    );
    let head_after = git(&bare, &["rev-parse", "dev"]);
    assert_ne!(head_after, head_before, "their commit landed");
    assert_eq!(
        String::from_utf8(git(&bare, &["log", "-1", "--format=%an", "dev"]))
            .unwrap()
            .trim(),
        "them",
        "nothing of ours on top"
    );
}

/// What you see is what runs: the rollback plan lists, for the GitOpsRepo commit, exactly
/// the git commands the revert then runs, in that order, with the same argv (the plan's
/// `command` is them joined with `&&`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revert_of_the_gitops_repo_commit_runs_exactly_the_previewed_commands() {
    use kalypso_bootstrap::engine::{ConsentRule, EventSink, RemovalOutcome};
    use kalypso_bootstrap::tools::{CancellationToken, CommandSpec};
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let original = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    harness.run(&config).await.assert_success();
    let bootstrap = harness.open(&config);
    let removal = bootstrap.removal();
    let plan = removal.plan();
    let planned = plan
        .removals()
        .iter()
        .find(|r| r.resource.kind() == "repo_file_commit")
        .expect("the commit is planned")
        .clone();
    assert_eq!(planned.commands.len(), 5, "{:#?}", planned.commands);
    assert_eq!(planned.manual_command, planned.commands.join(" && "));
    let json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    let entry = json["removals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "repo_file_commit")
        .unwrap()
        .clone();
    assert_eq!(entry["command"], planned.manual_command.as_str());
    assert_eq!(entry["commands"], serde_json::json!(planned.commands));
    assert!(plan.to_text().contains(&planned.manual_command));

    harness.sim.clear_calls();
    let mut flagged = ConsentRule::new("--yes", true, None);
    let (events, _receiver) = EventSink::channel();
    let RemovalOutcome::Removed(report) = removal
        .run(&mut flagged, events, &CancellationToken::new())
        .await
    else {
        panic!("removed with consent")
    };
    assert!(
        report.is_complete(),
        "{:?} {:?}",
        report.leftovers,
        report.kept
    );
    let ran_git: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .filter(|call| call.program == "git")
        .map(|call| {
            CommandSpec::new(call.program.clone())
                .args(call.args.clone())
                .display()
        })
        .collect();
    assert_eq!(ran_git, planned.commands);
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        original
    );
}

/// A `promoted` label we created on a repository the user gave, then redefined by someone
/// (another colour and description), is theirs now: the rollback keeps it, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_redefined_since_we_created_it_is_kept_by_the_rollback() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops");
    let seed = rendered_seed(&config, RepoKind::Gitops, ORG, "platform-gitops")
        .with_secret("CONTROL_PLANE_TOKEN");
    harness.sim.seed_repo(seed).unwrap();
    let run = harness.run(&config).await;
    run.assert_success();
    assert_eq!(run.plan.action(StepId::GitopsSecrets), Some(Action::Skip));
    assert_eq!(run.plan.action(StepId::GitopsLabel), Some(Action::Create));
    let gh = kalypso_bootstrap::tools::gh::Gh::new(std::sync::Arc::new(harness.sim.clone()))
        .with_token(secrecy::SecretString::from(CANARY));
    gh.label_create("acme/platform-gitops", "promoted", "FFFFFF", "ours now")
        .await
        .unwrap();

    let report = harness.rollback(&config).await;
    assert_eq!(report.kept.len(), 1, "{:?}", report.kept);
    assert!(
        report.kept[0].contains("changed since"),
        "{}",
        report.kept[0]
    );
    let gitops = &harness.settled().github.repos["acme/platform-gitops"];
    assert_eq!(gitops.labels["promoted"].description, "ours now");
    // Its secret was there before the run: never ours, never removed.
    assert!(gitops.secrets.contains("CONTROL_PLANE_TOKEN"));
}

/// A repository the token may read but whose secrets it may not list (someone else's public
/// control plane): the plan says the secrets were not checked and what the workflows need;
/// nothing is set there, and no consent is needed for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_the_token_may_not_list_are_reported_not_set() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.control_plane = existing_repo("https://github.com/someone/platform-cp");
    let seed = rendered_seed(&config, RepoKind::ControlPlane, "someone", "platform-cp").public();
    harness.sim.seed_repo(seed).unwrap();
    let session = harness.session(
        &config,
        std::sync::Arc::new(harness.sim.clone()),
        harness.options(),
    );
    let (warnings, _unread) = kalypso_bootstrap::engine::EventSink::channel();
    let plan = session
        .plan(
            &kalypso_bootstrap::tools::CancellationToken::new(),
            &warnings,
        )
        .await
        .expect("a plan");
    let secrets = plan.step(StepId::ControlPlaneSecrets).unwrap();
    assert_eq!(secrets.action, Action::Skip);
    assert!(
        secrets.reason.contains("could not be listed")
            && secrets.reason.contains("GITOPS_REPO, GITOPS_REPO_TOKEN")
            && secrets
                .reason
                .contains("gh secret set NAME --repo someone/platform-cp"),
        "{}",
        secrets.reason
    );
}

/// Secrets the token may not list do not hide the rest: the `promoted` label an existing
/// gitops repository lacks is still looked up and planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_is_still_checked_when_the_secrets_cannot_be_listed() {
    let harness = Harness::new();
    let mut config = all_new();
    config.repositories.gitops = existing_repo("https://github.com/someone/platform-gitops");
    let seed = rendered_seed(&config, RepoKind::Gitops, "someone", "platform-gitops").public();
    harness.sim.seed_repo(seed).unwrap();
    let plan = harness.planned(&config).await;
    let secrets = plan.step(StepId::GitopsSecrets).unwrap();
    assert!(
        secrets.reason.contains("could not be listed"),
        "{}",
        secrets.reason
    );
    let label = plan.step(StepId::GitopsLabel).unwrap();
    assert_eq!(label.action, Action::Create, "{}", label.reason);
    assert!(label.reason.contains("promoted"), "{}", label.reason);
}

/// The GitOpsRepo commit is recorded before its push: a push that fails (a rule on the
/// branch) leaves no record of a commit that never landed, and the file untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_gitops_repo_push_leaves_no_record_and_the_file_untouched() {
    use kalypso_bootstrap::sim::{Fault, FaultKind};
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let original = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    let rejected = harness.sim.inject(
        Fault::new(
            FaultKind::Failure {
                exit_code: 1,
                stderr: "remote: error: GH013: Repository rule violations found for refs/heads/dev.\nerror: failed to push some refs".into(),
            },
            "git push",
        )
        .with_arg("https://github.com/acme/kalypso-control-plane.git")
        .always(),
    );
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::ControlPlaneSeed));
    assert!(error.message.contains("GH013"), "{}", error.message);
    assert!(harness.sim.fault_fired(rejected) >= 1);
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml"),
        original
    );
    assert!(
        !harness
            .state()
            .resources
            .iter()
            .any(|r| r.resource.kind() == "repo_file_commit"),
        "{:?}",
        harness.state().resources
    );
}

/// A file someone put back as it was before our commit: the rollback has nothing to revert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitops_repo_file_already_back_as_it_was_needs_no_revert() {
    let harness = Harness::new();
    let config = reference_with_new_gitops();
    seed_reference_control_plane(&harness, CONTROL_PLANE, None);
    let original = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    harness.run(&config).await.assert_success();
    push_their_change(
        &harness,
        CONTROL_PLANE,
        "dev",
        "gitops-repo.yaml",
        &original,
    );
    let head = git(&harness.bare(ORG, CONTROL_PLANE), &["rev-parse", "dev"]);

    let report = harness.rollback(&config).await;
    assert!(
        report.is_complete(),
        "{:?} {:?}",
        report.leftovers,
        report.kept
    );
    let note = report
        .removals
        .iter()
        .find(|r| r.resource.kind() == "repo_file_commit")
        .map(|r| r.message.clone())
        .unwrap();
    assert!(note.contains("already as it was"), "{note}");
    assert_eq!(
        git(&harness.bare(ORG, CONTROL_PLANE), &["rev-parse", "dev"]),
        head,
        "no commit"
    );
}

/// Issue 14 §3: once the user merged the scheduler's pull request, a run again on the
/// verified installation still passes: the GitOpsRepo reports the pull request created,
/// and the controller proposes again only when the content changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_again_after_the_scheduler_pull_request_was_merged_passes() {
    let harness = Harness::new();
    let config = all_new();
    harness.run(&config).await.assert_success();
    let pulls = harness.sim.snapshot().github.repos[&format!("{ORG}/{GITOPS}")]
        .pulls
        .clone();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    harness
        .sim
        .merge_pull_request(ORG, GITOPS, pulls[0].number)
        .expect("merged");
    let again = harness.run(&config).await;
    again.assert_success();
    let last = again
        .events
        .iter()
        .rev()
        .filter_map(|e| match &e.kind {
            kalypso_bootstrap::engine::EventKind::HealthCheck { check, message, .. }
                if check == "pull-request" =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .next()
        .expect("the pull-request check reported");
    assert!(last.contains("merged or closed since"), "{last}");
    // No new pull request: the content did not change.
    let after = &harness.sim.snapshot().github.repos[&format!("{ORG}/{GITOPS}")];
    assert_eq!(after.pulls.len(), 1);
    assert_eq!(after.pulls[0].state, "MERGED");
}

const ENTERPRISE_HOST: &str = "ghe.example.test";

/// `all_new` on a GitHub Enterprise Server: the harness's GitHub answers on
/// [`ENTERPRISE_HOST`] only (github.com is unreachable from it, as from a network without a
/// route there), and the configuration names that host.
fn on_enterprise_server(harness: &Harness) -> kalypso_bootstrap::config::Configuration {
    harness.sim.set_github_host(ENTERPRISE_HOST);
    let mut config = all_new();
    config.repositories.github_host =
        kalypso_bootstrap::config::GitHubHost::parse(ENTERPRISE_HOST).unwrap();
    config
}

/// A local copy of Flux's v2.7.5 install.yaml for `--flux-manifest FILE`: its head, the
/// `flux-system` Namespace exactly as the release writes it (the simulated kubectl knows a
/// copy of the release by these labels and creates the rest of the release's objects).
fn local_flux_manifest(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("flux-v2.7.5-install.yaml");
    std::fs::write(
        &path,
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    app.kubernetes.io/instance: flux-system\n    app.kubernetes.io/part-of: flux\n    app.kubernetes.io/version: v2.7.5\n    pod-security.kubernetes.io/warn: restricted\n    pod-security.kubernetes.io/warn-version: latest\n  name: flux-system\n",
    )
    .unwrap();
    path
}

/// Every gh and git call addressed the Enterprise Server, and no call of any tool named
/// github.com (Flux's manifest comes from a local file: `--flux-manifest`).
fn assert_only_the_enterprise_server_was_contacted(harness: &Harness) {
    let calls = harness.sim.calls();
    let github_calls: Vec<_> = calls
        .iter()
        .filter(|call| call.github_host.is_some())
        .collect();
    assert!(
        github_calls.iter().any(|c| c.program == "gh")
            && github_calls.iter().any(|c| c.program == "git"),
        "the run called gh and git"
    );
    for call in &github_calls {
        assert_eq!(
            call.github_host.as_deref(),
            Some(ENTERPRISE_HOST),
            "{} {:?}",
            call.program,
            call.args
        );
    }
    for call in &calls {
        assert!(
            !call
                .args
                .iter()
                .any(|a| a.contains("github.com") && !a.contains("users.noreply.github.com")),
            "{} {:?}",
            call.program,
            call.args
        );
    }
}

/// The GitHub half of a run on a GitHub Enterprise Server, end to end: both repositories
/// are created, seeded, given their secrets and label there, every URL they carry names the
/// server, the state records the host, and the rollback removes both from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_github_enterprise_server_everything_goes_to_its_host_and_back() {
    let harness = Harness::new();
    let mut config = on_enterprise_server(&harness);
    config.installation.skip_install = true;
    let run = harness.run(&config).await;
    run.assert_success();
    assert_only_the_enterprise_server_was_contacted(&harness);

    assert_pushed_exactly(
        &harness,
        &config,
        RepoKind::ControlPlane,
        ORG,
        CONTROL_PLANE,
    );
    assert_pushed_exactly(&harness, &config, RepoKind::Gitops, ORG, GITOPS);
    let pointer = file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml");
    assert!(
        pointer.contains(&format!(
            "repo: \"https://{ENTERPRISE_HOST}/{ORG}/{GITOPS}\""
        )),
        "{pointer}"
    );
    assert!(harness.sim.github_secret_is(
        ORG,
        CONTROL_PLANE,
        "GITOPS_REPO",
        &format!("{ORG}/{GITOPS}")
    ));
    let state = harness.state();
    let identity = state.identity.clone().expect("an identity");
    assert_eq!(identity.repositories.github_host, ENTERPRISE_HOST);
    assert!(state.resources.iter().any(|r| matches!(
        &r.resource,
        Resource::Repository { url, .. } if url == &format!("https://{ENTERPRISE_HOST}/{ORG}/{GITOPS}")
    )));

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{report:?}");
    let snapshot = harness.settled();
    assert!(snapshot
        .github
        .repos
        .keys()
        .all(|k| !k.starts_with(&ORG.to_ascii_lowercase())));
    assert_only_the_enterprise_server_was_contacted(&harness);
}

/// With the installation, everything but the scheduler's own pull request works on an
/// Enterprise Server: the Kalypso Scheduler's GitHub client always calls api.github.com
/// (github.NewClient), so its GitOpsRepo fails there, and the health checks say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_github_enterprise_server_the_checks_name_the_schedulers_github_com_client() {
    let harness = Harness::new();
    let mut config = on_enterprise_server(&harness);
    let manifests = tempfile::tempdir().unwrap();
    let manifest = local_flux_manifest(manifests.path());
    config.installation.flux_manifest = Some(FluxManifest::File(manifest.clone()));
    let plan = harness.planned(&config).await;
    let flux = plan.step(StepId::InstallFlux).expect("the Flux step");
    assert_eq!(
        flux.reason,
        format!("install Flux from {}", manifest.display())
    );
    let health = plan.step(StepId::HealthChecks).expect("health checks");
    assert!(
        health.reason.contains("api.github.com only"),
        "{}",
        health.reason
    );
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks));
    assert!(
        error.message.contains("api.github.com"),
        "{}",
        error.message
    );
    let hint = error.hint.as_ref().expect("a hint").text().to_string();
    assert!(hint.contains("api.github.com only"), "{hint}");
    assert!(hint.contains(ENTERPRISE_HOST), "{hint}");
    let passed: Vec<String> = run
        .health_checks()
        .into_iter()
        .filter(|(_, status)| status == "Passing")
        .map(|(check, _)| check)
        .collect();
    for check in ["flux-gitrepository", "environment-flux", "baserepo"] {
        assert!(
            passed.iter().any(|c| c == check),
            "{check} passed: {passed:?}"
        );
    }
    let manifest_arg = manifest.to_string_lossy().into_owned();
    assert!(harness
        .sim
        .calls()
        .iter()
        .any(|call| call.program == "kubectl"
            && call.args.iter().any(|a| a == "apply")
            && call.args.contains(&manifest_arg)));
    assert_only_the_enterprise_server_was_contacted(&harness);
    // The state records the manifest: rollback deletes what that same file names.
    let state = harness.state();
    assert!(state.resources.iter().any(|r| matches!(
        &r.resource,
        Resource::Flux { manifest: Some(m), .. } if m == &manifest_arg
    )));
    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(harness
        .sim
        .calls()
        .iter()
        .any(|call| call.program == "kubectl"
            && call.args.iter().any(|a| a == "delete")
            && call.args.contains(&manifest_arg)));
    assert_only_the_enterprise_server_was_contacted(&harness);
}

/// On an Enterprise Server world github.com is out of reach: the default Flux manifest (the
/// release asset on github.com) cannot be downloaded, kubectl fails as it does without a
/// route, and the hint names `--flux-manifest`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_github_enterprise_server_without_github_com_the_default_flux_manifest_fails_with_the_way_out(
) {
    let harness = Harness::new();
    let config = on_enterprise_server(&harness);
    let plan = harness.planned(&config).await;
    let flux = plan.step(StepId::InstallFlux).expect("the Flux step");
    assert!(
        flux.reason.contains("still comes from github.com")
            && flux.reason.contains("--flux-manifest FILE|URL"),
        "{}",
        flux.reason
    );
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::InstallFlux));
    let text = format!(
        "{} {}",
        error.message,
        error
            .hint
            .as_ref()
            .map(|h| h.text().to_string())
            .unwrap_or_default()
    );
    assert!(text.contains("lookup github.com: no such host"), "{text}");
    assert!(text.contains("--flux-manifest"), "{text}");
}

/// Three environments: both repositories get main and a branch per environment with exactly
/// the rendered templates, the control plane's GitHub environments dev and stage hold the
/// NEXT_ENVIRONMENT that chains them (prod, the last, holds none), the scheduler's Flux
/// objects of every environment are checked, and a rollback removes everything again.
/// Three environments with a gitops repository the user brings (the control plane created):
/// the repository is checked on `main` and on every environment's branch, the scheduler
/// proposes to each branch, and the pull-request check looks at each; the rollback leaves
/// the given repository as it was (but the scheduler's pull requests, which are not ours).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_environments_with_an_existing_gitops_repository_check_every_environment_branch() {
    let harness = Harness::new();
    harness.sim.set_latency(
        kalypso_bootstrap::sim::Latency::zero()
            .with_command("gh api", std::time::Duration::from_millis(150)),
    );
    let mut config = all_new();
    config.environments =
        kalypso_bootstrap::config::rules::environments("dev,stage,prod").expect("valid");
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops");
    seed_valid_repo(&harness, &config, RepoKind::Gitops, ORG, "platform-gitops");
    let before = harness.sim.snapshot();
    let run = harness.run(&config).await;
    run.assert_success();
    assert_eq!(run.plan.action(StepId::GitopsRepo), Some(Action::Reuse));
    for branch in ["main", "dev", "stage", "prod"] {
        assert!(
            harness.sim.calls().iter().any(|c| {
                let line = c.command_line();
                line.contains(&format!("repos/acme/platform-gitops/git/trees/{branch}?"))
            }),
            "the files of {branch} were checked"
        );
    }
    let pulls = &harness.sim.snapshot().github.repos["acme/platform-gitops"].pulls;
    let mut bases: Vec<&str> = pulls.iter().map(|p| p.base.as_str()).collect();
    bases.sort();
    assert_eq!(bases, ["dev", "prod", "stage"], "{pulls:?}");
    all_checks_passed(&run);

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    let mut settled = harness.settled();
    settled.github = without_scheduler_pull_requests(settled.github);
    assert_eq!(
        settled.github.repos["acme/platform-gitops"], before.github.repos["acme/platform-gitops"],
        "the given repository is untouched"
    );
}

/// A gitops repository the user brings that lacks one environment's branch stops the run
/// at its check, naming the branch, before anything is installed; nothing is pushed to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_gitops_repository_without_an_environment_branch_is_refused_naming_it() {
    let harness = Harness::new();
    let mut config = all_new();
    config.environments =
        kalypso_bootstrap::config::rules::environments("dev,stage,prod").expect("valid");
    config.repositories.gitops = existing_repo("https://github.com/acme/platform-gitops");
    let mut seed = kalypso_bootstrap::sim::SeedRepo::new(ORG, "platform-gitops");
    for branch in rendered(&config)
        .repo(RepoKind::Gitops)
        .branches
        .iter()
        .filter(|b| b.name != "stage")
    {
        for file in &branch.files {
            seed = if file.executable {
                seed.with_executable(&branch.name, &file.path, file.contents.clone())
            } else {
                seed.with_file(&branch.name, &file.path, file.contents.clone())
            };
        }
    }
    harness.sim.seed_repo(seed).expect("seeded");
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::GitopsRepo), "{}", error.message);
    assert_eq!(run.outcome.exit_code, ExitCode::RepositoryFailed);
    assert!(
        error.message.contains("branch stage is missing"),
        "{}",
        error.message
    );
    assert!(
        !error.message.contains("branch dev is missing")
            && !error.message.contains("branch prod is missing"),
        "{}",
        error.message
    );
    assert!(
        branches(&harness.bare(ORG, "platform-gitops")) == ["dev", "main", "prod"],
        "nothing pushed to the given repository"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_environments_are_bootstrapped_chained_verified_and_rolled_back() {
    let harness = Harness::new();
    // GitHub answers in 150 ms: the scheduler's one worker then needs 1.5 s per pull
    // request, so the three environments' pull requests get branches of their own (within
    // one second they would share one, as the real scheduler's do).
    harness.sim.set_latency(
        kalypso_bootstrap::sim::Latency::zero()
            .with_command("gh api", std::time::Duration::from_millis(150)),
    );
    let before = harness.settled();
    let mut config = all_new();
    config.environments =
        kalypso_bootstrap::config::rules::environments("dev,stage,prod").expect("valid");
    let run = harness.run(&config).await;
    run.assert_success();

    // The plan says what each environment gets.
    let seed = run.plan.step(StepId::ControlPlaneSeed).expect("seed step");
    assert!(
        seed.reason.contains("branches: main, dev, stage, prod"),
        "{}",
        seed.reason
    );
    let secrets = run
        .plan
        .step(StepId::ControlPlaneSecrets)
        .expect("secrets step");
    assert!(
        secrets
            .reason
            .contains("NEXT_ENVIRONMENT of GitHub environments dev (stage), stage (prod)"),
        "{}",
        secrets.reason
    );

    for (kind, name) in [
        (RepoKind::ControlPlane, CONTROL_PLANE),
        (RepoKind::Gitops, GITOPS),
    ] {
        assert_pushed_exactly(&harness, &config, kind, ORG, name);
    }
    assert_eq!(
        branches(&harness.bare(ORG, GITOPS))
            .into_iter()
            .filter(|b| !is_scheduler_branch(&harness.bare(ORG, GITOPS), b))
            .collect::<Vec<_>>(),
        ["dev", "main", "prod", "stage"]
    );

    // The promotion chain: dev → stage → prod, and nothing after prod.
    for (environment, next) in [("dev", "stage"), ("stage", "prod")] {
        assert!(
            harness.sim.github_environment_secret_is(
                ORG,
                CONTROL_PLANE,
                environment,
                "NEXT_ENVIRONMENT",
                next
            ),
            "{environment} promotes to {next}"
        );
    }
    let snapshot = harness.sim.snapshot();
    let control_plane = &snapshot.github.repos[&format!("{ORG}/{CONTROL_PLANE}")];
    assert_eq!(
        control_plane.environments.keys().collect::<Vec<_>>(),
        ["dev", "stage"],
        "prod, the last, needs no GitHub environment"
    );
    for environment in ["dev", "stage", "prod"] {
        for candidate in ["dev", "stage", "prod", ""] {
            let expected = match environment {
                "dev" => "stage",
                "stage" => "prod",
                _ => "none",
            };
            assert_eq!(
                harness.sim.github_environment_secret_is(
                    ORG,
                    CONTROL_PLANE,
                    environment,
                    "NEXT_ENVIRONMENT",
                    candidate
                ),
                candidate == expected,
                "{environment}: NEXT_ENVIRONMENT {candidate:?}"
            );
        }
    }

    // The verification looked at the Flux objects of every environment.
    let environment_flux: Vec<String> = run
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            kalypso_bootstrap::engine::events::EventKind::HealthCheck {
                check, message, ..
            } if check == "environment-flux" => Some(message.clone()),
            _ => None,
        })
        .collect();
    let last = environment_flux.last().expect("an environment-flux check");
    for environment in ["dev", "stage", "prod"] {
        assert!(
            last.contains(&format!(
                "GitRepository and Kustomization {environment} Ready"
            )),
            "{last}"
        );
    }
    // ...and at every environment's BaseRepo (with its Flux source) and GitOpsRepo.
    let last_of = |name: &str| -> String {
        run.events
            .iter()
            .filter_map(|e| match &e.kind {
                kalypso_bootstrap::engine::events::EventKind::HealthCheck {
                    check,
                    message,
                    ..
                } if check == name => Some(message.clone()),
                _ => None,
            })
            .next_back()
            .unwrap_or_else(|| panic!("no {name} check"))
    };
    let base_repo = last_of("baserepo");
    let gitops_repo = last_of("gitopsrepo");
    for environment in ["dev", "stage", "prod"] {
        assert!(
            base_repo.contains(&format!("{environment}: BaseRepo main")),
            "{base_repo}"
        );
        assert!(
            gitops_repo.contains(&format!(
                "{environment}: GitOpsRepo {environment} (https://github.com/{ORG}/{GITOPS}@{environment}): Ready=True"
            )),
            "{gitops_repo}"
        );
    }
    // ...and at every environment's pull request: the scheduler's, to its gitops branch.
    let pull_request = last_of("pull-request");
    for environment in ["dev", "stage", "prod"] {
        assert!(
            pull_request.contains(&format!("{environment}: #"))
                && pull_request.contains(&format!(" open against {environment})")),
            "{pull_request}"
        );
    }
    for environment in ["dev", "stage", "prod"] {
        assert!(
            harness.sim.calls().iter().any(|c| {
                let line = c.command_line();
                line.contains("gh pr list") && line.contains(&format!("--base {environment}"))
            }),
            "the open pull requests against {environment} were listed"
        );
    }

    // A re-run changes nothing: each secret of the chain is found, not set again.
    let settled = harness.sim.snapshot();
    harness.sim.clear_calls();
    let again = harness.run(&config).await;
    again.assert_success();
    assert!(again.plan.steps.iter().all(|s| s.action != Action::Create));
    let mutating: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .filter(|c| is_mutating(c))
        .map(|c| c.command_line())
        .collect();
    assert!(
        mutating.is_empty(),
        "a re-run changed something: {mutating:#?}"
    );
    assert!(harness
        .sim
        .calls()
        .iter()
        .any(|c| c.command_line().contains("secret list --env stage")));
    assert_eq!(harness.sim.snapshot(), settled);

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_eq!(harness.state().status, RunStatus::RolledBack);
    crate::support::sim::assert_same_state(&before, &harness.settled());
}

/// GitHub Free has no environments in private repositories: with several environments and
/// private repositories of an organization on Free, GitHub refuses the control plane's
/// GitHub environment (403 "Upgrade to GitHub Pro or make this repository public …"). The
/// step fails with a hint that names the plan and the way out, and the rollback removes
/// everything. With public repositories the same organization gets the whole chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_plan_free_refuses_environments_in_private_repositories_and_public_ones_work() {
    let harness = Harness::new();
    harness
        .sim
        .set_github_plan(ORG, kalypso_bootstrap::sim::GithubPlan::Free);
    let before = harness.settled();
    let mut config = all_new();
    config.environments =
        kalypso_bootstrap::config::rules::environments("dev,stage").expect("valid");
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::ControlPlaneSecrets), "{}", error.message);
    assert!(
        error
            .message
            .contains("Upgrade to GitHub Pro or make this repository public"),
        "{}",
        error.message
    );
    let hint = error.hint.as_ref().expect("a hint");
    assert!(hint.text().contains("--repo-visibility public"), "{hint:?}");
    assert_eq!(
        hint.topic(),
        kalypso_bootstrap::troubleshooting::Topic::GithubPlan
    );
    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_eq!(harness.settled().github, before.github, "rolled back");

    config.repositories.visibility = kalypso_bootstrap::config::Visibility::Public;
    // As in the three-environment run: the scheduler's pull requests of the two
    // environments get branches of their own.
    harness.sim.set_latency(
        kalypso_bootstrap::sim::Latency::zero()
            .with_command("gh api", std::time::Duration::from_millis(150)),
    );
    let run = harness.run(&config).await;
    run.assert_success();
    assert!(harness.sim.github_environment_secret_is(
        ORG,
        CONTROL_PLANE,
        "dev",
        "NEXT_ENVIRONMENT",
        "stage"
    ));
}

/// The gitops repository the existing control plane's GitOpsRepo on `dev` names before the run.
const OLD_GITOPS: &str = "https://github.com/acme/old-gitops";

/// A control plane the user made with this tool for `dev` alone (main and dev), whose
/// GitOpsRepo names another gitops repository: the user's, before they add environments.
fn seed_control_plane_with_dev_only(harness: &Harness) {
    // The scheduler's one worker needs 1.5 s per pull request at 150 ms a GitHub call: the
    // environments' pull requests get branches of their own, as the three-environment run's.
    harness.sim.set_latency(
        kalypso_bootstrap::sim::Latency::zero()
            .with_command("gh api", std::time::Duration::from_millis(150)),
    );
    seed_valid_repo(
        harness,
        &all_new(),
        RepoKind::ControlPlane,
        ORG,
        CONTROL_PLANE,
    );
    let new_gitops = format!("https://github.com/{ORG}/{GITOPS}");
    edit_file(
        &harness.bare(ORG, CONTROL_PLANE),
        "dev",
        "gitops-repo.yaml",
        |text| {
            assert!(text.contains(&new_gitops), "{text}");
            text.replace(&new_gitops, OLD_GITOPS)
        },
    );
}

/// An existing control plane, a new gitops repository, three environments.
fn reference_with_three_environments() -> kalypso_bootstrap::config::Configuration {
    let mut config = reference_with_new_gitops();
    config.environments =
        kalypso_bootstrap::config::rules::environments("dev,stage,prod").expect("valid");
    config
}

/// Every branch of the control plane with its files: what a rollback must give back.
fn control_plane_files(
    harness: &Harness,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, (String, Vec<u8>)>> {
    let bare = harness.bare(ORG, CONTROL_PLANE);
    branches(&bare)
        .into_iter()
        .map(|branch| {
            let files = branch_files(&bare, &branch);
            (branch, files)
        })
        .collect()
}

fn the_gh(harness: &Harness) -> kalypso_bootstrap::tools::gh::Gh {
    kalypso_bootstrap::tools::gh::Gh::new(std::sync::Arc::new(harness.sim.clone()))
        .with_token(secrecy::SecretString::from(CANARY))
}

/// Issue 16: an existing control plane with `dev` only and `--environments dev,stage,prod`:
/// the plan shows each change per environment; with consent the run creates stage and prod
/// (rendered resources, the GitOpsRepo naming each gitops branch), adds the Environment prod
/// lacks on main, points dev's GitOpsRepo, and wires dev → stage → prod with GitHub
/// environments and NEXT_ENVIRONMENT secrets, each recorded; the rollback gives the
/// repository back exactly as it was (branches and files) and removes the environments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_control_plane_gets_its_missing_environments_and_is_given_back_as_it_was() {
    let harness = Harness::new();
    seed_control_plane_with_dev_only(&harness);
    let before = control_plane_files(&harness);
    assert_eq!(before.keys().collect::<Vec<_>>(), ["dev", "main"]);
    let config = reference_with_three_environments();
    let new_gitops = format!("https://github.com/{ORG}/{GITOPS}");

    let run = harness.run(&config).await;
    run.assert_success();
    // The plan, per environment.
    let seed = run.plan.step(StepId::ControlPlaneSeed).unwrap();
    assert_eq!(seed.action, Action::Create);
    for part in [
        "on branch dev, gitops-repo.yaml (GitOpsRepo",
        "branch stage does not exist; change: create it",
        "branch prod does not exist; change: create it",
        &format!("GitOpsRepo (branch stage of {new_gitops})"),
        "main declares no Environment stage; change: add .environments/stage.yaml",
        "main declares no Environment prod; change: add .environments/prod.yaml",
        OLD_GITOPS,
    ] {
        assert!(seed.reason.contains(part), "{part} not in {}", seed.reason);
    }
    // main has the Templates the rendered ClusterType names: no copy on the new branches.
    assert!(!seed.reason.contains("Templates"), "{}", seed.reason);
    let secrets = run.plan.step(StepId::ControlPlaneSecrets).unwrap();
    assert_eq!(secrets.action, Action::Create);
    for part in [
        "the GitHub environment dev does not exist; change: create it",
        "the GitHub environment stage has no NEXT_ENVIRONMENT secret; change: set it to prod",
    ] {
        assert!(
            secrets.reason.contains(part),
            "{part} not in {}",
            secrets.reason
        );
    }
    assert!(
        !secrets.reason.contains("environment prod"),
        "{}",
        secrets.reason
    );

    // The repository now: every environment's branch, each GitOpsRepo naming its branch
    // of the new gitops repository.
    let bare = harness.bare(ORG, CONTROL_PLANE);
    assert_eq!(branches(&bare), ["dev", "main", "prod", "stage"]);
    for environment in ["stage", "prod"] {
        let gitops_repo = file_on(&harness, CONTROL_PLANE, environment, "gitops-repo.yaml");
        assert!(gitops_repo.contains(&new_gitops), "{gitops_repo}");
        assert!(
            gitops_repo.contains(&format!("branch: \"{environment}\"")),
            "{gitops_repo}"
        );
    }
    assert!(file_on(&harness, CONTROL_PLANE, "dev", "gitops-repo.yaml").contains(&new_gitops));
    assert!(
        file_on(&harness, CONTROL_PLANE, "main", ".environments/prod.yaml")
            .contains("name: \"prod\"")
    );
    // The report: what the seed step did, per environment.
    let done = run
        .outcome
        .step(StepId::ControlPlaneSeed)
        .and_then(|step| step.message.clone())
        .unwrap();
    for part in [
        "pointed the GitOpsRepo in gitops-repo.yaml on dev",
        "created branch stage of acme/kalypso-control-plane",
        "created branch prod of acme/kalypso-control-plane",
        "added .environments/prod.yaml (Environment prod) on main",
    ] {
        assert!(done.contains(part), "{part} not in {done}");
    }
    // What the run changed passes the check of an existing control plane on a later run.
    let plan = harness.planned(&config).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert_eq!(plan.action(StepId::ControlPlaneSeed), Some(Action::Skip));

    // The promotion chain: dev → stage → prod, nothing after prod.
    for (environment, next) in [("dev", "stage"), ("stage", "prod")] {
        assert!(harness.sim.github_environment_secret_is(
            ORG,
            CONTROL_PLANE,
            environment,
            "NEXT_ENVIRONMENT",
            next
        ));
    }
    let cp = &harness.settled().github.repos["acme/kalypso-control-plane"];
    assert_eq!(cp.environments.keys().collect::<Vec<_>>(), ["dev", "stage"]);

    // Each change recorded as ours.
    let kinds: Vec<String> = harness
        .state()
        .resources
        .iter()
        .filter(|r| r.ownership == Ownership::CreatedByUs)
        .map(|r| r.resource.describe())
        .filter(|d| d.starts_with("repo_") && !d.starts_with("repo_secret"))
        .map(|d| d.split(" (head").next().unwrap().to_string())
        .collect();
    for expected in [
        "repo_branch stage of acme/kalypso-control-plane",
        "repo_branch prod of acme/kalypso-control-plane",
        "repo_environment dev of acme/kalypso-control-plane",
        "repo_environment stage of acme/kalypso-control-plane",
        "repo_environment_secret NEXT_ENVIRONMENT of environment dev on acme/kalypso-control-plane",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} not in {kinds:#?}"
        );
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.starts_with("repo_file_commit"))
            .count(),
        3,
        "dev's pointer, stage's and prod's Environments: {kinds:#?}"
    );
    assert_no_canary(&harness.sim.calls());

    let report = harness.rollback(&config).await;
    assert!(
        report.is_complete(),
        "{:?} {:?}",
        report.leftovers,
        report.kept
    );
    assert_eq!(control_plane_files(&harness), before);
    let cp = &harness.settled().github.repos["acme/kalypso-control-plane"];
    assert!(cp.environments.is_empty(), "{:?}", cp.environments);
}

/// A NEXT_ENVIRONMENT that exists cannot be read back or restored: the plan and the step's
/// result leave it and warn, with the command that sets it by hand; the rollback leaves the
/// GitHub environment we did not create, and its secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_next_environment_secret_is_left_and_warned_about() {
    let harness = Harness::new();
    seed_control_plane_with_dev_only(&harness);
    let gh = the_gh(&harness);
    let slug = format!("{ORG}/{CONTROL_PLANE}");
    gh.environment_create(&slug, "dev").await.unwrap();
    gh.environment_secret_set(
        &slug,
        "dev",
        "NEXT_ENVIRONMENT",
        secrecy::SecretString::from("qa"),
    )
    .await
    .unwrap();
    let config = reference_with_three_environments();
    let command = format!("gh secret set NEXT_ENVIRONMENT --env dev --repo {slug} --body stage");

    let run = harness.run(&config).await;
    run.assert_success();
    let secrets = run.plan.step(StepId::ControlPlaneSecrets).unwrap();
    assert!(
        secrets
            .reason
            .contains("warning: the GitHub environment dev has a NEXT_ENVIRONMENT secret already; it is left as it is"),
        "{}",
        secrets.reason
    );
    assert!(secrets.reason.contains(&command), "{}", secrets.reason);
    assert!(
        !secrets
            .reason
            .contains("the GitHub environment dev does not exist"),
        "{}",
        secrets.reason
    );
    let message = run
        .outcome
        .step(StepId::ControlPlaneSecrets)
        .and_then(|step| step.message.clone())
        .unwrap();
    assert!(message.contains(&command), "{message}");
    // Left as it was; stage's is set.
    assert!(harness.sim.github_environment_secret_is(
        ORG,
        CONTROL_PLANE,
        "dev",
        "NEXT_ENVIRONMENT",
        "qa"
    ));
    assert!(harness.sim.github_environment_secret_is(
        ORG,
        CONTROL_PLANE,
        "stage",
        "NEXT_ENVIRONMENT",
        "prod"
    ));

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.kept);
    assert!(harness.sim.github_environment_secret_is(
        ORG,
        CONTROL_PLANE,
        "dev",
        "NEXT_ENVIRONMENT",
        "qa"
    ));
    let cp = &harness.settled().github.repos["acme/kalypso-control-plane"];
    assert_eq!(cp.environments.keys().collect::<Vec<_>>(), ["dev"]);
}

/// A branch we created that someone pushed to since is theirs too: the rollback keeps it,
/// saying why, and removes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_environment_branch_that_moved_is_not_deleted() {
    let harness = Harness::new();
    seed_control_plane_with_dev_only(&harness);
    let config = reference_with_three_environments();
    harness.run(&config).await.assert_success();
    let theirs = format!(
        "{}# theirs\n",
        file_on(&harness, CONTROL_PLANE, "stage", "gitops-repo.yaml")
    );
    push_their_change(
        &harness,
        CONTROL_PLANE,
        "stage",
        "gitops-repo.yaml",
        &theirs,
    );

    let report = harness.rollback(&config).await;
    assert!(!report.is_complete());
    assert_eq!(report.kept.len(), 1, "{:?}", report.kept);
    for part in ["branch stage", "moved since we created it"] {
        assert!(
            report.kept[0].contains(part),
            "{part} not in {}",
            report.kept[0]
        );
    }
    assert_eq!(
        branches(&harness.bare(ORG, CONTROL_PLANE)),
        ["dev", "main", "stage"]
    );
    assert_eq!(
        file_on(&harness, CONTROL_PLANE, "stage", "gitops-repo.yaml"),
        theirs
    );
}

/// The dry run lists each environment's changes, the commands a run then runs among them,
/// and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_lists_the_changes_per_environment_and_changes_nothing() {
    let harness = Harness::new();
    seed_control_plane_with_dev_only(&harness);
    let config = reference_with_three_environments();
    let before = harness.sim.snapshot();
    let files_before = control_plane_files(&harness);
    let bootstrap = harness.open(&config);
    let observed = bootstrap.observe(&CancellationToken::new()).await.unwrap();
    let plan = bootstrap.plan(&observed);
    let dry = bootstrap.dry_run(&plan);
    drop(bootstrap);
    assert_eq!(harness.sim.snapshot(), before);
    assert_eq!(control_plane_files(&harness), files_before);

    let text = dry.to_text();
    for part in [
        "branch stage does not exist; change: create it",
        "branch prod does not exist; change: create it",
        "main declares no Environment prod; change: add .environments/prod.yaml",
        "the GitHub environment stage does not exist; change: create it",
        "$ gh api repos/acme/kalypso-control-plane/git/ref/heads/stage",
        "$ gh api --method PUT repos/acme/kalypso-control-plane/environments/stage --silent",
        "$ gh secret set NEXT_ENVIRONMENT --env stage --repo acme/kalypso-control-plane",
    ] {
        assert!(text.contains(part), "{part} not in {text}");
    }
    let json: serde_json::Value = serde_json::from_str(&dry.to_json()).unwrap();
    let seed = json["steps"]
        .as_array()
        .unwrap()
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
    assert_eq!(pushes, ["dev", "stage", "prod", "main", "main"]);

    // What you see is what runs: every push and every GitHub environment change of the run
    // was listed.
    let listed: std::collections::BTreeSet<Vec<String>> = dry
        .steps
        .iter()
        .flat_map(|s| s.commands.iter().cloned())
        .collect();
    harness.sim.clear_calls();
    harness.run(&config).await.assert_success();
    let mut checked = 0;
    for call in harness.sim.calls() {
        let mut argv = vec![call.program.clone()];
        argv.extend(call.args.iter().cloned());
        let changes = (argv[0] == "git" && argv.get(1).is_some_and(|a| a == "push"))
            || argv.windows(2).any(|w| w[0] == "--method" && w[1] == "PUT")
            || argv
                .windows(2)
                .any(|w| w[0] == "set" && w[1] == "NEXT_ENVIRONMENT");
        if changes {
            checked += 1;
            assert!(listed.contains(&argv), "ran but not listed: {argv:?}");
        }
    }
    assert_eq!(
        checked,
        5 + 4 + 2 + 2,
        "five pushes to the control plane, four to the new gitops repository, two environments, two secrets"
    );
}

/// A later environment's branch that exists but lacks what Kalypso consumes stays a refusal
/// (as the first one's), naming the branch and what is missing: nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_later_environment_branch_lacking_a_gitops_repo_is_refused() {
    let harness = Harness::new();
    let mut two = all_new();
    two.environments = kalypso_bootstrap::config::rules::environments("dev,stage").expect("valid");
    seed_valid_repo(&harness, &two, RepoKind::ControlPlane, ORG, CONTROL_PLANE);
    edit_file(
        &harness.bare(ORG, CONTROL_PLANE),
        "stage",
        "gitops-repo.yaml",
        |text| text.replace("kind: GitOpsRepo", "kind: NotAGitOpsRepo"),
    );
    let before = control_plane_files(&harness);
    let error = harness.refused(&reference_with_three_environments()).await;
    assert_eq!(error.exit_code, ExitCode::RepositoryFailed, "{error:?}");
    assert!(
        error.message.contains("branch stage of repository https://github.com/acme/kalypso-control-plane lacks what Kalypso needs")
            && error.message.contains("on stage: no GitOpsRepo"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("on dev:"), "{}", error.message);
    assert_eq!(control_plane_files(&harness), before);
}

/// A GitHub environment carries no mark: the one we created stays the user's once it holds
/// a secret we did not set. The rollback removes the environment that holds only our
/// NEXT_ENVIRONMENT, and keeps the one the user put a secret in, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_github_environment_holding_a_secret_we_did_not_set_is_kept() {
    use kalypso_bootstrap::tools::{CommandRunner, CommandSpec};
    let harness = Harness::new();
    seed_control_plane_with_dev_only(&harness);
    let config = reference_with_three_environments();
    harness.run(&config).await.assert_success();
    let theirs = harness
        .sim
        .run(
            CommandSpec::new("gh")
                .args([
                    "secret",
                    "set",
                    "DEPLOY_KEY",
                    "--env",
                    "stage",
                    "--repo",
                    "acme/kalypso-control-plane",
                ])
                .secret_env("GH_TOKEN", secrecy::SecretString::from(CANARY))
                .secret_stdin(secrecy::SecretSlice::from(b"their value".to_vec())),
        )
        .await
        .expect("gh runs");
    assert_eq!(theirs.exit_code, Some(0), "{}", theirs.stderr);

    let report = harness.rollback(&config).await;
    assert_eq!(report.kept.len(), 1, "{:?}", report.kept);
    for part in [
        "GitHub environment stage",
        "holds secrets we did not set (DEPLOY_KEY)",
    ] {
        assert!(
            report.kept[0].contains(part),
            "{part} not in {}",
            report.kept[0]
        );
    }
    let cp = &harness.settled().github.repos["acme/kalypso-control-plane"];
    assert_eq!(cp.environments.keys().collect::<Vec<_>>(), ["stage"]);
    assert!(cp.environments["stage"].contains_key("DEPLOY_KEY"));
}

/// A GitHub environment GitHub refused to create (GitHub Free, a private repository) is not
/// left in the state as ours: no later rollback or --clean could take one the user makes
/// meanwhile for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_environment_github_refused_is_not_recorded_as_ours() {
    let harness = Harness::new();
    seed_control_plane_with_dev_only(&harness);
    harness
        .sim
        .set_github_plan(ORG, kalypso_bootstrap::sim::GithubPlan::Free);
    let config = reference_with_three_environments();
    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::ControlPlaneSecrets), "{}", error.message);
    assert!(
        error
            .message
            .contains("Upgrade to GitHub Pro or make this repository public"),
        "{}",
        error.message
    );
    let environments: Vec<String> = harness
        .state()
        .resources
        .iter()
        .map(|r| r.resource.describe())
        .filter(|d| d.starts_with("repo_environment"))
        .collect();
    assert!(environments.is_empty(), "{environments:?}");
}
