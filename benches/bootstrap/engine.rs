//! The engine on the simulated environment with fixed latencies: the critical path of a
//! full run (against the longest dependency chain, next to a one-step-at-a-time run), the
//! prerequisite probes and the health checks (against their slowest single member), and
//! the cost of one state save.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kalypso_bootstrap::config::lifecycle::{Active, Uninitialized};
use kalypso_bootstrap::config::{ConfigLayer, Configuration};
use kalypso_bootstrap::engine::{
    Action, Bootstrap, BootstrapOptions, BootstrapPaths, DryRun, EventSink, Plan, PlannedStep,
    RunOutcome, StepId,
};
use kalypso_bootstrap::prereq::{self, Interaction, PrereqEnv};
use kalypso_bootstrap::sim::{command_words, CallRecord, Latency, SimulatedEnvironment};
use kalypso_bootstrap::state::{parse_state, StateStore};
use kalypso_bootstrap::tools::retry::PollPolicy;
use kalypso_bootstrap::tools::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, RunControl, RunError,
};
use secrecy::SecretString;

use crate::support::plan_analysis::{PlanAnalysis, RunTimeline};
use crate::{human, median, rows, Mode, Row, RowSpec};

/// The fixed latencies of a full run: AKS provisioning, the GitHub calls, Flux, Helm and
/// every health check query. Every other command answers at once.
pub const FIXED_LATENCIES: &[(&str, u64)] = &[
    ("gh repo create", 300),
    ("git push", 200),
    ("gh secret set", 100),
    // Flux: the manifest applied (0.2 s) and its controllers waited for (0.3 s).
    ("kubectl apply", 200),
    ("kubectl wait", 300),
    ("helm upgrade", 800),
];

/// What the workload steps run on each attached cluster, beyond [`FIXED_LATENCIES`]
/// (which give Flux's install there 0.5 s too: `kubectl apply` 0.2 s, `kubectl wait`
/// 0.3 s): its reachability, Flux CRD and object lookups, each 0.2 s, and the deploy key.
/// The management cluster's same lookups take as long in both runs compared.
pub const WORKLOAD_LATENCIES: &[(&str, u64)] = &[
    ("kubectl version", 200),
    (
        "kubectl get crd gitrepositories.source.toolkit.fluxcd.io",
        200,
    ),
    (
        "kubectl get crd kustomizations.kustomize.toolkit.fluxcd.io",
        200,
    ),
    ("kubectl get secrets", 200),
    ("gh repo deploy-key add", 200),
];

/// [`full_run_latency`] with the workload clusters' commands ([`WORKLOAD_LATENCIES`]).
pub fn workload_run_latency(scale: f64) -> Latency {
    let mut latency = full_run_latency(scale);
    for (command, millis) in WORKLOAD_LATENCIES {
        latency = latency.with_command(command, ms(*millis, scale));
    }
    latency
}

/// From `az aks create --no-wait` to `provisioningState: Succeeded`.
pub const AKS_PROVISIONING_MS: u64 = 2000;

/// The health checks' queries, each 0.2 s; the test Workload is applied (`kubectl apply`,
/// above) and deleted.
pub const HEALTH_QUERIES: &[(&str, &[&str])] = &[
    ("pods", &["kubectl get pods"]),
    ("crds", &["kubectl get crd"]),
    ("controller", &["kubectl get deployment"]),
    ("webhooks", &["kubectl get validatingwebhookconfigurations"]),
    (
        "flux-gitrepository",
        &["kubectl get gitrepositories.source.toolkit.fluxcd.io"],
    ),
    (
        "flux-kustomization",
        &["kubectl get kustomizations.kustomize.toolkit.fluxcd.io"],
    ),
    ("test-workload", &["kubectl apply", "kubectl delete"]),
];
const HEALTH_QUERY_MS: u64 = 200;

/// The prerequisite probes: each tool's version, the Azure sign-in (account, then role)
/// and the GitHub token (`gh auth token`, then `gh api user`), with distinct latencies.
const PROBES: &[(&str, &[(&str, u64)])] = &[
    ("az version", &[("az version", 300)]),
    ("kubectl version", &[("kubectl version", 200)]),
    ("gh --version", &[("gh --version", 100)]),
    ("helm version", &[("helm version", 250)]),
    (
        "Azure sign-in",
        &[("az account show", 200), ("az role assignment list", 200)],
    ),
    (
        "GitHub token",
        &[("gh auth token", 100), ("gh api user", 200)],
    ),
];

