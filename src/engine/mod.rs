//! The orchestration engine: a pure plan, steps over the tool adapters, an orchestrator that
//! runs independent steps concurrently and streams [`events::Event`]s to whichever front end
//! is attached (TUI or headless), and rollback of only what this tool created.

pub mod bootstrap;
pub mod context;
pub mod dry_run;
pub mod events;
pub mod observe;
pub mod orchestrator;
pub mod overview;
pub mod plan;
pub mod removal;
pub mod remover;
pub mod report;
pub mod resume;
pub mod retry;
pub mod rollback;
pub mod session;
pub mod state_handle;
pub mod step;
pub mod steps;

pub use bootstrap::{
    Bootstrap, BootstrapError, BootstrapOptions, BootstrapPaths, Cleanup, StepWrapper,
};
pub use context::{fact, EventSink, FactKey, Facts, StepContext};
pub use dry_run::{DryRun, DryRunStep};
pub use events::{Event, EventKind, HealthStatus, Outcome};
pub use orchestrator::{
    Orchestrator, RunEnd, RunOptions, RunOutcome, StepOutcome, StepReport, StepRunner,
};
pub use overview::PlanOverview;
pub use plan::{plan, Observed, Plan, PlanConflict, PlannedStep};
pub use removal::{
    clean_command, consent_rule, Ask, Consent, ConsentRule, ConsentSource, Decide, RemovalOutcome,
    RemovalPipeline, RemovalPlan, RemovalPurpose,
};
pub use remover::{EngineRemover, ExpectedMarks};
pub use resume::Resume;
pub use rollback::{
    leftover_command, rollback_preview, PlannedRemoval, RemovalNote, RemovalResult,
    ResourceRemover, RollbackReport,
};
pub use session::{Access, AfterFailure, Proceed, Session, SessionOutcome};
pub use state_handle::StateHandle;
pub use step::{Action, StepId};
pub use steps::{BootstrapSteps, StepEnv, StepTimings};
