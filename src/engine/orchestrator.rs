//! Runs a [`Plan`] over a [`StepRunner`]: every step starts the moment its dependencies
//! have succeeded (no phase barriers, no polling: completions drive the schedule), the
//! state is saved at every transition, and events stream to the front end.
//!
//! On a step failure no new step starts, the running ones are cancelled (they get
//! [`RunOptions::cancel_grace`] to stop and record what they started, then are aborted,
//! which kills their children), and the run ends with the failing phase's exit code.
//! Cancelling the run's token (Ctrl+C) does the same and ends with exit code 7.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

// tokio's clock, which the steps' waits sleep on: on a paused clock (tests) the times
// measured are the simulated ones.
use tokio::time::Instant;

use tokio::task::JoinSet;

use super::context::{duration_ms, fact, EventSink, Facts, StepContext};
use super::events::{EventKind, LogLevel, Outcome, RunSummary};
use super::plan::{Plan, PlannedStep};
use super::state_handle::StateHandle;
use super::step::{Action, StepId};
use crate::state::{Phase, RunStatus, StateError, Timestamp};
use crate::tools::{BoxFuture, CancellationToken};
use crate::troubleshooting::Topic;
use crate::ExitCode;
use crate::UserError;

/// Does the work of one step. Object safe: the orchestrator holds an `Arc<dyn StepRunner>`.
///
/// A step must watch `ctx.cancel_token()` (pass it to every command) and, when
/// cancelled, return promptly with an error after recording what it started. It is
/// called for `Create` and `Reuse` actions only; the orchestrator handles `Skip` itself.
pub trait StepRunner: Send + Sync {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>>;
}

/// How a step that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    outcome: Outcome,
    message: String,
}

impl StepOutcome {
    /// The step did its work (created, installed, checked).
    pub fn succeeded(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Succeeded,
            message: message.into(),
        }
    }

    /// What the step would make was already there and usable.
    pub fn reused(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Reused,
            message: message.into(),
        }
    }

    /// The step found it had nothing to do.
    pub fn skipped(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Skipped,
            message: message.into(),
        }
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Settings of one run that do not come from the plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Announced in `RunStarted` so front ends label the run DEMO.
    pub demo: bool,
    /// How long cancelled steps get to stop on their own before they are aborted.
    pub cancel_grace: Duration,
    /// Shown in the summary.
    pub log_file: Option<PathBuf>,
    pub report_file: Option<PathBuf>,
    pub next_steps: Vec<String>,
    /// What resumes this run, for the hint of a cancelled run.
    pub resume: super::resume::Resume,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            demo: false,
            cancel_grace: Duration::from_secs(10),
            log_file: None,
            report_file: None,
            next_steps: Vec::new(),
            resume: super::resume::Resume::default(),
        }
    }
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Completed,
    /// A step failed (or the plan could not run: a conflict, a state that cannot be saved).
    Failed {
        phase: Phase,
        step: Option<StepId>,
        error: UserError,
    },
    /// The run's token was cancelled (Ctrl+C).
    Cancelled {
        phase: Phase,
        step: Option<StepId>,
    },
}

/// What happened to one step, with times relative to the run's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub id: StepId,
    pub action: Action,
    /// `None`: never started (the run stopped first).
    pub outcome: Option<Outcome>,
    pub started: Option<Duration>,
    pub finished: Option<Duration>,
    pub message: Option<String>,
}

impl StepReport {
    pub fn duration(&self) -> Option<Duration> {
        Some(self.finished?.saturating_sub(self.started?))
    }
}

/// The result of [`Orchestrator::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub end: RunEnd,
    pub exit_code: ExitCode,
    pub duration: Duration,
    pub summary: RunSummary,
    /// In plan order.
    pub steps: Vec<StepReport>,
}

impl RunOutcome {
    pub fn is_success(&self) -> bool {
        self.end == RunEnd::Completed
    }

    pub fn step(&self, id: StepId) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.id == id)
    }
}

/// Runs plans. Build it once per run with the step runner, the state and the event sink.
pub struct Orchestrator {
    runner: Arc<dyn StepRunner>,
    state: StateHandle,
    events: EventSink,
    facts: Facts,
    options: RunOptions,
}

impl Orchestrator {
    pub fn new(runner: Arc<dyn StepRunner>, state: StateHandle, events: EventSink) -> Self {
        Self {
            runner,
            state,
            events,
            facts: Facts::new(),
            options: RunOptions::default(),
        }
    }

