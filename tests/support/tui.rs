//! Shared fixtures for the TUI tests: a parsed configuration, an app at a fixed time,
//! key helpers, rendering to text, engine event builders, and a scripted fake backend.

use kalypso_bootstrap::UserError;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kalypso_bootstrap::config::lifecycle::{Confirmed, Parsed, Uninitialized};
use kalypso_bootstrap::config::{ConfigLayer, Configuration};
use kalypso_bootstrap::engine::events::{
    Event, EventKind, HealthStatus, LogLevel, Outcome, PlannedStepInfo, RunSummary,
};
use kalypso_bootstrap::engine::overview::EarlierRun;
use kalypso_bootstrap::engine::step::{Action, StepId};
use kalypso_bootstrap::engine::{Observed, PlanOverview};
use kalypso_bootstrap::prereq::{AuthCheck, AuthCheckKind, Interaction, TerminalHandover, Verdict};
use kalypso_bootstrap::state::Phase;
use kalypso_bootstrap::tools::runner::{BoxFuture, CommandOutput, CommandSpec, RunError};
use kalypso_bootstrap::tools::Version;
use kalypso_bootstrap::tui::{
    render, update, App, AppInputs, Msg, PrereqOutcome, PrereqRequest, PrereqUpdate,
    RollbackNotice, RunHandle, RunSteering, RunUpdate, ScreenHandover, Transition, WizardBackend,
};
use kalypso_bootstrap::ExitCode;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::mpsc;

use super::events::{self, EventClock};

pub const NOW: OffsetDateTime = datetime!(2025-11-11 10:30:00 UTC);
pub const SMALL: (u16, u16) = (80, 24);
pub const LARGE: (u16, u16) = (160, 48);
pub const STATE_FILE: &str = "/home/dev/.kalypso/state.json";
pub const LOG_FILE: &str = "/home/dev/.kalypso/logs/kalypso-bootstrap-20251111T103000Z.log";
pub const REPORT_FILE: &str = "/home/dev/.kalypso/bootstrap-report-20251111T103000Z.md";

// ---------------------------------------------------------------------------------------
// Configuration and app

pub fn parsed(flags: ConfigLayer) -> Parsed {
    Uninitialized::new()
        .parse(flags, None, &HashMap::new())
        .expect("flags parse")
}

pub fn named(name: &str) -> ConfigLayer {
    let mut flags = ConfigLayer::default();
    flags.cluster.name = Some(name.to_string());
    flags
}

pub fn inputs(flags: ConfigLayer) -> AppInputs {
    let mut inputs = AppInputs::new(parsed(flags), PathBuf::from(STATE_FILE));
    inputs.log_file = Some(PathBuf::from(LOG_FILE));
    inputs.kube_contexts = vec!["kind-dev".to_string(), "aks-prod".to_string()];
    inputs.utc_offset = UtcOffset::UTC;
    inputs
}

/// An app of the given size at [`NOW`], after `Init`.
pub fn app_with(inputs: AppInputs, size: (u16, u16)) -> (App, Transition) {
    let mut app = App::new(inputs, size, NOW);
    let transition = update(&mut app, Msg::Init);
    (app, transition)
}

pub fn app(flags: ConfigLayer, size: (u16, u16)) -> App {
    app_with(inputs(flags), size).0
}

// ---------------------------------------------------------------------------------------
// Keys

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn press(app: &mut App, code: KeyCode) -> Transition {
    update(app, Msg::Key(key(code)))
}

