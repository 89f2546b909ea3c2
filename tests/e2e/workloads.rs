//! Attached workload clusters end to end (issue 18): a kind cluster beside the management
//! cluster gets Flux, a read-only deploy key of the gitops repository in a Secret, and a
//! GitRepository and Kustomization on its environment branch; the rollback (what `--clean`
//! runs) removes every piece and nothing else; a failure at each workload step rolls back
//! to the world before; the pre-flight's refusals change nothing.

use std::sync::Arc;

use crate::failures::assert_same;
use crate::support::consented::ConsentedBootstrap;
use crate::support::e2e::*;
use kalypso_bootstrap::config::{WorkloadCluster, WorkloadContext};
use kalypso_bootstrap::engine::{RunEnd, StepId};
use kalypso_bootstrap::state::{Ownership, Resource, StepStatus};
use kalypso_bootstrap::tools::gh::Gh;
use kalypso_bootstrap::tools::kubectl::{
    FluxKind, Kubectl, FLUX_GITREPOSITORY_CRD, FLUX_KUSTOMIZATION_CRD, INSTALLATION_LABEL,
};
use secrecy::SecretString;

const WORKLOAD_SERVER: &str = "https://127.0.0.1:37443";
const WORKLOAD_STEPS: [StepId; 3] = [
    StepId::WorkloadPreflight,
    StepId::WorkloadFlux,
    StepId::WorkloadSource,
];

/// A harness whose world has a kind cluster `kind-workload` without Flux.
fn with_workload_cluster() -> (Harness, String) {
    let harness = Harness::new();
    let context = harness
        .sim
        .seed_kind_cluster("workload", WORKLOAD_SERVER, 2)
        .expect("a workload cluster");
    (harness, context)
}

fn attach(
    mut configuration: kalypso_bootstrap::config::Configuration,
    clusters: &[(WorkloadContext, &str)],
) -> kalypso_bootstrap::config::Configuration {
    configuration.workload_clusters = clusters
        .iter()
        .map(|(context, environment)| WorkloadCluster {
            context: context.clone(),
            cluster_type: "default".into(),
            environment: environment.to_string(),
        })
        .collect();
    configuration
}

fn step_status(harness: &Harness, id: StepId) -> Option<StepStatus> {
    harness
        .state()
        .steps
        .iter()
        .find(|step| step.id == id.as_str())
        .map(|step| step.status)
}

fn assert_workload_steps_succeeded(harness: &Harness, run: &Run) {
    for id in WORKLOAD_STEPS {
        assert_eq!(
            step_status(harness, id),
            Some(StepStatus::Succeeded),
            "{id}: {:?}",
            run.outcome.end
        );
    }
}

fn gitops_slug() -> String {
    format!("{ORG}/{GITOPS}")
}

fn deploy_keys(harness: &Harness) -> Vec<kalypso_bootstrap::tools::gh::RepoDeployKey> {
    let gh = Gh::new(Arc::new(harness.sim.clone())).with_token(SecretString::from(CANARY));
    futures_block(gh.deploy_keys(&gitops_slug())).expect("the deploy keys")
}

fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// What the tool must have put on one attached (cluster, environment).
fn assert_attached(harness: &Harness, server: &str, context: &str, environment: &str) {
    let name = format!("kalypso-gitops-{environment}");
    let kustomization = harness
        .sim
        .kube_object(server, FLUX_KUSTOMIZATION_CRD, Some("flux-system"), &name)
        .unwrap_or_else(|| panic!("Kustomization {name} on {context}"));
    assert_eq!(kustomization["spec"]["path"], "./default");
    assert_eq!(kustomization["spec"]["prune"], true);
    assert_eq!(kustomization["spec"]["sourceRef"]["name"], name.as_str());
    assert!(kustomization["metadata"]["labels"][INSTALLATION_LABEL].is_string());
    let source = harness
        .sim
        .kube_object(server, FLUX_GITREPOSITORY_CRD, Some("flux-system"), &name)
        .unwrap_or_else(|| panic!("GitRepository {name} on {context}"));
    assert_eq!(source["spec"]["ref"]["branch"], environment);
    assert_eq!(
        source["spec"]["url"],
        format!("ssh://git@github.com/{ORG}/{GITOPS}.git").as_str()
    );
    assert_eq!(
        source["spec"]["secretRef"]["name"],
        format!("{name}-deploy-key").as_str()
    );
    assert!(harness
        .sim
        .kube_object(
            server,
            "secrets",
            Some("flux-system"),
            &format!("{name}-deploy-key")
        )
        .is_some());
    let ready = futures_block(
        Kubectl::new(Arc::new(harness.sim.clone()))
            .with_context(context)
            .get_flux_object(FluxKind::GitRepository, &name, "flux-system"),
    )
    .expect("the GitRepository")
    .expect("present");
    assert!(ready.is_ready(), "{ready:?}");
    let title = format!("{context}/{environment}");
    let keys = deploy_keys(harness);
    let key = keys
        .iter()
        .find(|key| key.title.ends_with(&title))
        .unwrap_or_else(|| panic!("a deploy key titled …{title} among {keys:?}"));
    assert!(key.read_only, "{key:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_cluster_gets_flux_a_deploy_key_and_a_source_and_the_rollback_removes_each_piece(
) {
    let (harness, context) = with_workload_cluster();
    let before = harness.settled();
    let configuration = attach(
        existing_cluster(all_new()),
        &[(WorkloadContext::Named(context.clone()), "dev")],
    );
    let run = harness.run(&configuration).await;
    assert_workload_steps_succeeded(&harness, &run);
    assert_attached(&harness, WORKLOAD_SERVER, &context, "dev");
    // Flux was installed on the workload cluster, and is recorded as ours there.
    assert!(harness
        .sim
        .kube_object(
            WORKLOAD_SERVER,
            "customresourcedefinitions",
            None,
            FLUX_GITREPOSITORY_CRD
        )
        .is_some());
    let state = harness.state();
    let ours = |matches: &dyn Fn(&Resource) -> bool| {
        state
            .resources
            .iter()
            .filter(|r| r.ownership == Ownership::CreatedByUs && matches(&r.resource))
            .count()
    };
    assert_eq!(
        ours(&|r| matches!(r, Resource::Flux { kube_context, .. } if kube_context == &context)),
        1
    );
    assert_eq!(ours(&|r| matches!(r, Resource::WorkloadObject { .. })), 3);
    assert_eq!(
        ours(&|r| matches!(r, Resource::DeployKey { id: Some(_), .. })),
        1
    );
    // No private key in the state file.
    let text = serde_json::to_string(&state).unwrap();
    assert!(!text.contains("PRIVATE KEY"));

    let report = harness.rollback(&configuration).await;
    assert!(
        report.is_complete(),
        "left {:?}, kept {:?}",
        report.leftovers,
        report.kept
    );
    // The deploy key went before the repository (the world would differ otherwise).
    assert_same(&before, &harness.settled(), "attached, then rolled back");
}

/// `self` on the management cluster follows every environment under its own names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_follows_each_environment_on_the_management_cluster() {
    let harness = Harness::new();
    let before = harness.settled();
    let mut configuration = existing_cluster(all_new());
    configuration.environments =
        kalypso_bootstrap::config::rules::environments("dev,stage").unwrap();
    let configuration = attach(
        configuration,
        &[
            (WorkloadContext::Management, "dev"),
            (WorkloadContext::Management, "stage"),
        ],
    );
    let run = harness.run(&configuration).await;
    assert_workload_steps_succeeded(&harness, &run);
    for environment in ["dev", "stage"] {
        assert_attached(&harness, EXISTING_SERVER, EXISTING_CONTEXT, environment);
    }
    assert_eq!(deploy_keys(&harness).len(), 2);
    let report = harness.rollback(&configuration).await;
    assert!(report.is_complete(), "left {:?}", report.leftovers);
    assert_same(&before, &harness.settled(), "self, then rolled back");
}

