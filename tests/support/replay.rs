//! A real `--demo` run's events, replayed on a fixed clock: what the front ends' snapshots
//! are fed, so that they show the product's own words (step messages, health checks, the
//! summary) and change when those words change.
//!
//! The run is real ([`DemoRun`]): the demo's simulated world answering at once (faults and
//! latencies injected where a scenario needs them), through the session every front end
//! runs, a failure followed by the session's rollback question and, on a yes, the
//! rollback. What differs from run to run is made fixed:
//! - the time: every step gets a typical duration ([`typical_seconds`]; a second when it
//!   finds its work done, none when skipped) and starts when the steps it depends on (as
//!   the run announced them) have finished; its own events keep their order and are
//!   spread evenly over it, the health checks a round at a time. Durations, elapsed
//!   times, the run's total and each phase's time (its first step's start to its last
//!   step's end, as the orchestrator measures it) follow that clock; a rollback follows
//!   the run's end;
//! - the order of steps that ran side by side: by time on that clock, then plan order;
//!   the order of repositories created side by side in a removal: by name;
//! - the world's directory, the installation id, commit ids, the scheduler's branch and
//!   the report's timestamp.
//!
//! The same world answers the wizard's earlier questions for real too: the prerequisite
//! check ([`demo_prerequisites`]) and a plan the session refuses ([`demo_plan_refused`]).

use std::collections::HashMap;
use std::sync::Arc;

use kalypso_bootstrap::config::Configuration;
use kalypso_bootstrap::engine::events::{Outcome, PlannedStepInfo, RunSummary};
use kalypso_bootstrap::engine::{
    Access, AfterFailure, Ask, Event, EventKind, EventSink, RemovalPlan, Resume, Session, StepId,
};
use kalypso_bootstrap::sim::{Fault, FaultKind, Latency, SimulatedEnvironment};
use kalypso_bootstrap::state::Phase;
use kalypso_bootstrap::tools::kubectl::FluxKind;
use kalypso_bootstrap::tools::BoxFuture;
use kalypso_bootstrap::tools::CancellationToken;
use regex::Regex;

use super::events::EventClock;

/// Where the replayed run's simulated world is said to be.
pub const DEMO_ROOT: &str = "/tmp/kalypso-demo-3f9a1c";

/// The token of the replayed runs (the demo world takes any token as its user's);
/// registered as a secret by the session, used by no other test.
const DEMO_RUN_TOKEN: &str = "gho_ReplayedDemoRun000000000000000000000";

/// A real demo run's events on a fixed clock, in a fixed order.
pub struct Replay {
    /// In replay order; `ts` on the clock the replay was made with.
    pub events: Vec<Event>,
    /// After a failure: what the session asked to roll back (`RemovalPlan::descriptions`,
    /// what the wizard's question lists), when it asked.
    pub asked: Option<Vec<String>>,
    clock: EventClock,
}

/// When a run is cancelled: a test of the events so far.
type CancelWhen = Box<dyn Fn(&[Event]) -> bool + Send>;

/// A real `--demo` run, for a replay: its world, its faults, what stops it and what is
/// answered after it fails.
pub struct DemoRun<'a> {
    configuration: &'a Configuration,
    latency: Latency,
    faults: Vec<Fault>,
    cancel_when: Option<CancelWhen>,
    roll_back: Option<bool>,
}

impl<'a> DemoRun<'a> {
    /// The demo's world answering at once (`KALYPSO_DEMO_LATENCY=zero`); the run must
    /// succeed.
    pub fn new(configuration: &'a Configuration) -> Self {
        Self {
            configuration,
            latency: Latency::zero(),
            faults: Vec::new(),
            cancel_when: None,
            roll_back: None,
        }
    }

    /// `faults` injected into the world before the run.
    pub fn with_faults(mut self, faults: Vec<Fault>) -> Self {
        self.faults.extend(faults);
        self
    }

    /// `command` takes `each` (a fault on it answers halfway, as the simulator's tools do).
    pub fn with_latency(mut self, command: &str, each: std::time::Duration) -> Self {
        self.latency = self.latency.with_command(command, each);
        self
    }

