//! Polling of long operations with the real policies (`StepTimings::default()`): AKS
//! provisioning, cluster readiness and the health checks, each finishing at many moments
//! spread over minutes. Time is tokio's paused clock, so a 15 minute provisioning takes
//! microseconds and every figure is exact.

use std::time::Duration;

use kalypso_bootstrap::engine::{EventSink, Plan, StepId, StepTimings};
use kalypso_bootstrap::sim::Latency;
use kalypso_bootstrap::tools::retry::{poll_until, Poll, PollPolicy};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::UserError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::engine::{BenchWorld, TimedCall, TimedRunner};
use crate::{human, rows, Mode, Row};

/// What polling one policy over many completion times found.
struct Findings {
    name: &'static str,
    policy: PollPolicy,
    completions: usize,
    /// The largest (detection − completion) / (the wait during which it completed).
    worst_lag_ratio: f64,
    worst_lag: Duration,
    mean_lag: Duration,
    longest_wait: Duration,
    /// Every wait was at least the one before it.
    waits_grow: bool,
    most_checks: u32,
}

/// Poll an operation finishing `done_after` from now; the detection time and the waits.
async fn poll_once(policy: &PollPolicy, done_after: Duration) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let done_at = started + done_after;
    let mut waits = Vec::new();
    let outcome = poll_until(
        policy,
        &CancellationToken::new(),
        |status| waits.push(status.next_check_in),
        || async move {
            if Instant::now() >= done_at {
                Ok::<_, UserError>(Poll::Ready(()))
            } else {
                Ok(Poll::Pending("not yet".to_string()))
            }
        },
    )
    .await;
    assert!(outcome.is_ok(), "completed before the timeout");
    (started.elapsed(), waits)
}

async fn survey(
    name: &'static str,
    policy: PollPolicy,
    from: Duration,
    to: Duration,
    samples: usize,
) -> Findings {
    let mut findings = Findings {
        name,
        policy: policy.clone(),
        completions: samples,
        worst_lag_ratio: 0.0,
        worst_lag: Duration::ZERO,
        mean_lag: Duration::ZERO,
        longest_wait: Duration::ZERO,
        waits_grow: true,
        most_checks: 0,
    };
    let mut total_lag = Duration::ZERO;
    for index in 0..samples {
        // Spread over the range at an irrational step, so completions fall at every phase
        // of the poll intervals.
        let fraction = (index as f64 * 0.618_033_988_75).fract();
        let done_after = from + (to - from).mul_f64(fraction);
        let (detected, waits) = poll_once(&policy, done_after).await;
        let lag = detected - done_after;
        let in_effect = waits.last().copied().unwrap_or(policy.initial_interval);
        let ratio = lag.as_secs_f64() / in_effect.as_secs_f64();
        if ratio > findings.worst_lag_ratio {
            findings.worst_lag_ratio = ratio;
        }
        findings.worst_lag = findings.worst_lag.max(lag);
        total_lag += lag;
        findings.longest_wait = findings
            .longest_wait
            .max(waits.iter().copied().max().unwrap_or_default());
        findings.waits_grow &= waits.windows(2).all(|pair| pair[0] <= pair[1]);
        findings.most_checks = findings.most_checks.max(waits.len() as u32 + 1);
    }
    findings.mean_lag = total_lag / samples as u32;
    findings
}

pub fn measure(mode: Mode) -> Vec<Row> {
    let samples = mode.pick(500, 40);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a paused runtime");
    let timings = StepTimings::default();
    let minutes = |m: u64| Duration::from_secs(60 * m);
    let surveys = runtime.block_on(async {
        vec![
            survey(
                "AKS provisioning",
                timings.aks_provisioning.clone(),
                minutes(3),
                minutes(15),
                samples,
            )
            .await,
            survey(
                "cluster readiness",
                timings.cluster_ready.clone(),
                Duration::from_secs(1),
                minutes(5),
                samples,
            )
            .await,
            survey(
                "health checks",
                timings.health.clone(),
                Duration::from_secs(1),
                minutes(4),
                samples,
            )
            .await,
        ]
    });
    let worst = surveys
        .iter()
        .map(|f| f.worst_lag_ratio)
        .fold(0.0, f64::max);
    let over_cap = surveys
        .iter()
        .map(|f| f.longest_wait.as_secs_f64() / f.policy.max_interval.as_secs_f64())
        .fold(0.0, f64::max);
    let details: Vec<String> = surveys
        .iter()
        .map(|f| {
            format!(
                "{}: waits {} growing ×{} to the cap {}{}, {} completions, lag mean {} / worst {} ({:.2} of the wait it fell in), at most {} checks",
                f.name,
                human(f.policy.initial_interval),
                f.policy.multiplier,
                human(f.policy.max_interval),
                if f.waits_grow { "" } else { " (A WAIT SHRANK)" },
                f.completions,
                human(f.mean_lag),
                human(f.worst_lag),
                f.worst_lag_ratio,
                f.most_checks
            )
        })
        .collect();
    let grow = surveys.iter().all(|f| f.waits_grow);
    vec![
        Row::new(rows::POLLING_LAG, format!("{worst:.2} interval"), worst).note(format!(
            "the real policies on tokio's paused clock: {}",
            details.join("; ")
        )),
        Row::new(
            rows::POLLING_CAP,
            format!("{over_cap:.2}"),
            if grow { over_cap } else { f64::INFINITY },
        ),
    ]
}

