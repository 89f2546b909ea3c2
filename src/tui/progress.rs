//! What the dashboard, failure and summary screens know about a run, built only from the
//! engine's events.

use time::OffsetDateTime;

use crate::engine::events::{
    ChainLink, Event, EventKind, HealthStatus, LinkStatus, Outcome, PlannedStepInfo, RunSummary,
};
use crate::engine::step::{Action, StepId};
use crate::state::Phase;
use crate::ExitCode;

/// The phases shown with a gauge, in order, in every run.
pub const RUN_PHASES: [Phase; 4] = [
    Phase::Cluster,
    Phase::Repositories,
    Phase::Installation,
    Phase::Validation,
];

/// The phases of [`RUN_PHASES`], with the workload clusters' (before validation) when the
/// plan attaches any.
pub fn run_phases(steps: &[StepRow]) -> Vec<Phase> {
    let workloads = steps.iter().any(|step| step.phase == Phase::Workloads);
    let mut phases = Vec::with_capacity(RUN_PHASES.len() + 1);
    for phase in RUN_PHASES {
        if phase == Phase::Validation && workloads {
            phases.push(Phase::Workloads);
        }
        phases.push(phase);
    }
    phases
}

/// One environment's chain of the first workload: each link's state and latest word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    pub environment: String,
    /// In [`ChainLink::ALL`] order.
    pub links: [(LinkStatus, String); 4],
}

