//! The real [`ResourceRemover`]: each kind of resource removed with its tool, something
//! already gone counting as removed, and each with the command a user runs by hand.
//!
//! It needs no configuration: everything comes from the resource's identifiers in the
//! state file (so `--clean` works from the state alone).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use super::context::EventSink;
use super::events::{EventKind, LogLevel};
use super::rollback::{RemovalNote, ResourceRemover};
use crate::config::GitHubHost;
use crate::state::{BootstrapState, Ownership, RepositoryCreation, Resource};
use crate::tools::az::Az;
use crate::tools::error::failure;
use crate::tools::gh::Gh;
use crate::tools::git::{FileRevert, Git, RevertStep};
use crate::tools::helm::Helm;
use crate::tools::kubectl::{flux_install_url, Kubectl, FLUX_NAMESPACE, FLUX_VERSION};
use crate::tools::retry::{describe_wait, retry, RetryError, RetryPolicy, RetryWait};
use crate::tools::{
    BoxFuture, CancellationToken, CommandRunner, CommandSpec, DeleteOutcome, ErrorClass,
    RunControl, ToolError, ToolKind,
};
use crate::troubleshooting::Topic;
use crate::ExitCode;
use crate::UserError;

/// What the live resources must carry to be removed, read from the state when the
/// rollback starts: the installation id (the value of our Azure tag and Kubernetes label)
/// and, per repository, the GitHub id and creation time recorded when we created it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedMarks {
    /// `None`: nothing is known, so nothing that can carry a mark is removed.
    pub installation_id: Option<String>,
    pub repositories: HashMap<Resource, RepositoryCreation>,
    /// Secrets we set on repositories the user gave, with the `updatedAt` GitHub showed then.
    pub secrets: HashMap<Resource, String>,
}

impl ExpectedMarks {
    pub fn from_state(state: &BootstrapState) -> Self {
        Self {
            installation_id: state.installation_id().map(str::to_string),
            repositories: state
                .resources
                .iter()
                .filter(|r| r.ownership == Ownership::CreatedByUs)
                .filter_map(|r| {
                    r.repository_identity
                        .clone()
                        .map(|identity| (r.resource.clone(), identity))
                })
                .collect(),
            secrets: state
                .resources
                .iter()
                .filter(|r| r.ownership == Ownership::CreatedByUs)
                .filter_map(|r| {
                    r.secret_updated_at
                        .clone()
                        .map(|at| (r.resource.clone(), at))
                })
                .collect(),
        }
    }
}

/// Why a live resource is not ours to delete.
type NotOurs = String;

/// Removes resources over the adapters.
#[derive(Clone)]
pub struct EngineRemover {
    runner: Arc<dyn CommandRunner>,
    github_token: Option<SecretString>,
    /// The kubeconfig a kube context without a recorded file is removed from.
    default_kubeconfig: PathBuf,
    control: RunControl,
    /// A removal failing transiently (a rate limit, a timeout) is tried again.
    retry: RetryPolicy,
    /// Where each wait before another try is reported (a warning).
    events: Option<EventSink>,
    /// How hints say to remove what is left: the exact `--clean` command, or that nothing
    /// can (a demo whose world ends with it).
    clean_later: CleanLater,
    /// What each resource must carry, checked live before it is deleted.
    marks: ExpectedMarks,
    /// Where the repositories are: github.com or a GitHub Enterprise Server.
    github_host: GitHubHost,
}

/// How a hint names the way to remove later what a removal leaves.
#[derive(Debug, Clone)]
enum CleanLater {
    /// Not said: the generic `--clean`.
    Unknown,
    /// The exact `--clean` command.
    Command(String),
    /// Nothing reaches it after the run (a demo's throwaway world).
    WorldEndsWithRun,
}

impl EngineRemover {
    pub fn new(
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        default_kubeconfig: PathBuf,
    ) -> Self {
        Self {
            runner,
            github_token,
            default_kubeconfig,
            control: RunControl::default(),
            retry: RetryPolicy::default(),
            events: None,
            clean_later: CleanLater::Unknown,
            marks: ExpectedMarks::default(),
            github_host: GitHubHost::default(),
        }
    }

