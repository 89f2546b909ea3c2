//! Shared fakes for the engine tests: a configurable fake step runner, a configuration,
//! a temporary state, and event collection.

use kalypso_bootstrap::UserError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kalypso_bootstrap::config::configuration::{
    ClusterTarget, Configuration, HelmChart, Installation, NetworkPlugin, NewCluster, Options,
    RepoTarget, Repositories, Visibility,
};
use kalypso_bootstrap::engine::bootstrap::installation_identity;
use kalypso_bootstrap::engine::{
    Action, Event, EventKind, EventSink, Orchestrator, PlannedStep, StateHandle, StepContext,
    StepId, StepOutcome, StepRunner,
};
use kalypso_bootstrap::state::{
    BootstrapState, InstallationWorld, Ownership, Resource, ResourceStatus, StateStore, Timestamp,
};
use kalypso_bootstrap::tools::BoxFuture;
use tokio::sync::mpsc::UnboundedReceiver;

pub fn config() -> Configuration {
    Configuration {
        cluster: ClusterTarget::Create(NewCluster {
            name: "demo".into(),
            region: "eastus".into(),
            resource_group: "demo-rg".into(),
            node_count: 3,
            vm_size: "Standard_DS2_v2".into(),
            kubernetes_version: None,
            network_plugin: NetworkPlugin::Azure,
        }),
        repositories: Repositories {
            control_plane: RepoTarget::Create {
                name: "demo-control-plane".into(),
            },
            gitops: RepoTarget::Create {
                name: "demo-gitops".into(),
            },
            github_org: Some("acme".into()),
            visibility: Visibility::Private,
            github_host: Default::default(),
        },
        environments: Default::default(),
        installation: Installation {
            namespace: "kalypso-system".into(),
            chart: HelmChart::published("kalypso-scheduler"),
            version: "1.1.2-alpha".into(),
            values: None,
            flux_manifest: None,
            skip_install: false,
        },
        workload_clusters: Vec::new(),
        options: Options::default(),
    }
}

/// A state file in a fresh temporary directory.
pub struct TempState {
    pub dir: tempfile::TempDir,
    pub handle: StateHandle,
}

impl TempState {
    /// A new state that records its installation (as `Bootstrap::open` does before a run),
    /// so that what the steps create carries its mark.
    pub fn new() -> Self {
        let mut state = BootstrapState::new(Timestamp::now());
        state.identity = Some(
            installation_identity(&config(), InstallationWorld::Demo, None, None)
                .adopted()
                .unwrap(),
        );
        Self::with(state)
    }

