//! What a running step is given: a way to report progress, the run's state (saved after
//! every change), facts learned by earlier steps, and the run's cancellation token.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

// tokio's clock, which the steps' waits sleep on: on a paused clock (tests) the times
// measured are the simulated ones.
use tokio::time::Instant;

use tokio::sync::mpsc;

use super::events::{Event, EventKind, HealthStatus, LogLevel};
use super::state_handle::StateHandle;
use super::step::StepId;
use crate::state::{BootstrapState, Ownership, Phase, Resource, ResourceStatus};
use crate::tools::CancellationToken;
use crate::troubleshooting::Topic;
use crate::UserError;

/// Where events go. The channel is UNBOUNDED on purpose: a step never waits for a slow
/// front end. Events are few (transitions, progress, health checks; child output goes to
/// the log file through the logging tap, not through here), so the queue stays small even
/// while a front end is busy drawing. A front end that has gone away is not an error.
#[derive(Clone)]
pub struct EventSink {
    sender: mpsc::UnboundedSender<Event>,
    /// Sees every event before the front end does (the run report).
    observer: Option<Arc<dyn EventObserver>>,
}

/// Something that must see every event before the front end does: what it does with an
/// event is done by the time the front end receives it (the run report is on disk when
/// the summary names it).
pub trait EventObserver: Send + Sync {
    fn observe(&self, event: &Event);
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSink")
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl EventSink {
    pub fn new(sender: mpsc::UnboundedSender<Event>) -> Self {
        Self {
            sender,
            observer: None,
        }
    }

    /// The same sink, showing every event to `observer` before sending it.
    pub fn with_observer(mut self, observer: Arc<dyn EventObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// A sink and the receiver a front end consumes.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self::new(sender), receiver)
    }

    /// Send an event stamped with the current time.
    pub fn emit(&self, kind: EventKind) {
        let event = Event::now(kind);
        log_event(&event);
        if let Some(observer) = &self.observer {
            observer.observe(&event);
        }
        // Nobody listening (front end closed) is fine: the log and state still record the run.
        let _ = self.sender.send(event);
    }
}

/// Every event is also a line in the log file. Log lines never reach the state: whoever
/// knows about a failure records it in `errors[]` itself.
/// The line is in people's words; the file also gets the step's stable id as a `step_id`
/// field, which the wizard's log pane leaves out (see `logging::render`).
fn log_event(event: &Event) {
    use tracing::Level;
    let (level, line) = event.log_line();
    const TARGET: &str = "kalypso_bootstrap::engine";
    match (level, event.step().map(StepId::as_str)) {
        (Level::ERROR, Some(id)) => tracing::error!(target: TARGET, step_id = id, "{line}"),
        (Level::WARN, Some(id)) => tracing::warn!(target: TARGET, step_id = id, "{line}"),
        (Level::INFO, Some(id)) => tracing::info!(target: TARGET, step_id = id, "{line}"),
        (Level::DEBUG, Some(id)) => tracing::debug!(target: TARGET, step_id = id, "{line}"),
        (Level::TRACE, Some(id)) => tracing::trace!(target: TARGET, step_id = id, "{line}"),
        (Level::ERROR, None) => tracing::error!(target: TARGET, "{line}"),
        (Level::WARN, None) => tracing::warn!(target: TARGET, "{line}"),
        (Level::INFO, None) => tracing::info!(target: TARGET, "{line}"),
        (Level::DEBUG, None) => tracing::debug!(target: TARGET, "{line}"),
        (Level::TRACE, None) => tracing::trace!(target: TARGET, "{line}"),
    }
}

/// A typed key into [`Facts`]. Declare keys as constants so writer and reader agree on
/// the type: `const CHART_DIGEST: FactKey<String> = FactKey::new("chart_digest");`.
pub struct FactKey<T> {
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> FactKey<T> {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _type: PhantomData,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> Clone for FactKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for FactKey<T> {}

impl<T> fmt::Debug for FactKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FactKey({})", self.name)
    }
}

/// Facts steps learn for later steps.
pub mod fact {
    use super::{FactKey, PathBuf};

    /// The kube context every kubectl/helm call names (recorded by `cluster.credentials`,
    /// or given with `--cluster-existing`).
    pub const KUBE_CONTEXT: FactKey<String> = FactKey::new("kube_context");
    /// The kubeconfig file the context lives in, when not the default.
    pub const KUBECONFIG: FactKey<PathBuf> = FactKey::new("kubeconfig");
    /// The owner of new repositories (the org, or the authenticated user).
    pub const REPO_OWNER: FactKey<String> = FactKey::new("repo_owner");
    /// `https://github.com/OWNER/NAME` of the control-plane repository.
    pub const CONTROL_PLANE_URL: FactKey<String> = FactKey::new("control_plane_url");
    /// `https://github.com/OWNER/NAME` of the gitops repository.
    pub const GITOPS_URL: FactKey<String> = FactKey::new("gitops_url");
    /// What `validation.first-workload` adds to the summary's next steps: how to see the
    /// running workload, how to promote (or the pull request left under `--no-merge`).
    pub const FIRST_WORKLOAD_NEXT: FactKey<Vec<String>> = FactKey::new("first_workload_next");
}

/// A small typed map shared by the steps of one run (cloning shares it).
#[derive(Clone, Default)]
pub struct Facts {
    values: Arc<Mutex<HashMap<&'static str, Arc<dyn Any + Send + Sync>>>>,
}

impl Facts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set (or replace) a fact.
    pub fn set<T: Send + Sync + 'static>(&self, key: FactKey<T>, value: T) {
        self.lock().insert(key.name, Arc::new(value));
    }

    /// Builder form of [`set`](Self::set), for seeding facts known before the run.
    pub fn with<T: Send + Sync + 'static>(self, key: FactKey<T>, value: T) -> Self {
        self.set(key, value);
        self
    }

    /// A copy of the fact, `None` when unknown. Two keys of different types sharing a
    /// name would read as unknown rather than panic.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, key: FactKey<T>) -> Option<T> {
        let value = self.lock().get(key.name).cloned()?;
        value.downcast_ref::<T>().cloned()
    }

    pub fn contains<T>(&self, key: FactKey<T>) -> bool {
        self.lock().contains_key(key.name)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<&'static str, Arc<dyn Any + Send + Sync>>> {
        self.values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.lock().keys().copied().collect();
        names.sort_unstable();
        f.debug_struct("Facts").field("known", &names).finish()
    }
}

