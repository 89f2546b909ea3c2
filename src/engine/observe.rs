//! What exists before a run, for the plan: read-only queries (`az group show`, `az aks
//! show`, `gh repo view`) and the state file (what is ours, which steps succeeded).

use std::future::Future;

use super::context::EventSink;
use super::events::{EventKind, LogLevel};
use super::plan::{
    succeeded_steps, ExistingEnvironment, Observed, ObservedCluster, ObservedRepo,
    ObservedResourceGroup, UserPullRequest, SCHEDULER_BRANCH_PREFIX,
};
use super::retry::explain_give_up;
use super::step::StepId;
use super::steps::{repositories, resources, tool_error, BootstrapSteps, Tools};
use crate::config::validate::{same_repository, RepoFullName};
use crate::config::{ClusterTarget, Field, RepoTarget};
use crate::state::BootstrapState;
use crate::templates::RepoKind;
use crate::tools::gh::PROMOTED_LABEL;
use crate::tools::retry::{describe_wait, retry, RetryError, RetryWait};
use crate::tools::ErrorClass;
use crate::tools::{CancellationToken, RunControl, ToolError};
use crate::troubleshooting::Topic;
use crate::UserError;

/// Query what the configuration names and read what the state says about it. Only
/// read-only commands run. A query that fails (not signed in, no permission) is the
/// error of the step it belongs to; one that fails transiently is tried again, each wait
/// a warning in `events`.
pub async fn observe(
    steps: &BootstrapSteps,
    state: &BootstrapState,
    cancel: &CancellationToken,
    events: &EventSink,
) -> Result<Observed, UserError> {
    let env = steps.env();
    let tools = Tools::new(env, RunControl::default().with_cancel(cancel.clone()));
    let mut observed = Observed {
        succeeded_steps: succeeded_steps(state),
        ..Observed::default()
    };

    if let ClusterTarget::Create(new) = &env.configuration.cluster {
        super::steps::cluster::check_context_free(env, state, StepId::ClusterCredentials)?;
        let subscription = env.subscription.as_deref();
        let group = query(
            steps,
            cancel,
            events,
            StepId::ClusterResourceGroup,
            &format!("look up resource group {}", new.resource_group),
            || tools.az.group_show(&new.resource_group),
        )
        .await?;
        if group.is_some() {
            observed.resource_group = Some(ObservedResourceGroup {
                ours: state.is_ours(&resources::resource_group(new, subscription)),
            });
            let cluster = query(
                steps,
                cancel,
                events,
                StepId::ClusterCreate,
                &format!("look up AKS cluster {}", new.name),
                || tools.az.aks_show(&new.resource_group, &new.name),
            )
            .await?;
            observed.cluster = cluster.map(|cluster| ObservedCluster {
                ours: state.is_ours(&resources::aks_cluster(new, subscription)),
                provisioning_state: cluster.provisioning_state,
            });
        }
    }

    // Every repository the user gave is looked up before anything else is read from it,
    // so that each one that is not there is reported, all at once, by the plan.
    for (step, target) in [
        (
            StepId::ControlPlaneRepo,
            &env.configuration.repositories.control_plane,
        ),
        (StepId::GitopsRepo, &env.configuration.repositories.gitops),
    ] {
        let RepoTarget::Existing(repo) = target else {
            continue;
        };
        let slug = repo.slug();
        let found = query(
            steps,
            cancel,
            events,
            step,
            &format!("look up repository {slug}"),
            || tools.gh.repo_view(&slug),
        )
        .await?;
        if found.is_none() {
            observed.unreachable_existing.insert(step);
        }
    }

    if let RepoTarget::Existing(repo) = &env.configuration.repositories.control_plane {
        let slug = repo.slug();
        if observed
            .unreachable_existing
            .contains(&StepId::ControlPlaneRepo)
        {
            // Nothing to read; the plan reports it.
        } else {
            let environments = env.configuration.environments.names();
            let environment = env.configuration.environments.first();
            let step = StepId::ControlPlaneRepo;
            let slug = slug.as_str();
            let gh = &tools.gh;
            let files = repositories::read_control_plane(
                environments,
                |branch| async move {
                    query(
                        steps,
                        cancel,
                        events,
                        step,
                        &format!("list the files of {slug} on {branch}"),
                        || gh.repo_tree(slug, &branch),
                    )
                    .await
                },
                |branch, path, sha| async move {
                    query(
                        steps,
                        cancel,
                        events,
                        step,
                        &format!("read {path} on {branch} of {slug}"),
                        || gh.repo_blob(slug, &sha),
                    )
                    .await
                },
            )
            .await?;
            // Neither main nor any environment branch: not reachable, or empty; the step
            // says which.
            if !files.is_empty() {
                observed.control_plane_check = Some(files.findings(environment));
                observed.control_plane_templates =
                    crate::templates::structure::template_names(&files.main_files);
                let declared = files.findings(environment).environments;
                for name in environments {
                    let next = env.configuration.environments.next_after(name);
                    let mut existing = ExistingEnvironment {
                        name: name.clone(),
                        next: next.map(str::to_string),
                        branch: files.has_branch(name).then(|| files.findings(name)),
                        declared: declared.contains(name),
                        file_taken: files.main_paths.iter().any(|p| {
                            *p == super::steps::existing_environments::environment_file(name)
                        }),
                        ..ExistingEnvironment::default()
                    };
                    if next.is_some() {
                        existing.github_environment = query(
                            steps,
                            cancel,
                            events,
                            StepId::ControlPlaneSecrets,
                            &format!("look up the GitHub environment {name} in {slug}"),
                            || gh.environment_exists(slug, name),
                        )
                        .await?;
                        if existing.github_environment {
                            let secrets = query(
                                steps,
                                cancel,
                                events,
                                StepId::ControlPlaneSecrets,
                                &format!(
                                    "list the secrets of the GitHub environment {name} in {slug}"
                                ),
                                || gh.environment_secret_listing(slug, name),
                            )
                            .await?
                            .unwrap_or_default();
                            existing.next_secret = secrets.iter().any(|s| {
                                s.name
                                    .eq_ignore_ascii_case(repositories::NEXT_ENVIRONMENT_SECRET)
                            });
                        }
                    }
                    observed.control_plane_environments.push(existing);
                }
                missing_on_existing(
                    steps,
                    cancel,
                    events,
                    &mut observed,
                    RepoKind::ControlPlane,
                    slug,
                )
                .await?;
            }
        }
    }
    if let RepoTarget::Existing(repo) = &env.configuration.repositories.gitops {
        observed.gitops_url = Some(repo.url());
        let slug = repo.slug();
        if !observed.unreachable_existing.contains(&StepId::GitopsRepo) {
            missing_on_existing(
                steps,
                cancel,
                events,
                &mut observed,
                RepoKind::Gitops,
                &slug,
            )
            .await?;
            // The scheduler reconciles every Environment of the control plane, each with the
            // gitops branch of its name; a new control plane has the one this tool renders.
            let environments = observed
                .control_plane_check
                .as_ref()
                .map(|check| check.environments.clone())
                .filter(|names| !names.is_empty())
                .unwrap_or_else(|| env.configuration.environments.names().to_vec());
            for base in environments {
                let open = query(
                    steps,
                    cancel,
                    events,
                    StepId::GitopsRepo,
                    &format!("list the open pull requests against {base} of {slug}"),
                    || tools.gh.open_pull_requests(&slug, &base),
                )
                .await?;
                observed.user_pull_requests.extend(
                    open.into_iter()
                        .filter(|pull| !pull.head_ref_name.starts_with(SCHEDULER_BRANCH_PREFIX))
                        .map(|pull| UserPullRequest {
                            repository: slug.clone(),
                            base: base.clone(),
                            number: pull.number,
                            title: pull.title,
                            head: pull.head_ref_name,
                            author: pull.author.map(|a| a.login),
                        }),
                );
            }
        }
    }

    for (step, target) in [
        (
            StepId::ControlPlaneRepo,
            &env.configuration.repositories.control_plane,
        ),
        (StepId::GitopsRepo, &env.configuration.repositories.gitops),
    ] {
        let RepoTarget::Create { name } = target else {
            continue;
        };
        let owner = query(
            steps,
            cancel,
            events,
            step,
            "find the GitHub account of the token",
            || steps.owner(cancel),
        )
        .await?;
        let other = match step {
            StepId::ControlPlaneRepo => &env.configuration.repositories.gitops,
            _ => &env.configuration.repositories.control_plane,
        };
        same_as_existing(step, &owner, name, other)?;
        let slug = format!("{owner}/{name}");
        if step == StepId::GitopsRepo {
            observed.gitops_url = Some(resources::repo_url(
                &env.configuration.repositories.github_host,
                &owner,
                name,
            ));
        }
        let repo = query(
            steps,
            cancel,
            events,
            step,
            &format!("look up repository {slug}"),
            || tools.gh.repo_view(&slug),
        )
        .await?;
        let observed_repo = repo.map(|info| ObservedRepo {
            slug: slug.clone(),
            empty: info.is_empty,
            ours: state.is_ours(&resources::repository(
                &env.configuration.repositories.github_host,
                &owner,
                name,
            )),
        });
        match step {
            StepId::ControlPlaneRepo => observed.control_plane = observed_repo,
            _ => observed.gitops = observed_repo,
        }
    }
    Ok(observed)
}

