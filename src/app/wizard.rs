//! The full-screen wizard on the real engine: [`EngineBackend`] is the [`WizardBackend`]
//! that runs the prerequisite check, plans, and drives a [`Bootstrap`] (real tools, or the
//! simulated environment in `--demo`); [`run_wizard`] sets up logging into the wizard's log
//! tail and runs the wizard until the user leaves.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot};

use super::run::{self, RunTarget};
use super::OutputOptions;
use crate::cli::Cli;
use crate::config::lifecycle::{Active, Confirmed, Parsed};
use crate::config::{self, Configuration};
use crate::demo::Demo;
use crate::engine::bootstrap::{BootstrapOptions, BootstrapPaths};
use crate::engine::context::EventSink;
use crate::engine::events::{Event, PlannedStepInfo};
use crate::engine::overview::EarlierRun;
use crate::engine::plan::Plan;
use crate::engine::removal::{Ask, RemovalOutcome, RemovalPlan};
use crate::engine::session::{Access, AfterFailure, Session};
use crate::engine::{PlanOverview, Resume};
use crate::headless::ClosingSummary;
use crate::logging;
use crate::prereq::{self, PrereqEnv, TerminalHandover};
use crate::tools::runner::{BoxFuture, CommandOutput, CommandSpec, RunError};
use crate::tools::{CancellationToken, CommandRunner};
use crate::tui::{
    self, AppInputs, PrereqOutcome, PrereqRequest, PrereqUpdate, RollbackNotice, RunHandle,
    RunSteering, RunUpdate, ScreenHandover, WizardBackend, WizardOptions,
};
use crate::ExitCode;
use crate::UserError;

/// Log records waiting for the wizard; beyond this the tap drops them (the file keeps all).
const LOG_TAP_CAPACITY: usize = 1024;
/// Engine events waiting for the wizard; the engine's own queue is unbounded, so a full
/// buffer only delays the forwarding, never the engine.
const EVENT_BUFFER: usize = 256;
/// Prerequisite rows waiting for the wizard.
const PREREQ_BUFFER: usize = 32;

/// Run the wizard for `parsed` (possibly incomplete: the forms collect what is missing).
pub(super) fn run_wizard(
    cli: &Cli,
    env: &HashMap<String, String>,
    home: &Path,
    parsed: Parsed,
    options: OutputOptions,
) -> Result<ExitCode, UserError> {
    let mut target = RunTarget::new(cli, env, home)?;
    let mut after_first_draw = None;
    if let Some(demo) = &target.demo {
        // The host given before the wizard (flag, variable, file or GH_HOST).
        let given = parsed.merged().values.repositories.github_host.as_deref();
        if let Some(host) = given.and_then(|h| crate::config::GitHubHost::parse(h).ok()) {
            demo.serve_github_on(&host);
        }
        let wizard = demo.wizard(Arc::clone(&target.runner));
        target.runner = wizard.runner;
        after_first_draw = wizard.after_first_draw;
    }
    // Read while the process has one thread (the logging worker is the second).
    let utc_offset = logging::local_offset_or_utc();
    let (tap, logs) = mpsc::channel(LOG_TAP_CAPACITY);
    let _logging =
        super::start_logging_to(target.paths.log_file.clone(), options, false, Some(tap))?;
    tracing::info!(demo = target.demo.is_some(), "wizard started");

    let mut inputs = AppInputs::new(parsed, target.paths.state_file.clone());
    let (kubeconfig_paths, kube_contexts) = kube_contexts(env, target.demo.as_ref())?;
    inputs.kube_contexts = kube_contexts;
    inputs.kube_context_servers = config::kubeconfig::read_context_servers(&kubeconfig_paths);
    inputs.kubeconfig_paths = kubeconfig_paths;
    inputs.github_token_in_env = github_token_in_env(env);
    inputs.log_file = target.paths.log_file.clone();
    inputs.no_color = options.no_color;
    inputs.demo = target.demo.is_some();
    inputs.after_first_draw = after_first_draw;
    inputs.utc_offset = utc_offset;
    inputs.clean_command = run::clean_command_for(&target);
    inputs.nothing_to_clean = run::nothing_to_clean_for(&target);
    inputs.resume = target.options.resume.clone();
    inputs.earlier_run = crate::state::StateStore::at_custom(&target.paths.state_file)
        .load()
        .ok()
        .flatten()
        .as_ref()
        .and_then(EarlierRun::from_state);

    let demo_note = target.demo.as_ref().map(|demo| demo.closing_note());
    let state_file = target.paths.state_file.clone();
    let clean_advice = run::clean_advice_for(&target);
    let resume = target.options.resume.clone();
    let log_file = target.paths.log_file.clone();
    let prereq_env = super::run::prereq_env(env);
    // What the line output would end with, printed once the wizard has left the screen.
    let closing = Arc::new(Mutex::new(ClosingSummary::new(&run::printer_settings(
        cli, options, env, &target,
    ))));
    let backend =
        Arc::new(EngineBackend::new(target, prereq_env).with_closing(Arc::clone(&closing)));
    let wizard_options = WizardOptions {
        mouse: cli.mouse,
        logs: Some(logs),
    };
    let runtime = super::runtime()?;
    let code = runtime.block_on(tui::run(backend, inputs, wizard_options));
    tracing::info!(exit_code = code.code(), "wizard finished");

    // The wizard's screen is gone: leave what the run did where the user can still see
    // it (the scrollback keeps it): the run's end as the line output gives it (the outcome;
    // on a failure the step, the error, the hint and the next commands; the files).
    let summary = lock(&closing).text();
    if let Some(summary) = &summary {
        println!("\n{summary}");
    }
    if let Some(note) = demo_note {
        eprintln!("{note}");
    }
    if summary.is_none() {
        // No run: only where the log is, and what an earlier run left.
        if let Some(log_file) = log_file {
            eprintln!("Log file: {}", log_file.display());
        }
        if code != ExitCode::Success {
            if let Some(advice) =
                kept_resources_advice(&state_file, clean_advice.as_deref(), &resume)
            {
                eprintln!("{advice}");
            }
        }
    }
    Ok(code)
}

