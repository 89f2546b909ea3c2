//! The real steps of a run over the tool adapters: [`BootstrapSteps`] is the
//! [`StepRunner`] the orchestrator drives in real runs, in `--demo` and in the end-to-end
//! tests (there over the simulated environment).
//!
//! Each phase has its module: [`cluster`], [`repositories`], [`installation`],
//! [`validation`]. A phase module owns its steps side by side: what it plans for them
//! (`plan`, called by [`crate::engine::plan::plan`]), the commands each runs (`commands`,
//! which `--dry-run` lists through [`commands`]), and how it runs them; the dry run and the
//! execution build every command with the same builders. What they share lives here: the run's environment ([`StepEnv`]), the
//! adapters of one step ([`Tools`]), turning a tool failure into a [`UserError`] and
//! retrying transient ones, and the names of everything the steps record
//! ([`resources`]).

pub mod cluster;
pub mod existing_environments;
pub mod first_workload;
pub mod installation;
pub mod repositories;
pub mod resources;
pub mod validation;
pub mod workloads;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::context::StepContext;
use super::events::LogLevel;
use super::orchestrator::{StepOutcome, StepRunner};
use super::plan::PlannedStep;
use super::retry::retry_step;
use super::step::{Action, StepId};
use crate::config::{Configuration, RepoTarget};
use crate::templates::{self, TemplateContext};
use crate::tools::az::Az;
use crate::tools::gh::Gh;
use crate::tools::git::{Git, GitEnv};
use crate::tools::helm::Helm;
use crate::tools::kubectl::{Kubectl, FLUX_VERSION};
use crate::tools::retry::{PollPolicy, RetryPolicy};
use crate::tools::{
    BoxFuture, CancellationToken, CommandRunner, CommandSpec, ErrorClass, LineSink, OutputLine,
    RateLimitReset, RunControl, Stream, ToolError,
};
use crate::troubleshooting::Topic;
use crate::UserError;

/// Waits, polls and retries of the steps.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTimings {
    /// Transient failures (rate limits, timeouts, 5xx).
    pub retry: RetryPolicy,
    /// `az aks show` until the new cluster has `Succeeded`.
    pub aks_provisioning: PollPolicy,
    /// The API server answering, nodes Ready and kube-system pods running.
    pub cluster_ready: PollPolicy,
    /// `kubectl wait` for the Flux controllers.
    pub flux_wait: Duration,
    /// `helm upgrade --install --wait --timeout`.
    pub helm_timeout: Duration,
    /// The health checks (bounded wait, 5 minutes by default).
    pub health: PollPolicy,
    /// The first workload's chain on the attached clusters: the scheduler's pull request,
    /// its merge, the clusters' reconciliation, the workload's objects (and a promotion to
    /// each further attached environment), 10 minutes by default.
    pub first_workload: PollPolicy,
}

impl Default for StepTimings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            aks_provisioning: PollPolicy {
                initial_interval: Duration::from_secs(10),
                multiplier: 1.5,
                max_interval: Duration::from_secs(30),
                timeout: Some(Duration::from_secs(30 * 60)),
            },
            cluster_ready: PollPolicy {
                initial_interval: Duration::from_secs(2),
                multiplier: 1.5,
                max_interval: Duration::from_secs(15),
                timeout: Some(Duration::from_secs(10 * 60)),
            },
            flux_wait: Duration::from_secs(300),
            helm_timeout: Duration::from_secs(300),
            health: PollPolicy {
                initial_interval: Duration::from_secs(2),
                multiplier: 1.5,
                max_interval: Duration::from_secs(10),
                timeout: Some(Duration::from_secs(5 * 60)),
            },
            first_workload: PollPolicy {
                initial_interval: Duration::from_secs(2),
                multiplier: 1.5,
                max_interval: Duration::from_secs(10),
                timeout: Some(Duration::from_secs(10 * 60)),
            },
        }
    }
}

