//! The wizard's state and its one entry point for change, [`update`]. Nothing here does
//! I/O: effects are returned to the runtime, and time arrives as messages, so a test can
//! drive the whole wizard with a list of messages.

use std::collections::HashMap;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};
use time::{OffsetDateTime, UtcOffset};

use crate::config::lifecycle::{Parsed, Validated};
use crate::config::Field;
use crate::engine::events::{EventKind, LogLevel};
use crate::engine::overview::EarlierRun;
use crate::engine::{PlanOverview, Resume};
use crate::logging::LogRecord;
use crate::prereq::AzureUse;
use crate::ExitCode;

use super::backend::{PrereqUpdate, RollbackNotice};
use super::checklist::Checklist;
use super::form::{FormOutcome, FormState, PathChoice, SecretText};
use super::logbuf::{LevelFilter, LogView, DEFAULT_CAPACITY};
use super::msg::{Effect, Msg, PromptAnswer, PromptRequest, Transition};
use super::progress::{RollbackState, RunProgress};
use super::screens::failure::{self, FailurePane};
use super::theme::Theme;
use crate::troubleshooting::Topic;
use crate::UserError;

/// Below this size the screens do not fit; a notice is shown instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// What the wizard starts from.
#[derive(Debug)]
pub struct AppInputs {
    /// Defaults, file, environment and flags, merged but not yet validated.
    pub parsed: Parsed,
    /// The kubeconfig's context names (for the pick list and validation).
    pub kube_contexts: Vec<String>,
    /// The kubeconfig files the contexts were read from (named when there are none).
    pub kubeconfig_paths: Vec<PathBuf>,
    /// Each context's API server, from the kubeconfig (shown in the pick list).
    pub kube_context_servers: HashMap<String, String>,
    /// `GITHUB_TOKEN` or `GH_TOKEN` is set: the form does not ask for a token.
    pub github_token_in_env: bool,
    /// Where the state file is (shown on the welcome and summary screens).
    pub state_file: PathBuf,
    pub log_file: Option<PathBuf>,
    /// `--no-color` or `NO_COLOR`.
    pub no_color: bool,
    /// `--demo`: labelled on every screen.
    pub demo: bool,
    /// For the clock times in the log tail.
    pub utc_offset: UtcOffset,
    /// Lines kept in the on-screen log tail.
    pub log_capacity: usize,
    /// Called once, on the wizard's own thread, right after the first screen is drawn
    /// (the demo uses it to show that a panic there gives the terminal back).
    pub after_first_draw: Option<AfterFirstDraw>,
    /// The exact `--clean` command for this run's state, shown when resources are kept
    /// (`None`: a demo whose simulated world no later run reaches, or unknown).
    pub clean_command: Option<String>,
    /// Why no command can remove what this run keeps (a demo whose simulated world no later
    /// run reaches), worded once by the caller; shown instead of a clean command.
    pub nothing_to_clean: Option<String>,
    /// What resumes this run after a failure (the exact command, or nothing for a demo
    /// whose simulated world no later run reaches).
    pub resume: Resume,
    /// The earlier run the state file records, which this run would continue (said on the
    /// welcome screen).
    pub earlier_run: Option<EarlierRun>,
}

/// A front end's hook for the moment the first screen is on the terminal.
pub struct AfterFirstDraw(Box<dyn FnOnce() + Send>);

impl AfterFirstDraw {
    pub fn new(hook: impl FnOnce() + Send + 'static) -> Self {
        Self(Box::new(hook))
    }

    pub(crate) fn call(self) {
        (self.0)()
    }
}

impl std::fmt::Debug for AfterFirstDraw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterFirstDraw")
    }
}

