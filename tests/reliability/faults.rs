//! Fault matrix (issue 6, item 5): every external call of a whole run failing with every
//! realistic class of failure.
//!
//! The calls are not listed by hand: a successful run on the simulated environment (the
//! prerequisite check, the observation and every step of an all-new bootstrap, then its
//! rollback) is recorded, and each distinct command of that log (program, words and flag
//! names) is a row. A call added to the engine becomes a row of the matrix by itself.
//!
//! The classes, where realistic for the call (see [`realistic`]): expired sign-in,
//! permission denied (e.g. `gh repo delete` without the `delete_repo` scope), quota
//! exceeded, rate limits (HTTP 403 and 429 with a reset time), network timeout (the call
//! hangs until its time limit), not found, already exists, and the tool missing mid-run.
//! Each case runs the whole flow on a fresh simulated world with the fault injected into
//! that one call (from its first occurrence on) and checks:
//!
//! - a clear message naming the call (program and words) with a hint fitting the class;
//! - the documented exit code of the phase: 2 prerequisites, 4 cluster, 5 repositories,
//!   6 installation and validation; a rollback that cannot remove something leaves it
//!   listed with the command to remove it by hand (and `--clean` exits 1);
//! - a consistent state file: it parses, the failed step is recorded as failed with the
//!   error, and every resource recorded as created by this tool exists and was made by
//!   this run (nothing that already existed is claimed);
//! - transient classes (rate limit, timeout) are retried with bounded exponential backoff,
//!   every wait shown as an event (a step's progress, or a warning during the observation
//!   and the rollback; the prerequisite check logs it); permanent classes are tried
//!   exactly once;
//! - a removal of something already gone (not found during rollback) is a success.
//!
//! Decisions the checks encode: a command that waits by itself (`kubectl wait`, `helm
//! --wait`) is not tried again when it runs out of time (it already waited all it was
//! given), only after a quick failure such as a rate limit; a polled check that fails
//! transiently, and a health check's Flux object not found yet (Flux creates it in its own
//! time), are looked at again until the poll's time limit; a failure to list the Azure role
//! assignments is a warning of the prerequisite check, not a failure; someone else's AKS
//! cluster appearing between the look-up and the create is a configuration problem (exit
//! 3), as when the run finds it in the first place.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::consented::ConsentedBootstrap;
use crate::support::e2e::*;
use crate::support::process::HANG_GUARD;
use kalypso_bootstrap::engine::step::exit_code_for;
use kalypso_bootstrap::engine::{
    Bootstrap, BootstrapOptions, EventKind, EventSink, RunEnd, StepId, StepTimings,
};
use kalypso_bootstrap::prereq::{self, Interaction, PrereqEnv};
use kalypso_bootstrap::sim::{
    command_words, CallRecord, Fault, FaultKind, SimSnapshot, SimulatedEnvironment,
};
use kalypso_bootstrap::state::{Ownership, Resource, ResourceStatus, RunStatus, StateStore};
use kalypso_bootstrap::tools::retry::RetryPolicy;
use kalypso_bootstrap::tools::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, RunControl, RunError,
};
use kalypso_bootstrap::ExitCode;
use secrecy::SecretString;

/// Attempts in all for a transient failure (the first included).
const ATTEMPTS: u32 = 3;
/// How long a hanging call runs before its time limit stops it.
const HANG_LIMIT: Duration = Duration::from_millis(150);
/// How many cases run at once (most of their time is spent waiting).
const PARALLEL: usize = 6;

/// Short waits, the backoff doubling from 4ms. A poll that looks at the faulted call
/// (see [`polled_in`]) gives up after a few seconds ([`Poll::limit_while_faulted`]): it
/// fails at every look, so waiting until its time limit is the behaviour under test, and
/// a short limit keeps the matrix fast.
/// Every other poll must pass whatever the machine's load (the matrix runs beside the
/// other test binaries): its limit is the hang guard, which costs nothing, as it passes at
/// its first looks.
fn timings_for(faulted: Option<&Call>) -> StepTimings {
    let mut timings = StepTimings::fast();
    timings.retry = RetryPolicy {
        max_attempts: ATTEMPTS,
        initial_delay: Duration::from_millis(4),
        multiplier: 2.0,
        max_delay: Duration::from_millis(100),
        max_server_delay: Duration::from_secs(3),
    };
    let short = faulted.map(polled_in).unwrap_or_default();
    for (poll, kind) in [
        (&mut timings.aks_provisioning, Poll::AksProvisioning),
        (&mut timings.cluster_ready, Poll::ClusterReady),
        (&mut timings.health, Poll::Health),
    ] {
        // Growing waits: a check that keeps failing costs a few dozen tries, not hundreds.
        poll.multiplier = 2.0;
        poll.max_interval = Duration::from_millis(250);
        poll.timeout = Some(if short.contains(&kind) {
            kind.limit_while_faulted()
        } else {
            HANG_GUARD
        });
    }
    timings
}