/// What a repository the user gave lacks of what the workflows need: its Actions secrets
/// (`gh secret list` shows names, never values) and, on gitops, the `promoted` label.
async fn missing_on_existing(
    steps: &BootstrapSteps,
    cancel: &CancellationToken,
    events: &EventSink,
    observed: &mut Observed,
    kind: RepoKind,
    slug: &str,
) -> Result<(), UserError> {
    let tools = Tools::new(
        steps.env(),
        RunControl::default().with_cancel(cancel.clone()),
    );
    let (secrets_step, repo_step) = match kind {
        RepoKind::ControlPlane => (StepId::ControlPlaneSecrets, StepId::ControlPlaneRepo),
        RepoKind::Gitops => (StepId::GitopsSecrets, StepId::GitopsRepo),
    };
    // A token that may read the repository but not its secrets: nothing can be set either;
    // the plan says so instead of failing.
    let listed = query(
        steps,
        cancel,
        events,
        repo_step,
        &format!("list the secrets of {slug}"),
        || async {
            match tools.gh.secret_list(slug).await {
                Err(error) if matches!(error.class(), ErrorClass::PermissionDenied { .. }) => {
                    Ok(Err(error.to_string()))
                }
                other => other.map(Ok),
            }
        },
    )
    .await?;
    let present = match listed {
        Ok(present) => present,
        Err(why) => {
            observed
                .unchecked_on_existing
                .insert(secrets_step, crate::secrets::redact(&why).into_owned());
            Vec::new()
        }
    };
    // Secrets the token may not list are reported as unchecked; the label is still looked at.
    if !observed.unchecked_on_existing.contains_key(&secrets_step) {
        let missing: Vec<String> = repositories::secret_names(kind)
            .iter()
            .filter(|name| !present.iter().any(|p| p.eq_ignore_ascii_case(name)))
            .map(|name| name.to_string())
            .collect();
        if !missing.is_empty() {
            observed.missing_on_existing.insert(secrets_step, missing);
        }
    }
    if kind == RepoKind::Gitops {
        let labels = query(
            steps,
            cancel,
            events,
            repo_step,
            &format!("list the labels of {slug}"),
            || tools.gh.label_list(slug),
        )
        .await?;
        if !labels
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(PROMOTED_LABEL))
        {
            observed
                .missing_on_existing
                .insert(StepId::GitopsLabel, vec![PROMOTED_LABEL.to_string()]);
        }
    }
    Ok(())
}

