//! The simulated world of a `--demo` run: where it lives, how it is set up from the
//! `KALYPSO_DEMO_*` settings, and what the front ends say about it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::step::StepId;
use crate::engine::steps::StepTimings;
use crate::engine::{BootstrapOptions, BootstrapPaths};
use crate::sim::{
    Chatter, Fault, FaultKind, KubeFlavour, Latency, SeedRepo, SimulatedEnvironment, LATENCY_SYNTAX,
};
use crate::tools::CommandRunner;
use crate::tui::AfterFirstDraw;
use crate::{ExitCode, UserError};

use super::{
    fail_step, parse_demo_fail, DemoRequest, DemoWorld, PanicOnHelmUpgrade, StandIn, StandInRunner,
    WizardDemo, ABSENT_VAR, CHATTER_VAR, DEMO_EXISTING_CONTEXT, DEMO_WORKLOAD_CONTEXT, FAIL_VAR,
    LATENCY_VAR, PANIC_IN_STEP, PANIC_VAR, REPOS_VAR, STAND_IN_VAR,
};

const DEMO_EXISTING_SERVER: &str = "https://127.0.0.1:36443";
const DEMO_WORKLOAD_SERVER: &str = "https://127.0.0.1:37443";

/// The options of a `--demo` run: labelled DEMO (the engine's `demo` flag names the run's
/// world in its report and events), with waits fitting the simulated latencies.
pub fn bootstrap_options() -> BootstrapOptions {
    BootstrapOptions {
        demo: true,
        timings: step_timings(),
        ..BootstrapOptions::default()
    }
}

/// Short waits for the demo: the simulated cluster provisions in seconds, so the
/// provisioning poll looks every 2 s rather than backing off to 30 s.
pub fn step_timings() -> StepTimings {
    let mut timings = StepTimings::default();
    timings.aks_provisioning.initial_interval = Duration::from_secs(2);
    timings.aks_provisioning.multiplier = 1.0;
    timings.aks_provisioning.max_interval = Duration::from_secs(2);
    timings.retry.initial_delay = Duration::from_millis(500);
    timings
}

/// A demo run's simulated world.
pub struct Demo {
    sim: SimulatedEnvironment,
    /// `KALYPSO_DEMO_PANIC`, for the wizard.
    panic: Option<String>,
}

impl Demo {
    /// The simulated world for a `--demo` run: every `KALYPSO_DEMO_*` setting is read (and
    /// refused, exit 64, when malformed) before anything is created.
    pub fn prepare(request: DemoRequest<'_>) -> Result<DemoWorld, UserError> {
        let settings = Settings::from_env(request.env)?;
        let root = demo_root(request.env, request.state_file)?;
        let prepared = if request.state_file.is_some() {
            SimulatedEnvironment::demo_persistent(&root)
        } else {
            SimulatedEnvironment::demo(&root)
        };
        let sim = prepared.map_err(|err| {
            UserError::new(
                ExitCode::General,
                format!("--demo: cannot prepare {}: {err}", root.display()),
            )
        })?;
        let mut options = bootstrap_options();
        options.flux_version = request.flux_version;
        options.subscription = signed_in_subscription(&sim, request.subscription);
        let runner = settings.runner(&sim);
        let panic = settings.apply(&sim, &mut options)?;
        Ok(DemoWorld {
            runner,
            paths: demo_paths(
                &sim,
                request.state_file.map(Path::to_path_buf),
                request.log_file.map(Path::to_path_buf),
            ),
            options,
            demo: Demo { sim, panic },
        })
    }

    /// A demo over a simulated world made elsewhere (tests), without settings.
    pub fn over(sim: SimulatedEnvironment) -> Demo {
        Demo { sim, panic: None }
    }

    /// The directory of the simulated world.
    pub fn root(&self) -> &Path {
        self.sim.root()
    }

    /// Whether later runs reach this world (`--state-file` keeps it beside the state).
    pub fn kept_for_later_runs(&self) -> bool {
        self.sim.world_file().is_some()
    }