/// The engine's polls with a time limit of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Poll {
    /// `az aks show` until the new cluster has succeeded.
    AksProvisioning,
    /// The API server, the nodes and kube-system (kubectl).
    ClusterReady,
    /// The health checks (kubectl, and gh for the pull requests).
    Health,
}

impl Poll {
    /// The time limit of this poll when its looks fail: long enough for several looks on a
    /// loaded machine (a case needs two, and a wait shown between them). A look of the
    /// health checks makes a dozen calls, one of them hanging until its limit for a
    /// timeout: it gets twice the others' 3 s.
    fn limit_while_faulted(self) -> Duration {
        match self {
            Poll::AksProvisioning | Poll::ClusterReady => Duration::from_secs(3),
            Poll::Health => Duration::from_secs(6),
        }
    }
}

/// The polls whose looks may make `call`. Erring towards none only makes a case slower
/// (it waits for the hang guard's limit), never changes its outcome.
fn polled_in(call: &Call) -> Vec<Poll> {
    if call.phase == CallStage::Prerequisites {
        return Vec::new();
    }
    match call.program.as_str() {
        "az" if call.is("az", &["aks", "show"]) => vec![Poll::AksProvisioning],
        "kubectl" => vec![Poll::ClusterReady, Poll::Health],
        "gh" => vec![Poll::Health],
        _ => Vec::new(),
    }
}

/// When in an invocation a call is made: the prerequisite checks, the run, its rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum CallStage {
    Prerequisites,
    Run,
    Rollback,
}

/// One distinct external call of a successful run.
#[derive(Clone, Debug)]
struct Call {
    phase: CallStage,
    program: String,
    words: Vec<String>,
    /// Its place among the calls with exactly these words (1-based): the rule fires from
    /// there on.
    occurrence: u32,
    /// How many calls with exactly these words the successful run made.
    count: u32,
    example: String,
}

impl Call {
    fn label(&self) -> String {
        let mut label = format!("{} {}", self.program, self.words.join(" "));
        if self.occurrence > 1 {
            label.push_str(&format!(" (#{})", self.occurrence));
        }
        label
    }

    fn is(&self, program: &str, words: &[&str]) -> bool {
        self.program == program
            && self.words.len() >= words.len()
            && self.words.iter().zip(words).all(|(a, b)| a == b)
    }

    /// Works on the local disk only: it cannot meet the network's failures.
    fn is_local(&self) -> bool {
        match self.program.as_str() {
            "git" => !self.is("git", &["push"]) && !self.is("git", &["ls-remote"]),
            "kubectl" => self.is("kubectl", &["config"]),
            _ => false,
        }
    }

    /// The prerequisite check's `--version` / `version` query of a tool.
    fn is_version_probe(&self) -> bool {
        self.phase == CallStage::Prerequisites
            && matches!(
                self.example.split_whitespace().nth(1),
                Some("version" | "--version")
            )
    }

    /// Waits by itself, with its own time limit (`kubectl wait`, `helm --wait`): running
    /// out of time is its answer, not a hiccup to try again.
    fn waits_by_itself(&self) -> bool {
        self.is("kubectl", &["wait"]) || self.is("helm", &["upgrade"])
    }

    /// What a health check reads and waits for (Flux's objects).
    fn is_health_observation(&self) -> bool {
        self.is(
            "kubectl",
            &["get", "gitrepositories.source.toolkit.fluxcd.io"],
        ) || self.is(
            "kubectl",
            &["get", "kustomizations.kustomize.toolkit.fluxcd.io"],
        )
    }

    /// Whether a failure of `class` is tried again.
    fn retried(&self, class: Class) -> bool {
        class.transient() && !(class == Class::Timeout && self.waits_by_itself())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    AuthExpired,
    PermissionDenied,
    QuotaExceeded,
    RateLimited403,
    RateLimited429,
    Timeout,
    NotFound,
    AlreadyExists,
    ToolMissing,
}

impl Class {
    const ALL: [Class; 9] = [
        Class::AuthExpired,
        Class::PermissionDenied,
        Class::QuotaExceeded,
        Class::RateLimited403,
        Class::RateLimited429,
        Class::Timeout,
        Class::NotFound,
        Class::AlreadyExists,
        Class::ToolMissing,
    ];

    fn transient(self) -> bool {
        matches!(
            self,
            Class::RateLimited403 | Class::RateLimited429 | Class::Timeout
        )
    }

