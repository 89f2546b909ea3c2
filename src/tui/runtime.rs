//! The loop that runs the wizard: one `select!` over keyboard input (crossterm's async
//! `EventStream`, asked only once it has woken: [`super::input`]), engine events, log
//! records, check results and answers from spawned backend calls, plus a tick only while
//! something animates. State changes only through `update`; the screen is redrawn only
//! when a message changed it, at most once per frame interval; resize bursts are
//! coalesced. Input comes first: in the `select!`, and again
//! just before each frame, so a key pressed while a flood of log records was handled is in
//! the very next frame. Every input event already waiting is applied before the next
//! frame (fast typing costs one redraw, and nothing stays unread in the terminal); a paste
//! arrives as one event (bracketed paste) and is one edit.

use crate::UserError;
use std::collections::VecDeque;
use std::future::{pending, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_core::Stream;

use crate::signals::Signals;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use crate::logging::LogRecord;
use crate::prereq::Interaction;
use crate::ExitCode;

use super::app::{update, AfterFirstDraw, App, AppInputs};
use super::backend::{
    PrereqRequest, PrereqUpdate, RollbackNotice, RunHandle, RunSteering, RunUpdate, WizardBackend,
};
use super::bridge::{BridgeRequest, ScreenHandover, TuiPrompter};
use super::input::WokenInput;
use super::msg::{Effect, Msg, PromptAnswer, PromptRequest};
use super::terminal::Tui;
use super::theme::SPINNER_FRAME_MS;

/// Shortest time between two frames: a burst of messages costs one redraw.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// The resizes of a burst are applied together this long after its first one (the last
/// size wins): a window being dragged is redrawn at most this often, never held back.
const RESIZE_SETTLE: Duration = Duration::from_millis(40);
/// Messages of one source handled before the others (input first) get a turn.
const DRAIN_BATCH: usize = 512;
/// How long leaving waits for the engine to finish writing its state.
const ENGINE_WIND_DOWN: Duration = Duration::from_secs(5);

/// Where the wizard draws and what it suspends: the real terminal ([`Tui`]) or, in
/// tests, an in-memory one.
pub trait Surface {
    fn draw(&mut self, app: &App) -> io::Result<()>;
    fn size(&self) -> io::Result<(u16, u16)>;
    /// Give the terminal to a command.
    fn suspend(&mut self) -> io::Result<()>;
    /// Take it back; the next draw repaints everything.
    fn resume(&mut self) -> io::Result<()>;
}

impl Surface for Tui {
    fn draw(&mut self, app: &App) -> io::Result<()> {
        Tui::draw(self, app)
    }

    fn size(&self) -> io::Result<(u16, u16)> {
        Tui::size(self)
    }

    fn suspend(&mut self) -> io::Result<()> {
        Tui::suspend(self)
    }

    fn resume(&mut self) -> io::Result<()> {
        Tui::resume(self)
    }
}

/// Terminal input events. Made afresh after a handover, so nothing reads the terminal
/// while a command owns it.
pub type InputStream = Pin<Box<dyn Stream<Item = io::Result<TermEvent>> + Send>>;

/// How the wizard runs, besides what it starts from.
#[derive(Default)]
pub struct WizardOptions {
    /// Capture the mouse (`--mouse`): wheel scrolls the log.
    pub mouse: bool,
    /// The logging tap's receiver, for the log tail.
    pub logs: Option<mpsc::Receiver<LogRecord>>,
}

/// Results of spawned backend calls.
enum Internal {
    Msg(Msg),
    Launched(Result<RunHandle, UserError>),
}

/// Run the wizard until the user leaves; returns the program's exit code. The terminal is
/// restored before this returns, on every path (a panic hook covers panics).
///
/// Call it inside a multi-threaded tokio runtime, after the program's panic hooks are
/// installed (the wizard's hook chains to them).
pub async fn run(
    backend: Arc<dyn WizardBackend>,
    inputs: AppInputs,
    options: WizardOptions,
) -> ExitCode {
    let tui = match Tui::enter(options.mouse) {
        Ok(tui) => tui,
        Err(err) => {
            eprintln!("cannot take over the terminal: {err}; try --no-tui");
            return ExitCode::General;
        }
    };
    let input = || -> InputStream { Box::pin(WokenInput::new(EventStream::new())) };
    let (code, tui) = run_on(tui, input, backend, inputs, options.logs).await;
    // Dropping the guard gives the terminal back before the caller prints anything.
    drop(tui);
    code
}

/// The loop of [`run`] on any [`Surface`] and input: what tests and other front ends use.
/// Returns the exit code and the surface (to inspect what was drawn last).
pub async fn run_on<S: Surface>(
    surface: S,
    input: impl FnMut() -> InputStream,
    backend: Arc<dyn WizardBackend>,
    inputs: AppInputs,
    logs: Option<mpsc::Receiver<LogRecord>>,
) -> (ExitCode, S) {
    let size = surface.size().unwrap_or((80, 24));
    let mut inputs = inputs;
    let after_first_draw = inputs.after_first_draw.take();
    let app = App::new(inputs, size, OffsetDateTime::now_utc());
    let mut driver = Driver::new(backend, surface, app, input, logs);
    driver.after_first_draw = after_first_draw;
    let code = driver.run().await;
    (code, driver.surface)
}

async fn recv<T>(receiver: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => pending().await,
    }
}

