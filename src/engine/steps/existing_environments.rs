//! A control plane the user gave, for every configured environment: what each one lacks
//! there and this tool changes with consent, one [`ControlPlaneChange`] each. The plan's
//! reasons, the dry run's commands and the run all come from the same list.
//!
//! - an environment branch whose GitOpsRepo names another gitops repository: pointed at the
//!   configured one (one commit, reverted by a rollback);
//! - a later environment's branch that does not exist: created with the rendered
//!   environment-branch resources, and its `.environments/<env>.yaml` added on `main` when
//!   `main` declares no such Environment (each recorded; a rollback deletes the branch only
//!   while its head is still our commit, and removes the file only while it is our blob);
//! - the promotion chain: each environment but the last gets its GitHub environment (created
//!   when missing, recorded) and its `NEXT_ENVIRONMENT` secret (set when absent; one that
//!   exists is never overwritten: its value cannot be read back, so it is left, with a
//!   warning and the command to set it by hand).
//!
//! The first environment's branch must exist: it is where the control plane is checked.

use secrecy::SecretString;

use super::repositories::{existing_push_target, NEXT_ENVIRONMENT_SECRET, SEED_DIR_PREFIX};
use super::{call, tool_error, BootstrapSteps, StepCommands, StepEnv, Tools};
use crate::config::GitHubRepo;
use crate::engine::context::StepContext;
use crate::engine::plan::Observed;
use crate::engine::step::StepId;
use crate::state::{Ownership, Resource, ResourceStatus, Timestamp};
use crate::templates::structure::{self, MAIN_BRANCH};
use crate::templates::{self, RepoKind, TemplateContext};
use crate::tools::git::{FileChange, FileChangeError, SeedError};
use crate::ExitCode;
use crate::UserError;

/// The message of the commit that creates an environment branch.
pub const BRANCH_MESSAGE: &str = "Add the environment branch (Kalypso Bootstrap)";

/// The message of the commit that adds an Environment on `main`.
pub const ENVIRONMENT_FILE_MESSAGE: &str = "Add the Environment (Kalypso Bootstrap)";

/// The Templates the rendered ClusterType names (`spec.reconciler`, `spec.namespaceService`),
/// rendered on `main` in [`TEMPLATES_FILE`]. A test checks the rendering against them.
pub const RENDERED_CLUSTER_TYPE_TEMPLATES: [&str; 2] = ["default-reconciler", "default-namespace"];

/// The rendered file of `main` that holds the Templates.
pub const TEMPLATES_FILE: &str = "templates/default-template.yaml";

/// `.environments/<environment>.yaml`: where the rendered Environment is on `main`.
pub fn environment_file(environment: &str) -> String {
    format!(".environments/{environment}.yaml")
}

/// One change to a control plane the user gave, for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlPlaneChange {
    /// Set `spec.repo` of the GitOpsRepo in `path` on `branch` from `from` to `to`.
    PointGitopsRepo {
        branch: String,
        path: String,
        name: Option<String>,
        from: String,
        to: String,
    },
    /// Create the environment branch `branch` with the rendered resources, its GitOpsRepo
    /// naming branch `branch` of `gitops`; with [`TEMPLATES_FILE`] when `main` lacks the
    /// Templates its ClusterType names (`templates`).
    CreateBranch {
        branch: String,
        gitops: String,
        templates: Vec<String>,
    },
    /// Add the rendered Environment `environment` at `path` on `main`.
    AddEnvironmentFile { environment: String, path: String },
    /// Create the GitHub environment `environment`.
    CreateGithubEnvironment { environment: String },
    /// Set `NEXT_ENVIRONMENT` of the GitHub environment `environment` to `next`.
    SetNextEnvironment { environment: String, next: String },
    /// `NEXT_ENVIRONMENT` of `environment` exists: left as it is (a warning).
    LeaveNextEnvironment { environment: String, next: String },
}

