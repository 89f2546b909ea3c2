//! Shared set-up of the end-to-end tests: the engine's facade over the simulated
//! environment (zero latency, real git), configurations, and checks of what was pushed.

use crate::support::consented::ConsentedBootstrap;
use kalypso_bootstrap::UserError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kalypso_bootstrap::config::lifecycle::{Active, Uninitialized};
use kalypso_bootstrap::config::{
    self, ClusterTarget, Configuration, ExistingCluster, HelmChart, Installation, NetworkPlugin,
    NewCluster, Options, RepoTarget, Repositories, Visibility,
};
use kalypso_bootstrap::engine::bootstrap::installation_identity;
use kalypso_bootstrap::engine::steps::template_context;
use kalypso_bootstrap::engine::{
    plan, Access, Bootstrap, BootstrapOptions, BootstrapPaths, BootstrapSteps, Event, EventKind,
    EventSink, Observed, Orchestrator, Plan, PlannedStep, RollbackReport, RunEnd, RunOutcome,
    Session, StateHandle, StepContext, StepEnv, StepId, StepOutcome, StepRunner, StepTimings,
};
use kalypso_bootstrap::sim::{
    AzureAccount, CallRecord, SeedAksCluster, SeedRepo, SimSnapshot, SimulatedEnvironment,
};
use kalypso_bootstrap::state::{BootstrapState, StateStore, Timestamp};
use kalypso_bootstrap::templates::{self, BranchKind, RepoKind, TemplateContext};
use kalypso_bootstrap::tools::CancellationToken;
use kalypso_bootstrap::tools::{BoxFuture, CommandRunner};
use secrecy::SecretString;

/// The token of the GitHub user `alice`: it must never appear in any argv.
pub const CANARY: &str = "ghp_CanaryE2eToken0123456789abcdefABCDEF42";
pub const ORG: &str = "acme";
pub const SUBSCRIPTION: &str = "11111111-2222-3333-4444-555555555555";
pub const REGION: &str = "eastus";
pub const CLUSTER: &str = "kalypso";
pub const RESOURCE_GROUP: &str = "kalypso-rg";
pub const CONTROL_PLANE: &str = "kalypso-control-plane";
pub const GITOPS: &str = "kalypso-gitops";
pub const NAMESPACE: &str = "kalypso-system";
/// A cluster that exists before the run (not an AKS cluster of the simulation).
pub const EXISTING_CONTEXT: &str = "kind-dev";
pub const EXISTING_SERVER: &str = "https://kind-dev.example:6443";

/// One simulated world, its directory, and the state file runs share.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sim: SimulatedEnvironment,
}

impl Harness {
    /// An Azure subscription (Owner) with a generous quota in eastus, GitHub user `alice`
    /// (token [`CANARY`]) administering org `acme` (on GitHub Team), and a kind cluster with context
    /// `kind-dev` in the default kubeconfig.
    pub fn new() -> Self {
        let dir = scratch_dir();
        let sim = SimulatedEnvironment::new(dir.path().join("sim")).expect("environment");
        sim.seed_azure_account(AzureAccount {
            subscription_id: SUBSCRIPTION.to_string(),
            subscription_name: "Test Subscription".to_string(),
            tenant_id: "99999999-8888-7777-6666-555555555555".to_string(),
            user_name: "alice@contoso.example".to_string(),
            user_type: "user".to_string(),
            roles: vec!["Owner".to_string()],
        });
        sim.seed_github_user(
            "alice",
            CANARY,
            &["repo", "workflow", "read:org", "delete_repo"],
        );
        sim.seed_github_org(ORG, &[("alice", "admin")]);
        // On GitHub Team: several environments in its private repositories need a paid
        // plan (`github_plan_*` tests put it on Free).
        sim.set_github_plan(ORG, kalypso_bootstrap::sim::GithubPlan::Team);
        sim.set_quota(REGION, "cores", 100, 0);
        sim.seed_kube_cluster_as(
            EXISTING_SERVER,
            kalypso_bootstrap::sim::KubeFlavour::Kind { cluster: "dev" },
            "1.33.1",
            2,
        );
        sim.seed_kube_context(EXISTING_CONTEXT, EXISTING_SERVER)
            .expect("context");
        Self { dir, sim }
    }

