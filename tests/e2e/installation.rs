//! The installation and validation phases on the simulated environment: a Flux already
//! on the cluster is kept when it still serves `v1beta2` and refused when it does not
//! (Flux 2.8); a chart version that does not exist stops before anything is installed;
//! a health check that never passes ends the bounded wait with its last reason.

use std::sync::Arc;
use std::time::Duration;

use crate::support::e2e::*;
use crate::support::sim::assert_same_state;
use kalypso_bootstrap::engine::{EventKind, HealthStatus, Outcome, StepId, StepTimings};
use kalypso_bootstrap::state::{Ownership, Resource, RunStatus};
use kalypso_bootstrap::ExitCode;

/// Calls of `program` with these leading command words, as command lines.
fn calls_of(harness: &Harness, program: &str, words: &[&str]) -> Vec<String> {
    harness
        .sim
        .calls()
        .iter()
        .filter(|c| {
            c.program == program
                && c.words
                    .iter()
                    .map(String::as_str)
                    .take(words.len())
                    .eq(words.iter().copied())
        })
        .map(|c| c.command_line())
        .collect()
}

fn server_side_applies(harness: &Harness) -> Vec<String> {
    calls_of(harness, "kubectl", &["apply"])
        .into_iter()
        .filter(|line| line.contains("--server-side"))
        .collect()
}

fn flux_deployments(harness: &Harness) -> usize {
    let snapshot = harness.sim.snapshot();
    snapshot.kube_clusters[EXISTING_SERVER]
        .objects
        .get("deployments.apps")
        .map_or(0, |d| {
            d.keys().filter(|k| k.starts_with("flux-system/")).count()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flux_serving_v1beta2_is_reused_and_outlives_the_rollback() {
    let harness = Harness::new();
    harness
        .sim
        .seed_flux(EXISTING_SERVER, "v2.7.5")
        .expect("seeded Flux");
    let flux_before = flux_deployments(&harness);
    assert!(flux_before > 0, "Flux's controllers are seeded");
    let before = harness.settled();
    let config = existing_cluster(all_new());

    let run = harness.run(&config).await;
    run.assert_success();
    let flux = run
        .outcome
        .step(StepId::InstallFlux)
        .expect("the Flux step");
    assert_eq!(flux.outcome, Some(Outcome::Reused), "{:?}", flux.message);
    assert!(
        flux.message
            .as_deref()
            .is_some_and(|m| m.contains("already installed") && m.contains("v1beta2")),
        "{:?}",
        flux.message
    );
    assert_eq!(server_side_applies(&harness), Vec::<String>::new());
    let recorded = harness
        .state()
        .resources
        .into_iter()
        .find(|r| matches!(r.resource, Resource::Flux { .. }))
        .expect("Flux is recorded");
    assert_eq!(recorded.ownership, Ownership::Reused);

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_eq!(harness.state().status, RunStatus::RolledBack);
    assert_eq!(flux_deployments(&harness), flux_before, "Flux stays");
    assert_eq!(
        calls_of(&harness, "kubectl", &["delete"])
            .into_iter()
            .filter(|l| l.contains("fluxcd"))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "the Flux of someone else is never deleted"
    );
    assert_same_state(&before, &harness.settled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flux_that_no_longer_serves_v1beta2_stops_the_installation() {
    let harness = Harness::new();
    harness
        .sim
        .seed_flux(EXISTING_SERVER, "v2.8.0")
        .expect("seeded Flux");
    let before = harness.settled();
    let config = existing_cluster(all_new());

    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::InstallFlux), "{}", error.message);
    assert_eq!(run.outcome.exit_code, ExitCode::InstallationFailed);
    assert!(
        error.message.contains("does not serve v1beta2")
            && error.message.contains("Flux 2.8 removed")
            && error
                .message
                .contains("gitrepositories.source.toolkit.fluxcd.io (serves v1)"),
        "{}",
        error.message
    );
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("Flux 2.7 or earlier")),
        "{error:?}"
    );
    assert_eq!(server_side_applies(&harness), Vec::<String>::new());
    assert_eq!(
        calls_of(&harness, "helm", &["upgrade"]),
        Vec::<String>::new()
    );

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_same_state(&before, &harness.settled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_version_that_does_not_exist_stops_before_installing_anything() {
    let harness = Harness::new();
    let mut config = existing_cluster(all_new());
    config.installation.version = "9.9.9".into();

    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::InstallKalypso), "{}", error.message);
    assert_eq!(run.outcome.exit_code, ExitCode::InstallationFailed);
    assert!(
        error.message.contains("version 9.9.9 was not found")
            && error.message.contains("helm show chart"),
        "{}",
        error.message
    );
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("--helm-version") && h.contains("--versions")),
        "{error:?}"
    );
    assert_eq!(
        calls_of(&harness, "helm", &["upgrade"]),
        Vec::<String>::new()
    );
    let recorded: Vec<Resource> = harness
        .state()
        .resources
        .into_iter()
        .map(|r| r.resource)
        .filter(|r| {
            matches!(
                r,
                Resource::Namespace { .. }
                    | Resource::KalypsoCrds { .. }
                    | Resource::HelmRelease { .. }
            )
        })
        .collect();
    assert_eq!(recorded, Vec::<Resource>::new());
}