impl ControlPlaneChange {
    /// The step that makes it: the branches and files in the seed step, the GitHub
    /// environments and their secrets in the secrets step.
    pub fn step(&self) -> StepId {
        match self {
            Self::PointGitopsRepo { .. }
            | Self::CreateBranch { .. }
            | Self::AddEnvironmentFile { .. } => StepId::ControlPlaneSeed,
            Self::CreateGithubEnvironment { .. }
            | Self::SetNextEnvironment { .. }
            | Self::LeaveNextEnvironment { .. } => StepId::ControlPlaneSecrets,
        }
    }

    /// Whether it changes anything (a warning does not).
    pub fn is_change(&self) -> bool {
        !matches!(self, Self::LeaveNextEnvironment { .. })
    }

    /// What it is and what changes, for the plan and the report. `repo_arg` is the
    /// repository as gh's `--repo` takes it (with the host on a GitHub Enterprise Server).
    pub fn describe(&self, repo_arg: &str) -> String {
        match self {
            Self::PointGitopsRepo {
                branch,
                path,
                name,
                from,
                to,
            } => format!(
                "on branch {branch}, {path} (GitOpsRepo {}) has spec.repo {from}, so the gitops repository {to} would never receive a pull request; change: set spec.repo to {to} (one commit to {branch})",
                name.as_deref().unwrap_or("(unnamed)"),
            ),
            Self::CreateBranch {
                branch,
                gitops,
                templates,
            } => {
                let with_templates = if templates.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", and {TEMPLATES_FILE} with the Templates {} its ClusterType names, which {MAIN_BRANCH} lacks",
                        templates.join(", ")
                    )
                };
                format!(
                    "branch {branch} does not exist; change: create it (a new branch, one commit) with the rendered ClusterType, config, SchedulingPolicy, BaseRepo (branch {MAIN_BRANCH} of this repository) and GitOpsRepo (branch {branch} of {gitops}){with_templates}"
                )
            }
            Self::AddEnvironmentFile { environment, path } => format!(
                "{MAIN_BRANCH} declares no Environment {environment}; change: add {path} (one commit to {MAIN_BRANCH})"
            ),
            Self::CreateGithubEnvironment { environment } => format!(
                "the GitHub environment {environment} does not exist; change: create it"
            ),
            Self::SetNextEnvironment { environment, next } => format!(
                "the GitHub environment {environment} has no {NEXT_ENVIRONMENT_SECRET} secret; change: set it to {next}"
            ),
            Self::LeaveNextEnvironment { environment, next } => {
                leave_warning(environment, next, repo_arg)
            }
        }
    }
}

/// The warning about a `NEXT_ENVIRONMENT` that exists: left as it is, with the command that
/// sets it by hand (the value is an environment's name, no secret: `--body` is fine).
fn leave_warning(environment: &str, next: &str, repo_arg: &str) -> String {
    format!(
        "warning: the GitHub environment {environment} has a {NEXT_ENVIRONMENT_SECRET} secret already; it is left as it is (GitHub never shows a value, so it can be neither checked nor put back); if it does not name {next}, set it yourself: gh secret set {NEXT_ENVIRONMENT_SECRET} --env {environment} --repo {repo_arg} --body {next}"
    )
}

