//! The wizard's real loop (`tui::run_on`) on an in-memory terminal, with keys from a
//! channel and the scripted fake backend: the whole walk from Welcome to Summary, a
//! failure with rollback, cancelling a running bootstrap, `az login` handed the terminal,
//! no redraws while idle, spinner ticks only while running, resize bursts coalesced, and
//! input that stays responsive under a flood of log records.
//!
//! The wizard's loop keeps time with tokio (frame interval, resize settling, spinner), so
//! what happens within a stretch of time is counted on tokio's paused clock, the same on
//! any machine; on the real clock a test only waits for what must happen, under a hang
//! guard ([`HANG_GUARD`]).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::support::process::{wait_until_async, HANG_GUARD};
use crate::support::tui::*;
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures_core::Stream;
use kalypso_bootstrap::engine::step::StepId;
use kalypso_bootstrap::logging::LogRecord;
use kalypso_bootstrap::tui::{render, run_on, App, InputStream, Surface, WizardBackend};
use kalypso_bootstrap::ExitCode;
use ratatui::backend::{Backend, TestBackend};
use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// An in-memory terminal that remembers what it showed and how often it drew.
struct TestSurface {
    terminal: Terminal<TestBackend>,
    shown: Arc<Mutex<String>>,
    draws: Arc<AtomicUsize>,
    suspends: Arc<AtomicUsize>,
    resumes: Arc<AtomicUsize>,
}