/// One `az aks show` of the wait: when the engine issued it, when its answer came back,
/// and whether the answer was `Succeeded`.
#[derive(Clone, Copy)]
struct ShowCheck {
    issued: Instant,
    answered: Instant,
    succeeded: bool,
}

impl ShowCheck {
    fn of(call: &TimedCall) -> Option<ShowCheck> {
        call.argv
            .starts_with(&["az".into(), "aks".into(), "show".into()])
            .then(|| ShowCheck {
                issued: call.called,
                answered: call.answered,
                succeeded: serde_json::from_str::<serde_json::Value>(&call.stdout)
                    .is_ok_and(|cluster| cluster["provisioningState"] == "Succeeded"),
            })
    }
}

/// The real AKS provisioning policy shrunk 100 times: 100 ms growing ×1.5 to 300 ms.
fn real_clock_policy() -> PollPolicy {
    let mut policy = StepTimings::default().aks_provisioning;
    policy.initial_interval /= 100;
    policy.max_interval /= 100;
    policy.timeout = policy.timeout.map(|timeout| timeout / 100);
    policy
}

/// What one real-clock provisioning wait found.
struct RealClockSample {
    provisioning: Duration,
    /// From the simulated completion to the start of the check that saw it.
    lag: Duration,
    /// The policy's wait after the last check that saw it pending.
    wait: Duration,
    /// That check's own answer time (the wait follows it).
    previous_answer: Duration,
    /// lag / (wait + previous answer + the scheduling allowance).
    ratio: f64,
    /// The longest gap from a pending check's answer to the next check, over the policy's
    /// wait after that check plus the allowance: every wait of the sample counts, not only
    /// the one the completion fell in.
    worst_wait_ratio: f64,
    checks: usize,
}

/// What the real clock may add to a wait on a shared 2-CPU machine: tokio's timers fire on
/// whole milliseconds, then the woken task waits for a thread. Stated in the row's target.
const SCHEDULING_ALLOWANCE: Duration = Duration::from_millis(5);