impl AppInputs {
    pub fn new(parsed: Parsed, state_file: PathBuf) -> Self {
        Self {
            parsed,
            kube_contexts: Vec::new(),
            kubeconfig_paths: Vec::new(),
            kube_context_servers: HashMap::new(),
            github_token_in_env: false,
            state_file,
            log_file: None,
            no_color: false,
            demo: false,
            utc_offset: UtcOffset::UTC,
            log_capacity: DEFAULT_CAPACITY,
            after_first_draw: None,
            clean_command: None,
            nothing_to_clean: None,
            resume: Resume::default(),
            earlier_run: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Configure,
    Prerequisites,
    Plan,
    Dashboard,
    Failure,
    Summary,
}

/// A box drawn over the screen that takes the keys while it is open.
#[derive(Debug)]
pub enum Overlay {
    Help,
    /// The whole text of a step, a check or a log line, wrapped (Enter on the dashboard).
    Detail {
        title: String,
        text: String,
        /// First wrapped line shown.
        scroll: usize,
    },
    QuitConfirm,
    /// Leaving the forms would lose what was typed: asked first.
    DiscardConfirm,
    Prompt {
        request: PromptRequest,
        secret: SecretText,
    },
}

/// The dashboard pane that has the keys (Tab moves between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DashboardPane {
    Steps,
    Health,
    #[default]
    Log,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanState {
    NotAsked,
    Computing,
    Ready(Box<PlanOverview>),
    Failed(UserError),
    /// The plan was fine but the run could not start.
    LaunchFailed(UserError),
}

/// The whole wizard.
#[derive(Debug)]
pub struct App {
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub size: (u16, u16),
    pub now: OffsetDateTime,
    pub utc_offset: UtcOffset,
    no_color_flag: bool,
    pub demo: bool,
    pub state_file: PathBuf,
    pub log_file: Option<PathBuf>,
    /// See [`AppInputs::clean_command`].
    pub clean_command: Option<String>,
    /// See [`AppInputs::nothing_to_clean`].
    pub nothing_to_clean: Option<String>,
    /// See [`AppInputs::resume`].
    pub resume: Resume,
    /// See [`AppInputs::earlier_run`].
    pub earlier_run: Option<EarlierRun>,
    pub path: PathChoice,
    pub form: FormState,
    /// The configuration the run uses, once valid.
    pub validated: Option<Validated>,
    /// No "Proceed?" question (`--skip-confirmation` or non-interactive): the run starts
    /// as soon as the prerequisites pass. Set at the start (then the forms are skipped
    /// too, nothing being missing) and again whenever the forms are completed.
    pub skip_plan: bool,
    pub checklist: Checklist,
    pub plan: PlanState,
    /// First shown line of the plan's configuration list.
    pub plan_scroll: usize,
    /// How far the prerequisites' hints are scrolled (j/k) when they do not fit.
    pub prerequisites_scroll: usize,
    pub run: RunProgress,
    pub logs: LogView,
    /// The user asked to stop the run; waiting for the engine to report.
    pub cancel_requested: bool,
    /// The dashboard pane that has the keys.
    pub dashboard_focus: DashboardPane,
    /// The step selected in the Steps pane (set when it first takes the focus).
    pub steps_cursor: Option<usize>,
    /// The check selected in the Health checks pane.
    pub health_cursor: Option<usize>,
    /// The failure screen's pane chosen with Tab (`None`: the first that overflows).
    pub failure_focus: Option<FailurePane>,
    /// How far the failure screen's error and rollback panels are scrolled.
    pub failure_scroll: [usize; 2],
    /// The token revision the last prerequisite check ran with.
    checked_token_revision: Option<u64>,
    /// Whether that check included Azure.
    checked_azure: Option<AzureUse>,
    /// Set once the wizard has decided to end, with the exit code.
    pub exit: Option<ExitCode>,
}

impl App {
    pub fn new(inputs: AppInputs, size: (u16, u16), now: OffsetDateTime) -> Self {
        let values = &inputs.parsed.merged().values;
        let path = PathChoice::matching(
            values.cluster.create.unwrap_or(true),
            values.repositories.control_plane.create.unwrap_or(true),
            values.repositories.gitops.create.unwrap_or(true),
        );
        // The tail starts at the console's verbosity; `l` changes it.
        let filter = filter_for(
            values.options.verbose == Some(true),
            values.options.quiet == Some(true),
        );
        let mut logs = LogView::with_capacity(inputs.log_capacity);
        logs.set_filter(filter);
        let form = FormState::new(
            inputs.parsed,
            inputs.kube_contexts,
            inputs.github_token_in_env,
        )
        .with_kubeconfig_paths(inputs.kubeconfig_paths)
        .with_context_servers(inputs.kube_context_servers);
        Self {
            screen: Screen::Welcome,
            overlay: None,
            size,
            now,
            utc_offset: inputs.utc_offset,
            no_color_flag: inputs.no_color,
            demo: inputs.demo,
            state_file: inputs.state_file,
            log_file: inputs.log_file,
            clean_command: inputs.clean_command,
            nothing_to_clean: inputs.nothing_to_clean,
            resume: inputs.resume,
            earlier_run: inputs.earlier_run,
            path,
            form,
            validated: None,
            skip_plan: false,
            checklist: Checklist::default(),
            plan: PlanState::NotAsked,
            plan_scroll: 0,
            prerequisites_scroll: 0,
            run: RunProgress::default(),
            logs,
            cancel_requested: false,
            dashboard_focus: DashboardPane::Log,
            steps_cursor: None,
            health_cursor: None,
            failure_focus: None,
            failure_scroll: [0, 0],
            checked_token_revision: None,
            checked_azure: None,
            exit: None,
        }
    }

    /// Colours, unless `--no-color`, `NO_COLOR`, or the form's "No colour" is on.
    pub fn theme(&self) -> Theme {
        Theme::new(self.no_color_flag || self.form.toggle(Field::NoColor))
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_WIDTH || self.size.1 < MIN_HEIGHT
    }

    /// Something moves on screen, so the runtime must send ticks.
    pub fn animating(&self) -> bool {
        self.checklist.running() || self.plan == PlanState::Computing || self.run.animating()
    }

    /// How the program ends if the user leaves now.
    pub fn exit_code_now(&self) -> ExitCode {
        match self.screen {
            Screen::Summary => ExitCode::Success,
            Screen::Failure => self
                .run
                .failure
                .as_ref()
                .map_or(ExitCode::General, |f| f.exit_code),
            Screen::Prerequisites => match &self.checklist.outcome {
                Some(outcome) if outcome.exit_code != ExitCode::Success => outcome.exit_code,
                _ => ExitCode::Cancelled,
            },
            Screen::Plan => match &self.plan {
                PlanState::Failed(e) | PlanState::LaunchFailed(e) => e.exit_code,
                _ => ExitCode::Cancelled,
            },
            _ => ExitCode::Cancelled,
        }
    }

    /// The engine is doing something a quit would interrupt.
    fn engine_busy(&self) -> bool {
        // While the session decides it may already be rolling back (`--auto-rollback`).
        self.run.is_running()
            || self.run.rollback().in_progress()
            || matches!(self.run.rollback(), RollbackState::LookingUp)
    }

    /// Leaving the forms now would lose the values changed in them.
    fn answers_would_be_lost(&self) -> bool {
        self.screen == Screen::Configure && self.form.has_answers()
    }

    /// Whether keys are text for the focused field (then `q` and `?` are typed).
    pub fn typing(&self) -> bool {
        self.screen == Screen::Configure && self.form.typing()
    }

    /// Lines of log visible on the dashboard (for paging).
    pub fn log_page(&self) -> usize {
        super::screens::dashboard::log_lines_visible(self).max(1)
    }
}

/// Apply one message. Returns whether the screen changed and what the runtime must do.
pub fn update(app: &mut App, msg: Msg) -> Transition {
    let transition = match msg {
        Msg::Init => init(app),
        Msg::Key(key) => {
            if key.kind == KeyEventKind::Release {
                return Transition::none();
            }
            key_pressed(app, key)
        }
        Msg::Paste(text) => pasted(app, &text),
        Msg::Mouse(mouse) => match (app.screen, mouse.kind) {
            (Screen::Dashboard | Screen::Failure, MouseEventKind::ScrollUp) => {
                redraw_if_log_moved(app, |logs| logs.scroll_up(3))
            }
            (Screen::Dashboard | Screen::Failure, MouseEventKind::ScrollDown) => {
                redraw_if_log_moved(app, |logs| logs.scroll_down(3))
            }
            _ => Transition::none(),
        },
        Msg::Resize { width, height } => {
            if app.size == (width, height) {
                return Transition::none();
            }
            app.size = (width, height);
            Transition::redraw()
        }
        Msg::Tick(now) => {
            app.now = now.max(app.now);
            if app.animating() {
                Transition::redraw()
            } else {
                Transition::none()
            }
        }
        Msg::Prereq(update) => prereq_update(app, update),
        Msg::PrereqClosed => {
            if app.checklist.outcome.is_none() {
                app.checklist
                    .apply(PrereqUpdate::Finished(super::backend::PrereqOutcome {
                        exit_code: ExitCode::General,
                        summary: "Prerequisites: the check stopped without a result".to_string(),
                        azure: None,
                        github: None,
                    }));
                Transition::redraw()
            } else {
                Transition::none()
            }
        }
        Msg::Prompt(request) => {
            app.overlay = Some(Overlay::Prompt {
                request,
                secret: SecretText::default(),
            });
            Transition::redraw()
        }
        Msg::Plan(result) => {
            app.plan = match result {
                Ok(overview) => PlanState::Ready(Box::new(overview)),
                Err(error) => PlanState::Failed(error),
            };
            app.plan_scroll = 0;
            Transition::redraw()
        }
        Msg::RunLaunched(result) => match result {
            Ok(()) => Transition::none(),
            Err(error) => {
                app.run.launching = false;
                app.plan = PlanState::LaunchFailed(error);
                app.screen = Screen::Plan;
                Transition::redraw()
            }
        },
        Msg::Engine(event) => engine_event(app, event),
        Msg::EngineClosed => {
            app.run.engine_done = true;
            app.run.launching = false;
            if app.run.failure.is_none() && app.run.summary.is_none() {
                // The engine ended without saying how; that is a failure, never a success.
                app.run.failure = Some(super::progress::FailureInfo {
                    phase: app
                        .run
                        .current_phase
                        .unwrap_or(crate::state::Phase::Cluster),
                    step: None,
                    message: "the engine stopped without reporting a result".to_string(),
                    hint: Some(
                        Topic::InternalError
                            .hint("see the log file for what happened")
                            .into(),
                    ),
                    exit_code: ExitCode::General,
                    duration_ms: 0,
                    report_file: None,
                });
                app.run.set_rollback(RollbackState::Unavailable(
                    "the engine is no longer running".to_string(),
                ));
                app.screen = Screen::Failure;
            } else if app.run.rollback().in_progress() {
                app.run.set_rollback(RollbackState::Unavailable(
                    "the engine stopped before the rollback finished".to_string(),
                ));
            } else if matches!(app.run.rollback(), RollbackState::LookingUp) {
                app.run.set_rollback(RollbackState::Unavailable(
                    "the engine stopped before deciding about a rollback".to_string(),
                ));
            }
            Transition::redraw()
        }
        Msg::Log(record) => {
            log_record(app, record);
            Transition {
                redraw: matches!(app.screen, Screen::Dashboard | Screen::Failure),
                effects: Vec::new(),
            }
        }
        Msg::Rollback(notice) => rollback_notice(app, notice),
        Msg::KubeContexts(probes) => {
            app.form.set_context_probes(probes);
            if app.form.picker.is_some() {
                Transition::redraw()
            } else {
                Transition::none()
            }
        }
    };
    if let Some(Effect::Exit(code)) = transition
        .effects
        .iter()
        .find(|e| matches!(e, Effect::Exit(_)))
    {
        app.exit = Some(*code);
    }
    transition
}

fn init(app: &mut App) -> Transition {
    let skip = app
        .form
        .validated()
        .is_some_and(|validated| !validated.needs_confirmation());
    if skip {
        app.validated = app.form.validated().cloned();
        app.skip_plan = true;
        start_prerequisites(app, None)
    } else {
        app.screen = Screen::Welcome;
        Transition::redraw()
    }
}

fn start_prerequisites(app: &mut App, github_token: Option<secrecy::SecretString>) -> Transition {
    app.screen = Screen::Prerequisites;
    app.checklist = Checklist {
        started: true,
        ..Checklist::default()
    };
    let interactive = !app.form.toggle(Field::NonInteractive);
    let skip = app.form.toggle(Field::SkipValidation);
    let azure = checked_azure(app);
    app.checked_azure = Some(azure);
    let github_host = crate::config::GitHubHost::parse(app.form.text(Field::GithubHost)).ok();
    let flux_manifest_from_github_com = app.form.text(Field::FluxManifest).trim().is_empty()
        && !app.form.toggle(Field::SkipInstall);
    Transition::redraw().with(Effect::StartPrerequisites {
        github_token,
        interactive,
        skip,
        azure,
        github_host,
        flux_manifest_from_github_com,
    })
}

/// Whether the answers involve Azure (checked with them, so a change to a new AKS cluster
/// after a check without Azure checks again).
fn checked_azure(app: &App) -> AzureUse {
    AzureUse::of(
        app.validated
            .as_ref()
            .is_none_or(|validated| validated.configuration().involves_azure()),
    )
}

fn prereq_update(app: &mut App, update: PrereqUpdate) -> Transition {
    let finished = matches!(update, PrereqUpdate::Finished(_));
    app.checklist.apply(update);
    let mut transition = Transition::redraw();
    if finished && app.checklist.passed() && app.skip_plan {
        transition = launch_run(app);
    }
    transition
}

fn compute_plan(app: &mut App) -> Transition {
    let Some(validated) = app.validated.as_ref() else {
        return Transition::none();
    };
    let configuration = Box::new(validated.configuration().clone());
    app.plan = PlanState::Computing;
    app.plan_scroll = 0;
    app.screen = Screen::Plan;
    Transition::redraw().with(Effect::ComputePlan(configuration))
}

fn launch_run(app: &mut App) -> Transition {
    let Some(validated) = app.validated.clone() else {
        return Transition::none();
    };
    app.screen = Screen::Dashboard;
    app.run = RunProgress {
        launching: true,
        demo: app.demo,
        ..RunProgress::default()
    };
    Transition::redraw().with(Effect::StartRun(Box::new(validated.confirm())))
}

fn engine_event(app: &mut App, event: crate::engine::events::Event) -> Transition {
    let at = event.ts.as_offset_date_time();
    app.now = app.now.max(at);
    if let EventKind::Log { level, message, .. } = &event.kind {
        app.logs.push(*level, at, message);
        return Transition {
            redraw: matches!(app.screen, Screen::Dashboard | Screen::Failure),
            effects: Vec::new(),
        };
    }
    app.run.apply(&event);
    let transition = Transition::redraw();
    match &event.kind {
        EventKind::RunFailed { .. } => {
            app.screen = Screen::Failure;
            app.cancel_requested = false;
            if matches!(app.overlay, Some(Overlay::QuitConfirm)) {
                app.overlay = None;
            }
            // The session decides next (ask, roll back, keep): its notice or its
            // rollback events follow.
            if matches!(app.run.rollback(), RollbackState::NotOffered) {
                app.run.set_rollback(RollbackState::LookingUp);
            }
        }
        EventKind::RunFinished { .. } => {
            app.screen = Screen::Summary;
            if matches!(app.overlay, Some(Overlay::QuitConfirm)) {
                app.overlay = None;
            }
        }
        EventKind::RollbackStarted { .. } if app.screen != Screen::Failure => {
            app.screen = Screen::Failure;
        }
        _ => {}
    }
    transition
}

fn log_record(app: &mut App, record: LogRecord) {
    let level = match record.level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        _ => LogLevel::Debug,
    };
    app.logs.push(level, record.timestamp, &record.message);
}

/// The session's decision after a failure: a question about exactly the plan it will act
/// on, or why nothing is asked.
fn rollback_notice(app: &mut App, notice: RollbackNotice) -> Transition {
    app.run.set_rollback(match notice {
        RollbackNotice::Asking(resources) => RollbackState::Asking(
            resources
                .iter()
                .map(|r| crate::state::in_human_words(r).into_owned())
                .collect(),
        ),
        RollbackNotice::NothingToRemove => RollbackState::NothingToRemove,
        RollbackNotice::Kept => RollbackState::Kept,
    });
    Transition::redraw()
}

/// A paste is one edit of the field being typed into; its newlines submit nothing.
fn pasted(app: &mut App, text: &str) -> Transition {
    let too_small = app.too_small();
    let changed = match (&mut app.overlay, app.screen) {
        (
            Some(Overlay::Prompt {
                request: PromptRequest::Secret { .. },
                secret,
            }),
            _,
        ) => secret.paste(text),
        (Some(_), _) => false,
        (None, Screen::Configure) if !too_small => app.form.paste(text),
        (None, _) => false,
    };
    if changed {
        Transition::redraw()
    } else {
        Transition::none()
    }
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c'))
}

fn key_pressed(app: &mut App, key: KeyEvent) -> Transition {
    if app.overlay.is_some() {
        return overlay_key(app, key);
    }
    let quit_key = is_ctrl_c(&key) || (key.code == KeyCode::Char('q') && !app.typing());
    if quit_key {
        return quit(app);
    }
    if app.too_small() {
        return Transition::none();
    }
    let help_key = key.code == KeyCode::F(1) || (key.code == KeyCode::Char('?') && !app.typing());
    if help_key {
        app.overlay = Some(Overlay::Help);
        return Transition::redraw();
    }
    match app.screen {
        Screen::Welcome => welcome_key(app, key),
        Screen::Configure => configure_key(app, key),
        Screen::Prerequisites => prerequisites_key(app, key),
        Screen::Plan => plan_key(app, key),
        Screen::Dashboard => dashboard_key(app, key),
        Screen::Failure => failure_key(app, key),
        Screen::Summary => match key.code {
            KeyCode::Enter | KeyCode::Esc => {
                Transition::redraw().with(Effect::Exit(ExitCode::Success))
            }
            _ => Transition::none(),
        },
    }
}

/// q or Ctrl+C: ask first while the engine is busy, or when leaving would lose answers
/// typed into the forms; otherwise leave with the code that fits the screen. Once a stop
/// was asked for and the engine is still stopping, a second request leaves at once (as a
/// second signal ends the process headless); the runtime still gives the engine a few
/// seconds to save the state.
fn quit(app: &mut App) -> Transition {
    if app.engine_busy() {
        if app.cancel_requested {
            let code = app.exit_code_now();
            return Transition::redraw()
                .with(Effect::CancelRun)
                .with(Effect::Exit(code));
        }
        app.overlay = Some(Overlay::QuitConfirm);
        return Transition::redraw();
    }
    if app.answers_would_be_lost() {
        app.overlay = Some(Overlay::DiscardConfirm);
        return Transition::redraw();
    }
    leave(app)
}

/// Leave now with the code that fits the screen.
fn leave(app: &mut App) -> Transition {
    let code = app.exit_code_now();
    let mut transition = Transition::redraw();
    if matches!(app.run.rollback(), RollbackState::Asking(_)) {
        // Leaving without answering keeps everything; tell the engine so it can finish.
        app.run.set_rollback(RollbackState::Declined);
        transition = transition.with(Effect::AnswerRollback(false));
    }
    transition.with(Effect::Exit(code))
}

/// Stop the run (or the rollback) the user confirmed stopping.
fn stop_confirmed(app: &mut App) -> Transition {
    app.overlay = None;
    if app.run.is_running() {
        app.cancel_requested = true;
        Transition::redraw().with(Effect::CancelRun)
    } else {
        // Rollback in progress: stop it and leave; the state keeps the rest.
        let code = app.exit_code_now();
        Transition::redraw()
            .with(Effect::CancelRun)
            .with(Effect::Exit(code))
    }
}

fn overlay_key(app: &mut App, key: KeyEvent) -> Transition {
    let Some(overlay) = app.overlay.as_mut() else {
        return Transition::none();
    };
    match overlay {
        Overlay::Help => {
            if matches!(
                key.code,
                KeyCode::Esc
                    | KeyCode::Enter
                    | KeyCode::Char('?')
                    | KeyCode::F(1)
                    | KeyCode::Char('q')
            ) {
                app.overlay = None;
                return Transition::redraw();
            }
            if is_ctrl_c(&key) {
                app.overlay = None;
                return quit(app);
            }
            Transition::none()
        }
        Overlay::Detail { scroll, .. } => match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => {
                app.overlay = None;
                Transition::redraw()
            }
            KeyCode::Char('j') | KeyCode::Down | KeyCode::PageDown => {
                *scroll += if key.code == KeyCode::PageDown { 10 } else { 1 };
                Transition::redraw()
            }
            KeyCode::Char('k') | KeyCode::Up | KeyCode::PageUp => {
                *scroll = scroll.saturating_sub(if key.code == KeyCode::PageUp { 10 } else { 1 });
                Transition::redraw()
            }
            _ if is_ctrl_c(&key) => {
                app.overlay = None;
                quit(app)
            }
            _ => Transition::none(),
        },
        Overlay::QuitConfirm => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => stop_confirmed(app),
            // Ctrl+C again insists: it stops, as a second signal does headless.
            _ if is_ctrl_c(&key) => stop_confirmed(app),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Enter => {
                app.overlay = None;
                Transition::redraw()
            }
            _ => Transition::none(),
        },
        Overlay::DiscardConfirm => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                app.overlay = None;
                leave(app)
            }
            _ if is_ctrl_c(&key) => {
                app.overlay = None;
                leave(app)
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Enter => {
                app.overlay = None;
                Transition::redraw()
            }
            _ => Transition::none(),
        },
        Overlay::Prompt { request, secret } => {
            let answer = match request {
                PromptRequest::Confirm { default, .. } => match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => Some(PromptAnswer::Confirm(true)),
                    KeyCode::Char('n') | KeyCode::Char('N') => Some(PromptAnswer::Confirm(false)),
                    KeyCode::Enter => Some(PromptAnswer::Confirm(*default)),
                    KeyCode::Esc => Some(PromptAnswer::Cancelled),
                    _ if is_ctrl_c(&key) => Some(PromptAnswer::Cancelled),
                    _ => None,
                },
                PromptRequest::Secret { .. } => match key.code {
                    KeyCode::Enter => Some(PromptAnswer::Secret(secret.secret())),
                    KeyCode::Esc => Some(PromptAnswer::Cancelled),
                    _ if is_ctrl_c(&key) => Some(PromptAnswer::Cancelled),
                    _ => {
                        secret.edit(key);
                        return Transition::redraw();
                    }
                },
            };
            match answer {
                Some(answer) => {
                    app.overlay = None;
                    Transition::redraw().with(Effect::AnswerPrompt(answer))
                }
                None => Transition::none(),
            }
        }
    }
}

