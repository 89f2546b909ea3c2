//! Behaviour behind the performance figures (`cargo bench`): the health checks query at
//! once, a test Workload refused before the CRDs exist is waited for rather than failed,
//! a chatty child hands every line to the runner's sink while what it keeps of its stderr
//! stays bounded, and the demo's stand-in runner answers through real children. Timing is measured by the benchmark, not here: these tests assert what
//! happens, with latencies only to make overlapping calls observable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::e2e::*;
use crate::support::process::HANG_GUARD;
use kalypso_bootstrap::demo::{StandIn, StandInRunner};
use kalypso_bootstrap::engine::{
    Action, Bootstrap, EventKind, EventSink, Plan, PlannedStep, RunEnd, StepId,
};
use kalypso_bootstrap::sim::{chatter_line, kalypso_crd_names, Chatter, Latency};
use kalypso_bootstrap::tools::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, LineSink,
    OutputCapture, OutputLine, ProcessRunner, RunControl, RunError, Stream, STDERR_KEPT_BYTES,
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

/// Every line of a channel's sink, once the run holding the sink has ended.
async fn lines_of(
    mut received: tokio::sync::mpsc::UnboundedReceiver<OutputLine>,
) -> Vec<OutputLine> {
    let mut lines = Vec::new();
    while let Some(line) = received.recv().await {
        lines.push(line);
    }
    lines
}

/// The first place two long lists of lines differ, for a readable failure.
fn first_difference(got: &[String], expected: &[String]) -> Option<String> {
    let at = got.iter().zip(expected).position(|(g, e)| g != e);
    match at {
        Some(at) => Some(format!(
            "line {at}: got {:?}, expected {:?}",
            got[at], expected[at]
        )),
        None if got.len() != expected.len() => {
            Some(format!("{} lines, expected {}", got.len(), expected.len()))
        }
        None => None,
    }
}

