//! The engine's facade for the front ends: open the state, observe, plan, run, dry-run,
//! roll back and clean up, over whatever [`CommandRunner`] the caller gives (real
//! processes, or the simulated environment of `--demo` and the tests).
//!
//! ```text
//! let bootstrap = Bootstrap::open(configuration, runner, token, paths, options)?;
//! let observed = bootstrap.observe_reporting(&cancel, &warnings).await?;   // read-only queries + the state file
//! let plan = bootstrap.plan(&observed);
//! if dry_run { print(bootstrap.dry_run(&plan).to_text()) }
//! let active = validated.confirm().activate();       // the user said yes
//! let outcome = bootstrap.run(&active, &plan, events, &cancel).await;
//! if !outcome.is_success() { bootstrap.removal().run(&mut consent, events, &cancel).await; }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use secrecy::SecretString;

use super::context::EventObserver;
use super::context::{fact, EventSink, Facts};
use super::dry_run::{self, DryRun};
use super::observe;
use super::orchestrator::{Orchestrator, RunOptions, RunOutcome, StepRunner};
use super::overview::{EarlierRun, PlanOverview};
use super::plan::{self, Observed, Plan};
use super::removal::{RemovalPipeline, RemovalPurpose};
use super::remover::{EngineRemover, ExpectedMarks};
use super::report::{self, ReportWriter};
use super::state_handle::StateHandle;
use super::steps::{BootstrapSteps, StepEnv, StepTimings};
use crate::config::lifecycle::Active;
use crate::config::{ClusterTarget, Configuration, GitHubHost, RepoTarget};
use crate::secrets;
use crate::state::identity;
use crate::state::{
    BootstrapState, ClusterIdentity, InstallationIdentity, InstallationWorld, MovedAside,
    RepositoriesIdentity, RepositoryIdentity, RunStatus, StateError, StateLock, StateStore,
    Timestamp,
};
use crate::tools::git::GitEnv;
use crate::tools::kubectl::FLUX_VERSION;
use crate::tools::{CancellationToken, CommandRunner};
use crate::ExitCode;
use crate::UserError;

/// The files a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapPaths {
    /// The state file (`--state-file`, or the default under the home directory).
    pub state_file: PathBuf,
    /// The kubeconfig `az aks get-credentials` writes the new cluster's context into and
    /// kubectl/helm read: [`BootstrapPaths::default_kubeconfig`] in real runs, a file inside
    /// the simulated environment in `--demo` and tests.
    pub kubeconfig: PathBuf,
    /// Shown in the summary.
    pub log_file: Option<PathBuf>,
    /// Where short-lived work directories (git seeding) and the 0600 Helm values file
    /// are created; the system temporary directory in real runs.
    pub work_dir: PathBuf,
}

impl BootstrapPaths {
    /// The kubeconfig kubectl reads and writes by default: the first path of
    /// `KUBECONFIG`, else `~/.kube/config`.
    pub fn default_kubeconfig(env: &HashMap<String, String>, home: &Path) -> PathBuf {
        env.get("KUBECONFIG")
            .and_then(|value| value.split(':').find(|path| !path.is_empty()))
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".kube").join("config"))
    }
}

/// The seam around the engine's steps: what the orchestrator drives for a run is the
/// steps as a wrapper returns them. A caller acts around steps through it (the demo's
/// deliberate failure, tests) without the engine knowing who or why.
pub trait StepWrapper: Send + Sync + std::fmt::Debug {
    /// The runner for `plan`, over the engine's own `steps`; anything worth telling the
    /// user (a wrapped step the plan skips) goes to `events`.
    fn wrap(
        &self,
        steps: Arc<BootstrapSteps>,
        plan: &Plan,
        events: &EventSink,
    ) -> Arc<dyn StepRunner>;
}