fn welcome_key(app: &mut App, key: KeyEvent) -> Transition {
    let index = PathChoice::ALL
        .iter()
        .position(|p| *p == app.path)
        .unwrap_or(0);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => choose_path(app, index.saturating_sub(1)),
        KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
            choose_path(app, (index + 1).min(PathChoice::ALL.len() - 1))
        }
        KeyCode::Char(c @ '1'..='4') => choose_path(app, (c as usize) - ('1' as usize)),
        KeyCode::Enter => {
            app.form.apply_path(app.path);
            app.form.enter_group(super::form::Group::Cluster);
            back_to_forms(app);
            Transition::redraw()
        }
        KeyCode::Esc => Transition::redraw().with(Effect::Exit(ExitCode::Cancelled)),
        _ => Transition::none(),
    }
}

/// Select the welcome screen's `index`th path; a redraw only if that is a change.
fn choose_path(app: &mut App, index: usize) -> Transition {
    let chosen = PathChoice::ALL[index];
    if chosen == app.path {
        return Transition::none();
    }
    app.path = chosen;
    Transition::redraw()
}

/// The log tail's level filter for the console verbosity (`--verbose` / `--quiet`).
fn filter_for(verbose: bool, quiet: bool) -> LevelFilter {
    match (verbose, quiet) {
        (true, _) => LevelFilter::All,
        (_, true) => LevelFilter::ErrorOnly,
        _ => LevelFilter::InfoAndAbove,
    }
}

