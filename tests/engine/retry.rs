//! Retries of transient failures and polling of long operations: bounded, honouring the
//! server's wait, cancellable, and prompt to notice completion.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// On a paused clock (`start_paused`), tokio's clock moves only when every task waits on a
// timer: the waits below are then exact, and take no real time.
use tokio::time::Instant;

use crate::support::engine::*;
use kalypso_bootstrap::engine::retry::{poll_step, retry_step};
use kalypso_bootstrap::engine::{EventKind, EventSink, Facts, StepContext, StepId};
use kalypso_bootstrap::tools::retry::{
    poll_until, retry, Poll, PollError, PollPolicy, RetryError, RetryPolicy, RetryWait,
};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::ExitCode;
use kalypso_bootstrap::UserError;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_delay: MS(10),
        multiplier: 2.0,
        max_delay: MS(40),
        max_server_delay: MS(500),
    }
}

fn transient(message: &str) -> UserError {
    UserError::in_step(StepId::GitopsSecrets, message).transient()
}

#[tokio::test]
async fn transient_failures_are_retried_with_growing_waits_until_success() {
    let attempts = AtomicU32::new(0);
    let mut waits: Vec<RetryWait> = Vec::new();
    let result = retry(
        &fast_policy(),
        &CancellationToken::new(),
        |wait| waits.push(wait.clone()),
        |attempt| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 3 {
                    Err(transient("HTTP 502"))
                } else {
                    Ok(attempt)
                }
            }
        },
    )
    .await;
    assert_eq!(result, Ok(3));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let delays: Vec<_> = waits.iter().map(|w| w.delay).collect();
    assert_eq!(delays, vec![MS(10), MS(20)]);
    assert_eq!(waits[0].attempt, 1);
    assert_eq!(waits[0].reason, "HTTP 502");
    assert!(!waits[0].requested_by_server);
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    let attempts = AtomicU32::new(0);
    let result: Result<(), _> = retry(
        &fast_policy(),
        &CancellationToken::new(),
        |_| {},
        |_| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async {
                Err(UserError::in_step(
                    StepId::GitopsRepo,
                    "name already exists",
                ))
            }
        },
    )
    .await;
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert!(matches!(
        result,
        Err(RetryError::Failed { attempts: 1, .. })
    ));
}

#[tokio::test]
async fn retries_are_bounded() {
    let attempts = AtomicU32::new(0);
    let result: Result<(), _> = retry(
        &fast_policy(),
        &CancellationToken::new(),
        |_| {},
        |_| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err(transient("timeout")) }
        },
    )
    .await;
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    match result {
        Err(RetryError::Failed { error, attempts }) => {
            assert_eq!(attempts, 4);
            assert_eq!(error.message, "timeout");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_given_reset_time_is_honoured() {
    let mut waits = Vec::new();
    let started = Instant::now();
    let result = retry(
        &fast_policy(),
        &CancellationToken::new(),
        |wait: &RetryWait| waits.push(wait.clone()),
        |attempt| async move {
            if attempt == 1 {
                Err(
                    UserError::in_step(StepId::GitopsSecrets, "HTTP 429: rate limited")
                        .with_retry_after(MS(150)),
                )
            } else {
                Ok(())
            }
        },
    )
    .await;
    assert!(result.is_ok());
    assert_eq!(started.elapsed(), MS(150));
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].delay, MS(150));
    assert!(waits[0].requested_by_server);
}

#[tokio::test(start_paused = true)]
async fn a_reset_time_beyond_the_limit_fails_at_once_with_a_hint() {
    let state = TempState::new();
    let (events, _receiver) = EventSink::channel();
    let ctx = StepContext::new(
        StepId::GitopsSecrets,
        events,
        state.handle.clone(),
        Facts::new(),
        CancellationToken::new(),
    );
    let started = Instant::now();
    let result: Result<(), _> = retry_step(&ctx, &fast_policy(), "set secrets", |_| async {
        Err(
            UserError::in_step(StepId::GitopsSecrets, "HTTP 403: API rate limit exceeded")
                .with_retry_after(Duration::from_secs(3600)),
        )
    })
    .await;
    assert_eq!(started.elapsed(), Duration::ZERO, "no wait at all");
    let error = result.unwrap_err();
    assert_eq!(error.exit_code, ExitCode::RepositoryFailed);
    assert!(
        error.hint.as_deref().unwrap().contains("1h 00m"),
        "{:?}",
        error.hint
    );
}