fn ms(millis: u64, scale: f64) -> Duration {
    Duration::from_millis(millis).mul_f64(scale)
}

/// The full run's latency profile, every latency times `scale`.
pub fn full_run_latency(scale: f64) -> Latency {
    let mut latency = Latency::zero().with_aks_provisioning(ms(AKS_PROVISIONING_MS, scale));
    for (command, millis) in FIXED_LATENCIES {
        latency = latency.with_command(command, ms(*millis, scale));
    }
    for (_, commands) in HEALTH_QUERIES {
        for command in *commands {
            latency = latency.with_command(command, ms(HEALTH_QUERY_MS, scale));
        }
    }
    // `kubectl get crd <name>` (Flux's step looks its CRDs up) is not the health check's
    // `kubectl get crd` listing.
    for crd in [
        "gitrepositories.source.toolkit.fluxcd.io",
        "kustomizations.kustomize.toolkit.fluxcd.io",
    ] {
        latency = latency.with_command(&format!("kubectl get crd {crd}"), Duration::ZERO);
    }
    latency
}

/// The real polling policies, their intervals scaled like the latencies: AKS
/// provisioning's 10 s → 30 s becomes 50 ms → 150 ms for a 2 s provisioning (a 6-7
/// minute one shrunk 200 times); the readiness and health polls likewise.
fn scaled_timings(scale: f64) -> kalypso_bootstrap::engine::StepTimings {
    let mut timings = kalypso_bootstrap::engine::StepTimings::default();
    let floor = Duration::from_millis(1);
    let shrink = |policy: &mut PollPolicy| {
        policy.initial_interval = policy.initial_interval.mul_f64(scale / 200.0).max(floor);
        policy.max_interval = policy.max_interval.mul_f64(scale / 200.0).max(floor);
    };
    shrink(&mut timings.aks_provisioning);
    shrink(&mut timings.cluster_ready);
    shrink(&mut timings.health);
    shrink(&mut timings.first_workload);
    timings
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a tokio runtime")
}

/// A fresh demo world (signed in to Azure and GitHub, an organisation, the chart) in a
/// directory on disk, like a real run's state file.
pub struct BenchWorld {
    pub dir: tempfile::TempDir,
    pub sim: SimulatedEnvironment,
    /// The kube contexts of the workload clusters the configuration attaches.
    pub workload_contexts: Vec<String>,
}

impl BenchWorld {
    pub fn new() -> BenchWorld {
        let dir = tempfile::Builder::new()
            .prefix("kalypso-bench-")
            .tempdir()
            .expect("a temporary directory");
        let sim = SimulatedEnvironment::demo(dir.path().join("sim")).expect("the demo world");
        sim.set_latency(Latency::zero());
        BenchWorld {
            dir,
            sim,
            workload_contexts: Vec::new(),
        }
    }

    /// [`BenchWorld::new`] with `count` kind clusters beside the management cluster, each
    /// attached (`--workload-cluster kind-wN`, following the first environment).
    pub fn with_workload_clusters(count: usize) -> BenchWorld {
        const NAMES: [&str; 3] = ["w1", "w2", "w3"];
        assert!(
            count <= NAMES.len(),
            "at most {} workload clusters",
            NAMES.len()
        );
        let mut world = BenchWorld::new();
        world.workload_contexts = NAMES[..count]
            .iter()
            .enumerate()
            .map(|(index, name)| {
                world
                    .sim
                    .seed_kind_cluster(name, &format!("https://127.0.0.1:{}", 38441 + index), 2)
                    .expect("a workload cluster")
            })
            .collect();
        world
    }

    /// `--demo`'s configuration: a new cluster, new repositories, the published chart,
    /// and this world's workload clusters attached.
    pub fn configuration(&self) -> Configuration {
        self.active().configuration().clone()
    }

    /// [`BenchWorld::configuration`] as the engine acts on it: validated, confirmed,
    /// activated.
    pub fn active(&self) -> Active {
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some("bench".to_string());
        if !self.workload_contexts.is_empty() {
            flags.workload_clusters = Some(self.workload_contexts.join(","));
        }
        Uninitialized::new()
            .parse(flags, None, &HashMap::new())
            .expect("the flags parse")
            .validate(&self.workload_contexts)
            .expect("the configuration is valid")
            .confirm()
            .activate()
    }

