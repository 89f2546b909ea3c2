//! Rollback: remove what the state records as created by this tool, and nothing else, in
//! the reverse of the phases' order (installation, repositories, cluster; the kube context
//! last; see [`removal_rank`]), newest first within a kind. Each removal is reported and
//! saved on its own; a failure does not stop the others, and whatever is left is listed
//! with the command to remove it by hand. Each failed removal is recorded in the state's
//! `errors[]` here, where it is known (never from a log line).

use std::time::{Duration, Instant};

use super::context::{duration_ms, EventSink};
use super::events::{EventKind, LogLevel, Outcome};
use super::state_handle::StateHandle;
use crate::state::{BootstrapState, Resource, ResourceStatus, RunStatus, Timestamp};
use crate::text::plural;
use crate::tools::{BoxFuture, CancellationToken};
use crate::troubleshooting::Topic;
use crate::UserError;

/// What a removal says, e.g. `deleted` or `deletion started`; or, when `kept`, why the
/// resource was left alone (the live one does not carry our mark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalNote {
    pub message: String,
    /// Not removed: the live resource is not ours, whatever the state says.
    pub kept: bool,
    /// Nothing to remove: the resource no longer existed (or never came to exist).
    pub already_gone: bool,
}

impl RemovalNote {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kept: false,
            already_gone: false,
        }
    }

    /// The resource was not there to remove.
    pub fn already_gone() -> Self {
        Self {
            message: "already gone".to_string(),
            kept: false,
            already_gone: true,
        }
    }

    /// The resource was left alone; `reason` says why.
    pub fn kept(reason: impl Into<String>) -> Self {
        Self {
            message: reason.into(),
            kept: true,
            already_gone: false,
        }
    }
}

/// Removes resources of every kind. Object safe. A removal of something already gone is
/// a success (a resource is recorded before its creation starts, so it may never have
/// come to exist).
pub trait ResourceRemover: Send + Sync {
    fn remove<'a>(
        &'a self,
        resource: &'a Resource,
    ) -> BoxFuture<'a, Result<RemovalNote, UserError>>;

    /// The command a user runs to remove it by hand (several joined with `&&`).
    fn manual_command(&self, resource: &Resource) -> String;

    /// The commands that remove it, in order, each as a user runs it: one for most
    /// resources, several for a revert (see `EngineRemover::removal_specs`).
    fn manual_commands(&self, resource: &Resource) -> Vec<String> {
        vec![self.manual_command(resource)]
    }

    /// The removal only starts the deletion (e.g. `az aks delete --no-wait`).
    fn is_asynchronous(&self, _resource: &Resource) -> bool {
        false
    }

    /// This remover for one pass of the removal pipeline: `cancel` stops its removals,
    /// and its waits before another try are told to `events`.
    fn for_pass(self, _cancel: &CancellationToken, _events: &EventSink) -> Self
    where
        Self: Sized,
    {
        self
    }
}

/// One resource a rollback would remove, in removal order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRemoval {
    pub resource: Resource,
    pub description: String,
    /// [`PlannedRemoval::commands`] joined with `&&`: one line to copy.
    pub manual_command: String,
    /// Each command the removal runs, in order.
    pub commands: Vec<String>,
    pub asynchronous: bool,
}

/// Where a kind of resource comes in a rollback: the Helm release, the Kalypso CRDs (Helm
/// leaves them behind), the namespace, Flux; then the repositories (their secrets and labels
/// before the repositories themselves); then the AKS cluster and its resource group; the
/// kube context last, since every cluster-side removal before it goes through it.
pub fn removal_rank(resource: &Resource) -> u8 {
    match resource {
        // A workload cluster's Kustomization first (its prune removes what it applied),
        // then its GitRepository, then the Secret and the deploy key of its credential.
        Resource::WorkloadObject { kind, .. } => match kind.as_str() {
            k if k == crate::tools::kubectl::FLUX_KUSTOMIZATION_CRD => 0,
            k if k == crate::tools::kubectl::FLUX_GITREPOSITORY_CRD => 1,
            _ => 2,
        },
        Resource::DeployKey { .. } => 3,
        Resource::HelmRelease { .. } => 4,
        Resource::KalypsoCrds { .. } => 5,
        Resource::Namespace { .. } => 6,
        Resource::Flux { .. } => 7,
        Resource::RepoSecret { .. }
        | Resource::RepoLabel { .. }
        | Resource::RepoFileCommit { .. }
        | Resource::RepoEnvironmentSecret { .. }
        | Resource::RepoBranch { .. }
        | Resource::RepoEnvironment { .. } => 8,
        Resource::Repository { .. } => 9,
        Resource::AksCluster { .. } => 10,
        Resource::ResourceGroup { .. } => 11,
        Resource::KubeContext { .. } => 12,
    }
}

