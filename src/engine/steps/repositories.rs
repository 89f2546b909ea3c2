//! The repositories phase, each repository on its own: create it (owner: the organisation
//! or the authenticated user), seed it with the rendered templates (`main` then the
//! environment branch), set its Actions secrets, label the gitops repository; or, for a
//! repository the user gave, check it is reachable and has the structure Kalypso needs.
//!
//! Progress names the transitions Creating → Empty → Initialized → Ready, or
//! Validating → Valid / Invalid.

use crate::engine::plan::{resume_decision, Decisions, Observed, ObservedRepo, PlanConflict};
use crate::text::plural;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{call, resources, tool_error, BootstrapSteps, Preview, StepCommands, StepEnv, Tools};
use crate::config::RepoTarget;
use crate::engine::context::{fact, StepContext};
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::PlannedStep;
use crate::engine::retry::retry_step;
use crate::engine::step::{Action, StepId};
use crate::state::{Ownership, RepositoryCreation, RepositorySummary, ResourceStatus, Timestamp};
use crate::templates::structure::{self, Requirement, MAIN_BRANCH};
use crate::templates::{self, BranchKind, RepoKind, TemplateContext};
use crate::tools::gh::MARK_TOPIC;
use crate::tools::gh::{TreeEntry, TreeEntryKind, PROMOTED_LABEL, PROMOTED_LABEL_COLOR};
use crate::tools::git::{
    github_remote_url, rejected_branches, FileChangeError, GitEnv, SeedError, SEED_MESSAGE,
};
use crate::tools::ErrorClass;
use crate::troubleshooting::Topic;
use crate::ExitCode;
use crate::UserError;

/// How often seeding looks at the remote again after losing a race to another push.
const SEED_ROUNDS: u32 = 3;

/// Description of the label that marks promoted pull requests.
pub const PROMOTED_LABEL_DESCRIPTION: &str = "Promotion to the next environment (Kalypso)";

/// The start of every seed work directory's name in the work directory (the system's
/// temporary directory): `kalypso-bootstrap-seed-<pid>-<random>`. The name is ours; the PID
/// says whether the run that made it is still alive.
pub const SEED_DIR_PREFIX: &str = "kalypso-bootstrap-seed-";

/// `kalypso-bootstrap-seed-<pid>-`.
pub fn seed_dir_prefix(pid: u32) -> String {
    format!("{SEED_DIR_PREFIX}{pid}-")
}

/// Remove the seed directories a killed run left in `work_dir`: only directories (never a
/// symlink, which is not followed) named by [`seed_dir_prefix`], owned by us, whose run is no
/// longer alive. Anything else, however named, is left alone. Returns what was removed.
pub fn remove_leftover_seed_dirs(work_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return Vec::new();
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SEED_DIR_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        // symlink_metadata: a symlink is not a directory here, so it is never followed.
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if !ours {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::debug!(path = %path.display(), "removed a seed directory left by a run that ended");
                removed.push(path);
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "could not remove a seed directory left by an earlier run")
            }
        }
    }
    removed
}

/// A work directory of ours for one clone, in the run's work directory (leftovers of dead
/// runs removed first; 0700: the files are the user's configuration).
pub(crate) fn work_dir(env: &StepEnv, step: StepId) -> Result<tempfile::TempDir, UserError> {
    remove_leftover_seed_dirs(&env.work_dir);
    tempfile::Builder::new()
        .prefix(&seed_dir_prefix(std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&env.work_dir)
        .map_err(|e| {
            UserError::in_step(
                step,
                format!(
                    "cannot create a work directory in {}: {e}",
                    env.work_dir.display()
                ),
            )
        })
}

/// Whether a process with this id exists (a PID that cannot be one counts as alive: the
/// directory is then kept).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The repository a step works on.
pub fn repo_kind(step: StepId) -> RepoKind {
    match step {
        StepId::ControlPlaneRepo | StepId::ControlPlaneSeed | StepId::ControlPlaneSecrets => {
            RepoKind::ControlPlane
        }
        _ => RepoKind::Gitops,
    }
}

pub fn target(env: &StepEnv, kind: RepoKind) -> &RepoTarget {
    match kind {
        RepoKind::ControlPlane => &env.configuration.repositories.control_plane,
        RepoKind::Gitops => &env.configuration.repositories.gitops,
    }
}

/// The flag that passes this repository as existing.
pub fn existing_flag(kind: RepoKind) -> &'static str {
    match kind {
        RepoKind::ControlPlane => "--control-plane-repo",
        RepoKind::Gitops => "--gitops-repo",
    }
}

pub fn description(kind: RepoKind) -> &'static str {
    match kind {
        RepoKind::ControlPlane => {
            "Kalypso control plane: environments, templates, cluster types and scheduling policies"
        }
        RepoKind::Gitops => {
            "Kalypso GitOps repository: manifests generated by the Kalypso Scheduler"
        }
    }
}

/// The names of the Actions secrets a repository's workflows need.
pub fn secret_names(kind: RepoKind) -> &'static [&'static str] {
    match kind {
        RepoKind::ControlPlane => &["GITOPS_REPO", "GITOPS_REPO_TOKEN"],
        RepoKind::Gitops => &["CONTROL_PLANE_TOKEN"],
    }
}

/// The names of the Actions secrets a repository gets, with their values.
pub fn secret_values(
    kind: RepoKind,
    context: &TemplateContext,
    token: &SecretString,
) -> Vec<(&'static str, SecretString)> {
    match kind {
        RepoKind::ControlPlane => vec![
            ("GITOPS_REPO", SecretString::from(context.gitops.slug())),
            ("GITOPS_REPO_TOKEN", token.clone()),
        ],
        RepoKind::Gitops => vec![("CONTROL_PLANE_TOKEN", token.clone())],
    }
}

/// The message of the commit that points an existing control plane's GitOpsRepo at the
/// configured gitops repository.
pub const POINTER_MESSAGE: &str =
    "Point the GitOpsRepo at the gitops repository (Kalypso Bootstrap)";

/// The message of the commit a rollback pushes to put the GitOpsRepo back.
pub const POINTER_REVERT_MESSAGE: &str =
    "Put the GitOpsRepo back as it was (Kalypso Bootstrap rollback)";

/// The flag that names an existing repository, and the host its URL is on: how a hint
/// tells the user to reuse a repository.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExistingFlag<'a> {
    pub flag: &'a str,
    pub host: &'a crate::config::GitHubHost,
}

impl ExistingFlag<'_> {
    /// `--gitops-repo https://HOST/OWNER/NAME`.
    fn naming(&self, slug: &str) -> String {
        format!("{} {}/{slug}", self.flag, self.host.web_url())
    }
}

/// The GitHub host of the run's repositories.
fn host(env: &StepEnv) -> &crate::config::GitHubHost {
    &env.configuration.repositories.github_host
}

/// Where a commit to a repository the user gave is pushed, and git's settings for it.
pub(super) fn existing_push_target(
    env: &StepEnv,
    tools: &Tools,
    repo: &crate::config::GitHubRepo,
) -> (String, GitEnv) {
    let remote = github_remote_url(repo.host(), repo.owner(), repo.name());
    let git_env = tools.gh.git_env().merge(env.git_env.clone());
    (remote, git_env)
}

/// Where seeding pushes `repo`, and git's settings for it (our credential helper first).
fn push_target(env: &StepEnv, tools: &Tools, repo: &templates::RepoRef) -> (String, GitEnv) {
    let remote = github_remote_url(tools.gh.host(), &repo.owner, &repo.name);
    let git_env = tools.gh.git_env().merge(env.git_env.clone());
    (remote, git_env)
}

