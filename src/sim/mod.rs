//! A simulated Azure, GitHub and Kubernetes behind the [`CommandRunner`] trait.
//!
//! [`SimulatedEnvironment`] answers `az`, `gh`, `kubectl` and `helm` argv the way the real
//! tools do — same subcommands and flags, the real usage errors and exit codes, the real JSON
//! shapes — from a world kept in memory across calls: resource groups, AKS clusters that
//! provision over time, kubeconfig files on disk, per-cluster Kubernetes objects, Helm
//! releases, GitHub users, organisations and repositories with secrets, labels and deploy
//! keys. Flux's controllers act on every cluster that runs them (`flux.rs`: what a
//! Kustomization names is applied, recursively; `ssh.rs`: SSH sources), and so do the Kalypso
//! Scheduler's (`kalypso.rs`). `git` is
//! not simulated: it runs for real (through an inner runner) against local bare repositories
//! that stand in for `https://github.com/OWNER/NAME.git` by `url.<base>.insteadOf`.
//!
//! [`SimulatedEnvironment::demo_persistent`] keeps the world on disk as well (see `persist.rs`),
//! so `--demo --state-file X` runs in separate processes share one simulated world.
//!
//! It is what the tests and `--demo` run against. Tests seed it, inject faults, and compare
//! [`SimulatedEnvironment::snapshot`]s; every call is recorded (argv and environment variable
//! names, never values) in [`SimulatedEnvironment::calls`].
//!
//! Timing: a command waits the first half of its latency, then takes effect, then waits the
//! second half while streaming its progress lines. Cancelling in the first half leaves no
//! trace; cancelling later leaves the effect in place, as killing a real tool would.
//! `helm install`/`upgrade` take effect at once (a release stored pending) and finish
//! (`deployed`) at the end: killed in between, the release stays pending, as with real helm.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use kalypso_bootstrap::sim::{Fault, FaultKind, Latency, SimulatedEnvironment};
//! use kalypso_bootstrap::tools::{CommandRunner, CommandSpec};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let env = SimulatedEnvironment::demo(dir.path()).unwrap();
//! env.set_latency(Latency::zero());
//! let before = env.snapshot();
//! let az = |args: &[&str]| CommandSpec::new("az").args(args.iter().copied());
//!
//! let missing = env.run(az(&["group", "show", "--name", "rg", "-o", "json"])).await.unwrap();
//! assert_eq!(missing.exit_code, Some(3)); // ResourceGroupNotFound, as the real az
//!
//! env.inject(Fault::new(FaultKind::QuotaExceeded, "az aks create").nth(1));
//! env.run(az(&["group", "create", "--name", "rg", "--location", "eastus"])).await.unwrap();
//! let quota = env.run(az(&["aks", "create", "-g", "rg", "-n", "c1", "--no-ssh-key", "--no-wait"])).await.unwrap();
//! assert!(quota.stderr.contains("(QuotaExceeded)"));
//!
//! env.run(az(&["group", "delete", "--name", "rg", "--yes", "--no-wait"])).await.unwrap();
//! env.settle();
//! assert_eq!(env.snapshot(), before);
//! # }
//! ```
//!
//! Not simulated (a clear "not simulated" failure, exit 1, rather than a false usage error):
//! az `--query` and `-o table`, gh `--jq`/`--template`, kubectl `-o jsonpath`/`--field-selector`,
//! `--dry-run`, and subcommands outside the engine's vocabulary (see `COMMANDS.md`). Flags a
//! real tool accepts but no table here lists are reported as unknown, like a typo would be.

mod actions;
mod args;
mod az;
mod catalog;
mod chatter;
mod cluster;
mod command;
mod distributions;
mod fault;
mod flux;
mod gh;
mod git;
mod gotemplate;
mod helm;
mod kalypso;
mod kube;
mod kubeconfig;
mod kubectl;
mod latency;
mod persist;
mod reply;
mod scheduling;
mod seed;
mod ssh;
mod state;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::time::Instant;

use crate::secrets;
use crate::tools::runner::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, EnvValue, OutputLine,
    ProcessRunner, RunControl, RunError, StdinData, Stream, DEFAULT_TIMEOUT,
};