pub fn ctrl(app: &mut App, c: char) -> Transition {
    update(
        app,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

pub fn shift_tab(app: &mut App) -> Transition {
    update(
        app,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    )
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Clear the focused text field (Ctrl+U is not a tui-input request; use Backspace).
pub fn clear_field(app: &mut App) {
    press(app, KeyCode::End);
    for _ in 0..80 {
        press(app, KeyCode::Backspace);
    }
}

// ---------------------------------------------------------------------------------------
// Rendering

pub fn buffer(app: &App, (width, height): (u16, u16)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal.backend().buffer().clone()
}

pub fn buffer_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The screen as text (trailing spaces trimmed), at the app's own size.
pub fn screen(app: &App) -> String {
    buffer_text(&buffer(app, app.size))
}

// ---------------------------------------------------------------------------------------
// Engine events and check rows

/// The wizard tests' events: `seconds` after [`NOW`].
pub const CLOCK: EventClock = EventClock::new(NOW);

pub fn at(seconds: i64) -> OffsetDateTime {
    CLOCK.at(seconds)
}

pub fn event(seconds: i64, kind: EventKind) -> Event {
    CLOCK.event(seconds, kind)
}

pub fn planned(step: StepId, action: Action) -> PlannedStepInfo {
    events::planned(step, action, vec![])
}

/// The GitHub account of the token in these tests.
pub const TOKEN_OWNER: &str = "kalypso-demo";

/// The product's plan, by resource, for `configuration` and what was `observed`; `earlier`
/// is the run it resumes.
pub fn overview_for(
    configuration: &Configuration,
    observed: &Observed,
    earlier: Option<EarlierRun>,
) -> PlanOverview {
    let plan = kalypso_bootstrap::engine::plan(configuration, observed);
    PlanOverview::new(configuration, &plan, Some(TOKEN_OWNER), earlier)
}

/// [`overview_for`] the configuration the wizard has validated.
pub fn overview_of(app: &App, observed: &Observed, earlier: Option<EarlierRun>) -> PlanOverview {
    let configuration = app
        .validated
        .as_ref()
        .expect("the forms are done")
        .configuration();
    overview_for(configuration, observed, earlier)
}

/// The plan of a new installation (nothing exists yet) for the wizard's configuration.
pub fn new_installation_plan(app: &App) -> PlanOverview {
    overview_of(app, &Observed::default(), None)
}

pub fn all_steps(action: Action) -> Vec<PlannedStepInfo> {
    StepId::WITHOUT_WORKLOAD_CLUSTERS
        .iter()
        .map(|s| planned(*s, action))
        .collect()
}

pub fn started(seconds: i64, step: StepId) -> Event {
    CLOCK.started(seconds, step)
}

pub fn finished(seconds: i64, step: StepId, outcome: Outcome, duration_ms: u64) -> Event {
    CLOCK.finished(seconds, step, outcome, duration_ms, "")
}

/// A log line of the run (no step).
pub fn log(seconds: i64, level: LogLevel, message: &str) -> Event {
    CLOCK.log(seconds, level, None, message)
}

pub fn health(seconds: i64, check: &str, status: HealthStatus, message: &str) -> Event {
    CLOCK.health(seconds, check, status, message)
}

pub fn run_failed(seconds: i64, step: StepId, message: &str, hint: &str, exit: ExitCode) -> Event {
    event(
        seconds,
        EventKind::RunFailed {
            phase: step.phase(),
            step: Some(step),
            message: message.to_string(),
            hint: Some(hint.to_string()),
            exit_code: exit.code(),
            duration_ms: (seconds as u64) * 1000,
            report_file: Some(REPORT_FILE.into()),
        },
    )
}

/// The fake backend's and the update tests' summary: its values are these tests' inputs.
/// The snapshots show a real run's summary (see `support::replay`).
pub fn summary() -> RunSummary {
    RunSummary {
        cluster: Some("demo".into()),
        kube_context: Some("demo".into()),
        control_plane_url: Some("https://github.com/acme/demo-control-plane".into()),
        gitops_url: Some("https://github.com/acme/demo-gitops".into()),
        namespace: Some("kalypso-system".into()),
        chart_version: Some("1.1.2-alpha".into()),
        state_file: Some(STATE_FILE.into()),
        log_file: Some(LOG_FILE.into()),
        report_file: Some(REPORT_FILE.into()),
        phase_durations_ms: vec![
            (Phase::Cluster, 215_000),
            (Phase::Repositories, 213_000),
            (Phase::Installation, 65_000),
            (Phase::Validation, 40_000),
        ],
        next_steps: vec![
            "Add a workload: create a Workload in the control-plane repository's main branch"
                .into(),
            "Watch the promotion: kubectl --context demo -n kalypso-system get workloads".into(),
        ],
    }
}

pub fn run_finished(seconds: i64) -> Event {
    CLOCK.run_finished(seconds, summary())
}

pub fn auth(check: AuthCheckKind, verdict: Verdict, detail: &str, hint: Option<&str>) -> AuthCheck {
    AuthCheck {
        check,
        verdict,
        detail: detail.to_string(),
        hint: hint.map(str::to_string),
    }
}

/// A tool row as the prerequisite check makes it for `version` (the product's own
/// minimums, verdicts, wording and install hints).
pub fn probed(
    requirement: &kalypso_bootstrap::prereq::ToolRequirement,
    version: (u64, u64, u64),
) -> PrereqUpdate {
    PrereqUpdate::Tool(kalypso_bootstrap::prereq::evaluate_tool(
        requirement,
        Ok(Version::new(version.0, version.1, version.2)),
    ))
}

/// Every row passing, then the outcome: the update tests' and the fake backend's check
/// (the snapshots show a real one, see `support::replay::demo_prerequisites`).
pub fn passing_checks() -> Vec<PrereqUpdate> {
    use kalypso_bootstrap::prereq::tools::{AZ, BASH, GH, GIT, HELM, JQ, KUBECTL};
    vec![
        probed(&AZ, (2, 91, 0)),
        probed(&KUBECTL, (1, 37, 1)),
        probed(&GH, (2, 103, 3)),
        probed(&HELM, (3, 17, 2)),
        probed(&GIT, (2, 47, 3)),
        probed(&JQ, (1, 7, 1)),
        probed(&BASH, (5, 2, 15)),
        PrereqUpdate::Auth(auth(
            AuthCheckKind::AzureLogin,
            Verdict::Pass,
            "dev@contoso.com on Contoso Dev",
            None,
        )),
        PrereqUpdate::Auth(auth(
            AuthCheckKind::AzureRole,
            Verdict::Pass,
            "Owner on subscription 3f1c9a52",
            None,
        )),
        PrereqUpdate::Auth(auth(
            AuthCheckKind::GithubToken,
            Verdict::Pass,
            "from GITHUB_TOKEN",
            None,
        )),
        PrereqUpdate::Auth(auth(
            AuthCheckKind::GithubLogin,
            Verdict::Pass,
            "octocat",
            None,
        )),
        PrereqUpdate::Finished(PrereqOutcome {
            exit_code: ExitCode::Success,
            summary: "Prerequisites: PASSED".into(),
            azure: None,
            github: None,
        }),
    ]
}

// ---------------------------------------------------------------------------------------
// The fake backend

/// How the fake run goes.
#[derive(Clone)]
pub struct RunScript {
    pub steps: Vec<PlannedStepInfo>,
    /// Fail at this step (after the steps before it succeed).
    pub fail_at: Option<StepId>,
    pub rollback_resources: Vec<String>,
    /// Pause between events.
    pub pace: Duration,
}

impl Default for RunScript {
    fn default() -> Self {
        Self {
            steps: all_steps(Action::Create),
            fail_at: None,
            // As the engine describes them (`Resource::describe`, what the session's
            // question carries).
            rollback_resources: vec![
                kalypso_bootstrap::state::Resource::Repository {
                    owner: "acme".into(),
                    name: "demo-control-plane".into(),
                    url: "https://github.com/acme/demo-control-plane".into(),
                }
                .describe(),
                kalypso_bootstrap::state::Resource::AksCluster {
                    name: "demo".into(),
                    resource_group: "demo-rg".into(),
                    subscription_id: None,
                }
                .describe(),
            ],
            pace: Duration::from_millis(2),
        }
    }
}

/// A scripted [`WizardBackend`] that records every call.
pub struct FakeBackend {
    pub calls: Arc<Mutex<Vec<String>>>,
    pub checks: Vec<PrereqUpdate>,
    /// Ask "Run `az login` now?" through the interaction before reporting.
    pub offer_az_login: bool,
    /// What the plan observes: the plan itself is the product's, made for the
    /// configuration the wizard asks about.
    pub plan: Result<Observed, UserError>,
    pub script: RunScript,
    /// What the kube context probe reports, and the context lists it was asked about.
    pub context_probes: Vec<kalypso_bootstrap::prereq::ContextProbe>,
    pub probed_contexts: Arc<Mutex<Vec<Vec<String>>>>,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self {
            calls: Arc::new(Mutex::new(Vec::new())),
            checks: passing_checks(),
            offer_az_login: false,
            plan: Ok(Observed::default()),
            script: RunScript::default(),
            context_probes: Vec::new(),
            probed_contexts: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl FakeBackend {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn record(calls: &Arc<Mutex<Vec<String>>>, call: impl Into<String>) {
    calls.lock().unwrap().push(call.into());
}

struct FakeControl {
    calls: Arc<Mutex<Vec<String>>>,
    commands: mpsc::UnboundedSender<ControlCommand>,
}

enum ControlCommand {
    Cancel,
    Rollback(bool),
}

impl RunSteering for FakeControl {
    fn cancel(&self) {
        record(&self.calls, "cancel");
        let _ = self.commands.send(ControlCommand::Cancel);
    }

    fn answer_rollback(&self, roll_back: bool) {
        record(&self.calls, format!("answer_rollback({roll_back})"));
        let _ = self.commands.send(ControlCommand::Rollback(roll_back));
    }
}

fn now_event(kind: EventKind) -> Event {
    Event::now(kind)
}

impl WizardBackend for FakeBackend {
    fn probe_kube_contexts(
        &self,
        contexts: Vec<String>,
    ) -> BoxFuture<'_, Vec<kalypso_bootstrap::prereq::ContextProbe>> {
        self.probed_contexts.lock().unwrap().push(contexts);
        let probes = self.context_probes.clone();
        Box::pin(async move { probes })
    }

    fn start_prerequisites(&self, request: PrereqRequest) -> mpsc::Receiver<PrereqUpdate> {
        record(
            &self.calls,
            format!(
                "start_prerequisites(token={}, interactive={})",
                request.github_token.is_some(),
                request.interaction.is_interactive()
            ),
        );
        let (sender, receiver) = mpsc::channel(64);
        let checks = self.checks.clone();
        let offer = self.offer_az_login;
        let calls = self.calls.clone();
        tokio::spawn(async move {
            if offer {
                if let Interaction::Interactive { prompter, terminal } = &request.interaction {
                    match prompter
                        .confirm("The Azure CLI is not signed in. Run `az login` now?", true)
                        .await
                    {
                        Ok(true) => {
                            let result = terminal
                                .run_in_terminal(CommandSpec::new("az").arg("login"))
                                .await;
                            record(
                                &calls,
                                format!("az login handed over: ok={}", result.is_ok()),
                            );
                        }
                        Ok(false) => record(&calls, "az login declined"),
                        Err(err) => record(&calls, format!("az login prompt: {err}")),
                    }
                }
            }
            for update in checks {
                tokio::time::sleep(Duration::from_millis(1)).await;
                if sender.send(update).await.is_err() {
                    return;
                }
            }
        });
        receiver
    }

    fn plan(&self, configuration: Configuration) -> BoxFuture<'_, Result<PlanOverview, UserError>> {
        record(
            &self.calls,
            format!("plan(cluster={:?})", configuration.cluster_name()),
        );
        Box::pin(async move {
            self.plan
                .clone()
                .map(|observed| overview_for(&configuration, &observed, None))
        })
    }

    fn start_run(&self, configuration: Confirmed) -> BoxFuture<'_, Result<RunHandle, UserError>> {
        record(
            &self.calls,
            format!(
                "start_run(cluster={:?})",
                configuration.configuration().cluster_name()
            ),
        );
        let script = self.script.clone();
        let calls = self.calls.clone();
        Box::pin(async move {
            let (events, receiver) = mpsc::channel(256);
            let (commands, mut command_rx) = mpsc::unbounded_channel();
            let control = Arc::new(FakeControl { calls, commands });
            // Decided as the session decides (the wizard only shows it).
            let options = configuration.configuration().options.clone();
            tokio::spawn(async move {
                let send = |kind| {
                    let events = events.clone();
                    async move { events.send(RunUpdate::Event(now_event(kind))).await.is_ok() }
                };
                let notify = |notice| {
                    let events = events.clone();
                    async move { events.send(RunUpdate::Rollback(notice)).await.is_ok() }
                };
                if !send(EventKind::RunStarted {
                    demo: true,
                    steps: script.steps.clone(),
                })
                .await
                {
                    return;
                }
                let mut failed = None;
                for info in &script.steps {
                    tokio::time::sleep(script.pace).await;
                    if let Ok(ControlCommand::Cancel) = command_rx.try_recv() {
                        failed = Some((info.step, "cancelled by the user", ExitCode::Cancelled));
                        break;
                    }
                    send(EventKind::StepStarted {
                        phase: info.phase,
                        step: info.step,
                        action: info.action,
                        message: format!("{} started", info.title),
                    })
                    .await;
                    send(EventKind::Log {
                        level: LogLevel::Info,
                        phase: Some(info.phase),
                        step: Some(info.step),
                        message: format!("working on {}", info.step),
                    })
                    .await;
                    if script.fail_at == Some(info.step) {
                        failed = Some((info.step, "simulated failure", ExitCode::ClusterFailed));
                        break;
                    }
                    send(EventKind::StepFinished {
                        phase: info.phase,
                        step: info.step,
                        action: info.action,
                        outcome: Outcome::Succeeded,
                        duration_ms: 1,
                        message: String::new(),
                        hint: None,
                    })
                    .await;
                }
                match failed {
                    None => {
                        send(EventKind::RunFinished {
                            duration_ms: 100,
                            summary: Box::new(summary()),
                        })
                        .await;
                    }
                    Some((step, message, exit)) => {
                        send(EventKind::RunFailed {
                            phase: step.phase(),
                            step: Some(step),
                            message: message.to_string(),
                            hint: Some("try again".into()),
                            exit_code: exit.code(),
                            duration_ms: 50,
                            report_file: None,
                        })
                        .await;
                        let yes = if script.rollback_resources.is_empty() {
                            notify(RollbackNotice::NothingToRemove).await;
                            false
                        } else if options.auto_rollback {
                            true
                        } else if options.non_interactive {
                            notify(RollbackNotice::Kept).await;
                            false
                        } else {
                            notify(RollbackNotice::Asking(script.rollback_resources.clone())).await;
                            // Wait for the rollback answer.
                            let mut answer = false;
                            while let Some(command) = command_rx.recv().await {
                                if let ControlCommand::Rollback(yes) = command {
                                    answer = yes;
                                    break;
                                }
                            }
                            answer
                        };
                        if yes {
                            send(EventKind::RollbackStarted {
                                resources: script.rollback_resources.clone(),
                            })
                            .await;
                            for resource in &script.rollback_resources {
                                tokio::time::sleep(script.pace).await;
                                send(EventKind::RollbackAction {
                                    resource: resource.clone(),
                                    outcome: Outcome::Succeeded,
                                    message: "deleted".into(),
                                    duration_ms: 3,
                                })
                                .await;
                            }
                            send(EventKind::RollbackFinished {
                                outcome: Outcome::Succeeded,
                                message: "everything this run created was removed".into(),
                                leftovers: vec![],
                            })
                            .await;
                        }
                    }
                }
            });
            Ok(RunHandle {
                events: receiver,
                control,
            })
        })
    }

    fn terminal_handover(&self, screen: ScreenHandover) -> Arc<dyn TerminalHandover> {
        Arc::new(FakeTerminal {
            calls: self.calls.clone(),
            screen,
        })
    }
}

/// Records the command and "runs" it with the wizard's screen handed over, as the real
/// backend does.
struct FakeTerminal {
    calls: Arc<Mutex<Vec<String>>>,
    screen: ScreenHandover,
}

impl TerminalHandover for FakeTerminal {
    fn run_in_terminal(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        record(&self.calls, format!("run_in_terminal({})", spec.display()));
        let command = spec.display();
        Box::pin(async move {
            let ran = self.screen.run(async {
                Ok(CommandOutput {
                    exit_code: Some(0),
                    stdout: String::new(),
                    stderr: String::new(),
                    duration: Duration::from_millis(1),
                })
            });
            ran.await.unwrap_or(Err(RunError::Cancelled { command }))
        })
    }
}

// ---------------------------------------------------------------------------------------
// A real run's events, as the wizard receives them

/// Feed `events` to the wizard as its real backend does: each event, and before it the
/// line the engine logs for it (`Event::log_line`), which the log tap brings to the log
/// pane at the default verbosity (info and up).
pub fn feed(app: &mut App, events: &[Event]) {
    for event in events {
        let (level, message) = event.log_line();
        if level <= tracing::Level::INFO {
            update(
                app,
                Msg::Log(kalypso_bootstrap::logging::LogRecord {
                    level,
                    timestamp: event.ts.as_offset_date_time(),
                    message,
                }),
            );
        }
        update(app, Msg::Engine(event.clone()));
    }
}