/// One repository's steps' actions: an existing one is checked and left alone; a new one
/// created, or resumed when an earlier run of ours made it. Pure, like [`crate::engine::plan::plan`].
pub(crate) fn plan(
    target: &RepoTarget,
    observed_repo: Option<&ObservedRepo>,
    steps: &[StepId],
    existing: ExistingFlag<'_>,
    observed: &Observed,
    decisions: &mut Decisions,
    conflicts: &mut Vec<PlanConflict>,
) {
    let (repo_step, later_steps) = steps
        .split_first()
        .unwrap_or_else(|| unreachable!("a repository has at least its repo step"));
    let name = match target {
        RepoTarget::Existing(repo) if observed.unreachable_existing.contains(repo_step) => {
            // Checked live and not found: never marked as reused.
            conflicts.push(PlanConflict {
                step: *repo_step,
                message: unreachable_message(&repo.url()),
                hint: unreachable_hint(),
                exit_code: ExitCode::RepositoryFailed,
            });
            for id in steps {
                decisions.insert(
                    *id,
                    (
                        Action::Skip,
                        format!("blocked: repository {} is not reachable", repo.url()),
                    ),
                );
            }
            return;
        }
        RepoTarget::Existing(repo) => {
            let mut reason = format!(
                "existing repository {}: check it is reachable and its structure",
                repo.url()
            );
            if let (StepId::ControlPlaneRepo, Some(check)) =
                (repo_step, &observed.control_plane_check)
            {
                let mut warnings = branch_conflicts(
                    *repo_step,
                    &repo.url(),
                    check,
                    &check.missing,
                    None,
                    observed,
                    conflicts,
                );
                // Every later environment whose branch exists is checked the same way; what
                // its check shares with the first one's (`main`) is said once.
                for later in observed.control_plane_environments.iter().skip(1) {
                    let Some(findings) = &later.branch else {
                        continue;
                    };
                    let missing: Vec<String> = findings
                        .missing
                        .iter()
                        .filter(|m| !check.missing.contains(m))
                        .cloned()
                        .collect();
                    let later_warnings = branch_conflicts(
                        *repo_step,
                        &repo.url(),
                        findings,
                        &missing,
                        Some(&later.name),
                        observed,
                        conflicts,
                    );
                    warnings.extend(
                        later_warnings
                            .into_iter()
                            .filter(|w| !check.warnings.contains(w)),
                    );
                }
                for message in super::existing_environments::refusals(observed, &repo.url()) {
                    conflicts.push(PlanConflict {
                        step: *repo_step,
                        message,
                        hint: lacks_hint(RepoKind::ControlPlane),
                        exit_code: ExitCode::RepositoryFailed,
                    });
                }
                let to_create: Vec<&str> = observed
                    .control_plane_environments
                    .iter()
                    .skip(1)
                    .filter(|e| e.branch.is_none())
                    .map(|e| e.name.as_str())
                    .collect();
                if !to_create.is_empty() {
                    reason.push_str(&format!(
                        "; branch{} {} not there yet (created by the seed step)",
                        if to_create.len() == 1 { "" } else { "es" },
                        listed(&to_create)
                    ));
                }
                if !warnings.is_empty() {
                    reason.push_str(&warnings_text(&warnings));
                }
            }
            decisions.insert(*repo_step, (Action::Reuse, reason));
            for id in later_steps {
                let decision = change_to_existing(*id, repo, observed).unwrap_or_else(|| {
                    (
                        Action::Skip,
                        format!("existing repository {}: left as it is", repo.url()),
                    )
                });
                decisions.insert(*id, decision);
            }
            return;
        }
        RepoTarget::Create { name } => name,
    };
    let succeeded = |id: &StepId| observed.succeeded_steps.contains(id);
    match observed_repo {
        None => {
            decisions.insert(
                *repo_step,
                (Action::Create, format!("repository {name} does not exist")),
            );
            for id in later_steps {
                decisions.insert(*id, (Action::Create, format!("new repository {name}")));
            }
        }
        Some(repo) if !repo.ours => {
            conflicts.push(PlanConflict {
                step: *repo_step,
                message: format!(
                    "repository {} already exists and this tool did not create it",
                    repo.slug
                ),
                hint: Topic::RepositoryNotOurs.hint(format!(
                    "to use it, pass it as existing: {}; or choose another name",
                    existing.naming(&repo.slug)
                )),
                exit_code: ExitCode::RepositoryFailed,
            });
            for id in steps {
                decisions.insert(
                    *id,
                    (
                        Action::Create,
                        format!("blocked: repository {} is not ours", repo.slug),
                    ),
                );
            }
        }
        Some(repo) => {
            decisions.insert(
                *repo_step,
                resume_decision(succeeded(repo_step), &repo.slug),
            );
            for id in later_steps {
                let is_seed = matches!(id, StepId::ControlPlaneSeed | StepId::GitopsSeed);
                let decision = if is_seed && repo.empty {
                    (
                        Action::Create,
                        format!("repository {} is empty: seed it", repo.slug),
                    )
                } else {
                    resume_decision(succeeded(id), &repo.slug)
                };
                decisions.insert(*id, decision);
            }
        }
    }
}

/// Several GitOpsRepos on the environment branch, not all naming the configured gitops
/// repository: this tool points one GitOpsRepo only, and pointing all of them at one
/// repository would be wrong (each is its own target), so the plan refuses, naming each.
/// The refusals of one environment branch of an existing control plane (what it lacks of
/// `missing`, repositories it follows elsewhere, several GitOpsRepos) pushed to
/// `conflicts`, and its warnings returned. `branch` names a later environment's branch in
/// the messages; the first one's is the repository's own check.
fn branch_conflicts(
    step: StepId,
    url: &str,
    findings: &structure::ControlPlaneFindings,
    missing: &[String],
    branch: Option<&str>,
    observed: &Observed,
    conflicts: &mut Vec<PlanConflict>,
) -> Vec<String> {
    if !missing.is_empty() {
        let lacks = lacks_message(url, missing);
        conflicts.push(PlanConflict {
            step,
            message: match branch {
                Some(branch) => format!("branch {branch} of {lacks}"),
                None => lacks,
            },
            hint: lacks_hint(RepoKind::ControlPlane),
            exit_code: ExitCode::RepositoryFailed,
        });
    }
    let followed = Followed::of(findings, url);
    if let Some(error) = followed.refusal(url, step) {
        conflicts.push(PlanConflict {
            step,
            message: error.message,
            hint: followed_hint(),
            exit_code: ExitCode::RepositoryFailed,
        });
    }
    if let Some(message) = several_gitops_repos(findings, observed) {
        conflicts.push(PlanConflict {
            step,
            message,
            hint: Topic::ExistingRepositoryChanges.hint(format!(
                "keep one GitOpsRepo on {branch} (the scheduler opens its pull requests where it points), or point each yourself and run again",
                branch = findings.branch
            )),
            exit_code: ExitCode::RepositoryFailed,
        });
    }
    findings
        .warnings
        .iter()
        .cloned()
        .chain(followed.warnings())
        .collect()
}

fn several_gitops_repos(
    check: &structure::ControlPlaneFindings,
    observed: &Observed,
) -> Option<String> {
    let wanted = observed.gitops_url.as_deref()?;
    if check.gitops_repos.len() < 2
        || check
            .gitops_repos
            .iter()
            .all(|pointer| structure::same_repo_url(&pointer.repo, wanted))
    {
        return None;
    }
    let listed: Vec<String> = check
        .gitops_repos
        .iter()
        .map(|pointer| {
            format!(
                "{} in {} (spec.repo {})",
                pointer.name.as_deref().unwrap_or("(unnamed)"),
                pointer.path,
                pointer.repo
            )
        })
        .collect();
    Some(format!(
        "on branch {branch} of the control plane, {count} GitOpsRepo resources: {}; the gitops repository {wanted} is not what all of them name, and this tool points only one GitOpsRepo at it",
        listed.join("; "),
        branch = check.branch,
        count = check.gitops_repos.len(),
    ))
}

/// A repository the user gave that `gh repo view` does not find.
fn unreachable_message(url: &str) -> String {
    format!("repository {url} is not reachable: it does not exist or the token cannot see it")
}

fn unreachable_hint() -> crate::troubleshooting::Hint {
    Topic::RepositoryUnreachable.hint(
        "check the URL, and that the token can read the repository (scope `repo` for private repositories)",
    )
}

/// What a later step of a repository the user gave must change there for the workflows
/// and the scheduler to work: the control plane's GitOpsRepo pointed at the configured
/// gitops repository, the Actions secrets and the `promoted` label it lacks. The reason
/// says exactly what changes, so that it can be made by hand. `None`: nothing to change.
fn change_to_existing(
    step: StepId,
    repo: &crate::config::GitHubRepo,
    observed: &Observed,
) -> Option<(Action, String)> {
    let url = repo.url();
    // Only in commands shown to the user, which must reach the repository's host.
    let slug = repo.host().gh_repo_arg(&repo.slug());
    match step {
        StepId::ControlPlaneSeed => {
            let changes = super::existing_environments::of_step(
                &super::existing_environments::changes(observed),
                step,
            );
            if changes.is_empty() {
                return None;
            }
            Some((
                Action::Create,
                format!(
                    "existing repository {url}: {}",
                    super::existing_environments::describe_all(&changes, &slug)
                ),
            ))
        }
        StepId::ControlPlaneSecrets => {
            let base = secrets_change(step, &url, &slug, observed);
            let chain = super::existing_environments::of_step(
                &super::existing_environments::changes(observed),
                step,
            );
            if chain.is_empty() {
                return base;
            }
            let described = super::existing_environments::describe_all(&chain, &slug);
            let changes = chain.iter().any(|c| c.is_change());
            Some(match base {
                Some((action, reason)) => (
                    if changes { Action::Create } else { action },
                    format!("{reason}; the promotion chain: {described}"),
                ),
                None if changes => (
                    Action::Create,
                    format!("existing repository {url}: the promotion chain: {described}"),
                ),
                None => (
                    Action::Skip,
                    format!("existing repository {url}: left as it is; {described}"),
                ),
            })
        }
        StepId::GitopsSecrets => secrets_change(step, &url, &slug, observed),
        StepId::GitopsLabel => {
            observed.missing_on_existing.get(&step)?;
            Some((
                Action::Create,
                format!(
                    "existing repository {url} lacks the label {PROMOTED_LABEL} that marks promotions; change: create it (gh label create {PROMOTED_LABEL} --repo {slug} --color {PROMOTED_LABEL_COLOR} --description '{PROMOTED_LABEL_DESCRIPTION}')"
                ),
            ))
        }
        _ => None,
    }
}