#[test]
fn the_health_checks_wait_five_minutes_by_default() {
    assert_eq!(
        StepTimings::default().health.timeout,
        Some(Duration::from_secs(5 * 60))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_check_that_never_passes_ends_the_wait_with_its_last_reason() {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    let mut env = harness.step_env(&config);
    env.timings = StepTimings {
        health: kalypso_bootstrap::tools::retry::PollPolicy {
            timeout: Some(Duration::from_secs(1)),
            ..StepTimings::fast().health
        },
        ..StepTimings::fast()
    };
    // Someone deletes the control plane's main branch: Flux cannot fetch it.
    let bare = harness.bare(ORG, CONTROL_PLANE);
    let steps = BeforeStep::new(env, StepId::HealthChecks, move || {
        git(&bare, &["update-ref", "-d", "refs/heads/main"]);
    });
    let run = harness.run_steps(&config, Arc::new(steps)).await;

    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    assert_eq!(run.outcome.exit_code, ExitCode::InstallationFailed);
    let missing_branch = "couldn't find remote ref \"refs/heads/main\"";
    assert!(
        error.message.contains("not done after 1s")
            && error.message.contains("last observed")
            && error.message.contains("flux-gitrepository: ")
            && error.message.contains(missing_branch),
        "{}",
        error.message
    );
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("get gitrepositories,kustomizations")),
        "{error:?}"
    );

    // The last word on each check: the source Failing with its reason, the others passed.
    let mut last = std::collections::BTreeMap::new();
    for event in &run.events {
        if let EventKind::HealthCheck {
            check,
            status,
            message,
        } = &event.kind
        {
            last.insert(check.clone(), (*status, message.clone()));
        }
    }
    let (status, message) = &last["flux-gitrepository"];
    assert_eq!(*status, HealthStatus::Failing);
    assert!(message.contains(missing_branch), "{message}");
    for check in ["pods", "crds", "controller", "webhooks", "test-workload"] {
        assert_eq!(
            last[check].0,
            HealthStatus::Passing,
            "{check}: {:?}",
            last[check]
        );
    }
}

/// Issue 14 §5: a release another helm left `pending-install` (killed mid-install) is not
/// this installation's: the run stops, naming its state, and neither uninstalls nor
/// upgrades it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_release_that_is_not_ours_stops_the_installation_untouched() {
    use kalypso_bootstrap::tools::{CommandRunner, CommandSpec};
    let harness = Harness::new();
    harness
        .sim
        .seed_flux(EXISTING_SERVER, "v2.7.5")
        .expect("seeded Flux");
    // Someone else's helm, stopped while it waited: the release stays pending-install.
    leave_someone_elses_helm_pending(&harness, &["--create-namespace"]).await;
    let status = harness
        .sim
        .run(CommandSpec::new("helm").args([
            "status",
            "kalypso-scheduler",
            "-n",
            NAMESPACE,
            "-o",
            "json",
            "--kube-context",
            EXISTING_CONTEXT,
        ]))
        .await
        .unwrap();
    assert!(
        status.stdout.contains("\"status\":\"pending-install\""),
        "{status:?}"
    );
    harness.sim.clear_calls();

    let run = harness.run(&existing_cluster(all_new())).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::InstallKalypso), "{}", error.message);
    assert!(
        error
            .message
            .contains("left pending-install by an interrupted helm")
            && error.message.contains("not by this tool"),
        "{}",
        error.message
    );
    for words in [&["uninstall"][..], &["upgrade"][..]] {
        assert_eq!(
            calls_of(&harness, "helm", words),
            Vec::<String>::new(),
            "{words:?}"
        );
    }
}