    /// Cancel the run (as Ctrl+C in the wizard does) once the events so far say so.
    pub fn cancelled_when(mut self, when: impl Fn(&[Event]) -> bool + Send + 'static) -> Self {
        self.cancel_when = Some(Box::new(when));
        self
    }

    /// The run fails (or is cancelled); the session's rollback question is answered
    /// `roll_back` (yes: the rollback's events follow the run's).
    pub fn failing(mut self, roll_back: bool) -> Self {
        self.roll_back = Some(roll_back);
        self
    }

    /// The Flux source the installation makes is not found in the first round of health
    /// checks (Flux makes it in its own time) and is in the next: the checks are seen
    /// failing before they pass.
    pub fn with_flux_source_late(mut self) -> Self {
        self.faults.push(
            Fault::new(
                FaultKind::NotFound,
                &format!("kubectl get {}", FluxKind::GitRepository.resource()),
            )
            .with_arg("control-plane")
            .first(1),
        );
        self
    }

    /// The AKS cluster exceeds the vCPU quota. `az aks create` answers after the
    /// repositories are done (the steps beside it then always created the same things);
    /// the rollback is consented to, and `undeletable` (`OWNER/NAME`) cannot be deleted
    /// (the token may not delete repositories).
    pub fn over_cluster_quota(self, undeletable: &str) -> Self {
        let mut run = self.with_latency("az aks create", std::time::Duration::from_secs(6));
        run.faults.extend([
            Fault::new(FaultKind::QuotaExceeded, "az aks create").always(),
            Fault::new(FaultKind::Forbidden, "gh repo delete")
                .with_arg(undeletable)
                .always(),
        ]);
        run.failing(true)
    }

    pub fn replay(self, clock: EventClock) -> Replay {
        let (events, asked, root) = self.run();
        replay_of(events, asked, root.path(), DEMO_ROOT, clock)
    }
}

/// The events of a real run (and what its session asked to roll back), whose world is in
/// `root`, on `clock` with their text fixed (see the module's documentation); `root` is
/// shown as `shown_as`.
pub fn replay_of(
    events: Vec<Event>,
    asked: Option<Vec<String>>,
    root: &std::path::Path,
    shown_as: &'static str,
    clock: EventClock,
) -> Replay {
    let fixed = Fixed::new(&root.to_string_lossy(), shown_as);
    Replay {
        events: retimed(&in_fixed_removal_order(events), &fixed, clock),
        asked: asked.map(|mut asked| {
            repositories_sorted(&mut asked);
            asked.iter().map(|d| fixed.text(d)).collect()
        }),
        clock,
    }
}

/// The two repositories are created side by side, so which is newer (and is removed
/// first) differs from run to run: each run of repositories in a removal order is sorted.
fn repositories_sorted(resources: &mut [String]) {
    let mut start = 0;
    while start < resources.len() {
        let run = resources[start..]
            .iter()
            .take_while(|r| r.starts_with("repository "))
            .count();
        resources[start..start + run].sort();
        start += run.max(1);
    }
}

/// The rollback's events in the fixed order of [`repositories_sorted`]: the resources it
/// announces, and its actions, which follow that order.
fn in_fixed_removal_order(events: Vec<Event>) -> Vec<Event> {
    let Some(order) = events.iter().find_map(|e| match &e.kind {
        EventKind::RollbackStarted { resources } => {
            let mut sorted = resources.clone();
            repositories_sorted(&mut sorted);
            Some(sorted)
        }
        _ => None,
    }) else {
        return events;
    };
    let position = |event: &Event| match &event.kind {
        EventKind::RollbackAction { resource, .. } => order.iter().position(|r| r == resource),
        _ => None,
    };
    let mut actions: Vec<Event> = events
        .iter()
        .filter(|e| position(e).is_some())
        .cloned()
        .collect();
    actions.sort_by_key(|e| position(e));
    let mut actions = actions.into_iter();
    events
        .into_iter()
        .map(|event| match &event.kind {
            EventKind::RollbackStarted { .. } => Event {
                ts: event.ts,
                kind: EventKind::RollbackStarted {
                    resources: order.clone(),
                },
            },
            _ if position(&event).is_some() => actions.next().expect("as many actions"),
            _ => event,
        })
        .collect()
}

