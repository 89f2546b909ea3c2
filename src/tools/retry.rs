//! Waiting well: bounded retries of transient failures, and polling of long operations
//! (AKS provisioning, rollouts) with a capped backoff. Both are cancellable at any moment
//! and report what they are waiting for. The mechanism knows nothing of steps: the engine
//! wraps it to report waits as step progress (`engine::retry`), the prerequisite check
//! uses it directly.

use std::fmt;
use std::future::Future;
use std::time::Duration;

// tokio's clock, which the waits sleep on: a deadline and the sleeps agree, also on a
// paused clock (the tests', which then take no real time).
use tokio::time::Instant;

use super::{CancellationToken, ErrorClass, ToolError};
use crate::text::format_duration;

/// An error that may be worth trying again.
pub trait Retryable {
    /// A rate limit, a timeout, a 5xx: the same call may succeed later.
    fn is_transient(&self) -> bool;
    /// How long the service asked us to wait, when it said.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl Retryable for ToolError {
    fn is_transient(&self) -> bool {
        ToolError::is_transient(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        match self.class() {
            ErrorClass::RateLimited { reset: Some(reset) } => {
                Some(reset.wait_from(time::OffsetDateTime::now_utc()))
            }
            _ => None,
        }
    }
}

/// How often and how long to retry a transient failure.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The wait after the first failure.
    pub initial_delay: Duration,
    /// Each further wait is the previous one times this.
    pub multiplier: f64,
    /// No computed wait is longer than this.
    pub max_delay: Duration,
    /// The longest server-requested wait we honour; a longer one (e.g. an hourly rate
    /// limit) fails at once so the user is told instead of left staring at a timer.
    pub max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_delay: Duration::from_secs(2),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
            max_server_delay: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// The computed wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(62) as i32;
        let seconds = self.initial_delay.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        if !seconds.is_finite() || seconds >= self.max_delay.as_secs_f64() {
            self.max_delay
        } else {
            Duration::from_secs_f64(seconds)
        }
    }
}

/// One wait between attempts, as reported to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryWait {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    pub max_attempts: u32,
    pub delay: Duration,
    /// The wait was asked for by the service (a rate limit's reset time).
    pub requested_by_server: bool,
    /// The failure being retried.
    pub reason: String,
}

/// Why a retried operation ended without success.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryError<E> {
    /// A permanent error, or the last transient one once attempts (or the honoured server
    /// wait) ran out.
    Failed { error: E, attempts: u32 },
    /// Cancelled while waiting to try again.
    Cancelled { last_error: E, attempts: u32 },
}

/// Run `operation` until it succeeds, fails permanently, or `policy` gives up; waits
/// between attempts are reported to `on_wait` first and end early on `cancel`.
pub async fn retry<T, E, Op, Fut>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    mut on_wait: impl FnMut(&RetryWait),
    mut operation: Op,
) -> Result<T, RetryError<E>>
where
    E: Retryable + fmt::Display,
    Op: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let error = match operation(attempt).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !error.is_transient() || attempt >= max_attempts {
            return Err(RetryError::Failed {
                error,
                attempts: attempt,
            });
        }
        let (delay, requested_by_server) = match error.retry_after() {
            Some(wait) if wait > policy.max_server_delay => {
                return Err(RetryError::Failed {
                    error,
                    attempts: attempt,
                })
            }
            Some(wait) => (wait, true),
            None => (policy.backoff(attempt), false),
        };
        on_wait(&RetryWait {
            attempt,
            max_attempts,
            delay,
            requested_by_server,
            reason: error.to_string(),
        });
        tokio::select! {
            () = cancel.cancelled() => {
                return Err(RetryError::Cancelled { last_error: error, attempts: attempt });
            }
            () = tokio::time::sleep(delay) => {}
        }
        attempt += 1;
    }
}

/// "{what}: {reason} ({cause}); retrying in {delay} (attempt {n} of {max})", the way
/// every wait before another try is shown.
pub fn describe_wait(what: &str, wait: &RetryWait) -> String {
    let cause = if wait.requested_by_server {
        "the service asked to wait"
    } else {
        "transient failure"
    };
    // A step error already begins with what was being done.
    let reason = wait
        .reason
        .strip_prefix(what)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(&wait.reason);
    format!(
        "{what}: {reason} ({cause}); retrying in {} (attempt {} of {})",
        format_duration(wait.delay),
        wait.attempt + 1,
        wait.max_attempts
    )
}