pub use catalog::{
    kalypso_crd_names, AzureCatalog, ChartCatalog, ChartVersion, FluxVersion, SkuOffer,
    KALYPSO_CHART, KALYPSO_GROUP, KALYPSO_REPO_URL,
};
pub use chatter::{chatter_line, chatter_seq_format, Chatter};
pub use distributions::KubeFlavour;
pub use fault::{Fault, FaultId, FaultKind, FaultWhen};
pub use latency::{Latency, LATENCY_SYNTAX};
pub use persist::WORLD_FILE;
pub use seed::{SeedAksCluster, SeedRefused, SeedRepo, DEMO_LOGIN, DEMO_ORG};
pub use state::{
    AzureAccount, AzureState, CommitStatus, GithubOrg, GithubPlan, GithubPullRequest, GithubRepo,
    GithubState, GithubUser, GitopsRepoStatus, HelmRelease, KubeCluster, KubeContextEntry, Label,
    Quota, SimSnapshot, SimulatedAks, SimulatedResourceGroup, WorkflowRun,
};
pub use world::TokenPolicy;

use command::{Ctx, Invocation, ToolCommand};
use fault::{FaultContext, FaultEffect, FaultRule};
use persist::WorldStore;
use reply::Reply;
use world::{Paths, World};

/// The programs the simulation answers itself.
pub const SIMULATED_PROGRAMS: [&str; 4] = ["az", "gh", "kubectl", "helm"];

/// One call the environment received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub program: String,
    pub args: Vec<String>,
    /// The command's words as fault rules match them (see [`command_words`]).
    pub words: Vec<String>,
    /// Names of the variables the spec set for the child (values are never recorded).
    pub env_keys: Vec<String>,
    /// The GitHub host the call addressed: gh's (`--hostname`, a `HOST/OWNER/NAME`
    /// argument, `GH_HOST`, else github.com), or the host of git's remote URL.
    pub github_host: Option<String>,
    /// Inherited variables the spec removed.
    pub env_removed: Vec<String>,
    /// How many bytes the spec gave on stdin (the bytes themselves are never recorded).
    pub stdin_len: Option<usize>,
    pub cwd: Option<PathBuf>,
    pub outcome: CallOutcome,
    /// When the call arrived.
    pub started: Instant,
    /// When it returned to the caller (`None` while it runs, or when its caller gave up on
    /// it): with `started`, which calls overlapped, however slow the machine.
    pub finished: Option<Instant>,
    /// The latency the profile gave it (zero until known, and for a usage error or a
    /// missing program).
    pub latency: Duration,
}

/// The words of a command as [`Fault`] rules match them: the subcommand path followed by
/// the positional arguments, without flags or their values (`["aks", "create"]`,
/// `["get", "crd", "NAME"]`, for git `["push", "URL", "main"]`). Empty for an argv the
/// tool would reject.
pub fn command_words(program: &str, args: &[String]) -> Vec<String> {
    if program == "git" {
        return git::command_words(args);
    }
    parse(program, args)
        .map(|command| command.words())
        .unwrap_or_default()
}

impl CallRecord {
    /// `program arg…` for messages.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a recorded call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Still running (or its future was dropped).
    Running,
    Exited(i32),
    NotFound,
    TimedOut,
    Cancelled,
    /// Refused before running: a secret was in argv.
    Refused,
    /// Delegated to the real program, which could not be run.
    Failed,
}

/// The simulated world behind a [`CommandRunner`]. Cheap to clone (shared state).
#[derive(Clone)]
pub struct SimulatedEnvironment {
    inner: Arc<Inner>,
}

struct Inner {
    paths: Paths,
    world: Mutex<World>,
    calls: Mutex<Vec<CallRecord>>,
    faults: Mutex<Vec<FaultRule>>,
    delegate: Arc<dyn CommandRunner>,
    delegated_programs: Mutex<Vec<String>>,
    /// The parent environment children are modelled to inherit (empty unless set).
    inherited_env: Mutex<BTreeMap<String, String>>,
    /// Set for a world kept on disk across processes.
    store: Option<WorldStore>,
    /// The world was read back from an earlier process's file.
    restored: bool,
}

impl std::fmt::Debug for SimulatedEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedEnvironment")
            .field("root", &self.inner.paths.root)
            .finish_non_exhaustive()
    }
}