/// The Actions secrets a repository the user gave lacks, as a change (see
/// [`change_to_existing`]).
fn secrets_change(
    step: StepId,
    url: &str,
    slug: &str,
    observed: &Observed,
) -> Option<(Action, String)> {
    match step {
        StepId::ControlPlaneSecrets | StepId::GitopsSecrets => {
            if let Some(why) = observed.unchecked_on_existing.get(&step) {
                let names = secret_names(repo_kind(step)).join(", ");
                return Some((
                    Action::Skip,
                    format!(
                        "existing repository {url}: its Actions secrets could not be listed ({why}), so none is set; its workflows need {names}: set any that is missing yourself (gh secret set NAME --repo {slug})"
                    ),
                ));
            }
            let stale = stale_gitops_repo_secret(step, slug, observed);
            let Some(missing) = missing_secrets(step, observed) else {
                return stale.map(|warning| {
                    (
                        Action::Skip,
                        format!("existing repository {url}: left as it is; warning: {warning}"),
                    )
                });
            };
            let commands: Vec<String> = missing
                .iter()
                .map(|name| {
                    let value = match name.as_str() {
                        "GITOPS_REPO" => observed
                            .gitops_url
                            .as_deref()
                            .and_then(|u| slug_of_url(u))
                            .map_or("the gitops repository as OWNER/NAME".to_string(), |s| {
                                format!("the value {s}")
                            }),
                        _ => "a GitHub token with the repo and workflow scopes".to_string(),
                    };
                    format!("gh secret set {name} --repo {slug} (asks for {value})")
                })
                .collect();
            let mut reason = format!(
                "existing repository {url} lacks the Actions secret{} {} its workflows need; change: set {} ({})",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
                commands.join("; ")
            );
            if let Some(warning) = stale {
                reason.push_str(&format!("; warning: {warning}"));
            }
            Some((Action::Create, reason))
        }
        _ => None,
    }
}

/// The secrets `step` lacks on a repository the user gave (`None`: it lacks none, or they
/// could not be listed).
/// `OWNER/NAME` of `https://HOST/OWNER/NAME`: the value of a `GITOPS_REPO` secret (the
/// workflows run on that host and call gh there).
fn slug_of_url(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    rest.split_once('/').map(|(_, slug)| slug)
}

fn missing_secrets(step: StepId, observed: &Observed) -> Option<&Vec<String>> {
    if !matches!(step, StepId::ControlPlaneSecrets | StepId::GitopsSecrets) {
        return None;
    }
    observed
        .missing_on_existing
        .get(&step)
        .filter(|missing| !missing.is_empty())
}

/// The Actions secrets `step` sets on a repository the user gave: those it lacks (see
/// [`crate::engine::plan::PlannedStep::secrets`]). Empty for a repository we create.
pub(crate) fn secrets_to_set(
    step: StepId,
    configuration: &crate::config::Configuration,
    observed: &Observed,
) -> Vec<String> {
    let repositories = &configuration.repositories;
    let target = match step {
        StepId::ControlPlaneSecrets => &repositories.control_plane,
        StepId::GitopsSecrets => &repositories.gitops,
        _ => return Vec::new(),
    };
    if !matches!(target, RepoTarget::Existing(_))
        || observed.unchecked_on_existing.contains_key(&step)
    {
        return Vec::new();
    }
    missing_secrets(step, observed).cloned().unwrap_or_default()
}

/// When the control plane's GitOpsRepo is pointed at another gitops repository, a
/// `GITOPS_REPO` secret that exists may still name the old one (GitHub never shows a
/// secret's value, so it is neither read nor overwritten): the plan says so, with the command.
fn stale_gitops_repo_secret(step: StepId, slug: &str, observed: &Observed) -> Option<String> {
    if step != StepId::ControlPlaneSecrets
        || observed
            .missing_on_existing
            .get(&step)
            .is_some_and(|missing| missing.iter().any(|name| name == "GITOPS_REPO"))
    {
        return None;
    }
    let pointer = observed
        .control_plane_check
        .as_ref()?
        .gitops_repo
        .as_ref()?;
    let wanted = observed.gitops_url.as_deref()?;
    if structure::same_repo_url(&pointer.repo, wanted) {
        return None;
    }
    let value = slug_of_url(wanted).unwrap_or(wanted);
    Some(format!(
        "its GITOPS_REPO secret exists and is not read (GitHub never shows a value); if it still names {old}, which the GitOpsRepo named, the promotion workflows go there: set it to {value} (gh secret set GITOPS_REPO --repo {slug})",
        old = pointer.repo
    ))
}

/// What the plan says of the open pull requests the scheduler will close (see
/// [`crate::engine::plan::UserPullRequest`]): each one, and what to do.
pub fn pull_requests_closed_text(pulls: &[crate::engine::plan::UserPullRequest]) -> String {
    let listed: Vec<String> = pulls.iter().map(|pull| pull.describe()).collect();
    format!(
        "; consequence: the Kalypso scheduler closes every open pull request against an environment branch (and deletes its branch) each time it opens its own, so it will close {} open pull request{} of others: {}; merge or close {} first, or consent (a yes to the plan, or --yes)",
        pulls.len(),
        if pulls.len() == 1 { "" } else { "s" },
        listed.join("; "),
        if pulls.len() == 1 { "it" } else { "them" },
    )
}

/// The steps of `plan` that change a repository the user gave (see [`change_to_existing`]),
/// or whose consequence is the scheduler closing others' pull requests there: they need
/// the user's consent, a terminal yes to the plan or `--yes`.
pub fn changes_to_existing<'p>(
    configuration: &crate::config::Configuration,
    plan: &'p crate::engine::plan::Plan,
) -> Vec<&'p PlannedStep> {
    let changes = plan
        .steps
        .iter()
        .filter(|step| step.action == Action::Create)
        .filter(|step| {
            matches!(
                step.id,
                StepId::ControlPlaneSeed
                    | StepId::ControlPlaneSecrets
                    | StepId::GitopsSeed
                    | StepId::GitopsSecrets
                    | StepId::GitopsLabel
            )
        })
        .filter(|step| {
            let repositories = &configuration.repositories;
            let target = match repo_kind(step.id) {
                RepoKind::ControlPlane => &repositories.control_plane,
                RepoKind::Gitops => &repositories.gitops,
            };
            matches!(target, RepoTarget::Existing(_))
        });
    let closes = plan
        .steps
        .iter()
        .filter(|step| !step.pull_requests_closed.is_empty() || !step.merges.is_empty());
    let mut steps: Vec<&PlannedStep> = changes.chain(closes).collect();
    steps.sort_by_key(|step| plan.steps.iter().position(|s| s.id == step.id));
    steps
}