    fn fault(self) -> FaultKind {
        // The limit lifts within a second or two: the reset is honoured, not skipped.
        let reset_epoch = (time::OffsetDateTime::now_utc().unix_timestamp() + 1) as u64;
        match self {
            Class::AuthExpired => FaultKind::AuthExpired,
            Class::PermissionDenied => FaultKind::Forbidden,
            Class::QuotaExceeded => FaultKind::QuotaExceeded,
            Class::RateLimited403 => FaultKind::RateLimited {
                status: 403,
                reset_epoch,
            },
            Class::RateLimited429 => FaultKind::RateLimited {
                status: 429,
                reset_epoch,
            },
            Class::Timeout => FaultKind::Timeout,
            Class::NotFound => FaultKind::NotFound,
            Class::AlreadyExists => FaultKind::AlreadyExists,
            Class::ToolMissing => FaultKind::ToolMissing,
        }
    }

    /// Words one of which the hint must contain.
    fn hint_words(self, call: &Call) -> &'static [&'static str] {
        match self {
            Class::AuthExpired => &["sign in", "az login", "gh auth login", "credentials"],
            Class::PermissionDenied if call.is("gh", &["repo", "delete"]) => {
                &["gh auth refresh -h github.com -s delete_repo"]
            }
            Class::PermissionDenied => &["role", "scope", "RBAC", "permission", "rights"],
            Class::QuotaExceeded => &["quota"],
            Class::RateLimited403 | Class::RateLimited429 => &["rate limit", "resets", "wait"],
            Class::Timeout => &["too long", "time"],
            // A health check's object that never appears: inspect what was installed.
            Class::NotFound => &[
                "does not exist",
                "not found",
                "check the",
                "exist",
                "inspect",
            ],
            Class::AlreadyExists => &["already exists", "exists", "another name"],
            Class::ToolMissing => &["install"],
        }
    }
}

/// Where a class of failure can really happen to a call.
fn realistic(call: &Call, class: Class) -> bool {
    if class == Class::ToolMissing {
        return true;
    }
    if call.is_local() || call.is_version_probe() {
        return false;
    }
    let deleting = call.phase == CallStage::Rollback;
    match class {
        Class::AuthExpired | Class::Timeout => true,
        Class::PermissionDenied => !call.is("helm", &["show"]),
        Class::QuotaExceeded => {
            call.is("az", &["aks", "create"])
                || call.is("helm", &["upgrade"])
                || (call.is("kubectl", &["apply"]) && call.example.contains(" -f -"))
        }
        Class::RateLimited403 => call.program == "gh",
        Class::RateLimited429 => {
            matches!(call.program.as_str(), "gh" | "az" | "kubectl")
                || call.is("helm", &["upgrade"])
        }
        // Where the target must exist, and every removal (already gone).
        Class::NotFound => {
            deleting
                || call.is("gh", &["api", "user/memberships"])
                || call
                    .words
                    .first()
                    .is_some_and(|w| w.starts_with("user/memberships"))
                || call.is("gh", &["secret", "set"])
                || call.is("gh", &["label", "create"])
                || call.is("az", &["aks", "get-credentials"])
                || call.is("helm", &["show", "chart"])
                || call.is("git", &["push"])
                || call.is(
                    "kubectl",
                    &["get", "gitrepositories.source.toolkit.fluxcd.io"],
                )
                || call.is(
                    "kubectl",
                    &["get", "kustomizations.kustomize.toolkit.fluxcd.io"],
                )
        }
        Class::AlreadyExists => {
            call.is("gh", &["repo", "create"])
                || call.is("az", &["aks", "create"])
                || call.is("git", &["push"])
        }
        Class::ToolMissing => true,
    }
}

/// Caps the time limit of the faulted call when it hangs, so the hang ends within the
/// test's patience.
struct CappedTimeouts {
    inner: SimulatedEnvironment,
    program: String,
    words: Vec<String>,
    hangs: bool,
}

impl CommandRunner for CappedTimeouts {
    fn run_with(
        &self,
        mut spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        // The installation id in a label is each run's own: compare without it.
        let without_id = |words: &[String]| -> Vec<String> {
            words
                .iter()
                .filter(|w| !w.contains("=kb-"))
                .cloned()
                .collect()
        };
        if self.hangs
            && spec.program == self.program
            && without_id(&command_words(&spec.program, &spec.args)) == without_id(&self.words)
        {
            spec.timeout = Some(HANG_LIMIT);
        }
        self.inner.run_with(spec, control)
    }
}

fn prereq_env() -> PrereqEnv {
    PrereqEnv::from_lookup(|name| match name {
        "GITHUB_TOKEN" => Some(CANARY.to_string()),
        "AZURE_SUBSCRIPTION_ID" => Some(SUBSCRIPTION.to_string()),
        _ => None,
    })
}

/// The options of a run, with `faulted` the call a fault is injected into (if any).
fn options(faulted: Option<&Call>) -> BootstrapOptions {
    BootstrapOptions {
        subscription: Some(SUBSCRIPTION.to_string()),
        timings: timings_for(faulted),
        ..BootstrapOptions::default()
    }
}

