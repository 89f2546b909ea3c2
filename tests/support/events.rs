//! Engine events at fixed times, for the front ends' tests (the wizard's in `tui`, the
//! headless printer's in `headless`): each suite keeps its own clock, since its snapshots
//! and expected lines show the times.

use kalypso_bootstrap::engine::events::{LogLevel, PlannedStepInfo, RunSummary};
use kalypso_bootstrap::engine::{Action, Event, EventKind, HealthStatus, Outcome, StepId};
use kalypso_bootstrap::state::Timestamp;
use time::OffsetDateTime;

/// A step of the announced plan.
pub fn planned(step: StepId, action: Action, depends_on: Vec<StepId>) -> PlannedStepInfo {
    PlannedStepInfo {
        step,
        phase: step.phase(),
        action,
        title: step.title().to_string(),
        depends_on,
        consequences: Vec::new(),
    }
}

/// Events `seconds` after `start`.
#[derive(Debug, Clone, Copy)]
pub struct EventClock {
    pub start: OffsetDateTime,
}

impl EventClock {
    pub const fn new(start: OffsetDateTime) -> Self {
        Self { start }
    }

    pub fn at(self, seconds: i64) -> OffsetDateTime {
        self.start + time::Duration::seconds(seconds)
    }

    pub fn event(self, seconds: i64, kind: EventKind) -> Event {
        Event {
            ts: Timestamp::new(self.at(seconds)),
            kind,
        }
    }

    pub fn at_ms(self, ms: u64) -> OffsetDateTime {
        self.start + time::Duration::milliseconds(ms as i64)
    }

    /// An event `ms` milliseconds after the start.
    pub fn event_ms(self, ms: u64, kind: EventKind) -> Event {
        Event {
            ts: Timestamp::new(self.at_ms(ms)),
            kind,
        }
    }

    /// A step that creates, started with no message.
    pub fn started(self, seconds: i64, step: StepId) -> Event {
        self.event(
            seconds,
            EventKind::StepStarted {
                phase: step.phase(),
                step,
                action: Action::Create,
                message: String::new(),
            },
        )
    }

    /// Progress `seconds` into the run (and into the step).
    pub fn progress(
        self,
        seconds: i64,
        step: StepId,
        transition: Option<&str>,
        message: &str,
    ) -> Event {
        self.event(
            seconds,
            EventKind::StepProgress {
                phase: step.phase(),
                step,
                message: message.to_string(),
                transition: transition.map(str::to_string),
                elapsed_ms: seconds as u64 * 1000,
            },
        )
    }

    /// A step that creates, finished with no hint.
    pub fn finished(
        self,
        seconds: i64,
        step: StepId,
        outcome: Outcome,
        duration_ms: u64,
        message: &str,
    ) -> Event {
        self.event(
            seconds,
            EventKind::StepFinished {
                phase: step.phase(),
                step,
                action: Action::Create,
                outcome,
                duration_ms,
                message: message.to_string(),
                hint: None,
            },
        )
    }

    pub fn health(self, seconds: i64, check: &str, status: HealthStatus, message: &str) -> Event {
        self.event(
            seconds,
            EventKind::HealthCheck {
                check: check.to_string(),
                status,
                message: message.to_string(),
            },
        )
    }

    /// A log line, of `step` (and its phase) or of the run.
    pub fn log(self, seconds: i64, level: LogLevel, step: Option<StepId>, message: &str) -> Event {
        self.event(
            seconds,
            EventKind::Log {
                level,
                phase: step.map(StepId::phase),
                step,
                message: message.to_string(),
            },
        )
    }

    /// The run's end: `seconds` is also its duration.
    pub fn run_finished(self, seconds: i64, summary: RunSummary) -> Event {
        self.event(
            seconds,
            EventKind::RunFinished {
                duration_ms: (seconds as u64) * 1000,
                summary: Box::new(summary),
            },
        )
    }
}