/// What each repository step runs, for the dry run: the same builders as the steps below,
/// in their order.
pub fn commands(env: &StepEnv, planned: &PlannedStep, preview: &Preview) -> StepCommands {
    let tools = env.tools();
    let kind = repo_kind(planned.id);
    let create = planned.action == Action::Create;
    let mut listed = StepCommands::default();
    match planned.id {
        StepId::ControlPlaneRepo | StepId::GitopsRepo => match target(env, kind) {
            RepoTarget::Existing(existing) => {
                let slug = existing.slug();
                listed.push(tools.gh.repo_view_spec(&slug));
                if kind == RepoKind::Gitops {
                    for (_, branch) in gitops_branches(env) {
                        listed.push(tools.gh.repo_tree_spec(&slug, &branch));
                    }
                } else {
                    listed.push(tools.gh.repo_tree_spec(&slug, MAIN_BRANCH));
                    for environment in env.configuration.environments.names() {
                        listed.push(tools.gh.repo_tree_spec(&slug, environment));
                    }
                }
                if kind == RepoKind::ControlPlane {
                    listed.note(format!(
                        "then gh api repos/{slug}/git/blobs/SHA for each YAML file outside .github/, to find the Kalypso resources by kind"
                    ));
                }
            }
            RepoTarget::Create { name } => {
                let slug = format!("{}/{name}", preview.owner);
                match &env.configuration.repositories.github_org {
                    Some(org) => listed.push(tools.gh.org_membership_spec(org)),
                    None => listed.push(tools.gh.api_user_spec()),
                }
                listed.push(tools.gh.repo_view_spec(&slug));
                if create {
                    listed.push(tools.gh.repo_create_spec(
                        &slug,
                        env.configuration.repositories.visibility,
                        description(kind),
                    ));
                    // The marks: GitHub's id and creation time, then our topic.
                    listed.push(tools.gh.repo_identity_spec(&slug));
                    listed.push(tools.gh.repo_add_mark_topic_spec(&slug));
                }
            }
        },
        StepId::ControlPlaneSeed | StepId::GitopsSeed
            if matches!(target(env, kind), RepoTarget::Existing(_)) =>
        {
            let RepoTarget::Existing(existing) = target(env, kind) else {
                unreachable!("matched above")
            };
            super::existing_environments::commands(
                env,
                existing,
                &planned.changes,
                preview.context,
                &mut listed,
            );
        }
        StepId::ControlPlaneSeed | StepId::GitopsSeed => {
            let Some(context) = preview.context else {
                listed.note(
                    "the repository's owner is not known: the push commands cannot be listed",
                );
                return listed;
            };
            let repo = repo_of(context, kind);
            listed.push(tools.gh.repo_view_spec(&repo.slug()));
            let (remote, git_env) = push_target(env, &tools, repo);
            if !create {
                // Seeded by an earlier run: only the branches missing on the remote are pushed.
                listed.push(tools.git.ls_remote_heads_spec(&remote, &git_env));
                listed.note("only branches missing on the remote are pushed");
                return listed;
            }
            let rendered = match templates::render(context) {
                Ok(rendered) => rendered,
                Err(error) => {
                    listed.note(format!("the templates cannot be rendered: {error}"));
                    return listed;
                }
            };
            // The listing (and the push) creates the repository's default branch first.
            debug_assert!(
                rendered
                    .repo(kind)
                    .branches
                    .first()
                    .is_some_and(|branch| branch.name == MAIN_BRANCH),
                "the seed's first branch is {MAIN_BRANCH}"
            );
            let workdir = env
                .work_dir
                .join(format!("{SEED_DIR_PREFIX}XXXXXX"))
                .join(kind.dir_name());
            for spec in tools.git.seed_specs(
                &workdir,
                &remote,
                &rendered.repo(kind).branches,
                SEED_MESSAGE,
                &git_env,
            ) {
                listed.push(spec);
            }
        }
        StepId::ControlPlaneSecrets | StepId::GitopsSecrets => {
            let Some(context) = preview.context else {
                return listed;
            };
            let slug = repo_of(context, kind).slug();
            // The values the run writes (the dry run masks the token).
            let token = Preview::github_token(env);
            if matches!(target(env, kind), RepoTarget::Existing(_)) {
                // A repository the user gave: only the secrets missing from the list.
                listed.push(tools.gh.secret_list_spec(&slug));
                for (name, value) in secret_values(kind, context, &token) {
                    if planned.secrets.iter().any(|missing| missing == name) {
                        listed.push(tools.gh.secret_set_spec(&slug, name, &value));
                    }
                }
                if let RepoTarget::Existing(existing) = target(env, kind) {
                    super::existing_environments::commands(
                        env,
                        existing,
                        &planned.changes,
                        Some(context),
                        &mut listed,
                    );
                }
                listed.note("only secrets still missing from the list are set; values are written to gh's stdin");
                return listed;
            }
            if !create {
                // Set by an earlier run: only the secrets missing from the list are set.
                listed.push(tools.gh.secret_list_spec(&slug));
                let names: Vec<&str> = secret_values(kind, context, &token)
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect();
                listed.note(format!(
                    "of {}, only those missing from the list are set (gh secret set NAME --repo {})",
                    names.join(", "),
                    host(env).gh_repo_arg(&slug)
                ));
                if kind == RepoKind::ControlPlane {
                    for (environment, _) in next_environments(context) {
                        listed.push(tools.gh.environment_secret_list_spec(&slug, environment));
                    }
                    let chain = next_environments(context);
                    if !chain.is_empty() {
                        listed.note(format!(
                            "{}: each set only if its environment's list lacks it (its environment created first with gh api --method PUT repos/{slug}/environments/NAME)",
                            describe_chain(&chain)
                        ));
                    }
                }
                return listed;
            }
            for (name, value) in secret_values(kind, context, &token) {
                listed.push(tools.gh.secret_set_spec(&slug, name, &value));
            }
            if kind == RepoKind::ControlPlane {
                for (environment, next) in next_environments(context) {
                    listed.push(tools.gh.environment_create_spec(&slug, environment));
                    listed.push(tools.gh.environment_secret_set_spec(
                        &slug,
                        environment,
                        NEXT_ENVIRONMENT_SECRET,
                        &SecretString::from(next.to_string()),
                    ));
                }
            }
            listed.note("secret values are written to gh's stdin");
        }
        StepId::GitopsLabel => {
            if let (true, RepoTarget::Existing(existing)) = (create, target(env, kind)) {
                let (name, color, text) = promoted_label();
                let slug = existing.slug();
                listed.push(tools.gh.label_list_spec(&slug));
                listed.push(tools.gh.label_create_spec(&slug, name, color, text));
                listed.note("the label is created only if the list still lacks it");
                return listed;
            }
            if let Some(context) = preview.context.filter(|_| create) {
                let (name, color, text) = promoted_label();
                listed.push(
                    tools
                        .gh
                        .label_create_spec(&context.gitops.slug(), name, color, text),
                );
            }
        }
        _ => {}
    }
    listed
}

/// The `promoted` label: name, colour and description.
fn promoted_label() -> (&'static str, &'static str, &'static str) {
    (
        PROMOTED_LABEL,
        PROMOTED_LABEL_COLOR,
        PROMOTED_LABEL_DESCRIPTION,
    )
}

fn repo_of(context: &TemplateContext, kind: RepoKind) -> &templates::RepoRef {
    match kind {
        RepoKind::ControlPlane => &context.control_plane,
        RepoKind::Gitops => &context.gitops,
    }
}

fn remember(
    env: &StepEnv,
    ctx: &StepContext,
    kind: RepoKind,
    owner: &str,
    name: &str,
    created: bool,
) -> Result<(), UserError> {
    let url = resources::repo_url(host(env), owner, name);
    let key = match kind {
        RepoKind::ControlPlane => fact::CONTROL_PLANE_URL,
        RepoKind::Gitops => fact::GITOPS_URL,
    };
    ctx.facts().set(key, url.clone());
    let summary = RepositorySummary {
        created,
        name: Some(name.to_string()),
        owner: Some(owner.to_string()),
        url: Some(url),
    };
    ctx.update_state(|state| match kind {
        RepoKind::ControlPlane => state.repositories.control_plane = summary,
        RepoKind::Gitops => state.repositories.gitops = summary,
    })
}

/// Create the repository, resume one an earlier run created, or validate a given one.
pub async fn repository(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let kind = repo_kind(ctx.step());
    match target(env, kind) {
        RepoTarget::Existing(existing) => {
            validate_existing(env, ctx, kind, existing.owner(), existing.name()).await
        }
        RepoTarget::Create { name } => create(steps, planned, ctx, kind, name).await,
    }
}

async fn create(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
    kind: RepoKind,
    name: &str,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    if let Some(org) = &env.configuration.repositories.github_org {
        check_org(env, ctx, &tools, org).await?;
    }
    let owner = steps.step_owner(ctx).await?;
    ctx.facts().set(fact::REPO_OWNER, owner.clone());
    let slug = format!("{owner}/{name}");
    let resource = resources::repository(host(env), &owner, name);

    let existing = call(env, ctx, &format!("look up repository {slug}"), || {
        tools.gh.repo_view(&slug)
    })
    .await?;
    if let Some(info) = existing {
        if !ctx.state().read(|s| s.is_ours(&resource)) {
            return Err(UserError::in_step(
                step,
                format!("repository {slug} already exists and this tool did not create it"),
            )
            .with_hint(Topic::RepositoryNotOurs.hint(format!(
                "to use it, pass it as existing: {} {}/{slug}; or choose another name",
                existing_flag(kind),
                host(env).web_url()
            ))));
        }
        ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
        remember(env, ctx, kind, &owner, name, true)?;
        ctx.transition(if info.is_empty {
            "Empty"
        } else {
            "Initialized"
        });
        return Ok(StepOutcome::reused(format!(
            "repository {} exists (created by an earlier run)",
            info.url
        )));
    }

    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )?;
    remember(env, ctx, kind, &owner, name, true)?;
    ctx.transition("Creating");
    let visibility = env.configuration.repositories.visibility;
    let mut attempt = 0;
    let taken = std::sync::atomic::AtomicBool::new(false);
    let created = call(env, ctx, &format!("create repository {slug}"), || {
        attempt += 1;
        let first = attempt == 1;
        let gh = tools.gh.clone();
        let slug = slug.clone();
        let taken = &taken;
        async move {
            match gh.repo_create(&slug, visibility, description(kind)).await {
                // A retried create whose first attempt reached GitHub.
                Err(e) if !first && e.class() == ErrorClass::AlreadyExists => Ok(()),
                Err(e) if e.class() == ErrorClass::AlreadyExists => {
                    taken.store(true, std::sync::atomic::Ordering::SeqCst);
                    Err(e)
                }
                other => other,
            }
        }
    })
    .await;
    if let Err(error) = created {
        if taken.load(std::sync::atomic::Ordering::SeqCst) {
            // Someone else made it after we looked: not ours, never to be rolled back.
            ctx.update_state(|s| s.forget_creation(&resource, Timestamp::now()))?;
            return Err(UserError {
                message: format!(
                    "{}; it was created by someone else after this run looked for it, so this tool did not create it",
                    error.message
                ),
                hint: Some(Topic::RepositoryNotOurs.hint(format!(
                    "to use it, pass it as existing: {} {}/{slug}; or choose another name",
                    existing_flag(kind),
                    host(env).web_url()
                ))),
                ..error
            });
        }
        // The create may have reached GitHub before it was interrupted (the run stopping,
        // a timeout on our side): mark the repository it made, so a rollback can remove it.
        let tools = Tools::for_marking(env, ctx);
        if let Ok(Some(_)) = tools.gh.repo_identity(&slug).await {
            if let Err(marking) = mark_created(env, ctx, &tools, &resource, &slug).await {
                tracing::warn!("{}", marking.message);
            }
        }
        return Err(error);
    }
    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Present,
    )?;
    // Not cancellable: a run stopping now (another step failed) must still leave the
    // repository it created marked, or a rollback could not tell it is ours.
    let marking = Tools::for_marking(env, ctx);
    mark_created(env, ctx, &marking, &resource, &slug).await?;
    ctx.transition("Empty");
    let message = format!(
        "repository {} created ({visibility})",
        resources::repo_url(host(env), &owner, name)
    );
    Ok(match planned.action {
        Action::Reuse => StepOutcome::reused(message),
        _ => StepOutcome::succeeded(message),
    })
}