/// The changes a control plane the user gave needs, from what the plan observed: per
/// environment its branch (the pointer, or the branch to create), then the Environments to
/// add on `main`, then the GitHub environments and their secrets. Pure.
pub fn changes(observed: &Observed) -> Vec<ControlPlaneChange> {
    let Some(wanted) = observed.gitops_url.as_deref() else {
        return Vec::new();
    };
    let missing_templates: Vec<String> = RENDERED_CLUSTER_TYPE_TEMPLATES
        .iter()
        .filter(|name| !observed.control_plane_templates.iter().any(|t| t == *name))
        .map(|name| name.to_string())
        .collect();
    let (mut branches, mut files, mut github) = (Vec::new(), Vec::new(), Vec::new());
    for (index, environment) in observed.control_plane_environments.iter().enumerate() {
        let name = &environment.name;
        match &environment.branch {
            Some(findings) => {
                if let Some(pointer) = &findings.gitops_repo {
                    if !structure::same_repo_url(&pointer.repo, wanted) {
                        branches.push(ControlPlaneChange::PointGitopsRepo {
                            branch: name.clone(),
                            path: pointer.path.clone(),
                            name: pointer.name.clone(),
                            from: pointer.repo.clone(),
                            to: wanted.to_string(),
                        });
                    }
                }
            }
            // The first environment's branch missing is a refusal (its check says so).
            None if index == 0 => {}
            None => {
                branches.push(ControlPlaneChange::CreateBranch {
                    branch: name.clone(),
                    gitops: wanted.to_string(),
                    templates: missing_templates.clone(),
                });
                if !environment.declared && !environment.file_taken {
                    files.push(ControlPlaneChange::AddEnvironmentFile {
                        environment: name.clone(),
                        path: environment_file(name),
                    });
                }
            }
        }
        if let Some(next) = &environment.next {
            if !environment.github_environment {
                github.push(ControlPlaneChange::CreateGithubEnvironment {
                    environment: name.clone(),
                });
            }
            github.push(if environment.next_secret {
                ControlPlaneChange::LeaveNextEnvironment {
                    environment: name.clone(),
                    next: next.clone(),
                }
            } else {
                ControlPlaneChange::SetNextEnvironment {
                    environment: name.clone(),
                    next: next.clone(),
                }
            });
        }
    }
    branches.into_iter().chain(files).chain(github).collect()
}

/// The changes of `step`.
pub fn of_step(changes: &[ControlPlaneChange], step: StepId) -> Vec<ControlPlaneChange> {
    changes
        .iter()
        .filter(|c| c.step() == step)
        .cloned()
        .collect()
}

/// Each change described, joined for a reason.
pub fn describe_all(changes: &[ControlPlaneChange], repo_arg: &str) -> String {
    let described: Vec<String> = changes.iter().map(|c| c.describe(repo_arg)).collect();
    described.join("; ")
}

/// Why the plan refuses an environment the changes cannot serve (besides the checks of
/// each existing branch): a later environment whose branch is missing while `main` has
/// `.environments/<env>.yaml` declaring no Environment of that name.
pub fn refusals(observed: &Observed, url: &str) -> Vec<String> {
    observed
        .control_plane_environments
        .iter()
        .skip(1)
        .filter(|e| e.branch.is_none() && !e.declared && e.file_taken)
        .map(|e| {
            format!(
                "repository {url}: branch {name} does not exist and {path} on {MAIN_BRANCH} declares no Environment {name}, so this tool can neither add its Environment nor leave it without one",
                name = e.name,
                path = environment_file(&e.name)
            )
        })
        .collect()
}

