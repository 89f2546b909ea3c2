//! Rollback over a fake remover: the issue's order by kind (installation, repositories,
//! cluster, kube context last; newest first within a kind), only what we created, each
//! result saved and reported, partial failures leave a `failed` state with manual commands.

use kalypso_bootstrap::UserError;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::consented::remove_with_consent;
use crate::support::engine::*;
use kalypso_bootstrap::engine::{
    plan, rollback_preview, EventKind, EventSink, Observed, Outcome, RemovalNote, RemovalPipeline,
    RemovalPurpose, ResourceRemover, RollbackReport, StateHandle, StepId,
};
use kalypso_bootstrap::state::{
    BootstrapState, Ownership, Resource, ResourceStatus, RunStatus, StateStore, Timestamp,
};
use kalypso_bootstrap::tools::{BoxFuture, CancellationToken};
use kalypso_bootstrap::troubleshooting::Topic;
use kalypso_bootstrap::ExitCode;

fn rg(name: &str) -> Resource {
    Resource::ResourceGroup {
        name: name.into(),
        subscription_id: None,
    }
}

fn cluster() -> Resource {
    Resource::AksCluster {
        name: "demo".into(),
        resource_group: "demo-rg".into(),
        subscription_id: None,
    }
}

fn repo(name: &str) -> Resource {
    Resource::Repository {
        owner: "acme".into(),
        name: name.into(),
        url: format!("https://github.com/acme/{name}"),
    }
}

fn context() -> Resource {
    Resource::KubeContext {
        name: "demo".into(),
        kubeconfig: None,
    }
}

/// A state as a run leaves it: some resources ours, one reused, one already deleted.
fn recorded_state() -> BootstrapState {
    let now = Timestamp::now();
    let mut state = BootstrapState::new(now);
    state.record_resource(
        rg("demo-rg"),
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        Some("cluster.resource-group"),
        now,
    );
    state.record_resource(
        repo("existing-cp"),
        Ownership::Reused,
        ResourceStatus::Present,
        Some("control-plane.repo"),
        now,
    );
    state.record_resource(
        cluster(),
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        Some("cluster.create"),
        now,
    );
    state.record_resource(
        repo("demo-gitops"),
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        Some("gitops.repo"),
        now,
    );
    state.record_resource(
        rg("old-rg"),
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        None,
        now,
    );
    state.set_resource_status(
        &rg("old-rg"),
        ResourceStatus::Deleted,
        Some("deleted earlier"),
        now,
    );
    state.record_resource(
        context(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
        Some("cluster.credentials"),
        now,
    );
    state.set_status(RunStatus::Failed, now);
    state
}

#[derive(Clone, Default)]
struct FakeRemover {
    removed: Arc<Mutex<Vec<Resource>>>,
    failures: Arc<Mutex<Vec<(Resource, UserError)>>>,
    /// Read the state file during each removal, to see what was saved before it.
    state_file: Option<PathBuf>,
    seen_on_disk: Arc<Mutex<Vec<(Resource, BootstrapState)>>>,
    delay: Duration,
    /// Resources whose live mark does not match: the remover keeps them, with the reason.
    not_ours: Arc<Mutex<Vec<(Resource, String)>>>,
    /// Resources no longer there when the removal reaches them.
    gone: Arc<Mutex<Vec<Resource>>>,
}

impl FakeRemover {
    fn not_ours(self, resource: Resource, reason: &str) -> Self {
        self.not_ours
            .lock()
            .unwrap()
            .push((resource, reason.to_string()));
        self
    }

    fn gone(self, resource: Resource) -> Self {
        self.gone.lock().unwrap().push(resource);
        self
    }

    fn failing(self, resource: Resource, error: UserError) -> Self {
        self.failures.lock().unwrap().push((resource, error));
        self
    }

    fn removed(&self) -> Vec<Resource> {
        self.removed.lock().unwrap().clone()
    }
}

impl ResourceRemover for FakeRemover {
    fn remove<'a>(
        &'a self,
        resource: &'a Resource,
    ) -> BoxFuture<'a, Result<RemovalNote, UserError>> {
        Box::pin(async move {
            if let Some(path) = &self.state_file {
                let state = StateStore::at_custom(path).load().unwrap().unwrap();
                self.seen_on_disk
                    .lock()
                    .unwrap()
                    .push((resource.clone(), state));
            }
            tokio::time::sleep(self.delay).await;
            self.removed.lock().unwrap().push(resource.clone());
            let failure = self
                .failures
                .lock()
                .unwrap()
                .iter()
                .find(|(r, _)| r == resource)
                .map(|(_, e)| e.clone());
            let kept = self
                .not_ours
                .lock()
                .unwrap()
                .iter()
                .find(|(r, _)| r == resource)
                .map(|(_, why)| why.clone());
            if let Some(why) = kept {
                return Ok(RemovalNote::kept(why));
            }
            if self.gone.lock().unwrap().contains(resource) {
                return Ok(RemovalNote::already_gone());
            }
            match failure {
                Some(error) => Err(error),
                None if self.is_asynchronous(resource) => Ok(RemovalNote::new("deletion started")),
                None => Ok(RemovalNote::new("deleted")),
            }
        })
    }

    fn manual_command(&self, resource: &Resource) -> String {
        match resource {
            Resource::Repository { owner, name, .. } => {
                format!("gh repo delete {owner}/{name} --yes")
            }
            Resource::AksCluster {
                name,
                resource_group,
                ..
            } => {
                format!(
                    "az aks delete --resource-group {resource_group} --name {name} --yes --no-wait"
                )
            }
            Resource::ResourceGroup { name, .. } => {
                format!("az group delete --name {name} --yes --no-wait")
            }
            Resource::KubeContext { name, .. } => format!("kubectl config delete-context {name}"),
            other => format!("remove {}", other.describe()),
        }
    }

    fn is_asynchronous(&self, resource: &Resource) -> bool {
        matches!(
            resource,
            Resource::AksCluster { .. } | Resource::ResourceGroup { .. }
        )
    }
}