/// Settings of a run that do not come from the configuration.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// `AZURE_SUBSCRIPTION_ID`: every az call names it when known.
    pub subscription: Option<String>,
    /// The subscription of the signed-in Azure account (from the prerequisite check), the
    /// one az uses when `AZURE_SUBSCRIPTION_ID` is not set: part of the installation's
    /// identity, never named on an az call.
    pub account_subscription: Option<String>,
    /// The Flux release installed when the cluster has none (`--flux-version`).
    pub flux_version: String,
    /// Extra git configuration for the seeding pushes, applied after the gh credential
    /// helper (the simulated environment adds its own `insteadOf` itself).
    pub git_env: GitEnv,
    /// The run is a `--demo` run (announced to the front ends).
    pub demo: bool,
    /// Waits, polls and retries.
    pub timings: StepTimings,
    /// Wraps the steps of every run (see [`StepWrapper`]); `None` runs them as they are.
    pub step_wrapper: Option<Arc<dyn StepWrapper>>,
    /// What resumes a run that stops (said in the hint of a cancelled run).
    pub resume: super::resume::Resume,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            subscription: None,
            account_subscription: None,
            flux_version: FLUX_VERSION.to_string(),
            git_env: GitEnv::new(),
            demo: false,
            timings: StepTimings::default(),
            step_wrapper: None,
            resume: super::resume::Resume::default(),
        }
    }
}

impl BootstrapOptions {
    /// The installation `configuration` names in this run's world (the repository owner,
    /// when not given, is learnt later from the GitHub account).
    fn requested_identity(&self, configuration: &Configuration) -> InstallationIdentity {
        installation_identity(
            configuration,
            self.world(),
            self.effective_subscription(),
            None,
        )
    }

    /// The world the run works in.
    pub fn world(&self) -> InstallationWorld {
        InstallationWorld::of_demo_flag(self.demo)
    }

    /// The subscription the run's az calls use, as far as known.
    pub fn effective_subscription(&self) -> Option<&str> {
        self.subscription
            .as_deref()
            .or(self.account_subscription.as_deref())
    }
}

/// Why a bootstrap could not even start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot create the work directory {}: {source}", path.display())]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How the user reads it: the message, and the exit code of [`BootstrapError::exit_code`].
impl From<BootstrapError> for UserError {
    fn from(error: BootstrapError) -> Self {
        UserError::new(error.exit_code(), error.to_string())
    }
}

impl BootstrapError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            BootstrapError::State(error) => error.exit_code(),
            BootstrapError::WorkDir { .. } => ExitCode::General,
        }
    }
}

/// The loaded state, its handle and lock.
struct OpenState {
    handle: StateHandle,
    lock: StateLock,
    moved_aside: Option<MovedAside>,
}

/// Who opens a state file, and what it must belong to.
enum Claim<'a> {
    /// A run of this installation: a state of another installation or world is refused;
    /// a new state (or one without an identity) adopts it.
    Run(&'a InstallationIdentity),
    /// `--clean`, which has no configuration: only the world is checked.
    Clean(InstallationWorld),
}

impl Claim<'_> {
    fn check(&self, path: &Path, state: &BootstrapState) -> Result<(), StateError> {
        match self {
            Claim::Run(requested) => identity::check_installation(path, state, requested),
            Claim::Clean(world) => identity::check_world(path, state, *world),
        }
    }
}

/// Lock and load the state file. A run that died is marked interrupted; a rolled-back
/// run is over, so the next one starts from a fresh state.
///
/// An unusable file (without `force`), or a state of another installation or world, is
/// refused before the lock is taken: taking it creates `<state>.lock` (and the state's
/// directory), and a refused run must leave nothing behind. The file is read again under
/// the lock, which is what counts.
fn open_state(path: &Path, force: bool, claim: Claim<'_>) -> Result<OpenState, StateError> {
    let store = StateStore::at_custom(path);
    match store.load() {
        Ok(Some(state)) => claim.check(path, &state)?,
        Ok(None) => {}
        // `--force` moves an unusable file aside below.
        Err(StateError::Unusable { .. }) if force => {}
        Err(err) => return Err(err),
    }
    let lock = store.lock()?;
    let now = Timestamp::now();
    let loaded = store.load_or_move_aside(force, now)?;
    if let Some(state) = &loaded.state {
        claim.check(path, state)?;
    }
    let state = starting_state(loaded.state, now, claim)?;
    Ok(OpenState {
        handle: StateHandle::new(state, store),
        lock,
        moved_aside: loaded.moved_aside,
    })
}