/// A failure at each workload step, rolled back, leaves the world exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_workload_step_then_rollback_leaves_the_world_as_it_was() {
    for step in WORKLOAD_STEPS {
        let (harness, context) = with_workload_cluster();
        let before = harness.settled();
        let configuration = attach(
            existing_cluster(all_new()),
            &[(WorkloadContext::Named(context.clone()), "dev")],
        );
        let run = harness.run_failing(&configuration, step).await;
        match &run.outcome.end {
            RunEnd::Failed {
                step: Some(failed),
                error,
                ..
            } => {
                assert_eq!(*failed, step, "{}", error.message);
                assert!(error.hint.is_some(), "{step}: {error:?}");
            }
            other => panic!("{step}: expected a failure, got {other:?}"),
        }
        let report = harness.rollback(&configuration).await;
        assert!(
            report.is_complete(),
            "{step}: left {:?}, kept {:?}",
            report.leftovers,
            report.kept
        );
        assert_same(
            &before,
            &harness.settled(),
            &format!("failure at {step}, rolled back"),
        );
        assert_no_canary(&harness.sim.calls());
    }
}

/// The pre-flight refuses a context that does not answer, and a name of ours taken by
/// something this installation did not create, before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preflight_refuses_an_unreachable_context_and_a_taken_name_changing_nothing() {
    // A context whose cluster is gone.
    let (harness, context) = with_workload_cluster();
    harness.sim.remove_kube_cluster(WORKLOAD_SERVER);
    let before = harness.settled();
    let configuration = attach(
        existing_cluster(all_new()),
        &[(WorkloadContext::Named(context.clone()), "dev")],
    );
    let run = harness.run(&configuration).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::WorkloadPreflight), "{error:?}");
    assert!(error.message.contains(&context), "{}", error.message);
    assert_same(&before, &harness.settled(), "unreachable workload context");

    // A Secret of our name that someone else made.
    let (harness, context) = with_workload_cluster();
    harness
        .sim
        .seed_kube_object(
            WORKLOAD_SERVER,
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}}),
        )
        .unwrap();
    harness
        .sim
        .seed_kube_object(
            WORKLOAD_SERVER,
            serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kalypso-gitops-dev-deploy-key", "namespace": "flux-system"}, "stringData": {"identity": "someone else's"}}),
        )
        .unwrap();
    let before = harness.settled();
    let run = harness.run(&configuration).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::WorkloadPreflight), "{error:?}");
    assert!(
        error.message.contains("kalypso-gitops-dev-deploy-key") && error.message.contains(&context),
        "{}",
        error.message
    );
    assert_same(&before, &harness.settled(), "a taken name");
}

/// The dry run lists the workload steps' commands (the private key never shown), and the
/// run then runs on the workload cluster only what was listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_lists_the_workload_steps_commands_that_the_run_then_runs() {
    let (harness, context) = with_workload_cluster();
    let configuration = attach(
        existing_cluster(all_new()),
        &[(WorkloadContext::Named(context.clone()), "dev")],
    );
    let bootstrap = harness.open(&configuration);
    let cancel = kalypso_bootstrap::tools::CancellationToken::new();
    let observed = bootstrap.observe(&cancel).await.unwrap();
    let plan = bootstrap.plan(&observed);
    let dry = bootstrap.dry_run(&plan);
    drop(bootstrap);
    let json: serde_json::Value = serde_json::from_str(&dry.to_json()).unwrap();
    let steps = json["steps"].as_array().unwrap();
    for id in WORKLOAD_STEPS {
        let step = steps
            .iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} in the dry run"));
        assert!(
            !step["commands"].as_array().unwrap().is_empty(),
            "{id}: {step}"
        );
        assert!(
            step["reason"].as_str().unwrap().contains(&context),
            "{step}"
        );
    }
    let text = dry.to_text();
    assert!(!text.contains("PRIVATE KEY") && !dry.to_json().contains("PRIVATE KEY"));
    assert!(
        text.contains(&format!(
            "$ gh api --method POST repos/{ORG}/{GITOPS}/keys --input -"
        )),
        "{text}"
    );
    let id = regex::Regex::new(r"=kb-[0-9a-f]{12}$").unwrap();
    let listed: std::collections::BTreeSet<Vec<String>> = dry
        .steps
        .iter()
        .flat_map(|s| s.commands.iter().cloned())
        .collect();
    harness.sim.clear_calls();
    let _run = harness.run(&configuration).await;
    let on_workload: Vec<Vec<String>> = harness
        .sim
        .calls()
        .iter()
        .filter(|call| {
            call.args.iter().any(|a| a == &context)
                || call
                    .args
                    .iter()
                    .any(|a| a.ends_with("/keys") || a == "meta")
        })
        .map(|call| {
            std::iter::once(call.program.clone())
                .chain(
                    call.args
                        .iter()
                        .map(|a| id.replace(a, "=<new-installation-id>").into_owned()),
                )
                .collect()
        })
        .collect();
    assert!(on_workload.len() > 8, "{on_workload:?}");
    // What only the run learns (a namespace the scheduler chose, a pull request's number)
    // the dry run shows as a `<placeholder>` standing for that one argument.
    let matches = |listed: &Vec<String>, ran: &Vec<String>| {
        listed.len() == ran.len()
            && listed.iter().zip(ran).all(|(listed, ran)| {
                listed == ran || listed.starts_with('<') && listed.ends_with('>')
            })
    };
    for argv in on_workload {
        assert!(
            listed.iter().any(|listed| matches(listed, &argv)),
            "ran but not listed by the dry run: {argv:?}"
        );
    }
}