/// The wizard's side of the rollback question: records what is asked, answers `answer`.
struct Answer {
    answer: bool,
    asked: Arc<std::sync::Mutex<Option<Vec<String>>>>,
}

impl Ask for Answer {
    fn ask<'a>(&'a mut self, plan: &'a RemovalPlan) -> BoxFuture<'a, bool> {
        *self.asked.lock().unwrap() = Some(plan.descriptions());
        let answer = self.answer;
        Box::pin(async move { answer })
    }
}

impl Replay {
    /// Milliseconds from the clock's start to `event`.
    pub fn offset_ms(&self, event: &Event) -> u64 {
        let offset = event.ts.as_offset_date_time() - self.clock.start;
        offset.whole_milliseconds() as u64
    }

    /// The events up to (and including) `ms` on the clock.
    pub fn until(&self, ms: u64) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| self.offset_ms(e) <= ms)
            .cloned()
            .collect()
    }

    /// When the first event `matching` happens.
    pub fn when(&self, matching: impl Fn(&EventKind) -> bool) -> u64 {
        let event = self
            .events
            .iter()
            .find(|e| matching(&e.kind))
            .expect("the run has such an event");
        self.offset_ms(event)
    }

    /// When `step` finished.
    pub fn finished(&self, step: StepId) -> u64 {
        self.when(|kind| matches!(kind, EventKind::StepFinished { step: s, .. } if *s == step))
    }
}

/// The duration of each step in a typical real run (an AKS cluster takes minutes, a
/// repository seconds): the replay's clock.
pub fn typical_seconds(step: StepId) -> u64 {
    match step {
        StepId::ClusterPreflight => 4,
        StepId::ClusterResourceGroup => 2,
        StepId::ClusterCreate => 200,
        StepId::ClusterCredentials => 2,
        StepId::ClusterReady => 12,
        StepId::ControlPlaneRepo => 3,
        StepId::ControlPlaneSeed => 9,
        StepId::ControlPlaneSecrets => 2,
        StepId::GitopsRepo => 3,
        StepId::GitopsSeed => 5,
        StepId::GitopsSecrets => 2,
        StepId::GitopsLabel => 1,
        StepId::InstallFlux => 45,
        StepId::InstallKalypso => 30,
        StepId::HealthChecks => 40,
        StepId::WorkloadPreflight => 3,
        StepId::WorkloadFlux => 45,
        StepId::WorkloadSource => 5,
        StepId::FirstWorkload => 60,
    }
}