/// How many lines a bounded stderr says it left out (`[… N lines (B bytes) …]`).
fn left_out_lines(stderr: &str) -> usize {
    let marker = stderr
        .lines()
        .find(|line| line.starts_with("[… ") && line.contains("left out here"))
        .unwrap_or_else(|| panic!("no left-out marker in the kept stderr"));
    marker["[… ".len()..]
        .split(' ')
        .next()
        .and_then(|count| count.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no line count in {marker:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatty_command_streams_every_line_and_keeps_a_bounded_stderr() {
    // A real child through real pipes and the real runner: a distinctive first line,
    // numbered lines well past the bound, then its error as the last line.
    let lines = 50_000;
    let script = format!(
        "echo 'FIRST: starting' >&2; seq -f 'chatter %.0f' 1 {lines} >&2; echo 'ERROR: the last line' >&2; exit 3"
    );
    let (sink, received) = LineSink::channel();
    let output = ProcessRunner::new()
        .run_with(
            CommandSpec::new("sh").args(["-c", &script]),
            RunControl::default().with_sink(sink),
        )
        .await
        .expect("sh runs");
    assert_eq!(output.exit_code, Some(3));

    let expected: Vec<String> = std::iter::once("FIRST: starting".to_string())
        .chain((1..=lines).map(|i| format!("chatter {i}")))
        .chain(std::iter::once("ERROR: the last line".to_string()))
        .collect();
    let streamed = lines_of(received).await;
    assert!(streamed.iter().all(|line| line.stream == Stream::Stderr));
    let streamed: Vec<String> = streamed.into_iter().map(|line| line.line).collect();
    if let Some(difference) = first_difference(&streamed, &expected) {
        panic!("every line reaches the sink, in order: {difference}");
    }

    // What is kept: the first and the last parts, each within half the bound, around a
    // line saying what was left out; the middle is gone.
    let kept = &output.stderr;
    assert!(
        kept.len() <= STDERR_KEPT_BYTES + 100,
        "stderr kept {} bytes, bound {STDERR_KEPT_BYTES}",
        kept.len()
    );
    assert!(
        kept.starts_with("FIRST: starting\nchatter 1\nchatter 2\n"),
        "{}",
        &kept[..200]
    );
    assert!(
        kept.ends_with(&format!(
            "chatter {}\nchatter {lines}\nERROR: the last line\n",
            lines - 1
        )),
        "{}",
        &kept[kept.len() - 200..]
    );
    assert!(!kept.contains(&format!("\nchatter {}\n", lines / 2)));
    let kept_lines = kept.lines().count() - 1;
    assert_eq!(
        kept_lines + left_out_lines(kept),
        expected.len(),
        "the kept lines and the left-out count add up to every line"
    );
    let (head, tail) = kept.split_once("[… ").expect("the marker");
    let tail = tail.split_once('\n').expect("the marker's line").1;
    assert!(head.len() <= STDERR_KEPT_BYTES / 2 && tail.len() <= STDERR_KEPT_BYTES / 2);
}

/// The demo's stand-in runner: a simulated command's answer (stdout, stderr, exit code)
/// and its chatter come through a real child, read by the real runner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_stand_in_answers_through_a_real_child_with_output_exit_code_and_chatter() {
    let harness = Harness::new();
    let lines: u64 = 30_000;
    let simulated: Arc<dyn CommandRunner> = Arc::new(harness.sim.clone());
    let chatter = Chatter::none().with_command("az group", lines);

    // A failure with chatter: every chatter line streamed in order, then the command's
    // own error, kept at the end of the bounded stderr where adapters read it.
    let runner = StandInRunner::new(simulated.clone(), chatter.clone(), StandIn::Chatter);
    let (sink, received) = LineSink::channel();
    let show = CommandSpec::new("az").args(["group", "show", "--name", "missing"]);
    let output = runner
        .run_with(show.clone(), RunControl::default().with_sink(sink))
        .await
        .expect("the stand-in answers");
    let direct = simulated.run(show).await.expect("the simulated az answers");
    assert_eq!(output.exit_code, Some(3));
    assert_eq!(output.exit_code, direct.exit_code);
    assert!(output.stdout.is_empty() && direct.stdout.is_empty());
    let words: Vec<String> = ["az", "group", "show"].map(String::from).to_vec();
    let expected: Vec<String> = (0..lines)
        .map(|index| chatter_line(&words, index))
        .chain(direct.stderr.lines().map(str::to_string))
        .collect();
    let streamed: Vec<String> = lines_of(received)
        .await
        .into_iter()
        .map(|line| line.line)
        .collect();
    if let Some(difference) = first_difference(&streamed, &expected) {
        panic!("the stand-in's lines reach the sink, in order: {difference}");
    }
    // Bounded by the real runner's capture (the simulator prints no chatter of its own).
    assert!(output.stderr.len() <= STDERR_KEPT_BYTES + 100);
    assert!(
        output.stderr.ends_with(&direct.stderr),
        "{}",
        &output.stderr[output.stderr.len() - 300..]
    );
    assert!(output.stderr.starts_with(&chatter_line(&words, 0)));
    assert_eq!(
        output.stderr.lines().count() - 1 + left_out_lines(&output.stderr),
        expected.len()
    );

    // Every command through a stand-in: a success's stdout is the simulated answer,
    // streamed; a secret stdout is collected but never streamed.
    let runner = StandInRunner::new(simulated.clone(), Chatter::none(), StandIn::All);
    let (sink, received) = LineSink::channel();
    let account = CommandSpec::new("az").args(["account", "show", "-o", "json"]);
    let output = runner
        .run_with(account.clone(), RunControl::default().with_sink(sink))
        .await
        .expect("the stand-in answers");
    let direct = simulated
        .run(account)
        .await
        .expect("the simulated az answers");
    assert_eq!(output.exit_code, Some(0));
    assert!(output.stdout.contains(SUBSCRIPTION), "{}", output.stdout);
    assert_eq!(output.stdout, direct.stdout);
    let streamed = lines_of(received).await;
    assert_eq!(
        streamed
            .iter()
            .filter(|line| line.stream == Stream::Stdout)
            .count(),
        direct.stdout.lines().count()
    );

    let (sink, received) = LineSink::channel();
    let token = CommandSpec::new("gh")
        .args(["auth", "token"])
        .secret_env("GH_TOKEN", SecretString::from(CANARY))
        .secret_stdout();
    let output = runner
        .run_with(token, RunControl::default().with_sink(sink))
        .await
        .expect("the stand-in answers");
    assert_eq!(output.exit_code, Some(0));
    assert_eq!(output.stdout.trim_end(), CANARY);
    let streamed = lines_of(received).await;
    assert!(
        streamed.iter().all(|line| !line.line.contains(CANARY)),
        "{streamed:?}"
    );

    // A cancellation stops the child: a chatty command cancelled while it prints. Nobody
    // reads its lines after the first (were the cancellation broken, 100M lines would not
    // pile up in the channel), and a run that does not end fails at the hang guard.
    let runner = StandInRunner::new(
        simulated,
        Chatter::none().with_command("az group", 100_000_000),
        StandIn::Chatter,
    );
    let cancel = CancellationToken::new();
    let (sink, mut received) = LineSink::channel();
    let run = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            runner
                .run_with(
                    CommandSpec::new("az").args(["group", "show", "--name", "missing"]),
                    RunControl::default().with_sink(sink).with_cancel(cancel),
                )
                .await
        }
    });
    received.recv().await.expect("the child prints");
    drop(received);
    cancel.cancel();
    let stopped = tokio::time::timeout(HANG_GUARD, run)
        .await
        .unwrap_or_else(|_| {
            panic!("hang guard: the cancelled stand-in still runs after {HANG_GUARD:?}")
        })
        .expect("the run ends");
    match stopped {
        Err(RunError::Cancelled { command }) => {
            assert_eq!(command, "az group show --name missing")
        }
        other => panic!("cancelled, got {other:?}"),
    }
}