/// Issue 14 §5: the state records the release as ours, but a later helm (killed in its
/// upgrade) left it `pending-upgrade` with another installation's release label: the live
/// mark decides, so the run stops and does not uninstall it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_release_recorded_as_ours_but_marked_otherwise_is_not_touched() {
    let harness = Harness::new();
    harness
        .sim
        .seed_flux(EXISTING_SERVER, "v2.7.5")
        .expect("seeded Flux");
    let config = existing_cluster(all_new());
    harness.run(&config).await.assert_success();

    leave_someone_elses_helm_pending(
        &harness,
        &["--labels", "kalypso-bootstrap/installation=kb-someone-else"],
    )
    .await;
    harness.sim.clear_calls();

    let run = harness.run(&config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::InstallKalypso), "{}", error.message);
    assert!(
        error.message.contains("is pending-upgrade")
            && error.message.contains("not marked as this installation's")
            && error.message.contains("kb-someone-else"),
        "{}",
        error.message
    );
    assert_eq!(
        calls_of(&harness, "helm", &["uninstall"]),
        Vec::<String>::new()
    );
}

/// Someone else's `helm upgrade --install` of our release name, stopped while it waited (as
/// a SIGKILL would): the release stays pending. `extra` are that helm's other flags.
async fn leave_someone_elses_helm_pending(harness: &Harness, extra: &[&str]) {
    use kalypso_bootstrap::sim::Latency;
    use kalypso_bootstrap::tools::{CancellationToken, CommandRunner, CommandSpec, RunControl};
    harness
        .sim
        .set_latency(Latency::zero().with_command("helm upgrade", Duration::from_secs(30)));
    let cancel = CancellationToken::new();
    let control = RunControl {
        sink: None,
        cancel: Some(cancel.clone()),
    };
    let install = CommandSpec::new("helm")
        .args([
            "upgrade",
            "--install",
            "kalypso-scheduler",
            "kalypso-scheduler",
            "--repo",
            "https://microsoft.github.io/kalypso-scheduler",
            "--version",
            "1.1.2-alpha",
            "--namespace",
            NAMESPACE,
            "--set",
            "ghRepoToken=someone-elses,controlPlaneURL=https://github.com/other/cp,controlPlaneBranch=main",
            "--wait",
            "--kube-context",
            EXISTING_CONTEXT,
        ])
        .args(extra.iter().copied());
    let sim = harness.sim.clone();
    let running = tokio::spawn(async move { sim.run_with(install, control).await });
    // Stopped once it has marked the release pending (it then waits out its 30 s).
    let release = format!("{NAMESPACE}/kalypso-scheduler");
    crate::support::process::wait_until_async("the other helm marking the release pending", || {
        harness.sim.snapshot().kube_clusters[EXISTING_SERVER]
            .releases
            .get(&release)
            .is_some_and(|r| r.status.starts_with("pending-"))
    })
    .await;
    cancel.cancel();
    assert!(
        running.await.unwrap().is_err(),
        "the other helm was stopped"
    );
    harness.sim.set_latency(Latency::zero());
}

/// The last health event of each check: `(status, message)`.
fn last_health(run: &Run) -> std::collections::BTreeMap<String, (HealthStatus, String)> {
    let mut last = std::collections::BTreeMap::new();
    for event in &run.events {
        if let EventKind::HealthCheck {
            check,
            status,
            message,
        } = &event.kind
        {
            last.insert(check.clone(), (*status, message.clone()));
        }
    }
    last
}

fn health_bound_of(seconds: u64) -> StepTimings {
    StepTimings {
        health: kalypso_bootstrap::tools::retry::PollPolicy {
            timeout: Some(Duration::from_secs(seconds)),
            ..StepTimings::fast().health
        },
        ..StepTimings::fast()
    }
}