impl SimulatedEnvironment {
    /// An empty world rooted at `root` (created if missing): no Azure account, no GitHub
    /// user, zero latency, the default catalogs. Bare repositories go under
    /// `root/github`, the default kubeconfig is `root/kube/config`; `git` runs through a
    /// [`ProcessRunner`].
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        Self::with_delegate(root, Arc::new(ProcessRunner::new()))
    }

    /// Like [`SimulatedEnvironment::new`], running non-simulated programs (`git`) through
    /// `delegate`.
    pub fn with_delegate(
        root: impl Into<PathBuf>,
        delegate: Arc<dyn CommandRunner>,
    ) -> std::io::Result<Self> {
        let (paths, world) = Self::prepare(root.into())?;
        let env = Self::assemble(paths, world, delegate, None, false);
        env.seed_upstream_workload_repos()
            .map_err(|e| std::io::Error::other(e.0))?;
        Ok(env)
    }

    /// A ready-made world for `--demo`: signed in to Azure and GitHub (any GitHub token is
    /// accepted as the demo user), an organisation, the Kalypso chart, realistic latencies.
    pub fn demo(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let env = Self::new(root)?;
        env.seed_demo_world();
        env.set_latency(Latency::demo());
        Ok(env)
    }

    /// Like [`SimulatedEnvironment::demo`], kept in `root` across processes: the world
    /// saved there by an earlier process (in [`WORLD_FILE`]) is restored if there is one,
    /// else the demo world is seeded and saved. Every call that changes the world saves it
    /// again, so a later process sees what this one did. Secret values are never saved
    /// (see [`SimulatedEnvironment::restored`]).
    pub fn demo_persistent(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let (paths, mut world) = Self::prepare(root.into())?;
        let store = WorldStore::new(&paths.root);
        let restored = store.load_into(&mut world)?;
        let env = Self::assemble(
            paths,
            world,
            Arc::new(ProcessRunner::new()),
            Some(store),
            restored,
        );
        if restored {
            env.remember_demo_token();
        } else {
            env.seed_upstream_workload_repos()
                .map_err(|e| std::io::Error::other(e.0))?;
            env.seed_demo_world();
        }
        env.set_latency(Latency::demo());
        let store = env.inner.store.as_ref().expect("a persistent environment");
        store.activate();
        store.save(&env.world())?;
        Ok(env)
    }

    /// Whether the world was restored from a file an earlier process saved (only
    /// [`SimulatedEnvironment::demo_persistent`] does that). A restored world knows no
    /// secret values: Actions secrets are set by name only, and a Kubernetes Secret keeps
    /// only the GitHub login its token signed in as.
    pub fn restored(&self) -> bool {
        self.inner.restored
    }

    /// The file the world is kept in across processes, if it is kept.
    pub fn world_file(&self) -> Option<&Path> {
        self.inner.store.as_ref().map(WorldStore::path)
    }

    /// The root directory (created, canonical) and an empty world knowing its default
    /// kubeconfig.
    fn prepare(root: PathBuf) -> std::io::Result<(Paths, World)> {
        std::fs::create_dir_all(root.join("github"))?;
        let root = root.canonicalize()?;
        let paths = Paths {
            default_kubeconfig: root.join("kube").join("config"),
            root,
        };
        let mut world = World::new();
        world.kubeconfigs.insert(paths.default_kubeconfig.clone());
        Ok((paths, world))
    }

    fn assemble(
        paths: Paths,
        world: World,
        delegate: Arc<dyn CommandRunner>,
        store: Option<WorldStore>,
        restored: bool,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                paths,
                world: Mutex::new(world),
                calls: Mutex::new(Vec::new()),
                faults: Mutex::new(Vec::new()),
                delegate,
                delegated_programs: Mutex::new(vec!["git".to_string()]),
                inherited_env: Mutex::new(BTreeMap::new()),
                store,
                restored,
            }),
        }
    }

    pub fn root(&self) -> &Path {
        &self.inner.paths.root
    }

    /// The host the simulated GitHub answers on: github.com unless
    /// [`SimulatedEnvironment::set_github_host`] made it an Enterprise Server.
    pub fn github_host(&self) -> String {
        self.world().github.host().to_string()
    }

    /// Make the simulated GitHub a GitHub Enterprise Server on `host`: gh and git reach it
    /// there only, and github.com becomes unreachable (as from a network without a route
    /// to it). The world's repositories and accounts stay as they are.
    pub fn set_github_host(&self, host: &str) {
        let host = host.to_ascii_lowercase();
        self.world().github.host = (host != "github.com").then_some(host);
    }

    /// Where `https://HOST/` repositories live as bare repositories.
    pub fn github_dir(&self) -> PathBuf {
        self.inner.paths.github_dir()
    }

    /// The bare repository standing in for `https://github.com/OWNER/NAME.git`.
    pub fn bare_repo_path(&self, owner: &str, name: &str) -> PathBuf {
        let world = self.world();
        match world.github.repos.get(&state::key2(owner, name)) {
            Some(repo) => self.inner.paths.bare_repo(&repo.owner, &repo.name),
            None => self.inner.paths.bare_repo(owner, name),
        }
    }

    /// The kubeconfig kubectl and helm read when a call names none (no `--kubeconfig`,
    /// no `KUBECONFIG`), and `az aks get-credentials` writes without `--file`.
    pub fn default_kubeconfig(&self) -> PathBuf {
        self.inner.paths.default_kubeconfig.clone()
    }

    /// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` pairs that make real git
    /// reach the simulated GitHub: `url.<github_dir>/.insteadOf=https://github.com/`. The
    /// environment adds them itself to every `git` call it runs (after the caller's own
    /// `GIT_CONFIG_*` entries); use this for git run outside it.
    pub fn git_env(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("GIT_CONFIG_COUNT".to_string(), "1".to_string())];
        pairs.extend(git::insteadof_pairs(
            &self.github_dir(),
            &self.github_host(),
            0,
        ));
        pairs
    }

    /// Children are modelled as inheriting `env` (by default they inherit nothing, so the
    /// real process environment — and any real token in it — never leaks into a test).
    pub fn set_inherited_env(&self, env: BTreeMap<String, String>) {
        *lock(&self.inner.inherited_env) = env;
    }

    /// Programs run for real through the inner runner (default: `git`).
    pub fn set_delegated_programs(&self, programs: &[&str]) {
        *lock(&self.inner.delegated_programs) = programs.iter().map(|p| p.to_string()).collect();
    }

    pub fn set_latency(&self, latency: Latency) {
        self.world().latency = latency;
    }

    pub fn latency(&self) -> Latency {
        self.world().latency.clone()
    }

    /// Register a fault rule; rules are checked in registration order and the first that
    /// fires wins.
    pub fn inject(&self, fault: Fault) -> FaultId {
        let mut faults = lock(&self.inner.faults);
        faults.push(FaultRule {
            fault,
            matched: 0,
            fired: 0,
        });
        FaultId(faults.len() - 1)
    }

    /// How many times a rule fired.
    pub fn fault_fired(&self, id: FaultId) -> u32 {
        lock(&self.inner.faults).get(id.0).map_or(0, |r| r.fired)
    }

    /// How many calls a rule matched (fired or not).
    pub fn fault_matched(&self, id: FaultId) -> u32 {
        lock(&self.inner.faults).get(id.0).map_or(0, |r| r.matched)
    }

    /// Remove every rule (their ids become stale).
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Every call so far, in order of arrival.
    pub fn calls(&self) -> Vec<CallRecord> {
        lock(&self.inner.calls).clone()
    }

    pub fn clear_calls(&self) {
        lock(&self.inner.calls).clear();
    }

    /// The observable state now (pending provisioning or deletion that is due is applied
    /// first; repository branch heads are read from the bare repositories).
    pub fn snapshot(&self) -> SimSnapshot {
        let mut world = self.world();
        world.advance(Instant::now());
        let mut github = world.github.clone();
        for repo in github.repos.values_mut() {
            repo.heads = git::heads(&self.inner.paths.bare_repo(&repo.owner, &repo.name));
        }
        let kubeconfigs = world
            .kubeconfigs
            .iter()
            .map(|path| {
                let entries = kubeconfig::Kubeconfig::load(path)
                    .map(|k| k.entries())
                    .unwrap_or_default();
                (path.display().to_string(), entries)
            })
            .collect();
        let mut kube_clusters = world.kube.clone();
        for api in kube_clusters.values_mut() {
            // A type whose last object went is no different from one never used.
            api.objects.retain(|_, objects| !objects.is_empty());
        }
        SimSnapshot {
            azure: world.azure.clone(),
            kube_clusters,
            kubeconfigs,
            github,
        }
    }

    /// Enable (or disable) GitHub Actions in every repository of the simulated GitHub (as
    /// an enterprise's Actions policy does). A world starts with them disabled, so nothing
    /// runs in a world that did not ask for runs; while enabled, a push or a dispatch runs
    /// the workflows this tool generates (see `actions.rs`), before the next simulated
    /// command, each taking [`Latency::actions_run`].
    pub fn set_github_actions_enabled(&self, enabled: bool) {
        let mut world = self.world();
        if enabled && !world.github.actions_enabled {
            // Pushes made while Actions were disabled never run anything: what the
            // repositories hold now is where Actions starts watching.
            for repo in world.github.repos.values_mut() {
                repo.actions_heads = None;
            }
        }
        world.github.actions_enabled = enabled;
    }

    /// A pull request someone opened in the seeded repository `owner/name` (its `number`
    /// is the next free one, which this returns). Its head and base branches are what the
    /// bare repository holds; a closed or merged one keeps the head commit given in
    /// `head_oid`.
    pub fn seed_pull_request(
        &self,
        owner: &str,
        name: &str,
        mut pull: GithubPullRequest,
    ) -> Option<u64> {
        let mut world = self.world();
        let repo = world.github.repos.get_mut(&state::key2(owner, name))?;
        pull.number = repo.pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1;
        if pull.created_at.is_empty() {
            pull.created_at = world::now_timestamp();
        }
        let number = pull.number;
        repo.pulls.push(pull);
        Some(number)
    }

    /// The GitHub Actions workflow runs of `owner/name`, oldest first (empty for a
    /// repository the world does not have).
    pub fn workflow_runs(&self, owner: &str, name: &str) -> Vec<WorkflowRun> {
        self.world()
            .github
            .repos
            .get(&state::key2(owner, name))
            .map(|repo| repo.workflow_runs.clone())
            .unwrap_or_default()
    }

    /// Finish every pending provisioning and deletion now, whatever the latency profile
    /// (so a snapshot after an asynchronous rollback shows its end state).
    pub fn settle(&self) {
        self.world().settle();
    }

    /// The world, saved when the guard drops if it was changed (for a persistent one).
    pub(crate) fn world(&self) -> WorldGuard<'_> {
        WorldGuard {
            world: lock(&self.inner.world),
            store: self.inner.store.as_ref(),
            changed: false,
        }
    }

    fn record(&self, spec: &CommandSpec) -> usize {
        let mut calls = lock(&self.inner.calls);
        calls.push(CallRecord {
            program: spec.program.clone(),
            args: spec.args.clone(),
            words: command_words(&spec.program, &spec.args),
            env_keys: spec.env.iter().map(|(k, _)| k.clone()).collect(),
            github_host: match spec.program.as_str() {
                "gh" => {
                    let invocation = self.invocation(spec);
                    gh::addressed_host_of(&spec.args, invocation.env("GH_HOST"))
                }
                "git" => git::remote_host(&spec.args),
                _ => None,
            },
            env_removed: spec.env_remove.clone(),
            stdin_len: spec.stdin.as_ref().map(|s| match s {
                StdinData::Plain(bytes) => bytes.len(),
                StdinData::Secret(bytes) => bytes.expose_secret().len(),
            }),
            cwd: spec.cwd.clone(),
            outcome: CallOutcome::Running,
            started: Instant::now(),
            finished: None,
            latency: Duration::ZERO,
        });
        calls.len() - 1
    }

    fn note_latency(&self, index: usize, latency: Duration) {
        if let Some(call) = lock(&self.inner.calls).get_mut(index) {
            call.latency = latency;
        }
    }

    fn finish(&self, index: usize, outcome: CallOutcome) {
        if let Some(call) = lock(&self.inner.calls).get_mut(index) {
            call.outcome = outcome;
            call.finished = Some(Instant::now());
        }
    }

    fn invocation(&self, spec: &CommandSpec) -> Invocation {
        let mut env = lock(&self.inner.inherited_env).clone();
        for name in &spec.env_remove {
            env.remove(name);
        }
        for (name, value) in &spec.env {
            let value = match value {
                EnvValue::Plain(v) => v.clone(),
                EnvValue::Secret(v) => v.expose_secret().to_string(),
            };
            env.insert(name.clone(), value);
        }
        Invocation {
            program: spec.program.clone(),
            env,
            stdin: spec.stdin.as_ref().map(|s| match s {
                StdinData::Plain(bytes) => bytes.clone(),
                StdinData::Secret(bytes) => bytes.expose_secret().to_vec(),
            }),
            cwd: spec.cwd.clone(),
        }
    }

    async fn run_call(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> Result<CommandOutput, RunError> {
        let index = self.record(&spec);
        let result = self.run_recorded(index, spec, control).await;
        self.finish(
            index,
            match &result {
                Ok(output) => output
                    .exit_code
                    .map_or(CallOutcome::Failed, CallOutcome::Exited),
                Err(RunError::NotFound { .. }) => CallOutcome::NotFound,
                Err(RunError::TimedOut { .. }) => CallOutcome::TimedOut,
                Err(RunError::Cancelled { .. }) => CallOutcome::Cancelled,
                Err(RunError::SecretInArgv { .. }) => CallOutcome::Refused,
                Err(RunError::Io { .. }) => CallOutcome::Failed,
            },
        );
        result
    }

    async fn run_recorded(
        &self,
        index: usize,
        spec: CommandSpec,
        control: RunControl,
    ) -> Result<CommandOutput, RunError> {
        spec.ensure_no_secret_in_argv()?;
        let display = spec.display();
        let started = Instant::now();
        let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let clock = CallBudget {
            deadline: started + timeout,
            timeout,
            cancel: control.cancel.clone(),
            command: display.clone(),
        };
        if lock(&self.inner.delegated_programs).contains(&spec.program) {
            // A real program meets injected faults too (git: a push rejected, a hang).
            let command = (spec.program == "git").then(|| ToolCommand {
                path: Vec::new(),
                flags: args::ParsedArgs::with_positionals(git::command_words(&spec.args)),
            });
            return match self.fire_fault(&spec, command.as_ref()) {
                None => self.delegate_after_latency(index, spec, control).await,
                Some(FaultEffect::Missing) => Err(RunError::NotFound {
                    program: spec.program.clone(),
                }),
                Some(FaultEffect::Hang) => Err(clock.hang().await),
                Some(FaultEffect::Reply(reply)) => {
                    for line in reply.stderr.lines() {
                        send(control.sink.as_ref(), Stream::Stderr, line);
                    }
                    let (stdout, stderr) = reply.full_output();
                    Ok(CommandOutput {
                        exit_code: Some(reply.exit_code),
                        stdout,
                        stderr,
                        duration: started.elapsed(),
                    })
                }
            };
        }
        if !SIMULATED_PROGRAMS.contains(&spec.program.as_str()) {
            return Err(RunError::NotFound {
                program: spec.program.clone(),
            });
        }
        if clock
            .cancel
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
        {
            return Err(RunError::Cancelled { command: display });
        }
        let invocation = self.invocation(&spec);
        let parsed = parse(&spec.program, &spec.args);
        let mut words = vec![spec.program.clone()];
        if let Ok(command) = &parsed {
            words.extend(command.words());
        }
        let latency = self.world().latency.for_command(&words);
        self.note_latency(index, latency);

        let effect = self.fire_fault(&spec, parsed.as_ref().ok());
        let reply = match effect {
            Some(FaultEffect::Missing) => {
                return Err(RunError::NotFound {
                    program: spec.program.clone(),
                })
            }
            Some(FaultEffect::Hang) => return Err(clock.hang().await),
            Some(FaultEffect::Reply(reply)) => {
                clock.until(started + latency / 2).await?;
                reply
            }
            None => {
                // helm stores the release (pending) before it does anything else, so a
                // kill at any moment of its run leaves it; other tools take effect halfway.
                let effect_at = if parsed.as_ref().is_ok_and(|c| {
                    spec.program == "helm" && (c.path_is(&["upgrade"]) || c.path_is(&["install"]))
                }) {
                    started
                } else {
                    started + latency / 2
                };
                clock.until(effect_at).await?;
                match parsed {
                    Err(usage) => usage,
                    Ok(command) => self.execute(&invocation, &command),
                }
            }
        };

        // The rest of the latency (and any extra working time), with progress. The end is
        // counted from the start, so the simulation's own work is part of the latency, as a
        // real tool's is, not added to it.
        let finish = started + latency + reply.busy;
        let stdout_sink = if spec.stdout_is_secret {
            None
        } else {
            control.sink.clone()
        };
        let resume = Instant::now();
        let working = finish.saturating_duration_since(resume);
        // Progress lines evenly spaced over the working time.
        let progress = reply.progress.len();
        for (index, line) in reply.progress.iter().enumerate() {
            let at = (index + 1) as f64 / (progress + 1) as f64;
            clock.until(resume + working.mul_f64(at)).await?;
            let sink = match line.stream {
                Stream::Stdout => &stdout_sink,
                Stream::Stderr => &control.sink,
            };
            send(sink.as_ref(), line.stream, &line.line);
        }
        clock.until(resume + working).await?;
        if let Some(completion) = &reply.completion {
            let mut world = self.world();
            helm::complete(&mut world, completion);
            if let Err(err) = world.save() {
                return Ok(CommandOutput {
                    exit_code: Some(1),
                    stdout: String::new(),
                    stderr: format!("simulated environment: {err}\n"),
                    duration: started.elapsed(),
                });
            }
        }
        for line in reply.stdout.lines() {
            send(stdout_sink.as_ref(), Stream::Stdout, line);
        }
        for line in reply.stderr.lines() {
            send(control.sink.as_ref(), Stream::Stderr, line);
        }
        let (stdout, stderr) = reply.full_output();
        Ok(CommandOutput {
            exit_code: Some(reply.exit_code),
            stdout,
            stderr,
            duration: started.elapsed(),
        })
    }

    fn execute(&self, invocation: &Invocation, command: &ToolCommand) -> Reply {
        let mut world = self.world();
        let now = Instant::now();
        world.advance(now);
        let mut ctx = Ctx {
            world: &mut world,
            inv: invocation,
            paths: &self.inner.paths,
            now,
            timestamp: world::now_timestamp(),
        };
        // GitHub Actions and the Kalypso Scheduler's controllers run on their own: they act
        // before the call (Actions first, so a commit a run pushed is what the scheduler reads).
        actions::advance(&mut ctx);
        kalypso::reconcile(&mut ctx);
        flux::store_artifacts(&mut ctx);
        let reply = match invocation.program.as_str() {
            "az" => az::run(&mut ctx, command),
            "gh" => gh::run(&mut ctx, command),
            "kubectl" => kubectl::run(&mut ctx, command),
            "helm" => helm::run(&mut ctx, command),
            other => Reply::fail(127, format!("{other}: not simulated")),
        };
        // A change a later process would not see is a failure, not a success.
        match world.save() {
            Ok(()) => reply,
            Err(err) => Reply::fail(1, format!("simulated environment: {err}")),
        }
    }

    /// The effect of the first rule that fires for this call, counting matches.
    fn fire_fault(&self, spec: &CommandSpec, command: Option<&ToolCommand>) -> Option<FaultEffect> {
        let words = command.map(ToolCommand::words).unwrap_or_default();
        let mut faults = lock(&self.inner.faults);
        let mut fired = None;
        for rule in faults.iter_mut() {
            // Usage errors reach no server: only a missing tool can pre-empt them.
            if command.is_none()
                && !(rule.fault.kind == FaultKind::ToolMissing && rule.fault.words.is_empty())
            {
                continue;
            }
            if !rule.fault.matches(&spec.program, &words, &spec.args) {
                continue;
            }
            rule.matched += 1;
            if fired.is_none() && rule.fault.fires_on(rule.matched) {
                rule.fired += 1;
                fired = Some(rule.fault.kind.clone());
            }
        }
        drop(faults);
        let kind = fired?;
        let empty = ToolCommand {
            path: Vec::new(),
            flags: Default::default(),
        };
        let command = command.unwrap_or(&empty);
        let world = self.world();
        let account = world.azure.account.clone();
        let quota = (spec.program == "az" && kind == FaultKind::QuotaExceeded)
            .then(|| az::injected_quota(&world, command));
        let github_login = spec
            .env
            .iter()
            .rev()
            .find(|(name, _)| name == "GH_TOKEN")
            .and_then(|(_, value)| match value {
                EnvValue::Plain(token) => world.login_for_token(token),
                EnvValue::Secret(token) => world.login_for_token(token.expose_secret()),
            })
            .unwrap_or_else(|| "git".to_string());
        drop(world);
        let ctx = FaultContext {
            program: &spec.program,
            words: &words,
            flags: &command.flags,
            quota,
            user: account
                .as_ref()
                .map(|a| a.user_name.clone())
                .unwrap_or_default(),
            github_login,
            subscription: account.map(|a| a.subscription_id).unwrap_or_default(),
        };
        Some(fault::render(&kind, &ctx))
    }

    /// Wait the latency the profile gives this real program (a round trip to GitHub for
    /// `git push`; none unless a rule names it), then run it within what is left of its
    /// timeout.
    async fn delegate_after_latency(
        &self,
        index: usize,
        mut spec: CommandSpec,
        control: RunControl,
    ) -> Result<CommandOutput, RunError> {
        let latency = self
            .world()
            .latency
            .for_delegated(&spec.program, &spec.args);
        self.note_latency(index, latency);
        if latency.is_zero() {
            return self.delegate(spec, control).await;
        }
        let started = Instant::now();
        let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let clock = CallBudget {
            deadline: started + timeout,
            timeout,
            cancel: control.cancel.clone(),
            command: spec.display(),
        };
        clock.until(started + latency).await?;
        spec.timeout = Some(timeout - latency);
        let mut output = self.delegate(spec, control).await?;
        output.duration = started.elapsed();
        Ok(output)
    }

    /// Run a real program through the inner runner, pointing git at the simulated GitHub.
    async fn delegate(
        &self,
        mut spec: CommandSpec,
        control: RunControl,
    ) -> Result<CommandOutput, RunError> {
        if spec.program == "git" {
            let existing = spec
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "GIT_CONFIG_COUNT")
                .and_then(|(_, v)| match v {
                    EnvValue::Plain(v) => v.parse::<usize>().ok(),
                    EnvValue::Secret(_) => None,
                })
                .unwrap_or(0);
            let host = self.github_host();
            for (key, value) in git::insteadof_pairs(&self.github_dir(), &host, existing) {
                spec = spec.env(key, value);
            }
            spec = spec
                .env("GIT_CONFIG_COUNT", (existing + 1).to_string())
                .env("GIT_TERMINAL_PROMPT", "0");
            if spec.args.first().map(String::as_str) == Some("push") {
                self.clear_stale_ref_locks(&spec.args);
            }
        }
        self.inner.delegate.run_with(spec, control).await
    }

    /// GitHub never leaves a ref locked, but a local bare repository does when the push
    /// that held the lock was killed (a cancelled run). Pushes to one simulated repository
    /// never overlap, so any lock left before a push is stale.
    fn clear_stale_ref_locks(&self, args: &[String]) {
        let prefix = format!("https://{}/", self.github_host());
        let Some(rest) = args
            .iter()
            .find_map(|arg| arg.strip_prefix(prefix.as_str()))
        else {
            return;
        };
        let mut parts = rest.trim_end_matches(".git").splitn(2, '/');
        let (Some(owner), Some(name)) = (parts.next(), parts.next()) else {
            return;
        };
        let heads = self.bare_repo_path(owner, name).join("refs").join("heads");
        let Ok(entries) = std::fs::read_dir(&heads) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".lock") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl CommandRunner for SimulatedEnvironment {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(self.run_call(spec, control))
    }
}