    /// Facts known before the run (e.g. the kube context of an existing cluster).
    pub fn with_facts(mut self, facts: Facts) -> Self {
        self.facts = facts;
        self
    }

    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// The run's facts (shared with the steps).
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn state(&self) -> &StateHandle {
        &self.state
    }

    /// Run `plan` to its end. `cancel` is the user's token (Ctrl+C).
    pub async fn run(&self, plan: &Plan, cancel: &CancellationToken) -> RunOutcome {
        let started = Instant::now();
        if let Some((step, error)) = plan.refusal() {
            // Nothing ran and nothing is ours: the state is left as it was.
            let phase = step.map_or(Phase::Cluster, StepId::phase);
            return self.refuse(plan, started, phase, step, error);
        }
        Run::new(self, plan, started).execute(cancel).await
    }

    /// End a run that could not start, without touching the state.
    fn refuse(
        &self,
        plan: &Plan,
        started: Instant,
        phase: Phase,
        step: Option<StepId>,
        error: UserError,
    ) -> RunOutcome {
        let duration = started.elapsed();
        self.events.emit(EventKind::RunFailed {
            phase,
            step,
            message: error.message.clone(),
            hint: error.hint_text(),
            exit_code: error.exit_code.code(),
            duration_ms: duration_ms(duration),
            report_file: self.report_file(),
        });
        RunOutcome {
            exit_code: error.exit_code,
            end: RunEnd::Failed { phase, step, error },
            duration,
            summary: self.summary(Vec::new()),
            steps: plan
                .steps
                .iter()
                .map(|s| StepReport {
                    id: s.id,
                    action: s.action,
                    outcome: None,
                    started: None,
                    finished: None,
                    message: None,
                })
                .collect(),
        }
    }

    /// Where the run report goes, as the events show it.
    fn report_file(&self) -> Option<String> {
        self.options
            .report_file
            .as_ref()
            .map(|p| p.display().to_string())
    }

    fn summary(&self, phase_durations_ms: Vec<(Phase, u64)>) -> RunSummary {
        let state = self.state.snapshot();
        RunSummary {
            cluster: state.cluster.name.clone(),
            kube_context: state
                .cluster
                .kube_context
                .clone()
                .or_else(|| self.facts.get(fact::KUBE_CONTEXT)),
            control_plane_url: state
                .repositories
                .control_plane
                .url
                .clone()
                .or_else(|| self.facts.get(fact::CONTROL_PLANE_URL)),
            gitops_url: state
                .repositories
                .gitops
                .url
                .clone()
                .or_else(|| self.facts.get(fact::GITOPS_URL)),
            namespace: state.installation.namespace.clone(),
            chart_version: state.installation.version.clone(),
            state_file: Some(self.state.path().display().to_string()),
            log_file: self
                .options
                .log_file
                .as_ref()
                .map(|p| p.display().to_string()),
            report_file: self.report_file(),
            phase_durations_ms,
            // The first workload's commands last: the summary ends with them.
            next_steps: self
                .options
                .next_steps
                .iter()
                .cloned()
                .chain(
                    self.facts
                        .get(fact::FIRST_WORKLOAD_NEXT)
                        .unwrap_or_default(),
                )
                .collect(),
        }
    }
}

/// Why the run stops starting steps.
enum Stop {
    Failed {
        step: StepId,
        error: UserError,
    },
    Cancelled,
    /// The orchestrator itself could not go on (the state cannot be saved).
    Internal {
        step: Option<StepId>,
        error: UserError,
    },
}

type StepResult = (StepId, Result<StepOutcome, UserError>);

/// The bookkeeping of one run.
struct Run<'o> {
    orchestrator: &'o Orchestrator,
    plan: &'o Plan,
    started: Instant,
    /// Unsatisfied dependency count per step not yet started.
    waiting: HashMap<StepId, usize>,
    dependants: HashMap<StepId, Vec<StepId>>,
    ready: VecDeque<StepId>,
    reports: HashMap<StepId, StepReport>,
    /// Per phase: when its first step started and its last step finished.
    phase_times: HashMap<Phase, (Instant, Instant)>,
    phases_started: HashSet<Phase>,
    tasks: JoinSet<StepResult>,
    running: HashMap<tokio::task::Id, StepId>,
    /// Cancels the running steps: on a failure, or when the user cancels.
    steps_cancel: CancellationToken,
    stop: Option<Stop>,
    abort_at: Option<tokio::time::Instant>,
}