    /// The GitHub host the repositories (and their file commits) are removed from.
    pub fn with_github_host(mut self, host: GitHubHost) -> Self {
        self.github_host = host;
        self
    }

    /// Name `command` (the exact `--clean` command) in hints about removing what is left.
    pub fn with_clean_command(mut self, command: String) -> Self {
        self.clean_later = CleanLater::Command(command);
        self
    }

    /// No later command reaches what this run leaves (a demo without `--state-file`, whose
    /// simulated world ends with it): hints say so instead of naming a command that fails.
    pub fn with_nothing_to_clean_later(mut self) -> Self {
        self.clean_later = CleanLater::WorldEndsWithRun;
        self
    }

    /// The marks a resource must carry live to be removed (see [`ExpectedMarks`]).
    pub fn with_marks(mut self, marks: ExpectedMarks) -> Self {
        self.marks = marks;
        self
    }

    /// How removals that fail transiently are tried again.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Report each wait before a removal is tried again as a warning in `events`.
    pub fn with_events(mut self, events: EventSink) -> Self {
        self.events = Some(events);
        self
    }

    /// [`EngineRemover::remove_resource`], tried again while it fails transiently.
    async fn remove_with_retries(&self, resource: &Resource) -> Result<RemovalNote, ToolError> {
        let cancel = self.control.cancel.clone().unwrap_or_default();
        let on_wait = |wait: &RetryWait| {
            let message = describe_wait(&format!("removing {}", resource.describe()), wait);
            match &self.events {
                Some(events) => events.emit(EventKind::Log {
                    level: LogLevel::Warn,
                    phase: Some(crate::state::Phase::Rollback),
                    step: None,
                    message,
                }),
                None => tracing::warn!("{message}"),
            }
        };
        match retry(&self.retry, &cancel, on_wait, |_| {
            self.remove_resource(resource)
        })
        .await
        {
            Ok(note) => Ok(note),
            Err(RetryError::Failed { error, .. }) => Err(error),
            Err(RetryError::Cancelled { last_error, .. }) => Err(last_error),
        }
    }