/// The rendered branch of `environment` (and, with `templates`, the Templates file of
/// `main` on it too).
fn rendered_branch(
    context: &TemplateContext,
    environment: &str,
    templates: &[String],
) -> Result<templates::RenderedBranch, String> {
    let rendered = templates::render(context).map_err(|e| format!("render the templates: {e}"))?;
    let branches = &rendered.repo(RepoKind::ControlPlane).branches;
    let mut branch = branches
        .iter()
        .find(|b| b.name == environment)
        .cloned()
        .ok_or_else(|| format!("the templates render no branch {environment}"))?;
    if !templates.is_empty() {
        let file = branches
            .iter()
            .find(|b| b.name == MAIN_BRANCH)
            .and_then(|main| main.file(TEMPLATES_FILE))
            .cloned()
            .ok_or_else(|| format!("the templates render no {TEMPLATES_FILE}"))?;
        branch.files.push(file);
        branch.files.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(branch)
}

/// The rendered `.environments/<environment>.yaml` of `main`.
fn rendered_environment_file(context: &TemplateContext, path: &str) -> Result<String, String> {
    let rendered = templates::render(context).map_err(|e| format!("render the templates: {e}"))?;
    let file = rendered
        .repo(RepoKind::ControlPlane)
        .branches
        .iter()
        .find(|b| b.name == MAIN_BRANCH)
        .and_then(|main| main.file(path))
        .ok_or_else(|| format!("the templates render no {path}"))?;
    String::from_utf8(file.contents.clone()).map_err(|_| format!("{path} is not UTF-8"))
}

/// Create the environment branch `branch` (which must still not exist): one root commit of
/// the rendered files, recorded before the push as [`Resource::RepoBranch`].
pub(super) async fn create_branch(
    steps: &BootstrapSteps,
    ctx: &StepContext,
    existing: &GitHubRepo,
    branch: &str,
    templates: &[String],
) -> Result<String, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let slug = existing.slug();
    let context = steps.template_context(ctx).await?;
    let rendered = rendered_branch(&context, branch, templates)
        .map_err(|message| UserError::in_step(step, message))?;
    // Consent was given to creating a branch that did not exist: one there now is another
    // situation, not changed without a new plan.
    let head = call(
        env,
        ctx,
        &format!("look up branch {branch} of {slug}"),
        || tools.gh.branch_head(&slug, branch),
    )
    .await?;
    if head.is_some() {
        return Err(UserError::in_step(
            step,
            format!(
                "branch {branch} of {slug} exists now, although the plan found none; nothing was changed: run again to see the new plan"
            ),
        )
        .with_exit_code(ExitCode::RepositoryFailed));
    }
    ctx.progress(format!("creating branch {branch} of {slug}"));
    let (remote, git_env) = existing_push_target(env, &tools, existing);
    let dir = super::repositories::work_dir(env, step)?;
    let workdir = dir.path().join(RepoKind::ControlPlane.dir_name());
    let record = |commit: &str| Resource::RepoBranch {
        repository: slug.clone(),
        branch: branch.to_string(),
        commit: commit.to_string(),
    };
    let recorded = std::sync::Mutex::new(None);
    let pushed = tools
        .git
        .create_branch_then(
            &workdir,
            &remote,
            &rendered,
            BRANCH_MESSAGE,
            &git_env,
            |commit| super::repositories::record_before_push(ctx, &recorded, record(commit)),
        )
        .await;
    let what = format!("create branch {branch} of {slug}");
    match pushed {
        Ok(commit) => {
            ctx.record(
                record(&commit),
                Ownership::CreatedByUs,
                ResourceStatus::Present,
            )?;
            Ok(format!(
                "created branch {branch} of {slug} ({}): commit {commit}",
                crate::text::plural(rendered.files.len(), "file")
            ))
        }
        Err(error) => {
            // The push may have landed before it failed: look (not cancellable). A branch
            // whose head is not our commit is not ours: forgotten.
            let taken = recorded.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(resource) = taken {
                let Resource::RepoBranch { commit, .. } = &resource else {
                    unreachable!("the record of a branch")
                };
                let looking = Tools::for_marking(env, ctx);
                match looking.gh.branch_head(&slug, branch).await {
                    Ok(Some(head)) if &head == commit => {
                        ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
                    }
                    Ok(_) => {
                        ctx.update_state(|s| s.forget_creation(&resource, Timestamp::now()))?;
                    }
                    Err(_) => {}
                }
            }
            Err(match error {
                FileChangeError::Seed(SeedError::Tool(tool)) => tool_error(step, &what, &tool),
                other => UserError::in_step(step, format!("{what}: {other}")),
            })
        }
    }
}