/// What a rollback would remove, in removal order ([`removal_rank`], newest first within a
/// kind): the answer to "Roll back the resources created by this run?". Only resources
/// created by us and not yet deleted.
pub fn rollback_preview(
    state: &BootstrapState,
    remover: &dyn ResourceRemover,
) -> Vec<PlannedRemoval> {
    let mut candidates = state.rollback_candidates();
    // Stable: the state's newest-first order stays the tie-break within a kind.
    candidates.sort_by_key(|record| removal_rank(&record.resource));
    candidates
        .into_iter()
        .map(|record| {
            let commands = remover.manual_commands(&record.resource);
            PlannedRemoval {
                description: record.resource.describe(),
                manual_command: commands.join(" && "),
                commands,
                asynchronous: remover.is_asynchronous(&record.resource),
                resource: record.resource.clone(),
            }
        })
        .collect()
}

/// The result of one removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalResult {
    pub resource: Resource,
    pub description: String,
    /// `Succeeded`, `Failed`, or `Cancelled` (not attempted: the rollback was cancelled).
    pub outcome: Outcome,
    pub message: String,
    pub duration: Duration,
    pub asynchronous: bool,
    /// `Succeeded` because there was nothing left to remove.
    pub already_gone: bool,
}

/// The result of a removal (see [`super::removal::RemovalPipeline`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackReport {
    /// In removal order.
    pub removals: Vec<RemovalResult>,
    /// What is still there, each with the command to remove it by hand.
    pub leftovers: Vec<String>,
    /// What the state claims as ours but the live resource does not (no mark, or another
    /// installation's): left alone, each with the reason.
    pub kept: Vec<String>,
}

impl RollbackReport {
    /// How many resources this removal deleted (or started deleting).
    pub fn removed(&self) -> usize {
        self.removals
            .iter()
            .filter(|r| r.outcome == Outcome::Succeeded && !r.already_gone)
            .count()
    }

    /// How many were gone before this removal reached them.
    pub fn already_gone(&self) -> usize {
        self.removals.iter().filter(|r| r.already_gone).count()
    }

    /// Everything the state recorded as ours is gone (or its deletion started), and nothing
    /// was kept for want of our mark.
    pub fn is_complete(&self) -> bool {
        self.leftovers.is_empty() && self.kept.is_empty()
    }
}