/// After a wizard that did not succeed: when the state file records resources of ours
/// (kept after a failure), the exact command that removes them, for the terminal the
/// wizard leaves behind.
fn kept_resources_advice(
    state_file: &Path,
    clean_advice: Option<&str>,
    resume: &Resume,
) -> Option<String> {
    let state = crate::state::StateStore::at_custom(state_file)
        .load()
        .ok()
        .flatten()?;
    if state.rollback_candidates().is_empty() {
        return None;
    }
    let resume = match resume {
        Resume::Command(command) => {
            format!("Run {command} again with the same configuration to resume")
        }
        _ => "Run again with the same configuration to resume".to_string(),
    };
    Some(format!(
        "Resources created by kalypso-bootstrap are kept. {resume}, or remove them with:\n  {}",
        clean_advice?
    ))
}

/// The kubeconfig files and their contexts for the form's pick list: the demo's simulated
/// kubeconfig (with its own existing cluster), else the real one.
fn kube_contexts(
    env: &HashMap<String, String>,
    demo: Option<&Demo>,
) -> Result<(Vec<PathBuf>, Vec<String>), UserError> {
    if let Some(demo) = demo {
        return demo.kube_contexts();
    }
    let paths = config::kubeconfig::kubeconfig_paths(
        env.get(config::kubeconfig::KUBECONFIG_VAR)
            .map(String::as_str),
        env.get("HOME").map(Path::new),
    );
    let contexts = config::kubeconfig::read_contexts(&paths).unwrap_or_default();
    Ok((paths, contexts))
}