impl StepTimings {
    /// Millisecond waits for tests over the zero-latency simulated environment; every
    /// wait is still bounded.
    pub fn fast() -> Self {
        let poll = |timeout_ms| PollPolicy {
            initial_interval: Duration::from_millis(5),
            multiplier: 1.0,
            max_interval: Duration::from_millis(5),
            timeout: Some(Duration::from_millis(timeout_ms)),
        };
        Self {
            retry: RetryPolicy {
                max_attempts: 3,
                initial_delay: Duration::from_millis(5),
                multiplier: 1.0,
                max_delay: Duration::from_millis(5),
                max_server_delay: Duration::from_millis(50),
            },
            aks_provisioning: poll(5_000),
            cluster_ready: poll(2_000),
            flux_wait: Duration::from_secs(30),
            helm_timeout: Duration::from_secs(60),
            health: poll(2_000),
            first_workload: poll(5_000),
        }
    }
}

/// Everything the steps (and the observation, removal and dry-run built on them) work
/// with. Nothing here is read from the process environment.
#[derive(Clone)]
pub struct StepEnv {
    pub configuration: Configuration,
    pub runner: Arc<dyn CommandRunner>,
    /// The GitHub token: `GH_TOKEN` of every gh child and the credential helper of git,
    /// the value of the token secrets, and the chart's `ghRepoToken`. Never in argv.
    pub github_token: Option<SecretString>,
    /// `AZURE_SUBSCRIPTION_ID`, named by every az call when known.
    pub subscription: Option<String>,
    /// The kubeconfig the new cluster's credentials are merged into.
    pub kubeconfig: PathBuf,
    /// Where seeding work trees and the values file are created.
    pub work_dir: PathBuf,
    /// The Flux release installed on a cluster without Flux.
    pub flux_version: String,
    /// Extra git configuration for the seeding pushes (after the credential helper).
    pub git_env: GitEnv,
    pub timings: StepTimings,
    /// A `--demo` run: its clusters are simulated, so what the summary tells the user to
    /// run must not need them.
    pub demo: bool,
}

impl StepEnv {
    /// An environment with the default Flux version, timings and no extra git settings.
    pub fn new(
        configuration: Configuration,
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        kubeconfig: PathBuf,
        work_dir: PathBuf,
    ) -> Self {
        Self {
            configuration,
            runner,
            github_token,
            subscription: None,
            kubeconfig,
            work_dir,
            flux_version: FLUX_VERSION.to_string(),
            git_env: GitEnv::new(),
            timings: StepTimings::default(),
            demo: false,
        }
    }

    /// The kube context every kubectl and helm call names: the given one for an existing
    /// cluster, the cluster's name (as `az aks get-credentials --context` writes it) for
    /// a new one.
    pub fn kube_context(&self) -> String {
        resources::kube_context_name(&self.configuration)
    }

    /// The adapters, without streaming or cancellation (observation, dry-run, removal).
    pub fn tools(&self) -> Tools {
        Tools::new(self, RunControl::default())
    }

    /// The gh adapter, with our token when we hold one.
    pub fn gh(&self) -> Gh {
        let gh = Gh::new(Arc::clone(&self.runner))
            .with_host(self.configuration.repositories.github_host.clone());
        match &self.github_token {
            Some(token) => gh.with_token(token.clone()),
            None => gh,
        }
    }

    /// The token, or the error of a step that cannot work without it.
    pub fn require_token(&self, step: StepId, needed_for: &str) -> Result<SecretString, UserError> {
        self.github_token.clone().ok_or_else(|| {
            UserError::in_step(
                step,
                format!("a GitHub token is needed for {needed_for}, and none was found"),
            )
            .with_hint(
                Topic::GithubToken
                    .hint(gh_login_hint(&self.configuration.repositories.github_host)),
            )
        })
    }
}

/// How to give the run a token: `gh auth login` (with `--hostname` for an Enterprise
/// Server), or `GITHUB_TOKEN`.
fn gh_login_hint(host: &crate::config::GitHubHost) -> String {
    if host.is_github_com() {
        "sign in with `gh auth login` (the token of gh's login is used) or set GITHUB_TOKEN"
            .to_string()
    } else {
        format!("sign in with `gh auth login --hostname {host}` (the token of gh's login is used) or set GITHUB_TOKEN to a token of {host}")
    }
}