    pub fn paths(&self) -> BootstrapPaths {
        BootstrapPaths {
            state_file: self.dir.path().join("state").join("state.json"),
            kubeconfig: self.sim.default_kubeconfig(),
            log_file: None,
            work_dir: self.dir.path().join("work"),
        }
    }

    pub fn options(&self) -> BootstrapOptions {
        BootstrapOptions {
            subscription: Some(SUBSCRIPTION.to_string()),
            timings: StepTimings::fast(),
            ..BootstrapOptions::default()
        }
    }

    pub fn open(&self, configuration: &Configuration) -> Bootstrap {
        Bootstrap::open(
            configuration.clone(),
            Arc::new(self.sim.clone()),
            Some(SecretString::from(CANARY)),
            self.paths(),
            self.options(),
        )
        .expect("the bootstrap opens")
    }

    /// The session every front end runs, over `runner`, with the harness's files.
    pub fn session(
        &self,
        configuration: &Configuration,
        runner: Arc<dyn CommandRunner>,
        options: BootstrapOptions,
    ) -> Session {
        Session::open(
            configuration.clone(),
            runner,
            Some(SecretString::from(CANARY)),
            self.paths(),
            options,
            Access::Run,
            &|notice| panic!("the harness's state file is never moved aside: {notice}"),
        )
        .expect("the session opens")
    }

    /// Plan and run through the session; the events of the run in order.
    pub async fn run(&self, configuration: &Configuration) -> Run {
        let session = self.session(configuration, Arc::new(self.sim.clone()), self.options());
        self.run_with(session).await
    }

    /// Like [`Harness::run`], with `step` failing as `KALYPSO_DEMO_FAIL` makes it.
    pub async fn run_failing(&self, configuration: &Configuration, step: StepId) -> Run {
        let options = BootstrapOptions {
            step_wrapper: Some(kalypso_bootstrap::demo::fail_step(self.sim.clone(), step)),
            ..self.options()
        };
        let session = self.session(configuration, Arc::new(self.sim.clone()), options);
        self.run_with(session).await
    }

    /// The session's refusal of the plan for `configuration` (a resource that exists but
    /// is not ours): what a front end shows before anything is asked or run.
    pub async fn refused(&self, configuration: &Configuration) -> UserError {
        let session = self.session(configuration, Arc::new(self.sim.clone()), self.options());
        let (warnings, _unread) = EventSink::channel();
        match session.plan(&CancellationToken::new(), &warnings).await {
            Ok(plan) => panic!("the plan was not refused: {:#?}", plan.steps),
            Err(error) => error,
        }
    }

    /// The plan the session makes for `configuration` (which must not be refused).
    pub async fn planned(&self, configuration: &Configuration) -> Plan {
        let session = self.session(configuration, Arc::new(self.sim.clone()), self.options());
        let (warnings, _unread) = EventSink::channel();
        match session.plan(&CancellationToken::new(), &warnings).await {
            Ok(plan) => plan,
            Err(error) => panic!("the plan was refused: {error:?}"),
        }
    }

    pub async fn run_with(&self, session: Session) -> Run {
        self.run_observed(session, |_| {}).await
    }