/// Remove exactly `plan` (a [`rollback_preview`], as shown to whoever consented), in its
/// order: the acting end of [`super::removal::RemovalPipeline`], reached only through its
/// consent. Never a resource recorded as reused. Each result is an event and is saved at
/// once (`deleted` or `delete_failed` with its manual command; a failure also in
/// `errors[]` as `rollback of <resource> failed: <why>`). The state ends `rolled_back`
/// only when everything went; otherwise `failed`, and `RollbackFinished` lists the
/// leftovers. `cancel` stops the rollback before its next removal.
pub(crate) async fn remove_planned(
    plan: Vec<PlannedRemoval>,
    state: &StateHandle,
    remover: &dyn ResourceRemover,
    events: &EventSink,
    cancel: &CancellationToken,
) -> RollbackReport {
    events.emit(EventKind::RollbackStarted {
        resources: plan.iter().map(|p| p.description.clone()).collect(),
    });

    let mut removals = Vec::with_capacity(plan.len());
    let mut leftovers = Vec::new();
    let mut kept = Vec::new();
    // Saves that failed, recorded in `errors[]` by the next save that works.
    let mut unsaved = Vec::new();
    for planned in plan {
        if cancel.is_cancelled() {
            let message = "not attempted: the rollback was cancelled".to_string();
            events.emit(EventKind::RollbackAction {
                resource: planned.description.clone(),
                outcome: Outcome::Cancelled,
                message: message.clone(),
                duration_ms: 0,
            });
            leftovers.push(leftover(&planned, "the rollback was cancelled before it"));
            removals.push(RemovalResult {
                resource: planned.resource,
                description: planned.description,
                outcome: Outcome::Cancelled,
                message,
                duration: Duration::ZERO,
                asynchronous: planned.asynchronous,
                already_gone: false,
            });
            continue;
        }

        let started = Instant::now();
        let result = remover.remove(&planned.resource).await;
        let duration = started.elapsed();
        let already_gone = matches!(&result, Ok(note) if note.already_gone);
        let (outcome, message, status) = match result {
            Ok(note) if note.kept => {
                kept.push(format!("{}: {}", planned.description, note.message));
                (Outcome::Skipped, note.message, ResourceStatus::KeptNotOurs)
            }
            Ok(note) if note.already_gone => {
                (Outcome::Succeeded, note.message, ResourceStatus::Deleted)
            }
            Ok(note) => {
                let message = if planned.asynchronous {
                    format!(
                        "{} (asynchronous: it finishes in the background)",
                        note.message
                    )
                } else {
                    note.message
                };
                (Outcome::Succeeded, message, ResourceStatus::Deleted)
            }
            Err(error) => {
                let reason = match &error.hint {
                    Some(hint) => format!("{} ({hint})", error.message),
                    None => error.message.clone(),
                };
                leftovers.push(leftover(&planned, &reason));
                let message = format!("{reason}; remove it by hand: {}", planned.manual_command);
                (Outcome::Failed, message, ResourceStatus::DeleteFailed)
            }
        };
        let saved = state.update(|s| {
            let now = Timestamp::now();
            s.set_resource_status(&planned.resource, status, Some(&message), now);
            if outcome == Outcome::Failed {
                s.push_error(
                    &format!("rollback of {} failed: {message}", planned.description),
                    now,
                );
            }
        });
        if let Err(error) = saved {
            let message = format!(
                "could not save the state after removing {}: {error}",
                planned.description
            );
            events.emit(EventKind::Log {
                level: LogLevel::Error,
                phase: Some(crate::state::Phase::Rollback),
                step: None,
                message: message.clone(),
            });
            unsaved.push(message);
        }
        events.emit(EventKind::RollbackAction {
            resource: planned.description.clone(),
            outcome,
            message: message.clone(),
            duration_ms: duration_ms(duration),
        });
        removals.push(RemovalResult {
            resource: planned.resource,
            description: planned.description,
            outcome,
            message,
            duration,
            asynchronous: planned.asynchronous,
            already_gone,
        });
    }

    let complete = leftovers.is_empty() && kept.is_empty();
    let saved = state.update(|s| {
        let now = Timestamp::now();
        for message in &unsaved {
            s.push_error(message, now);
        }
        if complete {
            s.set_status(RunStatus::RolledBack, now);
        } else {
            if !leftovers.is_empty() {
                s.push_error(
                    &format!(
                        "rollback left {} in place: {}",
                        plural(leftovers.len(), "resource"),
                        leftovers.join("; ")
                    ),
                    now,
                );
            }
            if !kept.is_empty() {
                s.push_error(
                    &format!(
                        "rollback kept {} without this installation's mark: {}",
                        plural(kept.len(), "resource"),
                        kept.join("; ")
                    ),
                    now,
                );
            }
            s.set_status(RunStatus::Failed, now);
        }
    });
    if let Err(error) = saved {
        events.emit(EventKind::Log {
            level: LogLevel::Error,
            phase: Some(crate::state::Phase::Rollback),
            step: None,
            message: format!("could not save the state after the rollback: {error}"),
        });
    }
    let gone_count = removals.iter().filter(|r| r.already_gone).count();
    let removed_count = removals
        .iter()
        .filter(|r| r.outcome == Outcome::Succeeded && !r.already_gone)
        .count();
    // What went, said apart: "removed 7, 2 already gone".
    let gone_note = if gone_count == 0 {
        String::new()
    } else {
        format!(", {gone_count} already gone")
    };
    let removed = format!("{removed_count}{gone_note}");
    let (outcome, message) = if complete {
        (
            Outcome::Succeeded,
            format!(
                "rolled back: removed {} created by this tool{gone_note}",
                plural(removed_count, "resource")
            ),
        )
    } else if leftovers.is_empty() {
        (
            Outcome::Failed,
            format!(
                "rollback incomplete: removed {removed}, kept {} that the state claims but that do not carry this installation's mark: {} ({})",
                kept.len(),
                kept.join("; "),
                Topic::RollbackKeptNotOurs.see()
            ),
        )
    } else {
        let kept_note = if kept.is_empty() {
            String::new()
        } else {
            format!(
                "; kept {} that do not carry this installation's mark: {} ({})",
                kept.len(),
                kept.join("; "),
                Topic::RollbackKeptNotOurs.see()
            )
        };
        (
            Outcome::Failed,
            format!(
                "rollback incomplete: removed {removed}, {} left in place (see the commands to remove them by hand; {}){kept_note}",
                leftovers.len(),
                Topic::RollbackIncomplete.see()
            ),
        )
    };
    events.emit(EventKind::RollbackFinished {
        outcome,
        message,
        leftovers: leftovers.clone(),
    });
    RollbackReport {
        removals,
        leftovers,
        kept,
    }
}

/// Between a leftover's resource and reason, and the command that removes it by hand.
const BY_HAND: &str = "; remove it by hand: ";

fn leftover(planned: &PlannedRemoval, reason: &str) -> String {
    format!(
        "{}: {reason}{BY_HAND}{}",
        planned.description, planned.manual_command
    )
}

/// A leftover line as [`leftover`] makes it, taken apart: the resource's description
/// (one of `descriptions`) and the command that removes it by hand. For a front end that
/// already printed why the resource could not be removed, and says each error once.
pub fn leftover_command<'a>(
    leftover: &'a str,
    descriptions: &[String],
) -> Option<(&'a str, &'a str)> {
    let (head, command) = leftover.rsplit_once(BY_HAND)?;
    let description = descriptions
        .iter()
        .filter(|description| head.starts_with(&format!("{description}: ")))
        .max_by_key(|description| description.len())?;
    Some((&leftover[..description.len()], command))
}
