//! The real [`ResourceRemover`]: each kind of resource removed with its tool, something
//! already gone counting as removed, and each with the command a user runs by hand.
//!
//! It needs no configuration: everything comes from the resource's identifiers in the
//! state file (so `--clean` works from the state alone).

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use super::context::EventSink;
use super::events::{EventKind, LogLevel};
use super::retry::{describe_wait, retry, RetryError, RetryPolicy, RetryWait};
use super::rollback::{RemovalNote, ResourceRemover};
use super::step::StepError;
use crate::state::Resource;
use crate::tools::az::Az;
use crate::tools::error::failure;
use crate::tools::gh::Gh;
use crate::tools::helm::Helm;
use crate::tools::kubectl::{flux_install_url, Kubectl, FLUX_VERSION};
use crate::tools::{
    BoxFuture, CancelToken, CommandRunner, CommandSpec, DeleteOutcome, ErrorClass, RunControl,
    ToolError, ToolKind,
};
use crate::troubleshooting::Topic;
use crate::ExitCode;

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
    /// The `--clean` command hints name for removing what is left.
    clean_command: Option<String>,
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
            clean_command: None,
        }
    }

    /// Name `command` (the exact `--clean` command) in hints about removing what is left.
    pub fn with_clean_command(mut self, command: String) -> Self {
        self.clean_command = Some(command);
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
    pub fn with_cancel(mut self, cancel: CancelToken) -> Self {
        self.control = self.control.with_cancel(cancel);
        self
    }

    fn az(&self, subscription: &Option<String>) -> Az {
        Az::new(Arc::clone(&self.runner), subscription.clone()).with_control(self.control.clone())
    }

    fn gh(&self) -> Gh {
        let gh = Gh::new(Arc::clone(&self.runner)).with_control(self.control.clone());
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
            Resource::Flux {
                kube_context,
                version,
            } => self
                .kubectl(kube_context)
                .delete_url_spec(&flux_install_url(
                    version.as_deref().unwrap_or(FLUX_VERSION),
                )),
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
        }
    }

    async fn remove_resource(&self, resource: &Resource) -> Result<RemovalNote, ToolError> {
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
            Resource::RepoSecret { .. } | Resource::RepoLabel { .. } => {
                self.run_gh(self.removal_spec(resource)).await?
            }
            Resource::Flux {
                kube_context,
                version,
            } => {
                self.kubectl(kube_context)
                    .delete_url(&flux_install_url(
                        version.as_deref().unwrap_or(FLUX_VERSION),
                    ))
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
        };
        Ok(done(outcome))
    }

    /// A gh command without an adapter method (secrets and labels); gone counts as done.
    async fn run_gh(&self, spec: CommandSpec) -> Result<DeleteOutcome, ToolError> {
        let command = spec.display();
        let output = self.runner.run_with(spec, self.control.clone()).await?;
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

fn done(outcome: DeleteOutcome) -> RemovalNote {
    match outcome {
        DeleteOutcome::Deleted => RemovalNote::new("deleted"),
        DeleteOutcome::NotFound => RemovalNote::new("already gone"),
    }
}

fn started(outcome: DeleteOutcome) -> Result<RemovalNote, ToolError> {
    Ok(match outcome {
        DeleteOutcome::Deleted => RemovalNote::new("deletion started"),
        DeleteOutcome::NotFound => RemovalNote::new("already gone"),
    })
}

impl ResourceRemover for EngineRemover {
    fn remove<'a>(
        &'a self,
        resource: &'a Resource,
    ) -> BoxFuture<'a, Result<RemovalNote, StepError>> {
        Box::pin(async move {
            self.remove_with_retries(resource).await.map_err(|error| {
                let hint = match (resource, error.class()) {
                    (Resource::Repository { .. }, ErrorClass::PermissionDenied { .. }) => {
                        let again = self
                            .clean_command
                            .as_deref()
                            .unwrap_or("kalypso-bootstrap --clean");
                        Topic::RepositoryDeleteScope.hint(format!("deleting a repository needs the `delete_repo` scope: run `gh auth refresh -h github.com -s delete_repo` and roll back again ({again})"))
                    }
                    _ => error.hint(),
                };
                StepError {
                    message: format!("could not remove {}: {error}", resource.describe()),
                    hint: Some(hint),
                    transient: error.is_transient(),
                    retry_after: None,
                    exit_code: ExitCode::General,
                }
            })
        })
    }

    fn manual_command(&self, resource: &Resource) -> String {
        self.removal_spec(resource).display()
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