fn open(harness: &Harness, runner: Arc<dyn CommandRunner>, faulted: Option<&Call>) -> Bootstrap {
    Bootstrap::open(
        all_new(),
        runner,
        Some(SecretString::from(CANARY)),
        harness.paths(),
        options(faulted),
    )
    .expect("the bootstrap opens")
}

/// The distinct calls of a successful prerequisite check, run and rollback.
async fn discover() -> Vec<Call> {
    let harness = Harness::new();
    let runner: Arc<dyn CommandRunner> = Arc::new(harness.sim.clone());
    let report = prereq::check(runner.clone(), &prereq_env(), &Interaction::NonInteractive).await;
    assert!(report.github_token().is_some(), "{}", report.render_text());
    let prereq_calls = harness.sim.calls();
    harness.sim.clear_calls();
    harness
        .run_with(harness.session(&all_new(), runner.clone(), options(None)))
        .await
        .assert_success();
    let run_calls = harness.sim.calls();
    harness.sim.clear_calls();
    // The existence check itself: everything a successful run records is found.
    let world = harness.settled();
    let state = StateStore::at_custom(harness.paths().state_file)
        .load()
        .unwrap()
        .unwrap();
    assert!(state.resources.len() >= 9, "{:?}", state.resources);
    for record in &state.resources {
        assert!(
            exists(&record.resource, &world),
            "{} is not found in the world",
            record.resource.describe()
        );
    }
    harness.sim.clear_calls();
    let (events, _receiver) = EventSink::channel();
    let report = open(&harness, runner, None)
        .rollback(events, &CancellationToken::new())
        .await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    let rollback_calls = harness.sim.calls();

    let mut calls: Vec<Call> = Vec::new();
    for (phase, log) in [
        (CallStage::Prerequisites, prereq_calls),
        (CallStage::Run, run_calls),
        (CallStage::Rollback, rollback_calls),
    ] {
        let mut seen_words: BTreeMap<(String, Vec<String>), u32> = BTreeMap::new();
        let mut keys = Vec::new();
        for record in &log {
            if !["az", "gh", "git", "kubectl", "helm"].contains(&record.program.as_str()) {
                continue;
            }
            let count = seen_words
                .entry((record.program.clone(), record.words.clone()))
                .or_default();
            *count += 1;
            let key = (
                record.program.clone(),
                record.words.clone(),
                flag_names(record),
            );
            if keys.contains(&key) {
                continue;
            }
            keys.push(key);
            calls.push(Call {
                phase,
                program: record.program.clone(),
                words: record.words.clone(),
                occurrence: *count,
                count: 0,
                example: record.command_line(),
            });
        }
        for call in calls.iter_mut().filter(|c| c.phase == phase) {
            call.count = seen_words[&(call.program.clone(), call.words.clone())];
        }
    }
    calls
}

/// The flags a call passes, without their values: tells `kubectl apply -f -` from
/// `kubectl apply --server-side -f URL`.
fn flag_names(record: &CallRecord) -> Vec<String> {
    let mut flags: Vec<String> = record
        .args
        .iter()
        .filter(|a| a.starts_with('-') && a.len() > 1)
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .collect();
    flags.sort();
    flags
}

/// What a case produced, for the checks.
struct Seen {
    exit_code: ExitCode,
    message: String,
    hint: String,
    /// Progress messages of the run (retry waits, poll checks).
    progress: Vec<String>,
    fired: u32,
}

fn fault_for(call: &Call, class: Class) -> Fault {
    // `kubectl label … kalypso-bootstrap/installation=<id>`: every run has its own
    // installation id, so the rule matches the words before the labels.
    let marked = call.words.iter().position(|w| w.contains("=kb-"));
    let words = &call.words[..marked.unwrap_or(call.words.len())];
    let command = format!("{} {}", call.program, words.join(" "));
    let fault = Fault::new(class.fault(), command.trim()).from(call.occurrence);
    if marked.is_some() {
        fault
    } else {
        fault.exact()
    }
}

async fn run_case(call: &Call, class: Class) -> Result<String, String> {
    let harness = Harness::new();
    let capped: Arc<dyn CommandRunner> = Arc::new(CappedTimeouts {
        inner: harness.sim.clone(),
        program: call.program.clone(),
        words: call.words.clone(),
        hangs: class == Class::Timeout,
    });
    match call.phase {
        CallStage::Prerequisites => {
            let rule = harness.sim.inject(fault_for(call, class));
            let report = prereq::check_with(
                capped,
                &prereq_env(),
                &Interaction::NonInteractive,
                &|_| {},
                &timings_for(Some(call)).retry,
            )
            .await;
            let text = report.render_text();
            let fired = harness.sim.fault_fired(rule);
            // The role check is advice: a failure to list the roles is a warning, and the
            // run goes on (it fails later, in the cluster phase, if the role is missing).
            let advisory = call.is("az", &["role", "assignment", "list"]);
            let expected = if advisory {
                if !text.contains("WARN") {
                    return Err(format!("no warning: {text}"));
                }
                ExitCode::Success
            } else {
                if report.passed() {
                    return Err(format!("the check passed: {text}"));
                }
                ExitCode::PrerequisitesFailed
            };
            check_common(
                call,
                class,
                &Seen {
                    exit_code: report.exit_code(),
                    message: text.clone(),
                    hint: text,
                    progress: Vec::new(),
                    fired,
                },
                expected,
            )
        }
        CallStage::Run => run_phase_case(&harness, capped, call, class).await,
        CallStage::Rollback => rollback_case(&harness, capped, call, class).await,
    }
}