/// The adapters one step uses, all sharing the step's cancellation and output sink.
#[derive(Clone)]
pub struct Tools {
    pub az: Az,
    pub gh: Gh,
    pub git: Git,
    pub kubectl: Kubectl,
    pub helm: Helm,
}

impl Tools {
    pub fn new(env: &StepEnv, control: RunControl) -> Self {
        let runner = &env.runner;
        Self {
            az: Az::new(Arc::clone(runner), env.subscription.clone()).with_control(control.clone()),
            gh: env.gh().with_control(control.clone()),
            git: Git::new(Arc::clone(runner)).with_control(control.clone()),
            kubectl: Kubectl::new(Arc::clone(runner)).with_control(control.clone()),
            helm: Helm::new(Arc::clone(runner)).with_control(control),
        }
    }

    /// The adapters that put our marks on what a step has just created. The step's
    /// cancellation does not stop them: a run stopping because another step failed must
    /// still mark what it made, or a rollback could not tell it is ours. Each call keeps
    /// its own time limit; once the step is cancelled they are stopped after
    /// [`INTERRUPTED_MARK_LIMIT`], so that a cancelled run still ends promptly.
    pub fn for_marking(env: &StepEnv, ctx: &StepContext) -> Self {
        let mut control = RunControl::default().with_sink(log_sink(ctx.step()));
        if ctx.cancel_token().is_cancelled() {
            let deadline = crate::tools::CancellationToken::new();
            let expire = deadline.clone();
            tokio::spawn(async move {
                tokio::time::sleep(INTERRUPTED_MARK_LIMIT).await;
                expire.cancel();
            });
            control = control.with_cancel(deadline);
        }
        Self::new(env, control)
    }

    /// The adapters of a running step: its cancellation kills their children, and their
    /// output goes to the log file (debug level), not to the screen.
    pub fn for_step(env: &StepEnv, ctx: &StepContext) -> Self {
        let control = RunControl::default()
            .with_cancel(ctx.cancel_token().clone())
            .with_sink(log_sink(ctx.step()));
        Self::new(env, control)
    }
}

/// A sink that writes every output line of the step's children to the log (already
/// redacted by the runner), as it is read: the log file gets every line, in order, and a
/// chatty child is slowed to the pace of the log rather than queued in memory.
fn log_sink(step: StepId) -> LineSink {
    LineSink::new(move |OutputLine { stream, line }| {
        let stream = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        tracing::debug!(step = step.as_str(), stream, "{line}");
    })
}

/// A tool failure as the step's error: what was being done, the tool's message, what to
/// do about it, and whether (and when) trying again may help.
pub fn tool_error(step: StepId, what: &str, error: &ToolError) -> UserError {
    let mut step_error =
        UserError::in_step(step, format!("{what}: {error}")).with_hint(error.hint());
    if let ErrorClass::RateLimited { reset: Some(reset) } = error.class() {
        step_error = step_error.with_retry_after(wait_for(reset));
    } else if error.is_transient() {
        step_error = step_error.transient();
    }
    step_error
}

fn wait_for(reset: RateLimitReset) -> Duration {
    reset.wait_from(time::OffsetDateTime::now_utc())
}

/// The failed attempts of a create command whose resource was recorded as `creating`
/// before it was issued (so that a crash mid-create leaves a record to roll back). When
/// the service refused every attempt outright (quota, permission, sign-in, a missing
/// parent, a command line it rejects), nothing was created: the record is dropped, and the
/// rollback question, the state and the report do not offer to remove it. A timeout, a
/// transient or unknown failure may have created it: the record stays.
#[derive(Debug, Default)]
pub struct CreateAttempts {
    refused: std::sync::atomic::AtomicUsize,
    maybe_created: std::sync::atomic::AtomicBool,
}

impl CreateAttempts {
    /// Note one attempt's result; returns it unchanged.
    pub fn note<T>(&self, result: Result<T, ToolError>) -> Result<T, ToolError> {
        use std::sync::atomic::Ordering::SeqCst;
        match &result {
            Ok(_) => self.maybe_created.store(true, SeqCst),
            Err(error) => match error.class() {
                ErrorClass::QuotaExceeded
                | ErrorClass::PermissionDenied { .. }
                | ErrorClass::NotAuthenticated
                | ErrorClass::NotFound
                | ErrorClass::Usage => {
                    self.refused.fetch_add(1, SeqCst);
                }
                _ => self.maybe_created.store(true, SeqCst),
            },
        }
        result
    }