/// Answers every command with the same output: a simulated tool with an answer of any
/// size and any bytes.
struct Answering(CommandOutput);

impl CommandRunner for Answering {
    fn run_with(
        &self,
        _spec: CommandSpec,
        _control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        let answer = self.0.clone();
        Box::pin(async move { Ok(answer) })
    }
}

/// Text of about `bytes` bytes in numbered lines, with a NUL byte and a non-ASCII letter
/// in each: bytes no environment variable can carry.
fn long_text(what: &str, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 100);
    let mut index = 0;
    while text.len() < bytes {
        text.push_str(&format!("{what} line {index}: \0 é {}\n", "x".repeat(60)));
        index += 1;
    }
    text
}

/// A stand-in prints a simulated answer of any size and any bytes as the simulator gave
/// it: a 200 KiB and a 4 MiB stderr (beyond what environment variables carry: about
/// 2 MiB in all, none with a NUL byte), with a stdout of a few MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stand_in_prints_a_long_stdout_and_stderr_with_any_bytes_as_simulated() {
    for (stdout_bytes, stderr_bytes) in [(3 * 1024 * 1024, 200 * 1024), (0, 4 * 1024 * 1024)] {
        let simulated: Arc<dyn CommandRunner> = Arc::new(Answering(CommandOutput {
            exit_code: Some(1),
            stdout: long_text("out", stdout_bytes),
            stderr: long_text("err", stderr_bytes),
            duration: Duration::ZERO,
        }));
        let runner = StandInRunner::new(simulated.clone(), Chatter::none(), StandIn::All);
        let spec = CommandSpec::new("kubectl").args(["get", "pods", "-A"]);
        let (sink, received) = LineSink::channel();
        let output = runner
            .run_with(spec.clone(), RunControl::default().with_sink(sink))
            .await
            .unwrap_or_else(|error| {
                panic!("the stand-in answers ({stdout_bytes} B out, {stderr_bytes} B err): {error}")
            });
        let direct = simulated.run(spec).await.expect("the simulated answer");
        assert_eq!(output.exit_code, direct.exit_code);
        assert!(
            output.stdout == direct.stdout,
            "stdout of {stdout_bytes} B differs"
        );
        let mut kept = OutputCapture::bounded(STDERR_KEPT_BYTES);
        kept.push_text(&direct.stderr);
        assert!(
            output.stderr == kept.finish(),
            "the kept stderr of {stderr_bytes} B differs"
        );
        let streamed: Vec<String> = lines_of(received)
            .await
            .into_iter()
            .filter(|line| line.stream == Stream::Stderr)
            .map(|line| line.line)
            .collect();
        let expected: Vec<String> = direct.stderr.lines().map(str::to_string).collect();
        if let Some(difference) = first_difference(&streamed, &expected) {
            panic!("every stderr line of {stderr_bytes} B is streamed: {difference}");
        }
    }
}

/// A stand-in's timeout is the simulated command's: a chatty command (100M lines) given
/// 1 s times out as that command, after that 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stand_in_times_out_as_the_simulated_command() {
    let harness = Harness::new();
    let simulated: Arc<dyn CommandRunner> = Arc::new(harness.sim.clone());
    let runner = StandInRunner::new(
        simulated,
        Chatter::none().with_command("az group", 100_000_000),
        StandIn::Chatter,
    );
    let spec = CommandSpec::new("az")
        .args(["group", "show", "--name", "missing"])
        .timeout(Duration::from_secs(1));
    let display = spec.display();
    let outcome = tokio::time::timeout(HANG_GUARD, runner.run(spec))
        .await
        .unwrap_or_else(|_| panic!("hang guard: the 1 s timeout never came in {HANG_GUARD:?}"));
    match outcome {
        Err(RunError::TimedOut { command, after }) => {
            assert_eq!(command, display);
            assert_eq!(command, "az group show --name missing");
            assert_eq!(after, Duration::from_secs(1));
        }
        other => panic!("timed out, got {other:?}"),
    }
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

/// `KALYPSO_DEMO_LATENCY`, `KALYPSO_DEMO_CHATTER` and `KALYPSO_DEMO_STAND_IN` with a value they cannot use: exit 64,
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
        ("KALYPSO_DEMO_STAND_IN", "every", "it must be `all`"),
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