/// Issue 14 §3: a token that reads the gitops repository but cannot push to it passes
/// every other check (Flux reads the control plane, the CRDs, the controller...), but
/// the scheduler opens no pull request: the pull-request check fails the validation with
/// the last look, and the GitOpsRepo says why (GitHub's 403 as the controller got it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_can_read_but_not_write_the_gitops_repository_fails_the_pull_request_check() {
    let harness = Harness::new();
    let mut config = existing_cluster(all_new());
    // A public gitops repository of another organisation: alice reads it, cannot push.
    config.repositories.gitops = existing_repo("https://github.com/contoso/platform-gitops");
    harness.sim.seed_github_org("contoso", &[]);
    let seed = rendered_seed(
        &config,
        kalypso_bootstrap::templates::RepoKind::Gitops,
        "contoso",
        "platform-gitops",
    )
    .public();
    // Someone's own pull request against dev proves nothing about the scheduler.
    let seed = seed
        .with_file("docs-typo", "README.md", "a fix\n")
        .with_open_pull_request("docs-typo", "dev", "Fix a typo", "bob");
    harness.sim.seed_repo(seed).expect("seeded");
    let mut env = harness.step_env(&config);
    env.timings = health_bound_of(1);
    let run = harness
        .run_steps(
            &config,
            Arc::new(BeforeStep::new(env, StepId::HealthChecks, || {})),
        )
        .await;

    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    assert_eq!(run.outcome.exit_code, ExitCode::InstallationFailed);
    let last = last_health(&run);
    let (status, message) = &last["pull-request"];
    assert_eq!(*status, HealthStatus::Failing);
    assert!(
        message.contains("no open pull request from the scheduler (a deployment/… branch) against dev in contoso/platform-gitops")
            && message.contains("last look: 1 open, none from the scheduler"),
        "{message}"
    );
    let (status, message) = &last["gitopsrepo"];
    assert_eq!(*status, HealthStatus::Failing);
    assert!(
        message.contains("Ready=False, reason UpdateFailed")
            && message.contains(
                "POST https://api.github.com/repos/contoso/platform-gitops/git/refs: 403"
            ),
        "{message}"
    );
    // The others still report, and pass: reading is not the problem.
    for check in [
        "pods",
        "crds",
        "controller",
        "webhooks",
        "flux-gitrepository",
        "flux-kustomization",
        "test-workload",
        "environment-flux",
        "baserepo",
    ] {
        assert_eq!(
            last[check].0,
            HealthStatus::Passing,
            "{check}: {:?}",
            last[check]
        );
    }
    // The error names the cause; the hint the section that explains it.
    assert!(
        error.message.contains("pull-request: "),
        "{}",
        error.message
    );
    let hint = error.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("write access to contoso/platform-gitops")
            && hint.contains("kalypso-bootstrap --explain baserepo-or-gitopsrepo-reports-an-error"),
        "{hint}"
    );
    // Nothing was opened on the repository: only bob's pull request is there, still open.
    let pulls = &harness.sim.snapshot().github.repos["contoso/platform-gitops"].pulls;
    assert!(
        pulls.len() == 1 && pulls[0].author == "bob" && pulls[0].state == "OPEN",
        "{pulls:?}"
    );
}

/// Issue 14 §3: a GitOpsRepo naming a repository that does not exist reports the
/// controller's error condition, and the wait gives up at its bound, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitops_repo_naming_a_missing_repository_reports_its_error_and_gives_up_at_the_bound() {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    let mut env = harness.step_env(&config);
    env.timings = health_bound_of(1);
    // Someone points the environment's GitOpsRepo at a repository that does not exist,
    // before the scheduler is installed (once it has opened its pull request, the
    // controller proposes again only when the content changes, not the target).
    let bare = harness.bare(ORG, CONTROL_PLANE);
    let steps = BeforeStep::new(env, StepId::InstallKalypso, move || {
        edit_file(&bare, "dev", "gitops-repo.yaml", |text| {
            text.replace(
                &format!("https://github.com/{ORG}/{GITOPS}"),
                &format!("https://github.com/{ORG}/no-such-gitops"),
            )
        });
    });
    let run = harness.run_steps(&config, Arc::new(steps)).await;

    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    assert_eq!(run.outcome.exit_code, ExitCode::InstallationFailed);
    let last = last_health(&run);
    let (status, message) = &last["gitopsrepo"];
    assert_eq!(*status, HealthStatus::Failing);
    assert!(
        message.contains(&format!(
            "GitOpsRepo dev (https://github.com/{ORG}/no-such-gitops@dev): Ready=False, reason UpdateFailed: GET https://api.github.com/repos/{ORG}/no-such-gitops/git/ref/heads/dev: 404 Not Found"
        )),
        "{message}"
    );
    // Bounded: each failing check says which bound it gave up at, after how many rounds.
    for check in ["gitopsrepo", "pull-request"] {
        let (status, message) = &last[check];
        assert_eq!(*status, HealthStatus::Failing);
        let rounds = message
            .split("(gave up after the 1s bound, ")
            .nth(1)
            .and_then(|rest| rest.strip_suffix(" rounds)"))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("{check}: no bound and rounds in {message}"));
        assert!(rounds >= 1, "{message}");
    }
    assert!(
        error.message.contains("not done after 1s"),
        "{}",
        error.message
    );
    // The environment's Flux objects and the BaseRepo are fine.
    for check in ["environment-flux", "baserepo"] {
        assert_eq!(
            last[check].0,
            HealthStatus::Passing,
            "{check}: {:?}",
            last[check]
        );
    }
}