    /// Every attempt was refused outright: the resource was never created.
    pub fn all_refused(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.refused.load(SeqCst) > 0 && !self.maybe_created.load(SeqCst)
    }
}

/// After a failed create that [`CreateAttempts`] says was refused outright: forget its
/// `creating` record (see there).
pub fn forget_refused_creation(
    ctx: &StepContext,
    attempts: &CreateAttempts,
    resource: &crate::state::Resource,
) -> Result<(), UserError> {
    if attempts.all_refused() {
        ctx.update_state(|s| {
            s.forget_creation(resource, crate::state::Timestamp::now());
        })?;
    }
    Ok(())
}

/// Run a tool call, retrying transient failures by the run's policy; `what` names the
/// action in progress events and errors.
pub async fn call<T, Op, Fut>(
    env: &StepEnv,
    ctx: &StepContext,
    what: &str,
    mut operation: Op,
) -> Result<T, UserError>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ToolError>>,
{
    let step = ctx.step();
    retry_step(ctx, &env.timings.retry, what, |_| {
        let attempt = operation();
        async move { attempt.await.map_err(|e| tool_error(step, what, &e)) }
    })
    .await
}

/// How long marking may take once the step is cancelled (a creation interrupted may or
/// may not have reached the service): a quick look, so that a cancelled run still ends
/// promptly.
pub const INTERRUPTED_MARK_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The real steps.
pub struct BootstrapSteps {
    env: StepEnv,
    /// The owner of new repositories, resolved once per run.
    owner: OnceCell<String>,
}

impl BootstrapSteps {
    pub fn new(env: StepEnv) -> Self {
        Self {
            env,
            owner: OnceCell::new(),
        }
    }

    pub fn env(&self) -> &StepEnv {
        &self.env
    }

    /// The owner of repositories this run creates: `--github-org`, else the account the
    /// token belongs to (`gh api user`). Resolved once; read-only.
    pub async fn owner(&self, cancel: &CancellationToken) -> Result<String, ToolError> {
        if let Some(org) = &self.env.configuration.repositories.github_org {
            return Ok(org.clone());
        }
        self.owner
            .get_or_try_init(|| async {
                let gh = self
                    .env
                    .gh()
                    .with_control(RunControl::default().with_cancel(cancel.clone()));
                Ok(gh.api_user().await?.login)
            })
            .await
            .cloned()
    }

    /// The owner when already known (no query), for dry-run listings.
    pub fn known_owner(&self) -> Option<String> {
        self.env
            .configuration
            .repositories
            .github_org
            .clone()
            .or_else(|| self.owner.get().cloned())
    }

    /// The owner inside a step: a failure to learn it is that step's error.
    pub(crate) async fn step_owner(&self, ctx: &StepContext) -> Result<String, UserError> {
        let step = ctx.step();
        retry_step(
            ctx,
            &self.env.timings.retry,
            "find the GitHub account",
            |_| async {
                self.owner(ctx.cancel_token())
                    .await
                    .map_err(|e| tool_error(step, "find the GitHub account of the token", &e))
            },
        )
        .await
    }

    /// Both repositories as `OWNER/NAME` (new ones owned by [`BootstrapSteps::owner`]).
    pub(crate) async fn template_context(
        &self,
        ctx: &StepContext,
    ) -> Result<TemplateContext, UserError> {
        let needs_owner = [
            &self.env.configuration.repositories.control_plane,
            &self.env.configuration.repositories.gitops,
        ]
        .iter()
        .any(|target| matches!(target, RepoTarget::Create { .. }));
        let owner = if needs_owner {
            Some(self.step_owner(ctx).await?)
        } else {
            None
        };
        template_context(&self.env.configuration, owner.as_deref()).map_err(|message| {
            UserError::in_step(ctx.step(), message).with_exit_code(crate::ExitCode::ConfigInvalid)
        })
    }
}