/// The state a run starts from: a run that died is marked interrupted, a rolled-back one
/// starts afresh, and a run's state records (or learns more of) its installation identity.
fn starting_state(
    loaded: Option<BootstrapState>,
    now: Timestamp,
    claim: Claim<'_>,
) -> Result<BootstrapState, StateError> {
    let mut state = match loaded {
        Some(state) if state.status == RunStatus::RolledBack => BootstrapState::new(now),
        Some(mut state) => {
            state.mark_interrupted(now);
            state
        }
        None => BootstrapState::new(now),
    };
    if let Claim::Run(requested) = claim {
        match &mut state.identity {
            Some(recorded) => {
                recorded.learn_from(requested);
            }
            None => state.identity = Some(requested.clone().adopted()?),
        }
    }
    Ok(state)
}

/// The installation a configuration names, in `world`. `subscription` counts only for a
/// new AKS cluster (a kube context has none); `owner` is the owner of the repositories to
/// create when known (`--github-org`, or the signed-in account once resolved).
pub fn installation_identity(
    configuration: &Configuration,
    world: InstallationWorld,
    subscription: Option<&str>,
    owner: Option<&str>,
) -> InstallationIdentity {
    let (cluster, subscription) = match &configuration.cluster {
        ClusterTarget::Create(new) => (
            ClusterIdentity::Aks {
                resource_group: new.resource_group.clone(),
                name: new.name.clone(),
            },
            subscription.map(str::to_string),
        ),
        ClusterTarget::Existing(existing) => {
            (ClusterIdentity::KubeContext(existing.context.clone()), None)
        }
    };
    let owner = configuration
        .repositories
        .github_org
        .as_deref()
        .or(owner)
        .map(str::to_string);
    let repository = |target: &RepoTarget| match target {
        RepoTarget::Create { name } => RepositoryIdentity {
            owner: owner.clone(),
            name: name.clone(),
        },
        RepoTarget::Existing(existing) => RepositoryIdentity {
            owner: Some(existing.owner().to_string()),
            name: existing.name().to_string(),
        },
    };
    InstallationIdentity {
        id: String::new(),
        world,
        subscription,
        cluster,
        repositories: RepositoriesIdentity {
            control_plane: repository(&configuration.repositories.control_plane),
            gitops: repository(&configuration.repositories.gitops),
            github_host: configuration.repositories.github_host.to_string(),
        },
        namespace: configuration.installation.namespace.clone(),
        environments: configuration.environments.names().to_vec(),
    }
}

fn ensure_work_dir(path: &Path) -> Result<(), BootstrapError> {
    std::fs::create_dir_all(path).map_err(|source| BootstrapError::WorkDir {
        path: path.to_path_buf(),
        source,
    })
}

/// One configured run of the engine. Holds the state file's lock while it lives.
pub struct Bootstrap {
    steps: Arc<BootstrapSteps>,
    state: StateHandle,
    /// `None` for a dry run, which takes no lock.
    _lock: Option<StateLock>,
    moved_aside: Option<MovedAside>,
    paths: BootstrapPaths,
    options: BootstrapOptions,
    /// The run report, set by [`Bootstrap::run`]; a rollback after the run rewrites it.
    report: Mutex<Option<Arc<ReportWriter>>>,
}

