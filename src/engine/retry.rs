//! Retries and polling inside a step: the mechanism of [`crate::tools::retry`], with each
//! wait reported as step progress and each end turned into a [`UserError`].

use std::future::Future;
use std::time::Duration;

use super::context::StepContext;
use crate::text::format_duration;
use crate::tools::retry::{
    describe_wait, poll_until, retry, Poll, PollError, PollPolicy, PollStatus, RetryError,
    RetryPolicy, RetryWait, Retryable,
};
use crate::troubleshooting::Topic;
use crate::UserError;

impl Retryable for UserError {
    fn is_transient(&self) -> bool {
        self.transient
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// [`retry`] inside a step: each wait is a progress event ("… retrying in 12s, attempt 2
/// of 4"), and the end is a [`UserError`] (cancellation gives the step's cancelled error).
pub async fn retry_step<T, Op, Fut>(
    ctx: &StepContext,
    policy: &RetryPolicy,
    what: &str,
    operation: Op,
) -> Result<T, UserError>
where
    Op: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, UserError>>,
{
    let report = |wait: &RetryWait| ctx.progress(describe_wait(what, wait));
    match retry(policy, ctx.cancel_token(), report, operation).await {
        Ok(value) => Ok(value),
        Err(RetryError::Cancelled { .. }) => Err(ctx.cancelled_error()),
        Err(RetryError::Failed { error, attempts }) => {
            Err(explain_give_up(error, attempts, policy))
        }
    }
}

/// The error a retried operation ended with, saying how often it was tried (or, for a
/// server-requested wait too long to honour, when to come back).
pub(crate) fn explain_give_up(
    mut error: UserError,
    attempts: u32,
    policy: &RetryPolicy,
) -> UserError {
    if let Some(wait) = error.retry_after.filter(|w| *w > policy.max_server_delay) {
        // Longer than a step waits on its own: the run ends, the user comes back. A hint
        // of the error already says to run again (the rate limit's does); it gets the wait.
        let wait = format_duration(wait);
        error.hint = Some(match error.hint.take() {
            Some(hint) => hint.with_note(&format!(
                "the service asks to wait {wait}, longer than a step waits on its own"
            )),
            None => Topic::RateLimited.hint(format!(
                "the service asks to wait {wait} before trying again, longer than a step waits on its own; run the same command again after that (the run resumes at this step)"
            )),
        });
    } else if attempts > 1 {
        error.message = format!("{} (gave up after {attempts} attempts)", error.message);
    }
    error
}

/// [`poll_until`] inside a step: each pending check is a progress event with the elapsed
/// time, a timeout is a [`UserError`] naming the last observed state.
pub async fn poll_step<T, Check, Fut>(
    ctx: &StepContext,
    policy: &PollPolicy,
    what: &str,
    check: Check,
) -> Result<T, UserError>
where
    Check: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, UserError>>,
{
    let report = |status: &PollStatus| {
        ctx.progress(format!(
            "{what}: {} ({} elapsed; next check in {})",
            status.observed,
            format_duration(status.elapsed),
            format_duration(status.next_check_in)
        ));
    };
    // The hint of the last transient failure of a check: if the wait ends on it, it says
    // what to do (a rate limit, a network problem) better than "not done".
    let last_hint = std::sync::Mutex::new(None::<crate::troubleshooting::Hint>);
    let mut check = check;
    let checked = || {
        let attempt = check();
        let last_hint = &last_hint;
        async move {
            let result = attempt.await;
            let hint = match &result {
                Err(error) if error.transient => error.hint.clone(),
                _ => None,
            };
            *last_hint.lock().unwrap_or_else(|e| e.into_inner()) = hint;
            result
        }
    };
    match poll_until(policy, ctx.cancel_token(), report, checked).await {
        Ok(value) => Ok(value),
        Err(PollError::Failed(error)) => Err(error),
        Err(PollError::Cancelled) => Err(ctx.cancelled_error()),
        Err(PollError::TimedOut {
            elapsed,
            last_observed,
        }) => {
            let error = UserError::in_step(
                ctx.step(),
                // The wait it was given, as the docs and hints name it: the measured time
                // overruns it by the last check's length, which varies with the machine.
                format!(
                    "{what}: not done after {}; last observed: {}",
                    format_duration(policy.timeout.unwrap_or(elapsed)),
                    last_observed.as_deref().unwrap_or("nothing")
                ),
            );
            match last_hint.into_inner().unwrap_or_else(|e| e.into_inner()) {
                Some(hint) => Err(error.with_hint(hint)),
                None => Err(error),
            }
        }
    }
}