/// A run's update as the wizard's message.
fn run_update(update: RunUpdate) -> Msg {
    match update {
        RunUpdate::Event(event) => Msg::Engine(event),
        RunUpdate::Rollback(notice) => Msg::Rollback(notice),
    }
}

async fn next_input(stream: &mut Option<InputStream>) -> Option<io::Result<TermEvent>> {
    match stream {
        Some(stream) => poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await,
        None => pending().await,
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => pending().await,
    }
}

struct Driver<S, I> {
    backend: Arc<dyn WizardBackend>,
    surface: S,
    app: App,
    make_input: I,
    input: Option<InputStream>,
    logs: Option<mpsc::Receiver<LogRecord>>,
    prereq: Option<mpsc::Receiver<PrereqUpdate>>,
    run_events: Option<mpsc::Receiver<RunUpdate>>,
    control: Option<Arc<dyn RunSteering>>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    bridge_tx: mpsc::UnboundedSender<BridgeRequest>,
    bridge_rx: mpsc::UnboundedReceiver<BridgeRequest>,
    /// The question on screen, and those waiting behind it.
    prompt_reply: Option<oneshot::Sender<PromptAnswer>>,
    queued_prompts: VecDeque<(PromptRequest, oneshot::Sender<PromptAnswer>)>,
    dirty: bool,
    last_draw: Option<Instant>,
    pending_resize: Option<(u16, u16)>,
    resize_deadline: Option<Instant>,
    next_tick: Option<Instant>,
    /// See [`crate::tui::AppInputs::after_first_draw`].
    after_first_draw: Option<AfterFirstDraw>,
}

impl<S: Surface, I: FnMut() -> InputStream> Driver<S, I> {
    fn new(
        backend: Arc<dyn WizardBackend>,
        surface: S,
        app: App,
        mut make_input: I,
        logs: Option<mpsc::Receiver<LogRecord>>,
    ) -> Self {
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let (bridge_tx, bridge_rx) = mpsc::unbounded_channel();
        let input = Some(make_input());
        Self {
            backend,
            surface,
            app,
            make_input,
            input,
            logs,
            prereq: None,
            run_events: None,
            control: None,
            internal_tx,
            internal_rx,
            bridge_tx,
            bridge_rx,
            prompt_reply: None,
            queued_prompts: VecDeque::new(),
            dirty: true,
            last_draw: None,
            pending_resize: None,
            resize_deadline: None,
            next_tick: None,
            after_first_draw: None,
        }
    }