async fn run_phase_case(
    harness: &Harness,
    runner: Arc<dyn CommandRunner>,
    call: &Call,
    class: Class,
) -> Result<String, String> {
    let before = harness.settled();
    let rule = harness.sim.inject(fault_for(call, class));
    let bootstrap = open(harness, runner, Some(call));
    let cancel = CancellationToken::new();
    let (observe_events, mut observe_receiver) = EventSink::channel();
    let observed = bootstrap.observe_reporting(&cancel, &observe_events).await;
    let observe_progress = messages(&mut observe_receiver);
    let (exit_code, message, hint, progress, failed_step) = match observed {
        Err(error) => (
            error.exit_code,
            error.message.clone(),
            error
                .hint
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            observe_progress,
            None,
        ),
        Ok(observed) => {
            let plan = bootstrap.plan(&observed);
            let (events, mut receiver) = EventSink::channel();
            let outcome = bootstrap
                .run(&activate(bootstrap.configuration()), &plan, events, &cancel)
                .await;
            let progress = messages(&mut receiver);
            match &outcome.end {
                RunEnd::Failed { step, error, .. } => (
                    outcome.exit_code,
                    error.message.clone(),
                    error
                        .hint
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    progress,
                    *step,
                ),
                other => {
                    return Err(format!(
                        "the run did not fail: {other:?} (the fault fired {} times)",
                        harness.sim.fault_fired(rule)
                    ))
                }
            }
        }
    };
    drop(bootstrap);
    let seen = Seen {
        exit_code,
        message,
        hint,
        progress,
        fired: harness.sim.fault_fired(rule),
    };
    let expected = match failed_step {
        // Someone else's cluster: the configuration names a cluster that is not ours
        // (as when the run finds it in the first place).
        Some(_) if class == Class::AlreadyExists && call.is("az", &["aks", "create"]) => {
            ExitCode::ConfigInvalid
        }
        Some(step) => exit_code_for(step.phase()),
        None => exit_code,
    };
    let mut note = check_common(call, class, &seen, expected)?;
    if failed_step.is_none()
        && ![ExitCode::ClusterFailed, ExitCode::RepositoryFailed].contains(&exit_code)
    {
        return Err(format!("the observation failed with exit {exit_code}"));
    }
    check_state(harness, &before, call, class, failed_step)?;
    if let Some(step) = failed_step {
        note.push_str(&format!(" in {step}"));
    } else {
        note.push_str(" in the observation");
    }
    Ok(note)
}

/// The progress and warning messages among the events so far.
fn messages(
    receiver: &mut tokio::sync::mpsc::UnboundedReceiver<kalypso_bootstrap::engine::Event>,
) -> Vec<String> {
    let mut found = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        match event.kind {
            EventKind::StepProgress { message, .. } | EventKind::Log { message, .. } => {
                found.push(message)
            }
            _ => {}
        }
    }
    found
}

/// Every resource the state says we created exists and is new; the failed step is
/// recorded as failed, with the error.
fn check_state(
    harness: &Harness,
    before: &SimSnapshot,
    call: &Call,
    class: Class,
    failed_step: Option<StepId>,
) -> Result<(), String> {
    let store = StateStore::at_custom(harness.paths().state_file);
    let state = store
        .load()
        .map_err(|e| format!("the state file does not load: {e}"))?;
    let Some(state) = state else {
        return match failed_step {
            None => Ok(()),
            Some(step) => Err(format!("no state file after a failure in {step}")),
        };
    };
    if let Some(step) = failed_step {
        if state.status != RunStatus::Failed {
            return Err(format!("state status {:?}, not failed", state.status));
        }
        if state.step_status(step.as_str()) != Some(kalypso_bootstrap::state::StepStatus::Failed) {
            return Err(format!("the state does not record {step} as failed"));
        }
        if !state.errors.iter().any(|e| e.contains(step.as_str())) {
            return Err(format!(
                "the state's errors do not name {step}: {:?}",
                state.errors
            ));
        }
    }
    let now = harness.settled();
    for record in &state.resources {
        if record.ownership != Ownership::CreatedByUs {
            continue;
        }
        let exists_now = exists(&record.resource, &now);
        let existed_before = exists(&record.resource, before);
        if existed_before {
            return Err(format!(
                "{} existed before the run, yet is recorded as created by us",
                record.resource.describe()
            ));
        }
        if record.status == ResourceStatus::Present && !exists_now {
            return Err(format!(
                "{} is recorded as present but does not exist",
                record.resource.describe()
            ));
        }
        // A create the service refused outright made nothing: it is not recorded, so no
        // rollback offers to remove it (issue 15: the AKS cluster over its quota).
        if matches!(
            class,
            Class::AuthExpired | Class::PermissionDenied | Class::QuotaExceeded
        ) && matches!(record.resource, Resource::AksCluster { .. })
            && creates(call, &record.resource)
        {
            return Err(format!(
                "{} was refused ({class:?}), so never created, yet the state records it as ours ({:?}): a rollback would offer to remove it",
                record.resource.describe(),
                record.status
            ));
        }
        if class == Class::AlreadyExists
            && record.status == ResourceStatus::Creating
            && creates(call, &record.resource)
        {
            return Err(format!(
                "{} already existed (not ours), yet the state claims it as being created by us: a rollback would remove it",
                record.resource.describe()
            ));
        }
    }
    Ok(())
}

