//! Behaviour behind the performance figures (`cargo bench`): the health checks query at
//! once, a test Workload refused before the CRDs exist is waited for rather than failed,
//! and a chatty command hands every line to its sink while what it keeps of its stderr
//! stays bounded. Timing is measured by the benchmark, not here: these tests assert what
//! happens, with latencies only to make overlapping calls observable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::e2e::*;
use kalypso_bootstrap::engine::{
    Action, Bootstrap, EventKind, EventSink, Plan, PlannedStep, RunEnd, StepId,
};
use kalypso_bootstrap::sim::{kalypso_crd_names, Chatter, Latency};
use kalypso_bootstrap::tools::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, LineSink, RunControl,
    RunError, STDERR_KEPT_BYTES,
};
use secrecy::SecretString;

/// Passes calls on, counting how many `kubectl` calls were in flight at most.
struct CountingRunner {
    inner: Arc<dyn CommandRunner>,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

impl CommandRunner for CountingRunner {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(async move {
            let counted = spec.program == "kubectl";
            if counted {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(now, Ordering::SeqCst);
            }
            let result = self.inner.run_with(spec, control).await;
            if counted {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            result
        })
    }
}

fn health_only() -> Plan {
    Plan::new(vec![PlannedStep::new(
        StepId::HealthChecks,
        Action::Create,
        vec![],
        "test",
    )])
}

async fn run_plan(
    bootstrap: &Bootstrap,
    plan: &Plan,
) -> (
    kalypso_bootstrap::engine::RunOutcome,
    Vec<kalypso_bootstrap::engine::Event>,
) {
    let (events, mut receiver) = EventSink::channel();
    let active = activate(bootstrap.configuration());
    let outcome = bootstrap
        .run(&active, plan, events, &CancellationToken::new())
        .await;
    let mut collected = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        collected.push(event);
    }
    (outcome, collected)
}