/// Add the rendered `.environments/<environment>.yaml` on `main` (which must still not have
/// it): one commit, recorded as a [`Resource::RepoFileCommit`] with no previous content.
pub(super) async fn add_environment_file(
    steps: &BootstrapSteps,
    ctx: &StepContext,
    existing: &GitHubRepo,
    environment: &str,
    path: &str,
) -> Result<String, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let slug = existing.slug();
    let context = steps.template_context(ctx).await?;
    let content = rendered_environment_file(&context, path)
        .map_err(|message| UserError::in_step(step, message))?;
    ctx.progress(format!("adding {path} on {MAIN_BRANCH} of {slug}"));
    let (remote, git_env) = existing_push_target(env, &tools, existing);
    let dir = super::repositories::work_dir(env, step)?;
    let workdir = dir.path().join(RepoKind::ControlPlane.dir_name());
    let record = |committed: &crate::tools::git::FileCommit| Resource::RepoFileCommit {
        repository: slug.clone(),
        branch: MAIN_BRANCH.to_string(),
        path: path.to_string(),
        commit: committed.commit.clone(),
        previous_blob: String::new(),
        written_blob: committed.written_blob.clone(),
        previous_content: String::new(),
    };
    let recorded = std::sync::Mutex::new(None);
    let added = tools
        .git
        .add_file_then(
            FileChange {
                workdir: &workdir,
                remote_url: &remote,
                branch: MAIN_BRANCH,
                path,
                message: ENVIRONMENT_FILE_MESSAGE,
            },
            &content,
            &git_env,
            |committed| super::repositories::record_before_push(ctx, &recorded, record(committed)),
        )
        .await;
    let what = format!("add {path} on {MAIN_BRANCH} of {slug}");
    match added {
        Ok(committed) => {
            ctx.record(
                record(&committed),
                Ownership::CreatedByUs,
                ResourceStatus::Present,
            )?;
            Ok(format!(
                "added {path} (Environment {environment}) on {MAIN_BRANCH} of {slug}: commit {}",
                committed.commit
            ))
        }
        Err(error) => {
            let taken = recorded.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(resource) = taken {
                let Resource::RepoFileCommit { written_blob, .. } = &resource else {
                    unreachable!("the record of a file commit")
                };
                let looking = Tools::for_marking(env, ctx);
                match looking.gh.repo_tree(&slug, MAIN_BRANCH).await {
                    Ok(Some(entries))
                        if entries
                            .iter()
                            .any(|e| e.path == path && &e.sha == written_blob) =>
                    {
                        ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
                    }
                    Ok(_) => {
                        ctx.update_state(|s| s.forget_creation(&resource, Timestamp::now()))?;
                    }
                    Err(_) => {}
                }
            }
            Err(match error {
                FileChangeError::Seed(SeedError::Tool(tool)) => tool_error(step, &what, &tool),
                other => UserError::in_step(step, format!("{what}: {other}"))
                    .with_exit_code(ExitCode::RepositoryFailed),
            })
        }
    }
}