/// The template context of a configuration: existing repositories name their own owner,
/// new ones belong to `owner` (the organisation or the authenticated user).
pub fn template_context(
    configuration: &Configuration,
    owner: Option<&str>,
) -> Result<TemplateContext, String> {
    let host = configuration.repositories.github_host.as_str();
    let repo = |kind: &str, target: &RepoTarget| {
        match target {
        RepoTarget::Existing(existing) => Ok(templates::RepoRef::new(
            existing.owner(),
            existing.name(),
        )
        .on_host(existing.host().as_str())),
        RepoTarget::Create { name } => match owner {
            Some(owner) => Ok(templates::RepoRef::new(owner, name.as_str()).on_host(host)),
            None => Err(format!(
                "the owner of the new {kind} repository is not known: pass --github-org ORG or sign in to GitHub"
            )),
        },
    }
    };
    let mut context = TemplateContext::new(
        repo("control-plane", &configuration.repositories.control_plane)?,
        repo("gitops", &configuration.repositories.gitops)?,
    );
    context.namespace = configuration.installation.namespace.clone();
    context.environments = configuration.environments.names().to_vec();
    context.validate().map_err(|e| e.to_string())?;
    Ok(context)
}

/// The commands a step runs, as `--dry-run` lists them: built by its phase module with
/// the builders its execution uses, in the order it runs them.
#[derive(Debug, Clone, Default)]
pub struct StepCommands {
    pub specs: Vec<CommandSpec>,
    /// What the commands cannot show (a choice made at run time, a value on stdin).
    pub notes: Vec<String>,
}

impl StepCommands {
    pub fn push(&mut self, spec: CommandSpec) {
        self.specs.push(spec);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// What a dry run knows in place of what only a run learns.
#[derive(Debug, Clone, Copy)]
pub struct Preview<'a> {
    /// The owner of new repositories (a placeholder when it is not known yet).
    pub owner: &'a str,
    /// Both repositories, when their owners are known.
    pub context: Option<&'a TemplateContext>,
    /// The mark the run puts on what it creates (a placeholder before the state file
    /// chooses it).
    pub installation_id: &'a str,
}

impl Preview<'_> {
    /// The GitHub token as the commands a dry run lists carry it on their stdin (the dry
    /// run masks it as a secret); a name in its place while no token is known.
    pub fn github_token(env: &StepEnv) -> SecretString {
        env.github_token
            .clone()
            .unwrap_or_else(|| SecretString::from(UNKNOWN_GITHUB_TOKEN.to_string()))
    }
}

/// What a dry run shows for the GitHub token while none is known (no sign-in).
pub const UNKNOWN_GITHUB_TOKEN: &str = "<the GitHub token>";

/// What `planned` runs (nothing for a skipped step): beside [`StepRunner::run_step`]
/// below, each step's commands come from the module that runs it.
pub fn commands(env: &StepEnv, planned: &PlannedStep, preview: &Preview) -> StepCommands {
    if planned.action == Action::Skip {
        return StepCommands::default();
    }
    match planned.id {
        StepId::ClusterPreflight
        | StepId::ClusterResourceGroup
        | StepId::ClusterCreate
        | StepId::ClusterCredentials
        | StepId::ClusterReady => cluster::commands(env, planned, preview),
        StepId::ControlPlaneRepo
        | StepId::GitopsRepo
        | StepId::ControlPlaneSeed
        | StepId::GitopsSeed
        | StepId::ControlPlaneSecrets
        | StepId::GitopsSecrets
        | StepId::GitopsLabel => repositories::commands(env, planned, preview),
        StepId::InstallFlux | StepId::InstallKalypso => {
            installation::commands(env, planned, preview)
        }
        StepId::HealthChecks => validation::commands(env, planned, preview),
        StepId::WorkloadPreflight | StepId::WorkloadFlux | StepId::WorkloadSource => {
            workloads::commands(env, planned, preview)
        }
        StepId::FirstWorkload => first_workload::commands(env, planned, preview),
    }
}

