//! The seam between the wizard and the rest of the program. The wizard decides *when*
//! things happen (checks, plan, run, rollback answer); a [`WizardBackend`] does them. The
//! real one drives the prerequisite module and the engine; tests use a scripted one.
//!
//! Results come back as values or channels, never as callbacks into the screen, so the
//! wizard's `update` stays the only place its state changes.

use std::sync::Arc;

use futures_core::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::mpsc;

use crate::config::lifecycle::Confirmed;
use crate::config::Configuration;
use crate::engine::events::Event;
use crate::engine::PlanOverview;
use crate::prereq::{
    AuthCheck, AzureIdentity, AzureUse, ContextProbe, GithubIdentity, Interaction, PrereqReport,
    TerminalHandover, ToolCheck,
};
use crate::{ExitCode, UserError};

use super::bridge::ScreenHandover;

/// What the prerequisite check needs from the wizard.
pub struct PrereqRequest {
    /// Prompts and `az login` go through the wizard (it leaves its screen for the login and
    /// comes back afterwards).
    pub interaction: Interaction,
    /// A token typed into the configuration form (only asked when none is in the
    /// environment). Already registered as a secret.
    pub github_token: Option<SecretString>,
    /// `--skip-validation`: report the check as skipped without probing anything; the
    /// engine uses the typed token, else the environment's, unchecked.
    pub skip: bool,
    /// Whether the run involves Azure: when not, az and the Azure sign-in are not checked.
    pub azure: AzureUse,
    /// The GitHub host the token is checked against; `None`: the environment's default.
    pub github_host: Option<crate::config::GitHubHost>,
    /// Flux's install manifest would come from github.com: on an Enterprise Server the
    /// check shows a warning row naming `--flux-manifest`.
    pub flux_manifest_from_github_com: bool,
}

/// One piece of the prerequisite check's progress. Rows may arrive in any order and a row
/// for a name seen before replaces it; `Finished` comes last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrereqUpdate {
    Tool(ToolCheck),
    Auth(AuthCheck),
    Finished(PrereqOutcome),
}

/// The verdict of the whole check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrereqOutcome {
    /// [`ExitCode::Success`] when the run may go on; else how the program ends
    /// ([`ExitCode::PrerequisitesFailed`], or [`ExitCode::Cancelled`] after a cancelled prompt).
    pub exit_code: ExitCode,
    /// One line, e.g. `Prerequisites: PASSED (1 warning)`.
    pub summary: String,
    pub azure: Option<AzureIdentity>,
    pub github: Option<GithubIdentity>,
}

impl PrereqUpdate {
    /// A finished report as updates: every row, then the outcome. For a backend whose check
    /// reports everything at the end.
    pub fn from_report(report: &PrereqReport) -> Vec<PrereqUpdate> {
        let mut updates: Vec<PrereqUpdate> = report
            .tools
            .iter()
            .cloned()
            .map(PrereqUpdate::Tool)
            .chain(report.auth.iter().cloned().map(PrereqUpdate::Auth))
            .collect();
        updates.push(PrereqUpdate::Finished(PrereqOutcome {
            exit_code: report.exit_code(),
            summary: report.summary(),
            azure: report.azure.clone(),
            github: report.github.clone(),
        }));
        updates
    }
}

/// Steering a started run.
pub trait RunSteering: Send + Sync {
    /// Stop the running step cleanly (children killed). The engine then saves the state as
    /// failed and reports `RunFailed` (exit code 7); the session then decides about a
    /// rollback (see [`RollbackNotice`]).
    fn cancel(&self);

    /// The user's answer to the session's question ([`RollbackNotice::Asking`]). With `true`
    /// the engine removes exactly the resources it listed, streaming `RollbackStarted`,
    /// `RollbackAction`s and `RollbackFinished`; with `false` it finishes without touching
    /// anything and closes the channel.
    fn answer_rollback(&self, roll_back: bool);
}

/// What the session decided after a failure, when the decision is not a removal (a removal
/// arrives as its `Rollback*` events). The session decides; the wizard only shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackNotice {
    /// The session asks: roll back exactly these resources (the removal plan's lines, in
    /// the order they would be removed)? Answer with [`RunSteering::answer_rollback`].
    Asking(Vec<String>),
    /// The run created nothing: nothing is asked, nothing removed.
    NothingToRemove,
    /// Nobody can be asked (`--non-interactive`) and no flag consents: everything is kept.
    Kept,
}

/// What a started run reports, in order: the engine's events and the session's rollback
/// decisions between them.
#[derive(Debug, Clone, PartialEq)]
pub enum RunUpdate {
    Event(Event),
    Rollback(RollbackNotice),
}

/// A started run: its updates (the channel closes when the engine is done, rollback
/// included) and its controls.
pub struct RunHandle {
    pub events: mpsc::Receiver<RunUpdate>,
    pub control: Arc<dyn RunSteering>,
}

/// Everything the wizard asks of the rest of the program. Object-safe: the wizard holds an
/// `Arc<dyn WizardBackend>`. Every method is called from within the tokio runtime.
pub trait WizardBackend: Send + Sync {
    /// Start the prerequisite check (tools, versions, Azure and GitHub sign-in) in the
    /// background and stream its rows. Prompts and `az login` go through
    /// `request.interaction`.
    fn start_prerequisites(&self, request: PrereqRequest) -> mpsc::Receiver<PrereqUpdate>;

    /// Whether each kube context's API server answers (a short `kubectl version` each, all
    /// at once), for the context pick list. Read-only. A backend that cannot tell answers
    /// nothing, and the list shows the servers alone.
    fn probe_kube_contexts(&self, contexts: Vec<String>) -> BoxFuture<'_, Vec<ContextProbe>> {
        let _ = contexts;
        Box::pin(async { Vec::new() })
    }

    /// The plan the engine would run for this configuration, by resource (see
    /// [`PlanOverview`]). May run read-only queries; must change nothing.
    fn plan(&self, configuration: Configuration) -> BoxFuture<'_, Result<PlanOverview, UserError>>;

    /// Start the engine on the confirmed configuration (the GitHub token is the one the
    /// prerequisite check verified).
    fn start_run(&self, configuration: Confirmed) -> BoxFuture<'_, Result<RunHandle, UserError>>;

    /// How the prerequisite check runs a command that needs the whole terminal (`az
    /// login`) while the wizard is on screen. The backend builds and runs the command;
    /// through `screen` it has the wizard leave its screen around it and take it back after.
    fn terminal_handover(&self, screen: ScreenHandover) -> Arc<dyn TerminalHandover>;
}