fn parse(program: &str, args: &[String]) -> Result<ToolCommand, Reply> {
    match program {
        "az" => az::parse(args),
        "gh" => gh::parse(args),
        "kubectl" => kubectl::parse(args),
        "helm" => helm::parse(args),
        other => Err(Reply::fail(127, format!("{other}: not simulated"))),
    }
}

fn send(sink: Option<&crate::tools::runner::LineSink>, stream: Stream, line: &str) {
    if let Some(sink) = sink {
        sink.send(OutputLine {
            stream,
            line: secrets::redact(line).into_owned(),
        });
    }
}

/// The time budget of one call: its deadline (from the spec's timeout) and cancellation.
struct CallBudget {
    deadline: Instant,
    timeout: Duration,
    cancel: Option<CancellationToken>,
    command: String,
}

impl CallBudget {
    /// Sleep until `until`, unless the deadline or a cancellation comes first.
    async fn until(&self, until: Instant) -> Result<(), RunError> {
        let target = until.min(self.deadline);
        if target <= Instant::now() {
            // Nothing to wait for: answer now rather than at the timer's next tick (a
            // millisecond or more on a busy runtime, for every zero-latency call).
            if self
                .cancel
                .as_ref()
                .is_some_and(CancellationToken::is_cancelled)
            {
                return Err(RunError::Cancelled {
                    command: self.command.clone(),
                });
            }
        } else {
            self.sleep_until(target).await?;
        }
        if until > self.deadline {
            return Err(RunError::TimedOut {
                command: self.command.clone(),
                after: self.timeout,
            });
        }
        Ok(())
    }

