//! The engine's removal as a test triggers it: through the one removal pipeline, with an
//! explicit yes (the `--auto-rollback` flag given), never around its consent; and the
//! observation without a front end to warn. Only tests ask for these shortcuts, so they
//! live here, over the crate's public API only.

use kalypso_bootstrap::engine::{
    consent_rule, Bootstrap, Cleanup, EventSink, Observed, PlannedRemoval, RemovalOutcome,
    RemovalPipeline, ResourceRemover, RollbackReport,
};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::UserError;

/// Run `pipeline` with consent given by its flag; the report of what it removed (empty
/// when the state records nothing to remove).
pub async fn remove_with_consent<R: ResourceRemover + Clone>(
    pipeline: &RemovalPipeline<R>,
    events: EventSink,
    cancel: &CancellationToken,
) -> RollbackReport {
    let mut yes = consent_rule(pipeline.plan().purpose(), true, true, None);
    match pipeline.run(&mut yes, events, cancel).await {
        RemovalOutcome::Removed(report) => report,
        RemovalOutcome::NothingToRemove => RollbackReport {
            removals: Vec::new(),
            leftovers: Vec::new(),
            kept: Vec::new(),
        },
        other => panic!("a flag given is consent, yet the pipeline ended {other:?}"),
    }
}

pub trait ConsentedBootstrap {
    /// [`Bootstrap::observe_reporting`] with the warnings dropped.
    async fn observe(&self, cancel: &CancellationToken) -> Result<Observed, UserError>;

    /// What a rollback would remove now, in removal order.
    fn rollback_preview(&self) -> Vec<PlannedRemoval>;

    /// Roll back through [`Bootstrap::removal`], `--auto-rollback` given.
    async fn rollback(&self, events: EventSink, cancel: &CancellationToken) -> RollbackReport;
}

impl ConsentedBootstrap for Bootstrap {
    async fn observe(&self, cancel: &CancellationToken) -> Result<Observed, UserError> {
        let (warnings, _unread) = EventSink::channel();
        self.observe_reporting(cancel, &warnings).await
    }

    fn rollback_preview(&self) -> Vec<PlannedRemoval> {
        self.removal().plan().removals().to_vec()
    }

    async fn rollback(&self, events: EventSink, cancel: &CancellationToken) -> RollbackReport {
        remove_with_consent(&self.removal(), events, cancel).await
    }
}

pub trait CleanupPreview {
    /// What `--clean` would remove, in removal order.
    fn preview(&self) -> Vec<PlannedRemoval>;
}

impl CleanupPreview for Cleanup {
    fn preview(&self) -> Vec<PlannedRemoval> {
        self.removal().plan().removals().to_vec()
    }
}