/// Issue 14 §3: the simulated scheduler opens its pull request only when its wait
/// (`prCreateTimeOut`, the latency profile's `scheduler_pull_request`) is over: with an
/// hour's wait the GitOpsRepo stays ready-for-PR without a Ready condition, and the
/// pull-request check gives up at its bound with the last look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_opens_its_pull_request_only_after_its_wait() {
    let harness = Harness::new();
    harness.sim.set_latency(
        kalypso_bootstrap::sim::Latency::zero()
            .with_scheduler_pull_request(Duration::from_secs(3600)),
    );
    let config = existing_cluster(all_new());
    let mut env = harness.step_env(&config);
    env.timings = health_bound_of(1);
    let run = harness
        .run_steps(
            &config,
            Arc::new(BeforeStep::new(env, StepId::HealthChecks, || {})),
        )
        .await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    let last = last_health(&run);
    let (_, message) = &last["gitopsrepo"];
    assert!(message.contains("no Ready condition yet"), "{message}");
    let (status, message) = &last["pull-request"];
    assert_eq!(*status, HealthStatus::Failing);
    assert!(message.contains("last look: 0 open"), "{message}");
    assert!(
        harness.sim.snapshot().github.repos[&format!("{ORG}/{GITOPS}").to_lowercase()]
            .pulls
            .is_empty()
    );
}

/// Issue 14 §3: a classic token without the `repo` scope cannot see a private gitops
/// repository through the API (GitHub answers 404), so the scheduler opens nothing and
/// its GitOpsRepo says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_the_repo_scope_gets_no_pull_request_on_a_private_gitops_repository() {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    let mut env = harness.step_env(&config);
    env.timings = health_bound_of(1);
    let sim = harness.sim.clone();
    // The token loses its `repo` scope before the scheduler is installed.
    let steps = BeforeStep::new(env, StepId::InstallKalypso, move || {
        sim.seed_github_user("alice", CANARY, &["workflow", "read:org", "delete_repo"]);
    });
    let run = harness.run_steps(&config, Arc::new(steps)).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    let last = last_health(&run);
    let (status, message) = &last["gitopsrepo"];
    assert_eq!(*status, HealthStatus::Failing);
    assert!(
        message.contains(&format!(
            "GET https://api.github.com/repos/{ORG}/{GITOPS}/git/ref/heads/dev: 404 Not Found"
        )),
        "{message}"
    );
    assert_eq!(last["pull-request"].0, HealthStatus::Failing);
}

/// The assignment of the sample workload (hello-world-app, deployment target
/// functional-test, cluster type default) as the scheduler names it.
const SAMPLE_ASSIGNMENT: &str = "hello-world-app-hello-world-app-functional-test-default";