/// `GITHUB_TOKEN` or `GH_TOKEN` holds a token: the form does not ask for one.
fn github_token_in_env(env: &HashMap<String, String>) -> bool {
    [prereq::env::GITHUB_TOKEN, prereq::env::GH_TOKEN]
        .iter()
        .any(|name| env.get(*name).is_some_and(|value| !value.trim().is_empty()))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The wizard's backend over the engine.
pub(crate) struct EngineBackend {
    runner: Arc<dyn CommandRunner>,
    paths: BootstrapPaths,
    options: BootstrapOptions,
    /// The environment's tokens and Azure ids, captured once.
    prereq_env: PrereqEnv,
    /// The token the last prerequisite check verified: the one the engine uses.
    verified_token: Arc<Mutex<Option<SecretString>>>,
    /// The signed-in Azure subscription the last prerequisite check found (identity only).
    account_subscription: Arc<Mutex<Option<String>>>,
    /// The last plan the plan screen showed, with its configuration: the one a "proceed"
    /// on that screen confirms.
    shown_plan: Mutex<Option<(Configuration, Vec<PlannedStepInfo>)>>,
    /// Every event of a run also goes here, for the summary left on the screen.
    closing: Option<Arc<Mutex<ClosingSummary>>>,
}

impl EngineBackend {
    pub(crate) fn new(target: RunTarget, prereq_env: PrereqEnv) -> Self {
        Self {
            runner: target.runner,
            paths: target.paths,
            options: target.options,
            prereq_env,
            verified_token: Arc::new(Mutex::new(None)),
            account_subscription: Arc::new(Mutex::new(None)),
            shown_plan: Mutex::new(None),
            closing: None,
        }
    }

    /// Every run's events also go to `closing`.
    pub(crate) fn with_closing(mut self, closing: Arc<Mutex<ClosingSummary>>) -> Self {
        self.closing = Some(closing);
        self
    }

    /// The session for `configuration`, holding the state file's lock while it lives (a
    /// state file moved aside goes to the log, which the wizard's log tail shows).
    fn open(&self, configuration: Configuration) -> Result<Session, UserError> {
        let token = lock(&self.verified_token).clone();
        let mut options = self.options.clone();
        options.account_subscription = lock(&self.account_subscription).clone();
        Session::open(
            configuration,
            Arc::clone(&self.runner),
            token,
            self.paths.clone(),
            options,
            Access::Run,
            &|notice| tracing::warn!("{notice}"),
        )
    }
}

/// What exists now and what the run would do about it; a conflict (a resource that exists
/// but is not ours to change) is an error. The observation's warnings are in the log.
async fn current_plan(session: &Session) -> Result<Plan, UserError> {
    let (warnings, _unread) = EventSink::channel();
    session.plan(&CancellationToken::new(), &warnings).await
}

/// The plan the user confirmed against the one observed now (each step and its action): an
/// error naming what changed, `None` when they are the same.
fn plan_changed(shown: &[PlannedStepInfo], now: &[PlannedStepInfo]) -> Option<UserError> {
    let steps = |plan: &[PlannedStepInfo]| -> Vec<_> {
        plan.iter().map(|info| (info.step, info.action)).collect()
    };
    if steps(shown) == steps(now) {
        return None;
    }
    let changes: Vec<String> = now
        .iter()
        .filter_map(|info| {
            let before = shown.iter().find(|s| s.step == info.step).map(|s| s.action);
            match before {
                Some(before) if before == info.action => None,
                Some(before) => Some(format!("{}: {before} → {}", info.title, info.action)),
                None => Some(format!("{}: new, {}", info.title, info.action)),
            }
        })
        .chain(
            shown
                .iter()
                .filter(|s| !now.iter().any(|info| info.step == s.step))
                .map(|s| format!("{}: no longer planned", s.title)),
        )
        .collect();
    let changes = if changes.is_empty() {
        "the steps' order".to_string()
    } else {
        changes.join("; ")
    };
    Some(UserError::new(
        ExitCode::Cancelled,
        format!(
            "what exists changed since you confirmed the plan ({changes}), so nothing was run. \
             Press Esc and continue to the plan screen to review the new plan"
        ),
    ))
}

impl WizardBackend for EngineBackend {
    fn probe_kube_contexts(
        &self,
        contexts: Vec<String>,
    ) -> BoxFuture<'_, Vec<prereq::ContextProbe>> {
        Box::pin(prereq::probe_contexts(Arc::clone(&self.runner), contexts))
    }

    fn start_prerequisites(&self, request: PrereqRequest) -> mpsc::Receiver<PrereqUpdate> {
        let (updates, receiver) = mpsc::channel(PREREQ_BUFFER);
        let runner = Arc::clone(&self.runner);
        let mut env = self
            .prereq_env
            .clone()
            .with_azure(request.azure)
            .with_flux_manifest_from_github_com(request.flux_manifest_from_github_com);
        env.entered_token = request.github_token;
        if let Some(host) = request.github_host {
            env.github_host = host;
        }
        let verified_token = Arc::clone(&self.verified_token);
        let account_subscription = Arc::clone(&self.account_subscription);
        if request.skip {
            *lock(&verified_token) = env
                .entered_token
                .clone()
                .or_else(|| env.variable_token().map(|(token, _)| token));
            tracing::warn!("{}", prereq::SKIPPED_SUMMARY);
            tokio::spawn(async move {
                let _ = updates
                    .send(PrereqUpdate::Finished(PrereqOutcome {
                        exit_code: ExitCode::Success,
                        summary: prereq::SKIPPED_SUMMARY.to_string(),
                        azure: None,
                        github: None,
                    }))
                    .await;
            });
            return receiver;
        }
        tokio::spawn(async move {
            // Each row goes out as its probe returns; the final report repeats them (the
            // checklist updates rows by name).
            let live = updates.clone();
            let on_row = move |row: prereq::LiveRow<'_>| {
                let _ = live.try_send(match row {
                    prereq::LiveRow::Tool(tool) => PrereqUpdate::Tool(tool.clone()),
                    prereq::LiveRow::Auth(auth) => PrereqUpdate::Auth(auth.clone()),
                });
            };
            let report = prereq::check_reporting(runner, &env, &request.interaction, &on_row).await;
            *lock(&verified_token) = report.github_token().cloned();
            *lock(&account_subscription) = report
                .azure
                .as_ref()
                .map(|account| account.subscription_id.clone());
            tracing::info!("{}", report.summary());
            for update in PrereqUpdate::from_report(&report) {
                if updates.send(update).await.is_err() {
                    return;
                }
            }
        });
        receiver
    }

    fn plan(&self, configuration: Configuration) -> BoxFuture<'_, Result<PlanOverview, UserError>> {
        Box::pin(async move {
            // Opened only for the look: dropping it releases the state file's lock.
            let session = self.open(configuration.clone())?;
            let plan = current_plan(&session).await?;
            let overview = session.bootstrap().overview(&plan);
            *lock(&self.shown_plan) = Some((configuration, plan.infos()));
            Ok(overview)
        })
    }

    fn start_run(&self, configuration: Confirmed) -> BoxFuture<'_, Result<RunHandle, UserError>> {
        Box::pin(async move {
            let active = configuration.activate();
            let session = Arc::new(self.open(active.configuration().clone())?);
            // Observed afresh: time has passed since the plan screen. A plan that differs
            // from the one shown was never confirmed: nothing runs.
            let plan = current_plan(&session).await?;
            let shown = lock(&self.shown_plan).take();
            let confirmed_on_screen = shown
                .as_ref()
                .is_some_and(|(shown_for, _)| shown_for == active.configuration());
            if let Some((shown_for, shown)) = shown {
                if &shown_for == active.configuration() {
                    if let Some(error) = plan_changed(&shown, &plan.infos()) {
                        return Err(error);
                    }
                }
            }
            // No plan screen (`--non-interactive`): a change to a repository the user gave
            // needs `--yes`, as in the line output.
            if !confirmed_on_screen && !active.configuration().options.skip_confirmation {
                session.refuse_unconsented_changes(&plan)?;
            }
            let (answer, answered) = oneshot::channel();
            let control = Arc::new(EngineControl {
                cancel: Mutex::new(CancellationToken::new()),
                answer: Mutex::new(Some(answer)),
            });
            let (sink, engine_events) = EventSink::channel();
            let (notices, session_notices) = mpsc::unbounded_channel();
            let events = bounded(engine_events, session_notices, self.closing.clone());
            tokio::spawn(drive(
                session,
                active,
                plan,
                sink,
                Arc::clone(&control),
                WizardAnswer {
                    answer: Some(answered),
                    notices: notices.clone(),
                },
                notices,
            ));
            Ok(RunHandle { events, control })
        })
    }

    fn terminal_handover(&self, screen: ScreenHandover) -> Arc<dyn TerminalHandover> {
        Arc::new(WizardTerminal {
            screen,
            runner: Arc::clone(&self.runner),
        })
    }
}

/// `az login` from the wizard: the command runs on the inherited terminal while the wizard
/// has left its screen.
struct WizardTerminal {
    screen: ScreenHandover,
    runner: Arc<dyn CommandRunner>,
}

impl TerminalHandover for WizardTerminal {
    fn run_in_terminal(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(async move {
            let command = spec.display();
            let runner = Arc::clone(&self.runner);
            self.screen
                .run(async move {
                    // Logged like every other command (one DEBUG line with its exit code).
                    crate::tools::runner::run_logged(
                        runner.as_ref(),
                        spec.with_terminal(),
                        crate::tools::RunControl::default(),
                    )
                    .await
                })
                .await
                // The wizard is gone: nothing was run.
                .unwrap_or(Err(RunError::Cancelled { command }))
        })
    }
}