/// The hint of a rate limit that ended the run says what happens: the user runs again. It
/// never also claims the step is retried (it was not: the run ended).
#[tokio::test]
async fn a_rate_limit_hint_says_to_run_again_and_only_that() {
    use kalypso_bootstrap::tools::classify::{ErrorClass, RateLimitReset, ToolKind};
    let state = TempState::new();
    let (events, _receiver) = EventSink::channel();
    let ctx = StepContext::new(
        StepId::GitopsSecrets,
        events,
        state.handle.clone(),
        Facts::new(),
        CancellationToken::new(),
    );
    let class = ErrorClass::RateLimited {
        reset: Some(RateLimitReset::After(Duration::from_secs(3600))),
    };
    for with_class_hint in [true, false] {
        let result: Result<(), _> = retry_step(&ctx, &fast_policy(), "set secrets", |_| {
            let mut error =
                UserError::in_step(StepId::GitopsSecrets, "HTTP 403: API rate limit exceeded")
                    .with_retry_after(Duration::from_secs(3600));
            if with_class_hint {
                error = error.with_hint(class.hint(ToolKind::Gh));
            }
            async move { Err(error) }
        })
        .await;
        let hint = result.unwrap_err().hint.unwrap().to_string();
        assert!(!hint.contains("retried"), "{hint}");
        assert_eq!(
            hint.matches("run the same command again").count(),
            1,
            "{hint}"
        );
        assert!(hint.contains("1h 00m"), "{hint}");
        assert!(
            hint.ends_with("run kalypso-bootstrap --explain rate-limited"),
            "{hint}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_a_wait_returns_at_once() {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(MS(50)).await;
        trigger.cancel();
    });
    let policy = RetryPolicy {
        initial_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(30),
        ..fast_policy()
    };
    let started = Instant::now();
    let result: Result<(), _> = retry(
        &policy,
        &cancel,
        |_| {},
        |_| async { Err(transient("busy")) },
    )
    .await;
    assert_eq!(
        started.elapsed(),
        MS(50),
        "ends when cancelled, not after 30 s"
    );
    assert!(matches!(
        result,
        Err(RetryError::Cancelled { attempts: 1, .. })
    ));
}

