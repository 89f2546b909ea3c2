//! Polling of long operations with the real policies (`StepTimings::default()`): AKS
//! provisioning, cluster readiness and the health checks, each finishing at many moments
//! spread over minutes. Time is tokio's paused clock, so a 15 minute provisioning takes
//! microseconds and every figure is exact.

use std::time::Duration;

use kalypso_bootstrap::engine::StepTimings;
use kalypso_bootstrap::tools::retry::{poll_until, Poll, PollPolicy};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::UserError;
use tokio::time::Instant;

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