/// Whether the failing call is the one that creates `resource`.
fn creates(call: &Call, resource: &Resource) -> bool {
    match resource {
        Resource::Repository { owner, name, .. } => {
            call.is("gh", &["repo", "create"])
                && call.words.get(2) == Some(&format!("{owner}/{name}"))
        }
        Resource::AksCluster { .. } => call.is("az", &["aks", "create"]),
        Resource::HelmRelease { .. } => call.is("helm", &["upgrade"]),
        _ => false,
    }
}

/// Whether `resource` exists in a snapshot of the simulated world.
fn exists(resource: &Resource, world: &SimSnapshot) -> bool {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let repo = |full_name: &str| {
        world
            .github
            .repos
            .values()
            .find(|r| same(&r.full_name(), full_name))
    };
    let object = |kind: &str, key: &str| {
        world.kube_clusters.values().any(|cluster| {
            cluster
                .objects
                .iter()
                .any(|(k, objects)| k.starts_with(kind) && objects.contains_key(key))
        })
    };
    match resource {
        Resource::ResourceGroup { name, .. } => {
            world.azure.resource_groups.keys().any(|k| same(k, name))
        }
        Resource::AksCluster {
            name,
            resource_group,
            ..
        } => world
            .azure
            .clusters
            .values()
            .any(|c| same(&c.name, name) && same(&c.resource_group, resource_group)),
        Resource::KubeContext { name, .. } => world
            .kubeconfigs
            .values()
            .flatten()
            .any(|entry| &entry.name == name),
        Resource::Repository { owner, name, .. } => repo(&format!("{owner}/{name}")).is_some(),
        Resource::RepoSecret { repository, name } => {
            repo(repository).is_some_and(|r| r.secrets.iter().any(|s| same(s, name)))
        }
        Resource::RepoLabel { repository, name } => {
            repo(repository).is_some_and(|r| r.labels.contains_key(name))
        }
        Resource::RepoFileCommit { .. }
        | Resource::RepoBranch { .. }
        | Resource::RepoEnvironment { .. }
        | Resource::RepoEnvironmentSecret { .. }
        | Resource::WorkloadObject { .. }
        | Resource::DeployKey { .. } => {
            unreachable!(
                "the fault matrix creates its repositories (it commits to none it was given) and attaches no workload cluster"
            )
        }
        Resource::Flux { .. } => object("namespaces", "flux-system"),
        Resource::Namespace { name, .. } => object("namespaces", name),
        Resource::HelmRelease {
            namespace, name, ..
        } => world.kube_clusters.values().any(|cluster| {
            cluster
                .releases
                .values()
                .any(|r| &r.name == name && &r.namespace == namespace)
        }),
        Resource::KalypsoCrds { names, .. } => names
            .iter()
            .all(|name| object("customresourcedefinitions", name)),
    }
}