#[tokio::test]
async fn retry_step_reports_each_wait_as_progress() {
    let state = TempState::new();
    let (events, mut receiver) = EventSink::channel();
    let ctx = StepContext::new(
        StepId::GitopsSecrets,
        events,
        state.handle.clone(),
        Facts::new(),
        CancellationToken::new(),
    );
    let result: Result<(), _> = retry_step(&ctx, &fast_policy(), "set GITOPS_REPO", |_| async {
        Err(transient("HTTP 503"))
    })
    .await;
    let error = result.unwrap_err();
    assert!(
        error.message.contains("gave up after 4 attempts"),
        "{}",
        error.message
    );
    let progress: Vec<String> = drain(&mut receiver)
        .into_iter()
        .filter_map(|e| match e {
            EventKind::StepProgress {
                step: StepId::GitopsSecrets,
                message,
                ..
            } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(progress.len(), 3, "{progress:?}");
    assert!(progress[0].contains("set GITOPS_REPO") && progress[0].contains("HTTP 503"));
    assert!(
        progress[0].contains("retrying in 10ms") && progress[0].contains("attempt 2 of 4"),
        "{}",
        progress[0]
    );
}

fn fast_poll(timeout: Option<Duration>) -> PollPolicy {
    PollPolicy {
        initial_interval: MS(10),
        multiplier: 2.0,
        max_interval: MS(80),
        timeout,
    }
}

#[tokio::test(start_paused = true)]
async fn polling_notices_completion_within_one_capped_interval() {
    let started = Instant::now();
    let done_at = MS(400);
    let checks = AtomicU32::new(0);
    let result: Result<&str, PollError<UserError>> = poll_until(
        &fast_poll(None),
        &CancellationToken::new(),
        |_| {},
        || {
            checks.fetch_add(1, Ordering::SeqCst);
            let ready = started.elapsed() >= done_at;
            async move {
                Ok(if ready {
                    Poll::Ready("Succeeded")
                } else {
                    Poll::Pending("Creating".into())
                })
            }
        },
    )
    .await;
    let noticed = started.elapsed();
    assert_eq!(result.unwrap(), "Succeeded");
    assert!(noticed >= done_at);
    // At most one (capped) interval late.
    assert!(noticed <= done_at + MS(80), "noticed after {noticed:?}");
    // Backoff, not a busy loop: checks at 0, 10, 30, 70, 150, 230, 310, 390 and 470 ms.
    assert_eq!(noticed, MS(470));
    assert_eq!(checks.load(Ordering::SeqCst), 9);
}

#[tokio::test(start_paused = true)]
async fn polling_times_out_with_the_last_observed_state() {
    let state = TempState::new();
    let (events, mut receiver) = EventSink::channel();
    let ctx = StepContext::new(
        StepId::ClusterCreate,
        events,
        state.handle.clone(),
        Facts::new(),
        CancellationToken::new(),
    );
    let started = Instant::now();
    let result: Result<(), _> = poll_step(
        &ctx,
        &fast_poll(Some(MS(150))),
        "AKS provisioning",
        || async { Ok(Poll::Pending("provisioningState: Creating".into())) },
    )
    .await;
    let elapsed = started.elapsed();
    // The last check is right at the deadline, not an interval later.
    assert_eq!(elapsed, MS(150));
    let error = result.unwrap_err();
    assert_eq!(error.exit_code, ExitCode::ClusterFailed);
    assert!(
        error.message.contains("AKS provisioning"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("provisioningState: Creating"),
        "{}",
        error.message
    );
    let progress = drain(&mut receiver)
        .into_iter()
        .filter(
            |e| matches!(e, EventKind::StepProgress { message, .. } if message.contains("elapsed")),
        )
        .count();
    assert!(progress >= 2, "{progress}");
}

#[tokio::test(start_paused = true)]
async fn polling_ends_at_once_when_cancelled() {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(MS(50)).await;
        trigger.cancel();
    });
    let policy = PollPolicy {
        initial_interval: Duration::from_secs(10),
        multiplier: 1.0,
        max_interval: Duration::from_secs(10),
        timeout: None,
    };
    let started = Instant::now();
    let result: Result<(), PollError<UserError>> = poll_until(
        &policy,
        &cancel,
        |_| {},
        || async { Ok(Poll::Pending("waiting".into())) },
    )
    .await;
    assert!(matches!(result, Err(PollError::Cancelled)));
    assert_eq!(
        started.elapsed(),
        MS(50),
        "ends when cancelled, not at the next check"
    );
}

#[tokio::test]
async fn polling_rides_out_transient_check_errors_but_stops_on_permanent_ones() {
    let calls = AtomicU32::new(0);
    let result: Result<u32, PollError<UserError>> = poll_until(
        &fast_poll(None),
        &CancellationToken::new(),
        |_| {},
        || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                match n {
                    1 | 2 => Err(transient("connection reset")),
                    3 => Ok(Poll::Pending("Creating".into())),
                    _ => Ok(Poll::Ready(n)),
                }
            }
        },
    )
    .await;
    assert_eq!(result.unwrap(), 4);

    let observed = Arc::new(Mutex::new(Vec::new()));
    let seen = observed.clone();
    let result: Result<(), PollError<UserError>> = poll_until(
        &fast_poll(None),
        &CancellationToken::new(),
        move |status| seen.lock().unwrap().push(status.observed.clone()),
        || async { Err(UserError::in_step(StepId::ClusterCreate, "QuotaExceeded")) },
    )
    .await;
    match result {
        Err(PollError::Failed(error)) => assert_eq!(error.message, "QuotaExceeded"),
        other => panic!("{other:?}"),
    }
    assert!(observed.lock().unwrap().is_empty());
}