/// The engine's unbounded queue and the session's rollback notices as the one ordered
/// channel the wizard reads. An event queued before a notice is forwarded first (a question
/// never overtakes the failure it follows). The wizard's channel closes once the engine
/// has dropped its sink, the notices' senders are gone and everything is forwarded.
fn bounded(
    mut engine_events: mpsc::UnboundedReceiver<Event>,
    mut notices: mpsc::UnboundedReceiver<RollbackNotice>,
    closing: Option<Arc<Mutex<ClosingSummary>>>,
) -> mpsc::Receiver<RunUpdate> {
    let (forward, updates) = mpsc::channel(EVENT_BUFFER);
    tokio::spawn(async move {
        let mut notices_open = true;
        loop {
            let update = tokio::select! {
                biased;
                event = engine_events.recv() => match event {
                    Some(event) => {
                        if let Some(closing) = &closing {
                            lock(closing).record(&event);
                        }
                        RunUpdate::Event(event)
                    }
                    None => break,
                },
                notice = notices.recv(), if notices_open => match notice {
                    Some(notice) => RunUpdate::Rollback(notice),
                    None => {
                        notices_open = false;
                        continue;
                    }
                },
            };
            if forward.send(update).await.is_err() {
                // The wizard is gone; the log and the state file still record the run.
                return;
            }
        }
        // The engine is done; a last notice (kept, nothing to remove) may follow.
        while let Some(notice) = notices.recv().await {
            if forward.send(RunUpdate::Rollback(notice)).await.is_err() {
                return;
            }
        }
    });
    updates
}

/// The session's run and (after a failure) its decision about a rollback: the wizard's
/// answer to the session's question, or `--auto-rollback`, or nothing asked. A decision
/// that removes nothing without asking goes to the wizard as a notice. The sink is dropped
/// at the end, which closes the wizard's channel.
async fn drive(
    session: Arc<Session>,
    active: Active,
    plan: Plan,
    sink: EventSink,
    control: Arc<EngineControl>,
    ask: WizardAnswer,
    notices: mpsc::UnboundedSender<RollbackNotice>,
) {
    let cancel = control.current_cancel();
    // A cancelled run must not cancel its rollback; the wizard can still stop this one.
    let after_failure = AfterFailure::new(Some(Box::new(ask) as Box<dyn Ask>), move || {
        control.fresh_cancel()
    });
    let outcome = session
        .run_to_end(&active, &plan, sink, &cancel, after_failure)
        .await;
    let notice = match outcome.removal {
        Some(RemovalOutcome::NothingToRemove) => Some(RollbackNotice::NothingToRemove),
        Some(RemovalOutcome::NoConsent(_)) => Some(RollbackNotice::Kept),
        // Removed: its events told; declined: the wizard has the user's own "no".
        Some(RemovalOutcome::Removed(_) | RemovalOutcome::Declined(_)) | None => None,
    };
    if let Some(notice) = notice {
        let _ = notices.send(notice);
    }
}

/// The wizard's side of the session's rollback question: the plan the pipeline hands it
/// goes to the wizard's screen as is, and the wizard's answer comes back (a wizard that
/// leaves without answering keeps everything).
struct WizardAnswer {
    answer: Option<oneshot::Receiver<bool>>,
    notices: mpsc::UnboundedSender<RollbackNotice>,
}

impl Ask for WizardAnswer {
    fn ask<'a>(&'a mut self, plan: &'a RemovalPlan) -> BoxFuture<'a, bool> {
        let answer = self.answer.take();
        let asked = self
            .notices
            .send(RollbackNotice::Asking(plan.descriptions()))
            .is_ok();
        Box::pin(async move {
            match answer {
                Some(answer) if asked => answer.await.unwrap_or(false),
                _ => false,
            }
        })
    }
}

/// The wizard's handle on a started run.
struct EngineControl {
    /// Stops what runs now: the run, later the rollback.
    cancel: Mutex<CancellationToken>,
    /// The answer to the rollback question, taken by the first answer.
    answer: Mutex<Option<oneshot::Sender<bool>>>,
}

impl EngineControl {
    fn current_cancel(&self) -> CancellationToken {
        lock(&self.cancel).clone()
    }

    fn fresh_cancel(&self) -> CancellationToken {
        let fresh = CancellationToken::new();
        *lock(&self.cancel) = fresh.clone();
        fresh
    }
}

impl RunSteering for EngineControl {
    fn cancel(&self) {
        lock(&self.cancel).cancel();
    }

    fn answer_rollback(&self, roll_back: bool) {
        if let Some(answer) = lock(&self.answer).take() {
            let _ = answer.send(roll_back);
        }
    }
}