/// The marks of a repository this run has just created: its GitHub id and creation time
/// in the state, then our topic on it. Rollback deletes it only when the live repository
/// still has that id, that creation time and the topic.
async fn mark_created(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    resource: &crate::state::Resource,
    slug: &str,
) -> Result<(), UserError> {
    let identity = call(
        env,
        ctx,
        &format!("read the id of repository {slug}"),
        || tools.gh.repo_identity(slug),
    )
    .await?
    .ok_or_else(|| {
        UserError::in_step(
            ctx.step(),
            format!("repository {slug} was created but GitHub does not show it"),
        )
        .transient()
    })?;
    ctx.update_state(|s| {
        s.set_repository_identity(
            resource,
            RepositoryCreation {
                id: identity.id,
                created_at: identity.created_at.clone(),
            },
            Timestamp::now(),
        );
    })?;
    call(
        env,
        ctx,
        &format!("add the topic {MARK_TOPIC} to repository {slug}"),
        || tools.gh.repo_add_mark_topic(slug),
    )
    .await
}

/// The token must be able to use the organisation: never fall back to the user silently.
async fn check_org(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    org: &str,
) -> Result<(), UserError> {
    let step = ctx.step();
    let membership = call(
        env,
        ctx,
        &format!("check membership of organization {org}"),
        || tools.gh.org_membership(org),
    )
    .await?;
    match membership {
        None => Err(UserError::in_step(
            step,
            format!("the GitHub account of the token is not a member of organization {org}, so it cannot create repositories there"),
        )
        .with_hint(Topic::GithubOrganization.hint(format!(
            "ask an owner of {org} to add you, use a token of a member, or leave out --github-org to create the repositories under your own account"
        )))),
        Some(m) if !m.is_active() => Err(UserError::in_step(
            step,
            format!("the invitation to organization {org} has not been accepted (membership state {})", m.state),
        )
        .with_hint(Topic::GithubOrganization.hint(format!("accept the invitation at {}/orgs/{org}/invitation, then run again", host(env).web_url())))),
        Some(_) => Ok(()),
    }
}

/// A repository the user gave: reachable, and every branch has what Kalypso needs.
async fn validate_existing(
    env: &StepEnv,
    ctx: &StepContext,
    kind: RepoKind,
    owner: &str,
    name: &str,
) -> Result<StepOutcome, UserError> {
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let slug = format!("{owner}/{name}");
    let url = resources::repo_url(host(env), owner, name);
    ctx.transition("Validating");
    let info = call(env, ctx, &format!("look up repository {slug}"), || {
        tools.gh.repo_view(&slug)
    })
    .await?;
    if info.is_none() {
        ctx.transition("Invalid");
        return Err(
            UserError::in_step(step, unreachable_message(&url)).with_hint(unreachable_hint())
        );
    }
    ctx.record(
        resources::repository(host(env), owner, name),
        Ownership::Reused,
        ResourceStatus::Present,
    )?;
    remember(env, ctx, kind, owner, name, false)?;

    if kind == RepoKind::ControlPlane {
        return validate_control_plane(env, ctx, &tools, &slug, &url).await;
    }
    // A gitops repository: `main` and every environment's branch (the scheduler proposes
    // to each, and its hand-back workflow runs there).
    let branches = gitops_branches(env);
    let mut problems = Vec::new();
    let mut checked = 0;
    for (branch_kind, branch) in &branches {
        let (branch_kind, branch) = (*branch_kind, branch.as_str());
        let tree = call(
            env,
            ctx,
            &format!("list the files of {slug} on {branch}"),
            || tools.gh.repo_tree(&slug, branch),
        )
        .await?;
        let requirements = structure::requirements(kind, branch_kind);
        checked += requirements.len();
        let Some(entries) = tree else {
            if !requirements.is_empty() {
                let needed: Vec<String> = requirements.iter().map(Requirement::to_string).collect();
                problems.push(format!(
                    "branch {branch} is missing (it must have {})",
                    needed.join(", ")
                ));
            }
            continue;
        };
        let blobs: Vec<&str> = entries
            .iter()
            .filter(|e| e.kind == TreeEntryKind::Blob)
            .map(|e| e.path.as_str())
            .collect();
        for missing in structure::missing(kind, branch_kind, &blobs) {
            problems.push(format!("on {branch}: {missing}"));
        }
        for entry in entries.iter().filter(|e| e.kind == TreeEntryKind::Blob) {
            if structure::is_executable(kind, branch_kind, &entry.path) && !entry.is_executable() {
                problems.push(format!(
                    "on {branch}: {} is not executable (mode {}, needs 100755)",
                    entry.path, entry.mode
                ));
            }
        }
    }
    if !problems.is_empty() {
        ctx.transition("Invalid");
        return Err(UserError::in_step(
            step,
            format!(
                "repository {url} lacks what Kalypso needs ({} problem{}): {}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems.join("; ")
            ),
        )
        .with_hint(Topic::RepositoryStructure.hint(format!(
            "add what is missing (kalypso-bootstrap --render-templates DIR writes the expected files), or leave out {} to let the tool create a new repository",
            existing_flag(kind)
        )))
        .with_exit_code(ExitCode::RepositoryFailed));
    }
    ctx.transition("Valid");
    let names: Vec<&str> = branches.iter().map(|(_, branch)| branch.as_str()).collect();
    Ok(StepOutcome::reused(format!(
        "repository {url} is reachable and valid ({checked} requirements met on {})",
        listed(&names)
    )))
}

/// The branches an existing gitops repository is checked on: `main`, then the branch of
/// every environment in promotion order.
fn gitops_branches(env: &StepEnv) -> Vec<(BranchKind, String)> {
    let mut branches = vec![(BranchKind::Main, MAIN_BRANCH.to_string())];
    for environment in env.configuration.environments.names() {
        branches.push((BranchKind::Environment, environment.clone()));
    }
    branches
}

fn lacks_message(url: &str, problems: &[String]) -> String {
    format!(
        "repository {url} lacks what Kalypso needs ({} problem{}): {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("; ")
    )
}

fn lacks_hint(kind: RepoKind) -> crate::troubleshooting::Hint {
    Topic::RepositoryStructure.hint(format!(
        "add what is missing (kalypso-bootstrap --render-templates DIR writes the expected files), or leave out {} to let the tool create a new repository",
        existing_flag(kind)
    ))
}

/// The repositories an existing control plane tells the scheduler to follow that are not
/// the control plane itself. Its Environment naming another repository means the scheduler
/// reads that repository's environment branch, not the one checked and changed here: refused.
/// A BaseRepo naming another repository can be deliberate (the workloads and templates kept
/// elsewhere): a warning.
struct Followed<'a> {
    /// The environment branch checked.
    branch: &'a str,
    environment: Vec<&'a structure::FollowedRepo>,
    base_repos: Vec<&'a structure::FollowedRepo>,
}

impl<'a> Followed<'a> {
    fn of(check: &'a structure::ControlPlaneFindings, url: &str) -> Self {
        let elsewhere = |kind: &str| -> Vec<&'a structure::FollowedRepo> {
            check
                .followed
                .iter()
                .filter(|f| f.kind == kind && !structure::same_repo_url(&f.repo, url))
                .collect()
        };
        Self {
            branch: &check.branch,
            environment: elsewhere("Environment"),
            base_repos: elsewhere("BaseRepo"),
        }
    }

    fn describe(followed: &structure::FollowedRepo) -> String {
        format!(
            "on {}, {} ({} {}) has {} {}",
            followed.branch,
            followed.path,
            followed.kind,
            followed.name.as_deref().unwrap_or("(unnamed)"),
            followed.key,
            followed.repo
        )
    }

    /// The error when the Environment names another repository, with every change to make
    /// (the BaseRepos too: a copy of the reference names the upstream in both).
    fn refusal(&self, url: &str, step: StepId) -> Option<UserError> {
        if self.environment.is_empty() {
            return None;
        }
        let mut changes: Vec<String> = self
            .environment
            .iter()
            .map(|f| {
                format!(
                    "{}, so the scheduler would follow that repository's {} branch, not this one's; change: set {} to {url}",
                    Self::describe(f),
                    self.branch,
                    f.key
                )
            })
            .collect();
        changes.extend(self.base_repos.iter().map(|f| {
            format!(
                "{}; change: set {} to {url} (and its spec.commit, if it pins one, to a commit of {url})",
                Self::describe(f),
                f.key
            )
        }));
        Some(UserError::in_step(
            step,
            format!(
                "repository {url} tells the scheduler to follow another repository: {}",
                changes.join("; ")
            ),
        ))
    }

    fn warnings(&self) -> Vec<String> {
        if !self.environment.is_empty() {
            return Vec::new();
        }
        self.base_repos
            .iter()
            .map(|f| {
                format!(
                    "{}: the scheduler reads the workload registrations and templates from that repository",
                    Self::describe(f)
                )
            })
            .collect()
    }
}

fn followed_hint() -> crate::troubleshooting::Hint {
    Topic::ControlPlaneFollowsAnotherRepository.hint(
        "point them at this repository (a copy of microsoft/kalypso-control-plane names Microsoft's repositories until you change them), push, and run again",
    )
}

fn warnings_text(warnings: &[String]) -> String {
    format!(
        "; warning{}: {}",
        if warnings.len() == 1 { "" } else { "s" },
        warnings.join("; ")
    )
}

/// A file's path and text.
pub(crate) type ResourceFile = (String, String);