/// The health run is on a paused clock (tokio's clock moves only when every task waits):
/// calls made together are in flight together whatever the machine's load.
#[tokio::test]
async fn the_health_checks_query_everything_at_once() {
    let harness = Harness::new();
    let configuration = all_new();
    harness.run(&configuration).await.assert_success();

    let runner = Arc::new(CountingRunner {
        inner: Arc::new(harness.sim.clone()),
        in_flight: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
    });
    let bootstrap = Bootstrap::open(
        configuration,
        runner.clone(),
        Some(SecretString::from(CANARY)),
        harness.paths(),
        harness.options(),
    )
    .expect("the bootstrap opens");
    // Every call takes a moment, so calls made together are seen together.
    harness
        .sim
        .set_latency(Latency::fixed(Duration::from_millis(50)));
    tokio::time::pause();
    let (outcome, events) = run_plan(&bootstrap, &health_only()).await;
    assert!(outcome.is_success(), "{:?}", outcome.end);
    // Thirteen kubectl queries (six of the installation, seven of the scheduler's work:
    // Flux sources and Kustomizations, BaseRepos, GitOpsRepos, WorkloadRegistrations,
    // SchedulingPolicies, Assignments) and the test Workload's apply, all at once (the gh
    // queries of the pull request run with them and after them, not counted here).
    assert_eq!(runner.most.load(Ordering::SeqCst), 14);
    let passing = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::HealthCheck { status, .. } if format!("{status:?}") == "Passing"))
        .count();
    assert_eq!(passing, 11, "every check passed once: {events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_refused_before_the_crds_exist_is_waited_for_not_failed() {
    let harness = Harness::new();
    let configuration = all_new();
    harness.run(&configuration).await.assert_success();
    // Without its CRDs the API does not know the Workload kind.
    let mut delete = CommandSpec::new("kubectl").args(["--context", CLUSTER, "delete", "crd"]);
    for name in kalypso_crd_names() {
        delete = delete.arg(name);
    }
    let deleted = harness.sim.run(delete).await.expect("kubectl answers");
    assert_eq!(deleted.exit_code, Some(0), "{}", deleted.stderr);
    let bootstrap = harness.open(&configuration);
    let (outcome, _events) = run_plan(&bootstrap, &health_only()).await;
    let RunEnd::Failed { error, .. } = &outcome.end else {
        panic!("the checks cannot pass: {:?}", outcome.end);
    };
    assert!(
        error
            .message
            .contains("test-workload: waiting for the CRDs and the controller"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("rejected"), "{}", error.message);
    // It was tried alongside the queries, and the API refused it.
    let applied = harness
        .sim
        .calls()
        .iter()
        .filter(|c| c.program == "kubectl" && c.args.iter().any(|a| a == "apply"))
        .count();
    assert!(applied >= 1, "the test Workload was applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatty_command_streams_every_line_and_keeps_a_bounded_stderr() {
    let harness = Harness::new();
    let lines = 50_000;
    harness
        .sim
        .set_chatter(Chatter::none().with_command("az group", lines));
    let (sink, mut received) = LineSink::channel();
    let output = harness
        .sim
        .run_with(
            CommandSpec::new("az").args(["group", "show", "--name", "missing"]),
            RunControl::default().with_sink(sink),
        )
        .await
        .expect("the simulated az answers");
    let mut count = 0;
    while let Ok(line) = received.try_recv() {
        if line.line.contains("[debug] az group show") {
            count += 1;
        }
    }
    assert_eq!(count, lines, "every extra line went to the sink");
    assert!(
        output.stderr.len() <= STDERR_KEPT_BYTES + 200,
        "stderr kept {} bytes",
        output.stderr.len()
    );
    assert!(output.stderr.contains("lines (") && output.stderr.contains("left out here"));
    // The command's own error is still at the end, where adapters read it.
    assert!(
        output.stderr.trim_end().ends_with("could not be found."),
        "{}",
        &output.stderr[output.stderr.len() - 300..]
    );
    assert_eq!(output.exit_code, Some(3));
}

mod keys_before_frames {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};
    use std::time::{Duration, Instant};

    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    use futures_core::Stream;
    use kalypso_bootstrap::logging::LogRecord;
    use kalypso_bootstrap::tui::{render, run_on, App, InputStream, Surface};
    use ratatui::backend::{Backend, TestBackend};
    use ratatui::Terminal;
    use tokio::sync::mpsc;

    use crate::support::tui::{at, buffer_text, inputs, named, FakeBackend, RunScript, LARGE};

    /// The keyboard as the wizard sees it, plus one key that arrives at an awkward moment:
    /// just after the loop looked at its input and chose a log record that was waiting.
    #[derive(Default)]
    struct Keyboard {
        queue: VecDeque<TermEvent>,
        waker: Option<Waker>,
        /// Arrives at the first look at the input while a log record waits.
        late: Option<TermEvent>,
        late_arrived: bool,
        late_taken: bool,
        /// Frames drawn while the late key had arrived and was not taken yet.
        stale_frames: usize,
        /// Whether the log view was paused in the last frame.
        paused: bool,
        screen: String,
    }

    struct Input {
        keyboard: Arc<Mutex<Keyboard>>,
        logs: mpsc::Sender<LogRecord>,
    }

    impl Stream for Input {
        type Item = std::io::Result<TermEvent>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let mut keyboard = self.keyboard.lock().unwrap();
            if let Some(key) = keyboard.queue.pop_front() {
                return Poll::Ready(Some(Ok(key)));
            }
            if keyboard.late_arrived && !keyboard.late_taken {
                keyboard.late_taken = true;
                let key = keyboard.late.take().expect("the late key");
                return Poll::Ready(Some(Ok(key)));
            }
            let record_waiting = self.logs.capacity() < self.logs.max_capacity();
            if keyboard.late.is_some() && record_waiting {
                // The key comes now, as any key does: the task is woken.
                keyboard.late_arrived = true;
                cx.waker().wake_by_ref();
            }
            keyboard.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    struct Screen {
        terminal: Terminal<TestBackend>,
        keyboard: Arc<Mutex<Keyboard>>,
    }

    impl Surface for Screen {
        fn draw(&mut self, app: &App) -> std::io::Result<()> {
            self.terminal.draw(|frame| render(app, frame))?;
            let mut keyboard = self.keyboard.lock().unwrap();
            if keyboard.late_arrived && !keyboard.late_taken {
                keyboard.stale_frames += 1;
            }
            keyboard.paused = !app.logs.following();
            keyboard.screen = buffer_text(self.terminal.backend().buffer());
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

    fn press(keyboard: &Arc<Mutex<Keyboard>>, code: KeyCode) {
        let mut keyboard = keyboard.lock().unwrap();
        keyboard
            .queue
            .push_back(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        if let Some(waker) = keyboard.waker.take() {
            waker.wake();
        }
    }

    async fn wait_until(keyboard: &Arc<Mutex<Keyboard>>, done: impl Fn(&Keyboard) -> bool) {
        let deadline = Instant::now() + crate::support::process::HANG_GUARD;
        while !done(&keyboard.lock().unwrap()) {
            assert!(
                Instant::now() < deadline,
                "hang guard: the screen never showed what was awaited:\n{}",
                keyboard.lock().unwrap().screen
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn wait_for(keyboard: &Arc<Mutex<Keyboard>>, text: &str) {
        wait_until(keyboard, |k| k.screen.contains(text)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_that_comes_while_log_records_are_handled_is_in_the_next_frame() {
        let keyboard = Arc::new(Mutex::new(Keyboard::default()));
        let (logs, log_receiver) = mpsc::channel(64);
        let input_keyboard = keyboard.clone();
        let input_logs = logs.clone();
        let input = move || -> InputStream {
            Box::pin(Input {
                keyboard: input_keyboard.clone(),
                logs: input_logs.clone(),
            })
        };
        let screen = Screen {
            terminal: Terminal::new(TestBackend::new(LARGE.0, LARGE.1)).unwrap(),
            keyboard: keyboard.clone(),
        };
        // The run stays on the dashboard.
        let backend = Arc::new(FakeBackend {
            script: RunScript {
                pace: Duration::from_secs(3600),
                ..RunScript::default()
            },
            ..FakeBackend::default()
        });
        let wizard = tokio::spawn(run_on(
            screen,
            input,
            backend,
            inputs(named("demo")),
            Some(log_receiver),
        ));

        wait_for(&keyboard, "How do you want to start?").await;
        press(&keyboard, KeyCode::Enter);
        wait_for(&keyboard, "Configuration").await;
        for _ in 0..4 {
            press(&keyboard, KeyCode::PageDown);
        }
        wait_for(&keyboard, "Prerequisites: PASSED").await;
        press(&keyboard, KeyCode::Enter);
        wait_for(&keyboard, "Proceed?").await;
        press(&keyboard, KeyCode::Char('y'));
        wait_for(&keyboard, "Log ·").await;

        // A log record every 30 ms (each one changes the dashboard, and a frame is due).
        let feeder = tokio::spawn(async move {
            for i in 0.. {
                let record = LogRecord {
                    level: tracing::Level::INFO,
                    timestamp: at(i),
                    message: format!("child output line {i}"),
                };
                if logs.send(record).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        keyboard.lock().unwrap().late = Some(TermEvent::Key(KeyEvent::new(
            KeyCode::Char('f'),
            KeyModifiers::NONE,
        )));
        wait_until(&keyboard, |k| k.late_taken && k.paused).await;
        let keyboard = keyboard.lock().unwrap();
        assert_eq!(
            keyboard.stale_frames, 0,
            "frames drawn without a key that was waiting"
        );
        assert!(keyboard.screen.contains("paused"), "{}", keyboard.screen);
        drop(keyboard);
        feeder.abort();
        wizard.abort();
    }
}

/// `KALYPSO_DEMO_LATENCY` and `KALYPSO_DEMO_CHATTER` with a value they cannot use: exit 64,
/// the variable, the value and the rule named, nothing created.
#[test]
fn malformed_demo_latency_or_chatter_is_refused_before_anything_is_created() {
    for (name, value, says) in [
        ("KALYPSO_DEMO_LATENCY", "fast", "is not RULE=DURATION"),
        (
            "KALYPSO_DEMO_LATENCY",
            "zero,helm upgrade=soon",
            "is not a duration",
        ),
        (
            "KALYPSO_DEMO_CHATTER",
            "helm upgrade=lots",
            "is not a number of lines",
        ),
        ("KALYPSO_DEMO_CHATTER", "helm upgrade", "COMMAND=LINES"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .env(name, value)
            .args(["--demo", "--no-tui", "--non-interactive"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{name}={value}: {stderr}");
        for expected in [name, &format!("{value:?}"), says] {
            assert!(stderr.contains(expected), "{name}={value}: {stderr}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{name}={value} created {left:?}");
    }
}