    /// Sleep until `target`, unless cancelled first.
    async fn sleep_until(&self, target: Instant) -> Result<(), RunError> {
        let cancelled = async {
            match &self.cancel {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = cancelled => Err(RunError::Cancelled { command: self.command.clone() }),
            _ = tokio::time::sleep_until(target) => Ok(()),
        }
    }

    /// Never answer: end only by timeout or cancellation.
    async fn hang(&self) -> RunError {
        match self.until(self.deadline + Duration::from_secs(1)).await {
            Err(stopped) => stopped,
            Ok(()) => RunError::TimedOut {
                command: self.command.clone(),
                after: self.timeout,
            },
        }
    }
}

/// Exclusive access to the world; for a persistent environment, a change is saved when
/// the guard drops (or at [`WorldGuard::save`], which reports a failure).
pub(crate) struct WorldGuard<'a> {
    world: MutexGuard<'a, World>,
    store: Option<&'a WorldStore>,
    /// Mutable access was taken: the world may have changed.
    changed: bool,
}

impl WorldGuard<'_> {
    /// Save the world now if it may have changed.
    pub(crate) fn save(&mut self) -> std::io::Result<()> {
        if !std::mem::take(&mut self.changed) {
            return Ok(());
        }
        match self.store {
            Some(store) => store.save(&self.world),
            None => Ok(()),
        }
    }
}

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;

    fn deref(&self) -> &World {
        &self.world
    }
}

impl std::ops::DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        self.changed = true;
        &mut self.world
    }
}

impl Drop for WorldGuard<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.save() {
            tracing::error!("{err}");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep going.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
