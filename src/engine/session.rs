//! One session of the engine, the same for every front end (the headless run and the
//! wizard): open the state (and say so when `--force` moved an unusable file aside),
//! observe → plan → refuse a plan that must not run, run it, and after a failure remove
//! what the run created through the one removal pipeline, when consent is given.
//!
//! A front end supplies only what differs: where events and notices go, and how it asks
//! ("proceed?": a [`Proceed`]; "roll back these?": an [`Ask`]; none when nobody can be
//! asked). The wizard asks "proceed?" on its own plan screen, before the session opens, and
//! hands the session a configuration already confirmed.
//!
//! ```text
//! let session = Session::open(configuration, runner, token, paths, options, Access::Run, &notice)?;
//! let plan = session.plan(&cancel, &warnings).await?;   // Err: a conflict, or a failed query
//! let Some(active) = session.confirm(validated, &plan, proceed).await? else { return cancelled };
//! let outcome = session.run_to_end(&active, &plan, events, &cancel, after_failure).await;
//! ```

use std::sync::Arc;

use secrecy::SecretString;

use super::bootstrap::{Bootstrap, BootstrapOptions, BootstrapPaths, Cleanup};
use super::context::EventSink;
use super::dry_run::DryRun;
use super::orchestrator::RunOutcome;
use super::plan::Plan;
use super::removal::{consent_rule, Ask, RemovalOutcome, RemovalPurpose};
use super::steps::repositories;
use crate::config::lifecycle::{Active, Validated};
use crate::config::Configuration;
use crate::tools::{BoxFuture, CancellationToken, CommandRunner};
use crate::ExitCode;
use crate::UserError;

/// What the session may do to the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A run: the state file is locked, an unusable one moved aside with `--force`.
    Run,
    /// `--dry-run`: the state file is only read; no lock, no directory, nothing written.
    DryRun,
}

/// How a front end asks "proceed?" once it has shown `preview` (the plan's exact
/// commands): true only for an explicit yes.
pub trait Proceed: Send {
    fn proceed<'a>(&'a mut self, preview: &'a DryRun) -> BoxFuture<'a, bool>;
}

/// After a failed run: who can be asked to roll back, and the token that stops the
/// rollback (made only then: a cancelled run must not cancel its rollback).
pub struct AfterFailure {
    /// The question on a terminal or in the wizard; `None` when nobody can be asked.
    pub ask: Option<Box<dyn Ask>>,
    pub cancel: Box<dyn FnOnce() -> CancellationToken + Send>,
}

impl AfterFailure {
    pub fn new(
        ask: Option<Box<dyn Ask>>,
        cancel: impl FnOnce() -> CancellationToken + Send + 'static,
    ) -> Self {
        Self {
            ask,
            cancel: Box::new(cancel),
        }
    }
}

/// How a session ended.
#[derive(Debug)]
pub struct SessionOutcome {
    pub run: RunOutcome,
    /// `None` when the run succeeded (nothing to recover from).
    pub removal: Option<RemovalOutcome>,
}

impl SessionOutcome {
    /// The run's exit code: a rollback does not change why the run failed.
    pub fn exit_code(&self) -> ExitCode {
        self.run.exit_code
    }
}

