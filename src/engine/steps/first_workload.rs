//! The first workload delivered (`validation.first-workload`): with workload clusters
//! attached, the run waits, within a bound, for the scheduler's pull request to each
//! attached environment branch, merges it with consent (`--no-merge` leaves it), and sees
//! each attached cluster's Kustomization Ready at the merged commit with the sample
//! workload's objects present.
//!
//! The environments are walked in promotion order. Once an environment's chain is
//! complete and its merged commit carries `.github/tracking/Promoted_Commit_Id`, the next
//! attached environment waits for the scheduler's pull request labelled `promoted` that
//! carries that same commit: the one the Actions chain (the gitops repository's
//! check-promote.yaml → the control plane's check-promote.yaml → cd.yaml) makes it open.
//!
//! A re-run resumes after the merge. The scheduler opens a pull request only when the
//! content it proposes differs from the branch, so once a run has merged it (and then
//! failed, was interrupted, or left it under `--no-merge` for a human who merged it) no
//! new one comes. When no open pull request of the scheduler's fits, the newest pull
//! request merged into the environment branch from a `deployment/…` branch (by the same
//! rules as an open one: labelled `promoted` for a promoting environment, carrying the
//! promoted commit when one is awaited) counts as the merged link, if its merge commit is
//! on the branch (GitHub's comparison of the two says the branch is at it or ahead of
//! it). Nothing is merged for it. This is safe because the rest of the chain is
//! unchanged: each attached cluster's Kustomization must be Ready at that merge commit or
//! at the branch's head, and the deployment targets' objects must be on the cluster, so the
//! step still proves what runs there; an open pull request, when there is one, is
//! always taken first.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;

use super::workloads::source_name;
use super::{
    resources, tool_error, validation, BootstrapSteps, Preview, StepCommands, StepEnv, Tools,
};
use crate::config::{Configuration, WorkloadCluster, WorkloadContext};
use crate::engine::context::{fact, StepContext};
use crate::engine::events::{ChainLink, LinkStatus};
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::{Decisions, Observed, PlannedStep, SCHEDULER_BRANCH_PREFIX};
use crate::engine::retry::poll_step;
use crate::engine::step::{Action, StepId};
use crate::tools::gh::{Gh, OpenPullRequest, PullRequestState};
use crate::tools::kubectl::{Condition, FluxKind, FluxObject, KubectlContext};
use crate::tools::retry::Poll;
use crate::tools::ToolError;
use crate::troubleshooting::Topic;
use crate::UserError;

/// The label the scheduler puts on a pull request that changes the promoted commit
/// (`prometedLabel` in scheduler/githubrepo.go of microsoft/kalypso-scheduler).
pub const PROMOTED_LABEL: &str = "promoted";
/// Where the scheduler records the control plane's commit an environment branch carries.
pub const PROMOTED_COMMIT_PATH: &str = ".github/tracking/Promoted_Commit_Id";
/// The ConfigMap the scheduler's config manifests make in each deployment target's namespace.
pub const PLATFORM_CONFIG_MAP: &str = "platform-config";
/// The control plane's workflow that delivers a promoted commit to an environment.
pub const CD_WORKFLOW: &str = "cd.yaml";
/// The workflow (in both repositories) that hands a merged promotion back.
pub const CHECK_PROMOTE_WORKFLOW: &str = "check-promote.yaml";

/// The environments with attached clusters, in promotion order, each with its clusters.
pub fn attached_environments(config: &Configuration) -> Vec<(String, Vec<WorkloadCluster>)> {
    config
        .environments
        .names()
        .iter()
        .filter_map(|environment| {
            let clusters: Vec<WorkloadCluster> = config
                .workload_clusters
                .iter()
                .filter(|cluster| &cluster.environment == environment)
                .cloned()
                .collect();
            (!clusters.is_empty()).then(|| (environment.clone(), clusters))
        })
        .collect()
}

/// The kube context of an attached cluster (`self`: the management cluster's).
pub fn cluster_context(cluster: &WorkloadCluster, management: &str) -> String {
    match &cluster.context {
        WorkloadContext::Management => management.to_string(),
        WorkloadContext::Named(context) => context.clone(),
    }
}

/// The verification's action and why; nothing when no cluster is attached (see
/// [`crate::engine::plan::is_part_of`]).
pub(crate) fn plan(config: &Configuration, _observed: &Observed, decisions: &mut Decisions) {
    if config.workload_clusters.is_empty() {
        return;
    }
    let environments: Vec<String> = attached_environments(config)
        .into_iter()
        .map(|(environment, _)| environment)
        .collect();
    let reason = if config.options.no_merge {
        format!(
            "wait for the scheduler's pull request against {} (--no-merge: it is left for you to merge; the run says how)",
            environments.join(", ")
        )
    } else {
        format!(
            "wait for the scheduler's pull request against {}, merge it on your account (gh pr merge), then wait for the attached clusters to run the workload",
            environments.join(", ")
        )
    };
    decisions.insert(StepId::FirstWorkload, (Action::Create, reason));
}

/// What consenting to the plan accepts of this step: the merges on the user's account;
/// none with `--no-merge`.
pub fn merge_consequences(config: &Configuration) -> Vec<String> {
    if config.options.no_merge || config.workload_clusters.is_empty() {
        return Vec::new();
    }
    attached_environments(config)
        .into_iter()
        .map(|(environment, _)| {
            format!(
                "the scheduler's pull request against the gitops branch {environment} is merged on your account (gh pr merge); --no-merge leaves it for you"
            )
        })
        .collect()
}

/// What the verification runs, for the dry run: one look at each link, as the run
/// repeats them; the pull request's number and commits are the run's to learn.
pub fn commands(env: &StepEnv, _planned: &PlannedStep, preview: &Preview) -> StepCommands {
    let tools = env.tools();
    let config = &env.configuration;
    let gitops = match preview.context {
        Some(context) => context.gitops.slug(),
        None => validation::repo_slug(&config.repositories.gitops, preview.owner),
    };
    let management = env.kube_context();
    let mut listed = StepCommands::default();
    // The account the scheduler's pull requests must come from.
    listed.push(tools.gh.api_user_spec());
    for (environment, clusters) in attached_environments(config) {
        listed.push(tools.gh.scheduler_pulls_spec(&gitops, &environment));
        listed.push(tools.gh.merged_pulls_spec(&gitops, &environment));
        listed.push(
            tools
                .gh
                .compare_spec(&gitops, "<merged commit>", &environment),
        );
        if !config.options.no_merge {
            listed.push(tools.gh.pr_merge_spec(&gitops, "<number>", "<head commit>"));
        }
        listed.push(tools.gh.pr_state_spec(&gitops, "<number>"));
        listed.push(
            tools
                .gh
                .raw_file_spec(&gitops, PROMOTED_COMMIT_PATH, "<merged commit>"),
        );
        for cluster in &clusters {
            let kubectl = tools
                .kubectl
                .with_context(cluster_context(cluster, &management));
            listed.push(kubectl.get_flux_object_spec(
                FluxKind::Kustomization,
                &source_name(&environment),
                resources::FLUX_NAMESPACE,
            ));
            listed.push(
                tools
                    .gh
                    .contents_spec(&gitops, &cluster.cluster_type, "<merged commit>"),
            );
            listed.push(tools.gh.raw_file_spec(
                &gitops,
                &format!(
                    "{}/<deployment target>/namespace.yaml",
                    cluster.cluster_type
                ),
                "<merged commit>",
            ));
            listed.push(kubectl.get_namespace_spec("<namespace>"));
            listed.push(kubectl.get_config_map_spec(PLATFORM_CONFIG_MAP, "<namespace>"));
            listed.push(kubectl.get_flux_object_spec(
                FluxKind::Kustomization,
                "<namespace>",
                resources::FLUX_NAMESPACE,
            ));
        }
    }
    if config.options.no_merge {
        listed.note("--no-merge: the run stops at the scheduler's pull request and prints the gh pr merge command that merges it");
    } else {
        listed.note("<number> and <head commit> are those of the scheduler's pull request (a deployment/… branch) the run finds open; a pull request the scheduler closes and replaces meanwhile is looked up again, and no other pull request is merged");
    }
    listed.note("with no open pull request of the scheduler's, the newest one it had merged into the environment branch (its merge commit on the branch, compared by gh api) is taken as merged: a re-run resumes at the clusters and merges nothing");
    listed.note("each attached cluster's Kustomization must be Ready at the merged commit; the deployment targets are read from the merged commit under ./<cluster type>/");
    listed
}