/// The promotion chain on a control plane the user gave: each GitHub environment the plan
/// found missing created (recorded as ours), each `NEXT_ENVIRONMENT` it found absent set
/// (recorded, with when GitHub says it was set). Looked at again first: an environment or
/// secret there now is left as it is. Returns what was done and the warnings.
pub(super) async fn promotion_chain(
    env: &StepEnv,
    ctx: &StepContext,
    existing: &GitHubRepo,
    changes: &[ControlPlaneChange],
) -> Result<(Vec<String>, Vec<String>), UserError> {
    let tools = Tools::for_step(env, ctx);
    let slug = existing.slug();
    let repo_arg = existing.host().gh_repo_arg(&slug);
    let (mut done, mut warnings) = (Vec::new(), Vec::new());
    for change in changes {
        match change {
            ControlPlaneChange::CreateGithubEnvironment { environment } => {
                let exists = call(
                    env,
                    ctx,
                    &format!("look up the GitHub environment {environment} in {slug}"),
                    || tools.gh.environment_exists(&slug, environment),
                )
                .await?;
                if exists {
                    continue;
                }
                let resource = Resource::RepoEnvironment {
                    repository: slug.clone(),
                    name: environment.clone(),
                };
                ctx.record(
                    resource.clone(),
                    Ownership::CreatedByUs,
                    ResourceStatus::Creating,
                )?;
                let created = call(
                    env,
                    ctx,
                    &format!("create the GitHub environment {environment} in {slug}"),
                    || tools.gh.environment_create(&slug, environment),
                )
                .await;
                if let Err(error) = created {
                    // Refused (a plan without environments, a permission): look, and forget
                    // a record of nothing, so that no later rollback or --clean takes an
                    // environment the user makes meanwhile for ours. Not known: kept; the
                    // removal checks it live.
                    let looking = Tools::for_marking(env, ctx);
                    if let Ok(false) = looking.gh.environment_exists(&slug, environment).await {
                        ctx.update_state(|s| s.forget_creation(&resource, Timestamp::now()))?;
                    }
                    return Err(error);
                }
                ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
                done.push(format!("created the GitHub environment {environment}"));
            }
            ControlPlaneChange::SetNextEnvironment { environment, next } => {
                let what =
                    format!("list the secrets of the GitHub environment {environment} in {slug}");
                let present = call(env, ctx, &what, || {
                    tools.gh.environment_secret_listing(&slug, environment)
                })
                .await?
                .unwrap_or_default();
                if present
                    .iter()
                    .any(|s| s.name.eq_ignore_ascii_case(NEXT_ENVIRONMENT_SECRET))
                {
                    warnings.push(leave_warning(environment, next, &repo_arg));
                    continue;
                }
                let resource = Resource::RepoEnvironmentSecret {
                    repository: slug.clone(),
                    environment: environment.clone(),
                    name: NEXT_ENVIRONMENT_SECRET.to_string(),
                };
                ctx.record(
                    resource.clone(),
                    Ownership::CreatedByUs,
                    ResourceStatus::Creating,
                )?;
                super::repositories::set_next_environment(
                    env,
                    ctx,
                    &tools,
                    &slug,
                    environment,
                    next,
                )
                .await?;
                ctx.record(
                    resource.clone(),
                    Ownership::CreatedByUs,
                    ResourceStatus::Present,
                )?;
                // When GitHub says it was set: a rollback removes it only while that holds.
                let listing = call(env, ctx, &what, || {
                    tools.gh.environment_secret_listing(&slug, environment)
                })
                .await?
                .unwrap_or_default();
                if let Some(updated_at) = listing
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(NEXT_ENVIRONMENT_SECRET))
                    .and_then(|s| s.updated_at.clone())
                {
                    ctx.update_state(|s| {
                        s.set_secret_updated_at(&resource, updated_at, Timestamp::now());
                    })?;
                }
                done.push(format!(
                    "{NEXT_ENVIRONMENT_SECRET} of {environment} ({next})"
                ));
            }
            ControlPlaneChange::LeaveNextEnvironment { environment, next } => {
                warnings.push(leave_warning(environment, next, &repo_arg));
            }
            _ => {}
        }
    }
    Ok((done, warnings))
}