    /// The simulated GitHub answers on `host` (github.com, or a GitHub Enterprise Server's
    /// host name with `--github-host`), and on no other. A world restored from an earlier
    /// run keeps the host it was made with: a run naming another one fails there the way
    /// it would for real.
    pub fn serve_github_on(&self, host: &crate::config::GitHubHost) {
        if !self.sim.restored() {
            self.sim.set_github_host(host.as_str());
        }
    }

    /// With workload clusters attached, the demo plays the whole chain of the first
    /// workload: GitHub Actions run the workflows this tool generates (ci → cd pins the
    /// first environment; a merged promotion hands back and cd promotes to the next), as
    /// they do on GitHub. Without, Actions stay off as before (nothing waits for them).
    pub fn play_workflows_for(&self, configuration: &crate::config::Configuration) {
        if !configuration.workload_clusters.is_empty() {
            self.sim.set_github_actions_enabled(true);
        }
    }

    /// Which simulated world the run works on, said as it starts.
    pub fn announcement(&self) -> String {
        let kept = match (self.sim.world_file(), self.sim.restored()) {
            (None, _) => "",
            (Some(_), true) => ", restored from an earlier run with this --state-file",
            (Some(_), false) => ", new, kept for later runs with this --state-file",
        };
        format!(
            "DEMO: simulated Azure, GitHub and cluster in {}{kept} (nothing real is touched)",
            self.root().display()
        )
    }

    /// Said after the wizard's screen is gone, where the user can still see it.
    pub fn closing_note(&self) -> String {
        format!(
            "DEMO: simulated Azure, GitHub and cluster in {} (nothing real was touched)",
            self.root().display()
        )
    }

    /// The simulated kubeconfig and its contexts for the wizard's pick list, with the
    /// demo's own existing cluster added once.
    pub fn kube_contexts(&self) -> Result<(Vec<PathBuf>, Vec<String>), UserError> {
        let paths = vec![self.sim.default_kubeconfig()];
        let mut contexts = crate::config::kubeconfig::read_contexts(&paths).unwrap_or_default();
        if !contexts.iter().any(|c| c == DEMO_EXISTING_CONTEXT) {
            // A kind cluster, as `kind create cluster --name kalypso-demo` makes it.
            self.sim.seed_kube_cluster_as(
                DEMO_EXISTING_SERVER,
                KubeFlavour::Kind {
                    cluster: "kalypso-demo",
                },
                "1.33.1",
                2,
            );
            self.sim
                .seed_kube_context(DEMO_EXISTING_CONTEXT, DEMO_EXISTING_SERVER)
                .map_err(|err| {
                    UserError::new(
                        ExitCode::General,
                        format!("--demo: cannot add the simulated kube context: {err}"),
                    )
                })?;
            contexts.push(DEMO_EXISTING_CONTEXT.to_string());
        }
        Ok((paths, contexts))
    }

    /// The demo's workload cluster, [`DEMO_WORKLOAD_CONTEXT`]: a kind cluster without Flux
    /// beside the management cluster, its context in the simulated kubeconfig (the current
    /// context is kept). Added once: a world that has it (a resumed one) is left as it is.
    /// Returns the context name.
    pub fn add_workload_cluster(&self) -> Result<String, UserError> {
        let paths = vec![self.sim.default_kubeconfig()];
        let contexts = crate::config::kubeconfig::read_contexts(&paths).unwrap_or_default();
        let answers = self.sim.kube_server_answers(DEMO_WORKLOAD_SERVER);
        if answers && contexts.iter().any(|c| c == DEMO_WORKLOAD_CONTEXT) {
            return Ok(DEMO_WORKLOAD_CONTEXT.to_string());
        }
        let refused = |err: crate::sim::SeedRefused| {
            UserError::new(
                ExitCode::General,
                format!("--demo: cannot add the simulated workload cluster: {err}"),
            )
        };
        if answers {
            self.sim
                .seed_kube_context(DEMO_WORKLOAD_CONTEXT, DEMO_WORKLOAD_SERVER)
                .map_err(refused)?;
            return Ok(DEMO_WORKLOAD_CONTEXT.to_string());
        }
        self.sim
            .seed_kind_cluster(
                DEMO_WORKLOAD_CONTEXT.trim_start_matches("kind-"),
                DEMO_WORKLOAD_SERVER,
                2,
            )
            .map_err(refused)
    }