/// A new repository of the token's account (no `githubOrg`) and the other, existing one
/// could be the same: only now, with the account known, can that be told. Before anything
/// is created, as configuration validation would have.
fn same_as_existing(
    step: StepId,
    owner: &str,
    name: &str,
    other: &RepoTarget,
) -> Result<(), UserError> {
    if !matches!(other, RepoTarget::Existing(_)) {
        return Ok(());
    }
    let new = RepoFullName {
        owner: Some(owner.to_string()),
        name: name.to_string(),
    };
    let Some(same) = same_repository(&new, &RepoFullName::of(other, None)) else {
        return Ok(());
    };
    let (name_field, other_url) = match step {
        StepId::ControlPlaneRepo => (Field::ControlPlaneName, Field::GitopsUrl),
        _ => (Field::GitopsName, Field::ControlPlaneUrl),
    };
    Err(UserError::in_step(
        step,
        format!(
            "{} {name:?} (a new repository of {owner}, the token's account) names the same \
             GitHub repository as {}: {same}",
            name_field.path(),
            other_url.path()
        ),
    )
    .with_hint(Topic::ConfigurationInvalid.hint(format!(
        "give the new repository another name with {} NAME",
        name_field.flag()
    )))
    .with_exit_code(crate::ExitCode::ConfigInvalid))
}

/// One read-only query, transient failures retried by the run's policy.
async fn query<T, Op, Fut>(
    steps: &BootstrapSteps,
    cancel: &CancellationToken,
    events: &EventSink,
    step: StepId,
    what: &str,
    mut operation: Op,
) -> Result<T, UserError>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ToolError>>,
{
    let policy = &steps.env().timings.retry;
    let on_wait = |wait: &RetryWait| {
        events.emit(EventKind::Log {
            level: LogLevel::Warn,
            phase: Some(step.phase()),
            step: Some(step),
            message: describe_wait(what, wait),
        });
    };
    let result = retry(policy, cancel, on_wait, |_| {
        let attempt = operation();
        async move { attempt.await.map_err(|e| tool_error(step, what, &e)) }
    })
    .await;
    match result {
        Ok(value) => Ok(value),
        Err(RetryError::Failed { error, attempts }) => {
            Err(explain_give_up(error, attempts, policy))
        }
        Err(RetryError::Cancelled { .. }) => {
            Err(UserError::in_step(step, format!("{what}: cancelled"))
                .with_exit_code(crate::ExitCode::Cancelled))
        }
    }
}