/// Everything one running step is given. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StepContext {
    step: StepId,
    phase: Phase,
    started: Instant,
    events: EventSink,
    state: StateHandle,
    facts: Facts,
    cancel: CancellationToken,
}

impl StepContext {
    /// The orchestrator builds these; public so steps can be exercised on their own.
    pub fn new(
        step: StepId,
        events: EventSink,
        state: StateHandle,
        facts: Facts,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            step,
            phase: step.phase(),
            started: Instant::now(),
            events,
            state,
            facts,
            cancel,
        }
    }

    pub fn step(&self) -> StepId {
        self.step
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Time since the step started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A progress line for the step (no state transition).
    pub fn progress(&self, message: impl Into<String>) {
        self.emit_progress(message.into(), None);
    }

    /// The step's resource reached a state of the data model (`Creating`, `Running`,
    /// `Accessible`, `Ready`, ...).
    pub fn transition(&self, to: impl Into<String>) {
        let to = to.into();
        let message = format!("{}: {to}", self.step.title());
        self.emit_progress(message, Some(to));
    }

    /// A transition with a message of the step's own choosing.
    pub fn transition_with(&self, to: impl Into<String>, message: impl Into<String>) {
        self.emit_progress(message.into(), Some(to.into()));
    }

    /// A free-form log event attributed to this step.
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.events.emit(EventKind::Log {
            level,
            phase: Some(self.phase),
            step: Some(self.step),
            message: message.into(),
        });
    }

    /// One health check's state (validation reports each check on its own).
    pub fn health(
        &self,
        check: impl Into<String>,
        status: HealthStatus,
        message: impl Into<String>,
    ) {
        self.events.emit(EventKind::HealthCheck {
            check: check.into(),
            status,
            message: message.into(),
        });
    }

    /// One link of the first workload's chain in `environment` (see
    /// [`crate::engine::events::ChainLink`]).
    pub fn chain(
        &self,
        environment: &str,
        link: crate::engine::events::ChainLink,
        status: crate::engine::events::LinkStatus,
        message: impl Into<String>,
    ) {
        self.events.emit(EventKind::WorkloadChain {
            step: self.step,
            environment: environment.to_string(),
            link,
            status,
            message: message.into(),
        });
    }

    /// Record a resource as this step's, saved to disk before returning. Record a
    /// resource you create as `Creating` BEFORE starting its creation, so a crash or a
    /// cancellation still leaves rollback something to remove.
    pub fn record(
        &self,
        resource: Resource,
        ownership: Ownership,
        status: ResourceStatus,
    ) -> Result<(), UserError> {
        self.state
            .record_resource(resource, ownership, status, Some(self.step.as_str()))
            .map_err(|e| self.state_error(e))
    }

    /// Any other change to the state (e.g. the contract summary `cluster.kubeContext`),
    /// saved before returning.
    pub fn update_state<R>(
        &self,
        change: impl FnOnce(&mut BootstrapState) -> R,
    ) -> Result<R, UserError> {
        self.state.update(change).map_err(|e| self.state_error(e))
    }

    pub fn state(&self) -> &StateHandle {
        &self.state
    }

    /// The id the marks on what this step creates carry. A run's state always has one
    /// (`Bootstrap::open` records the installation before any step runs).
    pub fn installation_id(&self) -> Result<String, UserError> {
        self.state
            .read(|s| s.installation_id().map(str::to_string))
            .ok_or_else(|| {
                UserError::in_step(
                    self.step(),
                    "the state records no installation, so nothing created could carry our mark",
                )
            })
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn events(&self) -> &EventSink {
        &self.events
    }

    /// The run's token: pass it to every command so cancelling kills the children.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The error a step returns when it stops because the run was cancelled.
    pub fn cancelled_error(&self) -> UserError {
        UserError::in_step(self.step, format!("{}: cancelled", self.step.title()))
    }

    /// `Err(cancelled)` once the run is cancelled; a cheap check between commands.
    pub fn check_cancelled(&self) -> Result<(), UserError> {
        if self.is_cancelled() {
            Err(self.cancelled_error())
        } else {
            Ok(())
        }
    }

    fn state_error(&self, error: crate::state::StateError) -> UserError {
        UserError::in_step(self.step, format!("could not save the state: {error}")).with_hint(
            Topic::StateNotWritable
                .hint("check that the state file's directory is writable and the disk has space"),
        )
    }

    fn emit_progress(&self, message: String, transition: Option<String>) {
        self.events.emit(EventKind::StepProgress {
            phase: self.phase,
            step: self.step,
            message,
            transition,
            elapsed_ms: duration_ms(self.elapsed()),
        });
    }
}

/// Milliseconds, saturating (a run never lasts 584 million years).
pub fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