    /// The wizard's runner and hook for `KALYPSO_DEMO_PANIC`: `step` panics inside the Helm
    /// step, any other text on the wizard's own thread once its first screen is drawn.
    pub fn wizard(&self, runner: Arc<dyn CommandRunner>) -> WizardDemo {
        match self.panic.clone() {
            Some(text) if text == PANIC_IN_STEP => WizardDemo {
                runner: Arc::new(PanicOnHelmUpgrade(runner)),
                after_first_draw: None,
            },
            Some(text) => WizardDemo {
                runner,
                after_first_draw: Some(AfterFirstDraw::new(move || {
                    panic!("{PANIC_VAR}: a deliberate panic on the wizard's thread ({text})")
                })),
            },
            None => WizardDemo {
                runner,
                after_first_draw: None,
            },
        }
    }
}

/// The paths of a `--demo` run inside the simulated environment's directory; an explicit
/// state or log file (`--state-file`, `--log-file`) is honoured.
pub fn demo_paths(
    sim: &SimulatedEnvironment,
    state_file: Option<PathBuf>,
    log_file: Option<PathBuf>,
) -> BootstrapPaths {
    let root = sim.root();
    BootstrapPaths {
        state_file: state_file.unwrap_or_else(|| root.join(super::DEMO_STATE_FILE)),
        kubeconfig: sim.default_kubeconfig(),
        log_file: Some(log_file.unwrap_or_else(|| root.join("kalypso-bootstrap.log"))),
        work_dir: root.join("work"),
    }
}

/// The `KALYPSO_DEMO_*` settings of a run.
struct Settings {
    /// `None`: the demo's own latencies.
    latency: Option<Latency>,
    /// `zero`: every wait shortened to fit a world that answers at once.
    instant: bool,
    chatter: Option<Chatter>,
    /// [`STAND_IN_VAR`].
    stand_in: StandIn,
    fail: Option<StepId>,
    panic: Option<String>,
    /// [`REPOS_VAR`]: read before the world is made, seeded into a new world.
    repos: Vec<SeedRepo>,
    /// [`ABSENT_VAR`]: simulated programs that are not installed.
    absent: Vec<&'static str>,
}

/// `PROGRAM[,PROGRAM...]`: each one of the simulated programs, none twice.
fn parse_demo_absent(value: &str) -> Result<Vec<&'static str>, UserError> {
    let mut absent: Vec<&'static str> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(program) = crate::sim::SIMULATED_PROGRAMS
            .iter()
            .find(|program| **program == name)
        else {
            return Err(UserError::new(
                ExitCode::Usage,
                format!(
                    "{ABSENT_VAR}={value:?}: {name:?} is not a simulated program; it must be a comma-separated list of {}",
                    crate::sim::SIMULATED_PROGRAMS.join(", ")
                ),
            ));
        };
        if !absent.contains(program) {
            absent.push(program);
        }
    }
    Ok(absent)
}