/// Roll back through the one removal pipeline, consent given by `--auto-rollback`.
async fn rollback(
    state: &StateHandle,
    remover: &FakeRemover,
    events: &EventSink,
    cancel: &CancellationToken,
) -> RollbackReport {
    let pipeline = RemovalPipeline::new(RemovalPurpose::Rollback, state.clone(), remover.clone());
    remove_with_consent(&pipeline, events.clone(), cancel).await
}

#[tokio::test]
async fn removes_only_our_resources_in_the_issue_order_and_ends_rolled_back() {
    let state = TempState::with(recorded_state());
    let remover = FakeRemover::default();
    let (events, mut receiver) = EventSink::channel();
    let report = rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;

    assert_eq!(
        remover.removed(),
        vec![repo("demo-gitops"), cluster(), rg("demo-rg"), context()],
        "repositories, cluster, resource group, kube context last; skipping the reused repo and the deleted group"
    );
    assert!(report.is_complete());
    assert!(report
        .removals
        .iter()
        .all(|r| r.outcome == Outcome::Succeeded));

    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::RolledBack);
    for resource in [repo("demo-gitops"), cluster(), rg("demo-rg"), context()] {
        assert_eq!(
            saved.resource(&resource).unwrap().status,
            ResourceStatus::Deleted,
            "{resource:?}"
        );
    }
    let reused = saved.resource(&repo("existing-cp")).unwrap();
    assert_eq!(reused.status, ResourceStatus::Present);
    assert_eq!(reused.message, None);
    assert!(saved.rollback_candidates().is_empty());

    let events = drain(&mut receiver);
    match &events[0] {
        EventKind::RollbackStarted { resources } => assert_eq!(
            resources,
            &vec![
                repo("demo-gitops").describe(),
                cluster().describe(),
                rg("demo-rg").describe(),
                context().describe(),
            ]
        ),
        other => panic!("{other:?}"),
    }
    let actions: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            EventKind::RollbackAction {
                resource,
                outcome,
                message,
                ..
            } => Some((resource.clone(), *outcome, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(actions.len(), 4);
    assert!(actions
        .iter()
        .all(|(_, outcome, _)| *outcome == Outcome::Succeeded));
    // The AKS deletion is only started: said so.
    let aks = actions
        .iter()
        .find(|(r, _, _)| r == &cluster().describe())
        .unwrap();
    assert!(aks.2.contains("asynchronous"), "{}", aks.2);
    assert!(matches!(
        events.last(),
        Some(EventKind::RollbackFinished { outcome: Outcome::Succeeded, leftovers, .. }) if leftovers.is_empty()
    ));
}

/// "removed 4" when two were already gone would claim removals that did not happen: the
/// summary counts them apart.
#[tokio::test]
async fn what_was_already_gone_is_counted_apart_from_what_was_removed() {
    let state = TempState::with(recorded_state());
    let remover = FakeRemover::default().gone(cluster()).gone(context());
    let (events, mut receiver) = EventSink::channel();
    let report = rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;
    assert!(report.is_complete());
    assert_eq!((report.removed(), report.already_gone()), (2, 2));
    let finished = drain(&mut receiver)
        .into_iter()
        .find_map(|e| match e {
            EventKind::RollbackFinished { message, .. } => Some(message),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        finished,
        "rolled back: removed 2 resources created by this tool, 2 already gone"
    );
    assert_eq!(state.on_disk().status, RunStatus::RolledBack);
}

#[tokio::test]
async fn a_failed_removal_does_not_stop_the_others_and_leaves_a_failed_state_with_commands() {
    let state = TempState::with(recorded_state());
    let remover = FakeRemover::default().failing(
        repo("demo-gitops"),
        UserError::in_step(
            StepId::GitopsRepo,
            "HTTP 403: Must have admin rights to Repository.",
        )
        .with_hint(
            Topic::RepositoryDeleteScope.hint("gh auth refresh -h github.com -s delete_repo"),
        ),
    );
    let (events, mut receiver) = EventSink::channel();
    let report = rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;

    // It went on past the failure, to the cluster, the group and the context.
    assert_eq!(
        remover.removed(),
        vec![repo("demo-gitops"), cluster(), rg("demo-rg"), context()]
    );
    assert!(!report.is_complete());
    assert_eq!(report.leftovers.len(), 1);
    let leftover = &report.leftovers[0];
    assert!(
        leftover.contains("https://github.com/acme/demo-gitops"),
        "{leftover}"
    );
    assert!(
        leftover.contains("gh repo delete acme/demo-gitops --yes"),
        "{leftover}"
    );
    assert!(leftover.contains("delete_repo"), "{leftover}");

    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::Failed);
    let record = saved.resource(&repo("demo-gitops")).unwrap();
    assert_eq!(record.status, ResourceStatus::DeleteFailed);
    assert!(record
        .message
        .as_deref()
        .unwrap()
        .contains("gh repo delete acme/demo-gitops --yes"));
    assert_eq!(
        saved.resource(&cluster()).unwrap().status,
        ResourceStatus::Deleted
    );
    assert!(
        saved.errors.last().unwrap().contains("gh repo delete"),
        "{:?}",
        saved.errors
    );

    let events = drain(&mut receiver);
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::RollbackAction { outcome: Outcome::Failed, resource, .. } if resource == &repo("demo-gitops").describe()
    )));
    match events.last() {
        Some(EventKind::RollbackFinished {
            outcome: Outcome::Failed,
            leftovers,
            ..
        }) => {
            assert_eq!(leftovers, &report.leftovers)
        }
        other => panic!("{other:?}"),
    }
}