    /// The latencies of a full run: [`full_run_latency`], and with workload clusters
    /// attached [`workload_run_latency`].
    fn run_latency(&self, scale: f64) -> Latency {
        if self.workload_contexts.is_empty() {
            full_run_latency(scale)
        } else {
            workload_run_latency(scale)
        }
    }

    fn paths(&self) -> BootstrapPaths {
        kalypso_bootstrap::demo::demo_paths(&self.sim, Some(self.state_file()), None)
    }

    pub fn state_file(&self) -> std::path::PathBuf {
        self.dir.path().join("state.json")
    }

    /// The token the prerequisite check finds (`gh auth token` of the demo user).
    async fn token(&self) -> Option<SecretString> {
        let report = prereq::check(
            Arc::new(self.sim.clone()),
            &PrereqEnv::from_lookup(|_| None),
            &Interaction::NonInteractive,
        )
        .await;
        report.github_token().cloned()
    }

    async fn open(&self, scale: f64) -> Bootstrap {
        self.open_with(Arc::new(self.sim.clone()), scaled_timings(scale))
            .await
    }

    /// The bootstrap of `--demo`'s configuration over `runner` (the simulated world, or a
    /// wrapper of it), with these waits and polls.
    pub async fn open_with(
        &self,
        runner: Arc<dyn CommandRunner>,
        timings: kalypso_bootstrap::engine::StepTimings,
    ) -> Bootstrap {
        let token = self.token().await;
        let options = BootstrapOptions {
            timings,
            ..kalypso_bootstrap::demo::bootstrap_options()
        };
        Bootstrap::open(self.configuration(), runner, token, self.paths(), options)
            .expect("the bootstrap opens")
    }
}

struct Measured {
    outcome: RunOutcome,
    /// What `--dry-run` lists for the plan run: each step's planned commands.
    planned: DryRun,
    /// When the run started (call times are measured from here).
    started: tokio::time::Instant,
    plan: Plan,
    calls: Vec<CallRecord>,
    /// The same calls, each timed from the engine's call to its answer.
    timed: Vec<TimedCall>,
}

impl Measured {
    /// The simulator's own time: the wall time during which some call was being answered
    /// beyond its declared latency (the simulator waits half a call's latency, answers it
    /// under its world's lock, then waits the other half), and how many calls.
    fn simulator_time(&self, latency: &Latency) -> (Duration, usize) {
        let mut spans: Vec<(tokio::time::Instant, tokio::time::Instant)> = self
            .timed
            .iter()
            .map(|call| {
                let half = declared_latency(latency, &call.argv, Duration::ZERO) / 2;
                let start = call.called + half;
                (
                    start,
                    call.answered.checked_sub(half).unwrap_or(start).max(start),
                )
            })
            .collect();
        spans.sort();
        let mut covered = Duration::ZERO;
        let mut reach: Option<tokio::time::Instant> = None;
        for (start, end) in spans {
            let start = reach.map_or(start, |reach| start.max(reach));
            if end > start {
                covered += end - start;
                reach = Some(end);
            }
        }
        (covered, self.timed.len())
    }

    /// Whether a call to one workload cluster was ever answered after a call to another
    /// had begun and before it was answered: the clusters' work overlapped.
    fn workload_calls_overlap(&self, contexts: &[String]) -> bool {
        let on_workload: Vec<(&str, &TimedCall)> = self
            .timed
            .iter()
            .filter_map(|call| {
                call.kube_context()
                    .filter(|context| contexts.iter().any(|c| c == context))
                    .map(|context| (context, call))
            })
            .collect();
        on_workload.iter().any(|(a, first)| {
            on_workload.iter().any(|(b, second)| {
                a != b && first.called < second.answered && second.called < first.answered
            })
        })
    }
}

/// One command the engine ran, as the engine saw it: from its call to its answer.
#[derive(Clone)]
pub struct TimedCall {
    pub argv: Vec<String>,
    pub called: tokio::time::Instant,
    pub answered: tokio::time::Instant,
    /// Its standard output (empty when it could not run).
    pub stdout: String,
}

impl TimedCall {
    /// The kube context the command addressed (`kubectl --context`, `helm --kube-context`).
    fn kube_context(&self) -> Option<&str> {
        self.argv
            .windows(2)
            .find(|pair| pair[0] == "--context" || pair[0] == "--kube-context")
            .map(|pair| pair[1].as_str())
    }
}