    /// Like [`Harness::run_with`], changing the world with `between` after the plan,
    /// before the steps run: the session's plan, then its run, as every front end drives
    /// it (no rollback: the tests roll back themselves).
    pub async fn run_observed(
        &self,
        session: Session,
        between: impl FnOnce(&SimulatedEnvironment),
    ) -> Run {
        let cancel = CancellationToken::new();
        let (warnings, _unread) = EventSink::channel();
        let plan = session
            .plan(&cancel, &warnings)
            .await
            .expect("a plan that may run");
        between(&self.sim);
        let (events, mut receiver) = EventSink::channel();
        let active = activate(session.bootstrap().configuration());
        let outcome = session.run(&active, &plan, events, &cancel).await;
        drop(session);
        let mut collected = Vec::new();
        while let Ok(event) = receiver.try_recv() {
            collected.push(event);
        }
        Run {
            plan,
            outcome,
            events: collected,
        }
    }

    /// The steps' environment as [`Harness::open`] gives it, for runs that wrap the steps.
    pub fn step_env(&self, configuration: &Configuration) -> StepEnv {
        let paths = self.paths();
        std::fs::create_dir_all(&paths.work_dir).expect("work dir");
        let mut env = StepEnv::new(
            configuration.clone(),
            Arc::new(self.sim.clone()),
            Some(SecretString::from(CANARY)),
            paths.kubeconfig,
            paths.work_dir,
        );
        env.subscription = Some(SUBSCRIPTION.to_string());
        env.timings = StepTimings::fast();
        env
    }

    /// Run the plan for `configuration` as if nothing existed before, with the steps of
    /// `runner` and the harness's state file.
    pub async fn run_steps(
        &self,
        configuration: &Configuration,
        runner: Arc<dyn StepRunner>,
    ) -> Run {
        // The installation recorded as `Bootstrap::open` records it: the marks carry its id.
        let mut recorded = BootstrapState::new(Timestamp::now());
        recorded.identity = Some(
            installation_identity(
                configuration,
                self.options().world(),
                self.options().effective_subscription(),
                None,
            )
            .adopted()
            .unwrap(),
        );
        let state = StateHandle::new(recorded, StateStore::at_custom(self.paths().state_file));
        let observed = Observed::default();
        let plan = plan(configuration, &observed);
        let (events, mut receiver) = EventSink::channel();
        let outcome = Orchestrator::new(runner, state, events)
            .run(&plan, &CancellationToken::new())
            .await;
        let mut collected = Vec::new();
        while let Ok(event) = receiver.try_recv() {
            collected.push(event);
        }
        Run {
            plan,
            outcome,
            events: collected,
        }
    }

    /// The state file as saved.
    pub fn state(&self) -> BootstrapState {
        StateStore::at_custom(self.paths().state_file)
            .load()
            .expect("a readable state")
            .expect("a state file")
    }

    /// `configuration` validated as a front end has it before the plan's confirmation.
    pub fn validated(
        &self,
        configuration: &Configuration,
    ) -> kalypso_bootstrap::config::lifecycle::Validated {
        validated(configuration)
    }

    /// Roll back what the state records as ours.
    pub async fn rollback(&self, configuration: &Configuration) -> RollbackReport {
        let bootstrap = self.open(configuration);
        let (events, _receiver) = EventSink::channel();
        bootstrap.rollback(events, &CancellationToken::new()).await
    }

    /// The observable state once pending deletions have finished.
    pub fn settled(&self) -> SimSnapshot {
        self.sim.settle();
        self.sim.snapshot()
    }

    pub fn bare(&self, owner: &str, name: &str) -> PathBuf {
        self.sim.bare_repo_path(owner, name)
    }
}

/// A temporary directory, in memory when the system offers it: every state change is
/// saved with fsync, and the seeding runs real git, both much faster without a disk.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("kalypso-e2e-")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

/// What one run did.
pub struct Run {
    pub plan: Plan,
    pub outcome: RunOutcome,
    pub events: Vec<Event>,
}

impl Run {
    pub fn assert_success(&self) {
        assert!(
            self.outcome.is_success(),
            "the run failed: {:?}\nsteps: {:#?}",
            self.outcome.end,
            self.outcome.steps
        );
    }