impl StepRunner for BootstrapSteps {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            ctx.log(
                LogLevel::Debug,
                format!("{} ({}): {}", step.id, step.action, step.reason),
            );
            match step.id {
                StepId::ClusterPreflight => cluster::preflight(self, step, &ctx).await,
                StepId::ClusterResourceGroup => cluster::resource_group(self, step, &ctx).await,
                StepId::ClusterCreate => cluster::create(self, step, &ctx).await,
                StepId::ClusterCredentials => cluster::credentials(self, step, &ctx).await,
                StepId::ClusterReady => cluster::ready(self, step, &ctx).await,
                StepId::ControlPlaneRepo | StepId::GitopsRepo => {
                    repositories::repository(self, step, &ctx).await
                }
                StepId::ControlPlaneSeed | StepId::GitopsSeed => {
                    repositories::seed(self, step, &ctx).await
                }
                StepId::ControlPlaneSecrets | StepId::GitopsSecrets => {
                    repositories::secrets(self, step, &ctx).await
                }
                StepId::GitopsLabel => repositories::label(self, step, &ctx).await,
                StepId::InstallFlux => installation::flux(self, step, &ctx).await,
                StepId::InstallKalypso => installation::kalypso(self, step, &ctx).await,
                StepId::HealthChecks => validation::health(self, step, &ctx).await,
                StepId::WorkloadPreflight | StepId::WorkloadFlux | StepId::WorkloadSource => {
                    workloads::run(self, step, &ctx).await
                }
                StepId::FirstWorkload => first_workload::run(self, step, &ctx).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::RunError;

    #[test]
    fn tool_failures_become_step_errors_that_say_whether_to_retry() {
        let rate_limited = ToolError::Failed {
            command: "gh api user".into(),
            exit_code: Some(1),
            class: ErrorClass::RateLimited {
                reset: Some(RateLimitReset::After(Duration::from_secs(90))),
            },
            message: "HTTP 429".into(),
        };
        let error = tool_error(StepId::GitopsRepo, "look up the user", &rate_limited);
        assert!(error.transient);
        let wait = error.retry_after.unwrap();
        assert!(
            wait <= Duration::from_secs(90) && wait > Duration::from_secs(80),
            "{wait:?}"
        );
        assert!(error.message.starts_with("look up the user: "));
        assert_eq!(error.exit_code, crate::ExitCode::RepositoryFailed);

        let timed_out = ToolError::Run(RunError::TimedOut {
            command: "az aks show".into(),
            after: Duration::from_secs(90),
        });
        let error = tool_error(StepId::ClusterCreate, "check the cluster", &timed_out);
        assert!(error.transient && error.retry_after.is_none());

        let denied = ToolError::Failed {
            command: "az group create".into(),
            exit_code: Some(1),
            class: ErrorClass::PermissionDenied {
                missing_scope: None,
            },
            message: "AuthorizationFailed".into(),
        };
        let error = tool_error(StepId::ClusterResourceGroup, "create the group", &denied);
        assert!(!error.transient);
        assert!(error.hint.unwrap().contains("Contributor"));
    }

    #[test]
    fn new_repositories_need_an_owner_existing_ones_name_theirs() {
        use crate::config::{
            ExistingCluster, GitHubRepo, HelmChart, Installation, Options, Repositories, Visibility,
        };
        let configuration = Configuration {
            cluster: crate::config::ClusterTarget::Existing(ExistingCluster {
                context: "kind".into(),
                name: None,
            }),
            repositories: Repositories {
                control_plane: RepoTarget::Existing(GitHubRepo::new("acme".into(), "cp".into())),
                gitops: RepoTarget::Create { name: "g".into() },
                github_org: None,
                visibility: Visibility::Private,
                github_host: Default::default(),
            },
            environments: Default::default(),
            installation: Installation {
                namespace: "kalypso-x".into(),
                chart: HelmChart::published("kalypso-scheduler"),
                version: "1.1.2-alpha".into(),
                values: None,
                flux_manifest: None,
                skip_install: false,
            },
            workload_clusters: Vec::new(),
            options: Options::default(),
        };
        let error = template_context(&configuration, None).unwrap_err();
        assert!(error.contains("new gitops repository"), "{error}");
        let context = template_context(&configuration, Some("alice")).unwrap();
        assert_eq!(context.control_plane.slug(), "acme/cp");
        assert_eq!(context.gitops.slug(), "alice/g");
        assert_eq!(context.namespace, "kalypso-x");
    }
}