    /// Removals stop (their children killed) when `cancel` is cancelled.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.control = self.control.with_cancel(cancel);
        self
    }

    fn az(&self, subscription: &Option<String>) -> Az {
        Az::new(Arc::clone(&self.runner), subscription.clone()).with_control(self.control.clone())
    }

    fn gh(&self) -> Gh {
        let gh = Gh::new(Arc::clone(&self.runner))
            .with_host(self.github_host.clone())
            .with_control(self.control.clone());
        match &self.github_token {
            Some(token) => gh.with_token(token.clone()),
            None => gh,
        }
    }

    fn kubectl(&self, context: &str) -> crate::tools::kubectl::KubectlContext {
        Kubectl::new(Arc::clone(&self.runner))
            .with_control(self.control.clone())
            .with_context(context)
    }

    fn helm(&self, context: &str) -> crate::tools::helm::HelmContext {
        Helm::new(Arc::clone(&self.runner))
            .with_control(self.control.clone())
            .with_kube_context(context)
    }

    fn kubeconfig(&self, recorded: &Option<String>) -> PathBuf {
        recorded
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.default_kubeconfig.clone())
    }

    /// The command that removes `resource`: what [`ResourceRemover::remove`] runs (for
    /// repository secrets and labels, the gh command it runs directly).
    pub fn removal_spec(&self, resource: &Resource) -> CommandSpec {
        match resource {
            Resource::ResourceGroup {
                name,
                subscription_id,
            } => self.az(subscription_id).group_delete_no_wait_spec(name),
            Resource::AksCluster {
                name,
                resource_group,
                subscription_id,
            } => self
                .az(subscription_id)
                .aks_delete_no_wait_spec(resource_group, name),
            Resource::KubeContext { name, kubeconfig } => self
                .kubectl(name)
                .delete_context_spec(&self.kubeconfig(kubeconfig)),
            Resource::Repository { owner, name, .. } => {
                self.gh().repo_delete_spec(&format!("{owner}/{name}"))
            }
            Resource::RepoSecret { repository, name } => {
                self.gh().secret_delete_spec(repository, name)
            }
            Resource::RepoLabel { repository, name } => {
                self.gh().label_delete_spec(repository, name)
            }
            Resource::RepoBranch {
                repository, branch, ..
            } => self.gh().branch_delete_spec(repository, branch),
            Resource::RepoEnvironment { repository, name } => {
                self.gh().environment_delete_spec(repository, name)
            }
            Resource::RepoEnvironmentSecret {
                repository,
                environment,
                name,
            } => self
                .gh()
                .environment_secret_delete_spec(repository, environment, name),
            // The first of the revert's commands (see [`EngineRemover::removal_specs`]).
            Resource::RepoFileCommit { .. } => self
                .removal_specs(resource)
                .into_iter()
                .next()
                .unwrap_or_else(|| unreachable!("a revert has commands")),
            Resource::Flux {
                kube_context,
                version,
                manifest,
            } => self
                .kubectl(kube_context)
                .delete_url_spec(&flux_manifest_of(version, manifest)),
            Resource::Namespace { kube_context, name } => {
                self.kubectl(kube_context).delete_namespace_spec(name)
            }
            Resource::HelmRelease {
                kube_context,
                namespace,
                name,
            } => self.helm(kube_context).uninstall_spec(name, namespace),
            Resource::KalypsoCrds {
                kube_context,
                names,
            } => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                self.kubectl(kube_context).delete_crds_spec(&names)
            }
            Resource::WorkloadObject {
                kube_context,
                kind,
                namespace,
                name,
            } => self
                .kubectl(kube_context)
                .delete_object_spec(kind, name, namespace),
            // Without GitHub's id (its answer never came), the key is found in the list.
            Resource::DeployKey { repository, id, .. } => match id {
                Some(id) => self.gh().deploy_key_delete_spec(repository, *id),
                None => self.gh().deploy_keys_spec(repository),
            },
        }
    }

    /// The live deploy key a [`Resource::DeployKey`] names: by its id, else by its public
    /// key in the repository's list. `None` when it is gone.
    async fn live_deploy_key(
        &self,
        repository: &str,
        key: &str,
        id: Option<u64>,
    ) -> Result<Option<crate::tools::gh::RepoDeployKey>, ToolError> {
        match id {
            Some(id) => self.gh().deploy_key(repository, id).await,
            None => Ok(self
                .gh()
                .deploy_keys(repository)
                .await?
                .into_iter()
                .find(|live| same_public_key(&live.key, key))),
        }
    }

    /// Every command that removes `resource`, in order: one for most kinds; for a
    /// [`Resource::RepoFileCommit`], the revert's git commands (see
    /// [`Git::revert_file_specs`]), run from one work directory. The preview, the dry-run and
    /// the run all come from here.
    pub fn removal_specs(&self, resource: &Resource) -> Vec<CommandSpec> {
        match resource {
            Resource::RepoFileCommit {
                repository,
                branch,
                path,
                commit,
                previous_blob,
                ..
            } => Git::new(Arc::clone(&self.runner)).revert_file_specs(
                FileRevert {
                    dir: REVERT_DIR,
                    remote_url: &repository_remote(&self.github_host, repository),
                    branch,
                    path,
                    commit,
                    message: REVERT_MESSAGE,
                    added: previous_blob.is_empty(),
                },
                &self.gh().git_env(),
            ),
            _ => vec![self.removal_spec(resource)],
        }
    }

    fn installation_id(&self) -> Result<&str, NotOurs> {
        self.marks
            .installation_id
            .as_deref()
            .ok_or_else(|| "no installation id is known to check its mark against".to_string())
    }

    /// Whether the live resource carries the mark the state expects. `Ok(Ok(()))`: ours
    /// (or already gone, which the removal then reports); `Ok(Err(why))`: not ours, keep it.
    /// Resources that cannot carry a mark (a kube context, a repository's secrets and
    /// labels) are ours by the state's record alone.
    async fn check_mark(&self, resource: &Resource) -> Result<Result<(), NotOurs>, ToolError> {
        Ok(match resource {
            Resource::ResourceGroup {
                name,
                subscription_id,
            } => match self.az(subscription_id).group_show(name).await? {
                None => Ok(()),
                Some(group) => self
                    .installation_id()
                    .and_then(|id| crate::tools::az::check_mark(&group.tags, id)),
            },
            Resource::AksCluster {
                name,
                resource_group,
                subscription_id,
            } => match self
                .az(subscription_id)
                .aks_show(resource_group, name)
                .await?
            {
                None => Ok(()),
                Some(cluster) => self
                    .installation_id()
                    .and_then(|id| crate::tools::az::check_mark(&cluster.tags, id)),
            },
            Resource::Repository { owner, name, .. } => {
                let slug = format!("{owner}/{name}");
                match self.gh().repo_identity(&slug).await? {
                    None => Ok(()),
                    Some(live) => check_repository(self.marks.repositories.get(resource), &live),
                }
            }
            Resource::Namespace { kube_context, name } => {
                self.check_namespace(kube_context, name).await?
            }
            // Flux's manifest is removed whole, its namespace with it: that namespace is
            // where the mark is.
            Resource::Flux { kube_context, .. } => {
                self.check_namespace(kube_context, FLUX_NAMESPACE).await?
            }
            Resource::KalypsoCrds {
                kube_context,
                names,
            } => {
                let kubectl = self.kubectl(kube_context);
                let mut verdict = Ok(());
                for crd_name in names {
                    if let Some(crd) = kubectl.get_crd(crd_name).await? {
                        if let Err(why) = self
                            .installation_id()
                            .and_then(|id| crate::tools::kubectl::check_mark(&crd.labels, id))
                        {
                            verdict = Err(format!("CRD {crd_name}: {why}"));
                            break;
                        }
                    }
                }
                verdict
            }
            Resource::HelmRelease {
                kube_context,
                namespace,
                name,
            } => match self.helm(kube_context).metadata(name, namespace).await? {
                None => Ok(()),
                Some(release) => self.installation_id().and_then(|id| {
                    crate::tools::kubectl::check_mark(&release.labels, id)
                        .map_err(|why| why.replace("its label", "its release label"))
                }),
            },
            Resource::WorkloadObject {
                kube_context,
                kind,
                namespace,
                name,
            } => match self
                .kubectl(kube_context)
                .object_labels(kind, name, namespace)
                .await?
            {
                None => Ok(()),
                Some(labels) => self
                    .installation_id()
                    .and_then(|id| crate::tools::kubectl::check_mark(&labels, id)),
            },
            // A deploy key carries no label: ours while it is still the key we generated
            // under the title we gave it.
            Resource::DeployKey {
                repository,
                title,
                key,
                id,
            } => match self.live_deploy_key(repository, key, *id).await? {
                None => Ok(()),
                Some(live) if !same_public_key(&live.key, key) => Err(format!(
                    "deploy key {} of {repository} is not the key we added",
                    live.id
                )),
                Some(live) if &live.title != title => Err(format!(
                    "deploy key {} of {repository} is titled {:?}, not {title:?}",
                    live.id, live.title
                )),
                Some(_) => Ok(()),
            },
            // Checked live by the revert itself (see [`EngineRemover::revert_file_commit`]).
            Resource::RepoFileCommit { .. } => Ok(()),
            // A branch we created is ours while its head is still the commit we pushed
            // (someone who pushed to it since made it theirs); gone, the removal says so.
            Resource::RepoBranch {
                repository,
                branch,
                commit,
            } => match self.gh().branch_head(repository, branch).await? {
                Some(head) if &head != commit => Err(format!(
                    "branch {branch} of {repository} moved since we created it (its head is {}, we pushed {}): deleting it would lose those commits",
                    short(&head),
                    short(commit)
                )),
                _ => Ok(()),
            },
            // A GitHub environment carries no mark: we created it when it did not exist, and
            // it is ours while it holds nothing we did not put there. Protection rules or a
            // secret we did not set (or that was set again since) make it the user's: the
            // delete would take them with it. Gone: the delete says so.
            Resource::RepoEnvironment { repository, name } => {
                match self
                    .gh()
                    .environment_protection_rules(repository, name)
                    .await?
                {
                    None => Ok(()),
                    Some(rules) if rules > 0 => Err(format!(
                        "GitHub environment {name} of {repository} has {} we did not make: deleting it would remove them",
                        crate::text::plural(rules, "protection rule")
                    )),
                    Some(_) => {
                        let secrets = self
                            .gh()
                            .environment_secret_listing(repository, name)
                            .await?
                            .unwrap_or_default();
                        let theirs: Vec<&str> = secrets
                            .iter()
                            .filter(|live| {
                                let ours = Resource::RepoEnvironmentSecret {
                                    repository: repository.clone(),
                                    environment: name.clone(),
                                    name: live.name.clone(),
                                };
                                match (self.marks.secrets.get(&ours), &live.updated_at) {
                                    (Some(set_by_us), Some(live)) => set_by_us != live,
                                    _ => true,
                                }
                            })
                            .map(|live| live.name.as_str())
                            .collect();
                        if theirs.is_empty() {
                            Ok(())
                        } else {
                            Err(format!(
                                "GitHub environment {name} of {repository} holds secrets we did not set ({}): deleting it would delete them",
                                theirs.join(", ")
                            ))
                        }
                    }
                }
            }
            // Like a repository's secret: ours while GitHub still shows the time it had
            // right after we set it.
            Resource::RepoEnvironmentSecret {
                repository,
                environment,
                name,
            } => {
                let listing = self
                    .gh()
                    .environment_secret_listing(repository, environment)
                    .await?
                    .unwrap_or_default();
                match listing.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
                    None => Ok(()),
                    Some(live) => match self.marks.secrets.get(resource) {
                        None => Err(format!(
                            "secret {name} of environment {environment} on {repository}: no time of our setting it was recorded, so it cannot be told from one set since"
                        )),
                        Some(ours) if live.updated_at.as_deref() != Some(ours.as_str()) => {
                            Err(format!(
                                "secret {name} of environment {environment} on {repository} was set again since we set it (updated {}, ours {ours})",
                                live.updated_at.as_deref().unwrap_or("at an unknown time")
                            ))
                        }
                        Some(_) => Ok(()),
                    },
                }
            }
            // A label is ours while it still has the colour and description we gave it
            // (someone who redefined it made it theirs); gone, the removal says so.
            Resource::RepoLabel { repository, name } => {
                let labels = match self.gh().label_list(repository).await {
                    Ok(labels) => labels,
                    // The repository is gone (or unreadable): the delete reports it.
                    Err(error) if error.is_not_found_resource() => Vec::new(),
                    Err(error) => return Err(error),
                };
                match labels.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
                    Some(live)
                        if !live.color.eq_ignore_ascii_case(crate::tools::gh::PROMOTED_LABEL_COLOR)
                            || live.description
                                != super::steps::repositories::PROMOTED_LABEL_DESCRIPTION =>
                    {
                        Err(format!(
                            "label {name} was changed since we created it (colour {}, description {:?})",
                            live.color, live.description
                        ))
                    }
                    _ => Ok(()),
                }
            }
            // A secret shows no value and carries no mark: ours while GitHub still shows the
            // time it had right after we set it (set again since: someone else's now).
            Resource::RepoSecret { repository, name } => {
                let listing = self.gh().secret_listing(repository).await?;
                match listing.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
                    None => Ok(()),
                    Some(live) => match self.marks.secrets.get(resource) {
                        None => Err(format!(
                            "secret {name} on {repository}: no time of our setting it was recorded, so it cannot be told from one set since"
                        )),
                        Some(ours) if live.updated_at.as_deref() != Some(ours.as_str()) => {
                            Err(format!(
                                "secret {name} on {repository} was set again since we set it (updated {}, ours {ours})",
                                live.updated_at.as_deref().unwrap_or("at an unknown time")
                            ))
                        }
                        Some(_) => Ok(()),
                    },
                }
            }
            Resource::KubeContext { .. } => Ok(()),
        })
    }

    async fn check_namespace(
        &self,
        kube_context: &str,
        name: &str,
    ) -> Result<Result<(), NotOurs>, ToolError> {
        Ok(
            match self.kubectl(kube_context).get_namespace(name).await? {
                None => Ok(()),
                Some(namespace) => self.installation_id().and_then(|id| {
                    crate::tools::kubectl::check_mark(&namespace.labels, id)
                        .map_err(|why| format!("namespace {name}: {why}"))
                }),
            },
        )
    }

    async fn remove_resource(&self, resource: &Resource) -> Result<RemovalNote, ToolError> {
        if let Err(why) = self.check_mark(resource).await? {
            return Ok(RemovalNote::kept(format!(
                "kept, not deleted: the live resource does not carry this installation's mark ({why})"
            )));
        }
        let outcome = match resource {
            Resource::ResourceGroup {
                name,
                subscription_id,
            } => {
                return started(self.az(subscription_id).group_delete_no_wait(name).await?);
            }
            Resource::AksCluster {
                name,
                resource_group,
                subscription_id,
            } => {
                return started(
                    self.az(subscription_id)
                        .aks_delete_no_wait(resource_group, name)
                        .await?,
                );
            }
            Resource::KubeContext { name, kubeconfig } => {
                self.kubectl(name)
                    .delete_context(&self.kubeconfig(kubeconfig))
                    .await?
            }
            Resource::Repository { owner, name, .. } => {
                self.gh().repo_delete(&format!("{owner}/{name}")).await?
            }
            Resource::RepoSecret { .. }
            | Resource::RepoLabel { .. }
            | Resource::RepoEnvironmentSecret { .. } => {
                self.run_gh(self.removal_spec(resource)).await?
            }
            Resource::RepoBranch {
                repository, branch, ..
            } => {
                // Checked live just before (see check_mark): gone is done.
                if self.gh().branch_head(repository, branch).await?.is_none() {
                    DeleteOutcome::NotFound
                } else {
                    self.run_gh(self.removal_spec(resource)).await?
                }
            }
            Resource::RepoEnvironment { repository, name } => {
                if !self.gh().environment_exists(repository, name).await? {
                    DeleteOutcome::NotFound
                } else {
                    self.run_gh(self.removal_spec(resource)).await?
                }
            }
            Resource::RepoFileCommit { .. } => return self.revert_file_commit(resource).await,
            Resource::Flux {
                kube_context,
                version,
                manifest,
            } => {
                self.kubectl(kube_context)
                    .delete_url(&flux_manifest_of(version, manifest))
                    .await?;
                DeleteOutcome::Deleted
            }
            Resource::Namespace { kube_context, name } => {
                return started(self.kubectl(kube_context).delete_namespace(name).await?);
            }
            Resource::HelmRelease {
                kube_context,
                namespace,
                name,
            } => self.helm(kube_context).uninstall(name, namespace).await?,
            Resource::KalypsoCrds {
                kube_context,
                names,
            } => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                self.kubectl(kube_context).delete_crds(&names).await?;
                DeleteOutcome::Deleted
            }
            Resource::WorkloadObject {
                kube_context,
                kind,
                namespace,
                name,
            } => {
                let kubectl = self.kubectl(kube_context);
                if kubectl
                    .object_labels(kind, name, namespace)
                    .await?
                    .is_none()
                {
                    DeleteOutcome::NotFound
                } else {
                    kubectl.delete_object(kind, name, namespace).await?;
                    DeleteOutcome::Deleted
                }
            }
            Resource::DeployKey {
                repository,
                key,
                id,
                ..
            } => match self.live_deploy_key(repository, key, *id).await? {
                None => DeleteOutcome::NotFound,
                Some(live) => self.gh().deploy_key_delete(repository, live.id).await?,
            },
        };
        Ok(done(outcome))
    }

    /// Put back the file a [`Resource::RepoFileCommit`] changed: one more commit (never a
    /// force push) restoring the content before ours, only while the branch's file is still
    /// the blob we wrote; otherwise it is left in place, with why. The mark is checked live
    /// first (the branch's tree through the API: already back as it was, there is nothing
    /// to do); then [`EngineRemover::removal_specs`] run one by one in a fresh directory,
    /// the very commands the preview lists.
    async fn revert_file_commit(&self, resource: &Resource) -> Result<RemovalNote, ToolError> {
        let Resource::RepoFileCommit {
            repository,
            branch,
            path,
            commit,
            written_blob,
            previous_blob,
            ..
        } = resource
        else {
            unreachable!("only a file commit is reverted")
        };
        let added = previous_blob.is_empty();
        let live = match self.gh().repo_tree(repository, branch).await? {
            None => {
                return Ok(RemovalNote::kept(format!(
                    "left in place: branch {branch} of {repository} is gone"
                )))
            }
            Some(entries) => entries.into_iter().find(|e| &e.path == path),
        };
        match live {
            None if added => {
                return Ok(RemovalNote::new(
                    "already as it was (the file we added is not there: the commit never landed, or was undone)",
                ))
            }
            None => {
                return Ok(RemovalNote::kept(format!(
                    "left in place: {path} is no longer on {branch}"
                )))
            }
            Some(entry) if &entry.sha == previous_blob => {
                return Ok(RemovalNote::new(
                    "already as it was (the commit never landed, or was undone)",
                ))
            }
            Some(entry) if &entry.sha != written_blob => {
                return Ok(RemovalNote::kept(format!(
                    "left in place: {path} on {branch} changed since we wrote it (blob {}, we wrote {written_blob})",
                    entry.sha
                )))
            }
            Some(_) => {}
        }
        let io = |e: std::io::Error| ToolError::UnexpectedOutput {
            command: "revert".to_string(),
            reason: format!("cannot create a work directory: {e}"),
        };
        let dir = tempfile::Builder::new()
            .prefix("kalypso-bootstrap-revert-")
            .tempdir()
            .map_err(io)?;
        let specs = self.removal_specs(resource);
        for (step, spec) in RevertStep::ALL.into_iter().zip(specs) {
            let spec = spec.cwd(dir.path());
            let command = spec.display();
            let output =
                crate::tools::runner::run_logged(self.runner.as_ref(), spec, self.control.clone())
                    .await?;
            if output.success() {
                continue;
            }
            // The check's exit 1 is its answer: the file differs from what we wrote (it
            // changed between the API's look and the clone).
            if step == RevertStep::Check && output.exit_code == Some(1) {
                return Ok(RemovalNote::kept(format!(
                    "left in place: {path} on {branch} changed since our commit {commit} wrote it"
                )));
            }
            return Err(failure(ToolKind::Git, command, &output));
        }
        Ok(RemovalNote::new(if added {
            format!("removed the file we added (a new commit on {branch}, pushed without force)")
        } else {
            format!("put back as it was (a new commit on {branch}, pushed without force)")
        }))
    }

    /// A gh command without an adapter method (secrets and labels); gone counts as done.
    async fn run_gh(&self, spec: CommandSpec) -> Result<DeleteOutcome, ToolError> {
        let command = spec.display();
        let output =
            crate::tools::runner::run_logged(self.runner.as_ref(), spec, self.control.clone())
                .await?;
        if output.success() {
            return Ok(DeleteOutcome::Deleted);
        }
        let error = failure(ToolKind::Gh, command, &output);
        if error.is_not_found_resource() {
            Ok(DeleteOutcome::NotFound)
        } else {
            Err(error)
        }
    }
}