impl DemoRun<'_> {
    /// The run itself: the demo's world (as `KALYPSO_DEMO_LATENCY=zero` makes it, with
    /// the latencies and faults asked for), planned and run through the session as the
    /// wizard runs it, a failure followed by its rollback question; the events as they
    /// came, what was asked, and the world's directory.
    fn run(self) -> (Vec<Event>, Option<Vec<String>>, tempfile::TempDir) {
        let scratch = tempfile::tempdir().expect("temp dir");
        let sim = SimulatedEnvironment::demo(scratch.path()).expect("the demo world");
        sim.set_latency(self.latency.clone());
        for fault in self.faults {
            sim.inject(fault);
        }
        // The demo's own waits: their lengths are in the messages ("next check in 2s").
        let mut options = kalypso_bootstrap::demo::bootstrap_options();
        // A plain `--demo`, whose world is not kept: what a later run can resume is said
        // as for `kalypso-bootstrap --demo`.
        options.resume = Resume::for_invocation(&["--demo".to_string()], false);
        let paths = kalypso_bootstrap::demo::demo_paths(&sim, None, None);
        let session = Session::open(
            self.configuration.clone(),
            Arc::new(sim.clone()),
            Some(secrecy::SecretString::from(DEMO_RUN_TOKEN)),
            paths,
            options,
            Access::Run,
            &|notice| panic!("a new demo world has no state to move aside: {notice}"),
        )
        .expect("the session opens");
        let asked = Arc::new(std::sync::Mutex::new(None));
        let after_failure = AfterFailure::new(
            self.roll_back.map(|answer| {
                Box::new(Answer {
                    answer,
                    asked: Arc::clone(&asked),
                }) as Box<dyn Ask>
            }),
            CancellationToken::new,
        );
        let cancel_when = self.cancel_when;
        let expect_success = self.roll_back.is_none();
        let configuration = self.configuration;
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let events = runtime.block_on(async {
            let cancel = CancellationToken::new();
            let (warnings, _unread) = EventSink::channel();
            let plan = session
                .plan(&cancel, &warnings)
                .await
                .expect("a plan that may run");
            let (events, mut receiver) = EventSink::channel();
            let active = super::e2e::activate(configuration);
            let run = session.run_to_end(&active, &plan, events, &cancel, after_failure);
            tokio::pin!(run);
            let mut collected = Vec::new();
            let outcome = loop {
                tokio::select! {
                    outcome = &mut run => break outcome,
                    Some(event) = receiver.recv() => {
                        collected.push(event);
                        if cancel_when.as_ref().is_some_and(|when| when(&collected)) {
                            cancel.cancel();
                        }
                    }
                }
            };
            assert_eq!(
                outcome.run.is_success(),
                expect_success,
                "the demo run: {:?}",
                outcome.run.end
            );
            while let Ok(event) = receiver.try_recv() {
                collected.push(event);
            }
            collected
        });
        drop(session);
        let asked = asked.lock().unwrap().take();
        (events, asked, scratch)
    }
}

/// Which step an event belongs to: `None` for the run's own start and end.
fn owner(event: &Event, next_started: Option<StepId>, previous: Option<StepId>) -> Option<StepId> {
    match &event.kind {
        EventKind::StepStarted { step, .. }
        | EventKind::StepProgress { step, .. }
        | EventKind::StepFinished { step, .. } => Some(*step),
        EventKind::HealthCheck { .. } => Some(StepId::HealthChecks),
        EventKind::WorkloadChain { step, .. } => Some(*step),
        EventKind::Log {
            step: Some(step), ..
        } => Some(*step),
        // A phase starts with its first step.
        EventKind::PhaseStarted { .. } => next_started,
        EventKind::RunStarted { .. }
        | EventKind::RunFinished { .. }
        | EventKind::RunFailed { .. }
        | EventKind::RollbackStarted { .. }
        | EventKind::RollbackAction { .. }
        | EventKind::RollbackFinished { .. } => None,
        // A line of the run: where it came.
        EventKind::Log { step: None, .. } => previous,
    }
}

