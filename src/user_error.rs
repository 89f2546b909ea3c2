//! The one error the user reads: what happened, what to do about it, and how the program
//! exits. Steps fail with it, the wizard's backend reports with it, and the program's last
//! words come from it; the domain errors (configuration, state file, removal…) turn into it
//! at the front ends.

use std::fmt;
use std::time::Duration;

use crate::troubleshooting::Hint;
use crate::ExitCode;

/// Why something the user asked for did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    /// What the user can do about it, with its troubleshooting link (shown under the
    /// error, and in the run report).
    pub hint: Option<Hint>,
    /// Worth trying again after a wait (rate limit, timeout, 5xx).
    pub transient: bool,
    /// How long the service asked us to wait before trying again (e.g. a rate limit's
    /// reset time); only meaningful for transient errors.
    pub retry_after: Option<Duration>,
    pub exit_code: ExitCode,
}

impl UserError {
    pub fn new(exit_code: ExitCode, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            transient: false,
            retry_after: None,
            exit_code,
        }
    }

    /// Every hint names its troubleshooting topic: make it with [`Topic::hint`].
    ///
    /// [`Topic::hint`]: crate::troubleshooting::Topic::hint
    pub fn with_hint(mut self, hint: Hint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The hint as events and front ends show it (with its link).
    pub fn hint_text(&self) -> Option<String> {
        self.hint.as_ref().map(Hint::to_string)
    }

    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Transient, and the service said when to try again (a rate limit's reset time).
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.transient = true;
        self.retry_after = Some(wait);
        self
    }

    pub fn with_exit_code(mut self, code: ExitCode) -> Self {
        self.exit_code = code;
        self
    }

    /// The message, and the hint on a line of its own: how a line front end prints it.
    pub fn with_hint_below(&self) -> WithHintBelow<'_> {
        WithHintBelow(self)
    }
}

/// [`UserError::with_hint_below`].
pub struct WithHintBelow<'a>(&'a UserError);

impl fmt::Display for WithHintBelow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        if let Some(hint) = &self.0.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}