/// `owner/name=PATH[,...]` read into seeds: every branch of each local repository or bundle.
fn parse_demo_repos(value: &str) -> Result<Vec<SeedRepo>, UserError> {
    let refuse = |what: &str, problem: String| {
        UserError::new(
            ExitCode::Usage,
            format!(
                "{REPOS_VAR}={value:?}: {what}: {problem}; it must be owner/name=PATH[,owner/name=PATH...] (PATH a local git repository or bundle)"
            ),
        )
    };
    let name_ok = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && part != "."
            && part != ".."
    };
    let mut seeds: Vec<SeedRepo> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((slug, path)) = entry.split_once('=') else {
            return Err(refuse(entry, "no =PATH".to_string()));
        };
        let (slug, path) = (slug.trim(), Path::new(path.trim()));
        let Some((owner, name)) = slug
            .split_once('/')
            .filter(|(o, n)| name_ok(o) && name_ok(n))
        else {
            return Err(refuse(entry, format!("{slug:?} is not owner/name")));
        };
        if seeds
            .iter()
            .any(|s| s.owner.eq_ignore_ascii_case(owner) && s.name.eq_ignore_ascii_case(name))
        {
            return Err(refuse(entry, format!("{slug} is given twice")));
        }
        if !path.exists() {
            return Err(refuse(entry, format!("{} does not exist", path.display())));
        }
        // Public: any demo account can read it, as with a repository shared with the user.
        let seed = SeedRepo::from_git_keeping_history(owner, name, path)
            .map_err(|refused| refuse(entry, refused.0))?
            .public();
        seeds.push(seed);
    }
    if seeds.is_empty() {
        return Err(refuse(value, "no repository".to_string()));
    }
    Ok(seeds)
}

impl Settings {
    fn from_env(env: &HashMap<String, String>) -> Result<Self, UserError> {
        let setting = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let latency = match setting(LATENCY_VAR) {
            None => None,
            Some(value) => Some(Latency::parse(value).map_err(|problem| {
                UserError::new(
                    ExitCode::Usage,
                    format!("{LATENCY_VAR}={value:?}: {problem}; it must be {LATENCY_SYNTAX}"),
                )
            })?),
        };
        let chatter = match setting(CHATTER_VAR) {
            None => None,
            Some(value) => Some(Chatter::parse(value).map_err(|problem| {
                UserError::new(
                    ExitCode::Usage,
                    format!(
                        "{CHATTER_VAR}={value:?}: {problem}; it must be COMMAND=LINES, comma separated (e.g. helm upgrade=1000000)"
                    ),
                )
            })?),
        };
        let stand_in = match setting(STAND_IN_VAR) {
            None | Some("chatter") => StandIn::Chatter,
            Some("all") => StandIn::All,
            Some(value) => {
                return Err(UserError::new(
                    ExitCode::Usage,
                    format!(
                        "{STAND_IN_VAR}={value:?}: it must be `all` (every simulated command answered by a real child process) or `chatter` (only the commands of {CHATTER_VAR})"
                    ),
                ))
            }
        };
        let fail = match env.get(FAIL_VAR).filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => Some(
                parse_demo_fail(value)
                    .map_err(|message| UserError::new(ExitCode::Usage, message))?,
            ),
        };
        let repos = match setting(REPOS_VAR) {
            None => Vec::new(),
            Some(value) => parse_demo_repos(value)?,
        };
        let absent = match setting(ABSENT_VAR) {
            None => Vec::new(),
            Some(value) => parse_demo_absent(value)?,
        };
        Ok(Self {
            latency,
            instant: setting(LATENCY_VAR) == Some("zero"),
            chatter,
            stand_in,
            fail,
            panic: env.get(PANIC_VAR).filter(|text| !text.is_empty()).cloned(),
            repos,
            absent,
        })
    }

    /// The runner over `sim`: with chatter or [`StandIn::All`], answers come from stand-in
    /// child processes.
    fn runner(&self, sim: &SimulatedEnvironment) -> Arc<dyn CommandRunner> {
        let simulated: Arc<dyn CommandRunner> = Arc::new(sim.clone());
        match (&self.chatter, self.stand_in) {
            (None, StandIn::Chatter) => simulated,
            (chatter, stand_in) => Arc::new(StandInRunner::new(
                simulated,
                chatter.clone().unwrap_or_default(),
                stand_in,
            )),
        }
    }

    /// Set up `sim` and `options`; the panic setting is the wizard's.
    fn apply(
        self,
        sim: &SimulatedEnvironment,
        options: &mut BootstrapOptions,
    ) -> Result<Option<String>, UserError> {
        // A restored world (--state-file) keeps the repositories it has, as GitHub would.
        if !sim.restored() {
            for seed in self.repos {
                let slug = format!("{}/{}", seed.owner, seed.name);
                // Your own repository: its owner becomes an organisation the demo account
                // administers, so the run may set its secrets and label and push to it
                // (with consent), as you could on GitHub.
                let owner = seed.owner.to_ascii_lowercase();
                let known = owner == crate::sim::DEMO_LOGIN.to_ascii_lowercase()
                    || owner == crate::sim::DEMO_ORG;
                if !known {
                    sim.seed_github_org(&seed.owner, &[(crate::sim::DEMO_LOGIN, "admin")]);
                }
                sim.seed_repo(seed).map_err(|refused| {
                    UserError::new(ExitCode::General, format!("{REPOS_VAR}: {slug}: {refused}"))
                })?;
            }
        }
        if let Some(latency) = self.latency {
            sim.set_latency(latency);
        }
        if self.instant {
            options.timings = StepTimings::fast();
        }
        if let Some(step) = self.fail {
            options.step_wrapper = Some(fail_step(sim.clone(), step));
        }
        for program in self.absent {
            sim.inject(Fault::new(FaultKind::ToolMissing, program).always());
        }
        Ok(self.panic)
    }
}