fn configure_key(app: &mut App, key: KeyEvent) -> Transition {
    let verbosity = |app: &App| {
        (
            app.form.toggle(Field::Verbose),
            app.form.toggle(Field::Quiet),
        )
    };
    let before = verbosity(app);
    let outcome = app.form.key(key);
    let after = verbosity(app);
    if after != before {
        // The tail follows the verbosity chosen in the form, as it follows the flags.
        app.logs.set_filter(filter_for(after.0, after.1));
    }
    match outcome {
        FormOutcome::Stay => Transition::redraw(),
        FormOutcome::Back => {
            app.screen = Screen::Welcome;
            Transition::redraw()
        }
        FormOutcome::Done => {
            app.validated = app.form.validated().cloned();
            app.skip_plan = app
                .validated
                .as_ref()
                .is_some_and(|validated| !validated.needs_confirmation());
            let revision = app.form.token_revision;
            if app.checklist.passed()
                && app.checked_token_revision == Some(revision)
                && app.checked_azure == Some(checked_azure(app))
            {
                // Checked already with this token and Azure's part; only the configuration
                // changed.
                return if app.skip_plan {
                    launch_run(app)
                } else {
                    compute_plan(app)
                };
            }
            app.checked_token_revision = Some(revision);
            let token = if app.form.token_in_env() {
                None
            } else {
                app.form.token.secret()
            };
            start_prerequisites(app, token)
        }
    }
}

