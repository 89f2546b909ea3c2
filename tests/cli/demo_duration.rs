//! The demo's default latencies make a full run last about 20 to 40 seconds (the issue's
//! "realistic but short"). Computed, not timed: the demo runs once over a simulated
//! environment where every call takes a few milliseconds, every call it makes is recorded
//! and given its latency from [`Latency::demo`], and the run's duration is the prerequisite
//! check, then the observation, then the longest dependency chain of the plan (steps run
//! concurrently where the plan lets them). Within each of these, calls made one after the
//! other add up and calls made together (concurrent probes and health checks) count once.
//! Which calls overlapped is read from when each started and returned in the recording, not
//! from how long a call should take there: a slow machine stretches calls, which changes
//! no order.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::support::consented::ConsentedBootstrap;
use crate::support::plan_analysis::{PlanAnalysis, RunTimeline};
use kalypso_bootstrap::config::lifecycle::{Active, Uninitialized};
use kalypso_bootstrap::config::ConfigLayer;
use kalypso_bootstrap::engine::{
    Bootstrap, BootstrapOptions, EventSink, RunOutcome, StepId, StepTimings,
};
use kalypso_bootstrap::prereq::{self, Interaction, PrereqEnv};
use kalypso_bootstrap::sim::{CallRecord, Latency, SimulatedEnvironment};
use kalypso_bootstrap::tools::CancellationToken;

/// Each simulated call takes at least this long in the recorded run: long enough that a
/// call lies well inside the step that made it (steps run one at a time there), short
/// enough for a quick test.
const RECORDING_LATENCY: Duration = Duration::from_millis(5);

/// The demo latency of one recorded call (git runs for real: only a rule naming it counts).
fn demo_latency(demo: &Latency, call: &CallRecord) -> Duration {
    if call.program == "git" {
        return demo.for_delegated(&call.program, &call.args);
    }
    let mut words = vec![call.program.clone()];
    words.extend(call.words.iter().cloned());
    let latency = demo.for_command(&words);
    if call.program == "az" && call.words.starts_with(&["aks".into(), "create".into()]) {
        // `--no-wait` returns at once; the step then polls until provisioning is over.
        let poll = kalypso_bootstrap::demo::step_timings()
            .aks_provisioning
            .max_interval;
        return latency.max(demo.aks_provisioning) + poll;
    }
    latency
}

/// How long `calls` take with the demo latencies: the longest sequence of calls each made
/// after the one before it had returned (in the recording); calls that overlapped there
/// run concurrently.
fn critical_path(demo: &Latency, calls: &[&CallRecord]) -> Duration {
    let mut calls = calls.to_vec();
    calls.sort_by_key(|call| call.started);
    let mut finish: Vec<Duration> = Vec::with_capacity(calls.len());
    for (index, call) in calls.iter().enumerate() {
        let after = (0..index)
            .filter(|&earlier| {
                let returned = calls[earlier]
                    .finished
                    .unwrap_or_else(|| panic!("{} never returned", calls[earlier].command_line()));
                // A call the simulation answers without its latency (a program it does not
                // have) still stands for a call that takes time.
                returned.max(calls[earlier].started + RECORDING_LATENCY) <= call.started
            })
            .map(|earlier| finish[earlier])
            .max()
            .unwrap_or_default();
        finish.push(after + demo_latency(demo, call));
    }
    finish.into_iter().max().unwrap_or_default()
}

fn total(demo: &Latency, calls: &[CallRecord]) -> Duration {
    critical_path(demo, &calls.iter().collect::<Vec<_>>())
}

/// Each step's demo latency: the calls made while it ran.
fn step_weights(
    demo: &Latency,
    outcome: &RunOutcome,
    started: tokio::time::Instant,
    calls: &[CallRecord],
) -> HashMap<StepId, Duration> {
    let tolerance = RECORDING_LATENCY / 2;
    let mut by_step: HashMap<StepId, Vec<&CallRecord>> = HashMap::new();
    for call in calls {
        let offset = call.started.saturating_duration_since(started);
        let owner = outcome
            .step_running_at(offset, tolerance)
            .unwrap_or_else(|| panic!("{} at {offset:?} is in no step", call.command_line()));
        by_step.entry(owner).or_default().push(call);
    }
    by_step
        .into_iter()
        .map(|(step, calls)| (step, critical_path(demo, &calls)))
        .collect()
}