// ---------------------------------------------------------------------------------------
// The chain's decisions

/// The scheduler's pull requests among `pulls`, newest first: those from a
/// `deployment/…` branch of the repository itself (the scheduler's own,
/// `scheduler/githubrepo.go`) opened by `scheduler_login` (the account of the chart's
/// token, this run's), and when a promotion is awaited only those labelled `promoted`.
/// Anyone else's, or one from a fork, is never a candidate: a branch name alone proves
/// nothing, and merging runs its content on the clusters.
pub fn scheduler_candidates<'a>(
    pulls: &'a [OpenPullRequest],
    awaiting_promotion: bool,
    scheduler_login: &str,
) -> Vec<&'a OpenPullRequest> {
    let mut candidates: Vec<&OpenPullRequest> = pulls
        .iter()
        .filter(|pull| pull.head_ref_name.starts_with(SCHEDULER_BRANCH_PREFIX))
        .filter(|pull| !pull.is_cross_repository)
        .filter(|pull| {
            pull.author
                .as_ref()
                .is_some_and(|author| author.login.eq_ignore_ascii_case(scheduler_login))
        })
        .filter(|pull| !awaiting_promotion || pull.has_label(PROMOTED_LABEL))
        .collect();
    candidates.sort_by_key(|pull| std::cmp::Reverse(pull.number));
    candidates
}

/// The scheduler's pull requests merged into `environment` among `pulls`, newest first:
/// from a `deployment/…` branch, based on `environment`, with a merge commit, and when a
/// promotion is awaited only those labelled `promoted`. What a re-run takes as the merged
/// link when no open pull request of the scheduler's fits.
pub fn merged_scheduler_candidates<'a>(
    pulls: &'a [PullRequestState],
    environment: &str,
    awaiting_promotion: bool,
) -> Vec<&'a PullRequestState> {
    let mut candidates: Vec<&PullRequestState> = pulls
        .iter()
        .filter(|pull| pull.head_ref_name.starts_with(SCHEDULER_BRANCH_PREFIX))
        .filter(|pull| pull.base_ref_name == environment)
        .filter(|pull| pull.merged_commit().is_some())
        .filter(|pull| {
            !awaiting_promotion || pull.labels.iter().any(|label| label.name == PROMOTED_LABEL)
        })
        .collect();
    candidates.sort_by_key(|pull| std::cmp::Reverse(pull.number));
    candidates
}

/// Whether the tracking file's content (`.github/tracking/Promoted_Commit_Id` at the
/// pull request's head) names `promoted`.
pub fn carries_promoted_commit(tracking: Option<&str>, promoted: &str) -> bool {
    tracking.is_some_and(|content| content.trim() == promoted.trim())
}

/// What a refused merge means, read from the pull request after the refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterRefusal {
    /// It was merged meanwhile (by someone else, or the refusal came after the merge).
    Merged(String),
    /// Closed, or its head moved: the scheduler replaced it; look again.
    LookAgain(String),
    /// Still open at the same head: the refusal stands.
    Refused,
}

pub fn after_refused_merge(state: &PullRequestState, head: &str) -> AfterRefusal {
    if let Some(commit) = state.merged_commit() {
        return AfterRefusal::Merged(commit.to_string());
    }
    if !state.state.eq_ignore_ascii_case("OPEN") {
        return AfterRefusal::LookAgain(format!(
            "pull request #{} is {} (the scheduler closes its pull request when it proposes new content); looking for its replacement",
            state.number,
            state.state.to_lowercase()
        ));
    }
    if !state.head_ref_oid.is_empty() && state.head_ref_oid != head {
        return AfterRefusal::LookAgain(format!(
            "pull request #{} moved from {} to {}; looking again",
            state.number,
            short(head),
            short(&state.head_ref_oid)
        ));
    }
    AfterRefusal::Refused
}

/// The command that merges `pull` by hand, as the run would (works when copied).
pub fn merge_command(gh: &Gh, gitops: &str, pull: &OpenPullRequest) -> String {
    gh.pr_merge_spec(gitops, &pull.number.to_string(), &pull.head_ref_oid)
        .display()
}

/// The step's result under `--no-merge`: which pull request waits, and how to merge it.
pub fn left_for_merge_text(
    environment: &str,
    gitops: &str,
    pull: &OpenPullRequest,
    command: &str,
) -> String {
    format!(
        "--no-merge: the scheduler's pull request #{} ({}) against {environment} of {gitops} waits for you; merge it with: {command}; then the attached clusters reconcile it",
        pull.number,
        crate::text::escape_controls(&pull.url),
    )
}

/// The commit of a Kustomization's `lastAppliedRevision` (`BRANCH@sha1:SHA`, or an older
/// Flux's `BRANCH/SHA`).
pub fn revision_commit(revision: &str) -> &str {
    revision.rsplit([':', '/']).next().unwrap_or(revision)
}

/// Whether an attached cluster's Kustomization has applied `merged` (or `branch_head`, a
/// later commit of the branch): `Err` says what it shows instead.
pub fn reconciled_at(
    kustomization: Option<&FluxObject>,
    merged: &str,
    branch_head: Option<&str>,
) -> Result<String, String> {
    let Some(object) = kustomization else {
        return Err(
            "its Kustomization is not there (workloads.gitops-source makes it)".to_string(),
        );
    };
    let ready = object.ready.as_ref();
    let applied = object.last_applied_revision.as_deref().map(revision_commit);
    match (ready, applied) {
        (Some(condition), Some(commit)) if condition.is_true() => {
            if commit == merged {
                Ok(format!("Ready at {}", short(merged)))
            } else if branch_head == Some(commit) {
                Ok(format!(
                    "Ready at {}, a later commit of the branch than the merged {}",
                    short(commit),
                    short(merged)
                ))
            } else {
                Err(format!(
                    "Ready at {}, not yet at the merged {}",
                    short(commit),
                    short(merged)
                ))
            }
        }
        (condition, applied) => Err(format!(
            "{}{}",
            describe_condition(condition),
            applied
                .map(|commit| format!(" (last applied {})", short(commit)))
                .unwrap_or_default()
        )),
    }
}

fn describe_condition(condition: Option<&Condition>) -> String {
    match condition {
        None => "no Ready condition yet".to_string(),
        Some(condition) => format!(
            "Ready {}{}",
            condition.status,
            condition
                .message
                .as_deref()
                .or(condition.reason.as_deref())
                .map(|m| format!(": {}", crate::text::escape_controls(m)))
                .unwrap_or_default()
        ),
    }
}

/// The namespace a deployment target's `namespace.yaml` makes.
pub fn namespace_of(manifest: &str) -> Option<String> {
    use serde::Deserialize;
    for document in serde_yaml::Deserializer::from_str(manifest) {
        let Ok(value) = serde_yaml::Value::deserialize(document) else {
            continue;
        };
        if value.get("kind").and_then(|k| k.as_str()) == Some("Namespace") {
            if let Some(name) = value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                // Text from the repository: only a name Kubernetes accepts for a namespace
                // is used (in kubectl's argv) or printed.
                .filter(|name| crate::config::rules::namespace(name).is_ok())
            {
                return Some(name.to_string());
            }
        }
    }
    None
}

/// What the workload's objects on one cluster show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadState {
    /// Namespace, ConfigMap and Kustomization present, the Kustomization Ready.
    Running,
    /// All present; the workload's own Kustomization fails: the workload repository's
    /// problem, reported as a warning naming it.
    OwnKustomizationFails(String),
    /// Something is missing yet.
    Missing(String),
}