fn prerequisites_key(app: &mut App, key: KeyEvent) -> Transition {
    let Some(outcome) = &app.checklist.outcome else {
        return Transition::none();
    };
    match key.code {
        KeyCode::Enter if outcome.exit_code == ExitCode::Success => {
            if app.skip_plan {
                launch_run(app)
            } else {
                compute_plan(app)
            }
        }
        KeyCode::Enter => {
            let code = outcome.exit_code;
            Transition::redraw().with(Effect::Exit(code))
        }
        KeyCode::Esc => {
            // Back to the forms (e.g. to enter a GitHub token), then check again.
            app.prerequisites_scroll = 0;
            back_to_forms(app);
            Transition::redraw()
        }
        // The hints scroll when they do not fit (the screen clamps the offset).
        KeyCode::Down
        | KeyCode::Char('j')
        | KeyCode::PageDown
        | KeyCode::Up
        | KeyCode::Char('k')
        | KeyCode::PageUp => {
            let max = crate::tui::screens::prerequisites::max_scroll(app);
            let current = app.prerequisites_scroll.min(max);
            let moved = match key.code {
                KeyCode::Down | KeyCode::Char('j') => (current + 1).min(max),
                KeyCode::PageDown => (current + 5).min(max),
                KeyCode::Up | KeyCode::Char('k') => current.saturating_sub(1),
                _ => current.saturating_sub(5),
            };
            if moved == app.prerequisites_scroll {
                return Transition::none();
            }
            app.prerequisites_scroll = moved;
            Transition::redraw()
        }
        _ => Transition::none(),
    }
}