/// The files of an existing control plane that [`structure::check_control_plane`] reads:
/// every path on `main`, and every YAML file outside `.github/` on `main` and on each
/// environment branch read, with its content. `read` runs each query (the step's and the
/// observation's wrappers differ: events, retries).
pub(crate) struct ControlPlaneFiles {
    pub main_paths: Vec<String>,
    pub main_files: Vec<(String, String)>,
    /// Each environment branch read, in the order asked: its files, `None` when the
    /// branch does not exist.
    pub branches: Vec<(String, Option<Vec<ResourceFile>>)>,
    /// `main` does not exist.
    pub main_absent: bool,
}

impl ControlPlaneFiles {
    /// Whether `environment`'s branch exists.
    pub(crate) fn has_branch(&self, environment: &str) -> bool {
        self.branches
            .iter()
            .any(|(name, files)| name == environment && files.is_some())
    }

    /// Whether nothing was found: neither `main` nor any environment branch.
    pub(crate) fn is_empty(&self) -> bool {
        self.main_absent && self.branches.iter().all(|(_, files)| files.is_none())
    }

    /// The check of `main` and `environment`'s branch (`branch X is missing` first for
    /// each that does not exist).
    pub(crate) fn findings(&self, environment: &str) -> structure::ControlPlaneFindings {
        let files = self
            .branches
            .iter()
            .find(|(name, _)| name == environment)
            .and_then(|(_, files)| files.as_deref())
            .unwrap_or_default();
        let mut findings =
            structure::check_control_plane(&self.main_paths, &self.main_files, environment, files);
        let mut missing = Vec::new();
        if self.main_absent {
            missing.push(format!("branch {MAIN_BRANCH} is missing"));
        }
        if !self.has_branch(environment) {
            missing.push(format!("branch {environment} is missing"));
        }
        missing.append(&mut findings.missing);
        findings.missing = missing;
        findings
    }
}

/// Read what [`ControlPlaneFiles`] holds through `tree` and `blob` (`None` from `tree`: the
/// branch does not exist): `main`, then each of `environments`' branches.
pub(crate) async fn read_control_plane<E, TreeFn, TreeFut, BlobFn, BlobFut>(
    environments: &[String],
    mut tree: TreeFn,
    mut blob: BlobFn,
) -> Result<ControlPlaneFiles, E>
where
    TreeFn: FnMut(String) -> TreeFut,
    TreeFut: std::future::Future<Output = Result<Option<Vec<TreeEntry>>, E>>,
    BlobFn: FnMut(String, String, String) -> BlobFut,
    BlobFut: std::future::Future<Output = Result<String, E>>,
{
    let mut read = ControlPlaneFiles {
        main_paths: Vec::new(),
        main_files: Vec::new(),
        branches: Vec::new(),
        main_absent: false,
    };
    let branches = std::iter::once(MAIN_BRANCH.to_string()).chain(environments.iter().cloned());
    for branch in branches {
        let is_main = branch == MAIN_BRANCH;
        let blobs: Option<Vec<TreeEntry>> = tree(branch.clone()).await?.map(|entries| {
            entries
                .into_iter()
                .filter(|e| e.kind == TreeEntryKind::Blob)
                .collect()
        });
        let mut files = Vec::new();
        for entry in blobs
            .iter()
            .flatten()
            .filter(|e| structure::is_resource_candidate(&e.path))
        {
            let content = blob(branch.clone(), entry.path.clone(), entry.sha.clone()).await?;
            files.push((entry.path.clone(), content));
        }
        if is_main {
            read.main_absent = blobs.is_none();
            read.main_paths = blobs.into_iter().flatten().map(|e| e.path).collect();
            read.main_files = files;
        } else {
            read.branches.push((branch, blobs.map(|_| files)));
        }
    }
    Ok(read)
}

/// [`read_control_plane`] from within a step: each read a retried call of the step.
async fn read_control_plane_in_step(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    slug: &str,
    environments: &[String],
) -> Result<ControlPlaneFiles, UserError> {
    read_control_plane(
        environments,
        |branch| async move {
            call(
                env,
                ctx,
                &format!("list the files of {slug} on {branch}"),
                || tools.gh.repo_tree(slug, &branch),
            )
            .await
        },
        |branch, path, sha| async move {
            call(
                env,
                ctx,
                &format!("read {path} on {branch} of {slug}"),
                || tools.gh.repo_blob(slug, &sha),
            )
            .await
        },
    )
    .await
}