/// `events` on the replay's clock (see the module's documentation), their text fixed.
fn retimed(events: &[Event], fixed: &Fixed, clock: EventClock) -> Vec<Event> {
    let plan: Vec<PlannedStepInfo> = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RunStarted { steps, .. } => Some(steps.clone()),
            _ => None,
        })
        .expect("the run announces its plan");
    let order: HashMap<StepId, usize> = plan.iter().enumerate().map(|(i, s)| (s.step, i)).collect();

    // Each step's events, in the order the step sent them.
    let mut by_step: HashMap<StepId, Vec<Event>> = HashMap::new();
    let mut previous = None;
    for (i, event) in events.iter().enumerate() {
        let next_started = events[i..].iter().find_map(|e| match &e.kind {
            EventKind::StepStarted { step, .. } => Some(*step),
            _ => None,
        });
        if let Some(step) = owner(event, next_started, previous) {
            by_step.entry(step).or_default().push(event.clone());
            previous = Some(step);
        }
    }

    // Each step's start and end: after the steps it depends on, for its typical time (a
    // step that finds its work done takes a second to see so, a skipped one no time).
    let outcome = |step: StepId| {
        by_step.get(&step)?.iter().find_map(|e| match &e.kind {
            EventKind::StepFinished { outcome, .. } => Some(*outcome),
            _ => None,
        })
    };
    let mut span: HashMap<StepId, (u64, u64)> = HashMap::new();
    for planned in &plan {
        let start = planned
            .depends_on
            .iter()
            .filter_map(|d| span.get(d).map(|(_, end)| *end))
            .max()
            .unwrap_or(0);
        let seconds = match outcome(planned.step) {
            Some(Outcome::Skipped) => 0,
            Some(Outcome::Reused) => 1,
            _ => typical_seconds(planned.step),
        };
        span.insert(planned.step, (start, start + seconds * 1000));
    }

    // (time, plan order, order within the step) for every event.
    let mut timed: Vec<((u64, usize, usize), Event)> = Vec::new();
    for (step, step_events) in &by_step {
        let (start, end) = span[step];
        // The moments between the start and the end: each event, or a round of checks.
        let moment_of: Vec<usize> = {
            let mut moments = Vec::new();
            let mut moment = 0;
            // The checks of the round under way: a check seen again starts the next.
            let mut round: Vec<&str> = Vec::new();
            for event in step_events {
                let check = match &event.kind {
                    EventKind::HealthCheck { check, .. } => Some(check.as_str()),
                    _ => None,
                };
                let same_round = check.is_some_and(|c| !round.is_empty() && !round.contains(&c));
                if !same_round && !is_edge(&event.kind) {
                    moment += 1;
                    round.clear();
                }
                round.extend(check);
                moments.push(moment);
            }
            moments
        };
        let moments = moment_of.iter().max().copied().unwrap_or(0) as u64;
        for (index, (event, moment)) in step_events.iter().zip(moment_of).enumerate() {
            let at = match &event.kind {
                EventKind::PhaseStarted { .. } | EventKind::StepStarted { .. } => start,
                EventKind::StepFinished { .. } => end,
                _ => start + (end - start) * moment as u64 / (moments + 1),
            };
            let mut kind = event.kind.clone();
            match &mut kind {
                EventKind::StepProgress {
                    elapsed_ms,
                    message,
                    ..
                } => {
                    *elapsed_ms = at - start;
                    // The step's own words for its wait, on the replay's clock.
                    let elapsed = kalypso_bootstrap::text::format_duration(
                        std::time::Duration::from_millis(*elapsed_ms),
                    );
                    *message = elapsed_in_text()
                        .replace_all(message, format!("(${{lead}}{elapsed} elapsed").as_str())
                        .into_owned();
                }
                EventKind::StepFinished { duration_ms, .. } => *duration_ms = end - start,
                _ => {}
            }
            timed.push(((at, order[step], index), clock.event_ms(at, kind)));
        }
    }
    timed.sort_by_key(|(key, _)| *key);

    // The run ends with the last step that ran; a phase is measured over its steps that
    // ran, from the first one's start to the last one's end.
    let ran = |step: &StepId| by_step.contains_key(step);
    let end = span
        .iter()
        .filter(|(step, _)| ran(step))
        .map(|(_, (_, end))| *end)
        .max()
        .unwrap_or(0);
    let phase_ms = |phase: Phase| {
        let steps: Vec<&(u64, u64)> = plan
            .iter()
            .filter(|s| s.phase == phase && ran(&s.step))
            .map(|s| &span[&s.step])
            .collect();
        let first = steps.iter().map(|(start, _)| *start).min()?;
        let last = steps.iter().map(|(_, end)| *end).max()?;
        Some((phase, last - first))
    };
    let mut replayed = Vec::new();
    for event in events {
        if let EventKind::RunStarted { .. } = event.kind {
            replayed.push(clock.event_ms(0, event.kind.clone()));
        }
    }
    replayed.extend(timed.into_iter().map(|(_, e)| e));
    // The run's end, then a rollback: asked, answered after a while, each removal taking
    // a little time.
    let mut at = end;
    for event in events {
        let mut kind = event.kind.clone();
        match &mut kind {
            EventKind::RunFinished {
                duration_ms,
                summary,
            } => {
                *duration_ms = end;
                let measured: Vec<Phase> =
                    summary.phase_durations_ms.iter().map(|(p, _)| *p).collect();
                summary.phase_durations_ms = measured.into_iter().filter_map(phase_ms).collect();
            }
            EventKind::RunFailed { duration_ms, .. } => *duration_ms = end,
            EventKind::RollbackStarted { .. } => at += ROLLBACK_ANSWERED_AFTER_MS,
            EventKind::RollbackAction { duration_ms, .. } => {
                at += ROLLBACK_ACTION_MS;
                *duration_ms = ROLLBACK_ACTION_MS;
            }
            EventKind::RollbackFinished { .. } => {}
            _ => continue,
        }
        replayed.push(clock.event_ms(at, kind));
    }
    replayed
        .into_iter()
        .map(|event| Event {
            ts: event.ts,
            kind: fixed.kind(event.kind),
        })
        .collect()
}