fn plan_key(app: &mut App, key: KeyEvent) -> Transition {
    match &app.plan {
        PlanState::Ready(_) => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => launch_run(app),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Enter | KeyCode::Esc => {
                back_to_forms(app);
                Transition::redraw()
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.plan_scroll += 1;
                Transition::redraw()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                app.plan_scroll = app.plan_scroll.saturating_sub(1);
                Transition::redraw()
            }
            KeyCode::PageDown => {
                app.plan_scroll += 10;
                Transition::redraw()
            }
            KeyCode::PageUp => {
                app.plan_scroll = app.plan_scroll.saturating_sub(10);
                Transition::redraw()
            }
            _ => Transition::none(),
        },
        PlanState::Failed(_) | PlanState::LaunchFailed(_) => match key.code {
            KeyCode::Esc => {
                back_to_forms(app);
                Transition::redraw()
            }
            KeyCode::Enter => {
                let code = app.exit_code_now();
                Transition::redraw().with(Effect::Exit(code))
            }
            _ => Transition::none(),
        },
        PlanState::NotAsked | PlanState::Computing => Transition::none(),
    }
}

/// Back to the forms from a later screen, at the first group.
fn back_to_forms(app: &mut App) {
    app.form.enter_group(super::form::Group::Cluster);
    app.screen = Screen::Configure;
}