impl Bootstrap {
    /// Take the state file's lock and load it (a run that died is marked interrupted; a
    /// run that was rolled back starts afresh; an unusable file is moved aside only with
    /// `--force`). The token is registered as a secret.
    pub fn open(
        configuration: Configuration,
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: BootstrapPaths,
        options: BootstrapOptions,
    ) -> Result<Bootstrap, BootstrapError> {
        register(&github_token);
        let requested = options.requested_identity(&configuration);
        // The state first: a run it refuses leaves nothing behind, not even the work directory.
        let opened = open_state(
            &paths.state_file,
            configuration.options.force,
            Claim::Run(&requested),
        )?;
        ensure_work_dir(&paths.work_dir)?;
        Ok(Bootstrap::assemble(
            configuration,
            runner,
            github_token,
            paths,
            options,
            (opened.handle, Some(opened.lock), opened.moved_aside),
        ))
    }

    /// The engine over an opened state: its handle, the lock held (none for a dry run) and
    /// the unusable file moved aside, if any.
    fn assemble(
        configuration: Configuration,
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: BootstrapPaths,
        options: BootstrapOptions,
        (state, lock, moved_aside): (StateHandle, Option<StateLock>, Option<MovedAside>),
    ) -> Bootstrap {
        let mut env = StepEnv::new(
            configuration,
            runner,
            github_token,
            paths.kubeconfig.clone(),
            paths.work_dir.clone(),
        );
        env.subscription = options.subscription.clone();
        env.flux_version = options.flux_version.clone();
        env.git_env = options.git_env.clone();
        env.timings = options.timings.clone();
        env.demo = options.demo;
        Bootstrap {
            steps: Arc::new(BootstrapSteps::new(env)),
            state,
            _lock: lock,
            moved_aside,
            paths,
            options,
            report: Mutex::new(None),
        }
    }

    /// For `--dry-run`, which changes nothing on disk: the state file is only read (an
    /// unusable one is refused, never moved aside), no lock is taken and no directory is
    /// created. Only observing, planning and [`Bootstrap::dry_run`] are for this engine.
    pub fn open_read_only(
        configuration: Configuration,
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: BootstrapPaths,
        options: BootstrapOptions,
    ) -> Result<Bootstrap, BootstrapError> {
        register(&github_token);
        let requested = options.requested_identity(&configuration);
        let store = StateStore::at_custom(&paths.state_file);
        let loaded = store.load()?;
        let claim = Claim::Run(&requested);
        if let Some(state) = &loaded {
            claim.check(&paths.state_file, state)?;
        }
        let state = starting_state(loaded, Timestamp::now(), claim)?;
        Ok(Bootstrap::assemble(
            configuration,
            runner,
            github_token,
            paths,
            options,
            (StateHandle::new(state, store), None, None),
        ))
    }

    pub fn configuration(&self) -> &Configuration {
        &self.steps.env().configuration
    }

    pub fn paths(&self) -> &BootstrapPaths {
        &self.paths
    }

    /// The run's state (saved at every change).
    pub fn state(&self) -> &StateHandle {
        &self.state
    }

    /// The unusable state file moved aside by `--force`, to tell the user.
    pub fn moved_aside(&self) -> Option<&MovedAside> {
        self.moved_aside.as_ref()
    }

    /// The kube context kubectl and helm calls name.
    pub fn kube_context(&self) -> String {
        self.steps.env().kube_context()
    }

    /// The installation id the state records (set when the engine opens).
    pub fn installation_id(&self) -> Option<String> {
        self.state
            .read(|state| state.identity.as_ref().map(|identity| identity.id.clone()))
    }