/// How long the rollback question waits for its answer on the replay's clock.
const ROLLBACK_ANSWERED_AFTER_MS: u64 = 5_000;
/// How long each removal takes on the replay's clock.
const ROLLBACK_ACTION_MS: u64 = 2_000;

/// "(35ms elapsed" or "(1m 05s elapsed" in a step's message; `lead` is what may come
/// between the parenthesis and the time.
fn elapsed_in_text() -> Regex {
    Regex::new(r"\((?P<lead>[^()]*?)[0-9]+(ms|s|m [0-9]{2}s|h [0-9]{2}m) elapsed")
        .expect("a valid pattern")
}

/// A step's start and end (which take its first and last moment).
fn is_edge(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::PhaseStarted { .. }
            | EventKind::StepStarted { .. }
            | EventKind::StepFinished { .. }
    )
}

/// What differs from run to run in the events' text, made fixed.
struct Fixed {
    replacements: Vec<(Regex, &'static str)>,
}

impl Fixed {
    fn new(root: &str, shown_as: &'static str) -> Self {
        let pattern = |p: &str| Regex::new(p).expect("a valid pattern");
        Self {
            replacements: vec![
                // The world's directory: the scratch directory and the demo's own in it.
                (
                    pattern(&format!(
                        "{}(/kalypso-demo-[A-Za-z0-9]+)?",
                        regex::escape(root)
                    )),
                    shown_as,
                ),
                (pattern(r"\bkb-[0-9a-f]{12}\b"), "kb-000000000000"),
                (
                    pattern(r"\b[0-9a-f]{40}\b"),
                    "3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d",
                ),
                (
                    pattern(r"deployment/\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d"),
                    "deployment/2025-11-11-10-34-41",
                ),
                (
                    pattern(r"bootstrap-report-\d{8}T\d{6}Z"),
                    "bootstrap-report-20251111T103000Z",
                ),
            ],
        }
    }

    fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (pattern, with) in &self.replacements {
            out = pattern.replace_all(&out, *with).into_owned();
        }
        out
    }

    fn option(&self, text: &Option<String>) -> Option<String> {
        text.as_deref().map(|t| self.text(t))
    }

    fn kind(&self, kind: EventKind) -> EventKind {
        let mut kind = kind;
        match &mut kind {
            EventKind::StepStarted { message, .. }
            | EventKind::StepProgress { message, .. }
            | EventKind::HealthCheck { message, .. }
            | EventKind::WorkloadChain { message, .. }
            | EventKind::Log { message, .. } => *message = self.text(message),
            EventKind::StepFinished { message, hint, .. } => {
                *message = self.text(message);
                *hint = self.option(hint);
            }
            EventKind::RollbackStarted { resources } => {
                *resources = resources.iter().map(|r| self.text(r)).collect();
            }
            EventKind::RollbackAction {
                resource, message, ..
            } => {
                *resource = self.text(resource);
                *message = self.text(message);
            }
            EventKind::RollbackFinished {
                message, leftovers, ..
            } => {
                *message = self.text(message);
                *leftovers = leftovers.iter().map(|l| self.text(l)).collect();
            }
            EventKind::RunFinished { summary, .. } => **summary = self.summary(summary),
            EventKind::RunFailed {
                message,
                hint,
                report_file,
                ..
            } => {
                *message = self.text(message);
                *hint = self.option(hint);
                *report_file = self.option(report_file);
            }
            EventKind::RunStarted { .. } | EventKind::PhaseStarted { .. } => {}
        }
        kind
    }

