//! Latency profiles: commands take their configured time, stream progress lines while they
//! work, and stop on cancellation (leaving no effect when cancelled before taking effect).

use std::time::Duration;

// Every test runs on a paused clock: tokio's clock (which the simulator's latency sleeps on)
// moves only when every task waits, so the times below are exact and take no real time.
use tokio::time::Instant;

use crate::support::sim::*;
use kalypso_bootstrap::sim::{CallOutcome, Latency};
use kalypso_bootstrap::tools::{CancellationToken, CommandRunner, RunControl, RunError, Stream};

#[tokio::test(start_paused = true)]
async fn commands_take_their_profiled_latency() {
    let (_dir, env) = standard();
    env.set_latency(
        Latency::fixed(Duration::from_millis(20))
            .with_command("az group create", Duration::from_millis(300)),
    );
    let started = Instant::now();
    let missing = run(&env, spec("az", &["group", "show", "-n", "x"])).await;
    assert_eq!(missing.exit_code, Some(3));
    let quick = started.elapsed();
    let started = Instant::now();
    ok(
        &env,
        spec("az", &["group", "create", "-n", "rg", "-l", "eastus"]),
    )
    .await;
    let slow = started.elapsed();
    assert_eq!(slow, Duration::from_millis(300));
    assert_eq!(quick, Duration::from_millis(20));
    assert!(
        Latency::demo().for_command(&["az".into(), "aks".into(), "create".into()])
            > Latency::demo().for_command(&["kubectl".into(), "get".into()])
    );
}

#[tokio::test(start_paused = true)]
async fn progress_lines_stream_before_the_command_finishes() {
    let (dir, env) = standard();
    let kc = cluster_with_context(&env, "rg", "c1", "ctx").await;
    ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "apply",
                "--server-side",
                "-f",
                "https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml",
            ],
        ),
    )
    .await;
    env.set_latency(Latency::zero().with_command("kubectl wait", Duration::from_millis(800)));
    let (sink, mut lines) = kalypso_bootstrap::tools::LineSink::channel();
    let started = Instant::now();
    let wait = env.run_with(
        kubectl(
            &kc,
            "ctx",
            &[
                "wait",
                "--for=condition=Available",
                "deployment",
                "--all",
                "-n",
                "flux-system",
                "--timeout=300s",
            ],
        ),
        RunControl::default().with_sink(sink),
    );
    let watcher = async {
        let first = lines.recv().await.expect("a progress line");
        (first, started.elapsed())
    };
    let (output, (first, first_at)) = tokio::join!(wait, watcher);
    let output = output.unwrap();
    assert_eq!(first.stream, Stream::Stdout);
    assert!(first.line.ends_with("condition met"), "{first:?}");
    assert!(
        first_at < output.duration,
        "the first line arrived while the command was still working"
    );
    assert_eq!(output.duration, Duration::from_millis(800));
    let mut all = vec![first.line];
    while let Ok(line) = lines.try_recv() {
        all.push(line.line);
    }
    assert_eq!(
        all.join("\n"),
        output.stdout.trim_end(),
        "streamed lines are the output, in order"
    );
    drop(dir);
}

#[tokio::test(start_paused = true)]
async fn cancelling_early_leaves_no_trace_and_late_leaves_the_effect() {
    let (_dir, env) = standard();
    env.set_latency(Latency::zero().with_command("az group create", Duration::from_millis(400)));
    let cancel_after = |ms: u64| {
        let token = CancellationToken::new();
        let trigger = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            trigger.cancel();
        });
        token
    };
    let before = env.snapshot();
    let early = env
        .run_with(
            spec("az", &["group", "create", "-n", "early", "-l", "eastus"]),
            RunControl::default().with_cancel(cancel_after(50)),
        )
        .await
        .unwrap_err();
    assert!(matches!(early, RunError::Cancelled { .. }));
    assert_same_state(&before, &env.snapshot());
    assert_eq!(env.calls().last().unwrap().outcome, CallOutcome::Cancelled);

    let late = env
        .run_with(
            spec("az", &["group", "create", "-n", "late", "-l", "eastus"]),
            RunControl::default().with_cancel(cancel_after(300)),
        )
        .await
        .unwrap_err();
    assert!(matches!(late, RunError::Cancelled { .. }));
    assert!(
        env.snapshot().azure.resource_groups.contains_key("late"),
        "the request had reached Azure"
    );

    let cancelled = CancellationToken::new();
    cancelled.cancel();
    let at_once = env
        .run_with(
            spec("az", &["version"]),
            RunControl::default().with_cancel(cancelled),
        )
        .await
        .unwrap_err();
    assert!(matches!(at_once, RunError::Cancelled { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_command_slower_than_its_timeout_times_out() {
    let (_dir, env) = standard();
    env.set_latency(Latency::fixed(Duration::from_millis(500)));
    let err = env
        .run(spec("az", &["version"]).timeout(Duration::from_millis(100)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::TimedOut { after, .. } if after == Duration::from_millis(100)),
        "{err}"
    );
}