/// What the seed and secrets steps run for `changes`, for the dry run: the same builders
/// as the functions above, in their order.
pub(super) fn commands(
    env: &StepEnv,
    existing: &GitHubRepo,
    changes: &[ControlPlaneChange],
    context: Option<&TemplateContext>,
    listed: &mut StepCommands,
) {
    let tools = env.tools();
    let slug = existing.slug();
    let (remote, git_env) = existing_push_target(env, &tools, existing);
    let workdir = env
        .work_dir
        .join(format!("{SEED_DIR_PREFIX}XXXXXX"))
        .join(RepoKind::ControlPlane.dir_name());
    for change in changes {
        match change {
            ControlPlaneChange::PointGitopsRepo { branch, path, .. } => {
                listed.push(tools.gh.repo_tree_spec(&slug, MAIN_BRANCH));
                listed.push(tools.gh.repo_tree_spec(&slug, branch));
                listed.note(format!(
                    "then gh api repos/{slug}/git/blobs/SHA for each YAML file outside .github/, to find the GitOpsRepo by kind"
                ));
                let mut specs = tools
                    .git
                    .change_file_specs(
                        &workdir,
                        &remote,
                        branch,
                        path,
                        super::repositories::POINTER_MESSAGE,
                        &git_env,
                    )
                    .into_iter();
                for spec in specs.by_ref().take(2) {
                    listed.push(spec);
                }
                listed.note(format!(
                    "then {path} is rewritten: only spec.repo of its GitOpsRepo changes"
                ));
                for spec in specs {
                    listed.push(spec);
                }
            }
            ControlPlaneChange::CreateBranch {
                branch, templates, ..
            } => {
                listed.push(tools.gh.branch_head_spec(&slug, branch));
                let mut specs = tools
                    .git
                    .create_branch_specs(&workdir, &remote, branch, BRANCH_MESSAGE, &git_env)
                    .into_iter();
                for spec in specs.by_ref().take(1) {
                    listed.push(spec);
                }
                match context.map(|context| rendered_branch(context, branch, templates)) {
                    Some(Ok(rendered)) => {
                        let paths: Vec<&str> =
                            rendered.files.iter().map(|f| f.path.as_str()).collect();
                        listed.note(format!(
                            "then the rendered files are written: {}",
                            paths.join(", ")
                        ));
                    }
                    Some(Err(error)) => {
                        listed.note(format!("the files cannot be rendered: {error}"))
                    }
                    None => listed.note("then the rendered files are written"),
                }
                for spec in specs {
                    listed.push(spec);
                }
            }
            ControlPlaneChange::AddEnvironmentFile { path, .. } => {
                let mut specs = tools
                    .git
                    .add_file_specs(
                        &workdir,
                        &remote,
                        MAIN_BRANCH,
                        path,
                        ENVIRONMENT_FILE_MESSAGE,
                        &git_env,
                    )
                    .into_iter();
                for spec in specs.by_ref().take(1) {
                    listed.push(spec);
                }
                listed.note(format!("then the rendered {path} is written"));
                for spec in specs {
                    listed.push(spec);
                }
            }
            ControlPlaneChange::CreateGithubEnvironment { environment } => {
                listed.push(tools.gh.environment_view_spec(&slug, environment));
                listed.push(tools.gh.environment_create_spec(&slug, environment));
            }
            ControlPlaneChange::SetNextEnvironment { environment, next } => {
                listed.push(tools.gh.environment_secret_list_spec(&slug, environment));
                listed.push(tools.gh.environment_secret_set_spec(
                    &slug,
                    environment,
                    NEXT_ENVIRONMENT_SECRET,
                    &SecretString::from(next.clone()),
                ));
            }
            ControlPlaneChange::LeaveNextEnvironment { environment, next } => {
                listed.note(leave_warning(
                    environment,
                    next,
                    &existing.host().gh_repo_arg(&slug),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::ExistingEnvironment;
    use crate::templates::structure::{ControlPlaneFindings, GitopsRepoPointer};

    fn context() -> TemplateContext {
        let mut context = TemplateContext::new(
            templates::RepoRef::new("acme", "cp"),
            templates::RepoRef::new("acme", "gitops"),
        );
        context.environments = vec!["dev".to_string(), "stage".to_string()];
        context
    }

    /// The constant says what the rendering names: a change of the template that names
    /// another Template fails here, not in a user's control plane.
    #[test]
    fn the_rendered_cluster_type_names_the_templates_of_the_rendered_templates_file() {
        // The resource files of the rendered branch of stage, with or without Templates.
        let resources = |templates: &[String]| -> Vec<(String, String)> {
            rendered_branch(&context(), "stage", templates)
                .unwrap()
                .files
                .iter()
                .filter(|f| structure::is_resource_candidate(&f.path))
                .map(|f| {
                    (
                        f.path.clone(),
                        String::from_utf8(f.contents.clone()).unwrap(),
                    )
                })
                .collect()
        };
        let files = resources(&[]);
        // Checked against a main with nothing: exactly those two Templates are missing.
        let findings = structure::check_control_plane::<&str>(&[], &[], "stage", &files);
        let missing: Vec<&String> = findings
            .missing
            .iter()
            .filter(|m| m.starts_with("no Template"))
            .collect();
        assert_eq!(
            missing.len(),
            RENDERED_CLUSTER_TYPE_TEMPLATES.len(),
            "{missing:?}"
        );
        for name in RENDERED_CLUSTER_TYPE_TEMPLATES {
            assert!(
                missing
                    .iter()
                    .any(|m| m.starts_with(&format!("no Template {name} "))),
                "{name}: {missing:?}"
            );
        }
        // With the Templates file on the branch, nothing is missing.
        let files = resources(&["x".to_string()]);
        let templates = structure::template_names(&files);
        for name in RENDERED_CLUSTER_TYPE_TEMPLATES {
            assert!(templates.iter().any(|t| t == name), "{templates:?}");
        }
        let findings = structure::check_control_plane::<&str>(&[], &[], "stage", &files);
        assert!(
            !findings
                .missing
                .iter()
                .any(|m| m.starts_with("no Template")),
            "{:?}",
            findings.missing
        );
    }

    fn pointing(repo: &str) -> ControlPlaneFindings {
        ControlPlaneFindings {
            branch: "dev".to_string(),
            gitops_repo: Some(GitopsRepoPointer {
                path: "gitops-repo.yaml".to_string(),
                name: Some("dev".to_string()),
                repo: repo.to_string(),
            }),
            ..ControlPlaneFindings::default()
        }
    }

    /// Per environment: the pointer, the branch to create, then the Environments on main,
    /// then the chain; an existing NEXT_ENVIRONMENT is a warning, not a change.
    #[test]
    fn the_changes_follow_what_was_observed_in_promotion_order() {
        let observed = Observed {
            gitops_url: Some("https://github.com/acme/gitops".to_string()),
            control_plane_templates: vec!["default-reconciler".to_string()],
            control_plane_environments: vec![
                ExistingEnvironment {
                    name: "dev".to_string(),
                    next: Some("stage".to_string()),
                    branch: Some(pointing("https://github.com/acme/old")),
                    declared: true,
                    file_taken: true,
                    github_environment: true,
                    next_secret: true,
                },
                ExistingEnvironment {
                    name: "stage".to_string(),
                    next: Some("prod".to_string()),
                    ..ExistingEnvironment::default()
                },
                ExistingEnvironment {
                    name: "prod".to_string(),
                    branch: Some(pointing("https://github.com/acme/gitops.git")),
                    ..ExistingEnvironment::default()
                },
            ],
            ..Observed::default()
        };
        let changes = changes(&observed);
        assert_eq!(
            changes,
            [
                ControlPlaneChange::PointGitopsRepo {
                    branch: "dev".to_string(),
                    path: "gitops-repo.yaml".to_string(),
                    name: Some("dev".to_string()),
                    from: "https://github.com/acme/old".to_string(),
                    to: "https://github.com/acme/gitops".to_string(),
                },
                ControlPlaneChange::CreateBranch {
                    branch: "stage".to_string(),
                    gitops: "https://github.com/acme/gitops".to_string(),
                    templates: vec!["default-namespace".to_string()],
                },
                ControlPlaneChange::AddEnvironmentFile {
                    environment: "stage".to_string(),
                    path: ".environments/stage.yaml".to_string(),
                },
                ControlPlaneChange::LeaveNextEnvironment {
                    environment: "dev".to_string(),
                    next: "stage".to_string(),
                },
                ControlPlaneChange::CreateGithubEnvironment {
                    environment: "stage".to_string(),
                },
                ControlPlaneChange::SetNextEnvironment {
                    environment: "stage".to_string(),
                    next: "prod".to_string(),
                },
            ]
        );
        assert_eq!(
            of_step(&changes, StepId::ControlPlaneSeed).len(),
            3,
            "pointer, branch, Environment"
        );
        assert!(!changes[3].is_change());
        // The warning's command works when copied: the value on the command line, no token.
        assert!(changes[3]
            .describe("acme/cp")
            .ends_with("gh secret set NEXT_ENVIRONMENT --env dev --repo acme/cp --body stage"));
        // The first environment's branch missing is no change: its check refuses it.
        let mut first_missing = observed.clone();
        first_missing.control_plane_environments[0].branch = None;
        assert!(!changes_of(&first_missing).iter().any(
            |c| matches!(c, ControlPlaneChange::CreateBranch { branch, .. } if branch == "dev")
        ));
    }

    fn changes_of(observed: &Observed) -> Vec<ControlPlaneChange> {
        changes(observed)
    }
}