/// What one check of a polled operation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    Ready(T),
    /// Not yet, with what was observed (e.g. `provisioningState: Creating`).
    Pending(String),
}

/// How a polled operation is checked over time.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    /// The wait after the first check.
    pub initial_interval: Duration,
    /// Each further wait is the previous one times this...
    pub multiplier: f64,
    /// ...but never longer: completion is noticed at most this long after it happens.
    pub max_interval: Duration,
    /// Give up after this long (`None`: only cancellation ends the wait).
    pub timeout: Option<Duration>,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(2),
            multiplier: 1.5,
            max_interval: Duration::from_secs(15),
            timeout: Some(Duration::from_secs(5 * 60)),
        }
    }
}

impl PollPolicy {
    /// The wait after check number `check` (1-based).
    pub fn interval(&self, check: u32) -> Duration {
        let exponent = check.saturating_sub(1).min(62) as i32;
        let seconds = self.initial_interval.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        if !seconds.is_finite() || seconds >= self.max_interval.as_secs_f64() {
            self.max_interval
        } else {
            Duration::from_secs_f64(seconds)
        }
    }
}

/// A pending check, as reported to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct PollStatus {
    /// Checks made so far.
    pub checks: u32,
    pub elapsed: Duration,
    /// What the last check observed (or the transient error it met).
    pub observed: String,
    /// The wait before the next check.
    pub next_check_in: Duration,
}

/// Why polling ended without the operation completing.
#[derive(Debug, Clone, PartialEq)]
pub enum PollError<E> {
    /// A check failed permanently.
    Failed(E),
    TimedOut {
        elapsed: Duration,
        /// What the last check observed: the reason to show the user.
        last_observed: Option<String>,
    },
    Cancelled,
}

/// Check `check` until it reports [`Poll::Ready`]. Waits grow from the initial to the
/// maximum interval; transient check errors count as "not yet" (a blip during a ten
/// minute provisioning must not fail it), permanent ones end the wait. The last wait is
/// shortened to end at the timeout, and every wait ends at once on `cancel`.
pub async fn poll_until<T, E, Check, Fut>(
    policy: &PollPolicy,
    cancel: &CancellationToken,
    mut on_pending: impl FnMut(&PollStatus),
    mut check: Check,
) -> Result<T, PollError<E>>
where
    E: Retryable + fmt::Display,
    Check: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    let started = Instant::now();
    let deadline = policy.timeout.map(|timeout| started + timeout);
    let mut checks = 0;
    loop {
        if cancel.is_cancelled() {
            return Err(PollError::Cancelled);
        }
        checks += 1;
        let observed = match check().await {
            Ok(Poll::Ready(value)) => return Ok(value),
            Ok(Poll::Pending(observed)) => observed,
            Err(error) if error.is_transient() => format!("check failed, will retry: {error}"),
            Err(error) => return Err(PollError::Failed(error)),
        };
        let now = Instant::now();
        let mut wait = policy.interval(checks);
        if let Some(deadline) = deadline {
            if now >= deadline {
                return Err(PollError::TimedOut {
                    elapsed: now - started,
                    last_observed: Some(observed),
                });
            }
            // One last check right at the deadline rather than giving up a whole
            // interval early.
            wait = wait.min(deadline - now);
        }
        on_pending(&PollStatus {
            checks,
            elapsed: now - started,
            observed,
            next_check_in: wait,
        });
        tokio::select! {
            () = cancel.cancelled() => return Err(PollError::Cancelled),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_secs(1),
            multiplier: 2.0,
            max_delay: Duration::from_secs(5),
            max_server_delay: Duration::from_secs(60),
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 5, 5]);
        assert_eq!(policy.backoff(1000), Duration::from_secs(5));
    }

    #[test]
    fn poll_interval_grows_then_caps() {
        let policy = PollPolicy {
            initial_interval: Duration::from_millis(100),
            multiplier: 2.0,
            max_interval: Duration::from_millis(500),
            timeout: None,
        };
        let waits: Vec<_> = (1..=5).map(|n| policy.interval(n).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 500, 500]);
    }
}