    /// The failed step and its error.
    pub fn failure(&self) -> (Option<StepId>, &UserError) {
        match &self.outcome.end {
            RunEnd::Failed { step, error, .. } => (*step, error),
            other => panic!("expected a failed run, got {other:?}"),
        }
    }

    pub fn health_checks(&self) -> Vec<(String, String)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::HealthCheck { check, status, .. } => {
                    Some((check.clone(), format!("{status:?}")))
                }
                _ => None,
            })
            .collect()
    }

    pub fn transitions(&self, step: StepId) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::StepProgress {
                    step: s,
                    transition: Some(t),
                    ..
                } if *s == step => Some(t.clone()),
                _ => None,
            })
            .collect()
    }
}

fn new_cluster() -> ClusterTarget {
    ClusterTarget::Create(NewCluster {
        name: CLUSTER.into(),
        region: REGION.into(),
        resource_group: RESOURCE_GROUP.into(),
        node_count: 3,
        vm_size: "Standard_DS2_v2".into(),
        kubernetes_version: None,
        network_plugin: NetworkPlugin::Azure,
    })
}

/// New cluster, new repositories in org `acme`.
/// `configuration` as the engine acts on it: through the user's life cycle (given as
/// flags, validated, confirmed, activated), the only way to an [`Active`] configuration.
pub fn activate(configuration: &Configuration) -> Active {
    let contexts = kube_contexts_of(configuration);
    let active = Uninitialized::new()
        .parse(
            config::export::to_layer(configuration),
            None,
            &std::collections::HashMap::new(),
        )
        .expect("the configuration parses")
        .validate(&contexts)
        .unwrap_or_else(|errors| panic!("the test configuration is invalid: {errors}"))
        .confirm()
        .activate();
    assert_eq!(
        active.configuration(),
        configuration,
        "the configuration survives validation unchanged"
    );
    active
}

/// The kubeconfig's contexts a configuration names: the existing cluster's and each
/// attached workload cluster's.
fn kube_contexts_of(configuration: &Configuration) -> Vec<String> {
    let mut contexts: Vec<String> = match &configuration.cluster {
        ClusterTarget::Existing(existing) => vec![existing.context.clone()],
        ClusterTarget::Create(_) => Vec::new(),
    };
    for cluster in &configuration.workload_clusters {
        if let config::WorkloadContext::Named(name) = &cluster.context {
            contexts.push(name.clone());
        }
    }
    contexts
}

/// `configuration` given as flags and validated, not yet confirmed.
pub fn validated(configuration: &Configuration) -> kalypso_bootstrap::config::lifecycle::Validated {
    let contexts = kube_contexts_of(configuration);
    Uninitialized::new()
        .parse(
            config::export::to_layer(configuration),
            None,
            &std::collections::HashMap::new(),
        )
        .expect("the configuration parses")
        .validate(&contexts)
        .unwrap_or_else(|errors| panic!("the test configuration is invalid: {errors}"))
}