/// The rollback records a failed removal in `errors[]` itself, once: no logging subscriber
/// is installed in this test binary, so nothing reaches the state from a log line.
#[tokio::test]
async fn a_failed_removal_lands_in_errors_exactly_once_without_any_logging() {
    assert!(
        !tracing::dispatcher::has_been_set(),
        "no logging subscriber in this test binary"
    );
    let state = TempState::with(recorded_state());
    let remover = FakeRemover::default().failing(
        repo("demo-gitops"),
        UserError::in_step(
            StepId::GitopsRepo,
            "HTTP 403: Must have admin rights to Repository.",
        ),
    );
    let (events, _receiver) = EventSink::channel();
    rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;

    let errors = state.on_disk().errors;
    let failed: Vec<&String> = errors
        .iter()
        .filter(|e| e.contains("https://github.com/acme/demo-gitops") && e.contains("HTTP 403"))
        .filter(|e| !e.starts_with("rollback left "))
        .collect();
    assert_eq!(failed.len(), 1, "{errors:#?}");
    assert!(
        failed[0]
            .starts_with("rollback of repository https://github.com/acme/demo-gitops failed: "),
        "{}",
        failed[0]
    );
    assert!(
        failed[0].contains("gh repo delete acme/demo-gitops --yes"),
        "{}",
        failed[0]
    );
    // The summary of what is left, as before; nothing else.
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[1].starts_with("rollback left 1 resource in place"),
        "{errors:#?}"
    );
}

