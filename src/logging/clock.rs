//! The time source of log timestamps, injectable so tests can pin it.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

/// Where log timestamps come from. [`Clock::system`] in production; tests use
/// [`Clock::fixed`] or [`Clock::from_fn`].
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The real wall clock (UTC).
    pub fn system() -> Self {
        Self::from_fn(OffsetDateTime::now_utc)
    }

    /// A clock that always reads `instant`.
    pub fn fixed(instant: OffsetDateTime) -> Self {
        Self::from_fn(move || instant)
    }

    pub fn from_fn(read: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(read))
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}