/// `AZURE_SUBSCRIPTION_ID` in a demo run: named on every az call, as in a real run. A new
/// simulated world is signed in to that subscription; a restored one keeps the subscription
/// it was made with, so another id fails there the way it would for real.
fn signed_in_subscription(
    sim: &SimulatedEnvironment,
    subscription: Option<String>,
) -> Option<String> {
    let subscription = subscription?;
    if !sim.restored() {
        if let Some(account) = sim.world().azure.account.as_mut() {
            account.subscription_id = subscription.clone();
        }
    }
    Some(subscription)
}

/// Where a demo run's simulated world lives. With `--state-file X` it is `X.demo/`
/// (created 0700), kept on disk, so every later `--demo --state-file X` run (resume,
/// `--clean`) works on the same simulated Azure, GitHub and cluster. Without, a fresh
/// directory under `$TMPDIR`, kept afterwards so its state and log can be inspected.
fn demo_root(
    env: &HashMap<String, String>,
    state_file: Option<&Path>,
) -> Result<PathBuf, UserError> {
    if let Some(state_file) = state_file {
        let root = crate::state::identity::demo_world_dir(state_file);
        create_private_dir(&root).map_err(|err| {
            UserError::new(
                ExitCode::General,
                format!(
                    "--demo: cannot create the simulated world's directory {} (beside --state-file): {err}",
                    root.display()
                ),
            )
        })?;
        return Ok(root);
    }
    let base = super::demo_base_dir(env);
    tempfile::Builder::new()
        .prefix(super::DEMO_DIR_PREFIX)
        .tempdir_in(&base)
        .map(|dir| dir.keep())
        .map_err(|err| {
            UserError::new(
                ExitCode::General,
                format!(
                    "--demo: cannot create a directory in {}: {err}",
                    base.display()
                ),
            )
        })
}

