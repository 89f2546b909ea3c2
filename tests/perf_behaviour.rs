//! Behaviour behind the performance figures (`cargo bench`): the health checks query at
//! once, a test Workload refused before the CRDs exist is waited for rather than failed,
//! and a chatty command hands every line to its sink while what it keeps of its stderr
//! stays bounded. Timing is measured by the benchmark, not here: these tests assert what
//! happens, with latencies only to make overlapping calls observable.

mod e2e_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e_support::*;
use kalypso_bootstrap::engine::{
    Action, Bootstrap, EventKind, EventSink, Plan, PlannedStep, RunEnd, StepId,
};
use kalypso_bootstrap::sim::{kalypso_crd_names, Chatter, Latency};
use kalypso_bootstrap::tools::{
    BoxFuture, CancelToken, CommandOutput, CommandRunner, CommandSpec, LineSink, RunControl,
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
    let outcome = bootstrap.run(plan, events, &CancelToken::new()).await;
    let mut collected = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        collected.push(event);
    }
    (outcome, collected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    let (outcome, events) = run_plan(&bootstrap, &health_only()).await;
    assert!(outcome.is_success(), "{:?}", outcome.end);
    // Six queries and the test Workload's apply, all at once.
    assert_eq!(runner.most.load(Ordering::SeqCst), 7);
    let passing = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::HealthCheck { status, .. } if format!("{status:?}") == "Passing"))
        .count();
    assert_eq!(passing, 7, "every check passed once: {events:?}");
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