pub fn all_new() -> Configuration {
    Configuration {
        cluster: new_cluster(),
        repositories: Repositories {
            control_plane: RepoTarget::Create {
                name: CONTROL_PLANE.into(),
            },
            gitops: RepoTarget::Create {
                name: GITOPS.into(),
            },
            github_org: Some(ORG.into()),
            visibility: Visibility::Private,
            github_host: Default::default(),
        },
        environments: Default::default(),
        installation: Installation {
            namespace: NAMESPACE.into(),
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

pub fn existing_cluster(mut configuration: Configuration) -> Configuration {
    configuration.cluster = ClusterTarget::Existing(ExistingCluster {
        context: EXISTING_CONTEXT.into(),
        name: Some("kind-dev".into()),
    });
    configuration
}

pub fn existing_repo(url: &str) -> RepoTarget {
    let host = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|host| config::GitHubHost::parse(host).ok())
        .unwrap_or_default();
    RepoTarget::Existing(config::repo_url::parse(url, &host).expect("a valid URL"))
}

/// The templates rendered for `configuration` (new repositories owned by `acme`).
pub fn rendered(configuration: &Configuration) -> templates::RenderedTemplates {
    let context: TemplateContext = template_context(configuration, Some(ORG)).expect("context");
    templates::render(&context).expect("render")
}

/// `owner/name` holding exactly the files the tool renders for `kind` of `configuration`
/// (scripts executable), and nothing else: no secrets, no label.
pub fn rendered_seed(
    configuration: &Configuration,
    kind: RepoKind,
    owner: &str,
    name: &str,
) -> SeedRepo {
    let mut seed = SeedRepo::new(owner, name);
    for branch in &rendered(configuration).repo(kind).branches {
        for file in &branch.files {
            seed = if file.executable {
                seed.with_executable(&branch.name, &file.path, file.contents.clone())
            } else {
                seed.with_file(&branch.name, &file.path, file.contents.clone())
            };
        }
    }
    seed
}

/// Seed `owner/name` with exactly the rendered templates of `kind`, its Actions secrets and
/// (gitops) its `promoted` label: a complete existing repository made by the user.
pub fn seed_valid_repo(
    harness: &Harness,
    configuration: &Configuration,
    kind: RepoKind,
    owner: &str,
    name: &str,
) {
    let mut seed = rendered_seed(configuration, kind, owner, name);
    // What its workflows need besides the files: the Actions secrets and, on gitops, the
    // label (a repository lacking them is changed only with consent).
    for secret in kalypso_bootstrap::engine::steps::repositories::secret_names(kind) {
        seed = seed.with_secret(secret);
    }
    if kind == RepoKind::Gitops {
        seed = seed.with_label(
            kalypso_bootstrap::tools::gh::PROMOTED_LABEL,
            kalypso_bootstrap::tools::gh::PROMOTED_LABEL_COLOR,
            "theirs",
        );
    }
    harness.sim.seed_repo(seed).expect("seeded repository");
}

/// `path → (mode, bytes)` of a branch of a bare repository, read with real git.
pub fn branch_files(bare: &Path, branch: &str) -> BTreeMap<String, (String, Vec<u8>)> {
    let listing = git(bare, &["ls-tree", "-r", "-z", branch]);
    let mut files = BTreeMap::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8(entry.to_vec()).expect("utf-8 listing");
        let (meta, path) = entry.split_once('\t').expect("mode type sha\\tpath");
        let mode = meta.split(' ').next().unwrap().to_string();
        let bytes = git(bare, &["show", &format!("{branch}:{path}")]);
        files.insert(path.to_string(), (mode, bytes));
    }
    files
}

/// The branches of a bare repository.
pub fn branches(bare: &Path) -> Vec<String> {
    let out = git(
        bare,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads"],
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn git(bare: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Change `path` on `branch` of a bare repository with `edit` (which must change it) and
/// commit the result, as someone pushing an edit would.
pub fn edit_file(bare: &Path, branch: &str, path: &str, edit: impl FnOnce(&str) -> String) {
    let text =
        String::from_utf8(git(bare, &["show", &format!("{branch}:{path}")])).expect("a text file");
    let changed = edit(&text);
    assert_ne!(changed, text, "the edit changes {path} on {branch}");
    commit_file(bare, branch, path, &changed);
}

/// Commit `contents` as `path` on top of `branch` of a bare repository (someone pushing a
/// change), by real git plumbing through a scratch index.
pub fn commit_file(bare: &Path, branch: &str, path: &str, contents: &str) {
    let scratch = tempfile::tempdir().expect("scratch dir");
    let index = scratch.path().join("index");
    let run = |args: &[&str], stdin: Option<&str>| -> String {
        use std::io::Write;
        let mut child = Command::new("git")
            .arg("--git-dir")
            .arg(bare)
            .args(args)
            .env("GIT_INDEX_FILE", &index)
            .env("GIT_AUTHOR_NAME", "Someone")
            .env("GIT_AUTHOR_EMAIL", "someone@example.com")
            .env("GIT_COMMITTER_NAME", "Someone")
            .env("GIT_COMMITTER_EMAIL", "someone@example.com")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("git runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let parent = run(&["rev-parse", &format!("refs/heads/{branch}")], None);
    run(&["read-tree", &parent], None);
    let blob = run(&["hash-object", "-w", "--stdin"], Some(contents));
    run(
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{blob},{path}"),
        ],
        None,
    );
    let tree = run(&["write-tree"], None);
    let commit = run(&["commit-tree", &tree, "-p", &parent, "-m", "change"], None);
    run(
        &["update-ref", &format!("refs/heads/{branch}"), &commit],
        None,
    );
}

/// The GitHub state without what the Kalypso Scheduler did there (its pull requests and
/// their `deployment/…` branches), to compare what the tool itself changed.
pub fn without_scheduler_pull_requests(
    mut github: kalypso_bootstrap::sim::GithubState,
) -> kalypso_bootstrap::sim::GithubState {
    for repo in github.repos.values_mut() {
        repo.pulls.clear();
        repo.heads
            .retain(|branch, _| !branch.starts_with("deployment/"));
    }
    github
}

/// Whether `branch` is one the Kalypso Scheduler made for a pull request
/// (`deployment/<time>`, its commit by "Kalypso Scheduler"), not one we pushed.
pub fn is_scheduler_branch(bare: &Path, branch: &str) -> bool {
    branch.starts_with("deployment/")
        && String::from_utf8_lossy(&git(bare, &["log", "-1", "--format=%an <%ae>", branch])).trim()
            == "Kalypso Scheduler <kalypso.scheduler@email.com>"
}

/// The repository holds exactly the rendered templates on each branch: same paths, same
/// bytes, scripts executable; and nothing else (no other branch but the pull-request
/// branches of the Kalypso Scheduler, which the health checks make it open).
pub fn assert_pushed_exactly(
    harness: &Harness,
    configuration: &Configuration,
    kind: RepoKind,
    owner: &str,
    name: &str,
) {
    let rendered = rendered(configuration);
    let repo = rendered.repo(kind);
    let bare = harness.bare(owner, name);
    let mut expected_branches: Vec<String> = repo.branches.iter().map(|b| b.name.clone()).collect();
    expected_branches.sort();
    let ours: Vec<String> = branches(&bare)
        .into_iter()
        .filter(|branch| !is_scheduler_branch(&bare, branch))
        .collect();
    assert_eq!(ours, expected_branches, "{owner}/{name}: branches");
    for branch in &repo.branches {
        let pushed = branch_files(&bare, &branch.name);
        let expected: BTreeMap<String, (String, Vec<u8>)> = branch
            .files
            .iter()
            .map(|f| {
                let mode = if f.executable { "100755" } else { "100644" };
                (f.path.clone(), (mode.to_string(), f.contents.clone()))
            })
            .collect();
        assert_eq!(
            pushed.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{owner}/{name} {}: file list",
            branch.name
        );
        for (path, (mode, bytes)) in &expected {
            let (pushed_mode, pushed_bytes) = &pushed[path];
            assert_eq!(
                pushed_mode, mode,
                "{owner}/{name} {}:{path} mode",
                branch.name
            );
            assert!(
                pushed_bytes == bytes,
                "{owner}/{name} {}:{path} differs",
                branch.name
            );
        }
        let author = git(&bare, &["log", "-1", "--format=%an <%ae>|%s", &branch.name]);
        assert_eq!(
            String::from_utf8(author).unwrap().trim(),
            "Kalypso Bootstrap <kalypso-bootstrap@users.noreply.github.com>|Initial commit by Kalypso Bootstrap"
        );
        let _ = BranchKind::Main;
    }
}

/// Calls that change something, by program and leading words.
pub fn is_mutating(call: &CallRecord) -> bool {
    let words: Vec<&str> = call
        .args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let has = |w: &[&str]| {
        call.args
            .windows(w.len())
            .any(|win| win.iter().map(String::as_str).eq(w.iter().copied()))
    };
    match call.program.as_str() {
        "az" => matches!(
            (words.first().copied(), words.get(1).copied()),
            (Some("group"), Some("create" | "delete"))
                | (Some("aks"), Some("create" | "delete" | "get-credentials"))
        ),
        "gh" => {
            matches!(
                (words.first().copied(), words.get(1).copied()),
                (Some("repo"), Some("create" | "delete"))
                    | (Some("secret"), Some("set" | "delete"))
                    | (Some("label"), Some("create" | "delete"))
            ) || (words.first() == Some(&"api")
                && ["POST", "PUT", "PATCH", "DELETE"]
                    .iter()
                    .any(|method| has(&["-X", method]) || has(&["--method", method])))
        }
        "git" => words
            .iter()
            .any(|w| matches!(*w, "push" | "init" | "commit")),
        "kubectl" => words.iter().any(|w| {
            matches!(
                *w,
                "apply" | "create" | "delete" | "patch" | "delete-context"
            )
        }),
        "helm" => words
            .iter()
            .any(|w| matches!(*w, "install" | "upgrade" | "uninstall")),
        _ => true,
    }
}

/// No recorded argv carries the canary token (nor its base64 form).
pub fn assert_no_canary(calls: &[CallRecord]) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(CANARY);
    for call in calls {
        let line = call.command_line();
        assert!(
            !line.contains(CANARY) && !line.contains(&encoded),
            "the token reached an argv: {}",
            line.replace(CANARY, "<CANARY>")
        );
        if let Some(cwd) = &call.cwd {
            assert!(!cwd.display().to_string().contains(CANARY));
        }
    }
}

/// Seed an AKS cluster named like the configuration's, not created by this tool.
pub fn seed_foreign_cluster(harness: &Harness) {
    harness
        .sim
        .seed_aks_cluster(SeedAksCluster::new(RESOURCE_GROUP, CLUSTER, REGION))
        .expect("seeded cluster");
}

/// The real steps, with `before` run once just before step `at` starts (to change the
/// world part-way through a run, as someone else would).
pub struct BeforeStep {
    steps: Arc<BootstrapSteps>,
    at: StepId,
    before: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl BeforeStep {
    pub fn new(env: StepEnv, at: StepId, before: impl FnOnce() + Send + 'static) -> Self {
        Self {
            steps: Arc::new(BootstrapSteps::new(env)),
            at,
            before: std::sync::Mutex::new(Some(Box::new(before))),
        }
    }
}

impl StepRunner for BeforeStep {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            if step.id == self.at {
                let before = self.before.lock().unwrap().take();
                if let Some(before) = before {
                    before();
                }
            }
            self.steps.run_step(step, ctx).await
        })
    }
}

/// The files of the open pull request the Kalypso Scheduler made on `owner/name`
/// (its `deployment/…` head branch), with their contents, read with real git.
pub fn scheduler_pull_request_files(
    harness: &Harness,
    owner: &str,
    name: &str,
) -> BTreeMap<String, String> {
    let snapshot = harness.sim.snapshot();
    let repo = &snapshot.github.repos[&format!("{owner}/{name}").to_lowercase()];
    let pull = repo
        .pulls
        .iter()
        .find(|p| p.state == "OPEN" && p.head.starts_with("deployment/"))
        .unwrap_or_else(|| panic!("no open scheduler pull request on {owner}/{name}"));
    branch_files(&harness.bare(owner, name), &pull.head)
        .into_iter()
        .map(|(path, (_, bytes))| (path, String::from_utf8(bytes).expect("utf-8")))
        .collect()
}