fn demo_configuration() -> Active {
    let mut flags = ConfigLayer::default();
    flags.cluster.name = Some("kalypso-demo".to_string());
    Uninitialized::new()
        .parse(flags, None, &HashMap::new())
        .expect("the flags parse")
        .validate(&[])
        .expect("the configuration is valid")
        .confirm()
        .activate()
}

struct Estimate {
    prerequisites: Duration,
    observation: Duration,
    chain: Duration,
    chain_steps: Vec<StepId>,
    weights: HashMap<StepId, Duration>,
}

impl Estimate {
    fn total(&self) -> Duration {
        self.prerequisites + self.observation + self.chain
    }
}

async fn estimate(root: &Path) -> Estimate {
    let demo = Latency::demo();
    let sim = SimulatedEnvironment::demo(root.join("sim")).expect("the demo world");
    sim.set_latency(Latency::fixed(RECORDING_LATENCY));
    let runner = Arc::new(sim.clone());

    sim.clear_calls();
    let report = prereq::check(
        runner.clone(),
        &PrereqEnv::from_lookup(|_| None),
        &Interaction::NonInteractive,
    )
    .await;
    assert!(report.passed(), "{}", report.render_text());
    let prerequisites = total(&demo, &sim.calls());

    let options = BootstrapOptions {
        timings: StepTimings::fast(),
        ..kalypso_bootstrap::demo::bootstrap_options()
    };
    let active = demo_configuration();
    let bootstrap = Bootstrap::open(
        active.configuration().clone(),
        runner,
        report.github_token().cloned(),
        kalypso_bootstrap::demo::demo_paths(&sim, Some(root.join("state.json")), None),
        options,
    )
    .expect("the bootstrap opens");
    let cancel = CancellationToken::new();
    sim.clear_calls();
    let observed = bootstrap.observe(&cancel).await.expect("the observation");
    let observation = total(&demo, &sim.calls());

    let plan = bootstrap.plan(&observed);
    sim.clear_calls();
    let (events, mut receiver) = EventSink::channel();
    let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let started = tokio::time::Instant::now();
    let outcome = bootstrap
        .run(&active, &plan.one_at_a_time(), events, &cancel)
        .await;
    drop(bootstrap);
    let _ = drain.await;
    assert!(outcome.is_success(), "{:?}", outcome.end);
    let weights = step_weights(&demo, &outcome, started, &sim.calls());
    let (chain, chain_steps) = plan.longest_chain(&weights);
    Estimate {
        prerequisites,
        observation,
        chain,
        chain_steps,
        weights,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_demo_run_lasts_between_20_and_40_seconds_with_the_demo_latencies() {
    let dir = tempfile::tempdir().unwrap();
    let estimate = estimate(dir.path()).await;
    let chain: Vec<String> = estimate
        .chain_steps
        .iter()
        .map(|step| {
            let weight = estimate.weights.get(step).copied().unwrap_or_default();
            format!("{step} {:.1}s", weight.as_secs_f64())
        })
        .collect();
    let explained = format!(
        "prerequisites {:.1}s + observation {:.1}s + longest chain {:.1}s ({}) = {:.1}s",
        estimate.prerequisites.as_secs_f64(),
        estimate.observation.as_secs_f64(),
        estimate.chain.as_secs_f64(),
        chain.join(" → "),
        estimate.total().as_secs_f64()
    );
    let total = estimate.total();
    assert!(
        (Duration::from_secs(20)..=Duration::from_secs(40)).contains(&total),
        "{explained}"
    );
    // The cluster's provisioning dominates: the chain goes through it.
    assert!(
        estimate.chain_steps.contains(&StepId::ClusterCreate),
        "{explained}"
    );
    eprintln!("{explained}");
}