impl<'o> Run<'o> {
    fn new(orchestrator: &'o Orchestrator, plan: &'o Plan, started: Instant) -> Self {
        let mut dependants: HashMap<StepId, Vec<StepId>> = HashMap::new();
        for step in &plan.steps {
            for dependency in &step.depends_on {
                dependants.entry(*dependency).or_default().push(step.id);
            }
        }
        let waiting = plan
            .steps
            .iter()
            .map(|s| (s.id, s.depends_on.len()))
            .collect();
        let ready = plan
            .steps
            .iter()
            .filter(|s| s.depends_on.is_empty())
            .map(|s| s.id)
            .collect();
        let reports = plan
            .steps
            .iter()
            .map(|s| {
                (
                    s.id,
                    StepReport {
                        id: s.id,
                        action: s.action,
                        outcome: None,
                        started: None,
                        finished: None,
                        message: None,
                    },
                )
            })
            .collect();
        Self {
            orchestrator,
            plan,
            started,
            waiting,
            dependants,
            ready,
            reports,
            phase_times: HashMap::new(),
            phases_started: HashSet::new(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            steps_cancel: CancellationToken::new(),
            stop: None,
            abort_at: None,
        }
    }

    fn events(&self) -> &EventSink {
        &self.orchestrator.events
    }

    fn state(&self) -> &StateHandle {
        &self.orchestrator.state
    }

    async fn execute(mut self, cancel: &CancellationToken) -> RunOutcome {
        self.events().emit(EventKind::RunStarted {
            demo: self.orchestrator.options.demo,
            steps: self.plan.infos(),
        });
        let plan = self.plan;
        let opened = self.state().update(|state| {
            let now = Timestamp::now();
            state.set_status(RunStatus::InProgress, now);
            for step in &plan.steps {
                state.ensure_step(step.id.as_str(), step.phase);
            }
        });
        if let Err(error) = opened {
            self.stop_internal(None, error);
        }

        let mut user_cancelled = false;
        loop {
            if cancel.is_cancelled() && !user_cancelled {
                user_cancelled = true;
                self.on_user_cancel();
            }
            while self.stop.is_none() {
                let Some(id) = self.ready.pop_front() else {
                    break;
                };
                self.start_step(id);
            }
            if self.tasks.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                joined = self.tasks.join_next_with_id() => {
                    if let Some(joined) = joined {
                        self.on_joined(joined);
                    }
                }
                () = cancel.cancelled(), if !user_cancelled => {
                    user_cancelled = true;
                    self.on_user_cancel();
                }
                () = sleep_until(self.abort_at), if self.abort_at.is_some() => {
                    self.abort_running().await;
                }
            }
        }
        self.finish().await
    }

    fn on_user_cancel(&mut self) {
        if self.stop.is_none() {
            self.stop = Some(Stop::Cancelled);
            self.begin_stopping();
        } else {
            // Asked again while already stopping: stop now.
            self.abort_at = Some(tokio::time::Instant::now());
        }
    }

    fn begin_stopping(&mut self) {
        self.steps_cancel.cancel();
        if self.abort_at.is_none() {
            self.abort_at =
                Some(tokio::time::Instant::now() + self.orchestrator.options.cancel_grace);
        }
    }

    /// The state cannot be saved at the start: run nothing.
    fn stop_internal(&mut self, step: Option<StepId>, error: StateError) {
        let error = state_save_error(step, &error);
        self.stop = Some(Stop::Internal { step, error });
        self.begin_stopping();
    }