/// The refusal of a plan that changes repositories the user gave when nobody consented:
/// each change as the plan states it (file, branch, key and value; the `gh` commands).
fn changes_need_consent(
    step: crate::engine::StepId,
    changes: &[&crate::engine::PlannedStep],
) -> UserError {
    let listed: Vec<String> = changes
        .iter()
        .map(|change| format!("  - {}: {}", change.id, change.reason))
        .collect();
    let closes: Vec<String> = changes
        .iter()
        .flat_map(|change| &change.pull_requests_closed)
        .map(|pull| format!("{} of {}", pull.describe(), pull.repository))
        .collect();
    let merges: Vec<&String> = changes.iter().flat_map(|change| &change.merges).collect();
    let changed = changes
        .iter()
        .filter(|change| change.pull_requests_closed.is_empty() && change.merges.is_empty())
        .count();
    let what = match (changed, closes.len()) {
        (0, 0) if !merges.is_empty() => format!(
            "this run would merge {} of the scheduler on your account",
            if merges.len() == 1 {
                "a pull request".to_string()
            } else {
                format!("{} pull requests", merges.len())
            }
        ),
        (0, n) => format!(
            "this run would let the Kalypso scheduler close {n} open pull request{} of others (and delete {} branch{})",
            if n == 1 { "" } else { "s" },
            if n == 1 { "its" } else { "their" },
            if n == 1 { "" } else { "es" },
        ),
        (n, 0) => format!(
            "this run would change {n} repositor{} you gave",
            if n == 1 { "y" } else { "ies" }
        ),
        (n, m) => format!(
            "this run would change {n} repositor{} you gave and let the Kalypso scheduler close {m} open pull request{} of others",
            if n == 1 { "y" } else { "ies" },
            if m == 1 { "" } else { "s" },
        ),
    };
    let hint = if closes.is_empty() && changed == 0 && !merges.is_empty() {
        crate::troubleshooting::Topic::FirstWorkload.hint(
            "run again with --yes to let kalypso-bootstrap merge the scheduler's pull request, or with --no-merge to leave it for you to merge (the run then prints the gh pr merge command)",
        )
    } else if closes.is_empty() {
        crate::troubleshooting::Topic::ExistingRepositoryChanges.hint(
            "run again with --yes to let kalypso-bootstrap make these changes (a rollback undoes them), or make them yourself as listed and run again",
        )
    } else {
        crate::troubleshooting::Topic::OpenPullRequestsClosed.hint(format!(
            "merge or close these pull requests first ({}), or run again with --yes to accept that the scheduler closes them (nothing undoes that)",
            closes.join("; ")
        ))
    };
    UserError::in_step(
        step,
        format!(
            "{what}, which needs your consent (a yes to the plan on a terminal, or --yes); nothing was created. The changes:\n{}",
            listed.join("\n")
        ),
    )
    .with_hint(hint)
    .with_exit_code(ExitCode::RepositoryFailed)
}

/// One opened engine and the sequence every front end runs it in.
pub struct Session {
    bootstrap: Bootstrap,
}

impl Session {
    /// Open the state file for `access` (see [`Bootstrap::open`] and
    /// [`Bootstrap::open_read_only`]); a state file moved aside by `--force` is told to
    /// `notice`.
    pub fn open(
        configuration: Configuration,
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: BootstrapPaths,
        options: BootstrapOptions,
        access: Access,
        notice: &dyn Fn(&str),
    ) -> Result<Session, UserError> {
        let open = match access {
            Access::Run => Bootstrap::open,
            Access::DryRun => Bootstrap::open_read_only,
        };
        let bootstrap = open(configuration, runner, github_token, paths, options)?;
        if let Some(moved) = bootstrap.moved_aside() {
            notice(&moved.message());
        }
        Ok(Session { bootstrap })
    }

    /// The engine underneath: the dry run, the removal plan, the paths.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Observe what exists and plan what to do about it. A plan that must not run (a
    /// resource that exists but is not ours to change) is an error before anything is
    /// asked; warnings of the observation (a query tried again) go to `warnings`.
    pub async fn plan(
        &self,
        cancel: &CancellationToken,
        warnings: &EventSink,
    ) -> Result<Plan, UserError> {
        let observed = self.bootstrap.observe_reporting(cancel, warnings).await?;
        let plan = self.bootstrap.plan(&observed);
        match plan.refusal() {
            Some((_, error)) => Err(error),
            None => Ok(plan),
        }
    }