#[tokio::test]
async fn a_second_rollback_retries_only_the_leftovers() {
    let state = TempState::with(recorded_state());
    let (events, _receiver) = EventSink::channel();
    let failing = FakeRemover::default().failing(
        cluster(),
        UserError::in_step(StepId::ClusterCreate, "throttled"),
    );
    rollback(&state.handle, &failing, &events, &CancellationToken::new()).await;
    assert_eq!(state.on_disk().status, RunStatus::Failed);

    let again = FakeRemover::default();
    let report = rollback(&state.handle, &again, &events, &CancellationToken::new()).await;
    assert_eq!(again.removed(), vec![cluster()]);
    assert!(report.is_complete());
    assert_eq!(state.on_disk().status, RunStatus::RolledBack);
}

#[tokio::test]
async fn each_removal_is_saved_before_the_next_starts() {
    let state = TempState::with(recorded_state());
    state.handle.save().unwrap();
    let remover = FakeRemover {
        state_file: Some(state.path()),
        ..FakeRemover::default()
    };
    let (events, _receiver) = EventSink::channel();
    rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;
    let seen = remover.seen_on_disk.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].0, repo("demo-gitops"));
    assert_eq!(
        seen[0].1.resource(&repo("demo-gitops")).unwrap().status,
        ResourceStatus::Present
    );
    assert_eq!(
        seen[1].1.resource(&repo("demo-gitops")).unwrap().status,
        ResourceStatus::Deleted
    );
    // While removing the kube context (last), everything before it was recorded deleted.
    let (resource, on_disk) = &seen[3];
    assert_eq!(resource, &context());
    for removed in [repo("demo-gitops"), cluster(), rg("demo-rg")] {
        assert_eq!(
            on_disk.resource(&removed).unwrap().status,
            ResourceStatus::Deleted,
            "{removed:?}"
        );
    }
    assert_eq!(
        on_disk.resource(&context()).unwrap().status,
        ResourceStatus::Creating
    );
}

#[tokio::test]
async fn the_preview_lists_exactly_what_a_rollback_removes() {
    let recorded = recorded_state();
    let remover = FakeRemover::default();
    let preview = rollback_preview(&recorded, &remover);
    let listed: Vec<_> = preview.iter().map(|p| p.resource.clone()).collect();
    assert_eq!(
        listed,
        vec![repo("demo-gitops"), cluster(), rg("demo-rg"), context()]
    );
    assert!(preview[1].asynchronous);
    assert!(!preview[0].asynchronous);
    assert_eq!(
        preview[3].manual_command,
        "kubectl config delete-context demo"
    );
    assert_eq!(preview[0].description, repo("demo-gitops").describe());

    let state = TempState::with(recorded);
    let (events, _receiver) = EventSink::channel();
    rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;
    assert_eq!(remover.removed(), listed);
}

