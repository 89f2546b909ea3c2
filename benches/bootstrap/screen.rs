//! The wizard's dashboard: the cost of one frame with a full log tail, and a keypress
//! under a flood of log records from a chatty child.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures_core::Stream;
use kalypso_bootstrap::engine::events::EventKind;
use kalypso_bootstrap::engine::step::{Action, StepId};
use kalypso_bootstrap::logging::LogRecord;
use kalypso_bootstrap::tui::{render, run_on, update, App, InputStream, Msg, Screen, Surface};
use ratatui::backend::{Backend, TestBackend};
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::support::tui::{
    all_steps, app, buffer_text, event, named, new_installation_plan, passing_checks, started,
    FakeBackend, RunScript, NOW,
};
use crate::{human, median, rows, Mode, Row};

/// The size of the frames measured.
const SIZE: (u16, u16) = (200, 50);
/// Log lines buffered for the frame measurement.
const BUFFERED_LINES: usize = 10_000;
/// The wizard's tap capacity (`LOG_TAP_CAPACITY` in `app/wizard.rs`): records beyond it
/// are dropped by the logging layer, never waited for.
const TAP_CAPACITY: usize = 1024;

/// A line as a chatty `helm --debug` prints it.
fn chatty_line(index: usize) -> String {
    format!(
        "helm: client.go:142: [debug] creating 1 resource(s) {index}: apps/v1 Deployment kalypso-system/kalypso-scheduler-controller-manager"
    )
}

fn record(index: usize) -> LogRecord {
    LogRecord {
        level: if index % 4 == 0 {
            tracing::Level::INFO
        } else {
            tracing::Level::DEBUG
        },
        timestamp: NOW + time::Duration::milliseconds(index as i64),
        message: chatty_line(index),
    }
}

/// The dashboard of a running bootstrap: forms, a passing check, the plan confirmed, the
/// cluster being created.
fn dashboard() -> App {
    let mut app = app(named("bench"), SIZE);
    let key = |app: &mut App, code| update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    key(&mut app, KeyCode::Enter);
    for _ in 0..4 {
        key(&mut app, KeyCode::PageDown);
    }
    for check in passing_checks() {
        update(&mut app, Msg::Prereq(check));
    }
    key(&mut app, KeyCode::Enter);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(app.screen, Screen::Dashboard);
    let run_started = EventKind::RunStarted {
        demo: true,
        steps: all_steps(Action::Create),
    };
    update(&mut app, Msg::Engine(event(0, run_started)));
    for step in [
        StepId::ClusterCreate,
        StepId::ControlPlaneRepo,
        StepId::GitopsRepo,
    ] {
        update(&mut app, Msg::Engine(started(1, step)));
    }
    app
}

pub fn dashboard_frame(mode: Mode) -> Vec<Row> {
    let mut app = dashboard();
    for index in 0..BUFFERED_LINES {
        update(&mut app, Msg::Log(record(index)));
    }
    assert_eq!(app.logs.len(), BUFFERED_LINES);
    let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("a test terminal");
    let frames = mode.pick(2_000, 10);
    let mut samples = Vec::with_capacity(frames);
    for frame in 0..frames + 20 {
        // Every frame shows something new: a log line scrolls in and the spinner turns.
        update(&mut app, Msg::Log(record(BUFFERED_LINES + frame)));
        update(
            &mut app,
            Msg::Tick(NOW + time::Duration::milliseconds(100 * frame as i64)),
        );
        let started = Instant::now();
        terminal
            .draw(|f| render(&app, f))
            .expect("a frame is drawn");
        let took = started.elapsed();
        // The first frames warm the caches and the buffers.
        if frame >= 20 {
            samples.push(took);
        }
    }
    let screen = buffer_text(terminal.backend().buffer());
    assert!(screen.contains("creating 1 resource(s)"), "{screen}");
    let median = median(&mut samples);
    let limit = Duration::from_millis(1);
    vec![Row::new(
        rows::DASHBOARD_FRAME,
        human(median),
        median.as_secs_f64() / limit.as_secs_f64(),
    )
    .note(format!(
        "{} frames drawn into ratatui's TestBackend (layout, widgets and the diff against the previous frame), a new log line and spinner step each; p99 {}",
        samples.len(),
        human(samples[samples.len() * 99 / 100])
    ))]
}