    async fn run(&mut self) -> ExitCode {
        let mut signals = Signals::new();
        self.dispatch(Msg::Init);
        self.probe_kube_contexts();
        loop {
            if let Some(code) = self.app.exit {
                self.draw();
                self.wind_down().await;
                return code;
            }
            let frame_due = self
                .last_draw
                .is_none_or(|last| last.elapsed() >= FRAME_INTERVAL);
            // While a resize settles, the terminal's size and the frame's may differ: the
            // frame waits for the size (at most RESIZE_SETTLE after the burst began).
            let drawable = self.dirty && self.pending_resize.is_none();
            if drawable && frame_due {
                // A key that came while the last messages were handled is in this frame,
                // not the one after it.
                self.take_waiting_input().await;
                if self.app.exit.is_some() || self.pending_resize.is_some() {
                    continue;
                }
                self.draw();
            }
            self.schedule_tick();
            let draw_at = if drawable {
                self.last_draw.map(|last| last + FRAME_INTERVAL)
            } else {
                None
            };
            tokio::select! {
                biased;
                input = next_input(&mut self.input) => match input {
                    Some(Ok(event)) => {
                        self.on_terminal_event(event);
                        self.take_waiting_input().await;
                    }
                    Some(Err(err)) => {
                        tracing::error!("terminal input failed: {err}");
                        self.abandon(ExitCode::General);
                    }
                    None => self.abandon(ExitCode::General),
                },
                _ = signals.next() => {
                    tracing::warn!("terminated by a signal; stopping");
                    self.abandon(ExitCode::Cancelled);
                }
                Some(request) = self.bridge_rx.recv() => self.on_bridge(request).await,
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
                update = recv(&mut self.run_events) => match update {
                    Some(update) => {
                        self.dispatch(run_update(update));
                        self.drain_engine();
                    }
                    None => {
                        self.run_events = None;
                        self.dispatch(Msg::EngineClosed);
                    }
                },
                update = recv(&mut self.prereq) => match update {
                    Some(update) => self.dispatch(Msg::Prereq(update)),
                    None => {
                        self.prereq = None;
                        self.dispatch(Msg::PrereqClosed);
                    }
                },
                record = recv(&mut self.logs) => match record {
                    Some(record) => {
                        self.dispatch(Msg::Log(record));
                        self.drain_logs();
                    }
                    None => self.logs = None,
                },
                _ = sleep_until_some(self.resize_deadline) => {
                    self.resize_deadline = None;
                    if let Some((width, height)) = self.pending_resize.take() {
                        self.dispatch(Msg::Resize { width, height });
                    }
                }
                _ = sleep_until_some(self.next_tick) => {
                    self.next_tick = None;
                    self.dispatch(Msg::Tick(OffsetDateTime::now_utc()));
                }
                _ = sleep_until_some(draw_at) => {}
            }
        }
    }

    /// Ask the backend whether each kube context answers; the pick list shows it when known.
    fn probe_kube_contexts(&self) {
        let contexts = self.app.form.contexts().to_vec();
        if contexts.is_empty() {
            return;
        }
        let backend = self.backend.clone();
        let results = self.internal_tx.clone();
        tokio::spawn(async move {
            let probes = backend.probe_kube_contexts(contexts).await;
            let _ = results.send(Internal::Msg(Msg::KubeContexts(probes)));
        });
    }

    /// Handle all the terminal input already waiting, without waiting for more: a burst
    /// of keys becomes one state and one frame. (A person cannot type faster than this
    /// loop applies keys, so the drain ends.)
    async fn take_waiting_input(&mut self) {
        while self.app.exit.is_none() {
            let input = tokio::select! {
                biased;
                input = next_input(&mut self.input) => input,
                () = std::future::ready(()) => return,
            };
            match input {
                Some(Ok(event)) => self.on_terminal_event(event),
                Some(Err(err)) => {
                    tracing::error!("terminal input failed: {err}");
                    self.abandon(ExitCode::General);
                    return;
                }
                None => {
                    self.abandon(ExitCode::General);
                    return;
                }
            }
        }
    }

    /// Ticks only while something animates; none while idle.
    fn schedule_tick(&mut self) {
        if self.app.animating() {
            if self.next_tick.is_none() {
                self.next_tick =
                    Some(Instant::now() + Duration::from_millis(SPINNER_FRAME_MS as u64));
            }
        } else {
            self.next_tick = None;
        }
    }

    fn draw(&mut self) {
        if let Err(err) = self.surface.draw(&self.app) {
            tracing::error!("cannot draw the screen: {err}");
        }
        self.dirty = false;
        self.last_draw = Some(Instant::now());
        if let Some(hook) = self.after_first_draw.take() {
            hook.call();
        }
    }

    fn dispatch(&mut self, msg: Msg) {
        let transition = update(&mut self.app, msg);
        self.dirty |= transition.redraw;
        for effect in transition.effects {
            self.apply(effect);
        }
    }

    fn drain_engine(&mut self) {
        for _ in 0..DRAIN_BATCH {
            let Some(receiver) = self.run_events.as_mut() else {
                return;
            };
            match receiver.try_recv() {
                Ok(update) => self.dispatch(run_update(update)),
                Err(_) => return,
            }
        }
    }

    fn drain_logs(&mut self) {
        for _ in 0..DRAIN_BATCH {
            let Some(receiver) = self.logs.as_mut() else {
                return;
            };
            match receiver.try_recv() {
                Ok(record) => self.dispatch(Msg::Log(record)),
                Err(_) => return,
            }
        }
    }