    pub fn with(state: BootstrapState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::at_custom(dir.path().join("state.json"));
        Self {
            handle: StateHandle::new(state, store),
            dir,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    /// The state as saved on disk right now.
    pub fn on_disk(&self) -> BootstrapState {
        StateStore::at_custom(self.path())
            .load()
            .unwrap()
            .expect("a state file")
    }
}

/// The resource a fake step "creates", if any.
pub fn resource_of(id: StepId) -> Option<Resource> {
    let repo = |name: &str| Resource::Repository {
        owner: "acme".into(),
        name: name.into(),
        url: format!("https://github.com/acme/{name}"),
    };
    Some(match id {
        StepId::ClusterResourceGroup => Resource::ResourceGroup {
            name: "demo-rg".into(),
            subscription_id: None,
        },
        StepId::ClusterCreate => Resource::AksCluster {
            name: "demo".into(),
            resource_group: "demo-rg".into(),
            subscription_id: None,
        },
        StepId::ClusterCredentials => Resource::KubeContext {
            name: "demo".into(),
            kubeconfig: None,
        },
        StepId::ControlPlaneRepo => repo("demo-control-plane"),
        StepId::GitopsRepo => repo("demo-gitops"),
        StepId::ControlPlaneSecrets => Resource::RepoSecret {
            repository: "acme/demo-control-plane".into(),
            name: "GITOPS_REPO".into(),
        },
        StepId::GitopsSecrets => Resource::RepoSecret {
            repository: "acme/demo-gitops".into(),
            name: "CONTROL_PLANE_TOKEN".into(),
        },
        StepId::GitopsLabel => Resource::RepoLabel {
            repository: "acme/demo-gitops".into(),
            name: "promoted".into(),
        },
        StepId::InstallFlux => Resource::Flux {
            kube_context: "demo".into(),
            version: Some("v2.7.5".into()),
            manifest: None,
        },
        StepId::InstallKalypso => Resource::HelmRelease {
            kube_context: "demo".into(),
            namespace: "kalypso-system".into(),
            name: "kalypso-scheduler".into(),
        },
        _ => return None,
    })
}

/// What a fake step does when it runs.
#[derive(Clone)]
pub enum Behaviour {
    /// Wait (cancellably), then succeed; a `Create` records its resource first.
    Work(Duration),
    /// Wait (cancellably), then fail with this error.
    FailAfter(Duration, UserError),
    /// Wait ignoring cancellation (a step that does not cooperate), then succeed.
    Stubborn(Duration),
    /// Wait (cancellably) until another step has started, then succeed; fail when it has
    /// not started within the time given. Proves two steps overlap, whatever the timing.
    WaitFor(StepId, Duration),
    Panic,
}

/// A custom check run inside a step, with its context; its result is kept.
pub type Probe = Arc<dyn Fn(&StepContext) -> Result<(), String> + Send + Sync>;

/// What each probe found, by step.
pub type ProbeResults = Arc<Mutex<Vec<(StepId, Result<(), String>)>>>;

#[derive(Debug, Clone)]
pub struct Call {
    pub id: StepId,
    pub action: Action,
    pub started: Instant,
    pub finished: Option<Instant>,
    pub cancelled: bool,
}

#[derive(Clone, Default)]
pub struct FakeSteps {
    behaviours: HashMap<StepId, Behaviour>,
    default: Option<Duration>,
    probes: HashMap<StepId, Probe>,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub probe_results: ProbeResults,
}

impl FakeSteps {
    /// Every step works for `default`.
    pub fn new(default: Duration) -> Self {
        Self {
            default: Some(default),
            ..Self::default()
        }
    }

    pub fn with(mut self, id: StepId, behaviour: Behaviour) -> Self {
        self.behaviours.insert(id, behaviour);
        self
    }

    pub fn with_probe(mut self, id: StepId, probe: Probe) -> Self {
        self.probes.insert(id, probe);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn call(&self, id: StepId) -> Option<Call> {
        self.calls().into_iter().find(|c| c.id == id)
    }

    pub fn probe_results(&self) -> Vec<(StepId, Result<(), String>)> {
        self.probe_results.lock().unwrap().clone()
    }

    fn behaviour(&self, id: StepId) -> Behaviour {
        self.behaviours
            .get(&id)
            .cloned()
            .unwrap_or(Behaviour::Work(self.default.unwrap_or_default()))
    }

    fn finish_call(&self, id: StepId, cancelled: bool) {
        let mut calls = self.calls.lock().unwrap();
        if let Some(call) = calls.iter_mut().find(|c| c.id == id) {
            call.finished = Some(Instant::now());
            call.cancelled = cancelled;
        }
    }
}

impl StepRunner for FakeSteps {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(Call {
                id: step.id,
                action: step.action,
                started: Instant::now(),
                finished: None,
                cancelled: false,
            });
            if let Some(probe) = self.probes.get(&step.id) {
                let result = probe(&ctx);
                self.probe_results.lock().unwrap().push((step.id, result));
            }
            let resource = resource_of(step.id).filter(|_| step.action == Action::Create);
            if let Some(resource) = &resource {
                ctx.record(
                    resource.clone(),
                    Ownership::CreatedByUs,
                    ResourceStatus::Creating,
                )?;
                ctx.transition("Creating");
            }
            let (delay, failure) = match self.behaviour(step.id) {
                Behaviour::Work(delay) => (delay, None),
                Behaviour::FailAfter(delay, error) => (delay, Some(error)),
                Behaviour::Stubborn(delay) => {
                    tokio::time::sleep(delay).await;
                    self.finish_call(step.id, false);
                    return Ok(StepOutcome::succeeded("done (stubbornly)"));
                }
                Behaviour::WaitFor(other, limit) => {
                    // On the run's clock (tokio's, paused in the tests that use it).
                    let deadline = tokio::time::Instant::now() + limit;
                    while self.call(other).is_none() {
                        if tokio::time::Instant::now() >= deadline {
                            self.finish_call(step.id, false);
                            return Err(UserError::in_step(
                                step.id,
                                format!("{other} did not start while {} was running", step.id),
                            ));
                        }
                        tokio::select! {
                            () = ctx.cancel_token().cancelled() => {
                                self.finish_call(step.id, true);
                                return Err(ctx.cancelled_error());
                            }
                            () = tokio::time::sleep(Duration::from_millis(2)) => {}
                        }
                    }
                    (Duration::ZERO, None)
                }
                Behaviour::Panic => panic!("fake step {} panics", step.id),
            };
            tokio::select! {
                () = ctx.cancel_token().cancelled() => {
                    self.finish_call(step.id, true);
                    return Err(ctx.cancelled_error());
                }
                () = tokio::time::sleep(delay) => {}
            }
            self.finish_call(step.id, false);
            if let Some(error) = failure {
                return Err(error);
            }
            if let Some(resource) = resource {
                ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
                ctx.transition("Ready");
            }
            Ok(match step.action {
                Action::Reuse => StepOutcome::reused(format!("{} reused", step.id)),
                _ => StepOutcome::succeeded(format!("{} done", step.id)),
            })
        })
    }
}

pub fn orchestrator(
    runner: FakeSteps,
    state: &TempState,
) -> (Orchestrator, UnboundedReceiver<Event>) {
    let (events, receiver) = EventSink::channel();
    (
        Orchestrator::new(Arc::new(runner), state.handle.clone(), events),
        receiver,
    )
}

pub fn drain(receiver: &mut UnboundedReceiver<Event>) -> Vec<EventKind> {
    let mut events = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        events.push(event.kind);
    }
    events
}