/// On tokio's paused clock: removals of 100 ms and a cancel at 150 ms fall the same way on
/// any machine (the second removal is under way when it comes).
#[tokio::test(start_paused = true)]
async fn cancelling_stops_before_the_next_removal_and_lists_the_rest_as_leftovers() {
    let state = TempState::with(recorded_state());
    let remover = FakeRemover {
        delay: Duration::from_millis(100),
        ..FakeRemover::default()
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        trigger.cancel();
    });
    let (events, _receiver) = EventSink::channel();
    let report = rollback(&state.handle, &remover, &events, &cancel).await;
    // The first removal finished, the second was under way and finished, the rest waited.
    assert_eq!(remover.removed(), vec![repo("demo-gitops"), cluster()]);
    assert_eq!(report.leftovers.len(), 2);
    assert!(
        report.leftovers[0].contains("az group delete"),
        "{:?}",
        report.leftovers
    );
    assert_eq!(report.removals[2].outcome, Outcome::Cancelled);
    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::Failed);
    assert_eq!(
        saved.resource(&rg("demo-rg")).unwrap().status,
        ResourceStatus::Present
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_run_rollback_removes_everything_the_run_created_and_nothing_else() {
    let mut initial = BootstrapState::new(Timestamp::now());
    // Something from before this run that is not ours.
    initial.record_resource(
        repo("existing-cp"),
        Ownership::Reused,
        ResourceStatus::Present,
        None,
        Timestamp::now(),
    );
    let state = TempState::with(initial);
    let runner = FakeSteps::new(Duration::from_millis(5))
        .with(
            StepId::ClusterCreate,
            Behaviour::Work(Duration::from_secs(5)),
        )
        .with(
            StepId::GitopsLabel,
            Behaviour::FailAfter(
                Duration::from_millis(5),
                UserError::in_step(StepId::GitopsLabel, "label refused"),
            ),
        );
    let (orchestrator, _events) = orchestrator(runner, &state);
    let outcome = orchestrator
        .run(
            &plan(&config(), &Observed::default()),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(outcome.exit_code, ExitCode::RepositoryFailed);

    let created: Vec<Resource> = state
        .on_disk()
        .resources
        .iter()
        .filter(|r| r.ownership == Ownership::CreatedByUs)
        .map(|r| r.resource.clone())
        .collect();
    assert!(
        created.contains(&cluster()),
        "the cluster creation in progress is recorded: {created:?}"
    );
    let remover = FakeRemover::default();
    let (events, _receiver) = EventSink::channel();
    let report = rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;
    assert!(report.is_complete());
    let removed = remover.removed();
    assert_eq!(removed.len(), created.len());
    assert_in_issue_order(&removed, &created);
    let removed_set: HashSet<_> = removed.iter().collect();
    assert!(!removed_set.contains(&repo("existing-cp")));
    assert_eq!(state.on_disk().status, RunStatus::RolledBack);
}

/// The kinds in the order the issue lists them for a rollback: installation, repositories,
/// cluster, the kube context last.
const ISSUE_ORDER: [&str; 9] = [
    "helm_release",
    "kalypso_crds",
    "namespace",
    "flux",
    "repo_secret",
    "repository",
    "aks_cluster",
    "resource_group",
    "kube_context",
];

fn issue_rank(resource: &Resource) -> usize {
    // A label is a repository's detail like a secret: both go before the repository.
    let kind = match resource.kind() {
        "repo_label" => "repo_secret",
        kind => kind,
    };
    ISSUE_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_else(|| panic!("{kind} is not in the issue order"))
}

/// `removed` follows [`ISSUE_ORDER`], and within a kind the newest `created` goes first.
fn assert_in_issue_order(removed: &[Resource], created: &[Resource]) {
    for pair in removed.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let created_at = |r: &Resource| created.iter().position(|c| c == r).unwrap();
        assert!(
            issue_rank(a) < issue_rank(b)
                || (issue_rank(a) == issue_rank(b) && created_at(a) > created_at(b)),
            "{} before {}: {removed:?}",
            a.describe(),
            b.describe()
        );
    }
}

#[tokio::test]
async fn every_kind_goes_in_the_issue_order_newest_first_within_a_kind() {
    let ctx = "demo".to_string();
    // Recorded in the order a run creates them.
    let created = vec![
        rg("demo-rg"),
        cluster(),
        context(),
        repo("demo-control-plane"),
        repo("demo-gitops"),
        Resource::RepoSecret {
            repository: "acme/demo-control-plane".into(),
            name: "GITOPS_REPO".into(),
        },
        Resource::RepoLabel {
            repository: "acme/demo-gitops".into(),
            name: "promoted".into(),
        },
        Resource::Flux {
            kube_context: ctx.clone(),
            version: Some("v2.7.5".into()),
            manifest: None,
        },
        Resource::Namespace {
            kube_context: ctx.clone(),
            name: "kalypso-system".into(),
        },
        Resource::HelmRelease {
            kube_context: ctx.clone(),
            namespace: "kalypso-system".into(),
            name: "kalypso-scheduler".into(),
        },
        Resource::KalypsoCrds {
            kube_context: ctx,
            names: vec!["workloads.scheduler.kalypso.io".into()],
        },
    ];
    let now = Timestamp::now();
    let mut recorded = BootstrapState::new(now);
    for resource in &created {
        recorded.record_resource(
            resource.clone(),
            Ownership::CreatedByUs,
            ResourceStatus::Present,
            None,
            now,
        );
    }
    let state = TempState::with(recorded);
    let remover = FakeRemover::default();
    let (events, _receiver) = EventSink::channel();
    rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;
    let kinds: Vec<&str> = remover.removed().iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        vec![
            "helm_release",
            "kalypso_crds",
            "namespace",
            "flux",
            "repo_label",
            "repo_secret",
            "repository",
            "repository",
            "aks_cluster",
            "resource_group",
            "kube_context",
        ]
    );
    let removed = remover.removed();
    assert_eq!(
        &removed[6..8],
        &[repo("demo-gitops"), repo("demo-control-plane")],
        "newest first within a kind"
    );
    assert_in_issue_order(&removed, &created);
}