/// The first 12 characters of a commit id.
fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// The directory the manual revert of a file commit clones into (relative: where the user is).
const REVERT_DIR: &str = "kalypso-bootstrap-revert";
const REVERT_MESSAGE: &str = super::steps::repositories::POINTER_REVERT_MESSAGE;

/// `https://HOST/OWNER/NAME.git` of `OWNER/NAME`.
fn repository_remote(host: &GitHubHost, slug: &str) -> String {
    let (owner, name) = slug.split_once('/').unwrap_or((slug, ""));
    crate::tools::git::github_remote_url(host, owner, name)
}

/// A repository is ours when the live one has the id and creation time recorded when we
/// created it, and our topic.
fn check_repository(
    recorded: Option<&RepositoryCreation>,
    live: &crate::tools::gh::RepoIdentity,
) -> Result<(), NotOurs> {
    let topic = crate::tools::gh::MARK_TOPIC;
    let Some(recorded) = recorded else {
        return Err("the state recorded no GitHub id for it when it was created".to_string());
    };
    if live.id != recorded.id {
        return Err(format!(
            "its GitHub id is {}, not the {} recorded when it was created",
            live.id, recorded.id
        ));
    }
    if live.created_at != recorded.created_at {
        return Err(format!(
            "it was created at {}, not at {} as recorded",
            live.created_at, recorded.created_at
        ));
    }
    if !live.topics.iter().any(|t| t == topic) {
        return Err(format!("it has no {topic} topic"));
    }
    Ok(())
}