impl Surface for TestSurface {
    fn draw(&mut self, app: &App) -> std::io::Result<()> {
        let size = self.terminal.backend().size()?;
        if (size.width, size.height) != app.size {
            self.terminal.backend_mut().resize(app.size.0, app.size.1);
        }
        self.terminal.draw(|frame| render(app, frame))?;
        *self.shown.lock().unwrap() = buffer_text(self.terminal.backend().buffer());
        self.draws.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn size(&self) -> std::io::Result<(u16, u16)> {
        let size = self.terminal.backend().size()?;
        Ok((size.width, size.height))
    }

    fn suspend(&mut self) -> std::io::Result<()> {
        self.suspends.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn resume(&mut self) -> std::io::Result<()> {
        self.resumes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Terminal events from a channel; a new stream after a handover reads on from it.
struct ChannelInput(Arc<Mutex<mpsc::UnboundedReceiver<TermEvent>>>);

impl Stream for ChannelInput {
    type Item = std::io::Result<TermEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut receiver = self.0.lock().unwrap();
        receiver.poll_recv(cx).map(|event| event.map(Ok))
    }
}

struct Harness {
    keys: mpsc::UnboundedSender<TermEvent>,
    shown: Arc<Mutex<String>>,
    draws: Arc<AtomicUsize>,
    suspends: Arc<AtomicUsize>,
    resumes: Arc<AtomicUsize>,
    task: JoinHandle<ExitCode>,
    backend: Arc<FakeBackend>,
}

impl Harness {
    fn start(backend: FakeBackend, logs: Option<mpsc::Receiver<LogRecord>>) -> Harness {
        let backend = Arc::new(backend);
        let (keys, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        let shown = Arc::new(Mutex::new(String::new()));
        let draws = Arc::new(AtomicUsize::new(0));
        let suspends = Arc::new(AtomicUsize::new(0));
        let resumes = Arc::new(AtomicUsize::new(0));
        let surface = TestSurface {
            terminal: Terminal::new(TestBackend::new(SMALL.0, SMALL.1)).unwrap(),
            shown: shown.clone(),
            draws: draws.clone(),
            suspends: suspends.clone(),
            resumes: resumes.clone(),
        };
        let input = move || -> InputStream { Box::pin(ChannelInput(receiver.clone())) };
        let dyn_backend: Arc<dyn WizardBackend> = backend.clone();
        let task = tokio::spawn(async move {
            let (code, _surface) =
                run_on(surface, input, dyn_backend, inputs(named("demo")), logs).await;
            code
        });
        Harness {
            keys,
            shown,
            draws,
            suspends,
            resumes,
            task,
            backend,
        }
    }

    fn key(&self, code: KeyCode) {
        self.keys
            .send(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .unwrap();
    }

    fn screen(&self) -> String {
        self.shown.lock().unwrap().clone()
    }

    fn draws(&self) -> usize {
        self.draws.load(Ordering::SeqCst)
    }

    /// Wait until the screen shows `text` (fails after the hang guard, with the screen).
    async fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if self.screen().contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "hang guard: never showed {text:?}; screen:\n{}",
                self.screen()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn exit_code(self) -> ExitCode {
        tokio::time::timeout(HANG_GUARD, self.task)
            .await
            .expect("hang guard: the wizard never ended")
            .expect("no panic")
    }

    /// Welcome → forms (all valid) → a passing check → the plan.
    async fn walk_to_plan(&self) {
        self.wait_for("How do you want to start?").await;
        self.key(KeyCode::Enter);
        self.wait_for("Configuration").await;
        for _ in 0..4 {
            self.key(KeyCode::PageDown);
        }
        self.wait_for("Prerequisites: PASSED").await;
        self.key(KeyCode::Enter);
        self.wait_for("Proceed?").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_from_welcome_to_summary_and_exits_with_success() {
    let harness = Harness::start(FakeBackend::default(), None);
    harness.walk_to_plan().await;
    assert!(harness.screen().contains("AKS cluster"));
    harness.key(KeyCode::Char('y'));
    harness.wait_for("The Kalypso Scheduler is set up.").await;
    assert!(harness
        .screen()
        .contains("https://github.com/acme/demo-control-plane"));
    harness.key(KeyCode::Enter);
    let backend = harness.backend.clone();
    assert_eq!(harness.exit_code().await, ExitCode::Success);
    assert_eq!(
        backend.calls(),
        vec![
            "start_prerequisites(token=false, interactive=true)".to_string(),
            "plan(cluster=Some(\"demo\"))".to_string(),
            "start_run(cluster=Some(\"demo\"))".to_string(),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_offers_rollback_of_the_listed_resources_and_runs_it() {
    let backend = FakeBackend {
        script: RunScript {
            fail_at: Some(StepId::ClusterCreate),
            ..RunScript::default()
        },
        ..FakeBackend::default()
    };
    let harness = Harness::start(backend, None);
    harness.walk_to_plan().await;
    harness.key(KeyCode::Char('y'));
    harness
        .wait_for("Roll back the resources created by this run?")
        .await;
    let screen = harness.screen();
    // The resources the session asks about, in people's words.
    for resource in RunScript::default().rollback_resources {
        let shown = kalypso_bootstrap::state::in_human_words(&resource).into_owned();
        assert!(screen.contains(&shown), "{shown}: {screen}");
    }
    harness.key(KeyCode::Char('y'));
    harness
        .wait_for("✓ Everything this run created was removed")
        .await;
    harness.key(KeyCode::Enter);
    let backend = harness.backend.clone();
    assert_eq!(harness.exit_code().await, ExitCode::ClusterFailed);
    let calls = backend.calls();
    assert!(
        calls.contains(&"answer_rollback(true)".to_string()),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_a_running_bootstrap_asks_cancels_and_exits_7() {
    let backend = FakeBackend {
        script: RunScript {
            pace: Duration::from_millis(150),
            ..RunScript::default()
        },
        ..FakeBackend::default()
    };
    let harness = Harness::start(backend, None);
    harness.walk_to_plan().await;
    harness.key(KeyCode::Char('y'));
    harness.wait_for("Running").await;
    harness.key(KeyCode::Char('q'));
    harness.wait_for("Stop the bootstrap?").await;
    harness.key(KeyCode::Char('y'));
    harness
        .wait_for("Roll back the resources created by this run?")
        .await;
    assert!(harness.screen().contains("Cancelled"));
    harness.key(KeyCode::Char('n'));
    harness.wait_for("Nothing was removed").await;
    harness.key(KeyCode::Char('q'));
    let backend = harness.backend.clone();
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
    let calls = backend.calls();
    assert!(calls.contains(&"cancel".to_string()), "{calls:?}");
    assert!(
        calls.contains(&"answer_rollback(false)".to_string()),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn az_login_gets_the_terminal_and_the_wizard_takes_it_back() {
    let backend = FakeBackend {
        offer_az_login: true,
        ..FakeBackend::default()
    };
    let harness = Harness::start(backend, None);
    harness.wait_for("How do you want to start?").await;
    harness.key(KeyCode::Enter);
    harness.wait_for("Configuration").await;
    for _ in 0..4 {
        harness.key(KeyCode::PageDown);
    }
    harness.wait_for("Run `az login` now?").await;
    harness.key(KeyCode::Char('y'));
    harness.wait_for("Prerequisites: PASSED").await;
    assert_eq!(harness.suspends.load(Ordering::SeqCst), 1);
    assert_eq!(harness.resumes.load(Ordering::SeqCst), 1);
    // Keys still arrive after the handover (a fresh input stream).
    harness.key(KeyCode::Enter);
    harness.wait_for("Proceed?").await;
    harness.key(KeyCode::Char('q'));
    let backend = harness.backend.clone();
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
    let calls = backend.calls();
    assert!(
        calls.contains(&"run_in_terminal(az login)".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"az login handed over: ok=true".to_string()),
        "{calls:?}"
    );
}

/// On tokio's paused clock: the stretches of time below are the wizard's own time.
#[tokio::test(start_paused = true)]
async fn nothing_is_redrawn_while_idle_and_ticks_come_only_while_running() {
    let backend = FakeBackend {
        script: RunScript {
            pace: Duration::from_millis(400),
            ..RunScript::default()
        },
        ..FakeBackend::default()
    };
    let harness = Harness::start(backend, None);
    harness.wait_for("How do you want to start?").await;
    let before = harness.draws();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        harness.draws(),
        before,
        "redrew an unchanged welcome screen"
    );

    harness.walk_to_plan().await;
    let before = harness.draws();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(harness.draws(), before, "redrew an unchanged plan");

    harness.key(KeyCode::Char('y'));
    harness.wait_for("Running").await;
    let before = harness.draws();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let drawn = harness.draws() - before;
    // The spinner ticks (5 per second), plus a few events; never a busy loop.
    assert!(
        (3..=40).contains(&drawn),
        "{drawn} draws in 1 s of tokio time while running"
    );
    harness.key(KeyCode::Char('q'));
    harness.wait_for("Stop the bootstrap?").await;
    harness.key(KeyCode::Char('y'));
    harness.wait_for("Roll back the resources").await;
    harness.key(KeyCode::Char('q'));
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
}

/// On tokio's paused clock: the resizes come 5 ms apart, each read on its own (the wizard
/// runs between them), closer together than the wizard's resize settling (40 ms); the
/// 150 ms after them are the wizard's own time.
#[tokio::test(start_paused = true)]
async fn a_burst_of_resizes_is_drawn_once_and_small_sizes_get_the_notice() {
    let harness = Harness::start(FakeBackend::default(), None);
    harness.wait_for("How do you want to start?").await;
    let before = harness.draws();
    for width in 60..75 {
        harness.keys.send(TermEvent::Resize(width, 20)).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    harness.wait_for("Terminal too small").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(harness.screen().contains("74x20, needs at least 80x24"));
    let drawn = harness.draws() - before;
    assert!(drawn <= 2, "{drawn} draws for one burst of 15 resizes");
    harness.keys.send(TermEvent::Resize(100, 30)).unwrap();
    harness.wait_for("How do you want to start?").await;
    harness.key(KeyCode::Char('q'));
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
}

/// On tokio's paused clock: a window dragged for 300 ms (a resize every 5 ms, each a new
/// size) is redrawn while it moves, at most once per settling time (40 ms), not held back
/// until the drag ends; the last size is the one shown.
#[tokio::test(start_paused = true)]
async fn a_window_being_dragged_is_redrawn_while_it_moves() {
    let harness = Harness::start(FakeBackend::default(), None);
    harness.wait_for("How do you want to start?").await;
    let before = harness.draws();
    for step in 0..60u16 {
        harness
            .keys
            .send(TermEvent::Resize(100 + step, 30))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let during = harness.draws() - before;
    assert!(
        (4..=8).contains(&during),
        "{during} draws while the window was dragged for 300 ms"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        harness
            .screen()
            .lines()
            .find(|line| line.starts_with('╭'))
            .map(|border| border.chars().count()),
        Some(159),
        "the last size is drawn:\n{}",
        harness.screen()
    );
    harness.key(KeyCode::Char('q'));
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
}

/// The flood never ends: the key can only show if input is handled while records keep
/// coming (were the log drained first, the key would wait forever, until the hang guard).
/// How soon it shows (the next frame) is measured in `cargo bench`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_stay_responsive_under_a_flood_of_log_records() {
    let (sender, logs) = mpsc::channel(4096);
    let harness = Harness::start(FakeBackend::default(), Some(logs));
    harness.wait_for("How do you want to start?").await;
    let sent = Arc::new(AtomicUsize::new(0));
    let flood = tokio::spawn({
        let sent = sent.clone();
        async move {
            for i in 0u64.. {
                let record = LogRecord {
                    level: tracing::Level::INFO,
                    timestamp: at(0),
                    message: format!("child output line {i}"),
                };
                if sender.send(record).await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // The wizard is reading the flood: more has gone through than the channel holds.
    let flowing = |beyond: usize| {
        let sent = sent.clone();
        move || sent.load(Ordering::SeqCst) > beyond + 2 * 4096
    };
    wait_until_async("the flood flowing through the wizard", flowing(0)).await;
    harness.key(KeyCode::Down);
    harness.wait_for("▸ 2 Bring your own cluster").await;
    // ...and still is once the key has shown: it was not shown because the flood stalled.
    let at_key = sent.load(Ordering::SeqCst);
    wait_until_async("the flood flowing on after the key", flowing(at_key)).await;
    assert!(!flood.is_finished(), "the flood is endless");
    harness.key(KeyCode::Char('q'));
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
    flood.abort();
}

/// On tokio's paused clock: the pauses are the wizard's own time, so "nothing drawn in
/// 400 ms" and "drawn within 150 ms" hold on any machine.
#[tokio::test(start_paused = true)]
async fn keys_and_resizes_that_change_nothing_draw_nothing() {
    let harness = Harness::start(FakeBackend::default(), None);
    harness.wait_for("How do you want to start?").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = harness.draws();
    harness.key(KeyCode::Up); // already the first choice
    harness.key(KeyCode::Char('x')); // not bound here
    harness
        .keys
        .send(TermEvent::Resize(SMALL.0, SMALL.1))
        .unwrap(); // the same size
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(harness.draws(), before, "redrew an unchanged screen");
    harness.key(KeyCode::Down);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(harness.draws() > before, "a real change is drawn");
    harness.key(KeyCode::Char('q'));
    assert_eq!(harness.exit_code().await, ExitCode::Cancelled);
}

/// What one frame showed of the cluster-name row.
#[derive(Debug, Clone, PartialEq)]
struct Frame {
    screen: kalypso_bootstrap::tui::Screen,
    name_chars: usize,
    focus: kalypso_bootstrap::tui::form::Entry,
}

/// Remembers the state every frame was drawn from.
struct RecordingSurface(Arc<Mutex<Vec<Frame>>>);

impl Surface for RecordingSurface {
    fn draw(&mut self, app: &App) -> std::io::Result<()> {
        let name = kalypso_bootstrap::config::Field::ClusterName;
        self.0.lock().unwrap().push(Frame {
            screen: app.screen,
            name_chars: app.form.text(name).chars().count(),
            focus: app.form.focus,
        });
        Ok(())
    }

    fn size(&self) -> std::io::Result<(u16, u16)> {
        Ok(SMALL)
    }

    fn suspend(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn resume(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fast typing: thousands of key events already waiting are all applied before the next
/// frame (one state, one redraw), so the key after them takes effect at once instead of
/// being drawn many frames later, and no frame shows a half-applied burst.
/// On tokio's paused clock: the 200 ms in which nothing else may be drawn are the wizard's
/// own time.
#[tokio::test(start_paused = true)]
async fn a_burst_of_waiting_keys_is_applied_whole_before_one_frame() {
    use kalypso_bootstrap::config::Field;
    use kalypso_bootstrap::tui::form::Entry;
    const TYPED: usize = 6000;
    let (keys, receiver) = mpsc::unbounded_channel();
    let press = |code| TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE));
    // Welcome → forms, Tab to the cluster name ("demo"), type, Tab to the next row: all
    // waiting before the wizard reads any of it.
    keys.send(press(KeyCode::Enter)).unwrap();
    keys.send(press(KeyCode::Tab)).unwrap();
    for i in 0..TYPED {
        let c = char::from(b'a' + (i % 26) as u8);
        keys.send(press(KeyCode::Char(c))).unwrap();
    }
    keys.send(press(KeyCode::Tab)).unwrap();
    let receiver = Arc::new(Mutex::new(receiver));
    let frames = Arc::new(Mutex::new(Vec::new()));
    let surface = RecordingSurface(frames.clone());
    let input = move || -> InputStream { Box::pin(ChannelInput(receiver.clone())) };
    let backend: Arc<dyn WizardBackend> = Arc::new(FakeBackend::default());
    let task = tokio::spawn(async move {
        run_on(surface, input, backend, inputs(named("demo")), None)
            .await
            .0
    });

    wait_until_async("the first frame", || !frames.lock().unwrap().is_empty()).await;
    // Give the wizard time to draw anything else it would.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let drawn = frames.lock().unwrap().clone();
    assert_eq!(drawn.len(), 1, "one frame for one burst: {drawn:?}");
    let frame = &drawn[0];
    assert_eq!(frame.name_chars, "demo".len() + TYPED, "{frame:?}");
    assert_ne!(frame.focus, Entry::Config(Field::ClusterName), "{frame:?}");

    // Typed values would be lost: the first Ctrl+C asks, the second leaves.
    for _ in 0..2 {
        keys.send(TermEvent::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )))
        .unwrap();
    }
    let code = tokio::time::timeout(HANG_GUARD, task)
        .await
        .expect("hang guard: the wizard never ended")
        .expect("no panic");
    assert_eq!(code, ExitCode::Cancelled);
}

/// The wizard asks the backend, once at the start, whether each kube context answers, and
/// the context pick list shows what came back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_list_shows_what_the_probe_reported() {
    use kalypso_bootstrap::prereq::{ContextProbe, Reachability};
    let backend = FakeBackend {
        context_probes: vec![ContextProbe {
            context: "kind-dev".to_string(),
            reachability: Reachability::Reachable {
                version: kalypso_bootstrap::tools::Version::new(1, 33, 1),
            },
        }],
        ..FakeBackend::default()
    };
    let harness = Harness::start(backend, None);
    harness.wait_for("How do you want to start?").await;
    harness.key(KeyCode::Down);
    harness.key(KeyCode::Enter);
    harness.wait_for("Kube context").await;
    harness.key(KeyCode::Tab);
    harness.key(KeyCode::Tab);
    harness.key(KeyCode::Char(' '));
    harness.wait_for("answers (v1.33.1)").await;
    assert_eq!(
        *harness.backend.probed_contexts.lock().unwrap(),
        vec![vec!["kind-dev".to_string(), "aks-prod".to_string()]]
    );
}