/// The simulated world, timing every call on the way through.
pub struct TimedRunner {
    sim: SimulatedEnvironment,
    calls: std::sync::Mutex<Vec<TimedCall>>,
}

impl TimedRunner {
    pub fn new(sim: &SimulatedEnvironment) -> Arc<TimedRunner> {
        Arc::new(TimedRunner {
            sim: sim.clone(),
            calls: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The calls timed so far, which are forgotten.
    pub fn take(&self) -> Vec<TimedCall> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl CommandRunner for TimedRunner {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        let argv: Vec<String> = std::iter::once(spec.program.clone())
            .chain(spec.args.iter().cloned())
            .collect();
        Box::pin(async move {
            let called = tokio::time::Instant::now();
            let result = self.sim.run_with(spec, control).await;
            let answered = tokio::time::Instant::now();
            let stdout = result
                .as_ref()
                .map(|output| output.stdout.clone())
                .unwrap_or_default();
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(TimedCall {
                    argv,
                    called,
                    answered,
                    stdout,
                });
            result
        })
    }
}

async fn full_run(world: &BenchWorld, scale: f64, sequential: bool) -> Measured {
    let timed = TimedRunner::new(&world.sim);
    let bootstrap = world.open_with(timed.clone(), scaled_timings(scale)).await;
    let cancel = CancellationToken::new();
    let (warnings, _unread) = EventSink::channel();
    let observed = bootstrap
        .observe_reporting(&cancel, &warnings)
        .await
        .expect("observation");
    let plan = bootstrap.plan(&observed);
    assert!(plan.conflicts.is_empty(), "a fresh world has no conflict");
    let run_plan = if sequential {
        plan.one_at_a_time()
    } else {
        plan.clone()
    };
    let planned = bootstrap.dry_run(&run_plan);
    world.sim.set_latency(world.run_latency(scale));
    world.sim.clear_calls();
    timed.take();
    let (events, mut receiver) = EventSink::channel();
    let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let started = tokio::time::Instant::now();
    let outcome = bootstrap
        .run(&world.active(), &run_plan, events, &cancel)
        .await;
    drop(bootstrap);
    let _ = drain.await;
    assert!(
        outcome.is_success(),
        "the benchmark run failed: {:?}",
        outcome.end
    );
    world.sim.set_latency(Latency::zero());
    Measured {
        outcome,
        planned,
        started,
        plan,
        calls: world.sim.calls(),
        timed: timed.take(),
    }
}

/// How long a step must wait on the tools: the time covered by its calls' latencies (the
/// union of their intervals, so calls made concurrently count once), the cluster's
/// provisioning counted from `az aks create`. Calls are given to steps by time, so this
/// reads a run that runs one step at a time.
fn latency_content(measured: &Measured, provisioning: Duration) -> HashMap<StepId, Duration> {
    let mut intervals: HashMap<StepId, Vec<(Duration, Duration)>> = HashMap::new();
    let tolerance = Duration::from_millis(2);
    for call in &measured.calls {
        let mut latency = call.latency;
        if call.program == "az" && call.args.starts_with(&["aks".into(), "create".into()]) {
            latency += provisioning;
        }
        if latency.is_zero() {
            continue;
        }
        let offset = call.started.saturating_duration_since(measured.started);
        let owner = measured
            .outcome
            .step_running_at(offset, tolerance)
            .unwrap_or_else(|| panic!("call {} at {offset:?} is in no step", call.command_line()));
        intervals
            .entry(owner)
            .or_default()
            .push((offset, offset + latency));
    }
    intervals
        .into_iter()
        .map(|(step, mut spans)| {
            spans.sort();
            let mut covered = Duration::ZERO;
            let mut reach = Duration::ZERO;
            for (start, end) in spans {
                let start = start.max(reach);
                if end > start {
                    covered += end - start;
                    reach = end;
                }
            }
            (step, covered)
        })
        .collect()
}

/// A planned or run command as latency rules and health checks match it: the program,
/// then its command words (`kubectl --context x get crd -o json` is `kubectl get crd`).
fn latency_words(argv: &[String]) -> Vec<String> {
    let Some((program, args)) = argv.split_first() else {
        return Vec::new();
    };
    let mut words = vec![program.clone()];
    words.extend(command_words(program, args));
    words
}

/// The latency the declared table gives one command (`argv`): `git` only by a rule naming
/// it, as the simulated environment adds it before running git for real; `az aks create
/// --no-wait` carries the cluster's provisioning, which its `az aks show` polls wait out.
fn declared_latency(latency: &Latency, argv: &[String], provisioning: Duration) -> Duration {
    let Some((program, args)) = argv.split_first() else {
        return Duration::ZERO;
    };
    if program == "git" {
        return latency.for_delegated(program, args);
    }
    let words = latency_words(argv);
    let mut time = latency.for_command(&words);
    if words.starts_with(&["az".into(), "aks".into(), "create".into()])
        && args.iter().any(|arg| arg == "--no-wait")
    {
        time += provisioning;
    }
    time
}

/// One planned command that carries latency, with it.
struct Carrier {
    words: String,
    latency: Duration,
}

/// Each step's weight computed without running it: the declared latency of each planned
/// command `--dry-run` lists for the step (the same listing, [`Bootstrap::dry_run`]), added
/// up since a step runs its commands one after another, except the health checks, which
/// run at once, each check's own commands ([`HEALTH_QUERIES`], e.g. the test Workload's
/// apply then delete) one after another. With the commands that carried it.
fn declared_weights(planned: &DryRun, scale: f64) -> HashMap<StepId, (Duration, Vec<Carrier>)> {
    let latency = full_run_latency(scale);
    let provisioning = ms(AKS_PROVISIONING_MS, scale);
    planned
        .steps
        .iter()
        .map(|step| {
            let carriers: Vec<(Vec<String>, Carrier)> = step
                .commands
                .iter()
                .map(|argv| {
                    let words = latency_words(argv);
                    let carrier = Carrier {
                        words: words.join(" "),
                        latency: declared_latency(&latency, argv, provisioning),
                    };
                    (words, carrier)
                })
                .filter(|(_, carrier)| !carrier.latency.is_zero())
                .collect();
            let weight = if step.id == StepId::HealthChecks {
                health_weight(&carriers)
            } else {
                carriers.iter().map(|(_, carrier)| carrier.latency).sum()
            };
            (
                step.id,
                (weight, carriers.into_iter().map(|(_, c)| c).collect()),
            )
        })
        .collect()
}

/// The health checks' planned commands run at once; a check that lists several commands
/// runs them one after another (its listed commands, in order, each the slowest planned
/// command it matches).
fn health_weight(carriers: &[(Vec<String>, Carrier)]) -> Duration {
    let matches = |words: &[String], prefix: &str| {
        let prefix: Vec<&str> = prefix.split_whitespace().collect();
        words.len() >= prefix.len() && words.iter().zip(&prefix).all(|(w, p)| w == p)
    };
    let sequences = HEALTH_QUERIES
        .iter()
        .filter(|(_, commands)| commands.len() > 1)
        .map(|(_, commands)| {
            commands
                .iter()
                .map(|prefix| {
                    carriers
                        .iter()
                        .filter(|(words, _)| matches(words, prefix))
                        .map(|(_, carrier)| carrier.latency)
                        .max()
                        .unwrap_or_default()
                })
                .sum::<Duration>()
        });
    let singles = carriers.iter().map(|(_, carrier)| carrier.latency);
    sequences.chain(singles).max().unwrap_or_default()
}

/// The latency-bearing commands the run ran more often than the dry run lists them (a gap
/// in the dry run's listing, or a command repeated, e.g. a poll): `words: run ×n, listed
/// ×m`.
fn unlisted_latency(measured: &Measured, scale: f64) -> Vec<String> {
    let latency = full_run_latency(scale);
    let provisioning = ms(AKS_PROVISIONING_MS, scale);
    let mut listed: HashMap<String, usize> = HashMap::new();
    for argv in measured
        .planned
        .steps
        .iter()
        .flat_map(|step| &step.commands)
    {
        *listed.entry(latency_words(argv).join(" ")).or_default() += 1;
    }
    let mut ran: std::collections::BTreeMap<String, usize> = Default::default();
    for call in &measured.calls {
        let argv: Vec<String> = std::iter::once(call.program.clone())
            .chain(call.args.iter().cloned())
            .collect();
        if !declared_latency(&latency, &argv, provisioning).is_zero() {
            *ran.entry(latency_words(&argv).join(" ")).or_default() += 1;
        }
    }
    ran.into_iter()
        .filter_map(|(words, count)| {
            let listed = listed.get(&words).copied().unwrap_or(0);
            (count > listed).then(|| format!("{words}: run ×{count}, listed ×{listed}"))
        })
        .collect()
}

pub fn critical_path(mode: Mode) -> Vec<Row> {
    let scale = mode.pick(1.0, 0.1);
    let runtime = runtime();
    let (concurrent, sequential) = runtime.block_on(async {
        let concurrent_world = BenchWorld::new();
        let concurrent = full_run(&concurrent_world, scale, false).await;
        let sequential_world = BenchWorld::new();
        let sequential = full_run(&sequential_world, scale, true).await;
        (concurrent, sequential)
    });
    let provisioning = ms(AKS_PROVISIONING_MS, scale);
    let weights = latency_content(&sequential, provisioning);
    let (bound, chain) = concurrent.plan.longest_chain(&weights);
    let latency_sum: Duration = weights.values().sum();
    let wall = concurrent.outcome.duration;
    let sequential_wall = sequential.outcome.duration;
    let chain_names: Vec<String> = chain
        .iter()
        .map(|step| format!("{step} {}", human(weights[step])))
        .collect();
    let chain_steps = concurrent
        .outcome
        .steps
        .iter()
        .filter(|report| chain.contains(&report.id))
        .map(|report| {
            format!(
                "{} {}",
                report.id,
                report.duration().map(human).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>();
    vec![
        against_chain(rows::CRITICAL_PATH, wall, bound, allowed_slack(scale))
        .note(format!(
            "the longest dependency chain, each step weighted by the time its calls' latencies covered in the one-at-a-time run, is {} ({}); in the full run those steps took {}; \
             our engine running the same steps one at a time took {} = {:.2}× the full run; all the steps' latencies add up to {}",
            human(bound),
            chain_names.join(" → "),
            chain_steps.join(", "),
            human(sequential_wall),
            sequential_wall.as_secs_f64() / wall.as_secs_f64(),
            human(latency_sum),
        )),
        declared_row(&concurrent, scale, allowed_slack(scale)),
        Row::info(
            rows::SEQUENTIAL,
            format!(
                "{} ({:.2}× the full run)",
                human(sequential_wall),
                sequential_wall.as_secs_f64() / wall.as_secs_f64()
            ),
        ),
    ]
}

/// The fixed part of the critical-path target: 100 ms.
fn allowed_slack(scale: f64) -> Duration {
    Duration::from_millis(100).mul_f64(scale.max(1.0))
}

/// A critical-path row: the full run's `wall` time against 1.05 × the longest `chain` +
/// `slack`.
fn against_chain(spec: RowSpec, wall: Duration, chain: Duration, slack: Duration) -> Row {
    let allowed = chain.mul_f64(1.05) + slack;
    Row::new(
        spec,
        format!(
            "{} (chain {}, bound {})",
            human(wall),
            human(chain),
            human(allowed)
        ),
        wall.as_secs_f64() / allowed.as_secs_f64(),
    )
}

/// The full run's wall time against the longest chain of declared latencies of each
/// step's planned commands: nothing of the run's own timing goes into the bound.
fn declared_row(concurrent: &Measured, scale: f64, slack: Duration) -> Row {
    let declared = declared_weights(&concurrent.planned, scale);
    let weights: HashMap<StepId, Duration> = declared
        .iter()
        .map(|(step, (weight, _))| (*step, *weight))
        .collect();
    let (bound, chain) = concurrent.plan.longest_chain(&weights);
    let wall = concurrent.outcome.duration;
    let carried: Vec<String> = chain
        .iter()
        .map(|step| {
            let (weight, carriers) = &declared[step];
            format!(
                "{step} {} ({})",
                human(*weight),
                carriers
                    .iter()
                    .map(|carrier| format!("{} {}", carrier.words, human(carrier.latency)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let unlisted = unlisted_latency(concurrent, scale);
    against_chain(rows::CRITICAL_PATH_DECLARED, wall, bound, slack)
    .note(format!(
        "each step weighted by the declared latencies (FIXED_LATENCIES, AKS_PROVISIONING_MS, HEALTH_QUERY_MS) of the commands `--dry-run` lists for it, one after another (the health checks at once); the longest chain is {}: {}; latency-bearing commands the run ran more often than the dry run lists them: {}",
        human(bound),
        carried.join(" → "),
        if unlisted.is_empty() {
            "none".to_string()
        } else {
            unlisted.join("; ")
        }
    ))
}

/// A full run with three attached workload clusters against the same with one: the
/// workload steps' work on each cluster should overlap, so three take about as long as one.
pub fn workload_clusters(mode: Mode) -> Vec<Row> {
    let scale = mode.pick(1.0, 0.1);
    let runtime = runtime();
    let (one, three, three_contexts) = runtime.block_on(async {
        let one = full_run(&BenchWorld::with_workload_clusters(1), scale, false).await;
        let three_world = BenchWorld::with_workload_clusters(3);
        let three = full_run(&three_world, scale, false).await;
        (one, three, three_world.workload_contexts.clone())
    });
    let steps = |measured: &Measured| {
        [
            StepId::WorkloadPreflight,
            StepId::WorkloadFlux,
            StepId::WorkloadSource,
            StepId::FirstWorkload,
        ]
        .iter()
        .map(|id| {
            format!(
                "{id} {}",
                measured
                    .outcome
                    .step(*id)
                    .and_then(|report| report.duration())
                    .map(human)
                    .unwrap_or_else(|| "not run".to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
    };
    let (wall_one, wall_three) = (one.outcome.duration, three.outcome.duration);
    let allowed = wall_one.mul_f64(1.1);
    let latency = workload_run_latency(scale);
    let simulator = |measured: &Measured| {
        let (time, calls) = measured.simulator_time(&latency);
        format!(
            "{calls} calls, the simulator busy answering beyond their latencies for {}",
            human(time)
        )
    };
    let overlap = three.workload_calls_overlap(&three_contexts);
    vec![Row::new(
        rows::WORKLOAD_CLUSTERS,
        format!(
            "{} / {} (bound {})",
            human(wall_three),
            human(wall_one),
            human(allowed)
        ),
        wall_three.as_secs_f64() / allowed.as_secs_f64(),
    )
    .note(format!(
        "full runs (the critical path's latencies, and on each workload cluster: {}) with kind clusters attached by --workload-cluster, each following the first environment; one cluster: {}; {}; three: {}; {}; calls to different workload clusters {}",
        WORKLOAD_LATENCIES
            .iter()
            .map(|(command, millis)| format!("{command} {}", human(ms(*millis, scale))))
            .collect::<Vec<_>>()
            .join(", "),
        steps(&one),
        simulator(&one),
        steps(&three),
        simulator(&three),
        if overlap {
            "overlapped"
        } else {
            "never overlapped: the clusters were handled one after another"
        },
    ))]
}

/// The prerequisite check's wall time with `rules` as the only latencies.
async fn prerequisite_check(world: &BenchWorld, rules: &[(&str, u64)], scale: f64) -> Duration {
    let mut latency = Latency::zero();
    for (command, millis) in rules {
        latency = latency.with_command(command, ms(*millis, scale));
    }
    world.sim.set_latency(latency);
    let started = Instant::now();
    let report = prereq::check(
        Arc::new(world.sim.clone()),
        &PrereqEnv::from_lookup(|_| None),
        &Interaction::NonInteractive,
    )
    .await;
    let wall = started.elapsed();
    assert!(report.passed(), "{}", report.render_text());
    world.sim.set_latency(Latency::zero());
    wall
}

pub fn prerequisite_probes(mode: Mode) -> Vec<Row> {
    let scale = mode.pick(1.0, 0.2);
    let runtime = runtime();
    let world = BenchWorld::new();
    runtime.block_on(async {
        let mut singles = Vec::new();
        for (name, rules) in PROBES {
            singles.push((*name, prerequisite_check(&world, rules, scale).await));
        }
        let all: Vec<(&str, u64)> = PROBES
            .iter()
            .flat_map(|(_, rules)| rules.iter().copied())
            .collect();
        let wall = prerequisite_check(&world, &all, scale).await;
        let sum: Duration = singles.iter().map(|(_, d)| *d).sum();
        let (slowest_name, slowest) = singles
            .iter()
            .copied()
            .max_by_key(|(_, d)| *d)
            .expect("probes");
        let allowed = slowest.mul_f64(1.1);
        vec![Row::new(
            rows::PROBES,
            format!(
                "{} (slowest alone {}, bound {})",
                human(wall),
                human(slowest),
                human(allowed)
            ),
            wall.as_secs_f64() / allowed.as_secs_f64(),
        )
        .note(format!(
            "each probe measured alone: {}; slowest {slowest_name}; one after another they would take {}",
            singles
                .iter()
                .map(|(name, d)| format!("{name} {}", human(*d)))
                .collect::<Vec<_>>()
                .join(", "),
            human(sum)
        ))]
    })
}

/// The health checks step alone, on the cluster a zero-latency run installed.
async fn health_step(world: &BenchWorld, commands: &[&str], scale: f64) -> Duration {
    let mut latency = Latency::zero();
    for command in commands {
        latency = latency.with_command(command, ms(HEALTH_QUERY_MS, scale));
    }
    let bootstrap = world.open(scale).await;
    let plan = Plan::new(vec![PlannedStep::new(
        StepId::HealthChecks,
        Action::Create,
        vec![],
        "benchmark",
    )]);
    world.sim.set_latency(latency);
    let (events, _receiver) = EventSink::channel();
    let outcome = bootstrap
        .run(&world.active(), &plan, events, &CancellationToken::new())
        .await;
    world.sim.set_latency(Latency::zero());
    assert!(outcome.is_success(), "{:?}", outcome.end);
    outcome
        .step(StepId::HealthChecks)
        .and_then(|report| report.duration())
        .expect("the health checks ran")
}

pub fn health_checks(mode: Mode) -> Vec<Row> {
    let scale = mode.pick(1.0, 0.2);
    let runtime = runtime();
    let world = BenchWorld::new();
    runtime.block_on(async {
        // Install everything at zero latency first.
        let installed = full_run(&world, 0.0, false).await;
        assert!(installed.outcome.is_success());
        let mut singles = Vec::new();
        for (name, commands) in HEALTH_QUERIES {
            singles.push((*name, health_step(&world, commands, scale).await));
        }
        let all: Vec<&str> = HEALTH_QUERIES
            .iter()
            .flat_map(|(_, commands)| commands.iter().copied())
            .collect();
        let wall = health_step(&world, &all, scale).await;
        let (slowest_name, slowest) = singles
            .iter()
            .copied()
            .max_by_key(|(_, d)| *d)
            .expect("checks");
        let allowed = slowest.mul_f64(1.1);
        vec![Row::new(
            rows::HEALTH_CHECKS,
            format!(
                "{} (slowest alone {}, bound {})",
                human(wall),
                human(slowest),
                human(allowed)
            ),
            wall.as_secs_f64() / allowed.as_secs_f64(),
        )
        .note(format!(
            "each check measured alone (only its queries take 0.2 s each): {}; slowest {slowest_name}",
            singles
                .iter()
                .map(|(name, d)| format!("{name} {}", human(*d)))
                .collect::<Vec<_>>()
                .join(", ")
        ))]
    })
}

/// One save of a full run's state file, on disk (fsync included).
pub fn state_saves(mode: Mode) -> Vec<Row> {
    let runtime = runtime();
    let world = BenchWorld::new();
    runtime.block_on(full_run(&world, 0.0, false));
    let state = parse_state(&std::fs::read(world.state_file()).expect("the state file"))
        .expect("a valid state");
    let dir = tempfile::Builder::new()
        .prefix("kalypso-bench-state-")
        .tempdir()
        .expect("a temporary directory");
    let store = StateStore::at_custom(dir.path().join("state.json"));
    let mut samples: Vec<Duration> = (0..mode.pick(200, 10))
        .map(|_| {
            let started = Instant::now();
            store.save(&state).expect("saved");
            started.elapsed()
        })
        .collect();
    let median = median(&mut samples);
    vec![Row::info(
        rows::STATE_SAVE,
        human(median),
    )
    .note(format!(
        "median of {} saves of a full run's state ({} bytes) in {}; every resource a step creates is saved before the step creates it, so saves sit on the critical path",
        samples.len(),
        state.to_json().len(),
        filesystem_of(dir.path())
    ))]
}

/// The file system type of `path`'s mount, from /proc/self/mounts.
pub fn filesystem_of(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let mount = fields.next()?;
            let kind = fields.next()?;
            canonical
                .starts_with(mount)
                .then(|| (mount.len(), format!("{kind} at {mount}")))
        })
        .max_by_key(|(length, _)| *length)
        .map(|(_, text)| text)
        .unwrap_or_else(|| "an unknown file system".to_string())
}