fn done(outcome: DeleteOutcome) -> RemovalNote {
    match outcome {
        DeleteOutcome::Deleted => RemovalNote::new("deleted"),
        DeleteOutcome::NotFound => RemovalNote::already_gone(),
    }
}

fn started(outcome: DeleteOutcome) -> Result<RemovalNote, ToolError> {
    Ok(match outcome {
        DeleteOutcome::Deleted => RemovalNote::new("deletion started"),
        DeleteOutcome::NotFound => RemovalNote::already_gone(),
    })
}

impl ResourceRemover for EngineRemover {
    fn remove<'a>(
        &'a self,
        resource: &'a Resource,
    ) -> BoxFuture<'a, Result<RemovalNote, UserError>> {
        Box::pin(async move {
            self.remove_with_retries(resource).await.map_err(|error| {
                let hint = match (resource, error.class()) {
                    (Resource::Repository { .. }, ErrorClass::PermissionDenied { .. }) => {
                        let scope = format!("deleting a repository needs the `delete_repo` scope: run `gh auth refresh -h {} -s delete_repo`", self.github_host);
                        Topic::RepositoryDeleteScope.hint(match &self.clean_later {
                            CleanLater::Command(again) => {
                                format!("{scope} and roll back again ({again})")
                            }
                            CleanLater::Unknown => {
                                format!("{scope} and roll back again (kalypso-bootstrap --clean)")
                            }
                            CleanLater::WorldEndsWithRun => format!(
                                "{scope}; {}",
                                super::resume::Resume::NotKept.nothing_left_clause()
                            ),
                        })
                    }
                    _ => error.hint(),
                };
                UserError {
                    message: format!("could not remove {}: {error}", resource.describe()),
                    hint: Some(hint),
                    transient: error.is_transient(),
                    retry_after: None,
                    exit_code: ExitCode::General,
                }
            })
        })
    }

    fn for_pass(self, cancel: &CancellationToken, events: &EventSink) -> Self {
        self.with_cancel(cancel.clone()).with_events(events.clone())
    }

    fn manual_command(&self, resource: &Resource) -> String {
        self.manual_commands(resource).join(" && ")
    }

    fn manual_commands(&self, resource: &Resource) -> Vec<String> {
        self.removal_specs(resource)
            .iter()
            .map(CommandSpec::display)
            .collect()
    }

    fn is_asynchronous(&self, resource: &Resource) -> bool {
        matches!(
            resource,
            Resource::ResourceGroup { .. }
                | Resource::AksCluster { .. }
                | Resource::Namespace { .. }
        )
    }
}

/// Whether two OpenSSH public keys are one key: type and base64 body (GitHub answers a
/// key without the comment it was given with).
fn same_public_key(a: &str, b: &str) -> bool {
    let body = |key: &str| key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    body(a) == body(b)
}

/// What `kubectl delete -f` takes for a recorded Flux: the manifest it was applied from
/// (`--flux-manifest`), else the release's install.yaml of its version.
fn flux_manifest_of(version: &Option<String>, manifest: &Option<String>) -> String {
    manifest
        .clone()
        .unwrap_or_else(|| flux_install_url(version.as_deref().unwrap_or(FLUX_VERSION)))
}