async fn rollback_case(
    harness: &Harness,
    runner: Arc<dyn CommandRunner>,
    call: &Call,
    class: Class,
) -> Result<String, String> {
    harness
        .run_with(harness.session(&all_new(), runner.clone(), options(None)))
        .await
        .assert_success();
    let rule = harness.sim.inject(fault_for(call, class));
    let (events, mut receiver) = EventSink::channel();
    let report = open(harness, runner, Some(call))
        .rollback(events, &CancellationToken::new())
        .await;
    let progress = messages(&mut receiver);
    let fired = harness.sim.fault_fired(rule);
    let state = StateStore::at_custom(harness.paths().state_file)
        .load()
        .map_err(|e| format!("the state file does not load: {e}"))?
        .ok_or("no state file")?;
    if class == Class::NotFound {
        // Already gone: removing it is done.
        if !report.is_complete() || state.status != RunStatus::RolledBack {
            return Err(format!(
                "a removal of something already gone failed: {:?}",
                report.leftovers
            ));
        }
        return Ok("already gone: removed".to_string());
    }
    let failed: Vec<_> = report
        .removals
        .iter()
        .filter(|r| r.outcome == kalypso_bootstrap::engine::Outcome::Failed)
        .collect();
    let [removal] = failed.as_slice() else {
        return Err(format!(
            "expected exactly one failed removal, got {}: {:?}",
            failed.len(),
            report.removals
        ));
    };
    if report.leftovers.len() != 1 || !report.leftovers[0].contains("remove it by hand") {
        return Err(format!(
            "the leftover is not listed with its command: {:?}",
            report.leftovers
        ));
    }
    if state.status != RunStatus::Failed {
        return Err(format!(
            "after an incomplete rollback the state is {:?}",
            state.status
        ));
    }
    let record = state
        .resource(&removal.resource)
        .ok_or("the resource left in place is no longer recorded")?;
    if record.status != ResourceStatus::DeleteFailed {
        return Err(format!("the resource left in place is {:?}", record.status));
    }
    let others_removed = report
        .removals
        .iter()
        .filter(|r| r.outcome == kalypso_bootstrap::engine::Outcome::Succeeded)
        .count();
    if others_removed + 1 != report.removals.len() {
        return Err("a failed removal stopped the others".to_string());
    }
    check_common(
        call,
        class,
        &Seen {
            // As `--clean` ends: 1 when something is left in place.
            exit_code: if report.is_complete() {
                ExitCode::Success
            } else {
                ExitCode::General
            },
            message: removal.message.clone(),
            hint: removal.message.clone(),
            progress,
            fired,
        },
        exit_code_for(kalypso_bootstrap::state::Phase::Rollback),
    )
}

/// Message, hint, exit code, retries.
fn check_common(
    call: &Call,
    class: Class,
    seen: &Seen,
    expected: ExitCode,
) -> Result<String, String> {
    if seen.exit_code != expected {
        return Err(format!(
            "exit {} instead of {}: {}",
            seen.exit_code.code(),
            expected.code(),
            seen.message
        ));
    }
    let names_call = if class == Class::ToolMissing {
        let program = if call.phase == CallStage::Prerequisites {
            call.program.clone()
        } else {
            format!("`{}`", call.program)
        };
        seen.message.contains(&program)
    } else {
        // The installation id in a label is this case's own, not the recorded run's.
        seen.message.contains(&call.program)
            && call
                .words
                .iter()
                .filter(|w| !w.contains("=kb-"))
                .all(|w| seen.message.contains(w.as_str()))
    };
    if !names_call {
        return Err(format!(
            "the message does not name the call: {}",
            seen.message
        ));
    }
    if !class
        .hint_words(call)
        .iter()
        .any(|w| seen.hint.to_lowercase().contains(&w.to_lowercase()))
    {
        return Err(format!(
            "the hint {:?} says nothing about {class:?} (message: {})",
            seen.hint, seen.message
        ));
    }
    if seen.message.contains(CANARY) || seen.hint.contains(CANARY) {
        return Err("the token is in the message".to_string());
    }
    if seen.fired == 0 {
        return Err("the fault never fired".to_string());
    }
    let waits: Vec<&String> = seen
        .progress
        .iter()
        .filter(|p| p.contains("retrying in") || p.contains("will retry"))
        .collect();
    if call.retried(class) {
        // The prerequisite check logs its waits (on the console in --validate-only).
        if waits.is_empty() && call.phase != CallStage::Prerequisites {
            return Err(format!(
                "no wait was shown: {:?} (message: {})",
                seen.progress, seen.message
            ));
        }
        let retries: Vec<&&String> = waits.iter().filter(|w| w.contains("retrying in")).collect();
        if retries.is_empty() && call.phase != CallStage::Prerequisites {
            // A polled check: tried again at every check until the poll's time limit.
            if seen.fired < 2 {
                return Err(format!("a polled check was tried once: {}", seen.message));
            }
            return Ok(format!(
                "polled {}x until the time limit, {} waits shown",
                seen.fired,
                waits.len()
            ));
        }
        if seen.fired < ATTEMPTS {
            return Err(format!(
                "a transient failure was tried {} times, not {ATTEMPTS}: {}",
                seen.fired, seen.message
            ));
        }
        // Bounded exponential backoff: the wait before attempt n+1 twice the one before
        // attempt n (two steps may make the same call side by side). A rate limit's
        // reset time is the service's wait, and says so.
        let mut by_attempt: BTreeMap<u32, Vec<Duration>> = BTreeMap::new();
        for wait in &retries {
            if wait.contains("the service asked to wait") {
                continue;
            }
            if let (Some(delay), Some(attempt)) = (wait_of(wait), attempt_of(wait)) {
                by_attempt.entry(attempt).or_default().push(delay);
            }
        }
        let steps: Vec<(Duration, Duration)> = by_attempt
            .values()
            .map(|d| (*d.iter().min().unwrap(), *d.iter().max().unwrap()))
            .collect();
        if steps.windows(2).any(|pair| pair[1].0 < pair[0].1 * 2) {
            return Err(format!("the waits do not grow exponentially: {retries:?}"));
        }
        if class != Class::Timeout
            && !retries
                .iter()
                .all(|w| w.contains("the service asked to wait"))
            && class != Class::RateLimited429
        {
            return Err(format!(
                "a rate limit's reset time was not honoured: {retries:?}"
            ));
        }
        if !seen
            .message
            .contains(&format!("gave up after {ATTEMPTS} attempts"))
            && call.phase == CallStage::Run
        {
            return Err(format!(
                "the message does not say it gave up: {}",
                seen.message
            ));
        }
        Ok(format!(
            "tried {}x, {} waits shown",
            seen.fired,
            waits.len()
        ))
    } else if class == Class::NotFound && call.is_health_observation() {
        // Flux creates them in its own time: looked for again until the checks' limit.
        if seen.fired < 2 {
            return Err(format!("looked for only once: {}", seen.message));
        }
        Ok(format!("looked for {}x until the time limit", seen.fired))
    } else {
        if seen.fired > call.count || !waits.is_empty() {
            return Err(format!(
                "a permanent failure was retried ({} calls, {} waits): {}",
                seen.fired,
                waits.len(),
                seen.message
            ));
        }
        if seen.message.contains("gave up after") {
            return Err(format!("a permanent failure was retried: {}", seen.message));
        }
        Ok(format!(
            "tried once ({} call{})",
            seen.fired,
            if seen.fired == 1 { "" } else { "s" }
        ))
    }
}