/// Create `dir` (and missing parents) readable by the user only; an existing directory
/// is used as it is.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_offers_its_own_existing_cluster_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sim = SimulatedEnvironment::demo(dir.path()).expect("simulated environment");
        let demo = Demo::over(sim.clone());
        let (paths, contexts) = demo.kube_contexts().expect("the contexts");
        assert_eq!(paths, vec![sim.default_kubeconfig()]);
        assert_eq!(contexts, vec![DEMO_EXISTING_CONTEXT.to_string()]);
        // The context is in the simulated kubeconfig, pointing at a cluster that answers.
        let read = crate::config::kubeconfig::read_contexts(&paths).expect("readable");
        assert_eq!(read, contexts);
        assert!(sim.world().kube.contains_key(DEMO_EXISTING_SERVER));
        // Asked again (a resumed demo world): not added twice.
        let (_, again) = demo.kube_contexts().expect("the contexts");
        assert_eq!(again, contexts);
    }

    #[test]
    fn the_demo_adds_its_workload_cluster_once_keeping_the_current_context() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sim = SimulatedEnvironment::demo(dir.path()).expect("simulated environment");
        let demo = Demo::over(sim.clone());
        demo.kube_contexts().expect("the existing cluster");
        assert_eq!(
            demo.add_workload_cluster().expect("added"),
            DEMO_WORKLOAD_CONTEXT
        );
        let paths = vec![sim.default_kubeconfig()];
        let read = crate::config::kubeconfig::read_contexts(&paths).expect("readable");
        assert_eq!(read, [DEMO_EXISTING_CONTEXT, DEMO_WORKLOAD_CONTEXT]);
        assert!(sim.kube_server_answers(DEMO_WORKLOAD_SERVER));
        let config = std::fs::read_to_string(&paths[0]).expect("kubeconfig");
        assert!(
            config.contains(&format!("current-context: {DEMO_EXISTING_CONTEXT}")),
            "{config}"
        );
        // Asked again: nothing added.
        assert_eq!(
            demo.add_workload_cluster().expect("again"),
            DEMO_WORKLOAD_CONTEXT
        );
        let again = crate::config::kubeconfig::read_contexts(&paths).expect("readable");
        assert_eq!(again, read);
    }

    #[test]
    fn demo_repos_seed_every_branch_of_a_bundle_into_the_simulated_github() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
        let env = HashMap::from([
            (
                REPOS_VAR.to_string(),
                format!("acme/kalypso-control-plane={}", bundle.display()),
            ),
            ("TMPDIR".to_string(), dir.path().display().to_string()),
        ]);
        let world = Demo::prepare(DemoRequest {
            env: &env,
            state_file: None,
            log_file: None,
            flux_version: crate::tools::kubectl::FLUX_VERSION.to_string(),
            subscription: None,
        })
        .expect("the demo world is prepared");
        let snapshot = world.demo.sim.snapshot();
        let repo = &snapshot.github.repos["acme/kalypso-control-plane"];
        assert_eq!(
            repo.heads.keys().map(String::as_str).collect::<Vec<_>>(),
            ["dev", "main", "stage"]
        );
        assert_eq!(repo.visibility, "PUBLIC");
        // With the bundle's history: the commit the reference's BaseRepo pins is there.
        let bare = world
            .demo
            .sim
            .bare_repo_path("acme", "kalypso-control-plane");
        let pinned = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&bare)
            .args(["cat-file", "-e", "5523a85f37d12c0c7c10ab6616644db089fcd6f7"])
            .status()
            .expect("git runs");
        assert!(
            pinned.success(),
            "the pinned commit is in the seeded history"
        );
    }

    #[test]
    fn a_malformed_setting_is_refused_with_exit_64_before_anything_is_created() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, value) in [
            (LATENCY_VAR, "fast please"),
            (CHATTER_VAR, "helm"),
            (STAND_IN_VAR, "every"),
            (FAIL_VAR, "cluster.nope"),
            (REPOS_VAR, "acme/cp"),
            (REPOS_VAR, "acme=/tmp"),
            (REPOS_VAR, "acme/cp=/nonexistent/kalypso-demo-repos"),
            (REPOS_VAR, "acme/cp=/"),
        ] {
            let env = HashMap::from([
                (name.to_string(), value.to_string()),
                ("TMPDIR".to_string(), dir.path().display().to_string()),
            ]);
            let refused = Demo::prepare(DemoRequest {
                env: &env,
                state_file: None,
                log_file: None,
                flux_version: crate::tools::kubectl::FLUX_VERSION.to_string(),
                subscription: None,
            })
            .err()
            .unwrap_or_else(|| panic!("{name}={value} is refused"));
            assert_eq!(refused.exit_code, ExitCode::Usage, "{refused}");
            assert!(refused.message.starts_with(name), "{refused}");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("readable").count(),
            0,
            "no simulated world was created"
        );
    }
}