    /// Read-only queries and the state file: what exists, and what is ours. Each wait
    /// before a query is tried again is a warning event in `events` (for the front end to
    /// show).
    pub async fn observe_reporting(
        &self,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<Observed, UserError> {
        let state = self.state.snapshot();
        let observed = observe::observe(&self.steps, &state, cancel, events).await?;
        self.check_repository_owners()?;
        Ok(observed)
    }

    /// The owner of repositories to create without `--github-org` is known only now that
    /// the observation has asked GitHub: a state recording other owners belongs to another
    /// installation (refused, nothing changed); one that did not know them learns them.
    fn check_repository_owners(&self) -> Result<(), UserError> {
        let Some(owner) = self.steps.known_owner() else {
            return Ok(());
        };
        let requested = installation_identity(
            self.configuration(),
            self.options.world(),
            self.options.effective_subscription(),
            Some(&owner),
        );
        let path = self.state.path();
        let refused = self
            .state
            .read(|state| identity::check_installation(&path, state, &requested));
        if let Err(err) = refused {
            return Err(err.into());
        }
        // Saved with the run's first change; a dry run or a plan writes nothing.
        self.state.update_deferred(|state| {
            if let Some(recorded) = &mut state.identity {
                recorded.learn_from(&requested);
            }
        });
        Ok(())
    }

    /// The plan for what [`Bootstrap::observe`] found.
    pub fn plan(&self, observed: &Observed) -> Plan {
        plan::plan(self.configuration(), observed)
    }

    /// Every step of `plan` with the exact commands it would run (secrets as `***`). The
    /// marks name the installation id of the state file; before a state file exists (a
    /// dry run writes none) the id is not chosen yet and reads [`dry_run::NEW_INSTALLATION_ID`].
    pub fn dry_run(&self, plan: &Plan) -> DryRun {
        let current = self.state.read(|s| s.installation_id().map(str::to_string));
        let saved = StateStore::at_custom(self.state.path())
            .load()
            .ok()
            .flatten()
            .is_some_and(|saved| saved.installation_id().map(str::to_string) == current);
        let installation_id = match current {
            Some(id) if saved => id,
            _ => dry_run::NEW_INSTALLATION_ID.to_string(),
        };
        dry_run::dry_run(&self.steps, plan, &installation_id, self.overview(plan))
    }

    /// `plan` by resource, for people (see [`PlanOverview`]): the owner of new repositories
    /// when known, and the earlier run of the state file a run continues.
    pub fn overview(&self, plan: &Plan) -> PlanOverview {
        let resumes = self.state.read(EarlierRun::from_state);
        PlanOverview::new(
            self.configuration(),
            plan,
            self.steps.known_owner().as_deref(),
            resumes,
        )
    }

    /// Run the plan to its end, streaming events to `events`. Only an [`Active`]
    /// configuration is acted on (validated, confirmed, activated: see
    /// [`crate::config::lifecycle`]); it is the one this engine was opened with.
    pub async fn run(
        &self,
        active: &Active,
        plan: &Plan,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> RunOutcome {
        assert_eq!(
            active.configuration(),
            self.configuration(),
            "the run acts on the configuration the engine was opened with"
        );
        let runner: Arc<dyn StepRunner> = match &self.options.step_wrapper {
            Some(wrapper) => wrapper.wrap(Arc::clone(&self.steps), plan, &events),
            None => Arc::clone(&self.steps) as Arc<dyn StepRunner>,
        };
        let env = self.steps.env();
        let mut facts = Facts::new().with(fact::KUBE_CONTEXT, env.kube_context());
        if matches!(env.configuration.cluster, ClusterTarget::Create(_)) {
            facts.set(fact::KUBECONFIG, env.kubeconfig.clone());
        }
        if let Some(org) = &env.configuration.repositories.github_org {
            facts = facts.with(fact::REPO_OWNER, org.clone());
        }
        let report_path = report::new_report_path(
            &report::report_dir(&self.paths.state_file),
            Timestamp::now(),
        );
        let writer = Arc::new(
            ReportWriter::new(
                report_path.clone(),
                self.options.demo,
                self.configuration().clone(),
                self.state.clone(),
                self.paths.log_file.clone(),
            )
            .with_resume(self.options.resume.clone()),
        );
        *self.report.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&writer));
        let options = RunOptions {
            demo: self.options.demo,
            log_file: self.paths.log_file.clone(),
            report_file: Some(report_path),
            next_steps: next_steps(env),
            resume: self.options.resume.clone(),
            ..RunOptions::default()
        };
        Orchestrator::new(runner, self.state.clone(), events.with_observer(writer))
            .with_facts(facts)
            .with_options(options)
            .run(plan, cancel)
            .await
    }