#[tokio::test]
async fn a_resource_without_our_live_mark_is_kept_reported_and_leaves_the_rollback_incomplete() {
    let state = TempState::with(recorded_state());
    let remover = FakeRemover::default().not_ours(
        repo("demo-gitops"),
        "kept, not deleted: its GitHub id is 9, not the 7 recorded when it was created",
    );
    let (events, mut receiver) = EventSink::channel();
    let report = rollback(&state.handle, &remover, &events, &CancellationToken::new()).await;

    // The others still go.
    assert_eq!(
        remover.removed(),
        vec![repo("demo-gitops"), cluster(), rg("demo-rg"), context()]
    );
    assert!(!report.is_complete());
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    assert_eq!(report.kept.len(), 1);
    assert!(report.kept[0].contains("https://github.com/acme/demo-gitops"));
    assert!(report.kept[0].contains("its GitHub id is 9"));
    let kept = report
        .removals
        .iter()
        .find(|r| r.resource == repo("demo-gitops"))
        .unwrap();
    assert_eq!(
        kept.outcome,
        Outcome::Skipped,
        "kept is neither removed nor failed"
    );

    let saved = state.on_disk();
    assert_eq!(saved.status, RunStatus::Failed);
    assert_eq!(
        saved.resource(&repo("demo-gitops")).unwrap().status,
        ResourceStatus::KeptNotOurs
    );
    assert!(saved
        .errors
        .last()
        .unwrap()
        .contains("without this installation's mark"));

    let events = drain(&mut receiver);
    match events.last() {
        Some(EventKind::RollbackFinished {
            outcome: Outcome::Failed,
            message,
            leftovers,
        }) => {
            assert!(
                leftovers.is_empty(),
                "nothing to remove by hand: {leftovers:?}"
            );
            assert!(message.contains("kept 1"), "{message}");
            assert!(message.contains("its GitHub id is 9"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