/// The attempt in "… retrying in 8ms (attempt 3 of 3)".
fn attempt_of(message: &str) -> Option<u32> {
    let rest = message.rsplit("(attempt ").next()?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The wait in "… retrying in 8ms (attempt 3 of 3)".
fn wait_of(message: &str) -> Option<Duration> {
    let rest = message.split("retrying in ").nth(1)?;
    let amount = rest.split_whitespace().next()?;
    if let Some(ms) = amount.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    amount
        .strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_call_failing_every_realistic_way_fails_clearly_and_consistently() {
    let started = Instant::now();
    let calls = discover().await;
    let mut cases = Vec::new();
    for call in &calls {
        for class in Class::ALL {
            if realistic(call, class) {
                cases.push((call.clone(), class));
            }
        }
    }
    let only = std::env::var("FAULT_MATRIX_ONLY").ok();
    if let Some(filter) = &only {
        cases.retain(|(call, class)| {
            format!("{} {class:?}", call.label()).contains(filter.as_str())
        });
    }
    let results = Arc::new(Mutex::new(Vec::new()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for (call, class) in cases.clone() {
        let results = Arc::clone(&results);
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let outcome = tokio::time::timeout(HANG_GUARD, run_case(&call, class))
                .await
                .unwrap_or_else(|_| {
                    Err(format!("hang guard: did not finish within {HANG_GUARD:?}"))
                });
            results.lock().unwrap().push((call, class, outcome));
            drop(permit);
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a case panicked");
    }
    let mut results = results.lock().unwrap().clone();
    results.sort_by_key(|(call, class, _)| (call.phase, call.label(), *class));
    let passed = results.iter().filter(|r| r.2.is_ok()).count();
    let mut table = String::new();
    for (call, class, outcome) in &results {
        let verdict = match outcome {
            Ok(note) => format!("ok: {note}"),
            Err(problem) => format!("FAILED: {problem}"),
        };
        table.push_str(&format!(
            "{:?} | {} | {class:?} | {verdict}\n",
            call.phase,
            call.label()
        ));
    }
    let by_phase = |phase| calls.iter().filter(|c| c.phase == phase).count();
    eprintln!(
        "{table}fault matrix: {} calls ({} prerequisite check, {} run, {} rollback), {} cases tried, {passed} passed, in {:?}",
        calls.len(),
        by_phase(CallStage::Prerequisites),
        by_phase(CallStage::Run),
        by_phase(CallStage::Rollback),
        results.len(),
        started.elapsed()
    );
    if only.is_none() {
        for program in ["az", "gh", "git", "kubectl", "helm"] {
            assert!(
                calls
                    .iter()
                    .any(|c| c.program == program && c.phase == CallStage::Run),
                "no {program} call in the run"
            );
        }
        assert!(results.len() >= 150, "only {} cases", results.len());
    }
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(call, class, outcome)| {
            outcome
                .as_ref()
                .err()
                .map(|problem| format!("{:?} {} / {class:?}: {problem}", call.phase, call.label()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}