pub fn workload_state(
    context: &str,
    namespace: &str,
    namespace_present: bool,
    config_map_present: bool,
    kustomization: Option<&FluxObject>,
) -> WorkloadState {
    let mut missing = Vec::new();
    if !namespace_present {
        missing.push(format!("namespace {namespace}"));
    }
    if !config_map_present {
        missing.push(format!("ConfigMap {PLATFORM_CONFIG_MAP} in {namespace}"));
    }
    let Some(kustomization) = kustomization else {
        missing.push(format!(
            "Kustomization {namespace} in {}",
            resources::FLUX_NAMESPACE
        ));
        return WorkloadState::Missing(missing.join(", "));
    };
    if !missing.is_empty() {
        return WorkloadState::Missing(missing.join(", "));
    }
    match kustomization.ready.as_ref() {
        Some(ready) if ready.is_true() => WorkloadState::Running,
        Some(ready) if ready.status == "False" => WorkloadState::OwnKustomizationFails(format!(
            "the workload's own Kustomization {}/{namespace} fails ({}): that is the workload repository's content, not this tool's; see kubectl --context {} get kustomizations.kustomize.toolkit.fluxcd.io {namespace} -n {} -o yaml",
            resources::FLUX_NAMESPACE,
            describe_condition(Some(ready)),
            crate::text::shell_word(context),
            resources::FLUX_NAMESPACE,
        )),
        other => WorkloadState::Missing(format!(
            "Kustomization {namespace}: {}",
            describe_condition(other)
        )),
    }
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

// ---------------------------------------------------------------------------------------
// The run

/// One attached cluster of an environment.
#[derive(Clone)]
struct Attached {
    context: String,
    cluster_type: String,
    kubectl: KubectlContext,
}

/// Where one environment's chain stands.
#[derive(Clone, Debug, Default)]
enum ChainStage {
    #[default]
    FindPull,
    Reconcile {
        number: u64,
        merged: String,
    },
    Workload {
        number: u64,
        merged: String,
    },
    Done,
}

/// What one environment's chain delivered, for the result and the summary.
#[derive(Clone, Debug, Default)]
struct Delivered {
    number: u64,
    merged: String,
    /// The control plane commit the merged commit carries, when it does.
    promoted: Option<String>,
    /// Per cluster context: the workload namespaces, and any warning.
    clusters: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

struct EnvironmentChain {
    environment: String,
    clusters: Vec<Attached>,
    stage: ChainStage,
    /// The promoted commit the pull request must carry (from the environment before).
    awaiting_promotion: Option<String>,
    /// A later environment is attached: only a merged promotion (labelled `promoted`,
    /// carrying `Promoted_Commit_Id`) is handed on by check-promote.yaml, so this
    /// environment's chain takes only the scheduler's promoted pull request.
    promotes: bool,
    delivered: Delivered,
    /// The namespaces of each cluster type's deployment targets at the merged commit.
    targets: BTreeMap<String, Vec<String>>,
}

struct Chain {
    gitops: String,
    /// The management cluster's kube context (where the scheduler runs).
    management_context: String,
    gh: Gh,
    /// The account the scheduler opens its pull requests as: the chart's token is this
    /// run's GitHub token.
    scheduler_login: String,
    no_merge: bool,
    environments: Vec<EnvironmentChain>,
    current: usize,
    /// The last status said of each link, so that only changes are told.
    told: BTreeMap<(String, ChainLink), (LinkStatus, String)>,
    /// `--no-merge`: the pull request left, with its merge command.
    left: Option<String>,
}

/// How the chain ended.
enum ChainEnd {
    Delivered,
    Left(String),
}

impl Chain {
    fn tell(
        &mut self,
        ctx: &StepContext,
        environment: &str,
        link: ChainLink,
        status: LinkStatus,
        message: String,
    ) {
        let key = (environment.to_string(), link);
        let changed = self.told.get(&key).is_none_or(|(told, said)| {
            *told != status || (status != LinkStatus::Waiting && *said != message)
        });
        if changed {
            ctx.chain(environment, link, status, message.clone());
            self.told.insert(key, (status, message));
        }
    }

    /// One round: advance the current environment as far as it goes.
    async fn advance(&mut self, ctx: &StepContext) -> Result<Poll<ChainEnd>, UserError> {
        loop {
            if self.current >= self.environments.len() {
                return Ok(Poll::Ready(ChainEnd::Delivered));
            }
            if let Some(left) = &self.left {
                return Ok(Poll::Ready(ChainEnd::Left(left.clone())));
            }
            let index = self.current;
            let stage = self.environments[index].stage.clone();
            let next = match stage {
                ChainStage::FindPull => self.find_and_merge(ctx, index).await?,
                ChainStage::Reconcile { number, merged } => {
                    self.reconcile(ctx, index, number, merged).await?
                }
                ChainStage::Workload { number, merged } => {
                    self.workload(ctx, index, number, merged).await?
                }
                ChainStage::Done => {
                    self.current += 1;
                    continue;
                }
            };
            match next {
                Ok(stage) => self.environments[index].stage = stage,
                Err(pending) => return Ok(Poll::Pending(pending)),
            }
        }
    }

    /// The scheduler's pull request, merged (or left under `--no-merge`).
    /// Whether pull request `number` carries the promoted commit `promoted` at its head
    /// (`.github/tracking/Promoted_Commit_Id`); `Err` is a transient failure to retry.
    async fn carries_promotion(
        &self,
        step: StepId,
        gitops: &str,
        number: u64,
        head: &str,
        promoted: &str,
    ) -> Result<Result<bool, String>, UserError> {
        match self.gh.raw_file(gitops, PROMOTED_COMMIT_PATH, head).await {
            Ok(tracking) => Ok(Ok(carries_promoted_commit(tracking.as_deref(), promoted))),
            Err(error) => pending_or_fail(
                step,
                &format!("read {PROMOTED_COMMIT_PATH} of pull request #{number}"),
                error,
            ),
        }
    }

    async fn find_and_merge(
        &mut self,
        ctx: &StepContext,
        index: usize,
    ) -> Result<Result<ChainStage, String>, UserError> {
        let step = ctx.step();
        let environment = self.environments[index].environment.clone();
        let awaiting = self.environments[index].awaiting_promotion.clone();
        let gitops = self.gitops.clone();
        let pulls = match self.gh.scheduler_pulls(&gitops, &environment).await {
            Ok(pulls) => pulls,
            Err(error) => {
                return pending_or_fail(
                    step,
                    &format!("list the pull requests against {environment} of {gitops}"),
                    error,
                )
            }
        };
        let promotes = self.environments[index].promotes;
        let candidates: Vec<OpenPullRequest> = scheduler_candidates(
            &pulls,
            awaiting.is_some() || promotes,
            &self.scheduler_login,
        )
        .into_iter()
        .cloned()
        .collect();
        let mut chosen = None;
        for candidate in candidates {
            match &awaiting {
                None => {
                    chosen = Some(candidate);
                    break;
                }
                Some(promoted) => {
                    let carries = match self
                        .carries_promotion(
                            step,
                            &gitops,
                            candidate.number,
                            &candidate.head_ref_oid,
                            promoted,
                        )
                        .await?
                    {
                        Ok(carries) => carries,
                        Err(pending) => return Ok(Err(pending)),
                    };
                    if carries {
                        chosen = Some(candidate);
                        break;
                    }
                }
            }
        }
        if chosen.is_none() {
            match self
                .merged_before(step, &environment, awaiting.as_deref(), promotes)
                .await?
            {
                Ok(Some(pull)) => return Ok(Ok(self.resume_after_merge(ctx, index, &pull))),
                Ok(None) => {}
                Err(pending) => return Ok(Err(pending)),
            }
        }
        let Some(pull) = chosen else {
            let what = match &awaiting {
                Some(promoted) => format!(
                    "no open pull request from the scheduler labelled {PROMOTED_LABEL} carrying the promoted commit {} against {environment} of {gitops} yet ({} open)",
                    short(promoted),
                    pulls.len()
                ),
                None if promotes => format!(
                    "no open pull request from the scheduler labelled {PROMOTED_LABEL} against {environment} of {gitops} yet ({} open; the control plane's cd.yaml pins {environment}, then the scheduler proposes it as a promotion)",
                    pulls.len()
                ),
                None => format!(
                    "no open pull request from the scheduler (a {SCHEDULER_BRANCH_PREFIX}… branch) against {environment} of {gitops} yet ({} open)",
                    pulls.len()
                ),
            };
            self.tell(
                ctx,
                &environment,
                ChainLink::PullRequest,
                LinkStatus::Waiting,
                what.clone(),
            );
            return Ok(Err(what));
        };
        self.tell(
            ctx,
            &environment,
            ChainLink::PullRequest,
            LinkStatus::Done,
            format!(
                "#{} from {}{}",
                pull.number,
                crate::text::escape_controls(&pull.head_ref_name),
                if pull.has_label(PROMOTED_LABEL) {
                    " (promoted)"
                } else {
                    ""
                }
            ),
        );
        if self.no_merge {
            let command = merge_command(&self.gh, &gitops, &pull);
            let text = left_for_merge_text(&environment, &gitops, &pull, &command);
            self.tell(
                ctx,
                &environment,
                ChainLink::Merged,
                LinkStatus::Left,
                format!("waits for you: {command}"),
            );
            self.left = Some(text.clone());
            return Ok(Err(text));
        }
        ctx.progress(format!(
            "merging pull request #{} against {environment}",
            pull.number
        ));
        let merged = match self
            .gh
            .pr_merge(&gitops, pull.number, &pull.head_ref_oid)
            .await
        {
            Ok(()) => None,
            Err(refusal) => {
                if refusal.is_transient() {
                    return Ok(Err(format!(
                        "merge #{}: {refusal} (will retry)",
                        pull.number
                    )));
                }
                let state = match self.gh.pr_state(&gitops, pull.number).await {
                    Ok(state) => state,
                    Err(error) => {
                        return pending_or_fail(
                            step,
                            &format!("read pull request #{}", pull.number),
                            error,
                        )
                    }
                };
                match after_refused_merge(&state, &pull.head_ref_oid) {
                    AfterRefusal::Merged(commit) => Some(commit),
                    AfterRefusal::LookAgain(why) => {
                        self.tell(
                            ctx,
                            &environment,
                            ChainLink::PullRequest,
                            LinkStatus::Waiting,
                            why.clone(),
                        );
                        return Ok(Err(why));
                    }
                    AfterRefusal::Refused => {
                        let error = tool_error(step, &format!("merge the scheduler's pull request #{} against {environment} of {gitops}", pull.number), &refusal);
                        self.tell(
                            ctx,
                            &environment,
                            ChainLink::Merged,
                            LinkStatus::Failed,
                            error.message.clone(),
                        );
                        return Err(error);
                    }
                }
            }
        };
        let merged = match merged {
            Some(commit) => commit,
            None => match self.gh.pr_state(&gitops, pull.number).await {
                Ok(state) => match state.merged_commit() {
                    Some(commit) => commit.to_string(),
                    None => {
                        return Ok(Err(format!(
                            "pull request #{} is {} after the merge; looking again",
                            pull.number,
                            state.state.to_lowercase()
                        )))
                    }
                },
                Err(error) => {
                    return pending_or_fail(
                        step,
                        &format!("read pull request #{}", pull.number),
                        error,
                    )
                }
            },
        };
        self.tell(
            ctx,
            &environment,
            ChainLink::Merged,
            LinkStatus::Done,
            format!("#{} merged as {}", pull.number, short(&merged)),
        );
        let chain = &mut self.environments[index];
        chain.delivered.number = pull.number;
        chain.delivered.merged = merged.clone();
        Ok(Ok(ChainStage::Reconcile {
            number: pull.number,
            merged,
        }))
    }

    /// The scheduler's pull request already merged into `environment` that a re-run
    /// takes as the merged link (see the module's documentation): the newest that fits,
    /// when its merge commit is on the branch.
    async fn merged_before(
        &self,
        step: StepId,
        environment: &str,
        awaiting: Option<&str>,
        promotes: bool,
    ) -> Result<Result<Option<PullRequestState>, String>, UserError> {
        let gitops = &self.gitops;
        let merged = match self.gh.merged_pulls(gitops, environment).await {
            Ok(merged) => merged,
            Err(error) => {
                return pending_or_fail(
                    step,
                    &format!("list the pull requests merged into {environment} of {gitops}"),
                    error,
                )
            }
        };
        let mut found = None;
        for candidate in
            merged_scheduler_candidates(&merged, environment, awaiting.is_some() || promotes)
        {
            match awaiting {
                None => {
                    found = Some(candidate.clone());
                    break;
                }
                Some(promoted) => {
                    let carries = match self
                        .carries_promotion(
                            step,
                            gitops,
                            candidate.number,
                            &candidate.head_ref_oid,
                            promoted,
                        )
                        .await?
                    {
                        Ok(carries) => carries,
                        Err(pending) => return Ok(Err(pending)),
                    };
                    if carries {
                        found = Some(candidate.clone());
                        break;
                    }
                }
            }
        }
        let Some(pull) = found else {
            return Ok(Ok(None));
        };
        let merge_commit = pull.merged_commit().unwrap_or_default();
        match self
            .gh
            .commit_on_branch(gitops, merge_commit, environment)
            .await
        {
            Ok(true) => Ok(Ok(Some(pull))),
            // The branch was rewritten since: that merge is no longer what it delivers.
            Ok(false) => Ok(Ok(None)),
            Err(error) => pending_or_fail(
                step,
                &format!(
                    "compare the merge commit {} of pull request #{} with {environment} of {gitops}",
                    short(merge_commit),
                    pull.number
                ),
                error,
            ),
        }
    }

    /// The merged link taken from a pull request merged before: told, and the chain goes
    /// on at the clusters.
    fn resume_after_merge(
        &mut self,
        ctx: &StepContext,
        index: usize,
        pull: &PullRequestState,
    ) -> ChainStage {
        let environment = self.environments[index].environment.clone();
        let merged = pull.merged_commit().unwrap_or_default().to_string();
        let promoted = pull.labels.iter().any(|label| label.name == PROMOTED_LABEL);
        self.tell(
            ctx,
            &environment,
            ChainLink::PullRequest,
            LinkStatus::Done,
            format!(
                "#{} from {}{} (merged before this run)",
                pull.number,
                crate::text::escape_controls(&pull.head_ref_name),
                if promoted { " (promoted)" } else { "" }
            ),
        );
        self.tell(
            ctx,
            &environment,
            ChainLink::Merged,
            LinkStatus::Done,
            format!(
                "#{} was merged as {}, which {environment} carries: resuming at the clusters",
                pull.number,
                short(&merged)
            ),
        );
        let chain = &mut self.environments[index];
        chain.delivered.number = pull.number;
        chain.delivered.merged = merged.clone();
        ChainStage::Reconcile {
            number: pull.number,
            merged,
        }
    }

    /// Every attached cluster's Kustomization Ready at the merged commit.
    async fn reconcile(
        &mut self,
        ctx: &StepContext,
        index: usize,
        number: u64,
        merged: String,
    ) -> Result<Result<ChainStage, String>, UserError> {
        let step = ctx.step();
        let environment = self.environments[index].environment.clone();
        let name = source_name(&environment);
        let clusters = self.environments[index].clusters.clone();
        // Every cluster's Kustomization at once; a failure is the first in cluster order.
        let read = join_all(clusters.iter().map(|cluster| {
            cluster.kubectl.get_flux_object(
                FluxKind::Kustomization,
                &name,
                resources::FLUX_NAMESPACE,
            )
        }))
        .await;
        let mut objects = Vec::with_capacity(clusters.len());
        for (cluster, object) in clusters.iter().zip(read) {
            match object {
                Ok(object) => objects.push(object),
                Err(error) => {
                    return pending_or_fail(
                        step,
                        &format!("read Kustomization {name} on {}", cluster.context),
                        error,
                    )
                }
            }
        }
        let applied: Vec<Option<String>> = objects
            .iter()
            .map(|object| {
                object
                    .as_ref()
                    .and_then(|o| o.last_applied_revision.as_deref())
                    .map(revision_commit)
                    .map(str::to_string)
            })
            .collect();
        // A later commit of the branch counts: read the branch (once) only when needed.
        let mut head: Option<String> = None;
        if applied.iter().flatten().any(|commit| *commit != merged) {
            head = match self.gh.branch_head(&self.gitops, &environment).await {
                Ok(head) => head,
                Err(error) => {
                    return pending_or_fail(
                        step,
                        &format!("read the branch {environment} of {}", self.gitops),
                        error,
                    )
                }
            };
        }
        let mut waiting = Vec::new();
        let mut done = Vec::new();
        for (cluster, object) in clusters.iter().zip(&objects) {
            match reconciled_at(object.as_ref(), &merged, head.as_deref()) {
                Ok(said) => done.push(format!("{}: {name} {said}", cluster.context)),
                Err(why) => waiting.push(format!("{}: {name} {why}", cluster.context)),
            }
        }
        if !waiting.is_empty() {
            let what = waiting.join("; ");
            self.tell(
                ctx,
                &environment,
                ChainLink::Reconciled,
                LinkStatus::Waiting,
                what.clone(),
            );
            return Ok(Err(what));
        }
        self.tell(
            ctx,
            &environment,
            ChainLink::Reconciled,
            LinkStatus::Done,
            done.join("; "),
        );
        Ok(Ok(ChainStage::Workload { number, merged }))
    }

    /// The sample workload's objects on every attached cluster.
    async fn workload(
        &mut self,
        ctx: &StepContext,
        index: usize,
        _number: u64,
        merged: String,
    ) -> Result<Result<ChainStage, String>, UserError> {
        let step = ctx.step();
        let environment = self.environments[index].environment.clone();
        let gitops = self.gitops.clone();
        let clusters = self.environments[index].clusters.clone();
        // The deployment targets of each cluster type not known yet, once per type, at once.
        let mut unknown: Vec<&str> = Vec::new();
        for cluster in &clusters {
            let cluster_type = cluster.cluster_type.as_str();
            if !self.environments[index].targets.contains_key(cluster_type)
                && !unknown.contains(&cluster_type)
            {
                unknown.push(cluster_type);
            }
        }
        let listed = join_all(
            unknown
                .iter()
                .map(|cluster_type| self.target_namespaces(step, cluster_type, &merged)),
        )
        .await;
        let mut found = BTreeMap::new();
        for (cluster_type, listing) in unknown.iter().zip(listed) {
            match listing? {
                Ok(namespaces) => found.insert(cluster_type.to_string(), namespaces),
                Err(pending) => return Ok(Err(pending)),
            };
        }
        let mut per_cluster = Vec::with_capacity(clusters.len());
        for cluster in &clusters {
            let namespaces = match self.environments[index].targets.get(&cluster.cluster_type) {
                Some(namespaces) => namespaces.clone(),
                None => {
                    let namespaces = found
                        .get(&cluster.cluster_type)
                        .cloned()
                        .unwrap_or_default();
                    if namespaces.is_empty() {
                        let error = UserError::in_step(
                            step,
                            format!(
                                "the merged commit {} of {environment} in {gitops} has no deployment target under ./{}/: the scheduler assigned nothing to cluster type {} in {environment}, so nothing will run on {}",
                                short(&merged),
                                cluster.cluster_type,
                                cluster.cluster_type,
                                cluster.context
                            ),
                        )
                        .with_hint(Topic::FirstWorkload.hint(format!(
                            "check the control plane's scheduling policies for {environment} (kubectl --context {} get schedulingpolicies,assignments -n {environment}) and that --workload-cluster names the cluster type the workloads are scheduled to",
                            crate::text::shell_word(&self.management_context)
                        )));
                        self.tell(
                            ctx,
                            &environment,
                            ChainLink::Running,
                            LinkStatus::Failed,
                            error.message.clone(),
                        );
                        return Err(error);
                    }
                    self.environments[index]
                        .targets
                        .insert(cluster.cluster_type.clone(), namespaces.clone());
                    namespaces
                }
            };
            per_cluster.push(namespaces);
        }
        // Every cluster's workload objects at once; the first failure in cluster order.
        let observed = join_all(
            clusters
                .iter()
                .zip(&per_cluster)
                .map(|(cluster, namespaces)| workload_on(step, cluster, namespaces)),
        )
        .await;
        let mut waiting = Vec::new();
        let mut warnings = Vec::new();
        let mut arrived = Vec::new();
        for ((cluster, namespaces), observed) in clusters.iter().zip(per_cluster).zip(observed) {
            let (cluster_warnings, missing) = match observed? {
                Ok(observed) => observed,
                Err(pending) => return Ok(Err(pending)),
            };
            waiting.extend(missing);
            arrived.push((
                cluster.context.clone(),
                namespaces,
                cluster_warnings.clone(),
            ));
            warnings.extend(cluster_warnings);
        }
        if !waiting.is_empty() {
            let what = waiting.join("; ");
            self.tell(
                ctx,
                &environment,
                ChainLink::Running,
                LinkStatus::Waiting,
                what.clone(),
            );
            return Ok(Err(what));
        }
        let said: Vec<String> = arrived
            .iter()
            .map(|(context, namespaces, _)| {
                format!("{context}: namespace {}", namespaces.join(", "))
            })
            .collect();
        if warnings.is_empty() {
            self.tell(
                ctx,
                &environment,
                ChainLink::Running,
                LinkStatus::Done,
                said.join("; "),
            );
        } else {
            self.tell(
                ctx,
                &environment,
                ChainLink::Running,
                LinkStatus::Warning,
                format!("{}; {}", said.join("; "), warnings.join("; ")),
            );
        }
        // The promoted commit the merged commit carries, for the next environment.
        let promoted = match self
            .gh
            .raw_file(&gitops, PROMOTED_COMMIT_PATH, &merged)
            .await
        {
            Ok(tracking) => tracking
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            Err(error) => {
                return pending_or_fail(
                    step,
                    &format!("read {PROMOTED_COMMIT_PATH} at {}", short(&merged)),
                    error,
                )
            }
        };
        let chain = &mut self.environments[index];
        chain.delivered.promoted = promoted.clone();
        for (context, namespaces, warnings) in arrived {
            chain
                .delivered
                .clusters
                .insert(context, (namespaces, warnings));
        }
        if let (Some(promoted), Some(next)) = (promoted, self.environments.get_mut(index + 1)) {
            next.awaiting_promotion = Some(promoted);
        }
        Ok(Ok(ChainStage::Done))
    }

    /// The namespaces of the deployment targets under `./CLUSTER_TYPE/` at `commit`.
    async fn target_namespaces(
        &self,
        step: StepId,
        cluster_type: &str,
        commit: &str,
    ) -> Result<Result<Vec<String>, String>, UserError> {
        let listing = match self.gh.directory(&self.gitops, cluster_type, commit).await {
            Ok(listing) => listing.unwrap_or_default(),
            Err(error) => {
                return pending_or_fail(
                    step,
                    &format!(
                        "list ./{cluster_type}/ of {} at {}",
                        self.gitops,
                        short(commit)
                    ),
                    error,
                )
            }
        };
        let mut namespaces = Vec::new();
        for entry in listing.iter().filter(|entry| entry.kind == "dir") {
            let path = format!("{}/namespace.yaml", entry.path);
            match self.gh.raw_file(&self.gitops, &path, commit).await {
                Ok(Some(manifest)) => {
                    if let Some(namespace) = namespace_of(&manifest) {
                        namespaces.push(namespace);
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    return pending_or_fail(
                        step,
                        &format!("read {path} at {}", short(commit)),
                        error,
                    )
                }
            }
        }
        Ok(Ok(namespaces))
    }
}

/// The sample workload on one attached cluster, each namespace's objects queried at once:
/// the warnings of the workload's own Kustomizations, and what is still missing.
async fn workload_on(
    step: StepId,
    cluster: &Attached,
    namespaces: &[String],
) -> Result<Result<(Vec<String>, Vec<String>), String>, UserError> {
    let mut warnings = Vec::new();
    let mut missing = Vec::new();
    for namespace in namespaces {
        let (present, config_map, kustomization) = tokio::join!(
            cluster.kubectl.get_namespace(namespace),
            cluster
                .kubectl
                .config_map_exists(PLATFORM_CONFIG_MAP, namespace),
            cluster.kubectl.get_flux_object(
                FluxKind::Kustomization,
                namespace,
                resources::FLUX_NAMESPACE
            ),
        );
        let what = format!("the workload in {namespace} on {}", cluster.context);
        let present = match present {
            Ok(found) => found.is_some(),
            Err(error) => return pending_or_fail(step, &what, error),
        };
        let config_map = match config_map {
            Ok(found) => found,
            Err(error) => return pending_or_fail(step, &what, error),
        };
        let kustomization = match kustomization {
            Ok(found) => found,
            Err(error) => return pending_or_fail(step, &what, error),
        };
        match workload_state(
            &cluster.context,
            namespace,
            present,
            config_map,
            kustomization.as_ref(),
        ) {
            WorkloadState::Running => {}
            WorkloadState::OwnKustomizationFails(warning) => warnings.push(warning),
            WorkloadState::Missing(what) => missing.push(format!("{}: {what}", cluster.context)),
        }
    }
    Ok(Ok((warnings, missing)))
}

/// A failed query: transient ones are a pending round, anything else ends the step.
fn pending_or_fail<T>(
    step: StepId,
    what: &str,
    error: ToolError,
) -> Result<Result<T, String>, UserError> {
    if error.is_transient() {
        Ok(Err(format!("{what}: {error} (will retry)")))
    } else {
        Err(tool_error(step, what, &error))
    }
}

pub(crate) async fn run(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let config = &env.configuration;
    let tools = Tools::for_step(env, ctx);
    let management = ctx
        .facts()
        .get(fact::KUBE_CONTEXT)
        .unwrap_or_else(|| env.kube_context());
    let template = steps.template_context(ctx).await?;
    let gitops = template.gitops.slug();
    let control_plane = template.control_plane.slug();
    let attached = attached_environments(config);
    let last = attached.len().saturating_sub(1);
    let environments: Vec<EnvironmentChain> = attached
        .into_iter()
        .enumerate()
        .map(|(position, (environment, clusters))| EnvironmentChain {
            promotes: position < last,
            environment,
            clusters: clusters
                .iter()
                .map(|cluster| {
                    let context = cluster_context(cluster, &management);
                    Attached {
                        kubectl: tools.kubectl.with_context(&context),
                        context,
                        cluster_type: cluster.cluster_type.clone(),
                    }
                })
                .collect(),
            stage: ChainStage::FindPull,
            awaiting_promotion: None,
            delivered: Delivered::default(),
            targets: BTreeMap::new(),
        })
        .collect();
    if environments.is_empty() {
        return Err(UserError::in_step(
            planned.id,
            "no workload cluster is attached to any environment of this run",
        ));
    }
    let scheduler_login = super::call(env, ctx, "find the GitHub account of the token", || {
        tools.gh.api_user()
    })
    .await?
    .login;
    let mut chain = Chain {
        gitops: gitops.clone(),
        management_context: management.clone(),
        gh: tools.gh.clone(),
        scheduler_login,
        no_merge: config.options.no_merge,
        environments,
        current: 0,
        told: BTreeMap::new(),
        left: None,
    };
    let names: Vec<String> = chain
        .environments
        .iter()
        .map(|e| e.environment.clone())
        .collect();
    for environment in &names {
        for link in ChainLink::ALL {
            chain.tell(
                ctx,
                environment,
                link,
                LinkStatus::Waiting,
                "waiting".to_string(),
            );
        }
    }
    let chain = Arc::new(tokio::sync::Mutex::new(chain));
    let ending = poll_step(
        ctx,
        &env.timings.first_workload,
        "the first workload",
        || {
            let chain = Arc::clone(&chain);
            async move { chain.lock().await.advance(ctx).await }
        },
    )
    .await;
    let mut chain = chain.lock().await;
    let ending = match ending {
        Ok(ending) => ending,
        Err(error) => {
            // The link that was being waited for says it gave up.
            if let Some(current) = chain.environments.get(chain.current) {
                let environment = current.environment.clone();
                let link = match current.stage {
                    ChainStage::FindPull => ChainLink::PullRequest,
                    ChainStage::Reconcile { .. } => ChainLink::Reconciled,
                    ChainStage::Workload { .. } | ChainStage::Done => ChainLink::Running,
                };
                let said = chain
                    .told
                    .get(&(environment.clone(), link))
                    .map(|(_, said)| said.clone())
                    .unwrap_or_default();
                if chain
                    .told
                    .get(&(environment.clone(), link))
                    .map(|(s, _)| *s)
                    == Some(LinkStatus::Waiting)
                {
                    chain.tell(ctx, &environment, link, LinkStatus::Failed, said);
                }
            }
            let mut contexts: Vec<&str> = chain
                .environments
                .iter()
                .flat_map(|environment| environment.clusters.iter())
                .map(|cluster| cluster.context.as_str())
                .collect();
            contexts.sort_unstable();
            contexts.dedup();
            let flux_objects: Vec<String> = contexts
                .iter()
                .map(|context| {
                    format!(
                        "kubectl --context {} get gitrepositories,kustomizations -n {}",
                        crate::text::shell_word(context),
                        resources::FLUX_NAMESPACE
                    )
                })
                .collect();
            let hint = Topic::FirstWorkload.hint(format!(
                "look at the scheduler's pull requests (gh pr list --repo {gitops}) and at each attached cluster's Flux objects ({}), then run again to resume at this step",
                flux_objects.join("; ")
            ));
            return Err(match error.hint {
                Some(_) => error,
                None => error.with_hint(hint),
            });
        }
    };
    let summary = summary_lines(
        &chain,
        &tools.gh,
        &control_plane,
        env.demo,
        config.options.no_merge,
    );
    ctx.facts().set(fact::FIRST_WORKLOAD_NEXT, summary);
    match ending {
        ChainEnd::Left(text) => Ok(StepOutcome::succeeded(text)),
        ChainEnd::Delivered => {
            ctx.transition("Delivered");
            Ok(StepOutcome::succeeded(delivered_text(&chain)))
        }
    }
}

/// How to see the workload running in `namespace` on `context`: the kubectl command; in
/// a demo, whose clusters exist only inside the run, where it ran and what a real run
/// prints instead (the kubectl command would answer "context not found" when copied).
pub fn running_workload_line(context: &str, namespace: &str, demo: bool) -> String {
    if demo {
        format!(
            "DEMO: the sample workload ran in namespace {namespace} of the simulated cluster {}, which ended with the demo; after a real run this line is the kubectl get pods command that shows it",
            crate::text::escape_controls(context)
        )
    } else {
        format!(
            "kubectl --context {} get pods -n {namespace}",
            crate::text::shell_word(context)
        )
    }
}

/// The step's result: per environment and cluster what arrived.
fn delivered_text(chain: &Chain) -> String {
    let parts: Vec<String> = chain
        .environments
        .iter()
        .map(|environment| {
            let delivered = &environment.delivered;
            let clusters: Vec<String> = delivered
                .clusters
                .iter()
                .map(|(context, (namespaces, warnings))| {
                    let warned = if warnings.is_empty() {
                        String::new()
                    } else {
                        format!(" (warning: {})", warnings.join("; "))
                    };
                    format!("{context} runs {}{warned}", namespaces.join(", "))
                })
                .collect();
            format!(
                "{}: pull request #{} merged as {}, {}",
                environment.environment,
                delivered.number,
                short(&delivered.merged),
                clusters.join(", ")
            )
        })
        .collect();
    format!("the first workload arrived: {}", parts.join("; "))
}

/// What the summary ends with: how to see the running workload, and how to promote.
fn summary_lines(
    chain: &Chain,
    gh: &Gh,
    control_plane: &str,
    demo: bool,
    no_merge: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    if no_merge {
        if let Some(left) = &chain.left {
            lines.push(left.clone());
        }
        return lines;
    }
    let promotions: Vec<(&EnvironmentChain, &EnvironmentChain)> = chain
        .environments
        .iter()
        .zip(chain.environments.iter().skip(1))
        .collect();
    for (from, to) in &promotions {
        if let Some(promoted) = &from.delivered.promoted {
            let by_hand = gh
                .workflow_run_spec(
                    control_plane,
                    CD_WORKFLOW,
                    "main",
                    &[
                        ("environment", to.environment.as_str()),
                        ("promoted_commit_id", promoted.as_str()),
                    ],
                )
                .display();
            if demo {
                // The demo's repositories ended with it: the command is told, not offered.
                lines.push(format!(
                    "promotion: a merged pull request labelled {PROMOTED_LABEL} in {} runs the gitops repository's {CHECK_PROMOTE_WORKFLOW}, which hands back to {control_plane}'s {CHECK_PROMOTE_WORKFLOW}, which runs {CD_WORKFLOW} for {} (DEMO: the simulated Actions did; on a real run, promote by hand with gh workflow run {CD_WORKFLOW} and the environment and promoted commit)",
                    from.environment, to.environment
                ));
            } else {
                lines.push(format!(
                    "promotion: a merged pull request labelled {PROMOTED_LABEL} in {} runs the gitops repository's {CHECK_PROMOTE_WORKFLOW}, which hands back to {control_plane}'s {CHECK_PROMOTE_WORKFLOW}, which runs {CD_WORKFLOW} for {}; to promote by hand:",
                    from.environment, to.environment
                ));
                lines.push(by_hand);
            }
        }
    }
    for environment in &chain.environments {
        for (context, (namespaces, _)) in &environment.delivered.clusters {
            for namespace in namespaces {
                lines.push(running_workload_line(context, namespace, demo));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::gh::{MergeCommit, PullRequestAuthor, PullRequestLabel};
    use std::sync::Arc;

    fn pull(number: u64, head: &str, labels: &[&str]) -> OpenPullRequest {
        OpenPullRequest {
            number,
            title: format!("pull {number}"),
            head_ref_name: head.to_string(),
            head_ref_oid: format!("{number:040}"),
            labels: labels
                .iter()
                .map(|name| PullRequestLabel {
                    name: name.to_string(),
                })
                .collect(),
            author: Some(PullRequestAuthor {
                login: SCHEDULER_LOGIN.to_string(),
            }),
            is_cross_repository: false,
            url: format!("https://github.com/acme/gitops/pull/{number}"),
        }
    }

    /// The account of the run's token, as which the scheduler opens its pull requests.
    const SCHEDULER_LOGIN: &str = "kalypso-demo";

    fn state(number: u64, state: &str, head: &str, merged: Option<&str>) -> PullRequestState {
        PullRequestState {
            number,
            state: state.to_string(),
            merged_at: merged.map(|_| "2026-01-01T00:00:00Z".to_string()),
            merge_commit: merged.map(|oid| MergeCommit {
                oid: oid.to_string(),
            }),
            head_ref_name: "deployment/x".to_string(),
            head_ref_oid: head.to_string(),
            base_ref_name: "dev".to_string(),
            labels: Vec::new(),
            url: String::new(),
        }
    }

    #[test]
    fn a_merged_link_is_only_the_schedulers_merged_pull_request_into_the_branch_newest_first() {
        let merged = |number: u64, head: &str, base: &str, labels: &[&str]| {
            let mut pull = state(number, "MERGED", "h", Some(&format!("m{number}")));
            pull.head_ref_name = head.to_string();
            pull.base_ref_name = base.to_string();
            pull.labels = labels
                .iter()
                .map(|name| PullRequestLabel {
                    name: name.to_string(),
                })
                .collect();
            pull
        };
        let pulls = [
            merged(3, "deployment/a", "dev", &[]),
            merged(9, "feature/mine", "dev", &[]),
            merged(7, "deployment/b", "dev", &[PROMOTED_LABEL]),
            merged(8, "deployment/c", "stage", &[]),
            state(10, "CLOSED", "h", None),
            state(11, "MERGED", "h", None),
        ];
        let numbers = |awaiting: bool| -> Vec<u64> {
            merged_scheduler_candidates(&pulls, "dev", awaiting)
                .into_iter()
                .map(|pull| pull.number)
                .collect()
        };
        // Someone else's branch, another base, a closed one and one without a merge
        // commit never count.
        assert_eq!(numbers(false), [7, 3]);
        assert_eq!(numbers(true), [7]);
    }

    #[test]
    fn only_the_schedulers_pull_requests_are_candidates_newest_first() {
        let pulls = [
            pull(3, "deployment/2026-01-01-00-00-00", &[]),
            pull(4, "feature/mine", &["promoted"]),
            pull(7, "deployment/2026-01-01-00-05-00", &["promoted"]),
            pull(5, "someone/deployment/x", &[]),
        ];
        let numbers: Vec<u64> = scheduler_candidates(&pulls, false, SCHEDULER_LOGIN)
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(
            numbers,
            [7, 3],
            "a user's branch, even labelled or named like ours, is never merged"
        );
        let promoted: Vec<u64> = scheduler_candidates(&pulls, true, SCHEDULER_LOGIN)
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(
            promoted,
            [7],
            "a promotion waits for the scheduler's promoted pull request"
        );
        assert!(scheduler_candidates(&[pull(9, "main", &[])], false, SCHEDULER_LOGIN).is_empty());
        // Named like the scheduler's but opened by someone else, or from a fork: never.
        let mut foreign = pull(11, "deployment/2026-01-01-00-09-00", &["promoted"]);
        foreign.author = Some(PullRequestAuthor {
            login: "mallory".to_string(),
        });
        let mut forked = pull(12, "deployment/2026-01-01-00-10-00", &["promoted"]);
        forked.is_cross_repository = true;
        let mut anonymous = pull(13, "deployment/2026-01-01-00-11-00", &[]);
        anonymous.author = None;
        assert!(
            scheduler_candidates(&[foreign, forked, anonymous], false, SCHEDULER_LOGIN).is_empty()
        );
        // GitHub logins compare without case.
        assert_eq!(scheduler_candidates(&pulls, false, "Kalypso-Demo").len(), 2);
    }

    #[test]
    fn a_promotion_matches_only_the_same_promoted_commit() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert!(carries_promoted_commit(
            Some(&format!("{commit}\n")),
            commit
        ));
        assert!(!carries_promoted_commit(
            Some("fedcba9876543210fedcba9876543210fedcba98"),
            commit
        ));
        assert!(!carries_promoted_commit(None, commit));
        assert!(!carries_promoted_commit(Some(""), commit));
    }

    #[test]
    fn a_refused_merge_of_a_replaced_pull_request_looks_again() {
        let head = "a".repeat(40);
        // Closed by the scheduler, which opened another with new content.
        assert!(matches!(
            after_refused_merge(&state(3, "CLOSED", &head, None), &head),
            AfterRefusal::LookAgain(why) if why.contains("#3 is closed")
        ));
        // Its head moved since we looked: never merge content we did not see.
        assert!(matches!(
            after_refused_merge(&state(3, "OPEN", &"b".repeat(40), None), &head),
            AfterRefusal::LookAgain(why) if why.contains("moved from aaaaaaa to bbbbbbb")
        ));
        // Merged meanwhile: its merge commit is the one to follow.
        assert_eq!(
            after_refused_merge(&state(3, "MERGED", &head, Some("c0ffee")), &head),
            AfterRefusal::Merged("c0ffee".to_string())
        );
        // Open at the same head: the refusal stands (a permission, a protection rule).
        assert_eq!(
            after_refused_merge(&state(3, "OPEN", &head, None), &head),
            AfterRefusal::Refused
        );
    }

    #[test]
    fn the_no_merge_result_names_the_pull_request_and_a_command_that_merges_it() {
        let runner: Arc<dyn crate::tools::CommandRunner> =
            Arc::new(crate::tools::ProcessRunner::new());
        let gh = Gh::new(runner);
        let waiting = pull(12, "deployment/2026-01-01-00-00-00", &["promoted"]);
        let command = merge_command(&gh, "acme/gitops", &waiting);
        assert_eq!(
            command,
            format!(
                "gh pr merge 12 --repo acme/gitops --merge --match-head-commit {}",
                waiting.head_ref_oid
            )
        );
        let text = left_for_merge_text("dev", "acme/gitops", &waiting, &command);
        assert!(
            text.contains("#12 (https://github.com/acme/gitops/pull/12)"),
            "{text}"
        );
        assert!(
            text.contains("against dev of acme/gitops waits for you"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                "merge it with: {command}; then the attached clusters reconcile it"
            )),
            "{text}"
        );
    }

    fn kustomization(ready: Option<&str>, revision: Option<&str>) -> FluxObject {
        FluxObject {
            kind: FluxKind::Kustomization,
            name: "kalypso-gitops-dev".to_string(),
            namespace: Some("flux-system".to_string()),
            ready: ready.map(|status| Condition {
                kind: "Ready".to_string(),
                status: status.to_string(),
                reason: None,
                message: Some("kustomization path not found".to_string()),
            }),
            generation: Some(1),
            observed_generation: Some(1),
            last_applied_revision: revision.map(str::to_string),
        }
    }

    #[test]
    fn a_cluster_is_reconciled_at_the_merged_commit_or_a_later_one_of_the_branch() {
        let merged = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let later = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        let at_merged = kustomization(Some("True"), Some(&format!("dev@sha1:{merged}")));
        assert!(reconciled_at(Some(&at_merged), merged, None).is_ok());
        let at_later = kustomization(Some("True"), Some(&format!("dev@sha1:{later}")));
        assert!(reconciled_at(Some(&at_later), merged, Some(later)).is_ok());
        let earlier = reconciled_at(Some(&at_later), merged, Some(merged)).unwrap_err();
        assert!(
            earlier.contains("not yet at the merged 1111111"),
            "{earlier}"
        );
        let failing =
            reconciled_at(Some(&kustomization(Some("False"), None)), merged, None).unwrap_err();
        assert!(
            failing.contains("Ready False: kustomization path not found"),
            "{failing}"
        );
        assert!(reconciled_at(None, merged, None).is_err());
        assert_eq!(revision_commit("dev/abc"), "abc");
    }

    #[test]
    fn the_workloads_own_failing_kustomization_is_a_warning_that_names_it() {
        let failing = kustomization(Some("False"), None);
        match workload_state("kind-edge", "dev-hello-world", true, true, Some(&failing)) {
            WorkloadState::OwnKustomizationFails(warning) => {
                assert!(warning.contains("flux-system/dev-hello-world"), "{warning}");
                assert!(warning.contains("workload repository"), "{warning}");
                assert!(
                    warning.contains("kubectl --context kind-edge get kustomizations"),
                    "a command that works when copied: {warning}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            workload_state(
                "kind-edge",
                "ns",
                true,
                true,
                Some(&kustomization(Some("True"), None))
            ),
            WorkloadState::Running
        );
        assert!(matches!(
            workload_state("kind-edge", "ns", true, false, Some(&kustomization(Some("True"), None))),
            WorkloadState::Missing(m) if m.contains("ConfigMap platform-config in ns")
        ));
        assert!(matches!(
            workload_state("kind-edge", "ns", false, false, None),
            WorkloadState::Missing(_)
        ));
    }

    #[test]
    fn the_summarys_workload_command_is_kubectl_except_in_a_demo() {
        assert_eq!(
            running_workload_line("kind-kind", "dev-hello", false),
            "kubectl --context kind-kind get pods -n dev-hello"
        );
        let demo = running_workload_line("kind-kind", "dev-hello", true);
        assert!(demo.starts_with("DEMO: the sample workload ran in namespace dev-hello of the simulated cluster kind-kind"), "{demo}");
        assert!(
            !demo.contains("kubectl --context"),
            "nothing that fails when copied: {demo}"
        );
    }

    fn configuration() -> Configuration {
        use crate::config::*;
        Configuration {
            cluster: ClusterTarget::Existing(ExistingCluster {
                context: "kind-kind".into(),
                name: None,
            }),
            repositories: Repositories {
                control_plane: RepoTarget::Create {
                    name: "demo-control-plane".into(),
                },
                gitops: RepoTarget::Create {
                    name: "demo-gitops".into(),
                },
                github_org: Some("acme".into()),
                visibility: Visibility::Private,
                github_host: Default::default(),
            },
            environments: Default::default(),
            installation: Installation {
                namespace: "kalypso-system".into(),
                chart: HelmChart::published("kalypso-scheduler"),
                version: "1.1.2-alpha".into(),
                values: None,
                flux_manifest: None,
                skip_install: false,
            },
            workload_clusters: Vec::new(),
            options: Options::default(),
        }
    }

    #[test]
    fn the_dry_run_lists_each_link_with_notes_for_what_only_the_run_learns() {
        use crate::config::{WorkloadCluster, WorkloadContext};
        let mut configuration = configuration();
        configuration.workload_clusters = vec![WorkloadCluster {
            context: WorkloadContext::Named("kind-edge".into()),
            cluster_type: "edge".into(),
            environment: "dev".into(),
        }];
        let env = StepEnv::new(
            configuration.clone(),
            Arc::new(crate::tools::ProcessRunner::new()),
            None,
            "/tmp/kubeconfig".into(),
            "/tmp/work".into(),
        );
        let planned = PlannedStep::new(StepId::FirstWorkload, Action::Create, Vec::new(), "");
        let preview = Preview {
            owner: "acme",
            context: None,
            installation_id: "id",
        };
        let listed = commands(&env, &planned, &preview);
        let lines: Vec<String> = listed.specs.iter().map(|spec| spec.display()).collect();
        let gitops = validation::repo_slug(&configuration.repositories.gitops, "acme");
        assert!(lines.contains(&format!("gh pr list --repo {gitops} --base dev --state open --json number,title,headRefName,headRefOid,labels,author,isCrossRepository,url")), "{lines:#?}");
        assert_eq!(
            lines[0], "gh api user",
            "the account the scheduler opens as"
        );
        assert!(lines.contains(&format!("gh pr merge '<number>' --repo {gitops} --merge --match-head-commit '<head commit>'")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("kubectl --context kind-edge get kustomizations.kustomize.toolkit.fluxcd.io kalypso-gitops-dev -n flux-system")), "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("repos/{gitops}/contents/edge?ref=<merged commit>"))),
            "{lines:#?}"
        );
        assert!(
            listed
                .notes
                .iter()
                .any(|n| n.contains("<number> and <head commit>")),
            "{:?}",
            listed.notes
        );

        configuration.options.no_merge = true;
        let env = StepEnv::new(
            configuration,
            Arc::new(crate::tools::ProcessRunner::new()),
            None,
            "/tmp/k".into(),
            "/tmp/w".into(),
        );
        let listed = commands(&env, &planned, &preview);
        assert!(listed
            .specs
            .iter()
            .all(|spec| !spec.display().contains("pr merge")));
        assert!(listed.notes.iter().any(|n| n.starts_with("--no-merge")));
    }

    #[test]
    fn a_targets_namespace_is_read_from_its_manifest() {
        let manifest = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev-hello-world\n";
        assert_eq!(namespace_of(manifest).as_deref(), Some("dev-hello-world"));
        assert_eq!(
            namespace_of("kind: ConfigMap\nmetadata:\n  name: a\n"),
            None
        );
        // Not a namespace name Kubernetes accepts: never used or printed.
        assert_eq!(
            namespace_of("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"x; rm -rf /\"\n"),
            None
        );
    }
}