    fn summary(&self, summary: &RunSummary) -> RunSummary {
        RunSummary {
            cluster: self.option(&summary.cluster),
            kube_context: self.option(&summary.kube_context),
            control_plane_url: self.option(&summary.control_plane_url),
            gitops_url: self.option(&summary.gitops_url),
            namespace: self.option(&summary.namespace),
            chart_version: self.option(&summary.chart_version),
            state_file: self.option(&summary.state_file),
            log_file: self.option(&summary.log_file),
            report_file: self.option(&summary.report_file),
            phase_durations_ms: summary.phase_durations_ms.clone(),
            next_steps: summary.next_steps.iter().map(|s| self.text(s)).collect(),
        }
    }
}

/// The prerequisite check of a `--demo` wizard (nobody asked, no token in the
/// environment), run for real over the demo's world with `faults`: the checklist's rows and
/// outcome as the wizard receives them once the check is done.
pub fn demo_prerequisites(faults: Vec<Fault>) -> Vec<kalypso_bootstrap::tui::PrereqUpdate> {
    demo_prerequisites_for(faults, kalypso_bootstrap::prereq::AzureUse::Needed)
}

/// [`demo_prerequisites`] for a run that does (`Needed`) or does not (`NotNeeded`, an
/// existing cluster) involve Azure.
pub fn demo_prerequisites_for(
    faults: Vec<Fault>,
    azure: kalypso_bootstrap::prereq::AzureUse,
) -> Vec<kalypso_bootstrap::tui::PrereqUpdate> {
    use kalypso_bootstrap::prereq::{check, Interaction, PrereqEnv};
    let scratch = tempfile::tempdir().expect("temp dir");
    let sim = SimulatedEnvironment::demo(scratch.path()).expect("the demo world");
    sim.set_latency(Latency::zero());
    for fault in faults {
        sim.inject(fault);
    }
    let env = PrereqEnv::from_lookup(|_| None).with_azure(azure);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime.block_on(check(Arc::new(sim), &env, &Interaction::NonInteractive));
    kalypso_bootstrap::tui::PrereqUpdate::from_report(&report)
}

/// The session's plan of a `--demo` run of `configuration` in a world where `existing`
/// was made before, by someone else: the refusal a front end shows before anything is
/// asked or run.
pub fn demo_plan_refused(
    configuration: &Configuration,
    existing: kalypso_bootstrap::sim::SeedRepo,
) -> kalypso_bootstrap::UserError {
    let scratch = tempfile::tempdir().expect("temp dir");
    let sim = SimulatedEnvironment::demo(scratch.path()).expect("the demo world");
    sim.set_latency(Latency::zero());
    sim.seed_repo(existing).expect("the existing repository");
    let session = Session::open(
        configuration.clone(),
        Arc::new(sim.clone()),
        Some(secrecy::SecretString::from(DEMO_RUN_TOKEN)),
        kalypso_bootstrap::demo::demo_paths(&sim, None, None),
        kalypso_bootstrap::demo::bootstrap_options(),
        Access::Run,
        &|notice| panic!("a new demo world has no state to move aside: {notice}"),
    )
    .expect("the session opens");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (warnings, _unread) = EventSink::channel();
    match runtime.block_on(session.plan(&CancellationToken::new(), &warnings)) {
        Ok(plan) => panic!("the plan was not refused: {:#?}", plan.steps),
        Err(error) => error,
    }
}
