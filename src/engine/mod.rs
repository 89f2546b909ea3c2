//! The orchestration engine: a pure plan, steps over the tool adapters, an orchestrator that
//! runs independent steps concurrently and streams [`events::Event`]s to whichever front end
//! is attached (TUI or headless), and rollback of only what this tool created.

pub mod events;
pub mod step;

pub use events::{Event, EventKind, HealthStatus, Outcome};
pub use step::{Action, StepError, StepId};