/// An existing control plane, checked by what Kalypso consumes ([`structure::check_control_plane`])
/// on `main` and every configured environment's branch: the first one's must exist, a later
/// one's may be missing (the seed step creates it, as the plan showed). The plan checked it
/// already; this runs again because the repository may have changed since. Missing
/// workflows and helper scripts are warnings in the step's result.
async fn validate_control_plane(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    slug: &str,
    url: &str,
) -> Result<StepOutcome, UserError> {
    let step = ctx.step();
    let environments = env.configuration.environments.names();
    let files = read_control_plane_in_step(env, ctx, tools, slug, environments).await?;
    let first = env.configuration.environments.first();
    let first_findings = files.findings(first);
    let mut missing = first_findings.missing.clone();
    let mut checked = vec![first];
    let mut absent = Vec::new();
    let mut findings = vec![first_findings];
    for environment in environments.iter().skip(1) {
        if !files.has_branch(environment) {
            absent.push(environment.as_str());
            continue;
        }
        let later = files.findings(environment);
        missing.extend(
            later
                .missing
                .iter()
                .filter(|m| !findings[0].missing.contains(m))
                .cloned(),
        );
        checked.push(environment.as_str());
        findings.push(later);
    }
    if !missing.is_empty() {
        ctx.transition("Invalid");
        return Err(UserError::in_step(step, lacks_message(url, &missing))
            .with_hint(lacks_hint(RepoKind::ControlPlane))
            .with_exit_code(ExitCode::RepositoryFailed));
    }
    let mut warnings: Vec<String> = Vec::new();
    for check in &findings {
        let followed = Followed::of(check, url);
        if let Some(error) = followed.refusal(url, step) {
            ctx.transition("Invalid");
            return Err(error
                .with_hint(followed_hint())
                .with_exit_code(ExitCode::RepositoryFailed));
        }
        for warning in check.warnings.iter().cloned().chain(followed.warnings()) {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
    for warning in &warnings {
        tracing::warn!(repository = %slug, "{warning}");
    }
    ctx.transition("Valid");
    let read = files.main_files.len()
        + files
            .branches
            .iter()
            .map(|(_, f)| f.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
    let mut message = format!(
        "repository {url} is reachable and has what Kalypso consumes on main and {} ({} read)",
        listed(&checked),
        plural(read, "YAML file")
    );
    if !absent.is_empty() {
        message.push_str(&format!(
            "; branch{} {} not there yet (created by the seed step)",
            if absent.len() == 1 { "" } else { "es" },
            listed(&absent)
        ));
    }
    if !warnings.is_empty() {
        message.push_str(&warnings_text(&warnings));
    }
    Ok(StepOutcome::reused(message))
}

/// Push the rendered templates: `main`, then the environment branch. Branches already
/// on the remote (a run that stopped between the two pushes) are left as they are.
pub async fn seed(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let kind = repo_kind(ctx.step());
    if let RepoTarget::Existing(existing) = target(env, kind) {
        if kind == RepoKind::ControlPlane && planned.action == Action::Create {
            return change_existing_control_plane(steps, planned, ctx, existing).await;
        }
        return Ok(StepOutcome::skipped(format!(
            "existing repository {} is left as it is",
            existing.url()
        )));
    }
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let context = steps.template_context(ctx).await?;
    let repo = repo_of(&context, kind).clone();
    let slug = repo.slug();
    let rendered = templates::render(&context)
        .map_err(|e| UserError::in_step(step, format!("render the templates: {e}")))?;
    let rendered = rendered.repo(kind).clone();
    let (remote, git_env) = push_target(env, &tools, &repo);

    let info = call(env, ctx, &format!("look up repository {slug}"), || {
        tools.gh.repo_view(&slug)
    })
    .await?
    .ok_or_else(|| {
        UserError::in_step(step, format!("repository {slug} does not exist (any more)"))
            .with_hint(Topic::RepositoryGone.hint("run again: the repository step creates it"))
    })?;

    let pushed = retry_step(
        ctx,
        &env.timings.retry,
        &format!("push to {slug}"),
        |attempt| {
            let tools = tools.clone();
            let git_env = git_env.clone();
            let remote = remote.clone();
            let rendered = rendered.clone();
            // A retry looks again: the attempt that failed may have pushed a branch.
            let empty = info.is_empty && attempt == 1;
            let slug = slug.clone();
            async move {
                let mut pushed = Vec::new();
                let mut known_empty = empty;
                // A rejected push, with the branches git said were in the way.
                let mut rejected: Option<(SeedError, Vec<String>)> = None;
                // A push another writer beat us to (e.g. a killed run's push, still
                // finishing) is no failure: look at the remote again, push what is missing.
                for round in 1..=SEED_ROUNDS {
                    let present = if known_empty {
                        Vec::new()
                    } else {
                        tools
                            .git
                            .remote_branches(&remote, &git_env)
                            .await
                            .map_err(|e| {
                                tool_error(step, &format!("list the branches of {slug}"), &e)
                            })?
                    };
                    known_empty = false;
                    let missing: Vec<_> = rendered
                        .branches
                        .iter()
                        .filter(|b| !present.contains(&b.name))
                        .cloned()
                        .collect();
                    if let Some((error, in_the_way)) = rejected.take() {
                        // Only branches that are there now explain the rejection.
                        if in_the_way.is_empty() || !in_the_way.iter().all(|b| present.contains(b))
                        {
                            return Err(seed_error(step, &slug, &error));
                        }
                        tracing::warn!(
                            "push to {slug}: another push landed a branch first; pushing the rest"
                        );
                    }
                    if missing.is_empty() {
                        break;
                    }
                    let dir = work_dir(env, step)?;
                    let workdir = dir.path().join(rendered.kind.dir_name());
                    match tools
                        .git
                        .seed(&workdir, &remote, &missing, SEED_MESSAGE, &git_env)
                        .await
                    {
                        Ok(()) => {
                            pushed.extend(missing.iter().map(|b| {
                                format!("{} ({})", b.name, plural(b.files.len(), "file"))
                            }));
                            break;
                        }
                        Err(SeedError::Tool(e))
                            if e.class() == ErrorClass::AlreadyExists && round < SEED_ROUNDS =>
                        {
                            let in_the_way = rejected_branches(&e);
                            rejected = Some((SeedError::Tool(e), in_the_way));
                        }
                        Err(e) => return Err(seed_error(step, &slug, &e)),
                    }
                }
                Ok(pushed)
            }
        },
    )
    .await?;
    ctx.transition("Initialized");
    if pushed.is_empty() {
        let names: Vec<&str> = rendered.branches.iter().map(|b| b.name.as_str()).collect();
        return Ok(StepOutcome::reused(format!(
            "repository {slug} already has {}",
            listed(&names)
        )));
    }
    Ok(StepOutcome::succeeded(format!(
        "pushed {} to {slug}",
        listed(&pushed)
    )))
}

/// "a", "a and b", "a, b and c": the branches of a seed, however many environments.
fn listed<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

fn seed_error(step: StepId, slug: &str, error: &SeedError) -> UserError {
    match error {
        SeedError::Tool(tool) => tool_error(step, &format!("push the templates to {slug}"), tool),
        other => UserError::in_step(step, format!("push the templates to {slug}: {other}")),
    }
}

/// The Actions secrets, values on stdin.
pub async fn secrets(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let kind = repo_kind(ctx.step());
    let existing = match target(env, kind) {
        RepoTarget::Existing(existing) if planned.action != Action::Create => {
            // What the plan warned of (a NEXT_ENVIRONMENT that exists) is said again.
            let repo_arg = existing.host().gh_repo_arg(&existing.slug());
            let warnings: Vec<String> = planned
                .changes
                .iter()
                .filter(|c| !c.is_change())
                .map(|c| c.describe(&repo_arg))
                .collect();
            let mut message = format!("existing repository {} is left as it is", existing.url());
            for warning in warnings {
                message.push_str(&format!("; {warning}"));
            }
            return Ok(StepOutcome::skipped(message));
        }
        RepoTarget::Existing(existing) => Some(existing),
        RepoTarget::Create { .. } => None,
    };
    let tools = Tools::for_step(env, ctx);
    let token = env.require_token(ctx.step(), "the repository secrets")?;
    let context = steps.template_context(ctx).await?;
    let slug = repo_of(&context, kind).slug();
    let wanted = secret_values(kind, &context, &token);

    let present = if planned.action == Action::Reuse || existing.is_some() {
        call(env, ctx, &format!("list the secrets of {slug}"), || {
            tools.gh.secret_list(&slug)
        })
        .await?
    } else {
        Vec::new()
    };
    let mut set = Vec::new();
    for (name, value) in wanted.iter() {
        if present.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            continue;
        }
        ctx.progress(format!("setting secret {name} on {slug}"));
        // On a repository the user gave, each secret we add is ours to remove on rollback
        // (recorded before it is set: a run stopped meanwhile still knows it).
        let resource = crate::state::Resource::RepoSecret {
            repository: slug.clone(),
            name: name.to_string(),
        };
        if existing.is_some() {
            ctx.record(
                resource.clone(),
                Ownership::CreatedByUs,
                ResourceStatus::Creating,
            )?;
        }
        call(env, ctx, &format!("set secret {name} on {slug}"), || {
            tools.gh.secret_set(&slug, name, value.clone())
        })
        .await?;
        if existing.is_some() {
            ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
        }
        set.push(name.to_string());
    }
    if existing.is_some() && !set.is_empty() {
        // When GitHub says each was set: a rollback removes it only while that still holds.
        let listing = call(env, ctx, &format!("list the secrets of {slug}"), || {
            tools.gh.secret_listing(&slug)
        })
        .await?;
        for name in &set {
            let updated_at = listing
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
                .and_then(|s| s.updated_at.clone());
            if let Some(updated_at) = updated_at {
                let resource = crate::state::Resource::RepoSecret {
                    repository: slug.clone(),
                    name: name.to_string(),
                };
                ctx.update_state(|s| {
                    s.set_secret_updated_at(&resource, updated_at, Timestamp::now());
                })?;
            }
        }
    }
    if kind == RepoKind::ControlPlane && existing.is_none() {
        let chained = promotion_chain(env, ctx, &tools, &context, planned).await?;
        set.extend(chained);
    }
    let mut warnings = Vec::new();
    if let Some(existing) = existing.filter(|_| kind == RepoKind::ControlPlane) {
        let (chained, left) =
            super::existing_environments::promotion_chain(env, ctx, existing, &planned.changes)
                .await?;
        set.extend(chained);
        warnings = left;
    }
    let names: Vec<&str> = wanted.iter().map(|(n, _)| *n).collect();
    let warned = if warnings.is_empty() {
        String::new()
    } else {
        format!("; {}", warnings.join("; "))
    };
    if set.is_empty() {
        let mut names = names.join(", ");
        let chain = next_environments(&context);
        if !chain.is_empty() {
            names.push_str(&format!("; {}", describe_chain(&chain)));
        }
        return Ok(StepOutcome::reused(format!(
            "{slug} has its secrets {names}{warned}"
        )));
    }
    if kind == RepoKind::ControlPlane {
        // Secrets are the last step of the control-plane repository.
        ctx.transition("Ready");
    }
    Ok(StepOutcome::succeeded(format!(
        "set {} on {slug}{warned}",
        set.join(", ")
    )))
}

/// The secret the control plane's check-promote.yaml reads in the GitHub environment of the
/// environment it checked (its `promote` job runs in it): the environment to promote to.
pub const NEXT_ENVIRONMENT_SECRET: &str = "NEXT_ENVIRONMENT";

/// Each environment that promotes further, with the one it promotes to: every environment
/// but the last. The last gets no `NEXT_ENVIRONMENT`, which ends the chain.
pub fn next_environments(context: &TemplateContext) -> Vec<(&str, &str)> {
    context
        .environments
        .iter()
        .filter_map(|environment| {
            context
                .next_environment(environment)
                .map(|next| (environment.as_str(), next))
        })
        .collect()
}

/// "NEXT_ENVIRONMENT of GitHub environments dev (stage), stage (prod)".
pub fn describe_chain(chain: &[(&str, &str)]) -> String {
    let listed: Vec<String> = chain
        .iter()
        .map(|(environment, next)| format!("{environment} ({next})"))
        .collect();
    format!(
        "{NEXT_ENVIRONMENT_SECRET} of GitHub environment{} {}",
        if chain.len() == 1 { "" } else { "s" },
        listed.join(", ")
    )
}

/// Wire the promotion chain of a control plane we created: for each environment but the
/// last, its GitHub environment (created if missing) gets the secret `NEXT_ENVIRONMENT`
/// naming the next one. On a resumed step, a secret already there is left as it is.
/// Returns what was set, e.g. "NEXT_ENVIRONMENT of dev (stage)".
async fn promotion_chain(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    context: &TemplateContext,
    planned: &PlannedStep,
) -> Result<Vec<String>, UserError> {
    let slug = context.control_plane.slug();
    let mut set = Vec::new();
    for (environment, next) in next_environments(context) {
        if planned.action == Action::Reuse {
            // Set by an earlier run: left as it is. An environment that is not there (any
            // more) answers 404, and is made again below.
            let what =
                format!("list the secrets of the GitHub environment {environment} in {slug}");
            let present = match tools.gh.environment_secret_list(&slug, environment).await {
                Ok(names) => names,
                Err(error) if error.is_not_found() => Vec::new(),
                Err(error) => return Err(tool_error(ctx.step(), &what, &error)),
            };
            if present
                .iter()
                .any(|name| name.eq_ignore_ascii_case(NEXT_ENVIRONMENT_SECRET))
            {
                continue;
            }
        }
        call(
            env,
            ctx,
            &format!("create the GitHub environment {environment} in {slug}"),
            || tools.gh.environment_create(&slug, environment),
        )
        .await?;
        set_next_environment(env, ctx, tools, &slug, environment, next).await?;
        set.push(format!(
            "{NEXT_ENVIRONMENT_SECRET} of {environment} ({next})"
        ));
    }
    Ok(set)
}

/// Record `resource` as being created by us, just before the push that creates it, and
/// keep it in `recorded`: a run killed while pushing still knows it, and a failed push
/// looks whether it landed. For the callbacks of the git adapter's `…_then` pushes.
pub(crate) fn record_before_push(
    ctx: &StepContext,
    recorded: &std::sync::Mutex<Option<crate::state::Resource>>,
    resource: crate::state::Resource,
) -> Result<(), String> {
    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )
    .map_err(|e| e.message)?;
    *recorded.lock().unwrap_or_else(|p| p.into_inner()) = Some(resource);
    Ok(())
}

/// Set `NEXT_ENVIRONMENT` of the GitHub environment `environment` in `slug` to `next`
/// (the value on stdin, as every secret).
pub(crate) async fn set_next_environment(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    slug: &str,
    environment: &str,
    next: &str,
) -> Result<(), UserError> {
    ctx.progress(format!(
        "setting {NEXT_ENVIRONMENT_SECRET} of environment {environment} on {slug} to {next}"
    ));
    let value = SecretString::from(next.to_string());
    call(
        env,
        ctx,
        &format!("set {NEXT_ENVIRONMENT_SECRET} of the GitHub environment {environment} in {slug}"),
        || {
            tools.gh.environment_secret_set(
                slug,
                environment,
                NEXT_ENVIRONMENT_SECRET,
                value.clone(),
            )
        },
    )
    .await
}

/// The `promoted` label on the gitops repository.
pub async fn label(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    if let RepoTarget::Existing(existing) = target(env, RepoKind::Gitops) {
        if planned.action == Action::Create {
            return label_existing(env, ctx, existing).await;
        }
        return Ok(StepOutcome::skipped(format!(
            "existing repository {} is left as it is",
            existing.url()
        )));
    }
    let context = steps.template_context(ctx).await?;
    let slug = context.gitops.slug();
    if planned.action == Action::Reuse {
        return Ok(StepOutcome::reused(format!(
            "label {PROMOTED_LABEL} was created on {slug} by an earlier run"
        )));
    }
    let tools = Tools::for_step(env, ctx);
    call(
        env,
        ctx,
        &format!("create label {PROMOTED_LABEL} on {slug}"),
        || {
            let (name, color, text) = promoted_label();
            tools.gh.label_create(&slug, name, color, text)
        },
    )
    .await?;
    ctx.transition("Ready");
    Ok(StepOutcome::succeeded(format!(
        "label {PROMOTED_LABEL} created on {slug}"
    )))
}

/// The `promoted` label on a gitops repository the user gave, when it still lacks it;
/// recorded as ours so a rollback removes it.
async fn label_existing(
    env: &StepEnv,
    ctx: &StepContext,
    existing: &crate::config::GitHubRepo,
) -> Result<StepOutcome, UserError> {
    let tools = Tools::for_step(env, ctx);
    let slug = existing.slug();
    let labels = call(env, ctx, &format!("list the labels of {slug}"), || {
        tools.gh.label_list(&slug)
    })
    .await?;
    if labels
        .iter()
        .any(|l| l.name.eq_ignore_ascii_case(PROMOTED_LABEL))
    {
        return Ok(StepOutcome::reused(format!(
            "{slug} has the label {PROMOTED_LABEL} already"
        )));
    }
    let resource = crate::state::Resource::RepoLabel {
        repository: slug.clone(),
        name: PROMOTED_LABEL.to_string(),
    };
    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )?;
    call(
        env,
        ctx,
        &format!("create label {PROMOTED_LABEL} on {slug}"),
        || {
            let (name, color, text) = promoted_label();
            tools.gh.label_create(&slug, name, color, text)
        },
    )
    .await?;
    ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
    Ok(StepOutcome::succeeded(format!(
        "label {PROMOTED_LABEL} created on {slug}"
    )))
}