    fn planned(&self, id: StepId) -> &'o PlannedStep {
        self.plan
            .step(id)
            .unwrap_or_else(|| unreachable!("{id} is scheduled, so it is in the plan"))
    }

    fn mark_phase_started(&mut self, phase: Phase, now: Instant) {
        if self.phases_started.insert(phase) {
            self.events().emit(EventKind::PhaseStarted { phase });
        }
        self.phase_times.entry(phase).or_insert((now, now));
    }

    fn mark_phase_progress(&mut self, phase: Phase, now: Instant) {
        if let Some((_, last)) = self.phase_times.get_mut(&phase) {
            *last = (*last).max(now);
        }
    }

    fn start_step(&mut self, id: StepId) {
        let planned = self.planned(id);
        let now = Instant::now();
        self.waiting.remove(&id);
        self.mark_phase_started(planned.phase, now);
        let offset = now - self.started;
        if let Some(report) = self.reports.get_mut(&id) {
            report.started = Some(offset);
        }

        if planned.action == Action::Skip {
            let ((), generation) = self.state().update_deferred(|state| {
                state.step_skipped(
                    id.as_str(),
                    planned.phase,
                    &planned.reason,
                    Timestamp::now(),
                )
            });
            self.state().save_in_background(generation);
            self.events().emit(EventKind::StepFinished {
                phase: planned.phase,
                step: id,
                action: planned.action,
                outcome: Outcome::Skipped,
                duration_ms: 0,
                message: planned.reason.clone(),
                hint: None,
            });
            self.record_finish(id, Outcome::Skipped, planned.reason.clone(), now);
            self.release_dependants(id);
            return;
        }

        let ((), generation) = self.state().update_deferred(|state| {
            state.step_started(id.as_str(), planned.phase, Timestamp::now())
        });
        self.state().save_in_background(generation);
        self.events().emit(EventKind::StepStarted {
            phase: planned.phase,
            step: id,
            action: planned.action,
            message: format!("{} ({})", id.title(), planned.reason),
        });
        let ctx = StepContext::new(
            id,
            self.orchestrator.events.clone(),
            self.orchestrator.state.clone(),
            self.orchestrator.facts.clone(),
            self.steps_cancel.clone(),
        );
        let runner = Arc::clone(&self.orchestrator.runner);
        let step = planned.clone();
        let handle = self.tasks.spawn(async move {
            let result = runner.run_step(&step, ctx).await;
            (step.id, result)
        });
        self.running.insert(handle.id(), id);
    }

    fn on_joined(&mut self, joined: Result<(tokio::task::Id, StepResult), tokio::task::JoinError>) {
        let (id, result) = match joined {
            Ok((task, (id, result))) => {
                self.running.remove(&task);
                (id, result)
            }
            Err(join_error) => {
                let Some(id) = self.running.remove(&join_error.id()) else {
                    return;
                };
                let error = if join_error.is_panic() {
                    UserError::in_step(
                        id,
                        format!("{}: internal error (the step panicked)", id.title()),
                    )
                } else {
                    UserError::in_step(id, format!("{}: stopped", id.title()))
                };
                (id, Err(error))
            }
        };
        self.finish_step(id, result);
    }

    /// Record how a step ended. Like a step's start, the change is saved in the
    /// background at once: the next steps start without waiting for the disk. (What must
    /// be on disk before a step acts, the resources it is about to create, the step
    /// records itself through [`StepContext::record`], which waits for the save.)
    fn finish_step(&mut self, id: StepId, result: Result<StepOutcome, UserError>) {
        let planned = self.planned(id);
        let now = Instant::now();
        let duration = self
            .reports
            .get(&id)
            .and_then(|r| r.started)
            .map(|offset| (now - self.started).saturating_sub(offset))
            .unwrap_or_default();
        match result {
            Ok(done) => {
                let ((), generation) = self.state().update_deferred(|state| {
                    let at = Timestamp::now();
                    match done.outcome {
                        Outcome::Skipped => {
                            state.step_skipped(id.as_str(), planned.phase, &done.message, at)
                        }
                        _ => state.step_succeeded(
                            id.as_str(),
                            planned.phase,
                            Some(&done.message),
                            at,
                        ),
                    }
                });
                self.state().save_in_background(generation);
                self.events().emit(EventKind::StepFinished {
                    phase: planned.phase,
                    step: id,
                    action: planned.action,
                    outcome: done.outcome,
                    duration_ms: duration_ms(duration),
                    message: done.message.clone(),
                    hint: None,
                });
                self.record_finish(id, done.outcome, done.message, now);
                self.release_dependants(id);
            }
            Err(error) => {
                // A failure after the run began stopping is the cancellation taking effect.
                let outcome = if self.stop.is_some() {
                    Outcome::Cancelled
                } else {
                    Outcome::Failed
                };
                let message = match outcome {
                    Outcome::Cancelled if !error.message.contains("cancelled") => {
                        format!("cancelled: {}", error.message)
                    }
                    _ => error.message.clone(),
                };
                let ((), generation) = self.state().update_deferred(|state| {
                    let at = Timestamp::now();
                    state.step_failed(id.as_str(), planned.phase, &message, at);
                    if outcome == Outcome::Failed {
                        state.push_error(&format!("{id}: {}", error.message), at);
                    }
                });
                self.state().save_in_background(generation);
                self.events().emit(EventKind::StepFinished {
                    phase: planned.phase,
                    step: id,
                    action: planned.action,
                    outcome,
                    duration_ms: duration_ms(duration),
                    message: message.clone(),
                    hint: error.hint_text(),
                });
                self.record_finish(id, outcome, message, now);
                if outcome == Outcome::Failed {
                    self.stop = Some(Stop::Failed { step: id, error });
                    self.begin_stopping();
                }
            }
        }
    }

    fn record_finish(&mut self, id: StepId, outcome: Outcome, message: String, now: Instant) {
        let offset = now - self.started;
        if let Some(report) = self.reports.get_mut(&id) {
            report.outcome = Some(outcome);
            report.finished = Some(offset);
            report.message = Some(message);
        }
        self.mark_phase_progress(id.phase(), now);
    }

    fn release_dependants(&mut self, id: StepId) {
        let Some(dependants) = self.dependants.get(&id) else {
            return;
        };
        for dependant in dependants {
            if let Some(count) = self.waiting.get_mut(dependant) {
                *count -= 1;
                if *count == 0 {
                    self.ready.push_back(*dependant);
                }
            }
        }
    }

    /// The grace period is over: abort the steps still running (dropping their futures
    /// kills their children) and record them as cancelled.
    async fn abort_running(&mut self) {
        self.abort_at = None;
        self.tasks.abort_all();
        while let Some(joined) = self.tasks.join_next_with_id().await {
            match joined {
                Ok((task, (id, result))) => {
                    // Finished on its own just before the abort reached it.
                    self.running.remove(&task);
                    self.finish_step(id, result);
                }
                Err(join_error) => {
                    if let Some(id) = self.running.remove(&join_error.id()) {
                        let error = UserError::in_step(
                            id,
                            format!(
                                "{}: cancelled (did not stop within {}; its commands were killed)",
                                id.title(),
                                crate::text::format_duration(
                                    self.orchestrator.options.cancel_grace
                                )
                            ),
                        );
                        self.finish_step(id, Err(error));
                    }
                }
            }
        }
    }

    async fn finish(mut self) -> RunOutcome {
        let duration = self.started.elapsed();
        let phase_durations = self.phase_durations();
        // A step's failure is already in `errors[]` (see `finish_step`); the orchestrator's
        // own (the state could not be saved at the start) is recorded below.
        let internal_failure = match &self.stop {
            Some(Stop::Internal { error, .. }) => Some(error.message.clone()),
            _ => None,
        };
        let end = match self.stop.take() {
            None => RunEnd::Completed,
            Some(Stop::Failed { step, error }) => RunEnd::Failed {
                phase: step.phase(),
                step: Some(step),
                error,
            },
            Some(Stop::Internal { step, error }) => RunEnd::Failed {
                phase: step
                    .map(StepId::phase)
                    .unwrap_or_else(|| self.current_phase()),
                step,
                error,
            },
            Some(Stop::Cancelled) => {
                let step = self.first_cancelled_step();
                RunEnd::Cancelled {
                    phase: step
                        .map(StepId::phase)
                        .unwrap_or_else(|| self.current_phase()),
                    step,
                }
            }
        };
        let cancelled_steps: Vec<String> = self
            .plan
            .steps
            .iter()
            .filter(|s| self.reports[&s.id].outcome == Some(Outcome::Cancelled))
            .map(|s| s.id.to_string())
            .collect();
        let final_save = self.state().update(|state| {
            let now = Timestamp::now();
            if let Some(message) = &internal_failure {
                state.push_error(message, now);
            }
            match &end {
                RunEnd::Completed => state.set_status(RunStatus::Completed, now),
                RunEnd::Failed { .. } => state.set_status(RunStatus::Failed, now),
                RunEnd::Cancelled { .. } => {
                    let during = if cancelled_steps.is_empty() {
                        String::new()
                    } else {
                        format!(" during {}", cancelled_steps.join(", "))
                    };
                    state.push_error(&format!("cancelled by the user{during}"), now);
                    state.set_status(RunStatus::Failed, now);
                }
            }
        });
        let end = match (end, final_save) {
            (RunEnd::Completed, Err(error)) => {
                let message =
                    format!("every step succeeded, but the state could not be saved: {error}");
                // In memory: on disk with the next save that works (a rollback's).
                self.state()
                    .update_deferred(|state| state.push_error(&message, Timestamp::now()));
                RunEnd::Failed {
                phase: self.current_phase(),
                step: None,
                error: UserError {
                    message,
                    hint: Some(Topic::StateNotWritable.hint(
                        "check that the state file's directory is writable; running again reuses what exists",
                    )),
                    transient: false,
                    retry_after: None,
                    exit_code: ExitCode::General,
                },
            }
            }
            (end, Err(error)) => {
                let message = format!("could not save the final state: {error}");
                self.state()
                    .update_deferred(|state| state.push_error(&message, Timestamp::now()));
                self.events().emit(EventKind::Log {
                    level: LogLevel::Error,
                    phase: None,
                    step: None,
                    message,
                });
                end
            }
            (end, Ok(())) => end,
        };

        let summary = self.orchestrator.summary(phase_durations);
        let exit_code = match &end {
            RunEnd::Completed => {
                self.events().emit(EventKind::RunFinished {
                    duration_ms: duration_ms(duration),
                    summary: Box::new(summary.clone()),
                });
                ExitCode::Success
            }
            RunEnd::Failed { phase, step, error } => {
                self.events().emit(EventKind::RunFailed {
                    phase: *phase,
                    step: *step,
                    message: error.message.clone(),
                    hint: error.hint_text(),
                    exit_code: error.exit_code.code(),
                    duration_ms: duration_ms(duration),
                    report_file: self.orchestrator.report_file(),
                });
                error.exit_code
            }
            RunEnd::Cancelled { phase, step } => {
                self.events().emit(EventKind::RunFailed {
                    phase: *phase,
                    step: *step,
                    message: "cancelled by the user".into(),
                    hint: Some(
                        Topic::Cancelled
                            .hint(if self.orchestrator.options.resume.possible() {
                                format!(
                                    "what this run created is recorded in the state file; {}",
                                    self.orchestrator.options.resume.clause()
                                )
                            } else {
                                self.orchestrator.options.resume.clause()
                            })
                            .into(),
                    ),
                    exit_code: ExitCode::Cancelled.code(),
                    duration_ms: duration_ms(duration),
                    report_file: self.orchestrator.report_file(),
                });
                ExitCode::Cancelled
            }
        };
        let steps = self
            .plan
            .steps
            .iter()
            .map(|s| self.reports[&s.id].clone())
            .collect();
        RunOutcome {
            end,
            exit_code,
            duration,
            summary,
            steps,
        }
    }

    fn first_cancelled_step(&self) -> Option<StepId> {
        self.plan
            .steps
            .iter()
            .map(|s| s.id)
            .find(|id| self.reports[id].outcome == Some(Outcome::Cancelled))
    }

    /// The phase of the first step (in plan order) that did not finish well: where the
    /// run stood.
    fn current_phase(&self) -> Phase {
        self.plan
            .steps
            .iter()
            .find(|s| !self.reports[&s.id].outcome.is_some_and(Outcome::is_success))
            .or(self.plan.steps.last())
            .map(|s| s.phase)
            .unwrap_or(Phase::Cluster)
    }

    fn phase_durations(&self) -> Vec<(Phase, u64)> {
        let order = [
            Phase::Prerequisites,
            Phase::Cluster,
            Phase::Repositories,
            Phase::Installation,
            Phase::Validation,
            Phase::Rollback,
        ];
        order
            .into_iter()
            // A phase whose every step was skipped took no time: it is left out (not
            // "installation 0ms").
            .filter(|phase| {
                let mut steps = self.plan.steps.iter().filter(|s| s.phase == *phase);
                !steps.all(|s| s.action == Action::Skip)
            })
            .filter_map(|phase| {
                let (first, last) = self.phase_times.get(&phase)?;
                Some((phase, duration_ms(last.saturating_duration_since(*first))))
            })
            .collect()
    }
}

/// The state cannot be saved: the run cannot go on safely (exit 1).
fn state_save_error(step: Option<StepId>, error: &StateError) -> UserError {
    let message = match step {
        Some(step) => format!("{step}: could not save the state: {error}"),
        None => format!("could not save the state: {error}"),
    };
    UserError {
        message,
        hint: Some(
            Topic::StateNotWritable
                .hint("check that the state file's directory is writable and the disk has space"),
        ),
        transient: false,
        retry_after: None,
        exit_code: ExitCode::General,
    }
}

/// Sleep until `deadline`; never completes without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