/// The engine's AKS provisioning step (pre-flight, resource group, `az aks create
/// --no-wait`, then `az aks show` until `Succeeded`) on a fresh simulated world whose AKS
/// takes `provisioning`, on the real clock.
async fn provision_once(provisioning: Duration, policy: &PollPolicy) -> RealClockSample {
    let world = BenchWorld::new();
    let runner = TimedRunner::new(&world.sim);
    let timings = StepTimings {
        aks_provisioning: policy.clone(),
        ..StepTimings::default()
    };
    let bootstrap = world.open_with(runner.clone(), timings).await;
    let cancel = CancellationToken::new();
    let (warnings, _unread) = EventSink::channel();
    let observed = bootstrap
        .observe_reporting(&cancel, &warnings)
        .await
        .expect("observation");
    let wanted = [
        StepId::ClusterPreflight,
        StepId::ClusterResourceGroup,
        StepId::ClusterCreate,
    ];
    let plan = Plan::new(
        bootstrap
            .plan(&observed)
            .steps
            .into_iter()
            .filter(|step| wanted.contains(&step.id))
            .map(|mut step| {
                step.depends_on.retain(|id| wanted.contains(id));
                step
            })
            .collect(),
    );
    assert_eq!(
        plan.steps.len(),
        wanted.len(),
        "the cluster steps are planned"
    );
    world
        .sim
        .set_latency(Latency::zero().with_aks_provisioning(provisioning));
    world.sim.clear_calls();
    runner.take();
    let (events, mut receiver) = EventSink::channel();
    let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let outcome = bootstrap.run(&world.active(), &plan, events, &cancel).await;
    drop(bootstrap);
    let _ = drain.await;
    assert!(
        outcome.is_success(),
        "the provisioning failed: {:?}",
        outcome.end
    );
    let created = world
        .sim
        .calls()
        .into_iter()
        .find(|call| {
            call.program == "az" && call.args.starts_with(&["aks".into(), "create".into()])
        })
        .expect("az aks create ran")
        .started;
    // The checks of the wait: those after the create (one before it asked whether the
    // cluster existed).
    let checks: Vec<ShowCheck> = runner
        .take()
        .iter()
        .filter_map(ShowCheck::of)
        .filter(|check| check.issued >= created)
        .collect();
    let seen = checks
        .iter()
        .position(|check| check.succeeded)
        .expect("a check saw Succeeded");
    assert!(
        checks[seen..].len() == 1,
        "the wait stops at the first Succeeded"
    );
    assert!(
        seen > 0,
        "the first check, right after the create, sees the cluster pending"
    );
    let before = checks[seen - 1];
    // The simulated AKS completes `provisioning` after it ran the create, which it did
    // when the call arrived (zero latency); the check before saw it pending, so it
    // completed after that check was issued.
    let completed = (created + provisioning).max(before.issued);
    let lag = checks[seen].issued.saturating_duration_since(completed);
    // The pending check before it was the `seen`-th (1-based): the wait after it.
    let wait = policy.interval(seen as u32);
    let previous_answer = before.answered - before.issued;
    // The n-th pending check (1-based) is followed by the policy's n-th wait.
    let worst_wait_ratio = checks
        .windows(2)
        .enumerate()
        .map(|(index, pair)| {
            let gap = pair[1].issued.saturating_duration_since(pair[0].answered);
            let allowed = policy.interval(index as u32 + 1) + SCHEDULING_ALLOWANCE;
            gap.as_secs_f64() / allowed.as_secs_f64()
        })
        .fold(0.0, f64::max);
    RealClockSample {
        provisioning,
        lag,
        wait,
        previous_answer,
        ratio: lag.as_secs_f64() / (wait + previous_answer + SCHEDULING_ALLOWANCE).as_secs_f64(),
        worst_wait_ratio,
        checks: checks.len(),
    }
}

/// The engine's real AKS provisioning wait on the real clock (a normal tokio runtime)
/// against a simulated AKS that completes at seeded random times: how long after the
/// completion the wait looked again, in poll intervals.
pub fn measure_real_clock(mode: Mode) -> Vec<Row> {
    let samples = mode.pick(30, 3);
    let policy = real_clock_policy();
    let mut random = StdRng::seed_from_u64(19);
    let runtime = crate::engine::runtime();
    let found: Vec<RealClockSample> = runtime.block_on(async {
        let mut found = Vec::new();
        for _ in 0..samples {
            let provisioning = Duration::from_millis(random.gen_range(150..=900));
            found.push(provision_once(provisioning, &policy).await);
        }
        found
    });
    let worst = found
        .iter()
        .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
        .expect("samples");
    let mean_ratio = found.iter().map(|s| s.ratio).sum::<f64>() / found.len() as f64;
    let mean_lag = found.iter().map(|s| s.lag).sum::<Duration>() / found.len() as u32;
    let worst_wait = found.iter().map(|s| s.worst_wait_ratio).fold(0.0, f64::max);
    vec![Row::new(
        rows::POLLING_REAL_CLOCK,
        format!(
            "{:.2} interval (mean {mean_ratio:.2}); every wait ≤ {worst_wait:.2} of its interval",
            worst.ratio
        ),
        worst.ratio.max(worst_wait),
    )
    .note(format!(
        "the engine's AKS provisioning step (`az aks create --no-wait`, then `az aks show` until Succeeded) on a normal tokio runtime, its policy StepTimings::default().aks_provisioning shrunk 100 times ({} growing ×{} to {}), {samples} simulated AKS clusters done after seeded random times of 150 to 900 ms; \
         lag = the check that saw Succeeded issued − the completion, in intervals of (the policy's wait after the last pending check + that check's own answer + {} for the timer tick and scheduling); \
         and every gap between a pending check's answer and the next check against the policy's wait there + {}; \
         mean lag {}; worst {:.2}: provisioning {}, lag {} after a wait of {} (previous answer {}), {} checks",
        human(policy.initial_interval),
        policy.multiplier,
        human(policy.max_interval),
        human(SCHEDULING_ALLOWANCE),
        human(SCHEDULING_ALLOWANCE),
        human(mean_lag),
        worst.ratio,
        human(worst.provisioning),
        human(worst.lag),
        human(worst.wait),
        human(worst.previous_answer),
        worst.checks,
    ))]
}