/// The changes the plan showed for a control plane the user gave (see
/// [`super::existing_environments`]), each made in its order: pointers, branches, then the
/// Environments on `main`. Each is recorded as ours before it can land.
async fn change_existing_control_plane(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
    existing: &crate::config::GitHubRepo,
) -> Result<StepOutcome, UserError> {
    use super::existing_environments::{self as environments, ControlPlaneChange};
    let mut done = Vec::new();
    for change in &planned.changes {
        let message = match change {
            ControlPlaneChange::PointGitopsRepo { branch, path, .. } => {
                point_gitops_repo(steps, ctx, existing, branch, path).await?
            }
            ControlPlaneChange::CreateBranch {
                branch, templates, ..
            } => environments::create_branch(steps, ctx, existing, branch, templates).await?,
            ControlPlaneChange::AddEnvironmentFile { environment, path } => {
                environments::add_environment_file(steps, ctx, existing, environment, path).await?
            }
            _ => continue,
        };
        done.push(message);
    }
    if done.is_empty() {
        return Ok(StepOutcome::skipped(format!(
            "existing repository {} is left as it is",
            existing.url()
        )));
    }
    ctx.transition("Initialized");
    Ok(StepOutcome::succeeded(done.join("; ")))
}

/// Point the GitOpsRepo of a control plane the user gave at the configured gitops
/// repository: one commit to the environment branch `branch` changing only its `spec.repo`
/// in `shown` (the file the plan showed), recorded as ours (with what it replaced) so a
/// rollback can put it back. Returns what was done.
async fn point_gitops_repo(
    steps: &BootstrapSteps,
    ctx: &StepContext,
    existing: &crate::config::GitHubRepo,
    branch: &str,
    shown: &str,
) -> Result<String, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let slug = existing.slug();
    let context = steps.template_context(ctx).await?;
    let wanted = context.gitops.url();
    // Read again: the repository may have changed since the plan.
    let files = read_control_plane_in_step(env, ctx, &tools, &slug, &[branch.to_string()]).await?;
    let Some(pointer) = files.findings(branch).gitops_repo else {
        return Err(UserError::in_step(
            step,
            format!(
                "repository {} has no GitOpsRepo on {branch} any more",
                existing.url()
            ),
        ));
    };
    if structure::same_repo_url(&pointer.repo, &wanted) {
        return Ok(format!(
            "the GitOpsRepo in {} on {branch} of {slug} names {wanted} already",
            pointer.path
        ));
    }
    // Consent was given to the change the plan showed: a GitOpsRepo found in another file
    // now is another change, not made without a new plan.
    if shown != pointer.path {
        return Err(UserError::in_step(
            step,
            format!(
                "the GitOpsRepo on {branch} of {slug} is in {} now, not in {shown} as the plan showed; nothing was changed: run again to see the new plan",
                pointer.path
            ),
        )
        .with_exit_code(ExitCode::RepositoryFailed));
    }
    ctx.progress(format!(
        "pointing the GitOpsRepo in {} on {branch} of {slug} at {wanted}",
        pointer.path
    ));
    let (remote, git_env) = existing_push_target(env, &tools, existing);
    let dir = work_dir(env, step)?;
    let workdir = dir.path().join(RepoKind::ControlPlane.dir_name());
    let what = format!(
        "point the GitOpsRepo in {} on {branch} of {slug} at {wanted}",
        pointer.path
    );
    let record =
        |committed: &crate::tools::git::FileCommit| crate::state::Resource::RepoFileCommit {
            repository: slug.clone(),
            branch: branch.to_string(),
            path: pointer.path.clone(),
            commit: committed.commit.clone(),
            previous_blob: committed.previous_blob.clone(),
            written_blob: committed.written_blob.clone(),
            previous_content: committed.previous_content.clone(),
        };
    // Recorded before the push: a run killed while pushing still knows the commit, and a
    // rollback reverts it if it landed (the file is then the blob written).
    let recorded = std::sync::Mutex::new(None);
    let changed = tools
        .git
        .change_file_then(
            crate::tools::git::FileChange {
                workdir: &workdir,
                remote_url: &remote,
                branch,
                path: &pointer.path,
                message: POINTER_MESSAGE,
            },
            &git_env,
            |content, _| structure::point_gitops_repo(content, &wanted),
            |committed| record_before_push(ctx, &recorded, record(committed)),
        )
        .await;
    let changed = match changed {
        Ok(changed) => changed,
        Err(error) => {
            // The push may have landed before it failed (a timeout, the run stopping): look
            // (not cancellable); a commit that is not on the branch is forgotten, so a
            // rollback does not report a file it never changed.
            let taken = recorded.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(resource) = taken {
                let crate::state::Resource::RepoFileCommit { written_blob, .. } = &resource else {
                    unreachable!("the record of a file commit")
                };
                let looking = Tools::for_marking(env, ctx);
                match looking.gh.repo_tree(&slug, branch).await {
                    Ok(Some(entries))
                        if entries
                            .iter()
                            .any(|e| e.path == pointer.path && &e.sha == written_blob) =>
                    {
                        ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
                    }
                    Ok(_) => {
                        ctx.update_state(|s| s.forget_creation(&resource, Timestamp::now()))?;
                    }
                    // Not known: kept; a rollback reads the file again before any revert.
                    Err(_) => {}
                }
            }
            return Err(match error {
                FileChangeError::Seed(SeedError::Tool(tool)) => tool_error(step, &what, &tool),
                other => UserError::in_step(step, format!("{what}: {other}")).with_hint(
                    Topic::RepositoryStructure.hint(format!(
                        "set spec.repo of the GitOpsRepo in {} on branch {branch} to {wanted} yourself, then run again",
                        pointer.path
                    )),
                ),
            });
        }
    };
    ctx.record(
        record(&changed),
        Ownership::CreatedByUs,
        ResourceStatus::Present,
    )?;
    Ok(format!(
        "pointed the GitOpsRepo in {} on {branch} of {slug} at {wanted} (was {}): commit {}",
        pointer.path, pointer.repo, changed.commit
    ))
}