/// One drawn frame: when it started and whether the log view was paused in it.
#[derive(Clone, Copy)]
struct Drawn {
    at: Instant,
    paused: bool,
}

/// An in-memory terminal that notes every frame; the screen text only while asked for.
struct RecordingSurface {
    terminal: Terminal<TestBackend>,
    frames: Arc<Mutex<Vec<Drawn>>>,
    keep_text: Arc<AtomicBool>,
    text: Arc<Mutex<String>>,
}

impl Surface for RecordingSurface {
    fn draw(&mut self, app: &App) -> std::io::Result<()> {
        let at = Instant::now();
        self.terminal.draw(|frame| render(app, frame))?;
        self.frames.lock().unwrap().push(Drawn {
            at,
            paused: !app.logs.following(),
        });
        if self.keep_text.load(Ordering::Relaxed) {
            *self.text.lock().unwrap() = buffer_text(self.terminal.backend().buffer());
        }
        Ok(())
    }

    fn size(&self) -> std::io::Result<(u16, u16)> {
        let size = self.terminal.backend().size()?;
        Ok((size.width, size.height))
    }

    fn suspend(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn resume(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keys from a channel.
struct Keys(Arc<Mutex<mpsc::UnboundedReceiver<TermEvent>>>);

impl Stream for Keys {
    type Item = std::io::Result<TermEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.lock().unwrap().poll_recv(cx).map(|key| key.map(Ok))
    }
}

/// How the flood went.
struct Flood {
    offered: u64,
    accepted: u64,
    seconds: f64,
}

/// Offer `rate` records per second to the tap for `length`, as the logging layer does
/// (`try_send`: a full channel drops the record).
async fn flood(tap: mpsc::Sender<LogRecord>, rate: u64, stop: Arc<AtomicBool>) -> Flood {
    let started = Instant::now();
    let mut offered = 0u64;
    let mut accepted = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    // At most 10 ms' worth per tick: a producer that falls behind offers less (and the
    // rate reported is the rate offered), it never stops checking for the end.
    let most_per_tick = rate / 100;
    while !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        for _ in 0..due.saturating_sub(offered).min(most_per_tick) {
            if tap.try_send(record(offered as usize)).is_ok() {
                accepted += 1;
            }
            offered += 1;
        }
    }
    Flood {
        offered,
        accepted,
        seconds: started.elapsed().as_secs_f64(),
    }
}

pub fn input_under_flood(mode: Mode) -> Vec<Row> {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let frames = Arc::new(Mutex::new(Vec::new()));
    let keep_text = Arc::new(AtomicBool::new(true));
    let text = Arc::new(Mutex::new(String::new()));
    let surface = RecordingSurface {
        terminal: Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("a test terminal"),
        frames: frames.clone(),
        keep_text: keep_text.clone(),
        text: text.clone(),
    };
    let (keys, key_receiver) = mpsc::unbounded_channel();
    let key_receiver = Arc::new(Mutex::new(key_receiver));
    let input = move || -> InputStream { Box::pin(Keys(key_receiver.clone())) };
    // The run never gets past its first step: the dashboard stays up, spinner turning.
    let backend = Arc::new(FakeBackend {
        script: RunScript {
            pace: Duration::from_secs(3600),
            ..RunScript::default()
        },
        ..FakeBackend::default()
    });
    let (tap, logs) = mpsc::channel(TAP_CAPACITY);
    let rate = 100_000;
    let presses = mode.pick(20, 3);
    let script = {
        let frames = frames.clone();
        async move {
            let press = |code| {
                keys.send(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
                    .expect("the wizard reads keys")
            };
            let wait_for = |needle: &'static str| {
                let text = text.clone();
                async move {
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while !text.lock().unwrap().contains(needle) {
                        assert!(
                            Instant::now() < deadline,
                            "the wizard never showed {needle:?}:\n{}",
                            text.lock().unwrap()
                        );
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            };
            wait_for("How do you want to start?").await;
            press(KeyCode::Enter);
            wait_for("Configuration").await;
            for _ in 0..4 {
                press(KeyCode::PageDown);
            }
            wait_for("Prerequisites: PASSED").await;
            press(KeyCode::Enter);
            wait_for("Proceed?").await;
            press(KeyCode::Char('y'));
            wait_for("Log ·").await;
            keep_text.store(false, Ordering::Relaxed);

            let stop = Arc::new(AtomicBool::new(false));
            let flooding = tokio::spawn(flood(tap, rate, stop.clone()));
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut reactions = Vec::new();
            for _ in 0..presses {
                // `f` pauses the log view (and the next `f` resumes following).
                let paused_before = frames.lock().unwrap().last().is_some_and(|d| d.paused);
                let sent = Instant::now();
                press(KeyCode::Char('f'));
                let deadline = sent + Duration::from_secs(5);
                let reaction = loop {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let drawn = frames.lock().unwrap();
                    let after: Vec<Drawn> = drawn.iter().copied().filter(|d| d.at > sent).collect();
                    if let Some(index) = after.iter().position(|d| d.paused != paused_before) {
                        break Some((index, after[index].at - sent));
                    }
                    drop(drawn);
                    if Instant::now() > deadline {
                        break None;
                    }
                };
                reactions.push(reaction);
                // Presses fall at every phase of the wizard's loop.
                tokio::time::sleep(Duration::from_millis(137)).await;
            }
            stop.store(true, Ordering::Relaxed);
            let flood = flooding.await.expect("the flood ran");
            (reactions, flood)
        }
    };

    let (reactions, flood) = runtime.block_on(async {
        // The keys come from a task of their own (on a worker thread), at moments that
        // have nothing to do with the wizard's loop; the loop runs on this thread, as in
        // the program (`block_on`), and is dropped once the presses are measured.
        let script = tokio::spawn(script);
        let driver = run_on(
            surface,
            input,
            backend,
            crate::support::tui::inputs(named("bench")),
            Some(logs),
        );
        tokio::select! {
            (code, _) = driver => panic!("the wizard ended early with {code:?}"),
            outcome = script => outcome.expect("the key presses ran"),
        }
    });

    let missed = reactions.iter().filter(|r| r.is_none()).count();
    let reacted: Vec<(usize, Duration)> = reactions.iter().flatten().copied().collect();
    // The frame that first shows the key, counted from the first one begun after it.
    let worst_frame = reacted
        .iter()
        .map(|(index, _)| index + 1)
        .max()
        .unwrap_or(0);
    let slowest = reacted.iter().map(|(_, d)| *d).max().unwrap_or_default();
    let mut latencies: Vec<Duration> = reacted.iter().map(|(_, d)| *d).collect();
    let typical = if latencies.is_empty() {
        Duration::ZERO
    } else {
        median(&mut latencies)
    };
    vec![Row::new(
        rows::KEYPRESS,
        if missed > 0 {
            format!("{missed} of {presses} keys never shown")
        } else {
            format!("frame {worst_frame} (worst of {presses})")
        },
        if missed > 0 {
            f64::INFINITY
        } else {
            worst_frame as f64
        },
    )
    .note(format!(
        "{presses} presses of `f` on the 200x50 dashboard while {:.0} records/s were offered to the log tap ({:.0}/s accepted, the rest dropped by design: the log file keeps them); key to frame: median {}, slowest {}",
        flood.offered as f64 / flood.seconds,
        flood.accepted as f64 / flood.seconds,
        human(typical),
        human(slowest)
    ))]
}