    fn on_terminal_event(&mut self, event: TermEvent) {
        match event {
            TermEvent::Key(key) => self.dispatch(Msg::Key(key)),
            TermEvent::Paste(text) => self.dispatch(Msg::Paste(text)),
            TermEvent::Mouse(mouse) => self.dispatch(Msg::Mouse(mouse)),
            TermEvent::Resize(width, height) => {
                self.pending_resize = Some((width, height));
                self.resize_deadline
                    .get_or_insert_with(|| Instant::now() + RESIZE_SETTLE);
            }
            _ => {}
        }
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::StartPrerequisites {
                github_token,
                interactive,
                skip,
                azure,
                github_host,
                flux_manifest_from_github_com,
            } => {
                let interaction = if interactive {
                    Interaction::Interactive {
                        prompter: Arc::new(TuiPrompter {
                            requests: self.bridge_tx.clone(),
                        }),
                        terminal: self
                            .backend
                            .terminal_handover(ScreenHandover::new(self.bridge_tx.clone())),
                    }
                } else {
                    Interaction::NonInteractive
                };
                self.prereq = Some(self.backend.start_prerequisites(PrereqRequest {
                    interaction,
                    github_token,
                    skip,
                    azure,
                    github_host,
                    flux_manifest_from_github_com,
                }));
            }
            Effect::ComputePlan(configuration) => {
                let backend = self.backend.clone();
                let results = self.internal_tx.clone();
                tokio::spawn(async move {
                    let plan = backend.plan(*configuration).await;
                    let _ = results.send(Internal::Msg(Msg::Plan(plan)));
                });
            }
            Effect::StartRun(confirmed) => {
                let backend = self.backend.clone();
                let results = self.internal_tx.clone();
                tokio::spawn(async move {
                    let handle = backend.start_run(*confirmed).await;
                    let _ = results.send(Internal::Launched(handle));
                });
            }
            Effect::CancelRun => {
                if let Some(control) = &self.control {
                    control.cancel();
                }
            }
            Effect::AnswerRollback(roll_back) => {
                if let Some(control) = &self.control {
                    control.answer_rollback(roll_back);
                }
            }
            Effect::AnswerPrompt(answer) => {
                if let Some(reply) = self.prompt_reply.take() {
                    let _ = reply.send(answer);
                }
                if let Some((request, reply)) = self.queued_prompts.pop_front() {
                    self.prompt_reply = Some(reply);
                    self.dispatch(Msg::Prompt(request));
                }
            }
            Effect::Exit(_) => {}
        }
    }

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Msg(msg) => self.dispatch(msg),
            Internal::Launched(Ok(handle)) => {
                self.run_events = Some(handle.events);
                self.control = Some(handle.control);
                self.dispatch(Msg::RunLaunched(Ok(())));
            }
            Internal::Launched(Err(error)) => self.dispatch(Msg::RunLaunched(Err(error))),
        }
    }

    async fn on_bridge(&mut self, request: BridgeRequest) {
        match request {
            BridgeRequest::Prompt { request, reply } => {
                if self.prompt_reply.is_some() {
                    self.queued_prompts.push_back((request, reply));
                } else {
                    self.prompt_reply = Some(reply);
                    self.dispatch(Msg::Prompt(request));
                }
            }
            BridgeRequest::Handover { job } => {
                // The input reader must stop reading the terminal while the command owns it.
                self.input = None;
                if let Err(err) = self.surface.suspend() {
                    tracing::warn!("cannot hand over the terminal: {err}");
                }
                job.await;
                if let Err(err) = self.surface.resume() {
                    tracing::error!("cannot take the terminal back: {err}");
                }
                self.input = Some((self.make_input)());
                // The size now is the terminal's: a resize read before the handover is
                // older.
                self.pending_resize = None;
                self.resize_deadline = None;
                if let Ok((width, height)) = self.surface.size() {
                    self.dispatch(Msg::Resize { width, height });
                }
                self.dirty = true;
            }
        }
    }

    /// Leave without the user's choice (signal, broken terminal): stop a running engine.
    fn abandon(&mut self, code: ExitCode) {
        if let Some(control) = &self.control {
            control.cancel();
        }
        if self.app.exit.is_none() {
            self.app.exit = Some(code);
        }
    }

    /// Before leaving: give a started engine a few seconds to finish (cancelled runs save
    /// their state; a pending rollback question is answered "no").
    async fn wind_down(&mut self) {
        let Some(mut events) = self.run_events.take() else {
            return;
        };
        let control = self.control.clone();
        let deadline = Instant::now() + ENGINE_WIND_DOWN;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    None => return,
                    Some(update) => {
                        if matches!(update, RunUpdate::Rollback(RollbackNotice::Asking(_))) {
                            if let Some(control) = &control {
                                control.answer_rollback(false);
                            }
                        }
                    }
                },
                _ = sleep_until(deadline) => {
                    tracing::warn!("the engine did not finish within {} of leaving", crate::text::format_duration(ENGINE_WIND_DOWN));
                    return;
                }
            }
        }
    }
}