    /// The run report's path, once [`Bootstrap::run`] has started.
    pub fn report_file(&self) -> Option<PathBuf> {
        self.report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|writer| writer.path().to_path_buf())
    }

    /// The remover rollback uses (its manual commands are shown in previews).
    pub fn remover(&self) -> EngineRemover {
        let env = self.steps.env();
        let remover = EngineRemover::new(
            Arc::clone(&env.runner),
            env.github_token.clone(),
            env.kubeconfig.clone(),
        )
        .with_github_host(env.configuration.repositories.github_host.clone())
        .with_retry(env.timings.retry.clone());
        match self
            .options
            .resume
            .clean_command(&self.paths.state_file, self.options.demo)
        {
            Some(command) => remover.with_clean_command(command),
            None => remover.with_nothing_to_clean_later(),
        }
    }

    /// The one way to remove what this run created: plan, consent, act (see
    /// [`RemovalPipeline`]). The run report is rewritten with the rollback's results.
    pub fn removal(&self) -> RemovalPipeline {
        let writer = self
            .report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .map(|writer| writer as Arc<dyn EventObserver>);
        // The marks are read from the state as the removal is planned: every repository
        // created by now has its identity recorded.
        let remover = self
            .remover()
            .with_marks(self.state.read(ExpectedMarks::from_state));
        RemovalPipeline::new(RemovalPurpose::Rollback, self.state.clone(), remover)
            .with_observer(writer)
    }
}

fn register(token: &Option<SecretString>) {
    if let Some(token) = token {
        use secrecy::ExposeSecret;
        secrets::register(token.expose_secret());
    }
}

/// What the user does next, shown in the summary.
fn next_steps(env: &StepEnv) -> Vec<String> {
    let context = env.kube_context();
    let namespace = &env.configuration.installation.namespace;
    if env.configuration.installation.skip_install {
        // Nothing runs in the cluster yet: pointing at its pods would mislead.
        return vec![
            "Kalypso was not installed (--skip-install): run the same command again without --skip-install to install Flux and the Kalypso Scheduler".to_string(),
            format!("kubectl --context {context} get nodes"),
            "add environments, cluster types and workloads to the control-plane repository (see its README)".to_string(),
        ];
    }
    vec![
        format!("kubectl --context {context} get pods -n {namespace}"),
        format!(
            "kubectl --context {context} get gitrepositories,kustomizations -n {}",
            super::steps::resources::FLUX_NAMESPACE
        ),
        "add environments, cluster types and workloads to the control-plane repository (see its README)".to_string(),
    ]
}

/// `--clean`: remove what a state file records as created by us, without a configuration.
pub struct Cleanup {
    state: StateHandle,
    _lock: StateLock,
    remover: EngineRemover,
}

impl Cleanup {
    /// Take the state file's lock and load it; `Ok(None)` when there is no state file.
    /// `paths.kubeconfig` is where a recorded kube context without its own file is.
    ///
    /// A state of the other world (`world`: a `--demo` run or not) is refused with exit
    /// code 3 before anything is touched.
    pub fn open(
        runner: Arc<dyn CommandRunner>,
        github_token: Option<SecretString>,
        paths: &BootstrapPaths,
        world: InstallationWorld,
    ) -> Result<Option<Cleanup>, BootstrapError> {
        Self::open_with_token_for(runner, move |_| github_token, paths, world)
    }