impl ChainRow {
    fn new(environment: &str) -> Self {
        Self {
            environment: environment.to_string(),
            links: std::array::from_fn(|_| (LinkStatus::Waiting, String::new())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running { since: OffsetDateTime },
    Finished { outcome: Outcome, duration_ms: u64 },
}

/// One line of the step list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    pub id: StepId,
    pub phase: Phase,
    pub action: Action,
    pub title: String,
    pub state: StepState,
    /// The latest progress message (what is being waited for) or the final message.
    pub detail: Option<String>,
    /// The data model's state, e.g. `Creating`.
    pub transition: Option<String>,
    pub hint: Option<String>,
}

impl StepRow {
    fn planned(info: &PlannedStepInfo) -> Self {
        let state = if info.action == Action::Skip {
            StepState::Finished {
                outcome: Outcome::Skipped,
                duration_ms: 0,
            }
        } else {
            StepState::Pending
        };
        Self {
            id: info.step,
            phase: info.phase,
            action: info.action,
            title: info.title.clone(),
            state,
            detail: None,
            transition: None,
            hint: None,
        }
    }

    fn unplanned(id: StepId, phase: Phase, action: Action) -> Self {
        Self {
            id,
            phase,
            action,
            title: id.title().to_string(),
            state: StepState::Pending,
            detail: None,
            transition: None,
            hint: None,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, StepState::Finished { .. })
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, StepState::Running { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    pub check: String,
    pub status: HealthStatus,
    pub message: String,
}

/// Why the run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureInfo {
    pub phase: Phase,
    pub step: Option<StepId>,
    pub message: String,
    pub hint: Option<String>,
    pub exit_code: ExitCode,
    pub duration_ms: u64,
    /// The run report, when the engine wrote one.
    pub report_file: Option<String>,
}

impl FailureInfo {
    /// The cause is a value of the configuration (exit 3: a VM size the region does not
    /// offer, a cluster name taken by someone else…): changing it in the forms is the fix,
    /// so the failure screen offers to go back to them.
    pub fn is_configuration_problem(&self) -> bool {
        self.exit_code == ExitCode::ConfigInvalid
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackRow {
    pub resource: String,
    pub outcome: Outcome,
    pub message: String,
    pub duration_ms: u64,
}

/// Where the rollback stands after a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RollbackState {
    /// No failure (yet).
    #[default]
    NotOffered,
    /// The run failed; the session is deciding (it builds the removal plan, then asks,
    /// rolls back under `--auto-rollback`, or keeps everything).
    LookingUp,
    /// The engine stopped before it could decide or finish; nothing is asked.
    Unavailable(String),
    /// The session's question is on screen with exactly the resources of its plan.
    Asking(Vec<String>),
    /// This run created nothing.
    NothingToRemove,
    /// The user kept the resources.
    Declined,
    /// `--non-interactive` without `--auto-rollback`: nothing is asked, everything is kept.
    Kept,
    /// The user said yes; waiting for the engine to begin.
    Requested,
    Running {
        resources: Vec<String>,
        actions: Vec<RollbackRow>,
    },
    Finished {
        resources: Vec<String>,
        actions: Vec<RollbackRow>,
        outcome: Outcome,
        message: String,
        leftovers: Vec<String>,
    },
}

impl RollbackState {
    /// The engine is busy removing things.
    pub fn in_progress(&self) -> bool {
        matches!(
            self,
            RollbackState::Requested | RollbackState::Running { .. }
        )
    }
}

/// Everything known about the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunProgress {
    /// The wizard asked the backend to start the run.
    pub launching: bool,
    pub started_at: Option<OffsetDateTime>,
    pub demo: bool,
    pub steps: Vec<StepRow>,
    pub current_phase: Option<Phase>,
    pub health: Vec<HealthRow>,
    /// The first workload's chain, per attached environment in the order first told.
    pub chain: Vec<ChainRow>,
    pub failure: Option<FailureInfo>,
    pub rollback: RollbackState,
    pub summary: Option<RunSummary>,
    pub finished_duration_ms: Option<u64>,
    /// The engine closed its event channel.
    pub engine_done: bool,
}

impl RunProgress {
    /// The engine is running steps (not finished, not failed, channel open).
    pub fn is_running(&self) -> bool {
        (self.launching || self.started_at.is_some())
            && self.failure.is_none()
            && self.summary.is_none()
            && !self.engine_done
    }

    pub fn rollback(&self) -> &RollbackState {
        &self.rollback
    }

    pub fn set_rollback(&mut self, state: RollbackState) {
        self.rollback = state;
    }

    /// Something moves on screen (a spinner).
    pub fn animating(&self) -> bool {
        self.is_running()
            || self.rollback().in_progress()
            || matches!(self.rollback(), RollbackState::LookingUp)
    }

    /// Steps finished (any outcome, skipped included) and all steps.
    pub fn overall(&self) -> (usize, usize) {
        let done = self.steps.iter().filter(|s| s.is_done()).count();
        (done, self.steps.len())
    }

    pub fn phase_counts(&self, phase: Phase) -> (usize, usize) {
        let in_phase = self.steps.iter().filter(|s| s.phase == phase);
        let total = in_phase.clone().count();
        let done = in_phase.filter(|s| s.is_done()).count();
        (done, total)
    }

    pub fn phase_failed(&self, phase: Phase) -> bool {
        self.steps.iter().any(|s| {
            s.phase == phase
                && matches!(
                    s.state,
                    StepState::Finished {
                        outcome: Outcome::Failed | Outcome::Cancelled,
                        ..
                    }
                )
        })
    }

    pub fn step(&self, id: StepId) -> Option<&StepRow> {
        self.steps.iter().find(|s| s.id == id)
    }

    fn step_mut(&mut self, id: StepId, phase: Phase, action: Action) -> &mut StepRow {
        match self.steps.iter().position(|s| s.id == id) {
            Some(index) => &mut self.steps[index],
            None => {
                self.steps.push(StepRow::unplanned(id, phase, action));
                self.steps.last_mut().expect("just pushed")
            }
        }
    }

    /// Take one engine event into account.
    pub fn apply(&mut self, event: &Event) {
        let at = event.ts.as_offset_date_time();
        match &event.kind {
            EventKind::RunStarted { demo, steps } => {
                self.launching = false;
                self.started_at = Some(at);
                self.demo |= *demo;
                self.steps = steps.iter().map(StepRow::planned).collect();
            }
            EventKind::PhaseStarted { phase } => self.current_phase = Some(*phase),
            EventKind::StepStarted {
                phase,
                step,
                action,
                message,
            } => {
                let row = self.step_mut(*step, *phase, *action);
                row.state = StepState::Running { since: at };
                row.detail = non_empty(message);
                row.transition = None;
                self.current_phase = Some(*phase);
            }
            EventKind::StepProgress {
                phase,
                step,
                message,
                transition,
                elapsed_ms,
            } => {
                let row = self.step_mut(*step, *phase, Action::Create);
                if !row.is_running() {
                    let since = at - time::Duration::milliseconds(*elapsed_ms as i64);
                    row.state = StepState::Running { since };
                }
                if let Some(message) = non_empty(message) {
                    row.detail = Some(message);
                }
                if transition.is_some() {
                    row.transition = transition.clone();
                }
            }
            EventKind::StepFinished {
                phase,
                step,
                action,
                outcome,
                duration_ms,
                message,
                hint,
            } => {
                let row = self.step_mut(*step, *phase, *action);
                row.action = *action;
                row.state = StepState::Finished {
                    outcome: *outcome,
                    duration_ms: *duration_ms,
                };
                row.detail = non_empty(message);
                row.hint = hint.clone();
            }
            EventKind::HealthCheck {
                check,
                status,
                message,
            } => match self.health.iter_mut().find(|h| &h.check == check) {
                Some(row) => {
                    row.status = *status;
                    row.message = shown(message);
                }
                None => self.health.push(HealthRow {
                    check: shown(check),
                    status: *status,
                    message: shown(message),
                }),
            },
            EventKind::WorkloadChain {
                environment,
                link,
                status,
                message,
                ..
            } => {
                let environment = shown(environment);
                let index = match self.chain.iter().position(|r| r.environment == environment) {
                    Some(index) => index,
                    None => {
                        self.chain.push(ChainRow::new(&environment));
                        self.chain.len() - 1
                    }
                };
                let position = ChainLink::ALL
                    .iter()
                    .position(|l| l == link)
                    .unwrap_or_default();
                self.chain[index].links[position] = (*status, shown(message));
            }
            EventKind::Log { .. } => {}
            EventKind::RollbackStarted { resources } => {
                self.set_rollback(RollbackState::Running {
                    resources: resources.iter().map(|r| human(r)).collect(),
                    actions: Vec::new(),
                });
            }
            EventKind::RollbackAction {
                resource,
                outcome,
                message,
                duration_ms,
            } => {
                let row = RollbackRow {
                    resource: human(resource),
                    outcome: *outcome,
                    message: shown(&human(message)),
                    duration_ms: *duration_ms,
                };
                match &mut self.rollback {
                    RollbackState::Running { actions, .. } => actions.push(row),
                    other => {
                        *other = RollbackState::Running {
                            resources: vec![row.resource.clone()],
                            actions: vec![row],
                        }
                    }
                }
            }
            EventKind::RollbackFinished {
                outcome,
                message,
                leftovers,
            } => {
                let (resources, actions) =
                    match std::mem::replace(&mut self.rollback, RollbackState::NotOffered) {
                        RollbackState::Running { resources, actions } => (resources, actions),
                        _ => (Vec::new(), Vec::new()),
                    };
                self.set_rollback(RollbackState::Finished {
                    resources,
                    actions,
                    outcome: *outcome,
                    message: human(message),
                    leftovers: leftovers.iter().map(|l| human(l)).collect(),
                });
            }
            EventKind::RunFinished {
                duration_ms,
                summary,
            } => {
                self.summary = Some((**summary).clone());
                self.finished_duration_ms = Some(*duration_ms);
                self.current_phase = None;
            }
            EventKind::RunFailed {
                phase,
                step,
                message,
                hint,
                exit_code,
                duration_ms,
                report_file,
            } => {
                if let Some(step) = step {
                    let row = self.step_mut(*step, *phase, Action::Create);
                    if !row.is_done() {
                        let duration_ms = match row.state {
                            StepState::Running { since } => {
                                (at - since).whole_milliseconds().max(0) as u64
                            }
                            _ => 0,
                        };
                        row.state = StepState::Finished {
                            outcome: if *exit_code == ExitCode::Cancelled.code() {
                                Outcome::Cancelled
                            } else {
                                Outcome::Failed
                            },
                            duration_ms,
                        };
                    }
                }
                // Steps still spinning were stopped with the run.
                for row in &mut self.steps {
                    if let StepState::Running { since } = row.state {
                        row.state = StepState::Finished {
                            outcome: Outcome::Cancelled,
                            duration_ms: (at - since).whole_milliseconds().max(0) as u64,
                        };
                    }
                }
                self.failure = Some(FailureInfo {
                    phase: *phase,
                    step: *step,
                    message: message.clone(),
                    hint: hint.clone(),
                    exit_code: exit_code_from(*exit_code),
                    duration_ms: *duration_ms,
                    report_file: report_file.clone(),
                });
                self.current_phase = None;
            }
        }
    }
}

/// The documented exit code with this number, or [`ExitCode::General`].
pub fn exit_code_from(code: i32) -> ExitCode {
    ExitCode::ALL
        .into_iter()
        .find(|c| c.code() == code)
        .unwrap_or(ExitCode::General)
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| shown(trimmed))
}

/// Event text as the screen may show it: it carries tool output, pull-request titles and
/// values read from the user's YAML, whose control characters are shown, never obeyed.
/// Resource kinds in people's words (`helm_release` → `Helm release`).
fn human(text: &str) -> String {
    crate::state::in_human_words(text).into_owned()
}

fn shown(text: &str) -> String {
    crate::text::escape_controls(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Timestamp;

    fn event(seconds: i64, kind: EventKind) -> Event {
        Event {
            ts: Timestamp::new(OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seconds)),
            kind,
        }
    }

    fn planned(step: StepId, action: Action) -> PlannedStepInfo {
        PlannedStepInfo {
            step,
            phase: step.phase(),
            action,
            title: step.title().to_string(),
            depends_on: vec![],
            consequences: Vec::new(),
        }
    }

    /// Health messages carry pull-request titles and controller conditions from outside,
    /// rollback messages tool output: the screen shows their control characters escaped.
    #[test]
    fn text_from_outside_reaches_the_screen_model_with_its_controls_escaped() {
        let forged = "PR \u{1b}]0;OWNED\u{7}\u{9b}2Jtitle\u{1b}[31m";
        let mut run = RunProgress::default();
        run.apply(&event(
            0,
            EventKind::HealthCheck {
                check: "pull-request".into(),
                status: HealthStatus::Failing,
                message: forged.into(),
            },
        ));
        run.apply(&event(
            1,
            EventKind::RollbackAction {
                resource: "repo_secret X on acme/cp".into(),
                outcome: Outcome::Failed,
                message: forged.into(),
                duration_ms: 1,
            },
        ));
        let raw = |text: &str| text.chars().any(|c| c.is_control());
        let health = &run.health[0].message;
        assert!(health.contains("OWNED") && !raw(health), "{health:?}");
        let RollbackState::Running { actions, .. } = &run.rollback else {
            panic!("the rollback runs: {:?}", run.rollback);
        };
        assert!(!raw(&actions[0].message), "{:?}", actions[0].message);
    }

    #[test]
    fn steps_move_from_pending_to_running_to_finished_and_skips_count_as_done() {
        let mut run = RunProgress::default();
        run.apply(&event(
            0,
            EventKind::RunStarted {
                demo: true,
                steps: vec![
                    planned(StepId::ClusterCreate, Action::Create),
                    planned(StepId::InstallFlux, Action::Skip),
                ],
            },
        ));
        assert!(run.demo && run.is_running());
        assert_eq!(run.overall(), (1, 2));
        run.apply(&event(
            1,
            EventKind::StepStarted {
                phase: Phase::Cluster,
                step: StepId::ClusterCreate,
                action: Action::Create,
                message: "az aks create".into(),
            },
        ));
        run.apply(&event(
            5,
            EventKind::StepProgress {
                phase: Phase::Cluster,
                step: StepId::ClusterCreate,
                message: "waiting for provisioningState Succeeded".into(),
                transition: Some("Creating".into()),
                elapsed_ms: 4000,
            },
        ));
        let row = run.step(StepId::ClusterCreate).unwrap();
        assert!(row.is_running());
        assert_eq!(row.transition.as_deref(), Some("Creating"));
        assert_eq!(
            row.detail.as_deref(),
            Some("waiting for provisioningState Succeeded")
        );
        run.apply(&event(
            9,
            EventKind::StepFinished {
                phase: Phase::Cluster,
                step: StepId::ClusterCreate,
                action: Action::Create,
                outcome: Outcome::Succeeded,
                duration_ms: 8000,
                message: "created".into(),
                hint: None,
            },
        ));
        assert_eq!(run.overall(), (2, 2));
        assert_eq!(run.phase_counts(Phase::Cluster), (1, 1));
    }

    #[test]
    fn a_failure_stops_spinning_steps_and_records_the_exit_code() {
        let mut run = RunProgress::default();
        run.apply(&event(
            0,
            EventKind::RunStarted {
                demo: false,
                steps: vec![
                    planned(StepId::ClusterCreate, Action::Create),
                    planned(StepId::ControlPlaneRepo, Action::Create),
                ],
            },
        ));
        for step in [StepId::ClusterCreate, StepId::ControlPlaneRepo] {
            run.apply(&event(
                1,
                EventKind::StepStarted {
                    phase: step.phase(),
                    step,
                    action: Action::Create,
                    message: String::new(),
                },
            ));
        }
        run.apply(&event(
            3,
            EventKind::RunFailed {
                phase: Phase::Cluster,
                step: Some(StepId::ClusterCreate),
                message: "quota exceeded".into(),
                hint: Some("ask for more".into()),
                exit_code: 4,
                duration_ms: 3000,
                report_file: Some("/home/u/.kalypso/bootstrap-report-x.md".into()),
            },
        ));
        assert!(!run.is_running());
        let failure = run.failure.as_ref().unwrap();
        assert_eq!(failure.exit_code, ExitCode::ClusterFailed);
        assert_eq!(
            failure.report_file.as_deref(),
            Some("/home/u/.kalypso/bootstrap-report-x.md")
        );
        assert!(matches!(
            run.step(StepId::ClusterCreate).unwrap().state,
            StepState::Finished {
                outcome: Outcome::Failed,
                duration_ms: 2000
            }
        ));
        assert!(matches!(
            run.step(StepId::ControlPlaneRepo).unwrap().state,
            StepState::Finished {
                outcome: Outcome::Cancelled,
                ..
            }
        ));
        assert!(run.phase_failed(Phase::Cluster));
    }

    #[test]
    fn the_workloads_gauge_is_shown_only_when_the_plan_attaches_clusters() {
        let row = |id: StepId| StepRow::unplanned(id, id.phase(), Action::Create);
        let without: Vec<StepRow> = StepId::WITHOUT_WORKLOAD_CLUSTERS
            .into_iter()
            .map(row)
            .collect();
        assert_eq!(run_phases(&without), RUN_PHASES.to_vec());
        let with: Vec<StepRow> = StepId::ALL.into_iter().map(row).collect();
        assert_eq!(
            run_phases(&with),
            [
                Phase::Cluster,
                Phase::Repositories,
                Phase::Installation,
                Phase::Workloads,
                Phase::Validation
            ]
        );
    }

    #[test]
    fn chain_events_build_a_row_per_environment_in_link_order() {
        let mut run = RunProgress::default();
        let link = |environment: &str, link, status| {
            event(
                0,
                EventKind::WorkloadChain {
                    step: StepId::FirstWorkload,
                    environment: environment.into(),
                    link,
                    status,
                    message: format!("{link:?}"),
                },
            )
        };
        run.apply(&link("dev", ChainLink::Merged, LinkStatus::Done));
        run.apply(&link("stage", ChainLink::PullRequest, LinkStatus::Waiting));
        run.apply(&link("dev", ChainLink::Running, LinkStatus::Warning));
        assert_eq!(run.chain.len(), 2);
        assert_eq!(run.chain[0].environment, "dev");
        assert_eq!(
            run.chain[0].links[1],
            (LinkStatus::Done, "Merged".to_string())
        );
        assert_eq!(
            run.chain[0].links[3],
            (LinkStatus::Warning, "Running".to_string())
        );
        assert_eq!(run.chain[0].links[0].0, LinkStatus::Waiting);
        assert_eq!(run.chain[1].environment, "stage");
    }

    #[test]
    fn rollback_events_build_the_rollback_progress() {
        let mut run = RunProgress::default();
        run.apply(&event(
            0,
            EventKind::RollbackStarted {
                resources: vec!["repo a".into(), "cluster b".into()],
            },
        ));
        assert!(run.rollback().in_progress());
        run.apply(&event(
            1,
            EventKind::RollbackAction {
                resource: "repo a".into(),
                outcome: Outcome::Succeeded,
                message: "deleted".into(),
                duration_ms: 10,
            },
        ));
        run.apply(&event(
            2,
            EventKind::RollbackFinished {
                outcome: Outcome::Failed,
                message: "1 left".into(),
                leftovers: vec!["az aks delete -n b".into()],
            },
        ));
        match run.rollback() {
            RollbackState::Finished {
                resources,
                actions,
                outcome,
                leftovers,
                ..
            } => {
                assert_eq!(resources.len(), 2);
                assert_eq!(actions.len(), 1);
                assert_eq!(*outcome, Outcome::Failed);
                assert_eq!(leftovers, &["az aks delete -n b".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn health_checks_update_in_place() {
        let mut run = RunProgress::default();
        for status in [HealthStatus::Pending, HealthStatus::Failing] {
            run.apply(&event(
                0,
                EventKind::HealthCheck {
                    check: "pods".into(),
                    status,
                    message: "m".into(),
                },
            ));
        }
        assert_eq!(run.health.len(), 1);
        assert_eq!(run.health[0].status, HealthStatus::Failing);
    }

    #[test]
    fn unknown_exit_codes_map_to_general() {
        assert_eq!(exit_code_from(5), ExitCode::RepositoryFailed);
        assert_eq!(exit_code_from(99), ExitCode::General);
    }
}