/// Issue 14 §3: the sample workload registered on the control plane's main branch is
/// scheduled; the pull request carries its deployment target's folder, rendered from the
/// control plane's templates, and the pull-request check says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_workload_is_scheduled_into_the_pull_request() {
    let harness = Harness::new();
    let run = harness.run(&all_new()).await;
    run.assert_success();
    let files = scheduler_pull_request_files(&harness, ORG, GITOPS);
    for file in ["reconciler.yaml", "namespace.yaml", "platform-config.yaml"] {
        assert!(
            files.contains_key(&format!("default/hello-world-app-functional-test/{file}")),
            "{file} not in {:?}",
            files.keys()
        );
    }
    let reconciler = &files["default/hello-world-app-functional-test/reconciler.yaml"];
    assert!(
        reconciler.contains("url: \"https://github.com/microsoft/kalypso-app-gitops\""),
        "{reconciler}"
    );
    // `buildTargetNamespace`: environment, cluster type, deployment target.
    assert!(
        reconciler.contains("targetNamespace: \"dev-default-hello-world-app-functional-test\""),
        "{reconciler}"
    );
    assert!(
        reconciler.contains("path: \"./functional-test\""),
        "{reconciler}"
    );
    let config = &files["default/hello-world-app-functional-test/platform-config.yaml"];
    assert!(
        config.contains("data:\n  CLUSTER_NAME: default\n  CLUSTER_TYPE: default\n  DATABASE_URL: \"\"\n  ENVIRONMENT: dev\n  REGION: \"\""),
        "{config}"
    );
    assert!(files.contains_key("default/README.md"));
    let last = last_health(&run);
    let (status, message) = &last["pull-request"];
    assert_eq!(*status, HealthStatus::Passing);
    assert!(
        message.contains("schedules default/hello-world-app-functional-test"),
        "{message}"
    );
}

/// Runs `config` with `change` made to the control plane before the scheduler is
/// installed, the health checks bounded to a second; the last health of each check.
async fn run_with_control_plane_change(
    change: impl FnOnce(&std::path::Path) + Send + 'static,
) -> std::collections::BTreeMap<String, (HealthStatus, String)> {
    let harness = Harness::new();
    let config = existing_cluster(all_new());
    let mut env = harness.step_env(&config);
    env.timings = health_bound_of(1);
    let bare = harness.bare(ORG, CONTROL_PLANE);
    let steps = BeforeStep::new(env, StepId::InstallKalypso, move || change(&bare));
    let run = harness.run_steps(&config, Arc::new(steps)).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::HealthChecks), "{}", error.message);
    assert!(
        error.message.contains("pull-request: "),
        "{}",
        error.message
    );
    last_health(&run)
}

/// A template the simulated scheduler cannot render (a sprig function it does not
/// implement) fails the Assignment; no pull request is opened, and the check says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_the_simulator_cannot_render_fails_the_assignment_and_the_check_names_it() {
    let last = run_with_control_plane_change(|bare| {
        edit_file(bare, "main", "templates/default-template.yaml", |text| {
            text.replacen(
                "url: \"{{ .Manifests.repo }}\"",
                "url: \"{{ .Manifests.repo | sha256sum }}\"",
                1,
            )
        });
    })
    .await;
    let (status, message) = &last["pull-request"];
    assert_ne!(*status, HealthStatus::Passing);
    for part in [
        format!("Assignment {SAMPLE_ASSIGNMENT}: Ready=False, reason UpdateFailed"),
        "Template default-reconciler".to_string(),
        "unsupported by the simulated scheduler: the function sha256sum".to_string(),
    ] {
        assert!(message.contains(&part), "{part} not in {message}");
    }
}

/// A SchedulingPolicy that selects no deployment target leaves nothing to schedule: the
/// check does not pass, and says which policy selected nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduling_policy_selecting_nothing_keeps_the_check_from_passing() {
    let last = run_with_control_plane_change(|bare| {
        edit_file(
            bare,
            "dev",
            "scheduling-policies/default-policy.yaml",
            |text| {
                text.replace(
                    "values: [functional-test, uat-test]",
                    "values: [nothing-matches]",
                )
            },
        );
    })
    .await;
    let (status, message) = &last["pull-request"];
    assert_ne!(*status, HealthStatus::Passing);
    assert!(
        message.contains(
            "no Assignment: SchedulingPolicy default-policy selected no deployment target"
        ),
        "{message}"
    );
}

/// A WorkloadRegistration naming a repository that does not exist: its Flux source's
/// error is the check's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_of_a_missing_repository_reports_its_flux_source_error() {
    let last = run_with_control_plane_change(|bare| {
        edit_file(
            bare,
            "main",
            "workloads/sample-workload-registration.yaml",
            |text| {
                text.replace(
                    "https://github.com/microsoft/kalypso-app-src",
                    "https://github.com/microsoft/kalypso-app-missing",
                )
            },
        );
    })
    .await;
    let (status, message) = &last["pull-request"];
    assert_ne!(*status, HealthStatus::Passing);
    assert!(
        message.contains(
            "WorkloadRegistration hello-world-app (https://github.com/microsoft/kalypso-app-missing@main): its GitRepository dev-hello-world-app: Ready=False, reason GitOperationFailed"
        ),
        "{message}"
    );
}