    /// "Proceed?" for `plan`: the configuration is confirmed by `--skip-confirmation`, or
    /// when nobody can be asked (`proceed` is `None`: the flags given are the user's
    /// answer), or by a yes to `proceed`; `Ok(None)` when the answer is no (nothing
    /// changed). A plan that changes a repository the user gave (see
    /// [`repositories::changes_to_existing`]) needs more: `--yes` or a yes on a terminal;
    /// without either it is refused before anything is created (exit 5), naming each change
    /// so it can be made by hand.
    pub async fn confirm(
        &self,
        validated: Validated,
        plan: &Plan,
        proceed: Option<&mut dyn Proceed>,
    ) -> Result<Option<Active>, UserError> {
        assert_eq!(
            validated.configuration(),
            self.bootstrap.configuration(),
            "the session confirms the configuration it was opened with"
        );
        let skip = self.bootstrap.configuration().options.skip_confirmation;
        match proceed {
            Some(proceed) if !skip => {
                let preview = self.bootstrap.dry_run(plan);
                if !proceed.proceed(&preview).await {
                    return Ok(None);
                }
            }
            None if !skip => self.refuse_unconsented_changes(plan)?,
            _ => {}
        }
        Ok(Some(validated.confirm().activate()))
    }

    /// For a front end that showed nobody the plan (nobody to ask, no `--yes`): the plan
    /// must not change a repository the user gave; `Err` names each change (exit 5).
    pub fn refuse_unconsented_changes(&self, plan: &Plan) -> Result<(), UserError> {
        let changes = repositories::changes_to_existing(self.bootstrap.configuration(), plan);
        match changes.first() {
            Some(first) => Err(changes_need_consent(first.id, &changes)),
            None => Ok(()),
        }
    }

    /// Run `plan`, its events to `events`. Follow with [`Session::recover`] (or use
    /// [`Session::run_to_end`]).
    pub async fn run(
        &self,
        active: &Active,
        plan: &Plan,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> RunOutcome {
        self.bootstrap.run(active, plan, events, cancel).await
    }

    /// After a failed `run`: the one removal pipeline, whose consent is `--auto-rollback`
    /// or an answer to `after_failure.ask` (never asked under `--non-interactive`); without
    /// either everything is kept. `None` after a successful run.
    pub async fn recover(
        &self,
        run: &RunOutcome,
        events: EventSink,
        after_failure: AfterFailure,
    ) -> Option<RemovalOutcome> {
        if run.is_success() {
            return None;
        }
        let options = &self.bootstrap.configuration().options;
        let mut consent = consent_rule(
            RemovalPurpose::Rollback,
            options.auto_rollback,
            options.non_interactive,
            after_failure.ask,
        );
        let cancel = (after_failure.cancel)();
        let removal = self
            .bootstrap
            .removal()
            .run(&mut consent, events, &cancel)
            .await;
        match &removal {
            RemovalOutcome::Removed(report) => {
                tracing::info!(complete = report.is_complete(), "rollback finished");
            }
            RemovalOutcome::NothingToRemove => tracing::info!("no rollback: nothing to remove"),
            RemovalOutcome::Declined(_) | RemovalOutcome::NoConsent(_) => {
                tracing::info!("no rollback: the resources created so far are kept");
            }
        }
        Some(removal)
    }

    /// `--clean`, which has no configuration and so no session of its own: the one removal
    /// pipeline over `cleanup`, with the consent a rollback has (see [`consent_rule`]):
    /// `--yes` when `yes`, else a terminal answer to `ask`, never asked under
    /// `non_interactive`.
    pub async fn clean(
        cleanup: &Cleanup,
        yes: bool,
        non_interactive: bool,
        ask: Option<Box<dyn Ask>>,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> RemovalOutcome {
        let mut consent = consent_rule(RemovalPurpose::Clean, yes, non_interactive, ask);
        cleanup.removal().run(&mut consent, events, cancel).await
    }

    /// [`Session::run`] then [`Session::recover`], every event to `events`.
    pub async fn run_to_end(
        &self,
        active: &Active,
        plan: &Plan,
        events: EventSink,
        cancel: &CancellationToken,
        after_failure: AfterFailure,
    ) -> SessionOutcome {
        let run = self.run(active, plan, events.clone(), cancel).await;
        let removal = self.recover(&run, events, after_failure).await;
        SessionOutcome { run, removal }
    }
}