/// The log tail's keys; a redraw only if the view changed.
fn log_key(app: &mut App, key: KeyEvent) -> Transition {
    let page = app.log_page();
    match key.code {
        KeyCode::Char('k') | KeyCode::Up => redraw_if_log_moved(app, |logs| logs.scroll_up(1)),
        KeyCode::Char('j') | KeyCode::Down => redraw_if_log_moved(app, |logs| logs.scroll_down(1)),
        KeyCode::PageUp => redraw_if_log_moved(app, |logs| logs.scroll_up(page)),
        KeyCode::PageDown => redraw_if_log_moved(app, |logs| logs.scroll_down(page)),
        KeyCode::Home | KeyCode::Char('g') => redraw_if_log_moved(app, LogView::scroll_to_oldest),
        KeyCode::End | KeyCode::Char('G') => redraw_if_log_moved(app, LogView::follow),
        KeyCode::Char('f') => redraw_if_log_moved(app, LogView::toggle_follow),
        KeyCode::Char('l') => redraw_if_log_moved(app, LogView::cycle_filter),
        _ => Transition::none(),
    }
}

/// Apply `change` to the log view; a redraw only if what it shows changed.
fn redraw_if_log_moved(app: &mut App, change: impl FnOnce(&mut LogView)) -> Transition {
    let view = |logs: &LogView| (logs.offset(), logs.following(), logs.filter());
    let before = view(&app.logs);
    change(&mut app.logs);
    if view(&app.logs) == before {
        Transition::none()
    } else {
        Transition::redraw()
    }
}