    /// [`Self::open`], with the token chosen for the GitHub host the state records (an
    /// Enterprise Server reads other variables than github.com).
    pub fn open_with_token_for(
        runner: Arc<dyn CommandRunner>,
        token_for: impl FnOnce(&GitHubHost) -> Option<SecretString>,
        paths: &BootstrapPaths,
        world: InstallationWorld,
    ) -> Result<Option<Cleanup>, BootstrapError> {
        let store = StateStore::at_custom(&paths.state_file);
        if store.load_in(world)?.is_none() {
            return Ok(None);
        }
        let opened = open_state(&paths.state_file, false, Claim::Clean(world))?;
        // The repositories are removed from the host the state records (github.com for a
        // state written before hosts were recorded).
        let github_host = opened
            .handle
            .read(|state| {
                state
                    .identity
                    .as_ref()
                    .and_then(|identity| GitHubHost::parse(&identity.repositories.github_host).ok())
            })
            .unwrap_or_default();
        let github_token = token_for(&github_host);
        register(&github_token);
        Ok(Some(Cleanup {
            state: opened.handle,
            _lock: opened.lock,
            remover: EngineRemover::new(runner, github_token, paths.kubeconfig.clone())
                .with_github_host(github_host),
        }))
    }

    pub fn state(&self) -> &StateHandle {
        &self.state
    }

    /// The command named in hints to remove what is left (`--demo` and `--state-file` as
    /// this cleanup needs them).
    pub fn with_clean_command(mut self, command: String) -> Cleanup {
        self.remover = self.remover.with_clean_command(command);
        self
    }

    /// The one way to remove what the state records: plan, consent, act (see
    /// [`RemovalPipeline`]).
    pub fn removal(&self) -> RemovalPipeline {
        RemovalPipeline::new(
            RemovalPurpose::Clean,
            self.state.clone(),
            self.remover
                .clone()
                .with_marks(self.state.read(ExpectedMarks::from_state)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_kubeconfig_is_the_first_kubeconfig_path_or_the_home_one() {
        let home = Path::new("/home/u");
        let env = |value: &str| HashMap::from([("KUBECONFIG".to_string(), value.to_string())]);
        assert_eq!(
            BootstrapPaths::default_kubeconfig(&env("/a/one:/b/two"), home),
            PathBuf::from("/a/one")
        );
        assert_eq!(
            BootstrapPaths::default_kubeconfig(&env(":/b/two"), home),
            PathBuf::from("/b/two")
        );
        assert_eq!(
            BootstrapPaths::default_kubeconfig(&env(""), home),
            PathBuf::from("/home/u/.kube/config")
        );
        assert_eq!(
            BootstrapPaths::default_kubeconfig(&HashMap::new(), home),
            PathBuf::from("/home/u/.kube/config")
        );
    }

    #[test]
    fn a_rolled_back_state_starts_afresh_and_a_dead_run_is_marked_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::at_custom(&path);
        let now = Timestamp::now();
        let mut state = BootstrapState::new(now);
        state.step_started("cluster.create", crate::state::Phase::Cluster, now);
        store.save(&state).unwrap();
        let opened = open_state(&path, false, Claim::Clean(InstallationWorld::Real)).unwrap();
        let loaded = opened.handle.snapshot();
        assert_eq!(loaded.status, RunStatus::Failed);
        assert_eq!(
            loaded.step_status("cluster.create"),
            Some(crate::state::StepStatus::Failed)
        );
        drop(opened);

        state.set_status(RunStatus::RolledBack, now);
        store.save(&state).unwrap();
        let opened = open_state(&path, false, Claim::Clean(InstallationWorld::Real)).unwrap();
        assert!(opened.handle.snapshot().steps.is_empty());
        // The lock is held while open.
        assert!(matches!(
            open_state(&path, false, Claim::Clean(InstallationWorld::Real)),
            Err(StateError::Locked { .. })
        ));
    }
}