#[cfg(all(test, feature = "demo"))]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::lifecycle::{Uninitialized, Validated};
    use crate::config::{ClusterTarget, ConfigLayer};
    use crate::demo::{demo_paths, fail_step};
    use crate::engine::events::EventKind;
    use crate::engine::step::StepId;
    use crate::engine::steps::StepTimings;
    use crate::prereq::{AuthCheckKind, Interaction, Verdict};
    use crate::sim::{Latency, SimulatedEnvironment};
    use crate::tui::PrereqOutcome;

    /// Generous: a zero-latency run still runs real git.
    const WAIT: Duration = Duration::from_secs(60);

    struct Fixture {
        _dir: tempfile::TempDir,
        sim: SimulatedEnvironment,
        backend: EngineBackend,
    }

    /// The demo target without its latencies, optionally failing `fail`.
    fn fixture(fail: Option<StepId>) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let sim = SimulatedEnvironment::demo(dir.path()).expect("simulated environment");
        sim.set_latency(Latency::zero());
        let mut options = crate::demo::bootstrap_options();
        options.timings = StepTimings::fast();
        options.step_wrapper = fail.map(|step| fail_step(sim.clone(), step));
        let target = RunTarget {
            runner: Arc::new(sim.clone()),
            paths: demo_paths(&sim, None, None),
            options,
            demo: Some(Demo::over(sim.clone())),
        };
        let backend = EngineBackend::new(target, PrereqEnv::default());
        Fixture {
            _dir: dir,
            sim,
            backend,
        }
    }

    fn validated(auto_rollback: bool) -> Validated {
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("unit-demo".to_string());
        flags.options.auto_rollback = Some(auto_rollback);
        Uninitialized::new()
            .parse(flags, None, &HashMap::new())
            .expect("flags parse")
            .validate(&[])
            .expect("valid configuration")
    }

    /// The wizard is gone when the check wants `az login`: nothing is run, and the check
    /// is told the login was cancelled.
    #[tokio::test]
    async fn az_login_without_a_wizard_to_lend_the_screen_is_cancelled_and_not_run() {
        let fixture = fixture(None);
        let (requests, wizard) = mpsc::unbounded_channel();
        drop(wizard);
        let terminal = fixture
            .backend
            .terminal_handover(ScreenHandover::new(requests));
        let result = terminal
            .run_in_terminal(CommandSpec::new("az").arg("login"))
            .await;
        assert!(
            matches!(&result, Err(RunError::Cancelled { command }) if command == "az login"),
            "{result:?}"
        );
        assert!(
            fixture.sim.calls().iter().all(|call| call.program != "az"),
            "{:?}",
            fixture.sim.calls()
        );
    }

    /// `az login` run on the wizard's lent screen is logged like every other command: one
    /// DEBUG line with its argv and exit code.
    #[tokio::test(flavor = "current_thread")]
    async fn az_login_on_the_lent_screen_is_one_command_log_line() {
        if !crate::logging::alone_in_a_child(
            "app::wizard::tests::az_login_on_the_lent_screen_is_one_command_log_line",
        ) {
            return;
        }
        let captured = crate::logging::CapturedLog::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let fixture = fixture(None);
        let (requests, mut wizard) = mpsc::unbounded_channel();
        // The wizard's side: lend the screen for the job, as its loop does.
        let lender = tokio::spawn(async move {
            if let Some(crate::tui::BridgeRequest::Handover { job }) = wizard.recv().await {
                job.await;
            }
        });
        let terminal = fixture
            .backend
            .terminal_handover(ScreenHandover::new(requests));
        let result = terminal
            .run_in_terminal(CommandSpec::new("az").arg("login"))
            .await;
        lender.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
        let text = captured.text();
        let logged: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("kalypso_bootstrap::command:"))
            .collect();
        assert_eq!(logged.len(), 1, "{text}");
        assert!(
            logged[0].contains(r#"ran ["az","login"] exit_code="#),
            "{text}"
        );
    }

    async fn prerequisites(backend: &EngineBackend, token: Option<&str>) -> Vec<PrereqUpdate> {
        let mut updates = backend.start_prerequisites(PrereqRequest {
            interaction: Interaction::NonInteractive,
            github_token: token.map(|t| SecretString::from(t.to_string())),
            skip: false,
            azure: prereq::AzureUse::Needed,
            github_host: None,
            flux_manifest_from_github_com: false,
        });
        let mut all = Vec::new();
        while let Some(update) = tokio::time::timeout(WAIT, updates.recv())
            .await
            .expect("the check finishes")
        {
            all.push(update);
        }
        all
    }

    fn outcome(updates: &[PrereqUpdate]) -> &PrereqOutcome {
        match updates.last() {
            Some(PrereqUpdate::Finished(outcome)) => outcome,
            other => panic!("the last update is the outcome, got {other:?}"),
        }
    }

    async fn next_update(events: &mut mpsc::Receiver<RunUpdate>) -> Option<RunUpdate> {
        tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("the engine reports within the wait")
    }

    /// The next engine event (a rollback notice here fails the test).
    async fn next(events: &mut mpsc::Receiver<RunUpdate>) -> Option<EventKind> {
        match next_update(events).await {
            Some(RunUpdate::Event(event)) => Some(event.kind),
            Some(RunUpdate::Rollback(notice)) => panic!("expected an event, got {notice:?}"),
            None => None,
        }
    }

    /// The next update, which must be the session's rollback notice.
    async fn notice(events: &mut mpsc::Receiver<RunUpdate>) -> RollbackNotice {
        match next_update(events).await {
            Some(RunUpdate::Rollback(notice)) => notice,
            other => panic!("expected a rollback notice, got {other:?}"),
        }
    }

    /// The session's question: the resources it asks about.
    async fn asked(events: &mut mpsc::Receiver<RunUpdate>) -> Vec<String> {
        match notice(events).await {
            RollbackNotice::Asking(resources) => resources,
            other => panic!("expected the question, got {other:?}"),
        }
    }

    /// What the state still records as created by us (sorted: the removal plan has its
    /// own order).
    fn recorded_as_ours(fixture: &Fixture) -> Vec<String> {
        let mut ours: Vec<String> =
            crate::state::StateStore::at_custom(&fixture.backend.paths.state_file)
                .load()
                .expect("the state loads")
                .expect("a state")
                .rollback_candidates()
                .iter()
                .map(|record| record.resource.describe())
                .collect();
        ours.sort();
        ours
    }

    fn sorted(mut resources: Vec<String>) -> Vec<String> {
        resources.sort();
        resources
    }

    /// Events up to and including the first one `stop` accepts.
    async fn until(
        events: &mut mpsc::Receiver<RunUpdate>,
        stop: impl Fn(&EventKind) -> bool,
    ) -> Vec<EventKind> {
        let mut seen = Vec::new();
        loop {
            match next(events).await {
                Some(kind) => {
                    let done = stop(&kind);
                    seen.push(kind);
                    if done {
                        return seen;
                    }
                }
                None => panic!("the channel closed before the expected event; saw {seen:?}"),
            }
        }
    }

    fn is_run_failed(kind: &EventKind) -> bool {
        matches!(kind, EventKind::RunFailed { .. })
    }

    /// Prerequisites checked, then the run started (with `latency` from then on).
    async fn started_run(
        fixture: &Fixture,
        auto_rollback: bool,
        latency: Option<Latency>,
    ) -> RunHandle {
        let updates = prerequisites(&fixture.backend, None).await;
        assert_eq!(
            outcome(&updates).exit_code,
            ExitCode::Success,
            "{updates:?}"
        );
        if let Some(latency) = latency {
            fixture.sim.set_latency(latency);
        }
        match fixture
            .backend
            .start_run(validated(auto_rollback).confirm())
            .await
        {
            Ok(handle) => handle,
            Err(error) => panic!("the run starts: {error}"),
        }
    }

    #[test]
    fn the_demo_offers_its_own_existing_cluster_and_a_real_run_reads_the_real_kubeconfig() {
        let fixture = fixture(None);
        let sim = &fixture.sim;
        let demo = Demo::over(sim.clone());
        let (paths, contexts) =
            kube_contexts(&HashMap::new(), Some(&demo)).unwrap_or_else(|_| panic!("the contexts"));
        assert_eq!(paths, vec![sim.default_kubeconfig()]);
        assert_eq!(
            contexts,
            vec![crate::demo::DEMO_EXISTING_CONTEXT.to_string()]
        );

        let home = tempfile::tempdir().expect("home");
        let env = HashMap::from([("HOME".to_string(), home.path().display().to_string())]);
        let (paths, contexts) =
            kube_contexts(&env, None).unwrap_or_else(|_| panic!("the contexts"));
        assert_eq!(paths, vec![home.path().join(".kube").join("config")]);
        assert!(contexts.is_empty(), "{contexts:?}");
    }

    #[tokio::test]
    async fn a_token_typed_into_the_form_is_checked_reported_as_typed_and_used_by_the_engine() {
        let fixture = fixture(None);
        let typed = "gho_TypedIntoTheWizardForm0123456789abcd";
        let updates = prerequisites(&fixture.backend, Some(typed)).await;
        assert_eq!(
            outcome(&updates).exit_code,
            ExitCode::Success,
            "{updates:?}"
        );
        let token_row = updates
            .iter()
            .find_map(|update| match update {
                PrereqUpdate::Auth(row) if row.check == AuthCheckKind::GithubToken => Some(row),
                _ => None,
            })
            .expect("a GitHub token row");
        assert_eq!(token_row.verdict, Verdict::Pass);
        assert_eq!(token_row.detail, "from the prompt");
        let kept = lock(&fixture.backend.verified_token).clone();
        assert_eq!(kept.as_ref().map(|t| t.expose_secret()), Some(typed));
        assert!(
            !format!("{updates:?}").contains(typed),
            "the token never appears in the updates"
        );
    }

    #[tokio::test]
    async fn skip_validation_probes_nothing_and_hands_the_environment_token_to_the_engine() {
        let fixture = fixture(None);
        let env_token = "ghp_FromTheEnvironmentUnchecked0123456789";
        let backend = EngineBackend {
            prereq_env: PrereqEnv {
                github_token: Some(SecretString::from(env_token.to_string())),
                ..PrereqEnv::default()
            },
            ..fixture.backend
        };
        let mut receiver = backend.start_prerequisites(PrereqRequest {
            interaction: Interaction::NonInteractive,
            github_token: None,
            skip: true,
            azure: prereq::AzureUse::Needed,
            github_host: None,
            flux_manifest_from_github_com: false,
        });
        let mut updates = Vec::new();
        while let Some(update) = tokio::time::timeout(WAIT, receiver.recv())
            .await
            .expect("the skipped check finishes")
        {
            updates.push(update);
        }
        assert_eq!(updates.len(), 1, "{updates:?}");
        let outcome = outcome(&updates);
        assert_eq!(outcome.exit_code, ExitCode::Success);
        assert!(outcome.summary.contains("SKIPPED"), "{}", outcome.summary);
        assert!(fixture.sim.calls().is_empty(), "{:?}", fixture.sim.calls());
        let kept = lock(&backend.verified_token).clone();
        assert_eq!(kept.as_ref().map(|t| t.expose_secret()), Some(env_token));
    }

    #[tokio::test]
    async fn the_plan_creates_everything_in_a_fresh_world_and_changes_nothing() {
        let fixture = fixture(None);
        prerequisites(&fixture.backend, None).await;
        let configuration = validated(false).configuration().clone();
        let steps = fixture
            .backend
            .plan(configuration.clone())
            .await
            .expect("a plan");
        assert_eq!(steps.counts.create, StepId::WITHOUT_WORKLOAD_CLUSTERS.len());
        assert_eq!(
            (steps.counts.change, steps.counts.reuse),
            (0, 0),
            "{steps:?}"
        );
        // Read-only, and the state file's lock is released: planning again works.
        let again = fixture.backend.plan(configuration).await.expect("a plan");
        assert_eq!(again, steps);
    }

    /// The plan screen showed "create the resource group"; by the time the user said yes,
    /// the group exists (the run would reuse it): the wizard does not run a plan the user
    /// never saw. Nothing starts, nothing is created, and the error names the change.
    #[tokio::test]
    async fn a_plan_that_changed_after_it_was_shown_does_not_run() {
        let fixture = fixture(None);
        prerequisites(&fixture.backend, None).await;
        let validated = validated(false);
        let shown = fixture
            .backend
            .plan(validated.configuration().clone())
            .await
            .expect("a plan");
        assert_eq!(
            shown.counts.create,
            StepId::WITHOUT_WORKLOAD_CLUSTERS.len(),
            "{shown:?}"
        );
        let ClusterTarget::Create(cluster) = &validated.configuration().cluster else {
            panic!("the test configuration creates a cluster");
        };
        fixture
            .sim
            .seed_resource_group(&cluster.resource_group, &cluster.region);
        fixture.sim.clear_calls();

        let error = match fixture.backend.start_run(validated.confirm()).await {
            Ok(_) => panic!("a changed plan must not run"),
            Err(error) => error,
        };
        assert_eq!(error.exit_code, ExitCode::Cancelled);
        assert!(
            error
                .message
                .contains("changed since you confirmed the plan")
                && error.message.contains("create → reuse")
                && error.message.contains("nothing was run"),
            "{}",
            error.message
        );
        let changing: Vec<String> = fixture
            .sim
            .calls()
            .iter()
            .map(|call| call.command_line())
            .filter(|line| line.contains(" create") || line.contains("git push"))
            .collect();
        assert!(changing.is_empty(), "nothing is created: {changing:?}");
        assert!(
            !fixture.backend.paths.state_file.exists()
                || crate::state::StateStore::at_custom(&fixture.backend.paths.state_file)
                    .load()
                    .expect("the state loads")
                    .is_none_or(|state| state.resources.is_empty()),
            "nothing recorded as created"
        );
    }

    #[tokio::test]
    async fn a_successful_run_ends_with_its_summary_and_closes_the_channel() {
        let fixture = fixture(None);
        let mut handle = started_run(&fixture, false, None).await;
        let seen = until(&mut handle.events, |kind| {
            matches!(
                kind,
                EventKind::RunFinished { .. } | EventKind::RunFailed { .. }
            )
        })
        .await;
        let report = match seen.last() {
            Some(EventKind::RunFinished { summary, .. }) => {
                assert_eq!(
                    summary.control_plane_url.as_deref(),
                    Some("https://github.com/kalypso-demo/unit-demo-control-plane")
                );
                summary
                    .report_file
                    .clone()
                    .expect("the summary names the report")
            }
            other => panic!("expected RunFinished, got {other:?}"),
        };
        assert_eq!(next(&mut handle.events).await, None, "closed after the run");
        // Written beside the state file by the time the channel closes.
        let report = std::path::PathBuf::from(report);
        assert_eq!(
            report.parent(),
            fixture.backend.paths.state_file.parent(),
            "beside the state file"
        );
        let text = std::fs::read_to_string(&report).expect("the report exists");
        assert!(text.contains("**completed**"), "{text}");
    }

    #[tokio::test]
    async fn after_a_failure_the_engine_waits_for_the_answer_then_rolls_back_what_it_listed() {
        let fixture = fixture(Some(StepId::InstallKalypso));
        let mut handle = started_run(&fixture, false, None).await;
        let seen = until(&mut handle.events, is_run_failed).await;
        let report = match seen.last() {
            Some(EventKind::RunFailed {
                exit_code,
                report_file,
                ..
            }) => {
                assert_eq!(*exit_code, ExitCode::InstallationFailed.code());
                std::path::PathBuf::from(report_file.clone().expect("the failure names the report"))
            }
            other => panic!("expected RunFailed, got {other:?}"),
        };
        let text = std::fs::read_to_string(&report).expect("written when the run failed");
        assert!(
            text.contains("**failed**") && !text.contains("## Rollback"),
            "{text}"
        );
        // The session's question lists its removal plan: what the state records as ours.
        let listed = asked(&mut handle.events).await;
        assert!(
            listed.iter().any(|r| r.contains("unit-demo-control-plane")),
            "{listed:?}"
        );
        assert_eq!(sorted(listed.clone()), recorded_as_ours(&fixture));
        // Nothing happens before the answer.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), handle.events.recv())
                .await
                .is_err(),
            "the engine waits for the answer"
        );
        handle.control.answer_rollback(true);
        let rollback = until(&mut handle.events, |kind| {
            matches!(kind, EventKind::RollbackFinished { .. })
        })
        .await;
        // The pipeline acts on exactly the plan the wizard showed, in its order.
        match rollback.first() {
            Some(EventKind::RollbackStarted { resources }) => assert_eq!(resources, &listed),
            other => panic!("expected RollbackStarted first, got {other:?}"),
        }
        let removed: Vec<&String> = rollback
            .iter()
            .filter_map(|kind| match kind {
                EventKind::RollbackAction {
                    resource, outcome, ..
                } if outcome.is_success() => Some(resource),
                _ => None,
            })
            .collect();
        assert_eq!(removed, listed.iter().collect::<Vec<_>>(), "{rollback:?}");
        assert_eq!(
            next(&mut handle.events).await,
            None,
            "closed after the rollback"
        );
        let left = recorded_as_ours(&fixture);
        assert!(left.is_empty(), "nothing of ours is left: {left:?}");
        let text = std::fs::read_to_string(&report).expect("the report is still there");
        assert!(
            text.contains("## Rollback") && text.contains("Rollback succeeded"),
            "the rollback rewrote the report: {text}"
        );
    }

    /// The wizard's side of the question shows the plan the pipeline hands it, unchanged,
    /// and answers with the wizard's answer.
    #[tokio::test]
    async fn the_wizard_is_asked_about_exactly_the_plan_the_pipeline_hands_it() {
        use crate::engine::removal::RemovalPurpose;
        use crate::engine::rollback::PlannedRemoval;
        use crate::state::Resource;
        let plan = RemovalPlan::new(
            RemovalPurpose::Rollback,
            ["second-rg", "first-rg"]
                .into_iter()
                .map(|name| {
                    let resource = Resource::ResourceGroup {
                        name: name.to_string(),
                        subscription_id: None,
                    };
                    PlannedRemoval {
                        description: resource.describe(),
                        resource,
                        manual_command: format!("az group delete --name {name}"),
                        commands: vec![format!("az group delete --name {name}")],
                        asynchronous: true,
                    }
                })
                .collect(),
        );
        let (answer, answered) = oneshot::channel();
        let (notices, mut shown) = mpsc::unbounded_channel();
        let mut ask = WizardAnswer {
            answer: Some(answered),
            notices,
        };
        let asking = ask.ask(&plan);
        assert_eq!(
            shown.try_recv().expect("the question reaches the wizard"),
            RollbackNotice::Asking(plan.descriptions())
        );
        answer.send(true).expect("the question waits");
        assert!(asking.await, "the wizard's yes is the answer");
    }

    #[tokio::test]
    async fn declining_the_rollback_keeps_everything_and_closes_the_channel() {
        let fixture = fixture(Some(StepId::InstallKalypso));
        let mut handle = started_run(&fixture, false, None).await;
        until(&mut handle.events, is_run_failed).await;
        let listed = asked(&mut handle.events).await;
        handle.control.answer_rollback(false);
        assert_eq!(
            next(&mut handle.events).await,
            None,
            "closed without a rollback"
        );
        assert_eq!(recorded_as_ours(&fixture), sorted(listed));
    }

    #[tokio::test]
    async fn cancelling_ends_the_run_with_exit_code_7() {
        let fixture = fixture(None);
        // Slow enough that the run is still going when the cancel arrives.
        let slow = Latency::fixed(Duration::from_millis(200));
        let mut handle = started_run(&fixture, false, Some(slow)).await;
        until(&mut handle.events, |kind| {
            matches!(kind, EventKind::StepStarted { .. })
        })
        .await;
        handle.control.cancel();
        let seen = until(&mut handle.events, |kind| {
            matches!(
                kind,
                EventKind::RunFailed { .. } | EventKind::RunFinished { .. }
            )
        })
        .await;
        match seen.last() {
            Some(EventKind::RunFailed { exit_code, .. }) => {
                assert_eq!(*exit_code, ExitCode::Cancelled.code())
            }
            other => panic!("expected RunFailed, got {other:?}"),
        }
        // The session then asks (or says nothing was created); "no" keeps everything.
        loop {
            match next_update(&mut handle.events).await {
                Some(RunUpdate::Rollback(RollbackNotice::Asking(_))) => {
                    handle.control.answer_rollback(false)
                }
                Some(RunUpdate::Rollback(RollbackNotice::NothingToRemove)) => {}
                Some(other) => panic!("nothing but the decision follows: {other:?}"),
                None => break,
            }
        }
    }

    /// A repository the rollback cannot delete lands in the state's `errors[]` exactly
    /// once, recorded by the rollback itself: no logging subscriber is installed here, so
    /// nothing can reach the state from a log line.
    #[tokio::test]
    async fn a_failed_removal_is_recorded_in_the_state_once_without_any_logging() {
        use crate::sim::{Fault, FaultKind};
        assert!(
            !tracing::dispatcher::has_been_set(),
            "no global subscriber in the unit tests"
        );
        let fixture = fixture(Some(StepId::InstallKalypso));
        fixture
            .sim
            .inject(Fault::new(FaultKind::Forbidden, "gh repo delete"));
        let mut handle = started_run(&fixture, true, None).await;
        until(&mut handle.events, |kind| {
            matches!(kind, EventKind::RollbackFinished { .. })
        })
        .await;
        assert_eq!(next(&mut handle.events).await, None, "closed at the end");
        let state = crate::state::StateStore::at_custom(&fixture.backend.paths.state_file)
            .load()
            .expect("the state loads")
            .expect("a state");
        for repo in ["control-plane", "gitops"] {
            let failed: Vec<&String> = state
                .errors
                .iter()
                .filter(|e| e.starts_with("rollback of repository") && e.contains(repo))
                .collect();
            assert_eq!(failed.len(), 1, "{repo}: {:#?}", state.errors);
            assert!(failed[0].contains(" failed: "), "{}", failed[0]);
        }
    }

    /// Under `--non-interactive` the engine waits for no answer: after the failure it keeps
    /// everything and closes the channel, and a late "yes" removes nothing.
    #[tokio::test]
    async fn non_interactive_keeps_everything_without_waiting_for_an_answer() {
        let fixture = fixture(Some(StepId::InstallKalypso));
        let updates = prerequisites(&fixture.backend, None).await;
        assert_eq!(outcome(&updates).exit_code, ExitCode::Success);
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("unit-demo".to_string());
        flags.options.non_interactive = Some(true);
        let validated = Uninitialized::new()
            .parse(flags, None, &HashMap::new())
            .expect("flags parse")
            .validate(&[])
            .expect("valid configuration");
        let mut handle = match fixture.backend.start_run(validated.confirm()).await {
            Ok(handle) => handle,
            Err(error) => panic!("the run starts: {error}"),
        };
        until(&mut handle.events, is_run_failed).await;
        let kept = recorded_as_ours(&fixture);
        assert!(!kept.is_empty());
        assert_eq!(
            tokio::time::timeout(WAIT, notice(&mut handle.events))
                .await
                .expect("the engine does not wait for an answer"),
            RollbackNotice::Kept,
            "the session asks nothing and keeps everything"
        );
        assert_eq!(
            next(&mut handle.events).await,
            None,
            "closed without a rollback"
        );
        handle.control.answer_rollback(true);
        assert_eq!(recorded_as_ours(&fixture), kept, "nothing removed");
    }

    /// The wizard under `--non-interactive` shows no plan, so nobody consented: a run that
    /// would change a repository the user gave (the reference control plane, whose
    /// GitOpsRepo names another gitops repository; brought in under its own name, so that
    /// its Environment names it) is refused before anything is created.
    #[tokio::test]
    async fn non_interactive_without_yes_refuses_changes_to_a_given_repository() {
        let fixture = fixture(None);
        let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
        fixture
            .sim
            .seed_github_org("microsoft", &[(crate::sim::DEMO_LOGIN, "admin")]);
        fixture
            .sim
            .seed_repo(
                crate::sim::SeedRepo::from_git("microsoft", "kalypso-control-plane", &bundle)
                    .unwrap(),
            )
            .unwrap();
        let updates = prerequisites(&fixture.backend, None).await;
        assert_eq!(outcome(&updates).exit_code, ExitCode::Success);
        let before = fixture.sim.snapshot();
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("unit-demo".to_string());
        flags.repositories.control_plane.url =
            Some("https://github.com/microsoft/kalypso-control-plane".to_string());
        flags.options.non_interactive = Some(true);
        let validated = Uninitialized::new()
            .parse(flags, None, &HashMap::new())
            .expect("flags parse")
            .validate(&[])
            .expect("valid configuration");
        let error = match fixture.backend.start_run(validated.confirm()).await {
            Ok(_) => panic!("the run started without consent"),
            Err(error) => error,
        };
        assert_eq!(error.exit_code, ExitCode::RepositoryFailed);
        assert!(
            error.message.contains("gitops-repo.yaml"),
            "{}",
            error.message
        );
        assert!(error.message.contains("--yes"), "{}", error.message);
        assert_eq!(fixture.sim.snapshot(), before, "nothing created");
    }

    #[tokio::test]
    async fn with_auto_rollback_nothing_is_asked_and_the_rollback_follows_the_failure() {
        let fixture = fixture(Some(StepId::ControlPlaneSeed));
        let mut handle = started_run(&fixture, true, None).await;
        until(&mut handle.events, is_run_failed).await;
        let rollback = until(&mut handle.events, |kind| {
            matches!(kind, EventKind::RollbackFinished { .. })
        })
        .await;
        assert!(
            matches!(rollback.first(), Some(EventKind::RollbackStarted { .. })),
            "{rollback:?}"
        );
        assert_eq!(next(&mut handle.events).await, None);
    }
}