fn failure_key(app: &mut App, key: KeyEvent) -> Transition {
    if let RollbackState::Asking(_) = app.run.rollback() {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                app.run.set_rollback(RollbackState::Requested);
                return Transition::redraw().with(Effect::AnswerRollback(true));
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Enter | KeyCode::Esc => {
                app.run.set_rollback(RollbackState::Declined);
                return Transition::redraw().with(Effect::AnswerRollback(false));
            }
            _ => return failure_scroll_key(app, key),
        }
    }
    match app.run.rollback() {
        RollbackState::Declined
        | RollbackState::Kept
        | RollbackState::NothingToRemove
        | RollbackState::Unavailable(_)
        | RollbackState::Finished { .. } => match key.code {
            KeyCode::Enter | KeyCode::Esc => {
                let code = app.exit_code_now();
                Transition::redraw().with(Effect::Exit(code))
            }
            // A configuration value caused it: change it in the forms and run again.
            KeyCode::Char('c')
                if app
                    .run
                    .failure
                    .as_ref()
                    .is_some_and(|failure| failure.is_configuration_problem()) =>
            {
                back_to_forms(app);
                Transition::redraw()
            }
            _ => failure_scroll_key(app, key),
        },
        _ => failure_scroll_key(app, key),
    }
}

/// Tab moves between the dashboard's panes; in the Steps and Health checks panes the
/// arrow keys select a row and Enter opens its whole text; in the log they scroll, and
/// Enter opens the newest line shown.
fn dashboard_key(app: &mut App, key: KeyEvent) -> Transition {
    use super::screens::dashboard;
    match key.code {
        KeyCode::Tab | KeyCode::BackTab => {
            let panes = dashboard::dashboard_panes(app);
            let at = panes
                .iter()
                .position(|p| *p == app.dashboard_focus)
                .unwrap_or(panes.len() - 1);
            let next = if key.code == KeyCode::Tab {
                (at + 1) % panes.len()
            } else {
                (at + panes.len() - 1) % panes.len()
            };
            app.dashboard_focus = panes[next];
            // A pane taking the focus selects its first row of interest.
            match app.dashboard_focus {
                DashboardPane::Steps if app.steps_cursor.is_none() => {
                    app.steps_cursor = app
                        .run
                        .steps
                        .iter()
                        .position(|row| row.is_running())
                        .or((!app.run.steps.is_empty()).then_some(0));
                }
                DashboardPane::Health if app.health_cursor.is_none() => {
                    app.health_cursor = (!app.run.health.is_empty()).then_some(0);
                }
                _ => {}
            }
            return Transition::redraw();
        }
        KeyCode::Enter => {
            return match dashboard::detail_of(app) {
                Some((title, text)) => {
                    app.overlay = Some(Overlay::Detail {
                        title,
                        text,
                        scroll: 0,
                    });
                    Transition::redraw()
                }
                None => Transition::none(),
            };
        }
        _ => {}
    }
    let (cursor, len) = match app.dashboard_focus {
        DashboardPane::Log => return log_key(app, key),
        DashboardPane::Steps => (&mut app.steps_cursor, app.run.steps.len()),
        DashboardPane::Health => (&mut app.health_cursor, app.run.health.len()),
    };
    if len == 0 {
        return Transition::none();
    }
    let current = cursor.unwrap_or(0).min(len - 1);
    let moved = match key.code {
        KeyCode::Char('k') | KeyCode::Up => current.saturating_sub(1),
        KeyCode::Char('j') | KeyCode::Down => (current + 1).min(len - 1),
        KeyCode::PageUp => current.saturating_sub(5),
        KeyCode::PageDown => (current + 5).min(len - 1),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => len - 1,
        KeyCode::Char('l') | KeyCode::Char('f') => return log_key(app, key),
        _ => return Transition::none(),
    };
    if Some(moved) == *cursor {
        return Transition::none();
    }
    *cursor = Some(moved);
    Transition::redraw()
}

/// Tab moves between the failure screen's panes; the scroll keys move the focused one
/// (the log's own keys when it is the log).
fn failure_scroll_key(app: &mut App, key: KeyEvent) -> Transition {
    let panes = failure::panes(app);
    let focus = failure::focused_pane(app);
    if matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
        let at = panes.iter().position(|p| *p == focus).unwrap_or(0);
        let next = if key.code == KeyCode::Tab {
            (at + 1) % panes.len()
        } else {
            (at + panes.len() - 1) % panes.len()
        };
        app.failure_focus = Some(panes[next]);
        return Transition::redraw();
    }
    let index = match focus {
        FailurePane::Error => 0,
        FailurePane::Rollback => 1,
        FailurePane::Log => return log_key(app, key),
    };
    let max = failure::max_scroll(app, focus);
    let page = failure::page(app, focus);
    let current = app.failure_scroll[index].min(max);
    let moved = match key.code {
        KeyCode::Char('k') | KeyCode::Up => current.saturating_sub(1),
        KeyCode::Char('j') | KeyCode::Down => (current + 1).min(max),
        KeyCode::PageUp => current.saturating_sub(page),
        KeyCode::PageDown => (current + page).min(max),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => max,
        // The log's filter still works from any pane.
        KeyCode::Char('l') => return log_key(app, key),
        _ => return Transition::none(),
    };
    if moved == app.failure_scroll[index] {
        return Transition::none();
    }
    app.failure_scroll[index] = moved;
    Transition::redraw()
}