/// A run that failed after the credential was made resumes with it: one deploy key, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_keeps_the_credential_an_earlier_run_made() {
    let (harness, context) = with_workload_cluster();
    let configuration = attach(
        existing_cluster(all_new()),
        &[(WorkloadContext::Named(context.clone()), "dev")],
    );
    let failed = harness
        .run_failing(&configuration, StepId::WorkloadSource)
        .await;
    assert_eq!(failed.failure().0, Some(StepId::WorkloadSource));
    assert_eq!(deploy_keys(&harness).len(), 1);
    harness.sim.clear_faults();
    let resumed = harness.run(&configuration).await;
    assert_workload_steps_succeeded(&harness, &resumed);
    assert_attached(&harness, WORKLOAD_SERVER, &context, "dev");
    assert_eq!(
        deploy_keys(&harness).len(),
        1,
        "{:?}",
        deploy_keys(&harness)
    );
}

/// `--clean` (the removal pipeline from the state file alone) lists the workload pieces in
/// their order, the Kustomization first and the Flux we installed last, removes them with
/// everything else the run created, and leaves the world as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_removes_every_workload_piece_kustomization_first_and_our_flux_last() {
    use crate::support::consented::CleanupPreview;
    use kalypso_bootstrap::engine::Cleanup;
    use kalypso_bootstrap::state::InstallationWorld;
    let (harness, context) = with_workload_cluster();
    let before = harness.settled();
    let configuration = attach(
        existing_cluster(all_new()),
        &[(WorkloadContext::Named(context.clone()), "dev")],
    );
    let run = harness.run(&configuration).await;
    assert_workload_steps_succeeded(&harness, &run);
    let runner: Arc<dyn kalypso_bootstrap::tools::CommandRunner> = Arc::new(harness.sim.clone());
    let cleanup = Cleanup::open(
        runner,
        Some(SecretString::from(CANARY)),
        &harness.paths(),
        InstallationWorld::Real,
    )
    .unwrap()
    .unwrap();
    let commands: Vec<String> = cleanup
        .preview()
        .iter()
        .map(|p| p.manual_command.clone())
        .collect();
    let position = |needle: &str| {
        commands
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {commands:#?}"))
    };
    let kustomization = position(&format!(
        "kubectl --context {context} delete {FLUX_KUSTOMIZATION_CRD} kalypso-gitops-dev"
    ));
    let source = position(&format!(
        "kubectl --context {context} delete {FLUX_GITREPOSITORY_CRD} kalypso-gitops-dev"
    ));
    let secret = position(&format!(
        "kubectl --context {context} delete secret kalypso-gitops-dev-deploy-key"
    ));
    let key = position(&format!(
        "gh api --method DELETE repos/{ORG}/{GITOPS}/keys/"
    ));
    let flux = position(&format!("kubectl --context {context} delete -f "));
    assert!(
        kustomization < source && source < secret && secret < key && key < flux,
        "{commands:#?}"
    );
    let mut consent = kalypso_bootstrap::engine::ConsentRule::new("--yes", true, None);
    let (events, _receiver) = kalypso_bootstrap::engine::EventSink::channel();
    let outcome = cleanup
        .removal()
        .run(
            &mut consent,
            events,
            &kalypso_bootstrap::tools::CancellationToken::new(),
        )
        .await;
    let kalypso_bootstrap::engine::RemovalOutcome::Removed(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_same(&before, &harness.settled(), "cleaned");
}

/// The servers of the kind clusters `w1`, `w2`, `w3` of [`workload_step_times`].
const PARALLEL_SERVERS: [&str; 3] = [
    "https://127.0.0.1:37451",
    "https://127.0.0.1:37452",
    "https://127.0.0.1:37453",
];

/// The steps [`workload_step_times`] times: the workload steps, then the first workload's
/// chain, which checks every attached cluster.
const TIMED_STEPS: [StepId; 4] = [
    StepId::WorkloadPreflight,
    StepId::WorkloadFlux,
    StepId::WorkloadSource,
    StepId::FirstWorkload,
];

/// A world with `count` kind clusters (`kind-w1`…) and an installation made on the real
/// clock without workload clusters; the configuration attaching them all (following dev),
/// and the world as it was before the installation.
async fn installed_with_clusters(
    count: usize,
) -> (
    Harness,
    kalypso_bootstrap::config::Configuration,
    kalypso_bootstrap::sim::SimSnapshot,
) {
    let harness = Harness::new();
    let contexts: Vec<String> = ["w1", "w2", "w3"][..count]
        .iter()
        .zip(PARALLEL_SERVERS)
        .map(|(cluster, server)| {
            harness
                .sim
                .seed_kind_cluster(cluster, server, 2)
                .expect("a workload cluster")
        })
        .collect();
    let before = harness.settled();
    let installation = existing_cluster(all_new());
    harness.run(&installation).await.assert_success();
    let attached: Vec<(WorkloadContext, &str)> = contexts
        .iter()
        .map(|context| (WorkloadContext::Named(context.clone()), "dev"))
        .collect();
    (harness, attach(installation, &attached), before)
}

/// `steps` alone (each after the one before), on tokio's paused clock with every command
/// taking 50 ms; the clock runs again afterwards (what follows runs real git).
async fn run_paused(
    harness: &Harness,
    configuration: &kalypso_bootstrap::config::Configuration,
    steps: &[StepId],
) -> kalypso_bootstrap::engine::RunOutcome {
    use kalypso_bootstrap::engine::{Action, EventSink, Plan, PlannedStep};
    use kalypso_bootstrap::sim::Latency;
    use kalypso_bootstrap::tools::CancellationToken;

    let bootstrap = harness.open(configuration);
    harness
        .sim
        .set_latency(Latency::fixed(std::time::Duration::from_millis(50)));
    tokio::time::pause();
    let mut planned: Vec<PlannedStep> = Vec::new();
    for id in steps {
        let before = planned.last().map(|step| step.id).into_iter().collect();
        planned.push(PlannedStep::new(*id, Action::Create, before, "test"));
    }
    let (events, _receiver) = EventSink::channel();
    let active = activate(bootstrap.configuration());
    let outcome = bootstrap
        .run(
            &active,
            &Plan::new(planned),
            events,
            &CancellationToken::new(),
        )
        .await;
    tokio::time::resume();
    harness.sim.set_latency(Latency::zero());
    outcome
}

/// Whether our `kind` `name` is on `server`, in flux-system.
fn on_cluster(harness: &Harness, server: &str, kind: &str, name: &str) -> bool {
    harness
        .sim
        .kube_object(server, kind, Some("flux-system"), name)
        .is_some()
}

/// What the workload steps put on each attached cluster for the dev environment: the
/// deploy key's Secret, the GitRepository and the Kustomization (kind, name).
const GITOPS_SOURCE_OBJECTS: [(&str, &str); 3] = [
    ("secrets", "kalypso-gitops-dev-deploy-key"),
    (FLUX_GITREPOSITORY_CRD, "kalypso-gitops-dev"),
    (FLUX_KUSTOMIZATION_CRD, "kalypso-gitops-dev"),
];

/// How long each of [`TIMED_STEPS`] takes with `count` kind clusters attached, on the
/// paused clock with every command taking 50 ms.
async fn workload_step_times(count: usize) -> Vec<(StepId, std::time::Duration)> {
    let (harness, configuration, _) = installed_with_clusters(count).await;
    let outcome = run_paused(&harness, &configuration, &TIMED_STEPS).await;
    assert!(outcome.is_success(), "{:?}", outcome.end);
    for server in &PARALLEL_SERVERS[..count] {
        for (kind, name) in GITOPS_SOURCE_OBJECTS {
            assert!(
                on_cluster(&harness, server, kind, name),
                "{kind} {name} on {server}"
            );
        }
    }
    TIMED_STEPS
        .into_iter()
        .map(|id| {
            let report = outcome.step(id).expect("the step ran");
            (id, report.duration().expect("the step finished"))
        })
        .collect()
}

/// When clusters fail, the others' work in flight is not dropped: every cluster goes as far
/// as it can, the step fails with the first failure in the configured order (kind-w2's,
/// though kind-w3's came first), and the rollback removes exactly what exists.
#[tokio::test]
async fn a_cluster_failing_lets_the_others_finish_and_the_first_failure_in_order_is_reported() {
    use kalypso_bootstrap::sim::{Fault, FaultKind};
    let (harness, configuration, before) = installed_with_clusters(3).await;
    // Each cluster's kubectl applies: Flux, then the Secret, the GitRepository, the
    // Kustomization. kind-w3's Secret is refused at once, kind-w2's GitRepository later.
    harness.sim.inject(
        Fault::new(FaultKind::Forbidden, "kubectl apply")
            .with_arg("kind-w3")
            .nth(2),
    );
    harness.sim.inject(
        Fault::new(FaultKind::Forbidden, "kubectl apply")
            .with_arg("kind-w2")
            .nth(3),
    );
    let outcome = run_paused(&harness, &configuration, &WORKLOAD_STEPS).await;
    let RunEnd::Failed {
        step: Some(step),
        error,
        ..
    } = &outcome.end
    else {
        panic!("expected a failure: {:?}", outcome.end);
    };
    assert_eq!(*step, StepId::WorkloadSource, "{}", error.message);
    assert!(
        error.message.contains(FLUX_GITREPOSITORY_CRD) && error.message.contains("kind-w2"),
        "the first failure in cluster order: {}",
        error.message
    );
    let [w1, w2, w3] = PARALLEL_SERVERS;
    // kind-w1 finished all of it, after kind-w2 and kind-w3 had failed.
    for (kind, name) in GITOPS_SOURCE_OBJECTS {
        assert!(
            on_cluster(&harness, w1, kind, name),
            "{kind} {name} on {w1}"
        );
    }
    assert!(on_cluster(
        &harness,
        w2,
        "secrets",
        "kalypso-gitops-dev-deploy-key"
    ));
    assert!(!on_cluster(
        &harness,
        w2,
        FLUX_GITREPOSITORY_CRD,
        "kalypso-gitops-dev"
    ));
    assert!(!on_cluster(
        &harness,
        w3,
        "secrets",
        "kalypso-gitops-dev-deploy-key"
    ));
    // Every deploy key added is recorded with its id: three were added.
    let state = harness.state();
    let keys = state
        .resources
        .iter()
        .filter(|r| matches!(&r.resource, Resource::DeployKey { id: Some(_), .. }))
        .count();
    assert_eq!(keys, 3, "{:#?}", state.resources);
    assert_eq!(deploy_keys_awaited(&harness).await, 3);

    let report = harness.rollback(&configuration).await;
    assert!(
        report.is_complete(),
        "left {:?}, kept {:?}",
        report.leftovers,
        report.kept
    );
    assert_same(
        &before,
        &harness.settled(),
        "failed at two clusters, rolled back",
    );
}

/// [`deploy_keys`] on a runtime without worker threads: how many the gitops repository has.
async fn deploy_keys_awaited(harness: &Harness) -> usize {
    let gh = Gh::new(Arc::new(harness.sim.clone())).with_token(SecretString::from(CANARY));
    gh.deploy_keys(&gitops_slug())
        .await
        .expect("the deploy keys")
        .len()
}

/// Issue 19 §5: the attached clusters are handled at once within each workload step, so
/// three take exactly as long per step as one (on the paused clock, free of the
/// machine's load; `cargo bench` measures the real clock).
#[tokio::test]
async fn three_attached_clusters_take_as_long_per_workload_step_as_one() {
    let one = workload_step_times(1).await;
    let three = workload_step_times(3).await;
    assert!(
        one.iter().all(|(_, took)| !took.is_zero()),
        "every step waits for its commands: {one:?}"
    );
    assert_eq!(three, one, "three clusters against one");
}
